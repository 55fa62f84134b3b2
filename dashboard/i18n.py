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


def fmt_change_lang(x: float | None, lang: str) -> str:
    """A change with an arrow for screen readers and colour-blind readers: '▲ +5.2%' / '▼ −3.0%'."""
    if x is None:
        return "—"
    return f"{'▲' if x > 0 else '▼' if x < 0 else '■'} {fmt_change(x)}"


def fmt_pp_lang(x: float | None, lang: str) -> str:
    """A change of a ratio in percentage points: '+0.40 个百分点' (zh) or '+0.40 pp' (en)."""
    if x is None:
        return "—"
    unit = "pp" if norm_lang(lang) == "en" else "个百分点"
    return f"{'▲' if x > 0 else '▼' if x < 0 else '■'} {'+' if x >= 0 else '−'}{abs(x) * 100:.2f} {unit}"


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
    "compensation_paid": ("代偿支付", "Compensation paid"),
    "vs_previous": ("环比", "vs previous period"),
    "vs_year_ago": ("同比", "vs a year earlier"),
    "yoy_period": ("同比期间", "Year-earlier period"),
    "pop_period": ("环比期间", "Previous period"),
    "period_label": ("统计期间", "Period"),
    "fallback_year": (
        "本年度（{year}年）暂无放款数据，默认显示有数据的最近年份：{last}年全年。",
        "No loans yet in {year}; showing the latest year with data: {last}.",
    ),
    "def_bk_loans": ("在贷笔数：观察日本行可见的在贷贷款（正常、逾期、违约、代偿中、处置中）笔数。",
                     "Live loans: loans you see that are active, overdue, in default, in claim or in disposal."),
    "def_bk_outstanding": ("余额：上述在贷贷款的未偿本金合计。", "Outstanding: unpaid principal of those live loans."),
    "def_bk_value": ("评估价值：每笔贷款全部质押物最近一次重估值（无重估则取质押时评估值）之和。",
                     "Appraised value: per loan, the sum of each pledged asset's latest re-valuation "
                     "(else its value at pledging)."),
    "def_bk_ltv": ("加权质押率：余额合计 ÷ 评估价值合计。", "Weighted LTV: total outstanding ÷ total appraised value."),
    "def_bk_breach": ("质押率超限：质押率（余额 ÷ 评估价值）高于所选上限的贷款笔数。",
                      "LTV breach: loans whose outstanding ÷ appraised value exceeds the selected limit."),
    "def_bk_lapse": ("权利失效/年费未缴：有质押知识产权已失效、无效、期满，或年费缴至日早于观察日的贷款笔数。",
                     "Lapse: loans with a pledged IP right lapsed, invalidated or expired, or its annual fee "
                     "paid only until before the as-of date."),
    "def_bk_reval": ("需重新评估：质押物最近评估日（重估日，否则质押登记日）早于观察日前12个月的贷款笔数。",
                     "Re-valuation due: loans whose stalest appraisal (re-valuation, else pledge registration) "
                     "is older than 12 months."),
    "def_gu_open": ("待处理代偿申请：状态为已申请或已审核的申请笔数。",
                    "Open claims: claims filed or reviewed, not yet paid."),
    "def_gu_paid": ("各方支付合计：风险分担台账中的全部代偿支付。",
                    "Payouts: every compensation payout in the ledger."),
    "no_runs": ("该资产池的交易尚无已保存的现金流或蒙特卡洛测算结果（可通过接口发起测算）。",
                "No stored cash-flow or Monte Carlo run for a deal on this pool yet (start one through the API)."),
    "table_and_export": ("数据表与导出", "Table and export"),
    "overview_title": ("知识产权质押融资监测总览", "IP pledge financing overview"),
    "map": ("区域分布图", "Regional map"),
    "map_metric": ("地图指标", "Map metric"),
    "map_amount": ("融资金额", "Financing amount"),
    "map_count": ("贷款笔数", "Loans"),
    "map_npl": ("不良率", "NPL ratio"),
    "map_compensation": ("代偿支付", "Compensation paid"),
    "map_back": ("返回上级", "Up one level"),
    "map_hint": (
        "点击地图区域逐级下钻：全国 → 省 → 市 → 区县。",
        "Click a region to drill down: country → province → city → county.",
    ),
    "china": ("全国", "China"),
    "no_map": ("该地区暂无下级地图。", "No lower-level map for this region."),
    "unlocated": (
        "另有 {n} 笔贷款登记在市级、未细化到区县（{amount}），不在区县图中着色。",
        "{n} more loans are registered at city level without a county ({amount}); "
        "they are not coloured on the county map.",
    ),
    "loading": ("加载中…", "Loading…"),
    "headline": ("核心指标", "Headline figures"),
    "trend": ("趋势", "Trend"),
    "breakdowns": ("结构分析", "Breakdowns"),
    "year_ago_series": ("上年同期融资金额", "Financing a year earlier"),
    "by_county": ("各区县融资金额", "Financing by county"),
    "county": ("区县", "County"),
    "code": ("代码", "Code"),
    "paid": ("支付金额", "Paid"),
    "recovered": ("追偿回款", "Recovered"),
    "net": ("净代偿", "Net"),
    "balance": ("余额", "Balance"),
    "rule": ("规则", "Rule"),
    "default_date": ("违约日", "Default date"),
    "filed_on": ("申请日", "Filed"),
    "loss_base": ("损失基数", "Loss base"),
    "eligible": ("是否合规", "Eligible"),
    "severity": ("级别", "Severity"),
    "alert_code": ("预警类型", "Alert"),
    "pledge_monitoring": ("质押监测预警", "Pledge monitoring alerts"),
    "identifier": ("标的编号", "Identifier"),
    "value_p5": ("5%分位价值", "P5 value"),
    "value_low": ("评估区间下限", "Low"),
    "value_high": ("评估区间上限", "High"),
    "low_input": ("输入取低值", "Input low"),
    "high_input": ("输入取高值", "Input high"),
    "source": ("来源", "Source"),
    "date": ("日期", "Date"),
    "tranche": ("档次", "Tranche"),
    "interest": ("利息", "Interest"),
    "principal": ("本金", "Principal"),
    "stress": ("压力情景", "Stress"),
    "attachment": ("起始点", "Attachment"),
    "detachment": ("终止点", "Detachment"),
    "expected_loss": ("预期损失", "Expected loss"),
    "el_se": ("预期损失标准误", "EL s.e."),
    "prob_loss": ("发生损失概率", "P(loss>0)"),
    "wal_years": ("加权平均期限（年）", "WAL (years)"),
    "rating": ("隐含评级", "Rating"),
    "n_paths": ("模拟路径数", "Paths"),
    "pct_of_pool": ("占资产池比例（%）", "% of pool"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "claim_id": ("申请编号", "Claim"),
    "loan_ref": ("贷款", "Loan"),
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
    "export_csv": ("导出CSV", "CSV"),
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


ENUMS: dict[str, dict[str, tuple[str, str]]] = {
    "party": {
        "bank": ("银行", "bank"), "guarantor": ("担保机构", "guarantor"), "reguarantor": ("再担保机构", "re-guarantor"),
        "nfgf": ("国家融资担保基金", "National Financing Guarantee Fund"), "fund": ("风险补偿资金池", "risk fund"),
        "government": ("政府风险补偿", "government"), "insurer": ("保险机构", "insurer"),
    },
    "claim_status": {
        "filed": ("已申请", "filed"), "reviewed": ("已审核", "reviewed"), "approved": ("已批准", "approved"),
        "rejected": ("已拒绝", "rejected"), "paid": ("已支付", "paid"),
        "partially_paid": ("部分支付", "partially paid"),
        "completed": ("已完成", "completed"), "closed": ("已关闭", "closed"), "withdrawn": ("已撤回", "withdrawn"),
    },
    "severity": {"critical": ("严重", "critical"), "warning": ("警告", "warning"), "info": ("提示", "info")},
    "alert": {
        "npl": ("不良", "non-performing"), "overdue": ("逾期", "overdue"), "ltv_breach": ("质押率超限", "LTV breach"),
        "lapse": ("权利失效/年费未缴", "IP lapsed / fee unpaid"), "revaluation_due": ("需重新评估", "re-valuation due"),
        "bucket_worsened": ("逾期分档恶化", "overdue bucket worsened"),
        "annual_fee_unpaid": ("年费未缴", "annual fee unpaid"), "ip_invalidated": ("权利被宣告无效", "IP invalidated"),
        "ip_lapsed": ("权利失效", "IP lapsed"),
        "ip_expires_before_maturity": ("权利先于贷款到期", "IP expires before the loan matures"),
        "ip_dispute": ("权属争议", "IP in dispute"), "early_warning": ("风险预警信号", "early warning"),
    },
    "check": {
        "rule_in_force": ("规则有效期", "rule in force"),
        "claim_matches_loan": ("申请与贷款一致", "claim matches loan"),
        "outstanding_principal": ("未偿本金", "outstanding principal"),
        "dates_in_order": ("日期顺序", "dates in order"),
        "borrower_loan_cap": ("单户上限", "borrower cap"), "guarantee_fee_cap": ("担保费率上限", "guarantee fee cap"),
        "guaranteed": ("担保要求", "guaranteed"), "trigger": ("代偿触发条件", "trigger"),
        "claim_deadline": ("申请时限", "claim deadline"), "duplicate_claim": ("重复申请", "duplicate claim"),
        "review_date": ("审核日期", "review date"), "loss_positive": ("损失为正", "loss positive"),
        "compensation_available": ("可代偿额度", "compensation available"),
    },
    "tranche": {"senior": ("优先级", "Senior"), "mezzanine": ("中间级", "Mezzanine"), "mezz": ("中间级", "Mezz"),
                "sub": ("次级", "Sub"), "subordinated": ("次级", "Subordinated"), "equity": ("次级", "Equity"),
                "junior": ("次级", "Junior")},
    "stress": {"pd_x3": ("违约率×3", "PD ×3"),
               "base": ("基准情景", "base"), "mild": ("轻度压力", "mild"), "moderate": ("中度压力", "moderate"),
               "severe": ("重度压力", "severe")},
    "strat": {"industry": ("行业", "industry"), "region": ("地区", "region"), "province": ("省份", "province"),
              "ip_type": ("知识产权类型", "IP type"), "size": ("规模", "size"), "rating": ("评级", "rating"),
              "kind": ("资产类型", "asset kind")},
    "pool_source": {"loans": ("存量贷款", "loans"), "inline": ("录入资产", "entered assets")},
    "asset_kind": {"pledge_loan": ("质押贷款", "pledge loan"),
                   "royalty_receivable": ("许可费应收款", "royalty receivable")},
}


def enum_name(kind: str, value: str, lang: str) -> str:
    """A stored code (party, claim status, severity, …) in the language; unknown codes as stored."""
    table = ENUMS.get(kind, {})
    pair = table.get(str(value)) or table.get(str(value).lower())
    return str(value) if pair is None else name(pair, lang)


def bucket_label(label: str, lang: str) -> str:
    """A distribution bucket label from the API ('no valuation', '1-5M', '>=20M', '≤40%') in the
    language: in Chinese 'M' (million CNY) becomes 万元 (×100) and 'no valuation' 无评估值."""
    import re

    if norm_lang(lang) == "en":
        return label
    if label == "no valuation":
        return "无评估值"
    if label.endswith("M"):
        body = re.sub(r"\d+(?:\.\d+)?", lambda m: f"{(Decimal(m.group()) * 100).normalize():f}", label[:-1])
        return body.replace(">=", "≥").replace("<=", "≤") + "万元"
    return label.replace(">=", "≥").replace("<=", "≤")


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


# programme page (rule cost per payer, break-even fee): appended entries
_T.update({
    "programme": ("规则成本", "Programme cost"),
    "pg_rule": ("风险分担规则", "Risk-sharing rule"),
    "pg_province": ("省份（贷款范围）", "Province (loans)"),
    "pg_seed": ("随机种子", "Seed"),
    "pg_years": ("模拟年数", "Years simulated"),
    "pg_run": ("开始模拟", "Simulate"),
    "pg_summary": ("{loans} 笔在贷贷款（{eligible} 笔符合规则）· {paths} 个情景 · 种子 {seed} · {years} 年",
                   "{loans} live loans ({eligible} eligible) · {paths} scenarios · seed {seed} · {years} year(s)"),
    "pg_sources": ("违约概率：{ew} 笔来自预警评分，{cls} 笔按五级分类假设值",
                   "PD: {ew} loans from early-warning scores, {cls} from the five-class assumption"),
    "pg_payout": ("各方代偿支出：期望与99%分位（误差线为标准误）",
                  "Payout per party: expected and 99% (error bars: SE)"),
    "pg_expected": ("期望支出", "Expected payout"),
    "pg_p99": ("99%分位支出", "99% payout"),
    "pg_se": ("标准误", "SE"),
    "pg_p99_se": ("99%分位标准误", "SE of 99%"),
    "pg_net": ("扣除追偿后期望净成本", "Expected net cost after recoveries"),
    "pg_share": ("分担比例", "Share"),
    "pg_caps": ("预算与上限耗尽概率（按年）", "Budget and ceiling exhaustion by year"),
    "pg_cap": ("预算或上限", "Budget or ceiling"),
    "pg_probability": ("期内耗尽概率", "Probability it binds"),
    "pg_year_n": ("第{n}年首次耗尽", "First binds in year {n}"),
    "pg_no_caps": ("该规则没有年度预算、资金余额或代偿率上限，无耗尽风险。",
                   "The rule has no annual budget, fund balance or payout-rate ceiling to run out."),
    "pg_fee": ("盈亏平衡担保费率与费率上限", "Break-even guarantee fee vs the fee cap"),
    "pg_break_even": ("盈亏平衡费率", "Break-even rate"),
    "pg_fee_cap": ("费率上限", "Fee cap"),
    "pg_no_fee_cap": ("规则未设费率上限", "no fee cap in the rule"),
    "pg_total": ("收费方合计", "Fee parties together"),
    "pg_under_priced": ("费率上限低于盈亏平衡费率的贷款：{n} 笔，每年缺口 {gap}",
                        "Loans the cap under-prices: {n}, short {gap} a year"),
    "pg_loan": ("贷款编号", "Loan"),
    "pg_gap": ("费率缺口", "Rate gap"),
    "pg_charged": ("实收费率", "Charged rate"),
    "pg_error": ("无法模拟：{msg}", "Cannot simulate: {msg}"),
    "pg_no_loans": ("所选范围内没有可见的在贷贷款。", "No live loan you may see in this selection."),
    "pg_cap_party_year": ("{party}年度预算", "{party} annual budget"),
    "pg_cap_fund_balance": ("{party}资金余额", "{party} fund balance"),
    "pg_cap_base_per_borrower_year": ("单户年度补偿基数上限", "loss counted per borrower a year"),
    "pg_cap_compensation_per_borrower_year": ("单户年度代偿上限", "compensation per borrower a year"),
    "pg_cap_compensation_per_borrower_lifetime": ("单户累计代偿上限", "compensation per borrower, lifetime"),
    "pg_cap_compensation_per_lender_year": ("单家银行年度代偿上限", "compensation per bank a year"),
    "pg_cap_payout_rate_ceiling": ("代偿率上限", "payout-rate ceiling"),
    "pg_note": ("模拟假设：资产相关系数0.15，处置费用20%，处置周期1.5年，贴现率4%；无评分贷款按五级分类取违约概率"
                "（正常2%、关注8%、次级35%、可疑60%、损失90%）。",
                "Assumptions: asset correlation 0.15, disposal costs 20%, 1.5 years to recover, 4% discount rate; "
                "loans without a score take a PD by five-class classification (normal 2%, special mention 8%, "
                "substandard 35%, doubtful 60%, loss 90%)."),
})
ENUMS["party"].setdefault("appraiser", ("评估机构", "appraiser"))
_T["pg_no_eligible"] = ("所选范围内没有符合该规则条件的贷款（如企业层级、单户上限、担保要求）。",
                        "No loan in this selection is eligible under the rule (firm tier, borrower cap, guarantee).")

# bank page: early-warning watchlist, latest stress run, provisions by five-class category (appended entries)
_T.update({
    "ew_watchlist": ("预警名单", "Watchlist"),
    "ew_rank": ("排名", "Rank"),
    "ew_pd": ("12个月违约概率", "12-month PD"),
    "ew_pd_change": ("较上次变化", "Change since last run"),
    "ew_rank_change": ("排名变化", "Rank change"),
    "ew_alert": ("预警", "Alert"),
    "ew_new": ("新增", "new"),
    "ew_up": ("上升{n}位", "up {n}"),
    "ew_down": ("下降{n}位", "down {n}"),
    "ew_same": ("持平", "same"),
    "ew_drivers": ("主要风险因素", "Top drivers"),
    "ew_alerts": ("超过预警阈值", "Above the alert PD"),
    "ew_scored": ("评分贷款", "Loans scored"),
    "ew_threshold": ("预警阈值", "Alert PD"),
    "ew_run_line": ("评分批次 #{id} · 数据截止 {cut} · 模型 {kind} · 显示违约概率最高的 {n} 笔",
                    "Scoring run #{id} · data cut {cut} · model {kind} · the {n} loans of highest PD"),
    "ew_none": ("尚无评分结果。运行命令 {cmd}，或调用接口 {api}，即可对在贷贷款评分并生成预警名单。",
                "No scoring run yet. Run {cmd}, or call {api}, to score the live loans and build the watchlist."),
    "def_ew_alerts": ("超过预警阈值：最新评分中12个月违约概率不低于预警阈值的贷款笔数。",
                      "Above the alert PD: loans whose 12-month PD in the latest run is at or above the alert PD."),
    "st_title": ("压力测试", "Stress test"),
    "st_run_line": ("最新压力测试 #{id}：{scenario} · 数据截止 {cut} · 覆盖贷款 {n} 笔，余额 {balance}",
                    "Latest stress run #{id}: {scenario} · data cut {cut} · {n} loans, outstanding {balance}"),
    "st_mc_line": ("最新压力测试 #{id}：蒙特卡洛模拟（{paths} 条路径）· 数据截止 {cut}",
                   "Latest stress run #{id}: Monte Carlo ({paths} paths) · data cut {cut}"),
    "st_breaches": ("质押率超限（前→后）", "LTV breaches (before→after)"),
    "st_margin_call": ("需追加担保金额", "Margin calls"),
    "st_provision_change": ("拨备增加", "Provision change"),
    "st_el_change": ("预期损失增加", "Expected-loss change"),
    "st_mean_breaches": ("平均超限笔数", "Mean breaches"),
    "st_mc_margin_call": ("追加担保金额（均值）", "Margin calls (mean)"),
    "st_mc_el": ("预期损失（均值）", "Expected loss (mean)"),
    "st_none": ("尚无压力测试结果。运行命令 {cmd}，或调用接口 {api}，即可生成。",
                "No stress run yet. Run {cmd}, or call {api}, to make one."),
    "pv_title": ("贷款五级分类与拨备", "Five-class classification and provisions"),
    "pv_class": ("分类", "Class"),
    "pv_rate": ("计提比例", "Rate"),
    "pv_provision": ("拨备", "Provision"),
    "pv_total": ("合计", "Total"),
    "pv_specific": ("专项拨备", "Specific provisions"),
    "pv_general": ("一般准备", "General reserve"),
    "pv_npl": ("不良贷款余额", "NPL outstanding"),
    "pv_coverage": ("拨备覆盖率", "Provision coverage"),
    "def_pv_coverage": ("拨备覆盖率 =（专项拨备 + 一般准备）÷ 不良贷款（次级、可疑、损失）余额。",
                        "Coverage = (specific provisions + general reserve) ÷ NPL (substandard, doubtful, loss) "
                        "outstanding."),
})
ENUMS["loan_class"] = {
    "normal": ("正常", "normal"), "special_mention": ("关注", "special mention"),
    "substandard": ("次级", "substandard"), "doubtful": ("可疑", "doubtful"), "loss": ("损失", "loss"),
}
ENUMS["ew_feature"] = {
    "ltv_now": ("当前质押率", "LTV now"), "ltv_change": ("质押率较发放时变动", "LTV change since origination"),
    "max_dpd_12m": ("近12个月最长逾期天数", "Max days past due, 12 months"),
    "dpd_now": ("当前逾期天数", "Days past due"),
    "n_fee_events_12m": ("近12个月年费逾期/未缴次数", "Fee events, 12 months"),
    "valuation_cv": ("估值离散度(蒙特卡洛标准差/均值)", "Valuation dispersion"),
    "valuation_age_years": ("估值距今年限", "Valuation age"), "loan_age_years": ("贷款账龄", "Loan age"),
    "legal_event": ("质物法律事件", "Legal event on the right"), "industry": ("行业门类(GB/T 4754)", "Industry"),
    "province": ("省份(GB/T 2260 前两位)", "Province"), "borrower_size": ("企业规模", "Borrower size"),
    "ip_type": ("质物类型", "IP type"),
}
ENUMS["ew_model"] = {"logistic": ("基于历史数据拟合", "fitted on the stored history"),
                     "prior": ("先验参数（历史违约不足）", "prior (too few past defaults)")}
ENUMS["stress_scenario"] = {
    "baseline": ("基准(无冲击)", "Baseline (no shock)"), "sector_downturn": ("行业下行", "Sector downturn"),
    "patent_invalidation_wave": ("专利无效潮", "Patent invalidation wave"), "rate_rise": ("利率上行", "Rate rise"),
    "combined_severe": ("综合严重情景", "Combined severe"), "custom": ("自定义", "Custom shocks"),
    "monte_carlo": ("蒙特卡洛模拟", "Monte Carlo"),
}

# transactions page (IP transaction register volumes for bureaus): appended entries
_T.update({
    "transactions": ("知识产权交易", "IP transactions"),
    "tx_period": ("交易日期", "Transaction date"),
    "tx_province": ("省份", "Province"),
    "tx_city": ("城市", "City"),
    "tx_count": ("交易笔数", "Transactions"),
    "tx_amount": ("交易金额", "Value"),
    "tx_scope": ("范围：{region}，{start} 至 {end}", "Scope: {region}, {start} to {end}"),
    "tx_national": ("全国", "National"),
    "tx_by_method": ("按市场化定价方式", "By pricing method"),
    "tx_by_mode": ("按交易模式", "By trading mode"),
    "tx_cross": ("定价方式 × 交易模式（笔数 / 金额）", "Pricing method × trading mode (count / value)"),
    "tx_by_type": ("按知识产权类型", "By IP type"),
    "tx_by_year": ("按年度", "By year"),
    "tx_method": ("定价方式", "Pricing method"),
    "tx_mode": ("交易模式", "Trading mode"),
    "tx_type": ("知识产权类型", "IP type"),
    "tx_year": ("年度", "Year"),
    "tx_share": ("金额占比", "Share of value"),
    "tx_total": ("合计", "Total"),
    "tx_empty": ("所选范围内没有交易记录。", "No transaction in this selection."),
    "tx_note": ("数据来源：知识产权交易登记（含转让、许可、拍卖、收储、作价入股和质物处置），金额为成交价格。",
                "Source: the IP transaction register (sales, licences, auctions, reserve purchases, equity "
                "contributions and pledge disposals); values are the prices paid."),
})

# overview: the second row of headline cards (registrations, compensation, vintage, programme budgets)
_T.update({
    "registration_count": ("质押登记笔数", "Pledge registrations"),
    "registered_amount": ("质押登记金额", "Registered pledge financing"),
    "registered_loans": ("涉及贷款 {n} 笔", "{n} loans"),
    "pledged_value": ("质物评估值 {amount}", "Pledged IP appraised at {amount}"),
    "compensation_total": ("代偿支付合计", "Compensation paid"),
    "compensation_net": ("扣除追偿后净额 {amount}", "Net of recoveries {amount}"),
    "compensation_claims": ("涉及理赔 {n} 件", "{n} claims"),
    "vintage_default_rate": ("批次违约率", "Vintage default rate"),
    "vintage_defaulted": ("期内发放中已违约 {n} 笔", "{n} of the period's loans defaulted since"),
    "budget_used": ("预算使用率", "Programme budgets used"),
    "budget_used_of": ("已用 {used} / 预算 {budget}", "{used} of {budget} used"),
    "budget_year": ("{year}年度，{n} 项预算", "{year}, {n} budgets"),
    "budget_none": ("{year}年度无年度预算方案", "No annual budgets in {year}"),
})
