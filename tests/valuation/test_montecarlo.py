"""Monte Carlo valuation: agreement with closed forms within 3 standard errors, exact
reproducibility by seed, and identical results in-process and on a Dask LocalCluster.

Closed-form reference (independent of the simulation code). With revenue
R_t = M_t exp(Σ σZ − σ²t/2) (so E[R_t] = M_t), royalty k, life L, loss time τ ~ Exp(λ) with
e^{−λ} = 1 − h, success S ~ Bernoulli(p), all independent and a constant discount rate r:

    E[V] = p · E[k] · (1 − tax) · Σ_t M_t · DF_t · E[clip(min(L, τ) − (t − 1), 0, 1)],
    E[clip(min(L, τ) − (t − 1), 0, 1)] = ∫_{t−1}^{t} P(L > s) · (1 − h)^s ds,

evaluated with scipy.integrate.quad and scipy.stats.triang (lognormal expectation: E[e^{σW_t −
σ²t/2}] = 1 for a Brownian W).
"""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from ipfin.executor import InProcessExecutor, make_chunks
from valuation import montecarlo
from valuation.income import relief_from_royalty
from valuation.montecarlo import DistKind, MCSpec, ThreePoint, mean_revenue_path, run_monte_carlo, simulate_chunk


def closed_form_mean(spec: MCSpec) -> float:
    lam = -math.log1p(-spec.annual_hazard)
    life = spec.life
    if life.high == life.low:
        surv_l = lambda s: 1.0 if s < min(life.low, spec.legal_term_years) else 0.0  # noqa: E731
    else:
        tri = stats.triang((life.mode - life.low) / (life.high - life.low), loc=life.low, scale=life.high - life.low)
        surv_l = lambda s: float(tri.sf(s)) if s < spec.legal_term_years else 0.0  # noqa: E731
    total = 0.0
    for t in range(1, spec.horizon + 1):
        ew = integrate.quad(lambda s: surv_l(s) * math.exp(-lam * s), t - 1, t, limit=200,
                            points=[life.low, life.mode, life.high])[0]
        df = (1 + spec.discount_rate) ** -(t - 0.5 if spec.mid_year else t)
        total += spec.mean_revenue[t - 1] * df * ew
    return spec.success_probability * spec.royalty.mean * (1 - spec.tax_rate) * total


def _spec(**kw) -> MCSpec:
    base = dict(
        mean_revenue=mean_revenue_path(1e7, 0.05, 12), volatility=0.3, royalty=ThreePoint(0.03, 0.04, 0.06),
        tax_rate=0.25, discount_rate=0.12, life=ThreePoint(6.0, 9.0, 11.5), legal_term_years=12.0,
        success_probability=0.8, annual_hazard=0.05,
    )
    base.update(kw)
    return MCSpec(**base)


@pytest.mark.parametrize("antithetic", [False, True])
def test_mean_agrees_with_the_closed_form_within_3_standard_errors(antithetic):
    spec = _spec()
    res = run_monte_carlo(spec, 200_000, seed=11, antithetic=antithetic, chunk_size=50_000)
    ref = closed_form_mean(spec)
    assert abs(res.mean - ref) < 3 * res.standard_error, (res.mean, ref, res.standard_error)
    assert res.standard_error < 0.01 * ref  # the test has power: SE is small against the value


def test_pert_royalty_and_mid_year_convention_agree_with_the_closed_form():
    spec = _spec(royalty=ThreePoint(0.02, 0.03, 0.07, DistKind.PERT), mid_year=True, life=ThreePoint.fixed(8.5),
                 annual_hazard=0.1, success_probability=1.0)
    res = run_monte_carlo(spec, 100_000, seed=5, antithetic=True, chunk_size=20_000)
    ref = closed_form_mean(spec)
    assert abs(res.mean - ref) < 3 * res.standard_error


def test_life_is_capped_by_the_legal_term():
    spec = _spec(life=ThreePoint(8.0, 12.0, 16.0), legal_term_years=10.0, annual_hazard=0.0)
    assert spec.horizon == 10
    res = run_monte_carlo(spec, 100_000, seed=3, chunk_size=25_000)
    assert abs(res.mean - closed_form_mean(spec)) < 3 * res.standard_error


