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
from dashboard import data, export, figures, maps
from dashboard.components import (
    Column,
    data_table,
    empty_state,
    export_buttons,
    export_headers,
    export_request,
    export_rows,
    graph,
    loading,
    overview_kpi_cards,
    page_guard,
    section,
)
from dashboard.i18n import (
    amount_unit,
    enum_name,
    fmt_amount,
    fmt_count,
    in_unit,
    name,
    status_name,
    t,
)
from dashboard.maps import MapLevel
from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES, PROVINCES, REGIONS

dash.register_page(__name__, path="/", name="总览", title="知识产权金融监测")

PAGE = "overview"
BREAKDOWN_TABLES = ("province", "city", "industry", "ip_type", "bank")
TABLES = ("timeseries", *BREAKDOWN_TABLES, "loans", "compensation")
FILTER_STATE = [
    State("ov-date", "start_date"), State("ov-date", "end_date"), State("ov-province", "value"),
    State("ov-industry", "value"), State("ov-iptype", "value"), State("ov-bank", "value"),
    State("ov-threshold", "value"), State("ov-granularity", "value"), State("ov-city", "data"),
]


def _dropdown(
    component_id: str, label: str, options: list[dict[str, Any]], lang: str, value: Any = None, disabled: bool = False
) -> html.Div:
    return html.Div(
        [html.Label(label, htmlFor=component_id),
         dcc.Dropdown(id=component_id, options=options, value=value, clearable=not disabled, disabled=disabled,
                      placeholder=t("all", lang), style={"minWidth": "150px"})],
        style={"minWidth": "150px", "flex": "1", "maxWidth": "220px"},
    )


def home_region(viewer: Any) -> tuple[str | None, str | None]:
    """(province, city) a regional bureau is confined to: its map and filters start there."""
    region = viewer.org.region_code if viewer.kind == "bureau" else None
    if not region:
        return None, None
    province = region[:2] + "0000"
    return province, (region if region != province else None)


