"""Reference code lists: GB/T 2260 regions (views over ``ipfin.regions``, every current code down to
county level) and GB/T 4754-2017 industry sections. Names are (zh-CN, en)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property

from ipfin import regions


class _RegionNames(Mapping[str, tuple[str, str]]):
    """A read-only ``code → (name_zh, name_en)`` view over ``ipfin.regions``, loaded on first use."""

    def __init__(self, select: Callable[[], Iterable[str]]) -> None:
        self._select = select

    @cached_property
    def _names(self) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for code in self._select():
            r = regions.region(code)
            out[code] = (r.name_zh, r.name_en)
        return out

    def __getitem__(self, code: str) -> tuple[str, str]:
        return self._names[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, code: object) -> bool:
        return code in self._names

    def __repr__(self) -> str:
        return f"<{len(self)} GB/T 2260 regions>"


def _mainland_provinces() -> list[str]:
    return [r.code for r in regions.all_regions("province") if not r.outside_mainland]


def _all_codes() -> list[str]:
    return [r.code for r in regions.all_regions()]


# Prefecture-level cities the demo data generator (api/demo.py) spreads borrowers over, capital first.
DEMO_PREFECTURE_CODES: tuple[str, ...] = (
    "110100", "120100", "130100", "130200", "140100", "150100", "210100", "210200", "220100", "230100",
    "310100", "320100", "320200", "320400", "320500", "330100", "330200", "330300", "330700", "340100",
    "340200", "350100", "350200", "360100", "370100", "370200", "370700", "410100", "420100", "430100",
    "440100", "440300", "440600", "441900", "442000", "450100", "460100", "500100", "510100", "520100",
    "530100", "540100", "610100", "620100", "630100", "640100", "650100",
)

PROVINCES: Mapping[str, tuple[str, str]] = _RegionNames(_mainland_provinces)
"""The 31 mainland provincial units (省级): code → (zh, en). Taiwan, Hong Kong and Macao (71/81/82) are in
``regions.all_regions("province")`` and in REGIONS."""

PREFECTURES: Mapping[str, tuple[str, str]] = _RegionNames(lambda: DEMO_PREFECTURE_CODES)
"""The main prefecture-level cities ipfin's demo data uses (a subset; every city is in CITIES)."""

CITIES: Mapping[str, tuple[str, str]] = _RegionNames(lambda: [r.code for r in regions.all_regions("city")])
"""Every current city-level unit (地级, and the municipalities' 市辖区/县 placeholders)."""

REGIONS: Mapping[str, tuple[str, str]] = _RegionNames(_all_codes)
"""Every current GB/T 2260 region down to county level (MCA 2024 list): code → (zh, en)."""

INDUSTRY_SECTIONS: dict[str, tuple[str, str]] = {
    "A": ("农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery"),
    "B": ("采矿业", "Mining"),
    "C": ("制造业", "Manufacturing"),
    "D": ("电力、热力、燃气及水生产和供应业", "Electricity, heat, gas and water"),
    "E": ("建筑业", "Construction"),
    "F": ("批发和零售业", "Wholesale and retail"),
    "G": ("交通运输、仓储和邮政业", "Transport, storage and post"),
    "H": ("住宿和餐饮业", "Accommodation and catering"),
    "I": ("信息传输、软件和信息技术服务业", "Information transmission, software and IT services"),
    "J": ("金融业", "Finance"),
    "K": ("房地产业", "Real estate"),
    "L": ("租赁和商务服务业", "Leasing and business services"),
    "M": ("科学研究和技术服务业", "Scientific research and technical services"),
    "N": ("水利、环境和公共设施管理业", "Water, environment and public facilities"),
    "O": ("居民服务、修理和其他服务业", "Resident services, repair and other services"),
    "P": ("教育", "Education"),
    "Q": ("卫生和社会工作", "Health and social work"),
    "R": ("文化、体育和娱乐业", "Culture, sports and entertainment"),
    "S": ("公共管理、社会保障和社会组织", "Public administration and social organisations"),
    "T": ("国际组织", "International organisations"),
}

IP_TYPES: dict[str, tuple[str, str]] = {
    "invention_patent": ("发明专利", "Invention patent"),
    "utility_model": ("实用新型", "Utility model"),
    "design": ("外观设计", "Design"),
    "trademark": ("商标", "Trademark"),
    "copyright": ("著作权", "Copyright"),
    "software_copyright": ("软件著作权", "Software copyright"),
    "data_ip": ("数据知识产权", "Data IP"),
    "geographical_indication": ("地理标志", "Geographical indication"),
    "ic_layout_design": ("集成电路布图设计", "IC layout design"),
    "plant_variety": ("植物新品种", "Plant variety"),
}
