"""Builders for loans, claims and contexts used across the risk_sharing tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ipfin.money import cny_to_fen
from risk_sharing.claims import Claim, Loan, ReviewContext


def loan(**kw: Any) -> Loan:
    """A guaranteed 5M CNY loan at a 1.2% fee, originated 2023-03-01 (override any field)."""
    base: dict[str, Any] = {
        "loan_id": "L1",
        "borrower_id": "B1",
        "lender_id": "BANK1",
        "origination_date": date(2023, 3, 1),
        "principal_fen": cny_to_fen("5000000"),
        "guarantee_fee_rate": Decimal("0.012"),
        "guaranteed": True,
        "ip_pledged_share": Decimal("1"),
    }
    base.update(kw)
    return Loan(**base)


def claim(**kw: Any) -> Claim:
    """A claim on L1: default 2024-01-10, filed 2024-05-01, 4M CNY principal outstanding."""
    base: dict[str, Any] = {
        "claim_id": "C1",
        "loan_id": "L1",
        "default_date": date(2024, 1, 10),
        "filed_on": date(2024, 5, 1),
        "outstanding_principal_fen": cny_to_fen("4000000"),
    }
    base.update(kw)
    return Claim(**base)


def context(**kw: Any) -> ReviewContext:
    """An empty ledger reviewed on 2024-05-10 (override any field)."""
    base: dict[str, Any] = {"review_date": date(2024, 5, 10)}
    base.update(kw)
    return ReviewContext(**base)
