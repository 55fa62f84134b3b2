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
from api.stats.filters import LIVE_STATUSES, NPL_DAYS_PAST_DUE, NPL_STATUSES, LoanFilter, _int, _where, unindexed

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
    """Straight-line scheduled principal outstanding at ``at`` (half-up to the fen).

    Integer arithmetic equal to ``amount × clamp(1 − (days ÷ 30.4375) ÷ term, 0, 1)`` rounded half-up
    (30.4375 = :data:`DAYS_PER_MONTH`), without building fractions: it runs once per group and end.
    """
    if term_months <= 0:
        return 0
    den = DAYS_PER_MONTH.numerator * term_months  # remaining = (den − days·q) ÷ den, q = 1/DAYS_PER_MONTH
    num = den - (at - origination).days * DAYS_PER_MONTH.denominator
    num = min(den, max(0, num))
    return (2 * amount_fen * num + den) // (2 * den)


def npl_stock(conn: Connection, org: Organisation, flt: LoanFilter, today: date) -> NplStock:
    """不良率 as a stock at the period end (``flt.date_to``, or ``today`` without one).

    A period end of today or later uses the loans' current status and outstanding; a past end
    reconstructs the book running then (see the ``npl_ratio`` definition).
    """
    return npl_stocks(conn, org, [flt], today)[0]


def _end(flt: LoanFilter, today: date) -> date:
    return flt.date_to if flt.date_to is not None and flt.date_to < today else today


def npl_stocks(conn: Connection, org: Organisation, flts: list[LoanFilter], today: date) -> list[NplStock]:
    """:func:`npl_stock` of several filters that differ only in their dates (this period, the previous,
    a year ago), each distinct end computed once: one query for the current book and ONE scan for
    all past ends together (per-end conditional sums grouped by origination day and term)."""
    if not flts:
        return []
    dims = {replace(f, date_from=None, date_to=None) for f in flts}
    if len(dims) > 1:
        raise ValueError("flts: must differ only in their dates")
    base = dims.pop()
    ends = sorted({_end(f, today) for f in flts})
    past = [e for e in ends if e < today]
    found = _past_stocks(conn, org, base, past) if past else {}
    if ends[-1] >= today:
        found[ends[-1]] = _current_stock(conn, org, base, ends[-1])
    return [found[_end(f, today)] for f in flts]


def _current_stock(conn: Connection, org: Organisation, base: LoanFilter, end: date) -> NplStock:
    """The book at today's status: live loans and the non-performing among them (only live loans
    count, so the scan is restricted to live statuses on the covering index ``ix_loan_live``)."""
    where = and_(_where(conn, org, replace(base, date_to=end)), col(Loan.status).in_(LIVE_STATUSES))
    npl = or_(col(Loan.status).in_(NPL_STATUSES), col(Loan.days_past_due) > NPL_DAYS_PAST_DUE)
    row = conn.execute(select(
        func.count(), func.sum(col(Loan.outstanding_fen)),
        func.sum(case((npl, 1), else_=0)), func.sum(case((npl, col(Loan.outstanding_fen)), else_=0)),
    ).where(where)).one()
    n, out, n_npl, out_npl = (_int(v) for v in row)
    return NplStock(end, True, n, out, n_npl, out_npl)


def _past_stocks(conn: Connection, org: Organisation, base: LoanFilter, ends: list[date]) -> dict[date, NplStock]:
    """The book running at each past end: non-performing (defaulted by then) at the current balance,
    performing at the scheduled balance — one scan over loans maturing after the earliest end."""
    where = and_(
        _where(conn, org, base),
        unindexed(col(Loan.origination_date), type_=Loan.__table__.c.origination_date.type) <= max(ends),  # type: ignore[attr-defined]
        col(Loan.maturity_date) > min(ends),
    )
    cols: list[Any] = []
    for end in ends:
        running = and_(col(Loan.origination_date) <= end, col(Loan.maturity_date) > end)
        # non-performing at the end: defaulted by then; a non-performing loan without a recorded
        # default date counts as non-performing throughout (its current status is all that is known)
        no_date_npl = and_(col(Loan.default_date).is_(None), or_(
            col(Loan.status).in_(NPL_STATUSES), col(Loan.days_past_due) > NPL_DAYS_PAST_DUE))
        defaulted = or_(and_(col(Loan.default_date).is_not(None), col(Loan.default_date) <= end), no_date_npl)
        bad, good = and_(running, defaulted), and_(running, not_(defaulted))
        cols += [func.sum(case((bad, 1), else_=0)), func.sum(case((bad, col(Loan.outstanding_fen)), else_=0)),
                 func.sum(case((good, 1), else_=0)), func.sum(case((good, col(Loan.amount_fen)), else_=0))]
    stmt = (select(col(Loan.origination_date), col(Loan.term_months), *cols).where(where)
            .group_by(col(Loan.origination_date), col(Loan.term_months)))
    acc = {end: [0, 0, 0, 0] for end in ends}  # npl count, npl outstanding, loans, outstanding
    for row in conn.execute(stmt):
        d = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
        term = int(row[1])
        for k, end in enumerate(ends):
            n_bad, out_bad, n_good, amt_good = (_int(v) for v in row[2 + 4 * k: 6 + 4 * k])
            a = acc[end]
            a[0] += n_bad
            a[1] += out_bad
            a[2] += n_bad + n_good
            a[3] += out_bad + (scheduled_balance_fen(amt_good, d, term, end) if n_good else 0)
    return {end: NplStock(end, False, a[2], a[3], a[0], a[1]) for end, a in acc.items()}
