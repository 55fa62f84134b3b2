"""Pure figure builders: plain data in (rows from :mod:`api.stats`), Plotly figures out.

No database, no request: every builder is a function of its arguments, so the unit tests
check each trace's points against hand-computed values. Amounts are plotted in the
language's display unit (万元/亿元 or CNY millions) converted exactly from fen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from dashboard.i18n import amount_unit, bucket_label, in_unit, name, t

FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, Arial, sans-serif"
BLUE = "#1f5fa8"
ORANGE = "#d9730d"
GREY = "#9aa8b8"
NAVY = "#0b2545"
# one categorical palette for every page (blue first; distinguishable in print and for most colour-blind readers)
PALETTE = ["#1f5fa8", "#d9730d", "#2a9d8f", "#8e5bb5", "#c0392b", "#6b8e23", "#7f8c8d", "#e9c46a"]


def _layout(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15, "color": NAVY}},
        template="plotly_white",
        font={"family": FONT, "size": 12, "color": "#1d2733"},
        colorway=PALETTE,
        margin={"l": 60, "r": 20, "t": 48 if title else 16, "b": 40},
        height=height,
        legend={"orientation": "h", "y": -0.18},
        hoverlabel={"font": {"family": FONT}},
    )
    return fig


def style(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    """The dashboard's one theme (font, palette, margins) applied to a figure built elsewhere."""
    return _layout(fig, title, height)


