"""The valuation result: JSON-serialisable pydantic models returned by :func:`valuation.engine.value_asset`.

Money is integer fen (``*_fen``), statistics are floats; ``ValuationResult`` carries every
approach's detail (cash-flow table, Monte Carlo statistics, comparables and the register
search's decisions, cost items, real option), the reconciliation, the tornado and the warnings.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from ipfin.money import Fen


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


class ComparableSelectionOut(_Out):
    """One register transaction the search used or left out, with its reason code and text."""

    transaction_id: str
    used: bool
    reason: str
    reason_zh: str
    reason_en: str
    similarity: float | None
    rank: int | None
    age_years: float
    kind: str
    price_fen: Fen
    transaction_date: date
    ipc_or_nice_class: str
    time_index_ratio: float | None
    transaction_type_factor: float | None


class MarketOut(_Out):
    value_fen: Fen
    mean_fen: Fen
    median_fen: Fen
    std_fen: Fen
    coefficient_of_variation: float
    low_fen: Fen
    high_fen: Fen
    table: list[ComparableOut]
    selection: list[ComparableSelectionOut] = Field(
        default_factory=list, description="register transactions of the subject's IP type, used or not, and why")
    register_size: int = 0
    other_type_count: int = Field(0, description="register transactions of other IP types (not listed)")
    selection_rule: str = ""


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
