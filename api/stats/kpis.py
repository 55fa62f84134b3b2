"""A bureau's headline figures with honest definitions: the NPL ratio as a stock at period end,
the vintage default rate as a separate cohort view, and the comparisons (环比 and 同比).

Definitions in words: :data:`api.stats.definitions.DEFINITIONS`. Portable SQL (SQLite and
PostgreSQL); the schedule arithmetic of a past period end is done in Python over a GROUP BY of
(origination day, term), a few thousand groups, exact to the fen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, distinct, func, select, true
from sqlalchemy.engine import Connection
from sqlmodel import col

from api.identity.models import Organisation
from api.pledge.models import Loan, LoanCollateral
from api.risk_sharing.models import RiskClaim, RiskLedgerEntry
from api.stats import rollup
from api.stats.definitions import DEFINITIONS
from api.stats.filters import LoanFilter, _int, _where, unindexed
from api.stats.programme import programme_budgets
from api.stats.service import (
    BreakdownRow,
    Overview,
    _figure_columns,
    _overview_from,
    _threshold_fen,
    booked_in_scope,
    breakdowns,
    change,
    compensation_by_party,
    with_stock,
)
from api.stats.stock import NplStock, _region_column, npl_stock_by_region, npl_stocks, region_key


@dataclass(frozen=True)
class Vintage:
    """Of the loans disbursed in the period: how many and how much principal has defaulted since."""

    loan_count: int
    amount_fen: int
    defaulted_count: int
    defaulted_amount_fen: int

    @property
    def default_rate(self) -> float | None:
        return self.defaulted_amount_fen / self.amount_fen if self.amount_fen else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "default_rate": self.default_rate}


def vintage(conn: Connection, org: Organisation, flt: LoanFilter) -> Vintage:
    """The cohort view (批次违约率): loans disbursed in the period with a default date recorded since."""
    bad = col(Loan.default_date).is_not(None)
    row = conn.execute(select(
        func.count(), func.sum(col(Loan.amount_fen)), func.sum(case((bad, 1), else_=0)),
        func.sum(case((bad, col(Loan.amount_fen)), else_=0)),
    ).where(_where(conn, org, flt))).one()
    return Vintage(*(_int(v) for v in row))


@dataclass(frozen=True)
class Registrations:
    """Pledge registrations (质押登记) dated in a period, on funded loans in scope, fen."""

    registration_count: int  # registrations: one per pledged IP asset (loan_collateral row)
    loan_count: int  # loans first registered in the period (later top-ups do not count them again)
    registered_amount_fen: int  # principal of those loans (质押融资登记金额): periods add up
    pledged_value_fen: int  # appraised value at pledging of the registered IP assets

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def registrations(conn: Connection, org: Organisation, flt: LoanFilter) -> Registrations:
    """Pledge registrations with ``pledge_registered_on`` in the filter's dates on the loans in the
    caller's scope and the filter's dimensions, whenever those loans started (like compensation)."""
    return registrations_of_periods(conn, org, [flt])[flt]


def registrations_of_periods(
    conn: Connection, org: Organisation, periods: list[LoanFilter]
) -> dict[LoanFilter, Registrations]:
    """:func:`registrations` of several filters differing only in their dates, in ONE statement: from
    the rollup where it holds the scope, else per loan (inner GROUP BY over the registrations in the
    covering date range, with the loan's first registration day) how often it was registered in each
    period and whether it was first registered in it, then per period the sums."""
    dims = {replace(f, date_from=None, date_to=None) for f in periods}
    if len(dims) != 1:
        raise ValueError("periods: must differ only in their dates")
    grain = rollup.grain_of(org, periods[0])
    if grain is not None:
        sums = rollup.registration_sums(conn, grain, periods)
        return {f: Registrations(n, loans, amount, value) for f, (n, value, loans, amount) in zip(periods, sums,
                                                                                                  strict=True)}
    on = col(LoanCollateral.pledge_registered_on)

    def within(f: LoanFilter, day: Any = on) -> Any:
        return and_(day.is_not(None), *([day >= f.date_from] if f.date_from else []),
                    *([day <= f.date_to] if f.date_to else []))

    lo = None if any(f.date_from is None for f in periods) else min(f.date_from for f in periods if f.date_from)
    hi = None if any(f.date_to is None for f in periods) else max(f.date_to for f in periods if f.date_to)
    per_loan: list[Any] = []
    for k, f in enumerate(periods):
        hit = within(f)
        per_loan += [func.sum(case((hit, 1), else_=0)).label(f"n{k}"),
                     func.sum(case((hit, col(LoanCollateral.appraised_value_fen)), else_=0)).label(f"v{k}")]
    other = LoanCollateral.__table__.alias("first_registration")  # type: ignore[attr-defined]
    first = (select(func.min(other.c.pledge_registered_on)).where(other.c.loan_id == col(LoanCollateral.loan_id))
             .scalar_subquery().label("first_day"))
    inner = (select(col(Loan.amount_fen).label("amount"), first, *per_loan)
             .select_from(LoanCollateral).join(Loan, col(Loan.id) == col(LoanCollateral.loan_id))
             .where(_where(conn, org, dims.pop()), within(LoanFilter(date_from=lo, date_to=hi)))
             .group_by(unindexed(col(LoanCollateral.loan_id)), col(Loan.amount_fen)).subquery())
    outer: list[Any] = []
    for k in range(len(periods)):
        n, v = inner.c[f"n{k}"], inner.c[f"v{k}"]
        first_in = within(periods[k], inner.c.first_day)
        outer += [func.sum(n), func.sum(case((first_in, 1), else_=0)),
                  func.sum(case((first_in, inner.c.amount), else_=0)), func.sum(v)]
    row = [_int(x) for x in conn.execute(select(*outer)).one()]
    return {f: Registrations(*row[4 * k: 4 * k + 4]) for k, f in enumerate(periods)}


REGISTRATION_CHANGE_KEYS: tuple[str, ...] = ("registration_count", "registered_amount_fen")


def compensation_by_region(conn: Connection, org: Organisation, flt: LoanFilter, level: str) -> dict[str, int]:
    """Compensation paid (代偿支付, fen) per region of ``level`` in ONE grouped query: payouts booked
    in the period on claims for loans in scope — the sum over parties of :func:`compensation_by_party`
    of the filter narrowed to each region. Regions without a payout are absent."""
    column = _region_column(level)
    led = RiskLedgerEntry
    conds = [*booked_in_scope(conn, org, flt), col(led.kind) == "payout"]
    stmt = (select(column, func.sum(col(led.amount_fen)))
            .join(RiskClaim, col(RiskClaim.id) == col(led.claim_id)).join(Loan, col(Loan.id) == col(RiskClaim.loan_id))
            .where(*conds).group_by(column))
    out: dict[str, int] = {}
    for value, paid in conn.execute(stmt):
        key = region_key(level, str(value))
        out[key] = out.get(key, 0) + _int(paid)
    return out


MAP_METRICS: tuple[str, ...] = ("amount", "count", "npl", "compensation")


def region_values(
    conn: Connection, org: Organisation, flt: LoanFilter, level: str, metric: str, today: date
) -> tuple[dict[str, int | float | None], list[BreakdownRow]]:
    """Per-region figures of a choropleth: region code → financing (fen), loan count, NPL ratio (stock at
    the period end) or compensation paid (fen), and the breakdown rows of the level. Two queries at
    most whatever the number of regions; each value equals the overview filtered to that region."""
    if metric not in MAP_METRICS:
        raise ValueError(f"metric: must be one of {', '.join(MAP_METRICS)}")
    _region_column(level)  # a map level (province, city or county), else a ValueError naming it
    rows = breakdowns(conn, org, flt, (level,))[level]
    if metric == "amount":
        return {r.key: r.amount_fen for r in rows}, rows
    if metric == "count":
        return {r.key: r.loan_count for r in rows}, rows
    if metric == "npl":
        return {k: v.npl_ratio for k, v in npl_stock_by_region(conn, org, flt, level, today).items()}, rows
    return dict(compensation_by_region(conn, org, flt, level)), rows


CHANGE_KEYS: tuple[str, ...] = ("amount_fen", "loan_count", "enterprise_count", "inclusive_share")


def _changes(cur: Overview, other: Overview | None, stock: NplStock, other_stock: NplStock | None) -> dict[str, Any]:
    out: dict[str, Any] = {k: change(getattr(cur, k), getattr(other, k)) if other else None for k in CHANGE_KEYS}
    out["npl_ratio"] = change(stock.npl_ratio, other_stock.npl_ratio) if other_stock else None
    return out


def _in_period(f: LoanFilter) -> Any:
    return and_(*([col(Loan.origination_date) >= f.date_from] if f.date_from else []),
                *([col(Loan.origination_date) <= f.date_to] if f.date_to else []), true())


def _flows(
    conn: Connection, org: Organisation, periods: list[LoanFilter], thr: int
) -> dict[LoanFilter, tuple[list[int], Vintage]]:
    """Flow figures (the eight :class:`Overview` columns) and the vintage of each period, with
    overlapping or adjacent periods read in ONE scan (this period and the previous always are; a
    year ago too when the period is a year long). Periods differ only in their dates."""
    ordered = sorted(set(periods), key=lambda f: (f.date_from or date.min, f.date_to or date.max))
    clusters: list[list[LoanFilter]] = []
    for f in ordered:
        last = clusters[-1][-1] if clusters else None
        if (last is not None and f.date_from and last.date_to
                and f.date_from <= last.date_to + timedelta(days=1)):
            clusters[-1].append(f)
        else:
            clusters.append([f])
    out: dict[LoanFilter, tuple[list[int], Vintage]] = {}
    bad = col(Loan.default_date).is_not(None)
    for group in clusters:
        lo = None if any(f.date_from is None for f in group) else min(f.date_from for f in group if f.date_from)
        hi = None if any(f.date_to is None for f in group) else max(f.date_to for f in group if f.date_to)
        grain = rollup.grain_of(org, group[0])
        sums = rollup.flow_sums(conn, grain, group, thr // 100) if grain else None
        if sums is not None:  # the additive figures from the rollup, distinct enterprises from the loans
            ents = conn.execute(select(*(func.count(distinct(case((_in_period(f), col(Loan.borrower_id)))))
                                         for f in group))
                                .where(_where(conn, org, replace(group[0], date_from=lo, date_to=hi)))).one()
            for f, v, e in zip(group, sums, ents, strict=True):
                out[f] = ([v[0], _int(e), *v[1:7]], Vintage(v[0], v[1], v[7], v[8]))
            continue
        cols: list[Any] = []
        for f in group:
            in_f = _in_period(f)
            cols += [*_figure_columns(in_f, thr), func.sum(case((and_(in_f, bad), 1), else_=0)),
                     func.sum(case((and_(in_f, bad), col(Loan.amount_fen)), else_=0))]
        row = [_int(v) for v in conn.execute(
            select(*cols).where(_where(conn, org, replace(group[0], date_from=lo, date_to=hi)))).one()]
        for k, f in enumerate(group):
            v = row[10 * k: 10 * k + 10]
            out[f] = (v[:8], Vintage(v[0], v[2], v[8], v[9]))
    return out


def _registration_view(
    regs: dict[LoanFilter, Registrations], flt: LoanFilter, prev: LoanFilter | None, yoy: LoanFilter | None
) -> dict[str, Any]:
    """``{current, previous, year_ago, change, change_yoy}`` of the pledge registrations."""
    cur = regs[flt]

    def rel(other: LoanFilter | None) -> dict[str, float | None]:
        return {k: change(getattr(cur, k), getattr(regs[other], k)) if other else None
                for k in REGISTRATION_CHANGE_KEYS}

    return {"current": cur.as_dict(), "previous": regs[prev].as_dict() if prev else None,
            "year_ago": regs[yoy].as_dict() if yoy else None, "change": rel(prev), "change_yoy": rel(yoy)}


def bureau_overview(
    conn: Connection, org: Organisation, flt: LoanFilter, today: date, inclusive_threshold_cny: int = 10_000_000
) -> dict[str, Any]:
    """Every headline figure of the overview page and ``/stats/overview`` with 环比 and 同比.

    Returns ``{filter, current, previous_filter, previous, year_ago_filter, year_ago, npl_stock:
    {current, previous, year_ago}, vintage, change, change_yoy, compensation_by_party, registrations,
    programme_budgets, definitions}``;
    figure dicts as :meth:`Overview.as_dict`, :meth:`NplStock.as_dict`, :meth:`Vintage.as_dict`.

    Equal to the separate functions (``overview_with_previous``, ``npl_stock``, ``vintage``), but
    each distinct period is scanned once and each distinct period end's stock computed once: about
    four statements instead of eighteen; then one each for compensation (from the ledger side), the
    registrations of all periods together and the programme budgets (a few small reads).
    """
    thr = _threshold_fen(inclusive_threshold_cny)
    prev_flt, yoy_flt = flt.previous(), flt.year_ago()
    periods = [f for f in (flt, prev_flt, yoy_flt) if f is not None]
    flows = _flows(conn, org, periods, thr)
    stocks = dict(zip(periods, npl_stocks(conn, org, periods, today), strict=True))
    # the figure dicts' own NPL fields are the stock as of the system date (as overview() computes them)
    sys_today = date.today()
    figure_stocks = stocks if sys_today == today else dict(
        zip(periods, npl_stocks(conn, org, periods, sys_today), strict=True))

    def figures(f: LoanFilter) -> Overview:
        return with_stock(_overview_from(flows[f][0], thr), figure_stocks[f])

    cur = figures(flt)
    prev = figures(prev_flt) if prev_flt else None
    yoy = figures(yoy_flt) if yoy_flt else None
    stock = stocks[flt]
    prev_stock = stocks[prev_flt] if prev_flt else None
    yoy_stock = stocks[yoy_flt] if yoy_flt else None
    comp = compensation_by_party(conn, org, flt) or []
    regs = registrations_of_periods(conn, org, periods)
    return {
        "filter": flt.as_dict(),
        "current": {**cur.as_dict(), "npl_ratio": stock.npl_ratio},
        "previous_filter": prev_flt.as_dict() if prev_flt else None,
        "previous": {**prev.as_dict(), "npl_ratio": prev_stock.npl_ratio} if prev and prev_stock else None,
        "year_ago_filter": yoy_flt.as_dict() if yoy_flt else None,
        "year_ago": {**yoy.as_dict(), "npl_ratio": yoy_stock.npl_ratio} if yoy and yoy_stock else None,
        "npl_stock": {
            "current": stock.as_dict(),
            "previous": prev_stock.as_dict() if prev_stock else None,
            "year_ago": yoy_stock.as_dict() if yoy_stock else None,
        },
        "vintage": flows[flt][1].as_dict(),
        "change": _changes(cur, prev, stock, prev_stock),
        "change_yoy": _changes(cur, yoy, stock, yoy_stock),
        "compensation_by_party": [c.as_dict() for c in comp],
        "registrations": _registration_view(regs, flt, prev_flt, yoy_flt),
        "programme_budgets": programme_budgets(conn, org, flt, today),
        "definitions": DEFINITIONS,
    }
