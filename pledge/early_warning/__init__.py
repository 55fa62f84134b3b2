"""Early-warning score (预警评分) for pledge loans: 12-month probability of default, explained.

What is here, as pure functions over arrays (the API/CLI store the runs):

* :data:`FEATURES` — the feature specification (name, 中文 label, numeric/categorical, unit,
  categories) and :func:`build_features`, which turns plain records (one row per live loan at
  a data cut) into a :class:`FeatureMatrix` (numeric columns first, then categorical columns
  as integer codes of the spec's fixed category lists).
* :class:`TrueHazardModel` — a known logistic model with documented coefficients, the truth the
  synthetic book draws defaults from, and :func:`simulate_book`, a panel of loans whose
  features evolve over yearly data cuts, for out-of-time validation (train on cuts ≤ T, test
  on T + 1).
* :func:`fit_score_model` — the baseline is scikit-learn ``LogisticRegression`` (L2, lbfgs)
  with standardised numerics and one-hot categoricals inside a ``Pipeline``; the challenger is
  ``HistGradientBoostingClassifier``, adopted by :func:`select_model` only when it beats the
  baseline out of time.
* Calibration: no separate calibration step. The maximum-likelihood logistic model is
  calibrated in the large in sample (the intercept is not penalised by lbfgs, so its score
  equation gives mean predicted PD = observed default rate exactly at convergence); the
  out-of-time check is :func:`calibration_table` (deciles, binomial SE, Hosmer–Lemeshow).
* :meth:`ScoreModel.explain` — exact per-loan explanation for the logistic model: the
  contribution of feature j is β_j · (x_j − mean_j) on the log-odds (for a categorical feature
  its coefficient minus the portfolio-frequency-weighted mean coefficient); the contributions
  add up to log-odds − baseline log-odds of the training portfolio's mean row.
* Metrics (:func:`auc`, :func:`ks_statistic`, :func:`brier_score`), :func:`validate`.
* Watchlist: :func:`score_book` (a :class:`ScoreRun` stamped with model version and data cut),
  :func:`build_watchlist` (rank, alert flag, drivers, change since the previous run) and
  :func:`score_migration` (PD-bucket migration matrix between two runs).

Everything random takes a seed.

The package is split by concern (``features``, ``truth``, ``model``, ``metrics``, ``watchlist``);
every public name is re-exported here.
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the doctests' globals)

from pledge.early_warning.features import (
    BORROWER_SIZES,
    CATEGORICAL,
    FEATURE_NAMES,
    FEATURES,
    LEGAL_EVENTS,
    NUMERIC,
    PROVINCE_CODES,
    Feature,
    FeatureMatrix,
    build_features,
    feature_spec_fingerprint,
)
from pledge.early_warning.metrics import (
    CalibrationBin,
    ModelChoice,
    PDModel,
    ValidationReport,
    auc,
    brier_score,
    calibration_table,
    hosmer_lemeshow,
    ks_statistic,
    select_model,
    validate,
)
from pledge.early_warning.model import (
    Driver,
    Explanation,
    ScoreModel,
    fit_score_model,
)
from pledge.early_warning.truth import (
    SyntheticBook,
    TrueHazardModel,
    simulate_book,
)
from pledge.early_warning.watchlist import (
    PD_BUCKET_EDGES,
    ScoreMigration,
    ScoreRun,
    WatchlistEntry,
    build_watchlist,
    pd_bucket,
    pd_bucket_labels,
    run_rows,
    score_book,
    score_migration,
)

__all__ = [
    "BORROWER_SIZES",
    "CATEGORICAL",
    "FEATURES",
    "FEATURE_NAMES",
    "LEGAL_EVENTS",
    "NUMERIC",
    "PD_BUCKET_EDGES",
    "PROVINCE_CODES",
    "CalibrationBin",
    "Driver",
    "Explanation",
    "Feature",
    "FeatureMatrix",
    "ModelChoice",
    "PDModel",
    "ScoreMigration",
    "ScoreModel",
    "ScoreRun",
    "SyntheticBook",
    "TrueHazardModel",
    "ValidationReport",
    "WatchlistEntry",
    "auc",
    "brier_score",
    "build_features",
    "build_watchlist",
    "calibration_table",
    "feature_spec_fingerprint",
    "fit_score_model",
    "hosmer_lemeshow",
    "ks_statistic",
    "pd_bucket",
    "pd_bucket_labels",
    "run_rows",
    "score_book",
    "score_migration",
    "select_model",
    "simulate_book",
    "validate",
]

# doctest.testmod(this package) only looks at objects defined here; list the re-exported ones
__test__ = {
    name: globals()[name]
    for name in (
        "build_features",
        "simulate_book",
        "fit_score_model",
        "auc",
        "ks_statistic",
        "brier_score",
        "calibration_table",
        "build_watchlist",
    )
}
