"""The calendar override table: admin-only, audited, and used by every schedule — the 2027 holidays and
substituted working days entered from the State Council notice show in a loan's due dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from api.audit.models import AuditEvent
from ipfin.calendar import package_published_horizon
from tests.factories import borrower_body, ip_asset_body, loan_body

pytestmark = pytest.mark.db

# A 2027 notice entered as overrides where it departs from the package's estimate (which takes 5–10 Feb
# off for the Spring Festival and knows no 调休): Wednesday 10 Feb back to work, Saturday 20 Feb a working
# day (调休), Friday 5 Mar a day off. Contractual due dates on the 10th, 20th and 5th show each of them.
OVERRIDES = {date(2027, 2, 10): "working", date(2027, 2, 20): "working", date(2027, 3, 5): "holiday"}


@pytest.fixture
def overrides(client: Any, make_user: Any) -> Any:
    admin = make_user("admin", "officer")
    for day, kind in OVERRIDES.items():
        r = client.put(f"/api/v1/pledge/calendar/overrides/{day.isoformat()}", headers=admin.headers,
                       json={"kind": kind, "note": "国务院办公厅关于2027年部分节假日安排的通知 (test)"})
        assert r.status_code == 200, r.text
    yield admin
    for day in OVERRIDES:
        client.delete(f"/api/v1/pledge/calendar/overrides/{day.isoformat()}", headers=admin.headers)


def draft(client: Any, maker: Any, orig: date) -> int:
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=maker.headers).json()
    a = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"]), headers=maker.headers).json()
    body = loan_body(b["id"], [a["id"]], origination_date=orig.isoformat(), maturity_date=date(
        orig.year + 1, orig.month, orig.day).isoformat())
    r = client.post("/api/v1/loans", json=body, headers=maker.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def due_dates(client: Any, maker: Any, loan_id: int) -> list[str]:
    r = client.get(f"/api/v1/loans/{loan_id}/schedule", headers=maker.headers)
    assert r.status_code == 200, r.text
    return [i["due_date"] for i in r.json()["data"]]


def test_2027_notice_entered_as_overrides_moves_due_dates_in_a_schedule(
    client: Any, make_user: Any, overrides: Any
) -> None:
    maker = make_user("bank", "officer")
    assert "2027-02-10" in due_dates(client, maker, draft(client, maker, date(2026, 11, 10)))  # estimate: 11 Feb
    assert "2027-02-20" in due_dates(client, maker, draft(client, maker, date(2026, 11, 20)))  # 调休 Saturday
    march = due_dates(client, maker, draft(client, maker, date(2026, 12, 5)))
    assert "2027-03-05" not in march and "2027-03-08" in march  # day off → next business day (Monday)
    view = client.get("/api/v1/pledge/calendar/2027", headers=maker.headers).json()
    assert "2027-02-20" in view["working_weekends"] and "2027-03-05" in view["holidays"]
    assert "2027-02-10" not in view["holidays"]
    assert view["published_horizon"] >= 2027 and view["beyond_horizon"] is False


def test_without_the_notice_2027_is_beyond_the_published_horizon(client: Any, make_user: Any) -> None:
    maker = make_user("bank", "officer")
    if package_published_horizon() >= 2027:
        pytest.fail("the holidays package now carries the 2027 notice: update this test's premise")
    view = client.get("/api/v1/pledge/calendar/2027", headers=maker.headers).json()
    assert view["beyond_horizon"] is True and "调休" in view["warning"]
    lid = draft(client, maker, date(2026, 11, 5))
    rows = client.get(f"/api/v1/loans/{lid}/schedule", headers=maker.headers).json()["data"]
    assert [r["beyond_calendar_horizon"] for r in rows[:2]] == [False, True]  # 2026-12 known; 2027-01 estimated


def test_only_admins_write_overrides_and_every_write_is_audited(
    client: Any, make_user: Any, session: Any
) -> None:
    maker = make_user("bank", "approver")
    day = (date.today() + timedelta(days=4000)).isoformat()
    body = {"kind": "holiday", "note": "test"}
    assert client.put(f"/api/v1/pledge/calendar/overrides/{day}", json=body, headers=maker.headers).status_code == 403
    admin = make_user("admin", "officer")
    assert client.put(f"/api/v1/pledge/calendar/overrides/{day}", json={"kind": "rest", "note": "x"},
                      headers=admin.headers).status_code == 422
    assert client.put(f"/api/v1/pledge/calendar/overrides/{day}", json=body, headers=admin.headers).status_code == 200
    assert client.delete(f"/api/v1/pledge/calendar/overrides/{day}", headers=admin.headers).status_code == 204
    assert client.delete(f"/api/v1/pledge/calendar/overrides/{day}", headers=admin.headers).status_code == 404
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity == "calendar_override",
                                                           AuditEvent.entity_id == day).order_by(AuditEvent.id)).all()
    assert list(actions) == ["set", "delete"]


def test_the_cli_sets_and_deletes_overrides_with_an_audit_trail(session: Any, capsys: Any) -> None:
    from ipfin_app.cli import main

    day = date(2031, 5, 6)
    assert main(["calendar", "set", "--day", day.isoformat(), "--kind", "holiday", "--note", "test notice"]) == 0
    assert main(["calendar", "list", "--year", "2031"]) == 0
    assert '"2031-05-06"' in capsys.readouterr().out
    assert main(["calendar", "delete", "--day", day.isoformat()]) == 0
    assert main(["calendar", "delete", "--day", day.isoformat()]) == 1
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity == "calendar_override",
                                                           AuditEvent.entity_id == day.isoformat())
                           .order_by(AuditEvent.id)).all()
    assert list(actions) == ["set", "delete"]
