"""Credit Monte Carlo: Gaussian-copula default times, pool and tranche loss distributions.

Each obligor i has a latent X_i = a_i·Y_k(i) + b_i·ε_i with a_i = √ρ_i, b_i = √(1 − ρ_i), ε_i
standard normal and Y the industry factors (standard normals with correlation matrix C; one
factor when C = [[1]]). It defaults before its horizon T_i if Φ(X_i) < p_i = 1 − exp(−λ_i T_i)
with the constant hazard λ_i = −ln(1 − PD_i) from its annual PD; the default time is then
τ_i = −ln(1 − Φ(X_i))/λ_i (years) and the loss is LGD_i × exposure at that month.

The large homogeneous pool limit is Vasicek's, P(L ≤ x) = Φ((√(1−ρ)Φ⁻¹(x) − Φ⁻¹(PD))/√ρ),
which the tests use as the independent reference. All simulation goes through
:func:`ipfin.executor.run_chunked`: seeded per chunk, the same answer in-process or on Dask.

Tranche losses are allocated bottom-up on the pool loss (attachment/detachment, no credit for
excess spread — conservative); the implied rating compares tranche expected loss with
Moody's idealized expected-loss table at the tranche's weighted average life.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from ipfin.executor import Chunk, Executor, InProcessExecutor, make_chunks, run_chunked

from .pool import PledgeLoan, Pool, RoyaltyReceivable

# ------------------------------------------------------------------ portfolio

MAX_GROUPS = 64
"""Above this many distinct (industry, threshold, loading) obligor classes the general path is used."""



@dataclass(frozen=True)
class CreditPortfolio:
    """Obligor-level inputs for the copula, as arrays (CNY floats for exposures).

    ``exposure[i, m]`` is the exposure at default if obligor i defaults in month m+1
    (m = 0..months-1); ``horizon_months[i]`` the last month it can default (its maturity).
    """

    exposure: np.ndarray
    annual_pd: np.ndarray
    lgd: np.ndarray
    rho: np.ndarray
    industry: np.ndarray
    horizon_months: np.ndarray
    factor_correlation: np.ndarray = field(default_factory=lambda: np.ones((1, 1)))
    industry_names: tuple[str, ...] = ("all",)

    def __post_init__(self) -> None:
        n = self.exposure.shape[0]
        for name in ("annual_pd", "lgd", "rho", "industry", "horizon_months"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name}: must have one entry per obligor ({n})")
        if not np.all(np.isfinite(self.exposure)) or np.any(self.exposure < 0):
            raise ValueError("exposure: must be finite and non-negative")
        if np.any((self.annual_pd < 0) | (self.annual_pd >= 1)) or not np.all(np.isfinite(self.annual_pd)):
            raise ValueError("annual_pd: must be in [0, 1)")
        if np.any((self.lgd < 0) | (self.lgd > 1)):
            raise ValueError("lgd: must be in [0, 1]")
        if np.any((self.rho < 0) | (self.rho >= 1)):
            raise ValueError("rho: must be in [0, 1)")
        k = self.factor_correlation.shape[0]
        if self.factor_correlation.shape != (k, k) or np.any(self.industry < 0) or np.any(self.industry >= k):
            raise ValueError("factor_correlation: must be square and cover every industry index")
        try:
            np.linalg.cholesky(self.factor_correlation)
        except np.linalg.LinAlgError as exc:
            raise ValueError("factor_correlation: must be positive definite") from exc
        if np.any(self.horizon_months < 1) or np.any(self.horizon_months > self.exposure.shape[1]):
            raise ValueError("horizon_months: must be within the exposure table")

    @property
    def n(self) -> int:
        return self.exposure.shape[0]

    @cached_property
    def exposure_flat(self) -> np.ndarray:
        """The exposure table as one contiguous row-major vector (for fast gathers)."""
        return np.ascontiguousarray(self.exposure).ravel()

    @cached_property
    def default_thresholds(self) -> np.ndarray:
        """c_i = Φ⁻¹(1 − exp(−λ_i T_i)): default before the horizon iff X_i < c_i."""
        lam = -np.log1p(-self.annual_pd)
        return ndtri(np.clip(-np.expm1(-lam * self.horizon_months / 12.0), 1e-300, 1.0))

    @cached_property
    def classes(self) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """Obligor classes sharing (industry, threshold, loading): (rows of [industry, c, a], members), or
        None when there are more than :data:`MAX_GROUPS` of them."""
        return obligor_classes(self.industry, self.default_thresholds, np.sqrt(self.rho))

    @property
    def initial_exposure(self) -> float:
        return float(self.exposure[:, 0].sum())

    def stressed(
        self, pd_multiplier: float = 1.0, rho_add: float = 0.0, recovery_multiplier: float = 1.0
    ) -> CreditPortfolio:
        """A copy with PDs × m (capped below 1), correlations + Δ (within [0, 0.99]) and recoveries × m
        (LGD' = 1 − (1 − LGD)·m, within [0, 1])."""
        for name, v in (("pd_multiplier", pd_multiplier), ("recovery_multiplier", recovery_multiplier)):
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"{name}: must be finite and non-negative")
        return CreditPortfolio(
            self.exposure, np.minimum(self.annual_pd * pd_multiplier, 0.9999),
            np.clip(1.0 - (1.0 - self.lgd) * recovery_multiplier, 0.0, 1.0), np.clip(self.rho + rho_add, 0.0, 0.99),
            self.industry, self.horizon_months, self.factor_correlation, self.industry_names,
        )


