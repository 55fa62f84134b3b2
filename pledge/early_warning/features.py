"""Early-warning features: the specification (:data:`FEATURES`) and :func:`build_features`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES, PROVINCES

# ------------------------------------------------------------------ feature specification


@dataclass(frozen=True, slots=True)
class Feature:
    """One model input. Numeric values are clipped to ``clip``; categorical ones must be in ``categories``."""

    name: str
    label_zh: str
    kind: Literal["numeric", "categorical"]
    unit: str = ""
    clip: tuple[float, float] | None = None
    categories: tuple[str, ...] = ()


LEGAL_EVENTS: tuple[str, ...] = ("none", "invalidation_request", "lapse", "transfer_without_consent")
"""Legal-status events on the pledged right in the last 12 months, worst first when several:
none 无 · invalidation_request 被提出无效宣告请求 · lapse 权利终止(未缴年费/未续展) ·
transfer_without_consent 未经质权人同意转让或许可."""

BORROWER_SIZES: tuple[str, ...] = ("micro", "small", "medium", "large")
"""Enterprise size (企业划型, 工信部联企业〔2011〕300号): 微型 · 小型 · 中型 · 大型."""

PROVINCE_CODES: tuple[str, ...] = tuple(sorted({code[:2] for code in PROVINCES}))

FEATURES: tuple[Feature, ...] = (
    Feature("ltv_now", "当前质押率", "numeric", "ratio (outstanding ÷ latest collateral value)", (0.0, 5.0)),
    Feature("ltv_change", "质押率较发放时变动", "numeric", "ratio points since origination", (-5.0, 5.0)),
    Feature("max_dpd_12m", "近12个月最长逾期天数", "numeric", "days", (0.0, 365.0)),
    Feature("dpd_now", "当前逾期天数", "numeric", "days", (0.0, 365.0)),
    Feature("n_fee_events_12m", "近12个月年费逾期/未缴次数", "numeric", "count", (0.0, 12.0)),
    Feature("valuation_cv", "估值离散度(蒙特卡洛标准差/均值)", "numeric", "ratio", (0.0, 5.0)),
    Feature("valuation_age_years", "估值距今年限", "numeric", "years", (0.0, 10.0)),
    Feature("loan_age_years", "贷款账龄", "numeric", "years", (0.0, 30.0)),
    Feature("legal_event", "质物法律事件", "categorical", categories=LEGAL_EVENTS),
    Feature("industry", "行业门类(GB/T 4754)", "categorical", categories=tuple(INDUSTRY_SECTIONS)),
    Feature("province", "省份(GB/T 2260 前两位)", "categorical", categories=PROVINCE_CODES),
    Feature("borrower_size", "企业规模", "categorical", categories=BORROWER_SIZES),
    Feature("ip_type", "质物类型", "categorical", categories=tuple(IP_TYPES)),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
NUMERIC: tuple[int, ...] = tuple(i for i, f in enumerate(FEATURES) if f.kind == "numeric")
CATEGORICAL: tuple[int, ...] = tuple(i for i, f in enumerate(FEATURES) if f.kind == "categorical")
_N_NUM = len(NUMERIC)
assert tuple(range(_N_NUM)) == NUMERIC, "numeric features come first"


def feature_spec_fingerprint() -> str:
    """SHA-256 of the feature specification (names, kinds, clips, category lists)."""
    spec = [[f.name, f.kind, list(f.clip) if f.clip else None, list(f.categories)] for f in FEATURES]
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class FeatureMatrix:
    """Encoded features: ``values[i, j]`` is feature ``FEATURES[j]`` of loan i.

    Numeric columns hold the clipped value; categorical columns the index of the category in
    ``FEATURES[j].categories`` (as float, so the whole matrix is one float64 array).
    """

    values: np.ndarray

    def __post_init__(self) -> None:
        v = np.asarray(self.values, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != len(FEATURES):
            raise ValueError(f"values must be (n, {len(FEATURES)}), got {v.shape}")
        object.__setattr__(self, "values", v)

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.values[:, FEATURE_NAMES.index(name)]

    def take(self, rows: np.ndarray | Sequence[int] | slice) -> FeatureMatrix:
        return FeatureMatrix(self.values[rows])

    def decoded(self, i: int) -> dict[str, float | str]:
        """Loan ``i`` as readable values (category names for categorical features)."""
        out: dict[str, float | str] = {}
        for j, f in enumerate(FEATURES):
            v = self.values[i, j]
            out[f.name] = f.categories[int(v)] if f.kind == "categorical" else float(v)
        return out


def _encode_categorical(f: Feature, col: np.ndarray) -> np.ndarray:
    col = np.asarray(col).astype(str)
    if f.name == "province":  # accept 2-, 4- or 6-digit GB/T 2260 codes
        col = col.astype("<U2")
    cats = np.array(f.categories)
    order = np.argsort(cats)
    sorted_cats = cats[order]
    pos = np.clip(np.searchsorted(sorted_cats, col), 0, len(cats) - 1)
    bad = sorted_cats[pos] != col
    if bad.any():
        unknown = sorted(set(col[bad].tolist()))[:5]
        raise ValueError(f"{f.name}: unknown categories {unknown}; known: {list(f.categories)}")
    return order[pos].astype(np.float64)


def build_features(records: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> FeatureMatrix:
    """Encode loans as of a data cut into a :class:`FeatureMatrix`.

    Parameters
    ----------
    records : mapping of column name → array (one entry per loan), or a sequence of per-loan dicts
        Keys are :data:`FEATURE_NAMES`. Numerics: LTV as a ratio, days past due (逾期天数), counts,
        years; NaN is not accepted. Categoricals: ``industry`` a GB/T 4754 section letter,
        ``province`` a GB/T 2260 code (2 or 6 digits; the first 2 are used), ``borrower_size``
        one of :data:`BORROWER_SIZES`, ``ip_type`` one of ``ipfin.reference.IP_TYPES``,
        ``legal_event`` one of :data:`LEGAL_EVENTS`.

    Examples
    --------
    >>> X = build_features([{"ltv_now": 0.5, "ltv_change": 0.1, "max_dpd_12m": 15, "dpd_now": 0,
    ...     "n_fee_events_12m": 0, "valuation_cv": 0.3, "valuation_age_years": 0.5, "loan_age_years": 1,
    ...     "legal_event": "none", "industry": "C", "province": "500000", "borrower_size": "small",
    ...     "ip_type": "invention_patent"}])
    >>> X.decoded(0)["province"], X.decoded(0)["ltv_now"]
    ('50', 0.5)
    """
    if not isinstance(records, Mapping):
        rows = list(records)
        records = {name: [r[name] for r in rows] for name in FEATURE_NAMES}
    missing = [name for name in FEATURE_NAMES if name not in records]
    if missing:
        raise ValueError(f"missing feature columns: {missing}")
    n = len(records[FEATURE_NAMES[0]])
    out = np.empty((n, len(FEATURES)), dtype=np.float64)
    for j, f in enumerate(FEATURES):
        col = records[f.name]
        if len(col) != n:
            raise ValueError(f"{f.name}: {len(col)} values, expected {n}")
        if f.kind == "numeric":
            v = np.asarray(col, dtype=np.float64)
            if not np.isfinite(v).all():
                raise ValueError(f"{f.name}: values must be finite")
            lo, hi = f.clip if f.clip else (-np.inf, np.inf)
            np.clip(v, lo, hi, out=out[:, j])
        else:
            out[:, j] = _encode_categorical(f, col)
    return FeatureMatrix(out)

