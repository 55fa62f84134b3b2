"""Portfolio statistics for bureaus, banks and guarantors, computed in SQL (GROUP BY).

The single place that computes the figures of the dashboard's bureau overview and bank
collateral pages and of ``GET /api/v1/stats/*``: both call these functions, so the API and
the dashboard always agree. Every query aggregates in the database — no loan rows are
loaded into Python except the paginated drill-down list — and one scan serves a whole figure
set: this and the previous period's KPIs together, all breakdowns of a page together (GROUP BY
every dimension, rolled up exactly in Python), the time series by day. With the covering index
:data:`STATS_INDEX` on ``loan`` the scans are index-only range scans over the period
(``bench/dashboard.py``: 1,000,000 loans, slowest bureau callback ≈ 1.2 s on SQLite).

Definitions (documented so a bureau can reproduce them):

* **financing** (融资额): loans that were disbursed (status in :data:`FUNDED_STATUSES`)
  with ``origination_date`` in the period; amount = principal ``amount_fen``.
* **enterprises** (企业数): distinct borrowers among those loans.
* **inclusive loan** (普惠贷款): a loan with principal at most the threshold (10M CNY, or
  20M from 2024), counted per loan; share by count and by amount.
* **NPL ratio** (不良率): for the loans originated in the period, the outstanding principal
  of non-performing loans (status default / in claim / in disposal, or more than 90 days
  past due) over the outstanding principal of the live book (:data:`LIVE_STATUSES`), both
  at the loans' current status.
* **previous period** (环比): the period of the same length just before ``date_from``
  (whole calendar months shift by months, so 2025 compares with 2024).
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, distinct, func, inspect, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import GenericFunction
from sqlmodel import col

from api.core.config import get_settings
from api.models import Borrower, IPAsset, Loan, LoanCollateral, Organisation, OrgKind
from api.tenancy import loan_visibility, region_clause
from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES, PROVINCES, REGIONS

FUNDED_STATUSES: tuple[str, ...] = (
    "active", "overdue", "default", "in_claim", "in_disposal", "settled", "recovered", "written_off", "closed",
)
LIVE_STATUSES: tuple[str, ...] = ("active", "overdue", "default", "in_claim", "in_disposal")
NPL_STATUSES: tuple[str, ...] = ("default", "in_claim", "in_disposal")
NPL_DAYS_PAST_DUE = 90
INCLUSIVE_THRESHOLDS_CNY: tuple[int, ...] = (10_000_000, 20_000_000)

BREAKDOWNS: tuple[str, ...] = ("province", "city", "industry", "ip_type", "bank", "status")


# ------------------------------------------------------------------ query planning


class unindexed(GenericFunction[Any]):
    """A column whose comparison must not drive index choice (SQLite's documented unary ``+``).

    The aggregate queries range-scan origination dates; with an index on (origination_date, …,
    amounts) they are index-only. Without the hint SQLite's planner prefers the narrow
    (industry, origination_date) or (status, origination_date) indexes and then reads every
    row from the table, which is several times slower. Other databases get the bare column.
    """

    name = "unindexed"
    inherit_cache = True


@compiles(unindexed)
def _unindexed_default(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)


STATS_INDEX = "ix_loan_stats"
"""Name of the covering index the aggregate queries are planned for (see the bench report)."""
_stats_index_by_url: dict[str, bool] = {}


def has_stats_index(conn: Connection) -> bool:
    """Whether the loan table has the covering statistics index (looked up once per database)."""
    key = str(conn.engine.url)
    if key not in _stats_index_by_url:
        _stats_index_by_url[key] = any(ix.get("name") == STATS_INDEX for ix in inspect(conn).get_indexes("loan"))
    return _stats_index_by_url[key]


# ------------------------------------------------------------------ filter


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    y = d.year + m // 12
    return date(y, m % 12 + 1, min(d.day, calendar.monthrange(y, m % 12 + 1)[1]))


@dataclass(frozen=True)
class LoanFilter:
    """Which loans a figure covers: origination period (inclusive) and dimensions."""

    date_from: date | None = None
    date_to: date | None = None
    province_code: str | None = None
    region_code: str | None = None  # a prefecture (city), GB/T 2260
    industry: str | None = None
    ip_type: str | None = None
    bank_org_id: int | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from: must not be after date_to")
        if self.province_code is not None and self.province_code not in PROVINCES:
            raise ValueError(f"province_code: {self.province_code!r} is not a GB/T 2260 province code")
        if self.region_code is not None:
            if self.region_code not in REGIONS:
                raise ValueError(f"region_code: {self.region_code!r} is not a known GB/T 2260 region code")
            if self.province_code and self.region_code[:2] != self.province_code[:2]:
                raise ValueError("region_code: not in the selected province_code")
        if self.industry is not None and self.industry not in INDUSTRY_SECTIONS:
            raise ValueError(f"industry: {self.industry!r} is not a GB/T 4754 section A-T")
        if self.ip_type is not None and self.ip_type not in IP_TYPES:
            raise ValueError(f"ip_type: {self.ip_type!r} is not one of {', '.join(IP_TYPES)}")
        if self.bank_org_id is not None and self.bank_org_id <= 0:
            raise ValueError("bank_org_id: must be a positive id")

    def previous(self) -> LoanFilter | None:
        """The same filter over the preceding period of equal length (None without both dates)."""
        if not (self.date_from and self.date_to):
            return None
        if self.date_from.day == 1 and self.date_to == _month_end(self.date_to):
            months = (self.date_to.year - self.date_from.year) * 12 + self.date_to.month - self.date_from.month + 1
            start = _add_months(self.date_from, -months)
            return replace(self, date_from=start, date_to=self.date_from - timedelta(days=1))
        days = (self.date_to - self.date_from).days + 1
        end = self.date_from - timedelta(days=1)
        return replace(self, date_from=self.date_from - timedelta(days=days), date_to=end)

    def clause(self, steer_to_date_index: bool = False) -> ColumnElement[bool]:
        """SQL condition: funded loans originated in the period with the given dimensions.

        ``steer_to_date_index`` keeps the dimension terms from choosing the index (see
        :class:`unindexed`); used when the covering statistics index exists.
        """

        def _u(column: Any) -> Any:
            return unindexed(column, type_=column.type) if steer_to_date_index else column

        parts: list[ColumnElement[bool]] = [_u(col(Loan.status)).in_(FUNDED_STATUSES)]
        if self.date_from:
            parts.append(col(Loan.origination_date) >= self.date_from)
        if self.date_to:
            parts.append(col(Loan.origination_date) <= self.date_to)
        for value, column in (
            (self.province_code, col(Loan.province_code)),
            (self.region_code, col(Loan.region_code)),
            (self.industry, col(Loan.industry)),
            (self.ip_type, col(Loan.primary_ip_type)),
            (self.bank_org_id, col(Loan.bank_org_id)),
        ):
            if value:
                parts.append(_u(column) == value)
        return and_(*parts)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}


# ------------------------------------------------------------------ scope


def aggregate_scope(org: Organisation) -> ColumnElement[bool]:
    """Loans an organisation may see in aggregate.

    A bureau sees the totals of its region (a national bureau: all) even when loan-level
    access is off; everyone else aggregates exactly the loans they may see row by row.
    """
    if org.kind == OrgKind.admin:
        return true()
    if org.kind == OrgKind.bureau:
        return region_clause(col(Loan.region_code), col(Loan.province_code), org)
    return loan_visibility(org)


def may_list_loans(org: Organisation) -> bool:
    """Whether the organisation may drill down to individual loans (bureaus only if configured)."""
    if org.kind == OrgKind.bureau:
        return bool(get_settings().bureau_loan_level_access)
    return True


def _where(conn: Connection, org: Organisation, flt: LoanFilter) -> ColumnElement[bool]:
    return and_(aggregate_scope(org), flt.clause(steer_to_date_index=has_stats_index(conn)))


def _int(x: Any) -> int:
    return int(x or 0)


# ------------------------------------------------------------------ overview


@dataclass(frozen=True)
class Overview:
    """Headline figures for one period; money in integer fen."""

    loan_count: int
    enterprise_count: int
    amount_fen: int
    inclusive_count: int
    inclusive_amount_fen: int
    live_outstanding_fen: int
    npl_outstanding_fen: int
    npl_count: int
    inclusive_threshold_fen: int

    @property
    def inclusive_share(self) -> float | None:
        """Share of loans (by count) that are inclusive loans."""
        return self.inclusive_count / self.loan_count if self.loan_count else None

    @property
    def inclusive_amount_share(self) -> float | None:
        return self.inclusive_amount_fen / self.amount_fen if self.amount_fen else None

    @property
    def npl_ratio(self) -> float | None:
        """不良率: NPL outstanding ÷ live outstanding."""
        return self.npl_outstanding_fen / self.live_outstanding_fen if self.live_outstanding_fen else None

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "inclusive_share": self.inclusive_share,
            "inclusive_amount_share": self.inclusive_amount_share,
            "npl_ratio": self.npl_ratio,
        }


def _threshold_fen(inclusive_threshold_cny: int) -> int:
    if inclusive_threshold_cny <= 0:
        raise ValueError("inclusive_threshold_cny: must be positive")
    return int(inclusive_threshold_cny) * 100


def _figure_columns(in_period: ColumnElement[bool], thr: int) -> list[Any]:
    """The eight aggregate columns of :class:`Overview` for loans matching ``in_period``."""
    is_inclusive = col(Loan.amount_fen) <= thr
    is_live = col(Loan.status).in_(LIVE_STATUSES)
    is_npl = and_(is_live, or_(col(Loan.status).in_(NPL_STATUSES), col(Loan.days_past_due) > NPL_DAYS_PAST_DUE))

    def count_if(cond: Any) -> Any:
        return func.sum(case((and_(in_period, cond), 1), else_=0))

    def sum_if(cond: Any, column: Any) -> Any:
        return func.sum(case((and_(in_period, cond), column), else_=0))

    return [
        count_if(true()),
        func.count(distinct(case((in_period, col(Loan.borrower_id))))),
        sum_if(true(), col(Loan.amount_fen)),
        count_if(is_inclusive),
        sum_if(is_inclusive, col(Loan.amount_fen)),
        sum_if(is_live, col(Loan.outstanding_fen)),
        sum_if(is_npl, col(Loan.outstanding_fen)),
        count_if(is_npl),
    ]


def _overview_from(v: list[int], thr: int) -> Overview:
    return Overview(
        loan_count=v[0], enterprise_count=v[1], amount_fen=v[2], inclusive_count=v[3], inclusive_amount_fen=v[4],
        live_outstanding_fen=v[5], npl_outstanding_fen=v[6], npl_count=v[7], inclusive_threshold_fen=thr,
    )


def overview(
    conn: Connection, org: Organisation, flt: LoanFilter, inclusive_threshold_cny: int = 10_000_000
) -> Overview:
    """All headline figures of one period in a single aggregate query."""
    thr = _threshold_fen(inclusive_threshold_cny)
    row = conn.execute(select(*_figure_columns(true(), thr)).where(_where(conn, org, flt))).one()
    return _overview_from([_int(v) for v in row], thr)


def overview_with_previous(
    conn: Connection, org: Organisation, flt: LoanFilter, inclusive_threshold_cny: int = 10_000_000
) -> tuple[Overview, Overview | None]:
    """This period's and the previous period's figures (环比) from ONE scan over both periods.

    Equal to ``overview(flt)`` and ``overview(flt.previous())``; None without a previous period.
    """
    prev = flt.previous()
    if prev is None or flt.date_from is None:
        return overview(conn, org, flt, inclusive_threshold_cny), None
    thr = _threshold_fen(inclusive_threshold_cny)
    both = replace(flt, date_from=prev.date_from)  # the previous period ends the day before date_from
    in_cur = col(Loan.origination_date) >= flt.date_from
    in_prev = col(Loan.origination_date) < flt.date_from
    stmt = select(*_figure_columns(in_cur, thr), *_figure_columns(in_prev, thr)).where(_where(conn, org, both))
    row = [_int(v) for v in conn.execute(stmt).one()]
    return _overview_from(row[:8], thr), _overview_from(row[8:], thr)


def change(current: float | int | None, previous: float | int | None) -> float | None:
    """Period-on-period change (环比) as a fraction; None when the previous figure is 0 or missing."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


# ------------------------------------------------------------------ compensation (risk-sharing ledger)


@dataclass(frozen=True)
class PartyCompensation:
    """Compensation (代偿/补偿) paid by one party of the risk-sharing scheme, fen."""

    party: str
    claims: int
    paid_fen: int
    recovered_fen: int

    @property
    def net_fen(self) -> int:
        return self.paid_fen - self.recovered_fen

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "net_fen": self.net_fen}


