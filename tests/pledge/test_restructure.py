"""Grace periods, early repayment (keep term / shorten term), repricing, term extension and rescheduling.

References: the annuity formula with monthly rate annual/12 (PBoC 月利率 = 年利率 ÷ 12,
银发〔1999〕77号) for every recomputed 等额本息 schedule of full months; the daily rate
annual/360 for broken periods; the extension limits of 《贷款通则》(1996) art. 12;
conservation: principal parts always sum to the loan.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pledge.restructure import extend_term, max_extension_months, reprice, reschedule
from pledge.schedule import (
    InterestRate,
    LoanAccount,
    LoanTerms,
    ScheduleType,
    apply_payment,
    build_schedule,
    open_account,
)

START = date(2025, 1, 15)
ONE_M = 100_000_000  # 1,000,000 CNY
R = Fraction(49, 1000)


def annuity(balance: int, n: int, i: Fraction = R / 12) -> Fraction:
    return balance * i / (1 - (1 + i) ** -n)


def account(n: int = 12, kind: ScheduleType = ScheduleType.EQUAL_INSTALMENT, **kw) -> LoanAccount:
    terms = LoanTerms(ONE_M, InterestRate.fixed("0.049"), START, n, kind, **kw)
    return open_account(build_schedule(terms), START)


def insts(acct: LoanAccount):
    return [ln.instalment for ln in acct.lines]


def conserved(acct: LoanAccount) -> bool:
    return sum(i.principal_fen for i in insts(acct)) == acct.principal_fen


# ------------------------------------------------------------------ grace period (宽限期)


def test_grace_period_is_interest_only_then_the_annuity_over_the_rest():
    s = build_schedule(LoanTerms(ONE_M, InterestRate.fixed("0.049"), START, 12, grace_months=3))
    grace, amort = s.instalments[:3], s.instalments[3:]
    assert all(i.kind == "grace" and i.principal_fen == 0 and i.interest_fen == 408_333 for i in grace)
    assert abs(annuity(ONE_M, 9) - s.level_payment_fen) <= Fraction(1, 2)
    assert sum(i.principal_fen for i in amort) == ONE_M
    with pytest.raises(ValueError, match="grace_months"):
        LoanTerms(ONE_M, InterestRate.fixed("0.049"), START, 12, grace_months=12)
    with pytest.raises(ValueError, match="grace_months"):
        LoanTerms(ONE_M, InterestRate.fixed("0.049"), START, 4, months_per_period=3, grace_months=2)


def test_equal_principal_after_grace_spreads_principal_over_the_amortising_periods():
    s = build_schedule(LoanTerms(ONE_M, InterestRate.fixed("0.049"), START, 10, "equal_principal", grace_months=2))
    assert [i.principal_fen for i in s.instalments] == [0, 0, *([12_500_000] * 8)]


# ------------------------------------------------------------------ early repayment (提前还款)


def test_prepayment_keep_term_lowers_the_instalment_on_the_same_dates():
    acct = account()
    new, alloc = apply_payment(acct, 30_000_000, date(2025, 2, 5))
    assert alloc.accrued_interest_fen == round(Fraction(ONE_M) * R * 21 / 360)  # 21 days at annual/360
    rest = [i for i in insts(new) if i.kind == "scheduled"]
    assert [i.due_date for i in rest] == [i.due_date for i in insts(acct)]
    assert rest[1].total_fen < insts(acct)[1].total_fen
    assert conserved(new)


def test_prepayment_shorten_term_keeps_the_instalment_and_drops_due_dates():
    acct = account()
    old = insts(acct)[0].total_fen  # 8,556.17 CNY
    new, alloc = apply_payment(acct, 30_000_000, date(2025, 2, 5), prepayment_mode="shorten_term")
    rest = [i for i in insts(new) if i.kind == "scheduled"]
    assert len(rest) == 9 and new.maturity == insts(acct)[8].due_date  # three months sooner
    level = rest[0].total_fen
    assert level <= old
    # minimal: one period fewer would need an instalment above the old one
    remaining = ONE_M - alloc.prepaid_principal_fen
    g = [R * 12 / 360, *([R / 12] * 8)]  # broken first period (5 → 17 Feb, 12 days), then full months
    disc, pv = Fraction(1), Fraction(0)
    for gk, i in zip(g, rest, strict=True):
        disc /= 1 + gk
        pv += i.total_fen * disc
    assert abs(pv - remaining) <= len(rest)  # the new instalments repay the balance (to the rounding)
    prod = Fraction(1)
    for gk in g[:8]:
        prod *= 1 + gk
    denom, suffix = Fraction(0), Fraction(1)
    for gk in reversed(g[:8]):
        denom += suffix
        suffix *= 1 + gk
    assert remaining * prod / denom > old
    assert conserved(new)


def test_prepayment_shorten_term_on_equal_principal_keeps_the_principal_part():
    acct = account(kind=ScheduleType.EQUAL_PRINCIPAL)
    per = insts(acct)[0].principal_fen  # 83,333.33 CNY
    new, alloc = apply_payment(acct, 25_000_000, date(2025, 2, 5), prepayment_mode="shorten_term")
    rest = [i for i in insts(new) if i.kind == "scheduled"]
    remaining = ONE_M - alloc.prepaid_principal_fen
    assert len(rest) == -(-remaining // per)
    assert all(abs(i.principal_fen - per) <= per // 10 for i in rest[:-1])
    assert conserved(new)
    with pytest.raises(ValueError, match="prepayment_mode"):
        apply_payment(acct, 100, date(2025, 2, 5), prepayment_mode="halve")  # type: ignore[arg-type]


# ------------------------------------------------------------------ repricing


def test_repricing_on_a_due_date_gives_the_annuity_at_the_new_rate():
    acct = account()
    on = insts(acct)[5].due_date  # 2025-07-15, start of period 7
    new = reprice(acct, on, "0.0395")
    lines = insts(new)
    assert lines[:6] == insts(acct)[:6]
    b = lines[6].opening_balance_fen
    assert abs(lines[6].total_fen - annuity(b, 6, Fraction(395, 120_000))) <= Fraction(1, 2)
    assert lines[6].interest_fen == round(Fraction(b) * Fraction(395, 120_000))
    assert conserved(new) and new.annual_rate == Decimal("0.0395")


def test_repricing_at_the_same_rate_changes_nothing_but_rounding():
    acct = account()
    new = reprice(acct, insts(acct)[5].due_date, "0.049")
    for a, b in zip(insts(acct)[6:], insts(new)[6:], strict=True):
        assert a.interest_fen == b.interest_fen and abs(a.total_fen - b.total_fen) <= 1
    assert new.rate_history == ()


# ------------------------------------------------------------------ extension (展期) and rescheduling


def test_extension_adds_contractual_due_dates_and_reamortises():
    acct = account()
    on = insts(acct)[5].due_date
    new = extend_term(acct, on, 6)
    lines = insts(new)
    assert len(lines) == 18
    # the contract's 15th continues; 15 Feb 2026 is in the Spring Festival holiday, 15 Mar a Sunday
    assert [i.due_date for i in lines[12:]] == [date(2026, 2, 24), date(2026, 3, 16), date(2026, 4, 15),
                                                date(2026, 5, 15), date(2026, 6, 15), date(2026, 7, 15)]
    b = lines[6].opening_balance_fen
    assert abs(lines[6].total_fen - annuity(b, 12)) <= Fraction(1, 2)
    assert conserved(new)


@pytest.mark.filterwarnings("ignore::ipfin.calendar.CalendarHorizonWarning")
def test_extension_limits_of_the_general_lending_rules():
    assert (max_extension_months(6), max_extension_months(24), max_extension_months(240)) == (6, 12, 36)
    acct = account()
    extend_term(acct, insts(acct)[5].due_date, 12, original_term_months=12)
    with pytest.raises(ValueError, match="exceeds"):
        extend_term(acct, insts(acct)[5].due_date, 13, original_term_months=12)


@pytest.mark.filterwarnings("ignore::ipfin.calendar.CalendarHorizonWarning")
def test_rescheduling_folds_overdue_principal_and_keeps_interest_due():
    acct = account()
    on = date(2025, 4, 20)  # nothing paid: three instalments overdue
    assert acct.overdue_days(on) > 0
    new = reschedule(acct, on, 24)
    lines = insts(new)
    assert [i.principal_fen for i in lines[:3]] == [0, 0, 0]
    assert [i.interest_fen for i in lines[:3]] == [i.interest_fen for i in insts(acct)[:3]]  # still due
    first = lines[3]
    assert first.opening_balance_fen == ONE_M
    sched = insts(acct)[3].opening_balance_fen  # balance that accrued at the old terms from 15 Apr
    exact = Fraction(ONE_M) * R / 12 + Fraction(sched) * R * 5 / 360
    assert abs(first.interest_fen - exact) <= Fraction(1, 2)
    assert first.period_start == date(2025, 4, 15) and first.due_date == date(2025, 5, 20)
    assert new.maturity == date(2027, 4, 20)
    assert conserved(new)
    assert new.due(on).principal_fen == 0 and new.due(on).interest_fen == sum(i.interest_fen for i in lines[:3])


@pytest.mark.filterwarnings("ignore::ipfin.calendar.CalendarHorizonWarning")
@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(st.tuples(st.sampled_from(["pay_keep", "pay_shorten", "reprice", "extend"]), st.integers(1, 40),
                           st.integers(1, 30_000_000), st.integers(100, 900)), min_size=1, max_size=6),
    kind=st.sampled_from(list(ScheduleType)),
)
def test_any_sequence_of_changes_conserves_principal(ops, kind):
    acct = account(kind=kind)
    on = START
    for op, gap, amount, rate_bp in ops:
        on += timedelta(days=gap)
        if on >= acct.maturity:
            break
        if op.startswith("pay"):
            acct, _ = apply_payment(acct, amount, on, prepayment_mode="keep_term" if op == "pay_keep" else
                                    "shorten_term")
        elif op == "reprice":
            acct = reprice(acct, on, Decimal(rate_bp) / 10_000)
        elif acct.maturity > on:
            acct = extend_term(acct, on, 3)
        assert conserved(acct)
        assert all(i.principal_fen >= 0 and i.interest_fen >= 0 for i in insts(acct))
        dates = [i.due_date for i in insts(acct)]
        assert dates == sorted(dates)
