"""Foundation behaviour: authentication, roles, tenancy, validation at the boundary, audit."""

import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from api.audit.models import AuditEvent
from tests.conftest import TEST_PASSWORD
from tests.factories import borrower_body, create_loan_via_api, ip_asset_body, loan_body


def _audit_count(session: Any, entity: str) -> int:
    return len(session.exec(select(AuditEvent).where(AuditEvent.entity == entity)).all())


def test_health_reports_database_and_schema(client: Any, engine: Any) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == engine.dialect.name
    assert "0001_foundation" in body["schema_revision"] or body["schema_revision"] != "none"


def test_openapi_docs_and_dashboard_are_served(client: Any) -> None:
    assert client.get("/docs").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "ipfin API"
    r = client.get("/dashboard/")
    assert r.status_code == 200
    assert "_dash-config" in r.text or "dash" in r.text.lower()


def test_protected_routes_need_a_token(client: Any) -> None:
    for path in ("/api/v1/users/me", "/api/v1/loans", "/api/v1/borrowers", "/api/v1/audit-events"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/users/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_password_login_issues_a_bearer_token(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    r = client.post("/api/v1/auth/token", data={"username": bank.user.email, "password": TEST_PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == bank.user.email
    assert me.json()["organisation"]["kind"] == "bank"
    assert "hashed_password" not in me.json()
    bad = client.post("/api/v1/auth/token", data={"username": bank.user.email, "password": "wrong password!"})
    assert bad.status_code == 401


def test_wrong_role_is_forbidden(client: Any, make_user: Any) -> None:
    guarantor = make_user("guarantor", "officer")
    r = client.post("/api/v1/borrowers", json=borrower_body(), headers=guarantor.headers)
    assert r.status_code == 403
    viewer = make_user("bank", "viewer")
    assert client.post("/api/v1/borrowers", json=borrower_body(), headers=viewer.headers).status_code == 403
    bank = make_user("bank", "officer")
    r = client.post("/api/v1/users", json={"email": "x@y.cn", "password": "long-enough-pw", "organisation_id": 1},
                    headers=bank.headers)
    assert r.status_code == 403


def test_another_organisations_objects_are_not_found(client: Any, make_user: Any) -> None:
    bank_a, bank_b = make_user("bank", "officer"), make_user("bank", "officer")
    loan = create_loan_via_api(client, bank_a.headers)
    assert client.get(f"/api/v1/loans/{loan['id']}", headers=bank_a.headers).status_code == 200
    assert client.get(f"/api/v1/loans/{loan['id']}", headers=bank_b.headers).status_code == 404
    assert client.get(f"/api/v1/borrowers/{loan['borrower_id']}", headers=bank_b.headers).status_code == 404
    assert client.get("/api/v1/loans", headers=bank_b.headers).json()["count"] == 0
    assert client.get("/api/v1/loans", headers=bank_a.headers).json()["count"] == 1


def test_guarantor_sees_the_loans_it_guarantees_and_bureau_its_region(client: Any, make_user: Any) -> None:
    bank, guarantor = make_user("bank", "officer"), make_user("guarantor", "officer")
    loan = create_loan_via_api(client, bank.headers, guarantor_org_id=guarantor.org.id, guarantee_fee_rate="0.01")
    assert client.get(f"/api/v1/loans/{loan['id']}", headers=guarantor.headers).status_code == 200
    other_guarantor = make_user("guarantor", "officer")
    assert client.get(f"/api/v1/loans/{loan['id']}", headers=other_guarantor.headers).status_code == 404
    chongqing = make_user("bureau", "viewer", region_code="500000")
    guangdong = make_user("bureau", "viewer", region_code="440000")
    assert client.get(f"/api/v1/loans/{loan['id']}", headers=chongqing.headers).status_code == 200
    assert client.get(f"/api/v1/loans/{loan['id']}", headers=guangdong.headers).status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("credit_code", "91350100M000100Y44", "check character"),
        ("credit_code", "123", "18 characters"),
        ("region_code", "999999", "unknown region"),
        ("industry", "Z", "GB/T 4754"),
        ("registered_on", "2015-02-30", "date"),
        ("size_class", "gigantic", "micro"),
    ],
)
def test_bad_borrower_fields_give_422_naming_the_field(
    client: Any, make_user: Any, field: str, value: str, message: str
) -> None:
    bank = make_user("bank", "officer")
    r = client.post("/api/v1/borrowers", json=borrower_body(**{field: value}), headers=bank.headers)
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert any(e["loc"][-1] == field and message.lower() in e["msg"].lower() for e in errors), errors


def test_bad_patent_number_gives_422(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=bank.headers).json()
    r = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"], identifier="CN202310123456.7"),
                    headers=bank.headers)
    assert r.status_code == 422
    assert "identifier" in r.text and "check digit" in r.text
    utility = ip_asset_body(b["id"], ip_type="utility_model", identifier="CN202310123456.6")
    r = client.post("/api/v1/ip-assets", json=utility, headers=bank.headers)
    assert r.status_code == 422 and "not utility_model" in r.text


@pytest.mark.parametrize(
    ("value", "message"),
    [("-5", "negative"), ("1.001", "2 decimal"), ("NaN", "finite"), ("0", "positive"), ("abc", "number")],
)
def test_bad_loan_amounts_give_422(client: Any, make_user: Any, value: str, message: str) -> None:
    bank = make_user("bank", "officer")
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=bank.headers).json()
    a = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"]), headers=bank.headers).json()
    r = client.post("/api/v1/loans", json=loan_body(b["id"], [a["id"]], amount_cny=value), headers=bank.headers)
    assert r.status_code == 422, r.text
    assert any(e["loc"][-1] == "amount_cny" and message in e["msg"] for e in r.json()["detail"]), r.text


