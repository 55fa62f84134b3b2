"""Penalty interest (罚息) and compound interest (复利) accrued daily, exact in fen.

Reference: PBoC 《关于人民币贷款利率有关问题的通知》(银发〔2003〕251号): overdue loans are
charged the contract rate plus 30–50 % from the day they fall overdue, and unpaid interest
bears compound interest at that penalty rate; daily rate = annual/360 (银发〔1999〕77号).
Grace days on the China calendar (2026 notice: 1–7 Oct off, Saturday 10 Oct worked).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pledge.arrears import ArrearsPolicy, accrue_arrears, grace_end, post_arrears
from pledge.conventions import ACT_365F
from pledge.restructure import reprice
from pledge.schedule import apply_payment, open_account, penalty_interest_fen, schedule_on_dates

START = date(2026, 8, 31)
DUE1, DUE2, DUE3 = date(2026, 9, 30), date(2026, 10, 30), date(2026, 11, 30)
P = 90_000_000  # 900,000 CNY, 300,000 a month


def acct(convention=None):
    s = schedule_on_dates(P, Decimal("0.06"), START, [DUE1, DUE2, DUE3], "equal_principal",
                          convention=convention)
    return open_account(s, START)


def hand(amount_fen: int, rate: str, mult: str, days: int, basis: int = 360) -> Decimal:
    return Decimal(amount_fen) * Decimal(rate) * Decimal(mult) * days / basis


def q(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), ROUND_HALF_EVEN))


def test_penalty_on_overdue_principal_and_compound_on_overdue_interest():
    """First instalment (300,000 CNY principal + 4,500 CNY interest) unpaid for 20 days at 6 % × 1.5:
    罚息 = 300,000 × 9 % × 20/360 = 1,500.00 CNY; 复利 = 4,500 × 9 % × 20/360 = 22.50 CNY."""
    a = acct()
    first = a.lines[0].instalment
    assert first.interest_fen == 450_000  # 900,000 × 6 %/12 (monthly convention)
    got = accrue_arrears(a, DUE1, DUE1 + timedelta(days=20))
    assert got.penalty_fen == q(hand(first.principal_fen, "0.06", "1.5", 20)) == 150_000
    assert got.compound_fen == q(hand(first.interest_fen, "0.06", "1.5", 20)) == 2_250
    assert got.total_fen == 152_250
    # the overdue days the accrual covers are calendar days, as overdue_days counts them
    assert a.overdue_days(DUE1 + timedelta(days=20)) == 20


def test_multiplier_is_a_product_setting_within_thirty_to_fifty_percent():
    a = acct()
    low = accrue_arrears(a, DUE1, DUE1 + timedelta(days=10), ArrearsPolicy(Decimal("1.3"), compound_interest=False))
    assert low.penalty_fen == q(hand(30_000_000, "0.06", "1.3", 10)) and low.compound_fen == 0
    with pytest.raises(ValueError, match="penalty_multiplier"):
        ArrearsPolicy(Decimal("1.2"))
    ArrearsPolicy(Decimal("2.0"), allow_any_multiplier=True)  # misuse of funds: +50–100 %


def test_agrees_with_the_schedule_penalty_function():
    a = acct()
    as_of = DUE2 + timedelta(days=7)
    got = accrue_arrears(a, START, as_of, ArrearsPolicy(compound_interest=False))
    assert got.penalty_fen == penalty_interest_fen(a, as_of, Decimal("1.5"))
    assert len(got.lines) == 2


def test_act_365_loans_accrue_penalty_on_365_days():
    a = acct(ACT_365F)
    got = accrue_arrears(a, DUE1, DUE1 + timedelta(days=20), ArrearsPolicy(compound_interest=False))
    assert got.penalty_fen == q(hand(30_000_000, "0.06", "1.5", 20, 365))


def test_grace_in_business_days_waives_then_backdates_the_penalty():
    """Due Wed 30 Sep 2026; three business days of grace are 8 Oct, 9 Oct and Saturday 10 Oct (调休)."""
    a = acct()
    policy = ArrearsPolicy(grace_days=3)
    assert grace_end(DUE1, policy) == date(2026, 10, 10)
    assert accrue_arrears(a, DUE1, date(2026, 10, 10), policy).total_fen == 0
    late = accrue_arrears(a, date(2026, 10, 10), date(2026, 10, 11), policy)  # missed: from the due date
    assert late.penalty_fen == q(hand(30_000_000, "0.06", "1.5", 11))
    forward = ArrearsPolicy(grace_days=3, backdate_after_grace=False)
    assert accrue_arrears(a, date(2026, 10, 10), date(2026, 10, 11), forward).penalty_fen == q(
        hand(30_000_000, "0.06", "1.5", 1))
    calendar_days = ArrearsPolicy(grace_days=3, grace_basis="calendar")
    assert grace_end(DUE1, calendar_days) == date(2026, 10, 3)


def test_a_reset_rate_applies_to_penalty_from_its_date():
    a = reprice(acct(), date(2026, 10, 15), "0.04")
    got = accrue_arrears(a, DUE1, date(2026, 10, 31), ArrearsPolicy(compound_interest=False))
    # line 1 overdue: 15 days at 6 %, 16 days at 4 %, × 1.5 / 360
    exact = hand(30_000_000, "0.06", "1.5", 15) + hand(30_000_000, "0.04", "1.5", 16)
    # line 2 (due 30 Oct) adds 1 day at 4 %
    exact += hand(a.lines[1].instalment.principal_fen, "0.04", "1.5", 1)
    assert got.penalty_fen == q(exact)


def test_payments_inside_the_interval_are_refused_and_posting_charges_fees_paid_first():
    a = acct()
    acc = accrue_arrears(a, DUE1, DUE1 + timedelta(days=5))
    a = post_arrears(a, acc)
    assert a.fees_charged_fen == acc.total_fen
    a, alloc = apply_payment(a, acc.total_fen + 100, DUE1 + timedelta(days=5), allow_prepayment=False)
    assert alloc.fees_fen == acc.total_fen and alloc.interest_fen == 100
    with pytest.raises(ValueError, match="payment"):
        accrue_arrears(a, DUE1, DUE1 + timedelta(days=9))
    with pytest.raises(ValueError, match="end"):
        accrue_arrears(a, DUE1 + timedelta(days=9), DUE1 + timedelta(days=6))


@settings(max_examples=60, deadline=None)
@given(split1=st.integers(0, 80), split2=st.integers(0, 80), unpaid=st.integers(0, 30_000_000))
def test_accruals_add_up_exactly_over_consecutive_intervals(split1, split2, unpaid):
    """Exact accruals over [a, b) and [b, c) sum to [a, c); rounding once per posting costs at most
    one fen per posting."""
    a = acct()
    if unpaid < 30_000_000:  # part of the first instalment paid on its due date
        a, _ = apply_payment(a, a.lines[0].instalment.interest_fen + 30_000_000 - unpaid, DUE1,
                             allow_prepayment=False)
    b = DUE1 + timedelta(days=split1)
    c = b + timedelta(days=split2)
    whole = accrue_arrears(a, DUE1, c)
    parts = [accrue_arrears(a, DUE1, b), accrue_arrears(a, b, c)]
    exact = sum((x.penalty_exact + x.compound_exact for p in parts for x in p.lines), Fraction(0))
    assert exact == sum((x.penalty_exact + x.compound_exact for x in whole.lines), Fraction(0))
    assert abs(sum(p.total_fen for p in parts) - whole.total_fen) <= 2
