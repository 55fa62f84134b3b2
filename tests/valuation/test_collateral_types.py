"""Terms of the collateral types ipfin gained for data IP, GIs, IC layout designs and plant varieties.

Each test names the rule it checks in its docstring. A term of N years from D ends on the day before
D's N-th anniversary (the convention of valuation.assets)."""

import copy
import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

import valuation
from valuation.assets import (
    NO_STATUTORY_EXPIRY,
    GIProtection,
    IPAsset,
    IPType,
    PlantGroup,
    collateral_types,
    legal_expiry,
)
from valuation.engine import value_asset
from valuation.report import to_html
from valuation.request import ValuationRequest

IC = IPType.IC_LAYOUT_DESIGN
PV = IPType.PLANT_VARIETY
GI = IPType.GEOGRAPHICAL_INDICATION
DATA = IPType.DATA_IP


# ------------------------------------------------------------------ IC layout designs


def test_ic_layout_design_runs_10_years_from_the_registration_filing_date():
    """《集成电路布图设计保护条例》(国务院令第300号, 2001) 第十二条: 保护期为10年, 自布图设计登记申请之日
    起计算 (when it is earlier than any commercial exploitation)."""
    assert legal_expiry(IC, filing_date=date(2020, 5, 1), creation_date=date(2019, 11, 1)) == date(2030, 4, 30)


def test_ic_layout_design_term_starts_at_first_commercial_use_when_that_is_earlier():
    """Art. 12: 自登记申请之日或者在世界任何地方首次投入商业利用之日起计算, 以较前日期为准."""
    got = legal_expiry(IC, filing_date=date(2020, 5, 1), first_commercial_use_date=date(2019, 9, 10),
                       creation_date=date(2019, 1, 1))
    assert got == date(2029, 9, 9)


def test_ic_layout_design_never_outlives_15_years_from_creation():
    """Art. 12 (second sentence): 无论是否登记或者投入商业利用, 布图设计自创作完成之日起15年后, 不再受本条例
    保护. Created 2012-01-01, filed 2020-05-01: 10 years from filing would end 2030-04-30, the
    15-year cap ends 2026-12-31."""
    assert legal_expiry(IC, filing_date=date(2020, 5, 1), creation_date=date(2012, 1, 1)) == date(2026, 12, 31)


def test_ic_layout_design_cap_and_ten_year_term_meet_exactly_five_years_after_creation():
    """Art. 12 edge: filed exactly 5 years after creation, both limits end on the same day."""
    created = date(2016, 2, 29)  # leap day: anniversaries fall on 1 March
    filed = date(2021, 3, 1)
    assert legal_expiry(IC, filing_date=filed, creation_date=created) == date(2031, 2, 28)
    # one day later the 15-year cap is the binding limit
    assert legal_expiry(IC, filing_date=date(2021, 3, 2), creation_date=created) == date(2031, 2, 28)


def test_ic_layout_design_filed_more_than_two_years_after_first_use_is_not_registrable():
    """Art. 17: 首次商业利用之日起2年内, 未向国务院知识产权行政部门提出登记申请的, 不再予以登记."""
    with pytest.raises(ValueError, match=r"art\. 17"):
        legal_expiry(IC, filing_date=date(2022, 3, 2), first_commercial_use_date=date(2020, 3, 1),
                     creation_date=date(2019, 1, 1))
    # filed on the last day of the 2-year window: registrable, term from first use
    assert legal_expiry(IC, filing_date=date(2022, 2, 28), first_commercial_use_date=date(2020, 3, 1),
                        creation_date=date(2019, 1, 1)) == date(2030, 2, 28)


def test_ic_layout_design_needs_its_creation_date_and_filing_date():
    """Art. 12's cap counts from 创作完成日, so it is required; Art. 8 (registration) needs a filing date."""
    with pytest.raises(ValueError, match="creation_date is required for an IC layout design"):
        legal_expiry(IC, filing_date=date(2020, 5, 1))
    with pytest.raises(ValueError, match="filing_date is required"):
        legal_expiry(IC, creation_date=date(2020, 5, 1))
    with pytest.raises(ValueError, match="creation_date must not be after"):
        legal_expiry(IC, filing_date=date(2020, 5, 1), creation_date=date(2020, 6, 1))


