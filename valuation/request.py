"""The valuation request: validated pydantic models for :func:`valuation.engine.value_asset`.

``ValuationRequest`` holds everything needed to value one IP asset; bad input raises
``ValidationError`` naming the field. Amounts are CNY with at most two decimals (``AmountCNY``,
``SignedAmountCNY``), bounded by ``MAX_AMOUNT_CNY``; cross-field checks (legal term against the
stated economic life, weights against the approaches given, …) run in ``ValuationRequest``; an error
they find is located at the field its message names (:func:`name_the_field`), so a 422 says which.
``valuation_date`` defaults to today (``"today"`` is accepted too), so examples never go stale.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ipfin.money import MoneyError, cny_to_fen, fen_to_cny
from ipfin.validation import IndustrySection, MoneyCNY, Rate, check_patent_number, patent_kind

from . import income as inc
from .assets import (
    COPYRIGHT_TYPES,
    NEW_COLLATERAL_TYPES,
    PATENT_TYPES,
    GIProtection,
    IPAsset,
    IPType,
    LegalStatus,
    LicenceRecord,
    PlantGroup,
)
from .montecarlo import DistKind, ThreePoint
from .transactions import IPTransaction, PricingMethod, TradingMode, TransactionKind

LIFE_TOLERANCE_YEARS = 1e-9
MAX_AMOUNT_CNY = Decimal("1e13")
"""Largest CNY amount accepted in a request (10 trillion): beyond any one IP right's business, and
small enough that compounded forecasts stay within BIGINT fen columns."""
MAX_PATHS = 5_000_000

_KIND_OF_PATENT = {IPType.INVENTION_PATENT: "invention", IPType.UTILITY_MODEL: "utility_model",
                   IPType.DESIGN: "design"}


M = TypeVar("M", bound=BaseModel)
_PATH = re.compile(r"([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)")


def _field_path(model: type[BaseModel], message: str) -> tuple[str, ...] | None:
    """The field path a message starts with (``"asset.filing_date (…"`` → ``("asset", "filing_date")``) if
    it names fields of ``model``; parts below a field that is not a model (dict keys) are kept as given."""
    m = _PATH.match(message)
    if m is None:
        return None
    path = tuple(m.group(1).split("."))
    node: Any = model
    for i, part in enumerate(path):
        if not (isinstance(node, type) and issubclass(node, BaseModel)):
            return path  # below a dict field: keys as written
        if part not in node.model_fields:
            return path[:i] or None
        ann = node.model_fields[part].annotation
        node = next((a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)), ann)
    return path


def name_the_field(check: Callable[[M], M]) -> Callable[[M], M]:
    """Wrap a model validator so a ``ValueError`` whose message starts with a field path is reported at that
    field (``loc`` ends with it) instead of at the whole model: a 422 then names the field."""

    @functools.wraps(check)
    def run(self: M) -> M:
        try:
            return check(self)
        except ValidationError:
            raise
        except ValueError as exc:
            path = _field_path(type(self), str(exc))
            if path is None:
                raise
            value: Any = self
            for part in path:
                value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            detail = InitErrorDetails(type=PydanticCustomError("value_error", "{reason}", {"reason": str(exc)}),
                                      loc=path, input=value)
            raise ValidationError.from_exception_data(type(self).__name__, [detail]) from exc

    return run


def _today_if_asked(v: Any) -> Any:
    return date.today() if isinstance(v, str) and v.strip().lower() == "today" else v


class Approach(StrEnum):
    INCOME = "income"
    MARKET = "market"
    COST = "cost"
    REAL_OPTION = "real_option"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Fraction01 = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
AdjustmentFactor = Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]


def _at_most_max(v: Decimal) -> Decimal:
    if abs(v) > MAX_AMOUNT_CNY:
        raise ValueError(f"amount must not exceed {MAX_AMOUNT_CNY:,.0f} CNY")
    return v


def _signed_cny(v: Any) -> Decimal:
    """A signed CNY amount (profit may be negative): finite, at most two decimals."""
    if isinstance(v, bool):
        raise ValueError("amount must be a number")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("amount must be finite")
        v = repr(v)
    try:
        return fen_to_cny(cny_to_fen(v, allow_negative=True))
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc


AmountCNY = Annotated[MoneyCNY, AfterValidator(_at_most_max)]
"""Non-negative CNY amount (≤ 2 decimals), at most ``MAX_AMOUNT_CNY``."""
SignedAmountCNY = Annotated[Decimal, BeforeValidator(_signed_cny), AfterValidator(_at_most_max)]
"""CNY amount that may be negative (a profit or cash flow), |x| ≤ ``MAX_AMOUNT_CNY``."""


class LicenceIn(_In):
    licensee: str = Field(min_length=1, max_length=200)
    start: date
    royalty_rate: Rate
    exclusive: bool = False
    upfront_cny: AmountCNY = Decimal("0.00")


class AssetIn(_In):
    """The IP right (see :class:`valuation.assets.IPAsset`)."""

    ip_type: IPType
    identifier: str = Field(min_length=1, max_length=40,
                            description="patent application number, trademark reg. no., …")
    title: str = Field("", max_length=500)
    legal_status: LegalStatus = LegalStatus.IN_FORCE
    filing_date: date | None = None
    grant_date: date | None = None
    registration_date: date | None = None
    publication_date: date | None = None
    author_death_date: date | None = None
    term_extension_days: int = Field(0, ge=0)
    assumed_renewals: int = Field(0, ge=0, le=20)
    claims: int = Field(0, ge=0, le=10_000)
    independent_claims: int = Field(0, ge=0, le=10_000)
    family_size: int = Field(1, ge=1, le=10_000)
    forward_citations: int = Field(0, ge=0, le=10_000_000)
    licences: list[LicenceIn] = Field(default_factory=list)
    industry: IndustrySection | None = None
    creation_date: date | None = Field(None, description="IC layout design: 创作完成日")
    first_commercial_use_date: date | None = Field(None, description="IC layout design: 首次商业利用日")
    plant_group: PlantGroup | None = Field(None, description="plant variety: woody_or_vine or other")
    gi_protection: GIProtection | None = Field(None, description="GI: collective_mark, certification_mark, gi_product")
    certificate_valid_until: date | None = Field(None, description="data IP: registration certificate valid until")

    @model_validator(mode="after")
    @name_the_field
    def _consistent(self) -> AssetIn:
        if self.ip_type in PATENT_TYPES:
            try:
                number = check_patent_number(self.identifier)
            except ValueError as exc:
                raise ValueError(f"identifier: {exc}") from exc
            if patent_kind(number) != _KIND_OF_PATENT[self.ip_type]:
                raise ValueError(f"identifier: {number} is a {patent_kind(number)} number, not {self.ip_type}")
            if self.filing_date is None:
                raise ValueError("filing_date is required for a patent")
            if self.grant_date is not None and self.grant_date < self.filing_date:
                raise ValueError("grant_date must not be before filing_date")
        elif self.ip_type is IPType.TRADEMARK and self.registration_date is None:
            raise ValueError("registration_date is required for a trademark")
        elif self.ip_type in COPYRIGHT_TYPES and (
            self.publication_date is None and self.author_death_date is None
        ):
            raise ValueError("publication_date (or author_death_date) is required for a copyright")
        elif self.ip_type in NEW_COLLATERAL_TYPES:
            self.to_asset().expiry()  # ValueError naming the missing or inconsistent date
        if self.independent_claims > self.claims:
            raise ValueError("independent_claims must not exceed claims")
        return self

    def to_asset(self) -> IPAsset:
        return IPAsset(
            ip_type=self.ip_type, identifier=self.identifier, title=self.title, legal_status=self.legal_status,
            filing_date=self.filing_date, grant_date=self.grant_date, registration_date=self.registration_date,
            publication_date=self.publication_date, author_death_date=self.author_death_date,
            term_extension_days=self.term_extension_days, assumed_renewals=self.assumed_renewals,
            claims=self.claims, independent_claims=self.independent_claims, family_size=self.family_size,
            forward_citations=self.forward_citations,
            licences=tuple(LicenceRecord(lc.licensee, lc.start, lc.royalty_rate, lc.exclusive,
                                         cny_to_fen(lc.upfront_cny)) for lc in self.licences),
            industry=self.industry, creation_date=self.creation_date,
            first_commercial_use_date=self.first_commercial_use_date, plant_group=self.plant_group,
            gi_protection=self.gi_protection, certificate_valid_until=self.certificate_valid_until,
        )


class EconomicsIn(_In):
    """Revenue of the IP-based product (CNY a year), margin, growth, tax."""

    base_revenue_cny: AmountCNY | None = Field(
        None, description="current annual revenue; year t = base × (1+g)^t (required except for with_and_without)")
    revenue_forecast_cny: list[AmountCNY] = Field(default_factory=list, max_length=100,
                                                description="explicit years 1..n")
    revenue_growth: float = Field(0.0, gt=-1, le=1, allow_inf_nan=False)
    revenue_volatility: float = Field(0.0, ge=0, le=2, allow_inf_nan=False)
    profit_margin: Rate = 0.15
    tax_rate: Rate = 0.25


class DiscountIn(_In):
    """折现率 build-up; with ``premia_from_score`` the technical, market and legal premia come
    from the indicator score instead of the values given here."""

    risk_free: Rate
    technical: Rate = 0.0
    market: Rate = 0.0
    funding: Rate = 0.0
    management: Rate = 0.0
    legal: Rate = 0.0
    premia_from_score: bool = False


class ThreePointIn(_In):
    low: NonNegFloat
    mode: NonNegFloat
    high: NonNegFloat
    distribution: DistKind = DistKind.TRIANGULAR

    @model_validator(mode="after")
    def _ordered(self) -> ThreePointIn:
        if not self.low <= self.mode <= self.high:
            raise ValueError("must satisfy low ≤ mode ≤ high")
        return self

    def to_dist(self) -> ThreePoint:
        return ThreePoint(self.low, self.mode, self.high, self.distribution)


class ShapeIn(_In):
    kind: inc.ShapeKind = inc.ShapeKind.CONSTANT
    decay: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False)
    midpoint: float = Field(3.0, ge=-100, le=100, allow_inf_nan=False, description="S-curve midpoint, years")
    steepness: float = Field(1.0, gt=0, le=50, allow_inf_nan=False)


class EquivalentInvestmentIn(_In):
    """约当投资分成: K = C_ip(1 + r_ip) / (C_ip(1 + r_ip) + C_other(1 + r_other))."""

    ip_replacement_cost_cny: AmountCNY
    ip_cost_profit_rate: NonNegFloat = Field(description="适用成本利润率 of the IP (may exceed 100%)")
    other_assets_cost_cny: AmountCNY
    other_assets_profit_rate: NonNegFloat


class IncomeIn(_In):
    method: Literal["relief_from_royalty", "profit_share", "excess_earnings", "with_and_without"] = (
        "relief_from_royalty"
    )
    royalty: ThreePointIn | None = Field(None, description="sales royalty (fraction of revenue), three-point")
    profit_share: Fraction01 | None = Field(None, description="K; else from the score or equivalent investment")
    equivalent_investment: EquivalentInvestmentIn | None = None
    contributory_charge_rates: list[Rate] = Field(default_factory=list)
    cash_flow_with_cny: list[SignedAmountCNY] = Field(
        default_factory=list, max_length=100,
        description="with_and_without: pre-tax profit of the business WITH the IP, years 1..n (CNY)")
    cash_flow_without_cny: list[SignedAmountCNY] = Field(
        default_factory=list, max_length=100,
        description="with_and_without: pre-tax profit WITHOUT the IP, same years (CNY)")
    economic_life_years: PosFloat
    shape: ShapeIn = Field(default_factory=lambda: ShapeIn.model_validate({}))
    mid_year: bool = False
    tab_amortisation_years: int | None = Field(None, ge=1, le=50)

    @model_validator(mode="after")
    def _royalty_bounds(self) -> IncomeIn:
        if self.royalty is not None and self.royalty.high >= 1:
            raise ValueError("royalty.high must be below 1 (a fraction of sales)")
        if self.method == "relief_from_royalty" and self.royalty is None:
            raise ValueError("royalty is required for relief_from_royalty")
        if self.method == "with_and_without":
            w, wo = self.cash_flow_with_cny, self.cash_flow_without_cny
            if len(w) != len(wo):
                raise ValueError("cash_flow_without_cny must cover the same years as cash_flow_with_cny")
            need = math.ceil(self.economic_life_years - 1e-12)
            if len(w) < need:
                raise ValueError(f"cash_flow_with_cny covers {len(w)} years, the economic life needs {need}")
            for t, (a, b) in enumerate(zip(w, wo, strict=True)):
                if a < b:
                    raise ValueError(f"cash_flow_without_cny[{t}] exceeds cash_flow_with_cny[{t}]: the IP's "
                                     "incremental profit must not be negative (put set-up costs in the real option)")
        elif self.cash_flow_with_cny or self.cash_flow_without_cny:
            raise ValueError("cash_flow_with_cny/cash_flow_without_cny are only used by with_and_without")
        return self


class MonteCarloIn(_In):
    enabled: bool = True
    paths: int = Field(20_000, ge=2, le=MAX_PATHS)
    seed: int = Field(0, ge=0, lt=2**63)
    antithetic: bool = True
    chunk_size: int = Field(100_000, ge=2, le=1_000_000)
    life_years: ThreePointIn | None = Field(None, description="economic life, years; default fixed")
    success_probability: Fraction01 = 1.0
    annual_hazard: Rate = 0.0
    discount_rate_sd: float = Field(0.0, ge=0, le=0.2, allow_inf_nan=False)
    loan_amount_cny: AmountCNY | None = None

    @model_validator(mode="after")
    def _even(self) -> MonteCarloIn:
        if self.antithetic and (self.paths % 2 or self.chunk_size % 2):
            raise ValueError("paths and chunk_size must be even with antithetic sampling")
        return self


class ComparableIn(_In):
    ref: str = Field(min_length=1, max_length=200)
    price_cny: AmountCNY
    quality_score: float = Field(gt=0, le=100, allow_inf_nan=False)
    remaining_life_years: float = Field(gt=0, le=100, allow_inf_nan=False)
    time_index_ratio: AdjustmentFactor = 1.0
    scope_factor: AdjustmentFactor = 1.0
    transaction_type_factor: AdjustmentFactor = 1.0
    weight: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False)

    @field_validator("price_cny")
    @classmethod
    def _positive(cls, v: Any) -> Any:
        if v <= 0:
            raise ValueError("price_cny must be positive")
        return v


class TransactionIn(_In):
    """One IP transaction register row (see :class:`valuation.transactions.IPTransaction`)."""

    id: str = Field(min_length=1, max_length=64)
    kind: TransactionKind
    price_cny: AmountCNY
    date: date
    ip_type: IPType
    ipc_or_nice_class: str = Field("", max_length=40)
    industry: IndustrySection | None = None
    region_code: str = Field(pattern=r"^\d{6}$")
    pricing_method: PricingMethod
    trading_mode: TradingMode
    remaining_life_years: float = Field(gt=0, le=100, allow_inf_nan=False)
    quality_score: float | None = Field(None, gt=0, le=100, allow_inf_nan=False)

    def to_transaction(self) -> IPTransaction:
        return IPTransaction(self.id, self.kind, cny_to_fen(self.price_cny), self.date, self.ip_type,
                             self.ipc_or_nice_class, self.industry, self.region_code, self.pricing_method,
                             self.trading_mode, self.remaining_life_years, self.quality_score)

    @model_validator(mode="after")
    def _valid(self) -> TransactionIn:
        if self.price_cny <= 0:
            raise ValueError("price_cny must be positive")
        self.to_transaction()  # class scheme, region
        return self


class RegisterSearchIn(_In):
    """Register search (see :class:`valuation.market.RegisterSearch`); type, date, subject score and life
    come from the request."""

    class_code: str = Field("", max_length=40, description="subject's IPC / Nice / Locarno code")
    max_age_years: float = Field(3.0, gt=0, le=50, allow_inf_nan=False)
    top_k: int = Field(5, ge=1, le=100)
    life_scale_years: float = Field(5.0, gt=0, le=100, allow_inf_nan=False)
    score_scale: float = Field(20.0, gt=0, le=100, allow_inf_nan=False)
    missing_quality_similarity: Fraction01 = 0.5
    min_similarity: Fraction01 = 0.0
    annual_price_change: float = Field(0.0, gt=-1, lt=1, allow_inf_nan=False)
    industry: IndustrySection | None = None
    region_prefix: str = Field("", pattern=r"^\d{0,6}$")
    kinds: list[TransactionKind] | None = None
    transaction_type_factors: dict[TransactionKind, AdjustmentFactor] = Field(
        default_factory=dict, description="overrides of the default (assumed) transaction-type factors")
    include_ids: list[str] = Field(default_factory=list, max_length=1000)
    exclude_ids: list[str] = Field(default_factory=list, max_length=1000)


class MarketIn(_In):
    """Comparables typed by hand and/or a transaction register to search (at least one comparable)."""

    comparables: list[ComparableIn] = Field(default_factory=list)
    transactions: list[TransactionIn] = Field(default_factory=list, max_length=100_000,
                                              description="the IP transaction register to search")
    search: RegisterSearchIn = Field(default_factory=lambda: RegisterSearchIn.model_validate({}))
    annuity_life_factor: bool = True
    subject_quality_score: float | None = Field(None, gt=0, le=100, allow_inf_nan=False)

    @model_validator(mode="after")
    def _some_comparable(self) -> MarketIn:
        # a search without inline transactions asks the caller (the API) to fill them from its register;
        # the engine then refuses an empty register or unknown include/exclude ids, naming market.search
        from_register = not self.transactions and "search" in self.model_fields_set
        if not self.comparables and not self.transactions and not from_register:
            raise ValueError("comparables: give at least one comparable, a transaction register or a search")
        ids = [t.id for t in self.transactions]
        if len(set(ids)) != len(ids):
            raise ValueError("transactions: the same transaction id appears more than once")
        unknown = [] if from_register else sorted(set(self.search.include_ids + self.search.exclude_ids) - set(ids))
        if unknown:
            raise ValueError(f"search: include/exclude ids not in market.transactions: {unknown}")
        return self


class CostItemIn(_In):
    name: str = Field(min_length=1, max_length=200)
    amount_cny: AmountCNY


class CostIn(_In):
    items: list[CostItemIn] = Field(min_length=1)
    profit_margin: Rate = 0.0
    obsolescence: Fraction01 | None = None
    obsolescence_items: dict[str, Fraction01] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_obsolescence(self) -> CostIn:
        if self.obsolescence is not None and self.obsolescence_items:
            raise ValueError("give obsolescence or obsolescence_items, not both")
        return self


class RealOptionIn(_In):
    commercialisation_cost_cny: AmountCNY
    volatility: float = Field(gt=0, le=3, allow_inf_nan=False)
    cost_of_delay: Rate | None = None
    binomial_steps: int = Field(500, ge=10, le=5000)

    @field_validator("commercialisation_cost_cny")
    @classmethod
    def _positive(cls, v: Any) -> Any:
        if v <= 0:
            raise ValueError("commercialisation_cost_cny must be positive")
        return v


class ValuationRequest(_In):
    """Everything needed to value one IP asset. Weights per approach must sum to 1."""

    asset: AssetIn
    valuation_date: Annotated[date, BeforeValidator(_today_if_asked)] = Field(
        default_factory=date.today, description='the day the value is stated for; default (or "today"): today')
    economics: EconomicsIn
    discount: DiscountIn
    income: IncomeIn
    market: MarketIn | None = None
    cost: CostIn | None = None
    real_option: RealOptionIn | None = None
    scores: dict[str, Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]] | None = None
    monte_carlo: MonteCarloIn = Field(default_factory=lambda: MonteCarloIn.model_validate({}))
    weights: dict[Approach, Fraction01] = Field(default_factory=lambda: {Approach.INCOME: 1.0})

    @field_validator("weights")
    @classmethod
    def _sum_to_one(cls, v: dict[Approach, float]) -> dict[Approach, float]:
        if not v:
            raise ValueError("at least one approach weight is needed")
        s = math.fsum(v.values())
        if abs(s - 1) > 1e-9:
            raise ValueError(f"weights must sum to 1 (got {s:.6f})")
        return v

    @model_validator(mode="after")
    @name_the_field
    def _cross_checks(self) -> ValuationRequest:
        asset = self.asset.to_asset()
        for name in ("filing_date", "grant_date", "registration_date", "publication_date", "creation_date",
                     "first_commercial_use_date"):
            d = getattr(self.asset, name)
            if d is not None and d > self.valuation_date:
                raise ValueError(f"asset.{name} ({d}) is after the valuation_date ({self.valuation_date})")
        legal = asset.remaining_legal_term(self.valuation_date)
        if legal <= 0:
            raise ValueError(
                f"asset.legal_status: the right is not in force on {self.valuation_date} (status "
                f"{self.asset.legal_status}, expiry {asset.expiry()})"
            )
        if self.income.economic_life_years > legal + LIFE_TOLERANCE_YEARS:
            raise ValueError(
                f"income.economic_life_years ({self.income.economic_life_years:g}) exceeds the remaining "
                f"legal term ({legal:.4f} years to {asset.expiry()})"
            )
        lf = self.monte_carlo.life_years
        if lf is not None and lf.low <= 0:
            raise ValueError("monte_carlo.life_years.low must be positive")
        if lf is not None and lf.high > legal + LIFE_TOLERANCE_YEARS:
            raise ValueError(
                f"monte_carlo.life_years.high ({lf.high:g}) exceeds the remaining legal term ({legal:.4f} years)"
            )
        for ap, w in self.weights.items():
            if w > 0 and ap is not Approach.INCOME and getattr(self, ap.value) is None:
                raise ValueError(f"weights.{ap.value}: weighted approach has no '{ap.value}' inputs")
        if self.income.method == "profit_share" and self.income.profit_share is None and (
            self.income.equivalent_investment is None and self.scores is None
        ):
            raise ValueError("income.profit_share: give K, equivalent_investment or scores")
        if self.income.method == "excess_earnings" and (
            math.fsum(self.income.contributory_charge_rates) > self.economics.profit_margin
        ):
            raise ValueError("income.contributory_charge_rates: they sum to more than economics.profit_margin")
        if self.income.method != "with_and_without" and self.economics.base_revenue_cny is None:
            raise ValueError(f"economics.base_revenue_cny is required for {self.income.method}")
        if self.real_option is not None and self.income.economic_life_years * 365 < 1:
            raise ValueError("real_option: the remaining economic life is shorter than one day (option maturity)")
        if self.discount.premia_from_score and self.scores is None:
            raise ValueError("discount.premia_from_score needs scores")
        if self.market is not None and self.market.subject_quality_score is None and self.scores is None:
            raise ValueError("market.subject_quality_score: give it or scores")
        return self
