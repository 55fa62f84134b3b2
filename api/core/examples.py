"""One realistic example request body per request schema, shown in /docs and /redoc (issue 15).

:func:`schema_examples` maps a request schema's class name (its OpenAPI component name, without
pydantic's ``-Input`` suffix) to one body a bank officer would type: Chinese names, credit codes and
patent numbers with correct check characters, money as CNY strings with two decimals. Dates count
from ``today`` (the day the OpenAPI document is built), so an example never goes stale — a "paid on"
stays in the past and a maturity in the future. :func:`operation_examples` covers the few bodies that
have no schema class of ours (the login forms, a risk rule's free-form JSON definition), keyed by
``"METHOD /path"`` below the API prefix. :func:`api.core.docs.install_request_examples` puts both
into the document; ``tests/api/test_request_examples.py`` validates every example against its
route's own request model, so an example that drifts from its schema fails there.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import valuation
from ipfin.validation import org_code_check_char, patent_check_digit, uscc_check_char

Example = dict[str, Any]


def credit_code(region: str, org_code: str) -> str:
    """A unified social credit code (GB 32100-2015) of an enterprise (91…) with both check characters."""
    first17 = "91" + region + org_code + org_code_check_char(org_code)
    return first17 + uscc_check_char(first17)


def patent_number(year: int, kind_digit: str, serial: int) -> str:
    """A CN patent application number (year, kind: 1 invention / 2 utility model / 3 design) with its check digit."""
    body = f"{year}{kind_digit}{serial:07d}"
    return f"CN{body}.{patent_check_digit(body)}"


def _years_before(d: date, years: int) -> date:
    """The same day ``years`` earlier (negative: later); 29 February becomes the 28th."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _last_lpr_day(today: date) -> date:
    """The latest 20th of a month on or before ``today`` (the LPR is published on the 20th)."""
    if today.day >= 20:
        return today.replace(day=20)
    first = today.replace(day=1)
    return (first - timedelta(days=1)).replace(day=20)


def _first_of_next_month(today: date) -> date:
    return (today.replace(day=28) + timedelta(days=4)).replace(day=1)


BORROWER_REGION = "500112"  # 重庆市渝北区
BORROWER_CODE = credit_code(BORROWER_REGION, "MA60H4QX")
CO_OWNER_CODE = credit_code("500108", "MA5U7G3K")  # 重庆市南岸区


def _identity(today: date) -> dict[str, Example]:
    return {
        "UserPasswordUpdate": {"current_password": "Liangjiang#2024", "new_password": "Yubei-zhiya-2025!"},
        "UserCreate": {"email": "zhang.wei@cqbank.example.cn", "full_name": "张伟", "role": "approver",
                       "is_active": True, "password": "Jiefangbei#0823", "organisation_id": 2},
        "OrganisationCreate": {"name": "重庆两江新区融资担保有限公司", "kind": "guarantor", "region_code": "500112"},
    }


