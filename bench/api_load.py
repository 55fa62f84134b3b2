"""API throughput against a bare FastAPI reference, same run, same server settings (issue 17).

For each endpoint (``GET /api/v1/loans?limit=50`` as the bank, ``GET /api/v1/stats/overview`` as the
national bureau) the bench first calls the real app in-process and records every SQL statement it
issues and the JSON it returns. The reference is a bare FastAPI app whose endpoint (a sync ``def``,
like the app's routes) replays exactly those statements with their parameters through the same
SQLAlchemy engine and driver, fetches every row, and returns the same JSON with FastAPI's
``JSONResponse``: the ceiling for that SQL and that response. Both apps are served by the same
``uvicorn`` settings (127.0.0.1 only, same workers, no access log) in child processes.

The load: ``--clients`` keep-alive HTTP/1.1 connections (asyncio, loopback) send ``--requests``
requests in total per round; best of ``--rounds`` rounds on both sides (highest rps, with that
round's p50/p99 latency). Both servers are up for the whole run (an idle server costs nothing) and
the sides take turns round by round, so a change in the machine's load reaches both alike.
Bounded: at most 20,000 requests per round. ``os.getloadavg()`` is printed with the figures
(2 shared cores: the client and the server compete for them).

Run: ``.venv/bin/python bench/api_load.py [--database-url sqlite:////tmp/book20k.db] [--workers 1]
[--endpoints /loans?limit=50]``
(without a database, a 20,000-loan demo book is generated into a temporary file).
Goals: ``/loans`` ≥ 50 % and ``/stats/overview`` ≥ 25 % of the reference rps, p99 ≤ 100 ms.

Statistics are served from the per-data-version cache (:mod:`api.core.result_cache`) when nothing was
written since the same request: the recorded request is then a cache hit (the caller's query and
the version read), and the reference replays them, reads the version the same way and returns the
stored bytes, as a cache would. ``--no-result-cache`` measures the computation itself on both sides (the recorded SQL of
a computed request, the JSON encoded per request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

ENDPOINTS: dict[str, tuple[str, str]] = {
    "/loans?limit=50": ("/api/v1/loans?limit=50", "officer@bank.ipfin.demo"),
    "/stats/overview": ("/api/v1/stats/overview", "bureau@ipfin.demo"),
}
MAX_REQUESTS = 20_000
SECRET = "bench-api-load-secret-0123456789-0123456789"


# ------------------------------------------------------------------ the two apps (run in child processes)


def main_app() -> Any:
    """The application as served (API with the dashboard mounted), migrations already applied."""
    from ipfin_app.server import create_app

    return create_app(migrate=False)


def reference_app() -> Any:
    """Bare FastAPI: one endpoint per recorded request, replaying its SQL and returning its JSON."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, Response

    from api.core import result_cache
    from api.core.db import get_engine

    recorded = json.loads(Path(os.environ["IPFIN_BENCH_RECORDED"]).read_text())
    engine = get_engine()
    sqlite = engine.dialect.name == "sqlite"
    app = FastAPI()

    def endpoint(entry: dict[str, Any]) -> Any:
        stored = JSONResponse(entry["body"]).body  # what a cache would hold: the encoded body

        def run() -> Response:
            with engine.connect() as conn:
                for stmt, params in entry["sql"]:
                    conn.exec_driver_sql(stmt, tuple(params) if isinstance(params, list) else params).fetchall()
                if entry["cached"] and sqlite:  # the app's version read, outside the engine on SQLite (on
                    result_cache.data_version(conn)  # PostgreSQL it is among the recorded statements)
            if entry["cached"]:  # the app answered from its cache: the reference returns the stored bytes
                return Response(stored, media_type="application/json")
            return JSONResponse(entry["body"])

        return run

    for i, entry in enumerate(recorded):
        app.add_api_route(f"/ref/{i}", endpoint(entry), methods=["GET"])
    return app