def test_deterministic_limit_equals_relief_from_royalty_exactly():
    """σ = 0, fixed royalty and life, no hazard, certain success: every path is the DCF value."""
    rev = mean_revenue_path(5e6, 0.04, 7)
    spec = MCSpec(rev, 0.0, ThreePoint.fixed(0.05), 0.25, 0.11, ThreePoint.fixed(6.5), 10.0)
    res = run_monte_carlo(spec, 1000, seed=1)
    dcf = relief_from_royalty(list(rev), 0.05, tax_rate=0.25, discount_rate=0.11, life_years=6.5).value
    assert res.values == pytest.approx(np.full(1000, dcf), rel=1e-12)
    assert res.std == pytest.approx(0, abs=1e-6 * dcf)


def test_same_seed_reproduces_exactly_and_another_seed_differs():
    spec = _spec(discount_rate_sd=0.01)
    a = run_monte_carlo(spec, 20_000, seed=42, antithetic=True, chunk_size=4_000)
    b = run_monte_carlo(spec, 20_000, seed=42, antithetic=True, chunk_size=4_000)
    c = run_monte_carlo(spec, 20_000, seed=43, antithetic=True, chunk_size=4_000)
    assert np.array_equal(a.values, b.values) and a.summary() == b.summary()
    assert a.mean != c.mean


def test_antithetic_pairs_reduce_the_standard_error_on_a_monotone_model():
    spec = _spec(success_probability=1.0, annual_hazard=0.0, life=ThreePoint.fixed(10.0))
    plain = run_monte_carlo(spec, 100_000, seed=9, chunk_size=50_000)
    anti = run_monte_carlo(spec, 100_000, seed=9, antithetic=True, chunk_size=50_000)
    assert anti.standard_error < 0.8 * plain.standard_error


def test_probability_below_a_loan_amount_matches_the_failure_probability():
    """With everything fixed but commercial success (p = 0.7), V < x for 0 < x < DCF iff failure."""
    rev = mean_revenue_path(5e6, 0.0, 5)
    spec = MCSpec(rev, 0.0, ThreePoint.fixed(0.05), 0.25, 0.1, ThreePoint.fixed(5.0), 8.0, success_probability=0.7)
    res = run_monte_carlo(spec, 50_000, seed=4, chunk_size=10_000)
    p, se = res.prob_below(100_000.0)
    assert abs(p - 0.3) < 3 * se
    assert res.prob_below(0.0)[0] == 0.0


def test_statistics_are_ordered_and_histogram_counts_every_path():
    res = run_monte_carlo(_spec(), 20_000, seed=2, chunk_size=5_000)
    assert res.p5 <= res.p25 <= res.median <= res.p75 <= res.p95
    assert sum(res.histogram_counts) == 20_000
    assert len(res.histogram_edges) == len(res.histogram_counts) + 1


def test_results_do_not_depend_on_the_executor_instance():
    spec = _spec()
    a = run_monte_carlo(spec, 10_000, seed=8, chunk_size=2_500)
    b = run_monte_carlo(spec, 10_000, seed=8, chunk_size=2_500, executor=InProcessExecutor())
    assert np.array_equal(a.values, b.values)


def test_dask_local_cluster_with_two_workers_gives_identical_results():
    import distributed

    from ipfin.executor import DaskExecutor

    spec = _spec(discount_rate_sd=0.01)
    local = run_monte_carlo(spec, 40_000, seed=77, antithetic=True, chunk_size=10_000)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        remote = run_monte_carlo(spec, 40_000, seed=77, antithetic=True, chunk_size=10_000,
                                 executor=DaskExecutor(client))
    assert np.array_equal(local.values, remote.values)
    assert local.summary() == remote.summary()


def test_three_point_sampling_matches_scipy_and_pert_mean():
    rng = np.random.default_rng(0)
    tri = ThreePoint(1.0, 2.0, 5.0)
    u = rng.random(1000)
    ref = stats.triang((2 - 1) / 4, loc=1, scale=4).ppf(u)
    assert tri.ppf(u) == pytest.approx(ref, rel=1e-12)
    pert = ThreePoint(1.0, 2.0, 5.0, DistKind.PERT)
    x = pert.sample(rng, 200_000)
    assert abs(x.mean() - (1 + 8 + 5) / 6) < 3 * x.std() / math.sqrt(x.size)


