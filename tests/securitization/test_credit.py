"""Credit Monte Carlo: Vasicek large-pool limit, seeding, Dask, tranches and ratings."""

import itertools
import math

import numpy as np
import pytest

from securitization.credit import (
    MOODYS_IDEALIZED_EL_PCT,
    LossDistribution,
    homogeneous_portfolio,
    idealized_el,
    implied_rating,
    industry_correlation,
    simulate_pool_losses,
    stress_portfolio,
    tranche_loss_stats,
    vasicek_cdf,
)


@pytest.fixture(scope="module")
def large_pool_losses():
    pf = homogeneous_portfolio(5_000, annual_pd=0.05, rho=0.2, lgd=1.0, months=12)
    return simulate_pool_losses(pf, 6_000, seed=11)


@pytest.mark.parametrize("x", [0.01, 0.02, 0.05, 0.08, 0.12, 0.2])
def test_large_homogeneous_pool_loss_cdf_matches_vasicek_within_3_se(large_pool_losses, x):
    """Reference: Vasicek (2002), P(L ≤ x) = Φ((√(1−ρ)Φ⁻¹(x) − Φ⁻¹(PD))/√ρ), PD 5%, ρ 0.2."""
    p, se = large_pool_losses.cdf(x)
    assert abs(p - float(vasicek_cdf(x, 0.05, 0.2))) < 3 * se


def test_expected_loss_matches_pd_times_lgd_within_3_se(large_pool_losses):
    el, se = large_pool_losses.expected_loss()
    assert abs(el - 0.05) < 3 * se and se > 0


def test_default_timing_follows_the_constant_hazard_and_amortising_exposure():
    """With ρ → 0 and exposure falling linearly, E[loss] = Σ_m P(τ in month m) × exposure_m × LGD."""
    n, months, pd = 4_000, 24, 0.1
    pf = homogeneous_portfolio(n, pd, 1e-9, lgd=0.5, months=months)
    expo = np.linspace(1.0, 1.0 / months, months)
    pf = type(pf)(np.tile(expo, (n, 1)), pf.annual_pd, pf.lgd, pf.rho, pf.industry, pf.horizon_months)
    d = simulate_pool_losses(pf, 200, seed=5)
    lam = -math.log(1 - pd)
    probs = np.exp(-lam * np.arange(months) / 12) - np.exp(-lam * np.arange(1, months + 1) / 12)
    exact = n * 0.5 * float(np.sum(probs * expo))
    assert abs(d.losses.mean() - exact) < 3 * d.losses.std(ddof=1) / math.sqrt(200)


def test_same_seed_gives_identical_losses_and_another_seed_does_not():
    pf = homogeneous_portfolio(300, 0.03, 0.3)
    a = simulate_pool_losses(pf, 1_000, seed=42, chunk_size=128)
    b = simulate_pool_losses(pf, 1_000, seed=42, chunk_size=128)
    c = simulate_pool_losses(pf, 1_000, seed=43, chunk_size=128)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.array_equal(a.losses, c.losses)


def test_dask_local_cluster_gives_the_same_losses_as_in_process_for_the_same_seed():
    from distributed import Client, LocalCluster

    from ipfin.executor import DaskExecutor

    pf = homogeneous_portfolio(200, 0.04, 0.25, months=36)
    local = simulate_pool_losses(pf, 2_000, seed=7, chunk_size=250)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote = simulate_pool_losses(pf, 2_000, seed=7, chunk_size=250, executor=DaskExecutor(client))
    np.testing.assert_array_equal(local.losses, remote.losses)


