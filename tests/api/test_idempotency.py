"""Idempotency-Key: a retried money POST (payment, charge, disbursement, disposal, pool, deal run)
returns the first answer and books nothing twice; a reused key with another body is 422; twenty
concurrent copies of one payment book exactly one."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

import pytest

from tests.pledge.test_api_pledge import (
    AMOUNT_FEN,
    ORIG,
    bank_team,
    events,
    move,
    setup_asset_id,
    setup_loan,
    to_active,
)
from tests.securitization.test_api_securitization import _inline_pool, _structure

pytestmark = pytest.mark.db

PAYMENT = {"amount_cny": "10000.00", "paid_on": "2025-10-01"}


def _key() -> str:
    return f"k-{uuid.uuid4()}"


def _active_loan(client: Any, make_user: Any) -> tuple[Any, Any, int]:
    maker, checker = bank_team(make_user)
    lid = setup_loan(client, maker)["id"]
    to_active(client, maker, checker, lid)
    return maker, checker, lid


def _payments(client: Any, actor: Any, lid: int) -> list[dict[str, Any]]:
    return list(client.get(f"/api/v1/loans/{lid}/payments", headers=actor.headers).json()["data"])


def test_same_payment_twice_with_one_key_books_one_payment_and_replays_the_first_answer(
        client: Any, make_user: Any) -> None:
    maker, _, lid = _active_loan(client, make_user)
    headers = {**maker.headers, "Idempotency-Key": _key()}
    first = client.post(f"/api/v1/loans/{lid}/payments", json=PAYMENT, headers=headers)
    again = client.post(f"/api/v1/loans/{lid}/payments", json=PAYMENT, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert [p["id"] for p in _payments(client, maker, lid)] == [first.json()["id"]]
    assert events(client, maker, lid).count("payment") == 1
    loan = client.get(f"/api/v1/loans/{lid}", headers=maker.headers).json()
    assert loan["outstanding_fen"] == AMOUNT_FEN - first.json()["principal_fen"] - first.json()["prepaid_principal_fen"]


def test_same_key_with_a_different_body_is_422_naming_the_header_and_books_nothing(
        client: Any, make_user: Any) -> None:
    maker, _, lid = _active_loan(client, make_user)
    headers = {**maker.headers, "Idempotency-Key": _key()}
    assert client.post(f"/api/v1/loans/{lid}/payments", json=PAYMENT, headers=headers).status_code == 201
    r = client.post(f"/api/v1/loans/{lid}/payments", json={**PAYMENT, "amount_cny": "20000.00"}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert len(_payments(client, maker, lid)) == 1


def test_without_a_key_every_payment_is_booked_and_keys_are_per_organisation(client: Any, make_user: Any) -> None:
    maker, _, lid = _active_loan(client, make_user)
    for _ in range(2):
        assert client.post(f"/api/v1/loans/{lid}/payments", json=PAYMENT, headers=maker.headers).status_code == 201
    assert len(_payments(client, maker, lid)) == 2
    key = _key()  # the same key in two organisations names two different requests
    a, b = make_user("bank"), make_user("bank")
    pa = client.post("/api/v1/pools", json={"name": "a", "assets": _structure_pool()}, headers={
        **a.headers, "Idempotency-Key": key})
    pb = client.post("/api/v1/pools", json={"name": "a", "assets": _structure_pool()}, headers={
        **b.headers, "Idempotency-Key": key})
    assert pa.status_code == pb.status_code == 201 and pa.json()["id"] != pb.json()["id"]


def _structure_pool() -> Any:
    from tests.securitization.test_api_securitization import _nanshan

    return _nanshan()["pool"]


def test_twenty_concurrent_copies_of_a_payment_book_exactly_one(client: Any, make_user: Any) -> None:
    maker, _, lid = _active_loan(client, make_user)
    headers = {**maker.headers, "Idempotency-Key": _key()}
    barrier = threading.Barrier(20)
    answers: list[tuple[int, Any]] = []

    def pay() -> None:
        barrier.wait()
        r = client.post(f"/api/v1/loans/{lid}/payments", json=PAYMENT, headers=headers)
        answers.append((r.status_code, r.json().get("id") if r.status_code == 201 else r.text))

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    booked = _payments(client, maker, lid)
    print(f"\n20 concurrent copies → {len(booked)} payment(s); answers {Counter(s for s, _ in answers)}")
    assert len(booked) == 1
    assert events(client, maker, lid).count("payment") == 1
    assert all(s in (201, 409) for s, _ in answers), answers  # 409 = "in progress, retry", never a 5xx
    assert {x for s, x in answers if s == 201} == {booked[0]["id"]}


def test_a_retried_disbursement_returns_the_first_answer_instead_of_409(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    lid = setup_loan(client, maker)["id"]
    for action, actor, kw in [("submit", maker, {}), ("start_review", checker, {}), ("approve", checker, {}),
                              ("register_pledge", maker, {"pledge_registration_number": "Y2026500000123"})]:
        assert move(client, actor, lid, action, **kw).status_code == 200
    headers = {**checker.headers, "Idempotency-Key": _key()}
    body = {"action": "disburse", "on": ORIG}
    first = client.post(f"/api/v1/loans/{lid}/transitions", json=body, headers=headers)
    again = client.post(f"/api/v1/loans/{lid}/transitions", json=body, headers=headers)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert events(client, maker, lid).count("disburse") == 1
    assert move(client, checker, lid, "disburse").status_code == 409  # without the key it is a new, illegal move


def test_charges_and_disposals_honour_the_key(client: Any, make_user: Any) -> None:
    maker, checker, lid = _active_loan(client, make_user)
    headers = {**maker.headers, "Idempotency-Key": _key()}
    fee = {"kind": "fee", "amount_cny": "500.00", "description": "评估费"}
    r1 = client.post(f"/api/v1/loans/{lid}/charges", json=fee, headers=headers)
    r2 = client.post(f"/api/v1/loans/{lid}/charges", json=fee, headers=headers)
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert r2.json()["fees_outstanding_fen"] == 50_000 and events(client, maker, lid).count("charge") == 1
    day = "2026-03-01"
    for action, actor in [("mark_overdue", maker), ("declare_default", checker), ("file_claim", maker),
                          ("start_disposal", maker)]:
        assert move(client, actor, lid, action, on=day).status_code == 200, action
    asset_id = setup_asset_id(client, maker, lid)
    disposal = {"method": "auction", "ip_asset_ids": [asset_id], "started_on": day,
                "proceeds": [{"on": day, "amount_cny": "3000000.00", "description": "拍卖成交"}]}
    headers = {**maker.headers, "Idempotency-Key": _key()}
    d1 = client.post(f"/api/v1/loans/{lid}/disposals", json=disposal, headers=headers)
    d2 = client.post(f"/api/v1/loans/{lid}/disposals", json=disposal, headers=headers)
    assert d1.status_code == d2.status_code == 201, d1.text
    assert d2.json() == d1.json() and len(d2.json()["disposals"]) == 1
    assert d2.json()["gross_proceeds_fen"] == 300_000_000


def test_pool_upload_and_deal_run_honour_the_key(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    tape = ("loan_id,borrower,balance_cny,annual_rate,term_months,annual_pd,recovery_rate,recovery_lag_months,"
            "industry,region\nA1,甲,1000000.00,0.05,12,0.02,0.3,6,C,440300\n").encode()
    headers = {**bank.headers, "Idempotency-Key": _key()}
    ups = [client.post("/api/v1/pools/upload", data={"name": "tape"}, files={"file": ("t.csv", tape, "text/csv")},
                       headers=headers) for _ in range(2)]
    assert ups[0].status_code == ups[1].status_code == 201 and ups[0].json() == ups[1].json()
    other = client.post("/api/v1/pools/upload", data={"name": "tape 2"}, files={"file": ("t.csv", tape, "text/csv")},
                        headers=headers)
    assert other.status_code == 422  # same key, another request
    assert client.get("/api/v1/pools", headers=bank.headers).json()["count"] == 1
    pool = _inline_pool(client, bank.headers)
    deal = client.post("/api/v1/deals", json={"pool_id": pool["id"], "structure": _structure()}, headers=bank.headers)
    headers = {**bank.headers, "Idempotency-Key": _key()}
    runs = [client.post(f"/api/v1/deals/{deal.json()['id']}/runs", json={"mode": "deterministic"}, headers=headers)
            for _ in range(2)]
    assert runs[0].status_code == runs[1].status_code == 201 and runs[0].json()["id"] == runs[1].json()["id"]
    assert client.get(f"/api/v1/deals/{deal.json()['id']}/runs", headers=bank.headers).json()["count"] == 1


def test_a_refused_request_does_not_use_up_its_key(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    lid = setup_loan(client, maker)["id"]
    headers = {**maker.headers, "Idempotency-Key": _key()}
    assert client.post(f"/api/v1/loans/{lid}/payments", json=PAYMENT, headers=headers).status_code == 409
    to_active(client, maker, checker, lid)
    assert client.post(f"/api/v1/loans/{lid}/payments", json=PAYMENT, headers=headers).status_code == 201


def test_openapi_documents_the_optional_header(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/loans/{loan_id}/payments", "/api/v1/loans/{loan_id}/transitions",
                 "/api/v1/loans/{loan_id}/charges", "/api/v1/loans/{loan_id}/disposals", "/api/v1/pools",
                 "/api/v1/pools/upload", "/api/v1/deals/{deal_id}/runs"):
        params = {p["name"]: p for p in spec["paths"][path]["post"].get("parameters", [])}
        assert params["Idempotency-Key"]["in"] == "header" and not params["Idempotency-Key"].get("required"), path
