"""Securitisation API: pools (stored loans, inline, upload), strata, deals and runs."""

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from api.models import AuditEvent
from securitization.deal import reference_deals
from tests.factories import create_loan_via_api


def _nanshan() -> dict[str, Any]:
    return json.loads(reference_deals()["nanshan_gaoxintou_ip_5_2022"].read_text(encoding="utf-8"))


def _inline_pool(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    body = {"name": "南山 pool", "assets": _nanshan()["pool"]}
    r = client.post("/api/v1/pools", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _structure() -> dict[str, Any]:
    d = _nanshan()
    d.pop("pool")
    return d


def _audit(session: Any, entity: str, entity_id: Any) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.id)
        ).all()
    )


def test_inline_pool_is_created_read_and_stratified_with_shares_summing_to_one(client, make_user, session):
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    assert pool["balance_cny"] == "206000000.00" and pool["n_assets"] == 12 and pool["source"] == "inline"
    assert pool["summary"]["n_obligors"] == 12
    assert len(_audit(session, "abs_pool", pool["id"])) == 1
    r = client.get(f"/api/v1/pools/{pool['id']}/strata", params={"by": "industry"}, headers=bank.headers)
    assert r.status_code == 200
    rows = r.json()["rows"]
    assert sum(Decimal(x["share"]) for x in rows) == 1
    assert sum(Decimal(x["balance_cny"]) for x in rows) == Decimal("206000000.00")
    assert (
        client.get(f"/api/v1/pools/{pool['id']}/strata", params={"by": "colour"}, headers=bank.headers).status_code
        == 422
    )
    page = client.get("/api/v1/pools", headers=bank.headers).json()
    assert page["count"] == 1 and page["data"][0]["id"] == pool["id"]


def test_another_organisations_pool_is_not_found_and_roles_are_enforced(client, make_user):
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    other = make_user("bank")
    assert client.get(f"/api/v1/pools/{pool['id']}", headers=other.headers).status_code == 404
    viewer = make_user(bank.org, role="viewer")
    assert (
        client.post(
            "/api/v1/pools", json={"name": "x", "assets": _nanshan()["pool"]}, headers=viewer.headers
        ).status_code
        == 403
    )
    assert client.get("/api/v1/pools").status_code == 401


def test_pool_from_stored_loans_by_id_and_by_filter_uses_their_outstanding_balances(client, make_user):
    bank = make_user("bank")
    loans = [create_loan_via_api(client, bank.headers, amount_cny=a) for a in ("5000000.00", "2500000.50")]
    body = {
        "name": "from loans",
        "loan_ids": [x["id"] for x in loans],
        "assumptions": {"annual_pd": 0.03, "recovery_rate": 0.4, "recovery_lag_months": 6, "schedule": "bullet"},
    }
    r = client.post("/api/v1/pools", json=body, headers=bank.headers)
    assert r.status_code == 201, r.text
    assert r.json()["balance_cny"] == "7500000.50" and r.json()["source"] == "loans"
    assert {a["annual_pd"] for a in r.json()["definition"]["loans"]} == {0.03}
    f = client.post("/api/v1/pools", json={"name": "drafts", "filter": {"statuses": ["draft"]}}, headers=bank.headers)
    assert f.status_code == 201 and f.json()["n_assets"] == 2
    none = client.post("/api/v1/pools", json={"name": "active", "filter": {}}, headers=bank.headers)
    assert none.status_code == 422 and none.json()["detail"][0]["loc"] == ["body", "filter"]
    other = make_user("bank")
    r = client.post("/api/v1/pools", json={"name": "x", "loan_ids": [loans[0]["id"]]}, headers=other.headers)
    assert r.status_code == 404
    both = client.post("/api/v1/pools", json={"name": "x", "loan_ids": [1], "filter": {}}, headers=bank.headers)
    assert both.status_code == 422