def test_independent_industry_factors_diversify_the_tail_but_keep_the_mean():
    n = 2_000
    one = homogeneous_portfolio(n, 0.05, 0.3)
    multi = type(one)(one.exposure, one.annual_pd, one.lgd, one.rho, np.arange(n) % 4, one.horizon_months,
                      industry_correlation(4, 0.0), ("C", "I", "M", "R"))
    d1 = simulate_pool_losses(one, 3_000, seed=1)
    d4 = simulate_pool_losses(multi, 3_000, seed=1)
    (m1, s1), (m4, s4) = d1.expected_loss(), d4.expected_loss()
    assert abs(m1 - m4) < 3 * math.hypot(s1, s4)
    assert d4.quantile(0.99) < d1.quantile(0.99)


def test_fully_correlated_industries_reduce_to_the_one_factor_model():
    n = 500
    one = homogeneous_portfolio(n, 0.05, 0.3)
    multi = type(one)(one.exposure, one.annual_pd, one.lgd, one.rho, np.arange(n) % 3, one.horizon_months,
                      industry_correlation(3, 0.999999), ("C", "I", "M"))
    d1 = simulate_pool_losses(one, 1_000, seed=3)
    d3 = simulate_pool_losses(multi, 1_000, seed=3)
    assert abs(d1.expected_loss()[0] - d3.expected_loss()[0]) < 3 * d1.expected_loss()[1]


def test_tranche_losses_are_allocated_bottom_up_through_attachment_points():
    dist = LossDistribution(np.array([0.0, 5.0, 15.0, 30.0]), np.zeros(4), 100.0, 0, 4)
    stats = {s.name: s for s in tranche_loss_stats(dist, [("A", 80.0, 1), ("Sub", 20.0, 2)], {"A": 2, "Sub": 2})}
    assert stats["Sub"].expected_loss == pytest.approx((0 + 0.25 + 0.75 + 1.0) / 4)
    assert stats["A"].expected_loss == pytest.approx((10 / 80) / 4)
    assert stats["A"].prob_any_loss == 0.25 and stats["Sub"].prob_any_loss == 0.75
    assert (stats["A"].attachment, stats["A"].detachment) == (0.2, 1.0)


def test_guaranteed_tranche_is_reported_before_and_after_the_guarantee():
    dist = LossDistribution(np.array([0.0, 30.0]), np.zeros(2), 100.0, 0, 2)
    names = [s.name for s in tranche_loss_stats(dist, [("A", 90.0, 1), ("B", 10.0, 2)], {}, guaranteed=("A",))]
    assert names == ["A", "A (before guarantee)", "B"]


def test_moodys_idealized_table_is_monotone_in_rating_and_horizon():
    rows = list(MOODYS_IDEALIZED_EL_PCT.values())
    for r in rows:
        assert all(a <= b for a, b in itertools.pairwise(r))
    for lo, hi in itertools.pairwise(rows):
        assert all(a <= b for a, b in zip(lo, hi, strict=True))
    assert idealized_el("Baa2", 5.0) == pytest.approx(0.008690)
    assert idealized_el("Baa2", 5.5) == pytest.approx((0.008690 + 0.010835) / 2)


@pytest.mark.parametrize(("el", "wal", "rating"), [(0.0, 3, "Aaa"), (0.0009, 5, "A1"), (0.02, 5, "Ba1"),
                                                    (0.5, 5, "Ca")])
def test_implied_rating_is_the_best_rating_whose_idealized_loss_covers_the_tranche(el, wal, rating):
    assert implied_rating(el, wal) == rating


def test_stresses_raise_expected_loss():
    pf = homogeneous_portfolio(1_000, 0.03, 0.2, lgd=0.6)
    base = simulate_pool_losses(pf, 2_000, seed=9).expected_loss()[0]
    for name in ("pd_x2", "recovery_halved", "severe"):
        assert simulate_pool_losses(stress_portfolio(pf, name), 2_000, seed=9).expected_loss()[0] > base
    with pytest.raises(ValueError, match="stress"):
        stress_portfolio(pf, "nope")


