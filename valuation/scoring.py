"""Indicator score after GB/T 42748-2023 《专利评估指引》 (legal, technical, economic value).

Scores (0–100) per indicator are combined with configurable weights (JSON data shipped in
``valuation/data/gbt42748_weights.json``, or any file passed to :func:`load_scheme`) into a
dimension score and a total score S. The score then drives, item by item:

* the profit share K within its range: K = K_low + (K_high − K_low) × S / 100;
* IP-specific risk premia: premium = p_low + (p_high − p_low) × (1 − S_dim / 100) for the legal,
  technical and market premia (market from the economic dimension);
* the comparables' quality ratio Q / Q_i (subject score over comparable score), bounded.

Indicators that can be read off the asset (remaining term, family size, licences) are derived
when no score is given; the explanation says which.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .assets import IPAsset

WEIGHT_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    dimension: str
    weight: float
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class ScoringScheme:
    """Weights and mapping ranges as data; validated so that weights sum to 1."""

    dimension_weights: Mapping[str, float]
    dimension_labels: Mapping[str, tuple[str, str]]
    indicators: tuple[Indicator, ...]
    profit_share_range: tuple[float, float]
    risk_premium_ranges: Mapping[str, tuple[float, float, str]]
    quality_ratio_bounds: tuple[float, float]
    derivation: Mapping[str, float]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoringScheme:
        dims = data["dimensions"]
        dw = {k: float(v["weight"]) for k, v in dims.items()}
        _check_weights("dimensions", dw)
        inds: list[Indicator] = []
        for dk, dv in dims.items():
            iw = {k: float(v["weight"]) for k, v in dv["indicators"].items()}
            _check_weights(f"dimensions.{dk}.indicators", iw)
            inds += [Indicator(k, dk, iw[k], v["zh"], v["en"]) for k, v in dv["indicators"].items()]
        ps = data["profit_share_range"]
        k_lo, k_hi = float(ps["low"]), float(ps["high"])
        if not 0 <= k_lo <= k_hi <= 1:
            raise ValueError("profit_share_range must satisfy 0 ≤ low ≤ high ≤ 1")
        rp = {}
        for k, v in data["risk_premium_ranges"].items():
            lo, hi = float(v["low"]), float(v["high"])
            if not 0 <= lo <= hi < 1 or v["from_dimension"] not in dims:
                raise ValueError(f"risk_premium_ranges.{k} must have 0 ≤ low ≤ high < 1 and a known dimension")
            rp[k] = (lo, hi, v["from_dimension"])
        qb = data["quality_ratio_bounds"]
        q_lo, q_hi = float(qb["low"]), float(qb["high"])
        if not 0 < q_lo <= 1 <= q_hi:
            raise ValueError("quality_ratio_bounds must satisfy 0 < low ≤ 1 ≤ high")
        return cls(
            dw,
            {k: (v["zh"], v["en"]) for k, v in dims.items()},
            tuple(inds),
            (k_lo, k_hi),
            rp,
            (q_lo, q_hi),
            {k: float(v) for k, v in data.get("derivation", {}).items()},
        )


def _check_weights(where: str, weights: Mapping[str, float]) -> None:
    if any(not math.isfinite(w) or w < 0 for w in weights.values()):
        raise ValueError(f"{where}: weights must be finite and non-negative")
    if abs(sum(weights.values()) - 1) > WEIGHT_TOLERANCE:
        raise ValueError(f"{where}: weights must sum to 1 (got {sum(weights.values()):.6f})")


def load_scheme(path: str | Path | None = None) -> ScoringScheme:
    """Load a scoring scheme from JSON; the packaged GB/T 42748 defaults when ``path`` is None."""
    if path is None:
        text = resources.files("valuation").joinpath("data/gbt42748_weights.json").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    return ScoringScheme.from_dict(json.loads(text))


@dataclass(frozen=True, slots=True)
class ScoreItem:
    """One indicator's line in the explanation."""

    dimension: str
    indicator: str
    label_zh: str
    label_en: str
    score: float
    weight: float  # within the dimension
    contribution: float  # to the total score: score × weight × dimension weight
    source: str  # "given" or "derived: …"


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    """Total and dimension scores with what they drive."""

    total: float
    dimensions: Mapping[str, float]
    items: tuple[ScoreItem, ...]
    profit_share: float
    risk_premia: Mapping[str, float]
    scheme: ScoringScheme

    def quality_ratio(self, comparable_score: float) -> float:
        """Q / Q_i bounded to the scheme's range (comparable score 0–100, > 0)."""
        if not 0 < comparable_score <= 100:
            raise ValueError("comparable quality score must be in (0, 100]")
        lo, hi = self.scheme.quality_ratio_bounds
        return min(hi, max(lo, self.total / comparable_score))

    def explain(self) -> list[str]:
        """Bilingual, item-by-item explanation lines."""
        lines = [
            f"{it.label_zh} / {it.label_en}: {it.score:.1f} × {it.weight:.2f} × "
            f"{self.scheme.dimension_weights[it.dimension]:.2f} = {it.contribution:.2f} ({it.source})"
            for it in self.items
        ]
        for d, s in self.dimensions.items():
            zh, en = self.scheme.dimension_labels[d]
            lines.append(f"{zh} / {en}: {s:.2f}")
        lo, hi = self.scheme.profit_share_range
        lines.append(
            f"总分 / total score S = {self.total:.2f}; 分成率 / profit share K = {lo:.4f} + "
            f"({hi:.4f} − {lo:.4f}) × {self.total:.2f}/100 = {self.profit_share:.4f}"
        )
        for k, p in self.risk_premia.items():
            plo, phi, dim = self.scheme.risk_premium_ranges[k]
            lines.append(
                f"{k} risk premium = {plo:.4f} + ({phi:.4f} − {plo:.4f}) × (1 − {self.dimensions[dim]:.2f}/100)"
                f" = {p:.4f}"
            )
        return lines


