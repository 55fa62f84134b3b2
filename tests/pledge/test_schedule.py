"""Repayment schedules and payment application: exact fen, independent interest checks, properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfin import ql
from pledge.conventions import ACT_365F
from pledge.schedule import (
    InterestRate,
    LoanTerms,
    ScheduleType,
    apply_payment,
    build_schedule,
    charge_fee,
    level_payment,
    open_account,
    penalty_interest_fen,
    schedule_on_dates,
)

START = date(2026, 1, 15)
ONE_M = 100_000_000  # 1,000,000.00 CNY in fen


def terms(kind: ScheduleType = ScheduleType.EQUAL_INSTALMENT, principal: int = ONE_M, n: int = 12,
          rate: str = "0.0400", months: int = 1, start: date = START) -> LoanTerms:
    return LoanTerms(principal, InterestRate.fixed(rate), start, n, kind, months, convention=ACT_365F)


def hand_interest(balance_fen: int, rate: str, days: int) -> int:
    """Independent Decimal computation of Actual/365F interest, half-even to the fen."""
    return int((Decimal(balance_fen) * Decimal(rate) * days / Decimal(365)).quantize(Decimal(1), ROUND_HALF_EVEN))


# ------------------------------------------------------------------ rates


def test_lpr_plus_spread_gives_the_exact_annual_rate():
    assert InterestRate.lpr_plus("0.0310", 90).annual_rate == Decimal("0.0400")
    assert InterestRate.lpr_plus("0.0345", -20).annual_rate == Decimal("0.0325")


def test_rates_must_be_exact_and_in_range():
    with pytest.raises(ValueError, match="fixed_rate"):
        InterestRate.fixed(0.04)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="annual rate"):
        InterestRate.fixed("1.2")
    with pytest.raises(ValueError, match="lpr"):
        InterestRate.lpr_plus("nan", 0)


# ------------------------------------------------------------------ dates


def test_due_dates_follow_the_china_calendar_spring_festival_2026():
    """2026-02-15 falls in the Spring Festival holiday (State Council notice: 15–23 Feb 2026 off),
    so the first due date moves to Tuesday 24 Feb; 2026-03-15 is a Sunday → Monday 16 Mar."""
    dates = terms().due_dates()
    assert dates[0] == date(2026, 2, 24)
    assert dates[1] == date(2026, 3, 16)
    assert all(ql.is_business_day(d) for d in dates)


def test_period_days_agree_with_quantlib_actual_365_fixed():
    s = build_schedule(terms())
    for i in s.instalments:
        assert i.days / 365 == pytest.approx(ql.year_fraction(i.period_start, i.due_date, "act365f"), abs=1e-15)


# ------------------------------------------------------------------ equal instalments (等额本息)


def test_level_payment_reduces_to_the_annuity_formula_for_equal_periods():
    """1,000,000 CNY, 12 months, 6 % a year with monthly rate 0.5 %: annuity A = P·i/(1−(1+i)^−12)
    = 86,066.43 CNY (the figure 等额本息 calculators give). Compared exactly in fractions."""
    a = level_payment(ONE_M, [Fraction(1, 200)] * 12)
    i = Fraction(1, 200)
    assert a == ONE_M * i / (1 - (1 + i) ** -12)
    assert round(a) == 8_606_643


def test_equal_instalment_schedule_interest_matches_hand_computation_and_principal_sums_exactly():
    s = build_schedule(terms())
    assert sum(i.principal_fen for i in s.instalments) == ONE_M
    for i in s.instalments:
        assert i.interest_fen == hand_interest(i.opening_balance_fen, "0.0400", i.days)
    assert s.instalments[-1].closing_balance_fen == 0
    # every instalment but the last pays the level amount; the last absorbs the rounding
    assert {i.total_fen for i in s.instalments[:-1]} == {s.level_payment_fen}
    assert abs(s.instalments[-1].total_fen - s.level_payment_fen) <= 12


def test_equal_instalment_payments_discount_back_to_the_principal():
    """Independent check of the level payment: discounting every payment with the per-period
    Act/365F simple-interest factors ∏(1 + r·d/365) recovers the principal to within the
    rounding (one fen per period)."""
    s = build_schedule(terms(n=24, rate="0.0435"))
    r = Fraction(Decimal("0.0435"))
    disc, pv = Fraction(1), Fraction(0)
    for i in s.instalments:
        disc /= 1 + r * i.days / 365
        pv += i.total_fen * disc
    assert abs(pv - ONE_M) <= len(s.instalments)


def test_equal_instalment_with_equal_periods_matches_annuity_formula_in_fen():
    """With 30-day periods the level payment equals the annuity formula with i = r·30/365."""
    dates = [START + timedelta(days=30 * k) for k in range(1, 13)]
    s = schedule_on_dates(ONE_M, Decimal("0.0365"), START, dates, ScheduleType.EQUAL_INSTALMENT, convention=ACT_365F)
    i = 0.0365 * 30 / 365  # 0.3 % per period exactly
    assert s.level_payment_fen == round(ONE_M * i / (1 - (1 + i) ** -12))


@pytest.mark.parametrize("kind", list(ScheduleType))
def test_every_schedule_type_matches_quantlib_fixed_rate_leg_interest(kind):
    """Independent reference: QuantLib FixedRateLeg on the same dates and balances (Actual/365F,
    simple interest per period) gives each period's interest; ours is it rounded to the fen."""
    s = build_schedule(terms(kind, n=24, rate="0.0435"))
    dates = [s.instalments[0].period_start] + [i.due_date for i in s.instalments]
    ql_interest = ql.fixed_leg_coupons(dates, [i.opening_balance_fen for i in s.instalments], 0.0435)
    for mine, ref in zip(s.instalments, ql_interest, strict=True):
        assert abs(mine.interest_fen - ref) <= 0.5 + 1e-6


