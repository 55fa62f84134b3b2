"""Repayment schedules (还款计划) and payment application, exact in integer fen.

Dates come from :mod:`ipfin.ql`: due dates are the start date plus k months on the China
inter-bank calendar, business-day adjusted (modified following by default). Interest
accrues on the outstanding principal, Actual/365 Fixed: interest of a period =
balance × annual rate × days / 365, computed exactly (fractions) and rounded half to
even to the fen, once per period.

Schedule types:

* ``equal_instalment`` (等额本息): the level payment A is the one that brings the
  balance exactly to zero under the actual-day accruals g_k = r·d_k/365:
  A = P·∏(1+g_k) / Σ_j ∏_{k>j}(1+g_k) (with equal g_k this is the annuity formula
  A = P·g / (1 − (1+g)^−n)); A is rounded to the fen, each period's principal is A
  minus its interest, and the last instalment takes the remaining balance (the
  rounding remainder), so its total may differ from A by a few fen.
* ``equal_principal`` (等额本金): principal ⌊P/n⌋ each period, the remainder on the last.
* ``interest_only`` (按期付息、到期还本): interest each period, all principal at maturity.

Principal parts always sum exactly to the loan amount.

Payments (:func:`apply_payment`) are applied fees → interest → principal, oldest due
first. Money left after all arrears is, if prepayment is allowed, an early repayment
(提前还款): the interest accrued in the current period up to the payment date is
collected first, then principal; the remaining schedule is recomputed on the reduced
balance over the remaining due dates (same type, term kept, instalments reduced). What
cannot be applied is returned as ``unapplied_fen`` (to refund or hold); nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from ipfin import ql
from ipfin.money import Fen, round_half_even_fen

DAYS_PER_YEAR = 365  # Actual/365 Fixed


class ScheduleType(StrEnum):
    EQUAL_INSTALMENT = "equal_instalment"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_ONLY = "interest_only"  # 按期付息到期还本 (bullet)


def _check_fen(name: str, value: object, *, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be integer fen, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, got {value}")
    return value


def _as_decimal(name: str, value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError(f"{name} must be an exact decimal (Decimal, str or int), not {type(value).__name__}")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError as exc:
        raise ValueError(f"{name} is not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"{name} must be finite")
    return d


@dataclass(frozen=True, slots=True)
class InterestRate:
    """Annual loan rate: fixed, or LPR + spread in basis points (LPR is an input number).

    Use :meth:`fixed` or :meth:`lpr_plus`. ``annual_rate`` is the exact decimal fraction.
    """

    kind: Literal["fixed", "lpr_spread"]
    fixed_rate: Decimal | None = None
    lpr: Decimal | None = None
    spread_bp: int = 0

    def __post_init__(self) -> None:
        if self.kind == "fixed":
            if self.fixed_rate is None:
                raise ValueError("fixed_rate is required for a fixed rate")
            object.__setattr__(self, "fixed_rate", _as_decimal("fixed_rate", self.fixed_rate))
        elif self.kind == "lpr_spread":
            if self.lpr is None:
                raise ValueError("lpr is required for an LPR + spread rate")
            object.__setattr__(self, "lpr", _as_decimal("lpr", self.lpr))
            if isinstance(self.spread_bp, bool) or not isinstance(self.spread_bp, int):
                raise ValueError("spread_bp must be an integer number of basis points")
        else:
            raise ValueError(f"kind must be 'fixed' or 'lpr_spread', got {self.kind!r}")
        r = self.annual_rate
        if not (Decimal(0) <= r < Decimal(1)):
            raise ValueError(f"annual rate must be in [0, 1) as a fraction, got {r}")

    @classmethod
    def fixed(cls, rate: Decimal | str) -> InterestRate:
        return cls("fixed", fixed_rate=_as_decimal("fixed_rate", rate))

    @classmethod
    def lpr_plus(cls, lpr: Decimal | str, spread_bp: int) -> InterestRate:
        """LPR (e.g. the 1-year LPR, 0.0310) plus ``spread_bp`` basis points (may be negative)."""
        return cls("lpr_spread", lpr=_as_decimal("lpr", lpr), spread_bp=spread_bp)

    @property
    def annual_rate(self) -> Decimal:
        if self.kind == "fixed":
            assert self.fixed_rate is not None
            return self.fixed_rate
        assert self.lpr is not None
        return self.lpr + Decimal(self.spread_bp) / Decimal(10_000)


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """Principal (fen), rate, start (disbursement) date, number of periods and months per period."""

    principal_fen: Fen
    rate: InterestRate
    start_date: date
    n_periods: int
    schedule_type: ScheduleType = ScheduleType.EQUAL_INSTALMENT
    months_per_period: int = 1
    business_day_rule: ql.BusinessDayRule = "modified_following"

    def __post_init__(self) -> None:
        _check_fen("principal_fen", self.principal_fen, positive=True)
        if isinstance(self.n_periods, bool) or not isinstance(self.n_periods, int) or self.n_periods < 1:
            raise ValueError("n_periods must be a positive integer")
        if self.n_periods * self.months_per_period > 600:
            raise ValueError("n_periods × months_per_period must be at most 600 months")
        if self.months_per_period not in (1, 2, 3, 6, 12):
            raise ValueError("months_per_period must be 1, 2, 3, 6 or 12")
        object.__setattr__(self, "schedule_type", ScheduleType(self.schedule_type))

    def due_dates(self) -> list[date]:
        """Business-day adjusted due dates on the China calendar (QuantLib)."""
        return ql.monthly_schedule(self.start_date, self.n_periods, self.months_per_period, self.business_day_rule)


@dataclass(frozen=True, slots=True)
class Instalment:
    """One line of a schedule. ``kind`` is ``scheduled`` or ``early_repayment`` (a split period)."""

    number: int
    period_start: date
    due_date: date
    days: int
    opening_balance_fen: Fen
    principal_fen: Fen
    interest_fen: Fen
    kind: Literal["scheduled", "early_repayment"] = "scheduled"

    @property
    def total_fen(self) -> Fen:
        return self.principal_fen + self.interest_fen

    @property
    def closing_balance_fen(self) -> Fen:
        return self.opening_balance_fen - self.principal_fen


@dataclass(frozen=True, slots=True)
class Schedule:
    principal_fen: Fen
    annual_rate: Decimal
    schedule_type: ScheduleType
    instalments: tuple[Instalment, ...]
    level_payment_fen: Fen | None = None  # equal_instalment only

    @property
    def total_interest_fen(self) -> Fen:
        return sum(i.interest_fen for i in self.instalments)

    @property
    def total_principal_fen(self) -> Fen:
        return sum(i.principal_fen for i in self.instalments)

    @property
    def maturity(self) -> date:
        return self.instalments[-1].due_date


def period_interest_fen(balance_fen: Fen, annual_rate: Decimal, days: int) -> Fen:
    """Interest of one period, Actual/365F: balance × rate × days / 365, rounded half-even to the fen."""
    if days < 0:
        raise ValueError("days must not be negative")
    return round_half_even_fen(Fraction(balance_fen) * Fraction(annual_rate) * days / DAYS_PER_YEAR)


def level_payment(principal_fen: Fen, period_rates: Sequence[Fraction]) -> Fraction:
    """Exact level payment A that amortises ``principal_fen`` with per-period rates g_k.

    Solves B_n = 0 for B_k = B_{k−1}(1 + g_k) − A:
    A = P·∏(1+g_k) / Σ_{j=1..n} ∏_{k=j+1..n}(1+g_k). Equal g_k give the annuity formula.
    """
    if not period_rates:
        raise ValueError("period_rates must not be empty")
    denom = Fraction(0)
    suffix = Fraction(1)  # ∏_{k>j}(1+g_k), built backwards; ends as ∏ over all periods
    for g in reversed(period_rates):
        denom += suffix
        suffix *= 1 + g
    return Fraction(principal_fen) * suffix / denom


def schedule_on_dates(
    principal_fen: Fen,
    annual_rate: Decimal,
    start: date,
    due_dates: Sequence[date],
    schedule_type: ScheduleType | str,
    *,
    first_number: int = 1,
) -> Schedule:
    """A schedule for ``principal_fen`` from ``start`` over the given (strictly increasing) due dates."""
    _check_fen("principal_fen", principal_fen)
    st = ScheduleType(schedule_type)
    rate = _as_decimal("annual_rate", annual_rate)
    if not due_dates:
        raise ValueError("due_dates must not be empty")
    bounds = [start, *due_dates]
    days = [(b - a).days for a, b in pairwise(bounds)]
    if any(d <= 0 for d in days):
        raise ValueError("due_dates must be strictly increasing and after the start date")
    n = len(due_dates)
    level: Fen | None = None
    principals: list[Fen | None]
    if st is ScheduleType.EQUAL_PRINCIPAL:
        base = principal_fen // n
        principals = [*([base] * (n - 1)), principal_fen - base * (n - 1)]
    elif st is ScheduleType.INTEREST_ONLY:
        principals = [*([0] * (n - 1)), principal_fen]
    else:
        rates = [Fraction(rate) * d / DAYS_PER_YEAR for d in days]
        level = round_half_even_fen(level_payment(principal_fen, rates))
        principals = [None] * n  # A − interest, computed on the way
    out: list[Instalment] = []
    balance = principal_fen
    for k in range(n):
        interest = period_interest_fen(balance, rate, days[k])
        if k == n - 1:
            principal = balance
        elif level is not None:
            principal = level - interest
            if principal < 0:
                raise ValueError("the level payment does not cover a period's interest (negative amortisation); "
                                 "shorten the term or the first period")
            principal = min(principal, balance)
        else:
            p = principals[k]
            assert p is not None
            principal = p
        out.append(Instalment(first_number + k, bounds[k], bounds[k + 1], days[k], balance, principal, interest))
        balance -= principal
    assert balance == 0
    return Schedule(principal_fen, rate, st, tuple(out), level)


def build_schedule(terms: LoanTerms) -> Schedule:
    """The contractual schedule of ``terms`` (China calendar due dates, Actual/365F interest)."""
    return schedule_on_dates(
        terms.principal_fen, terms.rate.annual_rate, terms.start_date, terms.due_dates(), terms.schedule_type
    )


# ------------------------------------------------------------------ account and payments


@dataclass(frozen=True, slots=True)
class ScheduleLine:
    """An instalment and what has been paid against it."""

    instalment: Instalment
    principal_paid_fen: Fen = 0
    interest_paid_fen: Fen = 0

    @property
    def principal_unpaid_fen(self) -> Fen:
        return self.instalment.principal_fen - self.principal_paid_fen

    @property
    def interest_unpaid_fen(self) -> Fen:
        return self.instalment.interest_fen - self.interest_paid_fen

    @property
    def settled(self) -> bool:
        return self.principal_unpaid_fen == 0 and self.interest_unpaid_fen == 0


@dataclass(frozen=True, slots=True)
class DueAmounts:
    """Amounts due and unpaid as of a date (fen)."""

    fees_fen: Fen
    interest_fen: Fen
    principal_fen: Fen

    @property
    def total_fen(self) -> Fen:
        return self.fees_fen + self.interest_fen + self.principal_fen


@dataclass(frozen=True, slots=True)
class PaymentAllocation:
    """How one payment was applied. The parts sum exactly to ``amount_fen``."""

    on: date
    amount_fen: Fen
    fees_fen: Fen
    interest_fen: Fen
    principal_fen: Fen
    accrued_interest_fen: Fen  # current-period interest collected with an early repayment
    prepaid_principal_fen: Fen
    unapplied_fen: Fen

    @property
    def applied_fen(self) -> Fen:
        return self.amount_fen - self.unapplied_fen


@dataclass(frozen=True, slots=True)
class LoanAccount:
    """Immutable loan ledger: the current schedule lines, fees owed and payments applied.

    ``fees_charged_fen``/``fees_paid_fen`` track fees (late fees, penalty interest 罚息,
    guarantee fee instalments) charged with :func:`charge_fee`.
    """

    principal_fen: Fen
    annual_rate: Decimal
    schedule_type: ScheduleType
    start_date: date
    lines: tuple[ScheduleLine, ...]
    fees_charged_fen: Fen = 0
    fees_paid_fen: Fen = 0
    payments: tuple[PaymentAllocation, ...] = ()

    @property
    def principal_paid_fen(self) -> Fen:
        return sum(ln.principal_paid_fen for ln in self.lines)

    @property
    def interest_paid_fen(self) -> Fen:
        return sum(ln.interest_paid_fen for ln in self.lines)

    @property
    def principal_outstanding_fen(self) -> Fen:
        """Principal not yet repaid (due or not)."""
        return self.principal_fen - self.principal_paid_fen

    @property
    def last_payment_date(self) -> date | None:
        return self.payments[-1].on if self.payments else None

    @property
    def maturity(self) -> date:
        return self.lines[-1].instalment.due_date

    def due(self, as_of: date) -> DueAmounts:
        """Fees owed plus unpaid interest and principal of instalments due on or before ``as_of``."""
        due_lines = [ln for ln in self.lines if ln.instalment.due_date <= as_of]
        return DueAmounts(
            self.fees_charged_fen - self.fees_paid_fen,
            sum(ln.interest_unpaid_fen for ln in due_lines),
            sum(ln.principal_unpaid_fen for ln in due_lines),
        )

    def payoff_amount(self, on: date) -> Fen:
        """Total needed to repay everything on ``on``: arrears, accrued interest and all principal."""
        due = self.due(on)
        cur = _current_line(self, on)
        accrued = 0
        if cur is not None:
            inst = self.lines[cur].instalment
            accrued = period_interest_fen(inst.opening_balance_fen, self.annual_rate, (on - inst.period_start).days)
        return due.total_fen + accrued + (self.principal_outstanding_fen - due.principal_fen)

    def overdue_days(self, as_of: date) -> int:
        """Days since the oldest instalment still unpaid fell due (0 if none is past due).

        An instalment due on day D is overdue from D+1; the count on ``as_of`` is
        ``as_of − D``. Fees alone do not make a loan overdue.
        """
        for ln in self.lines:
            if ln.instalment.due_date < as_of and not ln.settled:
                return (as_of - ln.instalment.due_date).days
        return 0

    @property
    def fully_repaid(self) -> bool:
        return self.principal_outstanding_fen == 0 and all(ln.settled for ln in self.lines) and (
            self.fees_charged_fen == self.fees_paid_fen
        )


def open_account(schedule: Schedule, start_date: date) -> LoanAccount:
    """A fresh ledger for a disbursed loan with ``schedule``."""
    return LoanAccount(
        schedule.principal_fen,
        schedule.annual_rate,
        schedule.schedule_type,
        start_date,
        tuple(ScheduleLine(i) for i in schedule.instalments),
    )


def charge_fee(account: LoanAccount, amount_fen: Fen) -> LoanAccount:
    """Add a fee (late fee, penalty interest, guarantee fee) to what the borrower owes."""
    _check_fen("amount_fen", amount_fen)
    return replace(account, fees_charged_fen=account.fees_charged_fen + amount_fen)


def _current_line(account: LoanAccount, on: date) -> int | None:
    """Index of the line whose period contains ``on`` (due after ``on``), if any."""
    for idx, ln in enumerate(account.lines):
        if ln.instalment.due_date > on:
            return idx
    return None


def apply_payment(
    account: LoanAccount, amount_fen: Fen, on: date, *, allow_prepayment: bool = True
) -> tuple[LoanAccount, PaymentAllocation]:
    """Apply a payment received on ``on``: fees → interest due → principal due → early repayment.

    Returns the new account and the allocation (its parts sum exactly to ``amount_fen``).
    Payments must be applied in date order and not before the loan start.
    """
    _check_fen("amount_fen", amount_fen, positive=True)
    if on < account.start_date:
        raise ValueError(f"on: payment date {on} is before the loan start {account.start_date}")
    if account.last_payment_date is not None and on < account.last_payment_date:
        raise ValueError(f"on: payment date {on} is before the last applied payment {account.last_payment_date}")
    left = amount_fen
    lines = list(account.lines)

    fees = min(left, account.fees_charged_fen - account.fees_paid_fen)
    left -= fees

    interest = 0
    for idx, ln in enumerate(lines):
        if ln.instalment.due_date > on or left == 0:
            break
        take = min(left, ln.interest_unpaid_fen)
        if take:
            lines[idx] = replace(ln, interest_paid_fen=ln.interest_paid_fen + take)
            interest += take
            left -= take

    principal = 0
    for idx, ln in enumerate(lines):
        if ln.instalment.due_date > on or left == 0:
            break
        take = min(left, ln.principal_unpaid_fen)
        if take:
            lines[idx] = replace(ln, principal_paid_fen=ln.principal_paid_fen + take)
            principal += take
            left -= take

    accrued = prepaid = 0
    cur = _current_line(account, on)
    if allow_prepayment and left > 0 and cur is not None and all(ln.settled for ln in lines[:cur]):
        inst = lines[cur].instalment
        accrued_due = period_interest_fen(inst.opening_balance_fen, account.annual_rate,
                                          (on - inst.period_start).days)
        if left > accrued_due:
            accrued = accrued_due
            prepaid = min(left - accrued, inst.opening_balance_fen)
            left -= accrued + prepaid
            lines = _reschedule_after_prepayment(account, lines, cur, on, accrued, prepaid)

    fees_paid = account.fees_paid_fen + fees
    alloc = PaymentAllocation(on, amount_fen, fees, interest, principal, accrued, prepaid, left)
    new = replace(account, lines=tuple(lines), fees_paid_fen=fees_paid, payments=(*account.payments, alloc))
    return new, alloc


def _reschedule_after_prepayment(
    account: LoanAccount, lines: list[ScheduleLine], cur: int, on: date, accrued: Fen, prepaid: Fen
) -> list[ScheduleLine]:
    """Split the current period at ``on`` and rebuild the rest on the reduced balance (term kept)."""
    inst = lines[cur].instalment
    early = Instalment(inst.number, inst.period_start, on, (on - inst.period_start).days,
                       inst.opening_balance_fen, prepaid, accrued, kind="early_repayment")
    kept = [*lines[:cur], ScheduleLine(early, prepaid, accrued)]
    remaining = inst.opening_balance_fen - prepaid
    if remaining == 0:
        return kept
    future_dates = [ln.instalment.due_date for ln in lines[cur:]]
    if future_dates[0] == on:  # cannot happen (current line is due after on) but keep the dates valid
        future_dates = future_dates[1:]
    rebuilt = schedule_on_dates(remaining, account.annual_rate, on, future_dates, account.schedule_type,
                                first_number=inst.number + 1)
    return kept + [ScheduleLine(i) for i in rebuilt.instalments]


def penalty_interest_fen(account: LoanAccount, as_of: date, multiplier: Decimal = Decimal("1.5")) -> Fen:
    """Penalty interest (罚息) on overdue principal: unpaid principal × rate × multiplier × days late / 365.

    Summed over past-due instalments, each from its due date to ``as_of``; the usual
    Chinese practice is a 30–50 % uplift on the contract rate (multiplier 1.3–1.5).
    Charge the result with :func:`charge_fee`; this function does not change the account.
    """
    m = _as_decimal("multiplier", multiplier)
    if m < 0:
        raise ValueError("multiplier must not be negative")
    total = Fraction(0)
    for ln in account.lines:
        d = ln.instalment.due_date
        if d < as_of and ln.principal_unpaid_fen > 0:
            total += Fraction(ln.principal_unpaid_fen) * Fraction(account.annual_rate) * Fraction(m) * (
                as_of - d
            ).days / DAYS_PER_YEAR
    return round_half_even_fen(total)
