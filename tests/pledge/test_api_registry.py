"""Registry facts that change: PATCH an IP asset under optimistic locking; a transfer or licence of a
pledged patent without the pledgee's consent, a lapse or an invalidation raises an alert on every
loan it secures; a stored valuation's indicator score reaches the collateral valuation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from api.valuation.models import Valuation
from tests.factories import borrower_body, ip_asset_body
from tests.pledge.test_api_products import activate, bank_team, draft_loan

pytestmark = pytest.mark.db

TODAY = date.today()


def alerts(client: Any, actor: Any, lid: int) -> list[dict[str, Any]]:
    return list(client.get(f"/api/v1/alerts?loan_id={lid}", headers=actor.headers).json()["data"])


def test_transfer_of_a_pledged_patent_without_consent_alerts_the_loan(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    orig = TODAY - timedelta(days=20)
    loan = draft_loan(client, maker, orig)
    activate(client, maker, checker, loan["id"], orig)
    aid = loan["asset_id"]
    assert client.get(f"/api/v1/ip-assets/{aid}/registry", headers=maker.headers).json()["version"] == 1
    r = client.patch(f"/api/v1/ip-assets/{aid}", headers=maker.headers, json={
        "expected_version": 1, "transfer": {"on": TODAY.isoformat(), "assignee": "深圳某受让方有限公司"}})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["alerts_raised"] == [{"loan_id": loan["id"], "code": "pledged_ip_transferred",
                                          "severity": "critical"}]
    got = alerts(client, maker, loan["id"])
    assert [a["code"] for a in got] == ["pledged_ip_transferred"] and "民法典" in got[0]["message"]
    events = [e["action"] for e in client.get(f"/api/v1/loans/{loan['id']}/events", headers=maker.headers).json()]
    assert events[-1] == "registry_alert"
    facts = client.get(f"/api/v1/ip-assets/{aid}/pledge-facts", headers=maker.headers).json()
    assert facts["registered_owners"] == ["深圳某受让方有限公司"]


def test_a_stale_version_is_refused_and_consented_changes_do_not_alert(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    orig = TODAY - timedelta(days=20)
    loan = draft_loan(client, maker, orig)
    activate(client, maker, checker, loan["id"], orig)
    aid = loan["asset_id"]
    ok = client.patch(f"/api/v1/ip-assets/{aid}", headers=maker.headers, json={
        "expected_version": 1, "licence": {"on": TODAY.isoformat(), "licensee": "某被许可方", "pledgee_consent": True},
        "annual_fee_paid_until": (TODAY + timedelta(days=400)).isoformat()})
    assert ok.status_code == 200 and ok.json()["alerts_raised"] == []
    stale = client.patch(f"/api/v1/ip-assets/{aid}", headers=maker.headers, json={
        "expected_version": 1, "legal_status": "lapsed"})
    assert stale.status_code == 409
    reg = client.get(f"/api/v1/ip-assets/{aid}/registry", headers=maker.headers).json()
    assert reg["legal_status"] == "granted" and [e["kind"] for e in reg["events"]] == ["licence", "annual_fee"]
    lapsed = client.patch(f"/api/v1/ip-assets/{aid}", headers=maker.headers, json={
        "expected_version": 2, "legal_status": "lapsed"})
    assert lapsed.status_code == 200 and [a["code"] for a in lapsed.json()["alerts_raised"]] == ["ip_lapsed"]
    future = client.patch(f"/api/v1/ip-assets/{aid}", headers=maker.headers, json={
        "expected_version": 3, "transfer": {"on": (TODAY + timedelta(days=1)).isoformat(), "assignee": "x"}})
    assert future.status_code == 422 and "transfer.on" in future.text
    other = make_user("bank", "officer")
    assert client.patch(f"/api/v1/ip-assets/{aid}", headers=other.headers,
                        json={"expected_version": 3}).status_code == 404


def test_the_indicator_score_of_a_stored_valuation_is_carried_to_the_collateral(
    client: Any, make_user: Any, engine: Any
) -> None:
    """Defect (issue 11, item 6): the score was dropped, so max-loan then failed asking for one."""
    maker = make_user("bank", "officer")
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=maker.headers).json()
    asset = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"]), headers=maker.headers).json()
    with Session(engine) as s:
        v = Valuation(owner_org_id=maker.org.id, ip_asset_id=asset["id"], identifier=asset["identifier"],
                      ip_type="invention_patent", valuation_date=TODAY - timedelta(days=5), status="succeeded",
                      appraised_value_fen=1_000_000_000, mc_p5_fen=600_000_000, n_paths=1000, seed=1,
                      request={}, result={"score": {"total": 78.4}})
        s.add(v)
        s.commit()
        vid = v.id
    r = client.post(f"/api/v1/ip-assets/{asset['id']}/valuations", headers=maker.headers,
                    json={"source": "valuation", "valuation_id": vid})
    assert r.status_code == 201, r.text
    assert r.json()["score"] == "78.40"
    m = client.post("/api/v1/pledge/max-loan", json={"ip_asset_ids": [asset["id"]]}, headers=maker.headers)
    assert m.status_code == 200, m.text
    assert m.json()["max_loan_fen"] > 0 and m.json()["items"][0]["score"] == "78.40"
