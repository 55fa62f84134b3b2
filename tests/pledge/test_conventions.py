"""Interest conventions: PBoC monthly (annual/12) and daily (annual/360) rules, Actual/365F, 30/360.

References: PBoC 《人民币利率管理规定》(银发〔1999〕77号): 日利率 = 年利率 ÷ 360, 月利率 =
年利率 ÷ 12; the annuity formula A = P·i/(1 − (1+i)^−n) with i = annual/12 that bank
mortgage calculators (e.g. 招商银行 / 中国建设银行 online 房贷计算器) implement; QuantLib's
Actual360, Actual365Fixed and Thirty360(BondBasis) day counters.
"""

from __future__ import annotations

import doctest
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
import QuantLib
from hypothesis import given, settings
from hypothesis import strategies as st

import ipfin.calendar
import pledge.arrears
import pledge.conventions
import pledge.lpr
import pledge.provisioning
import pledge.restructure
import pledge.schedule
from pledge.conventions import (
    ACT_360,
    ACT_365F,
    MONTHLY_360,
    THIRTY_360,
    InterestConvention,
    accrual_fraction,
    daily_fraction,
    days_30_360,
    default_convention,
)
from pledge.schedule import InterestRate, LoanTerms, ScheduleType, build_schedule, interest_fen, schedule_on_dates

START = date(2026, 1, 15)
no_horizon_warning = pytest.mark.filterwarnings("ignore::ipfin.calendar.CalendarHorizonWarning")


def cny(fen: int) -> Decimal:
    return Decimal(fen) / 100


# ------------------------------------------------------------------ published figures


@no_horizon_warning
def test_equal_instalment_mortgage_matches_the_bank_calculator_figure():
    """1,000,000 CNY, 4.9 % a year, 30 years 等额本息: every Chinese bank mortgage calculator
    (招商银行, 中国建设银行 房贷计算器) shows a monthly payment of 5,307.27 CNY — the annuity
    formula with monthly rate 4.9 %/12 (PBoC: 月利率 = 年利率 ÷ 12)."""
    s = build_schedule(LoanTerms(100_000_000, InterestRate.fixed("0.049"), START, 360))
    assert s.convention is MONTHLY_360
    assert cny(s.level_payment_fen) == Decimal("5307.27")
    i = Fraction(49, 12_000)
    exact = 100_000_000 * i / (1 - (1 + i) ** -360)
    assert abs(exact - s.level_payment_fen) <= Fraction(1, 2)
    # first month's interest is P × annual/12 = 4,083.33 CNY whatever the month's length
    assert cny(s.instalments[0].interest_fen) == Decimal("4083.33")
    assert sum(i.principal_fen for i in s.instalments) == 100_000_000


@no_horizon_warning
def test_equal_principal_mortgage_first_and_last_payment_and_total_interest():
    """1,200,000 CNY, 4.9 %, 20 years 等额本金: principal 5,000 CNY a month; first payment
    = P/n + P × 4.9 %/12 = 9,900.00; each month 5,000 × 4.9 %/12 = 20.4167 less; last payment
    5,000 + 5,000 × 4.9 %/12 = 5,020.42; total interest P·(annual/12)·(n+1)/2 = 590,450.00
    (the figures of the bank calculators' 等额本金 mode)."""
    s = build_schedule(LoanTerms(120_000_000, InterestRate.fixed("0.049"), START, 240, "equal_principal"))
    totals = [cny(i.total_fen) for i in s.instalments]
    assert totals[0] == Decimal("9900.00")
    assert totals[1] == Decimal("9879.58")
    assert totals[-1] == Decimal("5020.42")
    assert cny(s.total_interest_fen) == Decimal("590450.00")


def test_daily_interest_is_annual_over_360_times_actual_days():
    """PBoC: interest = principal × annual rate ÷ 360 × actual days. 1,000,000 CNY at 3.6 % for
    January (31 days) = 1,000,000 × 0.0001 × 31 = 3,100.00 CNY (daily rate 0.01 %)."""
    assert interest_fen(100_000_000, "0.036", date(2026, 1, 1), date(2026, 2, 1), ACT_360) == 310_000
    # the same rate on Actual/365F: 1,000,000 × 3.6 % × 31/365 = 3,057.53
    assert interest_fen(100_000_000, "0.036", date(2026, 1, 1), date(2026, 2, 1), ACT_365F) == 305_753


def test_monthly_convention_gives_every_full_month_annual_over_12():
    """February (28 days) and March (31 days) earn the same: P × annual/12."""
    feb = interest_fen(100_000_000, "0.036", date(2026, 2, 1), date(2026, 3, 1), MONTHLY_360)
    mar = interest_fen(100_000_000, "0.036", date(2026, 3, 1), date(2026, 4, 1), MONTHLY_360)
    assert feb == mar == 300_000


def test_monthly_convention_keeps_annual_over_12_when_a_holiday_moves_the_due_date():
    """2026-02-15 falls in the Spring Festival holiday and moves to 2026-02-24 (40 actual days
    from 15 Jan); the period is still one contractual month and earns P × r/12."""
    s = build_schedule(LoanTerms(100_000_000, InterestRate.fixed("0.036"), START, 6))
    first = s.instalments[0]
    assert first.due_date == date(2026, 2, 24) and first.days == 40
    assert first.interest_fen == 300_000
    assert first.accrual_months == 1


