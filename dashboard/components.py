"""Small layout helpers shared by the pages: KPI cards, tables with CSV/Excel export, empty states.

A table is described by columns ``(header, kind)`` and rows of raw values; ``kind`` says how
to show a value (``fen`` in 万元/亿元 or CNY millions, ``int``, ``pct``, ``date``, ``text``; ``name``
and ``code`` are user data such as names and identifiers, shown as entered)
and how to export it (``fen`` exported as exact CNY with two decimals).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from dash import ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import data
from dashboard.i18n import (
    amount_unit,
    cny_exact,
    fmt_amount,
    fmt_change_lang,
    fmt_count,
    fmt_date,
    fmt_pct,
    fmt_pp_lang,
    in_unit,
    t,
)

Column = tuple[str, str]  # (header, kind)
USER_TEXT = ("name", "code")
"""Column kinds shown exactly as entered (names, identifiers): marked ``user-text`` so a language
check can tell data from the interface's own words."""

CARD_STYLE: dict[str, str] = {}  # the look is in assets/theme.css (class "kpi")
ROW_STYLE = {"display": "flex", "gap": "12px", "flexWrap": "wrap", "marginBottom": "16px"}


def _change_line(text: str, lower_is_better: bool = False) -> html.Div:
    """One comparison line of a KPI card, green when better and red when worse (▲ up, ▼ down: the
    arrow carries the direction too, so colour is never the only cue)."""
    up, down = ("▲" in text), ("▼" in text)
    if lower_is_better:
        up, down = down, up
    tone = "good" if up else "bad" if down else "flat"
    return html.Div(text, className=f"kpi-change kpi-{tone}")


def kpi_card(
    card_id: str, label: str, value_text: str, raw_value: Any, change_text: str | None = None,
    *, changes: Sequence[str] = (), definition: str | None = None, lower_is_better: bool = False,
) -> html.Div:
    """A KPI card; ``data-value`` holds the exact figure (fen or count) for tests and screen readers,
    ``changes`` are comparison lines (同比, 环比) and ``definition`` the tooltip saying how it is defined."""
    head: list[Any] = [label]
    if definition:
        head.append(html.Span("ⓘ", className="kpi-info", **{"aria-hidden": "true"}))  # type: ignore[arg-type]
    children: list[Any] = [
        html.Div(head, className="kpi-label"),
        html.Div(value_text, className="kpi-value"),
    ]
    lines = [*([change_text] if change_text is not None else []), *changes]
    children += [_change_line(c, lower_is_better) for c in lines]
    attrs: dict[str, Any] = {"data-value": str(raw_value)}
    if definition:
        attrs["title"] = definition
        attrs["aria-description"] = definition
    return html.Div(children, id=card_id, className="kpi", **attrs)


def overview_kpi_cards(view: dict[str, Any], lang: str) -> list[html.Div]:
    """The overview's headline cards from :func:`api.stats.kpis.bureau_overview`: financing, loans,
    enterprises, inclusive share and NPL ratio (each with 同比 and 环比), then pledge registrations
    and their amount (同比, 环比), compensation paid, the vintage default rate and — for bureaus,
    funds and the platform — programme budgets used; each with its definition as a tooltip."""
    cur, prev, yoy = view["current"], view["previous"], view["year_ago"]

    def lines(rel: dict[str, Any], rel_yoy: dict[str, Any], key: str) -> list[str]:
        return [f"{t('vs_year_ago', lang)} {fmt_change_lang(rel_yoy.get(key), lang)}",
                f"{t('vs_previous', lang)} {fmt_change_lang(rel.get(key), lang)}"]

    def chg(key: str) -> list[str]:
        return lines(view["change"], view["change_yoy"], key)

    def pp(key: str) -> list[str]:
        def diff(other: dict[str, Any] | None) -> float | None:
            a, b = cur.get(key), (other or {}).get(key)
            return a - b if a is not None and b is not None else None

        return [f"{t('vs_year_ago', lang)} {fmt_pp_lang(diff(yoy), lang)}",
                f"{t('vs_previous', lang)} {fmt_pp_lang(diff(prev), lang)}"]

    def card(card_id: str, key: str, text: str, raw: Any, changes: list[str], def_key: str | None = None,
             compared: bool = True) -> html.Div:
        definition = data.definition(def_key or key, lang)
        if compared:
            definition += " " + data.definition("change", lang)
        return kpi_card(card_id, t(key, lang), text, raw, changes=changes, lower_is_better=key == "npl_ratio",
                        definition=definition)

    cards = [
        card("kpi-amount", "financing_amount", fmt_amount(cur["amount_fen"], lang), cur["amount_fen"],
             chg("amount_fen"), "amount_fen"),
        card("kpi-loans", "loan_count", fmt_count(cur["loan_count"]), cur["loan_count"], chg("loan_count")),
        card("kpi-enterprises", "enterprise_count", fmt_count(cur["enterprise_count"]), cur["enterprise_count"],
             chg("enterprise_count")),
        card("kpi-inclusive", "inclusive_share", fmt_pct(cur["inclusive_share"]),
             f"{cur['inclusive_count']}/{cur['loan_count']}", pp("inclusive_share")),
        card("kpi-npl", "npl_ratio", fmt_pct(cur["npl_ratio"], 2),
             f"{cur['npl_outstanding_fen']}/{cur['live_outstanding_fen']}", pp("npl_ratio")),
    ]
    return cards + _second_row_cards(view, lang, card, lines)


