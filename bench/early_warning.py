"""Early-warning score and collateral stress benchmarks, ratios against plain numpy in the same run.

    python bench/early_warning.py            (from the repository root; a few minutes on 2 cores)
    python bench/early_warning.py --loans 100000 --scenarios 1000     (quick look)

1. Scoring 1,000,000 loans with a fitted logistic early-warning model:
   * "encoded matrix": ``ScoreModel.predict_pd`` on an already built ``FeatureMatrix`` vs the plain
     numpy reference ``1 / (1 + exp(−X @ β))`` (in place, as predict_pd does) over the same loans
     pre-encoded as a dense design matrix (intercept, raw numerics with the standardisation folded
     into β, one-hot categoricals);
   * "end-to-end from records": ``build_features`` (validation, clipping, category encoding of the
     raw string columns) + ``predict_pd`` vs the same numpy reference (which gets its encoding free);
   * for information, scikit-learn's own ``Pipeline.predict_proba`` on the same matrix.
2. Collateral stress: 10,000 correlated Monte Carlo scenarios on 100,000 loans
   (``run_stress_mc``: breaches, margin calls, expected loss, P(breach) per loan) vs a plain numpy pass
   drawing the same normals from the same seeds in the same chunks and computing the same LTVs,
   breaches, margin calls and expected losses.

Best of N on both sides; the machine load (os.getloadavg) is printed with each table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from ipfin.executor import make_chunks
from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES
from pledge.early_warning import (
    CATEGORICAL,
    FEATURE_NAMES,
    FEATURES,
    NUMERIC,
    build_features,
    fit_score_model,
    simulate_book,
)
from pledge.stress import CollateralBook, ShockFactorModel, default_chunk_size, run_stress_mc


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    la = os.getloadavg()
    print(f"\n{title}   (load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, {os.cpu_count()} CPUs)")
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'benchmark':<{w0}}  {'time':<{w1}}  result")
    print("-" * (w0 + w1 + 60))
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:<{w1}}  {c}")


# ------------------------------------------------------------------ 1. scoring


def dense_design(values: np.ndarray) -> np.ndarray:
    """[1, raw numerics, one-hot of every categorical] (float64), the reference's pre-encoded input."""
    n = values.shape[0]
    widths = [len(FEATURES[j].categories) for j in CATEGORICAL]
    D = np.zeros((n, 1 + len(NUMERIC) + sum(widths)))
    D[:, 0] = 1.0
    D[:, 1:1 + len(NUMERIC)] = values[:, list(NUMERIC)]
    pos = 1 + len(NUMERIC)
    rows = np.arange(n)
    for j, w in zip(CATEGORICAL, widths, strict=True):
        D[rows, pos + values[:, j].astype(np.intp)] = 1.0
        pos += w
    return D


def bench_scoring(n_loans: int, repeats: int) -> None:
    book = simulate_book(50_000, seed=11, n_cuts=2)
    X_train, y_train, _, _ = book.out_of_time_split(2021)
    model = fit_score_model(X_train, y_train, data_cut="2021-12-31")
    rng = np.random.default_rng(12)
    pick = rng.integers(0, book.features.n, n_loans)
    records = {name: np.asarray(book.records[name])[pick] for name in FEATURE_NAMES}
    X = build_features(records)
    D = dense_design(X.values)
    beta = np.concatenate([[model.intercept], model.numeric_coef, *model.categorical_coef])

    def reference() -> np.ndarray:  # the same in-place 1 / (1 + e^(−z)) as predict_pd
        z = D @ beta
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1.0
        return np.reciprocal(z, out=z)

    t_ref, p_ref = best_time(reference, repeats)
    t_enc, p_enc = best_time(lambda: model.predict_pd(X), repeats)
    t_e2e, p_e2e = best_time(lambda: model.predict_pd(build_features(records)), repeats)
    t_skl, p_skl = best_time(lambda: model.sklearn_pd(X), max(1, repeats - 1))
    diff = max(np.abs(p_enc - p_ref).max(), np.abs(p_e2e - p_ref).max(), np.abs(p_skl - p_ref).max())
    m = f"{n_loans:,}"
    rows = [
        (f"numpy 1/(1+exp(−X @ β)), dense pre-encoded {D.shape[0]:,}×{D.shape[1]}", f"{t_ref:.3f} s", "reference"),
        (f"predict_pd, encoded matrix ({m} loans)", f"{t_enc:.3f} s  ratio {t_enc / t_ref:.2f}×",
         f"{n_loans / t_enc / 1e6:.1f} M loans/s"),
        (f"build_features + predict_pd, from records ({m})", f"{t_e2e:.3f} s  ratio {t_e2e / t_ref:.2f}×",
         f"{n_loans / t_e2e / 1e6:.2f} M loans/s"),
        ("sklearn Pipeline.predict_proba, encoded matrix", f"{t_skl:.3f} s  ratio {t_skl / t_ref:.2f}×",
         f"max |ΔPD| across all paths {diff:.1e}"),
    ]
    print_table(f"1. scoring {m} loans, model {model.model_version}, best of {repeats}", rows)


# ------------------------------------------------------------------ 2. stress


