"""What each bureau figure means, in Chinese and English, for the API response and the dashboard's tooltips.

One constant, so the JSON (``GET /api/v1/stats/overview`` → ``definitions``) and the dashboard
show the same words; the functions in :mod:`api.stats` compute exactly what is written here.
"""

from __future__ import annotations

DEFINITIONS: dict[str, dict[str, str]] = {
    "amount_fen": {
        "zh": "融资额：期内放款（发放日期在期内、状态为已放款及以后）的贷款本金合计。",
        "en": "Financing: principal of the loans disbursed (origination date in the period, funded status).",
    },
    "loan_count": {
        "zh": "贷款笔数：期内放款的贷款笔数。",
        "en": "Loans: number of loans disbursed in the period.",
    },
    "enterprise_count": {
        "zh": "企业数：期内获得放款的不同借款企业数。",
        "en": "Enterprises: distinct borrowers among the loans disbursed in the period.",
    },
    "inclusive_share": {
        "zh": "普惠占比：期内放款中单笔本金不超过普惠阈值（1000万元，2024年起可选2000万元）的贷款笔数占比。",
        "en": "Inclusive share: share (by count) of loans disbursed in the period with principal at most the "
              "inclusive threshold (10M CNY; 20M CNY selectable from 2024).",
    },
    "npl_ratio": {
        "zh": "不良率（存量口径）：期末不良贷款余额 ÷ 期末贷款余额。期末为今天或以后时按贷款当前状态"
              "（违约、理赔中、处置中或逾期90天以上为不良）；历史期末按期末在贷（发放≤期末<到期）贷款计，"
              "违约日期≤期末为不良（无违约日期而当前为不良的按不良计；余额取违约后余额），"
              "正常贷款余额按直线摊还计划推算（同一发放日、同一期限的贷款合计后四舍五入到分）。",
        "en": "NPL ratio (stock): non-performing outstanding ÷ outstanding at period end. For a period ending "
              "today or later, at the loans' current status (default, in claim, in disposal or >90 days past "
              "due). For a past period end: loans running then (originated ≤ end < maturity), non-performing "
              "if their default date ≤ end (or, without a recorded default date, if non-performing now), "
              "at the post-default balance; a performing loan's balance is its straight-line scheduled "
              "principal at the end (summed per origination day and term, rounded half-up to the fen).",
    },
    "vintage_default_rate": {
        "zh": "批次违约率（按发放期）：期内发放的贷款中至今已违约（有违约日期）的本金占比，与不良率口径不同。",
        "en": "Vintage default rate (by cohort): of the loans disbursed in the period, the share of principal "
              "that has defaulted since (a default date recorded). Not the NPL ratio.",
    },
    "compensation_by_party": {
        "zh": "代偿支付（按主体）：风险分担台账中记账日期在期内的代偿支付与追偿回款，按出资主体汇总，"
              "不论贷款何时发放。",
        "en": "Compensation by party: risk-sharing ledger payouts and recoveries booked in the period, per "
              "paying party, whatever the loans' origination dates.",
    },
    "registrations": {
        "zh": "质押登记：登记日期在期内的知识产权质押登记（每项质押知识产权一笔），限于范围内已放款贷款，不论贷款"
              "何时发放；登记贷款与登记金额按贷款首次质押登记日期计入所在期间（每笔贷款只计一次，追加质押不重复计），"
              "各期可相加。",
        "en": "Pledge registrations: IP pledge registrations dated in the period (one per pledged IP asset) on "
              "funded loans in scope, whenever the loans started; registered loans and amount count each loan "
              "once, in the period of its first registration (a later added pledge does not count it again), so "
              "consecutive periods add up.",
    },
    "programme_budgets": {
        "zh": "预算使用率：期末所在年度各方案年度预算的已使用额 ÷ 年度预算。包括风险补偿方案出资方的年度代偿上限"
              "（按当年记账的代偿支付计）和补贴年度预算（按已批准额计）；预算按方案整体计，不受页面筛选影响。",
        "en": "Budget used: of the annual budgets in the year of the period end, the share used — a compensating "
              "party's annual cap in a risk-compensation scheme (payouts booked that year) and subsidy budgets "
              "(approved draws). Budgets are scheme-wide and not narrowed by the page filters.",
    },
    "compensation_total": {
        "zh": "代偿支付合计：风险分担台账中记账日期在期内的代偿支付（各出资主体合计），不论贷款何时发放；"
              "净额扣除同期追偿回款。",
        "en": "Compensation paid: risk-sharing ledger payouts booked in the period, all parties together, whatever "
              "the loans' origination dates; the net figure deducts recoveries booked in the period.",
    },
    "change": {
        "zh": "环比：与紧邻的上一等长期间相比；同比：与上年同期相比。（本期 − 对比期）÷ 对比期。",
        "en": "Period-on-period: against the preceding period of equal length; year-on-year: against the "
              "same dates a year earlier. (this − that) ÷ that.",
    },
}
