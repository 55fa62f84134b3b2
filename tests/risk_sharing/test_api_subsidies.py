"""Programme subsidies paid through the platform (issue 12, item 4): a bank applies for 贴息 or a fee
subsidy of a rule, the payer (bureau or fund) reviews with maker-checker and pays from the subsidy's
annual budget; the subsidy ledger and the budget figures agree; the budget is never overdrawn, even
by approvals racing for its last fen; only the bank and the payer see an application.

Amounts: rate × the cost the platform holds, rounded half up to the fen (``api.risk_sharing.subsidies``);
the preset ``loan-guarantee-insurance`` (assumed values, labelled so in the preset) gives the rates,
per-loan caps and budgets unless a test sets its own.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.pledge.models import Loan
from api.risk_sharing.subsidies import half_up_fen, period_fee_fen, subsidy_fen
from risk_sharing.presets import PRESET_DIR
from tests.pledge.test_api_pledge import bank_team, setup_loan, to_active
from tests.risk_sharing.api_helpers import defaulted_loan

V1 = "/api/v1"
PRESET = "loan-guarantee-insurance"


def programme(**subsidy_changes: dict[str, Any]) -> dict[str, Any]:
    """The preset as a fresh rule family; ``subsidy_changes``: subsidy key → fields to change (or add)."""
    d = json.loads((PRESET_DIR / f"{PRESET}.json").read_text(encoding="utf-8"))
    d["id"] = f"{d['id']}-{uuid.uuid4().hex[:8]}"
    subs = {s["key"]: s for s in d["subsidies"]}
    for key, change in subsidy_changes.items():
        subs[key] = {**subs.get(key, {"key": key}), **change}
    d["subsidies"] = list(subs.values())
    return d


@pytest.fixture
def world(client: Any, make_user: Any, engine: Any) -> dict[str, Any]:
    """A programme family (admin), a bank (maker, checker), the paying bureau (maker, checker)."""

    def install(**changes: dict[str, Any]) -> str:
        admin = make_user("admin", "approver")
        r = client.post(f"{V1}/risk-rules", json=programme(**changes), headers=admin.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["rule_id"])

    maker, checker = bank_team(make_user)
    bureau = make_user("bureau", "officer")
    return {"install": install, "bank": maker, "bank_checker": checker, "bureau": bureau,
            "bureau_approver": make_user(bureau.org, "approver"), "engine": engine}


def live_loan(client: Any, w: dict[str, Any], *, appraisal_fee_fen: int | None = None, **loan_kw: Any) -> int:
    """An active (lent) loan of the bank; the appraisal fee recorded on it if given."""
    loan = defaulted_loan(client, w["engine"], w["bank"].headers, status="active", **loan_kw)
    if appraisal_fee_fen is not None:
        with Session(w["engine"]) as s:
            row = s.get(Loan, loan["id"])
            assert row is not None
            row.appraisal_fee_fen = appraisal_fee_fen
            s.add(row)
            s.commit()
    return int(loan["id"])


def apply(client: Any, w: dict[str, Any], rule_id: str, loan_id: int, key: str, **kw: Any) -> Any:
    body = {"rule_id": rule_id, "subsidy_key": key, "loan_id": loan_id, "payer_org_id": w["bureau"].org.id, **kw}
    return client.post(f"{V1}/subsidy-applications", json=body, headers=w["bank"].headers)


def propose(client: Any, w: dict[str, Any], app_id: int, decision: str = "approve", **kw: Any) -> Any:
    return client.post(f"{V1}/subsidy-applications/{app_id}/propose", json={"decision": decision, **kw},
                       headers=w["bureau"].headers)


def approve(client: Any, w: dict[str, Any], app_id: int, who: str = "bureau_approver",
            headers: dict[str, str] | None = None) -> Any:
    return client.post(f"{V1}/subsidy-applications/{app_id}/approve", json={},
                       headers={**w[who].headers, **(headers or {})})


def pay(client: Any, w: dict[str, Any], app_id: int, headers: dict[str, str] | None = None) -> Any:
    return client.post(f"{V1}/subsidy-applications/{app_id}/pay",
                       json={"paid_on": date.today().isoformat(), "reference": f"CZ-{app_id}"},
                       headers={**w["bureau"].headers, **(headers or {})})


def budget_of(client: Any, w: dict[str, Any], rule_id: str, key: str, year: int) -> dict[str, Any]:
    r = client.get(f"{V1}/subsidy-budgets", params={"rule_id": rule_id, "year": year}, headers=w["bank"].headers)
    assert r.status_code == 200, r.text
    return next(b for b in r.json()["data"] if b["subsidy_key"] == key)


def audit_actions(engine: Any, entity: str, entity_id: int) -> list[str]:
    with Session(engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
                      .order_by(col(AuditEvent.id))).all()
    return [r.action for r in rows]


# ---------------------------------------------------------------- the money rules


def test_amounts_round_half_up_to_the_fen() -> None:
    assert half_up_fen(Fraction(25, 2)) == 13  # 12.5 fen → 13
    assert half_up_fen(Fraction(1249, 100)) == 12
    assert subsidy_fen(Decimal("0.5"), 25) == 13 and subsidy_fen(Decimal("0.5"), 24) == 12
    assert subsidy_fen(Decimal("0.3"), 5) == 2  # 1.5 → 2 (half up, not half even)
    # a whole calendar year is exactly one year's fee: 1.2% of 5,000,000 CNY = 60,000.00 CNY
    assert period_fee_fen(Decimal("0.012"), 500_000_000, date(2025, 1, 1), date(2025, 12, 31)) == 6_000_000
    assert period_fee_fen(Decimal("0.012"), 500_000_000, date(2024, 1, 1), date(2024, 12, 31)) == 6_000_000  # leap
    # 2025-03-01..2025-12-31 = 306 days: 6,000,000 × 306 / 365 = 5,030,136.99 fen → 5,030,137
    assert period_fee_fen(Decimal("0.012"), 500_000_000, date(2025, 3, 1), date(2025, 12, 31)) == 5_030_137


# ---------------------------------------------------------------- end to end


def test_interest_subsidy_applied_reviewed_approved_paid_with_ledger_and_budget_agreeing(
    client: Any, make_user: Any, world: dict[str, Any]
) -> None:
    w = world
    rule_id = w["install"]()
    loan = setup_loan(client, w["bank"])  # 5,000,000 CNY at 3.85%, lent 2025-09-01, 12 monthly instalments
    to_active(client, w["bank"], w["bank_checker"], loan["id"])
    sched = client.get(f"{V1}/loans/{loan['id']}/schedule", headers=w["bank"].headers).json()["data"]
    paid_2025 = [i for i in sched if i["due_date"] <= "2025-12-31"]
    assert len(paid_2025) == 3  # 2025-10-01, 11-01, 12-01
    interest = 0
    for inst in paid_2025:
        r = client.post(f"{V1}/loans/{loan['id']}/payments", headers=w["bank"].headers,
                        json={"amount_cny": str(inst["total_cny"]), "paid_on": inst["due_date"]})
        assert r.status_code == 201, r.text
        interest += r.json()["interest_fen"] + r.json()["accrued_interest_fen"]
    assert interest > 0

    r = apply(client, w, rule_id, loan["id"], "interest_subsidy", period_start="2025-09-01", period_end="2025-12-31")
    assert r.status_code == 201, r.text
    app = r.json()
    expected = int((Decimal(interest) * Decimal("0.5")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert (app["status"], app["year"], app["base_fen"], app["rate"]) == ("applied", 2025, interest, "0.5")
    assert app["computed_fen"] == app["requested_fen"] == expected  # below the 100,000 CNY per-loan cap
    assert Decimal(app["requested_cny"]) == Decimal(expected) / 100

    assert propose(client, w, app["id"]).json()["status"] == "proposed"
    r = approve(client, w, app["id"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["granted_fen"], r.json()["shortfall_fen"]) == ("approved", expected, 0)
    b = budget_of(client, w, rule_id, "interest_subsidy", 2025)
    assert (b["budget_fen"], b["approved_fen"], b["paid_fen"]) == (500_000_000, expected, 0)
    assert b["remaining_fen"] == 500_000_000 - expected and b["payer_org_id"] == w["bureau"].org.id
    assert b["budget_cny"] == "5000000.00"

    r = pay(client, w, app["id"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["payment_reference"]) == ("paid", f"CZ-{app['id']}")
    ledger = client.get(f"{V1}/subsidy-ledger", params={"rule_id": rule_id}, headers=w["bank"].headers).json()
    assert [(e["amount_fen"], e["payee_org_id"], e["kind"]) for e in ledger["data"]] == [
        (expected, w["bank"].org.id, "subsidy_payment")]
    b = budget_of(client, w, rule_id, "interest_subsidy", 2025)
    assert b["paid_fen"] == b["approved_fen"] == sum(e["amount_fen"] for e in ledger["data"])
    assert audit_actions(w["engine"], "risk_subsidy_application", app["id"]) == ["apply", "propose", "approve", "pay"]
    assert audit_actions(w["engine"], "risk_subsidy_budget", budget_id(w, app["id"])) == ["draw", "pay"]
    # the same interest cannot be subsidised twice
    r = apply(client, w, rule_id, loan["id"], "interest_subsidy", period_start="2025-12-01", period_end="2025-12-31")
    assert r.status_code == 409 and "already covers" in r.json()["detail"]


def budget_id(w: dict[str, Any], app_id: int) -> int:
    from api.risk_sharing.models import RiskSubsidyApplication

    with Session(w["engine"]) as s:
        row = s.get(RiskSubsidyApplication, app_id)
        assert row is not None
        return row.budget_id


def test_guarantee_fee_subsidy_is_rate_times_the_period_fee(
    client: Any, make_user: Any, world: dict[str, Any]
) -> None:
    w = world
    rule_id = w["install"](guarantee_fee_subsidy={"kind": "guarantee_fee", "payer": "市财政局 (担保费补贴, 假设)",
                                                  "rate": "0.3"})
    guarantor = make_user("guarantor", "officer")
    loan_id = live_loan(client, w, guarantor_org_id=guarantor.org.id, guarantee_fee_rate="0.012")
    r = apply(client, w, rule_id, loan_id, "guarantee_fee_subsidy", period_start="2025-03-01",
              period_end="2025-12-31")
    assert r.status_code == 201, r.text
    # fee 5,030,137 fen (test above); 0.3 × 5,030,137 = 1,509,041.1 → 1,509,041 fen
    assert (r.json()["base_fen"], r.json()["requested_fen"]) == (5_030_137, 1_509_041)
    r = apply(client, w, rule_id, loan_id, "guarantee_fee_subsidy", period_start="2025-02-01",
              period_end="2025-02-28")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "period_start"]  # before origination


# ---------------------------------------------------------------- caps and the budget


def test_interest_subsidy_per_loan_cap_holds_across_periods_of_a_year(client: Any, world: dict[str, Any]) -> None:
    w = world
    rule_id = w["install"](interest_subsidy={"max_per_loan_cny": "5000.00"})
    loan = setup_loan(client, w["bank"])
    to_active(client, w["bank"], w["bank_checker"], loan["id"])
    sched = client.get(f"{V1}/loans/{loan['id']}/schedule", headers=w["bank"].headers).json()["data"]
    for inst in sched[:3]:  # 2025-10-01, 11-01, 12-01: about 16,000 CNY interest each (3.85% on 5M)
        r = client.post(f"{V1}/loans/{loan['id']}/payments", headers=w["bank"].headers,
                        json={"amount_cny": str(inst["total_cny"]), "paid_on": inst["due_date"]})
        assert r.status_code == 201, r.text
    r = apply(client, w, rule_id, loan["id"], "interest_subsidy", period_start="2025-10-01", period_end="2025-10-31")
    assert r.status_code == 201, r.text
    assert r.json()["computed_fen"] > 500_000 and r.json()["requested_fen"] == 500_000  # half the interest, capped
    r = apply(client, w, rule_id, loan["id"], "interest_subsidy", period_start="2025-11-01", period_end="2025-11-30")
    assert r.status_code == 409 and "has used its 5000.00 CNY" in r.json()["detail"]


def test_per_loan_cap_then_budget_remainder_then_refusal(client: Any, world: dict[str, Any]) -> None:
    """Appraisal subsidy 50%, at most 20,000 CNY a loan, budget 25,000 CNY: first come, first served."""
    w = world
    rule_id = w["install"](appraisal_subsidy={"annual_budget_cny": "25000.00"})
    fees = [3_000_000, 5_000_001, 1_000_000]  # 30,000.00 / 50,000.01 / 10,000.00 CNY appraisal fees
    apps = []
    for fee in fees:
        r = apply(client, w, rule_id, live_loan(client, w, appraisal_fee_fen=fee), "appraisal_subsidy")
        assert r.status_code == 201, r.text
        apps.append(r.json())
    assert [(a["computed_fen"], a["requested_fen"]) for a in apps] == [
        (1_500_000, 1_500_000), (2_500_001, 2_000_000), (500_000, 500_000)]  # 25,000.005 → .01; capped at 20,000
    outcomes = []
    for a in apps:
        assert propose(client, w, a["id"]).status_code == 200
        r = approve(client, w, a["id"])
        assert r.status_code == 200, r.text
        outcomes.append((r.json()["status"], r.json()["granted_fen"], r.json()["shortfall_fen"]))
    assert outcomes == [("approved", 1_500_000, 0), ("approved", 1_000_000, 1_000_000), ("refused", 0, 500_000)]
    refused = client.get(f"{V1}/subsidy-applications/{apps[2]['id']}", headers=w["bank"].headers).json()
    assert refused["decision_note"].startswith("refused: nothing left of the 2025 budget")
    assert pay(client, w, apps[2]["id"]).status_code == 409  # nothing to pay on a refusal
    b = budget_of(client, w, rule_id, "appraisal_subsidy", 2025)
    assert (b["budget_fen"], b["approved_fen"], b["remaining_fen"]) == (2_500_000, 2_500_000, 0)
    # the appraisal fee is subsidised once per loan
    again = apply(client, w, rule_id, apps[0]["loan_id"], "appraisal_subsidy")
    assert again.status_code == 409


def test_two_approvals_racing_for_the_last_of_the_budget_never_overdraw_it(
    client: Any, make_user: Any, world: dict[str, Any]
) -> None:
    w = world
    rule_id = w["install"](appraisal_subsidy={"annual_budget_cny": "20000.00"})
    ids = []
    for _ in range(3):
        r = apply(client, w, rule_id, live_loan(client, w, appraisal_fee_fen=3_000_000), "appraisal_subsidy")
        assert r.status_code == 201, r.text  # 15,000 CNY each; three ask 45,000 of a 20,000 budget
        assert propose(client, w, r.json()["id"]).status_code == 200
        ids.append(r.json()["id"])
    approvers = [make_user(w["bureau"].org, "approver") for _ in ids]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(
            lambda p: client.post(f"{V1}/subsidy-applications/{p[0]}/approve", json={}, headers=p[1].headers),
            zip(ids, approvers, strict=True)))
    assert [r.status_code for r in results] == [200, 200, 200], [r.text for r in results]
    assert sorted(r.json()["granted_fen"] for r in results) == [0, 500_000, 1_500_000]
    assert sorted(r.json()["status"] for r in results) == ["approved", "approved", "refused"]
    b = budget_of(client, w, rule_id, "appraisal_subsidy", 2025)
    assert (b["approved_fen"], b["remaining_fen"]) == (2_000_000, 0)


# ---------------------------------------------------------------- workflow, tenancy, idempotency, input


def test_maker_checker_and_illegal_moves(client: Any, make_user: Any, world: dict[str, Any]) -> None:
    w = world
    rule_id = w["install"]()
    app = apply(client, w, rule_id, live_loan(client, w, appraisal_fee_fen=1_000_000), "appraisal_subsidy").json()
    assert approve(client, w, app["id"]).status_code == 409  # not proposed yet
    assert pay(client, w, app["id"]).status_code == 409  # not approved
    r = client.post(f"{V1}/subsidy-applications/{app['id']}/propose", json={"decision": "approve"},
                    headers=w["bureau_approver"].headers)
    assert r.status_code == 200
    r = approve(client, w, app["id"])  # the approver who proposed it
    assert r.status_code == 409 and "maker-checker" in r.json()["detail"]
    assert approve(client, w, app["id"], who="bureau").status_code == 403  # an officer is no checker
    assert propose(client, w, app["id"]).status_code == 409  # proposed already
    before = audit_actions(w["engine"], "risk_subsidy_application", app["id"])
    assert before == ["apply", "propose"]  # the refused moves left no trace
    checker = make_user(w["bureau"].org, "approver")
    r = client.post(f"{V1}/subsidy-applications/{app['id']}/send-back", json={"note": "请补充评估报告"},
                    headers=checker.headers)
    assert (r.status_code, r.json()["status"], r.json()["proposed_by_user_id"]) == (200, "applied", None)
    assert propose(client, w, app["id"]).status_code == 200  # a new proposal, by the bureau's officer
    r = approve(client, w, app["id"], headers=checker.headers)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert audit_actions(w["engine"], "risk_subsidy_application", app["id"]) == [
        "apply", "propose", "send_back", "propose", "approve"]


def test_a_proposed_decline_confirmed_by_the_checker(client: Any, world: dict[str, Any]) -> None:
    w = world
    rule_id = w["install"]()
    app = apply(client, w, rule_id, live_loan(client, w, appraisal_fee_fen=1_000_000), "appraisal_subsidy").json()
    r = propose(client, w, app["id"], "decline")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "note"]
    assert propose(client, w, app["id"], "decline", note="评估机构不在名录内").status_code == 200
    r = approve(client, w, app["id"])
    assert (r.json()["status"], r.json()["decision_note"], r.json()["granted_fen"]) == (
        "declined", "评估机构不在名录内", None)
    assert budget_of(client, w, rule_id, "appraisal_subsidy", 2025)["approved_fen"] == 0


def test_only_the_applying_bank_and_the_payer_see_an_application(
    client: Any, make_user: Any, world: dict[str, Any]
) -> None:
    w = world
    rule_id = w["install"]()
    app = apply(client, w, rule_id, live_loan(client, w, appraisal_fee_fen=1_000_000), "appraisal_subsidy").json()
    url = f"{V1}/subsidy-applications/{app['id']}"
    for who in ("bank", "bank_checker", "bureau", "bureau_approver"):
        assert client.get(url, headers=w[who].headers).status_code == 200, who
    other_bank, other_bureau = make_user("bank", "officer"), make_user("bureau", "approver")
    for stranger in (other_bank, other_bureau):
        assert client.get(url, headers=stranger.headers).status_code == 404
        assert client.get(f"{V1}/subsidy-applications", headers=stranger.headers).json()["count"] == 0
    other_maker = make_user(other_bureau.org, "officer")
    r = client.post(f"{url}/propose", json={"decision": "approve"}, headers=other_maker.headers)
    assert r.status_code == 404
    assert client.post(f"{url}/approve", json={}, headers=other_bureau.headers).status_code == 404
    # another bank cannot apply on this bank's loan
    body = {"rule_id": rule_id, "subsidy_key": "appraisal_subsidy", "loan_id": app["loan_id"],
            "payer_org_id": w["bureau"].org.id}
    assert client.post(f"{V1}/subsidy-applications", json=body, headers=other_bank.headers).status_code == 404
    mine = client.get(f"{V1}/subsidy-applications", params={"rule_id": rule_id, "status": "applied", "year": 2025},
                      headers=w["bureau"].headers).json()
    assert [a["id"] for a in mine["data"]] == [app["id"]]


def test_a_retried_application_or_payment_with_the_same_key_takes_effect_once(
    client: Any, world: dict[str, Any]
) -> None:
    w = world
    rule_id = w["install"]()
    loan_id = live_loan(client, w, appraisal_fee_fen=1_000_000)
    body = {"rule_id": rule_id, "subsidy_key": "appraisal_subsidy", "loan_id": loan_id,
            "payer_org_id": w["bureau"].org.id}
    headers = {**w["bank"].headers, "Idempotency-Key": f"apply-{uuid.uuid4()}"}
    first, second = (client.post(f"{V1}/subsidy-applications", json=body, headers=headers) for _ in range(2))
    assert (first.status_code, second.status_code) == (201, 201) and first.json() == second.json()
    assert client.get(f"{V1}/subsidy-applications", params={"loan_id": loan_id},
                      headers=w["bank"].headers).json()["count"] == 1
    app = first.json()
    propose(client, w, app["id"])
    key = {"Idempotency-Key": f"pay-{uuid.uuid4()}"}
    assert approve(client, w, app["id"], headers={"Idempotency-Key": f"ok-{uuid.uuid4()}"}).status_code == 200
    first, second = pay(client, w, app["id"], key), pay(client, w, app["id"], key)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true" and second.json() == first.json()
    assert pay(client, w, app["id"]).status_code == 409  # without the key: paid already
    ledger = client.get(f"{V1}/subsidy-ledger", params={"rule_id": rule_id}, headers=w["bureau"].headers).json()
    assert [e["amount_fen"] for e in ledger["data"]] == [500_000]
    assert budget_of(client, w, rule_id, "appraisal_subsidy", 2025)["paid_fen"] == 500_000
    assert audit_actions(w["engine"], "risk_subsidy_application", app["id"]).count("pay") == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"subsidy_key": "no_such_subsidy"}, "subsidy_key"),
    ({"rule_id": "no-such-rule"}, "rule_id"),
    ({"rule_version": 2}, "rule_version"),
    ({"subsidy_key": "interest_subsidy"}, "period_start"),
    ({"subsidy_key": "interest_subsidy", "period_start": "2025-03-01", "period_end": "2026-01-31"}, "period_end"),
    ({"subsidy_key": "interest_subsidy", "period_start": "2025-06-01", "period_end": "2025-05-01"}, "period_end"),
    ({"period_start": "2025-03-01", "period_end": "2025-03-31"}, "period_start"),  # appraisal: no period
    ({"loan_id": -1}, "loan_id"),
    ({"payer_org_id": "bank"}, "payer_org_id"),
])
def test_bad_applications_give_422_naming_the_field(
    client: Any, world: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    w = world
    rule_id = w["install"]()
    loan_id = live_loan(client, w, appraisal_fee_fen=1_000_000)
    body = {"rule_id": rule_id, "subsidy_key": "appraisal_subsidy", "loan_id": loan_id,
            "payer_org_id": w["bureau"].org.id, **change}
    if body["payer_org_id"] == "bank":
        body["payer_org_id"] = w["bank"].org.id  # a bank is no subsidy payer
    r = client.post(f"{V1}/subsidy-applications", json=body, headers=w["bank"].headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field


def test_no_cost_on_the_platform_is_a_409_and_bad_payments_or_payers_a_422(
    client: Any, make_user: Any, world: dict[str, Any]
) -> None:
    w = world
    rule_id = w["install"]()
    r = apply(client, w, rule_id, live_loan(client, w), "appraisal_subsidy")
    assert r.status_code == 409 and "no appraisal fee" in r.json()["detail"]
    r = apply(client, w, rule_id, live_loan(client, w), "interest_subsidy", period_start="2025-03-01",
              period_end="2025-03-31")
    assert r.status_code == 409 and "no interest was paid" in r.json()["detail"]
    app = apply(client, w, rule_id, live_loan(client, w, appraisal_fee_fen=1_000_000), "appraisal_subsidy").json()
    propose(client, w, app["id"])
    approve(client, w, app["id"])
    r = client.post(f"{V1}/subsidy-applications/{app['id']}/pay", json={"paid_on": "2099-01-01", "reference": "X"},
                    headers=w["bureau"].headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "paid_on"]
    # the first application fixed the payer of the 2025 appraisal budget: another bureau is refused
    other_bureau = make_user("bureau", "officer")
    r = apply(client, w, rule_id, live_loan(client, w, appraisal_fee_fen=1_000_000), "appraisal_subsidy",
              payer_org_id=other_bureau.org.id)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "payer_org_id"]


def test_the_appraisal_fee_is_recorded_with_the_loan_and_bad_fees_are_422(client: Any, world: dict[str, Any]) -> None:
    from tests.factories import create_loan_via_api

    loan = create_loan_via_api(client, world["bank"].headers, appraisal_fee_cny="12345.67")
    assert loan["appraisal_fee_cny"] == "12345.67" and loan["appraisal_fee_fen"] == 1_234_567
    with Session(world["engine"]) as s:
        row = s.get(Loan, loan["id"])
        assert row is not None and row.appraisal_fee_fen == 1_234_567
    for bad in ("-1.00", "NaN", "1e30"):
        r = client.post(f"{V1}/loans", json={"borrower_id": 1, "collateral_ip_asset_ids": [1], "amount_cny": "100.00",
                                             "annual_rate": "0.04", "origination_date": "2025-03-01",
                                             "maturity_date": "2026-03-01", "appraisal_fee_cny": bad},
                        headers=world["bank"].headers)
        assert r.status_code == 422, (bad, r.text)
        assert "appraisal_fee_cny" in [str(x) for e in r.json()["detail"] for x in e["loc"]], r.text
