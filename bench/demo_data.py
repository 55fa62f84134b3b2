"""Demo-data generation: wall time, CPU time and peak memory (RSS) at 100,000 and 1,000,000 loans
into a fresh SQLite file, each size in a process of its own (so its peak RSS is its own), against
a bare bulk insert of the same number of rows into one narrow table, measured in the same run.

Targets (performance issue 17): 1M loans in ≤ 2 minutes and ≤ 1 GB peak RSS on SQLite. The
machine may be shared: CPU seconds (user + system of the generating process) are shown beside
the wall time, and the ratio to the bare insert measured at the same time.

Run: ``.venv/bin/python bench/demo_data.py [--loans 100000 1000000]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# run as a script, bench/ is first on sys.path and bench/valuation.py would shadow the valuation package
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

TARGET_SECONDS_PER_MILLION = 120
TARGET_RSS_MB = 1024


def bare_insert_seconds(path: Path, n_rows: int) -> float:
    """Reference: executemany of ``n_rows`` (int, text, int) rows, one transaction, in chunks of 20,000."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, v INTEGER)")
    t0 = time.perf_counter()
    with con:
        for lo in range(0, n_rows, 20_000):
            con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                            [(i, f"row{i}", i * 7) for i in range(lo, min(n_rows, lo + 20_000))])
    dt = time.perf_counter() - t0
    con.close()
    return dt


def one(n_loans: int) -> dict[str, float | int]:
    """Generate ``n_loans`` into a fresh SQLite file in this process; time, CPU, peak RSS and row count."""
    from sqlalchemy import text

    from api.core.db import make_engine, upgrade
    from api.demo import generate

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cpu0, t0 = time.process_time(), time.perf_counter()
        result = generate(engine, n_loans, seed=1, progress=lambda m: print(
            f"  {time.process_time() - cpu0:7.1f} CPU s {time.perf_counter() - t0:7.1f} s "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.0f} MB peak  {m}", file=sys.stderr))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        with engine.connect() as c:
            tables = [r[0] for r in c.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))]
            rows = sum(c.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in tables)
        engine.dispose()
        ref = bare_insert_seconds(Path(tmp) / "ref.db", rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"loans": n_loans, "rows": rows, "seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": peak,
            "rss_before_mb": rss_before, "reference_seconds": ref, "counts": result}  # type: ignore[dict-item]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loans", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--phases", action="store_true", help="also print CPU, wall and peak RSS after each phase")
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one)))
        return
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the start "
          "(each size and its reference: one run each, in the same process)")
    print(f"{'loans':>10}{'rows':>12}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}{'bare insert s':>15}"
          f"{'ratio':>7}  targets (≤ {TARGET_SECONDS_PER_MILLION} s per 1M loans, ≤ {TARGET_RSS_MB} MB)")
    for n in args.loans:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        if args.phases:
            print(out.stderr, end="")
        ok_t = r["seconds"] <= TARGET_SECONDS_PER_MILLION * max(n, 1) / 1_000_000
        ok_m = r["peak_rss_mb"] <= TARGET_RSS_MB
        print(f"{n:>10,}{r['rows']:>12,}{r['seconds']:>9.1f}{r['cpu_seconds']:>9.1f}{r['peak_rss_mb']:>13.0f}"
              f"{r['reference_seconds']:>15.2f}{r['seconds'] / r['reference_seconds']:>7.1f}  "
              f"time {'met' if ok_t else 'NOT met'}, memory {'met' if ok_m else 'NOT met'}"
              f"  (load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
