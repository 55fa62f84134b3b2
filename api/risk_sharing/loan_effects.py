"""What a claim does to its ipfin loan: the pledge-workflow move on filing, and the bank's exposure
reduced by the compensation it receives.

The pledge state machine (``pledge.states``) has ``default → in_claim`` (``file_claim``) and, from
``in_claim``, only ``start_disposal`` and ``write_off`` — there is no "compensated" state. So a
claim moves its loan to ``in_claim`` when filed on a loan in ``default``, and a settled claim
leaves the loan in ``in_claim`` for the bank to dispose of or write off; what changes on payment
is the loan's outstanding principal (the bank's exposure), reduced by every share paid by a party
other than the lending bank.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col

from api.audit import service as audit
from api.core.db import utcnow
from api.core.errors import Conflict
from api.identity.models import Organisation, User
from api.pledge.models import Loan, LoanStatus
from api.pledge.schemas import TransitionRequest
from api.pledge.workflow import last_move_on, transition
from api.risk_sharing.models import RiskClaim
from pledge.states import Actor, Role


def move_loan_into_claim(session: Session, actor: User, org: Organisation, loan: Loan, claim: RiskClaim) -> None:
    """``file_claim`` (default → in_claim) through the pledge workflow, with its audit event.

    The move is made on the claim's filing date (or the loan's last move, if later: moves are
    recorded in date order). Loans already past ``default`` (in claim, disposal, …) stay where they are.
    """
    if str(loan.status) != LoanStatus.default:
        return
    last = last_move_on(session, loan)
    on = max(claim.filed_on, last) if last is not None else claim.filed_on
    bank_id = str(org.id) if org.id == loan.bank_org_id else None
    system = Actor(str(actor.id), frozenset({Role.MAKER}), bank_id)
    req = TransitionRequest(action="file_claim", on=on, comment=f"risk-sharing claim {claim.id} filed")
    transition(session, actor, org, loan, req, actor=system)


def reduce_exposure(session: Session, actor: User, claim: RiskClaim, amount_fen: int, party_key: str,
                    paid_on: date) -> None:
    """Take a share paid to the bank off the loan's outstanding principal (never below 0)."""
    if claim.loan_id is None or amount_fen <= 0:
        return
    loan = session.get(Loan, claim.loan_id)
    if loan is None:
        return
    session.refresh(loan)
    before = {"outstanding_fen": loan.outstanding_fen, "version": loan.version}
    new = max(0, loan.outstanding_fen - amount_fen)
    res = session.execute(
        update(Loan)
        .where(col(Loan.id) == loan.id, col(Loan.version) == loan.version)
        .values(outstanding_fen=new, version=loan.version + 1, updated_at=utcnow())
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"loan {loan.id} was changed by someone else; reload and retry")
    session.refresh(loan)
    audit.record(
        session, actor, "loan", loan.id, "compensation_received", before=before,
        after={"outstanding_fen": loan.outstanding_fen, "version": loan.version, "claim_id": claim.id,
               "party_key": party_key, "amount_fen": amount_fen, "on": paid_on.isoformat()},
    )
