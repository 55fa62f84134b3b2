"""Glue between the pledge tables and the pure ``pledge`` package.

Every write adds its audit event to the request's session; the route commits once.
Loan changes go through :func:`_bump_version`, a conditional ``UPDATE ... WHERE id AND
version`` so two concurrent moves on the same loan cannot both succeed (the loser gets
409 and nothing it did is committed).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session

from api.core.errors import NotFound
from api.identity.models import Organisation, OrgKind
from api.pledge.jobs import run_monitoring
from api.pledge.service import today
from ipfin.money import MoneyError, cny_to_fen, fen_to_cny
from pledge.eligibility import (
    CollateralFacts,
    LegalStatus,
)
from pledge.monitoring import LoanClass, LoanSnapshot, monitor_loan
from pledge.policy import CollateralValue, default_policy, load_policy, max_loan
from pledge.schedule import (
    InterestRate,
    LoanTerms,
    ScheduleType,
    build_schedule,
)


def run_from_cli(args: Any) -> int:
    """``ipfin monitor`` without ``--input``: monitor the whole database and commit."""
    import os

    from api.core.config import reset_settings
    from api.core.db import get_engine, set_engine

    if getattr(args, "database_url", None):
        os.environ["IPFIN_DATABASE_URL"] = args.database_url
        reset_settings()
        set_engine(None)
    as_of = date.fromisoformat(args.as_of) if getattr(args, "as_of", None) else today()
    with Session(get_engine()) as s:
        org = None
        if getattr(args, "bank_org_id", None) is not None:
            org = s.get(Organisation, args.bank_org_id)
            if org is None or str(org.kind) != OrgKind.bank.value:
                print(f"ipfin monitor: no bank organisation {args.bank_org_id}")
                return 2
        summary = run_monitoring(s, None, org, as_of)
        s.commit()
    print(f"monitored {summary.loans_checked} loan(s) on {as_of}: {summary.alerts_created} new alert(s), "
          f"{len(summary.moved_to_overdue)} moved to overdue, {len(summary.cured)} cured")
    return 0


def _rate(args: argparse.Namespace) -> InterestRate:
    if args.lpr is not None:
        return InterestRate.lpr_plus(args.lpr, args.spread_bp)
    if args.rate is None:
        raise ValueError("give --rate or --lpr (with --spread-bp)")
    return InterestRate.fixed(args.rate)


def cmd_schedule(args: argparse.Namespace) -> int:
    try:
        terms = LoanTerms(cny_to_fen(args.amount), _rate(args), date.fromisoformat(args.start), args.periods,
                          ScheduleType(args.type), args.months)
    except (ValueError, MoneyError) as exc:
        print(f"ipfin pledge-schedule: {exc}", file=sys.stderr)
        return 2
    s = build_schedule(terms)
    rows = [
        {"number": i.number, "period_start": i.period_start.isoformat(), "due_date": i.due_date.isoformat(),
         "days": i.days, "opening_balance": fen_to_cny(i.opening_balance_fen), "principal": fen_to_cny(i.principal_fen),
         "interest": fen_to_cny(i.interest_fen), "total": fen_to_cny(i.total_fen),
         "closing_balance": fen_to_cny(i.closing_balance_fen)}
        for i in s.instalments
    ]
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        print(f"wrote {len(rows)} instalments to {args.csv}")
        return 0
    print(f"{'#':>3} {'due date':<10} {'days':>4} {'principal':>16} {'interest':>14} {'total':>16} {'balance':>16}")
    for r in rows:
        print(f"{r['number']:>3} {r['due_date']:<10} {r['days']:>4} {r['principal']:>16,} {r['interest']:>14,} "
              f"{r['total']:>16,} {r['closing_balance']:>16,}")
    print(f"annual rate {s.annual_rate}; total interest {fen_to_cny(s.total_interest_fen):,} CNY")
    return 0


def cmd_max_loan(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy) if args.policy else default_policy()
    try:
        raw = json.loads(Path(args.collateral).read_text(encoding="utf-8"))
        items = [
            CollateralValue(c["asset_id"], c["ip_type"], Decimal(str(c["score"])), cny_to_fen(str(c["value_cny"])),
                            {int(k): cny_to_fen(str(v)) for k, v in c.get("percentiles_cny", {}).items()})
            for c in raw
        ]
        result = max_loan(policy, items)
    except (ValueError, KeyError, MoneyError) as exc:
        print(f"ipfin pledge-max-loan: {exc}", file=sys.stderr)
        return 2
    for line in result.why:
        print(line)
    return 0


def _snapshot(d: dict) -> LoanSnapshot:
    return LoanSnapshot(
        loan_id=str(d["loan_id"]), as_of=date.fromisoformat(d["as_of"]), maturity=date.fromisoformat(d["maturity"]),
        days_overdue=int(d.get("days_overdue", 0)), outstanding_fen=int(d["outstanding_fen"]),
        collateral_value_fen=int(d["collateral_value_fen"]),
        last_valuation_date=date.fromisoformat(d["last_valuation_date"]) if d.get("last_valuation_date") else None,
        collateral=tuple(
            CollateralFacts(
                c["asset_id"], c["ip_type"], tuple(c.get("registered_owners", ["?"])), LegalStatus(c["legal_status"]),
                date.fromisoformat(c["expiry_date"]) if c.get("expiry_date") else None,
                date.fromisoformat(c["annual_fee_paid_until"]) if c.get("annual_fee_paid_until") else None,
                dispute=bool(c.get("dispute", False)), preservation=bool(c.get("preservation", False)),
            )
            for c in d.get("collateral", [])
        ),
        previous_bucket_index=d.get("previous_bucket_index"),
        judged_class=LoanClass(d["judged_class"]) if d.get("judged_class") else None,
    )


def cmd_monitor(args: argparse.Namespace) -> int:
    if getattr(args, "as_of", None):
        try:
            date.fromisoformat(args.as_of)
        except ValueError:
            print(f"ipfin monitor: --as-of must be a date YYYY-MM-DD, got {args.as_of!r}", file=sys.stderr)
            return 2
    if args.input is None:
        return run_from_cli(args)
    policy = load_policy(args.policy) if args.policy else default_policy()
    try:
        snaps = [_snapshot(d) for d in json.loads(Path(args.input).read_text(encoding="utf-8"))]
    except (ValueError, KeyError, TypeError) as exc:
        print(f"ipfin monitor: bad input: {exc}", file=sys.stderr)
        return 2
    out: list[dict[str, Any]] = []
    n_alerts = 0
    for s in snaps:
        r = monitor_loan(s, ltv_trigger=policy.ltv_breach_trigger,
                         revaluation_interval_days=policy.revaluation_interval_days, buckets=policy.bucket_policy)
        out.append({"loan_id": r.loan_id, "days_overdue": r.days_overdue, "bucket": r.bucket.label,
                    "class": r.loan_class.value, "ltv": str(r.ltv) if r.ltv is not None else None,
                    "alerts": [a.as_dict() for a in r.alerts]})
        n_alerts += len(r.alerts)
    text = json.dumps(out, ensure_ascii=False, indent=2)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{n_alerts} alert(s) for {len(out)} loan(s) written to {args.output}")
    else:
        print(text)
    return 0


def _db_session(args: Any) -> Any:
    """A session on ``--database-url`` (default: the configured database)."""
    import os

    from api.core.config import reset_settings
    from api.core.db import get_engine, set_engine

    if getattr(args, "database_url", None):
        os.environ["IPFIN_DATABASE_URL"] = args.database_url
        reset_settings()
        set_engine(None)
    return Session(get_engine())


def cmd_accrue(args: argparse.Namespace) -> int:
    """``ipfin accrue``: the daily lending job (LPR resets, penalty and compound interest) on every loan."""
    from api.pledge.arrears_jobs import run_accrual

    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else today()
    except ValueError:
        print(f"ipfin accrue: --as-of must be YYYY-MM-DD, got {args.as_of!r}", file=sys.stderr)
        return 2
    if as_of > today():
        print("ipfin accrue: --as-of must not be in the future", file=sys.stderr)
        return 2
    with _db_session(args) as s:
        out = run_accrual(s, None, None, as_of)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def cmd_calendar(args: argparse.Namespace) -> int:
    """``ipfin calendar``: list a year, or set/delete an override (audited as the system user)."""
    from api.pledge import calendar_admin

    with _db_session(args) as s:
        if args.action == "list":
            view = calendar_admin.year_view(s, args.year or today().year)
            print(json.dumps(view, ensure_ascii=False, indent=2, default=str))
            return 0
        try:
            day = date.fromisoformat(args.day or "")
        except ValueError:
            print("ipfin calendar: --day YYYY-MM-DD is required", file=sys.stderr)
            return 2
        if args.action == "set":
            if args.kind not in ("working", "holiday") or not args.note:
                print("ipfin calendar set: --kind working|holiday and --note are required", file=sys.stderr)
                return 2
            calendar_admin.put_override(s, None, day, args.kind == "working", args.note)
        else:
            try:
                calendar_admin.delete_override(s, None, day)
            except NotFound as exc:
                print(f"ipfin calendar: {exc}", file=sys.stderr)
                return 1
        s.commit()
    print(f"ipfin calendar: {args.action} {day.isoformat()}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("pledge-schedule", help="repayment schedule of a pledge loan (exact fen)")
    p.add_argument("--amount", required=True, help="loan amount in CNY, e.g. 1000000.00")
    p.add_argument("--rate", help="fixed annual rate as a fraction, e.g. 0.04")
    p.add_argument("--lpr", help="LPR as a fraction, e.g. 0.031 (rate = LPR + spread)")
    p.add_argument("--spread-bp", type=int, default=0, help="spread over LPR in basis points")
    p.add_argument("--start", required=True, help="disbursement date YYYY-MM-DD")
    p.add_argument("--periods", type=int, required=True)
    p.add_argument("--months", type=int, default=1, help="months per period (1, 3, 6, 12)")
    p.add_argument("--type", default="equal_instalment", choices=[t.value for t in ScheduleType])
    p.add_argument("--csv", help="write the schedule to this CSV file instead of printing")
    p.set_defaults(func=cmd_schedule)

    p = subparsers.add_parser("pledge-max-loan", help="maximum loan for a collateral set and why")
    p.add_argument("--collateral", required=True,
                   help="JSON list of {asset_id, ip_type, score, value_cny, percentiles_cny?}")
    p.add_argument("--policy", help="policy JSON (default: the shipped policy)")
    p.set_defaults(func=cmd_max_loan)

    p = subparsers.add_parser("monitor", help="post-loan monitoring: overdue buckets, LTV, re-valuation, IP lapses")
    p.add_argument("--input", help="JSON list of loan snapshots (without it: the database job)")
    p.add_argument("--output", help="write the alerts JSON here")
    p.add_argument("--policy", help="policy JSON (default: the shipped policy)")
    p.add_argument("--as-of", help="monitoring date YYYY-MM-DD (database job; default today)")
    p.add_argument("--database-url", help="database URL (database job)")
    p.add_argument("--bank-org-id", type=int, help="monitor only this bank's loans (database job)")
    p.set_defaults(func=cmd_monitor)

    p = subparsers.add_parser("accrue", help="daily lending job: LPR resets, penalty (罚息), compound interest (复利)")
    p.add_argument("--as-of", help="accrue up to this date YYYY-MM-DD (default today); idempotent per day")
    p.add_argument("--database-url", help="database URL")
    p.set_defaults(func=cmd_accrue)

    p = subparsers.add_parser("calendar", help="China calendar overrides (the State Council's yearly notice)")
    p.add_argument("action", choices=["list", "set", "delete"])
    p.add_argument("--year", type=int, help="year to list")
    p.add_argument("--day", help="date YYYY-MM-DD to set or delete")
    p.add_argument("--kind", choices=["working", "holiday"])
    p.add_argument("--note", help="the notice the override comes from")
    p.add_argument("--database-url", help="database URL")
    p.set_defaults(func=cmd_calendar)
