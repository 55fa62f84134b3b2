"""The known true hazard model (:class:`TrueHazardModel`) and the synthetic book drawn from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from pledge.early_warning.features import (
    _N_NUM,
    CATEGORICAL,
    FEATURE_NAMES,
    FEATURES,
    NUMERIC,
    FeatureMatrix,
    build_features,
)

# ------------------------------------------------------------------ the true model


@dataclass(frozen=True, slots=True)
class TrueHazardModel:
    """A known 12-month default model: logit PD = intercept + Σ β·x + categorical effects.

    ``numeric`` maps numeric feature → coefficient per unit; ``categorical`` maps feature →
    {category: effect} (absent categories have effect 0, i.e. they are the reference level).
    Default 默认值 (:meth:`default`): coefficients chosen to look like a pledge book — a base PD of
    a few percent, higher for high or rising LTV, past arrears, unpaid annual fees, legal
    events on the collateral, uncertain or stale valuations, micro borrowers and utility models.
    These are assumptions for synthetic data, not estimates.
    """

    intercept: float
    numeric: Mapping[str, float]
    categorical: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.numeric:
            if name not in FEATURE_NAMES or FEATURES[FEATURE_NAMES.index(name)].kind != "numeric":
                raise ValueError(f"{name} is not a numeric feature")
        for name, effects in self.categorical.items():
            if name not in FEATURE_NAMES or FEATURES[FEATURE_NAMES.index(name)].kind != "categorical":
                raise ValueError(f"{name} is not a categorical feature")
            unknown = set(effects) - set(FEATURES[FEATURE_NAMES.index(name)].categories)
            if unknown:
                raise ValueError(f"{name}: unknown categories {sorted(unknown)}")

    @classmethod
    def default(cls) -> TrueHazardModel:
        return cls(
            intercept=-4.3,
            numeric={
                "ltv_now": 1.4,  # per 1.0 of LTV
                "ltv_change": 1.2,  # per 1.0 rise since origination
                "max_dpd_12m": 0.012,  # per day: 90 days → +1.08
                "dpd_now": 0.02,  # per day
                "n_fee_events_12m": 0.40,  # per late/unpaid annual fee
                "valuation_cv": 0.9,  # per 1.0 of MC std/mean
                "valuation_age_years": 0.15,  # per year since the last valuation
                "loan_age_years": -0.10,  # seasoning
            },
            categorical={
                "legal_event": {"invalidation_request": 0.9, "lapse": 1.6, "transfer_without_consent": 1.2},
                "industry": {"I": 0.15, "F": 0.25, "R": 0.35, "M": -0.10, "A": 0.20, "E": 0.30},
                "province": {"44": -0.10, "33": -0.10, "50": 0.10, "42": 0.05},
                "borrower_size": {"micro": 0.5, "small": 0.25, "large": -0.3},
                "ip_type": {"utility_model": 0.25, "design": 0.35, "trademark": 0.15, "copyright": 0.30,
                            "software_copyright": 0.20},
            },
        )

    def coefficient_vector(self) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """(numeric coefficients in :data:`NUMERIC` order, per-categorical effect tables by code)."""
        w = np.array([self.numeric.get(FEATURES[j].name, 0.0) for j in NUMERIC])
        tables = tuple(
            np.array([self.categorical.get(FEATURES[j].name, {}).get(c, 0.0) for c in FEATURES[j].categories])
            for j in CATEGORICAL
        )
        return w, tables

    def log_odds(self, X: FeatureMatrix) -> np.ndarray:
        w, tables = self.coefficient_vector()
        return _linear_log_odds(X.values, self.intercept, w, tables)

    def pd_12m(self, X: FeatureMatrix) -> np.ndarray:
        """True probability of default within 12 months for each loan."""
        return _sigmoid(self.log_odds(X))

    predict_pd = pd_12m


def _linear_log_odds(values: np.ndarray, intercept: float, w: np.ndarray, tables: Sequence[np.ndarray]) -> np.ndarray:
    """intercept + numerics · w + Σ table_j[code_j] (one BLAS pass over the whole matrix, then gathers)."""
    w_full = np.zeros(values.shape[1])
    w_full[:_N_NUM] = w
    z = values @ w_full
    z += intercept
    for j, table in zip(CATEGORICAL, tables, strict=True):
        z += table[values[:, j].astype(np.intp)]
    return z


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^(−z)), in place (e^(−z) overflowing to inf gives exactly 0, the correct limit)."""
    np.negative(z, out=z)
    with np.errstate(over="ignore"):
        np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


# ------------------------------------------------------------------ synthetic book

_SIM_INDUSTRIES = (("C", 0.40), ("I", 0.18), ("M", 0.12), ("F", 0.08), ("R", 0.06), ("A", 0.04), ("E", 0.04),
                   ("G", 0.04), ("L", 0.04))
