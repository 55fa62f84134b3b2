"""Statutory terms: PRC Patent Law art. 42 (2020), Trademark Law arts. 39-40, Copyright Law art. 23,
计算机软件保护条例 art. 14. A term of N years from D ends the day before D's N-th anniversary."""

from datetime import date

import pytest

from valuation.assets import IPAsset, IPType, LegalStatus, legal_expiry, remaining_economic_life


def test_invention_patent_runs_20_years_from_filing_to_the_day_before_the_anniversary():
    assert legal_expiry(IPType.INVENTION_PATENT, filing_date=date(2018, 3, 15)) == date(2038, 3, 14)


def test_invention_patent_remaining_term_on_filing_day_is_exactly_20_years():
    # 2018-03-15 .. 2038-03-14 inclusive = 7305 days = 20 × 365.25
    a = IPAsset(IPType.INVENTION_PATENT, "CN201810123456.5", filing_date=date(2018, 3, 15))
    assert a.remaining_legal_term(date(2018, 3, 15)) == pytest.approx(20.0, abs=1e-12)


def test_patent_term_compensation_days_extend_an_invention_patent():
    assert legal_expiry(IPType.INVENTION_PATENT, filing_date=date(2018, 3, 15), term_extension_days=100) == date(
        2038, 6, 22
    )


def test_utility_model_runs_10_years():
    assert legal_expiry(IPType.UTILITY_MODEL, filing_date=date(2019, 3, 20)) == date(2029, 3, 19)


def test_design_filed_before_2021_06_01_gets_10_years_and_from_that_day_15_years():
    assert legal_expiry(IPType.DESIGN, filing_date=date(2021, 5, 31)) == date(2031, 5, 30)
    assert legal_expiry(IPType.DESIGN, filing_date=date(2021, 6, 1)) == date(2036, 5, 31)


def test_trademark_runs_10_years_from_registration_and_each_assumed_renewal_adds_10():
    assert legal_expiry(IPType.TRADEMARK, registration_date=date(2018, 6, 14)) == date(2028, 6, 13)
    assert legal_expiry(IPType.TRADEMARK, registration_date=date(2018, 6, 14), assumed_renewals=2) == date(
        2048, 6, 13
    )


def test_leap_day_registration_ends_on_28_february():
    assert legal_expiry(IPType.TRADEMARK, registration_date=date(2020, 2, 29)) == date(2030, 2, 28)


def test_copyright_of_a_natural_person_ends_31_december_50_years_after_death():
    assert legal_expiry(IPType.COPYRIGHT, author_death_date=date(1990, 7, 1)) == date(2040, 12, 31)


def test_software_copyright_of_a_company_ends_31_december_of_the_50th_year_after_publication():
    assert legal_expiry(IPType.SOFTWARE_COPYRIGHT, publication_date=date(2020, 4, 1)) == date(2070, 12, 31)


def test_missing_date_error_names_the_field():
    with pytest.raises(ValueError, match="filing_date"):
        legal_expiry(IPType.UTILITY_MODEL)
    with pytest.raises(ValueError, match="registration_date"):
        legal_expiry(IPType.TRADEMARK)
    with pytest.raises(ValueError, match="publication_date"):
        legal_expiry(IPType.COPYRIGHT)


@pytest.mark.parametrize("status", [LegalStatus.LAPSED, LegalStatus.INVALIDATED, LegalStatus.EXPIRED])
def test_a_right_that_is_not_in_force_has_no_remaining_term(status):
    a = IPAsset(IPType.INVENTION_PATENT, "x", legal_status=status, filing_date=date(2018, 3, 15))
    assert a.remaining_legal_term(date(2025, 1, 1)) == 0.0


def test_remaining_term_after_expiry_is_zero():
    a = IPAsset(IPType.UTILITY_MODEL, "x", filing_date=date(2010, 1, 1))
    assert a.remaining_legal_term(date(2025, 1, 1)) == 0.0


def test_remaining_economic_life_is_the_shorter_of_economic_life_and_legal_term():
    assert remaining_economic_life(8, 12.2) == 8
    assert remaining_economic_life(15, 12.2) == 12.2
    with pytest.raises(ValueError, match="economic_life_years"):
        remaining_economic_life(float("nan"), 3)
