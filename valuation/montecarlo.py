"""Monte Carlo valuation (蒙特卡洛模拟) of relief-from-royalty income, vectorised and chunked.

Per path (all draws independent):

* revenue R_t = M_t × exp(Σ_{s≤t} (σ Z_s − σ²/2)), Z ~ N(0, 1): lognormal growth whose mean
  E[R_t] is the forecast M_t (base × (1 + g)^t, or the explicit forecast);
* royalty/share k ~ triangular or PERT(low, mode, high);
* economic life L ~ triangular or PERT (years), capped by the remaining legal term;
* invalidation/litigation loss at τ ~ Exponential with annual hazard h: P(τ > t) = (1 − h)^t;
* commercialisation succeeds with probability p (else the path is worth 0);
* discount rate r ~ N(r̄, sd) truncated to [0.0001, 0.99] (constant along the path).

V = success × k × (1 − tax) × Σ_t a_t × R_t × w_t × (1 + r)^−t', with life weight
w_t = clip(min(L, τ) − (t − 1), 0, 1) (income accrues pro rata while the right is alive and in
use), a_t the attribution shape and t' = t (end-year) or t − 0.5 (mid-year).

Work runs through ``ipfin.executor.run_chunked``: each chunk draws from its own child seed, so the
same seed gives bit-identical results in-process and on Dask. With ``antithetic`` every chunk
draws half its paths and mirrors them (Z → −Z, U → 1 − U); the standard error is then computed
from the pair means, which are independent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

import numpy as np
from scipy import special

from ipfin.executor import DEFAULT_CHUNK_PATHS, Chunk, Executor, run_chunked

HISTOGRAM_BINS = 40


class DistKind(StrEnum):
    TRIANGULAR = "triangular"
    PERT = "pert"


@dataclass(frozen=True, slots=True)
class ThreePoint:
    """A three-point estimate (low, mode, high) drawn as triangular or PERT (Beta) distribution."""

    low: float
    mode: float
    high: float
    kind: DistKind = DistKind.TRIANGULAR

    def __post_init__(self) -> None:
        if not all(math.isfinite(x) for x in (self.low, self.mode, self.high)):
            raise ValueError("three-point estimate must be finite")
        if not self.low <= self.mode <= self.high:
            raise ValueError("three-point estimate must satisfy low ≤ mode ≤ high")

    @classmethod
    def fixed(cls, x: float) -> ThreePoint:
        return cls(x, x, x)

    @property
    def mean(self) -> float:
        if self.kind is DistKind.PERT:
            return (self.low + 4 * self.mode + self.high) / 6
        return (self.low + self.mode + self.high) / 3

    def _pert_ab(self) -> tuple[float, float]:
        span = self.high - self.low
        return 1 + 4 * (self.mode - self.low) / span, 1 + 4 * (self.high - self.mode) / span

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF at uniforms ``u`` (so antithetic 1 − u mirrors the draw)."""
        a, c, b = self.low, self.mode, self.high
        if b == a:
            return np.full_like(u, a)
        if self.kind is DistKind.PERT:
            alpha, beta = self._pert_ab()
            return a + (b - a) * special.betaincinv(alpha, beta, u)
        fc = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1 - u) * (b - a) * (b - c))
        return np.where(u < fc, left, right)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.ppf(rng.random(size))


@dataclass(frozen=True, slots=True)
class MCSpec:
    """Inputs of one Monte Carlo valuation (CNY a year for revenue, annual fractions for rates)."""

    mean_revenue: tuple[float, ...]  # M_t for t = 1..H (H ≥ the longest possible life)
    volatility: float
    royalty: ThreePoint
    tax_rate: float
    discount_rate: float
    life: ThreePoint
    legal_term_years: float
    discount_rate_sd: float = 0.0
    success_probability: float = 1.0
    annual_hazard: float = 0.0
    mid_year: bool = False
    shape: tuple[float, ...] = field(default=())  # a_t, default 1

    def __post_init__(self) -> None:
        checks = [
            ("volatility", self.volatility, 0, 5),
            ("tax_rate", self.tax_rate, 0, 0.999999),
            ("discount_rate", self.discount_rate, 1e-6, 0.99),
            ("discount_rate_sd", self.discount_rate_sd, 0, 0.5),
            ("success_probability", self.success_probability, 0, 1),
            ("annual_hazard", self.annual_hazard, 0, 0.999999),
        ]
        for name, v, lo, hi in checks:
            if not (math.isfinite(v) and lo <= v <= hi):
                raise ValueError(f"{name} must be finite and in [{lo}, {hi}]")
        if not (self.royalty.low >= 0 and self.royalty.high <= 1):
            raise ValueError("royalty must lie in [0, 1] (1: the whole path is attributable, e.g. with-and-without)")
        if not self.life.low > 0:
            raise ValueError("life must be positive")
        if not self.legal_term_years > 0:
            raise ValueError("legal_term_years must be positive")
        if len(self.mean_revenue) < self.horizon:
            raise ValueError(f"mean_revenue must cover {self.horizon} years")
        if any(not math.isfinite(r) or r < 0 for r in self.mean_revenue):
            raise ValueError("mean_revenue must be finite and non-negative")
        if self.shape and (len(self.shape) < self.horizon or any(not 0 <= a < math.inf for a in self.shape)):
            raise ValueError("shape must cover the horizon with finite non-negative factors")

    @property
    def max_life(self) -> float:
        return min(self.life.high, self.legal_term_years)

    @property
    def horizon(self) -> int:
        return max(1, math.ceil(self.max_life - 1e-12))


