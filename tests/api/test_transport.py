"""Transport: security headers on every answer, a Secure session cookie outside demo mode, body size
limits, and the text policy (control characters, lone surrogates and full-width numbers refused)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.conftest import TEST_PASSWORD
from tests.factories import borrower_body, create_loan_via_api, ip_asset_body, loan_body

pytestmark = pytest.mark.db


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/users/me", "/docs", "/dashboard/login"])
def test_every_answer_carries_the_security_headers(client: Any, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "max-age=" in r.headers["strict-transport-security"]  # not demo mode


def test_the_api_itself_may_load_nothing(client: Any) -> None:
    assert client.get("/api/v1/health").headers["content-security-policy"].startswith("default-src 'none'")


def test_the_session_cookie_is_secure_outside_demo_mode(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    r = client.post("/api/v1/auth/session", data={"username": bank.user.email, "password": TEST_PASSWORD},
                    follow_redirects=False)
    client.cookies.clear()
    cookie = r.headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_demo_mode_alone_drops_the_secure_flag() -> None:
    from api.core.config import Settings

    assert Settings(demo_mode=False).session_cookie_secure is True
    assert Settings(demo_mode=True).session_cookie_secure is False  # plain http on localhost
    assert Settings(demo_mode=True, cookie_secure=True).session_cookie_secure is True


def test_a_ten_megabyte_json_body_is_refused_with_413(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    body = json.dumps({**borrower_body(), "name": "x" * 10_000_000})
    r = client.post("/api/v1/borrowers", content=body, headers={**bank.headers, "content-type": "application/json"})
    assert r.status_code == 413
    assert "larger than" in r.json()["detail"]


def test_a_chunked_body_without_length_is_bounded_too(client: Any, make_user: Any) -> None:
    bank = make_user("bank")

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    r = client.post("/api/v1/borrowers", content=chunks(), headers={**bank.headers, "content-type": "application/json"})
    assert r.status_code == 413


def test_an_upload_may_be_larger_than_a_json_body(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    csv = b"borrower_name,credit_code\n" + b"x,y\n" * 400_000  # 1.6 MB: above the JSON limit, below the upload one
    r = client.post("/api/v1/pledge/loans/import", files={"file": ("loans.csv", csv, "text/csv")},
                    headers=bank.headers)
    assert r.status_code != 413 and r.status_code < 500


def test_a_nul_byte_in_a_name_is_refused_naming_the_field(client: Any, make_user: Any, engine: Any) -> None:
    from api.pledge.models import Borrower

    bank = make_user("bank")
    body = borrower_body(name="重庆\x00示例科技有限公司")
    r = client.post("/api/v1/borrowers", json=body, headers=bank.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "name"]
    assert r.json()["detail"][0]["type"] == "string_control_character"
    with Session(engine) as s:
        assert s.exec(select(Borrower).where(Borrower.credit_code == body["credit_code"])).first() is None


@pytest.mark.parametrize("bad", ["\x07bell", "del\x7f", "c1\x85", "esc\x1b[31m"])
def test_control_characters_are_refused_in_bodies_and_queries(client: Any, make_user: Any, bad: str) -> None:
    bank = make_user("bank")
    r = client.post("/api/v1/borrowers", json=borrower_body(name=bad), headers=bank.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "name"]
    q = client.get("/api/v1/organisations", params={"kind": bad}, headers=bank.headers)
    assert q.status_code == 422 and q.json()["detail"][0]["loc"] == ["query", "kind"]


def test_tabs_and_newlines_are_ordinary_text(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    loan = create_loan_via_api(client, bank.headers, purpose="流动资金\n第二行\t备注")
    assert loan["purpose"] == "流动资金\n第二行\t备注"


def test_full_width_digits_in_an_amount_are_refused(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=bank.headers).json()
    a = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"]), headers=bank.headers).json()
    r = client.post("/api/v1/loans", json=loan_body(b["id"], [a["id"]], amount_cny="１００"), headers=bank.headers)
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["body", "amount_cny"], "type": "string_non_ascii_digits",
                                   "msg": "write numbers and codes with ASCII digits 0-9 (not full-width ０-９)"}]


def test_full_width_text_inside_a_chinese_name_is_kept_as_sent(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    name = "重庆示例科技（第１分公司）有限公司"
    r = client.post("/api/v1/borrowers", json=borrower_body(name=name), headers=bank.headers)
    assert r.status_code == 201 and r.json()["name"] == name
