"""Restructuring through the API: term extension (展期) and rescheduling with maker-checker, stale
proposals refused, arrears posted before a rescheduling, and early repayment that shortens the term."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from api.pledge.models import ArrearsPosting
from ipfin.calendar import add_months
from tests.pledge.test_api_products import activate, bank_team, draft_loan, schedule

pytestmark = pytest.mark.db

TODAY = date.today()


def propose(client: Any, maker: Any, lid: int, **body: Any) -> Any:
    return client.post(f"/api/v1/loans/{lid}/restructurings", json={"on": TODAY.isoformat(), **body},
                       headers=maker.headers)


def test_extension_is_proposed_by_an_officer_and_applied_only_when_an_approver_approves(
    client: Any, make_user: Any
) -> None:
    maker, checker = bank_team(make_user)
    orig = TODAY - timedelta(days=10)
    lid = draft_loan(client, maker, orig, months=12)["id"]
    activate(client, maker, checker, lid, orig)
    before = schedule(client, maker, lid)["data"]
    r = propose(client, maker, lid, kind="extend", extra_periods=6)
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "proposed" and req["params"]["preview"]["instalments_left"] == 18
    assert len(schedule(client, maker, lid)["data"]) == 12  # nothing applied yet
    assert client.post(f"/api/v1/loans/{lid}/restructurings/{req['id']}/approve", json={},
                       headers=maker.headers).status_code == 403  # officers cannot approve
    stranger = make_user("bank", "approver")
    assert client.post(f"/api/v1/loans/{lid}/restructurings/{req['id']}/approve", json={},
                       headers=stranger.headers).status_code == 404
    ok = client.post(f"/api/v1/loans/{lid}/restructurings/{req['id']}/approve", json={"comment": "展期批准"},
                     headers=checker.headers)
    assert ok.status_code == 200, ok.text
    assert (ok.json()["status"], ok.json()["decided_by_user_id"]) == ("approved", checker.id)
    after = schedule(client, maker, lid)["data"]
    assert len(after) == 18 and sum(i["principal_fen"] for i in after) == 120_000_000
    assert after[11]["due_date"] > before[-1]["due_date"] or after[-1]["due_date"] > before[-1]["due_date"]
    loan = client.get(f"/api/v1/loans/{lid}", headers=maker.headers).json()
    assert loan["maturity_date"] == after[-1]["due_date"]
    events = [e["action"] for e in client.get(f"/api/v1/loans/{lid}/events", headers=maker.headers).json()]
    assert events[-2:] == ["propose_extend", "approve_extend"]
    again = client.post(f"/api/v1/loans/{lid}/restructurings/{req['id']}/approve", json={},
                        headers=checker.headers)
    assert again.status_code == 409


def test_extension_beyond_the_loan_rules_limit_is_refused(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    orig = TODAY - timedelta(days=10)
    lid = draft_loan(client, maker, orig, months=12)["id"]
    activate(client, maker, checker, lid, orig)
    r = propose(client, maker, lid, kind="extend", extra_periods=13)  # 贷款通则 art. 12: at most the 12-month term
    assert r.status_code == 422 and "extra_periods" in str(r.json()["detail"])
    assert propose(client, maker, lid, kind="extend").status_code == 422
    future = client.post(f"/api/v1/loans/{lid}/restructurings", headers=maker.headers, json={
        "kind": "extend", "extra_periods": 3, "on": (TODAY + timedelta(days=2)).isoformat()})
    assert future.status_code == 422


def test_rescheduling_posts_arrears_first_and_folds_overdue_principal(
    client: Any, make_user: Any, session: Any
) -> None:
    maker, checker = bank_team(make_user)
    orig = add_months(TODAY, -3) - timedelta(days=5)
    lid = draft_loan(client, maker, orig, months=12)["id"]
    activate(client, maker, checker, lid, orig)
    req = propose(client, maker, lid, kind="reschedule", n_periods=12, schedule_type="equal_principal",
                  grace_periods=2)
    assert req.status_code == 201, req.text
    ok = client.post(f"/api/v1/loans/{lid}/restructurings/{req.json()['id']}/approve", json={},
                     headers=checker.headers)
    assert ok.status_code == 200, ok.text
    rows = schedule(client, maker, lid)["data"]
    new = [r for r in rows if r["due_date"] > TODAY.isoformat()]
    assert len(new) == 12 and [r["kind"] for r in new[:2]] == ["grace", "grace"]
    assert sum(r["principal_fen"] for r in rows) == 120_000_000
    old = [r for r in rows if r["due_date"] <= TODAY.isoformat()]
    assert old and all(r["principal_fen"] == r["principal_paid_fen"] == 0 for r in old)  # folded into the new plan
    posting = session.exec(select(ArrearsPosting).where(ArrearsPosting.loan_id == lid)).one()
    assert posting.accrued_to == TODAY and posting.penalty_fen > 0


def test_a_proposal_is_stale_once_the_loan_changes(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    orig = add_months(TODAY, -1) - timedelta(days=3)
    lid = draft_loan(client, maker, orig, months=12)["id"]
    activate(client, maker, checker, lid, orig)
    req = propose(client, maker, lid, kind="extend", extra_periods=3).json()
    first = schedule(client, maker, lid)["data"][0]
    pay = client.post(f"/api/v1/loans/{lid}/payments", headers=maker.headers,
                      json={"amount_cny": str(first["total_cny"]), "paid_on": first["due_date"]})
    assert pay.status_code == 201, pay.text
    r = client.post(f"/api/v1/loans/{lid}/restructurings/{req['id']}/approve", json={}, headers=checker.headers)
    assert r.status_code == 409 and "propose again" in r.text
    assert client.post(f"/api/v1/loans/{lid}/restructurings/{req['id']}/reject", json={},
                       headers=checker.headers).json()["status"] == "rejected"


@pytest.mark.parametrize("mode", ["keep_term", "shorten_term"])
def test_early_repayment_can_shorten_the_term_or_lower_the_instalment(
    client: Any, make_user: Any, mode: str
) -> None:
    maker, checker = bank_team(make_user)
    orig = add_months(TODAY, -1) - timedelta(days=3)
    lid = draft_loan(client, maker, orig, months=12)["id"]
    activate(client, maker, checker, lid, orig)
    rows = schedule(client, maker, lid)["data"]
    first, level = rows[0], rows[1]["total_fen"]
    amount = first["total_fen"] + 40_000_000  # the instalment and 400,000 CNY of principal, on the due date
    r = client.post(f"/api/v1/loans/{lid}/payments", headers=maker.headers, json={
        "amount_cny": f"{amount / 100:.2f}", "paid_on": first["due_date"], "prepayment_mode": mode})
    assert r.status_code == 201, r.text
    assert r.json()["prepaid_principal_fen"] == 40_000_000 and r.json()["unapplied_fen"] == 0
    after = [i for i in schedule(client, maker, lid)["data"] if i["principal_paid_fen"] == 0]
    assert sum(i["principal_fen"] for i in schedule(client, maker, lid)["data"]) == 120_000_000
    if mode == "shorten_term":
        # fewest periods whose instalment does not exceed the old one (缩短期限): 7 instead of 11 here
        assert len(after) < 11 and level - level // 10 < after[0]["total_fen"] <= level
    else:
        assert len(after) == 11 and after[0]["total_fen"] < level


def test_workflow_moves_dated_in_the_future_are_refused(client: Any, make_user: Any) -> None:
    """Issue 11, item 7: a person records a move when it happens (claims already refused future dates)."""
    maker, _ = bank_team(make_user)
    lid = draft_loan(client, maker, TODAY - timedelta(days=3))["id"]
    r = client.post(f"/api/v1/loans/{lid}/transitions", headers=maker.headers,
                    json={"action": "submit", "on": (TODAY + timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "on"]
    assert client.get(f"/api/v1/loans/{lid}", headers=maker.headers).json()["status"] == "draft"
    ok = client.post(f"/api/v1/loans/{lid}/transitions", headers=maker.headers,
                     json={"action": "submit", "on": TODAY.isoformat()})
    assert ok.status_code == 200, ok.text
