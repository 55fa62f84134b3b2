"""Simulation results (per-party payouts with quantiles and SEs, cap exhaustion) and the driver
:func:`simulate_rule_cost` that maps path chunks over an executor and reduces them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ipfin.executor import Executor, InProcessExecutor, make_chunks
from risk_sharing.rules import Rule
from risk_sharing.simulator.book import (
    CHUNK_PATHS,
    PER_LOAN_BATCH,
    QUANTILE_LEVELS,
    SEQUENTIAL_CHUNK_PATHS,
    RiskBook,
    _draw_batch,
)
from risk_sharing.simulator.paths import _Task
from risk_sharing.simulator.plan import _RulePlan, default_claim_lag_months


@dataclass(frozen=True)
class QuantileEstimate:
    """A quantile (CNY) at ``level`` with its distribution-free order-statistic standard error."""

    level: float
    value: float
    se: float


def quantile_with_se(x: np.ndarray, level: float) -> QuantileEstimate:
    """Sample quantile with a distribution-free SE: half the distance between the order statistics
    j ± √(N·q·(1 − q)) around j = N·q (the binomial count of paths below the quantile ± 1 SD).

    Examples
    --------
    >>> q = quantile_with_se(np.arange(1000.0), 0.9)
    >>> round(q.value, 1), q.se
    (899.1, 10.0)
    """
    s = np.sort(np.asarray(x, dtype=float))
    n = s.size
    sd = math.sqrt(n * level * (1 - level))
    lo = min(max(math.floor(n * level - sd), 0), n - 1)
    hi = min(max(math.ceil(n * level + sd), 0), n - 1)
    return QuantileEstimate(level, float(np.quantile(s, level)), float(s[hi] - s[lo]) / 2.0)


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    n = x.shape[0]
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


@dataclass(frozen=True)
class PartyCost:
    """One party's cost under the rule over the horizon (CNY).

    ``payout``: what it pays (bears) at claims on the defaults of the horizon, paid within it or
    pending; ``net_cost``: payout less recoveries shared back (discounted to the default date).
    Expected values with standard errors; quantiles 95/99/99.9%. ``expected_payout_by_year``: by
    payment year; ``expected_pending``: payouts falling after the horizon (claim lag), so
    ``expected_payout = Σ expected_payout_by_year + expected_pending``.
    """

    key: str
    share: float
    compensating: bool
    expected_payout: float
    expected_payout_se: float
    payout_quantiles: tuple[QuantileEstimate, ...]
    expected_net_cost: float
    expected_net_cost_se: float
    net_cost_quantiles: tuple[QuantileEstimate, ...]
    expected_payout_by_year: tuple[float, ...]
    expected_pending: float = 0.0
    expected_pending_se: float = 0.0

    def quantile(self, level: float, net: bool = False) -> QuantileEstimate:
        for q in self.net_cost_quantiles if net else self.payout_quantiles:
            if abs(q.level - level) < 1e-12:
                return q
        raise KeyError(level)


@dataclass(frozen=True)
class CapExhaustion:
    """How often a cumulative cap (annual budget, balance, payout-rate ceiling, …) binds.

    ``probability``: P(it cuts a claim in some year of the horizon) with its binomial SE;
    ``first_year``: P(it first binds in year y), y = 0..years−1 (year 0 = the first year).
    """

    cap: str
    probability: float
    probability_se: float
    first_year: tuple[float, ...]


@dataclass(frozen=True)
class RuleCost:
    """Simulated cost of a rule for a book: per-path arrays (CNY) and their summaries.

    Arrays: ``payout``, ``net_cost``, ``pv_net_cost`` (n_paths × parties; PV to origination at the
    book's discount rate), ``payout_by_year`` (n_paths × years × parties, by the year the payout is
    paid: ``claim_lag_months`` after default), ``pending`` (n_paths × parties: payouts on defaults
    of the horizon paid after it), ``outside_scheme`` (loss
    not borne under the rule: ineligible loans, uncounted loss, net of recoveries), ``economic_loss``
    (all loans, net of recoveries), ``defaults``; ``cap_first_year[name]`` the first payment year each
    cap binds per path within the horizon (``years`` = never). Per-loan PV net cost means and SEs with ``per_loan``.
    """

    rule_id: str
    rule_version: int
    parties: tuple[str, ...]
    n_paths: int
    seed: int
    years: int
    chunk_size: int
    method: str
    payout: np.ndarray = field(repr=False)
    net_cost: np.ndarray = field(repr=False)
    pv_net_cost: np.ndarray = field(repr=False)
    payout_by_year: np.ndarray = field(repr=False)
    outside_scheme: np.ndarray = field(repr=False)
    economic_loss: np.ndarray = field(repr=False)
    defaults: np.ndarray = field(repr=False)
    cap_first_year: dict[str, np.ndarray] = field(repr=False)
    party_costs: tuple[PartyCost, ...] = ()
    cap_exhaustion: tuple[CapExhaustion, ...] = ()
    loan_pv_net_cost: np.ndarray | None = field(default=None, repr=False)
    loan_pv_net_cost_se: np.ndarray | None = field(default=None, repr=False)
    claim_lag_months: int = 0
    pending: np.ndarray | None = field(default=None, repr=False)

    def party(self, key: str) -> PartyCost:
        for p in self.party_costs:
            if p.key == key:
                return p
        raise KeyError(key)

    def exhaustion(self, cap: str) -> CapExhaustion:
        for c in self.cap_exhaustion:
            if c.cap == cap:
                return c
        raise KeyError(cap)

    def summary(self) -> dict[str, object]:
        """Plain numbers for reports (CNY; probabilities as fractions)."""
        return {
            "rule": f"{self.rule_id} v{self.rule_version}", "n_paths": self.n_paths, "seed": self.seed,
            "years": self.years, "method": self.method, "claim_lag_months": self.claim_lag_months,
            "parties": {
                p.key: {
                    "expected_payout": p.expected_payout, "expected_payout_se": p.expected_payout_se,
                    **{f"payout_p{q.level * 100:g}": q.value for q in p.payout_quantiles},
                    "expected_net_cost": p.expected_net_cost, "expected_net_cost_se": p.expected_net_cost_se,
                    "expected_pending": p.expected_pending,
                }
                for p in self.party_costs
            },
            "caps": {c.cap: {"probability": c.probability, "se": c.probability_se, "first_year": c.first_year}
                     for c in self.cap_exhaustion},
        }


def simulate_rule_cost(
    rule: Rule,
    book: RiskBook,
    n_paths: int,
    seed: int,
    *,
    years: int = 1,
    chunk_size: int | None = None,
    executor: Executor | None = None,
    per_loan: bool = False,
    party_balance_cny: dict[str, float] | None = None,
    sequential: bool = False,
    claim_lag_months: int | None = None,
) -> RuleCost:
    """Simulate ``n_paths`` scenarios of the book under the rule over ``years`` (module doc).

    ``chunk_size`` paths per chunk (default :data:`CHUNK_PATHS` or :data:`SEQUENTIAL_CHUNK_PATHS`; normals
    are drawn :data:`DRAW_NORMALS` at a time whatever the chunk); results depend on (seed, chunk_size) only.
    ``per_loan`` adds each loan's expected PV net cost per party (for :mod:`risk_sharing.fee`);
    ``party_balance_cny`` the opening fund balances of ``balance_limited`` parties (not replenished);
    ``sequential`` forces the rank-by-rank path even without cumulative caps (same results; for checking);
    ``claim_lag_months`` the months from default to payout (default :func:`default_claim_lag_months` of the
    rule, an assumption): payouts, budgets, payout-rate ceilings and cap exhaustion fall in the payment year,
    payouts after the horizon are reported as pending. Recoveries still arrive ``recovery_years`` after
    default and PVs discount from the default date (the lag moves cash between years, not its value).

    Examples
    --------
    >>> from risk_sharing.presets import load_preset
    >>> from risk_sharing.simulator import homogeneous_book
    >>> book = homogeneous_book(100, 1e6, 0.05, 0.1, 6e5)
    >>> res = simulate_rule_cost(load_preset("chongqing-4222"), book, 200, seed=1)
    >>> [p.key for p in res.party_costs]
    ['guarantor', 'reguarantor', 'nfgf', 'bank']
    >>> res.party("nfgf").expected_net_cost == res.party("bank").expected_net_cost  # both 20%
    True
    """
    if n_paths < 2:
        raise ValueError("n_paths: must be at least 2")
    if years < 1:
        raise ValueError("years: must be at least 1")
    lag = default_claim_lag_months(rule) if claim_lag_months is None else claim_lag_months
    if not isinstance(lag, int) or isinstance(lag, bool) or lag < 0:
        raise ValueError("claim_lag_months: must be a non-negative whole number of months")
    plan = _RulePlan.from_rule(rule, party_balance_cny)
    seq = sequential or (bool(plan.cumulative_caps) and not plan.running_sums)
    cs = chunk_size or min(n_paths, max(_draw_batch(book.n), SEQUENTIAL_CHUNK_PATHS if seq else CHUNK_PATHS))
    task = _Task(book, plan, years, sequential, per_loan, lag).warm()
    ex = executor or InProcessExecutor()
    chunks = make_chunks(n_paths, seed, cs)
    parts: list[dict[str, np.ndarray]] = []
    loan_sum = loan_sq = None
    step = PER_LOAN_BATCH if per_loan else len(chunks)
    for b in range(0, len(chunks), step):
        batch = ex.map(task, chunks[b : b + step])
        for part in batch:
            if per_loan:
                ls, lq = part.pop("loan_pv_net"), part.pop("loan_pv_net_sq")
                loan_sum = ls if loan_sum is None else loan_sum + ls
                loan_sq = lq if loan_sq is None else loan_sq + lq
            parts.append(part)

    def cat(name: str) -> np.ndarray:
        return np.concatenate([p[name] for p in parts])

    payout, net, pv_net = cat("payout"), cat("net"), cat("pv_net")
    by_year, pending = cat("payout_year"), cat("pending")
    caps = plan.cumulative_caps
    first = {name: cat("first_bind:" + name) for name in caps}
    comp = set(plan.comp.tolist())
    party_costs = []
    for j, key in enumerate(plan.keys):
        ep, ep_se = _mean_se(payout[:, j])
        en, en_se = _mean_se(net[:, j])
        pe, pe_se = _mean_se(pending[:, j])
        party_costs.append(PartyCost(
            key, float(plan.shares[j]), j in comp, ep, ep_se,
            tuple(quantile_with_se(payout[:, j], q) for q in QUANTILE_LEVELS), en, en_se,
            tuple(quantile_with_se(net[:, j], q) for q in QUANTILE_LEVELS),
            tuple(float(v) for v in by_year[:, :, j].mean(axis=0)), pe, pe_se,
        ))
    exhaustion = []
    for name in caps:
        f = first[name]
        prob = float(np.mean(f < years))
        exhaustion.append(CapExhaustion(
            name, prob, math.sqrt(prob * (1 - prob) / n_paths),
            tuple(float(np.mean(f == y)) for y in range(years)),
        ))
    loan_mean = loan_se = None
    if per_loan and loan_sum is not None and loan_sq is not None:
        loan_mean = loan_sum / n_paths
        var = np.maximum(loan_sq / n_paths - loan_mean**2, 0.0) * n_paths / (n_paths - 1)
        loan_se = np.sqrt(var / n_paths)
    return RuleCost(
        rule.id, rule.version, plan.keys, n_paths, seed, years, cs,
        "sequential" if seq else ("running sums" if plan.cumulative_caps else "vectorised"),
        payout, net, pv_net, by_year, cat("outside"), cat("economic"), cat("defaults"), first,
        tuple(party_costs), tuple(exhaustion), loan_mean, loan_se, lag, pending,
    )

