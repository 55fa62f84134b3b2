"""IP asset model: type, identifiers, legal status, remaining legal term, economics.

Remaining legal term rules (PRC law; dates are the last day the right is in force):

* invention patent (发明专利): 20 years from the filing date (Patent Law art. 42), plus any
  patent-term compensation days (专利权期限补偿) given in ``term_extension_days``;
* utility model (实用新型): 10 years from filing;
* design (外观设计): 15 years from filing for applications filed on or after 2021-06-01
  (Patent Law 2020 amendment in force), 10 years for earlier filings;
* trademark (商标): 10 years from registration (Trademark Law art. 39), renewable by 10 years
  each time (art. 40); ``assumed_renewals`` adds that many renewals (default 0: only the
  current registration counts, the prudent view for collateral);
* copyright (著作权): a natural person's work lasts to 31 December of the 50th year after the
  author's death (Copyright Law 2020 art. 23); a legal entity's work, or when no death date is
  given, to 31 December of the 50th year after first publication (we choose the publication rule
  whenever ``author_death_date`` is absent — a living author's term cannot be dated);
* software copyright (软件著作权): the same two rules (计算机软件保护条例 art. 14), by default
  50 years from first publication to 31 December of the 50th year.

* data IP (数据知识产权): the registration certificate's validity as stated on it
  (``certificate_valid_until``); when absent, 3 years from the registration announcement
  (``registration_date``) — an assumption after the Beijing pilot measures, art. 13;
* geographical indication (地理标志): as a trademark when registered as a collective or
  certification mark; GI product protection (地理标志产品) has no term (:data:`NO_STATUTORY_EXPIRY`);
* IC layout design (集成电路布图设计): 10 years from the earlier of the registration filing date and
  the first commercial exploitation anywhere, and never beyond 15 years from creation
  (集成电路布图设计保护条例 2001, art. 12);
* plant variety (植物新品种): from the grant date, 20 years for vines, forest trees, fruit trees and
  ornamental trees and 15 for other plants (植物新品种保护条例 art. 34); 25 / 20 years for rights
  granted from 2025-06-01 under the 2025 revision (transitional rule assumed).

The term rules and their citations are data: ``valuation/data/collateral_types.json``
(:func:`collateral_types`); entries flagged ``assumption`` say which values are not statute.

A term that runs "N years from date D" ends on the day before D's N-th anniversary.
Remaining years are counted as days / 365.25.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

DAYS_PER_YEAR = 365.25
DESIGN_15Y_FROM = date(2021, 6, 1)


class IPType(StrEnum):
    """Kind of IP right; values match ``ipfin.reference.IP_TYPES``."""

    INVENTION_PATENT = "invention_patent"
    UTILITY_MODEL = "utility_model"
    DESIGN = "design"
    TRADEMARK = "trademark"
    COPYRIGHT = "copyright"
    SOFTWARE_COPYRIGHT = "software_copyright"
    DATA_IP = "data_ip"  # 数据知识产权 (registered data, certificate-based)
    GEOGRAPHICAL_INDICATION = "geographical_indication"  # 地理标志
    IC_LAYOUT_DESIGN = "ic_layout_design"  # 集成电路布图设计
    PLANT_VARIETY = "plant_variety"  # 植物新品种


class PlantGroup(StrEnum):
    """Plant group that sets a plant variety's term (植物新品种保护条例 art. 34)."""

    WOODY_OR_VINE = "woody_or_vine"  # 藤本植物、林木、果树和观赏树木 (2025: 木本、藤本植物)
    OTHER = "other"  # 其他植物


class GIProtection(StrEnum):
    """How a geographical indication is protected (and so how long)."""

    COLLECTIVE_MARK = "collective_mark"  # 集体商标
    CERTIFICATION_MARK = "certification_mark"  # 证明商标
    GI_PRODUCT = "gi_product"  # 地理标志产品保护 (no term)


NEW_COLLATERAL_TYPES = frozenset({IPType.DATA_IP, IPType.GEOGRAPHICAL_INDICATION, IPType.IC_LAYOUT_DESIGN,
                                  IPType.PLANT_VARIETY})
