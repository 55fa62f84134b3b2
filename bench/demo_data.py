"""Demo-data generation speed: 100,000 loans (and their borrowers, IP assets and collateral
links) into a fresh SQLite file, against a bare bulk insert of the same number of rows into one
narrow table, measured in the same run. Target: ≤ 60 s for 100k loans on a 2-core machine.

Run: ``.venv/bin/python bench/demo_data.py [--loans N]``
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

# run as a script, bench/ is first on sys.path and bench/valuation.py would shadow the valuation package
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from sqlalchemy import func, select

from api.core.db import make_engine, upgrade
from api.demo import generate
from api.pledge.models import Borrower, IPAsset, Loan, LoanCollateral


def bare_insert_seconds(path: Path, n_rows: int) -> float:
    """Reference: executemany of ``n_rows`` (int, text, int) rows, one transaction."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, v INTEGER)")
    rows = [(i, f"row{i}", i * 7) for i in range(n_rows)]
    t0 = time.perf_counter()
    with con:
        con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    dt = time.perf_counter() - t0
    con.close()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loans", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        t0 = time.perf_counter()
        result = generate(engine, args.loans, seed=1)
        gen_s = time.perf_counter() - t0
        with engine.connect() as c:
            rows = sum(c.execute(select(func.count()).select_from(m)).scalar_one()
                       for m in (Borrower, Loan, IPAsset, LoanCollateral))
        ref_s = bare_insert_seconds(Path(tmp) / "ref.db", rows)
    print(f"{'measure':<52}{'seconds':>10}{'rows/s':>12}{'ratio':>8}")
    print(f"{'demo-data, ' + format(args.loans, ',') + ' loans (' + format(rows, ',') + ' rows)':<52}"
          f"{gen_s:>10.2f}{rows / gen_s:>12,.0f}{gen_s / ref_s:>8.1f}")
    print(f"{'reference: bare executemany, same row count':<52}{ref_s:>10.2f}{rows / ref_s:>12,.0f}{1:>8.1f}")
    print(f"target ≤ 60 s for 100,000 loans: {'met' if gen_s <= 60 * args.loans / 100_000 else 'NOT met'}"
          f"  (counts: {result})")


if __name__ == "__main__":
    main()