# ------------------------------------------------------------------ recording


def record(url: str, tokens: dict[str, str]) -> list[dict[str, Any]]:
    """Each endpoint's SQL (statement, parameters) and JSON body, from one warm in-process call."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from api.core import result_cache
    from api.core.db import get_engine

    engine = get_engine()
    seen: list[tuple[str, Any]] = []

    def listen(_c: Any, _cur: Any, stmt: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((stmt, list(params) if isinstance(params, tuple) else params))

    out = []
    with TestClient(main_app()) as client:
        for name, (path, email) in ENDPOINTS.items():
            headers = {"Authorization": f"Bearer {tokens[email]}"}
            client.get(path, headers=headers)  # warm
            event.listen(engine, "before_cursor_execute", listen)
            seen.clear()
            hits = result_cache.stats["hits"]
            r = client.get(path, headers=headers)
            event.remove(engine, "before_cursor_execute", listen)
            if r.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {r.status_code} {r.text[:300]}")
            sql = [(s, _jsonable(p)) for s, p in seen]
            out.append({"name": name, "path": path, "email": email, "sql": sql, "body": r.json(),
                        "cached": result_cache.stats["hits"] > hits})
    return out


def _jsonable(params: Any) -> Any:
    def one(v: Any) -> Any:
        return v.isoformat() if hasattr(v, "isoformat") else v

    if isinstance(params, dict):
        return {k: one(v) for k, v in params.items()}
    return [one(v) for v in params]


# ------------------------------------------------------------------ load generator


async def _client(host: str, port: int, request: bytes, n: int, lat: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"HTTP {status}")
    finally:
        writer.close()


async def _round(port: int, path: str, token: str | None, clients: int, total: int) -> tuple[float, list[float]]:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: keep-alive\r\n\r\n".encode()
    lat: list[float] = []
    per = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    t0 = time.perf_counter()
    await asyncio.gather(*(_client("127.0.0.1", port, request, n, lat) for n in per if n))
    return total / (time.perf_counter() - t0), lat


def load(targets: dict[str, tuple[int, str, str | None]], clients: int, total: int, rounds: int
         ) -> dict[str, dict[str, float]]:
    """Best of ``rounds`` per side: highest requests per second, with that round's latency percentiles (ms).

    ``targets`` maps a side to (port, path, token). The sides take turns round by round (app,
    reference, app, ...), so a change in the machine's load during the run reaches both alike."""
    for port, path, token in targets.values():
        asyncio.run(_round(port, path, token, clients, min(total, clients * 5)))  # warm every connection path
    best: dict[str, tuple[float, list[float]]] = {}
    for _ in range(rounds):
        for side, (port, path, token) in targets.items():
            rps, lat = asyncio.run(_round(port, path, token, clients, total))
            if side not in best or rps > best[side][0]:
                best[side] = (rps, lat)
    out: dict[str, dict[str, float]] = {}
    for side, (rps, lat) in best.items():
        lat = sorted(lat)
        out[side] = {"rps": rps, "p50": 1000 * statistics.median(lat), "p99": 1000 * lat[int(0.99 * (len(lat) - 1))]}
    return out