def compensation_by_party(conn: Connection, org: Organisation, flt: LoanFilter) -> list[PartyCompensation] | None:
    """Payouts and recoveries per party from the risk-sharing ledger, for claims on the loans
    behind the figures (same scope and filter); None while the ledger table does not exist."""
    insp = inspect(conn)
    if not (insp.has_table("risk_ledger_entry") and insp.has_table("risk_claim")):
        return None
    from sqlalchemy import MetaData, Table

    md = MetaData()
    ledger = Table("risk_ledger_entry", md, autoload_with=conn)
    claim = Table("risk_claim", md, autoload_with=conn)
    loans_in_scope = select(col(Loan.id)).where(_where(conn, org, flt))
    paid = ledger.c.kind == "payout"
    stmt = (
        select(
            ledger.c.party_key,
            func.count(distinct(case((paid, ledger.c.claim_id)))),
            func.sum(case((paid, ledger.c.amount_fen), else_=0)),
            func.sum(case((paid, 0), else_=ledger.c.amount_fen)),
        )
        .join(claim, claim.c.id == ledger.c.claim_id)
        .where(claim.c.loan_id.in_(loans_in_scope))
        .group_by(ledger.c.party_key)
        .order_by(ledger.c.party_key)
    )
    return [PartyCompensation(str(p), _int(n), _int(a), _int(r)) for p, n, a, r in conn.execute(stmt)]