def homogeneous_portfolio(
    n: int, annual_pd: float, rho: float, lgd: float = 1.0, months: int = 12, exposure: float = 1.0
) -> CreditPortfolio:
    """n identical bullet exposures over ``months`` (the Vasicek test pool)."""
    return CreditPortfolio(
        exposure=np.full((n, months), exposure), annual_pd=np.full(n, annual_pd), lgd=np.full(n, lgd),
        rho=np.full(n, rho), industry=np.zeros(n, dtype=np.int64), horizon_months=np.full(n, months),
    )


def industry_correlation(k: int, inter: float) -> np.ndarray:
    """K×K factor correlation with ``inter`` off the diagonal (industries co-move with each other)."""
    if not 0 <= inter < 1:
        raise ValueError("inter: must be in [0, 1)")
    c = np.full((k, k), inter)
    np.fill_diagonal(c, 1.0)
    return c


def portfolio_from_pool(
    pool: Pool, rho: float = 0.2, inter_industry: float | None = None, months: int | None = None
) -> CreditPortfolio:
    """Copula inputs from a pool: loans amortise on schedule; royalty exposure is what is still due.

    One factor if ``inter_industry`` is None, else one factor per industry section with
    ``inter_industry`` correlation between them (multi-factor by industry).
    """
    from .cashflows import scheduled_balance_factors

    assets: list[PledgeLoan | RoyaltyReceivable] = [*pool.loans, *pool.royalties]
    horizon = months or max(
        [a.remaining_term for a in pool.loans] + [len(r.schedule_fen) for r in pool.royalties]
    )
    exp = np.zeros((len(assets), horizon))
    hz = np.zeros(len(assets), dtype=np.int64)
    for i, a in enumerate(pool.loans):
        f = scheduled_balance_factors(a.schedule, a.annual_rate, a.term_months, horizon, a.age_months)
        exp[i] = a.balance_fen / 100.0 * f[:horizon]
        hz[i] = min(a.remaining_term, horizon)
    off = len(pool.loans)
    for j, r in enumerate(pool.royalties):
        s = np.zeros(horizon + 1)
        m = min(len(r.schedule_fen), horizon)
        s[:m] = np.array(r.schedule_fen[:m], dtype=float) / 100.0
        exp[off + j] = np.cumsum(s[::-1])[::-1][:horizon]
        hz[off + j] = m
    names = sorted({a.industry for a in assets}) if inter_industry is not None else ["all"]
    idx = np.array([names.index(a.industry) if inter_industry is not None else 0 for a in assets])
    corr = industry_correlation(len(names), inter_industry) if inter_industry is not None else np.ones((1, 1))
    return CreditPortfolio(
        exposure=exp,
        annual_pd=np.array([a.annual_pd for a in assets]),
        lgd=np.array([1.0 - a.recovery_rate for a in assets]),
        rho=np.full(len(assets), rho),
        industry=idx,
        horizon_months=hz,
        factor_correlation=corr,
        industry_names=tuple(names),
    )


