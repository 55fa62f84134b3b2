"""Bureau overview (监测总览): KPIs with period-on-period change, financing over time, breakdowns
by province/city, industry, IP type and bank, drill-down province → city → loans, exports.

All figures come from :mod:`api.stats` through :mod:`dashboard.data` for the signed-in
organisation's scope — the same numbers as ``GET /api/v1/stats/overview``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from api.stats.filters import INCLUSIVE_THRESHOLDS_CNY, LoanFilter
from api.stats.service import change
from dashboard import data, export, figures
from dashboard.components import (
    ROW_STYLE,
    Column,
    data_table,
    empty_state,
    export_buttons,
    export_headers,
    export_request,
    export_rows,
    graph,
    kpi_card,
    page_guard,
    section,
)
from dashboard.i18n import fmt_amount, fmt_change, fmt_count, fmt_pct, fmt_pp, name, status_name, t
from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES, PROVINCES, REGIONS

dash.register_page(__name__, path="/", name="Overview 总览", title="ipfin · overview")

PAGE = "overview"
BREAKDOWN_TABLES = ("province", "city", "industry", "ip_type", "bank")
TABLES = ("timeseries", *BREAKDOWN_TABLES, "loans", "compensation")
FILTER_STATE = [
    State("ov-date", "start_date"), State("ov-date", "end_date"), State("ov-province", "value"),
    State("ov-industry", "value"), State("ov-iptype", "value"), State("ov-bank", "value"),
    State("ov-threshold", "value"), State("ov-granularity", "value"), State("ov-city", "data"),
]


def _dropdown(component_id: str, label: str, options: list[dict[str, Any]], value: Any = None) -> html.Div:
    return html.Div(
        [html.Label(label, style={"fontSize": "12px"}),
         dcc.Dropdown(id=component_id, options=options, value=value, clearable=True, style={"minWidth": "180px"})],
        style={"minWidth": "190px"},
    )


def layout(**_: Any) -> Any:
    viewer, lang, blocker = page_guard(PAGE)
    if blocker is not None:
        return blocker
    first, last = data.data_period(viewer)
    year = (last or date.today()).year
    start, end = date(year, 1, 1), date(year, 12, 31)
    region = viewer.org.region_code if viewer.kind == "bureau" else None
    provinces = [c for c in PROVINCES if not region or c == region[:2] + "0000"]
    filters = html.Div(
        [
            html.Div(
                [html.Label(f"{t('date_from', lang)} – {t('date_to', lang)}", style={"fontSize": "12px"}),
                 dcc.DatePickerRange(id="ov-date", start_date=start.isoformat(), end_date=end.isoformat(),
                                     display_format="YYYY-MM-DD", clearable=False,
                                     min_date_allowed=first.isoformat() if first else None)],
            ),
            _dropdown("ov-province", t("province", lang),
                      [{"label": name(PROVINCES[c], lang), "value": c} for c in provinces]),
            _dropdown("ov-industry", t("industry", lang),
                      [{"label": f"{k} {name(v, lang)}", "value": k} for k, v in INDUSTRY_SECTIONS.items()]),
            _dropdown("ov-iptype", t("ip_type", lang),
                      [{"label": name(v, lang), "value": k} for k, v in IP_TYPES.items()]),
            _dropdown("ov-bank", t("bank_col", lang), [{"label": n, "value": i} for i, n in data.bank_options(viewer)]),
            html.Div(
                [html.Label(t("threshold", lang), style={"fontSize": "12px"}),
                 dcc.RadioItems(id="ov-threshold", value=INCLUSIVE_THRESHOLDS_CNY[0], inline=True,
                                options=[{"label": t("threshold_10m", lang), "value": 10_000_000},
                                         {"label": t("threshold_20m", lang), "value": 20_000_000}])],
            ),
            html.Div(
                [html.Label(t("granularity", lang), style={"fontSize": "12px"}),
                 dcc.RadioItems(id="ov-granularity", value="month", inline=True,
                                options=[{"label": t(g, lang), "value": g} for g in ("month", "quarter", "year")])],
            ),
        ],
        style={**ROW_STYLE, "alignItems": "flex-end"},
        id="ov-filters",
    )

    def tbl(key: str) -> html.Div:
        return html.Div([export_buttons(PAGE, key, lang), html.Div(id=f"ov-tbl-{key}")])

    return html.Div(
        [
            dcc.Store(id="ov-city", data=None),
            dcc.Download(id="ov-download"),
            html.H2(t("overview", lang), style={"margin": "4px 0 12px"}),
            filters,
            html.Div(id="ov-period", style={"fontSize": "12px", "color": "#667", "marginBottom": "8px"}),
            html.Div(id="ov-kpis", style=ROW_STYLE),
            section(t("compensation", lang), html.Div(id="ov-compensation"), tbl("compensation")),
            dcc.Loading(graph("ov-timeseries"), type="dot"),
            tbl("timeseries"),
            html.Div(
                [
                    html.Div([graph("ov-province-graph"), tbl("province")], style={"flex": "1", "minWidth": "420px"}),
                    html.Div([graph("ov-city-graph"), tbl("city")], style={"flex": "1", "minWidth": "420px"}),
                ],
                style=ROW_STYLE,
            ),
            html.Div(t("drill_hint", lang), style={"fontSize": "12px", "color": "#667"}),
            section(t("loans", lang), tbl("loans"), section_id="ov-loans-section"),
            html.Div(
                [
                    html.Div([graph("ov-industry-graph"), tbl("industry")], style={"flex": "1", "minWidth": "420px"}),
                    html.Div([graph("ov-iptype-graph"), tbl("ip_type")], style={"flex": "1", "minWidth": "420px"}),
                ],
                style=ROW_STYLE,
            ),
            html.Div([graph("ov-bank-graph"), tbl("bank")]),
        ],
        id="overview-page",
    )


# ------------------------------------------------------------------ state → figures


def _filter(
    start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any, city: Any = None
) -> LoanFilter:
    return LoanFilter(
        date_from=date.fromisoformat(str(start)[:10]) if start else None,
        date_to=date.fromisoformat(str(end)[:10]) if end else None,
        province_code=province or None,
        region_code=city if city and province and str(city)[:2] == str(province)[:2] else None,
        industry=industry or None,
        ip_type=ip_type or None,
        bank_org_id=int(bank) if bank else None,
    )


BREAKDOWN_COLUMNS: dict[str, str] = {
    "province": "province", "city": "city", "industry": "industry", "ip_type": "ip_type", "bank": "bank_col",
}


def _columns(key: str, lang: str) -> list[Column]:
    if key == "timeseries":
        return [(t("period", lang), "text"), (t("loan_count", lang), "int"), (t("financing_amount", lang), "fen")]
    if key == "loans":
        return [
            (t("reference", lang), "text"), (t("borrower", lang), "text"), (t("city", lang), "text"),
            (t("industry", lang), "text"), (t("ip_type", lang), "text"), (t("status", lang), "text"),
            (t("origination_date", lang), "date"), (t("amount", lang), "fen"), (t("outstanding", lang), "fen"),
            (t("days_past_due", lang), "int"),
        ]
    if key == "compensation":
        return [(t("party", lang), "text"), (t("count", lang), "int"), ("paid", "fen"), ("recovered", "fen"),
                ("net", "fen")]
    return [
        (t(BREAKDOWN_COLUMNS[key], lang), "text"), ("code", "text"), (t("loan_count", lang), "int"),
        (t("financing_amount", lang), "fen"), (t("outstanding", lang), "fen"),
    ]


def table_rows(key: str, viewer: Any, flt: LoanFilter, granularity: str, city: Any, lang: str) -> list[list[Any]]:
    """The rows of one exportable table for the current filter (recomputed on the server)."""
    if key == "timeseries":
        return [[p.period, p.loan_count, p.amount_fen] for p in data.timeseries(viewer, flt, granularity)]
    if key in BREAKDOWN_TABLES:
        if key == "city" and not flt.province_code:
            return []
        rows = data.breakdowns(viewer, flt, (key,))[key]
        return [_breakdown_row(r, lang) for r in rows]
    if key == "loans":
        if not (city and flt.province_code) or not data.may_list_loans(viewer):
            return []
        _, loans = data.loans(viewer, replace(flt, region_code=city), limit=1000)
        return [_loan_row(r, lang) for r in loans]
    if key == "compensation":
        comp = data.compensation_by_party(viewer, flt)
        return [_comp_row(c) for c in comp or []]
    raise ValueError(f"table: unknown table {key!r}")


def _comp_row(c: dict[str, Any]) -> list[Any]:
    return [c["party"], c["claims"], c["paid_fen"], c["recovered_fen"], c["net_fen"]]


def _breakdown_row(r: Any, lang: str) -> list[Any]:
    return [name((r.name_zh, r.name_en), lang), r.key, r.loan_count, r.amount_fen, r.outstanding_fen]


def _loan_row(r: Any, lang: str) -> list[Any]:
    return [
        r.reference, r.borrower_name, name(REGIONS.get(r.region_code, (r.region_code, r.region_code)), lang),
        r.industry, name(IP_TYPES.get(r.primary_ip_type, (r.primary_ip_type,) * 2), lang), status_name(r.status, lang),
        r.origination_date, r.amount_fen, r.outstanding_fen, r.days_past_due,
    ]


def _kpis(cur: Any, prev: Any, lang: str) -> list[Any]:
    def chg(key: str) -> str:
        return f"{t('vs_previous', lang)} {fmt_change(change(getattr(cur, key), getattr(prev, key)) if prev else None)}"

    def pp(key: str) -> str:
        a, b = getattr(cur, key), getattr(prev, key) if prev else None
        return f"{t('vs_previous', lang)} {fmt_pp(a - b if a is not None and b is not None else None)}"

    return [
        kpi_card("kpi-amount", t("financing_amount", lang), fmt_amount(cur.amount_fen, lang), cur.amount_fen,
                 chg("amount_fen")),
        kpi_card("kpi-loans", t("loan_count", lang), fmt_count(cur.loan_count), cur.loan_count, chg("loan_count")),
        kpi_card("kpi-enterprises", t("enterprise_count", lang), fmt_count(cur.enterprise_count),
                 cur.enterprise_count, chg("enterprise_count")),
        kpi_card("kpi-inclusive", t("inclusive_share", lang), fmt_pct(cur.inclusive_share),
                 f"{cur.inclusive_count}/{cur.loan_count}", pp("inclusive_share")),
        kpi_card("kpi-npl", t("npl_ratio", lang), fmt_pct(cur.npl_ratio, 2),
                 f"{cur.npl_outstanding_fen}/{cur.live_outstanding_fen}", pp("npl_ratio")),
    ]


FILTERS = [
    Input("ov-date", "start_date"), Input("ov-date", "end_date"), Input("ov-province", "value"),
    Input("ov-industry", "value"), Input("ov-iptype", "value"), Input("ov-bank", "value"),
]


def _viewer() -> Any:
    viewer = data.current_viewer()
    if viewer is None:
        raise PreventUpdate
    return viewer


def _table(key: str, rows: list[list[Any]], lang: str) -> Any:
    return data_table(f"ov-table-{key}", _columns(key, lang), rows, lang)


@callback(
    Output("ov-period", "children"),
    Output("ov-kpis", "children"),
    Output("ov-compensation", "children"),
    Output("ov-tbl-compensation", "children"),
    *FILTERS,
    Input("ov-threshold", "value"),
)
def update_kpis(start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any, threshold: Any) -> Any:
    """KPI cards with the previous period's change, and compensation paid by party."""
    viewer = _viewer()
    lang = data.current_lang()
    flt = _filter(start, end, province, industry, ip_type, bank)
    cur, prev = data.overview(viewer, flt, int(threshold or INCLUSIVE_THRESHOLDS_CNY[0]))
    prev_flt = flt.previous()
    period = f"{t('period', lang)}: {flt.date_from or '…'} – {flt.date_to or '…'}" + (
        f" · {t('vs_previous', lang)}: {prev_flt.date_from} – {prev_flt.date_to}" if prev_flt else ""
    )
    comp = data.compensation_by_party(viewer, flt)
    if comp is None:
        return period, _kpis(cur, prev, lang), empty_state(t("not_available", lang), "ov-compensation-empty"), None
    if not comp:
        return period, _kpis(cur, prev, lang), empty_state(t("no_data", lang), "ov-compensation-none"), None
    rows = [_comp_row(c) for c in comp]
    fig = figures.stacked_bar_figure(
        [t("compensation", lang)], {c["party"]: [c["paid_fen"]] for c in comp}, lang, ""
    )
    return period, _kpis(cur, prev, lang), graph("ov-compensation-graph", fig), _table("compensation", rows, lang)


