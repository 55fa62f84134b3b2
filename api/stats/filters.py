"""The loan filter, period arithmetic and the scope of what an organisation may aggregate."""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, true
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import GenericFunction
from sqlmodel import col

from api.core.config import get_settings
from api.core.tenancy import loan_visibility, region_clause
from api.identity.models import Organisation, OrgKind
from api.pledge.models import Loan
from ipfin import regions
from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES, PROVINCES

FUNDED_STATUSES: tuple[str, ...] = (
    "active", "overdue", "default", "in_claim", "in_disposal", "settled", "recovered", "written_off", "closed",
)


LIVE_STATUSES: tuple[str, ...] = ("active", "overdue", "default", "in_claim", "in_disposal")


NPL_STATUSES: tuple[str, ...] = ("default", "in_claim", "in_disposal")


NPL_DAYS_PAST_DUE = 90


INCLUSIVE_THRESHOLDS_CNY: tuple[int, ...] = (10_000_000, 20_000_000)


BREAKDOWNS: tuple[str, ...] = ("province", "city", "county", "industry", "ip_type", "bank", "status")


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


def has_stats_index(conn: Connection) -> bool:
    """Whether the loan table has the covering statistics index: it is part of the migrated schema
    (``Loan.__table_args__``), so this reads the model, never the database."""
    return any(ix.name == STATS_INDEX for ix in Loan.__table__.indexes)  # type: ignore[attr-defined]


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
    region_code: str | None = None  # a city (地级) or a county (县级), GB/T 2260
    industry: str | None = None
    ip_type: str | None = None
    bank_org_id: int | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from: must not be after date_to")
        if self.province_code is not None and self.province_code not in PROVINCES:
            raise ValueError(f"province_code: {self.province_code!r} is not a GB/T 2260 province code")
        if self.region_code is not None:
            r = regions.get(self.region_code)
            if r is None or r.level == "province":
                raise ValueError(f"region_code: {self.region_code!r} is not a GB/T 2260 city or county code")
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

    def year_ago(self) -> LoanFilter | None:
        """The same filter over the same dates a year earlier (同比); None without both dates."""
        if not (self.date_from and self.date_to):
            return None
        return replace(self, date_from=_add_months(self.date_from, -12), date_to=_add_months(self.date_to, -12))

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
        if self.region_code:
            parts.append(_u(col(Loan.region_code)).in_(region_codes_within(self.region_code)))
        for value, column in (
            (self.province_code, col(Loan.province_code)),
            (self.industry, col(Loan.industry)),
            (self.ip_type, col(Loan.primary_ip_type)),
            (self.bank_org_id, col(Loan.bank_org_id)),
        ):
            if value:
                parts.append(_u(column) == value)
        return and_(*parts)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}


def region_codes_within(code: str) -> list[str]:
    """The region codes a loan of a city or county may carry: the county itself, or the city and its
    counties, and the retired codes whose successor lies there — the same loans the map keys to that
    city or county (so the aggregate filter stays on the indexed ``region_code``)."""
    r = regions.region(code)
    current = [r.code] if r.level == "county" else [r.code, *(c.code for c in regions.children(r.code))]
    return [*current, *regions.retired_within(r.code)]


def aggregate_scope(org: Organisation) -> ColumnElement[bool]:
    """Loans an organisation may see in aggregate.

    A bureau sees the totals of its region (a national bureau: all) even when loan-level
    access is off; everyone else aggregates exactly the loans they may see row by row.
    """
    if org.kind == OrgKind.admin:
        return true()
    if org.kind == OrgKind.bureau:
        # no city column: a city scope matches region codes by prefix, on the covering index
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
