"""``ipfin value INPUT [--paths N] [--seed S] [--out DIR]``: value assets, write JSON + HTML each.

The I/O edge of the valuation package: reads the input file, shows a progress bar on stderr,
writes ``<identifier>.json`` and ``<identifier>.html`` per asset into DIR.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from ipfin.executor import get_executor
from ipfin_app.tables import cny, pct, table
from valuation.batch import load_requests, value_many
from valuation.report import plotly_js_path, to_html, to_json_dict


def _progress_bar(done: int, total: int, ident: str) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {ident[:40]:<40}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _safe_name(ident: str, index: int) -> str:
    name = re.sub(r"[^0-9A-Za-z._-]+", "_", ident).strip("._") or "asset"
    return f"{index + 1:04d}_{name}"


def run_value(args: argparse.Namespace) -> int:
    try:
        requests = load_requests(args.input)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: cannot read {args.input}: {exc}\n")
        return 2
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plotly_js_path(), out_dir / "plotly.min.js")  # reports open offline
    executor = get_executor(args.dask)
    items = value_many(requests, paths=args.paths, seed=args.seed, progress=_progress_bar, executor=executor)
    failed = 0
    rows = []
    for it in items:
        if it.result is None:
            failed += 1
            sys.stderr.write(f"error: asset {it.index + 1} ({it.identifier}): {it.error}\n")
            continue
        stem = _safe_name(it.identifier, it.index)
        (out_dir / f"{stem}.json").write_text(
            json.dumps(to_json_dict(it.result), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        (out_dir / f"{stem}.html").write_text(to_html(it.result, plotly_js="plotly.min.js"), encoding="utf-8")
        rows.append(summary_row(it.result, stem))
    if rows:
        print(table(["asset", "type", "value (CNY)", "low – high (CNY)", "MC mean ± SE (CNY)", "P(value < loan)",
                     "report"], rows, right=[False, False, True, True, True, True, False]))
    sys.stderr.write(f"{len(items) - failed} valued, {failed} failed; output in {out_dir}\n")
    return 1 if failed else 0


def summary_row(r: Any, stem: str) -> list[str]:
    """One asset's line: appraised value, its range, the Monte Carlo mean with its standard error, shortfall."""
    mc = r.monte_carlo
    mean = f"{cny(mc.mean_fen)} ± {cny(round(mc.standard_error_cny * 100))}" if mc is not None else "—"
    below = pct(mc.prob_value_below_loan) if mc is not None and mc.prob_value_below_loan is not None else "—"
    return [r.identifier, r.ip_type, cny(r.appraised_value_fen),
            f"{cny(r.appraised_low_fen)} – {cny(r.appraised_high_fen)}", mean, below, f"{stem}.html"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("value", help="value IP assets (JSON/CSV/XLSX) and write JSON + HTML reports")
    p.add_argument("input", help="input file: .json, .csv or .xlsx")
    p.add_argument("--paths", type=int, default=None, help="Monte Carlo paths per asset (overrides the input)")
    p.add_argument("--seed", type=int, default=None, help="random seed (overrides the input)")
    p.add_argument("--out", default="valuation-out", help="output directory (default: valuation-out)")
    p.add_argument("--dask", default=None, help="Dask scheduler address (default: IPFIN_DASK_SCHEDULER or in-process)")
    p.set_defaults(func=run_value)
