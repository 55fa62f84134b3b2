"""Early-warning API: scoring runs on stored synthetic books with a known truth (the documented prior
when there is no history, a fitted logistic model when there is), per-loan drivers, alerts through the
pledge alert table, migration between runs, validation metrics on a stored book, tenancy and jobs."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select
from sqlmodel import Session

from api.audit.models import AuditEvent
from api.core.db import utcnow
from api.pledge.models import Borrower, CollateralValuation, IPAsset, Loan, LoanCollateral, PledgeAlert
from api.pledge.service import today
from pledge.early_warning import TrueHazardModel, auc, build_features

pytestmark = pytest.mark.db

TODAY = today()
NOW = utcnow()


@dataclass
class Spec:
    """One loan of a synthetic book: outstanding and collateral value (fen), origination, default date."""

    outstanding_fen: int
    value_fen: int
    originated: date
    days_past_due: int = 0
    default_date: date | None = None
    industry: str = "C"
    region: str = "500100"
    ip_type: str = "invention_patent"
    size: str = "small"


def insert_book(engine: Any, bank_id: int, specs: list[Spec]) -> list[int]:
    """Bulk-insert borrowers, assets, loans, collateral links and one valuation per loan (at origination)."""
    tag = uuid.uuid4().hex[:8]
    ids: list[int] = []
    with Session(engine) as s:
        conn = s.connection()
        for i, sp in enumerate(specs):
            b = conn.execute(insert(Borrower).values(
                name=f"借款企业{i}", credit_code=f"{tag}{i:010d}"[:18], region_code=sp.region, industry=sp.industry,
                size_class=sp.size, owner_org_id=bank_id, created_at=NOW)).inserted_primary_key[0]
            a = conn.execute(insert(IPAsset).values(
                ip_type=sp.ip_type, identifier=f"{tag}-{i}", title="专利", legal_status="granted", borrower_id=b,
                owner_org_id=bank_id, created_at=NOW)).inserted_primary_key[0]
            defaulted = sp.default_date is not None and sp.default_date <= TODAY
            loan = conn.execute(insert(Loan).values(
                reference=f"EW-{tag}-{i}", bank_org_id=bank_id, borrower_id=b, amount_fen=sp.outstanding_fen,
                outstanding_fen=sp.outstanding_fen, annual_rate="0.04", term_months=72,
                status="default" if defaulted else ("overdue" if sp.days_past_due else "active"),
                region_code=sp.region, province_code=sp.region[:2] + "0000", city_code=sp.region[:4] + "00",
                industry=sp.industry, primary_ip_type=sp.ip_type, ip_types=sp.ip_type,
                days_past_due=sp.days_past_due, default_date=sp.default_date, origination_date=sp.originated,
                maturity_date=sp.originated + timedelta(days=6 * 365), version=1, currency="CNY",
                created_at=NOW, updated_at=NOW)).inserted_primary_key[0]
            conn.execute(insert(LoanCollateral).values(loan_id=loan, ip_asset_id=a, pledge_status="registered"))
            conn.execute(insert(CollateralValuation).values(
                ip_asset_id=a, value_fen=sp.value_fen, valuation_date=sp.originated, source="appraiser",
                created_at=NOW))
            ids.append(int(loan))
        s.commit()
    return ids


def prior_pd(sp: Spec, cut: date = TODAY) -> float:
    """The documented true model's PD for a loan of :func:`insert_book`, computed independently."""
    years = (cut - sp.originated).days / 365.25
    ltv = sp.outstanding_fen / sp.value_fen
    X = build_features([{
        "ltv_now": ltv, "ltv_change": 0.0, "max_dpd_12m": sp.days_past_due, "dpd_now": sp.days_past_due,
        "n_fee_events_12m": 0, "valuation_cv": 0.30, "valuation_age_years": years, "loan_age_years": years,
        "legal_event": "none", "industry": sp.industry, "province": sp.region, "borrower_size": sp.size,
        "ip_type": sp.ip_type}])
    return float(TrueHazardModel.default().pd_12m(X)[0])