@dataclass(frozen=True, slots=True)
class MCResult:
    """Distribution of the value (CNY) with its statistics; ``values`` kept for P(V < x)."""

    n_paths: int
    seed: int
    antithetic: bool
    mean: float
    std: float
    standard_error: float
    median: float
    p5: float
    p25: float
    p75: float
    p95: float
    histogram_counts: tuple[int, ...]
    histogram_edges: tuple[float, ...]
    values: np.ndarray = field(repr=False, compare=False)

    def prob_below(self, x: float) -> tuple[float, float]:
        """P(value < x) and its standard error (e.g. x = loan amount: collateral shortfall)."""
        if not math.isfinite(x):
            raise ValueError("threshold must be finite")
        p = float(np.count_nonzero(self.values < x)) / self.n_paths
        return p, math.sqrt(max(p * (1 - p), 0.0) / self.n_paths)

    def summary(self) -> dict[str, float | int | bool]:
        return {
            "n_paths": self.n_paths, "seed": self.seed, "antithetic": self.antithetic,
            "mean": self.mean, "std": self.std, "standard_error": self.standard_error,
            "median": self.median, "p5": self.p5, "p25": self.p25, "p75": self.p75, "p95": self.p95,
        }


# Values per block of the (paths × years) work arrays (512 KiB): a block (originals and their mirrors) and its
# life weights stay in cache (here 1 MiB L2 a core, 32 MiB L3) through every pass (drift, cumulative sum, exp,
# weights, sum), and blocks are long enough that the per-call cost of the column-by-column cumulative sum is small.
# Measured on 1e6 × 20 antithetic: 2^16 fastest; 2^15 about 10% slower, 2^14 about 25%.
BLOCK_VALUES = 1 << 16


