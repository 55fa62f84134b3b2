"""Collateral stress test: named scenarios on a hand-built book (exact fen), the correlated Monte
Carlo against closed-form lognormal results, conservation of totals under aggregation."""

from __future__ import annotations

import doctest
import json
from decimal import Decimal

import numpy as np
import pytest
from scipy.stats import norm

import pledge.stress as stress
from ipfin.executor import InProcessExecutor
from pledge.monitoring import LoanClass
from pledge.stress import (
    CollateralBook,
    ShockFactorModel,
    aggregate,
    aggregate_mc,
    apply_scenario,
    draw_log_factors,
    load_scenarios,
    run_stress_mc,
)

SCENARIOS, PARAMS = load_scenarios()


def three_loan_book() -> CollateralBook:
    """A: manufacturer's invention patent; B: IT firm's trademark (odd amounts); C: manufacturer's
    utility model, already in breach and classified 关注."""
    return CollateralBook(
        balance_fen=np.array([60_000_000, 20_000_001, 45_000_000]),
        collateral_value_fen=np.array([100_000_000, 33_333_333, 50_000_000]),
        ip_type=["invention_patent", "trademark", "utility_model"],
        industry=["C", "I", "C"],
        region=["500100", "440300", "440100"],
        bank_id=["B1", "B2", "B1"],
        max_ltv=[0.5, 0.5, 0.35],
        margin_call_trigger=[0.7, 0.7, 0.6],
        pd_12m=[0.05, 0.02, 0.10],
        loan_class=[LoanClass.NORMAL, LoanClass.NORMAL, LoanClass.SPECIAL_MENTION],
        loan_id=["A", "B", "C"],
    )


def random_book(n: int, seed: int) -> CollateralBook:
    rng = np.random.default_rng(seed)
    value = rng.integers(500_000_00, 20_000_000_00, n)
    return CollateralBook(
        balance_fen=(value * rng.uniform(0.2, 0.75, n)).astype(np.int64),
        collateral_value_fen=value,
        ip_type=np.array(["invention_patent", "utility_model", "trademark", "software_copyright"])[
            rng.integers(0, 4, n)],
        industry=np.array(["C", "I", "M", "F"])[rng.integers(0, 4, n)],
        region=np.array(["500100", "440300", "440100", "330100", "320500"])[rng.integers(0, 5, n)],
        bank_id=np.array(["B1", "B2", "B3"])[rng.integers(0, 3, n)],
        max_ltv=0.5, margin_call_trigger=0.7, pd_12m=rng.uniform(0.005, 0.2, n),
    )


def test_shipped_scenarios_are_named_and_every_number_has_a_rationale():
    assert {"baseline", "sector_downturn", "patent_invalidation_wave", "rate_rise", "combined_severe"} <= set(
        SCENARIOS)
    sd = SCENARIOS["sector_downturn"]
    assert sd.label_zh == "行业下行"
    assert sd.industry_shocks["C"].value == Decimal("-0.30") and sd.other_industries_shock.value == Decimal("-0.10")
    wave = SCENARIOS["patent_invalidation_wave"].invalidation_probability
    assert wave["utility_model"].value > wave["invention_patent"].value  # utility models are hit harder
    for s in SCENARIOS.values():
        for a in (*s.ip_type_shocks.values(), *s.industry_shocks.values(), *s.invalidation_probability.values(),
                  s.other_industries_shock, s.pd_multiplier):
            assert a.rationale.strip()
    assert PARAMS.provision_bp.tolist() == [100, 200, 2500, 5000, 10000]  # 银发〔2002〕98号


def test_a_number_without_rationale_is_rejected(tmp_path):
    raw = json.loads(stress.SCENARIOS_PATH.read_text(encoding="utf-8"))
    del raw["scenarios"][1]["industry_shocks"]["C"]["rationale"]
    p = tmp_path / "s.json"
    p.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="rationale"):
        load_scenarios(p)


