"""Pledge-rate (质押率) policy: bands, basis, haircuts, cap, JSON round trip, explanation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from pledge.policy import (
    CollateralValue,
    PledgePolicy,
    default_policy,
    load_policy,
    max_loan,
    save_policy,
)

M = 100_000_000  # 1 million CNY in fen


def cv(aid: str, ip_type: str, score: str, value_fen: int, **pct: int) -> CollateralValue:
    return CollateralValue(aid, ip_type, Decimal(score), value_fen, {int(k[1:]): v for k, v in pct.items()})


def test_default_policy_rates_lie_in_10_to_60_percent_and_utility_models_lend_less():
    p = default_policy()
    rates = [b.max_pledge_rate for r in p.rules.values() for b in r.bands]
    assert min(rates) >= Decimal("0.10") and max(rates) <= Decimal("0.60")
    inv, um = p.rules["invention_patent"], p.rules["utility_model"]
    for score in (Decimal(45), Decimal(70), Decimal(90), Decimal(100)):
        assert um.band_for(score).max_pledge_rate < inv.band_for(score).max_pledge_rate


def test_single_invention_patent_score_85_lends_60_percent_less_single_asset_haircut():
    r = max_loan(default_policy(), [cv("P1", "invention_patent", "85", 10 * M)])
    # 10,000,000 × 60 % = 6,000,000; single asset −10 % → 5,400,000 CNY
    assert r.items[0].lendable_fen == 6 * M
    assert [h.name for h in r.haircuts] == ["single_asset", "concentration"]
    assert r.haircuts[0].after_fen == 540_000_000
    # the top-share rule also hits (100 % > 60 %): 5,400,000 × 95 % = 5,130,000
    assert r.max_loan_fen == 513_000_000
    assert r.effective_pledge_rate == Decimal("0.5130")
    assert any("P1: appraised value 10,000,000.00 CNY × 60%" in w for w in r.why)


def test_two_balanced_assets_have_no_haircut_and_sum_their_band_amounts():
    r = max_loan(default_policy(), [cv("P1", "invention_patent", "65", 5 * M), cv("U1", "utility_model", "65", 5 * M)])
    assert r.haircuts == ()
    assert r.max_loan_fen == 5 * M * 45 // 100 + 5 * M * 25 // 100  # 2,250,000 + 1,250,000 CNY


def test_scores_below_every_band_support_nothing_and_say_why():
    assets = [cv("P1", "invention_patent", "30", 5 * M), cv("P2", "invention_patent", "70", 5 * M)]
    r = max_loan(default_policy(), assets)
    assert r.items[0].lendable_fen == 0 and "no lendable band" in r.items[0].note
    assert r.max_loan_fen == 5 * M * 45 // 100


def test_band_edges_lower_inclusive_upper_exclusive_and_100_in_top_band():
    rule = default_policy().rules["invention_patent"]
    assert rule.band_for(Decimal(60)).max_pledge_rate == Decimal("0.45")
    assert rule.band_for(Decimal("59.99")).max_pledge_rate == Decimal("0.30")
    assert rule.band_for(Decimal(100)).max_pledge_rate == Decimal("0.60")


def test_monte_carlo_p5_basis_lends_against_the_percentile_and_requires_it():
    p = default_policy().model_copy(update={"basis": "mc_percentile", "basis_percentile": 5, "haircuts": ()})
    r = max_loan(p, [cv("P1", "invention_patent", "85", 10 * M, p5=4 * M)])
    assert r.items[0].basis_label == "Monte Carlo P5" and r.max_loan_fen == 4 * M * 60 // 100
    with pytest.raises(ValueError, match=r"collateral\[P1\].percentiles"):
        max_loan(p, [cv("P1", "invention_patent", "85", 10 * M)])


def test_amounts_round_down_to_the_fen():
    p = default_policy().model_copy(update={"haircuts": ()})
    r = max_loan(p, [cv("U1", "utility_model", "85", 333)])  # 333 × 0.35 = 116.55 → 116
    assert r.max_loan_fen == 116


def test_cap_limits_the_loan_and_is_explained():
    p = default_policy().model_copy(update={"max_loan_cap_fen": 1 * M, "haircuts": ()})
    r = max_loan(p, [cv("P1", "invention_patent", "85", 10 * M)])
    assert r.capped and r.max_loan_fen == 1 * M and "capped" in r.why[-2]


def test_ip_type_the_bank_does_not_lend_against_supports_zero():
    p = default_policy()
    p2 = p.model_copy(update={"rules": {"invention_patent": p.rules["invention_patent"]}, "haircuts": ()})
    r = max_loan(p2, [cv("C1", "copyright", "90", 10 * M)])
    assert r.max_loan_fen == 0 and "does not lend against copyright" in r.items[0].note


def test_policy_json_round_trip_is_exact(tmp_path):
    p = default_policy()
    path = tmp_path / "policy.json"
    save_policy(p, path)
    assert load_policy(path) == p
    assert '"0.60"' in path.read_text()


def test_invalid_policies_are_rejected_naming_the_field():
    data = default_policy().model_dump(mode="json")
    data["rules"]["invention_patent"]["bands"][0]["max_pledge_rate"] = "1.5"
    with pytest.raises(ValidationError, match="max_pledge_rate"):
        PledgePolicy.model_validate(data)
    data = default_policy().model_dump(mode="json")
    data["rules"]["invention_patent"]["bands"][1]["min_score"] = "50"  # overlaps [40, 60)
    with pytest.raises(ValidationError, match="overlap"):
        PledgePolicy.model_validate(data)
    data = default_policy().model_dump(mode="json")
    data["rules"]["patent"] = data["rules"]["invention_patent"]
    with pytest.raises(ValidationError, match="unknown IP type"):
        PledgePolicy.model_validate(data)


def test_bad_collateral_inputs_name_the_field():
    with pytest.raises(ValueError, match="score"):
        cv("P1", "invention_patent", "101", M)
    with pytest.raises(ValueError, match="appraised_value_fen"):
        cv("P1", "invention_patent", "80", -1)
    with pytest.raises(ValueError, match="ip_type"):
        cv("P1", "patent", "80", M)
    with pytest.raises(ValueError, match="collateral"):
        max_loan(default_policy(), [])


def test_overdue_buckets_are_policy_data_and_must_increase():
    from pledge.monitoring import overdue_bucket

    p = default_policy().model_copy(update={"overdue_bucket_bounds": (15, 45), "npl_after_days": 45})
    assert [overdue_bucket(d, p.bucket_policy).label for d in (0, 15, 16, 45, 46)] == [
        "current", "1-15", "16-45", "16-45", "45+"]
    assert overdue_bucket(46, p.bucket_policy).is_npl and not overdue_bucket(45, p.bucket_policy).is_npl
    data = default_policy().model_dump(mode="json")
    for bad in ([45, 15], [0, 30], [], [30, 30]):
        with pytest.raises(ValidationError, match="overdue_bucket_bounds"):
            PledgePolicy.model_validate({**data, "overdue_bucket_bounds": bad})


def test_new_collateral_types_lend_below_invention_patents_in_every_band_and_are_labelled_assumptions():
    p = default_policy()
    inv = p.rules["invention_patent"]
    for ip_type in ("data_ip", "geographical_indication", "ic_layout_design", "plant_variety"):
        rule = p.rules[ip_type]
        assert rule.assumption and "ASSUMPTION" in rule.note
        for band in rule.bands:
            for score in (band.min_score, (band.min_score + band.max_score) / 2, band.max_score):
                if rule.band_for(score) is band:
                    assert band.max_pledge_rate < inv.band_for(score).max_pledge_rate
    assert {b.max_pledge_rate for b in p.rules["data_ip"].bands} == {Decimal("0.20"), Decimal("0.30")}


def test_data_ip_collateral_lends_at_its_band_rate():
    r = max_loan(default_policy(), [cv("D1", "data_ip", "85", 4 * M), cv("P1", "invention_patent", "85", 4 * M)])
    assert r.items[0].lendable_fen == 4 * M * 30 // 100 and r.items[1].lendable_fen == 4 * M * 60 // 100


def test_a_stored_policy_without_eligibility_rules_gets_the_defaults_and_round_trips(tmp_path):
    raw = default_policy().model_dump(mode="json")
    del raw["eligibility"]
    p = PledgePolicy.model_validate(raw)
    assert p.eligibility["data_ip"].required_legality_flags
    save_policy(p, tmp_path / "p.json")
    assert load_policy(tmp_path / "p.json") == p
