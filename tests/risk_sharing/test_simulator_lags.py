"""Rule-cost simulator with a claim-to-payout lag: payouts, budgets, ceilings and the year a budget runs out go by
the payment year; payouts after the horizon are pending, never lost."""

from __future__ import annotations

import math

import numpy as np
import pytest

from risk_sharing.presets import load_preset
from risk_sharing.rules import rule_from_dict, rule_to_dict
from risk_sharing.simulator import (
    CLAIM_REVIEW_MONTHS,
    RiskBook,
    default_claim_lag_months,
    homogeneous_book,
    simulate_rule_cost,
)

CHONGQING = load_preset("chongqing-4222")
GUANGZHOU = load_preset("guangzhou-fund-2023")  # fund budget 50M CNY a year, 20M loss per borrower a year


def _custom(base: str, caps: dict) -> object:
    data = rule_to_dict(load_preset(base))
    data["caps"] = caps
    return rule_from_dict(data)


BUDGET_AND_CEILING = _custom("tech-sme-2024-tier1", {"payout_rate_ceiling": "0.05",
                                                     "party_year_cny": {"nfgf": "8000000.00"}})


def _book(n: int = 120, pd: float = 0.05, term_years: int | None = None) -> RiskBook:
    """5M CNY loans, ρ 0.25, lognormal collateral (median 3M, σ 0.5), two loans per borrower, 80% IP-pledged."""
    book = homogeneous_book(n, 5e6, pd, 0.25, collateral_median=3e6, collateral_sigma=0.5, disposal_cost=0.1,
                            recovery_years=1.0, discount_rate=0.04)
    extra: dict[str, object] = {"borrower": np.arange(n) // 2, "ip_pledged_share": np.full(n, 0.8)}
    if term_years is not None:
        extra["term_years"] = np.full(n, term_years)
    return RiskBook(**{**book.__dict__, **extra})


# Regression pins: the simulator before lags were modelled (commit 83cb260, payouts booked in the default year) on
# _book(), 300 paths, seed 2026, two years, chunks of 100 — Σ over paths of payout_by_year (years × parties),
# Σ of net cost per party, and the count of paths whose cap first binds in year 0, 1, never.
PINS = {
    "chongqing-4222": (
        "vectorised",
        [[3692e6, 1846e6, 1846e6, 1846e6], [3642e6, 1821e6, 1821e6, 1821e6]],
        [3203429015.306579, 1601714507.6532896, 1601714507.6532896, 1601714507.6532896],
        {},
    ),
    "guangzhou-fund-2023": (
        "running sums",
        [[3600e6, 3784e6], [3642e6, 3642e6]],
        [728792669.1681266, 4205524747.187113],
        {"party_year[fund]": [7, 0, 293], "base_per_borrower_year": [0, 0, 300]},
    ),
    "budget+ceiling": (
        "sequential",
        [[4020e6, 1774e6, 1590e6, 1846e6], [3608e6, 1820e6, 1856e6, 1821e6]],
        [3338782476.005315, 1569224750.8154101, 1498850803.7924323, 1601714507.653289],
        {"party_year[nfgf]": [131, 40, 129], "payout_rate_ceiling": [10, 0, 290]},
    ),
}


@pytest.mark.parametrize("name", list(PINS))
def test_zero_lag_reproduces_the_simulator_before_lags_on_every_code_path(name):
    rule = {"chongqing-4222": CHONGQING, "guangzhou-fund-2023": GUANGZHOU, "budget+ceiling": BUDGET_AND_CEILING}[name]
    method, by_year, net, first = PINS[name]
    res = simulate_rule_cost(rule, _book(), 300, seed=2026, years=2, chunk_size=100, claim_lag_months=0)
    assert res.method == method and res.claim_lag_months == 0
    assert res.payout_by_year.sum(axis=0).tolist() == by_year
    np.testing.assert_allclose(res.net_cost.sum(axis=0), net, rtol=1e-12)
    assert {k: np.bincount(v, minlength=3).tolist() for k, v in res.cap_first_year.items()} == first
    assert res.pending is not None and not res.pending.any()  # nothing falls after the horizon


@pytest.mark.parametrize("rule", [CHONGQING, GUANGZHOU, BUDGET_AND_CEILING], ids=["none", "budget", "both"])
def test_a_12_month_lag_moves_every_payout_exactly_one_year_later(rule):
    """Same seed, same defaults: what lag 0 pays in year y, lag 12 pays in year y + 1 — the last year's payouts
    become pending. Loans run past the horizon so the payout-rate denominator is the same every year."""
    book = _book(term_years=5)
    a = simulate_rule_cost(rule, book, 300, seed=9, years=3, chunk_size=100, claim_lag_months=0)
    b = simulate_rule_cost(rule, book, 300, seed=9, years=3, chunk_size=100, claim_lag_months=12)
    assert not b.payout_by_year[:, 0].any()
    np.testing.assert_array_equal(b.payout_by_year[:, 1:], a.payout_by_year[:, :-1])
    assert b.pending is not None
    np.testing.assert_array_equal(b.pending, a.payout_by_year[:, -1])
    np.testing.assert_array_equal(b.payout, a.payout)
    np.testing.assert_array_equal(b.net_cost, a.net_cost)


def test_certain_early_defaults_paid_a_year_later_on_a_small_book():
    """Four loans that default within weeks (PD → 1): with no lag every payout falls in year 0; 12 months later
    all of it falls in year 1; over a one-year horizon all of it is pending at the end."""
    book = homogeneous_book(4, 1e6, 0.999999, 0.0, collateral_median=0.0)
    now = simulate_rule_cost(CHONGQING, book, 20, seed=1, years=2, claim_lag_months=0)
    late = simulate_rule_cost(CHONGQING, book, 20, seed=1, years=2, claim_lag_months=12)
    one = simulate_rule_cost(CHONGQING, book, 20, seed=1, years=1, claim_lag_months=12)
    expected = np.array([0.4, 0.2, 0.2, 0.2]) * 4e6
    assert np.allclose(now.payout_by_year[:, 0], expected) and not now.payout_by_year[:, 1].any()
    assert not late.payout_by_year[:, 0].any() and np.allclose(late.payout_by_year[:, 1], expected)
    assert not one.payout_by_year.any() and np.allclose(one.pending, expected)
    assert one.party("guarantor").expected_pending == pytest.approx(1.6e6)


@pytest.mark.parametrize("lag", [0, 5, 18, 30])
@pytest.mark.parametrize("rule", [CHONGQING, GUANGZHOU, BUDGET_AND_CEILING], ids=["none", "budget", "both"])
def test_payouts_are_conserved_paid_within_the_horizon_plus_pending_on_every_path(rule, lag):
    res = simulate_rule_cost(rule, _book(), 200, seed=4, years=2, chunk_size=100, claim_lag_months=lag)
    assert res.pending is not None and res.claim_lag_months == lag
    np.testing.assert_allclose(res.payout_by_year.sum(axis=1) + res.pending, res.payout, rtol=1e-12, atol=1e-6)
    for j, p in enumerate(res.party_costs):
        assert p.expected_payout == pytest.approx(sum(p.expected_payout_by_year) + p.expected_pending, rel=1e-12)
        assert p.expected_pending == pytest.approx(float(res.pending[:, j].mean()), rel=1e-12)
    # the rule's loss base is borne in full whatever the lag (the residual bearer takes what caps cut)
    base = simulate_rule_cost(rule, _book(), 200, seed=4, years=2, chunk_size=100, claim_lag_months=0)
    np.testing.assert_allclose(res.payout.sum(axis=1), base.payout.sum(axis=1), rtol=1e-12)
    if lag >= 24:  # every payout falls after a two-year horizon
        assert not res.payout_by_year.any()


@pytest.mark.parametrize("lag", [3, 7])
def test_expected_pending_at_horizon_end_matches_the_constant_hazard_closed_form(lag):
    """Reference: with one-year horizon and independent defaults, a claim is pending when its default month is
    ≥ 12 − lag, so E[pending] = Σ EAD_i × share × ((1 − PD_i)^((12 − lag)/12) − (1 − PD_i))."""
    g = np.random.default_rng(3)
    pd = g.uniform(0.02, 0.1, 300)
    book = RiskBook(ead=np.full(300, 2e6), annual_pd=pd, rho=np.zeros(300), collateral_median=np.zeros(300),
                    collateral_sigma=np.zeros(300), disposal_cost=np.zeros(300), recovery_years=np.zeros(300))
    res = simulate_rule_cost(CHONGQING, book, 20_000, seed=6, claim_lag_months=lag)
    pending = float(np.sum(2e6 * ((1 - pd) ** ((12 - lag) / 12) - (1 - pd))))
    paid = float(np.sum(2e6 * pd)) - pending
    for p in res.party_costs:
        assert abs(p.expected_pending - pending * p.share) < 3 * p.expected_pending_se, p.key
        assert p.expected_pending_se > 0
        paid_se = float(res.payout_by_year[:, 0, res.parties.index(p.key)].std(ddof=1)) / math.sqrt(20_000)
        assert abs(p.expected_payout_by_year[0] - paid * p.share) < 3 * paid_se, p.key


def test_the_year_a_fund_budget_runs_out_moves_with_the_lag_and_the_budget_holds_in_every_payment_year():
    """Guangzhou fund, 50M CNY a year: lag 12 → exhausted one year later (never within the horizon if it first
    ran out in the last year); any lag → the fund never pays more than 50M in a payment year."""
    book = _book(400, 0.05)
    a = simulate_rule_cost(GUANGZHOU, book, 1_000, seed=21, years=3, claim_lag_months=0)
    b = simulate_rule_cost(GUANGZHOU, book, 1_000, seed=21, years=3, claim_lag_months=12, chunk_size=a.chunk_size)
    first = a.cap_first_year["party_year[fund]"]
    assert 0.05 < float(np.mean(first < 3)) < 0.95
    np.testing.assert_array_equal(b.cap_first_year["party_year[fund]"], np.where(first < 2, first + 1, 3))
    ea, eb = a.exhaustion("party_year[fund]"), b.exhaustion("party_year[fund]")
    assert eb.first_year[0] == 0.0 and eb.first_year[1:] == pytest.approx(ea.first_year[:2])
    fund = a.parties.index("fund")
    for lag in (5, 7):
        c = simulate_rule_cost(GUANGZHOU, book, 1_000, seed=21, years=3, claim_lag_months=lag)
        assert np.all(c.payout_by_year[:, :, fund] <= 50e6 + 1e-4)
        assert c.exhaustion("party_year[fund]").probability > 0.05


def test_the_payout_rate_ceiling_holds_in_every_payment_year_with_a_lag():
    rule = load_preset("tech-sme-2024-tier1")
    book = homogeneous_book(300, 5e6, 0.06, 0.25, collateral_median=3e6, collateral_sigma=0.5, disposal_cost=0.1,
                            recovery_years=1.0, discount_rate=0.04)
    res = simulate_rule_cost(rule, book, 1_000, seed=4, years=2, claim_lag_months=7)
    comp = [res.parties.index(k) for k in rule.compensator_keys]
    assert np.all(res.payout_by_year[:, :, comp].sum(axis=2) <= 0.05 * 300 * 5e6 + 1e-4)
    assert res.exhaustion("payout_rate_ceiling").probability > 0.01
    assert res.pending is not None and res.pending[:, comp].sum() > 0


@pytest.mark.parametrize("rule", [
    GUANGZHOU,
    load_preset("tech-sme-2024-tier2"),
    _custom("chongqing-4222", {"compensation_per_borrower_year_cny": "6000000.00"}),
    _custom("chongqing-4222", {"compensation_per_lender_year_cny": "20000000.00", "compensation_per_loan_cny": "1e6"}),
], ids=["guangzhou", "ceiling", "borrower-year", "lender-year"])
def test_running_sums_equal_claim_by_claim_processing_with_a_lag(rule):
    book = homogeneous_book(240, 8e6, 0.05, 0.25, collateral_median=5e6, collateral_sigma=0.5, disposal_cost=0.1,
                            recovery_years=1.0, discount_rate=0.04)
    book = RiskBook(**{**book.__dict__, "borrower": np.arange(240) // 3, "lender": np.arange(240) % 2})
    a = simulate_rule_cost(rule, book, 600, seed=19, years=2, chunk_size=200, claim_lag_months=7)
    b = simulate_rule_cost(rule, book, 600, seed=19, years=2, chunk_size=200, claim_lag_months=7, sequential=True)
    assert (a.method, b.method) == ("running sums", "sequential")
    np.testing.assert_allclose(a.payout_by_year, b.payout_by_year, rtol=1e-9, atol=1e-2)
    np.testing.assert_allclose(a.pending, b.pending, rtol=1e-9, atol=1e-2)
    for name in a.cap_first_year:
        np.testing.assert_array_equal(a.cap_first_year[name], b.cap_first_year[name])
    assert max(a.exhaustion(n).probability for n in a.cap_first_year) > 0.01


def test_the_default_lag_is_the_rule_trigger_delay_plus_review_and_payment():
    """Assumption: 90 days overdue (Chongqing) → 3 months, + CLAIM_REVIEW_MONTHS; an NPL-class trigger counts the
    usual 90-day NPL line (DESIGN.md glossary); 180 days of recovery effort → 6 months."""
    assert CLAIM_REVIEW_MONTHS == 2
    assert default_claim_lag_months(CHONGQING) == 5
    assert default_claim_lag_months(GUANGZHOU) == 5
    assert default_claim_lag_months(load_preset("chongqing-micro-loan")) == 8
    res = simulate_rule_cost(CHONGQING, _book(40), 10, seed=1)
    assert res.claim_lag_months == 5 and res.summary()["claim_lag_months"] == 5


@pytest.mark.parametrize("lag", [-1, 2.5, True])
def test_a_negative_or_fractional_lag_is_rejected_naming_the_field(lag):
    with pytest.raises(ValueError, match="claim_lag_months"):
        simulate_rule_cost(CHONGQING, _book(40), 10, seed=1, claim_lag_months=lag)  # type: ignore[arg-type]