def test_sector_downturn_on_three_loans_gives_the_hand_computed_figures():
    r = apply_scenario(three_loan_book(), SCENARIOS["sector_downturn"], PARAMS)
    # A: 100,000,000 × 0.70 (section C); B: ⌊33,333,333 × 0.90⌋ = 29,999,999 (other sections); C: 50,000,000 × 0.70
    assert r.value_after_fen.tolist() == [70_000_000, 29_999_999, 35_000_000]
    np.testing.assert_allclose(r.ltv_after, [60 / 70, 20_000_001 / 29_999_999, 45 / 35])
    assert r.breach_before.tolist() == [False, False, True]  # C: 0.90 > 0.60 already
    assert r.breach_after.tolist() == [True, False, True]  # B: 0.6667 ≤ 0.70
    # A: 60,000,000 − 0.5 × 70,000,000; C: 45,000,000 − 0.35 × 35,000,000
    assert r.margin_call_fen.tolist() == [25_000_000, 0, 32_750_000]
    # EL = PD × (balance − ⌊0.40 × value⌋)⁺, PD × 1.5 under stress; half-even to the fen
    assert r.expected_loss_before_fen.tolist() == [1_000_000, 133_333, 2_500_000]  # B: 0.02 × 6,666,668
    assert r.expected_loss_after_fen.tolist() == [2_400_000, 240_000, 4_650_000]  # B: 0.03 × 8,000,002
    # provisions: A normal 1% → 关注 2%; B 1% of 20,000,001 = 200,000.01 → 200,000; C stays 关注 2%
    assert [LoanClass(list(LoanClass)[i]) for i in r.class_after] == [
        LoanClass.SPECIAL_MENTION, LoanClass.NORMAL, LoanClass.SPECIAL_MENTION]
    assert r.provision_before_fen.tolist() == [600_000, 200_000, 900_000]
    assert r.provision_after_fen.tolist() == [1_200_000, 200_000, 900_000]
    t = r.total()
    assert (t.margin_call_fen, t.n_breach_after, t.provision_change_fen) == (57_750_000, 2, 600_000)
    assert t.expected_loss_change_fen == 7_290_000 - 3_633_333


def test_rate_rise_and_expected_invalidation_apply_ip_type_haircuts():
    book = three_loan_book()
    r = apply_scenario(book, SCENARIOS["rate_rise"], PARAMS)
    # invention −8 %, trademark −12 %: ⌊33,333,333 × 0.88⌋ = 29,333,333; utility model −5 %
    assert r.value_after_fen.tolist() == [92_000_000, 29_333_333, 47_500_000]
    w = apply_scenario(book, SCENARIOS["patent_invalidation_wave"], PARAMS, invalidation="expected")
    # expected loss of value: invention 5 %, trademark not a patent, utility model 15 %
    assert w.value_after_fen.tolist() == [95_000_000, 33_333_333, 42_500_000]


def test_sampled_invalidation_hits_the_stated_share_and_zeroes_the_collateral():
    n = 20_000
    book = CollateralBook(np.full(n, 40_000_000), np.full(n, 100_000_000), ["utility_model"] * n, ["C"] * n,
                          ["440300"] * n, ["B1"] * n, max_ltv=0.35, margin_call_trigger=0.6)
    r = apply_scenario(book, SCENARIOS["patent_invalidation_wave"], PARAMS, seed=3)
    p = 0.15
    assert abs(r.invalidated.mean() - p) < 3 * np.sqrt(p * (1 - p) / n)
    lost = r.invalidated
    assert (r.value_after_fen[lost] == 0).all() and (r.value_after_fen[~lost] == 100_000_000).all()
    assert (r.margin_call_fen[lost] == 40_000_000).all() and (r.margin_call_fen[~lost] == 0).all()
    # collateral gone → at least 次级 (25 %): 40,000,000 × 0.25
    assert (r.provision_after_fen[lost] == 10_000_000).all()
    same = apply_scenario(book, SCENARIOS["patent_invalidation_wave"], PARAMS, seed=3)
    assert np.array_equal(same.invalidated, r.invalidated)


def test_zero_shock_scenario_changes_nothing():
    book = random_book(2_000, seed=1)
    r = apply_scenario(book, SCENARIOS["baseline"], PARAMS)
    assert np.array_equal(r.value_after_fen, book.collateral_value_fen)
    assert np.array_equal(r.breach_after, r.breach_before)
    assert np.array_equal(r.expected_loss_after_fen, r.expected_loss_before_fen)
    assert np.array_equal(r.provision_after_fen, r.provision_before_fen)
    t = r.total()
    assert t.provision_change_fen == 0 and t.expected_loss_change_fen == 0


def test_aggregation_per_bank_and_region_sums_exactly_to_the_total():
    r = apply_scenario(random_book(5_000, seed=2), SCENARIOS["combined_severe"], PARAMS, seed=9)
    total = r.total()
    for by in ("bank", "province", "city"):
        groups = aggregate(r, by)
        for name in ("n_loans", "balance_fen", "value_after_fen", "n_breach_after", "margin_call_fen",
                     "expected_loss_after_fen", "provision_before_fen", "provision_after_fen"):
            assert sum(getattr(g, name) for g in groups) == getattr(total, name), (by, name)
    assert [g.key for g in aggregate(r, "province")] == ["320000", "330000", "440000", "500000"]
    assert [g.key for g in aggregate(r, "city")] == ["320500", "330100", "440100", "440300", "500100"]
    # on the three-loan book: bank B1 holds A and C
    r3 = apply_scenario(three_loan_book(), SCENARIOS["sector_downturn"], PARAMS)
    b1 = aggregate(r3, "bank")[0]
    assert (b1.key, b1.n_loans, b1.margin_call_fen) == ("B1", 2, 57_750_000)


