"""Crash safety: the real server (``ipfin serve --demo`` on a database of its own) is killed with SIGKILL
in the middle of a burst of payments and approvals sent with ``Idempotency-Key``s, then restarted
and every request retried with its key, three times over. Afterwards nothing acknowledged is lost,
nothing is booked twice, every retry of an acknowledged request replays its first answer, each
loan's balance equals its amount less the principal of its ledger rows, and every payment and move
has its audit event.

The server gets a database of its own: a SQLite file, or a new database on the CI's PostgreSQL when the
suite runs there; loopback only."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.demo import DEMO_PASSWORD
from tests.api.test_serve import _free_port
from tests.pledge.test_api_pledge import AMOUNT_FEN, setup_loan

pytestmark = [pytest.mark.slow, pytest.mark.db]

CYCLES = 3
PAY_BODY = {"amount_cny": "1000.00", "paid_on": "2025-10-01"}
APPROVAL_STEPS = [("submit", "maker"), ("start_review", "checker"), ("approve", "checker")]


def _server_database(tmp: Path) -> str:
    """A fresh database for the server: on the CI's PostgreSQL when the tests run there (a new database
    on the same server), else a SQLite file."""
    url = os.environ.get("IPFIN_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        import uuid

        import psycopg

        name = f"ipfin_crash_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{url.rsplit('/', 1)[0]}/{name}"
    return f"sqlite:///{tmp / 'crash.db'}"


class Server:
    """One ``ipfin serve --demo`` process on a fixed database file; ``start`` again after ``kill``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.port, self.proc = tmp, _free_port(), None
        self.base = f"http://127.0.0.1:{self.port}"
        self.database_url = _server_database(tmp)

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IPFIN_")}
        env.update(IPFIN_DEMO_LOANS="10")
        log = open(self.tmp / "server.log", "a")  # noqa: SIM115 - the child process owns it
        self.proc = subprocess.Popen(  # type: ignore[assignment]
            [sys.executable, "-m", "ipfin_app.cli", "serve", "--demo", "--host", "127.0.0.1", "--port",
             str(self.port), "--database-url", self.database_url],
            cwd=self.tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.tmp / "server.log").read_text()  # type: ignore[attr-defined]
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError((self.tmp / "server.log").read_text())

    def kill(self) -> None:
        self.proc.kill()  # type: ignore[attr-defined]  # SIGKILL: no shutdown, no flush
        self.proc.wait(10)  # type: ignore[attr-defined]


