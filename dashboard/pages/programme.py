"""Programme page (规则成本) for funds, bureaus and guarantors: what a risk-sharing rule will cost each payer.

Pick a rule, a province (or all loans the organisation may see in aggregate) and a seed; the page
simulates the live book under the rule (``POST /api/v1/rule-costs``'s service, through
:func:`dashboard.data.programme_view`) and shows each party's expected and 99% payout with standard
errors, the probability that each budget or ceiling runs out and the year it first does, and the
break-even guarantee fee of the fee parties beside the rule's fee cap.
"""

from __future__ import annotations

from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import data, figures
from dashboard.components import ROW_STYLE, data_table, empty_state, graph, kpi_card, loading, page_guard, section
from dashboard.i18n import amount_unit, enum_name, fmt_amount, fmt_count, in_unit, t
from ipfin.reference import PROVINCES

dash.register_page(__name__, path="/programme", name="规则成本", title="知识产权金融监测 · 规则成本")

PAGE = "programme"
N_PATHS = 1_000


def layout(**_: Any) -> Any:
    _viewer, lang, blocker = page_guard(PAGE)
    if blocker is not None:
        return blocker
    rules = data.programme_rules()
    default = "chongqing-4222" if any(r == "chongqing-4222" for r, _ in rules) else rules[0][0]
    provinces = [{"label": t("all", lang), "value": ""}] + [
        {"label": names[0] if lang != "en" else names[1], "value": code} for code, names in PROVINCES.items()
    ]
    controls = html.Div([
        html.Label([t("pg_rule", lang), dcc.Dropdown(id="pg-rule", options=[
            {"label": name, "value": rid} for rid, name in rules], value=default, clearable=False)],
            style={"minWidth": "360px"}),
        html.Label([t("pg_province", lang), dcc.Dropdown(id="pg-province", options=provinces, value="",
                                                         clearable=False)], style={"minWidth": "200px"}),
        html.Label([t("pg_years", lang), dcc.Dropdown(id="pg-years", options=[1, 2, 3, 5], value=1,
                                                      clearable=False)], style={"minWidth": "100px"}),
        html.Label([t("pg_seed", lang), dcc.Input(id="pg-seed", type="number", value=1, min=0, step=1)]),
        html.Button(t("pg_run", lang), id="pg-run", n_clicks=0),
    ], style={**ROW_STYLE, "alignItems": "flex-end"})
    return html.Div([
        html.H2(t("programme", lang), className="page-title"),
        controls,
        html.P(t("pg_note", lang), className="definition-note"),
        loading(html.Div(id="pg-summary", style=ROW_STYLE)),
        section(t("pg_payout", lang), loading(graph("pg-payout-graph")), html.Div(id="pg-party-table")),
        section(t("pg_caps", lang), loading(html.Div(id="pg-caps"))),
        section(t("pg_fee", lang), loading(graph("pg-fee-graph")), html.Div(id="pg-fee-table")),
    ], id="programme-page")


def _fen(cny: float) -> int:
    """A simulated CNY statistic as fen for display (the statistic itself is a float)."""
    return round(cny * 100)


def _pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def cap_label(cap: str, lang: str) -> str:
    """'party_year[insurer]' → 保险机构年度预算; 'payout_rate_ceiling' → 代偿率上限."""
    if "[" in cap:
        kind, party = cap.rstrip("]").split("[", 1)
        return t(f"pg_cap_{kind}", lang).format(party=enum_name("party", party, lang))
    return t(f"pg_cap_{cap}", lang)


def payout_figure(parties: list[dict[str, Any]], lang: str) -> go.Figure:
    names = [enum_name("party", p["key"], lang) for p in parties]
    p99 = [next(q for q in p["payout_quantiles"] if q["level"] == 0.99) for p in parties]
    top = max([_fen(q["value_cny"]) for q in p99] + [1])
    divisor, unit = amount_unit(top, lang)

    def u(cny: float) -> float:
        return float(in_unit(_fen(cny), divisor))

    fig = go.Figure([
        go.Bar(name=t("pg_expected", lang), x=names, y=[u(p["expected_payout_cny"]) for p in parties],
               error_y={"type": "data", "array": [u(p["expected_payout_se_cny"]) for p in parties]}),
        go.Bar(name=t("pg_p99", lang), x=names, y=[u(q["value_cny"]) for q in p99],
               error_y={"type": "data", "array": [u(q["se_cny"]) for q in p99]}),
    ])
    fig.update_layout(barmode="group", yaxis_title=unit)
    return figures.style(fig, "")


def fee_figure(fee: dict[str, Any], lang: str) -> go.Figure:
    chosen = [p for p in fee["parties"] if p["key"] in fee["fee_parties"]]
    x = [enum_name("party", p["key"], lang) for p in chosen] + [t("pg_total", lang)]
    y = [100 * p["break_even_rate"] for p in chosen] + [100 * fee["total_break_even_rate"]]
    se = [100 * p["break_even_rate_se"] for p in chosen] + [100 * fee["total_break_even_rate_se"]]
    fig = go.Figure([go.Bar(name=t("pg_break_even", lang), x=x, y=y, error_y={"type": "data", "array": se})])
    if fee["fee_cap"] is not None:
        fig.add_hline(y=100 * fee["fee_cap"], line_dash="dash", line_color=figures.PALETTE[4],
                      annotation_text=f"{t('pg_fee_cap', lang)} {_pct(fee['fee_cap'])}")
    fig.update_layout(yaxis_title="%")
    return figures.style(fig, "")


