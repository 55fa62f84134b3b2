"""Guarantor page (担保代偿): the claims queue by status and deadline, review results with their
reasons, payouts by party and the ledger per party against the scheme's balances.

Claims are those the organisation filed or pays into (risk-sharing tenancy). Until the
risk-sharing tables exist the page says so instead of showing numbers.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, callback, dcc, html
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
from dashboard.i18n import fmt_amount, fmt_count, t

dash.register_page(__name__, path="/guarantor", name="Guarantor 担保", title="ipfin · guarantor")

PAGE = "guarantor"
TABLES = ("status", "queue", "payouts", "ledger")


def layout(**_: Any) -> Any:
    _viewer, lang, blocker = page_guard(PAGE)
    if blocker is not None:
        return blocker

    def tbl(key: str) -> html.Div:
        return html.Div([export_buttons(PAGE, key, lang), html.Div(id=f"gu-tbl-{key}")])

    return html.Div(
        [
            dcc.Download(id="gu-download"),
            dcc.Interval(id="gu-load", interval=60_000, n_intervals=0),
            html.H2(t("guarantor", lang), style={"margin": "4px 0 12px"}),
            html.Div(id="gu-kpis", style=ROW_STYLE),
            section(t("claims_queue", lang), graph("gu-status-graph"), tbl("status"), tbl("queue")),
            section(t("payouts_by_party", lang), graph("gu-payouts-graph"), tbl("payouts")),
            section(t("ledger_caps", lang), tbl("ledger")),
        ],
        id="guarantor-page",
    )


def _columns(key: str, lang: str) -> list[Column]:
    return {
        "status": [(t("status", lang), "text"), (t("count", lang), "int"), (t("outstanding", lang), "fen")],
        "queue": [
            ("id", "int"), (t("reference", lang), "text"), (t("status", lang), "text"), ("rule", "text"),
            ("default", "date"), ("filed", "date"), (t("deadline", lang), "text"), (t("outstanding", lang), "fen"),
            ("loss base", "fen"), ("eligible", "text"), (t("reasons", lang), "text"),
        ],
        "payouts": [(t("party", lang), "text"), (t("amount", lang), "fen")],
        "ledger": [
            ("rule", "text"), (t("party", lang), "text"), ("paid", "fen"), ("recovered", "fen"), ("net", "fen"),
            ("balance", "fen"),
        ],
    }[key]


def _deadline(review: Any) -> str:
    """The claim-deadline check's detail from the stored review, if the rule has a deadline."""
    for check in (review or {}).get("checks", []) if isinstance(review, dict) else []:
        if check.get("name") == "claim_deadline":
            return str(check.get("detail", ""))
    return "—"


def _rows(key: str, view: dict[str, Any]) -> list[list[Any]]:
    if key == "status":
        return [[s["status"], s["count"], s["principal_fen"]] for s in view["by_status"]]
    if key == "queue":
        out = []
        for q in view["queue"]:
            review = q.get("review") if isinstance(q.get("review"), dict) else {}
            eligible = "—" if q["eligible"] is None else ("✓" if q["eligible"] else "✗")
            out.append([
                q["id"], q["loan_key"], q["status"], q["rule_id"], q["default_date"], q["filed_on"], _deadline(review),
                q["outstanding_principal_fen"], q["loss_base_fen"], eligible, "; ".join(review.get("reasons", [])),
            ])
        return out
    if key == "payouts":
        return [[p, v] for p, v in sorted(view["payouts"].items())]
    return [[r["rule_id"], r["party"], r["paid_fen"], r["recovered_fen"], r["net_fen"], r["balance_fen"]]
            for r in view["ledger"]]


@callback(
    Output("gu-kpis", "children"),
    Output("gu-status-graph", "figure"),
    Output("gu-payouts-graph", "figure"),
    *[Output(f"gu-tbl-{k}", "children") for k in TABLES],
    Input("gu-load", "n_intervals"),
)
def update_guarantor(_: Any) -> Any:
    viewer = data.current_viewer()
    if viewer is None or not viewer.may_see(PAGE):
        raise PreventUpdate
    lang = data.current_lang()
    view = data.guarantor_view(viewer)
    if view is None:
        msg = empty_state(t("not_available", lang), "gu-not-available")
        empty = figures.empty_figure(t("not_available", lang))
        return msg, empty, empty, *([None] * len(TABLES))
    open_claims = sum(s["count"] for s in view["by_status"] if s["status"] in ("filed", "reviewed"))
    paid = sum(view["payouts"].values())
    kpis = [
        kpi_card("gu-kpi-open", t("claims_queue", lang), fmt_count(open_claims), open_claims),
        kpi_card("gu-kpi-paid", t("payouts_by_party", lang), fmt_amount(paid, lang), paid),
    ]
    status_fig = figures.bucket_figure(
        [{"label": s["status"], "loan_count": s["count"]} for s in view["by_status"]], lang, t("claims_queue", lang)
    )
    payouts = view["payouts"]
    pay_fig = figures.stacked_bar_figure(
        [t("payouts_by_party", lang)], {p: [v] for p, v in sorted(payouts.items())}, lang, t("payouts_by_party", lang)
    ) if payouts else figures.empty_figure(t("no_data", lang), t("payouts_by_party", lang))
    tables = [data_table(f"gu-table-{k}", _columns(k, lang), _rows(k, view), lang) for k in TABLES]
    return kpis, status_fig, pay_fig, *tables


@callback(
    Output("gu-download", "data"),
    Input({"type": f"{PAGE}-export", "table": ALL, "fmt": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def export_table(clicks: Any) -> Any:
    viewer, lang, key, fmt = export_request(clicks, PAGE)
    view = data.guarantor_view(viewer)
    if view is None:
        raise PreventUpdate
    cols = _columns(key, lang)
    values = export_rows(cols, _rows(key, view))
    if fmt == "xlsx":
        return dcc.send_bytes(export.to_xlsx(export_headers(cols), values, key), f"ipfin-guarantor-{key}.xlsx")
    return dcc.send_bytes(export.to_csv(export_headers(cols), values), f"ipfin-guarantor-{key}.csv")
