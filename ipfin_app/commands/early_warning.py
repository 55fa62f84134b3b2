"""``ipfin early-warning`` and ``ipfin stress``: scoring runs, validation metrics and collateral stress
tests on the database, the same service code as the API (runs are stored, audited with no user)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session


def _session() -> Session:
    from api.core.db import get_engine

    return Session(get_engine())


def _use_database(url: str | None) -> None:
    if url:
        os.environ["IPFIN_DATABASE_URL"] = url
        from api.core.config import reset_settings
        from api.core.db import set_engine

        reset_settings()
        set_engine(None)


def _org(s: Session, org_id: int, kinds: tuple[str, ...]) -> Any:
    from api.identity.models import Organisation

    org = s.get(Organisation, org_id)
    if org is None or str(org.kind) not in kinds:
        raise ValueError(f"no {' or '.join(kinds)} organisation {org_id}")
    return org


def _date(x: str | None) -> date | None:
    return date.fromisoformat(x) if x else None


def cmd_score(args: argparse.Namespace) -> int:
    from api.early_warning import service

    _use_database(args.database_url)
    with _session() as s:
        try:
            org = _org(s, args.org_id, ("bank", "admin"))
            run = service.create_run(s, None, org, _date(args.data_cut), args.alert_pd)
        except ValueError as exc:
            print(f"ipfin early-warning score: {exc}", file=sys.stderr)
            return 2
        s.commit()
        print(f"run {run.id}: {run.n_loans} loan(s) scored at {run.data_cut}, {run.n_alerts} alert(s) "
              f"(PD ≥ {run.alert_pd:.1%}); model {run.model_version} ({run.model_kind})\n  {run.note}")
        if run.metrics:
            m = run.metrics
            print(f"  out of time ({m['test_cut']}): AUC {m['auc']:.3f} · KS {m['ks']:.3f} · Brier {m['brier']:.4f}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from api.early_warning import service

    _use_database(args.database_url)
    with _session() as s:
        try:
            org = _org(s, args.org_id, ("bank", "admin"))
            run = service.get_run(s, org, args.run_id)
            out = service.validate_run(s, org, run, date.fromisoformat(args.data_cut), args.bins)
        except (ValueError, LookupError) as exc:
            print(f"ipfin early-warning validate: {exc}", file=sys.stderr)
            return 2
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    return 0


def cmd_stress(args: argparse.Namespace) -> int:
    from api.early_warning import stress
    from api.early_warning.schemas import StressRunCreate
    from api.pledge.service import today
    from pledge.stress import ShockFactorModel

    _use_database(args.database_url)
    if args.list:
        named, _ = stress.scenarios()
        for sc in named.values():
            print(f"{sc.name:<28} {sc.label_zh}  {sc.description}")
        return 0
    if args.org_id is None:
        print("ipfin stress: --org-id is needed (or --list)", file=sys.stderr)
        return 2
    with _session() as s:
        try:
            org = _org(s, args.org_id, ("bank", "bureau", "admin"))
            if args.paths:
                book = stress.collateral_book(s, org, _date(args.data_cut) or today())
                _, params = stress.scenarios()
                out = stress.mc_result(book, ShockFactorModel(), args.paths, args.seed, params.recovery_rate.value,
                                       lambda p: print(f"\r  {p:.0%}", end="", file=sys.stderr))
                print(file=sys.stderr)
            else:
                body = StressRunCreate(scenario=args.scenario, data_cut=_date(args.data_cut))
                row = stress.create_deterministic(s, None, org, body)
                s.commit()
                out = {"stress_run_id": row.id, **(row.result or {})}
        except ValueError as exc:
            print(f"ipfin stress: {exc}", file=sys.stderr)
            return 2
    print(json.dumps(out, ensure_ascii=False, indent=2, default=lambda x: str(x) if isinstance(x, Decimal) else x))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("early-warning", help="early-warning scoring runs and their validation metrics")
    sub = p.add_subparsers(dest="ew_command", required=True)
    q = sub.add_parser("score", help="score an organisation's live loans (fit on history or the prior), store the run")
    q.add_argument("--org-id", type=int, required=True, help="bank organisation id")
    q.add_argument("--data-cut", help="YYYY-MM-DD (default today)")
    q.add_argument("--alert-pd", type=float, default=0.10, help="PD at or above which an alert is raised")
    q.add_argument("--database-url")
    q.set_defaults(func=cmd_score)
    q = sub.add_parser("validate", help="AUC, KS, Brier and calibration of a run's model at a past data cut")
    q.add_argument("--org-id", type=int, required=True)
    q.add_argument("--run-id", type=int, required=True)
    q.add_argument("--data-cut", required=True, help="YYYY-MM-DD, at least a year ago")
    q.add_argument("--bins", type=int, default=10)
    q.add_argument("--database-url")
    q.set_defaults(func=cmd_validate)

    p = subparsers.add_parser("stress", help="collateral stress test: a named scenario, or a Monte Carlo")
    p.add_argument("--list", action="store_true", help="list the named scenarios")
    p.add_argument("--org-id", type=int, help="bank or bureau organisation id")
    p.add_argument("--scenario", default="sector_downturn")
    p.add_argument("--paths", type=int, help="Monte Carlo paths (without it: the named scenario)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-cut", help="YYYY-MM-DD (default today)")
    p.add_argument("--database-url")
    p.set_defaults(func=cmd_stress)
