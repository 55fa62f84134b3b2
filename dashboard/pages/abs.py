"""ABS page (资产证券化): pool stratification, the deterministic cash flows paid to each tranche,
and the pool loss distribution and tranche metrics of the latest Monte Carlo run.

Pools are those the organisation owns; runs are read from the securitisation module's stored
results. Until those tables exist the page says so instead of showing numbers.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import data, export, figures
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
    page_guard,
    section,
)
from dashboard.i18n import bucket_label, enum_name, name, t
from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES, PROVINCES, REGIONS

dash.register_page(__name__, path="/abs", name="资产证券化", title="知识产权金融监测 · 资产证券化")

PAGE = "abs"
TABLES = ("pools", "strata", "cashflows", "tranches", "losses")
STRAT_KEYS = ("industry", "region", "ip_type", "size", "rating")


def layout(**_: Any) -> Any:
    _viewer, lang, blocker = page_guard(PAGE)
    if blocker is not None:
        return blocker

    def tbl(key: str) -> html.Div:
        return html.Div([export_buttons(PAGE, key, lang), html.Div(id=f"ab-tbl-{key}")])

    return html.Div(
        [
            dcc.Download(id="ab-download"),
            html.H2(t("abs", lang), className="page-title"),
            html.Div(
                [
                    html.Div([html.Label(t("pools", lang)),
                              html.Div(dcc.Dropdown(id="ab-pool", options=[], value=None, placeholder=t("pools", lang),
                                                    style={"minWidth": "320px"}), className="user-text")]),
                    html.Div([html.Label(t("stratification", lang)),
                              dcc.RadioItems(id="ab-strat-by", value="industry", inline=True,
                                             inputStyle={"marginRight": "4px"}, labelStyle={"marginRight": "10px"},
                                             options=[{"label": enum_name("strat", k, lang), "value": k}
                                                      for k in STRAT_KEYS])]),
                ],
                className="filters panel",
            ),
            html.Div(id="ab-status"),
            section(t("pools", lang), tbl("pools")),
            section(t("stratification", lang), loading(graph("ab-strata-graph")), tbl("strata")),
            section(t("cashflows", lang), loading(graph("ab-cashflow-graph")), tbl("cashflows")),
            section(t("loss_distribution", lang), loading(graph("ab-loss-graph")), tbl("losses")),
            section(t("tranche_metrics", lang), tbl("tranches")),
        ],
        id="abs-page",
    )


def _columns(key: str, lang: str) -> list[Column]:
    return {
        "pools": [(t("reference", lang), "int"), (t("name", lang), "name"), (t("source", lang), "text"),
                  (t("outstanding", lang), "fen"), (t("count", lang), "int")],
        "strata": [(t("bucket", lang), "text"), (t("count", lang), "int"), (t("outstanding", lang), "fen"),
                   (t("share", lang), "pct")],
        "cashflows": [(t("period", lang), "text"), (t("date", lang), "date"), (t("tranche", lang), "name"),
                      (t("interest", lang), "fen"), (t("principal", lang), "fen")],
        "tranches": [(t("stress", lang), "text"), (t("tranche", lang), "name"), (t("attachment", lang), "pct"),
                     (t("detachment", lang), "pct"), (t("expected_loss", lang), "pct"), (t("el_se", lang), "pct"),
                     (t("prob_loss", lang), "pct"), (t("wal_years", lang), "text"), (t("rating", lang), "code")],
        "losses": [(t("stress", lang), "text"), (t("n_paths", lang), "int"), (t("expected_loss", lang), "pct"),
                   (t("el_se", lang), "pct"), ("P95", "pct"), ("P99", "pct"), ("P99.9", "pct")],
    }[key]


def stratum_name(by: str, bucket: str, lang: str) -> str:
    """A stratification bucket in the language: industry section, region, IP type, size band, asset kind."""
    if by == "industry" and bucket in INDUSTRY_SECTIONS:
        return f"{bucket} {name(INDUSTRY_SECTIONS[bucket], lang)}"
    if by == "region" and bucket in REGIONS:
        return name(REGIONS[bucket], lang)
    if by == "province" and bucket in PROVINCES:
        return name(PROVINCES[bucket], lang)
    if by == "ip_type" and bucket in IP_TYPES:
        return name(IP_TYPES[bucket], lang)
    if by == "size":
        return bucket_label(bucket, lang)
    if by == "kind":
        return enum_name("asset_kind", bucket, lang)
    return bucket


def _rows(key: str, view: dict[str, Any], lang: str = "en", strat_by: str = "industry") -> list[list[Any]]:
    if key == "pools":
        return [[p["id"], p["name"], enum_name("pool_source", p["source"], lang), p["balance_fen"], p["n_assets"]]
                for p in view["pools"]]
    if key == "strata":
        return [[stratum_name(strat_by, s["bucket"], lang), s["count"], s["balance_fen"], s["share"]]
                for s in view["strata"]]
    if key == "cashflows":
        det = view.get("deterministic") or {}
        periods = ((det.get("scenarios") or [{}])[0]).get("periods") or []
        rows: list[list[Any]] = []
        for p in periods:
            interest, principal = p.get("interest_paid_fen") or {}, p.get("principal_paid_fen") or {}
            for tranche in sorted(set(interest) | set(principal)):
                rows.append([str(p["period"]), p["payment_date"], enum_name("tranche", tranche, lang),
                             int(interest.get(tranche, 0)), int(principal.get(tranche, 0))])
        return rows
    mc = (view.get("monte_carlo") or {}).get("monte_carlo") or {}
    stresses = mc.get("stresses") or {}
    if key == "losses":
        return [[enum_name("stress", k, lang), s["pool"].get("n_paths"), s["pool"].get("expected_loss_rate"),
                 s["pool"].get("expected_loss_rate_se"), s["pool"].get("loss_rate_p95"),
                 s["pool"].get("loss_rate_p99"), s["pool"].get("loss_rate_p999")] for k, s in stresses.items()]
    return [[enum_name("stress", k, lang), enum_name("tranche", x["name"], lang), x["attachment"], x["detachment"],
             x["expected_loss"], x["expected_loss_se"], x["prob_any_loss"], f"{x['wal_years']:.2f}",
             x["implied_rating"]]
            for k, s in stresses.items() for x in s.get("tranches", [])]


def _cashflow_figure(rows: list[list[Any]], lang: str) -> Any:
    periods = sorted({(int(r[0]), r[1]) for r in rows})
    labels = [str(d) for _, d in periods]
    index = {p: i for i, p in enumerate(periods)}
    series: dict[str, list[int]] = {}
    for r in rows:
        series.setdefault(r[2], [0] * len(periods))[index[(int(r[0]), r[1])]] += r[3] + r[4]
    return figures.stacked_bar_figure(labels, series, lang, t("cashflows", lang))


@callback(
    Output("ab-pool", "options"),
    Output("ab-pool", "value"),
    Output("ab-status", "children"),
    Output("ab-strata-graph", "figure"),
    Output("ab-cashflow-graph", "figure"),
    Output("ab-loss-graph", "figure"),
    *[Output(f"ab-tbl-{k}", "children") for k in TABLES],
    Input("ab-pool", "value"),
    Input("ab-strat-by", "value"),
)
def update_abs(pool_id: Any, strat_by: Any) -> Any:
    viewer = data.current_viewer()
    if viewer is None or not viewer.may_see(PAGE):
        raise PreventUpdate
    lang = data.current_lang()
    view = data.abs_view(viewer, int(pool_id) if pool_id else None, strat_by or "industry")
    if view is None:
        empty = figures.empty_figure(t("not_available", lang))
        return ([], None, empty_state(t("not_available", lang), "ab-not-available"), empty, empty, empty,
                *([None] * len(TABLES)))
    options = [{"label": f"#{p['id']} {p['name']}", "value": p["id"]} for p in view["pools"]]
    by = strat_by or "industry"
    tables = [data_table(f"ab-table-{k}", _columns(k, lang), _rows(k, view, lang, by), lang) for k in TABLES]
    strata_fig = figures.bucket_figure(
        [{"label": stratum_name(by, s["bucket"], lang), "amount_fen": s["balance_fen"]} for s in view["strata"]],
        lang, t("stratification", lang), value="amount_fen",
    )
    cash = _rows("cashflows", view, lang)
    cash_fig = _cashflow_figure(cash, lang) if cash else figures.empty_figure(t("no_runs", lang), t("cashflows", lang))
    losses = _rows("losses", view, lang)
    loss_fig = _loss_figure(losses, lang) if losses else figures.empty_figure(
        t("no_runs", lang), t("loss_distribution", lang))
    status = None if view["pools"] else empty_state(t("no_data", lang), "ab-no-pools")
    return options, view["pool_id"], status, strata_fig, cash_fig, loss_fig, *tables


def _loss_figure(losses: list[list[Any]], lang: str) -> Any:
    """Pool loss-rate quantiles per stress (the stored run keeps quantiles, not every path)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for row in losses:
        quantiles = (row[2], *row[4:7])
        fig.add_bar(x=[t("expected_loss", lang), "P95", "P99", "P99.9"], y=[100 * float(v or 0) for v in quantiles],
                    name=row[0])
    fig.update_layout(barmode="group", yaxis={"title": {"text": t("pct_of_pool", lang)}},
                      xaxis={"type": "category"})
    return figures.style(fig, t("loss_distribution", lang), 340)


@callback(
    Output("ab-download", "data"),
    Input({"type": f"{PAGE}-export", "table": ALL, "fmt": ALL}, "n_clicks"),
    State("ab-pool", "value"),
    State("ab-strat-by", "value"),
    prevent_initial_call=True,
)
def export_table(clicks: Any, pool_id: Any, strat_by: Any) -> Any:
    viewer, lang, key, fmt = export_request(clicks, PAGE)
    view = data.abs_view(viewer, int(pool_id) if pool_id else None, strat_by or "industry")
    if view is None:
        raise PreventUpdate
    cols = _columns(key, lang)
    values = export_rows(cols, _rows(key, view, lang, strat_by or "industry"))
    if fmt == "xlsx":
        return dcc.send_bytes(export.to_xlsx(export_headers(cols, lang), values, key), f"ipfin-abs-{key}.xlsx")
    return dcc.send_bytes(export.to_csv(export_headers(cols, lang), values), f"ipfin-abs-{key}.csv")
