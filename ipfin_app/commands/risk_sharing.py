"""``ipfin risk …``: list presets, validate rule files, simulate a loss split.

The I/O edge of risk_sharing (prints and reads files); the logic lives in the pure modules.

    ipfin risk presets
    ipfin risk simulate --preset chongqing-4222 --loss 8000000.03 [--json]
    ipfin risk check rules/*.yaml
"""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError

from ipfin.money import MoneyError, cny_to_fen, fen_to_cny
from ipfin_app.commands import rule_cost
from risk_sharing.presets import list_presets, load_preset
from risk_sharing.rules import Rule, check_versions, load_rule
from risk_sharing.splitting import simulate


def _rule_from_args(args: argparse.Namespace) -> Rule:
    if args.rule:
        return load_rule(args.rule)
    return load_preset(args.preset)


def run_presets(args: argparse.Namespace) -> int:
    for name in list_presets():
        r = load_preset(name)
        split = " : ".join(f"{p.key} {p.share}" for p in r.parties)
        print(f"{name:<24} v{r.version} {r.effective_from}..{r.effective_to or 'open'}  {split}")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    try:
        rule = _rule_from_args(args)
        loss = cny_to_fen(args.loss)
        sim = simulate(rule, loss)
    except (OSError, ValueError, ValidationError, MoneyError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.json:
        out = {
            "rule_id": sim.rule_id,
            "rule_version": sim.rule_version,
            "loss_cny": str(fen_to_cny(sim.loss_fen)),
            "loss_base_cny": str(fen_to_cny(sim.split.loss_base_fen)),
            "uncounted_loss_cny": str(fen_to_cny(sim.uncounted_loss_fen)),
            "parties": [
                {"key": p.key, "role": p.role, "share": str(p.share), "payable_cny": str(fen_to_cny(p.payable_fen))}
                for p in sim.split.parties
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    base = fen_to_cny(sim.split.loss_base_fen)
    print(f"{rule.name} (v{rule.version}) — loss {fen_to_cny(loss):,} CNY, base {base:,} CNY")
    for p in sim.split.parties:
        print(f"  {p.key:<22} {p.share:>6}%  {fen_to_cny(p.payable_fen):>20,} CNY")
    if sim.uncounted_loss_fen:
        print(f"  (not counted under the scheme: {fen_to_cny(sim.uncounted_loss_fen):,} CNY)")
    return 0


def run_check(args: argparse.Namespace) -> int:
    rules: list[Rule] = []
    bad = 0
    for path in args.files:
        try:
            rules.append(load_rule(path))
        except (OSError, ValueError, ValidationError) as exc:
            bad += 1
            sys.stderr.write(f"{path}: {exc}\n")
    try:
        check_versions(rules)
    except ValueError as exc:
        bad += 1
        sys.stderr.write(f"versions: {exc}\n")
    print(f"{len(rules)} rule file(s) read, {bad} problem(s)")
    return 1 if bad else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ipfin risk`` and its sub-commands."""
    risk = subparsers.add_parser("risk", help="risk-compensation rules: presets, simulate, check")
    sub = risk.add_subparsers(dest="risk_command", required=True, metavar="SUBCOMMAND")
    p = sub.add_parser("presets", help="list the shipped rule presets")
    p.set_defaults(func=run_presets)
    s = sub.add_parser("simulate", help="what each party would pay for a loss")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--preset", choices=list_presets())
    g.add_argument("--rule", help="rule file (.json/.yaml)")
    s.add_argument("--loss", required=True, help="loss in CNY, e.g. 8000000.03")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=run_simulate)
    c = sub.add_parser("check", help="validate rule files and their versions")
    c.add_argument("files", nargs="+")
    c.set_defaults(func=run_check)
    rule_cost.register(sub)