def test_book_rejects_floats_for_money_and_rates_finer_than_a_basis_point():
    with pytest.raises(ValueError, match="integer fen"):
        CollateralBook(np.array([1.5]), np.array([100]), ["trademark"], ["C"], ["110000"], ["B"], 0.5, 0.7)
    with pytest.raises(ValueError, match="basis points"):
        CollateralBook(np.array([1]), np.array([100]), ["trademark"], ["C"], ["110000"], ["B"], 0.12345, 0.7)
    with pytest.raises(ValueError, match="industry"):
        CollateralBook(np.array([1]), np.array([100]), ["trademark"], ["Z"], ["110000"], ["B"], 0.5, 0.7)


def test_monte_carlo_value_factors_match_the_closed_form_lognormal():
    """E[V₁/V₀] = exp(μ + σ²/2) = 1 + m; sd of ln = σ; correlation of ln = a_s² (+ a_t²) (+ a_g²)."""
    model = ShockFactorModel(mean_change=-0.05)
    types = np.array([0, 0, 3, 5])  # invention, invention, trademark, software copyright
    inds = np.array([2, 2, 8, 2])  # C, C, I, C
    n = 40_000
    x = draw_log_factors(np.random.default_rng(11), n, types, inds, model)
    f = np.exp(x)
    se = f.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(f.mean(axis=0) - 0.95) < 3 * se)
    sig = model.sigma_by_type()[types]
    # sd of a sample sd ≈ σ / √(2n) (normal theory)
    assert np.all(np.abs(x.std(axis=0, ddof=1) - sig) < 3 * sig / np.sqrt(2 * n))
    c = np.corrcoef(x.T)
    tol = 3 / np.sqrt(n)  # SE of a sample correlation ≤ 1/√n
    assert abs(c[0, 1] - model.log_correlation(True, True)) < tol
    assert abs(c[0, 2] - model.log_correlation(False, False)) < tol
    assert abs(c[0, 3] - model.log_correlation(False, True)) < tol


def test_monte_carlo_breach_probability_and_margin_call_of_one_loan_match_closed_forms():
    """Breach ⇔ V₀ f < B / trigger: P = Φ(d), d = (ln(B / (trigger V₀)) − μ) / σ; the mean margin call is
    E[(B − k V₀ f) 1{breach}] = B Φ(d) − k V₀ e^{μ + σ²/2} Φ(d − σ) (lognormal partial expectation)."""
    b, v, k, trig = 50_000_000, 100_000_000, 0.5, 0.7
    book = CollateralBook(np.array([b]), np.array([v]), ["invention_patent"], ["C"], ["500100"], ["B1"],
                          max_ltv=k, margin_call_trigger=trig, pd_12m=0.1)
    model = ShockFactorModel(mean_change=-0.1)
    n = 50_000
    r = run_stress_mc(book, model, n, seed=5, chunk_size=5_000)
    sig = 0.30
    mu = np.log(0.9) - sig**2 / 2
    d = (np.log(b / (trig * v)) - mu) / sig
    p = norm.cdf(d)
    assert abs(r.p_breach[0] - p) < 3 * r.p_breach_se[0]
    call = b * p - k * v * np.exp(mu + sig**2 / 2) * norm.cdf(d - sig)
    se = r.total_margin_call.std(ddof=1) / np.sqrt(n)
    assert abs(r.total_margin_call.mean() - call) < 3 * se
    assert r.margin_call_distribution().mean_fen == round(r.total_margin_call.mean())


def test_monte_carlo_is_seeded_and_executor_independent():
    book = random_book(3_000, seed=4)
    model = ShockFactorModel()
    a = run_stress_mc(book, model, 300, seed=8, chunk_size=64)
    b = run_stress_mc(book, model, 300, seed=8, chunk_size=64, executor=InProcessExecutor())
    c = run_stress_mc(book, model, 300, seed=9, chunk_size=64)
    assert np.array_equal(a.total_margin_call, b.total_margin_call) and np.array_equal(a.p_breach, b.p_breach)
    assert not np.array_equal(a.total_margin_call, c.total_margin_call)
    dist = a.expected_loss_distribution()
    qs = [q.value_fen for q in dist.quantiles]
    assert qs == sorted(qs) and all(q.standard_error_fen >= 0 for q in dist.quantiles)
    # per-loan means add up to the mean of the per-scenario totals
    assert a.mean_margin_call.sum() == pytest.approx(a.total_margin_call.mean(), rel=1e-9)
    assert a.n_breaches.mean() == pytest.approx(a.p_breach.sum(), rel=1e-12)
    groups = aggregate_mc(book, a, "bank")
    assert [g.key for g in groups] == ["B1", "B2", "B3"] and sum(g.n_loans for g in groups) == book.n
    # each group rounded to the fen on its own: the sum is within a fen per group of the book's mean
    assert abs(sum(g.mean_margin_call_fen for g in groups) - a.mean_margin_call.sum()) <= len(groups)
    assert sum(g.expected_breaches for g in groups) == pytest.approx(a.p_breach.sum())


def test_docstring_examples_run():
    assert doctest.testmod(stress, optionflags=doctest.ELLIPSIS).failed == 0
