"""A data-IP (数据知识产权) pledge loan through the whole workflow, and the ineligible variants refused with
their reason codes: an expired registration certificate, no registering platform, an unlawful data source.

The certificate's validity is the last day it is in force; the loan may mature on that day (the pledge
check counts the first day NOT in force), one day later it may not.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import borrower_body, loan_body

pytestmark = pytest.mark.db

ORIG, MATURITY = "2026-09-01", "2027-09-01"
LAWFUL = {"lawful_collection": True, "source_authorised": True, "personal_information_compliant": True,
          "no_core_or_secret_data": True}


def data_ip_body(borrower_id: int, **kw: Any) -> dict[str, Any]:
    """A registered data product: certificate, platform, three-year validity, every legality flag true."""
    return {"borrower_id": borrower_id, "ip_type": "data_ip", "identifier": f"ZJ-DATA-{borrower_id:08d}",
            "title": "工业设备运行数据集", "grant_date": "2025-08-01", "legal_status": "granted",
            "certificate_no": f"浙数知登字[2025]第{borrower_id:06d}号",
            "registering_platform": "浙江省数据知识产权登记平台",
            "certificate_valid_until": "2028-07-31", "data_source_legality": dict(LAWFUL), **kw}


def team(make_user: Any) -> tuple[Any, Any]:
    maker = make_user("bank", "officer")
    return maker, make_user(maker.org, "approver")


def draft_loan(client: Any, maker: Any, **asset_kw: Any) -> tuple[int, int]:
    """Borrower → data-IP asset (valued 30,000,000 CNY, score 85) → draft loan of 5,000,000 CNY, 1 year."""
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=maker.headers)
    assert b.status_code == 201, b.text
    a = client.post("/api/v1/ip-assets", json=data_ip_body(b.json()["id"], **asset_kw), headers=maker.headers)
    assert a.status_code == 201, a.text
    aid = a.json()["id"]
    r = client.post(f"/api/v1/ip-assets/{aid}/valuations", headers=maker.headers, json={
        "value_cny": "30000000.00", "score": "85", "valuation_date": "2026-08-01", "source": "appraiser",
        "report_reference": "浙评报字[2026]第0901号"})
    assert r.status_code == 201, r.text
    loan = client.post("/api/v1/loans", headers=maker.headers,
                       json=loan_body(b.json()["id"], [aid], origination_date=ORIG, maturity_date=MATURITY))
    assert loan.status_code == 201, loan.text
    return loan.json()["id"], aid


def move(client: Any, actor: Any, loan_id: int, action: str, **kw: Any) -> Any:
    return client.post(f"/api/v1/loans/{loan_id}/transitions", json={"action": action, "on": ORIG, **kw},
                       headers=actor.headers)


def to_review(client: Any, maker: Any, checker: Any, loan_id: int) -> None:
    assert move(client, maker, loan_id, "submit").status_code == 200
    assert move(client, checker, loan_id, "start_review").status_code == 200


def reasons_of_approval(client: Any, make_user: Any, **asset_kw: Any) -> list[str]:
    maker, checker = team(make_user)
    lid, _ = draft_loan(client, maker, **asset_kw)
    to_review(client, maker, checker, lid)
    r = move(client, checker, lid, "approve")
    assert r.status_code == 409, r.text
    assert client.get(f"/api/v1/loans/{lid}", headers=maker.headers).json()["status"] == "under_review"
    return [x["reason"] for x in r.json()["detail"]["reasons"]]


def test_a_data_ip_pledge_loan_goes_through_approval_pledge_registration_and_disbursement(
        client: Any, make_user: Any) -> None:
    maker, checker = team(make_user)
    lid, aid = draft_loan(client, maker)
    asset = client.get(f"/api/v1/ip-assets/{aid}", headers=maker.headers).json()
    assert (asset["ip_type"], asset["registering_platform"], asset["certificate_valid_until"]) == (
        "data_ip", "浙江省数据知识产权登记平台", "2028-07-31")
    assert asset["certificate_no"].startswith("浙数知登字") and asset["data_source_legality"] == LAWFUL
    el = client.get(f"/api/v1/loans/{lid}/eligibility?on={ORIG}", headers=maker.headers).json()
    assert el["eligible"] is True and el["reasons"] == []
    to_review(client, maker, checker, lid)
    for action, actor, kw in [("approve", checker, {}),
                              ("register_pledge", maker, {"pledge_registration_number": "ZJSJ2026000123"}),
                              ("disburse", checker, {})]:
        r = move(client, actor, lid, action, **kw)
        assert r.status_code == 200, (action, r.text)
    loan = client.get(f"/api/v1/loans/{lid}", headers=maker.headers).json()
    assert (loan["status"], loan["outstanding_fen"], loan["ip_types"]) == ("active", 500_000_000, "data_ip")


def test_an_expired_certificate_is_refused_as_expired_and_invalid_at_maturity(client: Any, make_user: Any) -> None:
    assert reasons_of_approval(client, make_user, certificate_valid_until="2026-06-30") == [
        "not_valid", "maturity_after_expiry", "certificate_invalid_at_maturity"]


def test_a_missing_registering_platform_is_refused(client: Any, make_user: Any) -> None:
    assert reasons_of_approval(client, make_user, registering_platform=None) == ["platform_missing"]


def test_an_unlawful_data_source_is_refused(client: Any, make_user: Any) -> None:
    flags = {**LAWFUL, "source_authorised": False}
    assert reasons_of_approval(client, make_user, data_source_legality=flags) == ["data_source_not_lawful"]


def test_legality_flags_not_recorded_count_as_not_lawful(client: Any, make_user: Any) -> None:
    assert reasons_of_approval(client, make_user, data_source_legality=None) == ["data_source_not_lawful"]


def test_the_certificate_may_run_out_on_the_maturity_day_but_not_the_day_before(client: Any, make_user: Any) -> None:
    maker, _ = team(make_user)
    lid, _ = draft_loan(client, maker, certificate_valid_until=MATURITY)  # last day valid = maturity day
    el = client.get(f"/api/v1/loans/{lid}/eligibility?on={ORIG}", headers=maker.headers).json()
    assert el["eligible"] is True, el
    lid, _ = draft_loan(client, maker, certificate_valid_until="2027-08-31")
    el = client.get(f"/api/v1/loans/{lid}/eligibility?on={ORIG}", headers=maker.headers).json()
    assert [r["reason"] for r in el["reasons"]] == ["maturity_after_expiry", "certificate_invalid_at_maturity"]


def test_without_a_certificate_validity_the_three_year_default_from_registration_applies(
        client: Any, make_user: Any) -> None:
    """Registered 2025-08-01, no stated validity: in force to 2028-07-31 (Beijing pilot rule), so eligible;
    the certificate rule still wants the validity on record."""
    maker, _ = team(make_user)
    lid, _ = draft_loan(client, maker, certificate_valid_until=None)
    el = client.get(f"/api/v1/loans/{lid}/eligibility?on={ORIG}", headers=maker.headers).json()
    assert [r["reason"] for r in el["reasons"]] == ["certificate_invalid_at_maturity"]


def test_bad_data_ip_facts_are_422_naming_the_field(client: Any, make_user: Any) -> None:
    maker, _ = team(make_user)
    bid = client.post("/api/v1/borrowers", json=borrower_body(), headers=maker.headers).json()["id"]
    r = client.post("/api/v1/ip-assets", headers=maker.headers,
                    json=data_ip_body(bid, data_source_legality={"lawful_collection": True, "trust_me": True}))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "data_source_legality"
    r = client.post("/api/v1/ip-assets", headers=maker.headers,
                    json=data_ip_body(bid, certificate_valid_until="2025-07-01"))  # before the registration
    assert r.status_code == 422, r.text
    r = client.post("/api/v1/ip-assets", headers=maker.headers, json=data_ip_body(bid, ip_type="data_right"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "ip_type"


@pytest.mark.parametrize(("kw", "reasons"), [
    ({"ip_type": "plant_variety", "identifier": "CNA20201234.5", "grant_date": "2020-03-01",
      "plant_group": "other"}, []),  # 15 years from grant: in force to 2035-02-28
    ({"ip_type": "plant_variety", "identifier": "CNA20201234.6", "grant_date": "2020-03-01"},
     ["expiry_unknown"]),  # the plant group sets the term: unknown without it
    ({"ip_type": "geographical_indication", "identifier": "GI-2019-0001", "grant_date": "2019-05-01",
      "gi_protection": "gi_product"}, ["form_not_pledgeable"]),
    ({"ip_type": "ic_layout_design", "identifier": "BS.175500123", "filing_date": "2017-09-01",
      "creation_date": "2017-06-01"}, ["maturity_after_expiry"]),  # 10 years from filing: last day 2027-08-31
])
def test_the_other_new_collateral_types_get_their_terms_and_rules(client: Any, make_user: Any, kw: dict[str, Any],
                                                                  reasons: list[str]) -> None:
    maker, _ = team(make_user)
    base = {"certificate_no": None, "registering_platform": None, "certificate_valid_until": None,
            "data_source_legality": None, "grant_date": None}
    lid, _ = draft_loan(client, maker, **{**base, **kw})
    el = client.get(f"/api/v1/loans/{lid}/eligibility?on={ORIG}", headers=maker.headers).json()
    assert [r["reason"] for r in el["reasons"]] == reasons
