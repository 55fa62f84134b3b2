"""Pledge-loan API at its edges: loans without a ledger, out-of-range inputs, backdated moves,
margin calls, per-bank overdue buckets, statutory expiry, disposal checks and the net
recoveries risk sharing consumes, import conflicts and the monitoring command's bad input."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any

from sqlmodel import select

from api.audit.models import AuditEvent
from api.pledge.models import Loan, LoanCollateral
from tests.factories import borrower_body, ip_asset_body, loan_body
from tests.pledge.test_api_pledge import HEADER, ORIG, _row, bank_team, events, move, setup_loan, to_active

HUGE = "1" + "0" * 30  # 1e30 CNY: must be a 422, never a driver overflow (500)


def first_due(client: Any, actor: Any, loan_id: int) -> date:
    sched = client.get(f"/api/v1/loans/{loan_id}/schedule", headers=actor.headers).json()
    return date.fromisoformat(sched["data"][0]["due_date"])


def to_in_disposal(client: Any, maker: Any, checker: Any, loan_id: int) -> str:
    """Disburse, let the loan fall 100 days overdue, default it and start the disposal; returns the day."""
    to_active(client, maker, checker, loan_id)
    day = (first_due(client, maker, loan_id) + timedelta(days=100)).isoformat()
    assert client.post("/api/v1/pledge/monitoring/run", json={"as_of": day}, headers=maker.headers).status_code == 200
    for action, actor in [("declare_default", checker), ("start_disposal", maker)]:
        r = move(client, actor, loan_id, action, on=day)
        assert r.status_code == 200, (action, r.text)
    return day


# ---------------------------------------------------------------- loans disbursed outside ipfin


def test_payments_on_a_live_loan_without_a_ledger_are_409_not_500(client: Any, make_user: Any, session: Any) -> None:
    maker, _ = bank_team(make_user)
    lid = setup_loan(client, maker)["id"]
    loan = session.get(Loan, lid)
    loan.status, loan.outstanding_fen = "active", 123_456_789  # an imported, partly repaid loan: no ledger
    session.add(loan)
    session.commit()
    r = client.post(f"/api/v1/loans/{lid}/payments", headers=maker.headers, json={"amount_cny": "100.00",
                                                                                   "paid_on": "2025-10-01"})
    assert r.status_code == 409 and "no repayment ledger" in r.json()["detail"]
    r = client.post(f"/api/v1/loans/{lid}/charges", headers=maker.headers, json={"kind": "fee", "amount_cny": "5"})
    assert r.status_code == 409
    s = client.get(f"/api/v1/loans/{lid}/schedule", headers=maker.headers).json()
    assert s["projected"] is True and s["principal_outstanding_fen"] == 123_456_789
    assert events(client, maker, lid) == ["create"]


# ---------------------------------------------------------------- out-of-range inputs


def test_huge_amounts_and_ids_are_422_naming_the_field(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    loan = setup_loan(client, maker)
    lid, aid = loan["id"], loan["asset_id"]
    to_active(client, maker, checker, lid)
    cases = [
        (f"/api/v1/loans/{lid}/payments", {"amount_cny": HUGE, "paid_on": ORIG}, "amount_cny"),
        (f"/api/v1/ip-assets/{aid}/valuations", {"source": "appraiser", "value_cny": HUGE, "report_reference": "R",
                                                 "valuation_date": "2025-08-01"}, "value_cny"),
        (f"/api/v1/ip-assets/{aid}/valuations", {"source": "valuation", "valuation_id": 2**64}, "valuation_id"),
        ("/api/v1/pledge/max-loan", {"collateral": [{"asset_id": "P", "ip_type": "invention_patent", "score": "85",
                                                     "value_cny": HUGE}]}, "value_cny"),
        ("/api/v1/pledge/max-loan", {"ip_asset_ids": [2**64]}, "ip_asset_ids"),
        (f"/api/v1/loans/{lid}/charges", {"kind": "fee", "amount_cny": HUGE}, "amount_cny"),
    ]
    for path, body, field in cases:
        r = client.post(path, json=body, headers=maker.headers)
        assert r.status_code == 422 and field in str(r.json()["detail"]), (path, r.text)
    for path in [f"/api/v1/loans/{2**64}/schedule", f"/api/v1/alerts?loan_id={2**64}",
                 f"/api/v1/ip-assets/{2**64}/valuations"]:
        assert client.get(path, headers=maker.headers).status_code == 422, path
    assert client.get("/api/v1/pledge/loans/export?status=nonsense", headers=maker.headers).status_code == 422


def test_a_p5_above_the_appraised_value_is_refused(client: Any, make_user: Any) -> None:
    maker, _ = bank_team(make_user)
    aid = setup_loan(client, maker, valued=False)["asset_id"]
    r = client.post(f"/api/v1/ip-assets/{aid}/valuations", headers=maker.headers, json={
        "source": "appraiser", "value_cny": "100.00", "p5_cny": "200.00", "valuation_date": "2025-08-01",
        "report_reference": "R"})
    assert r.status_code == 422 and "p5_cny" in r.text
    r = client.post("/api/v1/pledge/max-loan", headers=maker.headers, json={"collateral": [
        {"asset_id": "P", "ip_type": "invention_patent", "score": "85", "value_cny": "100", "p5_cny": "101"}]})
    assert r.status_code == 422 and "p5_cny" in r.text


# ---------------------------------------------------------------- chronology


def test_a_move_dated_before_the_previous_move_is_422_and_writes_nothing(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    lid = setup_loan(client, maker)["id"]
    assert move(client, maker, lid, "submit", on="2025-09-10").status_code == 200
    r = move(client, checker, lid, "start_review", on="2025-09-09")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "on"]
    assert events(client, maker, lid) == ["create", "submit"]
    assert move(client, checker, lid, "start_review", on="2025-09-10").status_code == 200


# ---------------------------------------------------------------- monitoring


def test_ltv_breach_raises_one_margin_call_event_per_run_day(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    loan = setup_loan(client, maker)  # 5,000,000 CNY against 12,000,000: LTV 41.7 %
    lid, aid = loan["id"], loan["asset_id"]
    to_active(client, maker, checker, lid)
    r = client.post(f"/api/v1/ip-assets/{aid}/valuations", headers=maker.headers, json={
        "source": "appraiser", "value_cny": "6000000.00", "score": "60", "valuation_date": "2025-09-15",
        "report_reference": "复评[2026]01"})
    assert r.status_code == 201, r.text
    for _ in range(2):
        run = client.post("/api/v1/pledge/monitoring/run", json={"as_of": "2025-09-21"}, headers=maker.headers)
        assert run.status_code == 200, run.text
    alerts = client.get(f"/api/v1/alerts?loan_id={lid}&code=ltv_breach", headers=maker.headers).json()
    assert alerts["count"] == 1 and alerts["data"][0]["data"]["ltv"].startswith("0.8333")
    assert events(client, maker, lid).count("margin_call") == 1


def test_a_bank_sets_its_own_overdue_buckets(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    policy = client.get("/api/v1/pledge/policy", headers=maker.headers).json()
    assert (policy["overdue_bucket_bounds"], policy["npl_after_days"]) == ([30, 60, 90], 90)
    bad = client.put("/api/v1/pledge/policy", headers=checker.headers,
                     json={**policy, "overdue_bucket_bounds": [45, 15]})
    assert bad.status_code == 422 and "overdue_bucket_bounds" in bad.text
    r = client.put("/api/v1/pledge/policy", headers=checker.headers,
                   json={**policy, "overdue_bucket_bounds": [15, 45], "npl_after_days": 45})
    assert r.status_code == 200, r.text
    lid = setup_loan(client, maker)["id"]
    to_active(client, maker, checker, lid)
    as_of = (first_due(client, maker, lid) + timedelta(days=20)).isoformat()
    client.post("/api/v1/pledge/monitoring/run", json={"as_of": as_of}, headers=maker.headers)
    assert client.get(f"/api/v1/loans/{lid}/buckets", headers=maker.headers).json()[-1]["bucket"] == "16-45"


def test_monitor_command_refuses_a_bad_date(capsys: Any) -> None:
    from ipfin_app.commands.pledge import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["monitor", "--as-of", "2025-13-01"])
    assert args.func(args) == 2
    assert "--as-of" in capsys.readouterr().err


# ---------------------------------------------------------------- eligibility


def test_without_a_recorded_expiry_the_statutory_term_still_blocks_a_loan_outliving_the_patent(
    client: Any, make_user: Any
) -> None:
    maker, _ = bank_team(make_user)
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=maker.headers).json()
    a = client.post("/api/v1/ip-assets", headers=maker.headers, json=ip_asset_body(
        b["id"], filing_date="2006-03-01", annual_fee_paid_until="2030-12-31")).json()  # in force until 2026-03-01
    client.post(f"/api/v1/ip-assets/{a['id']}/valuations", headers=maker.headers, json={
        "source": "appraiser", "value_cny": "12000000.00", "score": "80", "valuation_date": "2025-08-01",
        "report_reference": "R"})
    lid = client.post("/api/v1/loans", headers=maker.headers, json=loan_body(
        b["id"], [a["id"]], origination_date=ORIG, maturity_date="2026-09-01")).json()["id"]
    el = client.get(f"/api/v1/loans/{lid}/eligibility?on={ORIG}", headers=maker.headers).json()
    assert [r["reason"] for r in el["reasons"]] == ["maturity_after_expiry"]
    assert "2026-03-01" in el["reasons"][0]["message"]


# ---------------------------------------------------------------- disposal


def test_recovery_needs_a_recorded_disposal_dated_after_default(
    client: Any, make_user: Any, session: Any
) -> None:
    from api.pledge import disposal as crud_pledge

    maker, checker = bank_team(make_user)
    loan = setup_loan(client, maker)
    lid, aid = loan["id"], loan["asset_id"]
    day = to_in_disposal(client, maker, checker, lid)
    r = move(client, maker, lid, "complete_recovery", on=day)
    assert r.status_code == 409 and "no disposal" in r.json()["detail"]["message"]
    early = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    later = (date.fromisoformat(day) + timedelta(days=30)).isoformat()
    for body, field in [({"started_on": early}, "started_on"), ({"started_on": later, "completed_on": day},
                                                                 "completed_on")]:
        r = client.post(f"/api/v1/loans/{lid}/disposals", headers=maker.headers,
                        json={"method": "reverse_licence", "ip_asset_ids": [aid], **body})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
    r = client.post(f"/api/v1/loans/{lid}/disposals", headers=maker.headers, json={
        "method": "reverse_licence", "ip_asset_ids": [aid], "started_on": day,
        "proceeds": [{"on": day, "amount_cny": "1000000.00"}, {"on": later, "amount_cny": "1500000.00"}],
        "costs": [{"on": later, "amount_cny": "200000.00"}]})
    assert r.status_code == 201, r.text
    summary = r.json()
    loan_row = session.get(Loan, lid)
    flows = crud_pledge.net_recovery_flows(session, loan_row)
    assert flows == [(date.fromisoformat(day), 100_000_000), (date.fromisoformat(later), 130_000_000)]
    assert sum(a for _, a in flows) == summary["net_recovery_fen"] == 230_000_000
    assert move(client, maker, lid, "complete_recovery", on=later).status_code == 200
    link = session.exec(select(LoanCollateral).where(LoanCollateral.loan_id == lid)).one()
    session.refresh(link)
    assert link.pledge_status == "released"


# ---------------------------------------------------------------- import


def test_import_reports_an_asset_of_another_borrower_per_row_and_imports_nothing(
    client: Any, make_user: Any, session: Any
) -> None:
    maker, _ = bank_team(make_user)
    owned = setup_loan(client, maker)
    ident = client.get(f"/api/v1/ip-assets/{owned['asset_id']}", headers=maker.headers).json()["identifier"]
    from tests.factories import patent_number

    shared = patent_number()
    rows = (HEADER + _row(identifier=ident) + _row(identifier=shared) + _row(identifier=shared)
            + _row(amount_cny="10000000000000.00"))
    r = client.post("/api/v1/pledge/loans/import", headers=maker.headers,
                    files={"file": ("loans.csv", rows.encode("utf-8"), "text/csv")})
    assert r.status_code == 422, r.text
    errs = {(e["row"], e["field"]) for e in r.json()["detail"]["errors"]}
    assert errs == {(2, "identifier"), (4, "identifier"), (5, "amount_cny")}
    assert client.get("/api/v1/loans", headers=maker.headers).json()["count"] == 1
    created = session.exec(select(AuditEvent).where(AuditEvent.actor_user_id == maker.id,
                                                    AuditEvent.action == "create")).all()
    assert len(created) == 3  # borrower, asset and loan of setup_loan only


# ---------------------------------------------------------------- bureau tenancy


def test_a_bureau_reads_loans_of_its_region_only_and_never_moves_them(
    client: Any, make_user: Any, monkeypatch: Any
) -> None:
    from api.core.config import reset_settings

    maker, checker = bank_team(make_user)
    lid = setup_loan(client, maker)["id"]  # borrower in 500100 (Chongqing)
    to_active(client, maker, checker, lid)
    client.post("/api/v1/pledge/monitoring/run", json={"as_of": "2028-01-01"}, headers=maker.headers)
    chongqing = make_user("bureau", "viewer", region_code="500000")
    sichuan = make_user("bureau", "viewer", region_code="510000")
    for path in [f"/api/v1/loans/{lid}/schedule", f"/api/v1/loans/{lid}/events", f"/api/v1/loans/{lid}/disposals"]:
        assert client.get(path, headers=chongqing.headers).status_code == 200, path
        assert client.get(path, headers=sichuan.headers).status_code == 404, path
    assert client.get(f"/api/v1/alerts?loan_id={lid}", headers=chongqing.headers).json()["count"] >= 1
    assert client.get(f"/api/v1/alerts?loan_id={lid}", headers=sichuan.headers).json()["count"] == 0
    assert move(client, chongqing, lid, "settle").status_code == 403
    assert client.post("/api/v1/pledge/monitoring/run", json={}, headers=chongqing.headers).status_code == 403
    monkeypatch.setenv("IPFIN_BUREAU_LOAN_LEVEL_ACCESS", "false")
    reset_settings()
    try:  # loan-level data only if the configuration allows it
        assert client.get(f"/api/v1/loans/{lid}/schedule", headers=chongqing.headers).status_code == 404
        assert client.get(f"/api/v1/alerts?loan_id={lid}", headers=chongqing.headers).json()["count"] == 0
    finally:
        monkeypatch.delenv("IPFIN_BUREAU_LOAN_LEVEL_ACCESS")
        reset_settings()


def test_eligibility_on_or_after_maturity_is_422_on_the_query_parameter(client: Any, make_user: Any) -> None:
    maker, _ = bank_team(make_user)
    lid = setup_loan(client, maker)["id"]
    r = client.get(f"/api/v1/loans/{lid}/eligibility?on=2026-09-01", headers=maker.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "on"]


def test_monitoring_runs_as_a_background_job_on_request(client: Any, make_user: Any) -> None:
    import time

    maker, checker = bank_team(make_user)
    lid = setup_loan(client, maker)["id"]
    to_active(client, maker, checker, lid)
    as_of = (first_due(client, maker, lid) + timedelta(days=5)).isoformat()
    r = client.post("/api/v1/pledge/monitoring/run", json={"as_of": as_of, "background": True},
                    headers=maker.headers)
    assert r.status_code == 202, r.text
    job: dict[str, Any] = {}
    for _ in range(200):
        job = client.get(f"/api/v1/jobs/{r.json()['job_id']}", headers=maker.headers).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "succeeded", job
    assert job["result"]["loans_checked"] == 1 and job["result"]["moved_to_overdue"] == [lid]
    assert client.get(f"/api/v1/loans/{lid}", headers=maker.headers).json()["status"] == "overdue"
    assert events(client, maker, lid)[-1] == "mark_overdue"


# ---------------------------------------------------------------- terms


def test_terms_must_fit_the_loan_term_and_give_a_non_negative_rate(client: Any, make_user: Any) -> None:
    maker, _ = bank_team(make_user)
    lid = setup_loan(client, maker)["id"]  # 2025-09-01 → 2026-09-01: 12 months
    for body, field in [({"rate_kind": "lpr_spread", "lpr": "0.0100", "spread_bp": -1000}, "spread_bp"),
                        ({"annual_rate": "0.04", "months_per_period": 12, "n_periods": 5}, "n_periods"),
                        ({"annual_rate": "0.04", "n_periods": 1}, "n_periods")]:
        r = client.put(f"/api/v1/loans/{lid}/terms", headers=maker.headers, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
    assert events(client, maker, lid) == ["create"]
    r = client.put(f"/api/v1/loans/{lid}/terms", headers=maker.headers,
                   json={"annual_rate": "0.045", "months_per_period": 3, "schedule_type": "interest_only"})
    assert r.status_code == 200 and r.json()["n_periods"] == 4
    s = client.get(f"/api/v1/loans/{lid}/schedule", headers=maker.headers).json()
    assert [i["principal_fen"] for i in s["data"]] == [0, 0, 0, 500_000_000]
    assert s["data"][-1]["due_date"] == "2026-09-01"
    # interest of the first quarter: 5,000,000 × 4.5 % × days / 360, to the fen (ACT/360, the PBoC daily rate
    # for an interest-only loan)
    first = s["data"][0]
    assert first["interest_fen"] == round(500_000_000 * 45 * first["days"] / (1000 * 360))


def test_an_import_file_is_limited_in_rows(client: Any, make_user: Any, monkeypatch: Any) -> None:
    from api.pledge import io as crud_pledge

    maker, _ = bank_team(make_user)
    monkeypatch.setattr(crud_pledge, "MAX_IMPORT_ROWS", 2)
    r = client.post("/api/v1/pledge/loans/import", headers=maker.headers, files={
        "file": ("loans.csv", (HEADER + _row() + _row() + _row()).encode("utf-8"), "text/csv")})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "file"
    assert client.get("/api/v1/loans", headers=maker.headers).json()["count"] == 0


# ---------------------------------------------------------------- pledge-rate policy at approval


def test_approval_is_refused_above_the_policy_maximum_loan(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    # 7,000,000 CNY against 12,000,000 appraised, score 82: 12,000,000 × 60 % × 0.90 × 0.95 = 6,156,000 max
    lid = setup_loan(client, maker, amount_cny="7000000.00")["id"]
    for action, actor in [("submit", maker), ("start_review", checker)]:
        assert move(client, actor, lid, action).status_code == 200
    r = move(client, checker, lid, "approve")
    assert r.status_code == 409
    reasons = r.json()["detail"]["reasons"]
    assert [x["reason"] for x in reasons] == ["above_max_loan"] and "6,156,000.00" in reasons[0]["message"]
    assert "approve" not in events(client, maker, lid)
    ok = setup_loan(client, maker, amount_cny="6156000.00")["id"]
    for action, actor in [("submit", maker), ("start_review", checker), ("approve", checker)]:
        assert move(client, actor, ok, action).status_code == 200, action


def test_a_valuation_without_indicator_score_cannot_set_the_pledge_rate(client: Any, make_user: Any) -> None:
    maker, _ = bank_team(make_user)
    loan = setup_loan(client, maker, valued=False)
    client.post(f"/api/v1/ip-assets/{loan['asset_id']}/valuations", headers=maker.headers, json={
        "source": "appraiser", "value_cny": "12000000.00", "valuation_date": "2025-08-01", "report_reference": "R"})
    el = client.get(f"/api/v1/loans/{loan['id']}/eligibility?on={ORIG}", headers=maker.headers).json()
    assert [r["reason"] for r in el["reasons"]] == ["valuation_missing"] and "indicator score" in el["reasons"][0][
        "message"]
