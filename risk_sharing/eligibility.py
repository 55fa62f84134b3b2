"""Is a loan eligible under a rule? The loan-side checks of a claim review, before any default.

:func:`loan_eligibility` runs the same checks :func:`risk_sharing.engine.review_claim` runs on the
loan (rule in force at origination, single-borrower cap, guarantee and fee cap, firm size and tier,
sector, years registered, IP-pledged share) and leaves out those that need a claim (dates of the
default and filing, outstanding amounts, documents). A bank asks it when it books a loan.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ipfin.money import cny_to_fen
from risk_sharing.claims import Claim, Loan
from risk_sharing.engine import Check, loan_eligibility_checks
from risk_sharing.rules import Rule

CLAIM_CHECKS = frozenset({"claim_matches_loan", "outstanding_principal", "dates_in_order", "documents"})
"""Checks of a review that are about the claim, not the loan: not run here."""


def loan_eligibility(rule: Rule, loan: Loan) -> list[Check]:
    """Every loan-side check of ``rule`` on ``loan``, passed or not, in the review's order.

    Examples
    --------
    >>> from risk_sharing.presets import load_preset
    >>> cq = load_preset("chongqing-4222")
    >>> checks = loan_eligibility(cq, Loan(loan_id="L1", borrower_id="B1", origination_date=date(2024, 3, 1),
    ...                                    principal_fen=300_000_000, guaranteed=True,
    ...                                    guarantee_fee_rate=Decimal("0.012")))
    >>> [(c.name, c.passed) for c in checks]
    [('rule_in_force', True), ('borrower_loan_cap', True), ('guarantee_fee_cap', True), ('guaranteed', True)]
    """
    probe = Claim(claim_id="-", loan_id=loan.loan_id, default_date=loan.origination_date,
                  filed_on=loan.origination_date, outstanding_principal_fen=loan.principal_fen)
    return [c for c in loan_eligibility_checks(rule, probe, loan) if c.name not in CLAIM_CHECKS]


def is_eligible(
    rule: Rule,
    *,
    principal_cny: str | Decimal,
    origination_date: date,
    guaranteed: bool = False,
    guarantee_fee_rate: str | Decimal | None = None,
    borrower_total_loans_cny: str | Decimal | None = None,
    firm_tier: str | None = None,
) -> tuple[bool, list[str]]:
    """Plain-number form of :func:`loan_eligibility`: (eligible, the details of the failed checks).

    Examples
    --------
    >>> from risk_sharing.presets import load_preset
    >>> ok, why = is_eligible(load_preset("chongqing-4222"), principal_cny="12000000.00",
    ...                       origination_date=date(2024, 3, 1), guaranteed=True, guarantee_fee_rate="0.02")
    >>> ok
    False
    >>> for line in why: print(line)
    borrower's loans 12,000,000.00 CNY, cap 10,000,000.00 CNY (单户上限)
    guarantee fee rate 2%, cap 1.5% (担保费率上限)
    """
    loan = Loan(
        loan_id="-", borrower_id="-", origination_date=origination_date, principal_fen=cny_to_fen(principal_cny),
        borrower_total_loans_fen=None if borrower_total_loans_cny is None else cny_to_fen(borrower_total_loans_cny),
        guaranteed=guaranteed, firm_tier=firm_tier,
        guarantee_fee_rate=None if guarantee_fee_rate is None else Decimal(str(guarantee_fee_rate)),
    )
    failed = [c.detail for c in loan_eligibility(rule, loan) if not c.passed]
    return not failed, failed
