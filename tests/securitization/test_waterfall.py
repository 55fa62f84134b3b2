"""Waterfall engine: exact fen payments, priorities, triggers, guarantor, reserve, call, conservation."""

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfin import ql
from securitization.waterfall import (
    CleanUpCall,
    Collections,
    DealStructure,
    Fee,
    Guarantor,
    ReserveAccount,
    Tranche,
    Trigger,
    collections_from_months,
    run_waterfall,
)

CLOSING = date(2024, 1, 15)
A = Tranche("A", 80_000_000_00, 0.03, 1)
B = Tranche("B", 15_000_000_00, 0.045, 2)
SUB = Tranche("Sub", 5_000_000_00, 0.0, 3, residual=True)


def _coll(interest, principal, losses=None, defaults=None, end=None, initial=100_000_000_00):
    n = len(principal)
    losses = losses or [0] * n
    defaults = defaults or [0] * n
    if end is None:
        end, b = [], initial
        for p, lo in zip(principal, losses, strict=True):
            b -= p + lo
            end.append(b)
    return Collections(tuple(interest), tuple(principal), tuple(losses), tuple(defaults), tuple(end), initial)


def _accrual(p: int) -> Decimal:
    dates = [CLOSING, *ql.monthly_schedule(CLOSING, p, 3)]
    return Decimal(repr(ql.year_fraction(dates[p - 1], dates[p], "act365f")))