# ------------------------------------------------------------------ breakdowns


@dataclass(frozen=True)
class BreakdownRow:
    """One group of a breakdown: key (code or id) with its names, count and money in fen."""

    key: str
    name_zh: str
    name_en: str
    loan_count: int
    amount_fen: int
    outstanding_fen: int


def _names(by: str, key: str, org_names: dict[str, str]) -> tuple[str, str]:
    if by == "province":
        return PROVINCES.get(key, (key, key))
    if by == "city":
        return REGIONS.get(key, (key, key))
    if by == "industry":
        zh, en = INDUSTRY_SECTIONS.get(key, (key, key))
        return f"{key} {zh}", f"{key} {en}"
    if by == "ip_type":
        return IP_TYPES.get(key, (key, key))
    if by == "bank":
        name = org_names.get(key, f"#{key}")
        return name, name
    return key, key.replace("_", " ")


_BREAKDOWN_COLUMNS: dict[str, Any] = {
    "province": col(Loan.province_code),
    "city": col(Loan.region_code),
    "industry": col(Loan.industry),
    "ip_type": col(Loan.primary_ip_type),
    "bank": col(Loan.bank_org_id),
    "status": col(Loan.status),
}


def breakdowns(
    conn: Connection, org: Organisation, flt: LoanFilter, keys: tuple[str, ...]
) -> dict[str, list[BreakdownRow]]:
    """Several breakdowns from ONE scan: GROUP BY all requested dimensions together, then
    each breakdown is an exact integer roll-up of those (few thousand) groups in Python.

    Rows per breakdown: loans, principal and outstanding, largest principal first.
    """
    unknown = [k for k in keys if k not in _BREAKDOWN_COLUMNS]
    if unknown or not keys:
        raise ValueError(f"by: must be one of {', '.join(BREAKDOWNS)}")
    cols = [_BREAKDOWN_COLUMNS[k] for k in keys]
    stmt = (
        select(*cols, func.count(), func.sum(col(Loan.amount_fen)), func.sum(col(Loan.outstanding_fen)))
        .where(_where(conn, org, flt))
        .group_by(*cols)
    )
    totals: dict[str, dict[str, list[int]]] = {k: {} for k in keys}
    n_keys = len(keys)
    for row in conn.execute(stmt):
        n, a, o = _int(row[n_keys]), _int(row[n_keys + 1]), _int(row[n_keys + 2])
        for i, k in enumerate(keys):
            acc = totals[k].setdefault(str(row[i]), [0, 0, 0])
            acc[0] += n
            acc[1] += a
            acc[2] += o
    org_names: dict[str, str] = {}
    if "bank" in keys and totals["bank"]:
        ids = [int(i) for i in totals["bank"]]
        names = select(col(Organisation.id), col(Organisation.name)).where(col(Organisation.id).in_(ids))
        org_names = {str(i): n for i, n in conn.execute(names)}
    return {
        k: sorted(
            (BreakdownRow(key, *_names(k, key, org_names), n, a, o) for key, (n, a, o) in totals[k].items()),
            key=lambda r: (-r.amount_fen, r.key),
        )
        for k in keys
    }