def small_book() -> list[Spec]:
    start = TODAY - timedelta(days=400)
    return [
        Spec(50_000_000, 100_000_000, start),  # LTV 0.5
        Spec(90_000_000, 60_000_000, start, days_past_due=45),  # LTV 1.5 and 45 days overdue: the riskiest
        Spec(30_000_000, 100_000_000, start, industry="M"),
        Spec(40_000_000, 100_000_000, start, size="large"),
    ]


def test_without_history_the_run_uses_the_documented_prior_and_says_so(client, engine, make_user) -> None:
    bank = make_user("bank")
    specs = small_book()
    ids = insert_book(engine, bank.org.id, specs)
    r = client.post("/api/v1/early-warning/runs", json={"alert_pd": 0.2}, headers=bank.headers)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["model_kind"] == "prior" and run["model_version"].startswith("prior-")
    assert "not fitted" in run["note"] and run["n_loans"] == 4 and run["metrics"] is None
    scores = client.get(f"/api/v1/early-warning/runs/{run['id']}/scores", headers=bank.headers).json()
    by_loan = {row["loan_id"]: row for row in scores["data"]}
    for loan_id, sp in zip(ids, specs, strict=True):
        assert by_loan[loan_id]["pd"] == pytest.approx(prior_pd(sp), rel=1e-9)
    riskiest = by_loan[ids[1]]
    assert riskiest["rank"] == 1 and riskiest["alert"] is True
    assert {d["feature"] for d in riskiest["drivers"][:2]} <= {"ltv_now", "dpd_now", "max_dpd_12m"}
    assert all(d["direction"] == "raises" for d in riskiest["drivers"][:2])
    expected_alerts = sorted(i for i, sp in zip(ids, specs, strict=True) if prior_pd(sp) >= 0.2)
    assert run["n_alerts"] == len(expected_alerts) >= 1
    with Session(engine) as s:
        alerts = s.exec(select(PledgeAlert.loan_id, PledgeAlert.severity).where(  # type: ignore[call-overload]
            PledgeAlert.loan_id.in_(ids), PledgeAlert.code == "early_warning")).all()
        audit = s.exec(select(AuditEvent).where(AuditEvent.entity == "ew_run",  # type: ignore[call-overload]
                                                AuditEvent.entity_id == str(run["id"]))).all()
    assert sorted(a[0] for a in alerts) == expected_alerts and {a[1] for a in alerts} == {"warning"}
    assert len(audit) == 1


def test_a_second_run_on_the_same_day_replaces_the_alerts_and_reports_migration(client, engine, make_user) -> None:
    bank = make_user("bank")
    specs = small_book()
    ids = insert_book(engine, bank.org.id, specs)
    first = client.post("/api/v1/early-warning/runs", json={"alert_pd": 0.2}, headers=bank.headers).json()
    with Session(engine) as s:  # the collateral of the first loan loses 60 % of its value
        asset = s.exec(select(LoanCollateral.ip_asset_id).where(LoanCollateral.loan_id == ids[0])).one()[0]  # type: ignore[call-overload]
        s.add(CollateralValuation(ip_asset_id=asset, value_fen=40_000_000, valuation_date=TODAY, source="appraiser"))
        s.commit()
    second = client.post("/api/v1/early-warning/runs", json={"alert_pd": 0.2}, headers=bank.headers).json()
    m = client.get(f"/api/v1/early-warning/runs/{second['id']}/migration", headers=bank.headers).json()
    assert m["previous_run_id"] == first["id"] and m["n_new"] == 0 and m["n_exited"] == 0
    assert sum(map(sum, m["matrix"])) == 4 and m["downgrades"] >= 1
    wl = client.get("/api/v1/early-warning/watchlist", headers=bank.headers).json()
    assert [r["id"] for r in wl["runs"]] == [second["id"]] and wl["count"] == 4
    row = next(r for r in wl["data"] if r["loan_id"] == ids[0])
    assert row["pd_change"] > 0 and row["previous_pd"] == pytest.approx(prior_pd(specs[0]))
    assert row["drivers"][0]["feature"] in ("ltv_now", "ltv_change")
    with Session(engine) as s:
        n = len(s.exec(select(PledgeAlert.id).where(  # type: ignore[call-overload]
            PledgeAlert.loan_id.in_(ids), PledgeAlert.code == "early_warning")).all())
    assert n == second["n_alerts"]  # the first run's alerts of the same day were replaced, not duplicated


