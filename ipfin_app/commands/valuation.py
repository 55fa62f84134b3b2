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

from ipfin.executor import get_executor
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
    sys.stderr.write(f"{len(items) - failed} valued, {failed} failed; output in {out_dir}\n")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("value", help="value IP assets (JSON/CSV/XLSX) and write JSON + HTML reports")
    p.add_argument("input", help="input file: .json, .csv or .xlsx")
    p.add_argument("--paths", type=int, default=None, help="Monte Carlo paths per asset (overrides the input)")
    p.add_argument("--seed", type=int, default=None, help="random seed (overrides the input)")
    p.add_argument("--out", default="valuation-out", help="output directory (default: valuation-out)")
    p.add_argument("--dask", default=None, help="Dask scheduler address (default: IPFIN_DASK_SCHEDULER or in-process)")
    p.set_defaults(func=run_value)