"""Collateral types added for data IP, GIs, IC layout designs and plant varieties (issue: more collateral)."""

NO_STATUTORY_EXPIRY = date.max
"""Expiry of a right with no statutory term (GI product protection): never."""

COLLATERAL_TYPES_PATH = Path(__file__).with_name("data") / "collateral_types.json"


@cache
def _collateral_table() -> dict[str, Any]:
    return json.loads(COLLATERAL_TYPES_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class CollateralType:
    """One row of the collateral term table: names, term rule (as data), citation, assumption flag."""

    ip_type: IPType
    name_zh: str
    name_en: str
    term: MappingProxyType[str, Any]
    source: str
    assumption: bool
    assumption_note: str = ""


def collateral_types() -> dict[IPType, CollateralType]:
    """The term table of every IP type, read from ``valuation/data/collateral_types.json``.

    Examples
    --------
    >>> t = collateral_types()[IPType.IC_LAYOUT_DESIGN]
    >>> t.name_zh, t.term["years"], t.term["cap_years_from_creation"], t.assumption
    ('集成电路布图设计', 10, 15, False)
    """
    out = {}
    for key, row in _collateral_table()["types"].items():
        out[IPType(key)] = CollateralType(IPType(key), row["name_zh"], row["name_en"], MappingProxyType(row["term"]),
                                          row["source"], bool(row["assumption"]), row.get("assumption_note", ""))
    missing = set(IPType) - set(out)
    if missing:
        raise ValueError(f"collateral_types.json has no term rule for {sorted(missing)}")
    return out


PATENT_TYPES = frozenset({IPType.INVENTION_PATENT, IPType.UTILITY_MODEL, IPType.DESIGN})
COPYRIGHT_TYPES = frozenset({IPType.COPYRIGHT, IPType.SOFTWARE_COPYRIGHT})


class LegalStatus(StrEnum):
    """Legal status of the right on the valuation date (法律状态)."""

    PENDING = "pending"  # 申请中: filed, not yet granted/registered
    IN_FORCE = "in_force"  # 有效
    LAPSED = "lapsed"  # 未缴年费终止 / 未续展
    INVALIDATED = "invalidated"  # 宣告无效 / 撤销
    EXPIRED = "expired"  # 期限届满


ALIVE_STATUSES = frozenset({LegalStatus.PENDING, LegalStatus.IN_FORCE})


def _anniversary(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February → 1 March in a non-leap year
        return date(d.year + years, 3, 1)


def _years_from(d: date, years: int) -> date:
    """Last day of a term of ``years`` years counted from ``d``."""
    return _anniversary(d, years) - timedelta(days=1)


_WHAT = {IPType.INVENTION_PATENT: "a patent", IPType.UTILITY_MODEL: "a patent", IPType.DESIGN: "a patent",
         IPType.TRADEMARK: "a trademark", IPType.COPYRIGHT: "a copyright", IPType.SOFTWARE_COPYRIGHT: "a copyright",
         IPType.DATA_IP: "data IP", IPType.GEOGRAPHICAL_INDICATION: "a geographical indication",
         IPType.IC_LAYOUT_DESIGN: "an IC layout design", IPType.PLANT_VARIETY: "a plant variety"}


def legal_expiry(
    ip_type: IPType,
    *,
    filing_date: date | None = None,
    registration_date: date | None = None,
    publication_date: date | None = None,
    author_death_date: date | None = None,
    term_extension_days: int = 0,
    assumed_renewals: int = 0,
    grant_date: date | None = None,
    creation_date: date | None = None,
    first_commercial_use_date: date | None = None,
    plant_group: PlantGroup | str | None = None,
    gi_protection: GIProtection | str | None = None,
    certificate_valid_until: date | None = None,
) -> date:
    """Last day the right is in force by its type's term rule in ``collateral_types.json``.

    Dates used per type: patents ``filing_date``; trademarks ``registration_date``; copyright
    ``author_death_date`` or ``publication_date``; data IP ``certificate_valid_until`` or
    ``registration_date``; GIs ``gi_protection`` (+ ``registration_date`` for a mark); IC layout
    designs ``filing_date`` (登记申请日), ``creation_date`` (创作完成日) and optionally
    ``first_commercial_use_date`` (首次商业利用日); plant varieties ``grant_date`` and ``plant_group``.
    Raises ``ValueError`` naming the missing date field.

    Examples
    --------
    >>> legal_expiry(IPType.IC_LAYOUT_DESIGN, filing_date=date(2020, 5, 1), creation_date=date(2012, 1, 1))
    datetime.date(2026, 12, 31)
    >>> legal_expiry(IPType.PLANT_VARIETY, grant_date=date(2020, 3, 1), plant_group="other")
    datetime.date(2035, 2, 28)
    """
    if term_extension_days < 0:
        raise ValueError("term_extension_days must not be negative")
    if assumed_renewals < 0:
        raise ValueError("assumed_renewals must not be negative")
    ip_type = IPType(ip_type)
    fields: dict[str, Any] = {
        "filing_date": filing_date, "registration_date": registration_date, "publication_date": publication_date,
        "author_death_date": author_death_date, "term_extension_days": term_extension_days,
        "assumed_renewals": assumed_renewals, "grant_date": grant_date, "creation_date": creation_date,
        "first_commercial_use_date": first_commercial_use_date, "plant_group": plant_group,
        "gi_protection": gi_protection, "certificate_valid_until": certificate_valid_until,
    }
    return _apply_term_rule(ip_type, collateral_types()[ip_type].term, fields)


def _required(fields: dict[str, Any], name: str, ip_type: IPType) -> Any:
    v = fields[name]
    if v is None:
        raise ValueError(f"{name} is required for {_WHAT[ip_type]}")
    return v


def _apply_term_rule(ip_type: IPType, rule: Any, f: dict[str, Any]) -> date:
    kind = rule["rule"]
    if kind == "years_from":
        start: date = _required(f, rule["start"], ip_type)
        period = [p for p in rule["periods"] if p["from"] is None or start >= date.fromisoformat(p["from"])][-1]
        years = period["years"]
        if isinstance(years, dict):
            group = PlantGroup(_required(f, rule["group_field"], ip_type))
            years = years[group.value]
        if rule.get("renewal_years"):
            years += rule["renewal_years"] * f["assumed_renewals"]
        end = _years_from(start, years)
        if rule.get("extension_days_field"):
            end += timedelta(days=f[rule["extension_days_field"]])
        return end
    if kind == "year_end_after":
        if f["author_death_date"] is not None:
            return date(f["author_death_date"].year + rule["years"], 12, 31)
        if f["publication_date"] is None:
            raise ValueError(f"publication_date (or author_death_date) is required for {_WHAT[ip_type]}")
        return date(f["publication_date"].year + rule["years"], 12, 31)
    if kind == "certificate":
        valid_until = f[rule["valid_until_field"]]
        registered = f[rule["start"]]
        if valid_until is not None:
            if registered is not None and valid_until < registered:
                raise ValueError("certificate_valid_until must not be before registration_date")
            return valid_until
        if registered is None:
            raise ValueError(f"certificate_valid_until or registration_date is required for {_WHAT[ip_type]}")
        return _years_from(registered, rule["default_years"])
    if kind == "by_gi_protection":
        mode = GIProtection(_required(f, "gi_protection", ip_type))
        return _apply_term_rule(ip_type, rule["modes"][mode.value], f)
    if kind == "no_term":
        return NO_STATUTORY_EXPIRY
    if kind == "ic_layout":
        filed: date = _required(f, "filing_date", ip_type)
        created: date = _required(f, "creation_date", ip_type)
        used: date | None = f["first_commercial_use_date"]
        start = filed if used is None else min(filed, used)
        if created > start:
            raise ValueError("creation_date must not be after the filing date or the first commercial use")
        window = rule["registration_window_years_after_first_use"]
        if used is not None and filed > _years_from(used, window):
            raise ValueError(f"filing_date: filed more than {window} years after the first commercial use, so not "
                             "registrable (集成电路布图设计保护条例 art. 17)")
        return min(_years_from(start, rule["years"]), _years_from(created, rule["cap_years_from_creation"]))
    raise ValueError(f"collateral_types.json: unknown term rule {kind!r} for {ip_type}")


@dataclass(frozen=True, slots=True)
class LicenceRecord:
    """One past licence of the right (许可备案): royalty rate on the licensee's sales."""

    licensee: str
    start: date
    royalty_rate: float  # fraction of sales
    exclusive: bool = False
    upfront_fen: int = 0


@dataclass(frozen=True, slots=True)
class Economics:
    """The business the IP earns in: revenue forecast (CNY a year), margin, growth, tax.

    ``revenue_forecast_cny`` if given overrides ``base_revenue_cny`` × (1 + growth)^t.
    """

    base_revenue_cny: float
    revenue_growth: float = 0.0
    revenue_volatility: float = 0.0
    profit_margin: float = 0.15
    tax_rate: float = 0.25
    revenue_forecast_cny: tuple[float, ...] = ()

    def revenue(self, years: int) -> list[float]:
        """Revenue for years 1..``years`` (CNY); the explicit forecast is extended by growth."""
        out: list[float] = []
        for t in range(1, years + 1):
            if t <= len(self.revenue_forecast_cny):
                out.append(self.revenue_forecast_cny[t - 1])
            elif self.revenue_forecast_cny:
                k = t - len(self.revenue_forecast_cny)
                out.append(self.revenue_forecast_cny[-1] * (1 + self.revenue_growth) ** k)
            else:
                out.append(self.base_revenue_cny * (1 + self.revenue_growth) ** t)
        return out


@dataclass(frozen=True, slots=True)
class IPAsset:
    """An IP right with what a valuer needs to know about it."""

    ip_type: IPType
    identifier: str
    title: str = ""
    legal_status: LegalStatus = LegalStatus.IN_FORCE
    filing_date: date | None = None
    grant_date: date | None = None
    registration_date: date | None = None
    publication_date: date | None = None
    author_death_date: date | None = None
    term_extension_days: int = 0
    assumed_renewals: int = 0
    claims: int = 0
    independent_claims: int = 0
    family_size: int = 1
    forward_citations: int = 0
    licences: tuple[LicenceRecord, ...] = field(default_factory=tuple)
    industry: str | None = None
    creation_date: date | None = None  # 创作完成日 (IC layout design)
    first_commercial_use_date: date | None = None  # 首次商业利用日 (IC layout design)
    plant_group: PlantGroup | None = None  # plant variety term group
    gi_protection: GIProtection | None = None  # geographical indication: mark or GI product
    certificate_valid_until: date | None = None  # data IP registration certificate validity (登记证书有效期)

    def expiry(self) -> date:
        """Last day in force by statute or certificate (see :func:`legal_expiry`)."""
        return legal_expiry(
            self.ip_type,
            filing_date=self.filing_date,
            registration_date=self.registration_date,
            publication_date=self.publication_date,
            author_death_date=self.author_death_date,
            term_extension_days=self.term_extension_days,
            assumed_renewals=self.assumed_renewals,
            grant_date=self.grant_date,
            creation_date=self.creation_date,
            first_commercial_use_date=self.first_commercial_use_date,
            plant_group=self.plant_group,
            gi_protection=self.gi_protection,
            certificate_valid_until=self.certificate_valid_until,
        )

    def remaining_legal_term(self, on: date) -> float:
        """Remaining legal term in years on ``on``; 0 if lapsed, invalidated or expired."""
        if self.legal_status not in ALIVE_STATUSES:
            return 0.0
        days = (self.expiry() - on).days + 1
        return max(0.0, days / DAYS_PER_YEAR)


def remaining_economic_life(economic_life_years: float, remaining_legal_years: float) -> float:
    """剩余经济寿命 = min(economic life, remaining legal term), in years."""
    if not economic_life_years >= 0:
        raise ValueError("economic_life_years must be a non-negative number")
    if not remaining_legal_years >= 0:
        raise ValueError("remaining_legal_years must be a non-negative number")
    return min(economic_life_years, remaining_legal_years)
