"""Pledge loans (知识产权质押贷款): pure rules and workflow.

* :mod:`pledge.states` — the state machine: one table of allowed moves, maker-checker.
* :mod:`pledge.eligibility` — CNIPA pledge eligibility checks with reason codes.
* :mod:`pledge.policy` — pledge-rate (质押率) policy per bank and the maximum loan, with why.
* :mod:`pledge.schedule` — repayment schedules and payment application, exact in fen.
* :mod:`pledge.monitoring` — overdue buckets, five-class classification, LTV and IP alerts.
* :mod:`pledge.disposal` — collateral disposal and net recoveries.
* :mod:`pledge.lifecycle` — a whole loan file (state + ledger + audit trail) in memory.

For notebooks: the maximum loan on a collateral set under a bank's pledge-rate policy, with the
reasons, in fen (integer hundredths of a yuan).

Examples
--------
>>> from decimal import Decimal
>>> from pledge import CollateralValue, default_policy, max_loan
>>> r = max_loan(default_policy(), [CollateralValue("P1", "invention_patent", Decimal("82"), 817_611_989)])
>>> r.max_loan_fen, r.effective_pledge_rate
(419434949, Decimal('0.5130'))
>>> print(r.why[-1])
maximum loan 4,194,349.49 CNY = 51.30% of total basis 8,176,119.89 CNY
"""

from pledge.policy import CollateralValue, MaxLoanResult, PledgePolicy, default_policy, max_loan
from pledge.schedule import LoanTerms, build_schedule

__all__ = [
    "CollateralValue",
    "LoanTerms",
    "MaxLoanResult",
    "PledgePolicy",
    "build_schedule",
    "default_policy",
    "max_loan",
]
