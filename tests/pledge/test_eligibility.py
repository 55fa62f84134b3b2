"""Pledge eligibility: each CNIPA rule gives its reason code, and all failures are reported."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from pledge.eligibility import (
    CollateralFacts,
    LegalStatus,
    PledgeRequest,
    Reason,
    check_eligibility,
)

TODAY = date(2026, 3, 2)
PLEDGOR = "91500000MA5U000001"
REQ = PledgeRequest(PLEDGOR, loan_maturity=date(2028, 3, 2), check_date=TODAY, max_valuation_age_days=180)
GOOD = CollateralFacts(
    asset_id="CN202310123456.6",
    ip_type="invention_patent",
    registered_owners=(PLEDGOR,),
    legal_status=LegalStatus.GRANTED,
    expiry_date=date(2043, 1, 10),
    annual_fee_paid_until=date(2027, 1, 9),
    valuation_date=date(2026, 1, 15),
)


def reasons(*assets: CollateralFacts, req: PledgeRequest = REQ) -> list[Reason]:
    return [r.reason for r in check_eligibility(req, list(assets))]


def test_a_clean_granted_patent_is_eligible():
    assert check_eligibility(REQ, [GOOD]) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"registered_owners": ("91110000X00000000A",)}, Reason.NOT_OWNER),
        ({"legal_status": LegalStatus.PENDING}, Reason.NOT_GRANTED),
        ({"legal_status": LegalStatus.INVALIDATED}, Reason.NOT_VALID),
        ({"annual_fee_paid_until": date(2026, 1, 9)}, Reason.ANNUAL_FEE_UNPAID),
        ({"annual_fee_paid_until": None}, Reason.ANNUAL_FEE_UNPAID),
        ({"pledged_to": "loan-77 at bank-b"}, Reason.ALREADY_PLEDGED),
        ({"dispute": True}, Reason.DISPUTE_OR_PRESERVATION),
        ({"preservation": True}, Reason.DISPUTE_OR_PRESERVATION),
        ({"registered_owners": (PLEDGOR, "91320000Y00000000B")}, Reason.CO_OWNER_CONSENT_MISSING),
        ({"expiry_date": date(2028, 1, 1)}, Reason.MATURITY_AFTER_EXPIRY),
        ({"valuation_date": date(2025, 9, 1)}, Reason.VALUATION_TOO_OLD),
        ({"valuation_date": None}, Reason.VALUATION_MISSING),
    ],
)
def test_each_rule_reports_its_own_reason_code(change, reason):
    assert reasons(replace(GOOD, **change)) == [reason]


def test_co_owner_consent_given_makes_a_joint_patent_eligible():
    joint = replace(GOOD, registered_owners=(PLEDGOR, "91320000Y00000000B"),
                    consenting_co_owners=("91320000Y00000000B",))
    assert reasons(joint) == []


def test_valuation_exactly_at_the_policy_age_is_still_accepted():
    assert reasons(replace(GOOD, valuation_date=date(2025, 9, 3))) == []  # 180 days before 2026-03-02
    assert reasons(replace(GOOD, valuation_date=date(2025, 9, 2))) == [Reason.VALUATION_TOO_OLD]


def test_a_non_owner_gets_not_owner_only_not_a_co_owner_consent_reason():
    assert reasons(replace(GOOD, registered_owners=("X", "Y"))) == [Reason.NOT_OWNER]


def test_a_pledge_already_held_by_this_loan_is_not_counted_as_a_prior_pledge():
    req = replace(REQ, own_pledge_ref="loan-1")
    assert reasons(replace(GOOD, pledged_to="loan-1"), req=req) == []


def test_trademarks_have_no_annual_fee_rule():
    tm = replace(GOOD, asset_id="TM-1234", ip_type="trademark", annual_fee_paid_until=None)
    assert reasons(tm) == []


def test_all_failures_of_all_assets_are_reported_not_just_the_first():
    bad = replace(GOOD, asset_id="A", registered_owners=(PLEDGOR, "Y"), annual_fee_paid_until=None, dispute=True,
                  pledged_to="other", valuation_date=None)
    also_bad = replace(GOOD, asset_id="B", expiry_date=date(2027, 6, 1))
    out = check_eligibility(REQ, [bad, GOOD, also_bad])
    assert [(r.asset_id, r.reason) for r in out] == [
        ("A", Reason.ANNUAL_FEE_UNPAID),
        ("A", Reason.ALREADY_PLEDGED),
        ("A", Reason.DISPUTE_OR_PRESERVATION),
        ("A", Reason.CO_OWNER_CONSENT_MISSING),
        ("A", Reason.VALUATION_MISSING),
        ("B", Reason.MATURITY_AFTER_EXPIRY),
    ]
    assert all(r.message.startswith(r.asset_id) for r in out)


def test_expired_right_is_not_valid_and_expires_before_maturity():
    assert reasons(replace(GOOD, expiry_date=date(2026, 3, 1))) == [Reason.NOT_VALID, Reason.MATURITY_AFTER_EXPIRY]


def test_empty_collateral_is_reported_and_duplicates_are_an_input_error():
    assert reasons() == [Reason.NO_COLLATERAL]
    with pytest.raises(ValueError, match="collateral"):
        check_eligibility(REQ, [GOOD, GOOD])


def test_bad_inputs_name_the_field():
    with pytest.raises(ValueError, match="ip_type"):
        replace(GOOD, ip_type="patent")
    with pytest.raises(ValueError, match="loan_maturity"):
        PledgeRequest(PLEDGOR, loan_maturity=TODAY, check_date=TODAY, max_valuation_age_days=180)
    with pytest.raises(ValueError, match="registered_owners"):
        replace(GOOD, registered_owners=())


@pytest.mark.parametrize(("ip_type", "filed", "expiry"), [
    ("invention_patent", date(2021, 4, 1), date(2041, 4, 1)),  # 专利法 §42: 20 years from filing
    ("utility_model", date(2021, 4, 1), date(2031, 4, 1)),  # 10 years
    ("design", date(2021, 5, 31), date(2031, 5, 31)),  # filed before the 2021-06-01 amendment: 10 years
    ("design", date(2021, 6, 1), date(2036, 6, 1)),  # on or after it: 15 years
    ("utility_model", date(2020, 2, 29), date(2030, 3, 1)),  # no 29 February in 2030
    ("trademark", date(2021, 4, 1), None),  # renewable: no statutory end
    ("invention_patent", None, None),
])
def test_statutory_expiry_counts_the_legal_term_from_the_filing_date(ip_type, filed, expiry):
    from pledge.eligibility import statutory_expiry

    assert statutory_expiry(ip_type, filed) == expiry