def test_impossible_dates_and_rates_give_422(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=bank.headers).json()
    a = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"]), headers=bank.headers).json()
    for kw, field in [({"maturity_date": "2024-01-01"}, "maturity_date"), ({"annual_rate": "1.2"}, "annual_rate"),
                      ({"origination_date": "2025-13-01"}, "origination_date")]:
        r = client.post("/api/v1/loans", json=loan_body(b["id"], [a["id"]], **kw), headers=bank.headers)
        assert r.status_code == 422, (kw, r.text)
        assert field in r.text


def test_loan_amount_is_stored_exactly_in_fen(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    loan = create_loan_via_api(client, bank.headers, amount_cny="8000000.03")
    assert loan["amount_fen"] == 800_000_003
    assert loan["amount_cny"] == "8000000.03"
    assert loan["province_code"] == "500000" and loan["primary_ip_type"] == "invention_patent"


def test_each_change_writes_an_audit_event(client: Any, make_user: Any, session: Any) -> None:
    bank = make_user("bank", "officer")
    loan = create_loan_via_api(client, bank.headers)
    events = client.get("/api/v1/audit-events", params={"entity": "loan", "entity_id": str(loan["id"])},
                        headers=bank.headers).json()
    assert len(events) == 1
    assert events[0]["action"] == "create"
    assert events[0]["actor_user_id"] == bank.id
    assert events[0]["after"]["amount_fen"] == loan["amount_fen"]
    other = make_user("bank", "officer")
    assert client.get("/api/v1/audit-events", params={"entity_id": str(loan["id"]), "entity": "loan"},
                      headers=other.headers).json() == []


def test_failed_change_rolls_back_its_audit_event(client: Any, make_user: Any, session: Any) -> None:
    bank = make_user("bank", "officer")
    body = borrower_body()
    assert client.post("/api/v1/borrowers", json=body, headers=bank.headers).status_code == 201
    before = _audit_count(session, "borrower")
    dup = client.post("/api/v1/borrowers", json=body, headers=bank.headers)  # same credit code, same bank
    assert dup.status_code == 409
    session.expire_all()
    assert _audit_count(session, "borrower") == before


def test_audit_log_is_append_only(engine: Any, client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    create_loan_via_api(client, bank.headers)
    for stmt in ("UPDATE audit_event SET action = 'tampered'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(stmt))


def test_admin_creates_users_and_passwords_are_hashed(client: Any, make_user: Any, session: Any) -> None:
    admin = make_user("admin", "approver")
    bank = make_user("bank", "officer")
    r = client.post("/api/v1/users", json={"email": "new.officer@bank.test", "password": "a-long-password",
                                           "organisation_id": bank.org.id, "role": "approver"},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    assert "password" not in r.json()
    again = client.post("/api/v1/users", json={"email": "NEW.officer@bank.test", "password": "a-long-password",
                                               "organisation_id": bank.org.id}, headers=admin.headers)
    assert again.status_code == 409
    login = client.post("/api/v1/auth/token", data={"username": "new.officer@bank.test", "password": "a-long-password"})
    assert login.status_code == 200


def test_dashboard_cookie_authenticates_reads_only(client: Any, make_user: Any) -> None:
    from api.core.security import create_access_token

    bank = make_user("bank", "officer")
    token, _ = create_access_token(bank.id)
    client.cookies.set("ipfin_session", token)
    try:
        assert client.get("/api/v1/users/me").status_code == 200
        assert client.post("/api/v1/borrowers", json=borrower_body()).status_code == 401
    finally:
        client.cookies.clear()


def test_default_secret_is_refused_outside_demo_mode(monkeypatch: Any) -> None:
    from api.core.config import DEFAULT_SECRET_KEY, Settings

    with pytest.raises(RuntimeError, match="IPFIN_SECRET_KEY"):
        Settings(secret_key=DEFAULT_SECRET_KEY, demo_mode=False).check_secret()
    Settings(secret_key=DEFAULT_SECRET_KEY, demo_mode=True).check_secret()


def test_dashboard_login_sets_an_httponly_session_cookie(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    r = client.post("/api/v1/auth/session", data={"username": bank.user.email, "password": TEST_PASSWORD},
                    follow_redirects=False)
    try:
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/"
        cookie = r.headers["set-cookie"]
        assert "ipfin_session=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
        assert client.get("/api/v1/users/me").json()["email"] == bank.user.email
        bad = client.post("/api/v1/auth/session", data={"username": bank.user.email, "password": "nope-nope-nope"},
                          follow_redirects=False)
        assert bad.status_code == 303 and "error=1" in bad.headers["location"]
        out = client.post("/api/v1/auth/logout", follow_redirects=False)
        assert out.status_code == 303
    finally:
        client.cookies.clear()
    assert client.get("/api/v1/users/me").status_code == 401


def test_a_nan_literal_in_json_is_a_422_not_a_500(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=bank.headers).json()
    a = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"]), headers=bank.headers).json()
    body = json.dumps(loan_body(b["id"], [a["id"]])).replace('"5000000.00"', "NaN")
    r = client.post("/api/v1/loans", content=body, headers={**bank.headers, "content-type": "application/json"})
    assert r.status_code == 422
    assert any(e["loc"][-1] == "amount_cny" for e in r.json()["detail"])


def test_out_of_range_numbers_are_422_not_500(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    assert client.get("/api/v1/loans/99999999999999999999", headers=bank.headers).status_code == 422
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=bank.headers).json()
    a = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"]), headers=bank.headers).json()
    r = client.post("/api/v1/loans", json=loan_body(b["id"], [a["id"]], amount_cny="1e30"), headers=bank.headers)
    assert r.status_code == 422 and "amount_cny" in r.text


def test_postgresql_connections_run_without_jit(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """JIT compilation cost 0.1-0.3 s per statistics query that then ran in milliseconds (bench at 1M
    loans): every PostgreSQL connection turns it off; on the PostgreSQL CI pass the server confirms it."""
    import api.core.db as db

    seen: dict[str, Any] = {}
    monkeypatch.setattr(db, "create_engine", lambda url, **kw: seen.update(kw))
    db.make_engine("postgresql+psycopg://ipfin@127.0.0.1:5432/ipfin")
    assert seen["connect_args"]["options"] == "-c jit=off"
    monkeypatch.undo()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