# ------------------------------------------------------------------ plant varieties


@pytest.mark.parametrize(("group", "years"), [(PlantGroup.WOODY_OR_VINE, 20), (PlantGroup.OTHER, 15)])
def test_plant_variety_granted_before_2025_06_01_runs_20_or_15_years_from_grant(group, years):
    """《中华人民共和国植物新品种保护条例》(1997, 2014年修订) 第三十四条: 品种权的保护期限, 自授权之日起, 藤本植物、
    林木、果树和观赏树木为20年, 其他植物为15年."""
    assert legal_expiry(PV, grant_date=date(2018, 7, 1), plant_group=group) == date(2018 + years, 6, 30)


@pytest.mark.parametrize(("group", "years"), [("woody_or_vine", 25), ("other", 20)])
def test_plant_variety_granted_from_2025_06_01_runs_25_or_20_years(group, years):
    """2025 revision (国务院令, 2025-06-01施行; 新华社 2025-05-01): 木本、藤本植物的品种权保护期限由20年延长到25年,
    其他植物由15年延长到20年. Applying it to grants from 2025-06-01 only is labelled an assumption."""
    assert legal_expiry(PV, grant_date=date(2025, 6, 1), plant_group=group) == date(2025 + years, 5, 31)
    assert legal_expiry(PV, grant_date=date(2025, 5, 31), plant_group=group) == date(2025 + years - 5, 5, 30)
    assert collateral_types()[PV].assumption


def test_plant_variety_needs_its_grant_date_and_plant_group():
    with pytest.raises(ValueError, match="grant_date is required for a plant variety"):
        legal_expiry(PV, plant_group="other")
    with pytest.raises(ValueError, match="plant_group is required"):
        legal_expiry(PV, grant_date=date(2020, 1, 1))


# ------------------------------------------------------------------ geographical indications


def test_gi_collective_or_certification_mark_runs_10_years_and_renewals_add_10():
    """《商标法》第三条 (集体商标、证明商标), 第三十九条 (有效期10年), 第四十条 (每次续展10年)."""
    for form in (GIProtection.COLLECTIVE_MARK, GIProtection.CERTIFICATION_MARK):
        assert legal_expiry(GI, registration_date=date(2019, 8, 7), gi_protection=form) == date(2029, 8, 6)
        assert legal_expiry(GI, registration_date=date(2019, 8, 7), gi_protection=form,
                            assumed_renewals=1) == date(2039, 8, 6)


def test_gi_product_protection_has_no_term_and_the_table_says_so():
    """《地理标志产品保护办法》(国家知识产权局令第80号, 2024) sets no term: labelled in the table."""
    assert legal_expiry(GI, gi_protection="gi_product") == NO_STATUTORY_EXPIRY
    a = IPAsset(GI, "GI-001", gi_protection=GIProtection.GI_PRODUCT)
    assert a.remaining_legal_term(date(2026, 1, 1)) > 1000
    assert collateral_types()[GI].assumption and "no term" in collateral_types()[GI].source


def test_gi_needs_its_protection_form():
    with pytest.raises(ValueError, match="gi_protection is required"):
        legal_expiry(GI, registration_date=date(2019, 8, 7))


# ------------------------------------------------------------------ data IP


def test_data_ip_term_is_the_certificate_validity_as_registered():
    """A data IP registration certificate states its validity (登记证书有效期); that date governs."""
    assert legal_expiry(DATA, registration_date=date(2024, 3, 1), certificate_valid_until=date(2026, 6, 30)) == (
        date(2026, 6, 30))


def test_data_ip_without_a_stated_validity_is_assumed_3_years_from_registration():
    """Assumption (labelled): 《北京市数据知识产权登记管理办法(试行)》第十三条 — 登记证书有效期为三年, 自登记
    公告之日起计算 (secondary source); Zhejiang's pilot rule not verified."""
    assert legal_expiry(DATA, registration_date=date(2024, 3, 1)) == date(2027, 2, 28)
    row = collateral_types()[DATA]
    assert row.assumption and row.term["default_years"] == 3 and "第十三条" in row.source