def breakdown(conn: Connection, org: Organisation, flt: LoanFilter, by: str) -> list[BreakdownRow]:
    """Loans, principal and outstanding grouped by ``by``, largest principal first."""
    return breakdowns(conn, org, flt, (by,))[by]


# ------------------------------------------------------------------ time series


@dataclass(frozen=True)
class SeriesPoint:
    """Financing in one period: ``period`` is '2025-03', '2025-Q1' or '2025'."""

    period: str
    loan_count: int
    amount_fen: int


def _period_key(year: int, month: int, granularity: str) -> str:
    if granularity == "month":
        return f"{year:04d}-{month:02d}"
    if granularity == "quarter":
        return f"{year:04d}-Q{(month - 1) // 3 + 1}"
    return f"{year:04d}"


def _periods(first: tuple[int, int], last: tuple[int, int], granularity: str) -> list[str]:
    keys: list[str] = []
    y, m = first
    while (y, m) <= last:
        k = _period_key(y, m, granularity)
        if not keys or keys[-1] != k:
            keys.append(k)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return keys


def timeseries(conn: Connection, org: Organisation, flt: LoanFilter, granularity: str = "month") -> list[SeriesPoint]:
    """Financing per month, quarter or year, gaps filled with zeros over the filter's period.

    SQL groups by origination day (index order, at most 366 groups a year, portable across
    SQLite and PostgreSQL); months, quarters and years are exact integer sums of those.
    """
    if granularity not in ("month", "quarter", "year"):
        raise ValueError("granularity: must be month, quarter or year")
    stmt = (
        select(col(Loan.origination_date), func.count(), func.sum(col(Loan.amount_fen)))
        .where(_where(conn, org, flt))
        .group_by(col(Loan.origination_date))
    )
    months: dict[tuple[int, int], tuple[int, int]] = {}
    for day, n, s in conn.execute(stmt):
        d = day if isinstance(day, date) else date.fromisoformat(str(day))
        cn, cs = months.get((d.year, d.month), (0, 0))
        months[(d.year, d.month)] = (cn + _int(n), cs + _int(s))
    if not months and not (flt.date_from and flt.date_to):
        return []
    first = (flt.date_from.year, flt.date_from.month) if flt.date_from else min(months)
    last = (flt.date_to.year, flt.date_to.month) if flt.date_to else max(months)
    totals = {k: [0, 0] for k in _periods(first, last, granularity)}
    for (yy, mm), (n, s) in months.items():
        t = totals[_period_key(yy, mm, granularity)]
        t[0] += n
        t[1] += s
    return [SeriesPoint(k, n, s) for k, (n, s) in totals.items()]