def test_bad_portfolio_inputs_name_the_field():
    pf = homogeneous_portfolio(10, 0.03, 0.2)
    with pytest.raises(ValueError, match="rho"):
        type(pf)(pf.exposure, pf.annual_pd, pf.lgd, np.full(10, 1.2), pf.industry, pf.horizon_months)
    with pytest.raises(ValueError, match="annual_pd"):
        type(pf)(pf.exposure, np.full(10, np.nan), pf.lgd, pf.rho, pf.industry, pf.horizon_months)
    with pytest.raises(ValueError, match="n_paths"):
        simulate_pool_losses(pf, 0, seed=1)


def test_portfolio_from_pool_uses_scheduled_loan_balances_and_remaining_royalties_as_exposure():
    from securitization.credit import portfolio_from_pool
    from securitization.pool import PledgeLoan, Pool, RoyaltyReceivable

    loan = PledgeLoan("L1", "b", 1_200_000_00, 0.05, 12, 0.03, 0.4, 6, "C", "440300", schedule="equal_principal")
    roy = RoyaltyReceivable("R1", "licensee", (0, 0, 300_00, 0, 0, 300_00), 0.05, 0.2, 3, "I", "440100")
    pf = portfolio_from_pool(Pool("p", (loan,), (roy,)), rho=0.1, inter_industry=0.3)
    np.testing.assert_allclose(pf.exposure[0, :3], [1_200_000.0, 1_100_000.0, 1_000_000.0])
    np.testing.assert_allclose(pf.exposure[1, :7], [600.0, 600.0, 600.0, 300.0, 300.0, 300.0, 0.0])
    assert list(pf.horizon_months) == [12, 6] and pf.industry_names == ("C", "I")
    np.testing.assert_allclose(pf.lgd, [0.6, 0.8])
    assert pf.factor_correlation[0, 1] == pytest.approx(0.3)


def test_progress_is_reported_per_batch_of_chunks_without_changing_the_losses():
    pf = homogeneous_portfolio(100, 0.03, 0.2)
    seen: list[float] = []
    plain = simulate_pool_losses(pf, 1_000, seed=8, chunk_size=10)
    tracked = simulate_pool_losses(pf, 1_000, seed=8, chunk_size=10, progress=seen.append)
    np.testing.assert_array_equal(plain.losses, tracked.losses)
    assert len(seen) == 20 and seen == sorted(seen) and seen[-1] == 1.0


def test_a_capped_guarantor_covers_losses_only_up_to_its_cap_most_senior_first():
    dist = LossDistribution(np.array([0.0, 30.0, 60.0]), np.zeros(3), 100.0, 0, 3)
    tr = [("A", 60.0, 1), ("B", 30.0, 2), ("Sub", 10.0, 3)]
    stats = {s.name: s for s in tranche_loss_stats(dist, tr, {}, guaranteed=("A", "B"), guarantee_cap=15.0)}
    # path losses: A 0/0/20, B 0/20/30, Sub 0/10/10. Path 2: the 15 of cap goes to B (A needs none);
    # path 3: A takes the whole cap first (20 − 15 = 5 left to A) and B keeps all 30
    assert stats["B (before guarantee)"].expected_loss == pytest.approx((0 + 20 / 30 + 1.0) / 3)
    assert stats["B"].expected_loss == pytest.approx((0 + 5 / 30 + 1.0) / 3) and stats["B"].guaranteed
    assert stats["A"].expected_loss == pytest.approx((5 / 60) / 3)
    unlimited = {s.name: s for s in tranche_loss_stats(dist, tr, {}, guaranteed=("B",))}
    assert unlimited["B"].expected_loss == 0.0 and unlimited["Sub"].expected_loss == pytest.approx(2 / 3)
    deep = LossDistribution(np.array([95.0]), np.zeros(1), 100.0, 0, 1)
    s = {x.name: x for x in tranche_loss_stats(deep, tr, {}, guaranteed=("A", "B"), guarantee_cap=40.0)}
    assert s["A"].expected_loss == pytest.approx(15 / 60) and s["B"].expected_loss == pytest.approx(1.0)
