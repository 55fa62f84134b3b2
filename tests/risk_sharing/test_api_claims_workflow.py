"""Claims tied to the pledge workflow: only defaulted loans, the loan's own default date and
outstanding principal, every paying organisation named, recoveries from recorded disposals,
loans covered derived from the loan table, and amounts too large for a money column refused."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.pledge.models import Loan
from api.risk_sharing.models import RiskClaim
from tests.factories import borrower_body, create_loan_via_api, ip_asset_body, loan_body
from tests.risk_sharing.api_helpers import DEFAULT, claim_body, defaulted_loan, preset_body, sign_and_pay

TODAY = date.today()


def _claim_count(engine: Any, loan_id: int) -> int:
    with Session(engine) as s:
        return len(s.exec(select(RiskClaim).where(RiskClaim.loan_id == loan_id)).all())


def test_claim_on_a_loan_that_is_not_in_default_is_409_and_writes_nothing(
    client: Any, scheme: dict[str, Any], engine: Any, session: Any
) -> None:
    s = scheme
    for status in ("draft", "active"):
        loan = defaulted_loan(
            client,
            engine,
            s["bank"].headers,
            status=status,
            guarantor_org_id=s["guarantor"].org.id,
            guarantee_fee_rate="0.012",
        )
        r = client.post("/api/v1/claims", json=claim_body(s, loan_id=loan["id"]), headers=s["bank"].headers)
        assert r.status_code == 409, r.text
        assert f"is {status}" in r.text and "default, in_claim, in_disposal" in r.text
        assert _claim_count(engine, loan["id"]) == 0
    assert (
        session.exec(
            select(AuditEvent).where(AuditEvent.entity == "risk_claim", AuditEvent.actor_user_id == s["bank"].id)
        ).all()
        == []
    )


def test_claim_takes_the_loans_default_date_and_outstanding_and_refuses_to_move_them(
    client: Any, scheme: dict[str, Any]
) -> None:
    s = scheme
    body = claim_body(s)
    del body["default_date"], body["outstanding_principal_cny"]
    c = client.post("/api/v1/claims", json=body, headers=s["bank"].headers)
    assert c.status_code == 201, c.text
    assert c.json()["default_date"] == DEFAULT
    assert c.json()["outstanding_principal_fen"] == 500_000_000  # the loan's 5,000,000.00 CNY outstanding
    later = (date.fromisoformat(DEFAULT) + timedelta(days=30)).isoformat()  # would push the deadline out
    r = client.post("/api/v1/claims", json=claim_body(s, default_date=later), headers=s["bank"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "default_date"]
    assert f"declared in default on {DEFAULT}" in r.json()["detail"][0]["msg"]
    r = client.post(
        "/api/v1/claims", json=claim_body(s, outstanding_principal_cny="5000000.01"), headers=s["bank"].headers
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "outstanding_principal_cny"]
    listed = client.get("/api/v1/claims", params={"loan_id": s["loan"]["id"]}, headers=s["guarantor"].headers)
    assert [x["id"] for x in listed.json()["data"]] == [c.json()["id"]]


def test_external_claim_needs_its_default_date_and_principal(client: Any, scheme: dict[str, Any]) -> None:
    s = scheme
    body = claim_body(
        s,
        loan_id=None,
        external_loan={
            "reference": f"EXT-{uuid.uuid4().hex[:6]}",
            "borrower_ref": "B",
            "origination_date": "2024-06-01",
            "principal_cny": "2000000.00",
            "guarantee_fee_rate": "0.01",
            "guaranteed": True,
        },
    )
    del body["default_date"]
    r = client.post("/api/v1/claims", json=body, headers=s["guarantor"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "default_date"]


def test_every_paying_party_must_be_named(client: Any, scheme: dict[str, Any]) -> None:
    """Without the NFGF's organisation nobody at the NFGF could see, review or approve the claim."""
    s = scheme
    r = client.post(
        "/api/v1/claims",
        json=claim_body(s, party_orgs={"reguarantor": s["reguarantor"].org.id}),
        headers=s["bank"].headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "party_orgs"]
    assert "nfgf" in r.json()["detail"][0]["msg"]
    assert _claim_count(s["engine"], s["loan"]["id"]) == 0