def caps_block(cost: dict[str, Any], lang: str) -> Any:
    caps = cost["caps"]
    if not caps:
        return empty_state(t("pg_no_caps", lang), element_id="pg-no-caps")
    years = cost["years"]
    fig = go.Figure([go.Bar(name=cap_label(c["cap"], lang), x=[t("pg_year_n", lang).format(n=y + 1)
                                                                 for y in range(years)],
                            y=[100 * v for v in c["first_year"]]) for c in caps])
    fig.update_layout(barmode="group", yaxis_title="%")
    cols = [(t("pg_cap", lang), "text"), (t("pg_probability", lang), "text"), (t("pg_se", lang), "text")] + [
        (t("pg_year_n", lang).format(n=y + 1), "text") for y in range(years)]
    rows = [[cap_label(c["cap"], lang), _pct(c["probability"]), _pct(c["probability_se"]),
             *[_pct(v) for v in c["first_year"]]] for c in caps]
    return html.Div([graph("pg-caps-graph", figures.style(fig, "")), data_table("pg-caps-table", cols, rows, lang)])


def fee_table(fee: dict[str, Any], lang: str) -> html.Div:
    """Break-even rate per fee party and in total beside the cap, and the loans the cap under-prices."""
    fee_cols = [(t("party", lang), "text"), (t("pg_break_even", lang), "text"), (t("pg_se", lang), "text")]
    fee_rows = [[enum_name("party", p["key"], lang), _pct(p["break_even_rate"], 3), _pct(p["break_even_rate_se"], 3)]
                for p in fee["parties"] if p["key"] in fee["fee_parties"]]
    fee_rows.append([t("pg_total", lang), _pct(fee["total_break_even_rate"], 3),
                     _pct(fee["total_break_even_rate_se"], 3)])
    fee_rows.append([t("pg_fee_cap", lang), _pct(fee["fee_cap"]) if fee["fee_cap"] is not None
                     else t("pg_no_fee_cap", lang), ""])
    under = fee["under_priced_loans"]
    under_cols = [(t("pg_loan", lang), "code"), (t("pg_break_even", lang), "text"), (t("pg_gap", lang), "text"),
                  (t("pg_charged", lang), "text")]
    return html.Div([
        data_table("pg-fee-rows", fee_cols, fee_rows, lang),
        html.P(t("pg_under_priced", lang).format(n=fmt_count(fee["under_priced_count"]),
                                                 gap=fmt_amount(_fen(fee["gap_cny_per_year"]), lang)),
               id="pg-under-priced"),
        data_table("pg-under-table", under_cols, [[x["loan"], _pct(x["break_even_rate"], 3), _pct(x["gap_rate"], 3),
                                                   _pct(x["charged_rate"])] for x in under], lang) if under else None,
    ])


@callback(
    Output("pg-summary", "children"),
    Output("pg-payout-graph", "figure"),
    Output("pg-party-table", "children"),
    Output("pg-caps", "children"),
    Output("pg-fee-graph", "figure"),
    Output("pg-fee-table", "children"),
    Input("pg-run", "n_clicks"),
    State("pg-rule", "value"),
    State("pg-province", "value"),
    State("pg-years", "value"),
    State("pg-seed", "value"),
)
def update(_clicks: int, rule_id: str, province: str, years: int, seed: int | None) -> tuple[Any, ...]:
    viewer, lang = data.current_viewer(), data.current_lang()
    if viewer is None or not viewer.may_see(PAGE) or not rule_id:
        raise PreventUpdate
    view = data.programme_view(viewer, rule_id, province or None, int(seed or 0), N_PATHS, int(years or 1))
    if "error" in view:
        msg = t("pg_no_loans", lang) if view["error"] == "book" else t("pg_error", lang).format(msg=view["message"])
        empty = figures.empty_figure(msg)
        return empty_state(msg, element_id="pg-error"), empty, None, None, empty, None
    cost, fee = view["cost"], view["fee"]
    src = cost["book_sources"]
    summary = [
        kpi_card("pg-kpi-loans", t("pg_summary", lang).format(
            loans=fmt_count(cost["n_loans"]), eligible=fmt_count(cost["n_eligible"]), paths=fmt_count(cost["n_paths"]),
            seed=cost["seed"], years=cost["years"]), fmt_amount(_fen(cost["exposure_cny"]), lang),
            _fen(cost["exposure_cny"])),
        html.Div(t("pg_sources", lang).format(ew=fmt_count(src.get("pd_from_early_warning", 0)),
                                              cls=fmt_count(src.get("pd_from_classification", 0))),
                 className="definition-note", style={"flexBasis": "100%"}),
    ]
    cols = [(t("party", lang), "text"), (t("pg_share", lang), "text"), (t("pg_expected", lang), "fen"),
            (t("pg_se", lang), "fen"), (t("pg_p99", lang), "fen"), (t("pg_p99_se", lang), "fen"),
            (t("pg_net", lang), "fen")]
    rows = []
    for p in cost["parties"]:
        q = next(x for x in p["payout_quantiles"] if x["level"] == 0.99)
        rows.append([enum_name("party", p["key"], lang), _pct(p["share"], 0), _fen(p["expected_payout_cny"]),
                     _fen(p["expected_payout_se_cny"]), _fen(q["value_cny"]), _fen(q["se_cny"]),
                     _fen(p["expected_net_cost_cny"])])
    if fee is None:
        fee_fig: Any = figures.empty_figure(t("pg_no_eligible", lang))
        fee_block: Any = empty_state(t("pg_no_eligible", lang), element_id="pg-no-eligible")
    else:
        fee_fig, fee_block = fee_figure(fee, lang), fee_table(fee, lang)
    return (summary, payout_figure(cost["parties"], lang), data_table("pg-parties", cols, rows, lang),
            caps_block(cost, lang), fee_fig, fee_block)
