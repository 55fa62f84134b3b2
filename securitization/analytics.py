"""Tranche analytics on projected cash flows: price/yield, spread, WAL, durations.

Two conventions:

* :func:`tranche_analytics` — dated flows on the China calendar through the QuantLib adapter
  (:func:`ipfin.ql.cashflow_analytics`): Actual/365F, compounding ``frequency`` times a year
  (1 = annual, as Chinese ABS yields are usually quoted). Price is per 100 of original face.
* :func:`bma_yield_table` — the Standard Formulas G.1 measures (SF-48..SF-51): bond-equivalent
  (semiannual) yield on 30/360 times, average life, Macaulay and modified duration, cash-flow
  convexity. Used to check the projection against the published GNMA example.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.optimize import brentq

from ipfin import ql
from ipfin.money import Fen


@dataclass(frozen=True, slots=True)
class TrancheAnalytics:
    """Price per 100 of face (dirty), yield (annual fraction), WAL and durations in years."""

    price: float
    yield_rate: float
    spread: float | None
    wal_years: float
    macaulay_duration: float
    modified_duration: float
    convexity: float

    def to_dict(self) -> dict[str, float | None]:
        return {k: getattr(self, k) for k in self.__slots__}


def weighted_average_life(flows: Sequence[tuple[date, Fen, Fen]], settlement: date) -> float:
    """WAL (years, Act/365F) = Σ t_k × principal_k / Σ principal_k over flows after settlement."""
    num = den = 0.0
    for d, _i, p in flows:
        if d > settlement and p > 0:
            num += ql.year_fraction(settlement, d, "act365f") * p
            den += p
    if den == 0:
        raise ValueError("flows: no principal after settlement, WAL undefined")
    return num / den


def tranche_analytics(
    flows: Sequence[tuple[date, Fen, Fen]],
    face_fen: Fen,
    settlement: date,
    *,
    yield_rate: float | None = None,
    price: float | None = None,
    spread: float | None = None,
    benchmark_yield: float | None = None,
    frequency: int = 1,
) -> TrancheAnalytics:
    """Analytics of one tranche's projected (date, interest fen, principal fen) flows.

    Give exactly one of: ``yield_rate``; ``price`` (per 100 of ``face_fen``, dirty); or
    ``spread`` together with ``benchmark_yield`` (yield = benchmark + spread, a flat spread).
    """
    if face_fen <= 0:
        raise ValueError("face_fen: must be positive")
    if spread is not None:
        if benchmark_yield is None:
            raise ValueError("benchmark_yield: needed with spread")
        if yield_rate is not None or price is not None:
            raise ValueError("give one of yield_rate, price or spread")
        yield_rate = benchmark_yield + spread
    future = [(d, (i + p) * 100.0 / face_fen) for d, i, p in flows if d > settlement and (i + p) > 0]
    if not future:
        raise ValueError("flows: nothing is paid after settlement")
    res = ql.cashflow_analytics(future, settlement, yield_rate=yield_rate, price=price, frequency=frequency)
    spr = res.yield_rate - benchmark_yield if benchmark_yield is not None else None
    return TrancheAnalytics(
        res.dirty_price, res.yield_rate, spr, weighted_average_life(flows, settlement),
        res.macaulay_duration, res.modified_duration, res.convexity,
    )


@dataclass(frozen=True, slots=True)
class BMAYieldTable:
    """SF-48..49 measures: yields in percent, times in years (30/360), convexity in years²/100."""

    price: float
    yield_pct: float
    mortgage_yield_pct: float
    average_life: float
    duration: float
    modified_duration: float
    convexity: float


def bma_yield_table(
    cash_flows: np.ndarray, principal: np.ndarray, times: np.ndarray, price: float
) -> BMAYieldTable:
    """Bond-equivalent yield Y solving P = Σ CF_k (1 + Y/200)^(−2T_k), and the SF-49 measures."""
    cf = np.asarray(cash_flows, dtype=float)
    t = np.asarray(times, dtype=float)
    pr = np.asarray(principal, dtype=float)

    def pv(y: float) -> float:
        return float(np.sum(cf * (1 + y / 200.0) ** (-2 * t)))

    y = brentq(lambda v: pv(v) - price, -50.0, 200.0, xtol=1e-14, rtol=1e-15, maxiter=500)
    disc = (1 + y / 200.0) ** (-2 * t)
    p = float(np.sum(cf * disc))
    dur = float(np.sum(t * cf * disc)) / p
    conv = float(np.sum(t * (t + 0.5) * cf * disc)) / (p * (1 + y / 200.0) ** 2) / 100.0
    return BMAYieldTable(
        price=p,
        yield_pct=y,
        mortgage_yield_pct=1200.0 * ((1 + y / 200.0) ** (1 / 6) - 1),
        average_life=float(np.sum(t * pr) / np.sum(pr)),
        duration=dur,
        modified_duration=dur / (1 + y / 200.0),
        convexity=conv,
    )