def _second_row_cards(view: dict[str, Any], lang: str, card: Any, lines: Any) -> list[html.Div]:
    """Registrations (count, amount), compensation paid, vintage default rate, programme budgets used."""
    out: list[html.Div] = []
    regs = view.get("registrations")
    if regs:
        r = regs["current"]
        rl = lines(regs["change"], regs["change_yoy"], "registration_count")
        al = lines(regs["change"], regs["change_yoy"], "registered_amount_fen")
        out += [
            card("kpi-registrations", "registration_count", fmt_count(r["registration_count"]),
                 r["registration_count"], [*rl, t("registered_loans", lang).format(n=fmt_count(r["loan_count"]))],
                 "registrations"),
            card("kpi-registered-amount", "registered_amount", fmt_amount(r["registered_amount_fen"], lang),
                 r["registered_amount_fen"],
                 [*al, t("pledged_value", lang).format(amount=fmt_amount(r["pledged_value_fen"], lang))],
                 "registrations"),
        ]
    comp = view.get("compensation_by_party") or []
    paid, recovered = sum(c["paid_fen"] for c in comp), sum(c["recovered_fen"] for c in comp)
    out.append(card("kpi-compensation", "compensation_total", fmt_amount(paid, lang), paid,
                    [t("compensation_net", lang).format(amount=fmt_amount(paid - recovered, lang)),
                     t("compensation_claims", lang).format(n=fmt_count(sum(c["claims"] for c in comp)))],
                    compared=False))
    v = view.get("vintage")
    if v:
        out.append(card("kpi-vintage", "vintage_default_rate", fmt_pct(v["default_rate"], 2),
                        f"{v['defaulted_amount_fen']}/{v['amount_fen']}",
                        [t("vintage_defaulted", lang).format(n=fmt_count(v["defaulted_count"]))], compared=False))
    b = view.get("programme_budgets")
    if b is not None:
        info = ([t("budget_used_of", lang).format(used=fmt_amount(b["used_fen"], lang),
                                                  budget=fmt_amount(b["budget_fen"], lang)),
                 t("budget_year", lang).format(year=b["year"], n=len(b["budgets"]))]
                if b["budget_fen"] else [t("budget_none", lang).format(year=b["year"])])
        out.append(card("kpi-budget", "budget_used", fmt_pct(b["used_share"]), f"{b['used_fen']}/{b['budget_fen']}",
                        info, "programme_budgets", compared=False))
    return out


def display_value(value: Any, kind: str, lang: str) -> str:
    if value is None:
        return "—"
    if kind == "fen":
        return fmt_amount(int(value), lang)
    if kind == "int":
        return fmt_count(int(value))
    if kind == "pct":
        return fmt_pct(float(value))
    if kind == "date":
        return fmt_date(value if isinstance(value, date) else date.fromisoformat(str(value)))
    return str(value)


def export_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "fen":
        return Decimal(cny_exact(int(value)))  # exact CNY; CSV shows '28000000.50', Excel a number
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def export_headers(columns: Sequence[Column], lang: str = "en") -> list[str]:
    """Header row of an export; money columns name their unit: '(CNY)' or '（元）'."""
    unit = " (CNY)" if lang == "en" else "（元）"
    return [f"{h}{unit}" if k == "fen" else h for h, k in columns]


