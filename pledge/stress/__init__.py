"""Collateral stress test (押品压力测试) of a pledge book: named scenarios and a correlated Monte Carlo.

**Deterministic scenarios** (:func:`apply_scenario`), shipped as data in
``pledge/data/stress_scenarios.json`` (every number labelled as an assumption or sourced, with
its rationale): a relative value shock per IP type, then one per borrower industry (GB/T 4754
section; the rest get ``other_industries_shock``), then invalidation — a share of the rights
of each IP type loses all value. Money is exact integer fen:

* stressed value = ⌊⌊V · (1 + s_type)⌋ · (1 + s_industry)⌋ (each step rounded down to the fen,
  the prudent side for collateral); shocks and LTV parameters are whole basis points, so every
  step is integer arithmetic; an invalidated right is worth 0.
* breach: balance > trigger × stressed value (exact, ``balance · 10000 > trigger_bp · V``).
* margin call (追加担保/提前还款 amount): for a breaching loan, balance − ⌊max LTV × stressed value⌋,
  the repayment (or the extra lendable collateral) that brings the LTV back to the policy's
  maximum pledge rate; 0 otherwise.
* expected loss = PD × (balance − ⌊recovery rate × stressed value⌋)⁺ — LGD from the shocked
  collateral — with the stressed PD = min(1, PD × ``pd_multiplier``); rounded half-even to the
  fen (a statistic, since PD is one).
* provision (贷款损失准备) = balance × five-class rate, rounded half-up to the fen; the stressed
  class is the worse of the current class and the floor the stressed collateral sets (a breach →
  at least 关注; collateral worth 0 → at least 次级, see the JSON). The same floors are applied at
  current values for the "before" provision, so the change isolates the shock and a zero-shock
  scenario changes nothing. Rates: 银发〔2002〕98号 (1 / 2 / 25 / 50 / 100 %).

Totals per bank or per region (GB/T 2260 code prefix: 2 digits province, 4 digits city) are
integer sums, so the groups add up to the book total exactly (:func:`aggregate`).

**Monte Carlo** (:func:`run_stress_mc`): lognormal value factors with one systematic factor,
one factor per IP type and one per industry,

    ln(V₁/V₀)ᵢ = μᵢ + σᵢ (a_s Z + a_t Z_type(i) + a_g Z_industry(i) + a_e εᵢ),
    a_e = √(1 − a_s² − a_t² − a_g²),  μᵢ = ln(1 + m) − σᵢ²/2  so that E[V₁/V₀] = 1 + m,

``N`` scenarios, seeded, cut into chunks of scenarios run through :mod:`ipfin.executor`
(same seed → same answer in-process or on Dask). Within a chunk of ``s`` scenarios the draws
are, in this order: Z (s), Z_type (s × number of IP types), Z_industry (s × number of
industries), ε (s × loans). Output: the distribution of total margin calls and expected loss
(mean with SE, quantiles with SE), P(breach) per loan with its SE, and the mean margin call and
expected loss per loan. Floats are statistics; money outputs are rounded to fen.

The package is split by concern (``scenarios``, ``book``, ``deterministic``, ``monte_carlo``);
every public name is re-exported here.
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the doctests' globals)

from pledge.stress.book import (
    CollateralBook,
)
from pledge.stress.deterministic import (
    GroupTotals,
    StressResult,
    aggregate,
    apply_scenario,
)
from pledge.stress.monte_carlo import (
    MCGroup,
    MoneyDistribution,
    Quantile,
    ShockFactorModel,
    StressMCResult,
    aggregate_mc,
    default_chunk_size,
    draw_log_factors,
    run_stress_mc,
    summarise_distribution,
)
from pledge.stress.scenarios import (
    BP,
    SCENARIOS_PATH,
    Assumption,
    StressParameters,
    StressScenario,
    load_scenarios,
)

__all__ = [
    "BP",
    "SCENARIOS_PATH",
    "Assumption",
    "CollateralBook",
    "GroupTotals",
    "MCGroup",
    "MoneyDistribution",
    "Quantile",
    "ShockFactorModel",
    "StressMCResult",
    "StressParameters",
    "StressResult",
    "StressScenario",
    "aggregate",
    "aggregate_mc",
    "apply_scenario",
    "default_chunk_size",
    "draw_log_factors",
    "load_scenarios",
    "run_stress_mc",
    "summarise_distribution",
]

# doctest.testmod(this package) only looks at objects defined here; list the re-exported ones
__test__ = {
    name: globals()[name]
    for name in (
        "load_scenarios",
        "apply_scenario",
        "draw_log_factors",
        "run_stress_mc",
    )
}