def data_period(conn: Connection, org: Organisation) -> tuple[date | None, date | None]:
    """First and last origination date of the funded loans the organisation sees."""
    stmt = select(func.min(col(Loan.origination_date)), func.max(col(Loan.origination_date))).where(
        _where(conn, org, LoanFilter())
    )
    lo, hi = conn.execute(stmt).one()
    return (date.fromisoformat(str(lo)) if lo else None, date.fromisoformat(str(hi)) if hi else None)


# ------------------------------------------------------------------ drill-down to loans


@dataclass(frozen=True)
class LoanRow:
    id: int
    reference: str
    borrower_name: str
    region_code: str
    industry: str
    primary_ip_type: str
    status: str
    origination_date: date
    amount_fen: int
    outstanding_fen: int
    days_past_due: int


def loans(
    conn: Connection, org: Organisation, flt: LoanFilter, offset: int = 0, limit: int = 100
) -> tuple[int, list[LoanRow]]:
    """The loans behind a figure (largest first), only for organisations with loan-level access.

    Rows are restricted by :func:`api.tenancy.loan_visibility`, so a bureau sees its region
    only and a bank its own loans.
    """
    if not may_list_loans(org):
        raise PermissionError("loan-level access is not enabled for bureaus (IPFIN_BUREAU_LOAN_LEVEL_ACCESS)")
    if offset < 0:
        raise ValueError("offset: must not be negative")
    if not 1 <= limit <= 1000:
        raise ValueError("limit: must be between 1 and 1000")
    where = and_(loan_visibility(org), flt.clause())
    total = conn.execute(select(func.count()).select_from(Loan).where(where)).scalar_one()
    stmt = (
        select(
            col(Loan.id), col(Loan.reference), col(Borrower.name), col(Loan.region_code), col(Loan.industry),
            col(Loan.primary_ip_type), col(Loan.status), col(Loan.origination_date), col(Loan.amount_fen),
            col(Loan.outstanding_fen), col(Loan.days_past_due),
        )
        .join(Borrower, col(Borrower.id) == col(Loan.borrower_id))
        .where(where)
        .order_by(col(Loan.amount_fen).desc(), col(Loan.id))
        .offset(offset)
        .limit(limit)
    )
    return int(total), [LoanRow(*r) for r in conn.execute(stmt)]  # type: ignore[arg-type]