def test_broken_first_period_accrues_daily_at_annual_over_360():
    """A first due date 18 days after disbursement is a broken period: P × r × 18/360."""
    s = schedule_on_dates(100_000_000, Decimal("0.036"), START,
                          [date(2026, 2, 2), date(2026, 3, 2), date(2026, 4, 2)], "equal_principal")
    assert s.instalments[0].interest_fen == 180_000  # 1,000,000 × 3.6 % × 18/360
    assert s.instalments[1].interest_fen == round(Fraction(66_666_667) * Fraction(36, 1000) / 12)


def test_thirty_360_counts_thirty_day_months():
    """30/360 bond basis: 31 Jan → 31 Mar is 60 days; 1,000,000 CNY at 3.6 % earns 6,000.00."""
    assert days_30_360(date(2026, 1, 31), date(2026, 3, 31)) == 60
    assert interest_fen(100_000_000, "0.036", date(2026, 1, 31), date(2026, 3, 31), THIRTY_360) == 600_000


@settings(max_examples=200, deadline=None)
@given(d1=st.dates(date(2000, 1, 1), date(2040, 12, 31)), gap=st.integers(0, 2000))
def test_day_counts_agree_with_quantlib(d1, gap):
    """Independent reference: QuantLib Actual360, Actual365Fixed and Thirty360(BondBasis)."""
    d2 = d1 + timedelta(days=gap)
    q1, q2 = QuantLib.Date(d1.day, d1.month, d1.year), QuantLib.Date(d2.day, d2.month, d2.year)
    assert float(daily_fraction(ACT_360, d1, d2)) == pytest.approx(QuantLib.Actual360().yearFraction(q1, q2))
    assert float(daily_fraction(ACT_365F, d1, d2)) == pytest.approx(QuantLib.Actual365Fixed().yearFraction(q1, q2))
    assert days_30_360(d1, d2) == QuantLib.Thirty360(QuantLib.Thirty360.BondBasis).dayCount(q1, q2)


@no_horizon_warning
def test_default_convention_per_schedule_type():
    assert default_convention(ScheduleType.EQUAL_INSTALMENT) is MONTHLY_360
    assert default_convention(ScheduleType.EQUAL_PRINCIPAL) is MONTHLY_360
    assert default_convention(ScheduleType.INTEREST_ONLY) is ACT_360
    terms = LoanTerms(100_000_000, InterestRate.fixed("0.04"), START, 4, "interest_only", 3)
    assert terms.convention is ACT_360
    s = build_schedule(terms)  # quarterly interest on actual days / 360
    for i in s.instalments:
        assert i.interest_fen == int((Decimal(100_000_000) * Decimal("0.04") * i.days / 360).quantize(
            Decimal(1), ROUND_HALF_EVEN))


def test_accrual_fraction_without_month_marker_detects_whole_months():
    assert accrual_fraction(MONTHLY_360, date(2024, 1, 31), date(2024, 2, 29)) == Fraction(1, 12)
    assert accrual_fraction(MONTHLY_360, date(2024, 1, 31), date(2024, 3, 1)) == Fraction(30, 360)
    with pytest.raises(ValueError):
        daily_fraction(ACT_360, date(2024, 2, 1), date(2024, 1, 1))


# ------------------------------------------------------------------ properties


@no_horizon_warning
@settings(max_examples=120, deadline=None)
@given(
    principal=st.integers(1, 5_000_000_000),
    n=st.integers(1, 36),
    rate_bp=st.integers(0, 2400),
    kind=st.sampled_from(list(ScheduleType)),
    convention=st.sampled_from(list(InterestConvention)),
    months=st.sampled_from([1, 3]),
    grace=st.integers(0, 6),
    start=st.dates(date(2024, 1, 1), date(2026, 6, 30)),
)
def test_principal_parts_sum_exactly_under_every_convention(principal, n, rate_bp, kind, convention, months, grace,
                                                            start):
    n_grace = min(grace, n - 1)
    terms = LoanTerms(principal, InterestRate.fixed(Decimal(rate_bp) / 10_000), start, n, kind, months,
                      convention=convention, grace_months=n_grace * months)
    s = build_schedule(terms)
    assert s.convention is convention
    assert sum(i.principal_fen for i in s.instalments) == principal
    assert all(i.principal_fen >= 0 and i.interest_fen >= 0 for i in s.instalments)
    assert s.instalments[-1].closing_balance_fen == 0
    if kind is not ScheduleType.INTEREST_ONLY:
        assert all(i.principal_fen == 0 for i in s.instalments[:n_grace])


@settings(max_examples=60, deadline=None)
@given(principal=st.integers(100_000, 5_000_000_000), n=st.integers(1, 11), rate_bp=st.integers(1, 2400))
def test_monthly_equal_instalment_is_the_annuity_formula(principal, n, rate_bp):
    """Under the monthly convention 等额本息 is exactly the annuity with i = annual/12, although the
    2026 due dates are moved by holidays and weekends (the Spring Festival moves 15 Feb to 24 Feb)."""
    rate = Decimal(rate_bp) / 10_000
    s = build_schedule(LoanTerms(principal, InterestRate.fixed(rate), START, n))
    i = Fraction(rate) / 12
    assert abs(principal * i / (1 - (1 + i) ** -n) - s.level_payment_fen) <= Fraction(1, 2)


def test_docstring_examples_run():
    for mod in (pledge.conventions, pledge.schedule, pledge.lpr, pledge.arrears, pledge.restructure,
                pledge.provisioning, ipfin.calendar):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, mod.__name__
