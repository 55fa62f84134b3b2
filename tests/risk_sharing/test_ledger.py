"""Ledger arithmetic: balances per party/rule/year, usage figures and cap headroom from entries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ipfin.money import cny_to_fen as M
from risk_sharing.engine import review_claim
from risk_sharing.ledger import (
    EntryKind,
    LedgerEntry,
    balances,
    cap_headroom,
    claim_totals,
    headrooms,
    payout_entries,
    recovery_entries,
    review_context,
)
from risk_sharing.presets import load_preset
from risk_sharing.recovery import share_recovery
from risk_sharing.rules import NPLClass
from tests.risk_sharing.factories import claim, context, loan

CQ = load_preset("chongqing-4222")
GZ = load_preset("guangzhou-fund-2023")


def _book_cq(claim_id: str, loan_id: str, booked: date) -> list[LedgerEntry]:
    c = claim(claim_id=claim_id, loan_id=loan_id)
    ln = loan(loan_id=loan_id)
    review = review_claim(CQ, c, ln, context(review_date=booked))
    return payout_entries(review, c, ln, booked)


def test_balances_per_party_rule_and_year_with_recoveries() -> None:
    entries = _book_cq("C1", "L1", date(2024, 5, 10)) + _book_cq("C2", "L2", date(2025, 2, 1))
    paid, _ = claim_totals(entries, "C1")
    share = share_recovery(CQ, paid, M("1000000"))
    entries += recovery_entries(share, rule_id=CQ.id, rule_version=1, claim_id="C1", booked_on=date(2025, 3, 1))
    b = {(x.year, x.party): x for x in balances(entries)}
    assert b[(2024, "nfgf")].paid_fen == M("800000") and b[(2024, "nfgf")].recovered_fen == 0
    assert b[(2025, "nfgf")].paid_fen == M("800000") and b[(2025, "nfgf")].recovered_fen == M("200000")
    assert b[(2025, "nfgf")].net_fen == M("600000")
    total = {x.party: x for x in balances(entries, by_year=False)}
    assert total["guarantor"].paid_fen == M("3200000") and total["guarantor"].recovered_fen == M("400000")
    # conservation: everything recovered was paid in by someone
    assert sum(x.recovered_fen for x in total.values()) == M("1000000")


def test_review_context_reads_usage_for_the_year_borrower_and_lender() -> None:
    entries = _book_cq("C1", "L1", date(2024, 12, 1)) + _book_cq("C2", "L2", date(2025, 3, 1))
    entries.append(LedgerEntry("other-rule", 1, "nfgf", EntryKind.PAYOUT, M("999"), date(2025, 3, 1), "X"))
    ctx = review_context(entries, rule_id=CQ.id, borrower_id="B1", lender_id="BANK1", review_date=date(2025, 6, 1),
                         covered_loans_fen=M("1000000000"))
    assert ctx.borrower_base_year_fen == M("4000000")  # only C2 is in 2025; Σ parts = base
    assert ctx.borrower_compensation_year_fen == M("1600000")  # re-guarantor + NFGF
    assert ctx.borrower_compensation_lifetime_fen == M("3200000")
    assert ctx.lender_compensation_year_fen == M("1600000")
    assert ctx.party_paid_year_fen == {"guarantor": M("1600000"), "reguarantor": M("800000"),
                                       "nfgf": M("800000"), "bank": M("800000")}
    assert ctx.compensation_paid_fen == M("3200000")


def test_guangzhou_fund_budget_of_50m_is_exhausted_by_the_ledger() -> None:
    """Ten 10M-base claims from different borrowers use the 50M fund budget; the 11th gets nothing."""
    entries: list[LedgerEntry] = []
    reviews = []
    for i in range(11):
        c = claim(claim_id=f"C{i}", loan_id=f"L{i}", outstanding_principal_fen=M("10000000"),
                  npl_class=NPLClass.LOSS)
        ln = loan(loan_id=f"L{i}", borrower_id=f"B{i}", origination_date=date(2023, 6, 1),
                  principal_fen=M("10000000"), ip_pledged_share=Decimal(1))
        ctx = review_context(entries, rule_id=GZ.id, borrower_id=ln.borrower_id, lender_id=ln.lender_id,
                             review_date=date(2024, 5, 10))
        r = review_claim(GZ, c, ln, ctx)
        reviews.append(r)
        if r.eligible:
            entries += payout_entries(r, c, ln, date(2024, 5, 10))
    assert all(r.payable["fund"] == M("5000000") for r in reviews[:10])
    assert not reviews[10].eligible and reviews[10].failed == ("compensation_available",)
    fund = [b for b in balances(entries) if b.party == "fund"]
    assert fund[0].paid_fen == M("50000000")
    ctx = review_context(entries, rule_id=GZ.id, borrower_id="B99", lender_id="BANK1", review_date=date(2024, 12, 31))
    assert headrooms(GZ, ctx)["party_year[fund]"] == 0
    ctx_next_year = review_context(entries, rule_id=GZ.id, borrower_id="B99", lender_id="BANK1",
                                   review_date=date(2025, 1, 1))
    assert headrooms(GZ, ctx_next_year)["party_year[fund]"] == M("50000000")


def test_cap_headroom_never_goes_negative() -> None:
    assert cap_headroom(M("100"), M("30")) == M("70")
    assert cap_headroom(M("100"), M("130")) == 0
    assert cap_headroom(None, M("130")) is None
    with pytest.raises(ValueError, match="used_fen"):
        cap_headroom(1, -1)


def test_only_eligible_reviews_can_be_booked() -> None:
    c = claim()
    ln = loan(principal_fen=M("10000000.01"))
    r = review_claim(CQ, c, ln, context())
    with pytest.raises(ValueError, match="review: only an eligible review"):
        payout_entries(r, c, ln, date(2024, 5, 10))


def test_ledger_entry_rejects_non_fen_amounts() -> None:
    with pytest.raises(ValueError, match="amount_fen"):
        LedgerEntry("r", 1, "bank", EntryKind.PAYOUT, -1, date(2024, 1, 1), "C")
    with pytest.raises(ValueError, match="amount_fen"):
        LedgerEntry("r", 1, "bank", EntryKind.PAYOUT, 1.0, date(2024, 1, 1), "C")  # type: ignore[arg-type]
