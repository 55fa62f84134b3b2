"""Monte Carlo of correlated collateral value shocks (:func:`run_stress_mc`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Literal

import numpy as np

from ipfin.executor import Chunk, Executor, run_chunked
from ipfin.money import Fen
from pledge.stress.book import CollateralBook
from pledge.stress.deterministic import _group_keys
from pledge.stress.scenarios import _INDUSTRIES, _IP_TYPES, BP

# ------------------------------------------------------------------ Monte Carlo of correlated shocks


@dataclass(frozen=True, slots=True)
class ShockFactorModel:
    """Lognormal one-year value factors with systematic, IP-type and industry factors.

    ``volatility``: annual σ of ln(value) per IP type (default 0.30 for types not listed);
    loadings a_s, a_t, a_g with a_s² + a_t² + a_g² ≤ 1 (the rest is idiosyncratic);
    ``mean_change`` m: expected relative value change, E[V₁/V₀] = 1 + m. All assumptions.
    """

    volatility: Mapping[str, float] = field(default_factory=lambda: {
        "invention_patent": 0.30, "utility_model": 0.35, "design": 0.35, "trademark": 0.25, "copyright": 0.35,
        "software_copyright": 0.40})
    systematic_loading: float = 0.4
    ip_type_loading: float = 0.3
    industry_loading: float = 0.3
    mean_change: float = 0.0

    def __post_init__(self) -> None:
        if self.idiosyncratic_loading_squared < -1e-12:
            raise ValueError("loadings must satisfy a_s² + a_t² + a_g² ≤ 1")
        if any(not 0 <= s < 5 for s in self.volatility.values()) or set(self.volatility) - set(_IP_TYPES):
            raise ValueError("volatility: known IP types, 0 ≤ σ < 5")
        if self.mean_change <= -1:
            raise ValueError("mean_change must be above -1")

    @property
    def idiosyncratic_loading_squared(self) -> float:
        return 1.0 - self.systematic_loading**2 - self.ip_type_loading**2 - self.industry_loading**2

    def sigma_by_type(self) -> np.ndarray:
        return np.array([self.volatility.get(t, 0.30) for t in _IP_TYPES])

    def log_correlation(self, same_type: bool, same_industry: bool) -> float:
        """Correlation of ln factors of two loans (closed form): a_s² + [same type] a_t² + [same industry] a_g²."""
        return (self.systematic_loading**2 + same_type * self.ip_type_loading**2
                + same_industry * self.industry_loading**2)


@dataclass(frozen=True, slots=True)
class _Arrays:
    """The book reduced to what a Monte Carlo chunk needs (picklable for Dask)."""

    balance: np.ndarray
    value: np.ndarray
    max_ltv: np.ndarray
    trigger: np.ndarray
    pd: np.ndarray
    type_index: np.ndarray
    industry_index: np.ndarray
    recovery: float

    @property
    def breach_below(self) -> np.ndarray:
        """A stressed value below balance ÷ trigger breaches."""
        return self.balance / self.trigger


def draw_log_factors(rng: np.random.Generator, n_scenarios: int, type_index: np.ndarray,
                     industry_index: np.ndarray, model: ShockFactorModel) -> np.ndarray:
    """ln(V₁/V₀) for ``n_scenarios`` × loans (draw order as in the module docstring).

    Examples
    --------
    >>> x = draw_log_factors(np.random.default_rng(0), 4000, np.array([0, 0]), np.array([2, 2]), ShockFactorModel())
    >>> x.shape, bool(abs(np.corrcoef(x.T)[0, 1] - ShockFactorModel().log_correlation(True, True)) < 0.05)
    ((4000, 2), True)
    """
    s = n_scenarios
    z_sys = rng.standard_normal(s)
    z_type = rng.standard_normal((s, len(_IP_TYPES)))
    z_ind = rng.standard_normal((s, len(_INDUSTRIES)))
    eps = rng.standard_normal((s, type_index.size))
    sig = model.sigma_by_type()
    a_e = np.sqrt(max(model.idiosyncratic_loading_squared, 0.0))
    # common part per (IP type, industry) cell, then gathered to loans
    cell = type_index * len(_INDUSTRIES) + industry_index
    ct = np.repeat(np.arange(len(_IP_TYPES)), len(_INDUSTRIES))
    ci = np.tile(np.arange(len(_INDUSTRIES)), len(_IP_TYPES))
    mu = np.log1p(model.mean_change) - 0.5 * sig[ct] ** 2
    common = (model.systematic_loading * z_sys[:, None] + model.ip_type_loading * z_type[:, ct]
              + model.industry_loading * z_ind[:, ci])
    common *= sig[ct]
    common += mu
    eps *= sig[type_index] * a_e
    eps += common[:, cell]
    return eps


def _mc_chunk(arrays: _Arrays, model: ShockFactorModel, chunk: Chunk) -> tuple[np.ndarray, ...]:
    rng = chunk.rng()
    x = draw_log_factors(rng, chunk.size, arrays.type_index, arrays.industry_index, model)
    np.exp(x, out=x)
    x *= arrays.value  # stressed value V₁ (float fen)
    breach = x < arrays.breach_below  # balance > trigger × V₁
    call = arrays.max_ltv * x
    np.subtract(arrays.balance, call, out=call)
    np.maximum(call, 0.0, out=call)
    call *= breach
    x *= -arrays.recovery
    x += arrays.balance
    np.maximum(x, 0.0, out=x)
    x *= arrays.pd  # expected loss per loan
    return (call.sum(axis=1), x.sum(axis=1), breach.sum(axis=1), breach.sum(axis=0),
            call.sum(axis=0), x.sum(axis=0))


@dataclass(frozen=True, slots=True)
class Quantile:
    level: float
    value_fen: Fen
    standard_error_fen: Fen


@dataclass(frozen=True, slots=True)
class MoneyDistribution:
    """Distribution over scenarios of a money total: mean ± SE and quantiles ± SE (fen)."""

    mean_fen: Fen
    standard_error_fen: Fen
    quantiles: tuple[Quantile, ...]


def summarise_distribution(x: np.ndarray, levels: Sequence[float] = (0.5, 0.9, 0.95, 0.99, 0.999)) -> MoneyDistribution:
    """Mean with SE = sd/√N, and quantiles with a distribution-free SE.

    The quantile SE is the half-width of the order-statistic 95 % confidence interval divided
    by 1.96: ranks N·q ∓ 1.96·√(N·q·(1 − q)) (normal approximation to the binomial; Conover,
    *Practical Nonparametric Statistics*, 3rd ed., 1999, §3.2). The ranks are clipped to the sample,
    so the SE is understated when N·(1 − q) is small (e.g. fewer than ~20 scenarios beyond the quantile).
    """
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = x.size
    qs = []
    for q in levels:
        half = 1.959963984540054 * np.sqrt(n * q * (1 - q))
        lo = int(np.clip(np.floor(n * q - half), 0, n - 1))
        hi = int(np.clip(np.ceil(n * q + half), 0, n - 1))
        qs.append(Quantile(q, round(float(np.quantile(x, q))), round((x[hi] - x[lo]) / (2 * 1.959963984540054))))
    se = float(x.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return MoneyDistribution(round(float(x.mean())), round(se) if n > 1 else 0, tuple(qs))


@dataclass(frozen=True, slots=True)
class StressMCResult:
    """Monte Carlo stress: per-scenario totals, and per-loan breach probability and mean amounts."""

    n_scenarios: int
    seed: int
    total_margin_call: np.ndarray  # float fen, per scenario
    total_expected_loss: np.ndarray  # float fen, per scenario
    n_breaches: np.ndarray  # per scenario
    p_breach: np.ndarray  # per loan
    mean_margin_call: np.ndarray  # float fen, per loan
    mean_expected_loss: np.ndarray  # float fen, per loan

    @property
    def p_breach_se(self) -> np.ndarray:
        return np.sqrt(self.p_breach * (1 - self.p_breach) / self.n_scenarios)

    def margin_call_distribution(self) -> MoneyDistribution:
        return summarise_distribution(self.total_margin_call)

    def expected_loss_distribution(self) -> MoneyDistribution:
        return summarise_distribution(self.total_expected_loss)


def default_chunk_size(n_loans: int) -> int:
    """Scenarios per Monte Carlo chunk: about 2²⁰ loan-scenarios, at least one scenario."""
    return max(1, 2**20 // n_loans)


def run_stress_mc(
    book: CollateralBook, model: ShockFactorModel, n_scenarios: int, seed: int, *,
    recovery_rate: float | Decimal | str = "0.40", chunk_size: int | None = None, executor: Executor | None = None,
) -> StressMCResult:
    """Monte Carlo of correlated collateral value shocks over ``book`` (see the module docstring).

    For each scenario: breach where balance > trigger × V₁; margin call (balance − max LTV × V₁)⁺
    on breaching loans; expected loss PD × (balance − recovery × V₁)⁺. ``chunk_size`` scenarios
    per chunk; by default max(1, 2²⁰ ÷ loans), so that a chunk's arrays (8 MiB each) stay in cache.
    The answer depends on the book, seed and chunk size, never on the executor.

    Examples
    --------
    >>> book = CollateralBook(np.array([500_000_00, 300_000_00]), np.array([1_000_000_00, 1_000_000_00]),
    ...     ["invention_patent", "trademark"], ["C", "I"], ["500100", "440300"], ["B1", "B2"],
    ...     max_ltv=0.5, margin_call_trigger=0.7, pd_12m=0.05)
    >>> r = run_stress_mc(book, ShockFactorModel(), 2000, seed=1)
    >>> r.p_breach.shape, bool(r.p_breach[0] > r.p_breach[1])
    ((2,), True)
    """
    if n_scenarios <= 0:
        raise ValueError("n_scenarios must be positive")
    rec = float(Decimal(str(recovery_rate)))
    if not 0 <= rec <= 1:
        raise ValueError("recovery_rate must be within [0, 1]")
    arrays = _Arrays(book.balance_fen.astype(np.float64), book.collateral_value_fen.astype(np.float64),
                     book.max_ltv_bp / BP, book.trigger_bp / BP, book.pd_12m, book.type_index,
                     book.industry_index, rec)
    if chunk_size is None:
        chunk_size = default_chunk_size(book.n)
    parts = run_chunked(partial(_mc_chunk, arrays, model), n_scenarios, seed, chunk_size=chunk_size,
                        executor=executor)
    calls = np.concatenate([p[0] for p in parts])
    losses = np.concatenate([p[1] for p in parts])
    n_breach = np.concatenate([p[2] for p in parts])
    breach_count = np.sum([p[3] for p in parts], axis=0)
    call_sum = np.sum([p[4] for p in parts], axis=0)
    loss_sum = np.sum([p[5] for p in parts], axis=0)
    return StressMCResult(n_scenarios, seed, calls, losses, n_breach, breach_count / n_scenarios,
                          call_sum / n_scenarios, loss_sum / n_scenarios)


@dataclass(frozen=True, slots=True)
class MCGroup:
    """Monte Carlo means over one bank or region: expected number of breaches, mean margin call and EL (fen)."""

    key: str
    n_loans: int
    expected_breaches: float
    mean_margin_call_fen: Fen
    mean_expected_loss_fen: Fen


def aggregate_mc(book: CollateralBook, result: StressMCResult,
                 by: Literal["bank", "province", "city"] = "bank") -> tuple[MCGroup, ...]:
    """Per-bank or per-region means of a Monte Carlo stress (keys as in :func:`aggregate`).

    Each group's money is rounded to the fen on its own (statistics), so the groups add up to the
    book's mean only to within a fen per group.
    """
    if result.p_breach.shape != (book.n,):
        raise ValueError("result does not belong to this book")
    keys = _group_keys(book, by)
    uniq, inv = np.unique(keys, return_inverse=True)
    counts = np.bincount(inv, minlength=uniq.size)
    breaches = np.bincount(inv, result.p_breach, uniq.size)
    calls = np.bincount(inv, result.mean_margin_call, uniq.size)
    losses = np.bincount(inv, result.mean_expected_loss, uniq.size)
    return tuple(MCGroup(str(k), int(counts[g]), float(breaches[g]), round(float(calls[g])), round(float(losses[g])))
                 for g, k in enumerate(uniq.tolist()))
