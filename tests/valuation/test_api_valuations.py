"""Valuation API: run and store (201), large runs queued as jobs (202), read, report (HTML/JSON),
422 naming the field, tenancy (another organisation's valuation is 404), audit events."""

import copy
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

import valuation
from api.audit.models import AuditEvent
from api.valuation.models import Valuation
from tests.factories import borrower_body, ip_asset_body

EXAMPLE = {"valuation_date": "2025-12-31",  # the day the expected figures are for
           **json.loads((Path(valuation.__file__).parent / "examples" / "invention_patent.json").read_text("utf-8"))}


def body(paths: int = 4000, **top: Any) -> dict[str, Any]:
    d = copy.deepcopy(EXAMPLE)
    d["monte_carlo"]["paths"] = paths
    d["monte_carlo"]["chunk_size"] = min(paths, 100_000)
    d.update(top)
    return d


def test_post_runs_and_stores_a_valuation_in_fen(client: Any, make_user: Any, engine: Any) -> None:
    bank = make_user("bank", "officer")
    r = client.post("/api/v1/valuations", json=body(), headers=bank.headers)
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["status"] == "succeeded" and isinstance(v["appraised_value_fen"], int)
    res = v["result"]
    assert v["appraised_value_fen"] == sum(ln["contribution_fen"] for ln in res["reconciliation"])
    assert v["appraised_value_cny"] == f"{v['appraised_value_fen'] // 100}.{v['appraised_value_fen'] % 100:02d}"
    assert v["mc_mean_fen"] == res["monte_carlo"]["mean_fen"] and v["n_paths"] == 4000
    with Session(engine) as s:
        row = s.get(Valuation, v["id"])
        assert row is not None and row.appraised_value_fen == v["appraised_value_fen"]
        events = s.exec(
            select(AuditEvent).where(AuditEvent.entity == "valuation", AuditEvent.entity_id == str(v["id"]))
        ).all()
        assert [e.action for e in events] == ["create"]
    got = client.get(f"/api/v1/valuations/{v['id']}", headers=bank.headers)
    assert got.status_code == 200 and got.json()["result"] == res


