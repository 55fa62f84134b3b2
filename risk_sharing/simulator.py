"""Rule-cost simulator (风险补偿规则成本模拟): what a risk-compensation rule will cost each payer.

A loan book (arrays, one entry per loan) is simulated over one year or several years of its
life; each scenario path runs every default through the rule and adds up what each party pays.

Model (per path):

* **Defaults** — one- or multi-factor Gaussian copula, drawn by
  :func:`securitization.credit.draw_copula_defaults` (the securitisation credit engine): loan i
  defaults before min(term_i, horizon) if X_i = √ρ_i·Y_sector(i) + √(1 − ρ_i)·ε_i < c_i, with
  constant hazard λ_i = −ln(1 − PD_i) from its annual PD; the default time is
  τ_i = −ln(1 − Φ(X_i))/λ_i years and the payout is booked in year ⌊τ_i⌋ (trigger and claim
  lags are not modelled).
* **Exposure** — bullet: outstanding principal ``ead`` (+ ``interest_at_default``) until the
  loan's term ends.
* **Collateral and recovery** — the pledged IP's value at disposal is lognormal (median,
  σ; e.g. fitted to a valuation Monte Carlo with :func:`lognormal_collateral_from_values`),
  worthless with probability ``collateral_worthless_prob`` (invalidation), drawn independently
  of the default factor. Net recovery R = value × (1 − disposal cost) arrives ``recovery_years``
  after default and is discounted to the default date at ``discount_rate``.
* **Rule** — ineligible loans stay outside the scheme. The loss base is the rule's basis
  (principal, principal + interest, IP-pledged part) capped per loan and per borrower per year;
  it is split with the engine's semantics (:func:`risk_sharing.splitting.split_loss`, module doc
  there): nominal shares, compensating parties limited by their own annual budgets
  (``caps.party_year_cny``) and fund balances, then by the aggregate compensation caps (per
  loan, per borrower per year and lifetime, per lender per year, payout-rate ceiling) shared
  pro rata, the shortfall per ``cap_overflow``. Claims are paid at default in time order, so a
  budget is used up by the earliest claims of the year. Recoveries go back to the parties per
  the rule's recovery policy (pro rata to what each paid, or priority parties first), never
  more than was paid; the surplus and the uncounted loss stay outside the scheme.

Three code paths give the same numbers (``RuleCost.method``): with no cumulative cap (budgets,
balances, per-borrower / per-lender / payout-rate caps) every claim is split at once
("vectorised"); when the cumulative caps are the per-borrower loss-base cap plus either party
budgets/balances or a single aggregate compensation cap, they are applied exactly as capped
running sums over the claims in time order ("running sums", :attr:`_RulePlan.running_sums`);
any other combination is processed rank by rank within each path, all paths of a chunk at once
("sequential"), which is exact for every cap but loops over the largest number of claims in a
path. A cap "binds" on a claim when it cuts the payment (for an aggregate cap: it is below the
demand and below every other aggregate cap).

Not modelled (documented simplifications): trigger/claim deadlines and lags (claims are paid
when the loan defaults, the year of default books the payout); amortisation (bullet exposure);
collateral values correlated with the default factor; recoveries credited back to a fund's
budget or balance; ``recovery.net_of_disposal_costs = False`` (recoveries are always net of
disposal costs here); the rule's risk fees (:func:`risk_sharing.splitting.risk_fee_fen`).
Amounts are CNY floats — statistics only; the exact fen split of a real claim is the engine's.
Per-path money differs from the engine's largest-remainder fen split by at most a few fen per
claim.

Work runs through :func:`ipfin.executor.run_chunked`: the same seed gives identical results
in-process and on Dask.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

import numpy as np
from scipy.special import ndtr, ndtri

from ipfin.executor import Chunk, Executor, InProcessExecutor, make_chunks
from ipfin.money import cny_to_fen
from risk_sharing.claims import Claim, Loan
from risk_sharing.engine import _eligibility_checks
from risk_sharing.rules import CapOverflow, LossBasis, RecoveryPolicyKind, Rule
from securitization.credit import draw_copula_defaults, obligor_classes

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


# --------------------------------------------------------------------------- inputs


def _draw_batch(n_loans: int) -> int:
    return max(1, DRAW_NORMALS // max(n_loans, 1))


def _arr(value: object, n: int, name: str, dtype: type = float) -> np.ndarray:
    a = np.asarray(value, dtype=dtype)
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
        out[i] = all(c.passed for c in _eligibility_checks(rule, claim, loan))
    return out


# --------------------------------------------------------------------------- rule as arrays


def _cny(value: Decimal | None) -> float:
    return math.inf if value is None else cny_to_fen(value) / 100.0


@dataclass(frozen=True)
class _RulePlan:
    """The rule's numbers as floats and indices for the vectorised split (CNY, fractions)."""

    keys: tuple[str, ...]
    shares: np.ndarray  # fractions, sum 1
    comp: np.ndarray  # indices of compensating parties
    residual: int
    pro_rata_overflow: bool
    basis: LossBasis
    base_per_loan: float
    base_per_borrower_year: float
    comp_per_loan: float
    comp_per_borrower_year: float
    comp_per_borrower_lifetime: float
    comp_per_lender_year: float
    party_year: np.ndarray  # per compensating party, inf if none
    party_balance: np.ndarray  # per compensating party, inf unless balance_limited
    payout_rate_ceiling: float
    recovery_priority: tuple[int, ...]

    @classmethod
    def from_rule(cls, rule: Rule, party_balance_cny: dict[str, float] | None) -> _RulePlan:
        keys = rule.party_keys
        comp_keys = rule.compensator_keys
        caps = rule.caps
        balances = party_balance_cny or {}
        pb = []
        for k in comp_keys:
            if rule.party(k).balance_limited:
                if k not in balances:
                    raise ValueError(f"party_balance_cny: balance of '{k}' is needed (balance_limited)")
                pb.append(float(balances[k]))
            else:
                pb.append(math.inf)
        for k in balances:
            if k not in comp_keys or not rule.party(k).balance_limited:
                raise ValueError(f"party_balance_cny: '{k}' is not a balance-limited compensating party")
        prio = (
            tuple(keys.index(k) for k in rule.recovery.priority)
            if rule.recovery.kind is RecoveryPolicyKind.PRIORITY
            else ()
        )
        return cls(
            keys=keys,
            shares=np.array([float(p.share) / 100.0 for p in rule.parties]),
            comp=np.array([keys.index(k) for k in comp_keys], dtype=np.int64),
            residual=keys.index(rule.residual_bearer),  # type: ignore[arg-type]
            pro_rata_overflow=rule.cap_overflow is CapOverflow.PRO_RATA_UNCAPPED,
            basis=rule.loss_base.basis,
            base_per_loan=_cny(caps.base_per_loan_cny),
            base_per_borrower_year=_cny(caps.base_per_borrower_year_cny),
            comp_per_loan=_cny(caps.compensation_per_loan_cny),
            comp_per_borrower_year=_cny(caps.compensation_per_borrower_year_cny),
            comp_per_borrower_lifetime=_cny(caps.compensation_per_borrower_lifetime_cny),
            comp_per_lender_year=_cny(caps.compensation_per_lender_year_cny),
            party_year=np.array([_cny(caps.party_year_cny.get(k)) for k in comp_keys]),
            party_balance=np.array(pb),
            payout_rate_ceiling=math.inf if caps.payout_rate_ceiling is None else float(caps.payout_rate_ceiling),
            recovery_priority=prio,
        )

    @property
    def running_sums(self) -> bool:
        """Whether the cumulative caps can be applied exactly by capped running sums in one pass: the loss-base
        cap per borrower, then either budgets/balances of parties (one each, residual-bearer overflow, no
        per-loan compensation cap) or one aggregate compensation cap — never both."""
        year, bal = self.party_year < math.inf, self.party_balance < math.inf
        aggs = sum(getattr(self, n) < math.inf for n in (
            "comp_per_borrower_year", "comp_per_borrower_lifetime", "comp_per_lender_year", "payout_rate_ceiling"))
        if np.any(year & bal) or (np.any(year | bal) and aggs) or aggs > 1:
            return False
        return not (np.any(year | bal) and (self.pro_rata_overflow or self.comp_per_loan < math.inf))

    @property
    def cumulative_caps(self) -> tuple[str, ...]:
        """Names of the caps that depend on earlier claims (budgets, balances, per-borrower/lender, ceiling)."""
        names = [f"party_year[{self.keys[j]}]" for j, v in zip(self.comp, self.party_year, strict=True) if v < math.inf]
        names += [f"fund_balance[{self.keys[j]}]" for j, v in zip(self.comp, self.party_balance, strict=True)
                  if v < math.inf]
        for name in ("base_per_borrower_year", "comp_per_borrower_year", "comp_per_borrower_lifetime",
                     "comp_per_lender_year", "payout_rate_ceiling"):
            if getattr(self, name) < math.inf:
                names.append(name.replace("comp_", "compensation_"))
        return tuple(names)


