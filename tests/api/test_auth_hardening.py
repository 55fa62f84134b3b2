"""Authentication under attack: login throttling (per account and per address, kept in the
database), audited failed logins, token revocation on password change and disable, ``exp``
required, and admins disabling/enabling users."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from tests.conftest import TEST_PASSWORD, TEST_SECRET

pytestmark = pytest.mark.db

_addresses = itertools.count(1)


@pytest.fixture
def client_at(app: Any) -> Callable[[], Any]:
    """A TestClient whose requests come from a fresh client address (the throttle counts per address)."""
    from fastapi.testclient import TestClient

    def factory() -> Any:
        n = next(_addresses) + uuid.uuid4().int % 50_000
        return TestClient(app, client=(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 50000))

    return factory


def _login(client: Any, email: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": email, "password": password})


def _audit_actions(engine: Any, entity_id: Any) -> list[str]:
    from api.audit.models import AuditEvent

    with Session(engine) as s:
        q = select(AuditEvent.action).where(AuditEvent.entity == "user", AuditEvent.entity_id == str(entity_id))
        return list(s.exec(q.order_by(col(AuditEvent.id))).all())


def test_forty_wrong_passwords_then_the_right_one_is_refused_with_429(
    client_at: Callable[[], Any], make_user: Any, engine: Any
) -> None:
    bank = make_user("bank")
    c = client_at()
    codes = [_login(c, bank.user.email, f"wrong-password-{i}").status_code for i in range(40)]
    assert codes[:5] == [401] * 5
    assert codes[5:] == [429] * 35
    right = _login(c, bank.user.email, TEST_PASSWORD)
    assert right.status_code == 429
    assert 0 < int(right.headers["Retry-After"]) <= 15 * 60
    assert "too many failed logins" in right.json()["detail"]
    actions = _audit_actions(engine, bank.id)
    assert actions.count("login_failed") == 5 and actions.count("login_throttled") == 36
    assert "login" not in actions


def test_the_account_is_locked_from_every_address(client_at: Callable[[], Any], make_user: Any) -> None:
    bank = make_user("bank")
    first = client_at()
    for i in range(5):
        assert _login(first, bank.user.email, f"guess-{i}").status_code == 401
    assert _login(client_at(), bank.user.email, TEST_PASSWORD).status_code == 429


def test_one_address_guessing_many_accounts_is_throttled(client_at: Callable[[], Any], make_user: Any) -> None:
    c = client_at()
    for i in range(20):
        assert _login(c, f"nobody-{uuid.uuid4().hex[:8]}-{i}@test.ipfin", "whatever-it-is").status_code == 401
    victim = make_user("bank")
    assert _login(c, victim.user.email, TEST_PASSWORD).status_code == 429
    assert _login(client_at(), victim.user.email, TEST_PASSWORD).status_code == 200  # another address is not held


def test_the_lock_slides_off_when_failures_leave_the_window(
    client_at: Callable[[], Any], make_user: Any, engine: Any
) -> None:
    from api.identity.models import LoginFailure

    bank = make_user("bank")
    c = client_at()
    for i in range(5):
        _login(c, bank.user.email, f"guess-{i}")
    assert _login(c, bank.user.email, TEST_PASSWORD).status_code == 429
    with Session(engine) as s:  # fifteen minutes pass
        s.execute(update(LoginFailure).where(col(LoginFailure.account) == bank.user.email.lower())
                  .values(at=datetime.now(UTC) - timedelta(minutes=16)))
        s.commit()
    assert _login(c, bank.user.email, TEST_PASSWORD).status_code == 200


def test_a_successful_login_clears_the_accounts_failures(client_at: Callable[[], Any], make_user: Any) -> None:
    bank = make_user("bank")
    c = client_at()
    for _ in range(2):
        for i in range(4):
            assert _login(c, bank.user.email, f"typo-{i}").status_code == 401
        assert _login(c, bank.user.email, TEST_PASSWORD).status_code == 200


def test_counters_live_in_the_database_so_another_worker_sees_them(
    client_at: Callable[[], Any], make_user: Any, engine: Any
) -> None:
    from fastapi.testclient import TestClient

    from api.identity.models import LoginFailure
    from api.main import create_app

    bank = make_user("bank")
    c = client_at()
    for i in range(5):
        _login(c, bank.user.email, f"guess-{i}")
    with Session(engine) as s:
        rows = s.exec(select(LoginFailure).where(LoginFailure.account == bank.user.email.lower())).all()
    assert len(rows) == 5 and len({r.address for r in rows}) == 1 and rows[0].address.startswith("10.")
    other_worker = TestClient(create_app(migrate=False), client=("10.255.255.1", 50000))
    assert _login(other_worker, bank.user.email, TEST_PASSWORD).status_code == 429


def test_failed_and_successful_logins_are_audited(client_at: Callable[[], Any], make_user: Any, engine: Any) -> None:
    from api.audit.models import AuditEvent

    bank = make_user("bank")
    c = client_at()
    _login(c, bank.user.email, "not-the-password")
    _login(c, bank.user.email, TEST_PASSWORD)
    assert _audit_actions(engine, bank.id)[-2:] == ["login_failed", "login"]
    with Session(engine) as s:
        failed = s.exec(select(AuditEvent).where(AuditEvent.entity_id == str(bank.id),
                                                 AuditEvent.action == "login_failed")).one()
    assert failed.after is not None and failed.after["reason"] == "wrong password"
    assert failed.after["account"] == bank.user.email.lower()


def test_dashboard_login_is_throttled_too(client_at: Callable[[], Any], make_user: Any) -> None:
    bank = make_user("bank")
    c = client_at()
    for i in range(5):
        r = c.post("/api/v1/auth/session", data={"username": bank.user.email, "password": f"x-{i}-wrong"},
                   follow_redirects=False)
        assert r.headers["location"].endswith("error=1")
    r = c.post("/api/v1/auth/session", data={"username": bank.user.email, "password": TEST_PASSWORD},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("error=throttled")
    assert "set-cookie" not in r.headers and int(r.headers["Retry-After"]) > 0


def _token(client: Any, email: str, password: str = TEST_PASSWORD) -> str:
    r = _login(client, email, password)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_a_token_issued_before_a_password_change_stops_working(
    client_at: Callable[[], Any], make_user: Any
) -> None:
    from api.identity.service import active_user_from_token

    bank = make_user("bank")
    c = client_at()
    old = _token(c, bank.user.email)
    other_device = _token(c, bank.user.email)
    auth = {"Authorization": f"Bearer {old}"}
    r = c.post("/api/v1/users/me/password", headers=auth,
               json={"current_password": TEST_PASSWORD, "new_password": "a brand new passphrase"})
    assert r.status_code == 204
    for token in (old, other_device):
        assert c.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert active_user_from_token(token) is None  # the dashboard's cookie path
    new = _token(c, bank.user.email, "a brand new passphrase")
    assert c.get("/api/v1/users/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert active_user_from_token(new) is not None


def test_a_signed_token_without_exp_is_refused(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    forever = jwt.encode({"sub": str(bank.id), "ver": 0, "iat": int(time.time())}, TEST_SECRET, algorithm="HS256")
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forever}"}).status_code == 401
    from api.identity.service import active_user_from_token

    assert active_user_from_token(forever) is None
    exp = int(time.time()) + 600
    with_exp = jwt.encode({"sub": str(bank.id), "ver": 0, "exp": exp}, TEST_SECRET, algorithm="HS256")
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {with_exp}"}).status_code == 200


def test_admin_disables_and_enables_a_user(client_at: Callable[[], Any], make_user: Any, engine: Any) -> None:
    admin = make_user("admin")
    bank = make_user("bank")
    c = client_at()
    token = _token(c, bank.user.email)
    bearer = {"Authorization": f"Bearer {token}"}
    assert c.get("/api/v1/users/me", headers=bearer).status_code == 200

    r = c.post(f"/api/v1/users/{bank.id}/disable", headers=admin.headers)
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert c.get("/api/v1/users/me", headers=bearer).status_code == 401
    assert _login(c, bank.user.email, TEST_PASSWORD).status_code == 403

    r = c.post(f"/api/v1/users/{bank.id}/enable", headers=admin.headers)
    assert r.status_code == 200 and r.json()["is_active"] is True
    assert c.get("/api/v1/users/me", headers=bearer).status_code == 401  # the old token stays revoked
    assert c.get("/api/v1/users/me", headers={"Authorization": f"Bearer {_token(c, bank.user.email)}"}
                 ).status_code == 200
    actions = _audit_actions(engine, bank.id)
    assert "disable" in actions and "enable" in actions


def test_only_admins_disable_users_and_not_themselves(client: Any, make_user: Any) -> None:
    admin = make_user("admin")
    bank = make_user("bank")
    colleague = make_user(bank.org)
    assert client.post(f"/api/v1/users/{colleague.id}/disable", headers=bank.headers).status_code == 403
    assert client.post(f"/api/v1/users/{admin.id}/disable", headers=admin.headers).status_code == 409
    assert client.post("/api/v1/users/987654321/disable", headers=admin.headers).status_code == 404
    assert client.get("/api/v1/users/me", headers=colleague.headers).status_code == 200
