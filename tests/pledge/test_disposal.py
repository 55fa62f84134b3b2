"""Collateral disposal: net recovery, explicit net loss, surplus, dated recovery flows."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pledge.disposal import CashItem, DisposalMethod, DisposalRecord, disposal_outcome, recovery_flows

D0 = date(2026, 9, 1)


def rec(method=DisposalMethod.AUCTION, proceeds=(), costs=()) -> DisposalRecord:
    return DisposalRecord(method, ("P1",), D0, tuple(CashItem(d, a) for d, a in proceeds),
                          tuple(CashItem(d, a) for d, a in costs))


def test_all_six_disposal_methods_have_their_chinese_names():
    assert {m.zh for m in DisposalMethod} == {"拍卖", "变卖", "协议折价", "许可", "质权转股权", "反向许可"}


def test_auction_of_3m_with_200k_costs_recovers_2_8m_against_a_5m_claim():
    o = disposal_outcome([rec(proceeds=[(date(2026, 10, 8), 300_000_000)], costs=[(D0, 20_000_000)])], 500_000_000)
    assert (o.gross_proceeds_fen, o.costs_fen, o.net_recovery_fen) == (300_000_000, 20_000_000, 280_000_000)
    assert o.net_loss_on_disposal_fen == 0 and o.surplus_to_pledgor_fen == 0
    assert o.shortfall_fen == 220_000_000 and o.recovery_rate == pytest.approx(0.56)


def test_costs_above_proceeds_give_zero_recovery_and_an_explicit_net_loss():
    o = disposal_outcome([rec(proceeds=[(D0, 50_000)], costs=[(D0, 80_000)])], 1_000_000)
    assert o.net_recovery_fen == 0 and o.net_loss_on_disposal_fen == 30_000 and o.shortfall_fen == 1_000_000


def test_proceeds_above_the_claim_leave_a_surplus_to_the_pledgor():
    o = disposal_outcome([rec(DisposalMethod.PLEDGE_TO_EQUITY, proceeds=[(D0, 900)], costs=[(D0, 100)])], 500)
    assert (o.net_recovery_fen, o.surplus_to_pledgor_fen, o.shortfall_fen) == (500, 300, 0)


def test_reverse_licence_royalties_are_released_as_they_exceed_costs():
    r = rec(DisposalMethod.REVERSE_LICENCE,
            proceeds=[(date(2026, 12, 31), 40), (date(2027, 6, 30), 40), (date(2027, 12, 31), 40)],
            costs=[(D0, 50), (date(2027, 6, 30), 10)])
    assert recovery_flows([r], claim_fen=1_000) == [(date(2027, 6, 30), 20), (date(2027, 12, 31), 40)]


def test_later_costs_are_reserved_from_earlier_proceeds():
    r = rec(proceeds=[(D0, 100)], costs=[(date(2026, 10, 1), 50)])
    assert recovery_flows([r], 1_000) == [(D0, 50)]


@settings(max_examples=100, deadline=None)
@given(
    proceeds=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 10**9)), max_size=8),
    costs=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 10**8)), max_size=8),
    claim=st.integers(0, 2 * 10**9),
)
def test_recovery_flows_are_positive_and_sum_to_the_net_recovery(proceeds, costs, claim):
    from datetime import timedelta

    r = rec(proceeds=[(D0 + timedelta(days=d), a) for d, a in proceeds],
            costs=[(D0 + timedelta(days=d), a) for d, a in costs])
    o = disposal_outcome([r], claim)
    flows = recovery_flows([r], claim)
    assert all(a > 0 for _, a in flows)
    assert sum(a for _, a in flows) == o.net_recovery_fen
    assert o.net_recovery_fen + o.shortfall_fen == claim
    assert o.gross_proceeds_fen - o.costs_fen == (o.net_recovery_fen + o.surplus_to_pledgor_fen
                                                  - o.net_loss_on_disposal_fen)


def test_bad_disposal_inputs_name_the_field():
    with pytest.raises(ValueError, match="amount_fen"):
        CashItem(D0, -1)
    with pytest.raises(ValueError, match="asset_ids"):
        DisposalRecord(DisposalMethod.SALE, (), D0)
    with pytest.raises(ValueError, match=r"proceeds\[0\]"):
        rec(proceeds=[(date(2026, 1, 1), 5)])
    with pytest.raises(ValueError):
        DisposalRecord("barter", ("P1",), D0)  # type: ignore[arg-type]
