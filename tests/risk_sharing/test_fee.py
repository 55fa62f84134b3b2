"""Break-even guarantee fee: closed form for one loan, Monte Carlo against it, cohorts against the fee cap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from risk_sharing.fee import annuity_factor, break_even_fee_rate, break_even_fees
from risk_sharing.presets import load_preset
from risk_sharing.simulator import RiskBook, expected_loss_given_default, homogeneous_book, simulate_rule_cost

CHONGQING = load_preset("chongqing-4222")


def test_one_year_undiscounted_fee_is_pd_times_lgd_times_share_plus_costs():
    """The textbook break-even premium: expected loss rate PD × LGD × share, plus the operating cost rate."""
    assert break_even_fee_rate(0.02, 0.6, 0.4) == pytest.approx(0.02 * 0.6 * 0.4, rel=1e-12)
    assert break_even_fee_rate(0.02, 0.6, 0.4, operating_cost_rate=0.004) == pytest.approx(0.0088, rel=1e-12)


def test_multi_year_discounted_fee_matches_integration_of_the_default_density():
    """Reference: PV EL = LGD × share × ∫₀ᵀ λe^{−λt}(1 + r)^{−t} dt, fee = PV EL ÷ Σ_{t<T} (1 + r)^{−t}."""
    pd, lgd, share, term, r = 0.04, 0.55, 0.2, 3, 0.06
    lam = -math.log(1 - pd)
    pv, _ = integrate.quad(lambda t: lam * math.exp(-lam * t) * (1 + r) ** -t, 0, term)
    annuity = 1 + 1 / 1.06 + 1 / 1.06**2
    assert annuity_factor(term, r) == pytest.approx(annuity, rel=1e-12)
    assert break_even_fee_rate(pd, lgd, share, term_years=term, discount_rate=r) == pytest.approx(
        lgd * share * pv / annuity, rel=1e-10
    )


def test_capital_charge_is_cost_of_capital_times_unexpected_loss_at_the_confidence_level():
    """One loan, PD 2% > 1 − 99%: the 99% loss quantile is the whole loss share, capital = that minus EL."""
    el = 0.02 * 0.5 * 0.4
    assert break_even_fee_rate(0.02, 0.5, 0.4, confidence=0.99, cost_of_capital=0.12) == pytest.approx(
        el + 0.12 * (0.5 * 0.4 - el), rel=1e-12
    )
    # PD 0.5% < 1%: the 99% quantile is no loss, so capital is −EL (the charge only nets the EL held)
    assert break_even_fee_rate(0.005, 0.5, 0.4, confidence=0.99, cost_of_capital=0.12) == pytest.approx(
        0.005 * 0.2 - 0.12 * 0.005 * 0.2, rel=1e-12
    )


def _one_loan(sigma: float, years: int, r: float) -> RiskBook:
    return homogeneous_book(1, 5e6, 0.03, 0.15, collateral_median=4e6, collateral_sigma=sigma, disposal_cost=0.15,
                            recovery_years=1.0, discount_rate=r)


def test_monte_carlo_fee_of_a_single_loan_matches_the_closed_form_within_3_se():
    """Three-year guarantee, 5% discounting, lognormal collateral: LGD from the closed-form E[E − d·min(R, E)]."""
    book = _one_loan(0.6, 3, 0.05)
    cost = simulate_rule_cost(CHONGQING, book, 200_000, seed=31, years=3, per_loan=True)
    fees = break_even_fees(CHONGQING, book, cost, operating_cost_rate={"guarantor": 0.005})
    lgd = expected_loss_given_default(5e6, 4e6, 0.6, 0.15, 1.0, 0.05) / 5e6
    for p in fees.cohort:
        share = float(CHONGQING.party(p.key).share) / 100
        ops = 0.005 if p.key == "guarantor" else 0.0
        exact = break_even_fee_rate(0.03, lgd, share, term_years=3, discount_rate=0.05, operating_cost_rate=ops)
        assert p.break_even_rate_se > 0
        assert abs(p.break_even_rate - exact) < 3 * p.break_even_rate_se, (p.key, p.break_even_rate, exact)
        assert fees.loan_rate[0, fees.parties.index(p.key)] == pytest.approx(p.break_even_rate, rel=1e-9)


def test_monte_carlo_capital_charge_of_a_single_loan_matches_the_closed_form_within_3_se():
    book = _one_loan(0.0, 1, 0.0)
    cost = simulate_rule_cost(CHONGQING, book, 100_000, seed=5, per_loan=True)
    fees = break_even_fees(CHONGQING, book, cost, confidence=0.99, cost_of_capital=0.1)
    lgd = expected_loss_given_default(5e6, 4e6, 0.0, 0.15) / 5e6
    for p in fees.cohort:
        share = float(CHONGQING.party(p.key).share) / 100
        exact = break_even_fee_rate(0.03, lgd, share, confidence=0.99, cost_of_capital=0.1)
        assert p.capital_rate > 0
        assert abs(p.break_even_rate - exact) < 3 * p.break_even_rate_se, (p.key, p.break_even_rate, exact)


def _chongqing_book(n: int, seed: int) -> RiskBook:
    """Chongqing-style book: 1–10M CNY loans, PD 0.5–8% by rating, ρ 0.15, lognormal IP collateral."""
    g = np.random.default_rng(seed)
    ead = np.round(g.uniform(1e6, 1e7, n), -4)
    return RiskBook(
        ead=ead, annual_pd=g.choice([0.005, 0.01, 0.02, 0.04, 0.08], n), rho=np.full(n, 0.15),
        collateral_median=ead * 0.8, collateral_sigma=np.full(n, 0.6), disposal_cost=np.full(n, 0.2),
        recovery_years=np.full(n, 1.5), guarantee_fee_rate=np.full(n, 0.015), discount_rate=0.04,
    )


def test_cohort_flags_exactly_the_loans_whose_break_even_rate_exceeds_the_15_percent_cap():
    book = _chongqing_book(200, 1)
    cost = simulate_rule_cost(CHONGQING, book, 4_000, seed=9, per_loan=True)
    fees = break_even_fees(CHONGQING, book, cost, operating_cost_rate={"guarantor": 0.005})
    assert fees.fee_cap == 0.015 and fees.fee_parties == ("guarantor", "reguarantor", "nfgf")
    np.testing.assert_array_equal(fees.under_priced, fees.loan_total_rate > 0.015)
    np.testing.assert_allclose(fees.gap_cny_per_year, np.maximum(fees.loan_total_rate - 0.015, 0) * book.ead)
    assert 0 < fees.under_priced_share < 1
    # riskier loans need higher fees: every 8%-PD loan is under-priced, no 0.5%-PD loan is
    assert fees.under_priced[book.annual_pd == 0.08].all() and not fees.under_priced[book.annual_pd == 0.005].any()
    assert fees.cohort_total_rate == pytest.approx(sum(fees.party(k).break_even_rate for k in fees.fee_parties))


def test_per_loan_fees_match_the_closed_form_loan_by_loan_with_independent_defaults():
    """ρ = 0, one year, no caps: each loan's break-even rate per party is PD × LGD × share × (discounting)."""
    book = _chongqing_book(40, 2)
    book = RiskBook(**{**book.__dict__, "rho": np.zeros(40)})
    cost = simulate_rule_cost(CHONGQING, book, 40_000, seed=3, per_loan=True)
    fees = break_even_fees(CHONGQING, book, cost)
    z = []
    for i in range(40):
        lgd = expected_loss_given_default(book.ead[i], book.collateral_median[i], 0.6, 0.2, 1.5, 0.04) / book.ead[i]
        for j, key in enumerate(fees.parties):
            share = float(CHONGQING.party(key).share) / 100
            exact = break_even_fee_rate(book.annual_pd[i], lgd, share, discount_rate=0.04)
            z.append((fees.loan_rate[i, j] - exact) / fees.loan_rate_se[i, j])
    z = np.abs(np.array(z))
    assert np.mean(z < 3) >= 0.97 and z.max() < 5  # 160 estimates, four parties per loan share each draw


