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
    loading,
    page_guard,
    section,
)
from dashboard.i18n import bucket_label, enum_name, fmt_amount, fmt_count, fmt_pct, name, t
from ipfin.reference import IP_TYPES
from valuation.report import LABELS as VALUATION_LABELS

dash.register_page(__name__, path="/bank", name="银行质押品", title="知识产权金融监测 · 银行质押品")

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
            html.H2(t("bank", lang), className="page-title"),
            html.Div(
                [
                    html.Div([html.Label(t("as_of", lang)),
                              dcc.DatePickerSingle(id="bk-asof", date=date.today().isoformat(),
                                                   display_format="YYYY-MM-DD", first_day_of_week=1)]),
                    html.Div([html.Label(t("ltv_limit", lang)),
                              dcc.RadioItems(id="bk-ltv-limit", value=60, inline=True,
                                             inputStyle={"marginRight": "4px"}, labelStyle={"marginRight": "10px"},
                                             options=[{"label": f"{p}%", "value": p} for p in (50, 60, 70)])]),
                ],
                className="filters panel",
            ),
            html.Div(id="bk-kpis", style=ROW_STYLE),
            html.Div(
                [
                    html.Div([loading(graph("bk-value-graph")), tbl("value")], className="panel"),
                    html.Div([loading(graph("bk-ltv-graph")), tbl("ltv")], className="panel"),
                ],
                className="grid-2",
            ),
            html.Div([loading(graph("bk-dpd-graph")), tbl("dpd")], className="panel"),
            section(t("alerts", lang), tbl("alerts")),
            section(t("pledge_monitoring", lang), tbl("monitoring")),
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
        return [(t("alert_code", lang), "text"), (t("severity", lang), "text"), (t("count", lang), "int"),
                (t("as_of", lang), "date")]
    return [
        (t("reference", lang), "int"), (t("identifier", lang), "code"), (t("ip_type", lang), "text"),
        (t("as_of", lang), "date"), (t("collateral_value", lang), "fen"), (t("value_p5", lang), "fen"),
        (t("value_low", lang), "fen"), (t("value_high", lang), "fen"),
    ]


def _yes(flag: bool) -> str:
    return "●" if flag else ""


def _rows(
    key: str, viewer: Any, as_of: date, limit_pct: int, rep: Any = None, lang: str = "en"
) -> list[list[Any]] | None:
    """Rows of one table in the language (None: that module's tables do not exist yet)."""
    if key == "monitoring":
        mon = data.monitoring_alerts(viewer)
        return None if mon is None else [
            [enum_name("alert", m["code"], lang), enum_name("severity", m["severity"], lang), m["count"], m["as_of"]]
            for m in mon
        ]
    if key == "valuations":
        vals = data.valuation_list(viewer)
        return None if vals is None else [
            [v["id"], v["identifier"], name(IP_TYPES.get(v["ip_type"], (v["ip_type"],) * 2), lang),
             v["valuation_date"], v["appraised_value_fen"], v["mc_p5_fen"], v["appraised_low_fen"],
             v["appraised_high_fen"]] for v in vals
        ]
    rep = rep or data.collateral_report(viewer, as_of, limit_pct)
    if key == "alerts":
        return [
            [a["reference"], a["outstanding_fen"], a["appraised_fen"], a["ltv"], a["days_past_due"],
             _yes(a["ltv_breach"]), _yes(a["lapse"]), _yes(a["revaluation_due"])]
            for a in rep.alerts
        ]
    buckets = {"ltv": rep.ltv_distribution, "value": rep.value_distribution, "dpd": rep.dpd_buckets}[key]
    return [[bucket_label(b.label, lang), b.loan_count, b.amount_fen] for b in buckets]


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
    def card(card_id: str, key: str, text: str, raw: Any, def_key: str) -> Any:
        return kpi_card(card_id, t(key, lang), text, raw, definition=t(def_key, lang))

    kpis = [
        card("bk-kpi-loans", "loan_count", fmt_count(rep.loan_count), rep.loan_count, "def_bk_loans"),
        card("bk-kpi-outstanding", "outstanding", fmt_amount(rep.outstanding_fen, lang), rep.outstanding_fen,
             "def_bk_outstanding"),
        card("bk-kpi-value", "collateral_value", fmt_amount(rep.appraised_fen, lang), rep.appraised_fen,
             "def_bk_value"),
        card("bk-kpi-ltv", "weighted_ltv", fmt_pct(rep.weighted_ltv), f"{rep.outstanding_fen}/{rep.appraised_fen}",
             "def_bk_ltv"),
        card("bk-kpi-breach", "ltv_breach", fmt_count(rep.ltv_breach_count), rep.ltv_breach_count, "def_bk_breach"),
        card("bk-kpi-lapse", "lapse", fmt_count(rep.lapse_count), rep.lapse_count, "def_bk_lapse"),
        card("bk-kpi-reval", "revaluation_due", fmt_count(rep.revaluation_due_count), rep.revaluation_due_count,
             "def_bk_reval"),
    ]
    tables: list[Any] = []
    for key in TABLES:
        rows = _rows(key, viewer, as_of, limit_pct, rep, lang)
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
    children: list[Any] = [html.Div(f"#{report['id']} {report['identifier']} · {report['valuation_date']}",
                                    className="user-text")]
    if report["histogram_counts"]:
        children.append(graph("bk-valuation-distribution", figures.binned_distribution_figure(
            report["histogram_edges_fen"], report["histogram_counts"], lang, t("value_distribution", lang))))
    if report["tornado"]:
        children.append(graph("bk-valuation-tornado", figures.tornado_fen_figure(
            [(name(VALUATION_LABELS.get(i, (i, i)), lang), lo, hi) for i, lo, hi in report["tornado"]],
            report["tornado_base_fen"], lang, t("valuation_report", lang))))
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
    rows = _rows(key, viewer, as_of, int(limit or 60), lang=lang) or []
    cols = _columns(key, lang)
    values = export_rows(cols, rows)
    stem = f"ipfin-bank-{key}-{as_of.isoformat()}"
    if fmt == "xlsx":
        return dcc.send_bytes(export.to_xlsx(export_headers(cols, lang), values, key), f"{stem}.xlsx")
    return dcc.send_bytes(export.to_csv(export_headers(cols, lang), values), f"{stem}.csv")
