"""Income approaches (收益法): relief from royalty, 分成率 profit/sales share, 约当投资分成,
excess earnings and with-and-without, with an itemised discount-rate build-up.

All amounts are CNY floats here (estimates, not ledger entries); the engine rounds results to
integer fen. Rates are annual fractions. Year ``t`` = 1..N; a final partial year of economic
life counts pro rata (weight ``min(1, life − (t − 1))``). Discounting is end-of-year
(``(1 + r)^−t``) or mid-year (``(1 + r)^−(t − 0.5)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

# --------------------------------------------------------------------------- discount rate


@dataclass(frozen=True, slots=True)
class DiscountRateBuildUp:
    """折现率 = 无风险报酬率 + 风险报酬率 (technical, market, funding, management, legal premia)."""

    risk_free: float
    technical: float = 0.0
    market: float = 0.0
    funding: float = 0.0
    management: float = 0.0
    legal: float = 0.0

    def __post_init__(self) -> None:
        for name in ("risk_free", "technical", "market", "funding", "management", "legal"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v)) or v < 0 or v >= 1:
                raise ValueError(f"discount.{name}: discount rate item must be a finite fraction in [0, 1)")
        if not 0 < self.total < 1:
            raise ValueError(f"discount: the total discount rate must be in (0, 1), got {self.total:.4f} "
                             "(risk-free plus premia, including premia from the score)")

    @property
    def total(self) -> float:
        return self.risk_free + self.technical + self.market + self.funding + self.management + self.legal

    def items(self) -> list[tuple[str, float]]:
        """The build-up, item by item, ending with the total."""
        return [
            ("risk_free", self.risk_free),
            ("technical_risk", self.technical),
            ("market_risk", self.market),
            ("funding_risk", self.funding),
            ("management_risk", self.management),
            ("legal_risk", self.legal),
            ("total", self.total),
        ]


def discount_factors(rate: float, years: int, *, mid_year: bool = False) -> list[float]:
    """(1 + r)^−t for t = 1..years, or (1 + r)^−(t − 0.5) under the mid-year convention."""
    if not -1 < rate < 1 or not math.isfinite(rate):
        raise ValueError("discount rate must be finite and in (-1, 1)")
    shift = 0.5 if mid_year else 0.0
    return [(1 + rate) ** -(t - shift) for t in range(1, years + 1)]


def life_weights(life_years: float) -> list[float]:
    """Share of each year t = 1..ceil(life) inside the economic life: min(1, life − (t − 1))."""
    if not life_years > 0 or not math.isfinite(life_years):
        raise ValueError("life_years must be a positive finite number")
    n = math.ceil(life_years - 1e-12)
    return [min(1.0, life_years - (t - 1)) for t in range(1, n + 1)]


# --------------------------------------------------------------------------- attribution shape


class ShapeKind(StrEnum):
    CONSTANT = "constant"
    DECLINING = "declining"  # geometric decay of the IP's share as the technology ages
    LINEAR_DECLINE = "linear_decline"
    S_CURVE = "s_curve"  # logistic market adoption of the IP-based product


@dataclass(frozen=True, slots=True)
class IncomeShape:
    """Multiplier a_t on the attributable income of year t.

    * constant: a_t = 1
    * declining: a_t = (1 − decay)^(t − 1)
    * linear_decline: a_t = max(0, 1 − decay × (t − 1))
    * s_curve: a_t = 1 / (1 + exp(−steepness × (t − 0.5 − midpoint)))  (adoption at mid-year)
    """

    kind: ShapeKind = ShapeKind.CONSTANT
    decay: float = 0.0
    midpoint: float = 3.0
    steepness: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.decay < 1:
            raise ValueError("shape decay must be in [0, 1)")
        if not self.steepness > 0 or not math.isfinite(self.midpoint):
            raise ValueError("shape steepness must be positive and midpoint finite")

    def factors(self, years: int) -> list[float]:
        ts = range(1, years + 1)
        if self.kind is ShapeKind.CONSTANT:
            return [1.0] * years
        if self.kind is ShapeKind.DECLINING:
            return [(1 - self.decay) ** (t - 1) for t in ts]
        if self.kind is ShapeKind.LINEAR_DECLINE:
            return [max(0.0, 1 - self.decay * (t - 1)) for t in ts]
        return [_logistic(self.steepness * (t - 0.5 - self.midpoint)) for t in ts]


def _logistic(x: float) -> float:
    """1 / (1 + e^−x) without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    ex = math.exp(x)
    return ex / (1.0 + ex)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class YearFlow:
    """One row of the discounted cash-flow table (CNY)."""

    year: int
    revenue: float
    attributable_pre_tax: float
    attributable_after_tax: float
    discount_factor: float
    present_value: float