def derived_scores(asset: IPAsset, on: Any, scheme: ScoringScheme) -> dict[str, tuple[float, str]]:
    """Scores that can be read off the asset: remaining term, family size, licences (0–100)."""
    d = scheme.derivation
    out: dict[str, tuple[float, str]] = {}
    full_term = d.get("remaining_term_full_years", 15.0)
    rem = asset.remaining_legal_term(on)
    out["remaining_term"] = (100 * min(1.0, rem / full_term), f"derived: {rem:.2f} y of {full_term:g} y")
    full_fam = d.get("geographic_coverage_full_family", 10)
    out["geographic_coverage"] = (
        100 * min(1.0, max(0, asset.family_size - 1) / max(1.0, full_fam - 1)),
        f"derived: family size {asset.family_size}",
    )
    full_lic = d.get("licensing_record_full_licences", 5)
    out["licensing_record"] = (
        100 * min(1.0, len(asset.licences) / full_lic),
        f"derived: {len(asset.licences)} licence(s)",
    )
    return out


def score(
    scores: Mapping[str, float],
    scheme: ScoringScheme | None = None,
    *,
    asset: IPAsset | None = None,
    on: Any = None,
) -> IndicatorScore:
    """Combine indicator scores (0–100) into the total and what it drives.

    Missing indicators are derived from ``asset`` where possible; otherwise ``ValueError``
    names the missing indicator.
    """
    scheme = scheme or load_scheme()
    known = {i.key for i in scheme.indicators}
    for k, v in scores.items():
        if k not in known:
            raise ValueError(f"scores.{k}: unknown indicator (known: {', '.join(sorted(known))})")
        if not (isinstance(v, int | float) and math.isfinite(v) and 0 <= v <= 100):
            raise ValueError(f"scores.{k} must be a number in [0, 100]")
    derived = derived_scores(asset, on, scheme) if asset is not None and on is not None else {}
    items = []
    dims: dict[str, float] = dict.fromkeys(scheme.dimension_weights, 0.0)
    for ind in scheme.indicators:
        if ind.key in scores:
            s, src = float(scores[ind.key]), "given"
        elif ind.key in derived:
            s, src = derived[ind.key]
        else:
            raise ValueError(f"scores.{ind.key}: missing indicator score ({ind.zh} / {ind.en})")
        dims[ind.dimension] += s * ind.weight
        contrib = s * ind.weight * scheme.dimension_weights[ind.dimension]
        items.append(ScoreItem(ind.dimension, ind.key, ind.zh, ind.en, s, ind.weight, contrib, src))
    total = sum(dims[d] * w for d, w in scheme.dimension_weights.items())
    k_lo, k_hi = scheme.profit_share_range
    premia = {
        k: lo + (hi - lo) * (1 - dims[dim] / 100) for k, (lo, hi, dim) in scheme.risk_premium_ranges.items()
    }
    return IndicatorScore(total, dims, tuple(items), k_lo + (k_hi - k_lo) * total / 100, premia, scheme)
