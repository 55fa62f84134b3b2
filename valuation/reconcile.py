"""Reconciliation (评估结论的确定) of the approaches and tornado sensitivity.

Money here is integer fen. Each approach contributes round_half_even(w_i × V_i) fen and the
appraised value is defined as the sum of the contributions, so the table adds up exactly.
The range is the weighted blend of each approach's own range (income: Monte Carlo P5–P95;
market: weighted value ± one standard deviation of the adjusted comparables; cost and real
option: the point value).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from ipfin.money import Fen

WEIGHT_SUM_TOLERANCE = Decimal("1e-9")


MAX_FEN = 2**63 - 1
"""Largest amount a BIGINT ``*_fen`` column holds (≈ 9.2e16 CNY)."""


class FenRangeError(ValueError):
    """An estimate too large (in absolute value) to be stored as BIGINT fen."""


def float_to_fen(cny: float) -> Fen:
    """A CNY float estimate to integer fen, half to even (estimates only, never ledger input).

    Raises ``FenRangeError`` beyond ±``MAX_FEN`` fen (or for NaN/inf) so that a result can always
    be stored.
    """
    if not math.isfinite(cny):
        raise FenRangeError("value must be finite")
    if abs(cny) * 100 > MAX_FEN:  # checked first: quantize cannot hold more than 28 digits
        raise FenRangeError(f"{cny:.4g} CNY exceeds {MAX_FEN / 100:.3g} CNY")
    fen = int((Decimal(cny) * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return max(-MAX_FEN, min(MAX_FEN, fen))


def exact_weight(w: float | Decimal | str) -> Decimal:
    """A weight as the Decimal of its shortest decimal text (0.1 stays 0.1)."""
    d = Decimal(repr(w)) if isinstance(w, float) else Decimal(str(w))
    if not d.is_finite() or d < 0 or d > 1:
        raise ValueError("weights must be in [0, 1]")
    return d


@dataclass(frozen=True, slots=True)
class ApproachLine:
    approach: str
    value_fen: Fen
    low_fen: Fen
    high_fen: Fen
    weight: Decimal
    contribution_fen: Fen


@dataclass(frozen=True, slots=True)
class Reconciliation:
    appraised_value_fen: Fen
    low_fen: Fen
    high_fen: Fen
    lines: tuple[ApproachLine, ...]


def reconcile(
    values: Mapping[str, tuple[Fen, Fen, Fen]], weights: Mapping[str, float | Decimal | str]
) -> Reconciliation:
    """Weighted appraised value and range from (value, low, high) fen per approach.

    ``weights`` must sum to 1 (±1e-9) and every weighted approach must have a value.
    """
    ws = {}
    for k, w in weights.items():
        try:
            ws[k] = exact_weight(w)
        except (ValueError, ArithmeticError) as exc:
            raise ValueError(f"weights.{k} must be a number in [0, 1]") from exc
    total = sum(ws.values(), Decimal(0))
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(f"weights must sum to 1 (got {total})")
    lines = []
    for k, w in ws.items():
        if w == 0:
            continue
        if k not in values:
            raise ValueError(f"weights.{k}: approach has a weight but no inputs/value")
        v, lo, hi = values[k]
        q = Decimal(1)
        lines.append(ApproachLine(k, v, lo, hi, w, int((w * v).quantize(q, rounding=ROUND_HALF_EVEN))))
    low = sum(int((ln.weight * ln.low_fen).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) for ln in lines)
    high = sum(int((ln.weight * ln.high_fen).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) for ln in lines)
    return Reconciliation(sum(ln.contribution_fen for ln in lines), low, high, tuple(lines))


@dataclass(frozen=True, slots=True)
class TornadoBar:
    """Value (CNY) with one input at its low and high setting, others at base."""

    input: str
    base_input: float
    low_input: float
    high_input: float
    value_at_low: float
    value_at_high: float

    @property
    def swing(self) -> float:
        return abs(self.value_at_high - self.value_at_low)


def tornado(
    value_fn: Callable[[Mapping[str, float]], float],
    base: Mapping[str, float],
    bumps: Mapping[str, tuple[float, float]],
) -> tuple[float, list[TornadoBar]]:
    """One-at-a-time sensitivity: base value and bars sorted by swing (largest first)."""
    base_value = value_fn(base)
    bars = []
    for name, (lo, hi) in bumps.items():
        if name not in base:
            raise ValueError(f"tornado input {name} is not a model input")
        v_lo = value_fn({**base, name: lo})
        v_hi = value_fn({**base, name: hi})
        bars.append(TornadoBar(name, base[name], lo, hi, v_lo, v_hi))
    bars.sort(key=lambda b: -b.swing)
    return base_value, bars
