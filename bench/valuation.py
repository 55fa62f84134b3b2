"""Valuation benchmarks, ratios measured against references in the same run.

    python bench/valuation.py            (from the repository root; about a minute on 2 cores)

1. Monte Carlo valuation of 1,000,000 paths × 20 years vs drawing the same 2e7 normals with numpy
   alone (goal ≤ 3×), with peak traced memory to show chunking bounds it.
2. Real option: time to reach a standard error of 0.1% of the value with our pricer (scrambled
   Sobol + antithetic + control variate, including its sample-doubling search) vs QuantLib
   MCEuropeanEngine pseudo-random with the sample count a pilot run says is needed (pilot not
   timed) (goal ≥ 10× less time); both checked against QuantLib's analytic price (within 3 SE).
3. Dask LocalCluster (2 worker processes) vs in-process on the same seed: identical values.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

# run as a script, bench/ is first on sys.path and bench/valuation.py would shadow the valuation package
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from ipfin import ql
from ipfin.executor import DaskExecutor
from valuation.montecarlo import MCSpec, ThreePoint, mean_revenue_path, run_monte_carlo
from valuation.real_option import RealOptionInputs, mc_european_call, value_real_option

N_PATHS = 1_000_000
YEARS = 20
REPEATS = 3


def best_time(fn, repeats: int = REPEATS) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def spec_20y() -> MCSpec:
    return MCSpec(
        mean_revenue=mean_revenue_path(5e7, 0.05, YEARS), volatility=0.25, royalty=ThreePoint(0.02, 0.035, 0.05),
        tax_rate=0.25, discount_rate=0.11, life=ThreePoint(12.0, 18.0, 20.0), legal_term_years=20.0,
        success_probability=0.9, annual_hazard=0.02,
    )


def bench_mc(rows: list[tuple[str, str, str]]) -> None:
    spec = spec_20y()
    t_ref, _ = best_time(lambda: np.random.default_rng(1).standard_normal((N_PATHS, YEARS)))
    m_ref = peak_mib(lambda: np.random.default_rng(1).standard_normal((N_PATHS, YEARS)))
    rows.append(("numpy: draw 1e6×20 normals", f"{t_ref:.3f} s", f"peak {m_ref:.0f} MiB"))
    for anti in (False, True):
        t, res = best_time(lambda a=anti: run_monte_carlo(spec, N_PATHS, 1, antithetic=a))
        m = peak_mib(lambda a=anti: run_monte_carlo(spec, N_PATHS, 1, antithetic=a))
        name = "MC valuation 1e6×20" + (" antithetic" if anti else "")
        rows.append((name, f"{t:.3f} s  ratio {t / t_ref:.2f}× (goal ≤ 3×)",
                     f"mean {res.mean:,.0f} ± {res.standard_error:,.0f} CNY; peak {m:.0f} MiB"))


def bench_real_option(rows: list[tuple[str, str, str]]) -> None:
    inp = RealOptionInputs(pv_cash_flows=1e7, commercialisation_cost=8e6, years=10, risk_free=0.03, volatility=0.4)
    analytic = value_real_option(inp).european
    target = 1e-3 * analytic

    def ours():
        m = 2**6
        while True:
            r = mc_european_call(inp, samples_per_replicate=m, replicates=32, seed=11)
            if r.standard_error <= target:
                return r
            m *= 2

    t_ours, r = best_time(ours)

    def ours_plain():
        m = 2**14
        while True:
            rp = mc_european_call(inp, samples_per_replicate=m, replicates=32, seed=11, method="pseudo",
                                  antithetic=False, control_variate=False)
            if rp.standard_error <= target:
                return rp
            m *= 2

    t_plain, rp = best_time(ours_plain, repeats=1)

    # QuantLib: a pilot run gives the error per sample; then the timed run uses the samples needed
    # for SE ≤ 0.1% (MCEuropeanEngine's own requiredTolerance mode is far slower, so this favours it).
    q = inp.q
    _, pilot_err = ql.mc_european_error_estimate(1e7, 8e6, 10, 0.03, 0.4, q, 100_000, seed=41)
    n_ql = int(100_000 * (pilot_err / target) ** 2 * 1.05)
    while True:
        t0 = time.perf_counter()
        ql_npv, ql_err = ql.mc_european_error_estimate(1e7, 8e6, 10, 0.03, 0.4, q, n_ql, seed=42)
        t_ql = time.perf_counter() - t0
        if ql_err <= target:
            break
        n_ql = int(n_ql * (ql_err / target) ** 2 * 1.02) + 1
    rows.append(("QuantLib analytic (BSM) real option", "-", f"{analytic:,.2f} CNY"))
    rows.append(("QuantLib MCEuropeanEngine to SE 0.1%", f"{t_ql:.3f} s",
                 f"{ql_npv:,.2f} ± {ql_err:,.2f} ({n_ql:,} samples); |Δ|/SE = {abs(ql_npv - analytic) / ql_err:.2f}"))
    rows.append(("ours, plain pseudo-random (no VR) to SE 0.1%", f"{t_plain:.3f} s  {t_ql / t_plain:,.1f}× faster",
                 f"{rp.price:,.2f} ± {rp.standard_error:,.2f} ({rp.n_samples:,} samples); "
                 f"|Δ|/SE = {abs(rp.price - analytic) / rp.standard_error:.2f}"))
    rows.append(("ours (Sobol+antithetic+CV) to SE 0.1%", f"{t_ours:.4f} s  {t_ql / t_ours:,.0f}× faster (goal ≥ 10×)",
                 f"{r.price:,.2f} ± {r.standard_error:,.4f} ({r.n_samples} samples); "
                 f"|Δ|/SE = {abs(r.price - analytic) / r.standard_error:.2f} (≤ 3)"))


def bench_dask(rows: list[tuple[str, str, str]]) -> None:
    from distributed import Client, LocalCluster

    spec = spec_20y()
    t_local, local = best_time(lambda: run_monte_carlo(spec, N_PATHS, 7, antithetic=True), repeats=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            Client(lc) as client:
        ex = DaskExecutor(client)
        t_dask, remote = best_time(lambda: run_monte_carlo(spec, N_PATHS, 7, antithetic=True, executor=ex), repeats=1)
    same = bool(np.array_equal(local.values, remote.values)) and local.summary() == remote.summary()
    rows.append(("in-process 1e6×20, seed 7", f"{t_local:.3f} s", f"mean {local.mean:,.4f}"))
    rows.append(("Dask LocalCluster 2 workers, seed 7", f"{t_dask:.3f} s",
                 f"mean {remote.mean:,.4f}; identical: {same}"))


def main() -> int:
    rows: list[tuple[str, str, str]] = []
    bench_mc(rows)
    bench_real_option(rows)
    bench_dask(rows)
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'benchmark':<{w0}}  {'time':<{w1}}  result")
    print("-" * (w0 + w1 + 60))
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:<{w1}}  {c}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
