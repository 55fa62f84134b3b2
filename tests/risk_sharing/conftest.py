"""Fixtures of the risk-sharing API tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.risk_sharing.api_helpers import defaulted_loan, preset_body


@pytest.fixture
def scheme(client: Any, make_user: Any, engine: Any) -> dict[str, Any]:
    """A Chongqing 4:2:2:2 family, a guaranteed 5M loan, and every party's staff."""
    admin = make_user("admin", "approver")
    rule = client.post("/api/v1/risk-rules", json=preset_body("chongqing-4222"), headers=admin.headers)
    assert rule.status_code == 201, rule.text
    bank = make_user("bank", "officer")
    guarantor = make_user("guarantor", "officer")
    guarantor_approver = make_user(guarantor.org, "approver")
    reguarantor = make_user("reguarantor", "officer")
    fund_approver = make_user("fund", "approver")
    loan = defaulted_loan(client, engine, bank.headers, guarantor_org_id=guarantor.org.id, guarantee_fee_rate="0.012")
    return {
        "engine": engine, "rule": rule.json(), "admin": admin, "bank": bank, "guarantor": guarantor,
        "guarantor_approver": guarantor_approver, "reguarantor": reguarantor, "fund": fund_approver, "loan": loan,
    }