def _pledge_core(today: date) -> dict[str, Example]:
    filed = _years_before(today, 6) - timedelta(days=41)
    patent = patent_number(filed.year, "1", 10_3456)
    fee_paid_until = _years_before(filed, filed.year - today.year)  # the filing anniversary this year
    if fee_paid_until <= today:
        fee_paid_until = _years_before(fee_paid_until, -1)
    return {
        "BorrowerCreate": {"name": "重庆渝芯微电子科技有限公司", "credit_code": BORROWER_CODE,
                           "region_code": BORROWER_REGION, "industry": "C", "size_class": "small",
                           "registered_on": _years_before(today, 9).isoformat()},
        "IPAssetCreate": {"borrower_id": 1, "ip_type": "invention_patent", "identifier": patent,
                          "title": "一种碳化硅功率半导体器件及其制备方法", "filing_date": filed.isoformat(),
                          "grant_date": (filed + timedelta(days=3 * 365 + 20)).isoformat(), "legal_status": "granted",
                          "annual_fee_paid_until": fee_paid_until.isoformat()},
        "IPAssetPatch": {"expected_version": 3, "annual_fee_paid_until": _years_before(fee_paid_until, -1).isoformat()},
        "LoanCreate": {"borrower_id": 1, "guarantor_org_id": 3, "origination_date": today.isoformat(),
                       "maturity_date": _years_before(today, -1).isoformat(),
                       "purpose": "购置晶圆检测设备及补充流动资金", "amount_cny": "5000000.00", "annual_rate": "0.0345",
                       "guarantee_fee_rate": "0.0100", "collateral_ip_asset_ids": [1, 2]},
        "TransitionRequest": {"action": "register_pledge", "on": today.isoformat(), "expected_version": 4,
                              "comment": "已在国家知识产权局办理专利权质押登记",
                              "pledge_registration_number": f"Y{today.year}500000{today.timetuple().tm_yday:05d}"},
        "PledgeTermsUpdate": {"rate_kind": "lpr_spread", "lpr": "0.0300", "spread_bp": 45,
                              "schedule_type": "equal_instalment", "months_per_period": 1, "n_periods": 12},
        "PaymentCreate": {"amount_cny": "428536.27", "paid_on": today.isoformat(), "allow_prepayment": True,
                          "prepayment_mode": "keep_term"},
        "ChargeCreate": {"kind": "penalty_interest", "as_of": today.isoformat(), "multiplier": "1.5",
                         "description": "逾期罚息（合同利率上浮50%）"},
        "PledgeIPFactsUpdate": {"expiry_date": _years_before(filed, -20).isoformat(),
                                "registered_owners": [BORROWER_CODE, CO_OWNER_CODE],
                                "consenting_co_owners": [CO_OWNER_CODE], "dispute": False, "preservation": False},
        "CollateralValuationCreate": {"source": "appraiser", "value_cny": "12800000.00", "p5_cny": "8960000.00",
                                      "score": "78", "valuation_date": (today - timedelta(days=14)).isoformat(),
                                      "report_reference": f"渝华康评报字〔{today.year}〕第0123号"},
        "MaxLoanRequest": {"collateral": [
            {"asset_id": patent, "ip_type": "invention_patent", "score": "82", "value_cny": "12800000.00",
             "p5_cny": "8960000.00"},
            {"asset_id": "第38512467号", "ip_type": "trademark", "score": "68", "value_cny": "3500000.00"}]},
        "MonitoringRequest": {"as_of": today.isoformat(), "background": False},
        "DisposalCreate": {"method": "auction", "ip_asset_ids": [1],
                           "started_on": (today - timedelta(days=60)).isoformat(),
                           "completed_on": (today - timedelta(days=10)).isoformat(),
                           "counterparty": "重庆华芯半导体材料有限公司（竞买人）",
                           "proceeds": [{"on": (today - timedelta(days=10)).isoformat(), "amount_cny": "3650000.00",
                                         "description": "拍卖成交价款"}],
                           "costs": [{"on": (today - timedelta(days=10)).isoformat(), "amount_cny": "109500.00",
                                      "description": "拍卖佣金"},
                                     {"on": (today - timedelta(days=45)).isoformat(), "amount_cny": "18000.00",
                                      "description": "评估费"}]},
        "PledgePolicy": {
            "bank_id": "cq-bank-001", "name": "知识产权质押率政策", "version": f"{today.year}-1",
            "rules": {"invention_patent": {"bands": [
                {"min_score": "40", "max_score": "60", "max_pledge_rate": "0.30"},
                {"min_score": "60", "max_score": "80", "max_pledge_rate": "0.45"},
                {"min_score": "80", "max_score": "100", "max_pledge_rate": "0.55"}]},
                "trademark": {"bands": [{"min_score": "60", "max_score": "100", "max_pledge_rate": "0.30"}]}},
            "basis": "appraised",
            "haircuts": [{"name": "单一质物集中度", "haircut": "0.10", "when_assets_at_most": 1}],
            "max_loan_cap_fen": 1_000_000_000, "ltv_breach_trigger": "0.70", "revaluation_interval_days": 365,
            "max_valuation_age_days": 180, "overdue_bucket_bounds": [30, 60, 90], "npl_after_days": 90},
    }


def _pledge_products(today: date) -> dict[str, Example]:
    return {
        "LoanProductCreate": {"code": "ZSCQ-ZY-LPR1Y", "name": "知识产权质押贷（一年期LPR加点）", "active": True,
                              "rate_kind": "lpr_spread", "lpr_tenor": "1Y", "spread_bp": 50,
                              "reset_rule": "anniversary", "schedule_types": ["equal_instalment", "interest_only"],
                              "months_per_period": 1, "grace_months": 0, "upfront_fee_rate": "0",
                              "penalty_multiplier": "1.5", "arrears_grace_days": 3,
                              "arrears_grace_basis": "business", "compound_interest": True,
                              "max_pledge_rate": "0.50"},
        "LoanProductUpdate": {"expected_version": 2, "spread_bp": 35, "arrears_grace_days": 5},
        "ApplyProductRequest": {"product_id": 1, "schedule_type": "equal_instalment"},
        "LprFixingCreate": {"effective_date": _last_lpr_day(today).isoformat(), "tenor": "1Y", "rate": "0.0300",
                            "note": "全国银行间同业拆借中心公布的贷款市场报价利率"},
        "OnRequest": {"on": today.isoformat()},
        "CalendarOverrideIn": {"kind": "working", "note": "国务院办公厅节假日安排通知：春节调休上班日"},
        "RestructureCreate": {"kind": "extend", "on": today.isoformat(), "extra_periods": 6,
                              "comment": "受下游订单下滑影响，借款人申请展期六个月，质押专利维持有效"},
        "RestructureDecision": {"comment": "经贷审会审议同意展期，追加法定代表人连带责任保证"},
        "AccrualRequest": {"as_of": today.isoformat()},
        "ProvisionRatesIn": {"normal": "0.015", "special_mention": "0.03", "substandard": "0.30",
                             "doubtful": "0.60", "loss": "1", "general_reserve_rate": "0.015"},
    }


