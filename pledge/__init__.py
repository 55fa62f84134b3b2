"""Pledge loans (知识产权质押贷款): pure rules and workflow.

* :mod:`pledge.states` — the state machine: one table of allowed moves, maker-checker.
* :mod:`pledge.eligibility` — CNIPA pledge eligibility checks with reason codes.
* :mod:`pledge.policy` — pledge-rate (质押率) policy per bank and the maximum loan, with why.
* :mod:`pledge.schedule` — repayment schedules and payment application, exact in fen.
* :mod:`pledge.monitoring` — overdue buckets, five-class classification, LTV and IP alerts.
* :mod:`pledge.disposal` — collateral disposal and net recoveries.
* :mod:`pledge.lifecycle` — a whole loan file (state + ledger + audit trail) in memory.
"""
