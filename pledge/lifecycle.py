"""A pledge loan's whole file in memory: state machine + ledger + audit trail, all pure.

:class:`LoanFile` is what a stored loan looks like to the domain: its state, terms, the
ledger once disbursed, and the audit records of every move. :func:`perform` runs a
move through :func:`pledge.states.apply_transition` with the context derived from the
file (who submitted, outstanding, days overdue, disbursement day, payments) and applies
its effects (disbursement opens the ledger on the day's schedule, its same-day undo
removes it). :func:`receive_payment` applies a payment to the ledger. The API stores
the same facts in tables and uses :func:`context_for` to build the context.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from ipfin.money import Fen
from pledge.schedule import LoanAccount, LoanTerms, PaymentAllocation, apply_payment, build_schedule, open_account
from pledge.states import Actor, AuditRecord, LoanState, TransitionContext, TransitionResult, apply_transition

PAYABLE_STATES = frozenset(
    {LoanState.ACTIVE, LoanState.OVERDUE, LoanState.DEFAULT, LoanState.IN_CLAIM, LoanState.IN_DISPOSAL}
)
"""States in which the borrower's payments are accepted."""


@dataclass(frozen=True, slots=True)
class LoanFile:
    loan_id: str
    bank_id: str
    terms: LoanTerms
    state: LoanState = LoanState.DRAFT
    submitted_by: str | None = None
    disbursed_on: date | None = None
    pledge_registration_number: str | None = None
    account: LoanAccount | None = None
    audit: tuple[AuditRecord, ...] = ()

    @property
    def principal_outstanding_fen(self) -> Fen:
        return self.account.principal_outstanding_fen if self.account else 0


def context_for(
    file: LoanFile, on: date, *, pledge_registration_number: str | None = None, comment: str | None = None,
    details: dict[str, Any] | None = None,
) -> TransitionContext:
    """The transition context of ``file`` on ``on`` (payoff amount, days overdue, payments so far)."""
    acct = file.account
    return TransitionContext(
        on=on,
        bank_id=file.bank_id,
        submitted_by=file.submitted_by,
        disbursed_on=file.disbursed_on,
        payments_received_fen=sum(p.applied_fen for p in acct.payments) if acct else 0,
        outstanding_fen=acct.payoff_amount(on) if acct else 0,
        overdue_days=acct.overdue_days(on) if acct else 0,
        pledge_registration_number=pledge_registration_number,
        comment=comment,
        details=details or {},
    )


def perform(
    file: LoanFile, action: str, actor: Actor, on: date, *, pledge_registration_number: str | None = None,
    comment: str | None = None,
) -> tuple[LoanFile, TransitionResult]:
    """Run ``action`` on ``file``; raises the errors of :func:`apply_transition` unchanged."""
    if file.audit and on < file.audit[-1].on:
        raise ValueError(f"on: {on} is before the last recorded move ({file.audit[-1].on})")
    ctx = context_for(file, on, pledge_registration_number=pledge_registration_number, comment=comment)
    result = apply_transition(file.state, action, actor, ctx)
    new = replace(file, state=result.to_state, audit=(*file.audit, result.audit))
    if action == "submit":
        new = replace(new, submitted_by=actor.user_id)
    elif action == "register_pledge":
        new = replace(new, pledge_registration_number=pledge_registration_number)
    elif action == "disburse":
        terms = replace(file.terms, start_date=on)
        new = replace(new, terms=terms, disbursed_on=on, account=open_account(build_schedule(terms), on))
    elif action == "undo_disbursement":
        new = replace(new, disbursed_on=None, account=None)
    return new, result


def receive_payment(file: LoanFile, amount_fen: Fen, on: date) -> tuple[LoanFile, PaymentAllocation]:
    """Apply a borrower payment (fees → interest → principal → early repayment)."""
    if file.state not in PAYABLE_STATES or file.account is None:
        raise ValueError(f"state: payments are not accepted in state {file.state.value}")
    acct, alloc = apply_payment(file.account, amount_fen, on)
    return replace(file, account=acct), alloc
