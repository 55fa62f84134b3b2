"""The dashboard behind the API's login: redirects, HttpOnly session cookie, per-callback checks."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import TEST_PASSWORD

KPI_CALLBACK = {
    "output": "..ov-period.children...ov-kpis.children...ov-compensation.children...ov-tbl-compensation.children..",
    "outputs": [{"id": i, "property": "children"} for i in ("ov-period", "ov-kpis", "ov-compensation",
                                                           "ov-tbl-compensation")],
    "inputs": [{"id": "ov-date", "property": "start_date", "value": "2025-01-01"},
               {"id": "ov-date", "property": "end_date", "value": "2025-12-31"},
               *[{"id": i, "property": "value", "value": None} for i in ("ov-province", "ov-industry", "ov-iptype",
                                                                          "ov-bank")],
               {"id": "ov-threshold", "property": "value", "value": 10_000_000},
               {"id": "ov-city", "property": "data", "value": None}],
    "changedPropIds": ["ov-date.start_date"],
    "state": [{"id": "ov-default", "property": "data", "value": None}],
}


def _login(client: Any, email: str) -> None:
    r = client.post("/api/v1/auth/session", data={"username": email, "password": TEST_PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/"
    assert "httponly" in r.headers["set-cookie"].lower()


def test_a_page_without_session_redirects_to_login_with_next(client: Any) -> None:
    client.cookies.clear()
    r = client.get("/dashboard/bank", follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == "/dashboard/login?next=/dashboard/bank"
    assert client.get("/dashboard/login", follow_redirects=False).status_code == 200


def test_a_forged_cookie_is_not_a_session(client: Any) -> None:
    client.cookies.clear()
    client.cookies.set("ipfin_session", "not-a-token")
    assert client.get("/dashboard/", follow_redirects=False).status_code == 302
    client.cookies.clear()


def test_callbacks_return_nothing_without_a_session(client: Any) -> None:
    client.cookies.clear()
    r = client.post("/dashboard/_dash-update-component", content=json.dumps(KPI_CALLBACK),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 204  # PreventUpdate: no figures leave the server
    assert r.content == b""


def test_signed_in_user_gets_their_own_figures(client: Any, make_user: Any, engine: Any) -> None:
    from tests.dashboard.book import make_book

    actor = make_user("bank", role="viewer")
    make_book(engine, actor.org)
    _login(client, actor.user.email)
    try:
        assert client.get("/dashboard/bank", follow_redirects=False).status_code == 200
        r = client.post("/dashboard/_dash-update-component", content=json.dumps(KPI_CALLBACK),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        body = json.dumps(r.json())
        assert '"data-value": "4800000050"' in body  # the bank's 2025 financing, exact fen
        assert r.headers["cache-control"] == "no-store"
    finally:
        client.cookies.clear()


def test_language_switch_sets_a_cookie_and_refuses_foreign_redirects(client: Any) -> None:
    r = client.get("/dashboard/lang/en?next=https://evil.example/steal", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/dashboard/"
    assert "ipfin_lang=en" in r.headers["set-cookie"]
    r = client.get("/dashboard/lang/zh?next=/dashboard/bank", follow_redirects=False)
    assert r.headers["location"] == "/dashboard/bank"
    client.cookies.clear()


def test_viewer_is_none_for_an_inactive_user_or_an_expired_token(make_user: Any, engine: Any) -> None:
    from sqlmodel import Session

    from api.core.security import create_access_token
    from api.identity.models import User
    from dashboard.data import viewer_from_token

    actor = make_user("bureau", role="viewer", region_code="500000")
    token, _ = create_access_token(actor.id)
    viewer = viewer_from_token(token)
    assert viewer is not None and viewer.org.region_code == "500000"
    assert viewer.may_see("overview") and not viewer.may_see("bank") and not viewer.may_see("guarantor")
    with Session(engine) as s:
        user = s.get(User, actor.id)
        user.is_active = False
        s.add(user)
        s.commit()
    assert viewer_from_token(token) is None
    assert viewer_from_token(create_access_token(actor.id, expires_minutes=-1)[0]) is None
