"""Programme parts beside the risk shares: the insurer's premium income and the subsidies' budgets.

For each year y of the horizon a loan still in its term pays (and draws subsidies on) the amounts
below if it has not defaulted before; with constant hazard λ = −ln(1 − PD) it is alive at the start
of year y with probability S(y) = (1 − PD)^y and through the year with S(y + 1):

* insurance premium (保费) — ``premium_rate`` × EAD, paid in advance: weight S(y);
* interest subsidy (贴息) — ``rate`` × interest rate × EAD for the year's interest: weight S(y + 1);
* guarantee-fee and premium subsidies — ``rate`` × the fee, paid in advance: weight S(y);
* appraisal-fee subsidy (评估费补贴) — ``rate`` × the appraisal fee, once, at origination (year 0).

Each loan's draw is capped at ``max_per_loan_cny`` a year; the year's total demand is set against the
subsidy's ``annual_budget_cny``: paid = min(demand, budget), and the budget is exhausted in a year whose
expected demand exceeds it. Figures are expectations over defaults (the demand moves with defaults only
by the defaulted loans' small part); amounts are CNY floats, statistics only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from risk_sharing.rules import Rule, SubsidyKind
from risk_sharing.simulator.book import RiskBook


@dataclass(frozen=True)
class SubsidyUse:
    """Expected use of one subsidy's budget per year (CNY; ``budget`` is ``inf`` when unlimited)."""

    key: str
    kind: str
    payer: str
    budget: float
    demand_by_year: tuple[float, ...]
    paid_by_year: tuple[float, ...]
    exhausted_by_year: tuple[bool, ...]

    @property
    def first_exhausted_year(self) -> int | None:
        """First year (0 = the first) whose expected demand exceeds the budget, ``None`` if none."""
        return next((y for y, e in enumerate(self.exhausted_by_year) if e), None)


@dataclass(frozen=True)
class ProgrammeCost:
    """The insurer's expected premium income and each subsidy's expected budget use, by year (CNY)."""

    insurer: str | None
    premium_rate: float | None
    premium_by_year: tuple[float, ...]
    subsidies: tuple[SubsidyUse, ...]

    def subsidy(self, key: str) -> SubsidyUse:
        for s in self.subsidies:
            if s.key == key:
                return s
        raise KeyError(key)


def _needed(values: np.ndarray | None, name: str, key: str) -> np.ndarray:
    if values is None:  # RiskBook.__post_init__ fills every optional array
        raise ValueError(f"{name}: needed per loan for subsidy '{key}' but the book has none")
    if np.any(np.isnan(values)):
        raise ValueError(f"{name}: needed per loan for subsidy '{key}' (NaN = unknown)")
    return values


def programme_cost(rule: Rule, book: RiskBook, years: int = 1) -> ProgrammeCost:
    """Expected premium income and subsidy budget use of the rule's programme over ``years`` (module doc).

    Only eligible loans take part. Raises ``ValueError`` naming the book field a subsidy needs but lacks.

    Examples
    --------
    >>> from risk_sharing.presets import load_preset
    >>> from risk_sharing.simulator import homogeneous_book
    >>> rule = load_preset("loan-guarantee-insurance")
    >>> book = homogeneous_book(10, 1e6, 0.0, 0.1, 8e5)
    >>> book = RiskBook(**{**book.__dict__, "interest_rate": np.full(10, 0.04), "appraisal_fee": np.full(10, 2e4)})
    >>> cost = programme_cost(rule, book)
    >>> cost.premium_by_year  # 1% of 10 × 1M
    (100000.0,)
    >>> cost.subsidy("interest_subsidy").demand_by_year  # half of 4% interest on 10 × 1M
    (200000.0,)
    """
    if years < 1:
        raise ValueError("years: must be at least 1")
    terms = book.terms(years)
    lam_survive = 1.0 - book.annual_pd
    ead = book.ead * book.eligible
    premium_rate = float(rule.insurance.premium_rate) if rule.insurance is not None else None
    premium = []
    alive_start, alive_end = [], []
    for y in range(years):
        live = terms > y
        alive_start.append(np.where(live, lam_survive**y, 0.0))
        alive_end.append(np.where(live, lam_survive ** (y + 1), 0.0))
        premium.append(float(np.sum(ead * premium_rate * alive_start[y])) if premium_rate is not None else 0.0)

    uses = []
    for s in rule.subsidies:
        rate = float(s.rate)
        cap = math.inf if s.max_per_loan_cny is None else float(s.max_per_loan_cny)
        budget = math.inf if s.annual_budget_cny is None else float(s.annual_budget_cny)
        demand = []
        for y in range(years):
            if s.kind is SubsidyKind.INTEREST:
                per_loan, weight = ead * _needed(book.interest_rate, "interest_rate", s.key), alive_end[y]
            elif s.kind is SubsidyKind.GUARANTEE_FEE:
                per_loan, weight = ead * _needed(book.guarantee_fee_rate, "guarantee_fee_rate", s.key), alive_start[y]
            elif s.kind is SubsidyKind.INSURANCE_PREMIUM:
                if premium_rate is None:
                    raise ValueError(f"subsidies: '{s.key}' subsidises a premium but the rule has no insurance")
                per_loan, weight = ead * premium_rate, alive_start[y]
            else:
                fee = _needed(book.appraisal_fee, "appraisal_fee", s.key) * book.eligible
                per_loan, weight = fee, (np.ones(book.n) if y == 0 else np.zeros(book.n))
            demand.append(float(np.sum(np.minimum(rate * per_loan, cap) * weight)))
        uses.append(SubsidyUse(
            s.key, str(s.kind), s.payer, budget, tuple(demand), tuple(min(d, budget) for d in demand),
            tuple(d > budget for d in demand),
        ))
    return ProgrammeCost(
        rule.insurance.party if rule.insurance is not None else None, premium_rate, tuple(premium), tuple(uses)
    )


__all__ = ["ProgrammeCost", "SubsidyUse", "programme_cost"]