def layout(**_: Any) -> Any:
    viewer, lang, blocker = page_guard(PAGE)
    if blocker is not None:
        return blocker
    first, _last = data.data_period(viewer)
    start, end, fallback_year = data.default_period(viewer)
    home_province, home_city = home_region(viewer)
    provinces = [c for c in PROVINCES if not home_province or c == home_province]
    filters = html.Div(
        [
            html.Div(
                [html.Label(f"{t('date_from', lang)} – {t('date_to', lang)}"),
                 dcc.DatePickerRange(id="ov-date", start_date=start.isoformat(), end_date=end.isoformat(),
                                     display_format="YYYY-MM-DD", clearable=False, first_day_of_week=1,
                                     month_format="YYYY年M月" if lang != "en" else "MMMM YYYY",
                                     min_date_allowed=first.isoformat() if first else None)],
            ),
            _dropdown("ov-province", t("province", lang),
                      [{"label": name(PROVINCES[c], lang), "value": c} for c in provinces], lang,
                      value=home_province, disabled=home_province is not None),
            _dropdown("ov-industry", t("industry", lang),
                      [{"label": f"{k} {name(v, lang)}", "value": k} for k, v in INDUSTRY_SECTIONS.items()], lang),
            _dropdown("ov-iptype", t("ip_type", lang),
                      [{"label": name(v, lang), "value": k} for k, v in IP_TYPES.items()], lang),
            _dropdown("ov-bank", t("bank_col", lang),
                      [{"label": n, "value": i} for i, n in data.bank_options(viewer)], lang),
            html.Div(
                [html.Label(t("threshold", lang)),
                 dcc.RadioItems(id="ov-threshold", value=INCLUSIVE_THRESHOLDS_CNY[0], inline=True,
                                inputStyle={"marginRight": "4px"}, labelStyle={"marginRight": "10px"},
                                options=[{"label": t("threshold_10m", lang), "value": 10_000_000},
                                         {"label": t("threshold_20m", lang), "value": 20_000_000}])],
            ),
            html.Div(
                [html.Label(t("granularity", lang)),
                 dcc.RadioItems(id="ov-granularity", value="month", inline=True,
                                inputStyle={"marginRight": "4px"}, labelStyle={"marginRight": "10px"},
                                options=[{"label": t(g, lang), "value": g} for g in ("month", "quarter", "year")])],
            ),
        ],
        className="filters panel", id="ov-filters",
    )

    def tbl(key: str, open_: bool = False) -> html.Details:
        return html.Details(
            [html.Summary(t("table_and_export", lang)), export_buttons(PAGE, key, lang), html.Div(id=f"ov-tbl-{key}")],
            className="table-box", open=open_,
        )

    def panel(*children: Any, **kw: Any) -> html.Div:
        return html.Div(list(children), className="panel", **kw)

    map_panel = panel(
        html.H3(t("map", lang), className="section-title"),
        html.Div(
            [
                html.Span(id="ov-breadcrumb", className="breadcrumb"),
                html.Button(t("map_back", lang), id="ov-map-back", className="btn", n_clicks=0),
                html.Label(t("map_metric", lang), htmlFor="ov-map-metric", style={"marginLeft": "auto"}),
                dcc.RadioItems(id="ov-map-metric", value="amount", inline=True,
                               inputStyle={"marginRight": "4px"}, labelStyle={"marginRight": "10px"},
                               options=[{"label": t(f"map_{m}", lang), "value": m} for m in data.MAP_METRICS]),
            ],
            className="map-bar",
        ),
        loading(graph("ov-map")),
        html.Div(id="ov-map-note", className="hint"),
        html.Div(t("map_hint", lang), className="hint"),
        id="ov-map-panel",
    )
    return html.Div(
        [
            dcc.Store(id="ov-city", data=home_city),
            dcc.Store(id="ov-home", data={"province": home_province, "city": home_city}),
            dcc.Store(id="ov-default", data={"start": start.isoformat(), "end": end.isoformat(),
                                             "fallback_year": fallback_year}),
            dcc.Download(id="ov-download"),
            html.H2(t("overview_title", lang), className="page-title"),
            filters,
            html.Div(id="ov-period", className="period-note"),
            html.Div(id="ov-kpis", className="kpi-row", **{"aria-label": t("headline", lang)}),  # type: ignore[arg-type]
            html.Div(
                [
                    map_panel,
                    html.Div([
                        panel(html.H3(t("trend", lang), className="section-title"), loading(graph("ov-timeseries")),
                              tbl("timeseries")),
                        section(t("compensation", lang), loading(html.Div(id="ov-compensation")), tbl("compensation"),
                                section_id="ov-compensation-section"),
                    ]),
                ],
                className="cockpit",
            ),
            html.Div(
                [
                    panel(loading(graph("ov-province-graph")), tbl("province")),
                    panel(loading(graph("ov-city-graph")), tbl("city")),
                ],
                className="grid-2",
            ),
            html.Div(t("drill_hint", lang), className="hint"),
            section(t("loans", lang), html.Div(
                [export_buttons(PAGE, "loans", lang), loading(html.Div(id="ov-tbl-loans"))]),
                section_id="ov-loans-section"),
            html.Div(
                [
                    panel(loading(graph("ov-industry-graph")), tbl("industry")),
                    panel(loading(graph("ov-iptype-graph")), tbl("ip_type")),
                ],
                className="grid-2",
            ),
            panel(loading(graph("ov-bank-graph")), tbl("bank")),
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
            (t("reference", lang), "text"), (t("borrower", lang), "name"), (t("city", lang), "text"),
            (t("industry", lang), "text"), (t("ip_type", lang), "text"), (t("status", lang), "text"),
            (t("origination_date", lang), "date"), (t("amount", lang), "fen"), (t("outstanding", lang), "fen"),
            (t("days_past_due", lang), "int"),
        ]
    if key == "compensation":
        return [(t("party", lang), "text"), (t("count", lang), "int"), (t("paid", lang), "fen"),
                (t("recovered", lang), "fen"), (t("net", lang), "fen")]
    first = "name" if key == "bank" else "text"
    code: list[Column] = [] if key == "ip_type" else [(t("code", lang), "text")]  # no GB code: the name says it
    return [
        (t(BREAKDOWN_COLUMNS[key], lang), first), *code, (t("loan_count", lang), "int"),
        (t("financing_amount", lang), "fen"), (t("outstanding", lang), "fen"),
    ]


def table_rows(key: str, viewer: Any, flt: LoanFilter, granularity: str, city: Any, lang: str) -> list[list[Any]]:
    """The rows of one exportable table for the current filter (recomputed on the server).

    ``flt`` is the page filter without the city; the city narrows every table but the province
    and city rankings (which show the siblings to choose from)."""
    in_city = replace(flt, region_code=city) if city and flt.province_code else flt
    if key == "timeseries":
        return [[p.period, p.loan_count, p.amount_fen] for p in data.timeseries(viewer, in_city, granularity)]
    if key in BREAKDOWN_TABLES:
        if key == "city" and not flt.province_code:
            return []
        rows = data.breakdowns(viewer, flt if key in ("province", "city") else in_city, (key,))[key]
        return [_breakdown_row(r, lang, key) for r in rows]
    if key == "loans":
        if not (city and flt.province_code) or not data.may_list_loans(viewer):
            return []
        _, loans = data.loans(viewer, in_city, limit=1000)
        return [_loan_row(r, lang) for r in loans]
    if key == "compensation":
        comp = data.compensation_by_party(viewer, in_city)
        return [_comp_row(c, lang) for c in comp or []]
    raise ValueError(f"table: unknown table {key!r}")


def _comp_row(c: dict[str, Any], lang: str) -> list[Any]:
    return [enum_name("party", c["party"], lang), c["claims"], c["paid_fen"], c["recovered_fen"], c["net_fen"]]


def _breakdown_row(r: Any, lang: str, key: str = "") -> list[Any]:
    code = [] if key == "ip_type" else [r.key]
    return [name((r.name_zh, r.name_en), lang), *code, r.loan_count, r.amount_fen, r.outstanding_fen]


def _loan_row(r: Any, lang: str) -> list[Any]:
    industry = INDUSTRY_SECTIONS.get(r.industry)
    return [
        r.reference, r.borrower_name, name(REGIONS.get(r.region_code, (r.region_code, r.region_code)), lang),
        f"{r.industry} {name(industry, lang)}" if industry else r.industry,
        name(IP_TYPES.get(r.primary_ip_type, (r.primary_ip_type,) * 2), lang), status_name(r.status, lang),
        r.origination_date, r.amount_fen, r.outstanding_fen, r.days_past_due,
    ]


def _kpis(view: dict[str, Any], lang: str) -> list[Any]:
    """The headline cards (:func:`dashboard.components.overview_kpi_cards`)."""
    return overview_kpi_cards(view, lang)


def _span(flt_dict: dict[str, Any] | None, lang: str) -> str:
    if not flt_dict:
        return "—"
    sep = " to " if lang == "en" else " 至 "
    return f"{flt_dict.get('date_from') or '…'}{sep}{flt_dict.get('date_to') or '…'}"


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
    Input("ov-city", "data"),
    State("ov-default", "data"),
)
def update_kpis(
    start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any, threshold: Any, city: Any,
    default: Any,
) -> Any:
    """KPI cards with 同比 and 环比, the period they compare, and compensation paid by party."""
    viewer = _viewer()
    lang = data.current_lang()
    flt = _filter(start, end, province, industry, ip_type, bank, city)
    view = data.bureau_overview(viewer, flt, int(threshold or INCLUSIVE_THRESHOLDS_CNY[0]))
    period: list[Any] = [
        html.B(f"{t('period_label', lang)}：{_span(view['filter'], lang)}"),
        f" · {t('vs_year_ago', lang)}：{_span(view['year_ago_filter'], lang)}",
        f" · {t('vs_previous', lang)}：{_span(view['previous_filter'], lang)}",
    ]
    default = default or {}
    if default.get("fallback_year") and (str(start)[:10], str(end)[:10]) == (default.get("start"), default.get("end")):
        note = t("fallback_year", lang).format(year=date.today().year, last=default["fallback_year"])
        period = [html.Div(note, className="fallback", id="ov-fallback"), *period]
    kpis = _kpis(view, lang)
    comp = view["compensation_by_party"]  # computed by bureau_overview: no second query
    if not comp:
        return period, kpis, empty_state(t("no_data", lang), "ov-compensation-none"), None
    rows = [_comp_row(c, lang) for c in comp]
    fig = figures.stacked_bar_figure(
        [r[0] for r in rows], {t("paid", lang): [c["paid_fen"] for c in comp],
                               t("recovered", lang): [c["recovered_fen"] for c in comp]},
        lang, "", barmode="group",
    )
    fig.update_layout(height=260)
    return period, kpis, graph("ov-compensation-graph", fig), _table("compensation", rows, lang)


