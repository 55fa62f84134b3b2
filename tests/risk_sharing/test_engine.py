"""Claim review: every reason, loss base, exact payable amounts and the caps that bind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ipfin.money import cny_to_fen
from risk_sharing.claims import ExistingClaim
from risk_sharing.engine import review_claim, select_version
from risk_sharing.presets import load_preset
from risk_sharing.rules import NPLClass, Rule
from risk_sharing.splitting import simulate
from tests.risk_sharing.factories import claim, context, loan

CQ = load_preset("chongqing-4222")
GZ = load_preset("guangzhou-fund-2023")
M = cny_to_fen  # CNY → fen


def test_eligible_chongqing_claim_pays_4_2_2_2_of_outstanding_principal() -> None:
    r = review_claim(CQ, claim(), loan(), context())
    assert r.eligible, r.reasons
    assert r.reasons == ()
    assert r.loss_base_fen == M("4000000")
    assert r.payable == {"guarantor": M("1600000"), "reguarantor": M("800000"), "nfgf": M("800000"),
                         "bank": M("800000")}
    assert r.compensation_fen == M("1600000")  # re-guarantor + NFGF pay the guarantor
    assert {c.name for c in r.checks} >= {"borrower_loan_cap", "guarantee_fee_cap", "guaranteed", "trigger",
                                          "claim_deadline", "duplicate_claim"}


def test_recoveries_before_the_claim_are_netted_from_the_base() -> None:
    r = review_claim(CQ, claim(recoveries_so_far_fen=M("1000000.03")), loan(), context())
    assert r.loss_base_fen == M("2999999.97")
    assert sum(r.payable.values()) == r.loss_base_fen


def test_loan_of_10m_and_1_fen_is_ineligible_under_chongqing() -> None:
    """Seed 002: single borrower at most 10,000,000 CNY; 10,000,000.01 is over."""
    r = review_claim(CQ, claim(), loan(principal_fen=M("10000000.01")), context())
    assert not r.eligible
    assert r.failed == ("borrower_loan_cap",)
    assert "10,000,000.01 CNY" in r.reasons[0]
    assert set(r.payable.values()) == {0}  # nothing is paid under the scheme


def test_loan_of_exactly_10m_is_eligible() -> None:
    assert review_claim(CQ, claim(), loan(principal_fen=M("10000000.00")), context()).eligible


def test_borrower_total_loans_count_against_the_single_borrower_cap() -> None:
    r = review_claim(CQ, claim(), loan(borrower_total_loans_fen=M("10000000.01")), context())
    assert r.failed == ("borrower_loan_cap",)


def test_guarantee_fee_of_1_51pct_is_ineligible_and_1_50pct_is_fine() -> None:
    """Seed 002: guarantee fee rate at most 1.5%."""
    bad = review_claim(CQ, claim(), loan(guarantee_fee_rate=Decimal("0.0151")), context())
    assert bad.failed == ("guarantee_fee_cap",)
    assert "1.51" in bad.reasons[0]
    assert review_claim(CQ, claim(), loan(guarantee_fee_rate=Decimal("0.015")), context()).eligible


def test_unknown_fee_rate_fails_the_fee_predicate() -> None:
    assert review_claim(CQ, claim(), loan(guarantee_fee_rate=None), context()).failed == ("guarantee_fee_cap",)


def test_every_failed_reason_is_reported_not_just_the_first() -> None:
    r = review_claim(
        CQ,
        claim(filed_on=date(2025, 6, 1)),
        loan(principal_fen=M("10000000.01"), guarantee_fee_rate=Decimal("0.0151"), guaranteed=False),
        context(review_date=date(2025, 6, 2), existing_claims=(ExistingClaim("C0", "L1", "approved"),)),
    )
    assert set(r.failed) == {"borrower_loan_cap", "guarantee_fee_cap", "guaranteed", "claim_deadline",
                             "duplicate_claim"}
    assert len(r.reasons) == 5


def test_claim_filed_after_the_deadline_is_late() -> None:
    """Default 2024-01-10 + 90 days overdue = trigger 2024-04-09; + 365 days = deadline 2025-04-09."""
    on_time = review_claim(CQ, claim(filed_on=date(2025, 4, 9)), loan(), context(review_date=date(2025, 4, 10)))
    assert on_time.eligible
    late = review_claim(CQ, claim(filed_on=date(2025, 4, 10)), loan(), context(review_date=date(2025, 4, 10)))
    assert late.failed == ("claim_deadline",)
    assert "deadline 2025-04-09" in late.reasons[0]


def test_claim_filed_before_the_trigger_is_premature() -> None:
    early = review_claim(CQ, claim(filed_on=date(2024, 4, 8)), loan(), context())
    assert early.failed == ("trigger",)
    assert review_claim(CQ, claim(filed_on=date(2024, 4, 9)), loan(), context()).eligible


def test_recovery_effort_trigger_needs_180_days() -> None:
    """Chongqing micro-loan: loss confirmed after 180 days of recovery effort (2024-01-01 → 2024-06-29)."""
    rule = load_preset("chongqing-micro-loan")
    c = dict(default_date=date(2024, 1, 1))
    assert review_claim(rule, claim(filed_on=date(2024, 6, 28), **c), loan(), context(review_date=date(2024, 7, 1))
                        ).failed == ("trigger",)
    ok = review_claim(rule, claim(filed_on=date(2024, 6, 29), **c), loan(), context(review_date=date(2024, 7, 1)))
    assert ok.eligible
    assert ok.payable == {"city_government": M("600000"), "district_government": M("600000"),
                          "bank": M("800000"), "guarantor": M("2000000")}


def test_npl_class_trigger_requires_a_non_performing_class() -> None:
    gz_loan = loan(origination_date=date(2023, 6, 1), ip_pledged_share=Decimal("0.5"))
    r = review_claim(GZ, claim(), gz_loan, context())
    assert r.failed == ("trigger",)
    ok = review_claim(GZ, claim(npl_class=NPLClass.SUBSTANDARD, classified_on=date(2024, 4, 10)), gz_loan,
                      context())
    assert ok.eligible
    assert ok.payable == {"fund": M("1000000"), "bank": M("1000000")}  # 50% of the IP-pledged 2M


def test_duplicate_open_claim_on_the_same_loan_is_rejected() -> None:
    dup = review_claim(CQ, claim(), loan(), context(existing_claims=(ExistingClaim("C0", "L1", "filed"),)))
    assert dup.failed == ("duplicate_claim",)
    assert "C0" in dup.reasons[0]


def test_rejected_earlier_claim_or_the_claim_itself_is_not_a_duplicate() -> None:
    existing = (ExistingClaim("C0", "L1", "rejected"), ExistingClaim("C1", "L1", "filed"),
                ExistingClaim("C9", "L2", "approved"))
    assert review_claim(CQ, claim(), loan(), context(existing_claims=existing)).eligible


def test_claim_for_another_loan_or_principal_above_the_loan_is_inconsistent() -> None:
    r = review_claim(CQ, claim(loan_id="L2", outstanding_principal_fen=M("6000000")), loan(), context())
    assert set(r.failed) == {"claim_matches_loan", "outstanding_principal"}


# ---------------------------------------------------------------- caps


def gz_claim(principal: str, recovered: str = "0") -> tuple:
    return (
        claim(outstanding_principal_fen=M(principal), recoveries_so_far_fen=M(recovered), npl_class=NPLClass.LOSS),
        loan(origination_date=date(2023, 6, 1), principal_fen=M("20000000"), ip_pledged_share=Decimal("0.8")),
    )


def test_guangzhou_counts_the_ip_pledged_principal_net_of_recoveries_capped_at_10m() -> None:
    """15M outstanding × 80% IP-pledged = 12M; − 0.5M recovered = 11.5M; counted on at most 10M."""
    c, ln = gz_claim("15000000", "500000")
    r = review_claim(GZ, c, ln, context())
    assert r.eligible
    assert r.gross_loss_fen == M("11500000")
    assert r.loss_base_fen == M("10000000")
    assert r.uncounted_loss_fen == M("1500000")
    assert r.payable == {"fund": M("5000000"), "bank": M("5000000")}
    assert [(c.cap, c.reduction_fen) for c in r.caps_applied] == [("base_per_loan", M("1500000"))]


def test_guangzhou_borrower_year_cap_limits_the_counted_loss() -> None:
    """20M per borrower per year; 15M already counted this year → 5M more."""
    c, ln = gz_claim("15000000", "500000")
    r = review_claim(GZ, c, ln, context(borrower_base_year_fen=M("15000000")))
    assert r.loss_base_fen == M("5000000")
    assert r.payable == {"fund": M("2500000"), "bank": M("2500000")}


def test_guangzhou_fund_budget_binds_and_the_bank_keeps_the_rest() -> None:
    """Fund budget 50M a year; 49M already paid → the fund pays 1M, the bank bears 9M of the 10M base."""
    c, ln = gz_claim("15000000")
    r = review_claim(GZ, c, ln, context(party_paid_year_fen={"fund": M("49000000")}))
    assert r.eligible
    assert r.payable == {"fund": M("1000000"), "bank": M("9000000")}
    assert [(x.cap, x.party, x.limit_fen, x.reduction_fen) for x in r.caps_applied] == [
        ("base_per_loan", None, M("10000000"), M("2000000")),
        ("party_year", "fund", M("1000000"), M("4000000")),
    ]


def test_exhausted_fund_budget_makes_the_claim_ineligible_with_the_cap_named() -> None:
    c, ln = gz_claim("15000000")
    r = review_claim(GZ, c, ln, context(party_paid_year_fen={"fund": M("50000000")}))
    assert not r.eligible
    assert r.failed == ("compensation_available",)
    assert "party_year[fund]" in r.reasons[0]


def test_payout_rate_ceiling_of_5pct_limits_compensation() -> None:
    """Tech-SME tier 1: ceiling 5% × 100M covered = 5M; 4.9M paid → 0.1M left for NFGF + re-guarantor.

    0.1M = 10,000,000 fen split 20:40 → 3,333,333.33 / 6,666,666.67 → 3,333,333 / 6,666,667 fen.
    Bank keeps its 20% (200,000 CNY); the guarantor bears the rest: 1,000,000 − 100,000 − 200,000.
    """
    rule = load_preset("tech-sme-2024-tier1")
    ln = loan(origination_date=date(2024, 1, 2), principal_fen=M("1000000"), firm_tier="tier_1")
    c = claim(outstanding_principal_fen=M("1000000"))
    r = review_claim(rule, c, ln, context(covered_loans_fen=M("100000000"), compensation_paid_fen=M("4900000")))
    assert r.eligible
    assert r.payable == {"guarantor": M("700000"), "reguarantor": 3_333_333, "nfgf": 6_666_667, "bank": M("200000")}
    assert r.caps_applied[0].cap == "payout_rate_ceiling"


def test_payout_rate_ceiling_needs_the_covered_loans_figure() -> None:
    rule = load_preset("tech-sme-2024-tier2")
    ln = loan(origination_date=date(2024, 1, 2), firm_tier="tier_2")
    r = review_claim(rule, claim(), ln, context())
    assert r.failed == ("payout_rate_ceiling",)


def test_wrong_firm_tier_is_ineligible() -> None:
    rule = load_preset("tech-sme-2024-tier1")
    ln = loan(origination_date=date(2024, 1, 2), firm_tier="tier_3")
    r = review_claim(rule, claim(), ln, context(covered_loans_fen=M("100000000")))
    assert r.failed == ("firm_tier",)


def _with(rule: Rule, **update: object) -> Rule:
    return Rule.model_validate({**rule.model_dump(), **update})


def test_per_lender_borrower_and_lifetime_caps_bind_the_smallest_headroom() -> None:
    rule = _with(
        CQ,
        caps={"compensation_per_lender_year_cny": "1000000", "compensation_per_borrower_year_cny": "900000",
              "compensation_per_borrower_lifetime_cny": "2000000"},
    )
    r = review_claim(rule, claim(), loan(), context(borrower_compensation_lifetime_fen=M("1800000")))
    assert r.compensation_fen == M("200000")  # lifetime headroom 0.2M is the smallest
    assert r.payable["reguarantor"] == M("100000") and r.payable["nfgf"] == M("100000")
    assert r.payable["guarantor"] == M("4000000") - M("200000") - M("800000")
    assert r.caps_applied[0].cap == "compensation_per_borrower_lifetime"


def test_balance_limited_fund_pays_only_its_balance() -> None:
    rule = _with(GZ, parties=[{"key": "fund", "role": "fund", "share": "50", "balance_limited": True},
                              {"key": "bank", "role": "bank", "share": "50"}])
    c, ln = gz_claim("1000000")
    r = review_claim(rule, c, ln, context(party_balance_fen={"fund": M("123456.78")}))
    assert r.payable == {"fund": M("123456.78"), "bank": M("800000") - M("123456.78")}
    assert r.caps_applied[0].cap == "fund_balance"
    with pytest.raises(ValueError, match=r"context\.party_balance_fen"):
        review_claim(rule, c, ln, context())


def test_capped_remainder_goes_to_residual_bearer_or_pro_rata_by_rule() -> None:
    """5311 with the fund capped at 100 CNY, loss 1,000 CNY: nominal 500/300/100/100.

    residual_bearer: fund 100, insurer 300, appraiser 100, bank 100 + 400 = 500.
    pro_rata_uncapped: the fund's 400 shortfall is re-spread 30:10 over insurer/appraiser
    (water filling of 900 with the fund capped at 100: 600 / 200), bank keeps 100.
    """
    base = load_preset("guangzhou-5311")
    caps = {"party_year_cny": {"fund": "100"}}
    ln = loan(origination_date=date(2020, 1, 1))
    c = claim(outstanding_principal_fen=M("1000"), npl_class=NPLClass.DOUBTFUL)
    r1 = review_claim(_with(base, caps=caps), c, ln, context())
    assert r1.payable == {"fund": M("100"), "insurer": M("300"), "appraiser": M("100"), "bank": M("500")}
    r2 = review_claim(_with(base, caps=caps, cap_overflow="pro_rata_uncapped"), c, ln, context())
    assert r2.payable == {"fund": M("100"), "insurer": M("600"), "appraiser": M("200"), "bank": M("100")}


def test_old_loan_uses_the_old_version_after_a_rule_change() -> None:
    """v1 4:2:2:2 until 2023-12-31; v2 from 2024 moves 10 points from the guarantor to the NFGF."""
    v1 = _with(CQ, effective_to=date(2023, 12, 31))
    v2 = _with(CQ, version=2, effective_from=date(2024, 1, 1), parties=[
        {"key": "guarantor", "role": "guarantor", "share": "30"},
        {"key": "reguarantor", "role": "reguarantor", "share": "20"},
        {"key": "nfgf", "role": "nfgf", "share": "30"},
        {"key": "bank", "role": "bank", "share": "20"}])
    old_loan = loan(origination_date=date(2023, 3, 1))
    new_loan = loan(loan_id="L2", origination_date=date(2024, 2, 1))
    old_rule = select_version([v1, v2], old_loan.origination_date)
    new_rule = select_version([v1, v2], new_loan.origination_date)
    assert review_claim(old_rule, claim(), old_loan, context()).payable["nfgf"] == M("800000")
    r_new = review_claim(new_rule, claim(claim_id="C2", loan_id="L2", default_date=date(2024, 2, 1)), new_loan,
                         context())
    assert r_new.rule_version == 2 and r_new.payable["nfgf"] == M("1200000")
    # reviewing the old loan against the new version is flagged
    assert review_claim(v2, claim(), old_loan, context()).failed == ("rule_in_force",)


def test_simulate_rejects_float_and_negative_losses() -> None:
    with pytest.raises(ValueError, match="loss_fen"):
        simulate(CQ, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="loss_fen"):
        simulate(CQ, -1)


def test_claim_amounts_must_be_integer_fen() -> None:
    with pytest.raises(ValueError, match="outstanding_principal_fen"):
        claim(outstanding_principal_fen=1.5)
    with pytest.raises(ValueError, match="outstanding_principal_fen"):
        claim(outstanding_principal_fen=-1)
    with pytest.raises(ValueError, match="borrower_base_year_fen"):
        context(borrower_base_year_fen=-5)


def test_firm_sector_age_ip_share_and_document_predicates_each_give_a_reason() -> None:
    rule = _with(
        CQ,
        eligibility={
            "firm_sizes": ["micro", "small"],
            "sectors_allowed": ["C", "I", "M"],
            "sectors_excluded": ["K"],
            "min_years_registered": "2",
            "min_ip_pledged_share": "0.3",
            "required_documents": ["loan_contract", "court_judgment"],
        },
    )
    good = loan(firm_size="small", sector="I", years_registered=Decimal("2"), ip_pledged_share=Decimal("0.3"))
    ok = review_claim(rule, claim(documents=("loan_contract", "court_judgment", "extra")), good, context())
    assert ok.eligible, ok.reasons
    bad = loan(firm_size="medium", sector="K", years_registered=Decimal("1.5"), ip_pledged_share=Decimal("0.29"))
    r = review_claim(rule, claim(documents=("loan_contract",)), bad, context())
    assert set(r.failed) == {"firm_size", "sector_allowed", "sector_excluded", "years_registered",
                             "ip_pledged_share", "documents"}
    assert any("missing documents: court_judgment" in x for x in r.reasons)
    unknown = review_claim(rule, claim(documents=("loan_contract", "court_judgment")),
                           loan(firm_size=None, sector=None), context())
    assert {"firm_size", "sector_allowed", "sector_excluded", "years_registered"} <= set(unknown.failed)


def test_bad_loan_fields_are_rejected_naming_the_field() -> None:
    with pytest.raises(ValueError, match="years_registered"):
        loan(years_registered=Decimal("-1"))
    with pytest.raises(ValueError, match="sector"):
        loan(sector="Z")
    with pytest.raises(ValueError, match="guarantee_fee_rate"):
        loan(guarantee_fee_rate=Decimal("NaN"))


def test_amounts_above_max_fen_are_refused_naming_the_field() -> None:
    from risk_sharing.claims import MAX_FEN

    assert simulate(CQ, MAX_FEN).loss_fen == MAX_FEN
    with pytest.raises(ValueError, match="loss_fen: must not exceed"):
        simulate(CQ, MAX_FEN + 1)
    with pytest.raises(ValueError, match="outstanding_principal_fen"):
        claim(outstanding_principal_fen=MAX_FEN + 1)
