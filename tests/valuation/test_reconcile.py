"""Reconciliation adds up exactly in fen; tornado is one-at-a-time and sorted by swing."""

from decimal import Decimal

import pytest

from valuation.reconcile import float_to_fen, reconcile, tornado


def test_appraised_value_is_the_exact_sum_of_weighted_contributions():
    """0.6 × 10,000,001 fen = 6,000,000.6 → 6,000,001; 0.3 × 8,000,000 = 2,400,000;
    0.1 × 3,333,333 = 333,333.3 → 333,333; total 8,733,334 fen."""
    rec = reconcile({"income": (10_000_001, 5, 20_000_000), "market": (8_000_000, 7_000_000, 9_000_000),
                     "cost": (3_333_333, 3_333_333, 3_333_333)},
                    {"income": 0.6, "market": 0.3, "cost": 0.1})
    assert [ln.contribution_fen for ln in rec.lines] == [6_000_001, 2_400_000, 333_333]
    assert rec.appraised_value_fen == 8_733_334 == sum(ln.contribution_fen for ln in rec.lines)
    assert rec.lines[0].weight == Decimal("0.6")
    assert rec.low_fen <= rec.appraised_value_fen <= rec.high_fen


def test_weights_not_summing_to_one_are_rejected():
    with pytest.raises(ValueError, match="weights must sum to 1"):
        reconcile({"income": (1, 1, 1), "market": (1, 1, 1)}, {"income": 0.6, "market": 0.3})


def test_weighted_approach_without_value_is_named():
    with pytest.raises(ValueError, match=r"weights\.market"):
        reconcile({"income": (1, 1, 1)}, {"income": 0.5, "market": 0.5})


def test_float_to_fen_rounds_half_to_even_and_rejects_nan():
    assert float_to_fen(1.005) == 100  # 1.005 is 1.00499999… in binary
    assert float_to_fen(0.125) == 12  # 12.5 fen exactly → 12 (half to even)
    assert float_to_fen(0.135) == 14  # the double nearest 0.135 is 0.13500000000000000888… → 14
    with pytest.raises(ValueError):
        float_to_fen(float("nan"))


def test_tornado_of_a_linear_model_swings_by_its_coefficients_and_sorts_them():
    """f = 3a + 10b: bumping a by ±1 swings 6, b by ±1 swings 20 → b first."""
    base, bars = tornado(lambda p: 3 * p["a"] + 10 * p["b"], {"a": 1.0, "b": 2.0},
                         {"a": (0.0, 2.0), "b": (1.0, 3.0)})
    assert base == 23
    assert [b.input for b in bars] == ["b", "a"]
    assert (bars[0].value_at_low, bars[0].value_at_high) == (13, 33)
    assert bars[1].swing == 6
