"""Market approach (市场法): comparable transactions adjusted factor by factor.

V_i = P_i × (Q / Q_i) × life factor × time factor × scope factor × transaction-type factor,
V = Σ w_i V_i / Σ w_i, with the dispersion of the V_i and the adjusted table returned.

The remaining-life factor is the annuity ratio a(L)/a(L_i) with a(n) = (1 − (1 + r)^−n)/r when a
discount rate r is given (剩余寿命修正系数: income over the remaining life, discounted), or the
plain ratio L/L_i otherwise. The time factor is price index now / index at the transaction date.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Comparable:
    """A comparable transaction (可比交易案例), price in CNY, adjustment inputs as stated factors."""

    ref: str
    price_cny: float
    quality_score: float  # 0–100, same scale as the subject's indicator score
    remaining_life_years: float
    time_index_ratio: float = 1.0  # price index at valuation date / index at transaction date
    scope_factor: float = 1.0  # exclusivity, territory, field of use
    transaction_type_factor: float = 1.0  # e.g. transfer vs licence, related party, distressed sale
    weight: float = 1.0

    def __post_init__(self) -> None:
        for name in ("price_cny", "remaining_life_years", "time_index_ratio", "scope_factor",
                     "transaction_type_factor", "weight"):
            v = getattr(self, name)
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"comparable {self.ref}: {name} must be a positive finite number")
        if not 0 < self.quality_score <= 100:
            raise ValueError(f"comparable {self.ref}: quality_score must be in (0, 100]")


@dataclass(frozen=True, slots=True)
class AdjustedComparable:
    ref: str
    price_cny: float
    quality_ratio: float
    life_factor: float
    time_factor: float
    scope_factor: float
    transaction_type_factor: float
    adjusted_value: float
    weight: float


@dataclass(frozen=True, slots=True)
class MarketValue:
    """Weighted mean of adjusted comparables and their dispersion (CNY)."""

    value: float
    mean: float
    median: float
    std: float
    coefficient_of_variation: float
    low: float
    high: float
    table: tuple[AdjustedComparable, ...]


def annuity_factor(years: float, rate: float) -> float:
    """a(n) = (1 − (1 + r)^−n) / r; n when r = 0."""
    if rate == 0:
        return years
    return (1 - (1 + rate) ** -years) / rate


def market_value(
    comparables: Sequence[Comparable],
    subject_quality_score: float,
    subject_remaining_life_years: float,
    *,
    discount_rate: float | None = None,
    quality_ratio_bounds: tuple[float, float] = (0.5, 2.0),
) -> MarketValue:
    """Adjust each comparable to the subject and combine them (see module docstring)."""
    if not comparables:
        raise ValueError("comparables: at least one comparable transaction is needed")
    if not 0 < subject_quality_score <= 100:
        raise ValueError("subject_quality_score must be in (0, 100]")
    if not subject_remaining_life_years > 0:
        raise ValueError("subject_remaining_life_years must be positive")
    if discount_rate is not None and not 0 <= discount_rate < 1:
        raise ValueError("discount_rate must be in [0, 1)")
    lo_q, hi_q = quality_ratio_bounds
    rows = []
    for c in comparables:
        q = min(hi_q, max(lo_q, subject_quality_score / c.quality_score))
        if discount_rate is None:
            life = subject_remaining_life_years / c.remaining_life_years
        else:
            life = annuity_factor(subject_remaining_life_years, discount_rate) / annuity_factor(
                c.remaining_life_years, discount_rate
            )
        v = c.price_cny * q * life * c.time_index_ratio * c.scope_factor * c.transaction_type_factor
        rows.append(
            AdjustedComparable(c.ref, c.price_cny, q, life, c.time_index_ratio, c.scope_factor,
                               c.transaction_type_factor, v, c.weight)
        )
    vals = [r.adjusted_value for r in rows]
    wsum = sum(r.weight for r in rows)
    value = sum(r.adjusted_value * r.weight for r in rows) / wsum
    mean = statistics.fmean(vals)
    std = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return MarketValue(value, mean, statistics.median(vals), std, std / mean if mean else 0.0,
                       min(vals), max(vals), tuple(rows))