def test_same_request_and_seed_gives_the_same_value(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    a = client.post("/api/v1/valuations", json=body(), headers=bank.headers).json()
    b = client.post("/api/v1/valuations", json=body(), headers=bank.headers).json()
    assert a["id"] != b["id"] and a["appraised_value_fen"] == b["appraised_value_fen"]


def test_report_as_html_and_json(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    v = client.post("/api/v1/valuations", json=body(), headers=bank.headers).json()
    html = client.get(f"/api/v1/valuations/{v['id']}/report?format=html", headers=bank.headers)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "知识产权价值评估报告 / IP valuation report" in html.text and "Plotly.newPlot('fig-tornado'" in html.text
    # plotly.js is served by ipfin itself, so the report renders without internet access
    assert "src='/api/v1/static/plotly.min.js'" in html.text
    js = client.get("/api/v1/static/plotly.min.js")
    assert js.status_code == 200 and "plotly" in js.text[:2000].lower() and len(js.content) > 1_000_000
    en = client.get(f"/api/v1/valuations/{v['id']}/report?format=html&lang=en", headers=bank.headers)
    assert "知识产权价值评估报告" not in en.text
    js = client.get(f"/api/v1/valuations/{v['id']}/report?format=json", headers=bank.headers)
    assert js.status_code == 200 and js.json()["appraised_value_fen"] == v["appraised_value_fen"]
    assert client.get(f"/api/v1/valuations/{v['id']}/report?format=pdf", headers=bank.headers).status_code == 422


def test_bad_inputs_are_422_naming_the_field_and_store_nothing(client: Any, make_user: Any, engine: Any) -> None:
    bank = make_user("bank", "officer")
    cases = [
        (lambda d: d["economics"].update(base_revenue_cny="-5"), "base_revenue_cny"),
        (lambda d: d["economics"].update(tax_rate=1.0), "tax_rate"),
        (lambda d: d["income"].update(economic_life_years=30), "economic_life_years"),
        (lambda d: d.update(weights={"income": 0.7, "market": 0.2}), "weights"),
        (lambda d: d["scores"].pop("stability"), "scores.stability"),
    ]
    for mutate, field in cases:
        d = body()
        mutate(d)
        r = client.post("/api/v1/valuations", json=d, headers=bank.headers)
        assert r.status_code == 422, (field, r.text)
        assert field in r.text, (field, r.text)
    d = body()
    d["economics"]["revenue_growth"] = "NaN"
    r = client.post("/api/v1/valuations", json=d, headers=bank.headers)
    assert r.status_code == 422 and "revenue_growth" in r.text
    with Session(engine) as s:
        assert s.exec(select(Valuation).where(Valuation.owner_org_id == bank.org.id)).all() == []


def test_another_organisations_valuation_is_not_found(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    other = make_user("bank", "officer")
    v = client.post("/api/v1/valuations", json=body(), headers=bank.headers).json()
    assert client.get(f"/api/v1/valuations/{v['id']}", headers=other.headers).status_code == 404
    assert client.get(f"/api/v1/valuations/{v['id']}/report", headers=other.headers).status_code == 404
    page = client.get("/api/v1/valuations", headers=other.headers).json()
    assert v["id"] not in [x["id"] for x in page["data"]]
    mine = client.get("/api/v1/valuations", headers=bank.headers).json()
    assert mine["count"] == 1 and mine["data"][0]["result"] is None


def test_roles_authentication_and_unknown_ids(client: Any, make_user: Any) -> None:
    assert client.post("/api/v1/valuations", json=body()).status_code == 401
    viewer = make_user("bank", "viewer")
    assert client.post("/api/v1/valuations", json=body(), headers=viewer.headers).status_code == 403
    bureau = make_user("bureau", "officer")
    assert client.post("/api/v1/valuations", json=body(), headers=bureau.headers).status_code == 403
    assert client.get("/api/v1/valuations/999999999", headers=viewer.headers).status_code == 404


def test_linking_a_stored_ip_asset_checks_visibility_and_type(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=bank.headers).json()
    a = client.post(
        "/api/v1/ip-assets",
        json=ip_asset_body(b["id"], identifier="CN201810123456.5", filing_date="2018-03-15"),
        headers=bank.headers,
    ).json()
    r = client.post("/api/v1/valuations", json=body(ip_asset_id=a["id"]), headers=bank.headers)
    assert r.status_code == 201 and r.json()["ip_asset_id"] == a["id"]
    listed = client.get(f"/api/v1/valuations?ip_asset_id={a['id']}", headers=bank.headers).json()
    assert listed["count"] == 1
    other = make_user("bank", "officer")
    assert client.post("/api/v1/valuations", json=body(ip_asset_id=a["id"]), headers=other.headers).status_code == 404
    d = body(ip_asset_id=a["id"])
    d["asset"] = {**d["asset"], "identifier": "CN202010654321.9"}
    r = client.post("/api/v1/valuations", json=d, headers=bank.headers)
    assert r.status_code == 422 and "asset.identifier" in r.text


def test_large_run_is_queued_as_a_job_with_progress_then_stored(client: Any, make_user: Any, engine: Any) -> None:
    from api.valuation import service as crud_valuation

    bank = make_user("bank", "officer")
    old = crud_valuation.SYNC_MAX_PATHS
    crud_valuation.SYNC_MAX_PATHS = 10_000  # keep the test fast: 20,000 paths count as "large"
    try:
        r = client.post("/api/v1/valuations", json=body(paths=20_000), headers=bank.headers)
    finally:
        crud_valuation.SYNC_MAX_PATHS = old
    assert r.status_code == 202, r.text
    q = r.json()
    for _ in range(600):  # poll the job like a client would
        job = client.get(f"/api/v1/jobs/{q['job_id']}", headers=bank.headers).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0 and job["result"]["valuation_id"] == q["valuation_id"]
    v = client.get(f"/api/v1/valuations/{q['valuation_id']}", headers=bank.headers).json()
    assert v["status"] == "succeeded" and v["appraised_value_fen"] == job["result"]["appraised_value_fen"]
    assert v["result"]["monte_carlo"]["n_paths"] == 20_000
    with Session(engine) as s:
        actions = [
            e.action
            for e in s.exec(
                select(AuditEvent)
                .where(AuditEvent.entity == "valuation", AuditEvent.entity_id == str(q["valuation_id"]))
                .order_by(AuditEvent.id)
            ).all()
        ]
    assert actions == ["create", "complete"]


def test_queued_run_with_bad_scores_is_rejected_before_queueing(client: Any, make_user: Any) -> None:
    from api.valuation import service as crud_valuation

    bank = make_user("bank", "officer")
    d = body(paths=20_000)
    d["scores"].pop("advancement")
    old = crud_valuation.SYNC_MAX_PATHS
    crud_valuation.SYNC_MAX_PATHS = 10_000
    try:
        r = client.post("/api/v1/valuations", json=d, headers=bank.headers)
    finally:
        crud_valuation.SYNC_MAX_PATHS = old
    assert r.status_code == 422 and "scores.advancement" in r.text


def test_report_of_a_queued_valuation_is_409(client: Any, make_user: Any, engine: Any) -> None:
    bank = make_user("bank", "officer")
    with Session(engine) as s:
        row = Valuation(
            owner_org_id=bank.org.id,
            identifier="X",
            ip_type="trademark",
            valuation_date=date(2025, 1, 1),
            status="queued",
            n_paths=10,
            seed=1,
            request={},
        )
        s.add(row)
        s.commit()
        s.refresh(row)
        vid = row.id
    assert client.get(f"/api/v1/valuations/{vid}/report", headers=bank.headers).status_code == 409
