"""Language and number formats: zh-CN (万元/亿元) or English (CNY millions); ISO dates.

Amounts arrive as integer fen and are formatted with ``Decimal`` (half-up to two decimals),
so the dashboard shows exactly the API's figures rounded for display, never float drift.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "ipfin_lang"

_FEN_PER_WAN = 1_000_000  # 10,000 CNY × 100 fen
_FEN_PER_YI = 10_000_000_000  # 100,000,000 CNY × 100 fen
_FEN_PER_MILLION = 100_000_000  # 1,000,000 CNY × 100 fen
_CENT = Decimal("0.01")


def norm_lang(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def amount_unit(max_abs_fen: int, lang: str) -> tuple[int, str]:
    """The divisor (fen per unit) and unit label for showing amounts up to ``max_abs_fen``.

    zh: 亿元 from 1 亿 up, else 万元; en: CNY millions.
    """
    if norm_lang(lang) == "en":
        return _FEN_PER_MILLION, "CNY m"
    return (_FEN_PER_YI, "亿元") if abs(max_abs_fen) >= _FEN_PER_YI else (_FEN_PER_WAN, "万元")


def in_unit(fen: int, divisor: int) -> Decimal:
    """``fen`` in the display unit, rounded half-up to 0.01 (exact decimal arithmetic)."""
    return (Decimal(int(fen)) / Decimal(divisor)).quantize(_CENT, rounding=ROUND_HALF_UP)


def fmt_amount(fen: int, lang: str) -> str:
    """'1,234.57 万元', '12.35 亿元' or 'CNY 12.35m'."""
    divisor, unit = amount_unit(fen, lang)
    value = in_unit(fen, divisor)
    if norm_lang(lang) == "en":
        return f"CNY {value:,.2f}m"
    return f"{value:,.2f} {unit}"


def fmt_count(n: int) -> str:
    return f"{int(n):,}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def fmt_change(x: float | None) -> str:
    """Period-on-period change as '+5.2%' / '−3.0%'; '—' without a comparable previous period."""
    if x is None:
        return "—"
    return f"{'+' if x >= 0 else '−'}{abs(x) * 100:.1f}%"


def fmt_pp(x: float | None) -> str:
    """A change of a ratio in percentage points: '+0.4 pp' (百分点)."""
    if x is None:
        return "—"
    return f"{'+' if x >= 0 else '−'}{abs(x) * 100:.2f} pp"


def fmt_date(d: date | None) -> str:
    return d.isoformat() if d else "—"


def cny_exact(fen: int) -> str:
    """Exact CNY with two decimals for exports: 1234567 fen → '12345.67'."""
    return str(Decimal(int(fen)).scaleb(-2).quantize(_CENT))


_T: dict[str, tuple[str, str]] = {
    "app_title": ("知识产权金融监测", "IP finance monitor"),
    "overview": ("总览", "Overview"),
    "bank": ("银行质押品", "Bank collateral"),
    "guarantor": ("担保代偿", "Guarantor claims"),
    "abs": ("资产证券化", "ABS"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "email": ("邮箱", "Email"),
    "password": ("密码", "Password"),
    "login_failed": ("邮箱或密码错误。", "Incorrect email or password."),
    "financing_amount": ("融资金额", "Financing amount"),
    "loan_count": ("贷款笔数", "Loans"),
    "enterprise_count": ("企业数", "Enterprises"),
    "inclusive_share": ("普惠贷款占比", "Inclusive-loan share"),
    "npl_ratio": ("不良率", "NPL ratio"),
    "compensation": ("代偿支付（按主体）", "Compensation paid by party"),
    "vs_previous": ("环比", "vs previous period"),
    "date_from": ("起始日期", "From"),
    "date_to": ("截止日期", "To"),
    "province": ("省份", "Province"),
    "city": ("城市", "City"),
    "industry": ("行业", "Industry"),
    "ip_type": ("知识产权类型", "IP type"),
    "bank_col": ("银行", "Bank"),
    "status": ("状态", "Status"),
    "all": ("全部", "All"),
    "granularity": ("时间粒度", "Granularity"),
    "month": ("月", "Month"),
    "quarter": ("季度", "Quarter"),
    "year": ("年", "Year"),
    "threshold": ("普惠门槛", "Inclusive threshold"),
    "threshold_10m": ("1000万元", "CNY 10m"),
    "threshold_20m": ("2000万元", "CNY 20m"),
    "timeseries": ("融资金额走势", "Financing over time"),
    "by_province": ("各省融资金额排名", "Financing by province (ranked)"),
    "by_city": ("各市融资金额", "Financing by city"),
    "by_industry": ("按行业", "By industry"),
    "by_ip_type": ("按知识产权类型", "By IP type"),
    "by_bank": ("按银行", "By bank"),
    "loans": ("贷款明细", "Loans"),
    "amount": ("金额", "Amount"),
    "outstanding": ("余额", "Outstanding"),
    "name": ("名称", "Name"),
    "period": ("期间", "Period"),
    "reference": ("编号", "Reference"),
    "borrower": ("借款企业", "Borrower"),
    "origination_date": ("放款日", "Originated"),
    "days_past_due": ("逾期天数", "Days past due"),
    "export_csv": ("导出 CSV", "CSV"),
    "export_xlsx": ("导出 Excel", "Excel"),
    "no_data": ("所选条件下没有数据。", "No data for this selection."),
    "drill_hint": (
        "点击省份柱形查看城市，点击城市查看贷款明细。",
        "Click a province bar to see its cities, then a city to see its loans.",
    ),
    "no_loan_access": ("当前角色无权查看单笔贷款。", "Your role may not see individual loans."),
    "not_available": ("模块尚未启用：暂无数据。", "This module is not set up yet: no data."),
    "not_allowed": ("当前机构无权查看此页面。", "Your organisation may not see this page."),
    "as_of": ("观察日", "As of"),
    "ltv_limit": ("质押率上限", "LTV limit"),
    "collateral_value": ("评估价值", "Appraised value"),
    "weighted_ltv": ("加权质押率", "Weighted LTV"),
    "value_distribution": ("质押物评估值分布", "Collateral value distribution"),
    "ltv_distribution": ("质押率分布", "LTV distribution"),
    "dpd_buckets": ("逾期分档", "Loans by days-past-due bucket"),
    "alerts": ("预警", "Alerts"),
    "ltv_breach": ("质押率超限", "LTV breach"),
    "lapse": ("权利失效/年费未缴", "IP lapsed / fee unpaid"),
    "revaluation_due": ("需重新评估", "Re-valuation due"),
    "ltv": ("质押率", "LTV"),
    "valuation_report": ("评估报告", "Valuation report"),
    "claims_queue": ("代偿申请队列", "Claims queue"),
    "payouts_by_party": ("各方支付", "Payouts by party"),
    "ledger_caps": ("限额台账", "Ledger against caps"),
    "pools": ("资产池", "Pools"),
    "stratification": ("资产池分层", "Pool stratification"),
    "cashflows": ("分档现金流", "Cash flows by tranche"),
    "loss_distribution": ("损失分布", "Loss distribution"),
    "tranche_metrics": ("分档指标", "Tranche metrics"),
    "count": ("笔数", "Count"),
    "share": ("占比", "Share"),
    "bucket": ("分档", "Bucket"),
    "party": ("主体", "Party"),
    "deadline": ("截止日", "Deadline"),
    "reasons": ("原因", "Reasons"),
    "signed_in_as": ("当前用户", "Signed in as"),
}


LOAN_STATUS: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "draft"), "submitted": ("已提交", "submitted"), "under_review": ("审查中", "under review"),
    "approved": ("已批准", "approved"), "rejected": ("已拒绝", "rejected"), "withdrawn": ("已撤回", "withdrawn"),
    "pledge_registered": ("已质押登记", "pledge registered"), "active": ("正常", "active"),
    "settled": ("已结清", "settled"), "overdue": ("逾期", "overdue"), "default": ("违约", "default"),
    "in_claim": ("代偿中", "in claim"), "in_disposal": ("处置中", "in disposal"), "recovered": ("已追偿", "recovered"),
    "written_off": ("已核销", "written off"), "closed": ("已关闭", "closed"),
}


def status_name(status: str, lang: str) -> str:
    """A loan status in the language (unknown statuses shown as stored)."""
    pair = LOAN_STATUS.get(status)
    return status if pair is None else name(pair, lang)


def t(key: str, lang: str) -> str:
    """The label ``key`` in ``lang`` (zh or en)."""
    zh, en = _T[key]
    return en if norm_lang(lang) == "en" else zh


def name(pair: tuple[str, str] | list[str], lang: str) -> str:
    return pair[1] if norm_lang(lang) == "en" else pair[0]
