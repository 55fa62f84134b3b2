"""Pool projections under deterministic scenarios (a matrix of assumptions in, arrays out).

A :class:`Scenario` sets a prepayment speed (CPR, or PSA), a default stress (a multiple of each
asset's own annual PD, or a flat CDR / SDA), a recovery haircut and whether the servicer
advances. :func:`project_pool` runs every scenario against every asset at once with the BMA
formulas of :mod:`securitization.cashflows` (loans) and a survival model for royalty
receivables, and returns pool totals per scenario and month, shape ``(n_scenarios, months)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cashflows import (
    cdr_to_mdr,
    cpr_to_smm,
    project_bma,
    psa_to_cpr,
    scheduled_balance_factors,
    sda_to_cdr,
)
from .pool import Pool


@dataclass(frozen=True, slots=True)
class Scenario:
    """One deterministic assumption set.

    ``cpr``: annual voluntary prepayment rate (fraction) or ``psa`` (percent of the PSA ramp,
    loan age based) — give at most one. ``pd_multiplier`` scales each asset's annual PD
    (used as its CDR); ``cdr`` (flat annual) or ``sda`` (percent of SDA) replace it.
    ``recovery_multiplier`` scales each asset's recovery rate (a haircut below 1). Royalty
    receivables do not prepay and take ``pd_multiplier`` or a flat ``cdr`` (SDA is a mortgage
    curve and is applied to loans only).
    """

    name: str
    cpr: float | None = 0.0
    psa: float | None = None
    pd_multiplier: float = 1.0
    cdr: float | None = None
    sda: float | None = None
    recovery_multiplier: float = 1.0
    advancing: bool = False

    def __post_init__(self) -> None:
        if self.cpr is not None and self.psa is not None and self.cpr != 0.0:
            raise ValueError("scenario: give cpr or psa, not both")
        if self.cdr is not None and self.sda is not None:
            raise ValueError("scenario: give cdr or sda, not both")
        for name in ("cpr", "psa", "pd_multiplier", "cdr", "sda", "recovery_multiplier"):
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name}: must be a finite non-negative number")
        for name in ("cpr", "cdr"):
            v = getattr(self, name)
            if v is not None and v > 1:
                raise ValueError(f"{name}: is an annual fraction and must be at most 1")

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


BASE = Scenario("base")

BATCH_CELLS = 2_000_000
"""Loan × scenario × month cells projected at once (about 16 MB per array; the BMA step keeps ~20 arrays)."""


@dataclass(frozen=True)
class PoolProjection:
    """Pool totals per scenario and month (currency units, float), shape ``(S, months)``.

    ``principal`` is scheduled principal collected (with advanced principal when advancing);
    ``collections`` = principal + prepayments + recoveries + interest.
    """

    scenarios: tuple[Scenario, ...]
    principal: np.ndarray
    prepayments: np.ndarray
    defaults: np.ndarray
    recoveries: np.ndarray
    losses: np.ndarray
    interest: np.ndarray
    balance: np.ndarray
    performing_balance: np.ndarray
    initial_balance: float
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def months(self) -> int:
        return self.principal.shape[1]

    @property
    def principal_collections(self) -> np.ndarray:
        return self.principal + self.prepayments + self.recoveries

    @property
    def collections(self) -> np.ndarray:
        return self.principal_collections + self.interest

    def cumulative_default_rate(self) -> np.ndarray:
        return self.defaults.sum(axis=1) / self.initial_balance

    def cumulative_loss_rate(self) -> np.ndarray:
        return self.losses.sum(axis=1) / self.initial_balance


def _loan_rates(scen: Scenario, annual_pd: np.ndarray, age: np.ndarray, months: int) -> tuple[np.ndarray, np.ndarray]:
    """(smm, mdr) matrices (L, months) for one scenario."""
    loan_month = age[:, None] + np.arange(1, months + 1)[None, :]
    cpr = psa_to_cpr(scen.psa, loan_month) if scen.psa is not None else np.full(loan_month.shape, scen.cpr or 0.0)
    if scen.sda is not None:
        cdr = sda_to_cdr(scen.sda, loan_month)
    elif scen.cdr is not None:
        cdr = np.full(loan_month.shape, scen.cdr)
    else:
        cdr = np.broadcast_to(np.minimum(annual_pd * scen.pd_multiplier, 1.0)[:, None], loan_month.shape)
    return cpr_to_smm(np.minimum(cpr, 1.0)), cdr_to_mdr(np.minimum(cdr, 1.0))


def project_pool(pool: Pool, scenarios: Sequence[Scenario] = (BASE,)) -> PoolProjection:
    """Project every scenario against the whole pool; returns pool totals per scenario."""
    scens = tuple(scenarios)
    if not scens:
        raise ValueError("scenarios: at least one scenario is needed")
    n_s = len(scens)
    horizon = 1
    for a in pool.loans:
        horizon = max(horizon, a.remaining_term + a.recovery_lag_months)
    for r in pool.royalties:
        horizon = max(horizon, len(r.schedule_fen) + r.recovery_lag_months)
    keys = ("principal", "prepayments", "defaults", "recoveries", "losses", "interest", "balance",
            "performing_balance")
    tot = {k: np.zeros((n_s, horizon)) for k in keys}

    # loans, grouped by (recovery lag, advancing) so each group is one batched BMA projection; a group is cut
    # into batches of at most ~BATCH_CELLS (loan × scenario × month) cells so memory stays bounded for big pools
    by_lag: dict[int, list[int]] = {}
    for i, a in enumerate(pool.loans):
        by_lag.setdefault(a.recovery_lag_months, []).append(i)
    per_batch = max(1, BATCH_CELLS // (n_s * horizon))
    batches = [(lag, idx[b : b + per_batch]) for lag, idx in by_lag.items() for b in range(0, len(idx), per_batch)]
    for lag, idx in batches:
        loans = [pool.loans[i] for i in idx]
        n_l = len(loans)
        bal = np.array([a.balance_fen / 100.0 for a in loans])
        rate = np.array([a.annual_rate for a in loans])
        pd = np.array([a.annual_pd for a in loans])
        rr = np.array([a.recovery_rate for a in loans])
        age = np.array([a.age_months for a in loans])
        bf = np.stack([
            scheduled_balance_factors(a.schedule, a.annual_rate, a.term_months, horizon, a.age_months)
            for a in loans
        ])
        for adv in (False, True):
            s_idx = [s for s, sc in enumerate(scens) if sc.advancing == adv]
            if not s_idx:
                continue
            rates = [_loan_rates(scens[s], pd, age, horizon) for s in s_idx]
            smm = np.concatenate([r[0] for r in rates])
            mdr = np.concatenate([r[1] for r in rates])
            sev = np.concatenate([1.0 - np.minimum(rr * scens[s].recovery_multiplier, 1.0) for s in s_idx])
            k = len(s_idx)
            cf = project_bma(
                np.tile(bal, k), np.tile(bf, (k, 1)), np.tile(rate, k), smm, mdr, sev, lag,
                advancing=adv, zero_defaults_before_maturity=False,
            )
            per = {
                "principal": cf.expected_amortization if adv else cf.actual_amortization,
                "prepayments": cf.voluntary_prepayments,
                "defaults": cf.new_defaults,
                "recoveries": cf.principal_recovery,
                "losses": cf.principal_loss,
                "interest": cf.interest_collected,
                "balance": cf.pool_balance,
                "performing_balance": cf.performing_balance,
            }
            for key, arr in per.items():
                tot[key][s_idx] += arr.reshape(k, n_l, horizon).sum(axis=1)

    # royalty receivables: survival model, vectorised over (scenario, receivable, month)
    if pool.royalties:
        n_r = len(pool.royalties)
        sched = np.zeros((n_r, horizon))
        for j, r in enumerate(pool.royalties):
            sched[j, : len(r.schedule_fen)] = np.array(r.schedule_fen, dtype=float) / 100.0
        remaining = np.cumsum(sched[:, ::-1], axis=1)[:, ::-1]  # due from month k+1 on
        pd = np.array([r.annual_pd for r in pool.royalties])
        rr = np.array([r.recovery_rate for r in pool.royalties])
        lags = np.array([r.recovery_lag_months for r in pool.royalties])
        t = np.arange(horizon)
        for s, sc in enumerate(scens):
            cdr = np.minimum(pd * sc.pd_multiplier, 1.0) if sc.cdr is None else np.full(n_r, sc.cdr)
            h = cdr_to_mdr(cdr)[:, None]
            alive_before = (1.0 - h) ** t[None, :]
            alive_after = alive_before * (1.0 - h)
            paid = sched * alive_after
            defaulted = alive_before * h * remaining
            rec_rate = np.minimum(rr * sc.recovery_multiplier, 1.0)[:, None]
            recov = np.zeros_like(defaulted)
            loss = np.zeros_like(defaulted)
            in_recovery = np.zeros_like(defaulted)
            for j in range(n_r):
                L = int(lags[j])
                if horizon > L:
                    recov[j, L:] = rec_rate[j] * defaulted[j, : horizon - L]
                    loss[j, L:] = (1 - rec_rate[j]) * defaulted[j, : horizon - L]
                cum_def = np.cumsum(defaulted[j])
                cum_liq = np.concatenate([np.zeros(min(L, horizon)), cum_def[: horizon - L]])[:horizon]
                in_recovery[j] = cum_def - cum_liq
            perf = alive_after * np.concatenate([remaining[:, 1:], np.zeros((n_r, 1))], axis=1)
            tot["principal"][s] += paid.sum(axis=0)
            tot["defaults"][s] += defaulted.sum(axis=0)
            tot["recoveries"][s] += recov.sum(axis=0)
            tot["losses"][s] += loss.sum(axis=0)
            tot["balance"][s] += (perf + in_recovery).sum(axis=0)
            tot["performing_balance"][s] += perf.sum(axis=0)
    return PoolProjection(
        scenarios=scens, principal=tot["principal"], prepayments=tot["prepayments"], defaults=tot["defaults"],
        recoveries=tot["recoveries"], losses=tot["losses"], interest=tot["interest"], balance=tot["balance"],
        performing_balance=tot["performing_balance"], initial_balance=pool.balance_fen / 100.0,
    )
