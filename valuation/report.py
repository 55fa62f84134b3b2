"""Valuation report: JSON dict and a print-ready bilingual HTML page with plotly charts.

Pure: builds strings and dicts only (no file I/O). Charts are plotly figure specs written as JSON
into the page and drawn by plotly.js from the CDN, so no Python plotting dependency is needed.
Labels come in zh-CN and English; ``lang='bilingual'`` shows both ("中文 / English").
"""

from __future__ import annotations

import html
import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from ipfin.money import fen_to_cny
from ipfin.reference import IP_TYPES

from .assets import NO_STATUTORY_EXPIRY, IPType, collateral_types
from .result import ValuationResult

Lang = Literal["zh-CN", "en", "bilingual"]
PLOTLY_CDN = "https://cdn.plot.ly/plotly-2.35.2.min.js"


def plotly_js_path() -> Path:
    """plotly.js as shipped inside the ``plotly`` package, for offline reports."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

LABELS: dict[str, tuple[str, str]] = {
    "title": ("知识产权价值评估报告", "IP valuation report"),
    "asset": ("评估对象", "Subject asset"),
    "identifier": ("编号", "Identifier"),
    "ip_type": ("类型", "IP type"),
    "valuation_date": ("评估基准日", "Valuation date"),
    "expiry_date": ("法定保护期届满日", "Legal expiry"),
    "remaining_legal_term_years": ("剩余法定保护期(年)", "Remaining legal term (years)"),
    "remaining_economic_life_years": ("剩余经济寿命(年)", "Remaining economic life (years)"),
    "conclusion": ("评估结论", "Conclusion"),
    "appraised_value": ("评估值", "Appraised value"),
    "range": ("价值区间", "Value range"),
    "reconciliation": ("评估方法加权", "Reconciliation of approaches"),
    "approach": ("评估方法", "Approach"),
    "weight": ("权重", "Weight"),
    "value": ("价值", "Value"),
    "low": ("下限", "Low"),
    "high": ("上限", "High"),
    "contribution": ("加权贡献", "Weighted contribution"),
    "income": ("收益法", "Income approach"),
    "market": ("市场法", "Market approach"),
    "cost": ("成本法", "Cost approach"),
    "real_option": ("实物期权法", "Real option"),
    "discount_rate": ("折现率", "Discount rate"),
    "risk_free": ("无风险报酬率", "Risk-free rate"),
    "technical_risk": ("技术风险报酬率", "Technical risk premium"),
    "market_risk": ("市场风险报酬率", "Market risk premium"),
    "funding_risk": ("资金风险报酬率", "Funding risk premium"),
    "management_risk": ("管理风险报酬率", "Management risk premium"),
    "legal_risk": ("法律风险报酬率", "Legal risk premium"),
    "total": ("合计", "Total"),
    "score": ("专利价值评价指标 (GB/T 42748-2023)", "Indicator score (after GB/T 42748-2023)"),
    "monte_carlo": ("蒙特卡洛模拟", "Monte Carlo simulation"),
    "mean": ("均值", "Mean"),
    "median": ("中位数", "Median"),
    "standard_error": ("标准误", "Standard error"),
    "paths": ("路径数", "Paths"),
    "seed": ("随机种子", "Seed"),
    "prob_below_loan": ("评估值低于贷款额的概率", "P(value < loan amount)"),
    "loan_amount": ("贷款金额", "Loan amount"),
    "distribution": ("价值分布", "Value distribution"),
    "tornado": ("敏感性分析(龙卷风图)", "Sensitivity (tornado)"),
    "cash_flows": ("收益预测与折现", "Projected and discounted income"),
    "year": ("年度", "Year"),
    "revenue": ("营业收入", "Revenue"),
    "attributable": ("归属于知识产权的税后收益", "After-tax income attributable to the IP"),
    "present_value": ("现值", "Present value"),
    "comparables": ("可比交易调整表", "Adjusted comparable transactions"),
    "price": ("交易价格", "Price"),
    "quality_ratio": ("质量系数", "Quality ratio"),
    "life_factor": ("寿命系数", "Life factor"),
    "time_factor": ("时间系数", "Time factor"),
    "scope_factor": ("范围系数", "Scope factor"),
    "transaction_type_factor": ("交易类型系数", "Transaction-type factor"),
    "adjusted_value": ("调整后价值", "Adjusted value"),
    "replacement_cost": ("重置成本", "Replacement cost"),
    "obsolescence": ("贬值率", "Obsolescence"),
    "european": ("欧式期权价值", "European value"),
    "american": ("美式期权价值", "American value"),
    "cny": ("元", "CNY"),
    "revenue_scale": ("收入水平", "Revenue level"),
    "revenue_growth": ("收入增长率", "Revenue growth"),
    "sales_rate": ("分成率(销售口径)", "Royalty rate on sales"),
    "life": ("经济寿命", "Economic life"),
    "tax_rate": ("所得税率", "Tax rate"),
    "warnings": ("提示事项", "Points to note"),
    "comparable_selection": ("可比交易筛选 (交易登记库)", "Comparable selection from the transaction register"),
    "transaction": ("交易编号", "Transaction"),
    "transaction_kind": ("交易类型", "Kind"),
    "transaction_date": ("交易日期", "Date"),
    "class": ("分类号", "Class"),
    "similarity": ("相似度", "Similarity"),
    "rank": ("排名", "Rank"),
    "used": ("是否选用", "Used"),
    "reason": ("原因", "Reason"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "register_size": ("交易登记库记录数", "Register size"),
    "other_type_count": ("其他类型交易(未列示)", "Transactions of other IP types (not listed)"),
    "no_fixed_term": ("无固定期限", "no fixed term"),
}


def label(key: str, lang: Lang = "bilingual") -> str:
    zh, en = LABELS.get(key, (key, key))
    return zh if lang == "zh-CN" else en if lang == "en" else f"{zh} / {en}"


def to_json_dict(result: ValuationResult) -> dict[str, Any]:
    """The result as plain JSON types (money stays integer fen; dates ISO strings)."""
    return result.model_dump(mode="json")


def _money(fen: int) -> str:
    return f"{fen_to_cny(fen):,}"


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def figures(result: ValuationResult, lang: Lang = "bilingual") -> dict[str, dict[str, Any]]:
    """Plotly figure specs (data + layout dicts): distribution, tornado, cash flows."""
    figs: dict[str, dict[str, Any]] = {}
    mc = result.monte_carlo
    if mc is not None:
        edges = [float(fen_to_cny(e)) for e in mc.histogram_edges_fen]
        mids = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        shapes = []
        if mc.loan_amount_fen is not None:
            x = float(fen_to_cny(mc.loan_amount_fen))
            shapes.append({"type": "line", "x0": x, "x1": x, "yref": "paper", "y0": 0, "y1": 1,
                           "line": {"color": "#c0392b", "dash": "dash"}})
        figs["distribution"] = {
            "data": [{"type": "bar", "x": mids, "y": list(mc.histogram_counts), "marker": {"color": "#2e86c1"},
                      "name": label("distribution", lang)}],
            "layout": {"title": {"text": label("distribution", lang)}, "bargap": 0.02, "shapes": shapes,
                       "xaxis": {"title": {"text": label("cny", lang)}}, "height": 360},
        }
    bars = list(reversed(result.tornado))
    base = float(fen_to_cny(result.tornado_base_fen))
    figs["tornado"] = {
        "data": [
            {"type": "bar", "orientation": "h", "name": label("low", lang),
             "y": [label(b.input, lang) for b in bars],
             "x": [float(fen_to_cny(b.value_at_low_fen)) - base for b in bars], "base": base,
             "marker": {"color": "#e67e22"}},
            {"type": "bar", "orientation": "h", "name": label("high", lang),
             "y": [label(b.input, lang) for b in bars],
             "x": [float(fen_to_cny(b.value_at_high_fen)) - base for b in bars], "base": base,
             "marker": {"color": "#27ae60"}},
        ],
        "layout": {"title": {"text": label("tornado", lang)}, "barmode": "overlay", "height": 360,
                   "xaxis": {"title": {"text": label("cny", lang)}}, "margin": {"l": 220}},
    }
    flows = result.income.flows
    figs["cash_flows"] = {
        "data": [
            {"type": "bar", "name": label("attributable", lang), "x": [f.year for f in flows],
             "y": [float(fen_to_cny(f.attributable_after_tax_fen)) for f in flows], "marker": {"color": "#95a5a6"}},
            {"type": "bar", "name": label("present_value", lang), "x": [f.year for f in flows],
             "y": [float(fen_to_cny(f.present_value_fen)) for f in flows], "marker": {"color": "#2e86c1"}},
        ],
        "layout": {"title": {"text": label("cash_flows", lang)}, "barmode": "group", "height": 360,
                   "xaxis": {"title": {"text": label("year", lang)}, "dtick": 1},
                   "yaxis": {"title": {"text": label("cny", lang)}}},
    }
    return figs


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",Arial,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.6em;border-bottom:2px solid #2e86c1}h2{font-size:1.2em;margin-top:1.6em;color:#1b4f72}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}
th{background:#eaf2f8}td:first-child,th:first-child{text-align:left}.big{font-size:1.4em;font-weight:bold}
.chart{width:100%;min-height:360px}.warnings li{color:#a04000}
@media print{body{margin:1cm}.chart{page-break-inside:avoid}h2{page-break-after:avoid}section{page-break-inside:avoid}}
@page{size:A4;margin:1.5cm}
"""