# ------------------------------------------------------------------ equal principal, bullet


def test_equal_principal_puts_the_rounding_remainder_on_the_last_instalment():
    s = build_schedule(terms(ScheduleType.EQUAL_PRINCIPAL, principal=100_000_001, n=12))
    parts = [i.principal_fen for i in s.instalments]
    assert parts[:-1] == [8_333_333] * 11 and parts[-1] == 8_333_338
    assert sum(parts) == 100_000_001
    for i in s.instalments:
        assert i.interest_fen == hand_interest(i.opening_balance_fen, "0.0400", i.days)


def test_interest_only_bullet_pays_all_principal_at_maturity():
    s = build_schedule(terms(ScheduleType.INTEREST_ONLY, n=4, months=3))
    assert [i.principal_fen for i in s.instalments] == [0, 0, 0, ONE_M]
    assert s.total_interest_fen == sum(hand_interest(ONE_M, "0.0400", i.days) for i in s.instalments)
    # one year of quarterly periods: 365 or 366 days of interest on the full amount
    assert sum(i.days for i in s.instalments) == (s.maturity - START).days


@settings(max_examples=60, deadline=None)
@given(
    principal=st.integers(1, 5_000_000_000),
    n=st.integers(1, 60),
    rate_bp=st.integers(0, 2400),
    kind=st.sampled_from(list(ScheduleType)),
    start=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
)
def test_principal_parts_always_sum_exactly_to_the_loan_amount(principal, n, rate_bp, kind, start):
    s = build_schedule(LoanTerms(principal, InterestRate.fixed(Decimal(rate_bp) / 10_000), start, n, kind))
    assert sum(i.principal_fen for i in s.instalments) == principal
    assert all(i.principal_fen >= 0 and i.interest_fen >= 0 for i in s.instalments)
    assert s.instalments[-1].closing_balance_fen == 0