@dataclass(frozen=True, slots=True)
class IncomeValue:
    """Result of an income approach: value (CNY) and the table it came from."""

    method: str
    value: float
    value_before_tab: float
    tab_factor: float
    discount_rate: float
    life_years: float
    flows: tuple[YearFlow, ...]


def tab_factor(tax_rate: float, discount_rate: float, amortisation_years: int, *, mid_year: bool = False) -> float:
    """Tax amortisation benefit multiplier (税收摊销收益): V = V_pre × AF.

    AF = 1 / (1 − tax × (1/n) × Σ_{k=1..n} DF_k): the buyer amortises the IP's whole value
    straight-line over n years and saves tax on it (Reilly & Schweihs, *Valuing Intangible
    Assets*; IVS 210 tax amortisation benefit).
    """
    if amortisation_years <= 0:
        raise ValueError("tab_amortisation_years must be positive")
    if not 0 <= tax_rate < 1:
        raise ValueError("tax_rate must be in [0, 1)")
    annuity = sum(discount_factors(discount_rate, amortisation_years, mid_year=mid_year))
    return 1.0 / (1.0 - tax_rate * annuity / amortisation_years)


def _check_revenue(revenue: Sequence[float]) -> None:
    for i, r in enumerate(revenue):
        if not math.isfinite(r) or r < 0:
            raise ValueError(f"revenue[{i}] must be a finite non-negative amount")


def discounted_income(
    method: str,
    pre_tax_income: Sequence[float],
    revenue: Sequence[float],
    *,
    tax_rate: float,
    discount_rate: float,
    life_years: float,
    mid_year: bool = False,
    shape: IncomeShape | None = None,
    tab_amortisation_years: int | None = None,
) -> IncomeValue:
    """Σ income_t × a_t × w_t × (1 − tax) × DF_t over the economic life, optional TAB."""
    if not 0 <= tax_rate < 1:
        raise ValueError("tax_rate must be in [0, 1)")
    weights = life_weights(life_years)
    n = len(weights)
    if len(pre_tax_income) < n:
        raise ValueError(f"the income forecast covers {len(pre_tax_income)} years, the life needs {n}")
    shape_f = (shape or IncomeShape()).factors(n)
    dfs = discount_factors(discount_rate, n, mid_year=mid_year)
    flows = []
    total = 0.0
    for t in range(n):
        pre = pre_tax_income[t] * shape_f[t] * weights[t]
        post = pre * (1 - tax_rate)
        pv = post * dfs[t]
        total += pv
        flows.append(YearFlow(t + 1, revenue[t] * weights[t], pre, post, dfs[t], pv))
    af = 1.0
    if tab_amortisation_years:
        af = tab_factor(tax_rate, discount_rate, tab_amortisation_years, mid_year=mid_year)
    return IncomeValue(method, total * af, total, af, discount_rate, life_years, tuple(flows))


def relief_from_royalty(
    revenue: Sequence[float],
    royalty_rate: float,
    *,
    tax_rate: float,
    discount_rate: float,
    life_years: float,
    mid_year: bool = False,
    shape: IncomeShape | None = None,
    tab_amortisation_years: int | None = None,
) -> IncomeValue:
    """Relief from royalty (许可费节省法): V = Σ Rev_t · royalty · (1 − tax) / (1 + r)^t."""
    _check_revenue(revenue)
    if not 0 <= royalty_rate < 1:
        raise ValueError("royalty_rate must be in [0, 1)")
    return discounted_income(
        "relief_from_royalty",
        [r * royalty_rate for r in revenue],
        revenue,
        tax_rate=tax_rate,
        discount_rate=discount_rate,
        life_years=life_years,
        mid_year=mid_year,
        shape=shape,
        tab_amortisation_years=tab_amortisation_years,
    )


def sales_royalty_from_profit_share(profit_share: float, profit_margin: float) -> float:
    """销售收入分成率 = 利润分成率 × 销售利润率 (the profit-share ↔ sales-royalty identity)."""
    if not 0 <= profit_share <= 1:
        raise ValueError("profit_share must be in [0, 1]")
    if not 0 <= profit_margin <= 1:
        raise ValueError("profit_margin must be in [0, 1]")
    return profit_share * profit_margin


def profit_share_from_sales_royalty(sales_royalty: float, profit_margin: float) -> float:
    """利润分成率 = 销售收入分成率 ÷ 销售利润率."""
    if not profit_margin > 0:
        raise ValueError("profit_margin must be positive")
    return sales_royalty / profit_margin