@callback(
    Output("ov-timeseries", "figure"),
    Output("ov-tbl-timeseries", "children"),
    *FILTERS,
    Input("ov-granularity", "value"),
)
def update_timeseries(
    start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any, granularity: Any
) -> Any:
    """Financing per month / quarter / year."""
    viewer = _viewer()
    lang = data.current_lang()
    series = data.timeseries(viewer, _filter(start, end, province, industry, ip_type, bank), granularity or "month")
    rows = [[p.period, p.loan_count, p.amount_fen] for p in series]
    return figures.timeseries_figure(series, lang), _table("timeseries", rows, lang)


@callback(
    Output("ov-province-graph", "figure"),
    Output("ov-industry-graph", "figure"),
    Output("ov-iptype-graph", "figure"),
    Output("ov-bank-graph", "figure"),
    *[Output(f"ov-tbl-{k}", "children") for k in ("province", "industry", "ip_type", "bank")],
    *FILTERS,
)
def update_breakdowns(start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any) -> Any:
    """Ranked breakdowns by province, industry, IP type and bank (one SQL scan)."""
    viewer = _viewer()
    lang = data.current_lang()
    keys = ("province", "industry", "ip_type", "bank")
    bd = data.breakdowns(viewer, _filter(start, end, province, industry, ip_type, bank), keys)
    tables = [_table(k, [_breakdown_row(r, lang) for r in bd[k]], lang) for k in keys]
    return (
        figures.ranked_bar_figure(bd["province"], lang, t("by_province", lang)),
        figures.ranked_bar_figure(bd["industry"], lang, t("by_industry", lang)),
        figures.share_figure(bd["ip_type"], lang, t("by_ip_type", lang)),
        figures.ranked_bar_figure(bd["bank"], lang, t("by_bank", lang)),
        *tables,
    )


