"""Issue 12 (per-payer sign-off): a claim is reviewed once against the rule; then each paying party
proposes, approves (maker-checker inside the party) and pays its own share, or declines it with a
reason. Partial states are visible to every party; the loan follows the claim; the ledger books
each share when paid and filters by claim."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.pledge.models import Loan
from tests.risk_sharing.api_helpers import claim_body, defaulted_loan, sign_and_pay

pytestmark = pytest.mark.db

TODAY = date.today()


def _filed_and_reviewed(client: Any, s: dict[str, Any], **kw: Any) -> dict[str, Any]:
    c = client.post("/api/v1/claims", json=claim_body(s, **kw), headers=s["bank"].headers)
    assert c.status_code == 201, c.text
    r = client.post(f"/api/v1/claims/{c.json()['id']}/review", headers=s["guarantor"].headers)
    assert r.status_code == 200 and r.json()["eligible"] is True, r.text
    return dict(r.json())


def _step(client: Any, claim_id: int, key: str, step: str, who: Any, body: Any = None, code: int = 200) -> Any:
    r = client.post(f"/api/v1/claims/{claim_id}/shares/{key}/{step}", json=body, headers=who.headers)
    assert r.status_code == code, (key, step, r.text)
    return r.json()


def _shares(claim: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {p["party_key"]: (p["status"], p["payable_fen"]) for p in claim["parties"]}


def _pay(ref: str, on: date = TODAY) -> dict[str, str]:
    return {"paid_on": on.isoformat(), "reference": ref}


def test_four_parties_sign_and_pay_their_shares_separately(
    client: Any, scheme: dict[str, Any], make_user: Any, engine: Any, session: Any
) -> None:
    """Chongqing 4:2:2:2 on 4,000,000 CNY: re-guarantor 800,000, NFGF 800,000, the bank's own
    800,000 and the guarantee agency 1,600,000, each proposed, approved and paid by its own people.
    The bank's exposure falls by what it received from the other three (3,200,000 CNY)."""
    s = scheme
    lid = s["loan"]["id"]
    claim = _filed_and_reviewed(client, s)
    cid = claim["id"]
    assert _shares(claim) == {"guarantor": ("pending", 160_000_000), "reguarantor": ("pending", 80_000_000),
                              "nfgf": ("pending", 80_000_000), "bank": ("pending", 80_000_000)}
    with Session(engine) as db:
        assert db.get(Loan, lid).status == "in_claim"  # type: ignore[union-attr]  # moved on filing

    reg_checker, fund_maker = make_user(s["reguarantor"].org, "approver"), make_user(s["fund"].org, "officer")
    bank_checker = make_user(s["bank"].org, "approver")
    # the NFGF signs first …
    _step(client, cid, "nfgf", "propose", fund_maker)
    after_nfgf = _step(client, cid, "nfgf", "approve", s["fund"])
    assert after_nfgf["signed_on"] == TODAY.isoformat() and after_nfgf["status"] == "reviewed"
    # … and the re-guarantor's approval is not a 409 (it was, when one approval booked every share)
    _step(client, cid, "reguarantor", "propose", s["reguarantor"])
    _step(client, cid, "reguarantor", "approve", reg_checker)
    paid = _step(client, cid, "reguarantor", "pay", s["reguarantor"], _pay("CQZDB-2026-0001"))
    assert paid["status"] == "partially_paid"
    # every party sees the partial state
    for who in ("bank", "guarantor", "reguarantor", "fund"):
        seen = client.get(f"/api/v1/claims/{cid}", headers=s[who].headers).json()
        assert _shares(seen)["reguarantor"] == ("paid", 80_000_000)
        assert _shares(seen)["nfgf"] == ("approved", 80_000_000)
    reg = next(p for p in paid["parties"] if p["party_key"] == "reguarantor")
    assert (reg["paid_on"], reg["payment_reference"], reg["approved_by_user_id"]) == (
        TODAY.isoformat(), "CQZDB-2026-0001", reg_checker.id)
    _step(client, cid, "nfgf", "pay", fund_maker, _pay("NFGF-77"))
    _step(client, cid, "bank", "propose", s["bank"])
    _step(client, cid, "bank", "approve", bank_checker)
    _step(client, cid, "bank", "pay", s["bank"], _pay("OWN-LOSS"))
    _step(client, cid, "guarantor", "propose", s["guarantor"])
    _step(client, cid, "guarantor", "approve", s["guarantor_approver"])
    done = _step(client, cid, "guarantor", "pay", s["guarantor"], _pay("YXDB-DC-9"))
    assert done["status"] == "completed"
    assert {k: v[0] for k, v in _shares(done).items()} == dict.fromkeys(("guarantor", "reguarantor", "nfgf", "bank"),
                                                                        "paid")
    ledger = client.get("/api/v1/ledger", params={"claim_id": cid, "by_year": "false"},
                        headers=s["bank"].headers).json()["balances"]
    assert {b["party_key"]: b["paid_fen"] for b in ledger} == {
        "guarantor": 160_000_000, "reguarantor": 80_000_000, "nfgf": 80_000_000, "bank": 80_000_000}
    with Session(engine) as db:
        loan = db.get(Loan, lid)
        assert loan is not None and loan.status == "in_claim"  # no 'compensated' state in pledge.states
        assert loan.outstanding_fen == 500_000_000 - 320_000_000
    loan_events = [e.action for e in session.exec(
        select(AuditEvent).where(AuditEvent.entity == "loan", AuditEvent.entity_id == str(lid))
        .order_by(AuditEvent.id))]
    assert loan_events[-4:] == ["file_claim", "compensation_received", "compensation_received",
                                "compensation_received"]