def test_data_ip_certificate_cannot_end_before_its_registration():
    with pytest.raises(ValueError, match="certificate_valid_until must not be before"):
        legal_expiry(DATA, registration_date=date(2024, 3, 1), certificate_valid_until=date(2024, 2, 1))
    with pytest.raises(ValueError, match="certificate_valid_until or registration_date is required"):
        legal_expiry(DATA)


# ------------------------------------------------------------------ the table itself


def test_every_ip_type_has_a_term_rule_with_a_citation_and_the_new_types_name_their_regulation():
    table = collateral_types()
    assert set(table) == set(IPType)
    cites = {IC: "集成电路布图设计保护条例", PV: "植物新品种保护条例", GI: "商标法", DATA: "数据知识产权登记"}
    for t, regulation in cites.items():
        assert regulation in table[t].source
    assert table[IC].name_zh == "集成电路布图设计" and not table[IC].assumption
    for t in table.values():
        assert t.source and (not t.assumption or t.assumption_note)


def test_existing_types_keep_their_terms_when_read_from_the_table():
    """Patent Law art. 42; Trademark Law arts. 39-40 (regression: the table reproduces the old rules)."""
    assert legal_expiry(IPType.INVENTION_PATENT, filing_date=date(2018, 3, 15), term_extension_days=100) == (
        date(2038, 6, 22))
    assert legal_expiry(IPType.DESIGN, filing_date=date(2021, 6, 1)) == date(2036, 5, 31)
    assert legal_expiry(IPType.TRADEMARK, registration_date=date(2018, 6, 14), assumed_renewals=2) == (
        date(2048, 6, 13))


# ------------------------------------------------------------------ valuing a new type end to end

EXAMPLE = {"valuation_date": "2025-12-31",  # the day the expected figures are for
           **json.loads((Path(valuation.__file__).parent / "examples" / "invention_patent.json").read_text("utf-8"))}


def _ic_request(**asset) -> dict:
    d = copy.deepcopy(EXAMPLE)
    d["asset"] = {"ip_type": "ic_layout_design", "identifier": "BS.205500123", "title": "电源管理芯片布图",
                  "filing_date": "2020-05-01", "creation_date": "2012-01-01", "industry": "C", **asset}
    d["valuation_date"] = "2025-12-31"
    d["income"]["economic_life_years"] = 1
    d["income"]["tab_amortisation_years"] = None
    d["monte_carlo"] = {"enabled": False}
    d.pop("real_option", None)
    return d


def test_an_ic_layout_design_is_valued_over_its_capped_term_and_the_report_names_the_type():
    """Art. 12 cap: created 2012-01-01 → protection ends 2026-12-31, one year after the valuation date."""
    r = value_asset(ValuationRequest.model_validate(_ic_request()))
    assert r.expiry_date == date(2026, 12, 31)
    assert r.remaining_legal_term_years == pytest.approx(366 / 365.25)
    assert "集成电路布图设计" in to_html(r)


def test_an_ic_layout_design_request_without_creation_date_is_rejected_naming_the_field():
    d = _ic_request()
    del d["asset"]["creation_date"]
    with pytest.raises(ValidationError, match="creation_date is required"):
        ValuationRequest.model_validate(d)
    d = _ic_request(creation_date="2026-06-01")
    with pytest.raises(ValidationError, match="creation_date"):
        ValuationRequest.model_validate(d)


def test_a_data_ip_valuation_warns_that_its_term_rule_is_an_assumption():
    d = _ic_request()
    d["asset"] = {"ip_type": "data_ip", "identifier": "ZJ-DIP-2024-000123", "registration_date": "2024-03-01"}
    r = value_asset(ValuationRequest.model_validate(d))
    assert r.expiry_date == date(2027, 2, 28)
    assert any("数据知识产权期限规则含假设" in w for w in r.warnings)
