"""China's administrative divisions (GB/T 2260, MCA 2024 list) as a specification of ipfin.regions.

Reference figures: 民政部《2023年民政事业发展统计公报》 — at the end of 2023, 34 provincial units
(23 省 incl. Taiwan, 5 自治区, 4 直辖市, 2 特别行政区), 333 prefecture-level units (293 地级市, 7 地区,
30 自治州, 3 盟) and 2,844 county-level units (977 市辖区, 397 县级市, 1,299 县, 117 自治县, 49 旗,
3 自治旗, 1 特区, 1 林区). During 2024 two counties were set up (和康县 653228, 和安县 653229, notices of the
Xinjiang government of 2024-12-27), so the 2024 list has 2,846 county-level units and 1,301 县.
"""

from __future__ import annotations

from collections import Counter

import pytest

from ipfin import regions
from ipfin.reference import PREFECTURES, PROVINCES, REGIONS
from ipfin.validation import check_region_code, province_of

# The codes ipfin's reference lists held before the full list (31 provinces, 47 prefectures).
PREVIOUS_PROVINCES = [
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000", "320000", "330000",
    "340000", "350000", "360000", "370000", "410000", "420000", "430000", "440000", "450000", "460000", "500000",
    "510000", "520000", "530000", "540000", "610000", "620000", "630000", "640000", "650000",
]
PREVIOUS_PREFECTURES = [
    "110100", "120100", "130100", "130200", "140100", "150100", "210100", "210200", "220100", "230100", "310100",
    "320100", "320200", "320400", "320500", "330100", "330200", "330300", "330700", "340100", "340200", "350100",
    "350200", "360100", "370100", "370200", "370700", "410100", "420100", "430100", "440100", "440300", "440600",
    "441900", "442000", "450100", "460100", "500100", "510100", "520100", "530100", "540100", "610100", "620100",
    "630100", "640100", "650100",
]


def _mca() -> list[regions.Region]:
    """The regions printed in the MCA list (without the GB/T 2260-2007 municipal placeholders)."""
    placeholders = {"110100", "120100", "310100", "500100", "500200"}
    return [r for r in regions.all_regions() if r.code not in placeholders]


@pytest.mark.parametrize(
    ("name", "scope", "code"),
    [
        ("浦东新区", None, "310115"),
        ("海淀区", None, "110108"),
        ("南山区", "440300", "440305"),  # 深圳市南山区 (there is also 230404 in 鹤岗市)
        ("黄埔区", None, "440112"),  # 广州市黄埔区 (上海's is 黄浦区 310101)
        ("潮州市", None, "445100"),
        ("汕头市", None, "440500"),
        ("湛江市", None, "440800"),
        ("吉安市", None, "360800"),
        ("漳州市", None, "350600"),
    ],
)
def test_the_districts_a_bureau_official_tried_resolve_and_validate(name: str, scope: str | None, code: str) -> None:
    found = regions.search(name, within=scope)
    assert [r.code for r in found] == [code]
    assert check_region_code(code) == code
    assert regions.region(code).name_zh == name
    assert code in REGIONS


def test_a_bare_place_name_finds_the_region() -> None:
    assert [r.code for r in regions.search("浦东")] == ["310115"]
    assert [r.code for r in regions.search("湛江")] == ["440800"]
    assert [r.code for r in regions.search("Chaozhou")] == ["445100"]
    assert regions.search("不存在的地方") == []


def test_level_counts_match_the_ministry_statistics() -> None:
    mca = _mca()
    by_level = Counter(r.level for r in mca)
    assert by_level == {"province": 34, "city": 333, "county": 2846}
    kinds = Counter(r.kind for r in mca)
    assert kinds["省"] == 23 and kinds["自治区"] == 5 and kinds["直辖市"] == 4 and kinds["特别行政区"] == 2
    assert (kinds["地级市"], kinds["地区"], kinds["自治州"], kinds["盟"]) == (293, 7, 30, 3)
    assert (kinds["市辖区"], kinds["县级市"], kinds["县"], kinds["自治县"]) == (977, 397, 1299 + 2, 117)
    assert (kinds["旗"], kinds["自治旗"], kinds["特区"], kinds["林区"]) == (49, 3, 1, 1)


