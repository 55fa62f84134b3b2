"""The single entry point: ``value_asset(ValuationRequest) -> ValuationResult``.

``ValuationRequest`` is a validated pydantic model (bad input raises ``ValidationError`` naming
the field); ``ValuationResult`` is JSON-serialisable with money in integer fen (``*_fen``) and
statistics as floats. The function is pure: no I/O; Monte Carlo work goes through the executor
passed in (in-process by default).

What ``value_asset`` does, in order:

1. remaining legal term from the asset's type and dates; remaining economic life =
   min(economic life, legal term) (a stated life beyond the legal term is a validation error);
2. indicator score (GB/T 42748-2023, optional): K, IP-specific risk premia, quality ratio;
3. discount rate by build-up (score premia replace the technical/market/legal items when
   ``discount.premia_from_score``);
4. income approach (relief from royalty at the royalty's mode, profit share, excess earnings, or
   with-and-without on the stated profits with and without the IP, extended by revenue growth
   beyond the years given) on the mean forecast, with the cash-flow table; optional TAB;
5. Monte Carlo of the income approach (royalty/share three-point: the stated one for relief from
   royalty; for a score-driven profit share, triangular over the scheme's K range with the
   score's K as mode; otherwise fixed; with-and-without simulates the incremental profit path
   itself, lognormal around CF_with − CF_without), P(value < loan amount);
6. market, cost and real-option approaches when given (the real option enters the reconciliation
   at its American/CRR value; S is the income value before TAB, T the remaining economic life);
7. reconciliation with the approach weights (income enters at its Monte Carlo mean when the
   simulation ran, with P5–P95 as its range; see ``valuation.reconcile``), tornado sensitivity of
   the deterministic income value, and warnings a credit officer should read.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ipfin.executor import Executor
from ipfin.money import Fen, MoneyError, cny_to_fen, fen_to_cny
from ipfin.validation import IndustrySection, MoneyCNY, Rate, check_patent_number, patent_kind

from . import cost as cost_mod
from . import income as inc
from . import market as mkt
from .assets import PATENT_TYPES, IPAsset, IPType, LegalStatus, LicenceRecord
from .montecarlo import DistKind, MCSpec, ThreePoint, mean_revenue_path, run_monte_carlo
from .real_option import RealOptionInputs, value_real_option
from .reconcile import FenRangeError, float_to_fen, reconcile, tornado
from .scoring import IndicatorScore, ScoringScheme, load_scheme, score

LIFE_TOLERANCE_YEARS = 1e-9
MAX_AMOUNT_CNY = Decimal("1e13")
"""Largest CNY amount accepted in a request (10 trillion): beyond any one IP right's business, and
small enough that compounded forecasts stay within BIGINT fen columns."""
MAX_PATHS = 5_000_000
TORNADO_LIFE_YEARS = 2.0

_KIND_OF_PATENT = {IPType.INVENTION_PATENT: "invention", IPType.UTILITY_MODEL: "utility_model",
                   IPType.DESIGN: "design"}


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


# --------------------------------------------------------------------------- request


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

    @model_validator(mode="after")
    def _consistent(self) -> AssetIn:
        if self.ip_type in PATENT_TYPES:
            number = check_patent_number(self.identifier)
            if patent_kind(number) != _KIND_OF_PATENT[self.ip_type]:
                raise ValueError(f"identifier: {number} is a {patent_kind(number)} number, not {self.ip_type}")
            if self.filing_date is None:
                raise ValueError("filing_date is required for a patent")
            if self.grant_date is not None and self.grant_date < self.filing_date:
                raise ValueError("grant_date must not be before filing_date")
        elif self.ip_type is IPType.TRADEMARK and self.registration_date is None:
            raise ValueError("registration_date is required for a trademark")
        elif self.ip_type not in PATENT_TYPES and self.ip_type is not IPType.TRADEMARK and (
            self.publication_date is None and self.author_death_date is None
        ):
            raise ValueError("publication_date (or author_death_date) is required for a copyright")
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
            industry=self.industry,
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


class MarketIn(_In):
    comparables: list[ComparableIn] = Field(min_length=1)
    annuity_life_factor: bool = True
    subject_quality_score: float | None = Field(None, gt=0, le=100, allow_inf_nan=False)


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
    valuation_date: date
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
    def _cross_checks(self) -> ValuationRequest:
        asset = self.asset.to_asset()
        for name in ("filing_date", "grant_date", "registration_date", "publication_date"):
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


# --------------------------------------------------------------------------- result


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class DiscountLine(_Out):
    item: str
    rate: float


class ScoreLine(_Out):
    dimension: str
    indicator: str
    label_zh: str
    label_en: str
    score: float
    weight: float
    contribution: float
    source: str


class ScoreOut(_Out):
    total: float
    dimensions: dict[str, float]
    items: list[ScoreLine]
    profit_share: float
    risk_premia: dict[str, float]
    explanation: list[str]


class FlowOut(_Out):
    year: int
    revenue_fen: Fen
    attributable_pre_tax_fen: Fen
    attributable_after_tax_fen: Fen
    discount_factor: float
    present_value_fen: Fen


class IncomeOut(_Out):
    method: str
    value_fen: Fen
    value_before_tab_fen: Fen
    tab_factor: float
    discount_rate: float
    life_years: float
    sales_royalty_rate: float
    profit_share: float | None
    profit_share_source: str | None
    flows: list[FlowOut]


class MonteCarloOut(_Out):
    n_paths: int
    seed: int
    antithetic: bool
    mean_fen: Fen
    median_fen: Fen
    p5_fen: Fen
    p25_fen: Fen
    p75_fen: Fen
    p95_fen: Fen
    std_cny: float
    standard_error_cny: float
    relative_standard_error: float
    histogram_counts: list[int]
    histogram_edges_fen: list[Fen]
    loan_amount_fen: Fen | None
    prob_value_below_loan: float | None
    prob_value_below_loan_se: float | None


class ComparableOut(_Out):
    ref: str
    price_fen: Fen
    quality_ratio: float
    life_factor: float
    time_factor: float
    scope_factor: float
    transaction_type_factor: float
    adjusted_value_fen: Fen
    weight: float


class MarketOut(_Out):
    value_fen: Fen
    mean_fen: Fen
    median_fen: Fen
    std_fen: Fen
    coefficient_of_variation: float
    low_fen: Fen
    high_fen: Fen
    table: list[ComparableOut]


class CostOut(_Out):
    value_fen: Fen
    replacement_cost_fen: Fen
    profit_margin: float
    obsolescence: float
    items: list[tuple[str, Fen]]
    obsolescence_items: list[tuple[str, float]]


class RealOptionOut(_Out):
    european_fen: Fen
    american_fen: Fen
    intrinsic_fen: Fen
    pv_cash_flows_fen: Fen
    commercialisation_cost_fen: Fen
    years: float
    volatility: float
    cost_of_delay: float
    risk_free: float


class ReconLine(_Out):
    approach: str
    value_fen: Fen
    low_fen: Fen
    high_fen: Fen
    weight: str
    contribution_fen: Fen


class TornadoOut(_Out):
    input: str
    base_input: float
    low_input: float
    high_input: float
    value_at_low_fen: Fen
    value_at_high_fen: Fen


class ValuationResult(_Out):
    """JSON-serialisable valuation: money in integer fen, statistics as floats."""

    identifier: str
    ip_type: str
    title: str
    valuation_date: date
    expiry_date: date
    remaining_legal_term_years: float
    remaining_economic_life_years: float
    discount_rate: float
    discount_build_up: list[DiscountLine]
    score: ScoreOut | None
    income: IncomeOut
    monte_carlo: MonteCarloOut | None
    market: MarketOut | None
    cost: CostOut | None
    real_option: RealOptionOut | None
    appraised_value_fen: Fen
    appraised_low_fen: Fen
    appraised_high_fen: Fen
    reconciliation: list[ReconLine]
    income_basis: str
    tornado_base_fen: Fen
    tornado: list[TornadoOut]
    warnings: list[str]


# --------------------------------------------------------------------------- engine


def _cny(v: Any) -> float:
    return float(v)


def _profit_share(req: ValuationRequest, sc: IndicatorScore | None) -> tuple[float | None, str | None]:
    i = req.income
    if i.profit_share is not None:
        return i.profit_share, "given"
    if i.equivalent_investment is not None:
        e = i.equivalent_investment
        k = inc.equivalent_investment_share(_cny(e.ip_replacement_cost_cny), e.ip_cost_profit_rate,
                                            _cny(e.other_assets_cost_cny), e.other_assets_profit_rate)
        return k, "equivalent_investment"
    if sc is not None:
        return sc.profit_share, "indicator_score"
    return None, None


def _build_up(req: ValuationRequest, sc: IndicatorScore | None) -> inc.DiscountRateBuildUp:
    d = req.discount
    technical, market, legal = d.technical, d.market, d.legal
    if d.premia_from_score:
        assert sc is not None
        technical = sc.risk_premia.get("technical", technical)
        market = sc.risk_premia.get("market", market)
        legal = sc.risk_premia.get("legal", legal)
    return inc.DiscountRateBuildUp(d.risk_free, technical, market, d.funding, d.management, legal)


def _sales_rate(req: ValuationRequest, k: float | None) -> float:
    """Attributable fraction of revenue (pre-tax) for the chosen income method."""
    i, e = req.income, req.economics
    if i.method == "relief_from_royalty":
        assert i.royalty is not None
        return i.royalty.mode
    if i.method == "profit_share":
        assert k is not None
        return inc.sales_royalty_from_profit_share(k, e.profit_margin)
    if i.method == "with_and_without":
        return 1.0  # the incremental profit path is attributable in full
    return e.profit_margin - math.fsum(i.contributory_charge_rates)


def value_asset(
    request: ValuationRequest,
    *,
    executor: Executor | None = None,
    scheme: ScoringScheme | None = None,
) -> ValuationResult:
    """Value one asset by every approach given, run the Monte Carlo, reconcile, and explain.

    Raises ``ValueError`` naming the field for inputs only detectable while valuing (e.g. a
    forecast compounding past the largest storable amount of integer fen).
    """
    try:
        return _value_asset(request, executor=executor, scheme=scheme)
    except FenRangeError as exc:
        raise ValueError(
            f"economics: the valuation reaches amounts beyond the storable range ({exc}); check "
            "base_revenue_cny, revenue_forecast_cny, revenue_growth and revenue_volatility"
        ) from exc


def _with_without_paths(req: ValuationRequest, years: int) -> tuple[list[float], list[float]]:
    """CF_with and CF_without for years 1..``years``: as given, then extended by revenue growth."""
    g = req.economics.revenue_growth
    w = list(mean_revenue_path(0.0, g, years, [_cny(x) for x in req.income.cash_flow_with_cny]))
    wo = list(mean_revenue_path(0.0, g, years, [_cny(x) for x in req.income.cash_flow_without_cny]))
    return w, wo


def _value_asset(request: ValuationRequest, *, executor: Executor | None,
                 scheme: ScoringScheme | None) -> ValuationResult:
    req = request
    asset = req.asset.to_asset()
    on = req.valuation_date
    legal = asset.remaining_legal_term(on)
    life = min(req.income.economic_life_years, legal)
    scheme = scheme or load_scheme()
    sc = score(req.scores, scheme, asset=asset, on=on) if req.scores is not None else None
    k, k_src = _profit_share(req, sc)
    bu = _build_up(req, sc)
    r = bu.total
    e = req.economics
    mc_high = req.monte_carlo.life_years.high if req.monte_carlo.life_years else 0.0
    # forecast horizon: the longest life used anywhere (Monte Carlo high, tornado's life + 2 years)
    n_years = max(1, math.ceil(min(legal, max(life, mc_high) + TORNADO_LIFE_YEARS) - 1e-12))
    wnw = req.income.method == "with_and_without"
    if wnw:
        # the attributable "revenue" path is the incremental profit CF_with − CF_without (≥ 0)
        cf_with, cf_without = _with_without_paths(req, n_years)
        given = zip(req.income.cash_flow_with_cny, req.income.cash_flow_without_cny, strict=True)
        forecast = [_cny(a) - _cny(b) for a, b in given]  # extended by revenue growth like a forecast
        base_revenue = 0.0
    else:
        forecast = [_cny(x) for x in e.revenue_forecast_cny]
        base_revenue = _cny(e.base_revenue_cny)
    revenue = list(mean_revenue_path(base_revenue, e.revenue_growth, n_years, forecast))
    shape = inc.IncomeShape(req.income.shape.kind, req.income.shape.decay, req.income.shape.midpoint,
                            req.income.shape.steepness)
    common: dict[str, Any] = dict(tax_rate=e.tax_rate, discount_rate=r, life_years=life, mid_year=req.income.mid_year,
                  shape=shape, tab_amortisation_years=req.income.tab_amortisation_years)
    sales_rate = _sales_rate(req, k)

    def income_value(p: dict[str, float]) -> inc.IncomeValue:
        """Deterministic income value as a function of the tornado inputs."""
        rev = [x * p["revenue_scale"] for x in mean_revenue_path(base_revenue, p["revenue_growth"],
                                                                 n_years, forecast)]
        kw = dict(common, tax_rate=p["tax_rate"], discount_rate=p["discount_rate"], life_years=p["life"])
        return inc.discounted_income(req.income.method, [x * p["sales_rate"] for x in rev], rev, **kw)

    base_params = {"revenue_scale": 1.0, "revenue_growth": e.revenue_growth, "sales_rate": sales_rate,
                   "discount_rate": r, "life": life, "tax_rate": e.tax_rate}
    if req.income.method == "relief_from_royalty":
        iv = inc.relief_from_royalty(revenue, sales_rate, **common)
    elif req.income.method == "profit_share":
        assert k is not None
        iv = inc.profit_share_value(revenue, e.profit_margin, k, **common)
    elif wnw:
        iv = inc.with_and_without(cf_with, cf_without, **common)
    else:
        iv = inc.excess_earnings(revenue, e.profit_margin, req.income.contributory_charge_rates, **common)
    income_out = IncomeOut(
        method=iv.method, value_fen=float_to_fen(iv.value), value_before_tab_fen=float_to_fen(iv.value_before_tab),
        tab_factor=iv.tab_factor, discount_rate=r, life_years=life, sales_royalty_rate=sales_rate,
        profit_share=k, profit_share_source=k_src,
        flows=[FlowOut(year=f.year, revenue_fen=float_to_fen(f.revenue),
                       attributable_pre_tax_fen=float_to_fen(f.attributable_pre_tax),
                       attributable_after_tax_fen=float_to_fen(f.attributable_after_tax),
                       discount_factor=f.discount_factor, present_value_fen=float_to_fen(f.present_value))
               for f in iv.flows],
    )

    # Monte Carlo of the income approach
    mc_out = None
    mc = req.monte_carlo
    income_range = (income_out.value_fen, income_out.value_fen)
    income_point = income_out.value_fen
    basis = "deterministic"
    if mc.enabled:
        if req.income.method == "relief_from_royalty":
            assert req.income.royalty is not None
            royalty = req.income.royalty.to_dist()
        elif req.income.method == "profit_share" and sc is not None and req.income.profit_share is None and (
            req.income.equivalent_investment is None
        ):
            lo, hi = scheme.profit_share_range
            royalty = ThreePoint(lo * e.profit_margin, sales_rate, hi * e.profit_margin)
        else:
            royalty = ThreePoint.fixed(sales_rate)
        life_dist = mc.life_years.to_dist() if mc.life_years is not None else ThreePoint.fixed(life)
        spec = MCSpec(
            mean_revenue=tuple(revenue), volatility=e.revenue_volatility, royalty=royalty, tax_rate=e.tax_rate,
            discount_rate=r, life=life_dist, legal_term_years=legal, discount_rate_sd=mc.discount_rate_sd,
            success_probability=mc.success_probability, annual_hazard=mc.annual_hazard,
            mid_year=req.income.mid_year, shape=tuple(shape.factors(n_years)),
        )
        res = run_monte_carlo(spec, mc.paths, mc.seed, antithetic=mc.antithetic, chunk_size=mc.chunk_size,
                              executor=executor)
        af = iv.tab_factor  # TAB at the base discount rate scales every path (exact when discount_rate_sd = 0)
        loan_fen = cny_to_fen(mc.loan_amount_cny) if mc.loan_amount_cny is not None else None
        p_below = p_se = None
        if loan_fen is not None:
            p_below, p_se = res.prob_below(loan_fen / 100 / af)
        mc_out = MonteCarloOut(
            n_paths=res.n_paths, seed=res.seed, antithetic=res.antithetic,
            mean_fen=float_to_fen(res.mean * af), median_fen=float_to_fen(res.median * af),
            p5_fen=float_to_fen(res.p5 * af), p25_fen=float_to_fen(res.p25 * af),
            p75_fen=float_to_fen(res.p75 * af), p95_fen=float_to_fen(res.p95 * af),
            std_cny=res.std * af, standard_error_cny=res.standard_error * af,
            relative_standard_error=res.standard_error / res.mean if res.mean else 0.0,
            histogram_counts=list(res.histogram_counts),
            histogram_edges_fen=[float_to_fen(x * af) for x in res.histogram_edges],
            loan_amount_fen=loan_fen, prob_value_below_loan=p_below, prob_value_below_loan_se=p_se,
        )
        income_point, income_range, basis = mc_out.mean_fen, (mc_out.p5_fen, mc_out.p95_fen), "monte_carlo_mean"

    values: dict[str, tuple[Fen, Fen, Fen]] = {"income": (income_point, *income_range)}

    market_out = None
    if req.market is not None:
        q_subject = req.market.subject_quality_score or (sc.total if sc else None)
        assert q_subject is not None
        mv = mkt.market_value(
            [mkt.Comparable(c.ref, _cny(c.price_cny), c.quality_score, c.remaining_life_years, c.time_index_ratio,
                            c.scope_factor, c.transaction_type_factor, c.weight) for c in req.market.comparables],
            q_subject, life, discount_rate=r if req.market.annuity_life_factor else None,
            quality_ratio_bounds=scheme.quality_ratio_bounds,
        )
        market_out = MarketOut(
            value_fen=float_to_fen(mv.value), mean_fen=float_to_fen(mv.mean), median_fen=float_to_fen(mv.median),
            std_fen=float_to_fen(mv.std), coefficient_of_variation=mv.coefficient_of_variation,
            low_fen=float_to_fen(mv.low), high_fen=float_to_fen(mv.high),
            table=[ComparableOut(ref=t.ref, price_fen=float_to_fen(t.price_cny), quality_ratio=t.quality_ratio,
                                 life_factor=t.life_factor, time_factor=t.time_factor, scope_factor=t.scope_factor,
                                 transaction_type_factor=t.transaction_type_factor,
                                 adjusted_value_fen=float_to_fen(t.adjusted_value), weight=t.weight)
                   for t in mv.table],
        )
        values["market"] = (market_out.value_fen, max(0, market_out.value_fen - market_out.std_fen),
                            market_out.value_fen + market_out.std_fen)

    cost_out = None
    if req.cost is not None:
        obs: float | list[tuple[str, float]] = (
            list(req.cost.obsolescence_items.items()) if req.cost.obsolescence_items else (req.cost.obsolescence or 0.0)
        )
        cv = cost_mod.cost_value([cost_mod.CostItem(i.name, _cny(i.amount_cny)) for i in req.cost.items],
                                 req.cost.profit_margin, obs)
        cost_out = CostOut(value_fen=float_to_fen(cv.value), replacement_cost_fen=float_to_fen(cv.replacement_cost),
                           profit_margin=cv.profit_margin, obsolescence=cv.obsolescence,
                           items=[(i.name, cny_to_fen(i.amount_cny)) for i in req.cost.items],
                           obsolescence_items=list(cv.obsolescence_items))
        values["cost"] = (cost_out.value_fen,) * 3

    ro_out = None
    if req.real_option is not None:
        ro = req.real_option
        pv_before_tax_shield = iv.value_before_tab
        inputs = RealOptionInputs(pv_before_tax_shield, _cny(ro.commercialisation_cost_cny), life,
                                  req.discount.risk_free, ro.volatility, ro.cost_of_delay)
        rv = value_real_option(inputs, steps=ro.binomial_steps)
        ro_out = RealOptionOut(european_fen=float_to_fen(rv.european), american_fen=float_to_fen(rv.american),
                               intrinsic_fen=float_to_fen(rv.intrinsic),
                               pv_cash_flows_fen=float_to_fen(inputs.pv_cash_flows),
                               commercialisation_cost_fen=cny_to_fen(ro.commercialisation_cost_cny), years=life,
                               volatility=ro.volatility, cost_of_delay=rv.q, risk_free=req.discount.risk_free)
        values["real_option"] = (ro_out.american_fen,) * 3

    rec = reconcile(values, {a.value: w for a, w in req.weights.items()})

    # tornado on the deterministic income value
    def tv(p: Any) -> float:
        return income_value(dict(p)).value

    bumps = {
        "revenue_scale": (0.8, 1.2),
        "revenue_growth": (max(e.revenue_growth - 0.02, -0.99), e.revenue_growth + 0.02),
        "sales_rate": (0.8 * sales_rate, 1.2 * sales_rate),
        "discount_rate": (max(0.001, r - 0.02), min(0.99, r + 0.02)),
        "life": (max(min(life, 0.5), life - TORNADO_LIFE_YEARS), min(legal, life + TORNADO_LIFE_YEARS)),
        "tax_rate": (max(0.0, e.tax_rate - 0.05), min(0.99, e.tax_rate + 0.05)),
    }
    if wnw:  # the attributable fraction is 1 by definition; revenue_scale scales the increment
        del bumps["sales_rate"]
    t_base, bars = tornado(tv, base_params, bumps)

    warnings = _warnings(asset, legal, mc_out, market_out, sc)

    return ValuationResult(
        identifier=asset.identifier, ip_type=asset.ip_type.value, title=asset.title, valuation_date=on,
        expiry_date=asset.expiry(), remaining_legal_term_years=legal, remaining_economic_life_years=life,
        discount_rate=r, discount_build_up=[DiscountLine(item=n, rate=v) for n, v in bu.items()],
        score=None if sc is None else ScoreOut(
            total=sc.total, dimensions=dict(sc.dimensions),
            items=[ScoreLine(dimension=i.dimension, indicator=i.indicator, label_zh=i.label_zh, label_en=i.label_en,
                             score=i.score, weight=i.weight, contribution=i.contribution, source=i.source)
                   for i in sc.items],
            profit_share=sc.profit_share, risk_premia=dict(sc.risk_premia), explanation=sc.explain()),
        income=income_out, monte_carlo=mc_out, market=market_out, cost=cost_out, real_option=ro_out,
        appraised_value_fen=rec.appraised_value_fen, appraised_low_fen=rec.low_fen, appraised_high_fen=rec.high_fen,
        reconciliation=[ReconLine(approach=ln.approach, value_fen=ln.value_fen, low_fen=ln.low_fen,
                                  high_fen=ln.high_fen, weight=str(ln.weight), contribution_fen=ln.contribution_fen)
                        for ln in rec.lines],
        income_basis=basis, tornado_base_fen=float_to_fen(t_base),
        tornado=[TornadoOut(input=b.input, base_input=b.base_input, low_input=b.low_input,
                            high_input=b.high_input, value_at_low_fen=float_to_fen(b.value_at_low),
                            value_at_high_fen=float_to_fen(b.value_at_high))
                 for b in bars],
        warnings=warnings,
    )


MC_RELATIVE_SE_WARNING = 0.01
MARKET_CV_WARNING = 0.5
SHORTFALL_WARNING = 0.10


def _warnings(asset: IPAsset, legal: float, mc: MonteCarloOut | None, market: MarketOut | None,
              sc: IndicatorScore | None) -> list[str]:
    """Plain statements about the result's reliability (bilingual), for the credit officer."""
    out = []
    if asset.legal_status is LegalStatus.PENDING:
        out.append("申请未授权 / the right is pending: its grant, scope and term are not yet certain")
    if legal < 3:
        out.append(f"剩余法定保护期不足3年 / less than 3 years of legal term remain ({legal:.2f} y)")
    if asset.ip_type is IPType.TRADEMARK and asset.assumed_renewals:
        out.append(f"假设续展{asset.assumed_renewals}次 / the term assumes {asset.assumed_renewals} renewal(s)")
    if mc is not None:
        if mc.relative_standard_error > MC_RELATIVE_SE_WARNING:
            out.append(f"模拟误差偏大 / Monte Carlo standard error is {mc.relative_standard_error:.1%} of the mean:"
                       " use more paths")
        if mc.prob_value_below_loan is not None and mc.prob_value_below_loan > SHORTFALL_WARNING:
            out.append(f"质物价值低于贷款额的概率 {mc.prob_value_below_loan:.1%} / P(value < loan) is "
                       f"{mc.prob_value_below_loan:.1%}")
    if market is not None and market.coefficient_of_variation > MARKET_CV_WARNING:
        out.append(f"可比案例离散度高 / comparables are widely dispersed (CV {market.coefficient_of_variation:.2f})")
    if market is not None and len(market.table) < 3:
        out.append("可比案例少于3个 / fewer than 3 comparable transactions")
    if sc is not None and sc.total < 40:
        out.append(f"专利价值评分偏低 / low indicator score ({sc.total:.1f}/100)")
    return out
