"""``ipfin risk cost`` and ``ipfin risk fee``: what a rule will cost each payer, and the break-even fee.

The same service as ``POST /api/v1/rule-costs`` and ``/guarantee-fees`` (:mod:`api.risk_sharing.cost`),
on the stored book (all of it, or what organisation ``--org-id`` may see, narrowed by the filters and
``--loans N``) or on a CSV tape::

    ipfin risk cost --rule chongqing-4222 --loans 5000 --paths 2000 --seed 1
    ipfin risk cost --rule chongqing-4222 --tape book.csv --years 3 --claim-lag-months 6
    ipfin risk fee --rule chongqing-4222 --province 500000 --confidence 0.99 --cost-of-capital 0.1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ipfin_app.tables import pct, table


def _use_database(url: str | None) -> None:
    if url:
        os.environ["IPFIN_DATABASE_URL"] = url
        from api.core.config import reset_settings
        from api.core.db import set_engine

        reset_settings()
        set_engine(None)


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _request(args: argparse.Namespace, fee: bool) -> Any:
    from api.risk_sharing import cost

    common: dict[str, Any] = {"rule_id": args.rule, "years": args.years, "n_paths": args.paths, "seed": args.seed,
                              "claim_lag_months": args.claim_lag_months}
    if args.tape:
        common["tape"] = Path(args.tape).read_text(encoding="utf-8")
    else:
        common["book"] = cost.BookFilter(province_code=args.province, region_code=args.region,
                                         industry=args.industry, bank_org_id=args.bank_org_id, max_loans=args.loans)
    if fee:
        return cost.FeeRequest(**common, operating_cost_rate=args.operating_cost, confidence=args.confidence,
                               cost_of_capital=args.cost_of_capital, top=args.top)
    return cost.RuleCostRequest(**common)


def _run(args: argparse.Namespace, fee: bool) -> tuple[int, dict[str, Any] | None]:
    from pydantic import ValidationError
    from sqlmodel import Session

    from api.core.db import get_engine
    from api.core.errors import FieldError, NotFound
    from api.identity.models import Organisation, OrgKind
    from api.pledge.service import today
    from api.risk_sharing import cost

    name = "fee" if fee else "cost"
    try:
        body = _request(args, fee)
    except (OSError, ValidationError) as exc:
        print(f"ipfin risk {name}: {exc}", file=sys.stderr)
        return 2, None
    _use_database(args.database_url)
    with Session(get_engine()) as s:
        org = s.get(Organisation, args.org_id) if args.org_id else Organisation(kind=OrgKind.admin, name="cli")
        if org is None:
            print(f"ipfin risk {name}: no organisation {args.org_id}", file=sys.stderr)
            return 2, None
        try:
            rule, data = cost.prepare(s, org, body, today())
            return 0, cost.run(rule, data, body)
        except (FieldError, NotFound) as exc:
            where = f"{exc.field}: " if isinstance(exc, FieldError) else ""
            print(f"ipfin risk {name}: {where}{exc}", file=sys.stderr)
            return 2, None


def print_cost(out: dict[str, Any]) -> None:
    print(f"{out['rule_id']} v{out['rule_version']} · {out['n_loans']:,} loans ({out['n_eligible']:,} eligible, "
          f"{_money(out['exposure_cny'])} CNY) · {out['n_paths']:,} paths · seed {out['seed']} · "
          f"{out['years']} year(s) · {out['method']} · paid {out['claim_lag_months']} months after default")
    print("book: " + ", ".join(f"{k} {v:,}" for k, v in out["book_sources"].items()))
    rows = []
    for p in out["parties"]:
        q = {x["level"]: x for x in p["payout_quantiles"]}
        rows.append([p["key"], pct(p["share"], 0), _money(p["expected_payout_cny"]),
                     _money(p["expected_payout_se_cny"]), _money(q[0.95]["value_cny"]), _money(q[0.99]["value_cny"]),
                     _money(q[0.99]["se_cny"]), _money(q[0.999]["value_cny"]), _money(p["expected_net_cost_cny"]),
                     _money(p["expected_pending_at_horizon_cny"])])
    print(table(["party", "share", "E[payout]", "SE", "P95", "P99", "SE(P99)", "P99.9", "E[net of recoveries]",
                 "E[pending at horizon end]"], rows, right=[False] + [True] * 9))
    if out["caps"]:
        print()
        print(table(["cap", "P(binds)", "SE", *[f"first binds in year {y + 1}" for y in range(out["years"])]],
                    [[c["cap"], pct(c["probability"]), pct(c["probability_se"]), *[pct(v) for v in c["first_year"]]]
                     for c in out["caps"]], right=[False] + [True] * (2 + out["years"])))
    prog = out.get("programme")
    if prog:
        print()
        if prog["insurer"]:
            print(f"insurer {prog['insurer']}: premium {pct(prog['premium_rate'])} → expected "
                  + ", ".join(_money(v) for v in prog["expected_premium_by_year_cny"]) + " CNY by year")
        if prog["subsidies"]:
            print(table(["subsidy", "payer", "budget", "expected demand by year", "first exhausted"],
                        [[s["key"], s["payer"],
                          "—" if s["annual_budget_cny"] is None else _money(s["annual_budget_cny"]),
                          ", ".join(_money(v) for v in s["expected_demand_by_year_cny"]),
                          "never" if s["first_exhausted_year"] is None else f"year {s['first_exhausted_year'] + 1}"]
                         for s in prog["subsidies"]]))


def print_fee(out: dict[str, Any]) -> None:
    cap = out["fee_cap"]
    print(f"{out['rule_id']} v{out['rule_version']} · {out['n_loans']:,} eligible loans priced · "
          f"{out['n_paths']:,} paths · seed {out['seed']} · fee cap {pct(cap) if cap is not None else 'none'}")
    rows = [[p["key"], pct(p["expected_loss_rate"], 3), pct(p["operating_cost_rate"], 3), pct(p["capital_rate"], 3),
             pct(p["break_even_rate"], 3), pct(p["break_even_rate_se"], 3),
             "yes" if p["key"] in out["fee_parties"] else ""] for p in out["parties"]]
    rows.append(["total (fee parties)", "", "", "", pct(out["total_break_even_rate"], 3),
                 pct(out["total_break_even_rate_se"], 3), ""])
    print(table(["party", "expected loss", "operating", "capital", "break-even", "SE", "in fee"], rows,
                right=[False, True, True, True, True, True, False]))
    print(f"\nunder-priced by the cap: {out['under_priced_count']:,} loans ({pct(out['under_priced_share'])}), "
          f"{_money(out['gap_cny_per_year'])} CNY a year short")
    if out["under_priced_loans"]:
        print(table(["loan", "EAD", "break-even", "gap", "gap CNY/yr", "charged"],
                    [[x["loan"], _money(x["ead_cny"]), pct(x["break_even_rate"], 3), pct(x["gap_rate"], 3),
                      _money(x["gap_cny_per_year"]), pct(x["charged_rate"])] for x in out["under_priced_loans"]],
                    right=[False, True, True, True, True, True]))


def cmd_cost(args: argparse.Namespace) -> int:
    code, out = _run(args, fee=False)
    if out is not None:
        print(json.dumps(out, ensure_ascii=False, indent=1)) if args.json else print_cost(out)
    return code


def cmd_fee(args: argparse.Namespace) -> int:
    code, out = _run(args, fee=True)
    if out is not None:
        print(json.dumps(out, ensure_ascii=False, indent=1)) if args.json else print_fee(out)
    return code


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rule", required=True, help="rule id: a preset or a stored family (version in force today)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--tape", help="CSV tape: loan_id, ead_cny, annual_pd, collateral_cny [, …]")
    src.add_argument("--loans", type=int, help="the first N live loans of the stored book (default all)")
    p.add_argument("--org-id", type=int, help="run on the book this organisation may see (default: all)")
    p.add_argument("--province", help="GB/T 2260 province code")
    p.add_argument("--region", help="GB/T 2260 city or county code")
    p.add_argument("--industry", help="GB/T 4754 section")
    p.add_argument("--bank-org-id", type=int)
    p.add_argument("--years", type=int, default=1)
    p.add_argument("--paths", type=int, default=2_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--claim-lag-months", type=int,
                   help="months from default to payout (default: the rule's trigger delay + 2 months, an assumption)")
    p.add_argument("--json", action="store_true", help="print the API's JSON answer")
    p.add_argument("--database-url", help="overrides IPFIN_DATABASE_URL")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``cost`` and ``fee`` to the ``ipfin risk`` group."""
    c = sub.add_parser("cost", help="what a rule will cost each payer on a book (simulated)")
    _common(c)
    c.set_defaults(func=cmd_cost)
    f = sub.add_parser("fee", help="break-even guarantee fee per party vs the rule's fee cap")
    _common(f)
    f.add_argument("--operating-cost", type=float, default=0.0, help="annual operating cost rate")
    f.add_argument("--confidence", type=float, help="capital at this quantile (e.g. 0.99)")
    f.add_argument("--cost-of-capital", type=float, default=0.0)
    f.add_argument("--top", type=int, default=10, help="most under-priced loans listed")
    f.set_defaults(func=cmd_fee)
