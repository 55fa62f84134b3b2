"""Loan products through the API: definition and versioning, a loan opened from a product copies
its terms, LPR fixings (shipped + admin), LPR repricing end to end, the daily penalty/compound
accrual (idempotent per day) and provisions by class. Dates are relative to today."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlmodel import select

from api.audit.models import AuditEvent
from api.pledge.models import ArrearsPosting
from ipfin.calendar import add_months
from ipfin.money import round_half_even_fen
from pledge.lpr import lpr_on
from tests.factories import borrower_body, ip_asset_body, loan_body

pytestmark = pytest.mark.db

TODAY = date.today()


def bank_team(make_user: Any) -> tuple[Any, Any]:
    maker = make_user("bank", "officer")
    return maker, make_user(maker.org, "approver")


def draft_loan(client: Any, maker: Any, orig: date, months: int = 12, amount: str = "1200000.00") -> dict[str, Any]:
    """Borrower → granted patent (fee paid, facts, scored valuation) → draft loan from ``orig``."""
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=maker.headers).json()
    a = client.post("/api/v1/ip-assets", headers=maker.headers,
                    json=ip_asset_body(b["id"], annual_fee_paid_until=(TODAY + timedelta(days=900)).isoformat()))
    assert a.status_code == 201, a.text
    aid = a.json()["id"]
    r = client.put(f"/api/v1/ip-assets/{aid}/pledge-facts", json={"expiry_date": "2041-04-01"}, headers=maker.headers)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/ip-assets/{aid}/valuations", headers=maker.headers, json={
        "value_cny": "12000000.00", "p5_cny": "7000000.00", "score": "82",
        "valuation_date": (orig - timedelta(days=10)).isoformat(), "source": "appraiser",
        "report_reference": "渝评报字[2026]第0815号"})
    assert r.status_code == 201, r.text
    body = loan_body(b["id"], [aid], amount_cny=amount, origination_date=orig.isoformat(),
                     maturity_date=add_months(orig, months).isoformat())
    loan = client.post("/api/v1/loans", json=body, headers=maker.headers)
    assert loan.status_code == 201, loan.text
    return {**loan.json(), "asset_id": aid}


def move(client: Any, actor: Any, loan_id: int, action: str, on: date, **kw: Any) -> Any:
    return client.post(f"/api/v1/loans/{loan_id}/transitions", json={"action": action, "on": on.isoformat(), **kw},
                       headers=actor.headers)


def activate(client: Any, maker: Any, checker: Any, loan_id: int, on: date) -> None:
    for action, actor, kw in [("submit", maker, {}), ("start_review", checker, {}), ("approve", checker, {}),
                              ("register_pledge", maker, {"pledge_registration_number": "Y2026500000123"}),
                              ("disburse", checker, {})]:
        r = move(client, actor, loan_id, action, on, **kw)
        assert r.status_code == 200, (action, r.text)


def product(client: Any, checker: Any, **kw: Any) -> dict[str, Any]:
    body = {"code": f"P{abs(hash((checker.id, str(kw)))) % 10**8}", "name": "知识产权质押贷", "fixed_rate": "0.045",
            **kw}
    r = client.post("/api/v1/pledge/products", json=body, headers=checker.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def schedule(client: Any, actor: Any, loan_id: int) -> dict[str, Any]:
    r = client.get(f"/api/v1/loans/{loan_id}/schedule", headers=actor.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


# ---------------------------------------------------------------- products


def test_a_product_is_versioned_and_a_loan_keeps_the_version_it_copied(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    p = product(client, checker, schedule_types=["equal_principal", "equal_instalment"], grace_months=3,
                penalty_multiplier="1.3", upfront_fee_rate="0.005")
    loan = draft_loan(client, maker, TODAY - timedelta(days=30))
    r = client.post(f"/api/v1/loans/{loan['id']}/product", json={"product_id": p["id"]}, headers=maker.headers)
    assert r.status_code == 200, r.text
    t = r.json()
    assert (t["schedule_type"], t["n_periods"], Decimal(t["annual_rate"])) == ("equal_principal", 12, Decimal("0.045"))
    r = client.patch(f"/api/v1/pledge/products/{p['id']}", json={"expected_version": 1, "fixed_rate": "0.05"},
                     headers=checker.headers)
    assert r.status_code == 200 and r.json()["version"] == 2
    stale = client.patch(f"/api/v1/pledge/products/{p['id']}", json={"expected_version": 1, "grace_months": 0},
                         headers=checker.headers)
    assert stale.status_code == 409
    lt = client.get(f"/api/v1/loans/{loan['id']}/lending-terms", headers=maker.headers).json()
    assert (lt["product_version"], lt["grace_months"], Decimal(lt["penalty_multiplier"])) == (1, 3, Decimal("1.3"))
    assert lt["convention"] == "monthly_360"  # the Chinese default for instalment loans
    rows = schedule(client, maker, loan["id"])["data"]
    assert [r["kind"] for r in rows[:3]] == ["grace"] * 3 and all(r["principal_fen"] == 0 for r in rows[:3])
    assert rows[0]["interest_fen"] == 450_000  # 1,200,000 CNY × 4.5 % / 12: a full month at annual/12
    assert sum(r["principal_fen"] for r in rows) == 120_000_000


def test_product_rules_are_enforced(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    assert client.post("/api/v1/pledge/products", json={"code": "X", "name": "x", "fixed_rate": "0.04"},
                       headers=maker.headers).status_code == 403  # approvers define products
    r = client.post("/api/v1/pledge/products", headers=checker.headers,
                    json={"code": "X", "name": "x", "fixed_rate": "0.04", "penalty_multiplier": "2"})
    assert r.status_code == 422 and "penalty_multiplier" in str(r.json()["detail"])
    p = product(client, checker, schedule_types=["interest_only"])
    loan = draft_loan(client, maker, TODAY - timedelta(days=30))
    r = client.post(f"/api/v1/loans/{loan['id']}/product", json={"product_id": p["id"],
                                                                 "schedule_type": "equal_instalment"},
                    headers=maker.headers)
    assert r.status_code == 422 and "schedule_type" in str(r.json()["detail"])
    other, _ = bank_team(make_user)
    assert client.post(f"/api/v1/loans/{loan['id']}/product", json={"product_id": p["id"]},
                       headers=other.headers).status_code == 404


# ---------------------------------------------------------------- LPR


def test_lpr_history_is_shipped_and_only_admins_add_fixings(client: Any, make_user: Any) -> None:
    maker, _ = bank_team(make_user)
    rows = client.get("/api/v1/pledge/lpr?tenor=1Y", headers=maker.headers).json()
    assert rows[0]["effective_date"] == "2019-08-20" and rows[0]["rate"] == "0.0425"
    body = {"effective_date": (TODAY - timedelta(days=1)).isoformat(), "tenor": "5Y", "rate": "0.0345",
            "note": "test"}
    assert client.post("/api/v1/pledge/lpr", json=body, headers=maker.headers).status_code == 403
    admin = make_user("admin", "officer")
    r = client.post("/api/v1/pledge/lpr", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    five = client.get("/api/v1/pledge/lpr?tenor=5Y", headers=maker.headers).json()
    assert (five[-1]["effective_date"], Decimal(five[-1]["rate"]), five[-1]["source"]) == (
        body["effective_date"], Decimal("0.0345"), "admin")
    future = {**body, "effective_date": (TODAY + timedelta(days=3)).isoformat()}
    assert client.post("/api/v1/pledge/lpr", json=future, headers=admin.headers).status_code == 422


def test_an_lpr_loan_reprices_on_its_anniversary_and_the_rest_is_recomputed(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    p = product(client, checker, rate_kind="lpr_spread", fixed_rate=None, spread_bp=50,
                schedule_types=["equal_principal"])
    orig = date(2024, 10, 8)  # 1Y LPR 3.35 % then; 3.10 % from 2024-10-21, 3.00 % from 2025-05-20
    loan = draft_loan(client, maker, orig, months=36)
    lid = loan["id"]
    assert client.post(f"/api/v1/loans/{lid}/product", json={"product_id": p["id"]},
                       headers=maker.headers).status_code == 200
    activate(client, maker, checker, lid, orig)
    start_rate = lpr_on(orig) + Decimal("0.005")
    assert Decimal(schedule(client, maker, lid)["annual_rate"]) == start_rate
    r = client.post(f"/api/v1/loans/{lid}/reprice", json={"on": "2025-10-08"}, headers=maker.headers)
    assert r.status_code == 200, r.text
    new_rate = lpr_on(date(2025, 10, 8)) + Decimal("0.005")
    assert r.json()["resets_applied"] == 1 and Decimal(r.json()["annual_rate"]) == new_rate
    s = schedule(client, maker, lid)
    assert Decimal(s["annual_rate"]) == new_rate
    rows = s["data"]
    # 等额本金: 1,200,000 CNY / 36; the line after the reset accrues on its opening balance at the new rate
    after = next(r for r in rows if r["period_start"] >= "2025-10-08")
    expected = round_half_even_fen(Fraction(after["opening_balance_fen"]) * Fraction(new_rate) / 12)
    assert after["interest_fen"] == expected
    assert sum(r["principal_fen"] for r in rows) == 120_000_000
    again = client.post(f"/api/v1/loans/{lid}/reprice", json={"on": "2025-10-08"}, headers=maker.headers)
    assert again.json()["resets_applied"] == 0
    lt = client.get(f"/api/v1/loans/{lid}/lending-terms", headers=maker.headers).json()
    assert [(d, Decimal(r)) for d, r in lt["rate_history"]] == [("2024-10-08", start_rate), ("2025-10-08", new_rate)]


# ---------------------------------------------------------------- arrears and provisions


def test_the_daily_job_posts_penalty_and_compound_interest_once_per_day(
    client: Any, make_user: Any, session: Any
) -> None:
    maker, checker = bank_team(make_user)
    orig = add_months(TODAY, -3) - timedelta(days=5)
    loan = draft_loan(client, maker, orig, months=12)
    lid = loan["id"]
    activate(client, maker, checker, lid, orig)
    first = schedule(client, maker, lid)["data"][0]
    due = date.fromisoformat(first["due_date"])
    run = client.post("/api/v1/pledge/arrears/run", json={"as_of": TODAY.isoformat()}, headers=maker.headers)
    assert run.status_code == 200, run.text
    posting = session.exec(select(ArrearsPosting).where(ArrearsPosting.loan_id == lid)).one()
    assert posting.accrued_to == TODAY
    # 罚息 and 复利 accrue on every overdue line from its due date: rate 3.85 % × 1.5, actual/360 (Chinese default)
    rows = schedule(client, maker, lid)["data"]
    penalty = compound = Fraction(0)
    for r in rows:
        d = date.fromisoformat(r["due_date"])
        if d < TODAY:
            penalty += Fraction(r["principal_fen"]) * Fraction("0.0385") * Fraction(3, 2) * (TODAY - d).days / 360
            compound += Fraction(r["interest_fen"]) * Fraction("0.0385") * Fraction(3, 2) * (TODAY - d).days / 360
    assert due < TODAY
    assert (posting.penalty_fen, posting.compound_fen) == (round_half_even_fen(penalty), round_half_even_fen(compound))
    again = client.post("/api/v1/pledge/arrears/run", json={"as_of": TODAY.isoformat()}, headers=maker.headers)
    assert again.status_code == 200 and again.json()["posted_fen"] == 0
    assert len(session.exec(select(ArrearsPosting).where(ArrearsPosting.loan_id == lid)).all()) == 1
    assert session.exec(select(AuditEvent).where(AuditEvent.entity_id == str(lid),
                                                 AuditEvent.action == "accrue_arrears")).first() is not None
    future = client.post("/api/v1/pledge/arrears/run", json={"as_of": (TODAY + timedelta(days=1)).isoformat()},
                         headers=maker.headers)
    assert future.status_code == 422


def test_provisions_by_class_use_the_bank_rates(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    orig = TODAY - timedelta(days=20)
    lid = draft_loan(client, maker, orig)["id"]
    activate(client, maker, checker, lid, orig)
    r = client.get("/api/v1/pledge/provisions", headers=maker.headers)
    assert r.status_code == 200, r.text
    normal = next(c for c in r.json()["classes"] if c["loan_class"] == "normal")
    assert (normal["count"], normal["outstanding_fen"], normal["provision_fen"], normal["label_zh"]) == (
        1, 120_000_000, 0, "正常")
    assert r.json()["general_reserve_fen"] == 1_200_000  # 1 % of 1,200,000 CNY
    bad = client.put("/api/v1/pledge/provisions/rates", json={"substandard": "0.6", "doubtful": "0.5"},
                     headers=checker.headers)
    assert bad.status_code == 422
    ok = client.put("/api/v1/pledge/provisions/rates", json={"normal": "0.015"}, headers=checker.headers)
    assert ok.status_code == 200, ok.text
    normal = next(c for c in ok.json()["classes"] if c["loan_class"] == "normal")
    assert normal["provision_fen"] == 1_800_000 and Decimal(normal["rate"]) == Decimal("0.015")


def test_the_cli_accrue_job_is_idempotent_per_day(client: Any, make_user: Any, session: Any, capsys: Any) -> None:
    from ipfin_app.cli import main

    maker, checker = bank_team(make_user)
    orig = add_months(TODAY, -2) - timedelta(days=3)
    lid = draft_loan(client, maker, orig)["id"]
    activate(client, maker, checker, lid, orig)
    assert main(["accrue", "--as-of", TODAY.isoformat()]) == 0
    assert main(["accrue", "--as-of", TODAY.isoformat()]) == 0
    assert '"posted_fen": 0' in capsys.readouterr().out.split('"as_of"')[-1]  # the second run posted nothing
    assert len(session.exec(select(ArrearsPosting).where(ArrearsPosting.loan_id == lid)).all()) == 1
    assert main(["accrue", "--as-of", (TODAY + timedelta(days=1)).isoformat()]) == 2


def test_the_products_pledge_rate_cap_is_checked_at_approval(client: Any, make_user: Any) -> None:
    maker, checker = bank_team(make_user)
    p = product(client, checker, max_pledge_rate="0.05")
    orig = TODAY - timedelta(days=5)
    lid = draft_loan(client, maker, orig)["id"]
    assert client.post(f"/api/v1/loans/{lid}/product", json={"product_id": p["id"]},
                       headers=maker.headers).status_code == 200
    for action, actor in (("submit", maker), ("start_review", checker)):
        assert move(client, actor, lid, action, orig).status_code == 200
    r = move(client, checker, lid, "approve", orig)
    assert r.status_code == 409 and "pledge-rate cap" in r.text
