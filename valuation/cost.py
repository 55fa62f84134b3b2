"""Cost approach (成本法): replacement cost × (1 + profit margin) × (1 − obsolescence).

Replacement cost is the sum of itemised costs (R&D labour, materials, filing and agency fees,
capital cost …). Obsolescence (贬值率) may be given directly, itemised (functional, technical,
economic: combined multiplicatively, 1 − Π(1 − o_i)), or from the life split
used / (used + remaining).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CostItem:
    """One component of the replacement cost (重置成本), CNY."""

    name: str
    amount_cny: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.amount_cny) or self.amount_cny < 0:
            raise ValueError(f"cost item {self.name}: amount_cny must be a finite non-negative amount")


@dataclass(frozen=True, slots=True)
class CostValue:
    value: float
    replacement_cost: float
    profit_margin: float
    obsolescence: float
    items: tuple[CostItem, ...]
    obsolescence_items: tuple[tuple[str, float], ...]


def obsolescence_from_life(used_years: float, remaining_years: float) -> float:
    """贬值率 = 已使用年限 / (已使用年限 + 剩余使用年限)."""
    if used_years < 0 or remaining_years < 0 or used_years + remaining_years <= 0:
        raise ValueError("used_years and remaining_years must be non-negative and not both zero")
    return used_years / (used_years + remaining_years)


def combined_obsolescence(parts: Sequence[tuple[str, float]]) -> float:
    """1 − Π(1 − o_i) over functional/technical/economic obsolescence rates."""
    keep = 1.0
    for name, o in parts:
        if not 0 <= o <= 1:
            raise ValueError(f"obsolescence {name} must be in [0, 1]")
        keep *= 1 - o
    return 1 - keep


def cost_value(
    items: Sequence[CostItem],
    profit_margin: float,
    obsolescence: float | Sequence[tuple[str, float]],
) -> CostValue:
    """V = Σ items × (1 + margin) × (1 − obsolescence) (CNY)."""
    if not items:
        raise ValueError("cost items: at least one replacement cost item is needed")
    if not math.isfinite(profit_margin) or not 0 <= profit_margin < 1:
        raise ValueError("cost profit_margin must be in [0, 1)")
    obs_items: tuple[tuple[str, float], ...]
    if isinstance(obsolescence, int | float):
        if not 0 <= obsolescence <= 1:
            raise ValueError("obsolescence must be in [0, 1]")
        obs, obs_items = float(obsolescence), (("total", float(obsolescence)),)
    else:
        obs, obs_items = combined_obsolescence(obsolescence), tuple(obsolescence)
    rc = math.fsum(i.amount_cny for i in items)
    return CostValue(rc * (1 + profit_margin) * (1 - obs), rc, profit_margin, obs, tuple(items), obs_items)
