"""Build ``regions.csv`` and ``region_changes.csv`` from the Ministry of Civil Affairs code list.

Source: the CC0-licensed ``yescallop/areacodes`` data set, which transcribes the Ministry of Civil
Affairs (民政部) list "中华人民共和国县以上行政区划代码" for every year since 1981 and records how
retired codes map to new ones (``result.csv``), citing the State Council / provincial notices.

How it was run (build time only; ``pypinyin`` is not a runtime dependency of ipfin)::

    git clone https://github.com/yescallop/areacodes /tmp/areacodes   # commit eed219a0678d (2025-11-04)
    pip install pypinyin==0.55.0
    python ipfin/data/build_regions.py /tmp/areacodes

It writes ``ipfin/data/regions.csv`` (every code in use at 2024-12-31, the 2024 edition, plus the
GB/T 2260-2007 municipal placeholders 110100/120100/310100/500100/500200) and
``ipfin/data/region_changes.csv`` (codes retired 2010-2024 → their current successors).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

EDITION = 2024
CHANGES_SINCE = 2010
HERE = Path(__file__).resolve().parent

# English names already used by ipfin (reference.py before this data set existed) and the
# conventional English forms of the provincial units; everything else is generated with pypinyin.
EN_OVERRIDES: dict[str, str] = {
    "110000": "Beijing", "120000": "Tianjin", "130000": "Hebei", "140000": "Shanxi",
    "150000": "Inner Mongolia", "210000": "Liaoning", "220000": "Jilin", "230000": "Heilongjiang",
    "310000": "Shanghai", "320000": "Jiangsu", "330000": "Zhejiang", "340000": "Anhui", "350000": "Fujian",
    "360000": "Jiangxi", "370000": "Shandong", "410000": "Henan", "420000": "Hubei", "430000": "Hunan",
    "440000": "Guangdong", "450000": "Guangxi", "460000": "Hainan", "500000": "Chongqing",
    "510000": "Sichuan", "520000": "Guizhou", "530000": "Yunnan", "540000": "Tibet", "610000": "Shaanxi",
    "620000": "Gansu", "630000": "Qinghai", "640000": "Ningxia", "650000": "Xinjiang", "710000": "Taiwan",
    "810000": "Hong Kong", "820000": "Macao",
    "110100": "Beijing", "120100": "Tianjin", "310100": "Shanghai", "500100": "Chongqing",
    "500200": "Chongqing (counties)",
    "150100": "Hohhot", "540100": "Lhasa", "610100": "Xi'an", "650100": "Urumqi",
}

# GB/T 2260-2007 prefecture-level placeholders of the municipalities (市辖区 / 县), which the
# Ministry's online list no longer prints; ipfin has used them as the municipalities' city level.
PLACEHOLDERS: dict[str, tuple[str, str]] = {
    "110100": ("北京市辖区", "110000"),
    "120100": ("天津市辖区", "120000"),
    "310100": ("上海市辖区", "310000"),
    "500100": ("重庆市辖区", "500000"),
    "500200": ("重庆市辖县", "500000"),
}

COUNTY_KINDS = [  # (suffix, kind, English type word); the first suffix that matches wins
    ("自治县", "自治县", "Autonomous County"), ("自治旗", "自治旗", "Autonomous Banner"),
    ("新区", "市辖区", "New Area"), ("区", "市辖区", "District"), ("县", "县", "County"),
    ("市", "县级市", "City"), ("旗", "旗", "Banner"),
]
CITY_KINDS = [("自治州", "自治州", "Autonomous Prefecture"), ("地区", "地区", "Prefecture"),
              ("盟", "盟", "League"), ("市", "地级市", "")]
PROVINCE_KINDS = [("特别行政区", "特别行政区", ""), ("自治区", "自治区", ""), ("省", "省", ""), ("市", "直辖市", "")]


def level_of(code: str) -> str:
    return "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"


def pinyin(stem: str) -> str:
    from pypinyin import lazy_pinyin

    out = ""
    for i, syl in enumerate(lazy_pinyin(stem)):
        out += ("'" if i and syl[:1] in "aoe" else "") + syl
    return out[:1].upper() + out[1:]


# the only 林区 and 特区 (万柏林区, 碑林区, 北林区, 金林区 are ordinary 市辖区 whose names end in 林区)
SPECIAL_COUNTIES = {"429021": ("林区", "Shennongjia Forestry District"), "520203": ("特区", "Liuzhi Special District")}


def kind_and_english(code: str, name: str) -> tuple[str, str]:
    if code in SPECIAL_COUNTIES:
        return SPECIAL_COUNTIES[code]
    table = {"province": PROVINCE_KINDS, "city": CITY_KINDS, "county": COUNTY_KINDS}[level_of(code)]
    for suffix, kind, word in table:
        if name.endswith(suffix) and len(name) > len(suffix):
            en = EN_OVERRIDES.get(code) or " ".join(x for x in (pinyin(name[: -len(suffix)]), word) if x)
            return kind, en
    raise ValueError(f"no administrative type for {code} {name}")


def read_edition(root: Path) -> dict[str, str]:
    text = (root / "data" / f"{EDITION}.txt").read_text(encoding="utf-8-sig")
    return dict(line.split(" ", 1) for line in text.splitlines() if line.strip())


def read_history(root: Path) -> list[dict[str, str]]:
    with (root / "result.csv").open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def parent_of(code: str, codes: set[str]) -> str:
    if level_of(code) == "province":
        return ""
    if level_of(code) == "county" and code[:4] + "00" in codes:
        return code[:4] + "00"
    if code[:2] == "50" and level_of(code) == "county":  # Chongqing: 5001xx districts, 5002xx counties
        return code[:4] + "00"
    return code[:2] + "0000"


def build_regions(root: Path) -> list[dict[str, str]]:
    current = read_edition(root)
    since = {r["代码"]: r["启用时间"] for r in read_history(root) if r["状态"] == "在用"}
    codes = set(current) | set(PLACEHOLDERS)
    rows = []
    for code in sorted(codes):
        if code in PLACEHOLDERS:
            name, _ = PLACEHOLDERS[code]
            kind, source, valid_from = "市辖区" if code != "500200" else "县", "GB/T 2260-2007", "2007"
            en = EN_OVERRIDES[code]
        else:
            name = current[code]
            kind, en = kind_and_english(code, name)
            source, valid_from = f"MCA {EDITION}", since[code]
        rows.append({
            "code": code, "name_zh": name, "name_en": en, "level": level_of(code),
            "parent": parent_of(code, codes), "kind": kind, "status": "current",
            "valid_from": valid_from, "source": source,
            "outside_mainland": "1" if code[:2] in ("71", "81", "82") else "0",
        })
    return rows


def _successors(field: str) -> list[str]:
    """Codes in a 新代码 field that took over at the change itself (``[year]`` marks older area moves)."""
    return [c for c in field.split(";") if c and "[" not in c]


def build_changes(root: Path, current: set[str], names: dict[str, str]) -> list[dict[str, str]]:
    history = read_history(root)
    by_code: dict[str, list[dict[str, str]]] = {}
    for r in history:
        by_code.setdefault(r["代码"], []).append(r)

    def row_at(code: str, year: int) -> dict[str, str] | None:
        for r in by_code.get(code, []):
            start, end = int(r["启用时间"]), r["变更/弃用时间"]
            if start <= year and (not end or int(end) > year):
                return r
        return None

    def resolve(r: dict[str, str], depth: int = 0) -> list[str]:
        if r["状态"] == "在用":
            return [r["代码"]]
        if depth > 10:
            raise RuntimeError(f"successor chain too long at {r['代码']}")
        year = int(r["变更/弃用时间"])
        succ = _successors(r["新代码"])
        if not succ and level_of(r["代码"]) != "county":  # retired prefecture: where did its counties go?
            kids = [k for k in history if k["代码"][:4] == r["代码"][:4] and k["代码"] != r["代码"]
                    and k["变更/弃用时间"] == r["变更/弃用时间"]]
            found = {c for k in kids for c in resolve(k, depth + 1)}
            cities = {c if level_of(c) != "county" else (c[:4] + "00" if c[:4] + "00" in current else c)
                      for c in found}
            return sorted(cities)
        out: list[str] = []
        for s in succ:
            nxt = row_at(s, year)
            if nxt is None:
                raise RuntimeError(f"{r['代码']} → {s}: no record in use in {year}")
            out += [c for c in resolve(nxt, depth + 1) if c not in out]
        return out

    rows = []
    for r in history:
        end = r["变更/弃用时间"]
        if r["状态"] != "弃用" or not end or int(end) < CHANGES_SINCE or r["代码"] in current:
            continue
        new = resolve(r)
        if not new:
            continue
        principal = ""
        if len(new) == 1:
            principal = new[0]
        else:
            stem = r["名称"][:-1]
            same = [c for c in new if names[c][:-1] == stem]
            principal = same[0] if len(same) == 1 else ""
        note = ("single successor" if len(new) == 1 else "split; principal successor by name" if principal
                else "split; no principal successor")
        rows.append({"old_code": r["代码"], "old_name": r["名称"], "changed_in": end,
                     "new_codes": ";".join(new), "current_code": principal, "note": note})
    rows.sort(key=lambda x: (x["old_code"], x["changed_in"]))
    # a code retired twice in the window (reused then retired again) keeps only its latest retirement
    latest: dict[str, dict[str, str]] = {}
    for x in rows:
        latest[x["old_code"]] = x
    return list(latest.values())


def main(root: Path) -> None:
    regions = build_regions(root)
    with (HERE / "regions.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(regions[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(regions)
    current = {r["code"] for r in regions}
    names = {r["code"]: r["name_zh"] for r in regions}
    changes = build_changes(root, current, names)
    with (HERE / "region_changes.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(changes[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(changes)
    print(f"{len(regions)} regions, {len(changes)} retired codes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