def test_chongqing_4222_worked_example_costs_follow_the_shares_and_are_priced_against_the_cap():
    """A 2,000-loan Chongqing 4:2:2:2 book (1–10M CNY, PD 2%, ρ 0.15, lognormal collateral): with no caps the
    guarantor bears exactly twice each other party on every path; fee break-even set beside 1.5%."""
    g = np.random.default_rng(2026)
    ead = np.round(g.uniform(1e6, 1e7, 2_000), -4)
    book = RiskBook(ead=ead, annual_pd=np.full(2_000, 0.02), rho=np.full(2_000, 0.15),
                    collateral_median=0.8 * ead, collateral_sigma=np.full(2_000, 0.6),
                    disposal_cost=np.full(2_000, 0.2), recovery_years=np.full(2_000, 1.5), discount_rate=0.04)
    cost = simulate_rule_cost(CHONGQING, book, 2_000, seed=2026, per_loan=True)
    gu, rg, nf, bk = (cost.party(k) for k in ("guarantor", "reguarantor", "nfgf", "bank"))
    np.testing.assert_allclose(cost.net_cost[:, 0], 2 * cost.net_cost[:, 1], rtol=1e-12)
    assert gu.quantile(0.99).value > gu.expected_payout > 0
    lgd = np.mean([expected_loss_given_default(e, 0.8 * e, 0.6, 0.2, 1.5, 0.04) for e in ead]) / ead.mean()
    assert abs(rg.expected_net_cost - 0.02 * ead.sum() * lgd * 0.2) < 3 * rg.expected_net_cost_se
    fees = break_even_fees(CHONGQING, book, cost, operating_cost_rate={"guarantor": 0.005},
                           confidence=0.99, cost_of_capital=0.08)
    assert fees.party("guarantor").capital_rate > 0
    assert fees.cohort_total_rate == pytest.approx(sum(fees.party(k).break_even_rate for k in fees.fee_parties))
    assert nf.expected_net_cost == pytest.approx(bk.expected_net_cost, rel=1e-12)


def test_fees_need_a_per_loan_simulation_of_the_same_rule():
    book = homogeneous_book(5, 1e6, 0.02, 0.1, 5e5)
    cost = simulate_rule_cost(CHONGQING, book, 50, seed=1)
    with pytest.raises(ValueError, match="per_loan"):
        break_even_fees(CHONGQING, book, cost)
    cost = simulate_rule_cost(CHONGQING, book, 50, seed=1, per_loan=True)
    with pytest.raises(ValueError, match="another rule"):
        break_even_fees(load_preset("anhui-4321"), book, cost)
