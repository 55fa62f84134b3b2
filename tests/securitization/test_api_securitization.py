"""Securitisation API: pools (stored loans, inline, upload), strata, deals and runs."""

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from api.audit.models import AuditEvent
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


def test_small_monte_carlo_runs_inline_and_large_ones_return_a_job_id(client, make_user, session):
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
    # the result is also written onto the run row itself (the dashboard reads abs_run directly)
    from api.securitization.models import AbsRun

    session.expire_all()
    stored = session.get(AbsRun, run_id)
    assert stored is not None and stored.status == "succeeded" and stored.result == run["result"]


def _poll(client: Any, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job = dict(client.get(f"/api/v1/jobs/{job_id}", headers=headers).json())
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.parametrize(
    ("loan_change", "message"),
    [
        ({"balance_cny": "99999999999999999.00"}, "balance_fen: at most"),
        ({"term_months": 1_000_000_000}, "term_months"),
        ({"recovery_lag_months": 100_000_000}, "recovery_lag_months"),
    ],
)
def test_oversized_inline_assets_are_422_and_leave_no_pool_or_audit_event(client, make_user, session, loan_change,
                                                                          message):
    bank = make_user("bank")
    loan = {"loan_id": "a", "borrower": "b", "balance_cny": "1000000.00", "annual_rate": 0.05, "term_months": 12,
            "annual_pd": 0.02, "recovery_rate": 0.3, "recovery_lag_months": 6, "industry": "C", "region": "440300"}
    loan.update(loan_change)
    r = client.post("/api/v1/pools", json={"name": "big", "assets": {"loans": [loan]}}, headers=bank.headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "assets"] and message in r.json()["detail"][0]["msg"]
    assert client.get("/api/v1/pools", headers=bank.headers).json()["count"] == 0
    events = session.exec(select(AuditEvent).where(AuditEvent.entity == "abs_pool",
                                                   AuditEvent.actor_user_id == bank.id)).all()
    assert events == []


def test_a_synthetic_pool_of_a_hundred_million_loans_is_refused_before_it_is_built(client, make_user):
    bank = make_user("bank")
    body = {"name": "huge", "assets": {"synthetic_loans": {"n": 100_000_000, "total_cny": "100.00"}}}
    r = client.post("/api/v1/pools", json=body, headers=bank.headers)
    assert r.status_code == 422 and "synthetic_loans.n" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda s: s.update(name="x" * 201), ["body", "structure", "name"]),
        (lambda s: s.update(payment_months="quarterly"), ["body", "structure", "payment_months"]),
        (lambda s: s.update(fees=[{"kind": "fixed"}]), ["body", "structure", "fees[0]", "name"]),
        (lambda s: s["guarantor"].update(tranches="Senior"), ["body", "structure", "guarantor", "tranches"]),
        (lambda s: s.update(credit={"rho": None}), ["body", "structure", "credit", "rho"]),
    ],
)
def test_more_bad_deal_structures_are_422_naming_the_field(client, make_user, change, loc):
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    s = _structure()
    change(s)
    r = client.post("/api/v1/deals", json={"pool_id": pool["id"], "structure": s}, headers=bank.headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc


def test_runs_are_listed_per_deal_without_results_and_hidden_from_other_organisations(client, make_user):
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    deal_id = client.post(
        "/api/v1/deals", json={"pool_id": pool["id"], "structure": _structure()}, headers=bank.headers
    ).json()["id"]
    ids = [client.post(f"/api/v1/deals/{deal_id}/runs", json=body, headers=bank.headers).json()["id"]
           for body in ({"mode": "deterministic"}, {"mode": "monte_carlo", "n_paths": 200, "seed": 1})]
    page = client.get(f"/api/v1/deals/{deal_id}/runs", headers=bank.headers).json()
    assert page["count"] == 2 and [r["id"] for r in page["data"]] == ids
    assert [r["mode"] for r in page["data"]] == ["deterministic", "monte_carlo"]
    assert all("result" not in r and r["status"] == "succeeded" for r in page["data"])
    other = make_user("bank")
    assert client.get(f"/api/v1/deals/{deal_id}/runs", headers=other.headers).status_code == 404


def test_residual_class_result_shows_the_excess_spread_it_receives(client, make_user):
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    deal_id = client.post(
        "/api/v1/deals", json={"pool_id": pool["id"], "structure": _structure()}, headers=bank.headers
    ).json()["id"]
    run = client.post(f"/api/v1/deals/{deal_id}/runs", json={"include_periods": False}, headers=bank.headers).json()
    sub = run["result"]["scenarios"][0]["tranches"]["Sub"]
    assert sub["residual_paid_fen"] > 0
    assert sub["holder_received_fen"] == sub["residual_paid_fen"] + sub["principal_paid_fen"]


def test_a_large_deterministic_run_goes_to_a_job_with_progress(client, make_user, monkeypatch):
    from api.securitization import service as crud_securitization

    monkeypatch.setattr(crud_securitization, "SYNC_DETERMINISTIC_LIMIT", 1)
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    deal_id = client.post(
        "/api/v1/deals", json={"pool_id": pool["id"], "structure": _structure()}, headers=bank.headers
    ).json()["id"]
    r = client.post(f"/api/v1/deals/{deal_id}/runs", json={"mode": "deterministic"}, headers=bank.headers)
    assert r.status_code == 202, r.text
    job = _poll(client, bank.headers, r.json()["job_id"])
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    run = client.get(f"/api/v1/deals/{deal_id}/runs/{r.json()['run_id']}", headers=bank.headers).json()
    assert run["status"] == "succeeded" and len(run["result"]["scenarios"]) == 3
    assert run["result"]["scenarios"][0]["periods"]


def test_a_run_can_price_tranches_and_a_bad_pricing_request_is_422(client, make_user):
    bank = make_user("bank")
    pool = _inline_pool(client, bank.headers)
    deal_id = client.post(
        "/api/v1/deals", json={"pool_id": pool["id"], "structure": _structure()}, headers=bank.headers
    ).json()["id"]
    body = {"include_periods": False, "pricing": {"Senior": {"spread": 0.01, "benchmark_yield": 0.025}}}
    r = client.post(f"/api/v1/deals/{deal_id}/runs", json=body, headers=bank.headers)
    assert r.status_code == 201, r.text
    priced = r.json()["result"]["scenarios"][0]["tranches"]["Senior"]["analytics_at_pricing"]
    assert priced["yield_rate"] == pytest.approx(0.035) and priced["spread"] == pytest.approx(0.01)
    for bad, loc in (({"Mezz": {"price": 99}}, ["body", "pricing"]),
                     ({"Senior": {"price": 99, "yield_rate": 0.03}}, ["body", "pricing", "Senior"])):
        r = client.post(f"/api/v1/deals/{deal_id}/runs", json={"pricing": bad}, headers=bank.headers)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("filename", "content"),
    [("tape.xlsx", b"not a zip at all"), ("tape.xlsx", b"PK\x03\x04truncated"), ("tape.csv", b"\xff\xfe\x00\x81")],
)
def test_an_unreadable_loan_tape_is_422_on_the_file_field(client, make_user, filename, content):
    bank = make_user("bank")
    r = client.post("/api/v1/pools/upload", data={"name": "tape"}, files={"file": (filename, content)},
                    headers=bank.headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "file"]
