"""risk_sharing: risk-compensation rules (风险补偿/代偿), claim review, recoveries and ledger arithmetic.

Pure domain code (no web, no database). Money is integer fen; splits use the
largest-remainder rule so parts always sum exactly to the whole.

* :mod:`risk_sharing.rules` — a rule as validated data (JSON/YAML/DB rows), versions.
* :mod:`risk_sharing.presets` — shipped schemes (Chongqing 4:2:2:2, NFGF 2019, Anhui 4321, …).
* :mod:`risk_sharing.claims` — loans, claims and the ledger context of a review, as data.
* :mod:`risk_sharing.engine` — ``select_version``, ``review_claim``.
* :mod:`risk_sharing.splitting` — ``split_loss`` (the splitting and cap rule), ``simulate``, ``risk_fee_fen``.
* :mod:`risk_sharing.recovery` — recoveries shared back, capped at what each paid.
* :mod:`risk_sharing.ledger` — balances, usage figures and cap headroom from ledger entries.
* :mod:`risk_sharing.eligibility` — a loan's eligibility under a rule, before any claim.

For notebooks: a preset by its rule id, the split of a loss in fen, and a loan's eligibility.

Examples
--------
>>> from risk_sharing import is_eligible, load_preset, simulate
>>> cq = load_preset("chongqing-4222")
>>> {p.key: p.payable_fen for p in simulate(cq, 300_000_001).split.parties}  # 3,000,000.01 CNY
{'guarantor': 120000001, 'reguarantor': 60000000, 'nfgf': 60000000, 'bank': 60000000}
>>> from datetime import date
>>> is_eligible(cq, principal_cny="3000000.00", origination_date=date(2024, 3, 1), guaranteed=True,
...             guarantee_fee_rate="0.012")
(True, [])
"""

from risk_sharing.claims import Claim, ExistingClaim, Loan, ReviewContext
from risk_sharing.eligibility import is_eligible, loan_eligibility
from risk_sharing.engine import ClaimReview, review_claim, select_version
from risk_sharing.presets import list_presets, load_preset
from risk_sharing.recovery import share_recovery
from risk_sharing.rules import Rule, load_rule, rule_from_dict, rule_to_dict
from risk_sharing.splitting import simulate

__all__ = [
    "Claim",
    "ClaimReview",
    "ExistingClaim",
    "Loan",
    "ReviewContext",
    "Rule",
    "is_eligible",
    "list_presets",
    "load_preset",
    "load_rule",
    "loan_eligibility",
    "review_claim",
    "rule_from_dict",
    "rule_to_dict",
    "select_version",
    "share_recovery",
    "simulate",
]