class Who:
    def __init__(self, base: str, email: str) -> None:
        r = httpx.post(f"{base}/api/v1/auth/token", data={"username": email, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}


def _requests(cycle: int, active: list[int], drafts: list[int]) -> list[list[tuple[str, str, str, dict[str, Any]]]]:
    """Per thread, its ordered requests: (key, who, path, body). One thread per loan, so requests never
    race each other on a loan's version; payments and approvals interleave in time."""
    lanes = [[(f"pay-{cycle}-{lid}-{i}", "maker", f"/api/v1/loans/{lid}/payments", PAY_BODY) for i in range(10)]
             for lid in active]
    lanes += [[(f"move-{lid}-{a}", who, f"/api/v1/loans/{lid}/transitions", {"action": a, "on": "2025-09-01"})
               for a, who in APPROVAL_STEPS] for lid in drafts]
    return lanes


def _send(client: httpx.Client, actors: dict[str, Who], req: tuple[str, str, str, dict[str, Any]]) -> httpx.Response:
    key, who, path, body = req
    return client.post(path, json=body, headers={**actors[who].headers, "Idempotency-Key": key}, timeout=15)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """The server under test; killed at teardown even when the test fails half-way."""
    s = Server(tmp_path)
    yield s
    if s.proc is not None:
        s.kill()


def test_kill_9_during_a_burst_loses_nothing_acknowledged_and_books_nothing_twice(server: Server) -> None:
    server.start()
    actors = {"maker": Who(server.base, "officer@bank.ipfin.demo"),
              "checker": Who(server.base, "approver@bank.ipfin.demo")}
    with httpx.Client(base_url=server.base) as c:
        active = []
        for _ in range(3):
            lid = setup_loan(c, actors["maker"])["id"]
            steps = [(a, who, {}) for a, who in APPROVAL_STEPS] + [
                ("register_pledge", "maker", {"pledge_registration_number": "Y2026500000123"}),
                ("disburse", "checker", {})]
            for action, who, kw in steps:
                r = c.post(f"/api/v1/loans/{lid}/transitions", json={"action": action, "on": "2025-09-01", **kw},
                           headers=actors[who].headers)
                assert r.status_code == 200, r.text
            active.append(lid)
    acknowledged: dict[str, Any] = {}  # key → the 2xx body the client saw
    all_requests: list[tuple[str, str, str, dict[str, Any]]] = []
    crashes, rng = 0, random.Random(7)
    for cycle in range(CYCLES):
        with httpx.Client(base_url=server.base) as c:
            drafts = [setup_loan(c, actors["maker"])["id"] for _ in range(2)]
        lanes = _requests(cycle, active, drafts)
        burst = [r for lane in lanes for r in lane]
        all_requests += burst

        def run(lane: list[tuple[str, str, str, dict[str, Any]]], actors: dict[str, Who]) -> None:
            with httpx.Client(base_url=server.base) as c:
                for req in lane:
                    try:
                        r = _send(c, actors, req)
                    except httpx.HTTPError:
                        return  # the server died under this request: not acknowledged
                    if r.is_success:
                        acknowledged[req[0]] = r.json()

        threads = [threading.Thread(target=run, args=(lane, actors)) for lane in lanes]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 1.2))
        server.kill()
        crashes += 1
        for t in threads:
            t.join(30)
        server.start()
        actors = {"maker": Who(server.base, "officer@bank.ipfin.demo"),
                  "checker": Who(server.base, "approver@bank.ipfin.demo")}
        with httpx.Client(base_url=server.base) as c:  # the client retries everything with the same keys
            for req in burst:
                r = _send(c, actors, req)
                assert r.is_success, (req, r.status_code, r.text)
                if req[0] in acknowledged:
                    assert r.json() == acknowledged[req[0]], req  # a replay, not a second booking
                acknowledged[req[0]] = r.json()
    inconsistencies = _check(server.base, actors["maker"], active, all_requests, acknowledged)
    print(f"\n{crashes} kill -9 crashes, {len(all_requests)} keyed requests, {len(inconsistencies)} inconsistencies")
    server.kill()
    assert inconsistencies == []


def _check(base: str, maker: Who, active: list[int], reqs: list[Any], answers: dict[str, Any]) -> list[str]:
    """Ledger, balances and audit trail agree, one booking per key."""
    bad = []
    with httpx.Client(base_url=base, headers=maker.headers) as c:
        for lid in active:
            pays = c.get(f"/api/v1/loans/{lid}/payments", params={"limit": 1000}).json()["data"]
            keyed = {answers[k]["id"] for k, _, path, _ in reqs if path == f"/api/v1/loans/{lid}/payments"}
            if sorted(p["id"] for p in pays) != sorted(keyed):
                bad.append(f"loan {lid}: payments {sorted(p['id'] for p in pays)} != one per key {sorted(keyed)}")
            loan = c.get(f"/api/v1/loans/{lid}").json()
            principal = sum(p["principal_fen"] + p["prepaid_principal_fen"] for p in pays)
            if loan["outstanding_fen"] != AMOUNT_FEN - principal:
                bad.append(f"loan {lid}: outstanding {loan['outstanding_fen']} != {AMOUNT_FEN} - {principal}")
            audited = [e["after"]["payment_id"] for e in c.get(f"/api/v1/loans/{lid}/events",
                                                                params={"limit": 1000}).json()
                       if e["action"] == "payment"]
            if sorted(audited) != sorted(p["id"] for p in pays):
                bad.append(f"loan {lid}: audited payments {sorted(audited)} != ledger")
        for lid in {int(path.split("/")[4]) for _, _, path, body in reqs if "action" in body}:
            moves = [e["action"] for e in c.get(f"/api/v1/loans/{lid}/events").json()]
            if moves != ["create"] + [a for a, _ in APPROVAL_STEPS]:
                bad.append(f"loan {lid}: moves {moves}")
            if c.get(f"/api/v1/loans/{lid}").json()["status"] != "approved":
                bad.append(f"loan {lid}: not approved")
    return bad
