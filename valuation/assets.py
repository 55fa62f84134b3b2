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

A term that runs "N years from date D" ends on the day before D's N-th anniversary.
Remaining years are counted as days / 365.25.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

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


def legal_expiry(
    ip_type: IPType,
    *,
    filing_date: date | None = None,
    registration_date: date | None = None,
    publication_date: date | None = None,
    author_death_date: date | None = None,
    term_extension_days: int = 0,
    assumed_renewals: int = 0,
) -> date:
    """Last day the right is in force by its type's statutory term (see module docstring).

    Raises ``ValueError`` naming the missing date field.
    """
    if term_extension_days < 0:
        raise ValueError("term_extension_days must not be negative")
    if assumed_renewals < 0:
        raise ValueError("assumed_renewals must not be negative")
    if ip_type in PATENT_TYPES:
        if filing_date is None:
            raise ValueError("filing_date is required for a patent")
        if ip_type is IPType.INVENTION_PATENT:
            return _years_from(filing_date, 20) + timedelta(days=term_extension_days)
        if ip_type is IPType.UTILITY_MODEL:
            return _years_from(filing_date, 10)
        return _years_from(filing_date, 15 if filing_date >= DESIGN_15Y_FROM else 10)
    if ip_type is IPType.TRADEMARK:
        if registration_date is None:
            raise ValueError("registration_date is required for a trademark")
        return _years_from(registration_date, 10 * (1 + assumed_renewals))
    if author_death_date is not None:
        return date(author_death_date.year + 50, 12, 31)
    if publication_date is None:
        raise ValueError("publication_date (or author_death_date) is required for a copyright")
    return date(publication_date.year + 50, 12, 31)


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

    def expiry(self) -> date:
        """Last day in force by statute (see :func:`legal_expiry`)."""
        return legal_expiry(
            self.ip_type,
            filing_date=self.filing_date,
            registration_date=self.registration_date,
            publication_date=self.publication_date,
            author_death_date=self.author_death_date,
            term_extension_days=self.term_extension_days,
            assumed_renewals=self.assumed_renewals,
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