def stress_book(n_loans: int) -> CollateralBook:
    rng = np.random.default_rng(21)
    value = rng.integers(500_000_00, 20_000_000_00, n_loans)
    return CollateralBook(
        balance_fen=(value * rng.uniform(0.2, 0.6, n_loans)).astype(np.int64), collateral_value_fen=value,
        ip_type=np.array(list(IP_TYPES))[rng.integers(0, len(IP_TYPES), n_loans)],
        industry=np.array(["C", "I", "M", "F", "R", "A"])[rng.integers(0, 6, n_loans)],
        region=np.array(["500100", "440300", "440100", "330100", "320500", "110100"])[rng.integers(0, 6, n_loans)],
        bank_id=np.array(["B1", "B2", "B3", "B4"])[rng.integers(0, 4, n_loans)],
        max_ltv=rng.choice([0.3, 0.45, 0.6], n_loans), margin_call_trigger=0.7,
        pd_12m=rng.uniform(0.005, 0.2, n_loans),
    )


def numpy_stress(book: CollateralBook, model: ShockFactorModel, n_scenarios: int, seed: int, chunk: int,
                 recovery: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain numpy: the same normals (same seeds, chunks and draw order), LTV = B / V₁ per loan and scenario."""
    bal = book.balance_fen.astype(np.float64)
    val = book.collateral_value_fen.astype(np.float64)
    max_ltv = book.max_ltv_bp / 1e4
    trig = book.trigger_bp / 1e4
    sig = model.sigma_by_type()[book.type_index]
    mu = np.log1p(model.mean_change) - 0.5 * sig**2
    a_e = np.sqrt(model.idiosyncratic_loading_squared)
    ti, gi = book.type_index, book.industry_index
    calls, losses, breach_count = [], [], np.zeros(book.n)
    for c in make_chunks(n_scenarios, seed, chunk):
        rng = c.rng()
        z = rng.standard_normal(c.size)
        zt = rng.standard_normal((c.size, len(IP_TYPES)))
        zg = rng.standard_normal((c.size, len(INDUSTRY_SECTIONS)))
        eps = rng.standard_normal((c.size, book.n))
        log_f = mu + sig * (model.systematic_loading * z[:, None] + model.ip_type_loading * zt[:, ti]
                            + model.industry_loading * zg[:, gi] + a_e * eps)
        v1 = val * np.exp(log_f)
        ltv = bal / v1
        breach = ltv > trig
        calls.append(np.where(breach, np.maximum(bal - max_ltv * v1, 0.0), 0.0).sum(axis=1))
        losses.append((book.pd_12m * np.maximum(bal - recovery * v1, 0.0)).sum(axis=1))
        breach_count += breach.sum(axis=0)
    return np.concatenate(calls), np.concatenate(losses), breach_count / n_scenarios


def bench_stress(n_loans: int, n_scenarios: int, repeats: int) -> None:
    book = stress_book(n_loans)
    model = ShockFactorModel(mean_change=-0.05)
    chunk = default_chunk_size(n_loans)
    t_ref, ref = best_time(lambda: numpy_stress(book, model, n_scenarios, 3, chunk, 0.4), repeats)
    t_ours, res = best_time(lambda: run_stress_mc(book, model, n_scenarios, 3, recovery_rate="0.40"), repeats)
    rel = max(np.abs(res.total_margin_call - ref[0]).max() / ref[0].max(),
              np.abs(res.total_expected_loss - ref[1]).max() / ref[1].max())
    same_p = bool(np.array_equal(res.p_breach, ref[2]))
    mc, el = res.margin_call_distribution(), res.expected_loss_distribution()
    q99 = next(q for q in mc.quantiles if q.level == 0.99)
    el99 = next(q for q in el.quantiles if q.level == 0.99)
    cells = f"{n_scenarios:,} scenarios × {n_loans:,} loans"
    rows = [
        (f"numpy: same normals, LTVs, breaches, calls, EL ({cells})", f"{t_ref:.2f} s", "reference"),
        (f"run_stress_mc ({chunk} scenarios per chunk)", f"{t_ours:.2f} s  ratio {t_ours / t_ref:.2f}×",
         f"{n_scenarios * n_loans / t_ours / 1e6:.0f} M loan-scenarios/s; max rel Δ vs numpy {rel:.1e}; "
         f"P(breach) identical: {same_p}"),
        ("  total margin call, CNY", "-",
         f"mean {mc.mean_fen / 100:,.0f} ± {mc.standard_error_fen / 100:,.0f}; "
         f"P99 {q99.value_fen / 100:,.0f} ± {q99.standard_error_fen / 100:,.0f}"),
        ("  total expected loss, CNY", "-",
         f"mean {el.mean_fen / 100:,.0f} ± {el.standard_error_fen / 100:,.0f}; "
         f"P99 {el99.value_fen / 100:,.0f} ± {el99.standard_error_fen / 100:,.0f}"),
    ]
    print_table(f"2. collateral stress Monte Carlo, best of {repeats}", rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=1_000_000, help="loans to score")
    ap.add_argument("--stress-loans", type=int, default=100_000)
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3, help="best of N for scoring (stress: N − 1, at least 1)")
    ap.add_argument("--part", choices=("all", "scoring", "stress"), default="all")
    a = ap.parse_args(argv)
    if a.part in ("all", "scoring"):
        bench_scoring(a.loans, a.repeats)
    if a.part in ("all", "stress"):
        bench_stress(a.stress_loans, a.scenarios, max(1, a.repeats - 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