def _cut(years: int) -> date:
    return TODAY.replace(year=TODAY.year - years) if (TODAY.month, TODAY.day) != (2, 29) else date(
        TODAY.year - years, 2, 28)


def history_book(n: int, seed: int) -> tuple[list[Spec], np.ndarray]:
    """Loans originated four years ago; at each of the three past yearly cuts a loan defaults within the
    year with the truth's PD (LTV, days overdue and industry drive it); returns specs and true PDs."""
    rng = np.random.default_rng(seed)
    start = _cut(4)
    specs = []
    for _ in range(n):
        ltv = rng.uniform(0.2, 2.0)
        sp = Spec(int(50_000_000 * ltv), 50_000_000, start, industry=str(rng.choice(["C", "I", "R"])))
        for k in (3, 2, 1):
            if rng.random() < prior_pd(sp, _cut(k)):
                sp.default_date = _cut(k) + timedelta(days=int(rng.integers(1, 365)))
                break
        specs.append(sp)
    return specs, np.array([prior_pd(sp, _cut(1)) for sp in specs])


def test_with_history_the_model_is_fitted_and_ranks_like_the_truth(client, engine, make_user) -> None:
    bank = make_user("bank")
    specs, _ = history_book(700, seed=14)
    insert_book(engine, bank.org.id, specs)
    r = client.post("/api/v1/early-warning/runs", json={}, headers=bank.headers)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["model_kind"] == "logistic" and run["model_version"].startswith("logistic-")
    assert run["n_train"] > 1000 and "fitted" in run["note"]
    oot = run["metrics"]
    assert oot is not None and oot["test_cut"] == _cut(1).isoformat() and len(oot["calibration"]) == 10
    # validation on the stored book a year back: the fitted model ranks like the true model on those loans
    v = client.get(f"/api/v1/early-warning/runs/{run['id']}/validation",
                   params={"data_cut": _cut(1).isoformat()}, headers=bank.headers)
    assert v.status_code == 200, v.text
    val = v.json()
    live = [sp for sp in specs if sp.default_date is None or sp.default_date > _cut(1)]
    y = np.array([1 if sp.default_date is not None else 0 for sp in live])
    true_auc = auc(y, [prior_pd(sp, _cut(1)) for sp in live])
    assert val["n"] == len(live) and val["n_defaults"] == int(y.sum())
    assert abs(val["auc"] - true_auc) < 0.03
    assert abs(val["mean_pd"] - val["default_rate"]) < 0.04
    assert 0 < val["brier"] < 0.25 and 0 < val["ks"] <= 1


def test_validation_needs_a_closed_outcome_window(client, engine, make_user) -> None:
    bank = make_user("bank")
    insert_book(engine, bank.org.id, small_book())
    run = client.post("/api/v1/early-warning/runs", json={}, headers=bank.headers).json()
    r = client.get(f"/api/v1/early-warning/runs/{run['id']}/validation",
                   params={"data_cut": (TODAY - timedelta(days=30)).isoformat()}, headers=bank.headers)
    assert r.status_code == 422 and "data_cut" in r.text


def test_bad_input_is_422_naming_the_field(client, engine, make_user) -> None:
    bank = make_user("bank")
    r = client.post("/api/v1/early-warning/runs", json={"alert_pd": 1.5}, headers=bank.headers)
    assert r.status_code == 422 and "alert_pd" in r.text
    r = client.post("/api/v1/early-warning/runs", json={"data_cut": (TODAY + timedelta(days=1)).isoformat()},
                    headers=bank.headers)
    assert r.status_code == 422 and "data_cut" in r.text
    r = client.post("/api/v1/early-warning/runs", json={}, headers=bank.headers)  # no live loans
    assert r.status_code == 422 and "data_cut" in r.text


