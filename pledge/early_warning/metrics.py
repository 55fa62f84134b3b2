"""Validation metrics of a PD model: AUC, KS, Brier, calibration table, Hosmer–Lemeshow, model choice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import stats

from pledge.early_warning.features import FeatureMatrix

# ------------------------------------------------------------------ metrics


def auc(y: np.ndarray | Sequence[int], score: np.ndarray | Sequence[float]) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``); ties count one half.

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(y), np.asarray(score, dtype=np.float64)))


def ks_statistic(y: np.ndarray | Sequence[int], score: np.ndarray | Sequence[float]) -> float:
    """Kolmogorov–Smirnov statistic: max over thresholds of |F_default(s) − F_performing(s)|.

    Examples
    --------
    >>> ks_statistic([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    y = np.asarray(y).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("both defaults and non-defaults are needed")
    order = np.argsort(s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # evaluate the ECDFs only after each distinct score
    c1 = np.cumsum(y_sorted)[last] / n1
    c0 = np.cumsum(~y_sorted)[last] / n0
    return float(np.max(np.abs(c1 - c0)))


def brier_score(y: np.ndarray | Sequence[int], pd: np.ndarray | Sequence[float]) -> float:
    """Mean squared error of the PD against the 0/1 outcome.

    Examples
    --------
    >>> round(brier_score([0, 1], [0.2, 0.6]), 12)  # (0.2² + 0.4²) / 2
    0.1
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(pd, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One bin of the calibration table: loans ranked by PD, ``lower``–``upper`` the PD range."""

    lower: float
    upper: float
    count: int
    defaults: int
    mean_pd: float
    observed_rate: float
    standard_error: float  # binomial SE of the observed rate under the predicted PD

    @property
    def z(self) -> float:
        return (self.observed_rate - self.mean_pd) / self.standard_error if self.standard_error > 0 else 0.0


def calibration_table(y: np.ndarray | Sequence[int], pd: np.ndarray | Sequence[float],
                      n_bins: int = 10) -> tuple[CalibrationBin, ...]:
    """Bins of equal count by predicted PD (deciles by default): mean PD vs observed default rate.

    Examples
    --------
    >>> t = calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    >>> [(b.count, b.mean_pd, b.observed_rate) for b in t]
    [(2, 0.15..., 0.0), (2, 0.8, 1.0)]
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(pd, dtype=np.float64)
    if y.shape != p.shape or y.size < n_bins:
        raise ValueError("y and pd must have the same length, at least n_bins")
    order = np.argsort(p, kind="stable")
    out = []
    for part in np.array_split(order, n_bins):
        pp, yy = p[part], y[part]
        m = float(pp.mean())
        out.append(CalibrationBin(float(pp.min()), float(pp.max()), int(part.size), int(yy.sum()), m,
                                  float(yy.mean()), float(np.sqrt(m * (1 - m) / part.size))))
    return tuple(out)


def hosmer_lemeshow(table: Sequence[CalibrationBin]) -> tuple[float, float]:
    """Hosmer–Lemeshow statistic Σ (O − E)² / (E (1 − E/n)) over the bins and its p-value.

    The p-value uses χ² with g degrees of freedom (g bins), the convention for a sample the model
    was not fitted on (out of time); in sample the usual reference is χ²(g − 2).
    """
    h = 0.0
    for b in table:
        e = b.mean_pd * b.count
        v = e * (1 - b.mean_pd)
        if v > 0:
            h += (b.defaults - e) ** 2 / v
    dof = len(table)
    return h, float(stats.chi2.sf(h, dof))


class PDModel(Protocol):
    """Anything that gives a 12-month PD per loan: :class:`ScoreModel`, :class:`TrueHazardModel`."""

    def predict_pd(self, X: FeatureMatrix) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Out-of-time (or any) validation of a PD model on one labelled sample."""

    n: int
    n_defaults: int
    default_rate: float
    mean_pd: float
    auc: float
    ks: float
    brier: float
    calibration: tuple[CalibrationBin, ...]
    hosmer_lemeshow: float
    hosmer_lemeshow_p: float  # χ² with g degrees of freedom (out-of-sample convention)


def validate(model: PDModel, X: FeatureMatrix, y: np.ndarray | Sequence[int], n_bins: int = 10) -> ValidationReport:
    """AUC, KS, Brier and the calibration table of ``model.predict_pd(X)`` against outcomes ``y``."""
    y = np.asarray(y).astype(np.int8)
    p = model.predict_pd(X)
    table = calibration_table(y, p, n_bins)
    hl, hl_p = hosmer_lemeshow(table)
    return ValidationReport(int(y.size), int(y.sum()), float(y.mean()), float(p.mean()), auc(y, p),
                            ks_statistic(y, p), brier_score(y, p), table, hl, hl_p)


@dataclass(frozen=True, slots=True)
class ModelChoice:
    chosen: PDModel
    baseline: ValidationReport
    challenger: ValidationReport | None
    reason: str


def select_model(
    baseline: PDModel, challenger: PDModel | None, X_test: FeatureMatrix, y_test: np.ndarray,
    *, min_auc_gain: float = 0.005,
) -> ModelChoice:
    """Keep the logistic baseline unless the challenger beats it out of time.

    The challenger is adopted only when its out-of-time AUC exceeds the baseline's by at least
    ``min_auc_gain`` and its Brier score is not worse.
    """
    rb = validate(baseline, X_test, y_test)
    if challenger is None:
        return ModelChoice(baseline, rb, None, "no challenger")
    rc = validate(challenger, X_test, y_test)
    if rc.auc >= rb.auc + min_auc_gain and rc.brier <= rb.brier:
        return ModelChoice(challenger, rb, rc, f"challenger AUC {rc.auc:.4f} ≥ baseline {rb.auc:.4f} + "
                                               f"{min_auc_gain} and Brier {rc.brier:.5f} ≤ {rb.brier:.5f}")
    return ModelChoice(baseline, rb, rc, f"baseline kept: challenger AUC {rc.auc:.4f} vs {rb.auc:.4f}, "
                                         f"Brier {rc.brier:.5f} vs {rb.brier:.5f}")

