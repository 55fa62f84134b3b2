"""One chunk of scenario paths: copula defaults, collateral and recoveries, and the rule applied by one of
three exact code paths — all claims at once (vectorised), capped running sums over the claims in time order,
or rank by rank within each path (sequential); see :mod:`risk_sharing.simulator`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import ndtr, ndtri

from ipfin.executor import Chunk
from risk_sharing.rules import LossBasis
from risk_sharing.simulator.book import RiskBook, _draw_batch
from risk_sharing.simulator.plan import _RulePlan, split_loss_vectorised
from securitization.credit import draw_copula_defaults, obligor_classes


@dataclass(frozen=True)
class _Task:
    """Picklable chunk task (sent to Dask workers as is)."""

    book: RiskBook
    plan: _RulePlan
    years: int
    sequential: bool
    per_loan: bool

    @cached_property
    def terms(self) -> np.ndarray:
        return self.book.terms(self.years)

    @cached_property
    def thresholds(self) -> np.ndarray:
        lam = -np.log1p(-self.book.annual_pd)
        return ndtri(np.clip(-np.expm1(-lam * self.terms), 1e-300, 1.0))

    @cached_property
    def classes(self) -> tuple[np.ndarray, list[np.ndarray]] | None:
        assert self.book.sector is not None  # filled by RiskBook.__post_init__
        return obligor_classes(self.book.sector, self.thresholds, np.sqrt(self.book.rho))

    @cached_property
    def covered_by_year(self) -> np.ndarray:
        """Eligible principal scheduled to be outstanding at the start of each year (the payout-rate
        denominator, 在保余额; loans that defaulted earlier in the path are not removed), CNY."""
        b = self.book
        return np.array([float(np.sum(b.ead * b.eligible * (self.terms > y))) for y in range(self.years)])

    def warm(self) -> _Task:
        """Compute the cached per-book arrays once (before the task is pickled to workers)."""
        _ = self.terms, self.thresholds, self.classes, self.covered_by_year
        return self

    def __call__(self, chunk: Chunk) -> dict[str, np.ndarray]:
        return _simulate_chunk(self, chunk)


def _simulate_chunk(task: _Task, chunk: Chunk) -> dict[str, np.ndarray]:
    book, plan, years = task.book, task.plan, task.years
    assert book.sector is not None and book.collateral_worthless_prob is not None  # filled by RiskBook.__post_init__
    assert book.interest_at_default is not None and book.ip_pledged_share is not None
    assert book.eligible is not None  # filled by RiskBook.__post_init__
    rng = chunk.rng()
    m = chunk.size
    sub = _draw_batch(book.n)
    drawn = [
        draw_copula_defaults(
            rng, min(sub, m - s), task.thresholds, book.rho, book.sector, book.factor_correlation, task.classes
        )
        for s in range(0, m, sub)
    ]
    rows = np.concatenate([d[0] + s for d, s in zip(drawn, range(0, m, sub), strict=True)])
    cols = np.concatenate([d[1] for d in drawn])
    x = np.concatenate([d[2] for d in drawn])
    nd = rows.size
    z = rng.standard_normal(nd)
    worthless = rng.random(nd) < book.collateral_worthless_prob[cols] if np.any(book.collateral_worthless_prob) \
        else np.zeros(nd, dtype=bool)
    lam = -np.log1p(-book.annual_pd[cols])
    tau = -np.log1p(-ndtr(x)) / lam
    year = np.minimum(np.floor(tau).astype(np.int64), task.terms[cols] - 1)
    caps = plan.cumulative_caps
    ordered = task.sequential or bool(caps)
    if ordered:  # claims in time order within each path (budgets are used up by the earliest claims)
        order = np.argsort(rows * (years + 1.0) + np.minimum(tau, years), kind="stable")
        rows, cols, tau, year, z, worthless = (a[order] for a in (rows, cols, tau, year, z, worthless))

    exposure = book.ead[cols] + book.interest_at_default[cols]
    value = book.collateral_median[cols] * np.exp(book.collateral_sigma[cols] * z)
    value[worthless] = 0.0
    recovery = value * (1.0 - book.disposal_cost[cols])  # nominal, at τ + recovery_years
    r = book.discount_rate
    d_rec = (1.0 + r) ** (-book.recovery_years[cols])
    df_tau = (1.0 + r) ** (-tau)

    if plan.basis is LossBasis.PRINCIPAL_ONLY:
        gross = book.ead[cols].copy()
    elif plan.basis is LossBasis.PRINCIPAL_PLUS_INTEREST:
        gross = exposure.copy()
    else:
        gross = book.ead[cols] * book.ip_pledged_share[cols]
    gross *= book.eligible[cols]
    base0 = np.minimum(gross, plan.base_per_loan)

    p = plan.shares.size
    rec_scheme = np.minimum(recovery, base0)
    economic = exposure - d_rec * np.minimum(recovery, exposure)
    if not ordered and plan.comp_per_loan == math.inf and not plan.recovery_priority and not plan.per_loan_limited:
        # no caps: every party's part of every claim is its share of the base, and pro rata recoveries keep
        # that proportion — aggregate the claim totals once and scale by the shares (the same numbers)
        net_claim = base0 - d_rec * rec_scheme
        pv_claim = net_claim * df_tau
        sh = plan.shares[None, :]
        out: dict[str, np.ndarray] = {
            "payout": np.bincount(rows, base0, m)[:, None] * sh,
            "net": np.bincount(rows, net_claim, m)[:, None] * sh,
            "pv_net": np.bincount(rows, pv_claim, m)[:, None] * sh,
            "payout_year": (np.bincount(rows * years + year, base0, m * years)[:, None] * sh).reshape(m, years, p),
            "outside": np.bincount(rows, economic - net_claim, m),
            "economic": np.bincount(rows, economic, m),
            "defaults": np.bincount(rows, minlength=m),
        }
        if task.per_loan:
            out["loan_pv_net"] = np.bincount(cols, pv_claim, book.n)[:, None] * sh
            out["loan_pv_net_sq"] = np.bincount(cols, pv_claim * pv_claim, book.n)[:, None] * sh * sh
        return out

    if task.sequential or (caps and not plan.running_sums):
        payable, base, binds = _sequential_split(task, rows, cols, year, base0, m)
    elif caps:
        payable, base, binds = _running_sum_split(task, rows, cols, year, base0)
    else:
        agg = np.full(nd, plan.comp_per_loan) if plan.comp_per_loan < math.inf else None
        payable, _, _ = split_loss_vectorised(plan, base0, plan.per_loan_headroom(nd), agg)
        base, binds = base0, {}

    # recoveries shared back (nominal), never more than paid in total; the surplus stays outside the scheme
    rec_scheme = np.minimum(recovery, base)
    pay_t = np.ascontiguousarray(payable.T)  # parties × claims
    rec_t = np.zeros_like(pay_t)
    left = rec_scheme.copy()
    paid_t = pay_t.copy()
    for j in plan.recovery_priority:
        take = np.minimum(left, paid_t[j])
        rec_t[j] = take
        left -= take
        paid_t[j] = 0.0
    tot = paid_t.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rec_t += paid_t * np.where(tot > 0, left / tot, 0.0)[None, :]
    net_t = pay_t - d_rec[None, :] * rec_t
    outside = economic - net_t.sum(axis=0)
    path_year = rows * years + year

    out = {
        "payout": np.stack([np.bincount(rows, pay_t[j], m) for j in range(p)], axis=1),
        "net": np.stack([np.bincount(rows, net_t[j], m) for j in range(p)], axis=1),
        "pv_net": np.stack([np.bincount(rows, net_t[j] * df_tau, m) for j in range(p)], axis=1),
        "payout_year": np.stack(
            [np.bincount(path_year, pay_t[j], m * years) for j in range(p)], axis=1
        ).reshape(m, years, p),
        "outside": np.bincount(rows, outside, m),
        "economic": np.bincount(rows, economic, m),
        "defaults": np.bincount(rows, minlength=m),
    }
    for name in caps:
        first = np.full(m, years, dtype=np.int64)
        sel = binds.get(name)
        if sel is not None and sel.any():
            np.minimum.at(first, rows[sel], year[sel])
        out["first_bind:" + name] = first
    if task.per_loan:
        n = book.n
        pv_t = net_t * df_tau[None, :]
        out["loan_pv_net"] = np.stack([np.bincount(cols, pv_t[j], n) for j in range(p)], axis=1)
        out["loan_pv_net_sq"] = np.stack([np.bincount(cols, pv_t[j] ** 2, n) for j in range(p)], axis=1)
    return out


def _capped_running_sum(v: np.ndarray, key: np.ndarray, cap: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Claims paid in order under a cumulative cap per group: part_k = min(C_k, cap) − min(C_{k−1}, cap) with C the
    running sum of the demands ``v`` within the claim's ``key`` group (claims in time order within a group); the
    cap binds on claim k when C_k > cap. ``cap`` is a number or one per claim (constant within a group)."""
    if v.size == 0:
        return v.copy(), np.zeros(0, dtype=bool)
    o = np.argsort(key, kind="stable")
    vs, ks = v[o], key[o]
    cs = np.cumsum(vs)
    start = np.concatenate([[True], ks[1:] != ks[:-1]])
    c = cs - (cs - vs)[start][np.cumsum(start) - 1]
    cap_s = cap[o] if isinstance(cap, np.ndarray) else cap
    paid = np.maximum(np.minimum(c, cap_s) - np.minimum(c - vs, cap_s), 0.0)
    out_paid = np.empty_like(v)
    out_bind = np.empty(v.size, dtype=bool)
    out_paid[o] = paid
    out_bind[o] = (c > cap_s) & (vs > 0)
    return out_paid, out_bind


