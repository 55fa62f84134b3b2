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

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.engine import Connection
from sqlmodel import col

from api.identity.models import Organisation
from api.pledge.models import Loan
from api.stats.definitions import DEFINITIONS
from api.stats.filters import LoanFilter, _int, _where
from api.stats.service import (
    Overview,
    _figure_columns,
    _overview_from,
    _threshold_fen,
    change,
    compensation_by_party,
    with_stock,
)
from api.stats.stock import NplStock, npl_stocks


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


CHANGE_KEYS: tuple[str, ...] = ("amount_fen", "loan_count", "enterprise_count", "inclusive_share")


def _changes(cur: Overview, other: Overview | None, stock: NplStock, other_stock: NplStock | None) -> dict[str, Any]:
    out: dict[str, Any] = {k: change(getattr(cur, k), getattr(other, k)) if other else None for k in CHANGE_KEYS}
    out["npl_ratio"] = change(stock.npl_ratio, other_stock.npl_ratio) if other_stock else None
    return out


def _flows(
    conn: Connection, org: Organisation, periods: list[LoanFilter], thr: int
) -> dict[LoanFilter, tuple[list[int], Vintage]]:
    """Flow figures (the eight :class:`Overview` columns) and the vintage of each period, with
    overlapping or adjacent periods read in ONE scan (this period and the previous always are; a
    year ago too when the period is a year long). Periods differ only in their dates."""
    distinct = sorted(set(periods), key=lambda f: (f.date_from or date.min, f.date_to or date.max))
    clusters: list[list[LoanFilter]] = []
    for f in distinct:
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
        cols: list[Any] = []
        for f in group:
            in_f = and_(*([col(Loan.origination_date) >= f.date_from] if f.date_from else []),
                        *([col(Loan.origination_date) <= f.date_to] if f.date_to else []), true())
            cols += [*_figure_columns(in_f, thr), func.sum(case((and_(in_f, bad), 1), else_=0)),
                     func.sum(case((and_(in_f, bad), col(Loan.amount_fen)), else_=0))]
        row = [_int(v) for v in conn.execute(
            select(*cols).where(_where(conn, org, replace(group[0], date_from=lo, date_to=hi)))).one()]
        for k, f in enumerate(group):
            v = row[10 * k: 10 * k + 10]
            out[f] = (v[:8], Vintage(v[0], v[2], v[8], v[9]))
    return out


def bureau_overview(
    conn: Connection, org: Organisation, flt: LoanFilter, today: date, inclusive_threshold_cny: int = 10_000_000
) -> dict[str, Any]:
    """Every headline figure of the overview page and ``/stats/overview`` with 环比 and 同比.

    Returns ``{filter, current, previous_filter, previous, year_ago_filter, year_ago, npl_stock:
    {current, previous, year_ago}, vintage, change, change_yoy, compensation_by_party, definitions}``;
    figure dicts as :meth:`Overview.as_dict`, :meth:`NplStock.as_dict`, :meth:`Vintage.as_dict`.

    Equal to the separate functions (``overview_with_previous``, ``npl_stock``, ``vintage``), but
    each distinct period is scanned once and each distinct period end's stock computed once: about
    four statements instead of eighteen.
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
    comp = compensation_by_party(conn, org, flt)
    assert comp is not None, "compensation_by_party: always returns a list"
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
        "definitions": DEFINITIONS,
    }
