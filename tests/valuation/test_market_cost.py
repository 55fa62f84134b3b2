"""Market and cost approaches against hand-computed examples (arithmetic in the docstrings)."""

import statistics

import pytest

from valuation.cost import CostItem, combined_obsolescence, cost_value, obsolescence_from_life
from valuation.market import Comparable, annuity_factor, market_value


def test_market_value_adjusts_each_comparable_by_its_stated_factors():
    """Subject score 80, life 8 y (plain life ratio):
    A: 1,000,000 × (80/64 = 1.25) × (8/10 = 0.8) × 1.05 × 1 × 1 = 1,050,000
    B: 2,000,000 × (80/100 = 0.8) × (8/8 = 1) × 1 × 0.9 × 1.1 = 1,584,000
    weights 1 and 3: V = (1,050,000 + 3 × 1,584,000) / 4 = 1,450,500."""
    comps = [
        Comparable("A", 1e6, 64, 10, time_index_ratio=1.05),
        Comparable("B", 2e6, 100, 8, scope_factor=0.9, transaction_type_factor=1.1, weight=3),
    ]
    mv = market_value(comps, 80, 8)
    assert [r.adjusted_value for r in mv.table] == pytest.approx([1_050_000, 1_584_000])
    assert mv.value == pytest.approx(1_450_500)
    assert mv.mean == pytest.approx(1_317_000)
    assert mv.std == pytest.approx(statistics.stdev([1_050_000, 1_584_000]))
    assert mv.coefficient_of_variation == pytest.approx(mv.std / mv.mean)
    assert (mv.low, mv.high) == pytest.approx((1_050_000, 1_584_000))


def test_annuity_life_factor_uses_discounted_remaining_income():
    """a(5, 10%) = 3.7907868, a(10, 10%) = 6.1445671 → life factor 0.6169289."""
    assert annuity_factor(5, 0.10) == pytest.approx(3.7907868, abs=1e-7)
    mv = market_value([Comparable("A", 1e6, 80, 10)], 80, 5, discount_rate=0.10)
    assert mv.table[0].life_factor == pytest.approx(3.7907868 / 6.1445671, abs=1e-7)


def test_quality_ratio_is_bounded():
    mv = market_value([Comparable("A", 1e6, 20, 5)], 100, 5, quality_ratio_bounds=(0.5, 2.0))
    assert mv.table[0].quality_ratio == 2.0


def test_comparable_with_negative_price_is_rejected_naming_the_field():
    with pytest.raises(ValueError, match="price_cny"):
        Comparable("A", -1.0, 50, 5)
    with pytest.raises(ValueError, match="comparables"):
        market_value([], 50, 5)


def test_cost_approach_itemised_hand_computed():
    """RC = 3,200,000 + 1,100,000 + 60,000 = 4,360,000; obsolescence 1 − 0.75 × 0.90 = 32.5%;
    V = 4,360,000 × 1.12 × 0.675 = 3,296,160."""
    cv = cost_value(
        [CostItem("labour", 3.2e6), CostItem("materials", 1.1e6), CostItem("fees", 6e4)],
        0.12,
        [("technical", 0.25), ("economic", 0.10)],
    )
    assert cv.replacement_cost == pytest.approx(4_360_000)
    assert cv.obsolescence == pytest.approx(0.325)
    assert cv.value == pytest.approx(3_296_160)


def test_obsolescence_from_life_split():
    """贬值率 = used / (used + remaining) = 3 / (3 + 7) = 30%."""
    assert obsolescence_from_life(3, 7) == pytest.approx(0.3)
    assert combined_obsolescence([("a", 0.0)]) == 0.0


def test_negative_cost_item_is_rejected_naming_it():
    with pytest.raises(ValueError, match="labour"):
        CostItem("labour", -1.0)
    with pytest.raises(ValueError, match="obsolescence"):
        cost_value([CostItem("x", 1.0)], 0.1, 1.5)