def _valuation(today: date) -> dict[str, Example]:
    shipped = Path(valuation.__file__).parent / "examples" / "invention_patent.json"
    body: Example = json.loads(shipped.read_text("utf-8"))
    body["valuation_date"] = today.isoformat()
    body["monte_carlo"] = {**body["monte_carlo"], "paths": 20_000, "seed": 20_250_101}  # a quick run from /docs
    return {"ValuationCreate": body}


def _risk_sharing(today: date) -> dict[str, Example]:
    cut = today - timedelta(days=1)
    book = {"date_from": _years_before(today, 3).isoformat(), "date_to": cut.isoformat(),
            "province_code": "500000", "industry": "C", "ip_type": "invention_patent"}
    run = {"rule_id": "chongqing-4222", "book": book, "years": 3, "n_paths": 2000, "seed": 1,
           "assumptions": {"rho": 0.15, "sector_correlation": 0.5, "disposal_cost": 0.2, "recovery_years": 1.5,
                           "discount_rate": 0.04, "collateral_sigma": 0.6}, "background": False}
    return {
        "RuleChangeDecision": {"note": "经风险补偿资金池管理委员会审议同意"},
        "SimulateRequest": {"loss_cny": "2400000.00", "apply_per_loan_caps": True},
        "SchemeStateUpdate": {"covered_loans_cny": "350000000.00", "covered_loans_from_book": False},
        "ClaimCreate": {"rule_id": "chongqing-4222", "loan_id": 1, "filed_on": today.isoformat(),
                        "npl_class": "substandard", "classified_on": (today - timedelta(days=20)).isoformat(),
                        "documents": ["借款合同", "专利权质押合同", "逾期催收记录", "代偿申请书"],
                        "party_orgs": {"guarantor": 3, "reguarantor": 4, "nfgf": 5, "bank": 2},
                        "ip_pledged_share": "1"},
        "SharePayment": {"paid_on": today.isoformat(), "reference": f"渝担代偿〔{today.year}〕017号"},
        "ShareDecline": {"reason": "该笔贷款担保费率超过1.5%，不符合再担保分险条件"},
        "ClaimDecision": {"note": "代偿申请材料不全：缺少逾期催收记录"},
        "RecoveryCreate": {"claim_id": 1, "received_on": today.isoformat(), "gross_cny": "1200000.00",
                           "disposal_costs_cny": "36000.00", "method": "auction"},
        "SubsidyApplicationCreate": {"rule_id": "loan-guarantee-insurance", "subsidy_key": "interest_subsidy",
                                     "loan_id": 1, "payer_org_id": 6,
                                     "period_start": date(cut.year, 1, 1).isoformat(), "period_end": cut.isoformat()},
        "SubsidyProposal": {"decision": "approve", "note": "符合贴息条件，按50%贴息"},
        "SubsidyCheck": {"note": "复核同意"},
        "SubsidyPayment": {"paid_on": today.isoformat(), "reference": f"知贴〔{today.year}〕042号"},
        "RuleCostRequest": run,
        "FeeRequest": {**run, "operating_cost_rate": 0.003, "confidence": 0.99, "cost_of_capital": 0.08, "top": 20},
    }


def deal_structure(today: date) -> Example:
    """A two-tranche IP-loan ABS (the deal-file JSON without its pool), closing on the 25th after today."""
    closing = today.replace(day=25) if today.day < 25 else _first_of_next_month(today).replace(day=25)
    return {
        "name": f"渝知{closing.year}-1 知识产权质押贷款资产支持专项计划", "closing_date": closing.isoformat(),
        "payment_months": 6, "principal_mode": "sequential",
        "tranches": [{"name": "Senior", "balance_cny": "190000000.00", "coupon": 0.026, "seniority": 1,
                      "rating": "AAA"},
                     {"name": "Sub", "balance_cny": "10000000.00", "coupon": 0.0, "seniority": 2, "residual": True}],
        "fees": [{"name": "trustee", "kind": "rate", "annual_rate": 0.0002},
                 {"name": "servicer", "kind": "rate", "annual_rate": 0.0005}],
        "guarantor": {"name": "重庆三峡融资担保集团 (差额支付承诺人)", "tranches": ["Senior"], "cap_cny": None},
        "scenarios": [{"name": "base"}, {"name": "pd_x3", "pd_multiplier": 3.0}],
        "credit": {"rho": 0.25, "inter_industry": 0.5},
    }


