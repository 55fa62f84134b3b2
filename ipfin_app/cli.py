"""The ``ipfin`` command line: serve, database, demo data, and each domain's commands."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ipfin_app.commands import early_warning, pledge, risk_sharing, securitization, valuation


def _use_database(url: str | None) -> None:
    if url:
        os.environ["IPFIN_DATABASE_URL"] = url
    from api.core.config import reset_settings
    from api.core.db import set_engine

    reset_settings()
    set_engine(None)


def _print_demo_logins() -> None:
    from api.demo import DEMO_PASSWORD, DEMO_USERS

    print(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
    for email, org, role, note in DEMO_USERS:
        print(f"  {email:<32} {role:<9} {org}  — {note}")


def cmd_serve(args: argparse.Namespace) -> int:
    if args.demo:
        os.environ["IPFIN_DEMO_MODE"] = "true"
    _use_database(args.database_url)
    import uvicorn
    from sqlalchemy import func, select

    from api.core.config import get_settings
    from api.core.db import get_engine, upgrade
    from api.identity.models import Organisation
    from ipfin_app.server import create_app

    settings = get_settings()
    try:
        settings.check_secret()
    except RuntimeError as exc:
        print(f"ipfin: {exc}", file=sys.stderr)
        return 2
    engine = get_engine()
    upgrade(engine)
    if settings.demo_mode:
        with engine.connect() as conn:
            empty = conn.execute(select(func.count()).select_from(Organisation)).scalar_one() == 0
        if empty:
            from api.demo import generate

            print(f"Seeding demo database ({settings.demo_loans} loans)…", flush=True)
            result = generate(engine, settings.demo_loans, progress=lambda m: print("  " + m, flush=True))
            print(f"  done in {result['seconds']} s")
        _print_demo_logins()
    print(f"\nipfin on http://{args.host}:{args.port}  ·  API /api/v1  ·  docs /docs  ·  dashboard /dashboard/\n",
          flush=True)
    if args.workers > 1:  # migrated once above; each worker process builds its own app and connection pool
        uvicorn.run("ipfin_app.server:create_served_app", factory=True, workers=args.workers, host=args.host,
                    port=args.port, log_level=args.log_level)
    else:
        uvicorn.run(create_app(migrate=False), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    _use_database(args.database_url)
    from api.core.db import get_engine, head_revisions, schema_revisions, upgrade

    engine = get_engine()
    if args.db_command == "upgrade":
        upgrade(engine, args.revision)
        print("database at", ",".join(schema_revisions(engine)) or "base")
    elif args.db_command in ("check-rollups", "rebuild-rollups"):
        return _rollups(engine, rebuild=args.db_command == "rebuild-rollups")
    else:
        print("database at", ",".join(schema_revisions(engine)) or "base", "· heads", ",".join(head_revisions()))
    return 0


def _rollups(engine: Any, rebuild: bool) -> int:
    """``check-rollups``: whether the statistics rollups equal a rebuild from the loans (exit 1 if not);
    ``rebuild-rollups``: recompute them in one transaction (after loading data with triggers off)."""
    from api.core.db import head_revisions, schema_revisions
    from api.stats import rollup

    if set(schema_revisions(engine)) != set(head_revisions()):
        print("ipfin: the database schema is not at the latest revision (no rollups yet); run "
              "`ipfin db upgrade` first: it builds them", file=sys.stderr)
        return 1
    with engine.begin() as conn:
        if rebuild:
            rollup.rebuild(conn)
            print("statistics rollups rebuilt from the loans")
            return 0
        wrong = rollup.differences(conn)
    if wrong:
        print(f"statistics rollups differ from the loans in {len(wrong)} rows; run `ipfin db rebuild-rollups`",
              file=sys.stderr)
        return 1
    print("statistics rollups equal the loans")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    _use_database(args.database_url)
    from alembic import command

    from api.core.db import alembic_config, get_engine, upgrade
    from api.demo import generate

    engine = get_engine()
    if args.reset:
        command.downgrade(alembic_config(engine), "base")
    upgrade(engine)
    try:
        result = generate(engine, args.loans, args.seed, progress=lambda m: print("  " + m, file=sys.stderr))
    except RuntimeError as exc:
        print(f"ipfin: {exc}", file=sys.stderr)
        return 1
    print(" ".join(f"{k}={v}" for k, v in result.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ipfin", description="IP finance platform: serve, data and domain tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the API and dashboard server (applies migrations first)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--demo", action="store_true", help="demo mode: seed demo data on first run, allow demo secret")
    p.add_argument("--database-url", help="overrides IPFIN_DATABASE_URL")
    p.add_argument("--log-level", default="info")
    p.add_argument("--workers", type=int, default=1, help="server processes (one per core; PostgreSQL beyond a few)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("db", help="database schema migrations; statistics rollups")
    p.add_argument("db_command", choices=["upgrade", "current", "check-rollups", "rebuild-rollups"])
    p.add_argument("--revision", default="heads", help="target revision for upgrade (default: all heads)")
    p.add_argument("--database-url", help="overrides IPFIN_DATABASE_URL")
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("demo-data", help="generate a seeded demo loan book (bulk insert)")
    p.add_argument("--loans", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=20190101)
    p.add_argument("--reset", action="store_true", help="drop all tables and migrate afresh first")
    p.add_argument("--database-url", help="overrides IPFIN_DATABASE_URL")
    p.set_defaults(func=cmd_demo_data)

    for domain in (valuation, pledge, risk_sharing, securitization, early_warning):
        domain.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
