"""Arrears: daily accrual of penalty interest (罚息) and compound interest (复利), exact in fen.

Practice (PBoC 《关于人民币贷款利率有关问题的通知》, 银发〔2003〕251号, art. 3): on overdue
loans interest is charged at the penalty rate — the contract rate plus 30 %–50 %
(multiplier 1.3–1.5, a product setting) — from the day the loan falls overdue until
principal and interest are repaid, and unpaid interest bears compound interest at the
penalty rate ("对不能按时支付的利息，按罚息利率计收复利"). So:

* 罚息 = overdue unpaid principal × contract rate × multiplier × daily fraction;
* 复利 = overdue unpaid interest × contract rate × multiplier × daily fraction;

with the daily fraction of the loan's convention (actual days / 360; /365 under
``ACT_365F``; 30/360 days under ``THIRTY_360``) and the contract rate in force each day
(split at LPR resets). Posted penalties (fees) do not compound.

Days: an instalment due on D is overdue from D + 1 and accrues for the calendar days
[D, as_of) — overdue days are counted in calendar days, as the five-class
classification and credit reporting count them. A repayment grace period (还款宽限期)
of ``grace_days`` — business days of the China calendar by default, or calendar days —
waives the penalty when the arrear is cleared by D + grace; after that the penalty runs
from the due date (``backdate_after_grace``, the usual contract wording) or from the end
of the grace period.

Rounding: each line's amounts are accrued exactly (fractions) and each posting's total is
rounded once, half to even, to the fen. The account's overdue amounts must be constant
over the accrual interval: accrue up to each payment date, post, then apply the payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from ipfin.calendar import DEFAULT_CALENDAR, ChinaCalendar
from ipfin.money import Fen, round_half_even_fen
from pledge.schedule import LoanAccount, _as_decimal, charge_fee

PENALTY_UPLIFT_RANGE = (Decimal("1.3"), Decimal("1.5"))
"""Contract rate + 30 %…50 % (银发〔2003〕251号) as a multiplier."""


@dataclass(frozen=True, slots=True)
class ArrearsPolicy:
    """Product settings for arrears.

    ``penalty_multiplier``: penalty rate ÷ contract rate (1.3–1.5 unless ``allow_any_multiplier``).
    ``grace_days`` / ``grace_basis``: repayment grace period and whether it counts China business
    days or calendar days. ``backdate_after_grace``: once the grace period is missed, the penalty
    runs from the due date. ``compound_interest``: charge 复利 on overdue interest.
    """

    penalty_multiplier: Decimal = Decimal("1.5")
    grace_days: int = 0
    grace_basis: Literal["business", "calendar"] = "business"
    backdate_after_grace: bool = True
    compound_interest: bool = True
    allow_any_multiplier: bool = False

    def __post_init__(self) -> None:
        m = _as_decimal("penalty_multiplier", self.penalty_multiplier)
        lo, hi = PENALTY_UPLIFT_RANGE
        if m < 1 or (not self.allow_any_multiplier and not lo <= m <= hi):
            raise ValueError(f"penalty_multiplier must be in [{lo}, {hi}] (contract rate + 30–50 %), got {m}")
        object.__setattr__(self, "penalty_multiplier", m)
        if isinstance(self.grace_days, bool) or not isinstance(self.grace_days, int) or self.grace_days < 0:
            raise ValueError("grace_days must be a non-negative integer")
        if self.grace_basis not in ("business", "calendar"):
            raise ValueError("grace_basis must be 'business' or 'calendar'")


@dataclass(frozen=True, slots=True)
class LineArrears:
    """Accrual on one overdue instalment over [accrual_start, end): exact amounts in fen."""

    number: int
    due_date: date
    overdue_principal_fen: Fen
    overdue_interest_fen: Fen
    accrual_start: date
    penalty_exact: Fraction
    compound_exact: Fraction


@dataclass(frozen=True, slots=True)
class ArrearsAccrual:
    """Penalty (罚息) and compound (复利) interest accrued over [start, end), rounded once per posting."""

    start: date
    end: date
    penalty_fen: Fen
    compound_fen: Fen
    lines: tuple[LineArrears, ...]

    @property
    def total_fen(self) -> Fen:
        return self.penalty_fen + self.compound_fen


def grace_end(due: date, policy: ArrearsPolicy, calendar: ChinaCalendar = DEFAULT_CALENDAR) -> date:
    """Last day on which an arrear due on ``due`` can be cleared without penalty."""
    if policy.grace_days == 0:
        return due
    if policy.grace_basis == "calendar":
        return date.fromordinal(due.toordinal() + policy.grace_days)
    return calendar.advance_business_days(due, policy.grace_days)


def accrue_arrears(
    account: LoanAccount,
    start: date,
    end: date,
    policy: ArrearsPolicy = ArrearsPolicy(),
    calendar: ChinaCalendar = DEFAULT_CALENDAR,
) -> ArrearsAccrual:
    """Penalty and compound interest accrued on ``account``'s overdue amounts over [start, end).

    Raises ValueError if a payment was applied after ``start`` and on or before ``end`` (the
    overdue amounts would not be constant over the interval).

    Examples
    --------
    >>> from pledge.schedule import InterestRate, LoanTerms, build_schedule, open_account
    >>> t = LoanTerms(120_000_000, InterestRate.fixed("0.06"), date(2026, 1, 15), 6, "equal_principal")
    >>> acct = open_account(build_schedule(t), t.start_date)  # 1.2 M CNY; nothing paid
    >>> a = accrue_arrears(acct, date(2026, 2, 24), date(2026, 3, 6))  # first instalment 10 days late
    >>> a.penalty_fen, a.compound_fen  # 200,000 CNY × 6 % × 1.5 × 10/360 = 500.00; 6,000 CNY × 9 % × 10/360 = 15.00
    (50000, 1500)
    """
    if end < start:
        raise ValueError("end must not be before start")
    if start < account.start_date:
        raise ValueError("start is before the loan start")
    for p in account.payments:
        if start < p.on <= end:
            raise ValueError(f"a payment on {p.on.isoformat()} falls inside the accrual interval: accrue up to "
                             "the payment date, post, then apply the payment")
    m = Fraction(policy.penalty_multiplier)
    out: list[LineArrears] = []
    for ln in account.lines:
        due = ln.instalment.due_date
        if due >= end:
            break
        pu = ln.principal_unpaid_fen
        iu = ln.interest_unpaid_fen if policy.compound_interest else 0
        if pu == 0 and iu == 0:
            continue
        g_end = grace_end(due, policy, calendar)
        if end <= g_end:
            continue
        # backdated: a posting that reaches past the grace period covers the days from the due date
        backdate = policy.backdate_after_grace and start <= g_end
        lower = due if backdate else max(start, g_end)
        if lower >= end:
            continue
        out.append(LineArrears(ln.instalment.number, due, pu, iu, lower,
                               account.accrued_exact(pu, lower, end) * m,
                               account.accrued_exact(iu, lower, end) * m))
    penalty = round_half_even_fen(sum((x.penalty_exact for x in out), Fraction(0)))
    compound = round_half_even_fen(sum((x.compound_exact for x in out), Fraction(0)))
    return ArrearsAccrual(start, end, penalty, compound, tuple(out))


def post_arrears(account: LoanAccount, accrual: ArrearsAccrual) -> LoanAccount:
    """Charge the accrued penalty and compound interest to the account (as fees, paid first)."""
    return charge_fee(account, accrual.total_fen)