# ------------------------------------------------------------------ bank collateral


@dataclass(frozen=True)
class Bucket:
    """A distribution bucket: label, loans and money (fen)."""

    label: str
    loan_count: int
    amount_fen: int


VALUE_BANDS_CNY: tuple[int, ...] = (1_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000)
LTV_BANDS_PCT: tuple[int, ...] = (30, 40, 50, 60, 70)
DPD_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0), ("1-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-180", 91, 180),
    ("181-365", 181, 365), (">365", 366, None),
)
LAPSED_LEGAL_STATUSES: tuple[str, ...] = ("lapsed", "invalidated", "expired")


def _band_label(lo: int | None, hi: int | None, unit: str) -> str:
    if lo is None:
        return f"≤{hi}{unit}"
    if hi is None:
        return f">{lo}{unit}"
    return f"{lo}-{hi}{unit}"


@dataclass(frozen=True)
class CollateralReport:
    """A lender's live pledge book: collateral value and LTV (质押率) distributions, alerts."""

    as_of: date
    ltv_limit_pct: int
    loan_count: int
    outstanding_fen: int
    appraised_fen: int
    value_distribution: list[Bucket]
    ltv_distribution: list[Bucket]
    dpd_buckets: list[Bucket]
    ltv_breach_count: int
    lapse_count: int
    revaluation_due_count: int
    revaluation_months: int
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def weighted_ltv(self) -> float | None:
        return self.outstanding_fen / self.appraised_fen if self.appraised_fen else None


