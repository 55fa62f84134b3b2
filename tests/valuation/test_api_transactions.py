"""IP transaction register API (issue 18): record, read (every organisation), change and delete (only the
recording organisation, 403 otherwise), CSV/Excel import all or nothing with per-row errors, export, volumes
by pricing method and trading mode for the bureau, pledge disposals entering the register by themselves, and
a valuation whose market approach picks its comparables from the register and explains them in the report."""

from __future__ import annotations

import copy
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

import valuation
from api.audit.models import AuditEvent
from tests.factories import borrower_body, ip_asset_body, loan_body
from tests.pledge.test_api_pledge import bank_team, move

pytestmark = pytest.mark.db

URL = "/api/v1/ip-transactions"


def tx(ref: str, **kw: Any) -> dict[str, Any]:
    """A patent sale in Chongqing, agreed price, 10 years of life left."""
    return {"ref": ref, "kind": "sale", "price_cny": "1000000.00", "transaction_date": "2025-06-01",
            "ip_type": "invention_patent", "ipc_or_nice_class": "H01M 10/0525", "industry": "C",
            "region_code": "500100", "pricing_method": "agreement", "trading_mode": "agreement",
            "remaining_life_years": 10, "quality_score": 70, **kw}


def post(client: Any, actor: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(URL, json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def audit_actions(engine: Any, entity_id: Any) -> list[str]:
    with Session(engine) as s:
        q = select(AuditEvent).where(AuditEvent.entity == "ip_transaction", AuditEvent.entity_id == str(entity_id))
        return [e.action for e in s.exec(q.order_by(AuditEvent.id)).all()]  # PostgreSQL: no implicit order


# ---------------------------------------------------------------- record, read, change, tenancy


def test_a_transaction_is_stored_in_fen_read_by_everyone_and_changed_only_by_its_recorder(
        client: Any, make_user: Any, engine: Any) -> None:
    centre = make_user("bureau", "officer")
    t = post(client, centre, tx("CQ-2025-001", price_cny="1234567.89", kind="reserve_purchase"))
    assert (t["price_fen"], t["price_cny"], t["source"], t["owner_org_id"]) == (
        123_456_789, "1234567.89", "manual", centre.org.id)
    assert audit_actions(engine, t["id"]) == ["create"]
    bank = make_user("bank", "viewer")
    assert client.get(f"{URL}/{t['id']}", headers=bank.headers).json()["ref"] == "CQ-2025-001"
    listed = client.get(f"{URL}?owner_org_id={centre.org.id}", headers=bank.headers).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == t["id"]
    other = make_user("bank", "officer")
    assert client.patch(f"{URL}/{t['id']}", json={"price_cny": "1.00"}, headers=other.headers).status_code == 403
    assert client.delete(f"{URL}/{t['id']}", headers=other.headers).status_code == 403
    assert client.post(URL, json=tx("X-1"), headers=bank.headers).status_code == 403  # a viewer records nothing
    r = client.patch(f"{URL}/{t['id']}", json={"price_cny": "2000000.00", "trading_mode": "listing"},
                     headers=centre.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["price_fen"], r.json()["trading_mode"], r.json()["kind"]) == (
        200_000_000, "listing", "reserve_purchase")
    assert client.delete(f"{URL}/{t['id']}", headers=centre.headers).status_code == 204
    assert client.get(f"{URL}/{t['id']}", headers=bank.headers).status_code == 404
    assert audit_actions(engine, t["id"]) == ["create", "update", "delete"]
    assert client.get(URL).status_code == 401


def test_bad_transactions_are_422_naming_the_field(client: Any, make_user: Any) -> None:
    centre = make_user("bureau", "officer")
    cases = [
        (tx("B1", ipc_or_nice_class="lithium"), "ipc_or_nice_class"),
        (tx("B2", price_cny="0.00"), "price_cny"),
        (tx("B3", price_cny="1.001"), "price_cny"),
        (tx("B4", pricing_method="handshake"), "pricing_method"),
        (tx("B5", trading_mode="协议交易"), "trading_mode"),  # the API takes values; the import takes labels too
        (tx("B6", transaction_date=(date.today() + timedelta(days=2)).isoformat()), "transaction_date"),
        (tx("B7", region_code="990000"), "region_code"),
        (tx("B8", remaining_life_years=0), "remaining_life_years"),
        (tx("B9", ip_type="trademark", ipc_or_nice_class="46"), "ipc_or_nice_class"),
    ]
    for body, field in cases:
        r = client.post(URL, json=body, headers=centre.headers)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field, (field, r.json())
    post(client, centre, tx("DUP"))
    r = client.post(URL, json=tx("DUP"), headers=centre.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "ref"]
    assert post(client, make_user("bureau", "officer"), tx("DUP"))["ref"] == "DUP"  # refs are per organisation


# ---------------------------------------------------------------- import and export

HEADER = "id,kind,price_cny,date,ip_type,class,industry,region_code,pricing_method,trading_mode," \
         "remaining_life_years,quality_score\n"


def test_import_is_all_or_nothing_with_per_row_errors_and_audited(client: Any, make_user: Any, engine: Any) -> None:
    centre = make_user("bureau", "officer")
    good1 = "I1,收储,\"1,200,000.00\",2024-05-20,invention_patent,H01M 10/0525,C,500100,评估定价,定向交易,12.5,\n"
    good2 = "I2,exclusive_licence,800000,2024-07-01,trademark,09,I,330100,online_bidding,bidding,8,65\n"
    bad = (HEADER + good1 + "I3,gift,1,2024-01-01,invention_patent,,C,500100,agreement,agreement,5,\n" + good2
           + "I4,sale,100,2099-01-01,invention_patent,,C,500100,agreement,agreement,5,\n"
           + "I1,sale,100,2024-01-01,invention_patent,,C,500100,agreement,agreement,5,\n"
           + "I5,sale,100,2024-01-01,invention_patent,,C,500100,agreement,agreement,150,\n")
    r = client.post(f"{URL}/import", headers=centre.headers, files={"file": ("reg.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422, r.text
    assert [(e["row"], e["field"]) for e in r.json()["detail"]["errors"]] == [
        (3, "kind"), (5, "date"), (6, "id"), (7, "remaining_life_years")]
    assert client.get(f"{URL}?owner_org_id={centre.org.id}", headers=centre.headers).json()["count"] == 0
    ok = HEADER + good1 + good2
    r = client.post(f"{URL}/import", headers=centre.headers,
                    files={"file": ("reg.csv", ("\ufeff" + ok).encode(), "text/csv")})
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2
    rows = client.get(f"{URL}?owner_org_id={centre.org.id}", headers=centre.headers).json()["data"]
    by_ref = {x["ref"]: x for x in rows}
    assert (by_ref["I1"]["kind"], by_ref["I1"]["price_fen"], by_ref["I1"]["trading_mode"]) == (
        "reserve_purchase", 120_000_000, "directed")
    assert {x["source"] for x in rows} == {"import"}
    assert audit_actions(engine, "import")[-1:] == ["import"]
    r = client.post(f"{URL}/import", headers=centre.headers, files={"file": ("reg.csv", ok.encode(), "text/csv")})
    assert r.status_code == 422 and {e["field"] for e in r.json()["detail"]["errors"]} == {"id"}  # already there
    r = client.post(f"{URL}/import", headers=centre.headers,
                    files={"file": ("reg.csv", b"id,kind\nX,sale\n", "text/csv")})
    assert r.status_code == 422 and "price_cny" in {e["field"] for e in r.json()["detail"]["errors"]}


def test_excel_import_and_export_round_trip(client: Any, make_user: Any) -> None:
    import openpyxl

    centre = make_user("bureau", "officer")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(["X1", "auction", "3000000.50", date(2025, 3, 1), "design", "14-03", "C", "440100", "auction_bidding",
               "bidding", 9, 55])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post(f"{URL}/import", headers=centre.headers,
                    files={"file": ("reg.xlsx", buf.getvalue(), "application/octet-stream")})
    assert r.status_code == 201, r.text
    csv_text = client.get(f"{URL}/export?owner_org_id={centre.org.id}", headers=centre.headers).content.decode(
        "utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,kind,price_cny,date") and len(lines) == 2
    assert lines[1].split(",")[:5] == ["X1", "auction", "3000000.50", "2025-03-01", "design"]
    again = make_user("bureau", "officer")  # the export re-imports as it is
    r = client.post(f"{URL}/import", headers=again.headers, files={"file": ("e.csv", csv_text.encode(), "text/csv")})
    assert r.status_code == 201, r.text
    x = client.get(f"{URL}/export?format=xlsx&owner_org_id={centre.org.id}", headers=centre.headers)
    rows = list(openpyxl.load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][2] == "3000000.50"


# ---------------------------------------------------------------- volumes for the bureau


def test_volumes_by_pricing_method_and_trading_mode(client: Any, make_user: Any) -> None:
    centre = make_user("bureau", "officer")
    for ref, price, method, mode, when in [("V1", "100.00", "agreement", "agreement", "2025-01-10"),
                                           ("V2", "250.50", "agreement", "listing", "2025-02-10"),
                                           ("V3", "1000.00", "auction_bidding", "bidding", "2025-03-10"),
                                           ("V4", "7.00", "big_data_valuation", "alliance", "2024-03-10")]:
        post(client, centre, tx(ref, price_cny=price, pricing_method=method, trading_mode=mode, transaction_date=when))
    viewer = make_user("bureau", "viewer")
    r = client.get(f"{URL}/reports/volumes?owner_org_id={centre.org.id}&date_from=2025-01-01&date_to=2025-12-31",
                   headers=viewer.headers)
    assert r.status_code == 200, r.text
    v = r.json()
    assert (v["total_count"], v["total_value_fen"]) == (3, 135_050)
    methods = {x["key"]: (x["count"], x["value_fen"]) for x in v["by_pricing_method"]}
    assert methods == {"agreement": (2, 35_050), "appraisal": (0, 0), "online_bidding": (0, 0),
                       "auction_bidding": (1, 100_000), "competitive_negotiation": (0, 0),
                       "big_data_valuation": (0, 0)}
    modes = {x["key"]: (x["count"], x["value_fen"]) for x in v["by_trading_mode"]}
    assert modes == {"agreement": (1, 10_000), "bidding": (1, 100_000), "directed": (0, 0), "listing": (1, 25_050),
                     "alliance": (0, 0)}
    assert next(x for x in v["by_pricing_method"] if x["key"] == "agreement")["label_zh"] == "协议定价"
    assert len(v["cross"]) == 30 and sum(c["value_fen"] for c in v["cross"]) == 135_050
    bad = client.get(f"{URL}/reports/volumes?date_from=2025-02-01&date_to=2025-01-01", headers=viewer.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "date_to"]


# ---------------------------------------------------------------- disposals enter the register


def defaulted_loan(client: Any, maker: Any, checker: Any) -> tuple[int, int, str]:
    """A patent-pledge loan opened 400 days ago, 100 days past its first instalment and in disposal (every
    workflow move dated in the past, as the workflow requires): (loan id, asset id, disposal day)."""
    orig = date.today() - timedelta(days=400)
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=maker.headers).json()
    aid = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"], annual_fee_paid_until="2040-12-31"),
                      headers=maker.headers).json()["id"]
    assert client.put(f"/api/v1/ip-assets/{aid}/pledge-facts", json={"expiry_date": "2041-04-01"},
                      headers=maker.headers).status_code == 200
    r = client.post(f"/api/v1/ip-assets/{aid}/valuations", headers=maker.headers, json={
        "value_cny": "12000000.00", "score": "82", "valuation_date": (orig - timedelta(days=30)).isoformat(),
        "source": "appraiser", "report_reference": "渝评报字第0815号"})
    assert r.status_code == 201, r.text
    lid = client.post("/api/v1/loans", headers=maker.headers, json=loan_body(
        b["id"], [aid], origination_date=orig.isoformat(),
        maturity_date=(orig + timedelta(days=365)).isoformat())).json()["id"]
    for action, actor, kw in [("submit", maker, {}), ("start_review", checker, {}), ("approve", checker, {}),
                              ("register_pledge", maker, {"pledge_registration_number": "Y2025500000123"}),
                              ("disburse", checker, {})]:
        assert move(client, actor, lid, action, on=orig.isoformat(), **kw).status_code == 200, action
    first_due = client.get(f"/api/v1/loans/{lid}/schedule", headers=maker.headers).json()["data"][0]["due_date"]
    day = (date.fromisoformat(first_due) + timedelta(days=100)).isoformat()
    assert client.post("/api/v1/pledge/monitoring/run", json={"as_of": day}, headers=maker.headers).status_code == 200
    for action, actor in [("declare_default", checker), ("file_claim", maker), ("start_disposal", maker)]:
        r = move(client, actor, lid, action, on=day)
        assert r.status_code == 200, (action, r.text)
    return lid, aid, day


def test_a_recorded_pledge_disposal_enters_the_register_at_its_gross_price(
        client: Any, make_user: Any, engine: Any) -> None:
    maker, checker = bank_team(make_user)
    lid, aid, day = defaulted_loan(client, maker, checker)
    r = client.post(f"/api/v1/loans/{lid}/disposals", headers=maker.headers, json={
        "method": "auction", "ip_asset_ids": [aid], "started_on": day,
        "proceeds": [{"on": day, "amount_cny": "3000000.00", "description": "拍卖成交"}],
        "costs": [{"on": day, "amount_cny": "100000.00", "description": "拍卖佣金"}]})
    assert r.status_code == 201, r.text
    reg = client.get(f"{URL}?source=pledge_disposal&owner_org_id={maker.org.id}", headers=maker.headers).json()
    assert reg["count"] == 1
    t = reg["data"][0]
    assert (t["kind"], t["price_fen"], t["transaction_date"], t["loan_id"]) == (
        "pledge_disposal", 300_000_000, day, lid)
    assert (t["pricing_method"], t["trading_mode"], t["ip_type"], t["region_code"], t["industry"]) == (
        "auction_bidding", "bidding", "invention_patent", "500100", "C")
    expiry = date(2041, 4, 1)  # the pledge facts' expiry (first day not in force)
    assert t["remaining_life_years"] == pytest.approx((expiry - date.fromisoformat(day)).days / 365.25)
    assert t["quality_score"] == 82 and t["asset_count"] == 1
    assert audit_actions(engine, t["id"]) == ["create_from_disposal"]
    r = client.patch(f"{URL}/{t['id']}", json={"price_cny": "1.00"}, headers=maker.headers)
    assert r.status_code == 409 and "disposal" in r.json()["detail"]
    assert client.delete(f"{URL}/{t['id']}", headers=maker.headers).status_code == 409


# ---------------------------------------------------------------- comparables from the register

EXAMPLE = {"valuation_date": "2025-12-31",  # the day the expected figures are for
           **json.loads((Path(valuation.__file__).parent / "examples" / "invention_patent.json").read_text("utf-8"))}
VALUATION_DATE = "2026-06-30"


_SUBCLASSES = iter(["G06N", "G06F", "G06Q", "G06T", "G06K", "G06V", "G06E", "G06G"])


def register_for_valuation(client: Any, make_user: Any) -> tuple[dict[str, int], str]:
    """Register rows for the subject: an invention patent in an IPC subclass no other test uses (the
    register is shared by every test on the database), and that subclass."""
    centre = make_user("bureau", "officer")
    cls = next(_SUBCLASSES)
    rows = {
        "T1": tx("T1", ipc_or_nice_class="G06N 3/08", price_cny="9000000.00", transaction_date="2025-06-01",
                 remaining_life_years=11, quality_score=70),
        "T2": tx("T2", ipc_or_nice_class="G06N 5/04", kind="exclusive_licence", price_cny="12000000.00",
                 transaction_date="2025-10-01", remaining_life_years=12, quality_score=75),
        "T3": tx("T3", ipc_or_nice_class="G06N 3/04", kind="auction", price_cny="5000000.00",
                 transaction_date="2026-01-10", remaining_life_years=4, quality_score=40),
        "T4": tx("T4", ipc_or_nice_class="G06N 3/08", transaction_date="2022-01-01", remaining_life_years=9),
        "T5": tx("T5", ipc_or_nice_class="H01M 4/13", transaction_date="2026-02-01"),
        "T6": tx("T6", ipc_or_nice_class="G06N 3/08", transaction_date="2026-09-01"),  # after the valuation date
    }
    for body in rows.values():
        body["ipc_or_nice_class"] = body["ipc_or_nice_class"].replace("G06N", cls)
    return {ref: post(client, centre, body)["id"] for ref, body in rows.items()}, cls


def valuation_body(market: dict[str, Any]) -> dict[str, Any]:
    d = copy.deepcopy(EXAMPLE)
    d["monte_carlo"].update(paths=2000, chunk_size=2000)
    d["valuation_date"] = VALUATION_DATE
    d["market"] = market
    return d


HAND = {"ref": "手工可比 CN201710111111", "price_cny": "9800000.00", "quality_score": 70, "remaining_life_years": 9}


def test_a_valuation_picks_its_comparables_from_the_register_and_the_report_explains_them(
        client: Any, make_user: Any) -> None:
    ids, cls = register_for_valuation(client, make_user)
    bank = make_user("bank", "officer")  # another organisation: the register is shared market facts
    r = client.post("/api/v1/valuations", headers=bank.headers, json=valuation_body(
        {"comparables": [HAND], "search": {"class_code": cls, "top_k": 2, "max_age_years": 3}}))
    assert r.status_code == 201, r.text
    v = r.json()
    market = v["result"]["market"]
    mine = {int(d["transaction_id"]): d for d in market["selection"] if int(d["transaction_id"]) in ids.values()}
    reason = {ref: mine[i]["reason"] for ref, i in ids.items() if i in mine}
    assert reason == {"T1": "selected", "T2": "selected", "T3": "not_in_top_k", "T4": "too_old",
                      "T5": "other_class"}  # T6 was traded after the valuation date: not in the search at all
    assert [mine[ids["T1"]]["rank"], mine[ids["T2"]]["rank"]] == [1, 2]
    assert mine[ids["T2"]]["transaction_type_factor"] is not None and "rank 2" in mine[ids["T2"]]["reason_en"]
    table = {row["ref"]: row for row in market["table"]}
    assert set(table) == {str(ids["T1"]), str(ids["T2"]), HAND["ref"]}
    assert (table[str(ids["T1"])]["price_fen"], table[str(ids["T2"])]["price_fen"]) == (900_000_000, 1_200_000_000)
    assert v["request"]["market"]["transactions"] == []  # stored as posted: the register was read, not typed in
    html = client.get(f"/api/v1/valuations/{v['id']}/report?format=html", headers=bank.headers).text
    assert "可比交易筛选" in html and "[not_in_top_k]" in html and "outside the top 2" in html


def test_without_a_search_the_register_is_not_used(client: Any, make_user: Any) -> None:
    register_for_valuation(client, make_user)
    bank = make_user("bank", "officer")
    r = client.post("/api/v1/valuations", headers=bank.headers, json=valuation_body({"comparables": [HAND]}))
    assert r.status_code == 201, r.text
    market = r.json()["result"]["market"]
    assert market["selection"] == [] and [row["ref"] for row in market["table"]] == [HAND["ref"]]


def test_register_only_comparables_with_ids_included_and_excluded_by_hand(client: Any, make_user: Any) -> None:
    ids, cls = register_for_valuation(client, make_user)
    bank = make_user("bank", "officer")
    r = client.post("/api/v1/valuations", headers=bank.headers, json=valuation_body(
        {"search": {"class_code": cls, "top_k": 2, "max_age_years": 3,
                    "include_ids": [str(ids["T4"])], "exclude_ids": [str(ids["T2"])]}}))
    assert r.status_code == 201, r.text
    sel = {int(d["transaction_id"]): d["reason"] for d in r.json()["result"]["market"]["selection"]}
    assert (sel[ids["T1"]], sel[ids["T3"]], sel[ids["T4"]], sel[ids["T2"]]) == (
        "selected", "selected", "manual_include", "manual_exclude")