def export_rows(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [[export_value(v, k) for v, (_, k) in zip(r, columns, strict=True)] for r in rows]


def data_table(
    table_id: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]], lang: str, max_rows: int = 100
) -> html.Div:
    """An HTML table (first ``max_rows`` rows shown; exports always contain every row).

    Money columns use one unit per column (chosen from the column's largest value), named in
    the header, so figures in a column compare at a glance.
    """
    if not rows:
        return html.Div(t("no_data", lang), className="empty-state", id=table_id)
    units: list[tuple[int, str] | None] = [
        amount_unit(max(abs(int(r[i] or 0)) for r in rows), lang) if k == "fen" else None
        for i, (_, k) in enumerate(columns)
    ]

    def cell(v: Any, kind: str, unit: tuple[int, str] | None) -> str:
        if kind == "fen" and unit is not None and v is not None:
            return f"{in_unit(int(v), unit[0]):,.2f}"
        return display_value(v, kind, lang)

    def align(kind: str) -> dict[str, str]:
        return {"textAlign": "left" if kind in ("text", "date", "name", "code") else "right"}

    head = html.Thead(
        html.Tr(
            [html.Th(f"{h} ({u[1]})" if u else h, style=align(k)) for (h, k), u in zip(columns, units, strict=True)]
        )
    )
    body = html.Tbody(
        [
            html.Tr([html.Td(cell(v, k, u), style=align(k), className="user-text" if k in USER_TEXT else None)
                     for v, (_, k), u in zip(r, columns, units, strict=True)])
            for r in rows[:max_rows]
        ]
    )
    attrs: dict[str, Any] = {"data-rows": str(len(rows))}
    return html.Div(
        html.Table([head, body]), id=table_id, className="data-table", **attrs,
    )


def export_buttons(page: str, table: str, lang: str) -> html.Div:
    """CSV and Excel buttons wired to the page's pattern-matching export callback."""
    return html.Div(
        [
            html.Button(
                t(f"export_{fmt}", lang), id={"type": f"{page}-export", "table": table, "fmt": fmt},
                className="btn-export",
            )
            for fmt in ("csv", "xlsx")
        ],
        className="export-row",
    )


def section(title: str, *children: Any, section_id: str | None = None) -> html.Section:
    kw: dict[str, Any] = {"id": section_id} if section_id else {}
    return html.Section([html.H3(title, className="section-title"), *children], className="panel", **kw)


def empty_state(message: str, element_id: str | None = None) -> html.Div:
    kw: dict[str, Any] = {"id": element_id} if element_id else {}
    return html.Div(message, className="empty-state", **kw)


def graph(graph_id: str, figure: Any = None) -> dcc.Graph:
    """A Plotly graph without plotly branding; wrapped by the caller in :func:`loading` where a callback fills it."""
    config: dict[str, Any] = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
    return dcc.Graph(id=graph_id, figure=figure or {}, config=config)  # type: ignore[arg-type]


def loading(*children: Any) -> html.Div:
    """A loading state over a panel while its callback runs, so stale figures never pass for current ones.

    Pure CSS (``assets/theme.css``): Dash flags a component being updated with
    ``data-dash-is-loading``; the box then dims it and shows a spinner. (``dcc.Loading`` re-mounts
    its children on every update, which re-draws every Plotly graph and froze the page for seconds.)
    """
    return html.Div(list(children), className="loading-box")


def page_guard(page: str, prefix: str = "/dashboard/") -> tuple[Any, str, Any]:
    """(viewer, lang, blocker): ``blocker`` is a redirect to the login page or a 'not allowed'
    notice to return instead of the page, or None when the viewer may see ``page``."""
    from dashboard import data

    viewer = data.current_viewer()
    lang = data.current_lang()
    if viewer is None:
        target = prefix + ("" if page == "overview" else page)
        return None, lang, dcc.Location(id="login-redirect", href=f"{prefix}login?next={target}", refresh=True)
    if not viewer.may_see(page):
        return viewer, lang, empty_state(t("not_allowed", lang), element_id="not-allowed")
    return viewer, lang, None


def export_request(clicks: Any, page: str | None) -> tuple[data.Viewer, str, str, str]:
    """Viewer, language, table key and format of an export-button click.

    Raises ``PreventUpdate`` when nothing was clicked, there is no session, or (for ``page``) the
    viewer may not see that page, so every export callback checks the same things the same way.
    """
    trig = ctx.triggered_id
    if not trig or not any(clicks or []):
        raise PreventUpdate
    viewer = data.current_viewer()
    if viewer is None or (page is not None and not viewer.may_see(page)):
        raise PreventUpdate
    return viewer, data.current_lang(), trig["table"], trig["fmt"]
