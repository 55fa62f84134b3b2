"""``ipfin abs …`` commands: run a deal file (deterministic or Monte Carlo), list reference deals.

This module is the I/O edge (reads the deal file, prints or writes JSON); the work is
:func:`securitization.deal.run_deal`.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from ipfin.executor import get_executor
from ipfin_app.tables import cny, pct, table
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
    data = result.to_dict()
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    elif args.json:
        print(text)
    else:
        print(summary(data))
    return 0


def summary(data: dict[str, Any]) -> str:
    """A deal run as a person reads it: the pool, each scenario's tranche results, Monte Carlo tranche risk."""
    pool = data["pool"]
    out = [f"{data['deal']} · {pool['name']} · {data['mode']}",
           f"pool {cny(int(Decimal(pool['balance_cny']) * 100))} CNY, {pool['n_loans']} loans, "
           f"{pool['n_royalty_receivables']} royalty receivables, {pool['n_obligors']} obligors; "
           f"WA rate {pct(pool['wa_rate'])}, WA annual PD {pct(pool['wa_annual_pd'])}", ""]
    for sc in data.get("scenarios") or []:
        p = sc["pool"]
        out.append(f"scenario {sc['scenario']['name']}: cumulative default {pct(p['cumulative_default_rate'])}, "
                   f"loss {pct(p['cumulative_loss_rate'])} over {p['months']} months")
        rows = []
        for name, t in sc["tranches"].items():
            a = t.get("analytics_at_coupon_yield") or {}
            rows.append([name, cny(int(Decimal(t["balance_cny"]) * 100)), pct(t["coupon"]), cny(t["interest_paid_fen"]),
                         cny(t["principal_paid_fen"]), cny(t["principal_loss_fen"]),
                         f"{a['wal_years']:.2f}" if a.get("wal_years") is not None else "—"])
        out.append(table(["tranche", "balance (CNY)", "coupon", "interest paid", "principal paid", "principal loss",
                          "WAL (y)"], rows, right=[False, True, True, True, True, True, True]))
        out.append("")
    mc = data.get("monte_carlo")
    if mc:
        out.append(f"Monte Carlo: {mc['n_paths']:,} paths, seed {mc['seed']}, ρ {mc['rho']}")
        for stress, res in mc["stresses"].items():
            p = res["pool"]
            out.append(f"{stress}: expected pool loss {pct(p['expected_loss_rate'])} "
                       f"(SE {pct(p['expected_loss_rate_se'], 3)}), 99% {pct(p['loss_rate_p99'])}")
            rows = [[t["name"], pct(t["attachment"]), pct(t["detachment"]), pct(t["expected_loss"], 3),
                     pct(t["expected_loss_se"], 3), pct(t["prob_any_loss"]), t["implied_rating"]]
                    for t in res["tranches"]]
            out.append(table(["tranche", "attach", "detach", "EL", "EL SE", "P(loss)", "rating"], rows,
                             right=[False, True, True, True, True, True, False]))
            out.append("")
    out.append("(full figures: --json)")
    return "\n".join(out)


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
    run.add_argument("--summary", action="store_true", help="omit monthly and period tables from the JSON")
    run.add_argument("--json", action="store_true", help="print the full result as JSON instead of a summary table")
    run.add_argument("--out", metavar="FILE", help="write JSON here instead of stdout")
    run.set_defaults(func=_run)
    ls = sub.add_parser("list", help="list the shipped reference deals")
    ls.set_defaults(func=_list)
