"""Collateral stress API: the shipped scenarios, a named scenario on a stored book checked to the fen by
hand, custom shocks, a bureau's regional run, the Monte Carlo as a reproducible job, and the errors."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from tests.pledge.test_api_early_warning import TODAY, Spec, insert_book

pytestmark = pytest.mark.db

START = TODAY - timedelta(days=200)


def two_loans() -> list[Spec]:
    """A: manufacturer's invention patent, LTV 0.60; B: IT firm's trademark with odd amounts."""
    return [Spec(60_000_000, 100_000_000, START, industry="C"),
            Spec(20_000_001, 33_333_333, START, industry="I", ip_type="trademark")]


def test_the_named_scenarios_are_listed_with_their_rationale(client, make_user) -> None:
    bank = make_user("bank")
    r = client.get("/api/v1/stress-scenarios", headers=bank.headers)
    assert r.status_code == 200
    named = {s["name"]: s for s in r.json()}
    assert {"baseline", "sector_downturn", "patent_invalidation_wave", "rate_rise"} <= set(named)
    c = named["sector_downturn"]["industry_shocks"]["C"]
    assert c["value"] == "-0.30" and c["assumption"] is True and c["rationale"]
    assert client.get("/api/v1/stress-scenarios").status_code == 401


def test_sector_downturn_on_a_stored_book_to_the_fen(client, engine, make_user) -> None:
    bank = make_user("bank")
    ids = insert_book(engine, bank.org.id, two_loans())
    ew = client.post("/api/v1/early-warning/runs", json={}, headers=bank.headers).json()
    pd = {s["loan_id"]: s["pd"] for s in client.get(f"/api/v1/early-warning/runs/{ew['id']}/scores",
                                                     headers=bank.headers).json()["data"]}
    r = client.post("/api/v1/stress-runs", json={"scenario": "sector_downturn"}, headers=bank.headers)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["kind"] == "deterministic" and run["status"] == "succeeded"
    total = run["result"]["total"]
    # A: 1,000,000.00 × (1 − 30 %) = 700,000.00; 600,000.00 > 70 % × 700,000.00 → breach; the default policy
    # lends 60 % on invention patents: margin call 600,000.00 − 420,000.00 = 180,000.00
    # B: ⌊33,333,333 × 0.90⌋ = 29,999,999 fen; 20,000,001 ≤ 0.70 × 29,999,999 → no breach
    assert total["value_after_fen"] == 70_000_000 + 29_999_999
    assert (total["n_breach_before"], total["n_breach_after"]) == (0, 1)
    assert total["margin_call_fen"] == 18_000_000
    # provision: 1 % on both before; A moves to 关注 (2 %) → +600,000 fen (B: 200,000.01 → 200,000 fen)
    assert (total["provision_before_fen"], total["provision_after_fen"]) == (800_000, 1_400_000)
    assert total["provision_change_fen"] == 600_000
    # expected loss: PD × (balance − 40 % × value), the PD × 1.5 after the shock
    def el(p: float, bal: int, v: int) -> int:
        return int(np.rint(p * max(bal - v * 4000 // 10000, 0)))

    pa, pb = pd[ids[0]], pd[ids[1]]
    assert total["expected_loss_before_fen"] == el(pa, 60_000_000, 100_000_000) + el(pb, 20_000_001, 33_333_333)
    assert total["expected_loss_after_fen"] == el(min(1.0, pa * 1.5), 60_000_000, 70_000_000) + el(
        min(1.0, pb * 1.5), 20_000_001, 29_999_999)
    assert [g["key"] for g in run["result"]["by_bank"]] == [str(bank.org.id)]
    assert [g["key"] for g in run["result"]["by_province"]] == ["500000"]
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.entity == "stress_run",
                                                 AuditEvent.entity_id == str(run["id"]))).all()
    assert len(events) == 1
    again = client.get(f"/api/v1/stress-runs/{run['id']}", headers=bank.headers).json()
    assert again["result"] == run["result"]


def test_baseline_changes_nothing_and_custom_shocks_apply(client, engine, make_user) -> None:
    bank = make_user("bank")
    insert_book(engine, bank.org.id, two_loans())
    base = client.post("/api/v1/stress-runs", json={"scenario": "baseline"}, headers=bank.headers).json()["result"]
    t = base["total"]
    assert t["value_after_fen"] == t["value_before_fen"] == 133_333_333
    assert t["margin_call_fen"] == 0 and t["provision_change_fen"] == 0 and t["expected_loss_change_fen"] == 0
    r = client.post("/api/v1/stress-runs", json={"custom": {"ip_type_shocks": {"trademark": "-0.5"}}},
                    headers=bank.headers)
    assert r.status_code == 201, r.text
    t = r.json()["result"]["total"]
    assert t["value_after_fen"] == 100_000_000 + 16_666_666  # ⌊33,333,333 × 0.5⌋
    # B breaches: 20,000,001 − ⌊50 % × 16,666,666⌋ = 11,666,668
    assert t["n_breach_after"] == 1 and t["margin_call_fen"] == 11_666_668
    assert r.json()["scenario"] == "custom"


def test_a_bureau_stresses_its_region_across_banks(client, engine, make_user) -> None:
    b1, b2 = make_user("bank"), make_user("bank")
    insert_book(engine, b1.org.id, two_loans())
    insert_book(engine, b2.org.id, [Spec(10_000_000, 50_000_000, START, region="500100"),
                                    Spec(10_000_000, 50_000_000, START, region="440300")])
    bureau = make_user("bureau", region_code="500000")
    r = client.post("/api/v1/stress-runs", json={"scenario": "rate_rise"}, headers=bureau.headers)
    assert r.status_code == 201, r.text
    res = r.json()["result"]
    by_bank = {g["key"]: g for g in res["by_bank"]}
    assert by_bank[str(b1.org.id)]["n_loans"] == 2 and by_bank[str(b2.org.id)]["n_loans"] == 1
    assert {g["key"] for g in res["by_province"]} == {"500000"}
    for field in ("balance_fen", "margin_call_fen", "provision_after_fen", "expected_loss_after_fen"):
        assert sum(g[field] for g in res["by_bank"]) == res["total"][field]
    assert client.get(f"/api/v1/stress-runs/{r.json()['id']}", headers=b1.headers).status_code == 404


def _wait(client: Any, headers: dict[str, str], run_id: int) -> dict[str, Any]:
    for _ in range(400):
        run = client.get(f"/api/v1/stress-runs/{run_id}", headers=headers).json()
        if run["status"] != "queued":
            return dict(run)
        time.sleep(0.05)
    raise AssertionError("Monte Carlo run did not finish")


def test_monte_carlo_is_a_job_and_reproducible_by_seed(client, engine, make_user) -> None:
    bank = make_user("bank")
    insert_book(engine, bank.org.id, two_loans())
    body = {"monte_carlo": {"paths": 500, "seed": 7}}
    r1 = client.post("/api/v1/stress-runs", json=body, headers=bank.headers)
    assert r1.status_code == 202, r1.text
    assert r1.json()["status"] == "queued"
    run1 = _wait(client, bank.headers, r1.json()["id"])
    assert run1["status"] == "succeeded", run1
    job = client.get(f"/api/v1/jobs/{run1['job_id']}", headers=bank.headers).json()
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    run2 = _wait(client, bank.headers, client.post("/api/v1/stress-runs", json=body, headers=bank.headers).json()["id"])
    res = run1["result"]
    assert res["paths"] == 500 and res["margin_call"] == run2["result"]["margin_call"]
    assert res["margin_call"]["mean_fen"] >= 0 and len(res["margin_call"]["quantiles"]) == 5
    assert [g["key"] for g in res["by_bank"]] == [str(bank.org.id)]


def test_bad_requests(client, engine, make_user) -> None:
    bank = make_user("bank")
    insert_book(engine, bank.org.id, two_loans())
    r = client.post("/api/v1/stress-runs", json={"scenario": "nope"}, headers=bank.headers)
    assert r.status_code == 422 and "scenario" in r.text
    r = client.post("/api/v1/stress-runs", json={"scenario": "baseline", "monte_carlo": {}}, headers=bank.headers)
    assert r.status_code == 422
    r = client.post("/api/v1/stress-runs", json={"custom": {"ip_type_shocks": {"trademark": "-0.123456"}}},
                    headers=bank.headers)
    assert r.status_code == 422 and "custom" in r.text
    r = client.post("/api/v1/stress-runs", json={"monte_carlo": {"paths": 10}}, headers=bank.headers)
    assert r.status_code == 422 and "paths" in r.text
    r = client.post("/api/v1/stress-runs", json={"monte_carlo": {"systematic_loading": 0.9, "ip_type_loading": 0.9}},
                    headers=bank.headers)
    assert r.status_code == 422 and "monte_carlo" in r.text
    guarantor = make_user("guarantor")
    assert client.post("/api/v1/stress-runs", json={"scenario": "baseline"},
                       headers=guarantor.headers).status_code == 403
    empty = make_user("bank")
    r = client.post("/api/v1/stress-runs", json={"scenario": "baseline"}, headers=empty.headers)
    assert r.status_code == 422 and "data_cut" in r.text
