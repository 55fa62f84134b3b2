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


# ------------------------------------------------------------------ new collateral types (data IP, GI, IC, plant)

DATA_OK = CollateralFacts(
    asset_id="ZJ-DIP-2025-000042", ip_type="data_ip", registered_owners=(PLEDGOR,), legal_status=LegalStatus.GRANTED,
    expiry_date=date(2028, 6, 1), valuation_date=date(2026, 1, 15), certificate_no="ZJ-DIP-2025-000042",
    registering_platform="浙江省数据知识产权登记平台", certificate_valid_until=date(2028, 5, 31),
    data_source_legality={"lawful_collection": True, "source_authorised": True,
                          "personal_information_compliant": True, "no_core_or_secret_data": True},
)


def test_data_ip_with_a_valid_certificate_platform_and_all_legality_flags_is_eligible_without_an_annual_fee():
    assert check_eligibility(REQ, [DATA_OK]) == []


def test_data_ip_certificate_must_still_be_valid_on_the_loan_maturity():
    short = replace(DATA_OK, certificate_valid_until=date(2028, 3, 1))  # loan matures 2028-03-02
    reasons = check_eligibility(REQ, [short])
    assert [r.reason for r in reasons] == [Reason.CERTIFICATE_INVALID_AT_MATURITY]
    assert "2028-03-01" in reasons[0].message and "2028-03-02" in reasons[0].message
    assert check_eligibility(REQ, [replace(DATA_OK, certificate_valid_until=date(2028, 3, 2))]) == []
    unknown = check_eligibility(REQ, [replace(DATA_OK, certificate_valid_until=None)])
    assert [r.reason for r in unknown] == [Reason.CERTIFICATE_INVALID_AT_MATURITY]


def test_data_ip_needs_its_registering_platform_and_every_legality_flag_true():
    flags = dict(DATA_OK.data_source_legality, source_authorised=False)
    del flags["no_core_or_secret_data"]
    reasons = check_eligibility(REQ, [replace(DATA_OK, registering_platform=" ", data_source_legality=flags)])
    assert [r.reason for r in reasons] == [Reason.PLATFORM_MISSING, Reason.DATA_SOURCE_NOT_LAWFUL]
    assert "source_authorised" in reasons[1].message and "no_core_or_secret_data" in reasons[1].message


def test_gi_pledges_as_a_collective_or_certification_mark_not_as_gi_product_protection():
    gi = CollateralFacts("GI-2019-0001", "geographical_indication", (PLEDGOR,), LegalStatus.GRANTED,
                         expiry_date=date(2029, 8, 7), valuation_date=date(2026, 1, 15),
                         gi_protection="collective_mark")
    assert check_eligibility(REQ, [gi]) == []
    reasons = check_eligibility(REQ, [replace(gi, gi_protection="gi_product")])
    assert [r.reason for r in reasons] == [Reason.FORM_NOT_PLEDGEABLE]


def test_ic_layout_designs_and_plant_varieties_need_an_expiry_on_record_but_no_annual_fee():
    """IC layout: 集成电路布图设计保护条例 art. 12 term; plant varieties: fees stopped 2017 (labelled)."""
    for ip_type in ("ic_layout_design", "plant_variety"):
        ok = CollateralFacts(f"{ip_type}-1", ip_type, (PLEDGOR,), LegalStatus.GRANTED, expiry_date=date(2030, 1, 1),
                             valuation_date=date(2026, 1, 15))
        assert check_eligibility(REQ, [ok]) == []
        assert [r.reason for r in check_eligibility(REQ, [replace(ok, expiry_date=None)])] == [Reason.EXPIRY_UNKNOWN]


def test_eligibility_rules_are_policy_data_and_can_be_replaced():
    from pledge.eligibility import TypeEligibilityRule, default_type_rules

    rules = dict(default_type_rules())
    assert rules["data_ip"].assumption and rules["data_ip"].certificate_valid_at_maturity
    rules["data_ip"] = TypeEligibilityRule()
    assert check_eligibility(REQ, [replace(DATA_OK, registering_platform=None)], rules) == []
    with pytest.raises(ValueError, match="unknown data-source legality flag"):
        TypeEligibilityRule(required_legality_flags=("blessed",))