@pytest.mark.parametrize(
    ("field", "kw"),
    [("volatility", {"volatility": float("nan")}), ("tax_rate", {"tax_rate": 1.0}),
     ("discount_rate", {"discount_rate": 1.2}), ("annual_hazard", {"annual_hazard": -0.1}),
     ("mean_revenue", {"mean_revenue": (1.0, -1.0) + (1.0,) * 10})],
)
def test_bad_spec_inputs_are_named(field, kw):
    with pytest.raises(ValueError, match=field):
        _spec(**kw)


def test_antithetic_needs_even_path_counts():
    with pytest.raises(ValueError, match="even"):
        run_monte_carlo(_spec(), 1001, seed=1, antithetic=True)


def _direct_values(spec: MCSpec, antithetic: bool, chunk) -> np.ndarray:
    """The model on whole (paths × years) arrays, as it was written before block evaluation.

    Draws: normals for half (antithetic) or all paths, then 4 uniforms a path, then discount-rate
    normals; mirrors Z → −Z, U → 1 − U. The arithmetic, in this order, defines the values exactly.
    """
    rng = chunk.rng()
    n, h = chunk.size, spec.horizon
    m = n // 2 if antithetic else n
    z = np.empty((n, h))
    rng.standard_normal(out=z[:m])
    u = np.empty((n, 4))
    u[:m] = rng.random((m, 4))
    if antithetic:
        z[m:] = -z[:m]
        u[m:] = 1.0 - u[:m]
    t = np.arange(1, h + 1, dtype=float)
    t_disc = t - 0.5 if spec.mid_year else t
    with np.errstate(divide="ignore"):
        log_m = np.log(np.asarray(spec.mean_revenue[:h], dtype=float))
        if spec.shape:
            log_m = log_m + np.log(np.asarray(spec.shape[:h], dtype=float))
    if spec.discount_rate_sd > 0:
        dz = rng.standard_normal(m)
        dz = np.concatenate([dz, -dz]) if antithetic else dz
        rates = np.clip(spec.discount_rate + spec.discount_rate_sd * dz, 1e-4, 0.99)
        drift = log_m
    else:
        drift = log_m - t_disc * math.log1p(spec.discount_rate)
    sigma = spec.volatility
    x = np.cumsum(z * sigma - 0.5 * sigma * sigma, axis=1) + drift if sigma > 0 else np.tile(drift, (n, 1))
    if spec.discount_rate_sd > 0:
        x = x - np.log1p(rates)[:, None] * t_disc
    x = np.exp(x)
    life = np.minimum(spec.life.ppf(u[:, 1]), spec.legal_term_years)
    with np.errstate(divide="ignore"):
        tau = -np.log(u[:, 2]) / -math.log1p(-spec.annual_hazard) if spec.annual_hazard > 0 else np.inf
    alive = np.minimum(life, tau)
    if np.any(alive < h):
        pv = np.einsum("ij,ij->i", x, np.clip(np.subtract.outer(alive, t - 1.0), 0.0, 1.0))
    else:
        pv = x.sum(axis=1)
    factor = spec.royalty.ppf(u[:, 0]) * (1 - spec.tax_rate)
    if spec.success_probability < 1:
        factor = factor * (u[:, 3] < spec.success_probability)
    return pv * factor


@pytest.mark.parametrize("antithetic", [False, True])
@pytest.mark.parametrize("block_values", [montecarlo.BLOCK_VALUES, 60])  # 60: 5 paths a block, a ragged last one
@pytest.mark.parametrize(
    "kw",
    [{}, {"discount_rate_sd": 0.02, "mid_year": True}, {"volatility": 0.0, "discount_rate_sd": 0.01},
     {"shape": tuple(0.5 + 0.1 * i for i in range(12)), "royalty": ThreePoint(0.02, 0.03, 0.07, DistKind.PERT)},
     {"life": ThreePoint.fixed(12.0), "annual_hazard": 0.0, "success_probability": 1.0}],  # no path ends early
    ids=["base", "random-rate-mid-year", "no-volatility", "shape-pert", "full-life"],
)
def test_values_are_the_direct_formula_bit_for_bit_whatever_the_block_size(monkeypatch, kw, block_values, antithetic):
    """Valuing paths in cache-sized blocks changes the speed, never a value (same seed, same bits)."""
    monkeypatch.setattr(montecarlo, "BLOCK_VALUES", block_values)
    spec = _spec(**kw)
    for chunk in make_chunks(2_222, 17, 1_000):  # chunks of 1,000, 1,000 and 222 paths
        assert np.array_equal(simulate_chunk(spec, antithetic, chunk), _direct_values(spec, antithetic, chunk))