def _interest(bal: int, coupon: str, yf: Decimal) -> int:
    return int((bal * Decimal(coupon) * yf).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def test_interest_is_balance_times_coupon_times_act365_accrual_rounded_half_even_to_a_fen():
    s = DealStructure("t", (A, B, SUB), CLOSING, payment_months=3)
    wf = run_waterfall(s, _coll([2_000_000_00], [10_000_000_00]))
    yf = _accrual(1)
    assert wf.rows[0].interest_paid == {"A": _interest(A.balance_fen, "0.03", yf),
                                        "B": _interest(B.balance_fen, "0.045", yf)}


def test_sequential_principal_pays_the_senior_class_first_and_excess_spread_goes_to_the_residual():
    s = DealStructure("t", (A, B, SUB), CLOSING, payment_months=3)
    wf = run_waterfall(s, _coll([2_000_000_00, 2_000_000_00], [10_000_000_00, 10_000_000_00]))
    r = wf.rows[0]
    assert r.principal_paid == {"A": 10_000_000_00, "B": 0, "Sub": 0}
    assert r.residual_paid == 2_000_000_00 - sum(r.interest_paid.values())
    assert r.sources == r.uses


def test_pro_rata_principal_splits_over_the_coupon_classes_by_largest_remainder():
    s = DealStructure("t", (A, B, SUB), CLOSING, payment_months=3, principal_mode="pro_rata")
    wf = run_waterfall(s, _coll([2_000_000_00, 0], [1_000_001, 0]))
    # 1,000,001 × 80/95 = 842,106.3 and × 15/95 = 157,894.8: floors 842,106 + 157,894, the last fen to B
    assert wf.rows[0].principal_paid == {"A": 842_106, "B": 157_895, "Sub": 0}


def test_oc_trigger_breach_switches_to_sequential_and_traps_excess_spread():
    trig = Trigger("oc_A", "oc", 1.20, tranche="A")
    s = DealStructure("t", (A, B, SUB), CLOSING, payment_months=3, principal_mode="pro_rata", triggers=(trig,))
    # period 1 loses 30M: pool 69M < 1.2 × A's ~78M → breached from period 2 on
    coll = _coll([2_000_000_00] * 3, [1_000_000_00] * 3, losses=[30_000_000_00, 0, 0])
    wf = run_waterfall(s, coll)
    assert wf.rows[0].triggers_breached == ()
    assert wf.rows[1].triggers_breached == ("oc_A",) and wf.first_trigger_period == 2
    assert wf.rows[1].principal_paid["B"] == 0 and wf.rows[1].principal_paid["Sub"] == 0
    assert wf.rows[1].residual_paid == 0


def test_guarantor_pays_the_interest_shortfall_on_its_named_tranche_only():
    g = Guarantor("高新投", ("A",))
    s = DealStructure("t", (A, B, SUB), CLOSING, payment_months=3, guarantor=g)
    wf = run_waterfall(s, _coll([100_000_00, 0], [0, 0], end=[100_000_000_00, 100_000_000_00]))
    r = wf.rows[0]
    yf = _accrual(1)
    due_a = _interest(A.balance_fen, "0.03", yf)
    assert r.interest_paid["A"] == due_a
    assert r.guarantor_paid == due_a - 100_000_00
    assert r.interest_paid["B"] == 0 and r.interest_shortfall["B"] == _interest(B.balance_fen, "0.045", yf)


def test_guarantor_repays_the_named_senior_principal_at_the_final_date_up_to_its_cap():
    g = Guarantor("高新投", ("A",), cap_fen=5_000_000_00)
    s = DealStructure("t", (A, SUB), CLOSING, payment_months=12, guarantor=g)
    coll = _coll([0], [60_000_000_00], losses=[40_000_000_00], end=[0], initial=85_000_000_00)
    wf = run_waterfall(s, coll)
    interest_a = wf.rows[0].interest_paid["A"]  # paid out of the 60M pot, so no interest shortfall
    assert wf.rows[0].guarantor_paid == 5_000_000_00  # principal shortfall, capped
    assert wf.rows[0].principal_paid["A"] == 60_000_000_00 - interest_a + 5_000_000_00
    assert wf.principal_loss("A") == A.balance_fen - (60_000_000_00 - interest_a) - 5_000_000_00


def test_reserve_is_topped_up_to_target_then_released_when_seniors_are_repaid():
    res = ReserveAccount(initial_fen=0, target_share=0.02, floor_fen=1_000_000_00)
    s = DealStructure("t", (A, SUB), CLOSING, payment_months=3, reserve=res)
    coll = _coll([5_000_000_00, 5_000_000_00, 5_000_000_00], [40_000_000_00, 30_000_000_00, 25_000_000_00],
                 initial=95_000_000_00)
    wf = run_waterfall(s, coll)
    assert wf.rows[0].reserve_end == 1_000_000_00  # 2% × 40M = 0.8M < floor 1M
    assert wf.rows[1].reserve_end == 1_000_000_00
    assert wf.rows[2].reserve_end == 0 and wf.rows[2].reserve_start == 1_000_000_00


def test_clean_up_call_buys_the_remaining_pool_at_its_balance_and_ends_the_deal():
    s = DealStructure("t", (A, SUB), CLOSING, payment_months=3, clean_up_call=CleanUpCall(0.10))
    coll = _coll([1_000_000_00] * 4, [50_000_000_00, 36_000_000_00, 5_000_000_00, 5_000_000_00],
                 initial=95_000_000_00)
    wf = run_waterfall(s, coll)
    assert wf.called_in_period == 2 and len(wf.rows) == 2
    assert wf.rows[1].call_proceeds == 9_000_000_00
    assert wf.principal_loss("A") == 0 and wf.principal_loss("Sub") == 0


def test_fixed_and_rate_fees_come_first_and_unpaid_fees_carry_forward():
    fees = (Fee("trustee", "fixed", amount_fen=300_000_00), Fee("servicer", "rate", annual_rate=0.01))
    s = DealStructure("t", (A, SUB), CLOSING, payment_months=3, fees=fees)
    wf = run_waterfall(s, _coll([200_000_00, 5_000_000_00], [0, 0], initial=85_000_000_00))
    assert wf.rows[0].fees_paid == {"trustee": 200_000_00, "servicer": 0}
    yf2 = _accrual(2)
    assert wf.rows[1].fees_paid["trustee"] == 400_000_00
    assert wf.rows[1].fees_paid["servicer"] == (_interest(85_000_000_00, "0.01", _accrual(1))
                                                + _interest(85_000_000_00, "0.01", yf2))


def test_monthly_float_collections_become_fen_that_sum_to_the_rounded_total():
    import numpy as np

    x = np.full(7, 1000.004)
    c = collections_from_months(x, x, x * 0, x * 0, np.linspace(10, 0, 7), 7000.03, 3)
    assert sum(c.interest) == round(7 * 1000.004 * 100) and len(c.interest) == 3


@pytest.mark.parametrize(
    ("structure", "pool", "message"),
    [
        (DealStructure("t", (A, B, SUB), CLOSING), 99_000_000_00, "tranches: total 100000000.00 CNY exceeds"),
        (DealStructure("t", (Tranche("A", 100, -0.01, 1),), CLOSING), None, r"tranches\[0\].coupon"),
        (DealStructure("t", (A,), CLOSING, triggers=(Trigger("x", "oc", 1.1, tranche="Z"),)), None,
         r"triggers\[0\].tranche: unknown tranche 'Z'"),
        (DealStructure("t", (A,), CLOSING, guarantor=Guarantor("g", ("Q",))), None,
         "guarantor.tranches: unknown tranche 'Q'"),
        (DealStructure("t", (A,), CLOSING, payment_months=5), None, "payment_months"),
        (DealStructure("t", (A, A), CLOSING), None, "unique"),
        (DealStructure("t", (A,), CLOSING, fees=(Fee("f", "rate", annual_rate=float("nan")),)), None,
         r"fees\[0\].annual_rate"),
    ],
)
def test_bad_deals_are_rejected_with_an_error_naming_the_field(structure, pool, message):
    with pytest.raises(ValueError, match=message):
        structure.validate(pool)


@st.composite
def deals_and_collections(draw):
    n_tr = draw(st.integers(1, 4))
    tranches = []
    for k in range(n_tr):
        residual = k == n_tr - 1 and draw(st.booleans())
        tranches.append(Tranche(f"T{k}", draw(st.integers(1, 10**10)),
                                0.0 if residual else draw(st.floats(0, 0.2)), draw(st.integers(k + 1, k + 1)),
                                residual=residual))
    names = [t.name for t in tranches]
    n_p = draw(st.integers(1, 10))
    total = sum(t.balance_fen for t in tranches)
    initial = total + draw(st.integers(0, 10**9))
    interest = draw(st.lists(st.integers(0, 10**9), min_size=n_p, max_size=n_p))
    principal = draw(st.lists(st.integers(0, initial // n_p + 1), min_size=n_p, max_size=n_p))
    losses = draw(st.lists(st.integers(0, 10**9), min_size=n_p, max_size=n_p))
    defaults = [x + draw(st.integers(0, 10**8)) for x in losses]
    end = [max(0, initial - sum(principal[: i + 1]) - sum(losses[: i + 1])) for i in range(n_p)]
    trig = []
    if draw(st.booleans()):
        trig.append(Trigger("oc", "oc", draw(st.floats(0.5, 1.5)), tranche=draw(st.sampled_from(names))))
    if draw(st.booleans()):
        trig.append(Trigger("ic", "ic", draw(st.floats(0.5, 2.0)), tranche=draw(st.sampled_from(names)),
                            curable=True))
    if draw(st.booleans()):
        trig.append(Trigger("cd", "cumulative_default", draw(st.floats(0.0, 0.3))))
    g = None
    if draw(st.booleans()):
        cap = draw(st.one_of(st.none(), st.integers(0, 10**9)))
        g = Guarantor("g", tuple(draw(st.lists(st.sampled_from(names), max_size=2, unique=True))), cap)
    s = DealStructure(
        "random", tuple(tranches), CLOSING, payment_months=draw(st.sampled_from([1, 3, 6, 12])),
        fees=(Fee("fixed", "fixed", amount_fen=draw(st.integers(0, 10**7))),
              Fee("servicer", "rate", annual_rate=draw(st.floats(0, 0.02)))),
        reserve=ReserveAccount(draw(st.integers(0, 10**8)), draw(st.floats(0, 0.05)), draw(st.integers(0, 10**7))),
        triggers=tuple(trig), guarantor=g, principal_mode=draw(st.sampled_from(["sequential", "pro_rata"])),
        clean_up_call=CleanUpCall(draw(st.floats(0.01, 0.3))) if draw(st.booleans()) else None,
    )
    return s, Collections(tuple(interest), tuple(principal), tuple(losses), tuple(defaults), tuple(end), initial)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deals_and_collections())
def test_cash_in_equals_cash_out_every_period_for_random_deals(case):
    s, coll = case
    wf = run_waterfall(s, coll)  # raises ConservationError if any period leaks a fen
    for r in wf.rows:
        assert r.sources == r.uses
        assert all(v >= 0 for v in (*r.fees_paid.values(), *r.interest_paid.values(), *r.principal_paid.values(),
                                    r.reserve_end, r.residual_paid, r.guarantor_paid))
        assert all(v >= 0 for v in r.balance_end.values())
    for t in s.tranches:
        assert 0 <= wf.principal_loss(t.name) <= t.balance_fen
    paid_in = sum(coll.interest[: len(wf.rows)]) + sum(coll.principal[: len(wf.rows)]) + s.reserve.initial_fen
    paid_in += sum(r.call_proceeds + r.guarantor_paid for r in wf.rows)
    paid_out = sum(r.uses for r in wf.rows) - sum(r.reserve_end for r in wf.rows[:-1])
    paid_out -= sum(r.reserve_start for r in wf.rows[1:]) - sum(r.reserve_end for r in wf.rows[:-1])
    assert paid_in == paid_out