# ------------------------------------------------------------------ servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(factory: str, env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], int]:
    """``uvicorn`` on 127.0.0.1 in a child process, with the same settings for both apps."""
    port = _free_port()
    code = (f"import uvicorn; uvicorn.run({factory!r}, factory=True, host='127.0.0.1', port={port}, "
            f"workers={workers}, log_level='warning', access_log=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(_HERE.parent))
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{factory} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", help="a demo book (generated with 20,000 loans if empty)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400, help="requests per round (bounded)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (both apps)")
    ap.add_argument("--endpoints", nargs="+", choices=sorted(ENDPOINTS), default=sorted(ENDPOINTS),
                    help="measure only these endpoints (default: all)")
    ap.add_argument("--no-result-cache", action="store_true",
                    help="compute every statistics request (IPFIN_RESULT_CACHE=false on both sides' recording)")
    args = ap.parse_args()
    if args.no_result_cache:
        os.environ["IPFIN_RESULT_CACHE"] = "false"
    for name in set(ENDPOINTS) - set(args.endpoints):
        del ENDPOINTS[name]
    total = min(args.requests, MAX_REQUESTS)

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    os.environ.update(IPFIN_DATABASE_URL=url, IPFIN_SECRET_KEY=SECRET, IPFIN_DEMO_MODE="false")
    from sqlalchemy import func, select

    from api.core.config import reset_settings
    from api.core.db import get_engine, upgrade
    from api.core.security import create_access_token
    from api.identity.models import User
    from api.pledge.models import Loan

    reset_settings()
    engine = get_engine()
    upgrade(engine)
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(Loan)).scalar_one() == 0:
            from api.demo import generate

            generate(engine, 20_000)
        n_loans = conn.execute(select(func.count()).select_from(Loan)).scalar_one()
        emails = {e for _, e in ENDPOINTS.values()}
        ids = dict(conn.execute(select(User.email, User.id).where(User.email.in_(emails))).all())  # type: ignore[attr-defined]
    tokens = {e: create_access_token(i)[0] for e, i in ids.items()}
    recorded = record(url, tokens)
    rec_file = Path(tmp.name) / "recorded.json"
    rec_file.write_text(json.dumps(recorded))
    env = {**os.environ, "IPFIN_BENCH_RECORDED": str(rec_file), "PYTHONPATH": str(_HERE.parent)}

    print(f"loans: {n_loans:,} on {engine.dialect.name}; {args.clients} clients, {total} requests per round, "
          f"best of {args.rounds}, uvicorn workers={args.workers}, loopback")
    print(f"load average at start: {os.getloadavg()} (2 cores shared)")
    results: dict[str, dict[str, dict[str, float]]] = {}
    app, app_port = serve("bench.api_load:main_app", env, args.workers)
    try:
        ref, ref_port = serve("bench.api_load:reference_app", env, args.workers)
        try:
            for i, entry in enumerate(recorded):
                token = tokens[entry["email"]]
                targets = {"app": (app_port, entry["path"], token), "reference": (ref_port, f"/ref/{i}", None)}
                for port, path, tok in targets.values():
                    _check_same_json(port, path, tok, entry["body"])
                results[entry["name"]] = load(targets, args.clients, total, args.rounds)
        finally:
            stop(ref)
    finally:
        stop(app)
    print(f"\n{'endpoint':20s} {'served':>8s} {'SQL stmts':>9s} {'app rps':>9s} {'ref rps':>9s} {'ratio':>7s} "
          f"{'goal':>6s} {'app p50':>8s} {'app p99':>8s} {'ref p99':>8s}")
    goals = {"/loans?limit=50": 0.50, "/stats/overview": 0.25}
    for entry in recorded:
        r = results[entry["name"]]
        ratio = r["app"]["rps"] / r["reference"]["rps"]
        goal = goals[entry["name"]]
        served = "cache" if entry["cached"] else "computed"
        print(f"{entry['name']:20s} {served:>8s} {len(entry['sql']):9d} {r['app']['rps']:9.1f} "
              f"{r['reference']['rps']:9.1f} {ratio:7.1%} {'≥' + format(goal, '.0%'):>6s} "
              f"{r['app']['p50']:7.1f}ms {r['app']['p99']:7.1f}ms {r['reference']['p99']:7.1f}ms")
    print(f"load average at end: {os.getloadavg()}")
    tmp.cleanup()


def _check_same_json(port: int, path: str, token: str | None, body: Any) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    got = json.loads(conn.getresponse().read())
    conn.close()
    if got != body:
        raise RuntimeError(f"{path}: the JSON differs from the recorded response")


if __name__ == "__main__":
    main()