def test_amounts_beyond_a_trillion_cny_are_422_not_500(client: Any, scheme: dict[str, Any]) -> None:
    s = scheme
    r = client.post("/api/v1/claims", json=claim_body(s, outstanding_principal_cny="1e30"), headers=s["bank"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "outstanding_principal_cny"
    r = client.post(
        f"/api/v1/risk-rules/{s['rule']['id']}/simulate", json={"loss_cny": "1e30"}, headers=s["bank"].headers
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "loss_cny"
    r = client.put(
        f"/api/v1/risk-schemes/{s['rule']['rule_id']}", json={"covered_loans_cny": "1e30"}, headers=s["fund"].headers
    )
    assert r.status_code == 422
    r = client.post("/api/v1/claims", json=claim_body(s, documents=["x" * 201]), headers=s["bank"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "documents"]


def test_fund_balance_only_for_balance_limited_parties(client: Any, scheme: dict[str, Any]) -> None:
    """Proposed by the family's owner (issue 10: only it may propose scheme changes)."""
    s = scheme
    r = client.put(
        f"/api/v1/risk-schemes/{s['rule']['rule_id']}",
        json={"party_balance_cny": {"nobody": "5"}},
        headers=s["admin"].headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "party_balance_cny"]


# ---------------------------------------------------------------- loans covered from the loan table


def _apply(client: Any, url: str, body: dict[str, Any], maker: Any, checker: Any) -> Any:
    """Propose a scheme change and approve it; the scheme state as then read."""
    p = client.put(url, json=body, headers=maker.headers)
    assert p.status_code == 202, p.text
    a = client.post(f"/api/v1/risk-rule-changes/{p.json()['id']}/approve", headers=checker.headers)
    assert a.status_code == 200, a.text
    return client.get(url, headers=maker.headers)


def test_loans_covered_come_from_the_loan_table_and_bind_the_payout_rate_ceiling(
    client: Any, make_user: Any, engine: Any
) -> None:
    """Tech-SME tier 1 (DESIGN §3, payout-rate ceiling 5%), in force on one day only (2019-07-13).

    Covered from the book: the defaulted 1,000,000 claim loan + an active guaranteed 500,000 loan
    (a draft loan and an unguaranteed loan do not count) = 1,500,000; + 500,000 typed in for loans
    outside ipfin = 2,000,000 CNY. Ceiling 5% → 100,000 CNY of compensation, split re-guarantor 20 :
    NFGF 40 → 33,333.33 / 66,666.67 (largest remainder); bank keeps its 20% = 200,000; the guarantor
    bears 1,000,000 − 100,000 − 200,000 = 700,000.
    """
    admin = make_user("admin", "approver")
    body = preset_body("tech-sme-2024-tier1", effective_from="2019-07-13", effective_to="2019-07-13")
    rule = client.post("/api/v1/risk-rules", json=body, headers=admin.headers).json()
    bank, guarantor = make_user("bank", "officer"), make_user("guarantor", "officer")
    reguarantor, fund = make_user("reguarantor", "officer"), make_user("fund", "approver")
    kw = {"origination_date": "2019-07-13", "guarantor_org_id": guarantor.org.id}
    claim_loan = defaulted_loan(client, engine, bank.headers, amount_cny="1000000.00", **kw)
    defaulted_loan(client, engine, bank.headers, amount_cny="500000.00", status="active", **kw)
    create_loan_via_api(client, bank.headers, amount_cny="700000.00", **kw)  # draft: not lent
    defaulted_loan(
        client, engine, bank.headers, amount_cny="900000.00", status="active", origination_date="2019-07-13"
    )  # not guaranteed
    url = f"/api/v1/risk-schemes/{rule['rule_id']}"
    checker = make_user(admin.org, "approver")  # issue 10: proposed by the owner's maker, approved by a second user
    r = _apply(client, url, {"covered_loans_from_book": True, "covered_loans_cny": "500000.00"}, admin, checker)
    assert (r.json()["covered_loans_book_fen"], r.json()["covered_loans_total_fen"]) == (150_000_000, 200_000_000)
    assert r.json()["headroom_fen"]["payout_rate_ceiling"] == 10_000_000
    c = client.post(
        "/api/v1/claims",
        headers=bank.headers,
        json={
            "rule_id": rule["rule_id"],
            "loan_id": claim_loan["id"],
            "firm_tier": "tier_1",
            "party_orgs": {"reguarantor": reguarantor.org.id, "nfgf": fund.org.id},
        },
    )
    assert c.status_code == 201, c.text
    rv = client.post(f"/api/v1/claims/{c.json()['id']}/review", headers=reguarantor.headers).json()
    assert rv["eligible"] is True, rv["review"]["reasons"]
    assert {p["party_key"]: p["payable_fen"] for p in rv["parties"]} == {
        "guarantor": 70_000_000,
        "reguarantor": 3_333_333,
        "nfgf": 6_666_667,
        "bank": 20_000_000,
    }
    assert rv["review"]["caps_applied"][0]["cap"] == "payout_rate_ceiling"
    # switched off, the typed-in figure alone applies
    off = _apply(client, url, {"covered_loans_from_book": False}, admin, checker).json()
    assert (off["covered_loans_book_fen"], off["covered_loans_total_fen"]) == (None, 50_000_000)


# ---------------------------------------------------------------- end to end with the pledge workflow


def _move(client: Any, actor: Any, loan_id: int, action: str, on: str, **kw: Any) -> None:
    r = client.post(
        f"/api/v1/loans/{loan_id}/transitions", json={"action": action, "on": on, **kw}, headers=actor.headers
    )
    assert r.status_code == 200, (action, r.text)


def _approved_claim_on_a_defaulted_pledge_loan(
    client: Any, make_user: Any, engine: Any, **claim_kw: Any
) -> dict[str, Any]:
    """A 5,000,000 CNY pledge loan under 4:2:2:2 driven through the workflow to default, its claim
    filed, reviewed, and every share signed and paid; returns the actors, ids and dates the tests need."""
    admin = make_user("admin", "approver")
    rule = client.post("/api/v1/risk-rules", json=preset_body("chongqing-4222"), headers=admin.headers).json()
    maker = make_user("bank", "officer")
    checker = make_user(maker.org, "approver")
    guarantor, reguarantor, fund = (
        make_user("guarantor", "officer"),
        make_user("reguarantor", "officer"),
        make_user("fund", "approver"),
    )
    orig = TODAY - timedelta(days=300)
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=maker.headers).json()
    a = client.post(
        "/api/v1/ip-assets", json=ip_asset_body(b["id"], annual_fee_paid_until="2040-12-31"), headers=maker.headers
    ).json()
    assert (
        client.put(
            f"/api/v1/ip-assets/{a['id']}/pledge-facts", json={"expiry_date": "2041-04-01"}, headers=maker.headers
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/ip-assets/{a['id']}/valuations",
            headers=maker.headers,
            json={
                "value_cny": "12000000.00",
                "p5_cny": "7000000.00",
                "score": "82",
                "valuation_date": (orig - timedelta(days=30)).isoformat(),
                "source": "appraiser",
                "report_reference": "渝评报字[2025]第0815号",
            },
        ).status_code
        == 201
    )
    loan = client.post(
        "/api/v1/loans",
        headers=maker.headers,
        json=loan_body(
            b["id"],
            [a["id"]],
            origination_date=orig.isoformat(),
            maturity_date=(orig + timedelta(days=365)).isoformat(),
            guarantor_org_id=guarantor.org.id,
            guarantee_fee_rate="0.012",
        ),
    )
    assert loan.status_code == 201, loan.text
    lid, day0 = loan.json()["id"], orig.isoformat()
    for action, actor, kw in [
        ("submit", maker, {}),
        ("start_review", checker, {}),
        ("approve", checker, {}),
        ("register_pledge", maker, {"pledge_registration_number": "Y2025500000123"}),
        ("disburse", checker, {}),
    ]:
        _move(client, actor, lid, action, day0, **kw)
    first_due = client.get(f"/api/v1/loans/{lid}/schedule", headers=maker.headers).json()["data"][0]["due_date"]
    default_day = (date.fromisoformat(first_due) + timedelta(days=100)).isoformat()
    run = client.post("/api/v1/pledge/monitoring/run", json={"as_of": default_day}, headers=maker.headers)
    assert run.status_code == 200 and lid in run.json()["moved_to_overdue"], run.text
    before = client.post(
        "/api/v1/claims",
        headers=maker.headers,
        json={
            "rule_id": rule["rule_id"],
            "loan_id": lid,
            "party_orgs": {"reguarantor": reguarantor.org.id, "nfgf": fund.org.id},
        },
    )
    assert before.status_code == 409  # overdue is not default yet
    _move(client, checker, lid, "declare_default", default_day)
    c = client.post(
        "/api/v1/claims",
        headers=maker.headers,
        json={
            "rule_id": rule["rule_id"],
            "loan_id": lid,
            "documents": ["loan_contract"],
            "party_orgs": {"reguarantor": reguarantor.org.id, "nfgf": fund.org.id},
            **claim_kw,
        },
    )
    assert c.status_code == 201, c.text
    assert (c.json()["default_date"], c.json()["outstanding_principal_fen"]) == (default_day, 500_000_000)
    cid = c.json()["id"]
    # issue 12: filing the claim made the workflow move default → in_claim (on the filing day)
    assert client.get(f"/api/v1/loans/{lid}", headers=maker.headers).json()["status"] == "in_claim"
    rv = client.post(f"/api/v1/claims/{cid}/review", headers=guarantor.headers).json()
    assert rv["eligible"] is True, rv["review"]["reasons"]
    assert sign_and_pay(client, make_user, engine, cid)["status"] == "completed"
    return {
        "rule": rule,
        "maker": maker,
        "fund": fund,
        "reguarantor": reguarantor,
        "lid": lid,
        "cid": cid,
        "asset_id": a["id"],
        "default_day": default_day,
        "claim": c.json(),
    }


def test_claim_on_a_loan_defaulted_through_the_pledge_workflow_and_recovery_from_its_disposal(
    client: Any, make_user: Any, session: Any, engine: Any
) -> None:
    """Pledge loan of 5,000,000 CNY (4:2:2:2, seed 002) → overdue → default → claim → approve →
    disposal (auction 3,000,000, costs 100,000) → recovery shared back 40:20:20:20 of the 2,900,000 net:
    1,160,000 / 580,000 / 580,000 / 580,000 CNY, each below what it paid (2,000,000 / 1,000,000 ×3)."""
    w = _approved_claim_on_a_defaulted_pledge_loan(client, make_user, engine)
    rule, maker, fund, lid, cid, default_day = (w[k] for k in ("rule", "maker", "fund", "lid", "cid", "default_day"))
    a, reguarantor = {"id": w["asset_id"]}, w["reguarantor"]
    _move(client, maker, lid, "start_disposal", TODAY.isoformat())  # after the claim's move (filed today)
    today = TODAY.isoformat()
    d = client.post(
        f"/api/v1/loans/{lid}/disposals",
        headers=maker.headers,
        json={
            "method": "auction",
            "ip_asset_ids": [a["id"]],
            "started_on": default_day,
            "completed_on": today,
            "proceeds": [{"on": today, "amount_cny": "3000000.00", "description": "拍卖成交"}],
            "costs": [{"on": today, "amount_cny": "100000.00", "description": "拍卖佣金"}],
        },
    )
    assert d.status_code == 201, d.text
    disposal_id = d.json()["disposals"][0]["id"]
    r = client.post("/api/v1/recoveries", json={"claim_id": cid, "disposal_id": disposal_id}, headers=maker.headers)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert (rec["gross_fen"], rec["disposal_costs_fen"], rec["net_fen"]) == (300_000_000, 10_000_000, 290_000_000)
    assert rec["parts"] == {"guarantor": 116_000_000, "reguarantor": 58_000_000, "nfgf": 58_000_000, "bank": 58_000_000}
    assert (rec["disposal_id"], rec["method"], rec["received_on"]) == (disposal_id, "auction", today)
    audit = session.exec(
        select(AuditEvent).where(AuditEvent.entity == "risk_recovery", AuditEvent.entity_id == str(rec["id"]))
    ).all()
    assert [(e.action, e.actor_user_id) for e in audit] == [("create", maker.id)]
    again = client.post("/api/v1/recoveries", json={"claim_id": cid, "disposal_id": disposal_id}, headers=maker.headers)
    assert again.status_code == 409 and "already shared back" in again.text
    both = client.post(
        "/api/v1/recoveries",
        json={"claim_id": cid, "disposal_id": disposal_id, "gross_cny": "1"},
        headers=maker.headers,
    )
    assert both.status_code == 422 and both.json()["detail"][0]["loc"] == ["body", "gross_cny"]
    ledger = client.get(
        "/api/v1/ledger", params={"rule_id": rule["rule_id"], "by_year": "false"}, headers=fund.headers
    ).json()["balances"]
    assert {x["party_key"]: (x["paid_fen"], x["recovered_fen"]) for x in ledger} == {
        "guarantor": (200_000_000, 116_000_000),
        "reguarantor": (100_000_000, 58_000_000),
        "nfgf": (100_000_000, 58_000_000),
        "bank": (100_000_000, 58_000_000),
    }
    # the re-guarantor now sees the loan it pays into, and the claim by loan
    assert client.get(f"/api/v1/loans/{lid}", headers=reguarantor.headers).status_code == 200
    by_loan = client.get("/api/v1/claims", params={"loan_id": lid}, headers=reguarantor.headers).json()
    assert [x["id"] for x in by_loan["data"]] == [cid]


def test_disposal_of_another_loan_cannot_be_shared_back(client: Any, scheme: dict[str, Any], make_user: Any) -> None:
    s = scheme
    c = client.post("/api/v1/claims", json=claim_body(s), headers=s["bank"].headers).json()
    assert client.post(f"/api/v1/claims/{c['id']}/review", headers=s["guarantor"].headers).json()["eligible"]
    assert sign_and_pay(client, make_user, s["engine"], c["id"])["status"] == "completed"
    r = client.post("/api/v1/recoveries", json={"claim_id": c["id"], "disposal_id": 10**9}, headers=s["bank"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "disposal_id"]
    r = client.post("/api/v1/recoveries", json={"claim_id": c["id"]}, headers=s["bank"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "received_on"]


def test_single_borrower_cap_counts_the_borrowers_loans_lent_not_applications(
    client: Any, scheme: dict[str, Any], engine: Any
) -> None:
    """Seed 002: at most 10M CNY per borrower. The claim loan is 5M; a 6M application never lent does
    not count (eligible), a 6M loan lent earlier does (11M > 10M: borrower_loan_cap fails)."""
    s = scheme
    borrower_id = s["loan"]["borrower_id"]

    def other_loan(status: str) -> int:
        a = client.post("/api/v1/ip-assets", json=ip_asset_body(borrower_id), headers=s["bank"].headers)
        assert a.status_code == 201, a.text
        r = client.post(
            "/api/v1/loans",
            headers=s["bank"].headers,
            json=loan_body(borrower_id, [a.json()["id"]], amount_cny="6000000.00", origination_date="2025-01-01"),
        )
        assert r.status_code == 201, r.text
        with Session(engine) as sess:
            row = sess.get(Loan, r.json()["id"])
            assert row is not None
            row.status = status  # type: ignore[assignment]
            sess.add(row)
            sess.commit()
        return int(r.json()["id"])

    other_loan("submitted")
    c1 = client.post("/api/v1/claims", json=claim_body(s), headers=s["bank"].headers).json()
    r1 = client.post(f"/api/v1/claims/{c1['id']}/review", headers=s["guarantor"].headers).json()
    assert r1["eligible"] is True, r1["review"]["reasons"]
    client.post(f"/api/v1/claims/{c1['id']}/reject", headers=s["fund"].headers)
    other_loan("active")
    c2 = client.post("/api/v1/claims", json=claim_body(s), headers=s["bank"].headers).json()
    r2 = client.post(f"/api/v1/claims/{c2['id']}/review", headers=s["guarantor"].headers).json()
    assert [c["name"] for c in r2["review"]["checks"] if not c["passed"]] == ["borrower_loan_cap"]
    assert "11,000,000.00 CNY" in r2["review"]["reasons"][0]


def test_the_filing_organisation_cannot_approve_its_own_claim(
    client: Any, scheme: dict[str, Any], make_user: Any, session: Any
) -> None:
    """Maker-checker across organisations: the guarantor that claims compensation from the
    re-guarantor and the NFGF cannot approve their shares, even by a third user; each payer approves
    its own. (Issue 12 changed the step from one claim approval to per-party shares.)"""
    s = scheme
    c = client.post("/api/v1/claims", json=claim_body(s), headers=s["guarantor"].headers)
    assert c.status_code == 201, c.text
    reviewer = make_user(s["reguarantor"].org, "officer")
    assert client.post(f"/api/v1/claims/{c.json()['id']}/review", headers=reviewer.headers).json()["eligible"]
    url = f"/api/v1/claims/{c.json()['id']}/shares/nfgf"
    assert client.post(f"{url}/propose", headers=make_user(s["fund"].org, "officer").headers).status_code == 200
    own = client.post(f"{url}/approve", headers=s["guarantor_approver"].headers)
    assert own.status_code == 403 and "party 'nfgf'" in own.text
    actions = [
        e.action
        for e in session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "risk_claim", AuditEvent.entity_id == str(c.json()["id"]))
            .order_by(AuditEvent.id)
        )
    ]
    assert actions == ["file", "review"]
    assert client.post(f"{url}/approve", headers=s["fund"].headers).status_code == 200


def test_proceeds_declared_as_recoveries_so_far_are_not_shared_back_twice(
    client: Any, make_user: Any, engine: Any
) -> None:
    """A claim filed with 500,000 CNY of recoveries so far already had them taken off its loss base;
    a disposal whose only proceeds came in by the filing date gives nothing more to share back."""
    w = _approved_claim_on_a_defaulted_pledge_loan(client, make_user, engine, recoveries_so_far_cny="500000.00")
    assert w["claim"]["recoveries_so_far_fen"] == 50_000_000
    maker, lid = w["maker"], w["lid"]
    _move(client, maker, lid, "start_disposal", TODAY.isoformat())
    filed_on = w["claim"]["filed_on"]
    d = client.post(
        f"/api/v1/loans/{lid}/disposals",
        headers=maker.headers,
        json={
            "method": "sale",
            "ip_asset_ids": [w["asset_id"]],
            "started_on": w["default_day"],
            "proceeds": [{"on": filed_on, "amount_cny": "500000.00", "description": "变卖"}],
            "costs": [],
        },
    )
    assert d.status_code == 201, d.text
    r = client.post(
        "/api/v1/recoveries",
        json={"claim_id": w["cid"], "disposal_id": d.json()["disposals"][0]["id"]},
        headers=maker.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "disposal_id"] and "recoveries so far" in r.text
