"""The rule-cost simulator's inputs: a loan book as arrays (:class:`RiskBook`), the Vasicek test pool,
a lognormal fitted to a valuation Monte Carlo, the closed-form expected loss at default, and each loan's
eligibility under a rule by the engine's own checks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from scipy.special import ndtr

from risk_sharing.claims import Claim, Loan
from risk_sharing.engine import loan_eligibility_checks
from risk_sharing.rules import Rule

QUANTILE_LEVELS = (0.95, 0.99, 0.999)
"""Quantiles reported for every party's payout and net cost."""

DRAW_NORMALS = 500_000
"""Latent normals drawn at a time inside a chunk (about 4 MB, stays in cache); a chunk of more paths draws
its defaults in batches of ⌈DRAW_NORMALS / loans⌉ paths, then runs the rule over all its defaults at once."""

CHUNK_PATHS = 256
"""Default paths per chunk when every claim is split at once (at least one draw batch)."""

SEQUENTIAL_CHUNK_PATHS = 2_048
"""Default paths per chunk for the rank-by-rank path (its loop is over claim ranks, so wider is cheaper)."""

PER_LOAN_BATCH = 16
"""With per-loan statistics, chunks are mapped in batches of this many and reduced after each batch."""


def _draw_batch(n_loans: int) -> int:
    return max(1, DRAW_NORMALS // max(n_loans, 1))


def _arr(value: object, n: int, name: str, dtype: type = float) -> np.ndarray:
    a: np.ndarray = np.asarray(value, dtype=dtype)
    if a.ndim == 0:
        a = np.full(n, a.item(), dtype=dtype)
    if a.shape != (n,):
        raise ValueError(f"{name}: must have one entry per loan ({n})")
    return a


@dataclass(frozen=True)
class RiskBook:
    """A loan book for the rule-cost simulator, as arrays with one entry per loan.

    Money in CNY floats (statistics only), rates as annual fractions, times in years.
    ``None`` fields take the documented defaults in ``__post_init__``.

    Parameters
    ----------
    ead : outstanding principal at default (违约风险暴露), CNY; bullet until the term ends.
    annual_pd : annual probability of default (违约概率), in [0, 1).
    rho : asset correlation with the loan's sector factor, in [0, 1).
    collateral_median, collateral_sigma : lognormal value of the pledged IP at disposal
        (median CNY, σ of its log; σ = 0 for a known value).
    disposal_cost : disposal costs (处置费用) as a fraction of the collateral value.
    recovery_years : years from default to the recovery (处置周期).
    eligible : loan qualifies under the rule (default all; see :func:`eligibility_under_rule`).
    term_years : whole years to maturity, ≥ 1 (default: the simulation horizon).
    sector : factor index per loan into ``factor_correlation`` (default 0: one factor).
    factor_correlation : K×K correlation of the sector factors.
    borrower, lender : integer ids for per-borrower / per-lender caps (default: one borrower
        per loan, one lender).
    interest_at_default : unpaid interest at default, CNY (default 0).
    ip_pledged_share : share of the loan secured by pledged IP (default 1).
    guarantee_fee_rate : 担保费率 charged, annual fraction (default NaN: unknown).
    collateral_worthless_prob : probability the pledged IP is worth nothing at disposal
        (e.g. invalidated), default 0.
    discount_rate : annual rate discounting recoveries to the default date and fees/losses to
        origination.
    interest_rate : the loan's annual interest rate (default NaN: unknown; needed for 贴息).
    appraisal_fee : the valuation fee paid at origination, CNY (default NaN: unknown; needed for
        appraisal-fee subsidies).
    """

    ead: np.ndarray
    annual_pd: np.ndarray
    rho: np.ndarray
    collateral_median: np.ndarray
    collateral_sigma: np.ndarray
    disposal_cost: np.ndarray
    recovery_years: np.ndarray
    eligible: np.ndarray | None = None
    term_years: np.ndarray | None = None
    sector: np.ndarray | None = None
    factor_correlation: np.ndarray = field(default_factory=lambda: np.ones((1, 1)))
    borrower: np.ndarray | None = None
    lender: np.ndarray | None = None
    interest_at_default: np.ndarray | None = None
    ip_pledged_share: np.ndarray | None = None
    guarantee_fee_rate: np.ndarray | None = None
    collateral_worthless_prob: np.ndarray | None = None
    discount_rate: float = 0.0
    interest_rate: np.ndarray | None = None
    appraisal_fee: np.ndarray | None = None

    def __post_init__(self) -> None:
        ead = np.asarray(self.ead, dtype=float)
        if ead.ndim != 1 or ead.size == 0:
            raise ValueError("ead: must be a non-empty one-dimensional array (CNY per loan)")
        n = ead.size
        fix = object.__setattr__
        fix(self, "ead", ead)
        for name in ("annual_pd", "rho", "collateral_median", "collateral_sigma", "disposal_cost", "recovery_years"):
            fix(self, name, _arr(getattr(self, name), n, name))
        defaults: dict[str, tuple[object, type]] = {
            "eligible": (True, bool),
            "sector": (0, np.int64),
            "borrower": (np.arange(n), np.int64),
            "lender": (0, np.int64),
            "interest_at_default": (0.0, float),
            "ip_pledged_share": (1.0, float),
            "guarantee_fee_rate": (np.nan, float),
            "collateral_worthless_prob": (0.0, float),
            "interest_rate": (np.nan, float),
            "appraisal_fee": (np.nan, float),
        }
        for name, (default, dtype) in defaults.items():
            value = getattr(self, name)
            fix(self, name, _arr(default if value is None else value, n, name, dtype))
        if self.term_years is not None:
            fix(self, "term_years", _arr(self.term_years, n, "term_years", np.int64))
        fix(self, "factor_correlation", np.atleast_2d(np.asarray(self.factor_correlation, dtype=float)))
        if not np.all(np.isfinite(ead)) or np.any(ead < 0):
            raise ValueError("ead: must be finite and non-negative (CNY)")
        if np.any((self.annual_pd < 0) | (self.annual_pd >= 1)) or not np.all(np.isfinite(self.annual_pd)):
            raise ValueError("annual_pd: must be in [0, 1)")
        if np.any((self.rho < 0) | (self.rho >= 1)):
            raise ValueError("rho: must be in [0, 1)")
        if np.any(self.collateral_median < 0) or np.any(self.collateral_sigma < 0):
            raise ValueError("collateral_median, collateral_sigma: must be non-negative")
        for name in ("disposal_cost", "ip_pledged_share", "collateral_worthless_prob"):
            a = getattr(self, name)
            if np.any((a < 0) | (a > 1)):
                raise ValueError(f"{name}: must be a fraction in [0, 1]")
        for name in ("interest_rate", "appraisal_fee"):
            if np.any(getattr(self, name) < 0):
                raise ValueError(f"{name}: must be non-negative (NaN for unknown)")
        assert self.interest_at_default is not None and self.borrower is not None  # set above
        assert self.lender is not None and self.sector is not None  # set above
        if np.any(self.recovery_years < 0) or np.any(self.interest_at_default < 0):
            raise ValueError("recovery_years, interest_at_default: must be non-negative")
        if self.term_years is not None and np.any(self.term_years < 1):
            raise ValueError("term_years: must be at least 1 (whole years)")
        if np.any(self.borrower < 0) or np.any(self.lender < 0):
            raise ValueError("borrower, lender: must be non-negative integer ids")
        k = self.factor_correlation.shape[0]
        if self.factor_correlation.shape != (k, k) or np.any(self.sector < 0) or np.any(self.sector >= k):
            raise ValueError("factor_correlation: must be square and cover every sector index")
        try:
            np.linalg.cholesky(self.factor_correlation)
        except np.linalg.LinAlgError as exc:
            raise ValueError("factor_correlation: must be positive definite") from exc
        if not (math.isfinite(self.discount_rate) and -1 < self.discount_rate < 1):
            raise ValueError("discount_rate: must be an annual fraction in (-1, 1)")

    @property
    def n(self) -> int:
        return int(self.ead.size)

    @property
    def exposure(self) -> np.ndarray:
        """Principal + unpaid interest at default, CNY."""
        return self.ead + self.interest_at_default  # type: ignore[operator]

    def terms(self, years: int) -> np.ndarray:
        """Whole years each loan is simulated: min(term, horizon)."""
        t = np.full(self.n, years) if self.term_years is None else np.minimum(self.term_years, years)
        return t.astype(np.int64)


def homogeneous_book(
    n: int,
    ead: float,
    annual_pd: float,
    rho: float,
    collateral_median: float,
    collateral_sigma: float = 0.0,
    disposal_cost: float = 0.0,
    recovery_years: float = 0.0,
    discount_rate: float = 0.0,
    guarantee_fee_rate: float = float("nan"),
) -> RiskBook:
    """``n`` identical loans (CNY, annual fractions, years) — the Vasicek test pool.

    Examples
    --------
    >>> homogeneous_book(3, 5e6, 0.02, 0.15, 4e6).n
    3
    """
    return RiskBook(
        ead=np.full(n, float(ead)), annual_pd=np.full(n, annual_pd), rho=np.full(n, rho),
        collateral_median=np.full(n, collateral_median), collateral_sigma=np.full(n, collateral_sigma),
        disposal_cost=np.full(n, disposal_cost), recovery_years=np.full(n, recovery_years),
        guarantee_fee_rate=np.full(n, guarantee_fee_rate), discount_rate=discount_rate,
    )


def lognormal_collateral_from_values(values: np.ndarray) -> tuple[float, float, float]:
    """(median CNY, σ, probability of zero) of a collateral value sample, e.g. ``MCResult.values``
    of a valuation Monte Carlo: the lognormal fitted to the positive values by the moments of their
    logarithm, and the share of worthless paths (failed commercialisation, invalidation).

    Examples
    --------
    >>> m, s, p0 = lognormal_collateral_from_values(np.array([0.0, 1.0, np.e, np.e ** 2]))
    >>> round(m, 4), round(s, 4), p0
    (2.7183, 1.0, 0.25)
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError("values: must be a non-empty sample of finite, non-negative CNY values")
    pos = v[v > 0]
    p0 = 1.0 - pos.size / v.size
    if pos.size == 0:
        return 0.0, 0.0, 1.0
    logs = np.log(pos)
    return float(np.exp(logs.mean())), float(logs.std(ddof=1)) if pos.size > 1 else 0.0, float(p0)


def expected_loss_given_default(
    exposure: float,
    collateral_median: float,
    collateral_sigma: float,
    disposal_cost: float = 0.0,
    recovery_years: float = 0.0,
    discount_rate: float = 0.0,
    worthless_prob: float = 0.0,
) -> float:
    """Closed-form expected economic loss at default, CNY: E − d·E[min(R, E)].

    R = V·(1 − disposal cost) with V lognormal (median, σ) or 0 with ``worthless_prob``;
    d = (1 + r)^−recovery_years. E[min(R, E)] = E[R] − E[(R − E)⁺], the last term by the
    Black (1976) formula F·Φ(d₁) − E·Φ(d₂), F = E[R], d₁ = (ln(F/E) + σ²/2)/σ, d₂ = d₁ − σ.
    LGD = result / exposure.

    Examples
    --------
    >>> expected_loss_given_default(100.0, 80.0, 0.0, disposal_cost=0.25)
    40.0
    >>> round(expected_loss_given_default(100.0, 100.0, 0.4), 4)  # E[(E − V)⁺], median = exposure
    12.6723
    """
    e = float(exposure)
    if e <= 0:
        return 0.0
    k = collateral_median * (1.0 - disposal_cost)
    if collateral_sigma == 0 or k == 0:
        capped = min(k, e)
    else:
        s = collateral_sigma
        f = k * math.exp(0.5 * s * s)
        d1 = (math.log(f / e) + 0.5 * s * s) / s
        call = f * float(ndtr(d1)) - e * float(ndtr(d1 - s))
        capped = f - call
    d = (1.0 + discount_rate) ** (-recovery_years)
    return e - d * (1.0 - worthless_prob) * capped


def eligibility_under_rule(rule: Rule, loans: Sequence[Loan]) -> np.ndarray:
    """Whether each loan meets the rule's eligibility predicates (in force at origination, single-borrower
    cap, fee cap, guarantee, firm size/tier, sector, years registered, IP-pledged share), by the engine's own
    checks; claim-level checks (trigger, deadline, documents) are outside the simulation.

    Examples
    --------
    >>> from datetime import date
    >>> from decimal import Decimal
    >>> from risk_sharing.presets import load_preset
    >>> rule = load_preset("chongqing-4222")
    >>> ok = Loan(loan_id="a", borrower_id="b", origination_date=date(2024, 1, 1), principal_fen=500_000_000,
    ...           guarantee_fee_rate="0.012", guaranteed=True)
    >>> dear = ok.model_copy(update={"guarantee_fee_rate": Decimal("0.02")})
    >>> eligibility_under_rule(rule, [ok, dear]).tolist()
    [True, False]
    """
    out = np.zeros(len(loans), dtype=bool)
    for i, loan in enumerate(loans):
        day: date = loan.origination_date
        claim = Claim(
            claim_id="simulated", loan_id=loan.loan_id, default_date=day, filed_on=day,
            outstanding_principal_fen=loan.principal_fen, documents=rule.eligibility.required_documents,
        )
        out[i] = all(c.passed for c in loan_eligibility_checks(rule, claim, loan))
    return out

