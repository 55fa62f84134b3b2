"""Indicator score after GB/T 42748-2023: weights as data, and what the score drives."""

import json
from datetime import date

import pytest

from valuation.assets import IPAsset, IPType
from valuation.scoring import ScoringScheme, load_scheme, score

ALL_GIVEN = {
    "stability": 80, "scope": 70, "infringement_detectability": 75, "remaining_term": 90, "geographic_coverage": 40,
    "advancement": 80, "maturity": 70, "non_substitutability": 60, "applicability": 70, "independence": 65,
    "market_size": 75, "market_share": 55, "competition": 60, "policy_fit": 85, "licensing_record": 30,
}


def test_packaged_scheme_has_three_dimensions_whose_weights_sum_to_one():
    s = load_scheme()
    assert set(s.dimension_weights) == {"legal", "technical", "economic"}
    assert sum(s.dimension_weights.values()) == pytest.approx(1)
    for d in s.dimension_weights:
        assert sum(i.weight for i in s.indicators if i.dimension == d) == pytest.approx(1)


def test_total_score_is_the_weighted_sum_hand_computed():
    """legal = .3·80+.2·70+.15·75+.2·90+.15·40 = 73.25; technical = .3·80+.2·70+.2·60+.15·70+.15·65
    = 70.25; economic = .3·75+.25·55+.15·60+.1·85+.2·30 = 59.75;
    S = .3·73.25 + .35·70.25 + .35·59.75 = 21.975 + 24.5875 + 20.9125 = 67.475."""
    sc = score(ALL_GIVEN)
    assert sc.dimensions == pytest.approx({"legal": 73.25, "technical": 70.25, "economic": 59.75})
    assert sc.total == pytest.approx(67.475)
    assert sum(it.contribution for it in sc.items) == pytest.approx(sc.total)


def test_score_drives_profit_share_within_its_range_and_premia_inversely():
    """K = 0.25 + (0.33 − 0.25) × 67.475/100 = 0.30398; legal premium = 0.05 × (1 − 0.7325) = 0.013375."""
    sc = score(ALL_GIVEN)
    assert sc.profit_share == pytest.approx(0.25 + 0.08 * 0.67475)
    assert sc.risk_premia["legal"] == pytest.approx(0.05 * (1 - 0.7325))
    assert sc.risk_premia["market"] == pytest.approx(0.06 * (1 - 0.5975))
    top = score(dict.fromkeys(ALL_GIVEN, 100))
    bottom = score(dict.fromkeys(ALL_GIVEN, 0))
    assert (top.profit_share, bottom.profit_share) == pytest.approx((0.33, 0.25))
    assert all(v == pytest.approx(0) for v in top.risk_premia.values())
    assert bottom.risk_premia == pytest.approx({"legal": 0.05, "technical": 0.06, "market": 0.06})


def test_quality_ratio_is_subject_over_comparable_score_bounded():
    sc = score(ALL_GIVEN)
    assert sc.quality_ratio(67.475) == pytest.approx(1.0)
    assert sc.quality_ratio(10) == 2.0


def test_missing_indicators_are_derived_from_the_asset_and_explained():
    """Remaining term 12.2 y of 15 y → 81.35; family of 3 → (3−1)/(10−1) → 22.2; no licences → 0."""
    given = {k: v for k, v in ALL_GIVEN.items() if k not in ("remaining_term", "geographic_coverage",
                                                               "licensing_record")}
    a = IPAsset(IPType.INVENTION_PATENT, "x", filing_date=date(2018, 3, 15), family_size=3)
    sc = score(given, asset=a, on=date(2025, 12, 31))
    items = {it.indicator: it for it in sc.items}
    assert items["remaining_term"].score == pytest.approx(100 * a.remaining_legal_term(date(2025, 12, 31)) / 15)
    assert items["geographic_coverage"].score == pytest.approx(200 / 9)
    assert items["licensing_record"].score == 0
    assert items["remaining_term"].source.startswith("derived")
    text = "\n".join(sc.explain())
    assert "剩余有效期 / Remaining legal term" in text and "profit share K" in text


def test_missing_indicator_without_asset_is_named():
    with pytest.raises(ValueError, match=r"scores\.licensing_record"):
        score({k: v for k, v in ALL_GIVEN.items() if k != "licensing_record"})


def test_unknown_or_out_of_range_indicator_is_named():
    with pytest.raises(ValueError, match=r"scores\.beauty"):
        score({**ALL_GIVEN, "beauty": 50})
    with pytest.raises(ValueError, match=r"scores\.scope"):
        score({**ALL_GIVEN, "scope": 101})


def test_a_custom_scheme_with_weights_not_summing_to_one_is_rejected(tmp_path):
    from importlib import resources

    data = json.loads(resources.files("valuation").joinpath("data/gbt42748_weights.json").read_text("utf-8"))
    data["dimensions"]["legal"]["weight"] = 0.5
    with pytest.raises(ValueError, match="dimensions: weights must sum to 1"):
        ScoringScheme.from_dict(data)
    data["dimensions"]["legal"]["weight"] = 0.3
    data["dimensions"]["economic"]["indicators"]["policy_fit"]["weight"] = 0.2
    p = tmp_path / "w.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"dimensions\.economic\.indicators"):
        load_scheme(p)


def test_custom_weights_change_the_result():
    from importlib import resources

    data = json.loads(resources.files("valuation").joinpath("data/gbt42748_weights.json").read_text("utf-8"))
    data["dimensions"]["legal"]["weight"] = 0.6
    data["dimensions"]["technical"]["weight"] = 0.2
    data["dimensions"]["economic"]["weight"] = 0.2
    sc = score(ALL_GIVEN, ScoringScheme.from_dict(data))
    assert sc.total == pytest.approx(0.6 * 73.25 + 0.2 * 70.25 + 0.2 * 59.75)
