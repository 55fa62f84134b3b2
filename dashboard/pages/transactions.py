"""IP transactions page (知识产权交易) for bureaus: the register's volumes, count and value.

By the six market pricing methods and five trading modes of seed 002, the two crossed, by IP type and
by year, for a period and a region (province / city for a national bureau; a regional bureau sees its
own region). Every figure is the register's volumes report (``GET /api/v1/ip-transactions/reports/volumes``,
through :func:`dashboard.data.transaction_volumes`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import data, figures
from dashboard.components import ROW_STYLE, data_table, empty_state, graph, kpi_card, loading, page_guard, section
from dashboard.i18n import amount_unit, fmt_amount, fmt_count, in_unit, name, t
from ipfin import regions
from ipfin.reference import IP_TYPES, PROVINCES

dash.register_page(__name__, path="/transactions", name="知识产权交易", title="知识产权金融监测 · 知识产权交易")

PAGE = "transactions"
FIRST_DAY = date(2019, 1, 1)
"""Default start of the period: the first year of the book (``api.demo.FIRST_YEAR``)."""


def home_region(viewer: Any) -> tuple[str | None, str | None]:
    """(province, city) a regional bureau is held to (None, None for a national one)."""
    own = viewer.org.region_code if viewer.kind == "bureau" else None
    if not own:
        return None, None
    province = own[:2] + "0000"
    return province, (own if own != province else None)


def _city_options(province: str | None, lang: str) -> list[dict[str, str]]:
    if not province:
        return []
    return [{"label": c.name_en if lang == "en" else c.name_zh, "value": c.code} for c in regions.children(province)]


def layout(**_: Any) -> Any:
    viewer, lang, blocker = page_guard(PAGE)
    if blocker is not None:
        return blocker
    province, city = home_region(viewer)
    provinces = [{"label": name(v, lang), "value": k} for k, v in PROVINCES.items() if not province or k == province]
    controls = html.Div([
        html.Div([html.Label(t("tx_period", lang)),
                  dcc.DatePickerRange(id="tx-date", start_date=FIRST_DAY.isoformat(),
                                      end_date=date.today().isoformat(), display_format="YYYY-MM-DD",
                                      clearable=False, first_day_of_week=1,
                                      month_format="YYYY年M月" if lang != "en" else "MMMM YYYY")]),
        html.Label([t("tx_province", lang), dcc.Dropdown(
            id="tx-province", options=provinces, value=province, placeholder=t("all", lang),
            disabled=province is not None)], style={"minWidth": "200px"}),
        html.Label([t("tx_city", lang), dcc.Dropdown(
            id="tx-city", options=_city_options(province, lang), value=city, placeholder=t("all", lang),
            disabled=city is not None)], style={"minWidth": "200px"}),
    ], style={**ROW_STYLE, "alignItems": "flex-end"}, className="filters panel")
    return html.Div([
        html.H2(t("transactions", lang), className="page-title"),
        controls,
        html.P(t("tx_note", lang), className="definition-note"),
        html.P(id="tx-scope", className="definition-note"),
        loading(html.Div(id="tx-kpis", style=ROW_STYLE)),
        section(t("tx_by_method", lang), loading(graph("tx-method-graph")), html.Div(id="tx-method-table")),
        section(t("tx_by_mode", lang), loading(graph("tx-mode-graph")), html.Div(id="tx-mode-table")),
        section(t("tx_cross", lang), loading(html.Div(id="tx-cross"))),
        section(t("tx_by_type", lang), loading(graph("tx-type-graph")), html.Div(id="tx-type-table")),
        section(t("tx_by_year", lang), loading(graph("tx-year-graph")), html.Div(id="tx-year-table")),
    ], id="transactions-page")


@callback(Output("tx-city", "options"), Output("tx-city", "value"), Input("tx-province", "value"))
def cities(province: str | None) -> tuple[list[dict[str, str]], str | None]:
    viewer, lang = data.current_viewer(), data.current_lang()
    if viewer is None or not viewer.may_see(PAGE):
        raise PreventUpdate
    return _city_options(province, lang), home_region(viewer)[1]


def bar_figure(labels: list[str], counts: list[int], fens: list[int], lang: str) -> go.Figure:
    """Value bars (in 万元 or 亿元) with the count as a line on a second axis."""
    divisor, unit = amount_unit(max([*fens, 0]), lang)
    fig = go.Figure([
        go.Bar(name=f"{t('tx_amount', lang)}（{unit}）", x=labels, y=[float(in_unit(v, divisor)) for v in fens],
               marker_color=figures.PALETTE[0]),
        go.Scatter(name=t("tx_count", lang), x=labels, y=counts, yaxis="y2", mode="lines+markers",
                   marker_color=figures.PALETTE[1]),
    ])
    fig.update_layout(yaxis={"title": unit}, yaxis2={"title": t("tx_count", lang), "overlaying": "y", "side": "right",
                                                     "rangemode": "tozero"},
                      legend={"orientation": "h", "y": -0.2})
    return figures.style(fig, "")


def _table(table_id: str, head: str, rows: list[tuple[str, int, int]], total: int, lang: str) -> html.Div:
    cols = [(head, "text"), (t("tx_count", lang), "int"), (t("tx_amount", lang), "fen"), (t("tx_share", lang), "pct")]
    body = [[label, n, v, v / total if total else None] for label, n, v in rows]
    body.append([t("tx_total", lang), sum(n for _, n, _ in rows), sum(v for _, _, v in rows), 1.0 if total else None])
    return data_table(table_id, cols, body, lang)


def cross_table(rep: Any, lang: str) -> html.Div:
    """Methods down, modes across; each cell '笔数 / 金额'."""
    modes = [(r.key, r.label_en if lang == "en" else r.label_zh) for r in rep.by_trading_mode]
    cells = {(c.pricing_method, c.trading_mode): c for c in rep.cross}

    def cell(c: Any) -> str:
        return "—" if not c.count else f"{fmt_count(c.count)} / {fmt_amount(c.value_fen, lang)}"

    head = html.Thead(html.Tr([html.Th(t("tx_method", lang))] + [html.Th(label) for _, label in modes]))
    body = html.Tbody([
        html.Tr([html.Td(m.label_en if lang == "en" else m.label_zh)]
                + [_cross_cell(m.key, k, cells[(m.key, k)], cell(cells[(m.key, k)])) for k, _ in modes])
        for m in rep.by_pricing_method])
    return html.Div(html.Table([head, body], className="data-table", id="tx-cross-table"), className="table-wrap")


def _cross_cell(method: str, mode: str, c: Any, text: str) -> html.Td:
    """One cell of the cross table; ``data-count`` / ``data-value`` hold the exact figures."""
    attrs: dict[str, Any] = {"data-count": str(c.count), "data-value": str(c.value_fen)}
    return html.Td(text, id=f"tx-cross-{method}-{mode}", style={"textAlign": "right"}, **attrs)


def _region_name(prefix: str | None, lang: str) -> str:
    if not prefix:
        return t("tx_national", lang)
    code = prefix.ljust(6, "0")
    r = regions.get(code)
    return code if r is None else (r.name_en if lang == "en" else r.name_zh)


@callback(
    Output("tx-scope", "children"), Output("tx-kpis", "children"),
    Output("tx-method-graph", "figure"), Output("tx-method-table", "children"),
    Output("tx-mode-graph", "figure"), Output("tx-mode-table", "children"),
    Output("tx-cross", "children"),
    Output("tx-type-graph", "figure"), Output("tx-type-table", "children"),
    Output("tx-year-graph", "figure"), Output("tx-year-table", "children"),
    Input("tx-date", "start_date"), Input("tx-date", "end_date"),
    Input("tx-province", "value"), Input("tx-city", "value"),
)
def update(start: str | None, end: str | None, province: str | None, city: str | None) -> tuple[Any, ...]:
    viewer, lang = data.current_viewer(), data.current_lang()
    if viewer is None or not viewer.may_see(PAGE) or not start or not end:
        raise PreventUpdate
    d0, d1 = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
    if d1 < d0:
        d0, d1 = d1, d0
    region = city if city and province and city[:2] == province[:2] else province
    view = data.transaction_volumes(viewer, d0, d1, region)
    rep = view["total"]
    scope = t("tx_scope", lang).format(region=_region_name(view["region_prefix"], lang), start=d0.isoformat(),
                                       end=d1.isoformat())
    kpis = [kpi_card("tx-kpi-count", t("tx_count", lang), fmt_count(rep.total_count), rep.total_count),
            kpi_card("tx-kpi-amount", t("tx_amount", lang), fmt_amount(rep.total_value_fen, lang),
                     rep.total_value_fen)]
    if not rep.total_count:
        empty = figures.empty_figure(t("tx_empty", lang))
        msg = empty_state(t("tx_empty", lang), element_id="tx-empty")
        return scope, kpis, empty, msg, empty, None, None, empty, None, empty, None
    total = rep.total_value_fen
    out: list[Any] = [scope, kpis]
    for key, rows, head in (("method", rep.by_pricing_method, "tx_method"), ("mode", rep.by_trading_mode, "tx_mode")):
        labels = [r.label_en if lang == "en" else r.label_zh for r in rows]
        out += [bar_figure(labels, [r.count for r in rows], [r.value_fen for r in rows], lang),
                _table(f"tx-{key}-rows", t(head, lang), [(lb, r.count, r.value_fen) for lb, r in zip(labels, rows,
                                                                                                     strict=True)],
                       total, lang)]
    out.append(cross_table(rep, lang))
    types = [(name(IP_TYPES[k], lang), v.total_count, v.total_value_fen) for k, v in view["by_ip_type"].items()]
    years = [(str(y), v.total_count, v.total_value_fen) for y, v in view["by_year"].items()]
    for key, rows, head in (("type", types, "tx_type"), ("year", years, "tx_year")):
        out += [bar_figure([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], lang),
                _table(f"tx-{key}-rows", t(head, lang), rows, total, lang)]
    return tuple(out)
