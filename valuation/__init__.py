"""IP valuation engine (知识产权价值评估): pure, vectorised, typed.

Modules: ``assets`` (IP types, legal terms), ``income`` (relief from royalty, 分成率, 约当投资分成,
excess earnings, with-and-without, discount build-up), ``market``, ``cost``, ``scoring``
(GB/T 42748-2023 indicator score), ``montecarlo`` (chunked, seeded simulation), ``real_option``
(QuantLib via ``ipfin.ql`` and a fast MC pricer), ``reconcile`` (weights, tornado), ``report``
(JSON / bilingual HTML), ``engine`` (``value_asset(ValuationRequest) -> ValuationResult``),
``batch`` and ``cli`` (``ipfin value``).

The public surface, for notebooks: the income approaches take plain numbers (a revenue list in
CNY, rates as fractions) and return an :class:`~valuation.income.IncomeValue` whose ``value`` is
the CNY value and ``flows`` the year-by-year table; :func:`value_asset` runs a whole request.

Examples
--------
>>> from valuation import relief_from_royalty
>>> v = relief_from_royalty([1_000_000, 1_100_000, 1_200_000], 0.05, tax_rate=0.25, discount_rate=0.12,
...                         life_years=3)
>>> round(v.value, 2)  # 37,500/1.12 + 41,250/1.12² + 45,000/1.12³
98396.5
>>> [round(f.present_value, 2) for f in v.flows]
[33482.14, 32884.25, 32030.11]
"""

from valuation.engine import value_asset
from valuation.income import (
    IncomeValue,
    excess_earnings,
    profit_share_value,
    relief_from_royalty,
    with_and_without,
)
from valuation.request import ValuationRequest
from valuation.result import ValuationResult

__all__ = [
    "IncomeValue",
    "ValuationRequest",
    "ValuationResult",
    "excess_earnings",
    "profit_share_value",
    "relief_from_royalty",
    "value_asset",
    "with_and_without",
]
