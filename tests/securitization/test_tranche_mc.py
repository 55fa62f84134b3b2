"""Per-path tranche write-downs: against a scalar loss-allocation loop, conservation per path, and the
float allocation of credit.tranche_loss_stats on a simulated pool."""

import doctest

import numpy as np
import pytest

import securitization.tranche_mc as tranche_mc
from securitization.credit import homogeneous_portfolio, simulate_pool_losses, tranche_loss_stats
from securitization.tranche_mc import pool_losses_to_fen, tranche_expected_losses, tranche_write_downs


def scalar_write_downs(loss: int, notes: list[int], pool: int) -> list[int]:
    """Independent reference: walk the loss up the capital structure one class at a time (Python ints)."""
    left = max(loss - (pool - sum(notes)), 0)  # over-collateralisation absorbs the first loss
    out = [0] * len(notes)
    for k in range(len(notes) - 1, -1, -1):  # most junior first
        take = min(left, notes[k])
        out[k] = take
        left -= take
    return out


def test_docstring_examples_run():
    assert doctest.testmod(tranche_mc).failed == 0


@pytest.mark.parametrize("seed", range(5))
def test_write_downs_equal_the_scalar_loss_allocation_on_random_structures(seed):
    rng = np.random.default_rng(seed)
    notes = [int(x) for x in rng.integers(0, 10**12, size=int(rng.integers(1, 6)))]
    pool = sum(notes) + int(rng.integers(0, 10**11))
    losses = rng.integers(0, pool + 10**11, size=400)  # some beyond the whole pool
    losses[:3] = [0, pool - sum(notes), pool]  # edges: nothing, exactly the OC, the whole pool
    got = tranche_write_downs(losses, notes, pool)
    assert got.dtype == np.int64
    assert got.tolist() == [scalar_write_downs(int(x), notes, pool) for x in losses]


def test_each_path_conserves_the_pool_loss_above_oc_capped_at_the_notes():
    notes, pool = [8_000_000_00, 1_200_000_00, 500_000_00], 10_000_000_00
    losses = np.arange(0, 2 * pool, 3_333_333, dtype=np.int64)
    w = tranche_write_downs(losses, notes, pool)
    oc = pool - sum(notes)
    assert np.array_equal(w.sum(axis=1), np.clip(losses - oc, 0, sum(notes)))
    assert np.all(w >= 0) and np.all(w <= np.array(notes))


def test_a_senior_class_loses_nothing_until_every_junior_class_is_wiped_out():
    notes, pool = [700, 200, 100], 1_000
    w = tranche_write_downs(np.arange(0, 1_001), notes, pool)
    senior_hit = w[:, 0] > 0
    assert np.all(w[senior_hit, 1] == 200) and np.all(w[senior_hit, 2] == 100)
    assert w[300, 0] == 0 and w[301, 0] == 1


def test_integer_fen_columns_agree_with_the_float_allocation_of_tranche_loss_stats():
    """Reference: credit.tranche_loss_stats (the same waterfall in float CNY) on one simulated pool."""
    pf = homogeneous_portfolio(500, annual_pd=0.04, rho=0.2, months=24, exposure=20_000.0)
    dist = simulate_pool_losses(pf, 2_000, seed=5)
    pool_fen = round(dist.pool_balance * 100)
    notes = [7_000_000_00, 1_500_000_00, 1_000_000_00]  # senior, mezzanine, subordinated; OC 5 %
    w = tranche_write_downs(pool_losses_to_fen(dist.losses), notes, pool_fen)
    el, se, p_any = tranche_expected_losses(w, notes)
    ref = tranche_loss_stats(dist, [("A", 7e6, 1), ("B", 1.5e6, 2), ("C", 1e6, 3)], {})
    assert [r.name for r in ref] == ["A", "B", "C"]
    assert np.allclose(el, [r.expected_loss for r in ref], rtol=0, atol=1e-12)
    assert np.allclose(se, [r.expected_loss_se for r in ref], rtol=0, atol=1e-12)
    assert np.allclose(p_any, [r.prob_any_loss for r in ref], rtol=0, atol=0)
    assert el[2] > el[1] > 0  # the junior class loses more, and the test pool reaches the mezzanine


def test_pool_losses_round_half_to_even_to_the_fen():
    assert pool_losses_to_fen(np.array([0.005, 0.015, 0.025, 1e9])).tolist() == [0, 2, 2, 100_000_000_000]


@pytest.mark.parametrize(
    ("losses", "notes", "pool", "message"),
    [
        (np.array([1, 2]), [600, 500], 1_000, "exceed the pool"),
        (np.array([-1]), [500], 1_000, "non-negative"),
        (np.array([1.5]), [500], 1_000, "integer fen"),
        (np.array([1]), [], 1_000, "at least one tranche"),
        (np.array([1]), [500.5], 1_000, "whole number"),
        (np.array([1]), [500], 2**63, "too large"),
    ],
)
def test_invalid_inputs_are_rejected_with_the_field_named(losses, notes, pool, message):
    with pytest.raises(ValueError, match=message):
        tranche_write_downs(losses, notes, pool)


def test_float_losses_must_be_finite_and_non_negative():
    with pytest.raises(ValueError, match="finite and non-negative"):
        pool_losses_to_fen(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="finite and non-negative"):
        pool_losses_to_fen(np.array([-0.01]))
