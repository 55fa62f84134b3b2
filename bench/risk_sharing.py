"""Rule-cost simulator benchmarks, each against a reference measured in the same run.

1. A 100,000-loan book × 10,000 scenarios for one year under Chongqing 4:2:2:2 (10⁹ latent normals in
   chunks) vs the time numpy alone needs to draw the same 10⁹ normals in the same chunks and batches
   (goal ≤ 3×). Best of N on both sides, interleaved.
2. The same book under the 2024 tech-SME plan (5% payout-rate ceiling → capped running sums over the claims in
   time order).
3. Dask LocalCluster (2 worker processes) vs in-process on the same seed: identical results (per-path payouts,
   net costs, PVs, payouts by payment year and pending at the horizon's end).

Payouts are paid the rule's default claim lag after default (Chongqing and the tech-SME plan: 90 days overdue +
2 months = 5 months, an assumption); the payout per party counts the claims of the year's defaults, paid within
it or pending.
4. Worked example: a 2,000-loan Chongqing 4:2:2:2 book — expected and 99% payout per party and the
   break-even guarantee fee vs the 1.5% cap.

Run: ``.venv/bin/python bench/risk_sharing.py`` (a few minutes on 2 cores). ``--quick`` runs a tenth of it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

# run as a script, bench/ is first on sys.path and bench/valuation.py would shadow the valuation package
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from ipfin.executor import DaskExecutor, make_chunks
from risk_sharing.fee import break_even_fees
from risk_sharing.presets import load_preset
from risk_sharing.simulator import DRAW_NORMALS, RiskBook, simulate_rule_cost
from securitization.credit import industry_correlation

REPEATS = 2


def large_book(n: int, seed: int = 0) -> RiskBook:
    """1–10M CNY loans, PD by rating grade (0.5–8%), ρ 0.15, four sectors (inter-sector factor correlation 0.5),
    lognormal IP collateral (median 50–150% of the loan, σ 0.6), 20% disposal costs, 1.5 years to recover."""
    g = np.random.default_rng(seed)
    ead = np.round(g.uniform(1e6, 1e7, n), -4)
    return RiskBook(
        ead=ead, annual_pd=g.choice([0.005, 0.01, 0.02, 0.04, 0.08], n), rho=np.full(n, 0.15),
        collateral_median=ead * g.uniform(0.5, 1.5, n), collateral_sigma=np.full(n, 0.6),
        disposal_cost=np.full(n, 0.2), recovery_years=np.full(n, 1.5), sector=g.integers(0, 4, n),
        factor_correlation=industry_correlation(4, 0.5), guarantee_fee_rate=np.full(n, 0.015), discount_rate=0.04,
    )


def numpy_normals(n_loans: int, n_paths: int, chunk: int) -> float:
    """Draw the simulator's latent normals with numpy alone: same chunks, same draw batches."""
    t0 = time.perf_counter()
    sub = max(1, DRAW_NORMALS // n_loans)
    for c in make_chunks(n_paths, 1, chunk):
        rng = c.rng()
        for s in range(0, c.size, sub):
            rng.standard_normal((min(sub, c.size - s), n_loans))
    return time.perf_counter() - t0


def bench_book(rule_name: str, n_loans: int, n_paths: int) -> list[str]:
    rule = load_preset(rule_name)
    book = large_book(n_loans)
    t_ref = t_sim = float("inf")
    res = None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        res = simulate_rule_cost(rule, book, n_paths, seed=1)
        t_sim = min(t_sim, time.perf_counter() - t0)
        t_ref = min(t_ref, numpy_normals(n_loans, n_paths, res.chunk_size))
    assert res is not None
    g = res.party_costs[0]
    caps = "; ".join(f"P({c.cap} binds) {c.probability:.3f} ± {c.probability_se:.3f}" for c in res.cap_exhaustion)
    return [
        f"| {rule_name}: {n_loans:,} loans × {n_paths:,} scenarios × 1 y ({n_loans * n_paths:.0e} normals, "
        f"{res.method}, chunk {res.chunk_size}, claim lag {res.claim_lag_months} months) | {t_sim:7.2f} s "
        f"| numpy normals {t_ref:6.2f} s "
        f"| ratio {t_sim / t_ref:5.2f}× (goal ≤ 3×) |",
        f"|   {g.key}: E[payout] {g.expected_payout / 1e6:,.1f}M ± {g.expected_payout_se / 1e6:.1f}M "
        f"(pending at year end {g.expected_pending / 1e6:,.1f}M), "
        f"99% {g.quantile(0.99).value / 1e6:,.1f}M ± {g.quantile(0.99).se / 1e6:.1f}M; mean defaults "
        f"{res.defaults.mean():,.0f}; {caps or 'no cumulative caps'} | | |",
    ]


def bench_dask(n_loans: int, n_paths: int) -> list[str]:
    from distributed import Client, LocalCluster

    rule = load_preset("chongqing-4222")
    book = large_book(n_loans)
    t0 = time.perf_counter()
    local = simulate_rule_cost(rule, book, n_paths, seed=123)
    t_local = time.perf_counter() - t0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        ex = DaskExecutor(client)
        simulate_rule_cost(rule, book, 2 * local.chunk_size, seed=1, executor=ex)  # warm the workers
        t0 = time.perf_counter()
        remote = simulate_rule_cost(rule, book, n_paths, seed=123, executor=ex)
        t_dask = time.perf_counter() - t0
    same = all(np.array_equal(getattr(local, a), getattr(remote, a))
               for a in ("payout", "net_cost", "pv_net_cost", "payout_by_year", "pending", "defaults"))
    return [
        f"| Dask LocalCluster (2 workers) {n_loans:,} loans × {n_paths:,} scenarios | {t_dask:7.2f} s "
        f"| in-process {t_local:6.2f} s | identical results for the same seed: {same} |",
    ]


def worked_example(n_paths: int) -> list[str]:
    """Chongqing 4:2:2:2: 2,000 loans of 1–10M CNY, PD 2%, ρ 0.15, collateral lognormal (median 50–150% of the
    loan, σ 0.6, 20% disposal costs, 1.5 years to recover, 4% discounting); one year."""
    rule = load_preset("chongqing-4222")
    g = np.random.default_rng(2026)
    n = 2_000
    ead = np.round(g.uniform(1e6, 1e7, n), -4)
    book = RiskBook(
        ead=ead, annual_pd=np.full(n, 0.02), rho=np.full(n, 0.15), collateral_median=ead * g.uniform(0.5, 1.5, n),
        collateral_sigma=np.full(n, 0.6), disposal_cost=np.full(n, 0.2), recovery_years=np.full(n, 1.5),
        guarantee_fee_rate=np.full(n, 0.015), discount_rate=0.04,
    )
    res = simulate_rule_cost(rule, book, n_paths, seed=2026, per_loan=True)
    out = [
        "",
        f"Worked example — Chongqing 4:2:2:2, {n:,} loans, book {ead.sum() / 1e9:.2f} bn CNY, PD 2%, ρ 0.15, "
        f"{n_paths:,} scenarios, seed 2026, one year, claims paid {res.claim_lag_months} months after default "
        "(CNY millions):",
        "| party | share | E[payout] ± SE | paid in the year | pending at year end | 99% payout ± SE | 99.9% payout "
        "| E[net cost after recoveries] ± SE | 99% net cost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in res.party_costs:
        q99, q999, n99 = p.quantile(0.99), p.quantile(0.999), p.quantile(0.99, net=True)
        out.append(
            f"| {p.key} | {p.share:.0%} | {p.expected_payout / 1e6:,.2f} ± {p.expected_payout_se / 1e6:.2f} "
            f"| {p.expected_payout_by_year[0] / 1e6:,.2f} | {p.expected_pending / 1e6:,.2f} "
            f"| {q99.value / 1e6:,.2f} ± {q99.se / 1e6:.2f} | {q999.value / 1e6:,.2f} "
            f"| {p.expected_net_cost / 1e6:,.2f} ± {p.expected_net_cost_se / 1e6:.2f} | {n99.value / 1e6:,.2f} |"
        )
    for label, kw in (
        ("expected loss only", {}),
        ("+ guarantor operating cost 0.5%/y + capital at 99% × 8% cost of capital",
         {"operating_cost_rate": {"guarantor": 0.005}, "confidence": 0.99, "cost_of_capital": 0.08}),
    ):
        fees = break_even_fees(rule, book, res, **kw)  # type: ignore[arg-type]
        parts = ", ".join(f"{p.key} {p.break_even_rate:.3%}" for p in fees.cohort)
        out.append(
            f"Break-even fee ({label}): {parts}; guarantee chain ({'+'.join(fees.fee_parties)}) "
            f"{fees.cohort_total_rate:.3%} ± {fees.cohort_total_rate_se:.3%} vs cap {fees.fee_cap:.2%} → "
            f"{fees.under_priced.sum():,} of {n:,} loans under-priced ({fees.under_priced_share:.1%}), "
            f"gap {fees.gap_cny_per_year.sum() / 1e6:,.2f}M CNY a year"
        )
    return out


def main() -> int:
    quick = "--quick" in sys.argv
    n_loans, n_paths = (10_000, 10_000) if quick else (100_000, 10_000)
    print(f"machine load (1, 5, 15 min): {os.getloadavg()}; {os.cpu_count()} CPUs")
    print("| benchmark | time | reference | result |")
    print("|---|---|---|---|")
    for line in bench_book("chongqing-4222", n_loans, n_paths):
        print(line, flush=True)
    for line in bench_book("tech-sme-2024-tier1", n_loans, n_paths):
        print(line, flush=True)
    for line in bench_dask(n_loans, n_paths):
        print(line, flush=True)
    print(f"machine load after: {os.getloadavg()}")
    for line in worked_example(2_000 if quick else 20_000):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
