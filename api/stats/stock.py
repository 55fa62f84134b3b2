"""The NPL ratio as a stock at period end (不良率, 存量口径): the book the period end saw.

A period end of today or later uses the loans' current status and outstanding; a past end
reconstructs the loans running then from their dates (definition: ``npl_ratio`` in
:data:`api.stats.definitions.DEFINITIONS`). The schedule arithmetic of a past end is done in
Python over a GROUP BY of (origination day, term) — a few thousand groups — exact to the fen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.engine import Connection
from sqlmodel import col

from api.identity.models import Organisation
from api.pledge.models import Loan
from api.stats.filters import LIVE_STATUSES, NPL_DAYS_PAST_DUE, NPL_STATUSES, LoanFilter, _int, _where

DAYS_PER_MONTH = Fraction(304375, 10000)


"""Average days in a month (365.25 ÷ 12) for the scheduled balance of a past period end."""


@dataclass(frozen=True)
class NplStock:
    """Outstanding and non-performing outstanding at ``as_of`` (the period end), fen."""

    as_of: date
    current: bool
    loan_count: int
    outstanding_fen: int
    npl_count: int
    npl_outstanding_fen: int

    @property
    def npl_ratio(self) -> float | None:
        return self.npl_outstanding_fen / self.outstanding_fen if self.outstanding_fen else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "as_of": self.as_of.isoformat(), "npl_ratio": self.npl_ratio}


def scheduled_balance_fen(amount_fen: int, origination: date, term_months: int, at: date) -> int:
    """Straight-line scheduled principal outstanding at ``at`` (half-up to the fen)."""
    if term_months <= 0:
        return 0
    elapsed = Fraction((at - origination).days) / DAYS_PER_MONTH
    remaining = min(Fraction(1), max(Fraction(0), 1 - elapsed / term_months))
    return int(amount_fen * remaining + Fraction(1, 2))


def npl_stock(conn: Connection, org: Organisation, flt: LoanFilter, today: date) -> NplStock:
    """不良率 as a stock at the period end (``flt.date_to``, or ``today`` without one).

    A period end of today or later uses the loans' current status and outstanding; a past end
    reconstructs the book running then (see the ``npl_ratio`` definition).
    """
    end = flt.date_to if flt.date_to is not None and flt.date_to < today else today
    book = replace(flt, date_from=None, date_to=end)
    where = _where(conn, org, book)
    if end >= today:
        live = col(Loan.status).in_(LIVE_STATUSES)
        npl = and_(live, or_(col(Loan.status).in_(NPL_STATUSES), col(Loan.days_past_due) > NPL_DAYS_PAST_DUE))
        row = conn.execute(select(
            func.sum(case((live, 1), else_=0)), func.sum(case((live, col(Loan.outstanding_fen)), else_=0)),
            func.sum(case((npl, 1), else_=0)), func.sum(case((npl, col(Loan.outstanding_fen)), else_=0)),
        ).where(where)).one()
        n, out, n_npl, out_npl = (_int(v) for v in row)
        return NplStock(end, True, n, out, n_npl, out_npl)
    running = and_(where, col(Loan.maturity_date) > end)
    # non-performing at the end: defaulted by then; a non-performing loan without a recorded
    # default date counts as non-performing throughout (its current status is all that is known)
    no_date_npl = and_(col(Loan.default_date).is_(None), or_(
        col(Loan.status).in_(NPL_STATUSES), col(Loan.days_past_due) > NPL_DAYS_PAST_DUE))
    defaulted = or_(and_(col(Loan.default_date).is_not(None), col(Loan.default_date) <= end), no_date_npl)
    n_npl, out_npl = (_int(v) for v in conn.execute(
        select(func.count(), func.sum(col(Loan.outstanding_fen))).where(running, defaulted)
    ).one())
    groups = conn.execute(
        select(col(Loan.origination_date), col(Loan.term_months), func.count(), func.sum(col(Loan.amount_fen)))
        .where(running, not_(defaulted))
        .group_by(col(Loan.origination_date), col(Loan.term_months))
    )
    n, out = n_npl, out_npl
    for orig, term, cnt, amount in groups:
        d = orig if isinstance(orig, date) else date.fromisoformat(str(orig))
        n += _int(cnt)
        out += scheduled_balance_fen(_int(amount), d, int(term), end)
    return NplStock(end, False, n, out, n_npl, out_npl)