def to_html(result: ValuationResult, lang: Lang = "bilingual", *, plotly_js: str = PLOTLY_CDN) -> str:
    """A self-contained, print-ready HTML report (charts drawn by plotly.js from ``plotly_js``)."""
    L = lambda k: label(k, lang)  # noqa: E731
    ipt = IP_TYPES.get(result.ip_type) or _type_names(result.ip_type)
    ip_label = ipt[0] if lang == "zh-CN" else ipt[1] if lang == "en" else f"{ipt[0]} / {ipt[1]}"
    parts = [f"<h1>{html.escape(L('title'))}</h1>"]
    parts.append(f"<section><h2>{html.escape(L('asset'))}</h2>" + _table(
        [L("identifier"), L("ip_type"), L("valuation_date"), L("expiry_date"), L("remaining_legal_term_years"),
         L("remaining_economic_life_years")],
        [[f"{result.identifier} {result.title}", ip_label, result.valuation_date,
          L("no_fixed_term") if result.expiry_date == NO_STATUTORY_EXPIRY else result.expiry_date,
          f"{result.remaining_legal_term_years:.2f}", f"{result.remaining_economic_life_years:.2f}"]]) + "</section>")
    parts.append(
        f"<section><h2>{html.escape(L('conclusion'))}</h2><p class='big'>{html.escape(L('appraised_value'))}: "
        f"{_money(result.appraised_value_fen)} {html.escape(L('cny'))}</p><p>{html.escape(L('range'))}: "
        f"{_money(result.appraised_low_fen)} – {_money(result.appraised_high_fen)} {html.escape(L('cny'))}</p>"
        + _table([L("approach"), L("value"), L("low"), L("high"), L("weight"), L("contribution")],
                 [[L(r.approach), _money(r.value_fen), _money(r.low_fen), _money(r.high_fen), r.weight,
                   _money(r.contribution_fen)] for r in result.reconciliation]) + "</section>")
    if result.warnings:
        parts.append(f"<section class='warnings'><h2>{html.escape(L('warnings'))}</h2><ul>"
                     + "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings) + "</ul></section>")
    mc = result.monte_carlo
    if mc is not None:
        rows: list[list[Any]] = [[L("paths"), mc.n_paths], [L("seed"), mc.seed], [L("mean"), _money(mc.mean_fen)],
                [L("median"), _money(mc.median_fen)], ["P5", _money(mc.p5_fen)], ["P25", _money(mc.p25_fen)],
                ["P75", _money(mc.p75_fen)], ["P95", _money(mc.p95_fen)],
                [L("standard_error"), f"{mc.standard_error_cny:,.2f}"]]
        if mc.loan_amount_fen is not None and mc.prob_value_below_loan is not None:
            p_text = f"{_pct(mc.prob_value_below_loan)} ± {_pct(mc.prob_value_below_loan_se or 0)}"
            rows += [[L("loan_amount"), _money(mc.loan_amount_fen)], [L("prob_below_loan"), p_text]]
        parts.append(f"<section><h2>{html.escape(L('monte_carlo'))}</h2>" + _table(["", L("value")], rows)
                     + "<div class='chart' id='fig-distribution'></div></section>")
    parts.append(f"<section><h2>{html.escape(L('discount_rate'))}</h2>"
                 + _table(["", L("discount_rate")], [[L(d.item), _pct(d.rate)] for d in result.discount_build_up])
                 + "</section>")
    inc = result.income
    parts.append(
        f"<section><h2>{html.escape(L('income'))} ({html.escape(inc.method)})</h2>"
        + _table([L("year"), L("revenue"), L("attributable"), "DF", L("present_value")],
                 [[f.year, _money(f.revenue_fen), _money(f.attributable_after_tax_fen), f"{f.discount_factor:.4f}",
                   _money(f.present_value_fen)] for f in inc.flows])
        + f"<p>{html.escape(L('value'))}: {_money(inc.value_fen)} (TAB × {inc.tab_factor:.4f})</p>"
        + "<div class='chart' id='fig-cash_flows'></div></section>")
    parts.append(f"<section><h2>{html.escape(L('tornado'))}</h2><div class='chart' id='fig-tornado'></div></section>")
    if result.score is not None:
        s = result.score
        parts.append(
            f"<section><h2>{html.escape(L('score'))}</h2>"
            + _table(["", L("value"), L("weight"), L("contribution")],
                     [[f"{it.label_zh} / {it.label_en}" if lang == "bilingual" else
                       (it.label_zh if lang == "zh-CN" else it.label_en), f"{it.score:.1f}", f"{it.weight:.2f}",
                       f"{it.contribution:.2f}"] for it in s.items])
            + "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in s.explanation[-5:]) + "</ul></section>")
    if result.market is not None:
        m = result.market
        parts.append(
            f"<section><h2>{html.escape(L('comparables'))}</h2>"
            + _table(["ref", L("price"), L("quality_ratio"), L("life_factor"), L("time_factor"), L("scope_factor"),
                      L("transaction_type_factor"), L("adjusted_value")],
                     [[c.ref, _money(c.price_fen), f"{c.quality_ratio:.4f}", f"{c.life_factor:.4f}",
                       f"{c.time_factor:.4f}", f"{c.scope_factor:.4f}", f"{c.transaction_type_factor:.4f}",
                       _money(c.adjusted_value_fen)] for c in m.table])
            + f"<p>{html.escape(L('market'))}: {_money(m.value_fen)}; CV {m.coefficient_of_variation:.3f}</p>"
            + "</section>")
        if m.register_size:
            parts.append(_selection_section(m, lang))
    if result.cost is not None:
        c = result.cost
        parts.append(
            f"<section><h2>{html.escape(L('cost'))}</h2>"
            + _table(["", L("value")], [[n, _money(a)] for n, a in c.items]
                     + [[L("replacement_cost"), _money(c.replacement_cost_fen)],
                        [L("obsolescence"), _pct(c.obsolescence)], [L("value"), _money(c.value_fen)]])
            + "</section>")
    if result.real_option is not None:
        ro = result.real_option
        parts.append(
            f"<section><h2>{html.escape(L('real_option'))}</h2>"
            + _table(["", L("value")], [["S", _money(ro.pv_cash_flows_fen)],
                                        ["K", _money(ro.commercialisation_cost_fen)],
                                        ["T", f"{ro.years:.2f}"], ["σ", f"{ro.volatility:.2f}"],
                                        ["q", f"{ro.cost_of_delay:.4f}"], [L("european"), _money(ro.european_fen)],
                                        [L("american"), _money(ro.american_fen)]])
            + "</section>")
    figs = figures(result, lang)
    script = "".join(
        f"Plotly.newPlot('fig-{k}',{json.dumps(v['data'])},{json.dumps(v['layout'])},"
        "{displayModeBar:false,responsive:true});"
        for k, v in figs.items()
    )
    html_lang = "zh-CN" if lang != "en" else "en"
    return (
        f"<!DOCTYPE html><html lang='{html_lang}'><head><meta charset='utf-8'>"
        f"<title>{html.escape(L('title'))} {html.escape(result.identifier)}</title>"
        f"<script src='{html.escape(plotly_js)}'></script><style>{_CSS}</style></head><body>"
        + "".join(parts) + f"<script>{script}</script></body></html>"
    )


def _type_names(ip_type: str) -> tuple[str, str]:
    """(zh, en) name of an IP type from the collateral term table (types ipfin.reference may not list yet)."""
    try:
        ct = collateral_types()[IPType(ip_type)]
    except ValueError:
        return ip_type, ip_type
    return ct.name_zh, ct.name_en


def _selection_section(m: Any, lang: Lang) -> str:
    """The register search: every transaction of the subject's type, used or not, with its reason."""
    L = lambda k: label(k, lang)  # noqa: E731
    rows = []
    for d in m.selection:
        reason = d.reason_zh if lang == "zh-CN" else d.reason_en if lang == "en" else f"{d.reason_zh} / {d.reason_en}"
        rows.append([d.transaction_id, d.kind, d.transaction_date, d.ipc_or_nice_class, _money(d.price_fen),
                     "" if d.similarity is None else f"{d.similarity:.3f}", "" if d.rank is None else d.rank,
                     L("yes") if d.used else L("no"), f"[{d.reason}] {reason}"])
    return (f"<section><h2>{html.escape(L('comparable_selection'))}</h2>"
            f"<p>{html.escape(m.selection_rule)}</p>"
            + _table([L("transaction"), L("transaction_kind"), L("transaction_date"), L("class"), L("price"),
                      L("similarity"), L("rank"), L("used"), L("reason")], rows)
            + f"<p>{html.escape(L('register_size'))}: {m.register_size}; {html.escape(L('other_type_count'))}: "
              f"{m.other_type_count}</p></section>")


def money_cny(fen: int) -> Decimal:
    """Integer fen as CNY Decimal (for callers that want CNY in their own outputs)."""
    return fen_to_cny(fen)
