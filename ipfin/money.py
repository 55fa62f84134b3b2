"""Exact money: integer fen (分, 0.01 CNY) and exact allocation.

Every ledger, claim, schedule and waterfall in ipfin stores money as integer fen.
CNY amounts cross the boundary as ``Decimal`` with at most two decimals; floats are
rejected here so that a binary rounding error can never reach a ledger.

Rounding rule for splits (used everywhere a whole is cut into parts): **largest
remainder** (Hamilton). Each part first gets ``floor(total * w_i / sum(w))`` fen; the
fen left over are handed out one each to the parts with the largest fractional
remainders, ties going to the earlier part in the given order. The parts are
non-negative and always sum exactly to the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TypeAlias

Fen: TypeAlias = int
"""An amount of money in integer fen (1 CNY = 100 fen)."""

FEN_PER_CNY = 100
MAX_DIGITS = 40
"""Longest amount accepted (significant digits, and digits before the point): far beyond any real
amount, small enough that exact integer arithmetic on it is instant. Larger input is a MoneyError."""
Weight: TypeAlias = int | Decimal | Fraction | str


class MoneyError(ValueError):
    """An amount that cannot be money: negative, non-finite, too precise or not a number."""


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise MoneyError("amount must be a number, not a boolean")
    if isinstance(value, float):
        raise MoneyError("amount must be given as a decimal string or Decimal, not a float")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not a number: {value!r}") from exc
    if not d.is_finite():
        raise MoneyError("amount must be finite")
    if len(d.as_tuple().digits) > MAX_DIGITS or (d and d.adjusted() >= MAX_DIGITS):
        raise MoneyError(f"amount is too large or too long to be money (at most {MAX_DIGITS} digits)")
    return d


def cny_to_fen(value: Decimal | int | str, *, allow_negative: bool = False) -> Fen:
    """Convert a CNY amount (≤ 2 decimals) to integer fen, exactly.

    Raises :class:`MoneyError` for NaN/inf, more than two decimals, or a negative
    amount unless ``allow_negative``.
    """
    d = _to_decimal(value)
    sign, digits, exponent = d.as_tuple()
    shift = int(exponent) + 2  # the power of ten, in fen, of the last digit
    if shift < 0:  # digits below the fen must all be zero
        if any(digits[shift:]):
            raise MoneyError("amount has more than 2 decimal places (fen is the smallest unit)")
        digits, shift = digits[:shift] or (0,), 0
    if d < 0 and not allow_negative:
        raise MoneyError("amount must not be negative")
    fen = int("".join(map(str, digits))) * 10**shift  # integer arithmetic: exact at any size
    return -fen if sign else fen


def fen_to_cny(fen: Fen) -> Decimal:
    """Integer fen to a CNY ``Decimal`` with exactly two decimals."""
    return Decimal(f"{int(fen)}E-2")  # exact at any size (a context quantize would refuse > 28 digits)


def round_half_even_fen(value: Decimal | Fraction) -> Fen:
    """Round an exact fen quantity to a whole fen, half to even (banker's rounding)."""
    if isinstance(value, Decimal) and not value.is_finite():
        raise MoneyError("amount must be finite")
    return round(Fraction(value))  # exact; ``round`` of a Fraction is half to even


def _as_fraction(w: Weight) -> Fraction:
    if isinstance(w, float):
        raise MoneyError("weights must be exact (int, Decimal, Fraction or str), not float")
    f = Fraction(w) if not isinstance(w, str) else Fraction(Decimal(w))
    if f < 0:
        raise MoneyError("weights must not be negative")
    return f


def split_largest_remainder(total: Fen, weights: Sequence[Weight]) -> list[Fen]:
    """Split ``total`` fen into parts proportional to ``weights``; parts sum exactly to ``total``.

    Largest-remainder rule (see module docstring). Weights are exact numbers; they need
    not sum to one (4:2:2:2 and 0.4/0.2/0.2/0.2 give the same split).
    """
    if total < 0:
        raise MoneyError("total must not be negative")
    if not weights:
        raise MoneyError("at least one weight is needed")
    fr = [_as_fraction(w) for w in weights]
    s = sum(fr, Fraction(0))
    if s == 0:
        raise MoneyError("weights must not all be zero")
    exact = [Fraction(total) * w / s for w in fr]
    parts = [int(e) for e in exact]  # floor, since e >= 0
    left = total - sum(parts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def allocate_capped(total: Fen, weights: Sequence[Weight], caps: Sequence[Fen]) -> list[Fen]:
    """Split ``total`` pro rata to ``weights`` with each part at most ``caps[i]``.

    What a capped part cannot take is re-spread over the others pro rata (water
    filling). If the caps together are below ``total`` every part gets its cap and
    the parts sum to ``sum(caps)``; otherwise they sum exactly to ``total``. Used to
    share recoveries back so that no party gets back more than it paid.
    """
    if len(weights) != len(caps):
        raise MoneyError("weights and caps must have the same length")
    if any(c < 0 for c in caps):
        raise MoneyError("caps must not be negative")
    parts = [0] * len(caps)
    remaining = min(total, sum(caps))
    active = [i for i in range(len(caps)) if caps[i] > 0 and _as_fraction(weights[i]) > 0]
    while remaining > 0 and active:
        trial = split_largest_remainder(remaining, [weights[i] for i in active])
        over = [(i, t) for i, t in zip(active, trial, strict=True) if parts[i] + t > caps[i]]
        if not over:
            for i, t in zip(active, trial, strict=True):
                parts[i] += t
            remaining = 0
            break
        for i, _ in over:
            remaining -= caps[i] - parts[i]
            parts[i] = caps[i]
        active = [i for i in active if parts[i] < caps[i]]
    if remaining > 0:  # weights of zero on parts that still have room: fill in order
        for i in range(len(caps)):
            take = min(caps[i] - parts[i], remaining)
            parts[i] += take
            remaining -= take
    return parts