def collateral_report(
    conn: Connection,
    org: Organisation,
    *,
    as_of: date,
    ltv_limit_pct: int = 60,
    revaluation_months: int = 12,
    bank_org_id: int | None = None,
    alert_limit: int = 200,
) -> CollateralReport:
    """Collateral figures of the live loans an organisation sees (a bank: its own book).

    Per loan, the appraised value is the sum over its registered collateral of the latest
    re-valuation (pledge module) or else the appraised value at pledging; LTV = outstanding ÷
    appraised. Alerts at ``as_of``: LTV above ``ltv_limit_pct``; pledged IP lapsed/invalidated/
    expired or with its annual fee unpaid; the stalest asset's appraisal (latest re-valuation
    date, else pledge registration date) older than ``revaluation_months``.
    """
    if not 1 <= ltv_limit_pct <= 200:
        raise ValueError("ltv_limit_pct: must be between 1 and 200")
    if revaluation_months < 1:
        raise ValueError("revaluation_months: must be at least 1")
    scope = and_(loan_visibility(org), col(Loan.status).in_(LIVE_STATUSES))
    if bank_org_id:
        scope = and_(scope, col(Loan.bank_org_id) == bank_org_id)
    reval_cutoff = _add_months(as_of, -revaluation_months)
    lapsed = or_(
        col(IPAsset.legal_status).in_(LAPSED_LEGAL_STATUSES),
        and_(col(IPAsset.annual_fee_paid_until).is_not(None), col(IPAsset.annual_fee_paid_until) < as_of),
    )
    asset_value: Any = col(LoanCollateral.appraised_value_fen)
    asset_date: Any = col(LoanCollateral.pledge_registered_on)
    latest = _latest_collateral_valuations(conn)
    base = select().select_from(LoanCollateral)
    if latest is not None:  # the pledge module's re-valuations: the latest per asset counts
        base = base.outerjoin(latest, and_(latest.c.ip_asset_id == col(LoanCollateral.ip_asset_id), latest.c.rn == 1))
        asset_value = func.coalesce(latest.c.value_fen, col(LoanCollateral.appraised_value_fen))
        asset_date = func.coalesce(latest.c.valuation_date, col(LoanCollateral.pledge_registered_on))
    coll = (
        base.add_columns(
            col(LoanCollateral.loan_id).label("loan_id"),
            func.sum(asset_value).label("value"),
            func.max(case((lapsed, 1), else_=0)).label("lapsed"),
            func.min(asset_date).label("appraised_on"),
        )
        .join(IPAsset, col(IPAsset.id) == col(LoanCollateral.ip_asset_id))
        .join(Loan, col(Loan.id) == col(LoanCollateral.loan_id))
        .where(scope, col(LoanCollateral.pledge_status) != "released")
        .group_by(col(LoanCollateral.loan_id))
        .subquery()
    )
    value = func.coalesce(coll.c.value, 0)
    joined = select(
        col(Loan.id).label("id"), col(Loan.reference).label("reference"), col(Loan.outstanding_fen).label("out"),
        col(Loan.days_past_due).label("dpd"), value.label("value"), func.coalesce(coll.c.lapsed, 0).label("lapsed"),
        coll.c.appraised_on.label("appraised_on"),
    ).select_from(Loan).outerjoin(coll, coll.c.loan_id == col(Loan.id)).where(scope).subquery()
    j = joined.c
    breach = and_(j.value > 0, j.out * 100 > j.value * ltv_limit_pct)
    reval = and_(j.appraised_on.is_not(None), j.appraised_on < reval_cutoff)
    totals = conn.execute(
        select(
            func.count(), func.sum(j.out), func.sum(j.value), func.sum(case((breach, 1), else_=0)),
            func.sum(case((j.lapsed > 0, 1), else_=0)), func.sum(case((reval, 1), else_=0)),
        )
    ).one()

    def bucketed(expr_cases: list[tuple[ColumnElement[bool], str]], default: str, order: list[str]) -> list[Bucket]:
        label = case(*expr_cases, else_=default)
        rows = {r[0]: (r[1], r[2]) for r in conn.execute(select(label, func.count(), func.sum(j.out)).group_by(label))}
        return [Bucket(lbl, _int(rows.get(lbl, (0, 0))[0]), _int(rows.get(lbl, (0, 0))[1])) for lbl in order]

    v_cases: list[tuple[ColumnElement[bool], str]] = [(j.value <= 0, "no valuation")]
    v_labels = ["no valuation"]
    lo: int | None = None
    for hi in VALUE_BANDS_CNY:
        lbl = _band_label(lo and lo // 1_000_000, hi // 1_000_000, "M")
        v_cases.append((j.value <= hi * 100, lbl))
        v_labels.append(lbl)
        lo = hi
    v_top = _band_label(VALUE_BANDS_CNY[-1] // 1_000_000, None, "M")
    value_dist = bucketed(v_cases, v_top, [*v_labels, v_top])

    l_cases: list[tuple[ColumnElement[bool], str]] = [(j.value <= 0, "no valuation")]
    l_labels = ["no valuation"]
    lo_p: int | None = None
    for hi_p in LTV_BANDS_PCT:
        lbl = _band_label(lo_p, hi_p, "%")
        l_cases.append((j.out * 100 <= j.value * hi_p, lbl))
        l_labels.append(lbl)
        lo_p = hi_p
    l_top = _band_label(LTV_BANDS_PCT[-1], None, "%")
    ltv_dist = bucketed(l_cases, l_top, [*l_labels, l_top])

    d_cases: list[tuple[ColumnElement[bool], str]] = [(j.dpd <= hi, lbl) for lbl, _, hi in DPD_BANDS[:-1]]
    dpd = bucketed(d_cases, DPD_BANDS[-1][0], [b[0] for b in DPD_BANDS])

    alert_rows = conn.execute(
        select(j.id, j.reference, j.out, j.value, j.dpd, breach, j.lapsed > 0, reval)
        .where(or_(breach, j.lapsed > 0, reval))
        .order_by(j.out.desc(), j.id)
        .limit(alert_limit)
    ).all()
    alerts = [
        {
            "loan_id": int(r[0]), "reference": r[1], "outstanding_fen": _int(r[2]), "appraised_fen": _int(r[3]),
            "ltv": (_int(r[2]) / _int(r[3])) if r[3] else None, "days_past_due": _int(r[4]),
            "ltv_breach": bool(r[5]), "lapse": bool(r[6]), "revaluation_due": bool(r[7]),
        }
        for r in alert_rows
    ]
    n, out, val, nb, nl, nr = (_int(x) for x in totals)
    return CollateralReport(
        as_of=as_of, ltv_limit_pct=ltv_limit_pct, loan_count=n, outstanding_fen=out, appraised_fen=val,
        value_distribution=value_dist, ltv_distribution=ltv_dist, dpd_buckets=dpd, ltv_breach_count=nb,
        lapse_count=nl, revaluation_due_count=nr, revaluation_months=revaluation_months, alerts=alerts,
    )


# ------------------------------------------------------------------ other domains' tables


def _latest_collateral_valuations(conn: Connection) -> Any:
    """Latest re-valuation per IP asset from the pledge module (``rn = 1``), or None before it exists."""
    if not inspect(conn).has_table("pledge_collateral_valuation"):
        return None
    from sqlalchemy import MetaData, Table

    t = Table("pledge_collateral_valuation", MetaData(), autoload_with=conn)
    rn = func.row_number().over(partition_by=t.c.ip_asset_id, order_by=(t.c.valuation_date.desc(), t.c.id.desc()))
    return select(t.c.ip_asset_id, t.c.value_fen, t.c.valuation_date, rn.label("rn")).subquery()