def empty_figure(message: str, title: str = "") -> go.Figure:
    """A figure with no traces and a centred message (a real empty state, not zeros)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, height=260)


def _get(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, dict) else getattr(row, key)


def _next_year(period: str) -> str:
    """'2024-03' → '2025-03', '2024Q2' → '2025Q2', '2024' → '2025' (a year-ago period's counterpart)."""
    return f"{int(period[:4]) + 1}{period[4:]}" if period[:4].isdigit() else period


def timeseries_figure(
    points: Sequence[Any], lang: str, title: str | None = None, year_ago: Sequence[Any] = ()
) -> go.Figure:
    """Financing amount per period (bars), number of loans (line, right axis) and, if given, the
    same periods a year earlier (grey bars beside, 同比).

    ``points`` have ``period``, ``amount_fen`` and ``loan_count``; one bar and one line point each.
    ``year_ago`` points are matched to this period's by shifting their period one year on.
    """
    title = title if title is not None else t("timeseries", lang)
    if not points:
        return empty_figure(t("no_data", lang), title)
    earlier = {_next_year(_get(p, "period")): _get(p, "amount_fen") for p in year_ago}
    biggest = max([abs(_get(p, "amount_fen")) for p in points] + [abs(v) for v in earlier.values()])
    divisor, unit = amount_unit(biggest, lang)
    x = [_get(p, "period") for p in points]
    fig = go.Figure()
    fig.add_bar(
        x=x, y=[float(in_unit(_get(p, "amount_fen"), divisor)) for p in points],
        name=f"{t('financing_amount', lang)} ({unit})", marker_color=BLUE,
    )
    fig.add_scatter(
        x=x, y=[_get(p, "loan_count") for p in points], name=t("loan_count", lang), yaxis="y2",
        mode="lines+markers", line={"color": ORANGE},
    )
    if year_ago:
        fig.add_bar(
            x=x, y=[float(in_unit(earlier.get(p, 0), divisor)) for p in x],
            name=f"{t('year_ago_series', lang)} ({unit})", marker_color=GREY,
        )
    fig.update_layout(
        yaxis={"title": {"text": unit}},
        yaxis2={"title": {"text": t("loan_count", lang)}, "overlaying": "y", "side": "right", "showgrid": False,
                "rangemode": "tozero", "tickformat": ",d",
                # whole loans only: a small count gets a tick per loan instead of repeated rounded ticks
                "dtick": 1 if max(_get(p, "loan_count") for p in points) <= 8 else None},
        xaxis={"type": "category"},
    )
    return _layout(fig, title)


def ranked_bar_figure(rows: Sequence[Any], lang: str, title: str, value: str = "amount_fen") -> go.Figure:
    """Horizontal bars ranked by ``value`` (largest on top); the category is the row's name.

    ``customdata`` carries each row's key so a click can drill down (province → city).
    """
    if not rows:
        return empty_figure(t("no_data", lang), title)
    ordered = sorted(rows, key=lambda r: (_get(r, value), _get(r, "key")))  # ascending: plotly draws bottom-up
    names = [name((_get(r, "name_zh"), _get(r, "name_en")), lang) for r in ordered]
    if value.endswith("_fen"):
        divisor, unit = amount_unit(max(abs(_get(r, value)) for r in ordered), lang)
        ys = [float(in_unit(_get(r, value), divisor)) for r in ordered]
        axis = unit
    else:
        ys = [_get(r, value) for r in ordered]
        axis = t("loan_count", lang)
    fig = go.Figure(
        go.Bar(
            x=ys, y=names, orientation="h", marker_color=BLUE, customdata=[_get(r, "key") for r in ordered],
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    fig.update_layout(xaxis={"title": {"text": axis}}, yaxis={"type": "category"})
    return _layout(fig, title, height=max(260, 60 + 22 * len(ordered)))


def share_figure(rows: Sequence[Any], lang: str, title: str, value: str = "amount_fen") -> go.Figure:
    """A donut of each group's share of ``value`` (e.g. financing by IP type)."""
    if not rows or sum(_get(r, value) for r in rows) <= 0:
        return empty_figure(t("no_data", lang), title)
    fig = go.Figure(
        go.Pie(
            labels=[name((_get(r, "name_zh"), _get(r, "name_en")), lang) for r in rows],
            values=[_get(r, value) for r in rows],
            hole=0.45, sort=False, customdata=[_get(r, "key") for r in rows],
        )
    )
    return _layout(fig, title)


def bucket_figure(buckets: Sequence[Any], lang: str, title: str, value: str = "loan_count") -> go.Figure:
    """Vertical bars, one per bucket in the given order (distribution of value, LTV, DPD)."""
    if not buckets or all(_get(b, value) == 0 for b in buckets):
        return empty_figure(t("no_data", lang), title)
    x = [bucket_label(str(_get(b, "label")), lang) for b in buckets]
    if value.endswith("_fen"):
        divisor, unit = amount_unit(max(abs(_get(b, value)) for b in buckets), lang)
        ys = [float(in_unit(_get(b, value), divisor)) for b in buckets]
        axis = unit
    else:
        ys = [_get(b, value) for b in buckets]
        axis = t("count", lang)
    fig = go.Figure(go.Bar(x=x, y=ys, marker_color=BLUE))
    fig.update_layout(xaxis={"type": "category"}, yaxis={"title": {"text": axis}})
    return _layout(fig, title)


def stacked_bar_figure(
    categories: Sequence[str], series: Mapping[str, Sequence[int]], lang: str, title: str, money: bool = True,
    barmode: str = "stack",
) -> go.Figure:
    """Stacked (or ``barmode="group"``) bars: one trace per series (e.g. payouts per party, cash flow
    per tranche), fen in."""
    if not categories or not series:
        return empty_figure(t("no_data", lang), title)
    fig = go.Figure()
    if money:
        divisor, unit = amount_unit(max((abs(v) for vs in series.values() for v in vs), default=0), lang)
    for label, values in series.items():
        ys = [float(in_unit(v, divisor)) for v in values] if money else list(values)
        fig.add_bar(x=list(categories), y=ys, name=label)
    fig.update_layout(barmode=barmode, xaxis={"type": "category"}, yaxis={"title": {"text": unit if money else ""}})
    return _layout(fig, title)


def histogram_figure(values: Sequence[float], lang: str, title: str, x_title: str = "") -> go.Figure:
    """Distribution of simulated values (e.g. a Monte Carlo valuation or pool losses)."""
    if not values:
        return empty_figure(t("no_data", lang), title)
    fig = go.Figure(go.Histogram(x=list(values), nbinsx=40, marker_color=BLUE))
    fig.update_layout(xaxis={"title": {"text": x_title}}, yaxis={"title": {"text": t("count", lang)}})
    return _layout(fig, title)


def tornado_figure(rows: Sequence[tuple[str, float, float]], base: float, lang: str, title: str) -> go.Figure:
    """Sensitivity tornado: (driver, value at low input, value at high input) around ``base``.

    Bars are sorted by swing, widest on top; each bar spans from base to the low/high result.
    """
    if not rows:
        return empty_figure(t("no_data", lang), title)
    ordered = sorted(rows, key=lambda r: abs(r[2] - r[1]))
    labels = [r[0] for r in ordered]
    fig = go.Figure()
    fig.add_bar(y=labels, x=[r[1] - base for r in ordered], base=base, orientation="h", name=t("low_input", lang),
                marker_color=ORANGE)
    fig.add_bar(y=labels, x=[r[2] - base for r in ordered], base=base, orientation="h", name=t("high_input", lang),
                marker_color=BLUE)
    fig.update_layout(barmode="overlay", yaxis={"type": "category"})
    return _layout(fig, title)


def binned_distribution_figure(edges_fen: Sequence[int], counts: Sequence[int], lang: str, title: str) -> go.Figure:
    """A pre-binned distribution (e.g. a stored Monte Carlo valuation): one bar per bin at its
    midpoint, width = bin width, amounts in the display unit."""
    if not counts or len(edges_fen) != len(counts) + 1:
        return empty_figure(t("no_data", lang), title)
    divisor, unit = amount_unit(max(abs(e) for e in edges_fen), lang)
    lo = [float(in_unit(e, divisor)) for e in edges_fen[:-1]]
    hi = [float(in_unit(e, divisor)) for e in edges_fen[1:]]
    fig = go.Figure(
        go.Bar(x=[(a + b) / 2 for a, b in zip(lo, hi, strict=True)], y=list(counts),
               width=[b - a for a, b in zip(lo, hi, strict=True)], marker_color=BLUE)
    )
    fig.update_layout(xaxis={"title": {"text": unit}}, yaxis={"title": {"text": t("count", lang)}}, bargap=0)
    return _layout(fig, title)


def tornado_fen_figure(rows: Sequence[tuple[str, int, int]], base_fen: int, lang: str, title: str) -> go.Figure:
    """Tornado with values in fen: (input, value at low input, value at high input)."""
    if not rows:
        return empty_figure(t("no_data", lang), title)
    divisor, unit = amount_unit(max(abs(v) for r in rows for v in r[1:]), lang)
    fig = tornado_figure(
        [(r[0], float(in_unit(r[1], divisor)), float(in_unit(r[2], divisor))) for r in rows],
        float(in_unit(base_fen, divisor)), lang, title,
    )
    fig.update_layout(xaxis={"title": {"text": unit}})
    return fig