@callback(
    Output("ov-timeseries", "figure"),
    Output("ov-tbl-timeseries", "children"),
    *FILTERS,
    Input("ov-granularity", "value"),
    Input("ov-city", "data"),
)
def update_timeseries(
    start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any, granularity: Any, city: Any
) -> Any:
    """Financing per month / quarter / year, beside the same periods a year earlier (同比)."""
    viewer = _viewer()
    lang = data.current_lang()
    flt = _filter(start, end, province, industry, ip_type, bank, city)
    series = data.timeseries(viewer, flt, granularity or "month")
    earlier = flt.year_ago()
    year_ago = data.timeseries(viewer, earlier, granularity or "month") if earlier else []
    rows = [[p.period, p.loan_count, p.amount_fen] for p in series]
    return figures.timeseries_figure(series, lang, "", year_ago=year_ago), _table("timeseries", rows, lang)


@callback(
    Output("ov-province-graph", "figure"),
    Output("ov-industry-graph", "figure"),
    Output("ov-iptype-graph", "figure"),
    Output("ov-bank-graph", "figure"),
    *[Output(f"ov-tbl-{k}", "children") for k in ("province", "industry", "ip_type", "bank")],
    *FILTERS,
    Input("ov-city", "data"),
)
def update_breakdowns(
    start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any, city: Any
) -> Any:
    """Ranked breakdowns by province, industry, IP type and bank (one SQL scan for the last three)."""
    viewer = _viewer()
    lang = data.current_lang()
    flt = _filter(start, end, province, industry, ip_type, bank)
    prov = data.breakdowns(viewer, flt, ("province",))["province"]
    keys = ("industry", "ip_type", "bank")
    bd = data.breakdowns(viewer, _filter(start, end, province, industry, ip_type, bank, city), keys)
    tables = [_table(k, [_breakdown_row(r, lang, k) for r in rows], lang)
              for k, rows in (("province", prov), *((k, bd[k]) for k in keys))]
    return (
        figures.ranked_bar_figure(prov, lang, t("by_province", lang)),
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


# ------------------------------------------------------------------ the map


def map_view(province: str | None, city: str | None) -> tuple[MapLevel, str | None]:
    """The map for the current selection: China's provinces, a province's cities or a city's counties."""
    if province and city and str(city)[:2] == province[:2] and maps.has_map("county", city):
        return "county", city
    if province and maps.has_map("city", province):
        return "city", province
    return "province", None


def _metric_values(values: dict[str, Any], metric: str, lang: str) -> tuple[dict[str, float], str, str, Any]:
    """Values in display units, the metric's label, number format and colour scale."""
    if metric == "npl":
        shown = {k: float(v) * 100 for k, v in values.items() if v is not None}
        return shown, f"{t('map_npl', lang)}（%）" if lang != "en" else "NPL ratio (%)", ",.2f", "Oranges"
    if metric == "count":
        return {k: float(v) for k, v in values.items()}, t("map_count", lang), ",.0f", None
    divisor, unit = amount_unit(max((abs(int(v or 0)) for v in values.values()), default=0), lang)
    shown = {k: float(in_unit(int(v or 0), divisor)) for k, v in values.items()}
    label = t(f"map_{metric}", lang)
    return shown, (f"{label}（{unit}）" if lang != "en" else f"{label} ({unit})"), ",.2f", (
        "Oranges" if metric == "compensation" else None)


@callback(
    Output("ov-map", "figure"),
    Output("ov-breadcrumb", "children"),
    Output("ov-map-note", "children"),
    Output("ov-map-back", "disabled"),
    *FILTERS,
    Input("ov-city", "data"),
    Input("ov-map-metric", "value"),
    State("ov-home", "data"),
)
def update_map(
    start: Any, end: Any, province: Any, industry: Any, ip_type: Any, bank: Any, city: Any, metric: Any, home: Any
) -> Any:
    """The choropleth at the selected level, its breadcrumb and what cannot be placed on it."""
    viewer = _viewer()
    lang = data.current_lang()
    level, parent = map_view(province, city)
    flt = _filter(start, end, province, industry, ip_type, bank, city if level == "county" else None)
    raw, rows = data.map_values(viewer, flt, level, metric or "amount")
    shown, label, fmt, scale = _metric_values(raw, metric or "amount", lang)
    fig = maps.choropleth(shown, level, parent, label, lang, title="", value_format=fmt, colorscale=scale, height=500,
                          geojson_url=dash.get_asset_url(maps.geo_asset(level, parent)))
    fig.update_layout(margin={"l": 0, "r": 0, "t": 8, "b": 0}, clickmode="event")
    crumbs: list[Any] = [t("china", lang)]
    for code in (province, city if level == "county" else None):
        if code:
            crumbs += [" › ", name(REGIONS.get(code, (code, code)), lang)]
    crumbs[-1] = html.B(crumbs[-1])
    unmapped = [r for r in rows if r.key in set(fig.layout.meta["unmapped"])]
    note = ""
    if unmapped and level == "county":
        note = t("unlocated", lang).format(n=fmt_count(sum(r.loan_count for r in unmapped)),
                                           amount=fmt_amount(sum(r.amount_fen for r in unmapped), lang))
    home = home or {}
    at_home = (province or None) == home.get("province") and (city or None) == home.get("city")
    return fig, crumbs, note, bool(at_home or not province)


def _clicked(click: Any, key: str = "customdata") -> Any:
    try:
        return click["points"][0][key]
    except (TypeError, KeyError, IndexError) as exc:
        raise PreventUpdate from exc


@callback(
    Output("ov-province", "value"),
    Output("ov-city", "data"),
    Input("ov-province-graph", "clickData"),
    Input("ov-city-graph", "clickData"),
    Input("ov-map", "clickData"),
    Input("ov-map-back", "n_clicks"),
    State("ov-province", "value"),
    State("ov-city", "data"),
    State("ov-home", "data"),
    prevent_initial_call=True,
)
def drill(
    province_click: Any, city_click: Any, map_click: Any, _back: Any, province: Any, city: Any, home: Any
) -> Any:
    """Drill down from a bar or the map (province → city → county) and back up; a regional bureau
    never leaves its own region."""
    home = home or {}
    trig = ctx.triggered_id
    if trig == "ov-province-graph":
        new_province, new_city = _clicked(province_click), None
    elif trig == "ov-city-graph":
        new_province, new_city = province, _clicked(city_click)
    elif trig == "ov-map-back":
        new_province, new_city = (province, None) if city else (None, None)
    else:
        code = str(_clicked(map_click, "location"))
        down = maps.drill_down(code)
        if code.endswith("0000"):
            new_province, new_city = code, None
        elif down is not None and down[0] == "county":
            new_province, new_city = code[:2] + "0000", code
        else:
            raise PreventUpdate  # a county: the bottom of the map
    new_province = home.get("province") or new_province
    if home.get("city"):
        new_city = home["city"]
    if new_province and new_province not in PROVINCES:
        raise PreventUpdate
    return new_province, new_city


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
        return dcc.send_bytes(export.to_xlsx(export_headers(cols, lang), rows, key), f"{stem}.xlsx")
    return dcc.send_bytes(export.to_csv(export_headers(cols, lang), rows), f"{stem}.csv")
