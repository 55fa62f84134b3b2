"""Early-warning score: a logistic model fitted on a synthetic book drawn from a known true model
must rank and calibrate out of time as well as the truth (within stated tolerances); metrics are
checked against independent computations; explanations are exact."""

from __future__ import annotations

import doctest
from functools import cache

import numpy as np
import pytest
from scipy.stats import ks_2samp

import pledge.early_warning as ew
from pledge.early_warning import (
    FEATURE_NAMES,
    FEATURES,
    TrueHazardModel,
    auc,
    brier_score,
    build_features,
    build_watchlist,
    calibration_table,
    fit_score_model,
    ks_statistic,
    score_book,
    score_migration,
    select_model,
    simulate_book,
    validate,
)

TRAIN_THROUGH = 2022  # cuts 2021–2022 train, 2023 is the out-of-time test


@cache
def book() -> ew.SyntheticBook:
    return simulate_book(20_000, seed=2026, start_year=2021, n_cuts=3)


@cache
def fitted() -> ew.ScoreModel:
    X, y, _, _ = book().out_of_time_split(TRAIN_THROUGH)
    return fit_score_model(X, y, data_cut="2022-12-31")


# ------------------------------------------------------------------ the synthetic book


def test_same_seed_gives_the_same_book_and_another_seed_another():
    a = simulate_book(500, seed=1, n_cuts=2)
    b = simulate_book(500, seed=1, n_cuts=2)
    c = simulate_book(500, seed=2, n_cuts=2)
    assert np.array_equal(a.features.values, b.features.values) and np.array_equal(a.default, b.default)
    assert np.array_equal(a.loan_id, b.loan_id)
    assert not np.array_equal(a.features.values, c.features.values)


def test_book_defaults_follow_the_true_model():
    """Observed default rate per cut within 3 binomial SE of the mean true PD (Σ p(1−p) variance)."""
    bk = book()
    assert bk.cut_years == (2021, 2022, 2023)
    for year in bk.cut_years:
        rows = bk.rows(year, year)
        p = bk.true_pd[rows]
        se = np.sqrt(np.sum(p * (1 - p))) / rows.size
        assert abs(bk.default[rows].mean() - p.mean()) < 3 * se
    # true PD is the model applied to the recorded features, rebuilt from the raw records
    np.testing.assert_array_equal(bk.true_pd, bk.model.pd_12m(build_features(bk.records)))
    # loans that defaulted do not come back at the next cut
    d21 = set(bk.loan_id[bk.rows(2021, 2021)][bk.default[bk.rows(2021, 2021)] == 1].tolist())
    assert d21 and not d21 & set(bk.loan_id[bk.rows(2022, 2022)].tolist())


def test_build_features_encodes_categories_and_rejects_unknown_ones():
    rec = {name: [0.0] for f in FEATURES if f.kind == "numeric" for name in [f.name]}
    rec.update(legal_event=["lapse"], industry=["I"], province=["440300"], borrower_size=["micro"],
               ip_type=["utility_model"], ltv_now=[9.0])
    X = build_features(rec)
    row = X.decoded(0)
    assert (row["legal_event"], row["industry"], row["province"], row["ip_type"]) == ("lapse", "I", "44",
                                                                                     "utility_model")
    assert row["ltv_now"] == 5.0  # clipped to the spec's range
    with pytest.raises(ValueError, match="industry"):
        build_features({**rec, "industry": ["Z"]})
    with pytest.raises(ValueError, match="missing"):
        build_features({k: v for k, v in rec.items() if k != "dpd_now"})


# ------------------------------------------------------------------ metrics against independent references


def test_auc_equals_the_mann_whitney_pair_count():
    """AUC = P(score of a default > score of a non-default) + ½ P(tie) (Mann–Whitney U / (n₁ n₀))."""
    y = np.array([0, 1, 0, 1, 1, 0, 0, 1, 0, 0])
    s = np.array([0.1, 0.7, 0.3, 0.3, 0.9, 0.2, 0.8, 0.5, 0.05, 0.3])
    pos, neg = s[y == 1], s[y == 0]
    u = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    assert auc(y, s) == pytest.approx(u / (pos.size * neg.size), abs=1e-15)
    assert u / (pos.size * neg.size) == pytest.approx(20 / 24)  # 19 wins + 2 ties of 24 pairs, by hand


