"""Risk-sharing API: rules and versions, simulate, claims with maker-checker and idempotency,
recoveries, ledger, tenancy, and caps enforced under concurrency."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from sqlmodel import select

from api.audit.models import AuditEvent
from tests.risk_sharing.api_helpers import DEFAULT, claim_body, defaulted_loan, preset_body, sign_and_pay

TODAY = date.today()


def file_review(client: Any, s: dict[str, Any], **kw: Any) -> dict[str, Any]:
    c = client.post("/api/v1/claims", json=claim_body(s, **kw), headers=s["bank"].headers)
    assert c.status_code == 201, c.text
    r = client.post(f"/api/v1/claims/{c.json()['id']}/review", headers=s["guarantor"].headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


# ---------------------------------------------------------------- rules


def test_simulate_splits_8m_and_3_fen_4_2_2_2_exactly(client: Any, scheme: dict[str, Any]) -> None:
    r = client.post(f"/api/v1/risk-rules/{scheme['rule']['id']}/simulate", json={"loss_cny": "8000000.03"},
                    headers=scheme["bank"].headers)
    assert r.status_code == 200, r.text
    assert [p["payable_fen"] for p in r.json()["parties"]] == [320_000_001, 160_000_001, 160_000_001, 160_000_000]
    assert r.json()["parties"][0]["payable_cny"] == "3200000.01"


def test_bad_rules_give_422_naming_the_field(client: Any, make_user: Any) -> None:
    admin = make_user("admin", "approver")
    bad = preset_body("anhui-4321")
    bad["parties"][0]["share"] = "41"
    r = client.post("/api/v1/risk-rules", json=bad, headers=admin.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "definition", "parties"]
    assert r.json()["detail"][0]["msg"] == "parties: shares must sum to exactly 100 (percent), got 101"
    negative = preset_body("anhui-4321")
    negative["parties"][0]["share"], negative["parties"][1]["share"] = "-10", "80"
    r = client.post("/api/v1/risk-rules", json=negative, headers=admin.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "definition", "parties", "0", "share"]
    assert "share must not be negative" in r.json()["detail"][0]["msg"]
    unknown = preset_body("anhui-4321")
    unknown["parties"][3]["role"] = "mayor"
    r = client.post("/api/v1/risk-rules", json=unknown, headers=admin.headers)
    assert r.status_code == 422 and "parties.3.role" in r.text


def test_only_fund_or_admin_staff_create_rules(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "approver")
    assert client.post("/api/v1/risk-rules", json=preset_body("anhui-4321"), headers=bank.headers).status_code == 403
    fund = make_user("fund", "officer")
    assert client.post("/api/v1/risk-rules", json=preset_body("anhui-4321"), headers=fund.headers).status_code == 201


def test_new_version_closes_the_old_one_and_old_loans_keep_it(
    client: Any, scheme: dict[str, Any], make_user: Any
) -> None:
    """Issue 10 changed this: a new version of an existing family is proposed (202) by its owner
    (here the platform admin's organisation, which installed it) and applied when a second user
    approves it; it starts today or later."""
    s = scheme
    start = TODAY + timedelta(days=30)
    v2 = preset_body("chongqing-4222", id=s["rule"]["rule_id"], version=2, effective_from=start.isoformat())
    v2["parties"][0]["share"], v2["parties"][2]["share"] = "30", "30"
    p = client.post("/api/v1/risk-rules", json=v2, headers=s["admin"].headers)
    assert p.status_code == 202, p.text
    r = client.post(f"/api/v1/risk-rule-changes/{p.json()['id']}/approve",
                    headers=make_user(s["admin"].org, "approver").headers)
    assert r.status_code == 200, r.text
    v1 = client.get(f"/api/v1/risk-rules/{s['rule']['id']}", headers=s["bank"].headers).json()
    assert v1["effective_to"] == (start - timedelta(days=1)).isoformat()
    # the loan was originated 2025-03-01: its claim uses version 1 (NFGF 20%)
    claim = file_review(client, s)
    assert claim["rule_version"] == 1
    assert {p["party_key"]: p["payable_fen"] for p in claim["parties"]}["nfgf"] == 80_000_000
    overlap = preset_body("chongqing-4222", id=s["rule"]["rule_id"], version=3,
                          effective_from=(TODAY + timedelta(days=10)).isoformat(),
                          effective_to=(TODAY + timedelta(days=60)).isoformat())
    r = client.post("/api/v1/risk-rules", json=overlap, headers=s["admin"].headers)
    assert r.status_code == 409 and "overlap" in r.text


def test_installing_a_shipped_preset(client: Any, make_user: Any) -> None:
    admin = make_user("admin", "approver")
    r = client.post("/api/v1/risk-rules/presets/zhongshan-54-26-16-4", headers=admin.headers)
    assert r.status_code == 201, r.text
    assert r.json()["rule_id"] == "zhongshan-54-26-16-4"
    assert "zhongshan-54-26-16-4" in client.get("/api/v1/risk-rules/presets", headers=admin.headers).json()
    assert client.post("/api/v1/risk-rules/presets/atlantis", headers=admin.headers).status_code == 404


# ---------------------------------------------------------------- claims


def test_claim_review_approve_books_exact_payouts_per_party(
    client: Any, scheme: dict[str, Any], session: Any, make_user: Any
) -> None:
    """Issue 12 changed this: each party signs and pays its own share (was: one approval booked all)."""
    s = scheme
    claim = file_review(client, s)
    assert claim["status"] == "reviewed" and claim["eligible"] is True, claim["review"]["reasons"]
    parties = {p["party_key"]: p for p in claim["parties"]}
    assert {k: p["payable_fen"] for k, p in parties.items()} == {
        "guarantor": 160_000_000, "reguarantor": 80_000_000, "nfgf": 80_000_000, "bank": 80_000_000}
    assert parties["nfgf"]["org_id"] == s["fund"].org.id and parties["bank"]["org_id"] == s["bank"].org.id
    done = sign_and_pay(client, make_user, s["engine"], claim["id"])
    assert done["status"] == "completed"
    ledger = client.get("/api/v1/ledger", params={"rule_id": s["rule"]["rule_id"]}, headers=s["fund"].headers).json()
    paid = {b["party_key"]: b["paid_fen"] for b in ledger["balances"]}
    assert paid == {"guarantor": 160_000_000, "reguarantor": 80_000_000, "nfgf": 80_000_000, "bank": 80_000_000}
    actions = [e.action for e in session.exec(select(AuditEvent).where(
        AuditEvent.entity == "risk_claim", AuditEvent.entity_id == str(claim["id"])).order_by(AuditEvent.id))]
    assert actions == ["file", "review", "sign", "partially_paid", "completed"]


def test_ineligible_claim_lists_every_reason_and_cannot_be_approved(
    client: Any, scheme: dict[str, Any], make_user: Any
) -> None:
    s = scheme
    big = defaulted_loan(client, s["engine"], s["bank"].headers, amount_cny="10000000.01",
                         guarantor_org_id=s["guarantor"].org.id, guarantee_fee_rate="0.0151")
    claim = file_review(client, s, loan_id=big["id"], outstanding_principal_cny="9000000.00")
    assert claim["eligible"] is False
    failed = {c["name"] for c in claim["review"]["checks"] if not c["passed"]}
    assert failed == {"borrower_loan_cap", "guarantee_fee_cap"}
    r = client.post(f"/api/v1/claims/{claim['id']}/shares/nfgf/propose", headers=s["fund"].headers)
    assert r.status_code == 409 and "borrower_loan_cap" in r.text and "guarantee_fee_cap" in r.text


def test_late_and_duplicate_claims_are_flagged(client: Any, scheme: dict[str, Any]) -> None:
    s = scheme
    old_default = (TODAY - timedelta(days=500)).isoformat()  # trigger +90 d, deadline +365 d: 45 days ago
    old = defaulted_loan(client, s["engine"], s["bank"].headers, default_date=old_default,
                         guarantor_org_id=s["guarantor"].org.id, guarantee_fee_rate="0.012")
    late = file_review(client, s, loan_id=old["id"], default_date=old_default)
    assert [c["name"] for c in late["review"]["checks"] if not c["passed"]] == ["claim_deadline"]
    first = file_review(client, s)
    assert first["eligible"] is True
    dup = file_review(client, s)
    assert [c["name"] for c in dup["review"]["checks"] if not c["passed"]] == ["duplicate_claim"]
    # the earlier claim is not made a duplicate by the later one
    again = client.post(f"/api/v1/claims/{first['id']}/review", headers=s["guarantor"].headers).json()
    assert again["eligible"] is True, again["review"]["reasons"]


def test_maker_checker_and_roles(client: Any, scheme: dict[str, Any], make_user: Any) -> None:
    """Issue 12 changed the approval step: shares are approved per party (see test_api_shares)."""
    s = scheme
    c = client.post("/api/v1/claims", json=claim_body(s), headers=s["bank"].headers).json()
    bank_approver = make_user(s["bank"].org, "approver")
    assert client.post(f"/api/v1/claims/{c['id']}/review", headers=bank_approver.headers).status_code == 403
    not_reviewed = client.post(f"/api/v1/claims/{c['id']}/shares/nfgf/propose", headers=s["fund"].headers)
    assert not_reviewed.status_code == 409
    # the filing user cannot review
    assert client.post(f"/api/v1/claims/{c['id']}/review", headers=s["bank"].headers).status_code == 403
    assert client.post(f"/api/v1/claims/{c['id']}/review", headers=s["guarantor_approver"].headers).status_code == 200
    rej = client.post(f"/api/v1/claims/{c['id']}/reject", json={"note": "documents incomplete"},
                      headers=s["fund"].headers)
    assert rej.status_code == 200 and rej.json()["status"] == "rejected"
    assert {p["status"] for p in rej.json()["parties"]} == {"declined"}
    assert client.post(f"/api/v1/claims/{c['id']}/shares/nfgf/propose", headers=s["fund"].headers).status_code == 409


def test_same_idempotency_key_files_one_claim(client: Any, scheme: dict[str, Any]) -> None:
    s = scheme
    headers = {**s["bank"].headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = client.post("/api/v1/claims", json=claim_body(s), headers=headers)
    again = client.post("/api/v1/claims", json=claim_body(s), headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    other = client.post("/api/v1/claims", json=claim_body(s, outstanding_principal_cny="1.00"), headers=headers)
    assert other.status_code == 409
    listed = client.get("/api/v1/claims", params={"rule_id": s["rule"]["rule_id"]}, headers=s["bank"].headers)
    assert listed.json()["count"] == 1


def test_concurrent_same_key_submissions_create_one_claim(client: Any, scheme: dict[str, Any]) -> None:
    s = scheme
    headers = {**s["bank"].headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: client.post("/api/v1/claims", json=claim_body(s), headers=headers),
                                range(4)))
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in results}) == 1


def test_bad_claim_input_gives_422_naming_the_field(client: Any, scheme: dict[str, Any], make_user: Any) -> None:
    s = scheme
    r = client.post("/api/v1/claims", json=claim_body(s, outstanding_principal_cny="-1"), headers=s["bank"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "outstanding_principal_cny"
    r = client.post("/api/v1/claims", json=claim_body(s, party_orgs={"nfgf": s["bank"].org.id}),
                    headers=s["bank"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "party_orgs"]
    r = client.post("/api/v1/claims", json=claim_body(s, rule_id="no-such-rule"), headers=s["bank"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "rule_id"]
    other_bank = make_user("bank", "officer")
    assert client.post("/api/v1/claims", json=claim_body(s), headers=other_bank.headers).status_code == 404


def test_each_party_sees_the_claims_it_pays_into(client: Any, scheme: dict[str, Any], make_user: Any) -> None:
    s = scheme
    claim = file_review(client, s)
    for who in ("bank", "guarantor", "reguarantor", "fund"):
        assert client.get(f"/api/v1/claims/{claim['id']}", headers=s[who].headers).status_code == 200, who
    stranger = make_user("reguarantor", "officer")
    assert client.get(f"/api/v1/claims/{claim['id']}", headers=stranger.headers).status_code == 404
    assert client.get("/api/v1/claims", headers=stranger.headers).json()["count"] == 0
    # the re-guarantor now sees the loan it pays into; another re-guarantor does not
    assert client.get(f"/api/v1/loans/{s['loan']['id']}", headers=s["reguarantor"].headers).status_code == 200
    assert client.get(f"/api/v1/loans/{s['loan']['id']}", headers=stranger.headers).status_code == 404


def test_claim_on_an_external_loan(client: Any, scheme: dict[str, Any]) -> None:
    s = scheme
    body = claim_body(s, loan_id=None, external_loan={
        "reference": f"EXT-{uuid.uuid4().hex[:6]}", "borrower_ref": "91500000EXAMPLE", "lender_ref": "CQRCB",
        "origination_date": "2024-06-01", "principal_cny": "2000000.00", "guarantee_fee_rate": "0.01",
        "guaranteed": True}, outstanding_principal_cny="1000000.01")
    body["party_orgs"]["bank"] = s["bank"].org.id
    c = client.post("/api/v1/claims", json=body, headers=s["guarantor"].headers)
    assert c.status_code == 201, c.text
    r = client.post(f"/api/v1/claims/{c.json()['id']}/review", headers=s["guarantor_approver"].headers)
    assert r.json()["eligible"] is True, r.json()["review"]["reasons"]
    # 100,000,001 fen → 40,000,000.4 / 20,000,000.2 ×3 → +1 fen to the guarantor
    assert [p["payable_fen"] for p in r.json()["parties"]] == [40_000_001, 20_000_000, 20_000_000, 20_000_000]


# ---------------------------------------------------------------- recoveries


def test_recovery_is_shared_back_4_2_2_2_and_never_above_what_was_paid(
    client: Any, scheme: dict[str, Any], make_user: Any
) -> None:
    s = scheme
    claim = file_review(client, s)
    assert sign_and_pay(client, make_user, s["engine"], claim["id"])["status"] == "completed"
    r = client.post("/api/v1/recoveries", json={"claim_id": claim["id"], "received_on": TODAY.isoformat(),
                                                 "gross_cny": "1000000.01", "disposal_costs_cny": "0.01",
                                                 "method": "auction"}, headers=s["bank"].headers)
    assert r.status_code == 201, r.text
    assert r.json()["parts"] == {"guarantor": 40_000_000, "reguarantor": 20_000_000, "nfgf": 20_000_000,
                                 "bank": 20_000_000}
    big = client.post("/api/v1/recoveries", json={"claim_id": claim["id"], "received_on": TODAY.isoformat(),
                                                   "gross_cny": "9000000.00"}, headers=s["guarantor"].headers)
    assert big.status_code == 201
    assert big.json()["surplus_fen"] == 900_000_000 - 300_000_000
    ledger = client.get("/api/v1/ledger", params={"rule_id": s["rule"]["rule_id"], "by_year": "false"},
                        headers=s["admin"].headers).json()["balances"]
    assert all(b["recovered_fen"] == b["paid_fen"] and b["net_fen"] == 0 for b in ledger)
    listed = client.get("/api/v1/recoveries", params={"claim_id": claim["id"]}, headers=s["fund"].headers).json()
    assert listed["count"] == 2


def test_a_recovery_retried_with_the_same_key_is_shared_back_once(
    client: Any, scheme: dict[str, Any], make_user: Any
) -> None:
    """Issue 10: recoveries move money back to the payers; a retry with the same Idempotency-Key
    replays the first answer instead of sharing the same proceeds back twice."""
    s = scheme
    claim = file_review(client, s)
    sign_and_pay(client, make_user, s["engine"], claim["id"])
    body = {"claim_id": claim["id"], "received_on": TODAY.isoformat(), "gross_cny": "100000.00", "method": "auction"}
    headers = {**s["bank"].headers, "Idempotency-Key": "recovery-1"}
    first = client.post("/api/v1/recoveries", json=body, headers=headers)
    again = client.post("/api/v1/recoveries", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    listed = client.get("/api/v1/recoveries", params={"claim_id": claim["id"]}, headers=s["fund"].headers).json()
    assert listed["count"] == 1


def test_recovery_needs_an_approved_claim(client: Any, scheme: dict[str, Any]) -> None:
    s = scheme
    claim = file_review(client, s)
    r = client.post("/api/v1/recoveries", json={"claim_id": claim["id"], "received_on": TODAY.isoformat(),
                                                 "gross_cny": "10.00"}, headers=s["bank"].headers)
    assert r.status_code == 409


# ---------------------------------------------------------------- caps under concurrency


def test_parallel_approvals_never_exceed_the_fund_budget(client: Any, make_user: Any, engine: Any) -> None:
    """Guangzhou-style fund 50% with a 25,000 CNY annual budget; 6 claims of 20,000 CNY (fund 10,000 each)
    whose fund shares are approved in parallel: the fund signs for exactly 25,000 in total, never more
    (the third claim is signed at 5,000, the bank as residual bearer keeps the rest), and pays it.
    Issue 12 changed the step: the fund's share is proposed by its maker, then approved per claim."""
    admin = make_user("admin", "approver")
    body = preset_body("guangzhou-fund-2023")
    body["caps"]["party_year_cny"] = {"fund": "25000.00"}
    rule = client.post("/api/v1/risk-rules", json=body, headers=admin.headers).json()
    bank = make_user("bank", "officer")
    fund_officer = make_user("fund", "officer")
    fund_approvers = [make_user(fund_officer.org, "approver") for _ in range(6)]
    ids = []
    for _ in range(6):
        loan = defaulted_loan(client, engine, bank.headers, amount_cny="20000.00")
        c = client.post("/api/v1/claims", json={
            "rule_id": rule["rule_id"], "loan_id": loan["id"], "default_date": DEFAULT, "npl_class": "loss",
            "outstanding_principal_cny": "20000.00", "party_orgs": {"fund": fund_officer.org.id}},
            headers=bank.headers)
        assert c.status_code == 201, c.text
        rv = client.post(f"/api/v1/claims/{c.json()['id']}/review", headers=fund_officer.headers)
        assert rv.json()["eligible"] is True, rv.json()["review"]["reasons"]
        r = client.post(f"/api/v1/claims/{c.json()['id']}/shares/fund/propose", headers=fund_officer.headers)
        assert r.status_code == 200, r.text
        ids.append(c.json()["id"])
    jobs = list(zip(ids, fund_approvers, strict=True))
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(
            lambda p: client.post(f"/api/v1/claims/{p[0]}/shares/fund/approve", headers=p[1].headers), jobs))
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 3 and codes.count(409) == 3, [r.text for r in results]
    state = client.get(f"/api/v1/risk-schemes/{rule['rule_id']}", headers=admin.headers).json()
    assert state["headroom_fen"]["party_year[fund]"] == 0  # reserved by the signatures, before any payment
    signed = [r.json() for r in results if r.status_code == 200]
    assert sorted(next(p["payable_fen"] for p in c["parties"] if p["party_key"] == "fund") for c in signed) == [
        500_000, 1_000_000, 1_000_000]
    for c in signed:
        r = client.post(f"/api/v1/claims/{c['id']}/shares/fund/pay", headers=fund_officer.headers,
                        json={"paid_on": TODAY.isoformat(), "reference": f"GZ-{c['id']}"})
        assert r.status_code == 200, r.text
    ledger = client.get("/api/v1/ledger", params={"rule_id": rule["rule_id"]}, headers=admin.headers).json()
    fund_paid = sum(b["paid_fen"] for b in ledger["balances"] if b["party_key"] == "fund")
    assert fund_paid == 2_500_000  # 10,000 + 10,000 + 5,000 CNY
    state = client.get(f"/api/v1/risk-schemes/{rule['rule_id']}", headers=admin.headers).json()
    assert state["headroom_fen"]["party_year[fund]"] == 0
