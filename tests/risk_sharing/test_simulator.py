"""Rule-cost simulator: expected payouts, Vasicek tails, caps and budgets, seeding and executors."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from scipy import integrate, stats

from ipfin.executor import InProcessExecutor
from risk_sharing.claims import Loan
from risk_sharing.presets import load_preset
from risk_sharing.rules import rule_from_dict, rule_to_dict
from risk_sharing.simulator import (
    RiskBook,
    eligibility_under_rule,
    expected_loss_given_default,
    homogeneous_book,
    lognormal_collateral_from_values,
    quantile_with_se,
    simulate_rule_cost,
    split_loss_vectorised,
)
from risk_sharing.splitting import split_loss
from securitization.credit import vasicek_cdf

CHONGQING = load_preset("chongqing-4222")


def _mixed_book(n: int = 300, rho: float = 0.0, seed: int = 3) -> RiskBook:
    """Loans of 1–10M CNY with PD 1–6%, lognormal collateral of 40–120% of the loan, 5–25% disposal costs."""
    g = np.random.default_rng(seed)
    ead = np.round(g.uniform(1e6, 1e7, n), -4)
    return RiskBook(
        ead=ead, annual_pd=g.uniform(0.01, 0.06, n), rho=np.full(n, rho),
        collateral_median=ead * g.uniform(0.4, 1.2, n), collateral_sigma=g.uniform(0.0, 0.8, n),
        disposal_cost=g.uniform(0.05, 0.25, n), recovery_years=g.uniform(0.5, 2.0, n), discount_rate=0.04,
    )


def test_closed_form_loss_given_default_matches_numerical_integration_of_the_lognormal():
    """Reference: E[E − d·min(R, E)] by quadrature over the lognormal density of the collateral value."""
    e, med, sig, cost, yrs, r = 5e6, 4.5e6, 0.6, 0.15, 1.5, 0.05
    d = (1 + r) ** -yrs
    def integrand(z: float) -> float:  # value = median × e^{σz}, z standard normal
        return (e - d * min(med * math.exp(sig * z) * (1 - cost), e)) * stats.norm.pdf(z)

    z_kink = math.log(e / (med * (1 - cost))) / sig  # recovery covers the exposure above this
    ref = integrate.quad(integrand, -12, z_kink)[0] + integrate.quad(integrand, z_kink, 12)[0]
    assert expected_loss_given_default(e, med, sig, cost, yrs, r) == pytest.approx(ref, rel=1e-8)
    assert expected_loss_given_default(e, med, sig, cost, yrs, r, worthless_prob=0.3) == pytest.approx(
        0.3 * e + 0.7 * ref, rel=1e-8
    )


def test_expected_payout_and_net_cost_per_party_match_pd_ead_lgd_share_with_independent_defaults():
    """Reference: with ρ = 0 and no caps, E[party cost] = Σ PD_i × EAD_i × LGD_i × share (LGD in closed form,
    recoveries shared back pro rata to what each paid); E[payout at claim] = Σ PD_i × EAD_i × share."""
    book = _mixed_book()
    res = simulate_rule_cost(CHONGQING, book, 20_000, seed=17)
    el = sum(
        pd * expected_loss_given_default(e, m, s, c, y, book.discount_rate)
        for pd, e, m, s, c, y in zip(book.annual_pd, book.ead, book.collateral_median, book.collateral_sigma,
                                     book.disposal_cost, book.recovery_years, strict=True)
    )
    gross = float(np.sum(book.annual_pd * book.ead))
    for p in res.party_costs:
        assert p.expected_net_cost_se > 0 and p.expected_payout_se > 0
        assert abs(p.expected_net_cost - el * p.share) < 3 * p.expected_net_cost_se, p.key
        assert abs(p.expected_payout - gross * p.share) < 3 * p.expected_payout_se, p.key
    assert [p.share for p in res.party_costs] == [0.4, 0.2, 0.2, 0.2]


def test_losses_are_conserved_party_costs_plus_outside_scheme_equal_the_economic_loss_on_every_path():
    book = _mixed_book(rho=0.2)
    eligible = np.arange(book.n) % 3 != 0
    book = RiskBook(**{**book.__dict__, "eligible": eligible})
    res = simulate_rule_cost(CHONGQING, book, 2_000, seed=5)
    np.testing.assert_allclose(res.net_cost.sum(axis=1) + res.outside_scheme, res.economic_loss, rtol=1e-9, atol=1e-3)
    assert np.all(res.outside_scheme > -1e-3)
    assert res.outside_scheme.mean() > 0  # a third of the book is not covered


@pytest.fixture(scope="module")
def vasicek_pool():
    """5,000 identical loans, PD 5%, ρ 0.2, collateral worth half the loan for sure (LGD 50%)."""
    book = homogeneous_book(5_000, 1e6, 0.05, 0.2, collateral_median=5e5)
    return simulate_rule_cost(CHONGQING, book, 6_000, seed=11)


@pytest.mark.parametrize("x", [0.01, 0.03, 0.05, 0.08, 0.12, 0.2])
def test_large_homogeneous_pool_party_loss_cdf_matches_vasicek_within_3_se(vasicek_pool, x):
    """Reference: Vasicek (2002) / DESIGN.md §4, P(default fraction ≤ x) = Φ((√(1−ρ)Φ⁻¹(x) − Φ⁻¹(PD))/√ρ);
    the guarantor bears 40% × LGD 50% of every default, so its cost ÷ (0.2 × pool) is the default fraction."""
    frac = vasicek_pool.net_cost[:, 0] / (0.4 * 0.5 * 5_000 * 1e6)
    p = float(np.mean(frac <= x))
    se = math.sqrt(p * (1 - p) / frac.size)
    assert abs(p - float(vasicek_cdf(x, 0.05, 0.2))) < 3 * max(se, 1e-4)


@pytest.mark.parametrize("level", [0.95, 0.99, 0.999])
def test_large_homogeneous_pool_payout_quantiles_match_the_vasicek_quantile(vasicek_pool, level):
    """Reference: the Vasicek quantile x_q = Φ((√ρ Φ⁻¹(q) + Φ⁻¹(PD))/√(1−ρ)), checked within 3 order-statistic
    SE of the reported quantile plus the 1/n granularity of a finite pool."""
    xq = float(stats.norm.cdf((math.sqrt(0.2) * stats.norm.ppf(level) + stats.norm.ppf(0.05)) / math.sqrt(0.8)))
    for p in vasicek_pool.party_costs:
        q = p.quantile(level)
        scale = p.share * 5_000 * 1e6  # payout at claim = share × EAD per default
        assert abs(q.value / scale - xq) < 3 * q.se / scale + 1 / 5_000, (p.key, q.value / scale, xq)


def test_quantile_standard_error_brackets_the_spread_of_quantiles_across_independent_samples():
    """The order-statistic SE is close to the spread of the 99% quantile over 200 independent samples."""
    g = np.random.default_rng(0)
    samples = g.lognormal(0, 1, (200, 4_000))
    qs = np.quantile(samples, 0.99, axis=1)
    ses = [quantile_with_se(s, 0.99).se for s in samples[:20]]
    assert 0.7 < np.mean(ses) / qs.std(ddof=1) < 1.4


def _fen(x: float) -> int:
    return round(x * 100)


@pytest.mark.parametrize("overflow", ["residual_bearer", "pro_rata_uncapped"])
def test_vectorised_split_agrees_with_the_engine_split_to_within_a_few_fen(overflow):
    """Reference: risk_sharing.splitting.split_loss (exact fen, largest remainder) on random claims and headrooms."""
    data = rule_to_dict(load_preset("tech-sme-2024-tier1"))
    data["cap_overflow"] = overflow
    rule = rule_from_dict(data)
    g = np.random.default_rng(9)
    k = 300
    base = np.round(g.uniform(0, 1e7, k), 2)
    comp = rule.compensator_keys
    own = np.where(g.random((k, len(comp))) < 0.5, np.round(g.uniform(0, 3e6, (k, len(comp))), 2), np.inf)
    agg = np.where(g.random(k) < 0.5, np.round(g.uniform(0, 5e6, k), 2), np.inf)
    pay, _, _ = split_loss_vectorised(rule, base, own, agg)
    for i in range(k):
        heads = {c: _fen(own[i, j]) for j, c in enumerate(comp) if np.isfinite(own[i, j])}
        ref = split_loss(rule, _fen(base[i]), party_headroom_fen=heads,
                         compensation_headroom_fen={"agg": _fen(agg[i])} if np.isfinite(agg[i]) else {})
        for j, key in enumerate(rule.party_keys):
            assert abs(pay[i, j] * 100 - ref.payable[key]) <= 4, (i, key, pay[i, j] * 100, ref.payable[key])


def test_rank_by_rank_path_gives_the_same_result_as_the_all_at_once_path_without_cumulative_caps():
    book = _mixed_book(200, rho=0.15)
    a = simulate_rule_cost(CHONGQING, book, 1_000, seed=8, years=2, chunk_size=300)
    b = simulate_rule_cost(CHONGQING, book, 1_000, seed=8, years=2, chunk_size=300, sequential=True)
    assert (a.method, b.method) == ("vectorised", "sequential")
    np.testing.assert_allclose(a.payout, b.payout, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(a.net_cost, b.net_cost, rtol=1e-12, atol=1e-6)


def _without_caps(rule_name: str, drop: str) -> tuple:
    data = rule_to_dict(load_preset(rule_name))
    capped = rule_from_dict(data)
    data["caps"] = {k: v for k, v in data["caps"].items() if k != drop}
    return capped, rule_from_dict(data)


def _stressed_book(n: int, pd: float) -> RiskBook:
    return homogeneous_book(n, 5e6, pd, 0.25, collateral_median=3e6, collateral_sigma=0.5, disposal_cost=0.1,
                            recovery_years=1.0, discount_rate=0.04)


def test_fund_annual_budget_is_never_exceeded_and_its_exhaustion_matches_an_independent_count():
    """Guangzhou 2023 fund: budget 50M CNY a year. Same seed without the budget → same defaults, so the budget
    binds in a year exactly when the fund's uncapped share of that year's losses exceeds 50M."""
    capped, uncapped = _without_caps("guangzhou-fund-2023", "party_year_cny")
    book = _stressed_book(400, 0.05)
    book = RiskBook(**{**book.__dict__, "ip_pledged_share": np.full(400, 0.8)})
    a = simulate_rule_cost(capped, book, 1_500, seed=21, years=3)
    b = simulate_rule_cost(uncapped, book, 1_500, seed=21, years=3, chunk_size=a.chunk_size)
    fund = a.parties.index("fund")
    assert np.all(a.payout_by_year[:, :, fund] <= 50e6 + 1e-4)
    demand = b.payout_by_year[:, :, fund]
    over = demand > 50e6
    first = np.where(over.any(axis=1), over.argmax(axis=1), 3)
    np.testing.assert_array_equal(a.cap_first_year["party_year[fund]"], first)
    ex = a.exhaustion("party_year[fund]")
    assert 0.05 < ex.probability < 0.95 and ex.probability == pytest.approx(float(np.mean(first < 3)))
    assert ex.first_year == pytest.approx(tuple(float(np.mean(first == y)) for y in range(3)))
    # the bank (residual bearer) takes what the fund cannot pay: totals unchanged
    np.testing.assert_allclose(a.payout.sum(axis=1), b.payout.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(np.minimum(demand, 50e6), a.payout_by_year[:, :, fund], rtol=1e-9, atol=1e-4)


def test_payout_rate_ceiling_caps_yearly_compensation_and_its_binding_matches_an_independent_count():
    """2024 tech-SME plan tier 1: compensation paid ÷ loans covered ≤ 5% a year (shared pro rata)."""
    capped, uncapped = _without_caps("tech-sme-2024-tier1", "payout_rate_ceiling")
    book = _stressed_book(300, 0.06)
    a = simulate_rule_cost(capped, book, 1_500, seed=4, years=2)
    b = simulate_rule_cost(uncapped, book, 1_500, seed=4, years=2, chunk_size=a.chunk_size)
    comp = [a.parties.index(k) for k in capped.compensator_keys]
    covered = 300 * 5e6
    paid = a.payout_by_year[:, :, comp].sum(axis=2)
    assert np.all(paid <= 0.05 * covered + 1e-4)
    demand = b.payout_by_year[:, :, comp].sum(axis=2)
    over = demand > 0.05 * covered
    first = np.where(over.any(axis=1), over.argmax(axis=1), 2)
    np.testing.assert_array_equal(a.cap_first_year["payout_rate_ceiling"], first)
    assert 0.02 < a.exhaustion("payout_rate_ceiling").probability < 0.98
    # capped compensation is shared pro rata 20:40 between re-guarantor and NFGF
    rg, nf = a.parties.index("reguarantor"), a.parties.index("nfgf")
    np.testing.assert_allclose(2 * a.payout[:, rg], a.payout[:, nf], rtol=1e-9, atol=1e-4)


def _one_borrower_book(years_pd: float) -> RiskBook:
    """One borrower with four 8M CNY loans (worthless collateral): the borrower caps bind when loans default."""
    book = homogeneous_book(4, 8e6, years_pd, 0.3, collateral_median=0.0)
    return RiskBook(**{**book.__dict__, "borrower": np.zeros(4, dtype=np.int64)})


def test_loss_counted_per_borrower_per_year_is_capped_at_20m():
    """Guangzhou 2023: at most 20M CNY of loss counted per borrower a year; the fund pays 50% of it, so with one
    borrower the fund pays 0.5 × min(8M × defaults, 20M) on every one-year path (claims paid in the year of
    default: no lag)."""
    rule, _ = _without_caps("guangzhou-fund-2023", "party_year_cny")
    res = simulate_rule_cost(rule, _one_borrower_book(0.3), 4_000, seed=6, claim_lag_months=0)
    fund = res.parties.index("fund")
    np.testing.assert_allclose(res.payout[:, fund], 0.5 * np.minimum(8e6 * res.defaults, 20e6), rtol=1e-12)
    assert np.mean(res.defaults >= 3) > 0.05
    assert res.exhaustion("base_per_borrower_year").probability == pytest.approx(float(np.mean(res.defaults >= 3)))


def test_lifetime_compensation_per_borrower_caps_what_the_compensating_parties_pay_over_all_years():
    """A 5M CNY lifetime cap on compensation per borrower (Chongqing micro-loan style) on Chongqing 4:2:2:2: the
    re-guarantor and NFGF (40% of the loss) pay min(0.4 × 8M × defaults, 5M) over three years, 1:1."""
    data = rule_to_dict(CHONGQING)
    data["caps"] = {"compensation_per_borrower_lifetime_cny": "5000000.00"}
    rule = rule_from_dict(data)
    res = simulate_rule_cost(rule, _one_borrower_book(0.15), 3_000, seed=8, years=3)
    comp = res.payout[:, [res.parties.index("reguarantor"), res.parties.index("nfgf")]]
    np.testing.assert_allclose(comp.sum(axis=1), np.minimum(0.4 * 8e6 * res.defaults, 5e6), rtol=1e-12)
    np.testing.assert_allclose(comp[:, 0], comp[:, 1], rtol=1e-12)
    g = res.parties.index("guarantor")  # the residual bearer takes the rest of the 80% not borne by the bank
    np.testing.assert_allclose(res.payout[:, g] + comp.sum(axis=1), 0.8 * 8e6 * res.defaults, rtol=1e-12)


def test_a_balance_limited_fund_never_pays_more_than_its_opening_balance_over_the_horizon():
    """Guangzhou fund marked balance-limited with a 30M CNY opening balance (no annual budget): over three years
    it pays min(its uncapped share, 30M) on every path (balance not replenished by recoveries)."""
    data = rule_to_dict(load_preset("guangzhou-fund-2023"))
    data["caps"].pop("party_year_cny")
    uncapped = rule_from_dict(data)
    data["parties"][0]["balance_limited"] = True
    limited = rule_from_dict(data)
    book = _stressed_book(200, 0.04)
    a = simulate_rule_cost(limited, book, 1_000, seed=14, years=3, party_balance_cny={"fund": 30e6})
    b = simulate_rule_cost(uncapped, book, 1_000, seed=14, years=3, chunk_size=a.chunk_size)
    np.testing.assert_allclose(a.payout[:, 0], np.minimum(b.payout[:, 0], 30e6), rtol=1e-9, atol=1e-4)
    assert 0.05 < a.exhaustion("fund_balance[fund]").probability < 0.95


def _custom(base: str, caps: dict, **changes) -> object:
    data = rule_to_dict(load_preset(base))
    data["caps"] = caps
    data.update(changes)
    return rule_from_dict(data)


@pytest.mark.parametrize("rule", [
    load_preset("guangzhou-fund-2023"),
    load_preset("tech-sme-2024-tier2"),
    _custom("chongqing-4222", {"compensation_per_borrower_lifetime_cny": "12000000.00"}),
    _custom("chongqing-4222", {"compensation_per_borrower_year_cny": "6000000.00"}),
    _custom("chongqing-4222", {"compensation_per_lender_year_cny": "30000000.00", "compensation_per_loan_cny": "1e6"}),
    _custom("tech-sme-2024-tier1", {"party_year_cny": {"nfgf": "40000000.00", "reguarantor": "15000000.00"}}),
], ids=["guangzhou", "ceiling", "lifetime", "borrower-year", "lender-year", "two-budgets"])
def test_one_pass_running_sums_give_the_same_result_as_claim_by_claim_processing(rule):
    """The one-pass path (capped running sums) against the rank-by-rank loop that applies the engine's split to
    each claim in time order; borrowers hold two or three loans, two lenders; paid in the year of default (with
    a lag: test_simulator_lags.py)."""
    book = homogeneous_book(240, 8e6, 0.05, 0.25, collateral_median=5e6, collateral_sigma=0.5, disposal_cost=0.1,
                            recovery_years=1.0, discount_rate=0.04)
    book = RiskBook(**{**book.__dict__, "borrower": np.arange(240) // 3 + (np.arange(240) % 7 == 0),
                       "lender": np.arange(240) % 2, "ip_pledged_share": np.full(240, 0.9)})
    a = simulate_rule_cost(rule, book, 600, seed=19, years=2, chunk_size=200, claim_lag_months=0)
    b = simulate_rule_cost(rule, book, 600, seed=19, years=2, chunk_size=200, sequential=True, claim_lag_months=0)
    assert (a.method, b.method) == ("running sums", "sequential")
    np.testing.assert_allclose(a.payout_by_year, b.payout_by_year, rtol=1e-9, atol=1e-2)
    assert set(a.cap_first_year) == set(b.cap_first_year) and a.cap_first_year
    for name in a.cap_first_year:
        np.testing.assert_array_equal(a.cap_first_year[name], b.cap_first_year[name])
        assert a.exhaustion(name).probability > 0.01, name  # each cap binds on some paths


def test_budgets_and_a_payout_rate_ceiling_together_hold_on_every_path_claim_by_claim():
    """NFGF budget 30M a year and the 5% ceiling at once (only the rank-by-rank path does both): neither is ever
    exceeded, and what the capped parties do not pay stays with the guarantor (the loss is fully borne)."""
    rule = _custom("tech-sme-2024-tier1", {"payout_rate_ceiling": "0.05", "party_year_cny": {"nfgf": "30000000.00"}})
    free = _custom("tech-sme-2024-tier1", {})
    book = _stressed_book(300, 0.05)
    a = simulate_rule_cost(rule, book, 1_000, seed=23, years=2, chunk_size=500)
    b = simulate_rule_cost(free, book, 1_000, seed=23, years=2, chunk_size=500)
    assert a.method == "sequential"
    nf = a.parties.index("nfgf")
    comp = [a.parties.index(k) for k in rule.compensator_keys]
    assert np.all(a.payout_by_year[:, :, nf] <= 30e6 + 1e-4)
    assert np.all(a.payout_by_year[:, :, comp].sum(axis=2) <= 0.05 * 300 * 5e6 + 1e-4)
    np.testing.assert_allclose(a.payout_by_year.sum(axis=2), b.payout_by_year.sum(axis=2), rtol=1e-9, atol=1e-3)
    assert a.exhaustion("party_year[nfgf]").probability > 0.05
    assert a.exhaustion("payout_rate_ceiling").probability > 0.01


def test_same_seed_gives_identical_results_and_another_seed_does_not():
    book = _mixed_book(150, rho=0.2)
    a = simulate_rule_cost(CHONGQING, book, 800, seed=42, chunk_size=100)
    b = simulate_rule_cost(CHONGQING, book, 800, seed=42, chunk_size=100, executor=InProcessExecutor())
    c = simulate_rule_cost(CHONGQING, book, 800, seed=43, chunk_size=100)
    d = simulate_rule_cost(CHONGQING, book, 800, seed=42, chunk_size=100, per_loan=True)
    np.testing.assert_array_equal(a.payout, b.payout)
    np.testing.assert_array_equal(a.net_cost, d.net_cost)
    assert not np.array_equal(a.payout, c.payout)
    assert d.loan_pv_net_cost is not None
    np.testing.assert_allclose(d.loan_pv_net_cost.sum(axis=0), d.pv_net_cost.mean(axis=0), rtol=1e-9)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_results_as_in_process_for_the_same_seed():
    from distributed import Client, LocalCluster

    from ipfin.executor import DaskExecutor

    capped, _ = _without_caps("guangzhou-fund-2023", "party_year_cny")
    book = _stressed_book(200, 0.05)
    local = simulate_rule_cost(capped, book, 1_200, seed=7, chunk_size=150, years=2, per_loan=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote = simulate_rule_cost(capped, book, 1_200, seed=7, chunk_size=150, years=2, per_loan=True,
                                    executor=DaskExecutor(client))
    np.testing.assert_array_equal(local.payout_by_year, remote.payout_by_year)
    np.testing.assert_array_equal(local.loan_pv_net_cost, remote.loan_pv_net_cost)
    np.testing.assert_array_equal(local.cap_first_year["party_year[fund]"], remote.cap_first_year["party_year[fund]"])


def test_ineligible_loans_cost_the_scheme_nothing_and_eligibility_comes_from_the_engine_checks():
    loans = [
        Loan(loan_id=f"L{i}", borrower_id=f"B{i}", origination_date=date(2024, 3, 1), principal_fen=300_000_000,
             guaranteed=True, guarantee_fee_rate=Decimal("0.012") if i % 2 else Decimal("0.02"))
        for i in range(100)
    ]
    eligible = eligibility_under_rule(CHONGQING, loans)
    assert eligible.tolist() == [bool(i % 2) for i in range(100)]
    base = homogeneous_book(100, 3e6, 0.04, 0.1, collateral_median=1e6)
    full = simulate_rule_cost(CHONGQING, base, 3_000, seed=2)
    half = simulate_rule_cost(CHONGQING, RiskBook(**{**base.__dict__, "eligible": eligible}), 3_000, seed=2)
    odd = np.arange(100) % 2 == 1
    assert np.all(half.payout.sum(axis=1) <= full.payout.sum(axis=1) + 1e-6)
    g = half.party("guarantor")
    # exactly half the loans are covered: expected cost halves (within 3 SE of both estimates)
    assert abs(g.expected_net_cost - full.party("guarantor").expected_net_cost * odd.mean()) < 3 * math.hypot(
        g.expected_net_cost_se, full.party("guarantor").expected_net_cost_se * odd.mean()
    )


def test_multi_year_defaults_follow_the_constant_hazard_year_by_year():
    """Reference: P(default in year y) = (1 − PD)^y × PD; with no claim lag the payout falls in the year of default."""
    book = homogeneous_book(500, 1e6, 0.08, 0.0, collateral_median=0.0)
    res = simulate_rule_cost(CHONGQING, book, 3_000, seed=12, years=3, claim_lag_months=0)
    per_year = res.payout_by_year.sum(axis=2)
    for y in range(3):
        exact = 500 * 1e6 * (1 - 0.08) ** y * 0.08
        se = per_year[:, y].std(ddof=1) / math.sqrt(3_000)
        assert abs(per_year[:, y].mean() - exact) < 3 * se


def test_valuation_monte_carlo_values_give_the_lognormal_collateral_parameters():
    g = np.random.default_rng(1)
    v = np.where(g.random(50_000) < 0.1, 0.0, g.lognormal(math.log(2e6), 0.7, 50_000))
    med, sig, p0 = lognormal_collateral_from_values(v)
    assert med == pytest.approx(2e6, rel=0.01) and sig == pytest.approx(0.7, rel=0.01)
    assert p0 == pytest.approx(0.1, abs=0.005)


def test_bad_books_are_rejected_with_the_field_named():
    with pytest.raises(ValueError, match="annual_pd"):
        homogeneous_book(10, 1e6, 1.2, 0.1, 1e6)
    with pytest.raises(ValueError, match="rho"):
        homogeneous_book(10, 1e6, 0.02, 1.0, 1e6)
    with pytest.raises(ValueError, match="party_balance_cny"):
        simulate_rule_cost(CHONGQING, homogeneous_book(10, 1e6, 0.02, 0.1, 1e6), 10, seed=1,
                           party_balance_cny={"bank": 1.0})