def _running_sum_split(
    task: _Task, rows: np.ndarray, cols: np.ndarray, year: np.ndarray, base0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """All claims at once when :attr:`_RulePlan.running_sums` holds (the same result as claim by claim)."""
    plan, book = task.plan, task.book
    assert book.borrower is not None and book.lender is not None  # filled by RiskBook.__post_init__
    binds: dict[str, np.ndarray] = {}
    base = base0
    bor, lend = book.borrower[cols], book.lender[cols]
    if plan.base_per_borrower_year < math.inf:
        base, binds["base_per_borrower_year"] = _capped_running_sum(
            base0, _compact(rows, bor, year)[0], plan.base_per_borrower_year
        )
    agg = np.full(base.size, plan.comp_per_loan) if plan.comp_per_loan < math.inf else None
    payable, _, _ = split_loss_vectorised(plan, base, plan.per_loan_headroom(base.size), agg)
    path_year = rows * task.years + year
    for j, idx in enumerate(plan.comp):
        for name, cap, key in (
            (f"party_year[{plan.keys[idx]}]", plan.party_year[j], path_year),
            (f"fund_balance[{plan.keys[idx]}]", plan.party_balance[j], rows),
        ):
            if cap < math.inf:
                payable[:, idx], binds[name] = _capped_running_sum(payable[:, idx], key, float(cap))
    aggregate: tuple[str, np.ndarray, float | np.ndarray] | None = None
    if plan.payout_rate_ceiling < math.inf:
        aggregate = ("payout_rate_ceiling", path_year, plan.payout_rate_ceiling * task.covered_by_year[year])
    elif plan.comp_per_borrower_year < math.inf:
        aggregate = ("compensation_per_borrower_year", _compact(rows, bor, year)[0], plan.comp_per_borrower_year)
    elif plan.comp_per_borrower_lifetime < math.inf:
        aggregate = ("compensation_per_borrower_lifetime", _compact(rows, bor)[0], plan.comp_per_borrower_lifetime)
    elif plan.comp_per_lender_year < math.inf:
        aggregate = ("compensation_per_lender_year", _compact(rows, lend, year)[0], plan.comp_per_lender_year)
    if aggregate is not None:
        name, key, cap = aggregate
        total = payable[:, plan.comp].sum(axis=1)
        paid, binds[name] = _capped_running_sum(total, key, cap)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(total > 0, paid / total, 0.0)
        payable[:, plan.comp] *= scale[:, None]  # the binding cap is shared pro rata to the shares
    others = payable.sum(axis=1) - payable[:, plan.residual]
    payable[:, plan.residual] = base - others
    return payable, base, binds


def _compact(*keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ids 0..k−1 of the distinct key tuples (rows of the claims), and k."""
    key = np.zeros(keys[0].size, dtype=np.int64)
    for a in keys:
        key = key * (int(a.max()) + 1 if a.size else 1) + a
    uniq, inv = np.unique(key, return_inverse=True)
    return inv.ravel(), int(uniq.size)


def _sequential_split(
    task: _Task, rows: np.ndarray, cols: np.ndarray, year: np.ndarray, base0: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Claims in time order within each path, all paths at once: rank r of every path is split after ranks
    < r have used up budgets and caps. Cap usage is kept per (path, year), (path, borrower, year), … keys, so
    annual caps restart each year. Returns (payable, loss base after the per-borrower cap, binding flags)."""
    plan, book = task.plan, task.book
    assert book.borrower is not None and book.lender is not None  # filled by RiskBook.__post_init__
    nd = rows.size
    nc = plan.comp.size
    payable = np.zeros((nd, plan.shares.size))
    base = base0.copy()
    binds = {name: np.zeros(nd, dtype=bool) for name in plan.cumulative_caps}
    if nd == 0:
        return payable, base, binds
    counts = np.bincount(rows, minlength=m)
    start = np.cumsum(counts) - counts
    rank = np.arange(nd) - start[rows]
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(rank))])
    bor, lend = book.borrower[cols], book.lender[cols]

    path_year = rows * task.years + year
    party_year_used = np.zeros((m * task.years, nc))
    party_total_used = np.zeros((m, nc))
    comp_year_used = np.zeros(m * task.years)
    key_by, state_b = (None, None)
    if plan.base_per_borrower_year < math.inf or plan.comp_per_borrower_year < math.inf:
        key_by, k = _compact(rows, bor, year)
        state_b = np.zeros(k)
    state_bc = np.zeros(state_b.size) if state_b is not None else None
    key_bl, state_bl = (None, None)
    if plan.comp_per_borrower_lifetime < math.inf:
        key_bl, k = _compact(rows, bor)
        state_bl = np.zeros(k)
    key_l, state_l = (None, None)
    if plan.comp_per_lender_year < math.inf:
        key_l, k = _compact(rows, lend, year)
        state_l = np.zeros(k)
    covered = task.covered_by_year
    comp_names = [f"party_year[{plan.keys[j]}]" for j in plan.comp]
    bal_names = [f"fund_balance[{plan.keys[j]}]" for j in plan.comp]

    for r in range(bounds.size - 1):
        ks = by_rank[bounds[r] : bounds[r + 1]]
        rr, py = rows[ks], path_year[ks]
        b = base[ks]
        if plan.base_per_borrower_year < math.inf:
            kb = key_by[ks]  # type: ignore[index]
            head = np.maximum(plan.base_per_borrower_year - state_b[kb], 0.0)  # type: ignore[index]
            binds["base_per_borrower_year"][ks] = head < b
            b = np.minimum(b, head)
            state_b[kb] += b  # type: ignore[index]
            base[ks] = b
        own_year = np.maximum(plan.party_year[None, :] - party_year_used[py], 0.0)
        own_bal = np.maximum(plan.party_balance[None, :] - party_total_used[rr], 0.0)
        own = np.minimum(np.minimum(own_year, own_bal), plan.party_per_loan[None, :])
        aggs: dict[str, np.ndarray] = {}
        if plan.comp_per_loan < math.inf:
            aggs["compensation_per_loan"] = np.full(ks.size, plan.comp_per_loan)
        if plan.comp_per_borrower_year < math.inf:
            aggs["compensation_per_borrower_year"] = np.maximum(
                plan.comp_per_borrower_year - state_bc[key_by[ks]], 0.0  # type: ignore[index]
            )
        if key_bl is not None:
            aggs["compensation_per_borrower_lifetime"] = np.maximum(
                plan.comp_per_borrower_lifetime - state_bl[key_bl[ks]], 0.0  # type: ignore[index]
            )
        if key_l is not None:
            aggs["compensation_per_lender_year"] = np.maximum(
                plan.comp_per_lender_year - state_l[key_l[ks]], 0.0  # type: ignore[index]
            )
        if plan.payout_rate_ceiling < math.inf:
            aggs["payout_rate_ceiling"] = np.maximum(
                plan.payout_rate_ceiling * covered[year[ks]] - comp_year_used[py], 0.0
            )
        agg = np.min(np.stack(list(aggs.values())), axis=0) if aggs else None
        pay, demand, comp_nom = split_loss_vectorised(plan, b, own, agg)
        payable[ks] = pay
        for j in range(nc):
            if plan.party_year[j] < math.inf:
                binds[comp_names[j]][ks] = own_year[:, j] < np.minimum(comp_nom[:, j], plan.party_per_loan[j])
            if plan.party_balance[j] < math.inf:
                binds[bal_names[j]][ks] = own_bal[:, j] < np.minimum(comp_nom[:, j], plan.party_per_loan[j])
        for name, head in aggs.items():
            if name in binds:  # binds when it cuts: below the demand and below every other aggregate cap
                others = [h for n, h in aggs.items() if n != name]
                binds[name][ks] = head < (np.minimum(demand, np.min(np.stack(others), axis=0)) if others else demand)
        comp_paid = pay[:, plan.comp]
        party_year_used[py] += comp_paid
        party_total_used[rr] += comp_paid
        total = comp_paid.sum(axis=1)
        comp_year_used[py] += total
        if state_bc is not None:
            state_bc[key_by[ks]] += total  # type: ignore[index]
        if state_bl is not None:
            state_bl[key_bl[ks]] += total  # type: ignore[index]
        if state_l is not None:
            state_l[key_l[ks]] += total  # type: ignore[index]
    return payable, base, binds
