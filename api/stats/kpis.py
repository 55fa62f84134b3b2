"""A bureau's headline figures with honest definitions: the NPL ratio as a stock at period end,
the vintage default rate as a separate cohort view, and the comparisons (环比 and 同比).

Definitions in words: :data:`api.stats.definitions.DEFINITIONS`. Portable SQL (SQLite and
PostgreSQL); the schedule arithmetic of a past period end is done in Python over a GROUP BY of
(origination day, term), a few thousand groups, exact to the fen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection
from sqlmodel import col

from api.identity.models import Organisation
from api.pledge.models import Loan
from api.stats.definitions import DEFINITIONS
from api.stats.filters import LoanFilter, _int, _where
from api.stats.service import Overview, change, compensation_by_party, overview_with_previous
from api.stats.stock import NplStock, npl_stock


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


def bureau_overview(
    conn: Connection, org: Organisation, flt: LoanFilter, today: date, inclusive_threshold_cny: int = 10_000_000
) -> dict[str, Any]:
    """Every headline figure of the overview page and ``/stats/overview`` with 环比 and 同比.

    Returns ``{filter, current, previous_filter, previous, year_ago_filter, year_ago, npl_stock:
    {current, previous, year_ago}, vintage, change, change_yoy, compensation_by_party, definitions}``;
    figure dicts as :meth:`Overview.as_dict`, :meth:`NplStock.as_dict`, :meth:`Vintage.as_dict`.
    """
    cur, prev = overview_with_previous(conn, org, flt, inclusive_threshold_cny)
    prev_flt, yoy_flt = flt.previous(), flt.year_ago()
    yoy = overview_with_previous(conn, org, yoy_flt, inclusive_threshold_cny)[0] if yoy_flt else None
    stock = npl_stock(conn, org, flt, today)
    prev_stock = npl_stock(conn, org, prev_flt, today) if prev_flt else None
    yoy_stock = npl_stock(conn, org, yoy_flt, today) if yoy_flt else None
    comp = compensation_by_party(conn, org, flt)
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
        "vintage": vintage(conn, org, flt).as_dict(),
        "change": _changes(cur, prev, stock, prev_stock),
        "change_yoy": _changes(cur, yoy, stock, yoy_stock),
        "compensation_by_party": [c.as_dict() for c in comp],
        "definitions": DEFINITIONS,
    }
