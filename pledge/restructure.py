"""Changes to a running loan: LPR repricing, term extension (展期) and rescheduling (重新安排还款计划).

All three rebuild the not-yet-due part of a :class:`~pledge.schedule.LoanAccount` from a
date ``on`` exactly in fen; lines due on or before ``on`` and everything already paid are
kept. The period that contains ``on`` is split in two for interest (分段计息): the days
before ``on`` accrue at the old rate on the old balance, the days from ``on`` at the new
rate on the new balance (both at the convention's daily rate, annual/360 — annual/365
under ``ACT_365F``); the two parts are added exactly and rounded once, and paid with the
first new instalment on top of its level payment. From ``on`` the balance is amortised
again (same schedule type unless rescheduled): the first new period, from ``on`` to the
next due date, is a broken period; later ones are full contractual periods.

Principal parts still sum exactly to the loan amount after every change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from ipfin.calendar import DEFAULT_CALENDAR, ChinaCalendar, add_months
from pledge.conventions import InterestConvention
from pledge.schedule import (
    LoanAccount,
    ScheduleLine,
    ScheduleType,
    _amortise,
    _as_decimal,
    _current_line,
    line_months,
    period_growth,
)


def _rate(value: Decimal | str, name: str = "annual_rate") -> Decimal:
    r = _as_decimal(name, value)
    if not Decimal(0) <= r < Decimal(1):
        raise ValueError(f"{name} must be in [0, 1) as a fraction, got {r}")
    return r


def _rebuild(
    account: LoanAccount,
    on: date,
    *,
    annual_rate: Decimal,
    due_dates: Sequence[date],
    months: Sequence[int | None],
    schedule_type: ScheduleType,
    convention: InterestConvention,
    grace_periods: int,
    fold_overdue_principal: bool = False,
    anchor_date: date | None = None,
    months_per_period: int | None = None,
) -> LoanAccount:
    cur = _current_line(account, on)
    if cur is None:
        raise ValueError(f"on: the loan has no instalment due after {on.isoformat()} (matured)")
    if on < account.start_date:
        raise ValueError("on: before the loan start")
    lines = list(account.lines)
    if any(ln.principal_paid_fen or ln.interest_paid_fen for ln in lines[cur:]):
        raise ValueError("instalments not yet due must be unpaid")  # apply_payment never pays them
    cur_inst = lines[cur].instalment
    balance_sched = sum(ln.instalment.principal_fen for ln in lines[cur:])
    moved = 0
    if fold_overdue_principal:
        for i in range(cur):
            ln = lines[i]
            if ln.principal_unpaid_fen:
                moved += ln.principal_unpaid_fen
                lines[i] = replace(ln, instalment=replace(ln.instalment, principal_fen=ln.principal_paid_fen))
    balance = balance_sched + moved
    if not due_dates or due_dates[0] <= on:
        raise ValueError("the new due dates must be after the change date")
    a = cur_inst.period_start
    carried = account.accrued_exact(balance_sched, a, on) if a < on else Fraction(0)
    bounds = [on, *due_dates]
    growth = period_growth(annual_rate, bounds, convention, months)
    new, _ = _amortise(balance, bounds, growth, schedule_type, grace_periods=grace_periods,
                       first_number=cur_inst.number, months=months, carried_interest=carried)
    if a < on:
        first = new[0]
        new = (replace(first, period_start=a, days=(first.due_date - a).days), *new[1:])
    history = account.rate_history or ((account.start_date, account.annual_rate),)
    if annual_rate != account.rate_on(on):
        history = (*(h for h in history if h[0] < on), (on, annual_rate))
    return replace(
        account,
        lines=(*lines[:cur], *(ScheduleLine(i) for i in new)),
        annual_rate=annual_rate,
        schedule_type=schedule_type,
        convention=convention,
        rate_history=history if len(history) > 1 else account.rate_history,
        anchor_date=anchor_date if anchor_date is not None else account.anchor_date,
        months_per_period=months_per_period if months_per_period is not None else account.months_per_period,
    )


def _remaining(account: LoanAccount, on: date) -> tuple[int, list[date], list[int | None], int]:
    """(current index, remaining due dates, their contractual months (first broken if split), grace periods)."""
    cur = _current_line(account, on)
    if cur is None:
        raise ValueError(f"on: the loan has no instalment due after {on.isoformat()} (matured)")
    idx = range(cur, len(account.lines))
    dates = [account.lines[i].instalment.due_date for i in idx]
    first_split = account.lines[cur].instalment.period_start < on
    months = [None if (i == cur and first_split) else line_months(account, i) for i in idx]
    grace = sum(1 for i in list(idx)[:-1] if account.lines[i].instalment.kind == "grace")
    return cur, dates, months, grace


def reprice(account: LoanAccount, on: date, new_annual_rate: Decimal | str) -> LoanAccount:
    """Reset the rate on ``on`` (LPR repricing, 重定价) and recompute the remaining schedule exactly.

    Due dates and schedule type are kept; the instalment changes from the first due date after ``on``.

    Examples
    --------
    >>> from pledge.schedule import InterestRate, LoanTerms, build_schedule, open_account
    >>> t = LoanTerms(120_000_000, InterestRate.fixed("0.036"), date(2024, 1, 15), 24, "equal_principal")
    >>> acct = reprice(open_account(build_schedule(t), t.start_date), date(2025, 1, 15), "0.03")
    >>> acct.lines[12].instalment.interest_fen  # 600,000 CNY × 3 %/12
    150000
    """
    rate = _rate(new_annual_rate, "new_annual_rate")
    _, dates, months, grace = _remaining(account, on)
    return _rebuild(account, on, annual_rate=rate, due_dates=dates, months=months,
                    schedule_type=account.schedule_type, convention=account.interest_convention,
                    grace_periods=grace)


def apply_rate_path(account: LoanAccount, path: Sequence[tuple[date, Decimal]]) -> LoanAccount:
    """Apply each ``(reset date, annual rate)`` of ``path`` after the start and before maturity, in order.

    Feed it :func:`pledge.lpr.lpr_rate_path` (LPR + spread on each reset date).
    """
    for d, r in sorted(path):
        if account.start_date < d < account.maturity and Decimal(r) != account.rate_on(d):
            account = reprice(account, d, r)
    return account


def _contract_index(account: LoanAccount, calendar: ChinaCalendar) -> int:
    """k such that the maturity is the adjusted anchor + k × months_per_period months."""
    anchor = account.anchor_date or account.start_date
    mpp = account.months_per_period
    target = account.maturity
    for k in range(1, 600 // mpp + 25):
        if calendar.adjust(add_months(anchor, k * mpp), account.business_day_rule) == target:
            return k
    raise ValueError("the maturity is not a contractual due date; pass the new due dates explicitly")


def max_extension_months(original_term_months: int) -> int:
    """Longest total extension (展期) allowed by 《贷款通则》(1996) art. 12.

    Short-term loans (≤ 12 months): up to the original term; medium-term (≤ 60 months): up to
    half of it; long-term: up to 3 years.

    Examples
    --------
    >>> max_extension_months(12), max_extension_months(36), max_extension_months(120)
    (12, 18, 36)
    """
    if original_term_months <= 0:
        raise ValueError("original_term_months must be positive")
    if original_term_months <= 12:
        return original_term_months
    if original_term_months <= 60:
        return original_term_months // 2
    return 36


def extend_term(
    account: LoanAccount,
    on: date,
    extra_periods: int,
    *,
    annual_rate: Decimal | str | None = None,
    original_term_months: int | None = None,
    calendar: ChinaCalendar = DEFAULT_CALENDAR,
) -> LoanAccount:
    """Term extension (展期): add ``extra_periods`` due dates after maturity and re-amortise the balance.

    The not-yet-due principal is spread over the remaining plus the new due dates (contractual
    dates continue from the anchor; business-day adjusted on ``calendar``). ``annual_rate``
    applies from ``on`` (default: unchanged). With ``original_term_months`` the extension is
    checked against :func:`max_extension_months`.
    """
    if isinstance(extra_periods, bool) or not isinstance(extra_periods, int) or extra_periods < 1:
        raise ValueError("extra_periods must be a positive integer")
    mpp = account.months_per_period
    if original_term_months is not None and extra_periods * mpp > max_extension_months(original_term_months):
        raise ValueError(f"extra_periods: an extension of {extra_periods * mpp} months exceeds the "
                         f"{max_extension_months(original_term_months)} months allowed (贷款通则 art. 12)")
    rate = account.annual_rate if annual_rate is None else _rate(annual_rate)
    _, dates, months, grace = _remaining(account, on)
    k = _contract_index(account, calendar)
    anchor = account.anchor_date or account.start_date
    more = [calendar.adjust(add_months(anchor, (k + j) * mpp), account.business_day_rule)
            for j in range(1, extra_periods + 1)]
    return _rebuild(account, on, annual_rate=rate, due_dates=[*dates, *more], months=[*months, *([mpp] * len(more))],
                    schedule_type=account.schedule_type, convention=account.interest_convention,
                    grace_periods=grace)


def reschedule(
    account: LoanAccount,
    on: date,
    n_periods: int,
    *,
    months_per_period: int | None = None,
    schedule_type: ScheduleType | str | None = None,
    annual_rate: Decimal | str | None = None,
    convention: InterestConvention | str | None = None,
    grace_periods: int = 0,
    fold_overdue_principal: bool = True,
    calendar: ChinaCalendar = DEFAULT_CALENDAR,
) -> LoanAccount:
    """Reschedule the balance (重新安排还款计划): a new schedule of ``n_periods`` counted from ``on``.

    The balance is the principal not yet due plus, with ``fold_overdue_principal``, the overdue
    unpaid principal (the overdue lines keep only what was paid of it). Unpaid interest of
    past lines stays due. Due dates are ``on`` + k × ``months_per_period`` months on
    ``calendar``; ``grace_periods`` leading periods are interest-only; type, rate and
    convention may change. The interest accrued in the current period up to ``on`` is paid
    with the first new instalment.
    """
    if isinstance(n_periods, bool) or not isinstance(n_periods, int) or n_periods < 1:
        raise ValueError("n_periods must be a positive integer")
    mpp = account.months_per_period if months_per_period is None else months_per_period
    if mpp not in (1, 2, 3, 6, 12) or n_periods * mpp > 600:
        raise ValueError("months_per_period must be 1, 2, 3, 6 or 12 and the term at most 600 months")
    st = account.schedule_type if schedule_type is None else ScheduleType(schedule_type)
    conv = account.interest_convention if convention is None else InterestConvention(convention)
    rate = account.annual_rate if annual_rate is None else _rate(annual_rate)
    dates = calendar.monthly_schedule(on, n_periods, mpp, account.business_day_rule)
    return _rebuild(account, on, annual_rate=rate, due_dates=dates, months=[mpp] * n_periods, schedule_type=st,
                    convention=conv, grace_periods=grace_periods, fold_overdue_principal=fold_overdue_principal,
                    anchor_date=on, months_per_period=mpp)
