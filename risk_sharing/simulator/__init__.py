"""Rule-cost simulator (风险补偿规则成本模拟): what a risk-compensation rule will cost each payer.

A loan book (arrays, one entry per loan) is simulated over one year or several years of its
life; each scenario path runs every default through the rule and adds up what each party pays.

Model (per path):

* **Defaults** — one- or multi-factor Gaussian copula, drawn by
  :func:`securitization.credit.draw_copula_defaults` (the securitisation credit engine): loan i
  defaults before min(term_i, horizon) if X_i = √ρ_i·Y_sector(i) + √(1 − ρ_i)·ε_i < c_i, with
  constant hazard λ_i = −ln(1 − PD_i) from its annual PD; the default time is
  τ_i = −ln(1 − Φ(X_i))/λ_i years.
* **Claim lag** — the claim is paid ``claim_lag_months`` after the default month (trigger, filing,
  review, payment; default :func:`default_claim_lag_months`: the rule's trigger delay plus
  :data:`CLAIM_REVIEW_MONTHS`, an assumption), in payment year ⌊τ_i⌋ + ⌊(month of τ_i + lag)/12⌋.
  Payouts, annual budgets, balances, payout-rate ceilings and the year a cap first binds go by
  the payment year; payouts on the horizon's defaults that fall after it are reported as
  ``pending`` (paid within the horizon + pending = the payout; the budgets of those later
  years see only the horizon's claims, and the payout-rate denominator stays at the last
  horizon year's).
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
  pro rata, the shortfall per ``cap_overflow``. Claims are paid in time order (one lag for all,
  so payment order is default order), and a budget is used up by the earliest claims of its
  year. Recoveries go back to the parties per the rule's recovery policy (pro rata to what each
  paid, or priority parties first), never more than was paid; the surplus and the uncounted
  loss stay outside the scheme.

Three code paths give the same numbers (``RuleCost.method``): with no cumulative cap (budgets,
balances, per-borrower / per-lender / payout-rate caps) every claim is split at once
("vectorised"); when the cumulative caps are the per-borrower loss-base cap plus either party
budgets/balances or a single aggregate compensation cap, they are applied exactly as capped
running sums over the claims in time order ("running sums", :attr:`_RulePlan.running_sums`);
any other combination is processed rank by rank within each path, all paths of a chunk at once
("sequential"), which is exact for every cap but loops over the largest number of claims in a
path. A cap "binds" on a claim when it cuts the payment (for an aggregate cap: it is below the
demand and below every other aggregate cap).

Not modelled (documented simplifications): claim deadlines (every claim is filed in time); the
lag's time value (PVs and net costs discount from the default date); a per-loan lag (one lag for
the book); recoveries arriving before the claim is paid; amortisation (bullet exposure);
collateral values correlated with the default factor; recoveries credited back to a fund's
budget or balance; ``recovery.net_of_disposal_costs = False`` (recoveries are always net of
disposal costs here); the rule's risk fees (:func:`risk_sharing.splitting.risk_fee_fen`).
Amounts are CNY floats — statistics only; the exact fen split of a real claim is the engine's.
Per-path money differs from the engine's largest-remainder fen split by at most a few fen per
claim.

Work runs through :func:`ipfin.executor.run_chunked`: the same seed gives identical results
in-process and on Dask.
"""

from risk_sharing.simulator.book import (
    CHUNK_PATHS,
    DRAW_NORMALS,
    PER_LOAN_BATCH,
    QUANTILE_LEVELS,
    SEQUENTIAL_CHUNK_PATHS,
    RiskBook,
    eligibility_under_rule,
    expected_loss_given_default,
    homogeneous_book,
    lognormal_collateral_from_values,
)
from risk_sharing.simulator.plan import CLAIM_REVIEW_MONTHS, default_claim_lag_months, split_loss_vectorised
from risk_sharing.simulator.programme import ProgrammeCost, SubsidyUse, programme_cost
from risk_sharing.simulator.results import (
    CapExhaustion,
    PartyCost,
    QuantileEstimate,
    RuleCost,
    quantile_with_se,
    simulate_rule_cost,
)

__all__ = [
    "CHUNK_PATHS",
    "CLAIM_REVIEW_MONTHS",
    "DRAW_NORMALS",
    "PER_LOAN_BATCH",
    "QUANTILE_LEVELS",
    "SEQUENTIAL_CHUNK_PATHS",
    "CapExhaustion",
    "PartyCost",
    "ProgrammeCost",
    "QuantileEstimate",
    "RiskBook",
    "RuleCost",
    "SubsidyUse",
    "default_claim_lag_months",
    "eligibility_under_rule",
    "expected_loss_given_default",
    "homogeneous_book",
    "lognormal_collateral_from_values",
    "programme_cost",
    "quantile_with_se",
    "simulate_rule_cost",
    "split_loss_vectorised",
]

