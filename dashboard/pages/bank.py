"""Bank collateral page (质押物监测): value and LTV (质押率) distributions, alerts, loans by
days-past-due bucket, the pledge module's monitoring alerts and the latest valuation reports.

A bank sees its own live loans only (``api.tenancy.loan_visibility``); admins see all.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

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
from dashboard.i18n import fmt_amount, fmt_count, fmt_pct, t

dash.register_page(__name__, path="/bank", name="Bank 银行", title="ipfin · bank collateral")

PAGE = "bank"
TABLES = ("alerts", "ltv", "value", "dpd", "monitoring", "valuations")


def layout(**_: Any) -> Any:
    _viewer, lang, blocker = page_guard(PAGE)
    if blocker is not None:
        return blocker

    def tbl(key: str) -> html.Div:
        return html.Div([export_buttons(PAGE, key, lang), html.Div(id=f"bk-tbl-{key}")])

    return html.Div(
        [
            dcc.Download(id="bk-download"),
            html.H2(t("bank", lang), style={"margin": "4px 0 12px"}),
            html.Div(
                [
                    html.Div([html.Label(t("as_of", lang), style={"fontSize": "12px"}),
                              dcc.DatePickerSingle(id="bk-asof", date=date.today().isoformat(),
                                                   display_format="YYYY-MM-DD")]),
                    html.Div([html.Label(t("ltv_limit", lang), style={"fontSize": "12px"}),
                              dcc.RadioItems(id="bk-ltv-limit", value=60, inline=True,
                                             options=[{"label": f"{p}%", "value": p} for p in (50, 60, 70)])]),
                ],
                style={**ROW_STYLE, "alignItems": "flex-end"},
            ),
            html.Div(id="bk-kpis", style=ROW_STYLE),
            html.Div(
                [
                    html.Div([graph("bk-value-graph"), tbl("value")], style={"flex": "1", "minWidth": "380px"}),
                    html.Div([graph("bk-ltv-graph"), tbl("ltv")], style={"flex": "1", "minWidth": "380px"}),
                ],
                style=ROW_STYLE,
            ),
            html.Div([graph("bk-dpd-graph"), tbl("dpd")]),
            section(t("alerts", lang), tbl("alerts")),
            section(f"{t('alerts', lang)} · pledge monitoring", tbl("monitoring")),
            section(t("valuation_report", lang), tbl("valuations"), html.Div(id="bk-valuation-detail")),
        ],
        id="bank-page",
    )


def _columns(key: str, lang: str) -> list[Column]:
    if key in ("ltv", "value", "dpd"):
        return [(t("bucket", lang), "text"), (t("loan_count", lang), "int"), (t("outstanding", lang), "fen")]
    if key == "alerts":
        return [
            (t("reference", lang), "text"), (t("outstanding", lang), "fen"), (t("collateral_value", lang), "fen"),
            (t("ltv", lang), "pct"), (t("days_past_due", lang), "int"), (t("ltv_breach", lang), "text"),
            (t("lapse", lang), "text"), (t("revaluation_due", lang), "text"),
        ]
    if key == "monitoring":
        return [("code", "text"), ("severity", "text"), (t("count", lang), "int"), (t("as_of", lang), "date")]
    return [
        ("id", "int"), ("identifier", "text"), (t("ip_type", lang), "text"), (t("as_of", lang), "date"),
        (t("collateral_value", lang), "fen"), ("P5", "fen"), ("low", "fen"), ("high", "fen"),
    ]


def _yes(flag: bool) -> str:
    return "●" if flag else ""


def _rows(key: str, viewer: Any, as_of: date, limit_pct: int, rep: Any = None) -> list[list[Any]] | None:
    """Rows of one table (None: that module's tables do not exist yet)."""
    if key == "monitoring":
        mon = data.monitoring_alerts(viewer)
        return None if mon is None else [[m["code"], m["severity"], m["count"], m["as_of"]] for m in mon]
    if key == "valuations":
        vals = data.valuation_list(viewer)
        return None if vals is None else [
            [v["id"], v["identifier"], v["ip_type"], v["valuation_date"], v["appraised_value_fen"], v["mc_p5_fen"],
             v["appraised_low_fen"], v["appraised_high_fen"]] for v in vals
        ]
    rep = rep or data.collateral_report(viewer, as_of, limit_pct)
    if key == "alerts":
        return [
            [a["reference"], a["outstanding_fen"], a["appraised_fen"], a["ltv"], a["days_past_due"],
             _yes(a["ltv_breach"]), _yes(a["lapse"]), _yes(a["revaluation_due"])]
            for a in rep.alerts
        ]
    buckets = {"ltv": rep.ltv_distribution, "value": rep.value_distribution, "dpd": rep.dpd_buckets}[key]
    return [[b.label, b.loan_count, b.amount_fen] for b in buckets]


def _as_of(value: Any) -> date:
    return date.fromisoformat(str(value)[:10]) if value else date.today()


@callback(
    Output("bk-kpis", "children"),
    Output("bk-value-graph", "figure"),
    Output("bk-ltv-graph", "figure"),
    Output("bk-dpd-graph", "figure"),
    *[Output(f"bk-tbl-{k}", "children") for k in TABLES],
    Input("bk-asof", "date"),
    Input("bk-ltv-limit", "value"),
)
def update_bank(as_of_value: Any, limit: Any) -> Any:
    """Every figure of the collateral page for the signed-in organisation's live book."""
    viewer = data.current_viewer()
    if viewer is None or not viewer.may_see(PAGE):
        raise PreventUpdate
    lang = data.current_lang()
    as_of, limit_pct = _as_of(as_of_value), int(limit or 60)
    rep = data.collateral_report(viewer, as_of, limit_pct)
    kpis = [
        kpi_card("bk-kpi-loans", t("loan_count", lang), fmt_count(rep.loan_count), rep.loan_count),
        kpi_card("bk-kpi-outstanding", t("outstanding", lang), fmt_amount(rep.outstanding_fen, lang),
                 rep.outstanding_fen),
        kpi_card("bk-kpi-value", t("collateral_value", lang), fmt_amount(rep.appraised_fen, lang), rep.appraised_fen),
        kpi_card("bk-kpi-ltv", t("weighted_ltv", lang), fmt_pct(rep.weighted_ltv),
                 f"{rep.outstanding_fen}/{rep.appraised_fen}"),
        kpi_card("bk-kpi-breach", t("ltv_breach", lang), fmt_count(rep.ltv_breach_count), rep.ltv_breach_count),
        kpi_card("bk-kpi-lapse", t("lapse", lang), fmt_count(rep.lapse_count), rep.lapse_count),
        kpi_card("bk-kpi-reval", t("revaluation_due", lang), fmt_count(rep.revaluation_due_count),
                 rep.revaluation_due_count),
    ]
    tables: list[Any] = []
    for key in TABLES:
        rows = _rows(key, viewer, as_of, limit_pct, rep)
        if rows is None:
            tables.append(empty_state(t("not_available", lang), f"bk-{key}-empty"))
        else:
            tables.append(data_table(f"bk-table-{key}", _columns(key, lang), rows, lang))
    return (
        kpis,
        figures.bucket_figure(rep.value_distribution, lang, t("value_distribution", lang)),
        figures.bucket_figure(rep.ltv_distribution, lang, t("ltv_distribution", lang)),
        figures.bucket_figure(rep.dpd_buckets, lang, t("dpd_buckets", lang)),
        *tables,
    )


@callback(
    Output("bk-valuation-detail", "children"),
    Input("bk-tbl-valuations", "children"),
)
def show_valuation(_: Any) -> Any:
    """The most recent completed valuation's report: its Monte Carlo distribution and tornado."""
    viewer = data.current_viewer()
    if viewer is None or not viewer.may_see(PAGE):
        raise PreventUpdate
    lang = data.current_lang()
    report = data.latest_valuation_report(viewer)
    if report is None:
        return None
    children: list[Any] = [html.Div(f"#{report['id']} {report['identifier']} · {report['valuation_date']}")]
    if report["histogram_counts"]:
        children.append(graph("bk-valuation-distribution", figures.binned_distribution_figure(
            report["histogram_edges_fen"], report["histogram_counts"], lang, t("value_distribution", lang))))
    if report["tornado"]:
        children.append(graph("bk-valuation-tornado", figures.tornado_fen_figure(
            report["tornado"], report["tornado_base_fen"], lang, t("valuation_report", lang))))
    if len(children) == 1:
        children.append(empty_state(t("no_data", lang)))
    return children


@callback(
    Output("bk-download", "data"),
    Input({"type": f"{PAGE}-export", "table": ALL, "fmt": ALL}, "n_clicks"),
    State("bk-asof", "date"),
    State("bk-ltv-limit", "value"),
    prevent_initial_call=True,
)
def export_table(clicks: Any, as_of_value: Any, limit: Any) -> Any:
    """CSV or Excel of one table, recomputed on the server."""
    viewer, lang, key, fmt = export_request(clicks, PAGE)
    as_of = _as_of(as_of_value)
    rows = _rows(key, viewer, as_of, int(limit or 60)) or []
    cols = _columns(key, lang)
    values = export_rows(cols, rows)
    stem = f"ipfin-bank-{key}-{as_of.isoformat()}"
    if fmt == "xlsx":
        return dcc.send_bytes(export.to_xlsx(export_headers(cols), values, key), f"{stem}.xlsx")
    return dcc.send_bytes(export.to_csv(export_headers(cols), values), f"{stem}.csv")