def test_tenancy_banks_see_their_own_runs_bureaus_see_their_region(client, engine, make_user, monkeypatch) -> None:
    from api.core.config import get_settings

    bank = make_user("bank")
    other = make_user("bank")
    ids = insert_book(engine, bank.org.id, small_book())
    insert_book(engine, other.org.id, [Spec(10_000_000, 100_000_000, TODAY - timedelta(days=100), region="440300")])
    run = client.post("/api/v1/early-warning/runs", json={}, headers=bank.headers).json()
    client.post("/api/v1/early-warning/runs", json={}, headers=other.headers)
    assert client.get(f"/api/v1/early-warning/runs/{run['id']}", headers=other.headers).status_code == 404
    assert client.get(f"/api/v1/early-warning/runs/{run['id']}/scores", headers=other.headers).status_code == 404
    assert {r["loan_id"] for r in client.get("/api/v1/early-warning/watchlist",
                                             headers=bank.headers).json()["data"]} == set(ids)
    bureau = make_user("bureau", region_code="500000")
    assert client.post("/api/v1/early-warning/runs", json={}, headers=bureau.headers).status_code == 403
    summary = client.get("/api/v1/early-warning/summary", headers=bureau.headers).json()
    mine = [s for s in summary if s["bank_org_id"] == bank.org.id]
    assert mine == [{"province_code": "500000", "bank_org_id": bank.org.id, "n_loans": 4,
                     "n_alerts": run["n_alerts"], "mean_pd": pytest.approx(mine[0]["mean_pd"])}]
    assert all(s["province_code"] == "500000" for s in summary)  # not the other bank's Guangdong loan
    monkeypatch.setattr(get_settings(), "bureau_loan_level_access", False)
    assert client.get("/api/v1/early-warning/watchlist", headers=bureau.headers).json()["data"] == []
    assert client.get("/api/v1/early-warning/summary", headers=bureau.headers).json() == summary


def test_a_background_run_is_a_job_with_the_run_as_its_result(client, engine, make_user) -> None:
    bank = make_user("bank")
    insert_book(engine, bank.org.id, small_book())
    r = client.post("/api/v1/early-warning/runs", json={"background": True}, headers=bank.headers)
    assert r.status_code == 202, r.text
    job = {}
    for _ in range(200):
        job = client.get(f"/api/v1/jobs/{r.json()['job_id']}", headers=bank.headers).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "succeeded", job
    run = client.get(f"/api/v1/early-warning/runs/{job['result']['run_id']}", headers=bank.headers).json()
    assert run["n_loans"] == 4


def test_the_command_line_scores_validates_and_stresses(engine, make_user, capsys) -> None:
    from ipfin_app.cli import main

    bank = make_user("bank")
    insert_book(engine, bank.org.id, small_book())
    assert main(["early-warning", "score", "--org-id", str(bank.org.id), "--alert-pd", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "4 loan(s) scored" in out and "(prior)" in out
    assert main(["stress", "--org-id", str(bank.org.id), "--scenario", "sector_downturn"]) == 0
    assert '"margin_call_fen"' in capsys.readouterr().out
    assert main(["stress", "--org-id", str(bank.org.id), "--scenario", "nope"]) == 2
    assert main(["early-warning", "score", "--org-id", "999999999"]) == 2


def test_a_scoring_run_does_not_hide_the_monitoring_run_on_the_bank_page(
    client: Any, engine: Any, make_user: Any
) -> None:
    """Monitoring alerts (yesterday) and early-warning alerts (today) each keep their own latest date."""
    from datetime import date, timedelta

    from sqlmodel import Session

    from api.pledge import reports
    from api.pledge.models import PledgeAlert
    from tests.factories import create_loan_via_api

    bank = make_user("bank")
    loan = create_loan_via_api(client, bank.headers)
    today = date.today()
    with Session(engine) as s:
        s.add(PledgeAlert(loan_id=loan["id"], as_of=today - timedelta(days=1), code="overdue", severity="warning",
                          message="overdue"))
        s.add(PledgeAlert(loan_id=loan["id"], as_of=today, code="early_warning", severity="warning", message="PD"))
        s.commit()
    with engine.connect() as conn:
        rows = reports.monitoring_alerts(conn, bank.org)
    assert [r["code"] for r in rows] == ["overdue"]
