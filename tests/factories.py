"""Valid identifiers and request bodies for tests (check characters computed, not copied)."""

from __future__ import annotations

import itertools
from typing import Any

from ipfin.validation import org_code_check_char, patent_check_digit, uscc_check_char

_counter = itertools.count(1)


def credit_code(region: str = "500100") -> str:
    """A fresh valid unified social credit code in ``region``."""
    n = next(_counter) + 7_000_000
    body = f"{n:08d}"
    first17 = "91" + region + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


def patent_number(year: int = 2021, kind_digit: str = "1") -> str:
    """A fresh valid CN patent application number."""
    body = f"{year}{kind_digit}{next(_counter) + 1_000_000:07d}"
    return f"CN{body}.{patent_check_digit(body)}"


def borrower_body(region: str = "500100", industry: str = "C", **kw: Any) -> dict[str, Any]:
    return {"name": "重庆示例科技有限公司", "credit_code": credit_code(region), "region_code": region,
            "industry": industry, "size_class": "small", "registered_on": "2015-03-02", **kw}


def ip_asset_body(borrower_id: int, **kw: Any) -> dict[str, Any]:
    return {"borrower_id": borrower_id, "ip_type": "invention_patent", "identifier": patent_number(),
            "title": "一种锂电池隔膜的制备方法", "filing_date": "2021-04-01", "grant_date": "2023-06-20",
            "legal_status": "granted", **kw}


def loan_body(borrower_id: int, asset_ids: list[int], **kw: Any) -> dict[str, Any]:
    return {"borrower_id": borrower_id, "collateral_ip_asset_ids": asset_ids, "amount_cny": "5000000.00",
            "annual_rate": "0.0385", "origination_date": "2025-03-01", "maturity_date": "2026-03-01", **kw}


def create_loan_via_api(client: Any, headers: dict[str, str], **loan_kw: Any) -> dict[str, Any]:
    """Borrower → IP asset → draft loan through the API; returns the loan JSON."""
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=headers)
    assert b.status_code == 201, b.text
    a = client.post("/api/v1/ip-assets", json=ip_asset_body(b.json()["id"]), headers=headers)
    assert a.status_code == 201, a.text
    loan = client.post("/api/v1/loans", json=loan_body(b.json()["id"], [a.json()["id"]], **loan_kw), headers=headers)
    assert loan.status_code == 201, loan.text
    return dict(loan.json())