# ------------------------------------------------------------------ simulation


def obligor_classes(
    industry: np.ndarray, thresholds: np.ndarray, loadings: np.ndarray, max_groups: int = MAX_GROUPS
) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """Obligors sharing (industry, default threshold c, loading a = √ρ): (rows of [industry, c, a], members),
    or None when there are more than ``max_groups`` classes (then the latent matrix is formed directly)."""
    keys = np.stack([np.asarray(industry).astype(float), thresholds, loadings], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    if uniq.shape[0] > max_groups:
        return None
    inverse = inverse.ravel()
    return uniq, [np.flatnonzero(inverse == g) for g in range(uniq.shape[0])]


def draw_copula_defaults(
    rng: np.random.Generator,
    n_paths: int,
    thresholds: np.ndarray,
    rho: np.ndarray,
    industry: np.ndarray,
    factor_correlation: np.ndarray,
    classes: tuple[np.ndarray, list[np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian-copula defaults of ``n_paths`` scenarios: (path index, obligor index, latent X) of every
    obligor with X_i = √ρ_i·Y_k(i) + √(1 − ρ_i)·ε_i below its threshold c_i.

    The factors Y (correlation ``factor_correlation``) are drawn first, then the idiosyncratic normals
    class by class when ``classes`` (from :func:`obligor_classes`) is given, else as one (paths × obligors)
    matrix. Only the defaulters are returned; the draws (and so the seeded results) are those of
    :func:`simulate_chunk`.
    """
    m, n = n_paths, thresholds.shape[0]
    chol = np.linalg.cholesky(factor_correlation)
    y = rng.standard_normal((m, chol.shape[0])) @ chol.T
    if classes is not None:
        rows_l: list[np.ndarray] = []
        cols_l: list[np.ndarray] = []
        x_l: list[np.ndarray] = []
        uniq, groups = classes
        for g, members in enumerate(groups):
            k, cg, ag = int(uniq[g, 0]), uniq[g, 1], uniq[g, 2]
            bg = math.sqrt(1.0 - ag * ag)
            sys_g = ag * y[:, k]
            eps = rng.standard_normal((m, members.size))
            idx = np.flatnonzero(eps < ((cg - sys_g) / bg)[:, None])
            r, j = np.divmod(idx, members.size)
            rows_l.append(r)
            cols_l.append(j if members.size == n else members[j])
            x_l.append(sys_g[r] + bg * eps.ravel()[idx])
        return np.concatenate(rows_l), np.concatenate(cols_l), np.concatenate(x_l)
    x = rng.standard_normal((m, n))
    x *= np.sqrt(1.0 - rho)
    x += y[:, industry] * np.sqrt(rho)
    idx = np.flatnonzero(x < thresholds)
    rows, cols = np.divmod(idx, n)
    return rows, cols, x.ravel()[idx]


@dataclass(frozen=True)
class _Task:
    """Picklable chunk task (sent to Dask workers as is)."""

    portfolio: CreditPortfolio

    def __call__(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
        return simulate_chunk(self.portfolio, chunk)


def simulate_chunk(pf: CreditPortfolio, chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
    """Pool loss (CNY) and number of defaults for each path of one chunk.

    Obligors with the same industry, default threshold and loading form a class; for a class
    the default test X < c is ε < (c − a·Y)/b with one threshold per path, so the idiosyncratic
    normals are compared in place without forming X (one pass over the 10⁸ draws). Only the
    defaulters' latent values are then built to get their default times. With more than
    :data:`MAX_GROUPS` classes the latent matrix is formed directly.
    """
    rng = chunk.rng()
    m = chunk.size
    lam = -np.log1p(-pf.annual_pd)
    rows, cols, xd = draw_copula_defaults(
        rng, m, pf.default_thresholds, pf.rho, pf.industry, pf.factor_correlation, pf.classes
    )
    u = ndtr(xd)
    lam_d = lam[cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau_months = np.where(lam_d > 0, -np.log1p(-u) / lam_d * 12.0, np.inf)
    h = pf.exposure.shape[1]
    month = np.clip(np.ceil(tau_months).astype(np.int64) - 1, 0, pf.horizon_months[cols] - 1)
    loss = np.take(pf.exposure_flat, cols * h + month) * pf.lgd[cols]
    return np.bincount(rows, weights=loss, minlength=m), np.bincount(rows, minlength=m)


@dataclass(frozen=True)
class LossDistribution:
    """Simulated pool losses (CNY) per path with the seed and sampling statistics."""

    losses: np.ndarray
    defaults: np.ndarray
    pool_balance: float
    seed: int
    chunk_size: int

    @property
    def n_paths(self) -> int:
        return self.losses.shape[0]

    @property
    def loss_rate(self) -> np.ndarray:
        return self.losses / self.pool_balance

    def expected_loss(self) -> tuple[float, float]:
        """(mean loss rate, its standard error)."""
        lr = self.loss_rate
        return float(lr.mean()), float(lr.std(ddof=1) / math.sqrt(lr.size))

    def cdf(self, x: float) -> tuple[float, float]:
        """(P(loss rate ≤ x), its binomial standard error)."""
        q = float(np.mean(self.loss_rate <= x))
        return q, math.sqrt(max(q * (1 - q), 1e-300) / self.n_paths)

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.loss_rate, q))

    def summary(self) -> dict[str, Any]:
        el, se = self.expected_loss()
        return {
            "n_paths": self.n_paths,
            "seed": self.seed,
            "expected_loss_rate": el,
            "expected_loss_rate_se": se,
            "loss_rate_p95": self.quantile(0.95),
            "loss_rate_p99": self.quantile(0.99),
            "loss_rate_p999": self.quantile(0.999),
            "mean_defaults": float(self.defaults.mean()),
        }


PROGRESS_STEPS = 20
"""A simulation with a progress callback is mapped over the executor in this many batches of chunks."""


def simulate_pool_losses(
    pf: CreditPortfolio,
    n_paths: int,
    seed: int,
    *,
    chunk_size: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[float], None] | None = None,
) -> LossDistribution:
    """Simulate ``n_paths`` pool loss scenarios in chunks (memory ≈ chunk_size × obligors × 8 bytes; by default
    about 4 MB of normals per chunk, which stays in cache).

    With ``progress``, the chunks of :func:`ipfin.executor.make_chunks` are sent to the executor in
    :data:`PROGRESS_STEPS` batches and the fraction done is reported after each; the chunks and their seeds are
    the same either way, so the losses are identical to a run without it.
    """
    if n_paths <= 0:
        raise ValueError("n_paths: must be positive")
    cs = chunk_size or max(1, min(n_paths, 500_000 // max(pf.n, 1)))
    if progress is None:
        parts = run_chunked(_Task(pf), n_paths, seed, chunk_size=cs, executor=executor)
    else:
        ex = executor or InProcessExecutor()
        chunks = make_chunks(n_paths, seed, cs)
        step = -(-len(chunks) // PROGRESS_STEPS)
        parts = []
        for b in range(0, len(chunks), step):
            parts += ex.map(_Task(pf), chunks[b : b + step])
            progress(min(b + step, len(chunks)) / len(chunks))
    return LossDistribution(
        np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
        pf.initial_exposure, seed, cs,
    )


def vasicek_cdf(x: float | np.ndarray, pd: float, rho: float) -> np.ndarray:
    """Vasicek large-pool loss-fraction CDF: Φ((√(1−ρ)Φ⁻¹(x) − Φ⁻¹(PD))/√ρ)."""
    return ndtr((math.sqrt(1 - rho) * ndtri(np.asarray(x, dtype=float)) - ndtri(pd)) / math.sqrt(rho))


# ------------------------------------------------------------------ tranches and ratings

MOODYS_IDEALIZED_EL_PCT: dict[str, tuple[float, ...]] = {
    "Aaa": (0.0000, 0.0001, 0.0004, 0.0010, 0.0016, 0.0022, 0.0029, 0.0036, 0.0045, 0.0055),
    "Aa1": (0.0003, 0.0017, 0.0055, 0.0116, 0.0171, 0.0231, 0.0297, 0.0369, 0.0451, 0.0550),
    "Aa2": (0.0007, 0.0044, 0.0143, 0.0259, 0.0374, 0.0490, 0.0611, 0.0743, 0.0902, 0.1100),
    "Aa3": (0.0017, 0.0105, 0.0325, 0.0556, 0.0781, 0.1007, 0.1249, 0.1496, 0.1799, 0.2200),
    "A1": (0.0032, 0.0204, 0.0644, 0.1040, 0.1436, 0.1815, 0.2233, 0.2628, 0.3050, 0.3850),
    "A2": (0.0060, 0.0385, 0.1221, 0.1898, 0.2569, 0.3207, 0.3905, 0.4533, 0.5179, 0.6050),
    "A3": (0.0214, 0.0825, 0.1980, 0.2970, 0.4015, 0.5065, 0.6105, 0.7050, 0.8010, 0.9185),
    "Baa1": (0.0495, 0.1540, 0.3080, 0.4565, 0.6050, 0.7535, 0.8965, 1.0285, 1.1660, 1.3090),
    "Baa2": (0.0935, 0.2585, 0.4565, 0.6600, 0.8690, 1.0835, 1.2980, 1.4905, 1.6775, 1.8700),
    "Baa3": (0.2310, 0.5775, 0.9405, 1.3090, 1.6775, 2.0350, 2.3815, 2.7335, 3.0690, 3.4375),
    "Ba1": (0.4785, 1.0835, 1.6445, 2.1945, 2.7500, 3.1350, 3.5365, 3.8960, 4.2570, 4.6365),
    "Ba2": (0.8580, 1.8260, 2.6400, 3.4375, 4.2350, 4.6695, 5.1315, 5.5055, 5.8905, 6.2920),
    "Ba3": (1.5455, 3.0305, 4.2570, 5.3845, 6.5120, 7.0180, 7.5735, 8.0245, 8.4590, 8.9650),
    "B1": (2.5740, 4.6750, 6.3855, 7.9365, 9.4545, 10.0265, 10.6425, 11.1265, 11.5885, 12.1110),
    "B2": (3.8600, 6.7265, 9.0255, 11.0660, 13.0570, 13.6345, 14.2615, 14.7510, 15.2405, 15.7465),
    "B3": (6.4350, 10.0265, 12.8150, 15.1525, 17.4460, 17.9960, 18.6010, 19.1180, 19.6350, 20.1630),
    "Caa": (14.3000, 17.8750, 21.4500, 24.1340, 26.8125, 27.4670, 28.1325, 28.7430, 29.3535, 30.0080),
}
"""Moody's idealized cumulative expected loss rates (percent) by rating and horizon 1..10 years.

Source: Moody's Investors Service, idealized expected loss table (introduced with "The Binomial
Expansion Method Applied to CBO/CLO Analysis", 1996, and used in its structured-finance
rating methodologies, e.g. "The Lognormal Method Applied to ABS Analysis", 2000). The figures
here are the widely reproduced version of that table, transcribed from secondary sources — the
original could not be consulted while writing this; verify against Moody's before relying on
an implied rating. Between whole years the rate is interpolated linearly; below 1 year it is
scaled linearly from 0; beyond 10 years the 10-year value is used.
"""


def idealized_el(rating: str, wal_years: float) -> float:
    """Moody's idealized expected loss (fraction) for ``rating`` at horizon ``wal_years``."""
    row = MOODYS_IDEALIZED_EL_PCT[rating]
    t = min(max(wal_years, 0.0), 10.0)
    if t <= 1.0:
        return row[0] / 100.0 * t
    lo = math.floor(t)
    hi = min(lo + 1, 10)
    w = t - lo
    return ((1 - w) * row[lo - 1] + w * row[hi - 1]) / 100.0


def implied_rating(expected_loss: float, wal_years: float) -> str:
    """Best rating whose idealized EL at the tranche WAL is at least the tranche's EL (else 'Ca')."""
    for rating in MOODYS_IDEALIZED_EL_PCT:
        if expected_loss <= idealized_el(rating, wal_years) + 1e-15:
            return rating
    return "Ca"


@dataclass(frozen=True)
class TrancheLossStats:
    """Tranche loss statistics from the pool loss paths (fractions of the tranche balance)."""

    name: str
    balance: float
    attachment: float
    detachment: float
    expected_loss: float
    expected_loss_se: float
    prob_any_loss: float
    prob_any_loss_se: float
    wal_years: float
    implied_rating: str
    guaranteed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def tranche_loss_stats(
    dist: LossDistribution,
    tranches: Sequence[tuple[str, float, int]],
    wal_years: dict[str, float],
    guaranteed: Sequence[str] = (),
    guarantee_cap: float | None = None,
) -> list[TrancheLossStats]:
    """Allocate each path's pool loss bottom-up: (name, balance CNY, seniority) in, stats out.

    Over-collateralisation (pool balance − notes) absorbs losses first. Tranches named in
    ``guaranteed`` are reported after the guarantor's shortfall payment (assumed to perform) and
    also "…(before guarantee)". The guarantor covers their principal losses up to
    ``guarantee_cap`` CNY per path in total (unlimited if None), most senior tranche first; the
    cap is not reduced by interest shortfalls it may also pay (those are not simulated here).
    """
    order = sorted(tranches, key=lambda t: -t[2])  # most junior first
    attach = dist.pool_balance - sum(b for _, b, _ in order)
    if attach < -1e-6:
        raise ValueError("tranches: total exceeds the pool balance")
    if guarantee_cap is not None and (not math.isfinite(guarantee_cap) or guarantee_cap < 0):
        raise ValueError("guarantee_cap: must be finite and non-negative")
    n = dist.n_paths
    raw: dict[str, tuple[float, float, float, np.ndarray]] = {}  # name -> (balance, lo, hi, loss amount per path)
    for name, bal, _rank in order:
        lo, hi = max(attach, 0.0), max(attach, 0.0) + bal
        raw[name] = (bal, lo, hi, np.clip(dist.losses - lo, 0.0, hi - lo))
        attach = hi
    after: dict[str, np.ndarray] = {}
    cap_left = np.full(n, np.inf if guarantee_cap is None else guarantee_cap)
    for name, _bal, _rank in reversed(order):  # most senior first
        if name in guaranteed:
            paid = np.minimum(raw[name][3], cap_left)
            cap_left -= paid
            after[name] = raw[name][3] - paid

    def stats(name: str, bal: float, lo: float, hi: float, amount: np.ndarray, label: str,
              is_guaranteed: bool) -> TrancheLossStats:
        loss = amount / bal
        el = float(loss.mean())
        se = float(loss.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
        pa = float(np.mean(loss > 0))
        wal = wal_years.get(name, 1.0)
        return TrancheLossStats(label, bal, lo / dist.pool_balance, hi / dist.pool_balance, el, se, pa,
                                math.sqrt(pa * (1 - pa) / n), wal, implied_rating(el, wal), guaranteed=is_guaranteed)

    out: list[TrancheLossStats] = []
    for name, bal, _rank in order:
        _, lo, hi, amount = raw[name]
        if name in after:
            out.append(stats(name, bal, lo, hi, amount, name + " (before guarantee)", False))
            out.append(stats(name, bal, lo, hi, after[name], name, True))
        else:
            out.append(stats(name, bal, lo, hi, amount, name, False))
    return out[::-1]


@dataclass(frozen=True, slots=True)
class CreditStress:
    """A credit stress: PDs × ``pd_multiplier``, correlations + ``rho_add``, recoveries × ``recovery_multiplier``."""

    pd_multiplier: float = 1.0
    rho_add: float = 0.0
    recovery_multiplier: float = 1.0


STRESS_SCENARIOS: dict[str, CreditStress] = {
    "base": CreditStress(),
    "pd_x1.5": CreditStress(pd_multiplier=1.5),
    "pd_x2": CreditStress(pd_multiplier=2.0),
    "rho_+0.15": CreditStress(rho_add=0.15),
    "recovery_halved": CreditStress(recovery_multiplier=0.5),
    "severe": CreditStress(pd_multiplier=2.0, rho_add=0.15, recovery_multiplier=0.5),
}
"""Named credit stresses for Monte Carlo runs."""


def stress_portfolio(pf: CreditPortfolio, name: str) -> CreditPortfolio:
    """Apply a named stress from :data:`STRESS_SCENARIOS`."""
    if name not in STRESS_SCENARIOS:
        raise ValueError(f"stress: unknown scenario {name!r} (known: {sorted(STRESS_SCENARIOS)})")
    st = STRESS_SCENARIOS[name]
    return pf.stressed(st.pd_multiplier, st.rho_add, st.recovery_multiplier)