def simulate_chunk(spec: MCSpec, antithetic: bool, chunk: Chunk) -> np.ndarray:
    """Values (CNY) of one chunk's paths; antithetic chunks return [originals, mirrors].

    The draws come first and in a fixed order (normals, uniforms, discount-rate normals); the paths
    are then valued in blocks small enough to stay in cache, each original next to its mirror. Each
    path's arithmetic is the same whatever the block, so values do not depend on the block size.
    """
    rng = chunk.rng()
    n = chunk.size
    h = spec.horizon
    m = n // 2 if antithetic else n
    z = np.empty((m, h))
    rng.standard_normal(out=z)
    u = np.empty((n, 4))
    rng.random(out=u[:m])
    if antithetic:
        np.subtract(1.0, u[:m], out=u[m:])
    rates = None
    if spec.discount_rate_sd > 0:
        if antithetic:
            dz = rng.standard_normal(m)
            dz = np.concatenate([dz, -dz])
        else:
            dz = rng.standard_normal(n)
        rates = np.clip(spec.discount_rate + spec.discount_rate_sd * dz, 1e-4, 0.99)
    life = np.minimum(spec.life.ppf(u[:, 1]), spec.legal_term_years)
    if spec.annual_hazard > 0:
        lam = -math.log1p(-spec.annual_hazard)
        with np.errstate(divide="ignore"):
            alive = np.minimum(life, -np.log(u[:, 2]) / lam)
    else:
        alive = life
    paths = _PathBlocks(spec, alive, rates, weighted=bool(np.any(alive < h)))
    pv = np.empty(n)
    rows = max(1, paths.rows // 2) if antithetic else paths.rows  # originals a block (as many mirrors)
    for s in range(0, m, rows):
        e = min(s + rows, m)
        # σZ, and σ(−Z) = −σZ exactly (IEEE products are symmetric in sign): the mirror costs no extra pass
        spans = [(s, e), (m + s, m + e)] if antithetic else [(s, e)]
        x = paths.buffer[: (e - s) * len(spans)]
        np.multiply(z[s:e], spec.volatility, out=x[: e - s])
        if antithetic:
            np.multiply(z[s:e], -spec.volatility, out=x[e - s:])
        paths.present_values(x, spans, pv)
    factor = spec.royalty.ppf(u[:, 0]) * (1 - spec.tax_rate)
    if spec.success_probability < 1:
        factor = factor * (u[:, 3] < spec.success_probability)
    return pv * factor


class _PathBlocks:
    """Present value (CNY) of revenue over each path's life, for blocks of scaled normals σZ."""

    def __init__(self, spec: MCSpec, alive: np.ndarray, rates: np.ndarray | None, *, weighted: bool) -> None:
        h = spec.horizon
        self.sigma = spec.volatility
        self.t = np.arange(1, h + 1, dtype=float)
        self.t_disc = self.t - 0.5 if spec.mid_year else self.t
        with np.errstate(divide="ignore"):
            log_m = np.log(np.asarray(spec.mean_revenue[:h], dtype=float))
            if spec.shape:
                log_m = log_m + np.log(np.asarray(spec.shape[:h], dtype=float))
        # log of the forecast, discounted at the fixed rate unless the rate is drawn per path
        drift = log_m - self.t_disc * math.log1p(spec.discount_rate) if rates is None else log_m
        self.rows = max(2, BLOCK_VALUES // h)
        self.buffer = np.empty((self.rows, h))
        self.drift = np.tile(drift, (self.rows, 1))  # a row per path: one contiguous add, not a broadcast per row
        self.alive, self.rates = alive, rates
        # life weights w_t, needed only if some path ends before the horizon (else a plain sum)
        self.w: np.ndarray | None = np.empty((self.rows, h)) if weighted else None

    def present_values(self, x: np.ndarray, spans: list[tuple[int, int]], pv: np.ndarray) -> None:
        """Turn block ``x`` (σZ of the paths in ``spans``, stacked) into discounted revenue; write sums to ``pv``."""
        sigma, rows = self.sigma, x.shape[0]
        if sigma > 0:
            x -= 0.5 * sigma * sigma
            for j in range(1, x.shape[1]):  # cumulative sum along the path: np.cumsum's order, in cache
                x[:, j] += x[:, j - 1]
            x += self.drift[:rows]
        else:
            x[:] = self.drift[:rows]
        if self.rates is not None:
            x -= np.log1p(np.concatenate([self.rates[a:b] for a, b in spans]))[:, None] * self.t_disc
        np.exp(x, out=x)  # x now holds discounted revenue per year
        # the spans' rows in x: [(first path, end path, first row in x)]
        rows_of = [(a, b, sum(e - s for s, e in spans[:i])) for i, (a, b) in enumerate(spans)]
        w = None if self.w is None else self.w[:rows]
        if w is not None:
            for a, b, o in rows_of:
                np.subtract.outer(self.alive[a:b], self.t - 1.0, out=w[o:o + b - a])
            np.clip(w, 0.0, 1.0, out=w)
        for a, b, o in rows_of:
            if w is None:
                x[o:o + b - a].sum(axis=1, out=pv[a:b])
            else:
                np.einsum("ij,ij->i", x[o:o + b - a], w[o:o + b - a], out=pv[a:b])


def run_monte_carlo(
    spec: MCSpec,
    n_paths: int,
    seed: int,
    *,
    antithetic: bool = False,
    chunk_size: int = DEFAULT_CHUNK_PATHS,
    executor: Executor | None = None,
    histogram_bins: int = HISTOGRAM_BINS,
) -> MCResult:
    """Simulate ``n_paths`` values through the chunked executor and summarise them."""
    if n_paths < 2:
        raise ValueError("n_paths must be at least 2")
    if antithetic and (n_paths % 2 or chunk_size % 2):
        raise ValueError("n_paths and chunk_size must be even for antithetic sampling")
    parts = run_chunked(partial(simulate_chunk, spec, antithetic), n_paths, seed,
                        chunk_size=chunk_size, executor=executor)
    values = np.concatenate(parts)
    if antithetic:
        pair_means = np.concatenate([(p[: p.size // 2] + p[p.size // 2:]) / 2 for p in parts])
        se = float(pair_means.std(ddof=1) / math.sqrt(pair_means.size))
    else:
        se = float(values.std(ddof=1) / math.sqrt(n_paths))
    return summarise(values, seed, antithetic, se, histogram_bins)


def summarise(values: np.ndarray, seed: int, antithetic: bool, se: float, bins: int) -> MCResult:
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    counts, edges = np.histogram(values, bins=bins)
    return MCResult(
        int(values.size), seed, antithetic, float(values.mean()), float(values.std(ddof=1)), se,
        float(q[2]), float(q[0]), float(q[1]), float(q[3]), float(q[4]),
        tuple(int(c) for c in counts), tuple(float(e) for e in edges), values,
    )


def mean_revenue_path(base: float, growth: float, years: int, forecast: Sequence[float] = ()) -> tuple[float, ...]:
    """M_t for t = 1..years: the explicit forecast, extended (or replaced) by base × (1 + g)^t."""
    out = []
    for t in range(1, years + 1):
        if t <= len(forecast):
            out.append(float(forecast[t - 1]))
        elif forecast:
            out.append(float(forecast[-1]) * (1 + growth) ** (t - len(forecast)))
        else:
            out.append(base * (1 + growth) ** t)
    return tuple(out)