_SIM_PROVINCES = (("440000", 0.18), ("330000", 0.16), ("320000", 0.16), ("500000", 0.10), ("370000", 0.08),
                  ("110000", 0.08), ("310000", 0.08), ("420000", 0.06), ("510000", 0.05), ("340000", 0.05))
_SIM_SIZES = (("micro", 0.35), ("small", 0.40), ("medium", 0.20), ("large", 0.05))
_SIM_IP_TYPES = (("invention_patent", 0.45), ("utility_model", 0.25), ("design", 0.03), ("trademark", 0.15),
                 ("copyright", 0.04), ("software_copyright", 0.08))
_PATENTS = ("invention_patent", "utility_model", "design")


@dataclass(frozen=True, slots=True)
class SyntheticBook:
    """Live loans at each yearly data cut (数据截止日), with defaults drawn from the true model.

    Row r is loan ``loan_id[r]`` at cut year ``cut_year[r]``; ``default[r]`` is 1 when it
    defaulted within the 12 months after the cut; ``true_pd[r]`` is the true model's PD.
    ``records`` holds the raw columns :func:`build_features` was given.
    """

    loan_id: np.ndarray
    cut_year: np.ndarray
    records: Mapping[str, np.ndarray]
    features: FeatureMatrix
    default: np.ndarray
    true_pd: np.ndarray
    model: TrueHazardModel

    @property
    def cut_years(self) -> tuple[int, ...]:
        return tuple(int(c) for c in np.unique(self.cut_year))

    def rows(self, first_year: int | None = None, last_year: int | None = None) -> np.ndarray:
        lo = -np.inf if first_year is None else first_year
        hi = np.inf if last_year is None else last_year
        return np.flatnonzero((self.cut_year >= lo) & (self.cut_year <= hi))

    def out_of_time_split(self, train_through: int) -> tuple[FeatureMatrix, np.ndarray, FeatureMatrix, np.ndarray]:
        """(X_train, y_train, X_test, y_test): train on cuts ≤ ``train_through``, test on the next cut."""
        tr = self.rows(last_year=train_through)
        te = self.rows(train_through + 1, train_through + 1)
        if tr.size == 0 or te.size == 0:
            raise ValueError(f"no rows to train through {train_through} and test on {train_through + 1}")
        return self.features.take(tr), self.default[tr], self.features.take(te), self.default[te]


