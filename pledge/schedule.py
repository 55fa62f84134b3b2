"""Repayment schedules (还款计划) and payment application, exact in integer fen.

Dates come from :mod:`ipfin.calendar` (via :mod:`ipfin.ql`): due dates are the start date
plus k months on the China calendar (holidays and 调休 working weekends), business-day
adjusted (modified following by default). Interest follows the loan's
:class:`~pledge.conventions.InterestConvention` (a product setting). The default is the
Chinese practice of the PBoC 《人民币利率管理规定》(银发〔1999〕77号): 等额本息 and 等额本金
use a monthly rate of annual/12 for every full monthly period (``MONTHLY_360``; broken
periods accrue annual/360 per actual day), interest-only loans accrue annual/360 per
actual day (``ACT_360``). ``ACT_365F`` (the behaviour before conventions existed) and
``THIRTY_360`` are available where the contract says so. A period's interest = balance ×
annual rate × accrual fraction, computed exactly (fractions) and rounded half to even to
the fen, once per period.

Schedule types:

* ``equal_instalment`` (等额本息): the level payment A is the one that brings the
  balance exactly to zero under the period rates g_k = r·f_k (f_k the accrual fraction):
  A = P·∏(1+g_k) / Σ_j ∏_{k>j}(1+g_k) (with equal g_k this is the annuity formula
  A = P·i / (1 − (1+i)^−n), i = r/12 under the monthly convention); A is rounded to the
  fen, each period's principal is A minus its interest, and the last instalment takes
  the remaining balance (the rounding remainder), so its total may differ from A by a
  few fen.
* ``equal_principal`` (等额本金): principal ⌊P/n⌋ each period, the remainder on the last.
* ``interest_only`` (按期付息、到期还本): interest each period, all principal at maturity.

A grace period (宽限期, ``LoanTerms.grace_months``) makes the first periods interest-only
(kind ``grace``); the principal then amortises over the remaining periods.

Principal parts always sum exactly to the loan amount.

Payments (:func:`apply_payment`) are applied fees → interest → principal, oldest due
first. Money left after all arrears is, if prepayment is allowed, an early repayment
(提前还款): the interest accrued in the current period up to the payment date is
collected first (annual/360 — or /365 under ``ACT_365F`` — per actual day), then
principal; the remaining schedule is recomputed on the reduced balance, either over the
remaining due dates (``keep_term``: instalments reduced) or over fewer of them
(``shorten_term``: instalment kept, term shortened). What cannot be applied is returned as
``unapplied_fen`` (to refund or hold); nothing is lost. Rate resets (LPR), term
extension (展期) and rescheduling are in :mod:`pledge.restructure`; penalty and
compound interest in :mod:`pledge.arrears`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from ipfin import ql
from ipfin.calendar import ChinaCalendar
from ipfin.money import Fen, round_half_even_fen
from pledge.amortisation import DAYS_PER_YEAR as DAYS_PER_YEAR
from pledge.amortisation import Instalment as Instalment
from pledge.amortisation import InstalmentKind as InstalmentKind
from pledge.amortisation import InterestRate as InterestRate
from pledge.amortisation import PrepaymentMode as PrepaymentMode
from pledge.amortisation import Schedule as Schedule
from pledge.amortisation import ScheduleType as ScheduleType
from pledge.amortisation import _amortise as _amortise
from pledge.amortisation import _as_decimal as _as_decimal
from pledge.amortisation import _check_fen as _check_fen
from pledge.amortisation import interest_fen as interest_fen
from pledge.amortisation import level_payment as level_payment
from pledge.amortisation import period_interest_fen as period_interest_fen
from pledge.conventions import (
    InterestConvention,
    accrual_fraction,
    daily_fraction,
    default_convention,
    whole_months_between,
)


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """Principal (fen), rate, start (disbursement) date, number of periods and months per period.

    ``convention``: the interest convention (product setting); ``None`` gives the Chinese
    default for the schedule type (``MONTHLY_360`` for 等额本息/等额本金, ``ACT_360`` for
    interest-only; see :func:`pledge.conventions.default_convention`). ``grace_months``
    (宽限期): the first months are interest-only, then the principal amortises over the
    remaining periods (a multiple of ``months_per_period``, shorter than the term).
    ``calendar``: the China calendar with the bank's override table (default: the
    ``holidays`` package calendar, :data:`ipfin.calendar.DEFAULT_CALENDAR`).
    """

    principal_fen: Fen
    rate: InterestRate
    start_date: date
    n_periods: int
    schedule_type: ScheduleType = ScheduleType.EQUAL_INSTALMENT
    months_per_period: int = 1
    business_day_rule: ql.BusinessDayRule = "modified_following"
    convention: InterestConvention | None = None
    grace_months: int = 0
    calendar: ChinaCalendar | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_fen("principal_fen", self.principal_fen, positive=True)
        if isinstance(self.n_periods, bool) or not isinstance(self.n_periods, int) or self.n_periods < 1:
            raise ValueError("n_periods must be a positive integer")
        if self.n_periods * self.months_per_period > 600:
            raise ValueError("n_periods × months_per_period must be at most 600 months")
        if self.months_per_period not in (1, 2, 3, 6, 12):
            raise ValueError("months_per_period must be 1, 2, 3, 6 or 12")
        object.__setattr__(self, "schedule_type", ScheduleType(self.schedule_type))
        conv = default_convention(self.schedule_type) if self.convention is None else self.convention
        object.__setattr__(self, "convention", InterestConvention(conv))
        g = self.grace_months
        if isinstance(g, bool) or not isinstance(g, int) or g < 0 or g % self.months_per_period:
            raise ValueError("grace_months must be a non-negative multiple of months_per_period")
        if g and g >= self.n_periods * self.months_per_period:
            raise ValueError("grace_months must be shorter than the term")

    @property
    def grace_periods(self) -> int:
        """Number of interest-only periods at the start (宽限期)."""
        return self.grace_months // self.months_per_period

    def due_dates(self) -> list[date]:
        """Business-day adjusted due dates on the China calendar (holidays and 调休 working weekends)."""
        if self.calendar is not None:
            return self.calendar.monthly_schedule(self.start_date, self.n_periods, self.months_per_period,
                                                  self.business_day_rule)
        return ql.monthly_schedule(self.start_date, self.n_periods, self.months_per_period, self.business_day_rule)


def period_growth(
    annual_rate: Decimal, bounds: Sequence[date], convention: InterestConvention | str,
    months: Sequence[int | None] | None = None,
) -> list[Fraction]:
    """Period rates g_k = annual rate × accrual fraction of [bounds[k], bounds[k+1]) (exact)."""
    r = Fraction(annual_rate)
    mon = list(months) if months is not None else [None] * (len(bounds) - 1)
    return [r * accrual_fraction(convention, a, b, m) for (a, b), m in zip(pairwise(bounds), mon, strict=True)]


def schedule_on_dates(
    principal_fen: Fen,
    annual_rate: Decimal,
    start: date,
    due_dates: Sequence[date],
    schedule_type: ScheduleType | str,
    *,
    first_number: int = 1,
    convention: InterestConvention | str | None = None,
    period_months: Sequence[int | None] | None = None,
    grace_periods: int = 0,
) -> Schedule:
    """A schedule for ``principal_fen`` from ``start`` over the given (strictly increasing) due dates.

    ``convention`` defaults to the Chinese practice for the schedule type. ``period_months``
    marks full contractual periods (their length in months) for the monthly convention —
    pass it when the due dates are business-day adjusted; without it a period counts as
    full only if its end is exactly its start plus whole months. ``grace_periods``: leading
    interest-only periods.

    Examples
    --------
    >>> from datetime import date
    >>> s = schedule_on_dates(120_000_000, Decimal("0.049"), date(2026, 1, 15),
    ...                       [date(2026, 2, 15), date(2026, 3, 15)], "equal_principal")
    >>> [i.total_fen for i in s.instalments]  # 600,000 + 1,200,000 × 4.9 %/12; then on 600,000
    [60490000, 60245000]
    """
    _check_fen("principal_fen", principal_fen)
    st = ScheduleType(schedule_type)
    rate = _as_decimal("annual_rate", annual_rate)
    conv = default_convention(st) if convention is None else InterestConvention(convention)
    if not due_dates:
        raise ValueError("due_dates must not be empty")
    bounds = [start, *due_dates]
    if period_months is not None and len(period_months) != len(due_dates):
        raise ValueError("period_months must have one entry per due date")
    if any(b <= a for a, b in pairwise(bounds)):
        raise ValueError("due_dates must be strictly increasing and after the start date")
    growth = period_growth(rate, bounds, conv, period_months)
    months = period_months
    if months is None and conv is InterestConvention.MONTHLY_360:
        months = [whole_months_between(a, b) for a, b in pairwise(bounds)]
    insts, level = _amortise(principal_fen, bounds, growth, st, grace_periods=grace_periods,
                             first_number=first_number, months=months)
    return Schedule(principal_fen, rate, st, insts, level, conv)


def build_schedule(terms: LoanTerms) -> Schedule:
    """The contractual schedule of ``terms`` (China calendar due dates, the terms' interest convention)."""
    n = terms.n_periods
    s = schedule_on_dates(
        terms.principal_fen, terms.rate.annual_rate, terms.start_date, terms.due_dates(), terms.schedule_type,
        convention=terms.convention, period_months=[terms.months_per_period] * n, grace_periods=terms.grace_periods,
    )
    return replace(s, months_per_period=terms.months_per_period, business_day_rule=terms.business_day_rule)


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
    guarantee fee instalments) charged with :func:`charge_fee`. ``annual_rate`` is the rate in
    force now; ``rate_history`` lists ``(effective date, annual rate)`` from the start once the
    rate has been reset (LPR repricing), so accruals across a reset use each rate on its days.
    ``convention`` ``None`` means the default for the schedule type. ``anchor_date``: the date
    contractual due dates count months from (the start date unless rescheduled).
    """

    principal_fen: Fen
    annual_rate: Decimal
    schedule_type: ScheduleType
    start_date: date
    lines: tuple[ScheduleLine, ...]
    fees_charged_fen: Fen = 0
    fees_paid_fen: Fen = 0
    payments: tuple[PaymentAllocation, ...] = ()
    convention: InterestConvention | None = None
    months_per_period: int = 1
    business_day_rule: ql.BusinessDayRule = "modified_following"
    rate_history: tuple[tuple[date, Decimal], ...] = ()
    anchor_date: date | None = None

    @property
    def interest_convention(self) -> InterestConvention:
        """The convention in force (the schedule type's default when not set)."""
        return default_convention(self.schedule_type) if self.convention is None else InterestConvention(
            self.convention)

    def rate_on(self, d: date) -> Decimal:
        """Annual rate in force on ``d`` (from ``rate_history``; the current rate if no reset happened)."""
        rate = self.annual_rate
        if self.rate_history:
            rate = self.rate_history[0][1]
            for eff, r in self.rate_history:
                if eff <= d:
                    rate = r
        return rate

    def accrued_exact(self, balance_fen: Fen, start: date, end: date) -> Fraction:
        """Exact interest (fen) on ``balance_fen`` over [start, end) at the daily rate, split at rate resets."""
        cuts = sorted({start, end, *(eff for eff, _ in self.rate_history if start < eff < end)})
        conv = self.interest_convention
        return sum((Fraction(balance_fen) * Fraction(self.rate_on(a)) * daily_fraction(conv, a, b)
                    for a, b in pairwise(cuts)), Fraction(0))

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
            accrued = _accrued_interest_fen(self, cur, on)
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
    """A fresh ledger for a disbursed loan with ``schedule`` (its convention and period length carried over)."""
    return LoanAccount(
        schedule.principal_fen,
        schedule.annual_rate,
        schedule.schedule_type,
        start_date,
        tuple(ScheduleLine(i) for i in schedule.instalments),
        convention=schedule.convention,
        months_per_period=schedule.months_per_period,
        business_day_rule=schedule.business_day_rule,
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


def _accrued_interest_fen(account: LoanAccount, idx: int, on: date) -> Fen:
    """Interest of line ``idx`` accrued from its period start to ``on``, daily rate, rounded half-even once."""
    inst = account.lines[idx].instalment
    return round_half_even_fen(account.accrued_exact(inst.opening_balance_fen, inst.period_start, on))


def line_months(account: LoanAccount, idx: int) -> int | None:
    """Contractual months of line ``idx`` if it is a full period (see :attr:`Instalment.accrual_months`).

    Lines loaded without ``accrual_months`` count as full periods of ``months_per_period``
    unless they are, or directly follow, an early-repayment split.
    """
    inst = account.lines[idx].instalment
    if inst.accrual_months is not None:
        return inst.accrual_months
    if inst.kind == "early_repayment" or (idx > 0 and account.lines[idx - 1].instalment.kind == "early_repayment"):
        return None
    return account.months_per_period


def apply_payment(
    account: LoanAccount, amount_fen: Fen, on: date, *, allow_prepayment: bool = True,
    prepayment_mode: PrepaymentMode = "keep_term",
) -> tuple[LoanAccount, PaymentAllocation]:
    """Apply a payment received on ``on``: fees → interest due → principal due → early repayment.

    ``prepayment_mode`` (提前还款方式): ``keep_term`` recomputes lower instalments over the
    remaining due dates; ``shorten_term`` keeps the instalment (the level payment of 等额本息,
    the principal part of 等额本金) and drops the due dates no longer needed. Interest-only
    loans keep their term either way. Returns the new account and the allocation (its parts
    sum exactly to ``amount_fen``). Payments must be applied in date order and not before
    the loan start.
    """
    if prepayment_mode not in ("keep_term", "shorten_term"):
        raise ValueError(f"prepayment_mode must be 'keep_term' or 'shorten_term', got {prepayment_mode!r}")
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
        accrued_due = _accrued_interest_fen(account, cur, on)
        if left > accrued_due:
            accrued = accrued_due
            prepaid = min(left - accrued, inst.opening_balance_fen)
            left -= accrued + prepaid
            lines = _reschedule_after_prepayment(account, lines, cur, on, accrued, prepaid, prepayment_mode)

    fees_paid = account.fees_paid_fen + fees
    alloc = PaymentAllocation(on, amount_fen, fees, interest, principal, accrued, prepaid, left)
    new = replace(account, lines=tuple(lines), fees_paid_fen=fees_paid, payments=(*account.payments, alloc))
    return new, alloc


def _reschedule_after_prepayment(
    account: LoanAccount, lines: list[ScheduleLine], cur: int, on: date, accrued: Fen, prepaid: Fen,
    mode: PrepaymentMode = "keep_term",
) -> list[ScheduleLine]:
    """Split the current period at ``on`` and rebuild the rest on the reduced balance.

    The new first period [on, next due date) is a broken period (daily rate); later periods
    keep their contractual months. ``shorten_term`` keeps the instalment and uses only as
    many of the remaining due dates as needed.
    """
    inst = lines[cur].instalment
    early = Instalment(inst.number, inst.period_start, on, (on - inst.period_start).days,
                       inst.opening_balance_fen, prepaid, accrued, kind="early_repayment")
    kept = [*lines[:cur], ScheduleLine(early, prepaid, accrued)]
    remaining = inst.opening_balance_fen - prepaid
    if remaining == 0:
        return kept
    acct = replace(account, lines=tuple(lines))
    future = list(range(cur, len(lines)))
    dates = [lines[i].instalment.due_date for i in future]
    months: list[int | None] = [None, *(line_months(acct, i) for i in future[1:])]
    grace = sum(1 for i in future[:-1] if lines[i].instalment.kind == "grace")
    conv = account.interest_convention
    bounds = [on, *dates]
    growth = [Fraction(account.rate_on(a)) * accrual_fraction(conv, a, b, m)
              for (a, b), m in zip(pairwise(bounds), months, strict=True)]
    st = account.schedule_type
    n = len(dates)
    if mode == "shorten_term" and st is not ScheduleType.INTEREST_ONLY and n - grace > 1:
        n = grace + _shortened_periods(lines, future, grace, remaining, growth, st)
    rebuilt, _ = _amortise(remaining, bounds[: n + 1], growth[:n], st, grace_periods=min(grace, n - 1),
                           first_number=inst.number + 1, months=months[:n])
    return kept + [ScheduleLine(i) for i in rebuilt]


def _shortened_periods(
    lines: list[ScheduleLine], future: list[int], grace: int, remaining: Fen, growth: list[Fraction],
    st: ScheduleType,
) -> int:
    """Fewest amortising periods whose instalment does not exceed the current one (keep instalment, 缩短期限)."""
    amort = future[grace:]
    n_amort = len(amort)
    ref = lines[amort[0]].instalment
    if st is ScheduleType.EQUAL_PRINCIPAL:
        per = max(ref.principal_fen, 1)
        return min(n_amort, -(-remaining // per))
    target = ref.total_fen
    g = growth[grace:]
    lo, hi = 1, n_amort  # level(m) decreases in m; find the smallest m with level(m) <= target
    while lo < hi:
        mid = (lo + hi) // 2
        if round_half_even_fen(level_payment(remaining, g[:mid])) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def penalty_interest_fen(account: LoanAccount, as_of: date, multiplier: Decimal = Decimal("1.5")) -> Fen:
    """Penalty interest (罚息) on overdue principal: unpaid principal × rate × multiplier × days late / basis.

    Summed over past-due instalments, each from its due date to ``as_of``; basis = 360 days
    (365 under ``ACT_365F``, 30/360 days under ``THIRTY_360``). The usual Chinese practice is
    a 30–50 % uplift on the contract rate (multiplier 1.3–1.5). Charge the result with
    :func:`charge_fee`; this function does not change the account. For accruals between two
    dates with compound interest (复利) and grace days see :mod:`pledge.arrears`.
    """
    m = _as_decimal("multiplier", multiplier)
    if m < 0:
        raise ValueError("multiplier must not be negative")
    total = Fraction(0)
    for ln in account.lines:
        d = ln.instalment.due_date
        if d < as_of and ln.principal_unpaid_fen > 0:
            total += Fraction(ln.principal_unpaid_fen) * Fraction(account.annual_rate) * Fraction(m) * daily_fraction(
                account.interest_convention, d, as_of)
    return round_half_even_fen(total)
