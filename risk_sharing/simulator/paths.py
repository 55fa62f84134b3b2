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
from risk_sharing.simulator.plan import _RulePlan, nominal_split_t, row_sum, split_loss_vectorised
from securitization.credit import draw_copula_defaults, obligor_classes

_BELOW_ONE = np.nextafter(1.0, 0.0)
"""The largest float below 1: a default-time quantile that rounded to 1 is clamped here."""


@dataclass(frozen=True)
class _Task:
    """Picklable chunk task (sent to Dask workers as is)."""

    book: RiskBook
    plan: _RulePlan
    years: int
    sequential: bool
    per_loan: bool
    lag_months: int = 0

    @property
    def pay_years(self) -> int:
        """Payment years tracked: the horizon plus the years a lagged payout can fall after it."""
        return self.years + -(-self.lag_months // 12)

    @cached_property
    def terms(self) -> np.ndarray:
        return self.book.terms(self.years)

    @cached_property
    def thresholds(self) -> np.ndarray:
        lam = -np.log1p(-self.book.annual_pd)
        return ndtri(np.clip(-np.expm1(-lam * self.terms), 1e-300, 1.0))

    @cached_property
    def hazard(self) -> np.ndarray:
        """λ = −ln(1 − PD) per loan, per year."""
        return -np.log1p(-self.book.annual_pd)

    @cached_property
    def recovery_discount(self) -> np.ndarray:
        """(1 + r)^−recovery_years per loan: recoveries discounted to the default date."""
        return (1.0 + self.book.discount_rate) ** (-self.book.recovery_years)

    @cached_property
    def exposure(self) -> np.ndarray:
        """Principal + unpaid interest at default per loan, CNY."""
        return self.book.exposure

    @cached_property
    def classes(self) -> tuple[np.ndarray, list[np.ndarray]] | None:
        assert self.book.sector is not None  # filled by RiskBook.__post_init__
        return obligor_classes(self.book.sector, self.thresholds, np.sqrt(self.book.rho))

    @cached_property
    def covered_by_year(self) -> np.ndarray:
        """Eligible principal scheduled to be outstanding at the start of each payment year (the payout-rate
        denominator, 在保余额; loans that defaulted earlier in the path are not removed), CNY. Years after the
        horizon (lagged payouts only) keep the last horizon year's balance (assumed: the programme goes on)."""
        b = self.book
        cov = [float(np.sum(b.ead * b.eligible * (self.terms > y))) for y in range(self.years)]
        return np.array(cov + cov[-1:] * (self.pay_years - self.years))

    def warm(self) -> _Task:
        """Compute the cached per-book arrays once (before the task is pickled to workers)."""
        _ = self.terms, self.thresholds, self.classes, self.covered_by_year, self.hazard, self.recovery_discount
        _ = self.exposure
        return self

    def __call__(self, chunk: Chunk) -> dict[str, np.ndarray]:
        out = _simulate_chunk(self, chunk)
        by_year = out["payout_year"]  # paths × payment years × parties
        out["pending"] = by_year[:, self.years :].sum(axis=1)
        out["payout_year"] = by_year[:, : self.years]
        return out


def _payment_year(tau: np.ndarray, year: np.ndarray, lag_months: int) -> np.ndarray:
    """Year (0 = the first) in which each claim is paid: the default month (month of ``year`` in which τ falls,
    0–11) plus ``lag_months``, in whole years after the default year — ``year`` itself for no lag, exactly
    ``year + 1`` for a 12-month lag."""
    if lag_months == 0:
        return year
    month = np.clip(np.floor(12.0 * (tau - year)), 0, 11).astype(np.int64)
    return year + (month + lag_months) // 12


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
    # ndtr rounds to exactly 1 only far in the tail (PD near 1): keep the default time finite there
    tau = -np.log1p(-np.minimum(ndtr(x), _BELOW_ONE)) / task.hazard[cols]
    year = np.minimum(np.floor(tau).astype(np.int64), task.terms[cols] - 1)
    caps = plan.cumulative_caps
    ordered = task.sequential or bool(caps)
    if ordered:  # claims in time order within each path (budgets are used up by the earliest claims)
        order = _time_order(rows * (years + 1.0) + np.minimum(tau, years), [d[0].size for d in drawn])
        rows, cols, tau, year, z = (a[order] for a in (rows, cols, tau, year, z))
        worthless = worthless[order] if worthless.any() else worthless
    pay_year = _payment_year(tau, year, task.lag_months)
    years_paid = task.pay_years

    exposure = task.exposure[cols]
    value = book.collateral_median[cols] * np.exp(book.collateral_sigma[cols] * z)
    value[worthless] = 0.0
    recovery = value * (1.0 - book.disposal_cost[cols])  # nominal, at τ + recovery_years
    r = book.discount_rate
    d_rec = task.recovery_discount[cols]
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
    economic = exposure - d_rec * np.minimum(recovery, exposure)
    if not ordered and plan.comp_per_loan == math.inf and not plan.recovery_priority and not plan.per_loan_limited:
        # no caps: every party's part of every claim is its share of the base, and pro rata recoveries keep
        # that proportion — aggregate the claim totals once and scale by the shares (the same numbers)
        rec_scheme = np.minimum(recovery, base0)
        net_claim = base0 - d_rec * rec_scheme
        pv_claim = net_claim * df_tau
        sh = plan.shares[None, :]
        payout = np.bincount(rows, base0, m)[:, None] * sh
        out: dict[str, np.ndarray] = {
            "payout": payout,
            "net": np.bincount(rows, net_claim, m)[:, None] * sh,
            "pv_net": np.bincount(rows, pv_claim, m)[:, None] * sh,
            "payout_year": payout[:, None, :] if years_paid == 1 else (  # one payment year: the same sums
                np.bincount(rows * years_paid + pay_year, base0, m * years_paid)[:, None] * sh
            ).reshape(m, years_paid, p),
            "outside": np.bincount(rows, economic - net_claim, m),
            "economic": np.bincount(rows, economic, m),
            "defaults": np.bincount(rows, minlength=m),
        }
        if task.per_loan:
            out["loan_pv_net"] = np.bincount(cols, pv_claim, book.n)[:, None] * sh
            out["loan_pv_net_sq"] = np.bincount(cols, pv_claim * pv_claim, book.n)[:, None] * sh * sh
        return out

    if task.sequential or (caps and not plan.running_sums):
        payable, base, binds = _sequential_split(task, rows, cols, pay_year, base0, m)
        pay_t = np.ascontiguousarray(payable.T)  # parties × claims
    elif caps:
        pay_t, base, binds = _running_sum_split(task, rows, cols, pay_year, base0)
    else:
        pay_t, base, binds = _split_t(plan, base0), base0, {}

    # recoveries shared back (nominal), never more than paid in total; the surplus stays outside the scheme
    left = np.minimum(recovery, base)
    paid_t = pay_t
    if plan.recovery_priority:
        rec_t = np.zeros_like(pay_t)
        paid_t = pay_t.copy()
        for j in plan.recovery_priority:
            take = np.minimum(left, paid_t[j])
            rec_t[j] = take
            left -= take
            paid_t[j] = 0.0
    tot = paid_t.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share_back = paid_t * np.where(tot > 0, left / tot, 0.0)[None, :]
    if plan.recovery_priority:
        rec_t += share_back
    else:
        rec_t = share_back
    rec_t *= d_rec[None, :]  # discounted to the default date
    net_t = np.subtract(pay_t, rec_t, out=rec_t)  # reuses the recoveries' memory
    outside = economic - net_t.sum(axis=0)
    path_year = rows * years_paid + pay_year

    payout = np.stack([np.bincount(rows, pay_t[j], m) for j in range(p)], axis=1)
    by_year = payout[:, None, :] if years_paid == 1 else np.stack(  # one payment year: the same sums
        [np.bincount(path_year, pay_t[j], m * years_paid) for j in range(p)], axis=1
    ).reshape(m, years_paid, p)
    out = {
        "payout": payout,
        "net": np.stack([np.bincount(rows, net_t[j], m) for j in range(p)], axis=1),
        "pv_net": np.stack([np.bincount(rows, net_t[j] * df_tau, m) for j in range(p)], axis=1),
        "payout_year": by_year,
        "outside": np.bincount(rows, outside, m),
        "economic": np.bincount(rows, economic, m),
        "defaults": np.bincount(rows, minlength=m),
    }
    for name in caps:
        first = np.full(m, years, dtype=np.int64)
        sel = binds.get(name)
        if sel is not None and years_paid > years:  # binding on a payout after the horizon is not reported
            sel = sel & (pay_year < years)
        if sel is not None and sel.any():
            np.minimum.at(first, rows[sel], pay_year[sel])
        out["first_bind:" + name] = first
    if task.per_loan:
        n = book.n
        pv_t = net_t * df_tau[None, :]
        out["loan_pv_net"] = np.stack([np.bincount(cols, pv_t[j], n) for j in range(p)], axis=1)
        out["loan_pv_net_sq"] = np.stack([np.bincount(cols, pv_t[j] ** 2, n) for j in range(p)], axis=1)
    return out


def _time_order(key: np.ndarray, sizes: list[int]) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` for claims that come in draw batches of ``sizes`` covering disjoint,
    increasing ranges of paths (so of keys): each batch is sorted alone (in cache) by the faster unstable sort,
    which gives the same order unless two keys tie — then that batch is sorted stably."""
    order = np.empty(key.size, dtype=np.int64)
    s = 0
    for size in sizes:
        k = key[s : s + size]
        o = np.argsort(k)
        ks = k[o]
        if np.any(ks[1:] == ks[:-1]):
            o = np.argsort(k, kind="stable")
        np.add(o, s, out=order[s : s + size])
        s += size
    return order


def _split_t(plan: _RulePlan, base: np.ndarray) -> np.ndarray:
    """Each party's part of each claim (parties × claims, CNY) under the per-claim caps only (per-loan compensation
    cap, per-loan party limits), as :func:`split_loss_vectorised`; the nominal split when there are none."""
    heads = plan.per_loan_headroom(base.size)
    agg = np.full(base.size, plan.comp_per_loan) if plan.comp_per_loan < math.inf else None
    if heads is None and agg is None:
        return nominal_split_t(plan, base)
    return np.ascontiguousarray(split_loss_vectorised(plan, base, heads, agg)[0].T)


def _capped_running_sum(v: np.ndarray, key: np.ndarray, cap: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Claims paid in order under a cumulative cap per group: part_k = min(C_k, cap) − min(C_{k−1}, cap) with C the
    running sum of the demands ``v`` within the claim's ``key`` group (claims in time order within a group); the
    cap binds on claim k when C_k > cap. ``cap`` is a number or one per claim (constant within a group). Keys
    already in order (per path-year: claims are sorted by path and time) are used as they are."""
    if v.size == 0:
        return v.copy(), np.zeros(0, dtype=bool)
    in_order = bool(np.all(key[1:] >= key[:-1]))
    o = None if in_order else np.argsort(key, kind="stable")
    vs, ks = (v, key) if o is None else (v[o], key[o])
    cs = np.cumsum(vs)
    start = np.concatenate([[True], ks[1:] != ks[:-1]])
    c = cs - (cs - vs)[start][np.cumsum(start) - 1]
    cap_s = cap[o] if isinstance(cap, np.ndarray) and o is not None else cap
    paid = np.maximum(np.minimum(c, cap_s) - np.minimum(c - vs, cap_s), 0.0)
    if o is None:
        return paid, (c > cap_s) & (vs > 0)
    out_paid = np.empty_like(v)
    out_bind = np.empty(v.size, dtype=bool)
    out_paid[o] = paid
    out_bind[o] = (c > cap_s) & (vs > 0)
    return out_paid, out_bind


def _running_sum_split(
    task: _Task, rows: np.ndarray, cols: np.ndarray, year: np.ndarray, base0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """All claims at once when :attr:`_RulePlan.running_sums` holds (the same result as claim by claim); the
    payable parts as parties × claims."""
    plan, book = task.plan, task.book
    assert book.borrower is not None and book.lender is not None  # filled by RiskBook.__post_init__
    binds: dict[str, np.ndarray] = {}
    base = base0
    bor, lend = book.borrower[cols], book.lender[cols]
    if plan.base_per_borrower_year < math.inf:
        base, binds["base_per_borrower_year"] = _capped_running_sum(
            base0, _compact(rows, bor, year)[0], plan.base_per_borrower_year
        )
    pay = _split_t(plan, base)  # parties × claims
    path_year = rows * task.pay_years + year
    for j, idx in enumerate(plan.comp):
        for name, cap, key in (
            (f"party_year[{plan.keys[idx]}]", plan.party_year[j], path_year),
            (f"fund_balance[{plan.keys[idx]}]", plan.party_balance[j], rows),
        ):
            if cap < math.inf:
                pay[idx], binds[name] = _capped_running_sum(pay[idx], key, float(cap))
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
        total = row_sum(pay[plan.comp])
        paid, binds[name] = _capped_running_sum(total, key, cap)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(total > 0, paid / total, 0.0)
        for idx in plan.comp:  # the binding cap is shared pro rata to the shares
            pay[idx] *= scale
    others = row_sum(pay) - pay[plan.residual]
    pay[plan.residual] = base - others
    return pay, base, binds


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

    path_year = rows * task.pay_years + year
    party_year_used = np.zeros((m * task.pay_years, nc))
    party_total_used = np.zeros((m, nc))
    comp_year_used = np.zeros(m * task.pay_years)
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
