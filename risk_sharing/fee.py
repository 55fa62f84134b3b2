"""Risk-based guarantee fee (风险定价担保费率): the break-even fee rate of each party.

For a loan or a cohort the break-even annual fee rate of party p, on the guaranteed amount G
(the loan principal, bullet), over the guarantee term T (whole years, fee paid yearly in
advance, annuity factor A = Σ_{t=0}^{T−1} (1 + r)^−t) is

    f_p = PV(expected net loss share of p) / (G·A) + operating cost rate_p
          + cost of capital × (Q_α(loss of p) − E[loss of p]) / G

— expected loss share plus costs plus, optionally, a capital charge: capital is the
unexpected loss at confidence α (the α-quantile of the party's loss over the term less its
mean), held over the term at the annual cost of capital. The PV discounts each loss from the
default time τ to origination at the book's discount rate; losses are net of recoveries
(see :mod:`risk_sharing.simulator`). For a cohort, capital is allocated to loans pro rata to
their expected loss (a stated simplification, not an Euler allocation).

The fee parties are those paid out of the guarantee fee chain — by default every party that
is not a bank (the guarantor collects the fee and pays re-guarantee and fund fees from it) —
and their summed break-even rate is set beside the rule's fee cap (Chongqing 4:2:2:2: 1.5%,
``eligibility.max_guarantee_fee_rate``): a loan is under-priced by the cap when its
break-even rate exceeds it; the gap is reported as a rate and in CNY a year.

Closed form (:func:`break_even_fee_rate`) for a single loan, constant hazard λ = −ln(1 − PD),
deterministic LGD: PV EL / G = LGD × share × λ/(λ + δ) × (1 − e^{−(λ+δ)T}), δ = ln(1 + r) —
which is PD × LGD × share for one year at r = 0 — and Q_α = LGD × share if the term default
probability 1 − (1 − PD)^T exceeds 1 − α, else 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from risk_sharing.rules import PartyRole, Rule
from risk_sharing.simulator import RiskBook, RuleCost, quantile_with_se


def annuity_factor(term_years: int, discount_rate: float = 0.0) -> float:
    """Σ_{t=0}^{T−1} (1 + r)^−t: PV of 1 CNY a year paid in advance for T years.

    Examples
    --------
    >>> annuity_factor(1, 0.05), round(annuity_factor(3, 0.05), 6)
    (1.0, 2.85941)
    """
    if term_years < 1:
        raise ValueError("term_years: must be at least 1")
    return float(sum((1.0 + discount_rate) ** -t for t in range(int(term_years))))


def break_even_fee_rate(
    annual_pd: float,
    lgd: float,
    share: float = 1.0,
    *,
    term_years: int = 1,
    discount_rate: float = 0.0,
    operating_cost_rate: float = 0.0,
    confidence: float | None = None,
    cost_of_capital: float = 0.0,
) -> float:
    """Closed-form break-even annual fee rate for one loan (module doc for the assumptions).

    ``annual_pd`` and ``lgd`` (economic loss at default ÷ exposure, net of discounted recoveries) as
    fractions; ``share`` the party's share of the loss (0.4 for the guarantor under 4:2:2:2).

    Examples
    --------
    >>> break_even_fee_rate(0.02, 0.5, 0.4)  # PD × LGD × share
    0.004
    >>> round(break_even_fee_rate(0.02, 0.5, 0.4, operating_cost_rate=0.005), 6)
    0.009
    >>> round(break_even_fee_rate(0.02, 0.5, 0.4, confidence=0.99, cost_of_capital=0.1), 6)  # + 10% × (0.2 − 0.004)
    0.0236
    """
    for name, v in (("annual_pd", annual_pd), ("lgd", lgd), ("share", share)):
        if not 0 <= v <= 1:
            raise ValueError(f"{name}: must be a fraction in [0, 1]")
    if annual_pd >= 1:
        raise ValueError("annual_pd: must be below 1")
    lam = -math.log1p(-annual_pd)
    delta = math.log1p(discount_rate)
    a = annuity_factor(term_years, discount_rate)
    rate = lam + delta
    pv_default = 0.0 if rate == 0 else lam / rate * -math.expm1(-rate * term_years)
    loss = lgd * share
    fee = loss * pv_default / a + operating_cost_rate
    if confidence is not None and cost_of_capital:
        pd_term = 1.0 - (1.0 - annual_pd) ** term_years
        q = loss if pd_term > 1.0 - confidence else 0.0
        fee += cost_of_capital * (q - loss * pd_term)
    return fee


@dataclass(frozen=True)
class PartyFee:
    """Cohort break-even annual fee rate of one party and its parts (fractions of the guaranteed amount)."""

    key: str
    expected_loss_rate: float
    operating_cost_rate: float
    capital_rate: float
    break_even_rate: float
    break_even_rate_se: float


@dataclass(frozen=True)
class FeeAssessment:
    """Break-even fees of a cohort and of each loan, beside the rule's fee cap (annual fractions).

    Per-loan arrays (loans × parties): ``loan_rate`` and ``loan_rate_se`` (expected-loss part's SE);
    per loan: ``loan_total_rate`` over ``fee_parties``, ``under_priced`` (total > cap), ``gap_rate``
    (total − cap, ≥ 0) and ``gap_cny_per_year`` (gap × guaranteed amount). ``charged_rate`` is the
    book's guarantee fee rate (NaN if unknown).
    """

    rule_id: str
    fee_cap: float | None
    confidence: float | None
    parties: tuple[str, ...]
    fee_parties: tuple[str, ...]
    cohort: tuple[PartyFee, ...]
    cohort_total_rate: float
    cohort_total_rate_se: float
    loan_rate: np.ndarray = field(repr=False)
    loan_rate_se: np.ndarray = field(repr=False)
    loan_total_rate: np.ndarray = field(repr=False)
    under_priced: np.ndarray = field(repr=False)
    gap_rate: np.ndarray = field(repr=False)
    gap_cny_per_year: np.ndarray = field(repr=False)
    charged_rate: np.ndarray = field(repr=False)

    def party(self, key: str) -> PartyFee:
        for p in self.cohort:
            if p.key == key:
                return p
        raise KeyError(key)

    @property
    def under_priced_share(self) -> float:
        """Share of the loans whose break-even rate exceeds the cap."""
        return float(np.mean(self.under_priced))


def _per_party(value: float | Mapping[str, float], keys: Sequence[str], name: str) -> np.ndarray:
    if isinstance(value, Mapping):
        for k in value:
            if k not in keys:
                raise ValueError(f"{name}: '{k}' is not a party key")
        return np.array([float(value.get(k, 0.0)) for k in keys])
    return np.full(len(keys), float(value))


def break_even_fees(
    rule: Rule,
    book: RiskBook,
    cost: RuleCost,
    *,
    operating_cost_rate: float | Mapping[str, float] = 0.0,
    confidence: float | None = None,
    cost_of_capital: float = 0.0,
    fee_cap: float | None = None,
    fee_parties: Sequence[str] | None = None,
) -> FeeAssessment:
    """Break-even fee rates of a cohort and of each loan from a simulation run with ``per_loan=True``.

    ``operating_cost_rate``: annual rate on the guaranteed amount, one for all parties or by party key
    (parties not named: 0). ``confidence``/``cost_of_capital``: capital charge (none if ``confidence`` is
    None). ``fee_cap``: default the rule's ``eligibility.max_guarantee_fee_rate``. ``fee_parties``: default
    every non-bank party. The guarantee term of each loan is min(term, simulated years).
    """
    if cost.loan_pv_net_cost is None or cost.loan_pv_net_cost_se is None:
        raise ValueError("cost: simulate with per_loan=True to price loans")
    if cost.rule_id != rule.id or cost.parties != rule.party_keys:
        raise ValueError("cost: simulated under another rule")
    if cost.loan_pv_net_cost.shape[0] != book.n:
        raise ValueError("book: not the book that was simulated")
    if confidence is not None and not 0 < confidence < 1:
        raise ValueError("confidence: must be in (0, 1)")
    keys = rule.party_keys
    chosen = tuple(fee_parties) if fee_parties is not None else tuple(
        p.key for p in rule.parties if p.role is not PartyRole.BANK
    )
    for k in chosen:
        if k not in keys:
            raise ValueError(f"fee_parties: '{k}' is not a party key")
    if fee_cap is None and rule.eligibility.max_guarantee_fee_rate is not None:
        fee_cap = float(rule.eligibility.max_guarantee_fee_rate)
    ops = _per_party(operating_cost_rate, keys, "operating_cost_rate")
    r = book.discount_rate
    terms = book.terms(cost.years)
    ann = np.array([annuity_factor(int(t), r) for t in terms])
    g = book.ead
    fee_base = float(np.sum(g * ann))
    total_g = float(np.sum(g))
    if fee_base <= 0:
        raise ValueError("book: no guaranteed amount to charge a fee on")

    el_loan = cost.loan_pv_net_cost  # loans × parties, CNY PV
    cohort: list[PartyFee] = []
    cap_rate = np.zeros(len(keys))
    total_paths = np.zeros(cost.n_paths)
    total_q_var = 0.0
    for j, k in enumerate(keys):
        per_path = cost.pv_net_cost[:, j] / fee_base
        cap_j = 0.0
        q_se = 0.0
        if confidence is not None and cost_of_capital:
            q = quantile_with_se(cost.net_cost[:, j], confidence)
            cap_j = cost_of_capital * (q.value - float(cost.net_cost[:, j].mean())) / total_g
            per_path = per_path - cost_of_capital * cost.net_cost[:, j] / total_g
            q_se = cost_of_capital * q.se / total_g
        cap_rate[j] = cap_j
        el_rate = float(cost.pv_net_cost[:, j].mean()) / fee_base
        se = math.sqrt(float(per_path.var(ddof=1)) / cost.n_paths + q_se**2)
        cohort.append(PartyFee(k, el_rate, float(ops[j]), cap_j, el_rate + float(ops[j]) + cap_j, se))
        if k in chosen:
            total_paths += per_path
            total_q_var += q_se**2

    with np.errstate(divide="ignore", invalid="ignore"):
        denom = (g * ann)[:, None]
        loan_el = np.where(denom > 0, el_loan / denom, 0.0)
        loan_se = np.where(denom > 0, cost.loan_pv_net_cost_se / denom, 0.0)
        el_tot = el_loan.sum(axis=0)
        weight = np.where(el_tot[None, :] > 0, el_loan / el_tot[None, :], 0.0)
        loan_cap = np.where(g[:, None] > 0, weight * (cap_rate * total_g)[None, :] / g[:, None], 0.0)
    loan_rate = loan_el + ops[None, :] + loan_cap
    idx = [keys.index(k) for k in chosen]
    loan_total = loan_rate[:, idx].sum(axis=1)
    cohort_total = sum(cohort[j].break_even_rate for j in idx)
    if fee_cap is None:
        under = np.zeros(book.n, dtype=bool)
        gap = np.zeros(book.n)
    else:
        under = loan_total > fee_cap
        gap = np.maximum(loan_total - fee_cap, 0.0)
    return FeeAssessment(
        rule.id, fee_cap, confidence, keys, chosen, tuple(cohort), float(cohort_total),
        math.sqrt(float(total_paths.var(ddof=1)) / cost.n_paths + total_q_var),
        loan_rate, loan_se, loan_total, under, gap, gap * g, np.asarray(book.guarantee_fee_rate, dtype=float),
    )


__all__ = ["FeeAssessment", "PartyFee", "annuity_factor", "break_even_fee_rate", "break_even_fees"]
