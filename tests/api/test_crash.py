"""Crash safety: the real server (``ipfin serve --demo`` on a database of its own) is killed with SIGKILL
in the middle of a burst of loan payments, approvals and subrogation recoveries (代位追偿) sent with
``Idempotency-Key``s, then restarted and every request retried with its key (and the bearer token it
had before the crash), three times over. Afterwards, and after every request of every burst is sent
once more, nothing acknowledged is lost, nothing is booked twice, every retry of an acknowledged
request replays its first answer, each loan's balance equals its amount less the principal of its
ledger rows, each recovery's parts sum to its net amount in fen, each claim party's ledger (paid,
recovered, net) equals its payout less its parts of the recoveries, and every payment, move and
recovery has its audit event.

The recoveries go to claims set up through the API before the burst: external-loan claims under
Chongqing 4:2:2:2 filed by the bank, reviewed by the guarantee agency and paid by every party, each
share proposed by one user of its party and approved by another (the admin gives the re-guarantor
and the fund, which have one demo user each, a clerk, as ``docs/tour.md`` does).

The server gets a database of its own: a SQLite file, or a new database on the CI's PostgreSQL when the
suite runs there (dropped afterwards); loopback only."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.demo import DEMO_PASSWORD
from tests.live_server import free_port
from tests.pledge.test_api_pledge import AMOUNT_FEN, setup_loan

pytestmark = [pytest.mark.slow, pytest.mark.db]

CYCLES = 3
PAY_BODY = {"amount_cny": "1000.00", "paid_on": "2025-10-01"}
APPROVAL_STEPS = [("submit", "maker"), ("start_review", "checker"), ("approve", "checker")]
TODAY = date.today()
CLAIM_RULE = "chongqing-4222"
CLAIM_PRINCIPAL_CNY = "200000.00"  # each claim's loss: paid 80,000 / 40,000 / 40,000 / 40,000 CNY (4:2:2:2)
RECOVERY_BODY = {"received_on": TODAY.isoformat(), "gross_cny": "1000.03", "disposal_costs_cny": "0.01",
                 "method": "auction"}  # net 100,002 fen: 4:2:2:2 does not divide it, the parts must still sum
RECOVERERS = ("maker", "guarantor")  # the bank and the guarantee agency each post recoveries on one claim
CLERK_PASSWORD = "crash-clerk-2026"
LOGINS = {"maker": "officer@bank.ipfin.demo", "checker": "approver@bank.ipfin.demo",
          "guarantor": "officer@guarantor.ipfin.demo", "guarantor_ok": "approver@guarantor.ipfin.demo",
          "reguarantor": "reguarantor@ipfin.demo", "fund": "fund@ipfin.demo", "admin": "admin@ipfin.demo"}
CLERKS = {"reguarantor_clerk": ("clerk@reguarantor.crash.ipfin", "重庆再担保"),
          "fund_clerk": ("clerk@fund.crash.ipfin", "国家融资担保基金")}
SHARE_SIGNERS = {"guarantor": ("guarantor", "guarantor_ok"), "reguarantor": ("reguarantor_clerk", "reguarantor"),
                 "nfgf": ("fund_clerk", "fund"), "bank": ("maker", "checker")}  # party → (maker, checker)

Request = tuple[str, str, str, dict[str, Any]]  # (Idempotency-Key, who, path, body)


def _server_database(tmp: Path) -> str:
    """A fresh database for the server: on the CI's PostgreSQL when the tests run there (a new database
    on the same server), else a SQLite file."""
    url = os.environ.get("IPFIN_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        import uuid

        name = f"ipfin_crash_{uuid.uuid4().hex[:10]}"
        _pg_admin(url, f'CREATE DATABASE "{name}"')
        return f"{url.rsplit('/', 1)[0]}/{name}"
    return f"sqlite:///{tmp / 'crash.db'}"


def _pg_admin(url: str, sql: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE) on the server of ``url``."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


class Server:
    """One ``ipfin serve --demo`` process on a fixed database file; ``start`` again after ``kill``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.port, self.proc = tmp, free_port(), None
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

    def drop_database(self) -> None:
        """Drop the PostgreSQL database made for this server (a SQLite file goes with tmp_path)."""
        if self.database_url.startswith("postgresql"):
            base, name = self.database_url.rsplit("/", 1)
            _pg_admin(f"{base}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Who:
    def __init__(self, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
        r = httpx.post(f"{base}/api/v1/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}


def _login_all(base: str) -> dict[str, Who]:
    """Every demo actor of the test, logged in (the clerks are added once the admin has made them)."""
    return {name: Who(base, email) for name, email in LOGINS.items()}


def _post(c: httpx.Client, who: Who, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = c.post(path, json=body, headers=who.headers)
    assert r.is_success, (path, r.status_code, r.text)
    return r.json()  # type: ignore[no-any-return]


def _active_loans(c: httpx.Client, actors: dict[str, Who], n: int) -> list[int]:
    """``n`` loans drafted, approved, pledge-registered and disbursed (the payments' loans)."""
    active = []
    for _ in range(n):
        lid = setup_loan(c, actors["maker"])["id"]
        steps = [(a, who, {}) for a, who in APPROVAL_STEPS] + [
            ("register_pledge", "maker", {"pledge_registration_number": "Y2026500000123"}),
            ("disburse", "checker", {})]
        for action, who, kw in steps:
            _post(c, actors[who], f"/api/v1/loans/{lid}/transitions", {"action": action, "on": "2025-09-01", **kw})
        active.append(lid)
    return active


def _paid_claims(c: httpx.Client, actors: dict[str, Who], n: int) -> list[int]:
    """``n`` claims on external loans under Chongqing 4:2:2:2, filed by the bank, reviewed by the
    guarantee agency, and every share proposed, approved (by a second user of its party) and paid:
    completed, so recoveries can be shared back to what each party paid."""
    orgs = {o["name"]: o["id"] for o in c.get("/api/v1/organisations", headers=actors["maker"].headers).json()}
    for name, (email, org_name) in CLERKS.items():
        _post(c, actors["admin"], "/api/v1/users", {"email": email, "full_name": "claims clerk", "role": "officer",
                                                     "password": CLERK_PASSWORD, "organisation_id": orgs[org_name]})
        actors[name] = Who(str(c.base_url), email, CLERK_PASSWORD)
    claims = []
    for i in range(n):
        claim = _post(c, actors["maker"], "/api/v1/claims", {
            "rule_id": CLAIM_RULE,
            "external_loan": {"reference": f"CRASH-{i}", "borrower_ref": f"CRASH-BORROWER-{i}",
                              "origination_date": (TODAY - timedelta(days=500)).isoformat(),
                              "principal_cny": "300000.00", "guarantee_fee_rate": "0.01", "guaranteed": True},
            "default_date": (TODAY - timedelta(days=200)).isoformat(),  # 90 days overdue reached, within 365
            "outstanding_principal_cny": CLAIM_PRINCIPAL_CNY,
            "documents": ["loan_contract", "default_notice"],
            "party_orgs": {"guarantor": orgs["渝信融资担保"], "reguarantor": orgs["重庆再担保"],
                           "nfgf": orgs["国家融资担保基金"]}})
        reviewed = _post(c, actors["guarantor"], f"/api/v1/claims/{claim['id']}/review")
        assert reviewed["eligible"] is True, reviewed["review"]
        for party, (maker, checker) in SHARE_SIGNERS.items():
            url = f"/api/v1/claims/{claim['id']}/shares/{party}"
            _post(c, actors[maker], f"{url}/propose")
            _post(c, actors[checker], f"{url}/approve")
            claim = _post(c, actors[maker], f"{url}/pay", {"paid_on": TODAY.isoformat(),
                                                           "reference": f"CRASH-{claim['id']}-{party}"})
        assert claim["status"] == "completed", claim
        claims.append(claim["id"])
    return claims


def _requests(cycle: int, active: list[int], drafts: list[int], claims: list[int]) -> list[list[Request]]:
    """Per thread, its ordered requests: (key, who, path, body). One thread per loan or claim, so requests
    never race each other on a loan's version; payments, approvals and recoveries interleave in time."""
    lanes = [[(f"pay-{cycle}-{lid}-{i}", "maker", f"/api/v1/loans/{lid}/payments", PAY_BODY) for i in range(10)]
             for lid in active]
    lanes += [[(f"move-{lid}-{a}", who, f"/api/v1/loans/{lid}/transitions", {"action": a, "on": "2025-09-01"})
               for a, who in APPROVAL_STEPS] for lid in drafts]
    lanes += [[(f"rec-{cycle}-{cid}-{i}", who, "/api/v1/recoveries", {**RECOVERY_BODY, "claim_id": cid})
               for i in range(6)] for cid, who in zip(claims, RECOVERERS, strict=True)]
    return lanes


def _wait_for_acknowledgements(acknowledged: dict[str, Any], burst: list[Request], n: int) -> None:
    """Until ``n`` requests of the burst are acknowledged (at most 60 s): the kill then lands mid-burst
    however fast or loaded the machine is, with requests of every kind in flight."""
    deadline = time.monotonic() + 60
    while sum(key in acknowledged for key, *_ in burst) < n and time.monotonic() < deadline:
        time.sleep(0.01)


def _send(client: httpx.Client, actors: dict[str, Who], req: Request) -> httpx.Response:
    key, who, path, body = req
    return client.post(path, json=body, headers={**actors[who].headers, "Idempotency-Key": key}, timeout=15)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """The server under test; killed at teardown even when the test fails half-way."""
    s = Server(tmp_path)
    yield s
    if s.proc is not None and s.proc.poll() is None:
        s.kill()
    s.drop_database()


def test_kill_9_during_a_burst_loses_nothing_acknowledged_and_books_nothing_twice(server: Server) -> None:
    server.start()
    actors = _login_all(server.base)
    with httpx.Client(base_url=server.base) as c:
        active = _active_loans(c, actors, 3)
        claims = _paid_claims(c, actors, len(RECOVERERS))
    acknowledged: dict[str, Any] = {}  # key → the 2xx body the client saw
    all_requests: list[Request] = []
    before_kill: Counter[str] = Counter()  # acknowledged before the kill, by kind (pay, move, rec)
    crashes, rng = 0, random.Random(7)
    for cycle in range(CYCLES):
        with httpx.Client(base_url=server.base) as c:
            drafts = [setup_loan(c, actors["maker"])["id"] for _ in range(2)]
        lanes = _requests(cycle, active, drafts, claims)
        burst = [r for lane in lanes for r in lane]
        all_requests += burst

        def run(lane: list[Request], actors: dict[str, Who]) -> None:
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
        _wait_for_acknowledgements(acknowledged, burst, rng.randint(len(burst) // 4, len(burst) // 2))
        time.sleep(rng.uniform(0, 0.05))
        server.kill()
        crashes += 1
        for t in threads:
            t.join(30)
        before_kill.update(key.split("-", 1)[0] for key, *_ in burst if key in acknowledged)
        server.start()  # the client keeps its tokens: they outlive the crash
        with httpx.Client(base_url=server.base) as c:  # the client retries everything with the same keys
            for req in burst:
                r = _send(c, actors, req)
                assert r.is_success, (req, r.status_code, r.text)
                if req[0] in acknowledged:
                    assert r.json() == acknowledged[req[0]], req  # a replay, not a second booking
                acknowledged[req[0]] = r.json()
    with httpx.Client(base_url=server.base) as c:  # every key once more, after all the crashes: replays only
        replayed = [req for req in all_requests if _send(c, actors, req).json() != acknowledged[req[0]]]
    inconsistencies = [f"{key}: a late retry did not replay its first answer" for key, *_ in replayed]
    inconsistencies += _check(server.base, actors, active, all_requests, acknowledged)
    inconsistencies += _check_recoveries(server.base, actors, claims, all_requests, acknowledged)
    kinds = Counter(key.split("-", 1)[0] for key, *_ in all_requests)
    print(f"\n{crashes} kill -9 crashes; keyed requests: payments {kinds['pay']}, approval moves {kinds['move']}, "
          f"recoveries {kinds['rec']}; acknowledged before a kill: payments {before_kill['pay']}, approval moves "
          f"{before_kill['move']}, recoveries {before_kill['rec']}; {len(inconsistencies)} inconsistencies")
    server.kill()
    assert inconsistencies == []


def _check(base: str, actors: dict[str, Who], active: list[int], reqs: list[Request],
           answers: dict[str, Any]) -> list[str]:
    """Ledger, balances and audit trail of the loans agree, one booking per key."""
    bad = []
    with httpx.Client(base_url=base, headers=actors["maker"].headers) as c:
        for lid in active:
            pays = c.get(f"/api/v1/loans/{lid}/payments", params={"limit": 1000}).json()["data"]
            keyed = [answers[k]["id"] for k, _, path, _ in reqs if path == f"/api/v1/loans/{lid}/payments"]
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


def _check_recoveries(base: str, actors: dict[str, Who], claims: list[int], reqs: list[Request],
                      answers: dict[str, Any]) -> list[str]:
    """Per claim: one recovery per key, stored as answered; parts + surplus = gross − costs (fen); each
    party's ledger paid = its payout, recovered = Σ its parts, net = paid − recovered; one audit
    event per recovery, by the organisation that posted it."""
    bad = []
    with httpx.Client(base_url=base, headers=actors["maker"].headers) as c:
        for cid, who in zip(claims, RECOVERERS, strict=True):
            mine = [answers[k] for k, _, _, body in reqs if body.get("claim_id") == cid]
            stored = c.get("/api/v1/recoveries", params={"claim_id": cid, "limit": 1000}).json()["data"]
            if sorted(r["id"] for r in stored) != sorted(r["id"] for r in mine):
                bad.append(f"claim {cid}: recoveries {sorted(r['id'] for r in stored)} != one per key "
                           f"{sorted(r['id'] for r in mine)}")
            by_id = {r["id"]: r for r in stored}
            bad += [f"recovery {r['id']}: answered {r} but stored {by_id.get(r['id'])}"
                    for r in mine if by_id.get(r["id"]) != r]
            for r in stored:
                net = r["gross_fen"] - r["disposal_costs_fen"]
                if r["net_fen"] != net or sum(r["parts"].values()) + r["surplus_fen"] != net:
                    bad.append(f"recovery {r['id']}: parts {r['parts']} + surplus {r['surplus_fen']} "
                               f"!= net {r['net_fen']} = {r['gross_fen']} - {r['disposal_costs_fen']}")
            paid = {p["party_key"]: p["payable_fen"] for p in c.get(f"/api/v1/claims/{cid}").json()["parties"]}
            back = Counter[str]()
            for r in stored:
                back.update(r["parts"])
            ledger = c.get("/api/v1/ledger", params={"claim_id": cid, "by_year": False}).json()["balances"]
            got = {b["party_key"]: (b["paid_fen"], b["recovered_fen"], b["net_fen"]) for b in ledger}
            want = {k: (v, back[k], v - back[k]) for k, v in paid.items()}
            if got != want:
                bad.append(f"claim {cid}: ledger (paid, recovered, net) {got} != payouts and recoveries {want}")
            audited = [int(e["entity_id"]) for e in c.get(
                "/api/v1/audit-events", params={"entity": "risk_recovery", "limit": 1000},
                headers=actors[who].headers).json() if e["action"] == "create"]
            if sorted(audited) != sorted(by_id):  # each org posted the recoveries of one claim
                bad.append(f"claim {cid}: audited recoveries {sorted(audited)} != stored {sorted(by_id)}")
    return bad
