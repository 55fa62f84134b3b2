"""Each shipped preset splits a loss to hand-checked fen amounts.

Hand computation (largest remainder, ipfin.money): each party first gets
⌊loss × share / 100⌋ fen; the fen left over go one each to the largest fractional
remainders, ties to the earlier party in the rule's order.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ipfin.money import cny_to_fen
from risk_sharing.presets import list_presets, load_all_presets, load_preset
from risk_sharing.rules import LossBasis, PartyRole, TriggerKind
from risk_sharing.splitting import risk_fee_fen, simulate


def test_all_presets_are_listed_and_valid() -> None:
    names = list_presets()
    for expected in (
        "chongqing-4222",
        "nfgf-2019",
        "anhui-4321",
        "guangzhou-fund-2023",
        "guangzhou-5311",
        "guangzhou-55",
        "zhongshan-54-26-16-4",
        "tech-sme-2024-tier1",
        "tech-sme-2024-tier2",
        "tech-sme-2024-tier3",
        "chongqing-micro-loan",
    ):
        assert expected in names
    rules = load_all_presets()
    assert all(sum(p.share for p in r.parties) == 100 for r in rules)


def test_every_preset_cites_its_source() -> None:
    for r in load_all_presets():
        assert r.source, r.id  # the public citation itself: tests/test_public_api.py
        assert "Assumption" in r.description or "assumption" in r.description, r.id


def test_unknown_preset_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="name: unknown preset 'beijing'"):
        load_preset("beijing")


def test_loss_of_8m_and_3_fen_splits_4_2_2_2_exactly() -> None:
    """Seed 002 (Chongqing) 4:2:2:2. Loss 8,000,000.03 CNY = 800,000,003 fen.

    Exact parts 320,000,001.2 / 160,000,000.6 / 160,000,000.6 / 160,000,000.6; floors sum
    to 800,000,001, the 2 fen left go to the two earliest .6 remainders (re-guarantor, NFGF).
    """
    sim = simulate(load_preset("chongqing-4222"), cny_to_fen("8000000.03"))
    assert sim.payable == {
        "guarantor": 320_000_001,
        "reguarantor": 160_000_001,
        "nfgf": 160_000_001,
        "bank": 160_000_000,
    }
    assert sum(sim.payable.values()) == 800_000_003


def test_chongqing_4222_eligibility_parameters_match_seed_002() -> None:
    r = load_preset("chongqing-4222")
    assert r.eligibility.max_borrower_loans_cny == Decimal("10000000")
    assert r.eligibility.max_guarantee_fee_rate == Decimal("0.015")
    assert r.eligibility.guarantee_required
    assert [(p.role, p.share) for p in r.parties] == [
        (PartyRole.GUARANTOR, 40),
        (PartyRole.REGUARANTOR, 20),
        (PartyRole.NFGF, 20),
        (PartyRole.BANK, 20),
    ]


def test_anhui_4321_splits_1m_and_1_fen() -> None:
    """Anhui 4321 (DESIGN §3). 100,000,001 fen → 40,000,000.4 / 30,000,000.3 / 20,000,000.2 /
    10,000,000.1; the 1 fen left goes to the largest remainder (.4, guarantor)."""
    sim = simulate(load_preset("anhui-4321"), 100_000_001)
    assert sim.payable == {"guarantor": 40_000_001, "reguarantor": 30_000_000, "bank": 20_000_000,
                           "government": 10_000_000}
    assert load_preset("anhui-4321").eligibility.max_borrower_loans_cny == Decimal("20000000")


def test_guangzhou_5311_splits_999_99_cny() -> None:
    """Guangzhou 5311 (DESIGN §3). 99,999 fen → 49,999.5 / 29,999.7 / 9,999.9 / 9,999.9; floors
    99,996; 3 fen to remainders .9 (appraiser), .9 (bank), .7 (insurer)."""
    sim = simulate(load_preset("guangzhou-5311"), 99_999)
    assert sim.payable == {"fund": 49_999, "insurer": 30_000, "appraiser": 10_000, "bank": 10_000}


def test_zhongshan_54_26_16_4_splits_100_01_cny() -> None:
    """Zhongshan (DESIGN §3). 10,001 fen → 5,400.54 / 2,600.26 / 1,600.16 / 400.04; 1 fen to fund."""
    sim = simulate(load_preset("zhongshan-54-26-16-4"), 10_001)
    assert sim.payable == {"fund": 5_401, "bank": 2_600, "insurer": 1_600, "appraiser": 400}


def test_guangzhou_55_is_fund_50_bank_50_and_ended_before_the_2023_fund() -> None:
    r = load_preset("guangzhou-55")
    assert simulate(r, 3).payable == {"fund": 2, "bank": 1}  # 1.5/1.5: tie to the earlier party
    assert r.effective_to == date(2022, 12, 31)
    assert load_preset("guangzhou-fund-2023").effective_from == date(2023, 1, 1)


def test_chongqing_micro_loan_splits_city_district_bank_guarantor() -> None:
    """Chongqing micro-loan (DESIGN §3): city 15 + district 15, bank 20, guarantor 50.
    100,000,007 fen → 15,000,001.05 ×2 / 20,000,001.4 / 50,000,003.5; 1 fen to guarantor (.5)."""
    r = load_preset("chongqing-micro-loan")
    assert simulate(r, 100_000_007).payable == {
        "city_government": 15_000_001,
        "district_government": 15_000_001,
        "bank": 20_000_001,
        "guarantor": 50_000_004,
    }
    assert r.trigger.kind is TriggerKind.RECOVERY_EFFORT_DAYS and r.trigger.days == 180


def test_guangzhou_fund_caps_the_counted_loss_at_10m_per_loan() -> None:
    """Guangzhou 2023 fund (DESIGN §3): 50% of a loss counted on at most 10M CNY per loan."""
    r = load_preset("guangzhou-fund-2023")
    sim = simulate(r, cny_to_fen("12000000"))
    assert sim.uncounted_loss_fen == cny_to_fen("2000000")
    assert sim.payable == {"fund": cny_to_fen("5000000"), "bank": cny_to_fen("5000000")}
    assert r.loss_base.basis is LossBasis.IP_PLEDGED_PART_ONLY
    assert r.caps.party_year_cny == {"fund": Decimal("50000000")}
    assert r.recovery.priority == ("fund",)


@pytest.mark.parametrize(("tier", "nfgf", "guarantor"), [(1, 40, 20), (2, 35, 25), (3, 30, 30)])
def test_tech_sme_2024_tiers_give_nfgf_40_35_30(tier: int, nfgf: int, guarantor: int) -> None:
    """2024 technology-SME plan (DESIGN §3): bank 20, re-guarantor 20, NFGF by tier, guarantor rest."""
    r = load_preset(f"tech-sme-2024-tier{tier}")
    sim = simulate(r, cny_to_fen("1000000"))
    assert sim.payable == {
        "guarantor": cny_to_fen(str(guarantor * 10_000)),
        "reguarantor": cny_to_fen("200000"),
        "nfgf": cny_to_fen(str(nfgf * 10_000)),
        "bank": cny_to_fen("200000"),
    }
    assert r.caps.payout_rate_ceiling == Decimal("0.05")
    assert r.eligibility.max_borrower_loans_cny == Decimal("30000000")


def test_nfgf_2019_reguarantee_fee_is_0_5pct_of_fund_risk_and_0_3pct_up_to_5m() -> None:
    """NFGF 2019 (DESIGN §3): 0.5% a year of the fund's risk (20% of principal), 0.3% for loans ≤ 5M.

    5,000,000 CNY: 0.3% × 5,000,000 × 20% = 3,000.00 CNY.
    5,000,000.01 CNY: 0.5% × 5,000,000.01 × 20% = 5,000.00001 CNY → 5,000.00 CNY (half-even to the fen).
    """
    r = load_preset("nfgf-2019")
    assert risk_fee_fen(r, cny_to_fen("5000000")) == {"nfgf": 300_000}
    assert risk_fee_fen(r, cny_to_fen("5000000.01")) == {"nfgf": 500_000}
    assert risk_fee_fen(r, cny_to_fen("5000000"), years=Decimal("1.5")) == {"nfgf": 450_000}
    assert simulate(r, 10).payable == {"guarantor": 4, "reguarantor": 2, "nfgf": 2, "bank": 2}
