"""Exact money and the largest-remainder rule: parts always sum to the whole."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipfin.money import MoneyError, allocate_capped, cny_to_fen, fen_to_cny, split_largest_remainder


def test_8_000_000_03_cny_split_4_2_2_2() -> None:
    """800,000,003 fen × 0.4 = 320,000,001.2; × 0.2 = 160,000,000.6 three times.
    Floors 320,000,001 + 3 × 160,000,000 = 800,000,001; the 2 fen left go to the largest
    remainders (0.6, 0.6, 0.6 beat 0.2), ties to the earlier party."""
    parts = split_largest_remainder(cny_to_fen("8000000.03"), [4, 2, 2, 2])
    assert parts == [320_000_001, 160_000_001, 160_000_001, 160_000_000]
    assert sum(parts) == 800_000_003


def test_weights_may_be_fractions_of_one_or_ratios() -> None:
    assert split_largest_remainder(1001, ["0.4", "0.3", "0.2", "0.1"]) == split_largest_remainder(1001, [4, 3, 2, 1])
    assert split_largest_remainder(100, [Fraction(1, 3)] * 3) == [34, 33, 33]


def test_fen_round_trip() -> None:
    assert fen_to_cny(800_000_003) == Decimal("8000000.03")
    assert cny_to_fen(Decimal("0.10")) == 10
    with pytest.raises(MoneyError):
        cny_to_fen(0.1)  # type: ignore[arg-type]


def test_capped_allocation_refills_others() -> None:
    assert allocate_capped(1000, [1, 1, 1], [100, 2000, 300]) == [100, 600, 300]
    assert allocate_capped(1000, [1, 1], [100, 200]) == [100, 200]  # caps bind: sum is the caps


@given(
    total=st.integers(min_value=0, max_value=10**15),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(lambda w: sum(w) > 0),
)
def test_split_parts_are_non_negative_and_sum_exactly(total: int, weights: list[int]) -> None:
    parts = split_largest_remainder(total, weights)
    assert sum(parts) == total
    assert all(p >= 0 for p in parts)
    s = sum(weights)
    for p, w in zip(parts, weights, strict=True):
        assert abs(Fraction(p) - Fraction(total * w, s)) < 1  # each part within one fen of its exact share


@given(
    total=st.integers(min_value=0, max_value=10**12),
    rows=st.lists(st.tuples(st.integers(1, 100), st.integers(0, 10**9)), min_size=1, max_size=8),
)
def test_capped_allocation_never_exceeds_caps(total: int, rows: list[tuple[int, int]]) -> None:
    weights, caps = zip(*rows, strict=True)
    parts = allocate_capped(total, list(weights), list(caps))
    assert all(0 <= p <= c for p, c in zip(parts, caps, strict=True))
    assert sum(parts) == min(total, sum(caps))