def test_ks_equals_scipy_two_sample_statistic():
    rng = np.random.default_rng(0)
    y = rng.random(3_000) < 0.1
    s = np.round(rng.random(3_000) + 0.3 * y, 2)  # rounded: ties
    assert ks_statistic(y, s) == pytest.approx(ks_2samp(s[y], s[~y]).statistic, abs=1e-12)
    assert ks_statistic([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0


def test_brier_and_calibration_table_on_a_hand_example():
    y = [0, 0, 1, 0, 1, 1]
    p = [0.1, 0.2, 0.3, 0.4, 0.8, 0.9]
    # (0.01 + 0.04 + 0.49 + 0.16 + 0.04 + 0.01) / 6 = 0.125
    assert brier_score(y, p) == pytest.approx(0.125, abs=1e-15)
    t = calibration_table(y, p, n_bins=2)
    assert [(b.count, b.defaults) for b in t] == [(3, 1), (3, 2)]
    assert t[0].mean_pd == pytest.approx(0.2) and t[1].observed_rate == pytest.approx(2 / 3)
    assert t[0].standard_error == pytest.approx(np.sqrt(0.2 * 0.8 / 3))


# ------------------------------------------------------------------ the fitted model vs the truth


def test_fitted_logistic_ranks_and_calibrates_out_of_time_like_the_true_model():
    """Tolerances (n = 20,000 loans per cut, ~1,400 test defaults): AUC ≥ true AUC − 0.02; KS ≥ true KS − 0.04;
    Brier ≤ true Brier + 0.001; every PD decile within 3 binomial SE + 0.5 pp of its observed rate."""
    _, _, X_test, y_test = book().out_of_time_split(TRAIN_THROUGH)
    fit = validate(fitted(), X_test, y_test)
    true = validate(book().model, X_test, y_test)
    assert 0.65 < true.auc < 0.85  # the truth is informative but not trivial
    assert fit.auc >= true.auc - 0.02
    assert fit.ks >= true.ks - 0.04
    assert fit.brier <= true.brier + 0.001
    for b in fit.calibration:
        assert abs(b.observed_rate - b.mean_pd) <= 3 * b.standard_error + 0.005, b
    assert fit.hosmer_lemeshow_p > 0.01
    assert abs(fit.mean_pd - fit.default_rate) < 0.01
    # loan by loan, the fitted PD tracks the true PD
    p_fit, p_true = fitted().predict_pd(X_test), book().model.pd_12m(X_test)
    assert np.corrcoef(p_fit, p_true)[0, 1] > 0.95
    assert np.mean(np.abs(p_fit - p_true)) < 0.01


def _numeric_coefficient_se(X: ew.FeatureMatrix, p: np.ndarray) -> np.ndarray:
    """Asymptotic SEs of the numeric coefficients: √diag((Dᵀ W D)⁻¹), D = [1, numerics, one-hot without the
    first level of each categorical and without empty columns], W = p(1 − p) (maximum-likelihood theory)."""
    cols = [np.ones(X.n), *(X.values[:, j] for j in ew.NUMERIC)]
    for j in ew.CATEGORICAL:
        codes = X.values[:, j].astype(int)
        present = np.unique(codes)
        cols += [(codes == c).astype(float) for c in present[1:]]
    D = np.column_stack(cols)
    info = D.T @ (D * (p * (1 - p))[:, None])
    return np.sqrt(np.diag(np.linalg.inv(info)))[1 : 1 + len(ew.NUMERIC)]


def test_fitted_coefficients_recover_the_true_ones_within_four_standard_errors():
    X, _, _, _ = book().out_of_time_split(TRAIN_THROUGH)
    m, true = fitted(), TrueHazardModel.default()
    se = _numeric_coefficient_se(X, m.predict_pd(X))
    for k, name in enumerate(FEATURE_NAMES[: len(m.numeric_coef)]):
        assert abs(m.numeric_coef[k] - true.numeric[name]) < 4 * se[k], (name, m.numeric_coef[k], se[k])


def test_logistic_is_calibrated_in_the_large_in_sample_and_fast_path_matches_sklearn():
    X, y, X_test, _ = book().out_of_time_split(TRAIN_THROUGH)
    m = fitted()
    assert m.predict_pd(X).mean() == pytest.approx(y.mean(), abs=1e-5)  # unpenalised intercept's score equation
    np.testing.assert_allclose(m.predict_pd(X_test), m.sklearn_pd(X_test), rtol=1e-10, atol=1e-14)


def test_model_version_hashes_the_parameters():
    X, y, _, _ = book().out_of_time_split(TRAIN_THROUGH)
    Xs, ys = X.take(slice(0, 10_000)), y[:10_000]
    v = fit_score_model(Xs, ys).model_version
    assert fit_score_model(Xs, ys).model_version == v
    assert fit_score_model(Xs, ys, C=0.01).model_version != v
    assert v != fitted().model_version and v.startswith("logistic-")
    assert fitted().data_cut == "2022-12-31" and fitted().n_train == X.n


def test_explanations_sum_to_log_odds_minus_the_baseline():
    _, _, X_test, _ = book().out_of_time_split(TRAIN_THROUGH)
    m = fitted()
    ex = m.explain(X_test)
    np.testing.assert_allclose(ex.contributions.sum(axis=1), ex.log_odds - ex.baseline_log_odds, atol=1e-10)
    # the baseline is the log-odds of the training portfolio's mean encoded row
    X_train, _, _, _ = book().out_of_time_split(TRAIN_THROUGH)
    assert np.allclose(m.explain(X_train).contributions.mean(axis=0), 0.0, atol=1e-10)
    # 30 more days past due moves exactly that feature's contribution by 30 × β
    j = FEATURE_NAMES.index("dpd_now")
    bumped = X_test.values.copy()
    bumped[:, j] += 30
    d = m.explain(ew.FeatureMatrix(bumped)).contributions - ex.contributions
    np.testing.assert_allclose(d[:, j], 30 * m.numeric_coef[j])
    assert np.abs(np.delete(d, j, axis=1)).max() == 0.0
    drivers = ex.top_drivers(0, X_test, k=3)
    assert len(drivers) == 3 and abs(drivers[0].contribution) >= abs(drivers[-1].contribution)
    assert all((dr.contribution > 0) == (dr.direction == "raises") for dr in drivers)


def test_challenger_is_adopted_only_when_it_beats_the_baseline_out_of_time():
    _, _, X_test, y_test = book().out_of_time_split(TRAIN_THROUGH)
    truth = book().model  # the best possible challenger
    kept = select_model(fitted(), truth, X_test, y_test, min_auc_gain=0.05)
    assert kept.chosen is fitted() and "baseline kept" in kept.reason
    gain = kept.challenger.auc - kept.baseline.auc
    taken = select_model(fitted(), truth, X_test, y_test, min_auc_gain=min(gain, 0.0))
    assert (taken.chosen is truth) == (kept.challenger.brier <= kept.baseline.brier)


@pytest.mark.slow  # ~3 s alone, longer on a busy machine
def test_gradient_boosting_challenger_does_not_beat_a_true_logistic_world():
    X, y, X_test, y_test = book().out_of_time_split(TRAIN_THROUGH)
    base = fitted()
    hgb = fit_score_model(X, y, kind="hgb", seed=1)
    choice = select_model(base, hgb, X_test, y_test)
    assert choice.chosen is base
    assert choice.challenger is not None and choice.challenger.auc > 0.6  # it did learn something
    assert hgb.model_version.startswith("hgb-") and fit_score_model(X, y, kind="hgb", seed=1).model_version == \
        hgb.model_version
    with pytest.raises(ValueError, match="logistic"):
        hgb.explain(X_test)


# ------------------------------------------------------------------ watchlist and migration


def test_watchlist_ranks_flags_and_migrates_between_runs():
    bk, m = book(), fitted()
    r22, r23 = bk.rows(2022, 2022), bk.rows(2023, 2023)
    prev = score_book(m, bk.features.take(r22), bk.loan_id[r22], "2022-12-31")
    cur = score_book(m, bk.features.take(r23), bk.loan_id[r23], "2023-12-31")
    assert cur.model_version == m.model_version and cur.data_cut == "2023-12-31"
    assert sorted(cur.rank.tolist()) == list(range(1, r23.size + 1))
    assert np.all(np.diff(cur.pd[np.argsort(cur.rank)]) <= 0)
    wl = build_watchlist(cur, alert_pd=0.15, previous=prev)
    assert len(wl) == int((cur.pd >= 0.15).sum()) > 0
    assert [e.rank for e in wl] == list(range(1, len(wl) + 1)) and all(e.alert for e in wl)
    for e in wl[:50]:
        if e.previous_pd is not None:
            assert e.pd_change == pytest.approx(e.pd - e.previous_pd)
            assert e.new_alert == (e.previous_pd < 0.15)
        else:
            assert e.new_alert
        assert len(e.drivers) == 3
    mig = score_migration(prev, cur)
    common = np.intersect1d(prev.loan_ids, cur.loan_ids).size
    assert mig.matrix.sum() == common > 0
    assert mig.n_new == r23.size - common and mig.n_exited == r22.size - common
    assert mig.upgrades + mig.downgrades + int(np.trace(mig.matrix)) == common
    assert mig.labels[0] == "<1%" and mig.labels[-1] == "≥20%"
    top10 = build_watchlist(cur, alert_pd=1.0, top_n=10)
    assert len(top10) == 10 and not any(e.alert for e in top10)
    rows = ew.run_rows(cur)
    first = next(r for r in rows if r["rank"] == 1)
    assert first["loan_id"] == wl[0].loan_id and first["model_version"] == m.model_version
    assert first["data_cut"] == "2023-12-31" and len(first["drivers"]) == 3


def test_docstring_examples_run():
    assert doctest.testmod(ew, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed == 0
