"""China's administrative divisions (行政区划, GB/T 2260) down to county level.

Every code in use in the Ministry of Civil Affairs (民政部) list "中华人民共和国县以上行政区划代码",
2024 edition (as at 2024-12-31): 34 provincial units, 333 prefecture-level units and 2,846
county-level units, plus the GB/T 2260-2007 city-level placeholders of the municipalities
(110100 北京市辖区, 120100, 310100, 500100 重庆市辖区, 500200 重庆市辖县) that ipfin uses as their
city level. Codes retired since 2010 map to their current successors (``normalise``). Source,
licence and build steps: ``ipfin/data/README.md``.

The tables load on first use (about 3,200 rows) and are kept in dicts; every lookup is O(1).

Examples
--------
>>> region("310115").name_zh
'浦东新区'
>>> [r.code for r in ancestors("310115")]
['310000', '310100']
>>> is_within("440305", "440000"), is_within("440305", "310000")
(True, False)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

Level = Literal["province", "city", "county"]
LEVELS: tuple[Level, ...] = ("province", "city", "county")
DATA_DIR = Path(__file__).resolve().parent / "data"
EDITION = "MCA 2024 (中华人民共和国县以上行政区划代码, as at 2024-12-31)"

# administrative-type suffixes, longest first, used by ``search`` to match a bare place name
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "市辖区", "市辖县", "新区", "林区", "特区",
             "地区", "省", "市", "区", "县", "旗", "盟")


@dataclass(frozen=True, slots=True)
class Region:
    """One administrative division.

    ``level`` is province (省级), city (地级, also the municipalities' 市辖区 placeholders) or county
    (县级); ``parent`` is None for a province. ``kind`` is the Chinese type (省, 地级市, 自治州,
    市辖区, 县级市, 县, 旗, ...). ``outside_mainland`` flags Taiwan (71), Hong Kong (81), Macao (82).
    """

    code: str
    name_zh: str
    name_en: str
    level: Level
    parent: str | None
    kind: str = ""
    outside_mainland: bool = False


@dataclass(frozen=True, slots=True)
class RegionChange:
    """A code retired since 2010 (撤销/更名/代码变更) and the current codes that took its area.

    ``current_code`` is the principal successor (the only one, or the one with the same name
    stem after a split); None when the area was split with no principal successor.
    """

    old_code: str
    old_name: str
    changed_in: int
    new_codes: tuple[str, ...]
    current_code: str | None


@dataclass(frozen=True)
class _Tables:
    by_code: dict[str, Region]
    children: dict[str, tuple[Region, ...]]
    changes: dict[str, RegionChange]
    by_name: dict[str, tuple[Region, ...]]
    by_stem: dict[str, tuple[Region, ...]]


def _stem(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@cache
def _tables() -> _Tables:
    by_code: dict[str, Region] = {}
    with (DATA_DIR / "regions.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["status"] != "current":
                continue
            level = row["level"]
            if level not in LEVELS:
                raise ValueError(f"regions.csv: bad level {level!r} for {row['code']}")
            by_code[row["code"]] = Region(
                code=row["code"], name_zh=row["name_zh"], name_en=row["name_en"], level=level,  # type: ignore[arg-type]
                parent=row["parent"] or None, kind=row["kind"], outside_mainland=row["outside_mainland"] == "1",
            )
    kids: dict[str, list[Region]] = {}
    names: dict[str, list[Region]] = {}
    stems: dict[str, list[Region]] = {}
    for r in by_code.values():
        if r.parent is not None:
            kids.setdefault(r.parent, []).append(r)
        names.setdefault(r.name_zh, []).append(r)
        names.setdefault(r.name_en.casefold(), []).append(r)
        stems.setdefault(_stem(r.name_zh), []).append(r)
    changes: dict[str, RegionChange] = {}
    with (DATA_DIR / "region_changes.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            changes[row["old_code"]] = RegionChange(
                old_code=row["old_code"], old_name=row["old_name"], changed_in=int(row["changed_in"]),
                new_codes=tuple(row["new_codes"].split(";")), current_code=row["current_code"] or None,
            )
    return _Tables(
        by_code=by_code,
        children={k: tuple(v) for k, v in kids.items()},
        changes=changes,
        by_name={k: tuple(_ordered(v)) for k, v in names.items()},
        by_stem={k: tuple(_ordered(v)) for k, v in stems.items()},
    )


def _ordered(regions: list[Region]) -> list[Region]:
    return sorted(regions, key=lambda r: (LEVELS.index(r.level), r.code))


def all_regions(level: Level | None = None) -> tuple[Region, ...]:
    """Every current region (in code order), or only those of one level.

    Examples
    --------
    >>> len(all_regions("province"))
    34
    """
    regions = _tables().by_code.values()
    return tuple(r for r in regions if level is None or r.level == level)


def get(code: str) -> Region | None:
    """The current region with this 6-digit code, or None."""
    return _tables().by_code.get(code)


def region(code: str) -> Region:
    """The current region with this 6-digit code; ValueError (naming the successor) if unknown or retired.

    Examples
    --------
    >>> r = region("440112")
    >>> r.name_zh, r.level, r.parent
    ('黄埔区', 'county', '440100')
    """
    r = _tables().by_code.get(code)
    if r is not None:
        return r
    ch = _tables().changes.get(code)
    if ch is not None:
        raise ValueError(
            f"region code {code} ({ch.old_name}) was retired in {ch.changed_in}; "
            f"current code(s): {', '.join(ch.new_codes)}"
        )
    raise ValueError(f"unknown region code {code!r} (GB/T 2260)")


def is_current(code: str) -> bool:
    """True if the code is in use (MCA 2024 list or a municipal GB/T 2260-2007 placeholder)."""
    return code in _tables().by_code


def children(code: str) -> tuple[Region, ...]:
    """The regions directly below ``code`` (a province's cities and directly-administered counties; a city's counties).

    Examples
    --------
    >>> [r.name_zh for r in children("110000")]
    ['北京市辖区']
    >>> len(children("110100"))
    16
    """
    region(code)
    return _tables().children.get(code, ())


def ancestors(code: str) -> tuple[Region, ...]:
    """The regions above ``code``, province first (empty for a province)."""
    out: list[Region] = []
    parent = region(code).parent
    while parent is not None:
        p = _tables().by_code[parent]
        out.append(p)
        parent = p.parent
    return tuple(reversed(out))


def province_of(code: str) -> str:
    """The provincial code (xx0000) of a region; a retired code is first normalised.

    Examples
    --------
    >>> province_of("440305"), province_of("350402")
    ('440000', '350000')
    """
    r = region(normalise(code))
    return r.code if r.level == "province" else ancestors(r.code)[0].code


def city_of(code: str) -> str | None:
    """The city-level (地级) code containing a region, for drill-down and city statistics.

    A county-level unit administered directly by its province (省直辖县级行政单位, e.g. 419001 济源市,
    469002 琼海市, 659001 石河子市) is its own city; a province has none (None).

    Examples
    --------
    >>> city_of("440305"), city_of("440300"), city_of("419001"), city_of("440000")
    ('440300', '440300', '419001', None)
    """
    r = region(normalise(code))
    if r.level == "province":
        return None
    if r.level == "city":
        return r.code
    parent = _tables().by_code[r.parent] if r.parent else None
    return parent.code if parent is not None and parent.level == "city" else r.code


def change(code: str) -> RegionChange | None:
    """The recorded retirement of a code (since 2010), or None if it was not retired in that window."""
    return _tables().changes.get(code)


def normalise(code: str) -> str:
    """The current code for ``code``: itself if current, else its principal successor.

    Raises ValueError for an unknown code and for a code whose area was split with no principal
    successor (the message lists the candidates).

    Examples
    --------
    >>> normalise("350402")  # 梅列区, merged into 三元区 in 2021
    '350404'
    >>> normalise("542232")  # 错那县: 542232 → 540530 (2016) → 540581 错那市 (2023)
    '540581'
    """
    c = code.strip() if isinstance(code, str) else code
    if c in _tables().by_code:
        return c
    ch = _tables().changes.get(c)
    if ch is None:
        raise ValueError(f"unknown region code {c!r} (GB/T 2260)")
    if ch.current_code is None:
        raise ValueError(
            f"region code {c} ({ch.old_name}) was split in {ch.changed_in} between {', '.join(ch.new_codes)}; "
            "choose the current one"
        )
    return ch.current_code


@cache
def retired_within(scope_code: str) -> tuple[str, ...]:
    """Retired codes (since 2010) whose principal successor lies in ``scope_code`` (a city or county,
    or a province): the codes older records of that area may still carry. Split codes without a
    principal successor belong to no single area and are left out.

    Examples
    --------
    >>> "350402" in retired_within("350404"), "350402" in retired_within("350400")  # 梅列区 → 三元区
    (True, True)
    >>> "350402" in retired_within("350405")  # 沙县区
    False
    """
    s = normalise(scope_code)
    return tuple(sorted(ch.old_code for ch in _tables().changes.values()
                        if ch.current_code is not None and is_within(ch.current_code, s)))


def is_within(code: str, scope_code: str) -> bool:
    """True if region ``code`` lies in ``scope_code`` (a province, city or county; a region is within itself).

    Both codes are normalised first, so a bureau scoped to a province, a city or a county sees
    borrowers registered under a retired code of its area.

    Examples
    --------
    >>> is_within("310115", "310000"), is_within("310115", "310100"), is_within("310115", "310115")
    (True, True, True)
    >>> is_within("440305", "440100")
    False
    """
    c, s = normalise(code), normalise(scope_code)
    return c == s or any(a.code == s for a in ancestors(c))


def search(name: str, within: str | None = None) -> list[Region]:
    """Current regions matching a name, broadest level first.

    Exact Chinese or English name first (潮州市, "Chaozhou"); failing that the bare place name
    without its type suffix (浦东 → 浦东新区); failing that a retired name (梅列区 → 三元区);
    failing that any name containing the text. ``within`` restricts the result to one scope.

    Examples
    --------
    >>> [r.code for r in search("南山区")]
    ['230404', '440305']
    >>> [r.code for r in search("南山区", within="440000")]
    ['440305']
    >>> [r.code for r in search("浦东")]
    ['310115']
    """
    q = name.strip()
    if not q:
        return []
    t = _tables()
    found = list(t.by_name.get(q, ())) or list(t.by_name.get(q.casefold(), ()))
    if not found:
        found = list(t.by_stem.get(_stem(q), ()))
    if not found:
        olds = [ch.current_code for ch in t.changes.values() if ch.old_name == q and ch.current_code]
        found = _ordered([t.by_code[c] for c in dict.fromkeys(olds)])
    if not found:
        found = _ordered([r for r in t.by_code.values() if q in r.name_zh])
    if within is not None:
        found = [r for r in found if is_within(r.code, within)]
    return found
