"""Bank collateral page (质押物监测): value and LTV (质押率) distributions, alerts, loans by
days-past-due bucket, the pledge module's monitoring alerts and the latest valuation reports; the
early-warning watchlist (预警名单), the latest stress run (压力测试) and provisions by five-class
category (贷款五级分类与拨备), each the same figures as its API endpoint.

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
from dashboard.i18n import bucket_label, enum_name, fmt_amount, fmt_count, fmt_pct, fmt_pp_lang, name, t
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
            section(t("ew_watchlist", lang), loading(html.Div(id="bk-watchlist")), section_id="bk-watchlist-section"),
            html.Div(
                [
                    section(t("st_title", lang), loading(html.Div(id="bk-stress")), section_id="bk-stress-section"),
                    section(t("pv_title", lang), loading(html.Div(id="bk-provisions")),
                            section_id="bk-provisions-section"),
                ],
                className="grid-2",
            ),
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


# ------------------------------------------------------------------ watchlist, stress run, provisions

STAT_ROW = {**ROW_STYLE, "gap": "8px", "marginBottom": "8px", "flexWrap": "nowrap"}
STAT_VALUE = {"fontSize": "18px", "fontWeight": "700", "color": "var(--navy)", "whiteSpace": "nowrap",
              "fontVariantNumeric": "tabular-nums"}


def _with_code(template: str, **codes: str) -> list[Any]:
    """``template`` with each ``{key}`` replaced by a code element (commands, endpoints: shown as typed)."""
    parts: list[Any] = []
    rest = template
    while "{" in rest:
        before, _, tail = rest.partition("{")
        key, _, rest = tail.partition("}")
        parts += [before, html.Code(codes[key], lang="en")]
    return [*parts, rest]


def _stat(card_id: str, label: str, text: str, raw: Any, definition: str | None = None) -> html.Div:
    """A compact figure (smaller than a KPI card, so four fit in half a 1366-pixel screen); ``data-value``
    holds the exact figure and ``title`` how it is defined, as on the KPI cards."""
    attrs: dict[str, Any] = {"data-value": str(raw)}
    if definition:
        attrs["title"] = definition
    return html.Div(
        [html.Div(label, className="kpi-label", style={"fontSize": "12px"}),
         html.Div(text, style=STAT_VALUE)],
        id=card_id, className="kpi", style={"padding": "5px 10px", "borderTopWidth": "3px", "flex": "1 1 0"},
        **attrs,
    )


def _drivers(drivers: list[dict[str, Any]] | None, lang: str, k: int = 3) -> str:
    """The top ``k`` drivers: the feature in the language, ▲ when it raises the PD, ▼ when it lowers it."""
    out = []
    for d in (drivers or [])[:k]:
        label = d.get("label_zh") if lang != "en" else enum_name("ew_feature", d["feature"], lang)
        arrow = {"raises": "▲", "lowers": "▼"}.get(d.get("direction", ""), "")
        out.append(f"{label}{arrow}")
    return "；".join(out) if lang != "en" else "; ".join(out)


def _rank_change(change: int | None, lang: str) -> str:
    if change is None:
        return "—"
    if change == 0:
        return t("ew_same", lang)
    return t("ew_up" if change > 0 else "ew_down", lang).format(n=abs(change))


def watchlist_block(viewer: Any, lang: str) -> list[Any]:
    """Alert count, the run it comes from and the loans of highest PD with drivers and change since the last run."""
    wl = data.watchlist(viewer)
    if not wl["runs"]:
        return [html.Div(_with_code(t("ew_none", lang), cmd=f"ipfin early-warning score --org-id {viewer.org.id}",
                                    api="POST /api/v1/early-warning/runs"), className="empty-state", id="bk-ew-none")]
    runs = wl["runs"]
    latest = runs[-1]
    n_scored = sum(int(r["n_loans"]) for r in runs)
    thresholds = sorted({float(r["alert_pd"]) for r in runs})
    stats = [
        _stat("bk-ew-alerts", t("ew_alerts", lang), fmt_count(wl["n_alerts"]), wl["n_alerts"],
              t("def_ew_alerts", lang)),
        _stat("bk-ew-scored", t("ew_scored", lang), fmt_count(n_scored), n_scored),
        _stat("bk-ew-threshold", t("ew_threshold", lang), " / ".join(fmt_pct(x) for x in thresholds),
              ",".join(str(x) for x in thresholds)),
    ]
    line = t("ew_run_line", lang).format(id=latest["id"], cut=latest["data_cut"],
                                         kind=enum_name("ew_model", latest["model_kind"], lang), n=len(wl["data"]))
    cols = [(t("ew_rank", lang), "int"), (t("reference", lang), "code"), (t("ew_pd", lang), "pct"),
            (t("ew_pd_change", lang), "text"), (t("ew_rank_change", lang), "text"), (t("ew_alert", lang), "text"),
            (t("ew_drivers", lang), "text")]
    rows = [
        [r["rank"], r["reference"], r["pd"], fmt_pp_lang(r["pd_change"], lang), _rank_change(r["rank_change"], lang),
         ("● " + t("ew_new", lang)) if r["new_alert"] else _yes(r["alert"]), _drivers(r["drivers"], lang)]
        for r in wl["data"]
    ]
    return [html.Div(stats, style=STAT_ROW), html.Div(line, className="hint"),
            data_table("bk-table-watchlist", cols, rows, lang)]


def _scenario_name(run: dict[str, Any], lang: str) -> str:
    stored = (run.get("result") or {}).get("scenario")
    if lang != "en" and isinstance(stored, dict) and stored.get("label_zh"):
        return str(stored["label_zh"])
    if lang != "en" and run["scenario"] not in ("custom", "monte_carlo"):
        zh = data.stress_scenario_labels().get(run["scenario"])
        if zh:
            return zh
    return enum_name("stress_scenario", run["scenario"], lang)


def stress_block(viewer: Any, lang: str) -> list[Any]:
    """The latest stress run: scenario, breaches before and after, margin calls, provision and expected-loss change."""
    run = data.latest_stress_run(viewer)
    if run is None or not run.get("result"):
        return [html.Div(_with_code(t("st_none", lang),
                                    cmd=f"ipfin stress --org-id {viewer.org.id} --scenario sector_downturn",
                                    api="POST /api/v1/stress-runs"), className="empty-state", id="bk-st-none")]
    res = run["result"]
    if "total" not in res:  # Monte Carlo: distributions of the totals
        mc, el = res["margin_call"], res["expected_loss"]
        line = t("st_mc_line", lang).format(id=run["id"], paths=fmt_count(res["paths"]), cut=run["data_cut"])
        stats = [
            _stat("bk-st-margin", t("st_mc_margin_call", lang), fmt_amount(mc["mean_fen"], lang), mc["mean_fen"]),
            _stat("bk-st-el", t("st_mc_el", lang), fmt_amount(el["mean_fen"], lang), el["mean_fen"]),
            _stat("bk-st-breaches", t("st_mean_breaches", lang), f"{res['mean_breaches']:,.1f}", res["mean_breaches"]),
        ]
        return [html.Div(line, className="hint"), html.Div(stats, style=STAT_ROW)]
    tot = res["total"]
    line = t("st_run_line", lang).format(id=run["id"], scenario=_scenario_name(run, lang), cut=run["data_cut"],
                                         n=fmt_count(tot["n_loans"]), balance=fmt_amount(tot["balance_fen"], lang))
    stats = [
        _stat("bk-st-breaches", t("st_breaches", lang),
              f"{fmt_count(tot['n_breach_before'])} → {fmt_count(tot['n_breach_after'])}",
              f"{tot['n_breach_before']}/{tot['n_breach_after']}"),
        _stat("bk-st-margin", t("st_margin_call", lang), fmt_amount(tot["margin_call_fen"], lang),
              tot["margin_call_fen"]),
        _stat("bk-st-provision", t("st_provision_change", lang), fmt_amount(tot["provision_change_fen"], lang),
              tot["provision_change_fen"]),
        _stat("bk-st-el", t("st_el_change", lang), fmt_amount(tot["expected_loss_change_fen"], lang),
              tot["expected_loss_change_fen"]),
    ]
    return [html.Div(line, className="hint"), html.Div(stats, style=STAT_ROW)]


def provisions_block(viewer: Any, as_of: date, lang: str) -> list[Any]:
    """Count, outstanding, rate and provision per five-class category; totals, general reserve and coverage."""
    pv = data.provisions(viewer, as_of)
    cols = [(t("pv_class", lang), "text"), (t("loan_count", lang), "int"), (t("outstanding", lang), "fen"),
            (t("pv_rate", lang), "pct"), (t("pv_provision", lang), "fen")]
    rows: list[list[Any]] = [
        [enum_name("loan_class", c["loan_class"], lang), c["count"], c["outstanding_fen"], float(c["rate"]),
         c["provision_fen"]] for c in pv["classes"]
    ]
    rows.append([t("pv_total", lang), sum(c["count"] for c in pv["classes"]), pv["outstanding_fen"], None,
                 pv["specific_provision_fen"]])
    cov = pv["provision_coverage"]
    stats = [
        _stat("bk-pv-specific", t("pv_specific", lang), fmt_amount(pv["specific_provision_fen"], lang),
              pv["specific_provision_fen"]),
        _stat("bk-pv-general", t("pv_general", lang), fmt_amount(pv["general_reserve_fen"], lang),
              pv["general_reserve_fen"]),
        _stat("bk-pv-npl", t("pv_npl", lang), fmt_amount(pv["npl_fen"], lang), pv["npl_fen"]),
        _stat("bk-pv-coverage", t("pv_coverage", lang), fmt_pct(None if cov is None else float(cov)),
              "" if cov is None else str(cov), t("def_pv_coverage", lang)),
    ]
    return [html.Div(stats, style=STAT_ROW), data_table("bk-table-provisions", cols, rows, lang)]


@callback(
    Output("bk-watchlist", "children"),
    Output("bk-stress", "children"),
    Output("bk-provisions", "children"),
    Input("bk-asof", "date"),
)
def update_risk(as_of_value: Any) -> Any:
    """The watchlist, the latest stress run and provisions at the as-of date, for the signed-in organisation."""
    viewer = data.current_viewer()
    if viewer is None or not viewer.may_see(PAGE):
        raise PreventUpdate
    lang = data.current_lang()
    return (watchlist_block(viewer, lang), stress_block(viewer, lang),
            provisions_block(viewer, _as_of(as_of_value), lang))
