"""Dashboard speed: server time of every page's callbacks on 1,000,000 demo loans, per role.

Generates N demo loans (default 1,000,000, ≈ 3–7 min on 2 cores) into a temporary SQLite file
(or reuses ``--database-url``), then for each role — national bureau (sees every loan: the worst
case), regional bureau (Chongqing) and bank — POSTs each callback of the pages it may open (bureau
overview; bank collateral page) to Dash's ``/_dash-update-component`` through the Flask test client,
exactly as the browser does (cookie, JSON payload, serialised figures). Each callback is timed cold
(first call) and warm (median of 3); "first page after login" is the landing page's layout plus all
its callbacks cold, in sequence (the browser runs some in parallel, so this is an upper bound).
References measured in the same run: ``SELECT COUNT(*) FROM loan`` and a full-table
``SUM(amount_fen)``. The load average (2 shared cores) is printed with the figures.

The aggregate queries are planned for the covering index ``ix_loan_stats`` (part of the schema;
see :mod:`api.stats`); ``ANALYZE`` is run first so SQLite's planner has statistics.
Goal (issue 13): each callback ≤ 1 s warm, the first page after login ≤ 2 s.

Run: ``.venv/bin/python bench/dashboard.py [--loans N] [--database-url URL] [--roles bank] [--pages bank]``
(with ``--database-url sqlite:////tmp/bench1m.db`` the generated book is kept and reused next time; on
PostgreSQL ``--copy-from sqlite:////tmp/bench1m.db`` fills an empty database from that book).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# run as a script, bench/ is first on sys.path and bench/valuation.py would shadow the valuation package
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))


SCENARIOS: dict[str, dict[str, Any]] = {
    "2025, no filter": {},
    "2025, industry C": {"ov-industry": "C"},
    "2025, Guangdong + Guangzhou loans": {"ov-province": "440000", "ov-city": "440100"},
    "2025, map of NPL ratio by province": {"ov-map-metric": "npl"},
}


def _values(extra: dict[str, Any]) -> dict[tuple[str, str], Any]:
    v: dict[tuple[str, str], Any] = {
        ("ov-date", "start_date"): "2025-01-01", ("ov-date", "end_date"): "2025-12-31",
        ("ov-province", "value"): None, ("ov-industry", "value"): None, ("ov-iptype", "value"): None,
        ("ov-bank", "value"): None, ("ov-threshold", "value"): 10_000_000, ("ov-granularity", "value"): "month",
        ("ov-city", "data"): None,
    }
    v.update({("bk-asof", "date"): None, ("bk-ltv-limit", "value"): 60, ("bk-tbl-valuations", "children"): None})
    for cid, value in extra.items():
        v[(cid, "data" if cid == "ov-city" else "value")] = value
    return v


def _outputs(output: str) -> Any:
    """Dash's output spec string ('..a.b...c.d..' or 'a.b') → the payload's outputs field."""
    if output.startswith(".."):
        parts = [p for p in output.strip(".").split("...")]
        return [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    cid, prop = output.rsplit(".", 1)
    return {"id": cid, "property": prop}


def time_callbacks(
    client: Any, deps: list[dict[str, Any]], extra: dict[str, Any], repeat: int = 4
) -> dict[str, tuple[float, float]]:
    """(cold, warm median) seconds per callback, by callback output."""
    values = _values(extra)
    out: dict[str, tuple[float, float]] = {}
    for dep in deps:
        payload = {
            "output": dep["output"],
            "outputs": _outputs(dep["output"]),
            "inputs": [{"id": i["id"], "property": i["property"], "value": values.get((i["id"], i["property"]))}
                       for i in dep["inputs"]],
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in dep["inputs"][:1]],
            "state": [{"id": i["id"], "property": i["property"], "value": values.get((i["id"], i["property"]))}
                      for i in dep.get("state", [])],
        }
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = client.post("/_dash-update-component", data=json.dumps(payload), content_type="application/json")
            times.append(time.perf_counter() - t0)
            if r.status_code not in (200, 204):
                raise RuntimeError(f"{dep['output']}: HTTP {r.status_code} {r.get_data(as_text=True)[:500]}")
        out[dep["output"]] = (times[0], statistics.median(times[1:] or times))
    return out


def reference_seconds(engine: Any) -> dict[str, float]:
    from sqlalchemy import text

    ref = {}
    with engine.connect() as conn:
        for label, sql in (("SELECT COUNT(*) FROM loan", "SELECT COUNT(*) FROM loan"),
                           ("SELECT SUM(amount_fen) FROM loan (full scan)", "SELECT SUM(amount_fen) FROM loan")):
            conn.execute(text(sql)).scalar()  # warm
            t0 = time.perf_counter()
            conn.execute(text(sql)).scalar()
            ref[label] = time.perf_counter() - t0
    return ref


ROLES: dict[str, str] = {
    "national bureau": "bureau@ipfin.demo",
    "regional bureau (Chongqing)": "bureau-cq@ipfin.demo",
    "bank": "officer@bank.ipfin.demo",
}


PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    # page: (module, callback output prefixes); downloads and click-driven filters are not timed
    "overview": ("dashboard.pages.overview", ("ov-",)),
    "bank": ("dashboard.pages.bank", ("bk-",)),
}


def page_deps(client: Any, prefixes: tuple[str, ...]) -> list[dict[str, Any]]:
    skip = ("ov-province.", "ov-city.", "ov-download.", "bk-download.")
    return [d for d in client.get("/_dash-dependencies").get_json()
            if any(p in d["output"] for p in prefixes) and not d["output"].lstrip(".").startswith(skip)]


def first_page_seconds(client: Any, module: str, deps: list[dict[str, Any]], cookie: tuple[str, str]) -> float:
    """The landing page after login: its layout (server-side, with the session cookie) and every
    callback of it cold, one after the other."""
    import importlib

    mod = importlib.import_module(module)
    t0 = time.perf_counter()
    with client.application.test_request_context("/", headers={"Cookie": f"{cookie[0]}={cookie[1]}"}):
        mod.layout()
    layout_s = time.perf_counter() - t0
    cold = time_callbacks(client, deps, {}, repeat=1)
    return layout_s + sum(c for c, _ in cold.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--database-url", help="use this database: reused if it has loans, else generated into")
    ap.add_argument("--roles", default=",".join(ROLES), help="comma-separated subset of: " + ", ".join(ROLES))
    ap.add_argument("--pages", default=",".join(PAGES), help="comma-separated subset of: " + ", ".join(PAGES)
                    + " (the first page after login is timed when overview is included)")
    ap.add_argument("--copy-from", help="fill an empty PostgreSQL database from this book (e.g. the SQLite one) "
                    "instead of generating")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    os.environ["IPFIN_DATABASE_URL"] = url
    os.environ.setdefault("IPFIN_SECRET_KEY", "bench-dashboard-secret-0123456789")
    os.environ["IPFIN_DEMO_MODE"] = "false"
    from sqlalchemy import func, select, text

    from api.core.config import get_settings, reset_settings
    from api.core.db import make_engine, set_engine, upgrade
    from api.core.security import create_access_token
    from api.demo import generate
    from api.identity.models import User
    from api.pledge.models import Loan

    reset_settings()
    engine = make_engine(url)
    set_engine(engine)
    gen_s = None
    upgrade(engine)
    with engine.connect() as conn:
        has_loans = conn.execute(select(func.count()).select_from(Loan)).scalar_one() > 0
    if not has_loans and args.copy_from:
        t0 = time.perf_counter()
        copy_book(args.copy_from, engine, progress=lambda m: print(f"  {m}", flush=True))
        print(f"  copied in {time.perf_counter() - t0:.0f} s", flush=True)
    elif not has_loans:
        t0 = time.perf_counter()
        generate(engine, args.loans, progress=lambda m: print(f"  generating {m}", flush=True))
        gen_s = time.perf_counter() - t0
    with engine.connect() as conn:
        n_loans = conn.execute(select(func.count()).select_from(Loan)).scalar_one()
        users = dict(conn.execute(select(User.email, User.id).where(col_in(User.email, ROLES.values()))).all())

    from dashboard.app import create_dash

    app = create_dash()
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:  # PostgreSQL: planner statistics and the visibility map (index-only scans) after the bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    n_funded, principal = check_rollup(engine)
    print(f"\nloan_rollup equals the loans: {n_funded:,} funded loans, {principal:,} fen principal, every grain")
    print(f"\nloans: {n_loans:,} on {engine.dialect.name}" + (f"  (generated in {gen_s:.0f} s)" if gen_s else ""))
    print(f"load average at start: {os.getloadavg()} (2 cores shared)")
    ref = reference_seconds(engine)
    print(f"\n{'reference':58s} {'seconds':>9s}")
    for k, v in ref.items():
        print(f"{k:58s} {v:9.3f}")
    worst_all = 0.0
    for role in args.roles.split(","):
        client = app.server.test_client()
        token, _ = create_access_token(users[ROLES[role]])
        cookie = (get_settings().session_cookie_name, token)
        client.set_cookie(cookie[0], token, domain="localhost")
        print(f"\n==== {role} ({ROLES[role]})")
        pages = args.pages.split(",")
        if "overview" in pages:
            first = first_page_seconds(client, PAGES["overview"][0], page_deps(client, PAGES["overview"][1]), cookie)
            print(f"  {'first page after login (layout + callbacks cold) ≤ 2 s?':56s} {first:8.3f} "
                  f"{'yes' if first <= 2 else 'NO'}")
        for page, (_module, prefixes) in PAGES.items():
            if page not in pages:
                continue
            if page == "bank" and role != "bank":
                print(f"  page {page}: not open to this role")
                continue
            deps = page_deps(client, prefixes)
            scenarios = SCENARIOS if page == "overview" else {"today, LTV limit 60%": {}}
            print(f"  page {page}: {'scenario / callback':45s} {'cold s':>8s} {'warm s':>8s}")
            for scen, extra in scenarios.items():
                res = time_callbacks(client, deps, extra)
                print(f"    {scen}")
                for out, (cold, warm) in res.items():
                    print(f"      {out.strip('.').split('.')[0]:50s} {cold:8.3f} {warm:8.3f}")
                worst = max(w for _, w in res.values())
                worst_all = max(worst_all, worst)
                verdict = "yes" if worst <= 1 else "NO"
                print(f"      {'slowest callback (warm) ≤ 1 s?':50s} {'':8s} {worst:8.3f} {verdict}")
    print(f"\nslowest warm callback of all: {worst_all:.3f} s; load average at end: {os.getloadavg()}")
    tmp.cleanup()


def copy_book(source_url: str, engine: Any, progress: Any = print) -> int:
    """Copy every table of an (already generated) book at ``source_url`` into the empty, migrated database
    of ``engine`` — PostgreSQL through ``COPY FROM STDIN`` — then move every id sequence past its table's
    largest id. Returns the rows copied. Faster than generating the same book again (the SQLite book of
    1,000,000 loans: a few minutes).

    The copy runs with ``session_replication_role = replica``: foreign-key triggers and the statistics
    rollup triggers (``loan_rollup``, ``registration_rollup``, see :mod:`api.stats.rollup`) do not fire, so
    the rollup tables are copied as they are rather than counted again per copied loan (which would double
    them, and take hours); the role is reset before the connection goes back to the pool, and
    :func:`check_rollup` compares the rollup with the loans before anything is timed."""
    import json as _json

    from sqlalchemy import JSON, inspect
    from sqlmodel import SQLModel

    import api.tables  # noqa: F401  (registers every table)
    from api.core.db import make_engine

    src = make_engine(source_url)
    have = set(inspect(src).get_table_names())
    total = 0
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET session_replication_role = replica")
        names = [t.name for t in SQLModel.metadata.sorted_tables if t.name in have]
        cur.execute("TRUNCATE " + ", ".join(f'"{n}"' for n in names))  # rows seeded by the migrations come again
        for table in SQLModel.metadata.sorted_tables:
            if table.name not in have or table.name == "alembic_version":
                continue
            cols = [c.name for c in table.columns]
            js = [isinstance(c.type, JSON) for c in table.columns]
            n = 0
            with src.connect() as sconn, cur.copy(
                    f'COPY "{table.name}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) FROM STDIN') as cp:
                for row in sconn.execute(table.select()).yield_per(50_000):
                    cp.write_row([_json.dumps(v) if j and v is not None else v for v, j in zip(row, js, strict=True)])
                    n += 1
            total += n
            if n:
                progress(f"copied {table.name}: {n:,}")
            if "id" in table.columns and n:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                            f'(SELECT MAX(id) FROM "{table.name}"))')
        raw.commit()
    finally:
        # the connection goes back to the pool: its next user must have the triggers on again
        raw.rollback()
        cur = raw.cursor()
        cur.execute("RESET session_replication_role")
        raw.commit()
        raw.close()
        src.dispose()
    return total


def check_rollup(engine: Any) -> tuple[int, int]:
    """Check that the statistics rollup equals its loans: for every grain, ``loan_rollup``'s loan count and
    principal (fen) equal ``SELECT count(*), sum(amount_fen) FROM loan WHERE status IN (funded…)``. A copy
    with the rollup triggers on would have counted each loan twice (trigger + copied rollup rows). Returns
    (loans, principal fen); raises if any grain differs."""
    from sqlalchemy import func, select

    from api.pledge.models import Loan
    from api.stats.filters import FUNDED_STATUSES
    from api.stats.models import LoanRollup

    with engine.connect() as conn:
        want = conn.execute(select(func.count(), func.coalesce(func.sum(Loan.amount_fen), 0))
                            .where(Loan.status.in_(FUNDED_STATUSES))).one()  # type: ignore[attr-defined]
        got = conn.execute(select(LoanRollup.grain, func.sum(LoanRollup.loan_count), func.sum(LoanRollup.amount_fen))
                           .group_by(LoanRollup.grain)).all()
    want_t = (int(want[0]), int(want[1]))
    bad = {g: (int(n or 0), int(a or 0)) for g, n, a in got if (int(n or 0), int(a or 0)) != want_t}
    if bad or not got:
        raise SystemExit(f"loan_rollup differs from the loans {want_t}: {bad or 'empty'}")
    return want_t


def col_in(column: Any, values: Any) -> Any:
    return column.in_(list(values))


if __name__ == "__main__":
    main()