def profit_share_value(
    revenue: Sequence[float],
    profit_margin: float,
    profit_share: float,
    *,
    tax_rate: float,
    discount_rate: float,
    life_years: float,
    mid_year: bool = False,
    shape: IncomeShape | None = None,
    tab_amortisation_years: int | None = None,
) -> IncomeValue:
    """分成率法 on profit: V = Σ K · Profit_t · (1 − tax) / (1 + r)^t, Profit_t = Rev_t × margin."""
    _check_revenue(revenue)
    if not 0 <= profit_share <= 1:
        raise ValueError("profit_share must be in [0, 1]")
    if not 0 <= profit_margin <= 1:
        raise ValueError("profit_margin must be in [0, 1]")
    return discounted_income(
        "profit_share",
        [r * profit_margin * profit_share for r in revenue],
        revenue,
        tax_rate=tax_rate,
        discount_rate=discount_rate,
        life_years=life_years,
        mid_year=mid_year,
        shape=shape,
        tab_amortisation_years=tab_amortisation_years,
    )


def equivalent_investment_share(
    ip_replacement_cost: float,
    ip_cost_profit_rate: float,
    other_assets_cost: float,
    other_assets_profit_rate: float,
) -> float:
    """约当投资分成率 K = IP 约当投资量 / (IP 约当投资量 + 购买方约当投资量).

    约当投资量 = 成本 × (1 + 适用成本利润率) for the IP (its replacement cost) and for the
    licensee's other invested assets.
    """
    for name, v in (
        ("ip_replacement_cost", ip_replacement_cost),
        ("other_assets_cost", other_assets_cost),
        ("ip_cost_profit_rate", ip_cost_profit_rate),
        ("other_assets_profit_rate", other_assets_profit_rate),
    ):
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite non-negative number")
    ip_eq = ip_replacement_cost * (1 + ip_cost_profit_rate)
    other_eq = other_assets_cost * (1 + other_assets_profit_rate)
    if ip_eq + other_eq <= 0:
        raise ValueError("equivalent investments must not both be zero")
    return ip_eq / (ip_eq + other_eq)


def excess_earnings(
    revenue: Sequence[float],
    profit_margin: float,
    contributory_charge_rates: Sequence[float],
    *,
    tax_rate: float,
    discount_rate: float,
    life_years: float,
    mid_year: bool = False,
    shape: IncomeShape | None = None,
    tab_amortisation_years: int | None = None,
) -> IncomeValue:
    """Multi-period excess earnings (超额收益法): income less contributory asset charges.

    Pre-tax excess_t = Rev_t × (margin − Σ CAC rates); contributory asset charges (fair return on
    working capital, fixed assets, workforce …) are stated as pre-tax fractions of revenue.
    """
    _check_revenue(revenue)
    cac = 0.0
    for i, c in enumerate(contributory_charge_rates):
        if not math.isfinite(c) or c < 0:
            raise ValueError(f"contributory_charge_rates[{i}] must be a finite non-negative fraction")
        cac += c
    if cac > profit_margin:
        raise ValueError("contributory asset charges exceed the profit margin: no excess earnings")
    return discounted_income(
        "excess_earnings",
        [r * (profit_margin - cac) for r in revenue],
        revenue,
        tax_rate=tax_rate,
        discount_rate=discount_rate,
        life_years=life_years,
        mid_year=mid_year,
        shape=shape,
        tab_amortisation_years=tab_amortisation_years,
    )


def with_and_without(
    cash_flow_with: Sequence[float],
    cash_flow_without: Sequence[float],
    *,
    tax_rate: float,
    discount_rate: float,
    life_years: float,
    mid_year: bool = False,
    shape: IncomeShape | None = None,
    tab_amortisation_years: int | None = None,
) -> IncomeValue:
    """With-and-without (有无对比法): V = Σ (CF_with − CF_without)(1 − tax) / (1 + r)^t.

    CF are pre-tax profits (CNY a year) of the business with and without the IP; the table's
    revenue column shows CF_with.
    """
    if len(cash_flow_with) != len(cash_flow_without):
        raise ValueError("cash_flow_with and cash_flow_without must cover the same years")
    diff = []
    for i, (a, b) in enumerate(zip(cash_flow_with, cash_flow_without, strict=True)):
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ValueError(f"cash flows in year {i + 1} must be finite")
        diff.append(a - b)
    return discounted_income(
        "with_and_without",
        diff,
        list(cash_flow_with),
        tax_rate=tax_rate,
        discount_rate=discount_rate,
        life_years=life_years,
        mid_year=mid_year,
        shape=shape,
        tab_amortisation_years=tab_amortisation_years,
    )