def test_maker_checker_inside_a_party_and_only_its_own_share(
    client: Any, scheme: dict[str, Any], make_user: Any
) -> None:
    s = scheme
    cid = _filed_and_reviewed(client, s)["id"]
    _step(client, cid, "nfgf", "approve", s["fund"], code=409)  # not proposed yet
    _step(client, cid, "nfgf", "propose", s["fund"])
    _step(client, cid, "nfgf", "approve", s["fund"], code=409)  # the proposer cannot approve
    _step(client, cid, "nfgf", "approve", make_user(s["fund"].org, "officer"), code=403)  # not an approver
    _step(client, cid, "nfgf", "approve", make_user(s["reguarantor"].org, "approver"), code=403)  # other party
    _step(client, cid, "nfgf", "pay", s["fund"], _pay("X"), code=409)  # not approved
    _step(client, cid, "nfgf", "approve", make_user(s["fund"].org, "approver"))
    _step(client, cid, "nfgf", "pay", s["fund"], _pay("X", TODAY + timedelta(days=1)), code=422)
    bad = client.post(f"/api/v1/claims/{cid}/shares/nfgf/pay", json={"paid_on": TODAY.isoformat(), "reference": ""},
                      headers=s["fund"].headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "reference"
    # a signed claim is frozen: no re-review, no rejection of the whole claim
    assert client.post(f"/api/v1/claims/{cid}/review", headers=s["guarantor_approver"].headers).status_code == 409
    assert client.post(f"/api/v1/claims/{cid}/reject", headers=make_user(s["reguarantor"].org,
                                                                           "approver").headers).status_code == 409
    assert client.post(f"/api/v1/claims/{cid}/shares/nobody/propose", headers=s["fund"].headers).status_code == 404
    outsider = make_user("fund", "approver")
    assert client.post(f"/api/v1/claims/{cid}/shares/nfgf/propose", headers=outsider.headers).status_code == 404


def test_a_declined_share_closes_the_claim_and_gets_nothing_back(
    client: Any, scheme: dict[str, Any], make_user: Any, engine: Any
) -> None:
    """NFGF declines its 800,000 with a reason; the others pay: the claim is closed, the ledger
    holds 3,200,000 and a 1,000,000.00 recovery goes back 40:20:20 to the three payers only."""
    s = scheme
    cid = _filed_and_reviewed(client, s)["id"]
    r = client.post(f"/api/v1/claims/{cid}/shares/nfgf/decline", json={"reason": ""}, headers=s["fund"].headers)
    assert r.status_code == 422
    declined = _step(client, cid, "nfgf", "decline", s["fund"], {"reason": "outside the NFGF's 2026 quota"})
    assert _shares(declined)["nfgf"] == ("declined", 80_000_000) and declined["status"] == "partially_paid"
    assert next(p for p in declined["parties"] if p["party_key"] == "nfgf")["decline_reason"] == (
        "outside the NFGF's 2026 quota")
    early = client.post("/api/v1/recoveries", json={"claim_id": cid, "received_on": TODAY.isoformat(),
                                                     "gross_cny": "1.00"}, headers=s["bank"].headers)
    assert early.status_code == 409  # shares still open
    closed = sign_and_pay(client, make_user, engine, cid)
    assert closed["status"] == "closed"
    rec = client.post("/api/v1/recoveries", json={"claim_id": cid, "received_on": TODAY.isoformat(),
                                                   "gross_cny": "1000000.00"}, headers=s["bank"].headers)
    assert rec.status_code == 201, rec.text
    assert rec.json()["parts"] == {"guarantor": 50_000_000, "reguarantor": 25_000_000, "bank": 25_000_000}


def test_ledger_filters_by_claim(client: Any, scheme: dict[str, Any], make_user: Any, engine: Any) -> None:
    """Two paid claims in one family: ``?claim_id=`` gives one claim's lines only (it was ignored)."""
    s = scheme
    first = _filed_and_reviewed(client, s)["id"]
    sign_and_pay(client, make_user, engine, first)
    other = defaulted_loan(client, engine, s["bank"].headers, amount_cny="1000000.00",
                           guarantor_org_id=s["guarantor"].org.id, guarantee_fee_rate="0.012")
    second = _filed_and_reviewed(client, s, loan_id=other["id"], outstanding_principal_cny="1000000.00")["id"]
    sign_and_pay(client, make_user, engine, second)
    url, h = "/api/v1/ledger", s["bank"].headers
    one = client.get(url, params={"claim_id": second, "by_year": "false"}, headers=h).json()["balances"]
    assert {b["party_key"]: b["paid_fen"] for b in one} == {
        "guarantor": 40_000_000, "reguarantor": 20_000_000, "nfgf": 20_000_000, "bank": 20_000_000}
    both = client.get(url, params={"rule_id": s["rule"]["rule_id"], "by_year": "false"}, headers=h).json()["balances"]
    assert {b["party_key"]: b["paid_fen"] for b in both}["guarantor"] == 200_000_000


def test_a_retried_share_payment_with_the_same_key_books_once(
    client: Any, scheme: dict[str, Any], make_user: Any, engine: Any
) -> None:
    """Issue 10: a payout retried with the same ``Idempotency-Key`` answers as the first did and books
    one ledger line; the same key with another body is a 422 naming the header."""
    s = scheme
    cid = _filed_and_reviewed(client, s)["id"]
    checker = make_user(s["reguarantor"].org, "approver")
    _step(client, cid, "reguarantor", "propose", s["reguarantor"])
    _step(client, cid, "reguarantor", "approve", checker)
    url = f"/api/v1/claims/{cid}/shares/reguarantor/pay"
    headers = {**s["reguarantor"].headers, "Idempotency-Key": "pay-share-1"}
    first = client.post(url, json=_pay("CQZDB-1"), headers=headers)
    again = client.post(url, json=_pay("CQZDB-1"), headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    other = client.post(url, json=_pay("CQZDB-2"), headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.text
    ledger = client.get("/api/v1/ledger", params={"claim_id": cid, "by_year": "false"},
                        headers=s["reguarantor"].headers).json()["balances"]
    assert {b["party_key"]: b["paid_fen"] for b in ledger}["reguarantor"] == 80_000_000
