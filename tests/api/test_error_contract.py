"""The error contract: one ErrorResponse schema documented on every route; 422s name the field
(lone surrogates, over-long integers and lax dates included) and never echo the input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import borrower_body, ip_asset_body, loan_body

pytestmark = pytest.mark.db

ERRORS = {"400", "401", "403", "404", "409", "413", "422", "429"}


def test_every_api_route_documents_its_errors_with_the_one_schema(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    operations = [(p, m, op) for p, ops in doc["paths"].items() for m, op in ops.items()]
    assert len(operations) > 30
    for path, method, op in operations:
        assert set(op["responses"]) >= ERRORS, (method, path)
        for code in ERRORS:
            schema = op["responses"][code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, code)


def test_error_bodies_match_the_schema(client: Any, make_user: Any) -> None:
    from api.core.errors import ErrorResponse

    bank, guarantor = make_user("bank"), make_user("guarantor")
    answers = [
        client.get("/api/v1/users/me"),  # 401
        client.post("/api/v1/borrowers", json=borrower_body(), headers=guarantor.headers),  # 403
        client.get("/api/v1/loans/987654321", headers=bank.headers),  # 404
        client.post("/api/v1/borrowers", json={}, headers=bank.headers),  # 422
    ]
    body = borrower_body()
    client.post("/api/v1/borrowers", json=body, headers=bank.headers)
    answers.append(client.post("/api/v1/borrowers", json=body, headers=bank.headers))  # 409
    assert [a.status_code for a in answers] == [401, 403, 404, 422, 409]
    for a in answers:
        ErrorResponse.model_validate(a.json())


def test_a_lone_surrogate_is_a_422_naming_the_field(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    raw = json.dumps(borrower_body()).replace('"name": "', '"name": "\\ud800', 1)
    r = client.post("/api/v1/borrowers", content=raw, headers={**bank.headers, "content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "name"]


def test_the_validation_handler_escapes_surrogates_it_is_given() -> None:
    """Defence in depth: whatever reaches the 422 handler renders as UTF-8 (NaN as text, surrogates escaped)."""
    from api.main import _json_safe

    safe = _json_safe({"loc": ["body", "\udc80key"], "msg": "bad \ud800", "ctx": {"x": float("nan")}})
    assert json.dumps(safe, ensure_ascii=False).encode("utf-8")
    assert safe["msg"] == "bad \\ud800" and safe["ctx"]["x"] == "nan"


def test_validation_errors_do_not_echo_the_input(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    r = client.post("/api/v1/users/me/password", json={"current_password": "s3cret-value", "new_password": "short"},
                    headers=bank.headers)
    assert r.status_code == 422
    assert "s3cret-value" not in r.text and "short" not in json.dumps([e.get("input") for e in r.json()["detail"]])
    assert r.json()["detail"][0]["loc"] == ["body", "new_password"]


def test_an_id_beyond_64_bits_is_a_422_naming_it(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    r = client.get("/api/v1/loans/99999999999999999999", headers=bank.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["path", "loan_id"]
    r = client.get("/api/v1/stats/overview", params={"bank_org_id": "1" + "0" * 30}, headers=bank.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "bank_org_id"]
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=bank.headers).json()
    a = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"]), headers=bank.headers).json()
    r = client.post("/api/v1/loans", json=loan_body(2**64, [a["id"]]), headers=bank.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "borrower_id"]


def test_a_date_must_be_written_as_a_date(client: Any, make_user: Any) -> None:
    bureau = make_user("bureau")
    r = client.get("/api/v1/stats/overview", params={"date_from": "0"}, headers=bureau.headers)
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["query", "date_from"], "msg": "write the date as YYYY-MM-DD",
                                   "type": "date_format"}]
    assert client.get("/api/v1/stats/overview", params={"date_from": "2025-01-01"},
                      headers=bureau.headers).status_code == 200
    bank = make_user("bank")
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=bank.headers).json()
    a = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"]), headers=bank.headers).json()
    r = client.post("/api/v1/loans", json=loan_body(b["id"], [a["id"]], origination_date=0), headers=bank.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "origination_date"]
