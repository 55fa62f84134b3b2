"""`ipfin serve --demo` end to end, as `make run` starts it: a real server process on a free
port, a demo database seeded on first start, every demo role able to log in."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from api.demo import DEMO_PASSWORD, DEMO_USERS
from tests.live_server import free_port, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPFIN_")}
    env.update(IPFIN_DEMO_LOANS="400")
    args = [sys.executable, "-m", "ipfin_app.cli", "serve", "--demo", "--port", str(port),
            "--database-url", f"sqlite:///{tmp / 'demo.db'}"]
    with serving(args, port=port, cwd=tmp, env=env, log=tmp / "server.log", start_s=90) as base:
        yield base
    output = Path(tmp / "server.log").read_text()
    assert "Demo logins" in output and DEMO_USERS[0][0] in output


def test_health_docs_and_dashboard_are_served(server: str) -> None:
    health = httpx.get(f"{server}/api/v1/health").json()
    assert health["status"] == "ok" and health["database"] == "sqlite" and health["schema_revision"] != "none"
    assert httpx.get(f"{server}/docs").status_code == 200
    dash = httpx.get(f"{server}/dashboard/", follow_redirects=True)  # visitors land on the login page
    assert dash.status_code == 200 and "_dash-config" in dash.text


@pytest.mark.parametrize("email", [u[0] for u in DEMO_USERS])
def test_every_demo_role_logs_in(server: str, email: str) -> None:
    r = httpx.post(f"{server}/api/v1/auth/token", data={"username": email, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    me = httpx.get(f"{server}/api/v1/users/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["email"] == email


def test_demo_bank_sees_its_seeded_loans(server: str) -> None:
    token = httpx.post(f"{server}/api/v1/auth/token",
                       data={"username": "officer@bank.ipfin.demo", "password": DEMO_PASSWORD}).json()["access_token"]
    page = httpx.get(f"{server}/api/v1/loans", headers={"Authorization": f"Bearer {token}"}).json()
    assert 0 < page["count"] < 400
