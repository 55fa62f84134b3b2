"""Recovery share-back: pro rata to what each paid (or fund first), never above what each paid."""

from __future__ import annotations

import pytest

from ipfin.money import cny_to_fen as M
from risk_sharing.presets import load_preset
from risk_sharing.recovery import share_recovery
from risk_sharing.rules import RecoveryPolicy

CQ = load_preset("chongqing-4222")
PAID_4222 = {"guarantor": M("1600000"), "reguarantor": M("800000"), "nfgf": M("800000"), "bank": M("800000")}


def test_recovery_net_of_disposal_costs_is_shared_4_2_2_2() -> None:
    s = share_recovery(CQ, PAID_4222, M("1000000.01"), disposal_costs_fen=M("0.01"))
    assert s.net_fen == M("1000000")
    assert s.parts == {"guarantor": M("400000"), "reguarantor": M("200000"), "nfgf": M("200000"),
                       "bank": M("200000")}
    assert s.surplus_fen == 0


def test_odd_fen_recovery_uses_largest_remainder() -> None:
    """7 fen pro rata 16:8:8:8 → 2.8 / 1.4 / 1.4 / 1.4 → floors 5, +1 to .8 (guarantor), +1 to first .4."""
    s = share_recovery(CQ, PAID_4222, 7)
    assert s.parts == {"guarantor": 3, "reguarantor": 2, "nfgf": 1, "bank": 1}


def test_recovery_above_what_was_paid_leaves_a_surplus_outside_the_scheme() -> None:
    s = share_recovery(CQ, PAID_4222, M("5000000"))
    assert s.parts == PAID_4222
    assert s.surplus_fen == M("1000000")


def test_earlier_recoveries_reduce_what_each_can_still_get() -> None:
    already = {"guarantor": M("1600000")}  # guarantor already made whole
    s = share_recovery(CQ, PAID_4222, M("1200000"), already_recovered_fen=already)
    assert s.parts == {"guarantor": 0, "reguarantor": M("400000"), "nfgf": M("400000"), "bank": M("400000")}


def test_guangzhou_recoveries_go_back_to_the_fund_first() -> None:
    """Guangzhou 2023 fund (DESIGN §3): recoveries go back to the fund (up to what it paid)."""
    gz = load_preset("guangzhou-fund-2023")
    paid = {"fund": M("5000000"), "bank": M("5000000")}
    assert share_recovery(gz, paid, M("3000000")).parts == {"fund": M("3000000"), "bank": 0}
    assert share_recovery(gz, paid, M("6000000")).parts == {"fund": M("5000000"), "bank": M("1000000")}


def test_disposal_costs_are_kept_when_the_policy_says_gross() -> None:
    policy = RecoveryPolicy(net_of_disposal_costs=False)
    s = share_recovery(policy, {"a": 10, "b": 10}, 10, disposal_costs_fen=4)
    assert s.net_fen == 10 and s.parts == {"a": 5, "b": 5}


def test_bad_recovery_inputs_are_rejected_naming_the_field() -> None:
    with pytest.raises(ValueError, match="disposal_costs_fen"):
        share_recovery(CQ, PAID_4222, 10, disposal_costs_fen=11)
    with pytest.raises(ValueError, match="gross_recovery_fen"):
        share_recovery(CQ, PAID_4222, -1)
    with pytest.raises(ValueError, match="gross_recovery_fen"):
        share_recovery(CQ, PAID_4222, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"already_recovered_fen\[bank\]"):
        share_recovery(CQ, PAID_4222, 10, already_recovered_fen={"bank": M("800000.01")})
    with pytest.raises(ValueError, match="already_recovered_fen: 'fund'"):
        share_recovery(CQ, PAID_4222, 10, already_recovered_fen={"fund": 1})