def test_hong_kong_macao_and_taiwan_are_flagged_provincial_units() -> None:
    for code, name in (("710000", "台湾省"), ("810000", "香港特别行政区"), ("820000", "澳门特别行政区")):
        r = regions.region(code)
        assert (r.name_zh, r.level, r.outside_mainland) == (name, "province", True)
        assert check_region_code(code) == code
    assert sum(r.outside_mainland for r in regions.all_regions()) == 3


def test_every_city_sits_in_a_province_and_every_county_in_a_city_or_directly_in_a_province() -> None:
    for r in regions.all_regions():
        assert len(r.code) == 6 and r.code.isdigit()
        if r.level == "province":
            assert r.parent is None and r.code.endswith("0000")
            continue
        parent = regions.region(r.parent or "")
        assert parent.code[:2] == r.code[:2]
        if r.level == "city":
            assert parent.level == "province"
        elif parent.level == "city":
            assert parent.code[:4] == r.code[:4]
        else:  # 省直辖县级行政单位 carry 90 in digits 3-4 (济源 419001, 仙桃 429004, 琼海 469002, 石河子 659001)
            assert parent.level == "province" and r.code[2:4] == "90", r


def test_children_and_ancestors() -> None:
    assert len(regions.children("440000")) == 21  # 广东省: 21 prefecture-level cities
    assert {r.code for r in regions.children("500000")} == {"500100", "500200"}
    assert len(regions.children("500100")) == 26 and len(regions.children("500200")) == 12  # 重庆: 26 区, 12 县
    assert [r.code for r in regions.ancestors("440305")] == ["440000", "440300"]
    assert regions.ancestors("440000") == ()
    assert regions.children("810000") == ()


def test_province_and_city_of_a_region() -> None:
    assert regions.province_of("440305") == "440000" == province_of("440305")
    assert regions.city_of("440305") == "440300"
    assert regions.city_of("110108") == "110100"
    assert regions.city_of("469002") == "469002"  # 琼海市, administered directly by Hainan
    assert regions.city_of("440000") is None


def test_retired_codes_map_to_their_current_code() -> None:
    # 2021: 梅列区 and 三元区 merged into a new 三元区 (350404)
    assert regions.normalise("350402") == "350404"
    assert regions.province_of("350402") == "350000"
    # 错那县: 542232 → 540530 (山南地区 became 山南市, 2016) → 错那市 540581 (2023)
    assert regions.normalise("542232") == "540581"
    # 莱芜市 merged into 济南市
    assert regions.normalise("371200") == "370100"
    with pytest.raises(ValueError, match=r"retired in 2021.*350404"):
        check_region_code("350402")
    # 江干区 was split between 上城区 and 钱塘区 in 2021: no single successor
    with pytest.raises(ValueError, match="330102, 330114"):
        regions.normalise("330104")


def test_is_within_a_province_a_city_or_a_county_scope() -> None:
    assert regions.is_within("440305", "440000")
    assert regions.is_within("440305", "440300")
    assert regions.is_within("440305", "440305")
    assert not regions.is_within("440305", "440100")
    assert not regions.is_within("440305", "310000")
    assert regions.is_within("419001", "410000")
    assert regions.is_within("350402", "350400")  # a retired code is normalised first


def test_codes_ipfin_used_before_stay_valid_with_the_same_names() -> None:
    assert list(PROVINCES) == PREVIOUS_PROVINCES
    assert list(PREFECTURES) == PREVIOUS_PREFECTURES
    for code in PREVIOUS_PROVINCES + PREVIOUS_PREFECTURES:
        assert check_region_code(code) == code
        assert REGIONS[code] == (regions.region(code).name_zh, regions.region(code).name_en)
    assert PREFECTURES["500100"] == ("重庆市辖区", "Chongqing")
    assert PROVINCES["540000"] == ("西藏自治区", "Tibet")


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown region"):
        check_region_code("999999")
    with pytest.raises(ValueError, match="unknown region"):
        regions.region("440399")
    assert regions.get("440399") is None
    assert "999999" not in REGIONS