def _securitization(today: date) -> dict[str, Example]:
    return {
        "PoolCreate": {"name": f"{today.year}年重庆知识产权质押贷款资产池",
                       "filter": {"statuses": ["active"], "province_code": "500000", "industry": "C", "limit": 5000},
                       "assumptions": {"annual_pd": 0.02, "recovery_rate": 0.3, "recovery_lag_months": 6,
                                       "schedule": "bullet", "as_of": today.isoformat()}},
        "DealCreate": {"pool_id": 1, "structure": deal_structure(today)},
        "RunCreate": {"mode": "monte_carlo", "n_paths": 10000, "seed": 20240601, "stresses": ["base", "severe"],
                      "include_periods": True, "pricing": {"Senior": {"yield_rate": 0.026}}},
    }


def _early_warning(today: date) -> dict[str, Example]:
    cut = (today - timedelta(days=1)).isoformat()
    return {
        "EWRunCreate": {"data_cut": cut, "alert_pd": 0.1, "background": False},
        "StressRunCreate": {"scenario": "sector_downturn", "data_cut": cut, "invalidation": "expected"},
    }


def _transactions(today: date) -> dict[str, Example]:
    return {
        "IPTransactionCreate": {"ref": f"CQUAE-{today.year}-0158", "kind": "sale", "price_cny": "3200000.00",
                                "transaction_date": (today - timedelta(days=30)).isoformat(),
                                "ip_type": "invention_patent", "ipc_or_nice_class": "H01L 29/1608", "industry": "C",
                                "region_code": "500112", "pricing_method": "online_bidding",
                                "trading_mode": "listing", "remaining_life_years": 14, "quality_score": 76,
                                "asset_count": 1},
        "IPTransactionUpdate": {"price_cny": "3150000.00", "quality_score": 74},
    }


def schema_examples(today: date | None = None) -> dict[str, Example]:
    """Request schema name → one example body, dates counted from ``today`` (default: today)."""
    today = today or date.today()
    out: dict[str, Example] = {}
    for part in (_identity, _pledge_core, _pledge_products, _valuation, _risk_sharing, _securitization,
                 _early_warning, _transactions):
        out.update(part(today))
    return out


def risk_rule_definition(today: date) -> Example:
    """A new risk-compensation rule family (the JSON a fund posts to ``POST /risk-rules``)."""
    return {
        "id": "yubei-ip-4222", "name": "渝北区知识产权质押融资风险补偿 4:2:2:2", "version": 1,
        "source": "渝北区知识产权质押融资风险补偿资金管理办法（示例）",
        "description": "担保机构 : 再担保机构 : 国家融资担保基金 : 银行 = 4:2:2:2；"
                       "单户贷款不超过1000万元，担保费率不超过1.5%。",
        "effective_from": _first_of_next_month(today).isoformat(),
        "parties": [{"key": "guarantor", "role": "guarantor", "share": "40", "name": "融资担保机构"},
                    {"key": "reguarantor", "role": "reguarantor", "share": "20", "name": "再担保机构"},
                    {"key": "nfgf", "role": "nfgf", "share": "20", "name": "国家融资担保基金"},
                    {"key": "bank", "role": "bank", "share": "20", "name": "贷款银行"}],
        "residual_bearer": "guarantor",
        "eligibility": {"max_borrower_loans_cny": "10000000.00", "max_guarantee_fee_rate": "0.015",
                        "guarantee_required": True},
        "loss_base": {"basis": "principal_only", "net_of_recoveries": True},
        "trigger": {"kind": "overdue_days", "days": 90, "claim_deadline_days": 365},
        "recovery": {"kind": "pro_rata_to_paid"},
    }


def operation_examples(today: date | None = None) -> dict[str, Example]:
    """``"METHOD /path"`` (below the API prefix) → example, for bodies without a schema class of ours."""
    today = today or date.today()
    login = {"username": "zhang.wei@cqbank.example.cn", "password": "Jiefangbei#0823"}
    return {
        "POST /auth/token": login,
        "POST /auth/session": {**login, "next": "/dashboard/"},
        "POST /risk-rules": risk_rule_definition(today),
    }