@callback(
    Output("ov-city-graph", "figure"),
    Output("ov-tbl-city", "children"),
    Output("ov-tbl-loans", "children"),
    *FILTERS,
    Input("ov-city", "data"),
)
def update_drilldown(
    start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any, city: Any
) -> Any:
    """Cities of the selected province, and the loans of the selected city (if the role allows)."""
    viewer = _viewer()
    lang = data.current_lang()
    flt = _filter(start, end, province, industry, ip_type, bank)
    if not flt.province_code:
        hint = figures.empty_figure(t("drill_hint", lang), t("by_city", lang))
        return hint, _table("city", [], lang), empty_state(t("drill_hint", lang), "ov-loans-hint")
    rows = data.breakdowns(viewer, flt, ("city",))["city"]
    city_rows = [_breakdown_row(r, lang) for r in rows]
    if not data.may_list_loans(viewer):
        loans_view: Any = empty_state(t("no_loan_access", lang), "ov-no-loan-access")
    elif not (city and str(city)[:2] == flt.province_code[:2]):
        loans_view = empty_state(t("drill_hint", lang), "ov-loans-hint")
    else:
        loans_view = _table("loans", table_rows("loans", viewer, flt, "month", city, lang), lang)
    return figures.ranked_bar_figure(rows, lang, t("by_city", lang)), _table("city", city_rows, lang), loans_view


