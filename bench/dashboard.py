"""Bureau overview speed: server time of the dashboard's callbacks on 1,000,000 demo loans.

Generates N demo loans (default 1,000,000, ≈ 3–7 min on 2 cores) into a temporary SQLite file
(or reuses ``--database-url``), signs in as the national bureau (sees every loan: the worst
case) and POSTs each overview callback to Dash's ``/_dash-update-component`` through the
Flask test client, exactly as the browser does (cookie, JSON payload, serialised figures).
Each callback is timed cold (first call) and warm (median of 3). References measured in the
same run: ``SELECT COUNT(*) FROM loan`` and a full-table ``SUM(amount_fen)``.

The aggregate queries are planned for the covering index ``ix_loan_stats`` (part of the schema;
see :mod:`api.stats`); ``ANALYZE`` is run first so SQLite's planner has statistics.
Goal: each callback ≤ 2 s server time.

Run: ``.venv/bin/python bench/dashboard.py [--loans N] [--database-url URL]``
(with ``--database-url sqlite:////tmp/bench1m.db`` the generated book is kept and reused next time).
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
}


def _values(extra: dict[str, Any]) -> dict[tuple[str, str], Any]:
    v: dict[tuple[str, str], Any] = {
        ("ov-date", "start_date"): "2025-01-01", ("ov-date", "end_date"): "2025-12-31",
        ("ov-province", "value"): None, ("ov-industry", "value"): None, ("ov-iptype", "value"): None,
        ("ov-bank", "value"): None, ("ov-threshold", "value"): 10_000_000, ("ov-granularity", "value"): "month",
        ("ov-city", "data"): None,
    }
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


def time_callbacks(client: Any, deps: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """(cold, warm median) seconds per overview callback, by callback output."""
    values = _values(extra)
    out: dict[str, tuple[float, float]] = {}
    for dep in deps:
        payload = {
            "output": dep["output"],
            "outputs": _outputs(dep["output"]),
            "inputs": [{"id": i["id"], "property": i["property"], "value": values[(i["id"], i["property"])]}
                       for i in dep["inputs"]],
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in dep["inputs"][:1]],
            "state": [],
        }
        times = []
        for _ in range(4):
            t0 = time.perf_counter()
            r = client.post("/_dash-update-component", data=json.dumps(payload), content_type="application/json")
            times.append(time.perf_counter() - t0)
            if r.status_code not in (200, 204):
                raise RuntimeError(f"{dep['output']}: HTTP {r.status_code} {r.get_data(as_text=True)[:500]}")
        out[dep["output"]] = (times[0], statistics.median(times[1:]))
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--database-url", help="use this database: reused if it has loans, else generated into")
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
    if not has_loans:
        t0 = time.perf_counter()
        generate(engine, args.loans, progress=lambda m: print(f"  generating {m}", flush=True))
        gen_s = time.perf_counter() - t0
    with engine.connect() as conn:
        n_loans = conn.execute(select(func.count()).select_from(Loan)).scalar_one()
        bureau_id = conn.execute(select(User.id).where(User.email == "bureau@ipfin.demo")).scalar_one()

    from dashboard.app import create_dash

    app = create_dash()
    client = app.server.test_client()
    token, _ = create_access_token(bureau_id)
    client.set_cookie(get_settings().session_cookie_name, token, domain="localhost")
    deps = [d for d in client.get("/_dash-dependencies").get_json() if "ov-" in d["output"]
            and not d["output"].startswith(("ov-province.", "ov-city.", "ov-download."))]

    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    passes = [("schema as migrated (with ix_loan_stats)", False)]
    print(f"\nloans: {n_loans:,}" + (f"  (generated in {gen_s:.0f} s)" if gen_s else ""))
    for label, _ in passes:
        ref = reference_seconds(engine)
        print(f"\n== {label}")
        print(f"{'reference':58s} {'seconds':>9s}")
        for k, v in ref.items():
            print(f"{k:58s} {v:9.3f}")
        print(f"\n{'scenario / callback':58s} {'cold s':>8s} {'warm s':>8s}")
        for scen, extra in SCENARIOS.items():
            res = time_callbacks(client, deps, extra)
            total_cold = sum(c for c, _ in res.values())
            total_warm = sum(w for _, w in res.values())
            print(f"{scen}")
            for out, (cold, warm) in res.items():
                name = out.strip(".").split(".")[0]
                print(f"  {name:56s} {cold:8.3f} {warm:8.3f}")
            worst = max(w for _, w in res.values())
            print(f"  {'sum of callbacks (sequential)':56s} {total_cold:8.3f} {total_warm:8.3f}")
            print(f"  {'slowest callback (warm) ≤ 2 s?':56s} {'':8s} {worst:8.3f} {'yes' if worst <= 2 else 'NO'}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
