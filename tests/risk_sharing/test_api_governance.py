"""Issue 10 (trust): a rule family has an owner; only its users change it, by maker-checker; new
versions never start in the past nor rewrite a period with claims; every change is audited; claim
parties are checked against the loan and only parties read a claim."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from api.audit.models import AuditEvent
from tests.risk_sharing.api_helpers import claim_body, preset_body

pytestmark = pytest.mark.db

TODAY = date.today()


def _events(session: Any, entity: str, entity_id: Any) -> list[tuple[str, int | None]]:
    rows = session.exec(
        select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    ).all()
    return [(e.action, e.actor_user_id) for e in rows]


@pytest.fixture
def owned(client: Any, make_user: Any) -> dict[str, Any]:
    """Chongqing 4:2:2:2 installed by the platform admin for a re-guarantor that administers it."""
    admin = make_user("admin", "approver")
    maker = make_user("reguarantor", "officer")
    checker = make_user(maker.org, "approver")
    r = client.post("/api/v1/risk-rules", json=preset_body("chongqing-4222"), headers=admin.headers,
                    params={"owner_org_id": maker.org.id})
    assert r.status_code == 201, r.text
    return {"admin": admin, "maker": maker, "checker": checker, "rule": r.json()}


def test_another_organisation_cannot_rewrite_a_scheme_or_its_rule(
    client: Any, owned: dict[str, Any], make_user: Any, session: Any
) -> None:
    """The issue's repro: an officer of the Guangzhou fund PUTs covered loans of chongqing-4222 and
    POSTs a version 2 with shares 10/10/10/70 — both refused (403), nothing written."""
    rule_id = owned["rule"]["rule_id"]
    guangzhou = make_user("fund", "officer")
    r = client.put(f"/api/v1/risk-schemes/{rule_id}", json={"covered_loans_cny": "1.00"}, headers=guangzhou.headers)
    assert r.status_code == 403, r.text
    v2 = preset_body("chongqing-4222", id=rule_id, version=2, effective_from=(TODAY + timedelta(days=30)).isoformat())
    for i, share in enumerate(("10", "10", "10", "70")):
        v2["parties"][i]["share"] = share
    r = client.post("/api/v1/risk-rules", json=v2, headers=guangzhou.headers)
    assert r.status_code == 403, r.text
    state = client.get(f"/api/v1/risk-schemes/{rule_id}", headers=guangzhou.headers).json()
    assert state["covered_loans_fen"] is None
    assert client.get("/api/v1/risk-rules", params={"rule_id": rule_id}, headers=guangzhou.headers).json()["count"] == 1
    # the platform admin installs; it does not edit a scheme it does not administer
    r = client.put(f"/api/v1/risk-schemes/{rule_id}", json={"covered_loans_cny": "1.00"},
                   headers=owned["admin"].headers)
    assert r.status_code == 403
    assert _events(session, "risk_scheme_state", rule_id) == []


def test_scheme_change_is_proposed_then_approved_by_a_second_user_of_the_owner(
    client: Any, owned: dict[str, Any], session: Any
) -> None:
    rule_id, maker, checker = owned["rule"]["rule_id"], owned["maker"], owned["checker"]
    p = client.put(f"/api/v1/risk-schemes/{rule_id}", json={"covered_loans_cny": "80000000.00"}, headers=maker.headers)
    assert p.status_code == 202, p.text
    assert (p.json()["status"], p.json()["kind"]) == ("proposed", "scheme_state")
    # not applied yet
    assert client.get(f"/api/v1/risk-schemes/{rule_id}", headers=maker.headers).json()["covered_loans_fen"] is None
    cid = p.json()["id"]
    own = client.post(f"/api/v1/risk-rule-changes/{cid}/approve", headers=maker.headers)
    assert own.status_code == 403  # the maker is an officer; an approver is needed
    same = client.post(f"/api/v1/risk-rule-changes/{cid}/approve", headers=checker.headers)
    assert same.status_code == 200, same.text
    assert same.json()["status"] == "approved" and same.json()["decided_by_user_id"] == checker.id
    state = client.get(f"/api/v1/risk-schemes/{rule_id}", headers=maker.headers).json()
    assert state["covered_loans_fen"] == 8_000_000_000
    again = client.post(f"/api/v1/risk-rule-changes/{cid}/approve", headers=checker.headers)
    assert again.status_code == 409
    assert _events(session, "risk_rule_change", cid) == [("propose", maker.id), ("approve", checker.id)]
    assert _events(session, "risk_scheme_state", rule_id) == [("update", checker.id)]


def test_the_proposer_cannot_approve_its_own_change(client: Any, owned: dict[str, Any], make_user: Any) -> None:
    rule_id, checker = owned["rule"]["rule_id"], owned["checker"]
    p = client.put(f"/api/v1/risk-schemes/{rule_id}", json={"covered_loans_cny": "5.00"}, headers=checker.headers)
    assert p.status_code == 202
    r = client.post(f"/api/v1/risk-rule-changes/{p.json()['id']}/approve", headers=checker.headers)
    assert r.status_code == 409 and "maker-checker" in r.text
    stranger = make_user("reguarantor", "approver")
    assert client.post(f"/api/v1/risk-rule-changes/{p.json()['id']}/approve",
                       headers=stranger.headers).status_code == 404
    rej = client.post(f"/api/v1/risk-rule-changes/{p.json()['id']}/reject", json={"note": "typo"},
                      headers=make_user(checker.org, "approver").headers)
    assert rej.status_code == 200 and rej.json()["status"] == "rejected"
    assert client.get(f"/api/v1/risk-schemes/{rule_id}", headers=checker.headers).json()["covered_loans_fen"] is None


def test_new_version_is_proposed_and_may_not_start_in_the_past(
    client: Any, owned: dict[str, Any], session: Any
) -> None:
    rule_id, maker, checker = owned["rule"]["rule_id"], owned["maker"], owned["checker"]
    past = preset_body("chongqing-4222", id=rule_id, version=2, effective_from=(TODAY - timedelta(days=1)).isoformat())
    r = client.post("/api/v1/risk-rules", json=past, headers=maker.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "definition", "effective_from"]
    start = TODAY + timedelta(days=10)
    v2 = preset_body("chongqing-4222", id=rule_id, version=2, effective_from=start.isoformat())
    p = client.post("/api/v1/risk-rules", json=v2, headers=maker.headers)
    assert p.status_code == 202, p.text
    assert client.get("/api/v1/risk-rules", params={"rule_id": rule_id}, headers=maker.headers).json()["count"] == 1
    a = client.post(f"/api/v1/risk-rule-changes/{p.json()['id']}/approve", headers=checker.headers)
    assert a.status_code == 200, a.text
    rows = client.get("/api/v1/risk-rules", params={"rule_id": rule_id}, headers=maker.headers).json()["data"]
    assert [(x["version"], x["effective_to"]) for x in rows] == [
        (1, (start - timedelta(days=1)).isoformat()), (2, None)]
    assert a.json()["rule_row_id"] == rows[1]["id"]
    assert [x[0] for x in _events(session, "risk_rule", rows[0]["id"])] == ["create", "close_version"]
    families = client.get("/api/v1/risk-rule-families", headers=maker.headers, params={"limit": 1000}).json()
    assert {f["rule_id"]: f["owner_org_id"] for f in families["data"]}[rule_id] == maker.org.id


def test_new_version_may_not_rewrite_a_period_with_claims(
    client: Any, owned: dict[str, Any], make_user: Any, engine: Any
) -> None:
    """A loan originated in the future window (tomorrow) already has a claim under v1: a version 2
    from today would re-price it — 409, at proposal and (if the claim came later) at approval."""
    from tests.risk_sharing.api_helpers import defaulted_loan

    rule_id, maker = owned["rule"]["rule_id"], owned["maker"]
    bank, guarantor = make_user("bank", "officer"), make_user("guarantor", "officer")
    fund = make_user("fund", "approver")
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    loan = defaulted_loan(client, engine, bank.headers, guarantor_org_id=guarantor.org.id,
                          guarantee_fee_rate="0.012", origination_date=tomorrow,
                          maturity_date=(TODAY + timedelta(days=400)).isoformat())
    s = {"rule": owned["rule"], "loan": loan, "reguarantor": maker, "fund": fund}
    c = client.post("/api/v1/claims", json=claim_body(s), headers=bank.headers)
    assert c.status_code == 201, c.text
    v2 = preset_body("chongqing-4222", id=rule_id, version=2, effective_from=TODAY.isoformat())
    r = client.post("/api/v1/risk-rules", json=v2, headers=maker.headers)
    assert r.status_code == 409 and "claims" in r.text


def test_presets_are_installed_by_the_platform_admin_only(client: Any, make_user: Any) -> None:
    fund = make_user("fund", "approver")
    assert client.post("/api/v1/risk-rules/presets/anhui-4321", headers=fund.headers).status_code == 403
    admin = make_user("admin", "approver")
    r = client.post("/api/v1/risk-rules/presets/anhui-4321", headers=admin.headers,
                    params={"owner_org_id": fund.org.id})
    assert r.status_code in (201, 409), r.text  # 409 if another test installed it in this database
    bureau = make_user("bureau", "viewer")
    r = client.post("/api/v1/risk-rules", json=preset_body("anhui-4321"), headers=admin.headers,
                    params={"owner_org_id": bureau.org.id})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "owner_org_id"


# ---------------------------------------------------------------- claim parties


def test_a_bank_that_is_not_the_lender_cannot_be_named_a_party(
    client: Any, scheme: dict[str, Any], make_user: Any
) -> None:
    """The issue's repro: as the guarantor, a claim on the loan (bank A) with party_orgs.bank = bank B
    was accepted, and bank B could then read the claim and its loan facts. Now 422, nothing filed."""
    s = scheme
    other_bank = make_user("bank", "officer")
    body = claim_body(s)
    body["party_orgs"]["bank"] = other_bank.org.id
    r = client.post("/api/v1/claims", json=body, headers=s["guarantor"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "party_orgs"], r.text
    assert "loan's bank" in r.text
    assert client.get("/api/v1/claims", headers=other_bank.headers).json()["count"] == 0
    assert client.get(f"/api/v1/loans/{s['loan']['id']}", headers=other_bank.headers).status_code == 404


def test_guarantor_party_must_be_the_loans_guarantor(client: Any, scheme: dict[str, Any], make_user: Any) -> None:
    s = scheme
    body = claim_body(s)
    body["party_orgs"]["guarantor"] = make_user("guarantor", "officer").org.id
    r = client.post("/api/v1/claims", json=body, headers=s["bank"].headers)
    assert r.status_code == 422 and "guarantee contract" in r.text


def test_only_parties_read_a_claim(client: Any, scheme: dict[str, Any], make_user: Any) -> None:
    s = scheme
    c = client.post("/api/v1/claims", json=claim_body(s), headers=s["bank"].headers).json()
    for who in ("bank", "guarantor", "reguarantor", "fund"):
        assert client.get(f"/api/v1/claims/{c['id']}", headers=s[who].headers).status_code == 200, who
    for kind in ("bank", "fund", "guarantor"):
        outsider = make_user(kind, "approver")
        assert client.get(f"/api/v1/claims/{c['id']}", headers=outsider.headers).status_code == 404
        led = client.get("/api/v1/ledger", params={"claim_id": c["id"]}, headers=outsider.headers)
        assert led.status_code == 404