def test_bad_terms_name_the_field():
    with pytest.raises(ValueError, match="principal_fen"):
        terms(principal=0)
    with pytest.raises(ValueError, match="principal_fen"):
        LoanTerms(Decimal("100.5"), InterestRate.fixed("0.04"), START, 12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_periods"):
        terms(n=0)
    with pytest.raises(ValueError, match="months_per_period"):
        terms(months=5)


# ------------------------------------------------------------------ payments


def test_payment_goes_to_fees_then_interest_then_principal():
    s = build_schedule(terms())
    acct = charge_fee(open_account(s, START), 50_000)  # 500 CNY late fee
    first = s.instalments[0]
    acct, alloc = apply_payment(acct, 50_000 + first.interest_fen + 100, first.due_date, allow_prepayment=False)
    assert (alloc.fees_fen, alloc.interest_fen, alloc.principal_fen, alloc.unapplied_fen) == (
        50_000, first.interest_fen, 100, 0)
    assert acct.due(first.due_date).principal_fen == first.principal_fen - 100


def test_partial_payment_leaves_the_loan_overdue_by_calendar_days():
    s = build_schedule(terms())
    first = s.instalments[0]
    acct, _ = apply_payment(open_account(s, START), first.interest_fen, first.due_date)
    assert acct.overdue_days(first.due_date) == 0  # due today is not yet overdue
    assert acct.overdue_days(first.due_date + timedelta(days=10)) == 10
    acct, _ = apply_payment(acct, first.principal_fen, first.due_date + timedelta(days=10))
    assert acct.overdue_days(first.due_date + timedelta(days=10)) == 0


def test_early_repayment_collects_accrued_interest_and_recomputes_the_rest():
    s = build_schedule(terms())
    acct = open_account(s, START)
    on = date(2026, 2, 2)  # 18 days into the first period
    acct, alloc = apply_payment(acct, 20_000_000, on)
    accrued = hand_interest(ONE_M, "0.0400", 18)
    assert alloc.accrued_interest_fen == accrued
    assert alloc.prepaid_principal_fen == 20_000_000 - accrued
    assert acct.principal_outstanding_fen == ONE_M - alloc.prepaid_principal_fen
    scheduled = [ln.instalment for ln in acct.lines if ln.instalment.kind == "scheduled"]
    assert len(scheduled) == 12  # term kept: same due dates, smaller instalments
    assert [i.due_date for i in scheduled] == [i.due_date for i in s.instalments]
    assert scheduled[0].period_start == on
    assert sum(i.principal_fen for i in scheduled) == acct.principal_outstanding_fen
    assert sum(ln.instalment.principal_fen for ln in acct.lines) == ONE_M


def test_payoff_amount_settles_everything_exactly():
    s = build_schedule(terms(ScheduleType.EQUAL_PRINCIPAL))
    acct = open_account(s, START)
    on = date(2026, 5, 20)
    payoff = acct.payoff_amount(on)
    acct, alloc = apply_payment(acct, payoff + 123, on)
    assert acct.fully_repaid and acct.principal_outstanding_fen == 0
    assert alloc.unapplied_fen == 123


def test_payments_out_of_order_or_before_start_are_refused():
    acct = open_account(build_schedule(terms()), START)
    with pytest.raises(ValueError, match="on: payment date"):
        apply_payment(acct, 100, START - timedelta(days=1))
    acct, _ = apply_payment(acct, 100, date(2026, 3, 1))
    with pytest.raises(ValueError, match="last applied payment"):
        apply_payment(acct, 100, date(2026, 2, 1))
    with pytest.raises(ValueError, match="amount_fen"):
        apply_payment(acct, -5, date(2026, 3, 1))


def test_penalty_interest_is_overdue_principal_times_rate_times_uplift():
    s = build_schedule(terms())
    acct = open_account(s, START)
    first = s.instalments[0]
    as_of = first.due_date + timedelta(days=20)
    expected = (Decimal(first.principal_fen) * Decimal("0.04") * Decimal("1.5") * 20 / 365).quantize(
        Decimal(1), ROUND_HALF_EVEN)
    assert penalty_interest_fen(acct, as_of) == int(expected)


payment_steps = st.lists(
    st.tuples(st.integers(0, 45), st.integers(1, 40_000_000)), min_size=1, max_size=25
)


@settings(max_examples=80, deadline=None)
@given(
    steps=payment_steps,
    kind=st.sampled_from(list(ScheduleType)),
    rate_bp=st.integers(0, 1800),
    fee=st.integers(0, 200_000),
)
def test_any_sequence_of_payments_keeps_balances_non_negative_and_conserves_cash(steps, kind, rate_bp, fee):
    s = build_schedule(LoanTerms(ONE_M, InterestRate.fixed(Decimal(rate_bp) / 10_000), START, 12, kind))
    acct = charge_fee(open_account(s, START), fee)
    on = START
    paid_in = 0
    for gap, amount in steps:
        on += timedelta(days=gap)
        acct, a = apply_payment(acct, amount, on)
        paid_in += amount
        parts = (a.fees_fen, a.interest_fen, a.principal_fen, a.accrued_interest_fen, a.prepaid_principal_fen,
                 a.unapplied_fen)
        assert all(p >= 0 for p in parts) and sum(parts) == amount
        assert acct.principal_outstanding_fen >= 0
        assert all(ln.principal_unpaid_fen >= 0 and ln.interest_unpaid_fen >= 0 for ln in acct.lines)
        assert sum(ln.instalment.principal_fen for ln in acct.lines) == ONE_M
        assert acct.principal_paid_fen + acct.principal_outstanding_fen == ONE_M
    applied = sum(p.applied_fen for p in acct.payments)
    assert applied + sum(p.unapplied_fen for p in acct.payments) == paid_in
    assert applied == acct.fees_paid_fen + acct.interest_paid_fen + acct.principal_paid_fen
