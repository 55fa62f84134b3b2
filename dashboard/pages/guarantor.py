"""Guarantor page (担保代偿): the claims queue by status and deadline, review results with their
reasons, payouts by party and the ledger per party against the scheme's balances.

Claims are those the organisation is a party of (risk-sharing tenancy). Until the
risk-sharing tables exist the page says so instead of showing numbers.
"""

from __future__ import annotations

import re
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
    loading,
    page_guard,
    section,
)
from dashboard.i18n import enum_name, fmt_amount, fmt_count, t

dash.register_page(__name__, path="/guarantor", name="担保代偿", title="知识产权金融监测 · 担保代偿")

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
            html.H2(t("guarantor", lang), className="page-title"),
            html.Div(id="gu-kpis", style=ROW_STYLE),
            section(t("claims_queue", lang), loading(graph("gu-status-graph")), tbl("status"), tbl("queue")),
            section(t("payouts_by_party", lang), loading(graph("gu-payouts-graph")), tbl("payouts")),
            section(t("ledger_caps", lang), tbl("ledger")),
        ],
        id="guarantor-page",
    )


def _columns(key: str, lang: str) -> list[Column]:
    return {
        "status": [(t("status", lang), "text"), (t("count", lang), "int"), (t("outstanding", lang), "fen")],
        "queue": [
            (t("claim_id", lang), "int"), (t("loan_ref", lang), "code"), (t("status", lang), "text"),
            (t("rule", lang), "code"), (t("default_date", lang), "date"), (t("filed_on", lang), "date"),
            (t("deadline", lang), "text"), (t("outstanding", lang), "fen"), (t("loss_base", lang), "fen"),
            (t("eligible", lang), "text"), (t("reasons", lang), "text"),
        ],
        "payouts": [(t("party", lang), "text"), (t("amount", lang), "fen")],
        "ledger": [
            (t("rule", lang), "code"), (t("party", lang), "text"), (t("paid", lang), "fen"),
            (t("recovered", lang), "fen"), (t("net", lang), "fen"), (t("balance", lang), "fen"),
        ],
    }[key]


def _deadline(review: Any, lang: str) -> str:
    """The claim deadline from the stored review's deadline check (its date; in English the whole
    detail), '—' if the rule has no deadline."""
    for check in (review or {}).get("checks", []) if isinstance(review, dict) else []:
        if check.get("name") == "claim_deadline":
            detail = str(check.get("detail", ""))
            if lang == "en":
                return detail
            found = re.search(r"deadline (\d{4}-\d{2}-\d{2})", detail)
            return found.group(1) if found else "—"
    return "—"


def _reasons(review: dict[str, Any], lang: str) -> str:
    """Why a claim failed review: the stored reasons (English), or in Chinese the failed checks' names."""
    if lang == "en":
        return "; ".join(review.get("reasons", []))
    failed = [c.get("name", "") for c in review.get("checks", []) if c.get("passed") is False]
    return "；".join(enum_name("check", n, lang) for n in failed)


def _rows(key: str, view: dict[str, Any], lang: str = "en") -> list[list[Any]]:
    if key == "status":
        return [[enum_name("claim_status", s["status"], lang), s["count"], s["principal_fen"]]
                for s in view["by_status"]]
    if key == "queue":
        out = []
        for q in view["queue"]:
            review = q.get("review") if isinstance(q.get("review"), dict) else {}
            eligible = "—" if q["eligible"] is None else ("✓" if q["eligible"] else "✗")
            out.append([
                q["id"], q["loan_key"], enum_name("claim_status", q["status"], lang), q["rule_id"], q["default_date"],
                q["filed_on"], _deadline(review, lang), q["outstanding_principal_fen"], q["loss_base_fen"], eligible,
                _reasons(review, lang),
            ])
        return out
    if key == "payouts":
        return [[enum_name("party", p, lang), v] for p, v in sorted(view["payouts"].items())]
    return [[r["rule_id"], enum_name("party", r["party"], lang), r["paid_fen"], r["recovered_fen"], r["net_fen"],
             r["balance_fen"]] for r in view["ledger"]]


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
    open_statuses = ("filed", "reviewed", "partially_paid")  # partially paid: some shares still to sign or pay
    open_claims = sum(s["count"] for s in view["by_status"] if s["status"] in open_statuses)
    paid = sum(view["payouts"].values())
    kpis = [
        kpi_card("gu-kpi-open", t("claims_queue", lang), fmt_count(open_claims), open_claims,
                 definition=t("def_gu_open", lang)),
        kpi_card("gu-kpi-paid", t("payouts_by_party", lang), fmt_amount(paid, lang), paid,
                 definition=t("def_gu_paid", lang)),
    ]
    status_fig = figures.bucket_figure(
        [{"label": enum_name("claim_status", s["status"], lang), "loan_count": s["count"]} for s in view["by_status"]],
        lang, t("claims_queue", lang),
    )
    payouts = view["payouts"]
    parties = sorted(payouts)
    pay_fig = figures.stacked_bar_figure(
        [enum_name("party", p, lang) for p in parties], {t("paid", lang): [payouts[p] for p in parties]}, lang,
        t("payouts_by_party", lang),
    ) if payouts else figures.empty_figure(t("no_data", lang), t("payouts_by_party", lang))
    tables = [data_table(f"gu-table-{k}", _columns(k, lang), _rows(k, view, lang), lang) for k in TABLES]
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
    values = export_rows(cols, _rows(key, view, lang))
    if fmt == "xlsx":
        return dcc.send_bytes(export.to_xlsx(export_headers(cols, lang), values, key), f"ipfin-guarantor-{key}.xlsx")
    return dcc.send_bytes(export.to_csv(export_headers(cols, lang), values), f"ipfin-guarantor-{key}.csv")
