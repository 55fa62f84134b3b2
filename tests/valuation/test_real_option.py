"""Real option: QuantLib (via ipfin.ql) against the Black-Scholes-Merton closed form and Hull's
textbook example; American ≥ European; our Monte Carlo pricer within 3 SE of QuantLib analytic."""

import math

import numpy as np
import pytest

from valuation.real_option import RealOptionInputs, bsm_call, mc_european_call, value_real_option

PATENT = RealOptionInputs(pv_cash_flows=1e7, commercialisation_cost=8e6, years=10, risk_free=0.03, volatility=0.4)


def test_bsm_closed_form_reproduces_hulls_worked_example():
    """Hull, *Options, Futures, and Other Derivatives*, Example 15.6 (8th ed.): S = 42, K = 40,
    r = 10%, σ = 20%, T = 0.5 → d1 = 0.7693, d2 = 0.6278, c = 4.76."""
    assert bsm_call(42, 40, 0.5, 0.10, 0.0, 0.20) == pytest.approx(4.76, abs=0.005)


def test_quantlib_analytic_european_equals_the_closed_form():
    v = value_real_option(PATENT)
    assert PATENT.q == pytest.approx(0.1)  # cost of delay defaults to 1/T
    assert v.european == pytest.approx(bsm_call(1e7, 8e6, PATENT.maturity_years, 0.03, 0.1, 0.4), rel=1e-10)


def test_american_call_without_cost_of_delay_is_not_exercised_early():
    """Merton (1973): with q = 0 an American call equals the European; CRR with 800 steps within 0.1%."""
    inp = RealOptionInputs(1e7, 8e6, 5, 0.03, 0.35, cost_of_delay=0.0)
    v = value_real_option(inp, steps=800)
    assert v.american == pytest.approx(v.european, rel=1e-3)


def test_american_call_with_cost_of_delay_is_worth_at_least_european_and_intrinsic():
    v = value_real_option(PATENT)
    assert v.american >= v.european - 1e-6
    assert v.american >= v.intrinsic == pytest.approx(2e6)


@pytest.mark.parametrize(("method", "rel_se"), [("sobol", 1e-4), ("pseudo", 3e-3)])
def test_mc_pricer_agrees_with_quantlib_analytic_within_3_standard_errors(method, rel_se):
    ref = value_real_option(PATENT).european
    r = mc_european_call(PATENT, samples_per_replicate=2**12, replicates=32, seed=2024, method=method)
    assert abs(r.price - ref) < 3 * r.standard_error
    assert r.standard_error < rel_se * ref  # and the check has power


def test_mc_pricer_without_variance_reduction_still_agrees():
    ref = value_real_option(PATENT).european
    r = mc_european_call(PATENT, samples_per_replicate=2**14, replicates=16, seed=7, method="pseudo",
                         antithetic=False, control_variate=False)
    assert abs(r.price - ref) < 3 * r.standard_error


def test_variance_reduction_shrinks_the_error_by_orders_of_magnitude():
    plain = mc_european_call(PATENT, seed=1, method="pseudo", antithetic=False, control_variate=False)
    reduced = mc_european_call(PATENT, seed=1)
    assert reduced.standard_error < plain.standard_error / 100


def test_mc_pricer_same_seed_is_identical():
    a = mc_european_call(PATENT, seed=3)
    b = mc_european_call(PATENT, seed=3)
    assert (a.price, a.standard_error) == (b.price, b.standard_error)


def test_sobol_replicates_need_power_of_two_sizes():
    with pytest.raises(ValueError, match="power-of-two"):
        mc_european_call(PATENT, samples_per_replicate=1000)


@pytest.mark.parametrize(("field", "kw"), [("pv_cash_flows", {"pv_cash_flows": -1.0}),
                                           ("volatility", {"volatility": math.nan}),
                                           ("risk_free", {"risk_free": 1.0})])
def test_bad_real_option_inputs_are_named(field, kw):
    base = dict(pv_cash_flows=1e7, commercialisation_cost=8e6, years=10, risk_free=0.03, volatility=0.4)
    with pytest.raises(ValueError, match=field):
        RealOptionInputs(**{**base, **kw})


def test_maturity_is_whole_days_as_quantlib_sees_it():
    assert RealOptionInputs(1, 1, 0.5, 0.0, 0.2).maturity_years == pytest.approx(182 / 365)
    assert np.isclose(PATENT.maturity_years, 10.0)