def test_uploaded_loan_tape_keeps_good_rows_and_lists_bad_rows_by_field(client, make_user):
    bank = make_user("bank")
    header = (
        "loan_id,borrower,balance_cny,annual_rate,term_months,annual_pd,recovery_rate,recovery_lag_months,"
        "industry,region\n"
    )
    csv_text = header + "A1,甲,1000000.00,0.05,12,0.02,0.3,6,C,440300\nA2,乙,-5,0.05,12,0.02,0.3,6,C,440300\n"
    r = client.post(
        "/api/v1/pools/upload",
        data={"name": "tape"},
        files={"file": ("tape.csv", csv_text.encode("utf-8"), "text/csv")},
        headers=bank.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["pool"]["balance_cny"] == "1000000.00"
    assert r.json()["errors"] == [
        {"row": 3, "field": "balance_cny", "message": "balance_cny: amount must not be negative"}
    ]
    bad = client.post(
        "/api/v1/pools/upload",
        data={"name": "tape"},
        files={"file": ("t.csv", (header + "A2,乙,-5,0.05,12,0.02,0.3,6,C,440300\n").encode(), "text/csv")},
        headers=bank.headers,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "file"]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda s: s["tranches"][0].update(balance_cny="300000000.00"), ["body", "structure", "tranches"]),
        (lambda s: s["tranches"][0].update(coupon=-0.01), ["body", "structure", "tranches[0]", "coupon"]),
        (
            lambda s: s.update(triggers=[{"name": "oc", "kind": "oc", "tranche": "Mezz", "threshold": 1.1}]),
            ["body", "structure", "triggers[0]", "tranche"],
        ),
    ],
)
def test_bad_deal_structures_are_422_naming_the_field(client, make_user, change, loc):
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    s = _structure()
    change(s)
    r = client.post("/api/v1/deals", json={"pool_id": pool["id"], "structure": s}, headers=bank.headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc


def test_deterministic_run_returns_waterfall_tables_that_conserve_cash(client, make_user, session):
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    d = client.post("/api/v1/deals", json={"pool_id": pool["id"], "structure": _structure()}, headers=bank.headers)
    assert d.status_code == 201, d.text
    r = client.post(f"/api/v1/deals/{d.json()['id']}/runs", json={"mode": "deterministic"}, headers=bank.headers)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "succeeded"
    base = run["result"]["scenarios"][0]
    assert base["tranches"]["Senior"]["principal_loss_fen"] == 0
    for row in base["periods"]:
        uses = (
            sum(row["fees_paid_fen"].values())
            + sum(row["interest_paid_fen"].values())
            + sum(row["principal_paid_fen"].values())
            + row["reserve_end_fen"]
            + row["residual_paid_fen"]
        )
        assert uses == (
            row["interest_collected_fen"]
            + row["principal_collected_fen"]
            + row["call_proceeds_fen"]
            + row["reserve_start_fen"]
            + row["guarantor_paid_fen"]
        )
    again = client.get(f"/api/v1/deals/{d.json()['id']}/runs/{run['id']}", headers=bank.headers)
    assert again.status_code == 200 and again.json()["result"] == run["result"]
    assert len(_audit(session, "abs_run", run["id"])) == 1
    other = make_user("bank")
    assert client.get(f"/api/v1/deals/{d.json()['id']}/runs/{run['id']}", headers=other.headers).status_code == 404


def test_small_monte_carlo_runs_inline_and_large_ones_return_a_job_id(client, make_user):
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    deal_id = client.post(
        "/api/v1/deals", json={"pool_id": pool["id"], "structure": _structure()}, headers=bank.headers
    ).json()["id"]
    small = client.post(
        f"/api/v1/deals/{deal_id}/runs", json={"mode": "monte_carlo", "n_paths": 500, "seed": 4}, headers=bank.headers
    )
    assert small.status_code == 201, small.text
    mc = small.json()["result"]["monte_carlo"]
    assert mc["n_paths"] == 500 and mc["stresses"]["base"]["pool"]["expected_loss_rate_se"] > 0
    big = client.post(
        f"/api/v1/deals/{deal_id}/runs",
        json={"mode": "monte_carlo", "n_paths": 200_000, "seed": 4, "include_periods": False},
        headers=bank.headers,
    )
    assert big.status_code == 202, big.text
    job_id, run_id = big.json()["job_id"], big.json()["run_id"]
    for _ in range(300):
        job = client.get(f"/api/v1/jobs/{job_id}", headers=bank.headers).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    run = client.get(f"/api/v1/deals/{deal_id}/runs/{run_id}", headers=bank.headers).json()
    assert run["status"] == "succeeded" and run["result"]["monte_carlo"]["n_paths"] == 200_000