def _draw(rng: np.random.Generator, table: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    names = np.array([t[0] for t in table])
    p = np.array([t[1] for t in table])
    return names[rng.choice(len(names), size=n, p=p / p.sum())]


def simulate_book(
    n_loans: int, seed: int, *, start_year: int = 2021, n_cuts: int = 4, model: TrueHazardModel | None = None
) -> SyntheticBook:
    """A synthetic pledge book of ``n_loans`` live loans observed at ``n_cuts`` yearly cuts.

    Each loan has a hidden credit quality q ~ N(0, 1) that drives arrears, fee events and legal
    events (so features are correlated through time); the collateral's value follows a
    lognormal walk with a common yearly market shock, and is re-valued with probability 0.6 a
    year; the balance amortises half of the origination LTV over the term (1–3 years). At each
    cut the defaults over the next 12 months are drawn from ``model`` (default
    :meth:`TrueHazardModel.default`) on exactly the features recorded; defaulted and matured
    loans then leave and are replaced by new ones, so every cut has ``n_loans`` rows.

    Examples
    --------
    >>> book = simulate_book(200, seed=1, n_cuts=2)
    >>> book.cut_years, book.features.n
    ((2021, 2022), 400)
    >>> bool(np.array_equal(book.default, simulate_book(200, seed=1, n_cuts=2).default))
    True
    """
    if n_loans <= 0 or n_cuts <= 0:
        raise ValueError("n_loans and n_cuts must be positive")
    model = model or TrueHazardModel.default()
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    n = n_loans
    next_id = 0

    state: dict[str, np.ndarray] = {}

    def originate(idx: np.ndarray, at_start: bool) -> None:
        nonlocal next_id
        k = idx.size
        state["loan_id"][idx] = np.array([f"L{next_id + i:08d}" for i in range(k)])
        next_id += k
        state["industry"][idx] = _draw(rng, _SIM_INDUSTRIES, k)
        state["province"][idx] = _draw(rng, _SIM_PROVINCES, k)
        state["borrower_size"][idx] = _draw(rng, _SIM_SIZES, k)
        ipt = _draw(rng, _SIM_IP_TYPES, k)
        state["ip_type"][idx] = ipt
        state["quality"][idx] = rng.standard_normal(k)
        state["term"][idx] = rng.choice([1.0, 2.0, 3.0], size=k, p=[0.3, 0.4, 0.3])
        state["ltv0"][idx] = rng.uniform(0.25, 0.60, k)
        cv_shift = np.where(np.isin(ipt, ("copyright", "design")), 0.25, 0.0)
        state["cv_base"][idx] = np.exp(np.log(0.3) + cv_shift + 0.3 * rng.standard_normal(k))
        age = rng.uniform(0.0, state["term"][idx]) if at_start else rng.uniform(0.0, 1.0, k)
        state["age"][idx] = age
        # value relative to the origination valuation; loans already seasoned have drifted
        drift = 0.12 * np.sqrt(age) * rng.standard_normal(k) - 0.02 * age
        state["v_true"][idx] = np.exp(drift)
        revalued = rng.random(k) < np.minimum(1.0, 0.6 * age)
        state["v_latest"][idx] = np.where(revalued, state["v_true"][idx], 1.0)
        state["val_age"][idx] = np.where(revalued, rng.uniform(0.0, np.minimum(age, 1.0) + 1e-9), age + 0.1)

    str_cols = ("loan_id", "industry", "province", "borrower_size", "ip_type")
    for c in str_cols:
        state[c] = np.empty(n, dtype="<U24")
    for c in ("quality", "term", "ltv0", "cv_base", "age", "v_true", "v_latest", "val_age"):
        state[c] = np.empty(n)
    originate(np.arange(n), at_start=True)

    cols: dict[str, list[np.ndarray]] = {name: [] for name in FEATURE_NAMES}
    ids: list[np.ndarray] = []
    years: list[np.ndarray] = []
    for t in range(n_cuts):
        q = state["quality"]
        is_patent = np.isin(state["ip_type"], _PATENTS)
        bal_frac = 1.0 - 0.5 * np.minimum(state["age"] / state["term"], 1.0)
        ltv_now = state["ltv0"] * bal_frac / state["v_latest"]
        late_now = rng.random(n) < expit(-2.4 + 0.9 * q)
        dpd_now = np.where(late_now, rng.integers(1, 90, n), 0)
        late_12m = rng.random(n) < expit(-1.7 + 0.9 * q)
        max_dpd = np.maximum(dpd_now, np.where(late_12m, rng.integers(1, 120, n), 0))
        n_fee = np.where(is_patent, rng.poisson(np.exp(-2.3 + 0.5 * q)), 0)
        u = rng.random(n)
        p_inv = np.where(is_patent, 0.02, 0.0)
        p_lapse = np.where(is_patent, 0.005 + 0.04 * (n_fee > 0), 0.0)
        p_transfer = 0.01 + 0.01 * (q > 1.0)
        legal = np.full(n, "none", dtype="<U24")
        legal[u < p_inv + p_lapse + p_transfer] = "transfer_without_consent"
        legal[u < p_inv + p_lapse] = "lapse"
        legal[u < p_inv] = "invalidation_request"
        values = {
            "ltv_now": ltv_now, "ltv_change": ltv_now - state["ltv0"], "max_dpd_12m": max_dpd.astype(float),
            "dpd_now": dpd_now.astype(float), "n_fee_events_12m": n_fee.astype(float),
            "valuation_cv": state["cv_base"] * np.exp(0.1 * rng.standard_normal(n)),
            "valuation_age_years": state["val_age"].copy(), "loan_age_years": state["age"].copy(),
            "legal_event": legal, "industry": state["industry"].copy(), "province": state["province"].copy(),
            "borrower_size": state["borrower_size"].copy(), "ip_type": state["ip_type"].copy(),
        }
        for name in FEATURE_NAMES:
            cols[name].append(np.asarray(values[name]))
        ids.append(state["loan_id"].copy())
        years.append(np.full(n, start_year + t))
        X_t = build_features(values)
        defaulted = rng.random(n) < model.pd_12m(X_t)
        cols.setdefault("_default", []).append(defaulted)
        # one year passes: market shock, idiosyncratic value moves, re-valuation, seasoning, run-off
        market = rng.normal(-0.02, 0.06)
        state["v_true"] *= np.exp(market + 0.12 * rng.standard_normal(n) - 0.5 * 0.12**2)
        reval = rng.random(n) < 0.6
        state["v_latest"] = np.where(reval, state["v_true"], state["v_latest"])
        state["val_age"] = np.where(reval, rng.uniform(0.0, 1.0, n), state["val_age"] + 1.0)
        state["age"] += 1.0
        leave = np.flatnonzero(defaulted | (state["age"] >= state["term"]))
        originate(leave, at_start=False)

    records = {name: np.concatenate(cols[name]) for name in FEATURE_NAMES}
    X = build_features(records)
    default = np.concatenate(cols["_default"]).astype(np.int8)
    return SyntheticBook(np.concatenate(ids), np.concatenate(years), records, X, default, model.pd_12m(X), model)

