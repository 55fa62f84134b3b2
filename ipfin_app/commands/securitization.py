"""``ipfin abs …`` commands: run a deal file (deterministic or Monte Carlo), list reference deals.

This module is the I/O edge (reads the deal file, prints or writes JSON); the work is
:func:`securitization.deal.run_deal`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ipfin.executor import get_executor
from securitization.credit import STRESS_SCENARIOS
from securitization.deal import load_deal, reference_deals, run_deal


def _resolve(path: str) -> Path:
    p = Path(path)
    if p.exists():
        return p
    ref = reference_deals()
    if path in ref:
        return ref[path]
    raise FileNotFoundError(f"no deal file {path!r} (and no reference deal of that name: {sorted(ref)})")


def _run(args: argparse.Namespace) -> int:
    try:
        deal = load_deal(_resolve(args.deal))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pricing: dict[str, dict[str, float]] = {}
    try:
        for key, items in (("yield_rate", args.yield_of), ("price", args.price_of)):
            for item in items or ():
                name, sep, value = item.partition("=")
                if not sep:
                    raise ValueError(f"--{key.replace('_rate', '')}-of: expected TRANCHE=NUMBER, got {item!r}")
                pricing.setdefault(name, {})[key] = float(value)
        executor = get_executor(args.dask) if args.dask else None
        result = run_deal(
            deal, args.mode, n_paths=args.paths, seed=args.seed, stresses=tuple(args.stress or ["base"]),
            executor=executor, include_periods=not args.summary, pricing=pricing or None,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def _list(args: argparse.Namespace) -> int:
    for name, path in reference_deals().items():
        d = json.loads(path.read_text(encoding="utf-8"))
        print(f"{name}\t{d.get('name_zh', '')}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ipfin abs run DEAL.json [--mode …] [--paths N] [--seed S] [--yield-of T=Y] [--price-of T=P]
    [--out FILE]`` and ``ipfin abs list``."""
    p = subparsers.add_parser("abs", help="IP securitisation: pool cash flows, waterfall, tranche risk")
    sub = p.add_subparsers(dest="abs_command", required=True)
    run = sub.add_parser("run", help="run a deal file (or a reference deal name)")
    run.add_argument("deal", help="deal JSON file, or the name of a shipped reference deal")
    run.add_argument("--mode", choices=("deterministic", "monte_carlo"), default="deterministic")
    run.add_argument("--paths", type=int, default=10_000, help="Monte Carlo paths")
    run.add_argument("--seed", type=int, default=20240601)
    run.add_argument("--stress", action="append", choices=sorted(STRESS_SCENARIOS),
                     help="credit stress for Monte Carlo (repeatable; default base)")
    run.add_argument("--dask", metavar="ADDRESS", help="Dask scheduler address for Monte Carlo chunks")
    run.add_argument("--yield-of", action="append", metavar="TRANCHE=RATE",
                     help="also price TRANCHE at this annual yield (fraction), e.g. Senior=0.035 (repeatable)")
    run.add_argument("--price-of", action="append", metavar="TRANCHE=PRICE",
                     help="also solve TRANCHE's yield at this price per 100 of face, e.g. A=99.5 (repeatable)")
    run.add_argument("--summary", action="store_true", help="omit monthly and period tables")
    run.add_argument("--out", metavar="FILE", help="write JSON here instead of stdout")
    run.set_defaults(func=_run)
    ls = sub.add_parser("list", help="list the shipped reference deals")
    ls.set_defaults(func=_list)