def _water_fill(target: np.ndarray, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Rows of ``target`` split pro rata to ``weights`` with part j ≤ caps[:, j] (what a capped part cannot
    take is re-spread over the others), as :func:`ipfin.money.allocate_capped` does in fen."""
    k, p = caps.shape
    parts = np.zeros((k, p))
    remaining = np.minimum(target, caps.sum(axis=1))
    active = (caps > 0) & (weights > 0)[None, :]
    for _ in range(p + 1):
        wa = np.where(active, weights[None, :], 0.0)
        sw = wa.sum(axis=1)
        live = (remaining > 0) & (sw > 0)
        if not live.any():
            break
        trial = np.where(live[:, None], remaining[:, None] * wa / np.where(sw > 0, sw, 1.0)[:, None], 0.0)
        over = active & (parts + trial > caps) & live[:, None]
        any_over = over.any(axis=1)
        done = live & ~any_over
        parts[done] += trial[done]
        remaining[done] = 0.0
        room = np.where(over, caps - parts, 0.0)
        remaining -= room.sum(axis=1)
        parts = np.where(over, caps, parts)
        active &= ~over
    left = remaining > 1e-9 * np.maximum(target, 1.0)
    if left.any():  # zero-weight parts that still have room, filled in order (as allocate_capped does)
        for j in range(p):
            take = np.where(left, np.minimum(caps[:, j] - parts[:, j], remaining), 0.0)
            parts[:, j] += take
            remaining -= take
    return parts


def split_loss_vectorised(
    plan: _RulePlan | Rule,
    base: np.ndarray,
    party_headroom: np.ndarray | None = None,
    compensation_headroom: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`risk_sharing.splitting.split_loss` for many claims at once, in CNY floats.

    ``party_headroom`` (claims × compensating parties) and ``compensation_headroom`` (claims) are the
    headrooms (``inf`` = no cap). Returns (payable per party (claims × parties), compensating demand before
    the aggregate caps (claims), nominal compensating parts (claims × compensating parties)).
    """
    if isinstance(plan, Rule):
        plan = _RulePlan.from_rule(plan, None)
    k = base.shape[0]
    nominal = base[:, None] * plan.shares[None, :]
    payable = nominal.copy()
    comp_nom = nominal[:, plan.comp]
    w = plan.shares[plan.comp]
    agg = np.full(k, math.inf) if compensation_headroom is None else compensation_headroom
    if plan.comp.size:
        own = np.full_like(comp_nom, math.inf) if party_headroom is None else party_headroom
        total_nom = comp_nom.sum(axis=1)
        if plan.pro_rata_overflow and np.any(w > 0):
            limits = np.where(np.isfinite(own), own, total_nom[:, None])
            demand = np.minimum(total_nom, limits.sum(axis=1))
            target = np.minimum(total_nom, agg)
            needs = (target < total_nom) | np.any(own < comp_nom, axis=1)
            comp = comp_nom.copy()
            if needs.any():
                comp[needs] = _water_fill(target[needs], w, limits[needs])
        else:
            capped_own = np.minimum(comp_nom, own)
            demand = capped_own.sum(axis=1)
            comp = capped_own
            bind = agg < demand
            if bind.any():
                comp = capped_own.copy()
                comp[bind] = _water_fill(agg[bind], w, capped_own[bind])
        payable[:, plan.comp] = comp
    else:
        demand = np.zeros(k)
    others = payable.sum(axis=1) - payable[:, plan.residual]
    payable[:, plan.residual] = base - others
    return payable, demand, comp_nom


# --------------------------------------------------------------------------- chunk simulation


@dataclass(frozen=True)
class _Task:
    """Picklable chunk task (sent to Dask workers as is)."""

    book: RiskBook
    plan: _RulePlan
    years: int
    sequential: bool
    per_loan: bool

    @cached_property
    def terms(self) -> np.ndarray:
        return self.book.terms(self.years)

    @cached_property
    def thresholds(self) -> np.ndarray:
        lam = -np.log1p(-self.book.annual_pd)
        return ndtri(np.clip(-np.expm1(-lam * self.terms), 1e-300, 1.0))

    @cached_property
    def classes(self) -> tuple[np.ndarray, list[np.ndarray]] | None:
        return obligor_classes(self.book.sector, self.thresholds, np.sqrt(self.book.rho))

    @cached_property
    def covered_by_year(self) -> np.ndarray:
        """Eligible principal scheduled to be outstanding at the start of each year (the payout-rate
        denominator, 在保余额; loans that defaulted earlier in the path are not removed), CNY."""
        b = self.book
        return np.array([float(np.sum(b.ead * b.eligible * (self.terms > y))) for y in range(self.years)])

    def warm(self) -> _Task:
        """Compute the cached per-book arrays once (before the task is pickled to workers)."""
        _ = self.terms, self.thresholds, self.classes, self.covered_by_year
        return self

    def __call__(self, chunk: Chunk) -> dict[str, np.ndarray]:
        return _simulate_chunk(self, chunk)


def _simulate_chunk(task: _Task, chunk: Chunk) -> dict[str, np.ndarray]:
    book, plan, years = task.book, task.plan, task.years
    rng = chunk.rng()
    m = chunk.size
    sub = _draw_batch(book.n)
    drawn = [
        draw_copula_defaults(
            rng, min(sub, m - s), task.thresholds, book.rho, book.sector, book.factor_correlation, task.classes
        )
        for s in range(0, m, sub)
    ]
    rows = np.concatenate([d[0] + s for d, s in zip(drawn, range(0, m, sub), strict=True)])
    cols = np.concatenate([d[1] for d in drawn])
    x = np.concatenate([d[2] for d in drawn])
    nd = rows.size
    z = rng.standard_normal(nd)
    worthless = rng.random(nd) < book.collateral_worthless_prob[cols] if np.any(book.collateral_worthless_prob) \
        else np.zeros(nd, dtype=bool)
    lam = -np.log1p(-book.annual_pd[cols])
    tau = -np.log1p(-ndtr(x)) / lam
    year = np.minimum(np.floor(tau).astype(np.int64), task.terms[cols] - 1)
    caps = plan.cumulative_caps
    ordered = task.sequential or bool(caps)
    if ordered:  # claims in time order within each path (budgets are used up by the earliest claims)
        order = np.argsort(rows * (years + 1.0) + np.minimum(tau, years), kind="stable")
        rows, cols, tau, year, z, worthless = (a[order] for a in (rows, cols, tau, year, z, worthless))

    exposure = book.ead[cols] + book.interest_at_default[cols]
    value = book.collateral_median[cols] * np.exp(book.collateral_sigma[cols] * z)
    value[worthless] = 0.0
    recovery = value * (1.0 - book.disposal_cost[cols])  # nominal, at τ + recovery_years
    r = book.discount_rate
    d_rec = (1.0 + r) ** (-book.recovery_years[cols])
    df_tau = (1.0 + r) ** (-tau)

    if plan.basis is LossBasis.PRINCIPAL_ONLY:
        gross = book.ead[cols].copy()
    elif plan.basis is LossBasis.PRINCIPAL_PLUS_INTEREST:
        gross = exposure.copy()
    else:
        gross = book.ead[cols] * book.ip_pledged_share[cols]
    gross *= book.eligible[cols]
    base0 = np.minimum(gross, plan.base_per_loan)

    p = plan.shares.size
    rec_scheme = np.minimum(recovery, base0)
    economic = exposure - d_rec * np.minimum(recovery, exposure)
    if not ordered and plan.comp_per_loan == math.inf and not plan.recovery_priority:
        # no caps: every party's part of every claim is its share of the base, and pro rata recoveries keep
        # that proportion — aggregate the claim totals once and scale by the shares (the same numbers)
        net_claim = base0 - d_rec * rec_scheme
        pv_claim = net_claim * df_tau
        sh = plan.shares[None, :]
        out = {
            "payout": np.bincount(rows, base0, m)[:, None] * sh,
            "net": np.bincount(rows, net_claim, m)[:, None] * sh,
            "pv_net": np.bincount(rows, pv_claim, m)[:, None] * sh,
            "payout_year": (np.bincount(rows * years + year, base0, m * years)[:, None] * sh).reshape(m, years, p),
            "outside": np.bincount(rows, economic - net_claim, m),
            "economic": np.bincount(rows, economic, m),
            "defaults": np.bincount(rows, minlength=m),
        }
        if task.per_loan:
            out["loan_pv_net"] = np.bincount(cols, pv_claim, book.n)[:, None] * sh
            out["loan_pv_net_sq"] = np.bincount(cols, pv_claim * pv_claim, book.n)[:, None] * sh * sh
        return out

    if task.sequential or (caps and not plan.running_sums):
        payable, base, binds = _sequential_split(task, rows, cols, year, base0, m)
    elif caps:
        payable, base, binds = _running_sum_split(task, rows, cols, year, base0)
    else:
        agg = np.full(nd, plan.comp_per_loan) if plan.comp_per_loan < math.inf else None
        payable, _, _ = split_loss_vectorised(plan, base0, None, agg)
        base, binds = base0, {}

    # recoveries shared back (nominal), never more than paid in total; the surplus stays outside the scheme
    rec_scheme = np.minimum(recovery, base)
    pay_t = np.ascontiguousarray(payable.T)  # parties × claims
    rec_t = np.zeros_like(pay_t)
    left = rec_scheme.copy()
    paid_t = pay_t.copy()
    for j in plan.recovery_priority:
        take = np.minimum(left, paid_t[j])
        rec_t[j] = take
        left -= take
        paid_t[j] = 0.0
    tot = paid_t.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rec_t += paid_t * np.where(tot > 0, left / tot, 0.0)[None, :]
    net_t = pay_t - d_rec[None, :] * rec_t
    outside = economic - net_t.sum(axis=0)
    path_year = rows * years + year

    out: dict[str, np.ndarray] = {
        "payout": np.stack([np.bincount(rows, pay_t[j], m) for j in range(p)], axis=1),
        "net": np.stack([np.bincount(rows, net_t[j], m) for j in range(p)], axis=1),
        "pv_net": np.stack([np.bincount(rows, net_t[j] * df_tau, m) for j in range(p)], axis=1),
        "payout_year": np.stack(
            [np.bincount(path_year, pay_t[j], m * years) for j in range(p)], axis=1
        ).reshape(m, years, p),
        "outside": np.bincount(rows, outside, m),
        "economic": np.bincount(rows, economic, m),
        "defaults": np.bincount(rows, minlength=m),
    }
    for name in caps:
        first = np.full(m, years, dtype=np.int64)
        sel = binds.get(name)
        if sel is not None and sel.any():
            np.minimum.at(first, rows[sel], year[sel])
        out["first_bind:" + name] = first
    if task.per_loan:
        n = book.n
        pv_t = net_t * df_tau[None, :]
        out["loan_pv_net"] = np.stack([np.bincount(cols, pv_t[j], n) for j in range(p)], axis=1)
        out["loan_pv_net_sq"] = np.stack([np.bincount(cols, pv_t[j] ** 2, n) for j in range(p)], axis=1)
    return out


def _capped_running_sum(v: np.ndarray, key: np.ndarray, cap: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Claims paid in order under a cumulative cap per group: part_k = min(C_k, cap) − min(C_{k−1}, cap) with C the
    running sum of the demands ``v`` within the claim's ``key`` group (claims in time order within a group); the
    cap binds on claim k when C_k > cap. ``cap`` is a number or one per claim (constant within a group)."""
    if v.size == 0:
        return v.copy(), np.zeros(0, dtype=bool)
    o = np.argsort(key, kind="stable")
    vs, ks = v[o], key[o]
    cs = np.cumsum(vs)
    start = np.concatenate([[True], ks[1:] != ks[:-1]])
    c = cs - (cs - vs)[start][np.cumsum(start) - 1]
    cap_s = cap[o] if isinstance(cap, np.ndarray) else cap
    paid = np.maximum(np.minimum(c, cap_s) - np.minimum(c - vs, cap_s), 0.0)
    out_paid = np.empty_like(v)
    out_bind = np.empty(v.size, dtype=bool)
    out_paid[o] = paid
    out_bind[o] = (c > cap_s) & (vs > 0)
    return out_paid, out_bind


def _running_sum_split(
    task: _Task, rows: np.ndarray, cols: np.ndarray, year: np.ndarray, base0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """All claims at once when :attr:`_RulePlan.running_sums` holds (the same result as claim by claim)."""
    plan, book = task.plan, task.book
    binds: dict[str, np.ndarray] = {}
    base = base0
    bor, lend = book.borrower[cols], book.lender[cols]
    if plan.base_per_borrower_year < math.inf:
        base, binds["base_per_borrower_year"] = _capped_running_sum(
            base0, _compact(rows, bor, year)[0], plan.base_per_borrower_year
        )
    agg = np.full(base.size, plan.comp_per_loan) if plan.comp_per_loan < math.inf else None
    payable, _, _ = split_loss_vectorised(plan, base, None, agg)
    path_year = rows * task.years + year
    for j, idx in enumerate(plan.comp):
        for name, cap, key in (
            (f"party_year[{plan.keys[idx]}]", plan.party_year[j], path_year),
            (f"fund_balance[{plan.keys[idx]}]", plan.party_balance[j], rows),
        ):
            if cap < math.inf:
                payable[:, idx], binds[name] = _capped_running_sum(payable[:, idx], key, float(cap))
    aggregate: tuple[str, np.ndarray, float | np.ndarray] | None = None
    if plan.payout_rate_ceiling < math.inf:
        aggregate = ("payout_rate_ceiling", path_year, plan.payout_rate_ceiling * task.covered_by_year[year])
    elif plan.comp_per_borrower_year < math.inf:
        aggregate = ("compensation_per_borrower_year", _compact(rows, bor, year)[0], plan.comp_per_borrower_year)
    elif plan.comp_per_borrower_lifetime < math.inf:
        aggregate = ("compensation_per_borrower_lifetime", _compact(rows, bor)[0], plan.comp_per_borrower_lifetime)
    elif plan.comp_per_lender_year < math.inf:
        aggregate = ("compensation_per_lender_year", _compact(rows, lend, year)[0], plan.comp_per_lender_year)
    if aggregate is not None:
        name, key, cap = aggregate
        total = payable[:, plan.comp].sum(axis=1)
        paid, binds[name] = _capped_running_sum(total, key, cap)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(total > 0, paid / total, 0.0)
        payable[:, plan.comp] *= scale[:, None]  # the binding cap is shared pro rata to the shares
    others = payable.sum(axis=1) - payable[:, plan.residual]
    payable[:, plan.residual] = base - others
    return payable, base, binds


def _compact(*keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ids 0..k−1 of the distinct key tuples (rows of the claims), and k."""
    key = np.zeros(keys[0].size, dtype=np.int64)
    for a in keys:
        key = key * (int(a.max()) + 1 if a.size else 1) + a
    uniq, inv = np.unique(key, return_inverse=True)
    return inv.ravel(), int(uniq.size)


def _sequential_split(
    task: _Task, rows: np.ndarray, cols: np.ndarray, year: np.ndarray, base0: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Claims in time order within each path, all paths at once: rank r of every path is split after ranks
    < r have used up budgets and caps. Cap usage is kept per (path, year), (path, borrower, year), … keys, so
    annual caps restart each year. Returns (payable, loss base after the per-borrower cap, binding flags)."""
    plan, book = task.plan, task.book
    nd = rows.size
    nc = plan.comp.size
    payable = np.zeros((nd, plan.shares.size))
    base = base0.copy()
    binds = {name: np.zeros(nd, dtype=bool) for name in plan.cumulative_caps}
    if nd == 0:
        return payable, base, binds
    counts = np.bincount(rows, minlength=m)
    start = np.cumsum(counts) - counts
    rank = np.arange(nd) - start[rows]
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(rank))])
    bor, lend = book.borrower[cols], book.lender[cols]

    path_year = rows * task.years + year
    party_year_used = np.zeros((m * task.years, nc))
    party_total_used = np.zeros((m, nc))
    comp_year_used = np.zeros(m * task.years)
    key_by, state_b = (None, None)
    if plan.base_per_borrower_year < math.inf or plan.comp_per_borrower_year < math.inf:
        key_by, k = _compact(rows, bor, year)
        state_b = np.zeros(k)
    state_bc = np.zeros(state_b.size) if state_b is not None else None
    key_bl, state_bl = (None, None)
    if plan.comp_per_borrower_lifetime < math.inf:
        key_bl, k = _compact(rows, bor)
        state_bl = np.zeros(k)
    key_l, state_l = (None, None)
    if plan.comp_per_lender_year < math.inf:
        key_l, k = _compact(rows, lend, year)
        state_l = np.zeros(k)
    covered = task.covered_by_year
    comp_names = [f"party_year[{plan.keys[j]}]" for j in plan.comp]
    bal_names = [f"fund_balance[{plan.keys[j]}]" for j in plan.comp]

    for r in range(bounds.size - 1):
        ks = by_rank[bounds[r] : bounds[r + 1]]
        rr, py = rows[ks], path_year[ks]
        b = base[ks]
        if plan.base_per_borrower_year < math.inf:
            kb = key_by[ks]  # type: ignore[index]
            head = np.maximum(plan.base_per_borrower_year - state_b[kb], 0.0)  # type: ignore[index]
            binds["base_per_borrower_year"][ks] = head < b
            b = np.minimum(b, head)
            state_b[kb] += b  # type: ignore[index]
            base[ks] = b
        own_year = np.maximum(plan.party_year[None, :] - party_year_used[py], 0.0)
        own_bal = np.maximum(plan.party_balance[None, :] - party_total_used[rr], 0.0)
        own = np.minimum(own_year, own_bal)
        aggs: dict[str, np.ndarray] = {}
        if plan.comp_per_loan < math.inf:
            aggs["compensation_per_loan"] = np.full(ks.size, plan.comp_per_loan)
        if plan.comp_per_borrower_year < math.inf:
            aggs["compensation_per_borrower_year"] = np.maximum(
                plan.comp_per_borrower_year - state_bc[key_by[ks]], 0.0  # type: ignore[index]
            )
        if key_bl is not None:
            aggs["compensation_per_borrower_lifetime"] = np.maximum(
                plan.comp_per_borrower_lifetime - state_bl[key_bl[ks]], 0.0  # type: ignore[index]
            )
        if key_l is not None:
            aggs["compensation_per_lender_year"] = np.maximum(
                plan.comp_per_lender_year - state_l[key_l[ks]], 0.0  # type: ignore[index]
            )
        if plan.payout_rate_ceiling < math.inf:
            aggs["payout_rate_ceiling"] = np.maximum(
                plan.payout_rate_ceiling * covered[year[ks]] - comp_year_used[py], 0.0
            )
        agg = np.min(np.stack(list(aggs.values())), axis=0) if aggs else None
        pay, demand, comp_nom = split_loss_vectorised(plan, b, own, agg)
        payable[ks] = pay
        for j in range(nc):
            if plan.party_year[j] < math.inf:
                binds[comp_names[j]][ks] = own_year[:, j] < comp_nom[:, j]
            if plan.party_balance[j] < math.inf:
                binds[bal_names[j]][ks] = own_bal[:, j] < comp_nom[:, j]
        for name, head in aggs.items():
            if name in binds:  # binds when it cuts: below the demand and below every other aggregate cap
                others = [h for n, h in aggs.items() if n != name]
                binds[name][ks] = head < (np.minimum(demand, np.min(np.stack(others), axis=0)) if others else demand)
        comp_paid = pay[:, plan.comp]
        party_year_used[py] += comp_paid
        party_total_used[rr] += comp_paid
        total = comp_paid.sum(axis=1)
        comp_year_used[py] += total
        if state_bc is not None:
            state_bc[key_by[ks]] += total  # type: ignore[index]
        if state_bl is not None:
            state_bl[key_bl[ks]] += total  # type: ignore[index]
        if state_l is not None:
            state_l[key_l[ks]] += total  # type: ignore[index]
    return payable, base, binds


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class QuantileEstimate:
    """A quantile (CNY) at ``level`` with its distribution-free order-statistic standard error."""

    level: float
    value: float
    se: float


def quantile_with_se(x: np.ndarray, level: float) -> QuantileEstimate:
    """Sample quantile with a distribution-free SE: half the distance between the order statistics
    j ± √(N·q·(1 − q)) around j = N·q (the binomial count of paths below the quantile ± 1 SD).

    Examples
    --------
    >>> q = quantile_with_se(np.arange(1000.0), 0.9)
    >>> round(q.value, 1), q.se
    (899.1, 10.0)
    """
    s = np.sort(np.asarray(x, dtype=float))
    n = s.size
    sd = math.sqrt(n * level * (1 - level))
    lo = min(max(math.floor(n * level - sd), 0), n - 1)
    hi = min(max(math.ceil(n * level + sd), 0), n - 1)
    return QuantileEstimate(level, float(np.quantile(s, level)), float(s[hi] - s[lo]) / 2.0)


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    n = x.shape[0]
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


@dataclass(frozen=True)
class PartyCost:
    """One party's cost under the rule over the horizon (CNY).

    ``payout``: what it pays (bears) at claims; ``net_cost``: payout less recoveries shared back
    (discounted to the default date). Expected values with standard errors; quantiles 95/99/99.9%.
    """

    key: str
    share: float
    compensating: bool
    expected_payout: float
    expected_payout_se: float
    payout_quantiles: tuple[QuantileEstimate, ...]
    expected_net_cost: float
    expected_net_cost_se: float
    net_cost_quantiles: tuple[QuantileEstimate, ...]
    expected_payout_by_year: tuple[float, ...]

    def quantile(self, level: float, net: bool = False) -> QuantileEstimate:
        for q in self.net_cost_quantiles if net else self.payout_quantiles:
            if abs(q.level - level) < 1e-12:
                return q
        raise KeyError(level)


@dataclass(frozen=True)
class CapExhaustion:
    """How often a cumulative cap (annual budget, balance, payout-rate ceiling, …) binds.

    ``probability``: P(it cuts a claim in some year of the horizon) with its binomial SE;
    ``first_year``: P(it first binds in year y), y = 0..years−1 (year 0 = the first year).
    """

    cap: str
    probability: float
    probability_se: float
    first_year: tuple[float, ...]


@dataclass(frozen=True)
class RuleCost:
    """Simulated cost of a rule for a book: per-path arrays (CNY) and their summaries.

    Arrays: ``payout``, ``net_cost``, ``pv_net_cost`` (n_paths × parties; PV to origination at the
    book's discount rate), ``payout_by_year`` (n_paths × years × parties), ``outside_scheme`` (loss
    not borne under the rule: ineligible loans, uncounted loss, net of recoveries), ``economic_loss``
    (all loans, net of recoveries), ``defaults``; ``cap_first_year[name]`` the first year each cap
    binds per path (``years`` = never). Per-loan PV net cost means and SEs with ``per_loan``.
    """

    rule_id: str
    rule_version: int
    parties: tuple[str, ...]
    n_paths: int
    seed: int
    years: int
    chunk_size: int
    method: str
    payout: np.ndarray = field(repr=False)
    net_cost: np.ndarray = field(repr=False)
    pv_net_cost: np.ndarray = field(repr=False)
    payout_by_year: np.ndarray = field(repr=False)
    outside_scheme: np.ndarray = field(repr=False)
    economic_loss: np.ndarray = field(repr=False)
    defaults: np.ndarray = field(repr=False)
    cap_first_year: dict[str, np.ndarray] = field(repr=False)
    party_costs: tuple[PartyCost, ...] = ()
    cap_exhaustion: tuple[CapExhaustion, ...] = ()
    loan_pv_net_cost: np.ndarray | None = field(default=None, repr=False)
    loan_pv_net_cost_se: np.ndarray | None = field(default=None, repr=False)

    def party(self, key: str) -> PartyCost:
        for p in self.party_costs:
            if p.key == key:
                return p
        raise KeyError(key)

    def exhaustion(self, cap: str) -> CapExhaustion:
        for c in self.cap_exhaustion:
            if c.cap == cap:
                return c
        raise KeyError(cap)

    def summary(self) -> dict[str, object]:
        """Plain numbers for reports (CNY; probabilities as fractions)."""
        return {
            "rule": f"{self.rule_id} v{self.rule_version}", "n_paths": self.n_paths, "seed": self.seed,
            "years": self.years, "method": self.method,
            "parties": {
                p.key: {
                    "expected_payout": p.expected_payout, "expected_payout_se": p.expected_payout_se,
                    **{f"payout_p{q.level * 100:g}": q.value for q in p.payout_quantiles},
                    "expected_net_cost": p.expected_net_cost, "expected_net_cost_se": p.expected_net_cost_se,
                }
                for p in self.party_costs
            },
            "caps": {c.cap: {"probability": c.probability, "se": c.probability_se, "first_year": c.first_year}
                     for c in self.cap_exhaustion},
        }


def simulate_rule_cost(
    rule: Rule,
    book: RiskBook,
    n_paths: int,
    seed: int,
    *,
    years: int = 1,
    chunk_size: int | None = None,
    executor: Executor | None = None,
    per_loan: bool = False,
    party_balance_cny: dict[str, float] | None = None,
    sequential: bool = False,
) -> RuleCost:
    """Simulate ``n_paths`` scenarios of the book under the rule over ``years`` (module doc).

    ``chunk_size`` paths per chunk (default :data:`CHUNK_PATHS` or :data:`SEQUENTIAL_CHUNK_PATHS`; normals
    are drawn :data:`DRAW_NORMALS` at a time whatever the chunk); results depend on (seed, chunk_size) only.
    ``per_loan`` adds each loan's expected PV net cost per party (for :mod:`risk_sharing.fee`);
    ``party_balance_cny`` the opening fund balances of ``balance_limited`` parties (not replenished);
    ``sequential`` forces the rank-by-rank path even without cumulative caps (same results; for checking).

    Examples
    --------
    >>> from risk_sharing.presets import load_preset
    >>> book = homogeneous_book(100, 1e6, 0.05, 0.1, 6e5)
    >>> res = simulate_rule_cost(load_preset("chongqing-4222"), book, 200, seed=1)
    >>> [p.key for p in res.party_costs]
    ['guarantor', 'reguarantor', 'nfgf', 'bank']
    >>> res.party("nfgf").expected_net_cost == res.party("bank").expected_net_cost  # both 20%
    True
    """
    if n_paths < 2:
        raise ValueError("n_paths: must be at least 2")
    if years < 1:
        raise ValueError("years: must be at least 1")
    plan = _RulePlan.from_rule(rule, party_balance_cny)
    seq = sequential or (bool(plan.cumulative_caps) and not plan.running_sums)
    cs = chunk_size or min(n_paths, max(_draw_batch(book.n), SEQUENTIAL_CHUNK_PATHS if seq else CHUNK_PATHS))
    task = _Task(book, plan, years, sequential, per_loan).warm()
    ex = executor or InProcessExecutor()
    chunks = make_chunks(n_paths, seed, cs)
    parts: list[dict[str, np.ndarray]] = []
    loan_sum = loan_sq = None
    step = PER_LOAN_BATCH if per_loan else len(chunks)
    for b in range(0, len(chunks), step):
        batch = ex.map(task, chunks[b : b + step])
        for part in batch:
            if per_loan:
                ls, lq = part.pop("loan_pv_net"), part.pop("loan_pv_net_sq")
                loan_sum = ls if loan_sum is None else loan_sum + ls
                loan_sq = lq if loan_sq is None else loan_sq + lq
            parts.append(part)

    def cat(name: str) -> np.ndarray:
        return np.concatenate([p[name] for p in parts])

    payout, net, pv_net = cat("payout"), cat("net"), cat("pv_net")
    by_year = cat("payout_year")
    caps = plan.cumulative_caps
    first = {name: cat("first_bind:" + name) for name in caps}
    comp = set(plan.comp.tolist())
    party_costs = []
    for j, key in enumerate(plan.keys):
        ep, ep_se = _mean_se(payout[:, j])
        en, en_se = _mean_se(net[:, j])
        party_costs.append(PartyCost(
            key, float(plan.shares[j]), j in comp, ep, ep_se,
            tuple(quantile_with_se(payout[:, j], q) for q in QUANTILE_LEVELS), en, en_se,
            tuple(quantile_with_se(net[:, j], q) for q in QUANTILE_LEVELS),
            tuple(float(v) for v in by_year[:, :, j].mean(axis=0)),
        ))
    exhaustion = []
    for name in caps:
        f = first[name]
        prob = float(np.mean(f < years))
        exhaustion.append(CapExhaustion(
            name, prob, math.sqrt(prob * (1 - prob) / n_paths),
            tuple(float(np.mean(f == y)) for y in range(years)),
        ))
    loan_mean = loan_se = None
    if per_loan and loan_sum is not None and loan_sq is not None:
        loan_mean = loan_sum / n_paths
        var = np.maximum(loan_sq / n_paths - loan_mean**2, 0.0) * n_paths / (n_paths - 1)
        loan_se = np.sqrt(var / n_paths)
    return RuleCost(
        rule.id, rule.version, plan.keys, n_paths, seed, years, cs,
        "sequential" if seq else ("running sums" if plan.cumulative_caps else "vectorised"),
        payout, net, pv_net, by_year, cat("outside"), cat("economic"), cat("defaults"), first,
        tuple(party_costs), tuple(exhaustion), loan_mean, loan_se,
    )


__all__ = [
    "QUANTILE_LEVELS",
    "CapExhaustion",
    "PartyCost",
    "QuantileEstimate",
    "RiskBook",
    "RuleCost",
    "eligibility_under_rule",
    "expected_loss_given_default",
    "homogeneous_book",
    "lognormal_collateral_from_values",
    "quantile_with_se",
    "simulate_rule_cost",
    "split_loss_vectorised",
]