@callback(Output("ov-province", "value"), Input("ov-province-graph", "clickData"), prevent_initial_call=True)
def drill_province(click: Any) -> Any:
    """Clicking a province bar filters the page to that province (its cities appear)."""
    try:
        return click["points"][0]["customdata"]
    except (TypeError, KeyError, IndexError) as exc:
        raise PreventUpdate from exc


@callback(
    Output("ov-city", "data"),
    Input("ov-city-graph", "clickData"),
    Input("ov-province", "value"),
    prevent_initial_call=True,
)
def drill_city(click: Any, province: Any) -> Any:
    """Clicking a city bar lists its loans; changing the province clears the city."""
    if ctx.triggered_id == "ov-province":
        return None
    try:
        return click["points"][0]["customdata"]
    except (TypeError, KeyError, IndexError) as exc:
        raise PreventUpdate from exc


@callback(
    Output("ov-download", "data"),
    Input({"type": f"{PAGE}-export", "table": ALL, "fmt": ALL}, "n_clicks"),
    *FILTER_STATE,
    prevent_initial_call=True,
)
def export_table(
    _clicks: Any, start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any, threshold: Any,
    granularity: Any, city: Any,
) -> Any:
    """CSV or Excel of one table, recomputed on the server for the current filter."""
    viewer, lang, key, fmt = export_request(_clicks, None)
    flt = _filter(start, end, province, industry, ip_type, bank)
    cols = _columns(key, lang)
    rows = export_rows(cols, table_rows(key, viewer, flt, granularity or "month", city, lang))
    stem = f"ipfin-{key}-{flt.date_from or 'all'}-{flt.date_to or 'all'}"
    if fmt == "xlsx":
        return dcc.send_bytes(export.to_xlsx(export_headers(cols), rows, key), f"{stem}.xlsx")
    return dcc.send_bytes(export.to_csv(export_headers(cols), rows), f"{stem}.csv")
