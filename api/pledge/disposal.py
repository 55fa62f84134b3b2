"""Collateral disposals and the net recovery flows they give risk sharing."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import Conflict, FieldError
from api.identity.models import Organisation, User
from api.pledge import service as crud
from api.pledge.models import (
    Loan,
    LoanStatus,
    PledgeDisposal,
)
from api.pledge.schemas import (
    DisposalCreate,
)
from api.pledge.service import get_terms, load_account, today
from api.pledge.workflow import collateral_assets
from ipfin.money import cny_to_fen
from pledge.disposal import CashItem, DisposalMethod, DisposalRecord, disposal_outcome, recovery_flows


def _items(items: list[Any]) -> list[dict[str, Any]]:
    return [{"on": i.on.isoformat(), "amount_fen": cny_to_fen(i.amount_cny), "description": i.description}
            for i in items]


def _record(d: PledgeDisposal) -> DisposalRecord:
    def cash(items: list[dict[str, Any]]) -> tuple[CashItem, ...]:
        return tuple(CashItem(date.fromisoformat(i["on"]), int(i["amount_fen"]), i.get("description", ""))
                     for i in items)

    return DisposalRecord(DisposalMethod(str(d.method)), tuple(str(x) for x in d.ip_asset_ids), d.started_on,
                          cash(d.proceeds), cash(d.costs), d.completed_on, d.counterparty)


def add_disposal(session: Session, user: User, org: Organisation, loan_id: int, body: DisposalCreate
                 ) -> PledgeDisposal:
    loan = crud.get_loan(session, org, loan_id)
    if str(loan.status) not in (LoanStatus.in_disposal.value, LoanStatus.recovered.value):
        raise Conflict(f"disposals are recorded while the loan is in_disposal (it is {loan.status})")
    pledged = {a.id for _, a in collateral_assets(session, loan)}
    foreign = [i for i in body.ip_asset_ids if i not in pledged]
    if foreign:
        raise FieldError("ip_asset_ids", f"assets {foreign} are not pledged for this loan")
    if loan.default_date is not None and body.started_on < loan.default_date:
        raise FieldError("started_on", f"a disposal cannot start before the loan defaulted ({loan.default_date})")
    d = PledgeDisposal(loan_id=loan.id, method=body.method.value, ip_asset_ids=body.ip_asset_ids,  # type: ignore[arg-type]
                       started_on=body.started_on, completed_on=body.completed_on, counterparty=body.counterparty,
                       proceeds=_items(body.proceeds), costs=_items(body.costs), created_by_user_id=user.id)
    try:
        _record(d)
    except ValueError as exc:
        msg = str(exc)
        field = next((f for f in ("completed_on", "costs", "asset_ids") if msg.startswith(f)), "proceeds")
        raise FieldError("ip_asset_ids" if field == "asset_ids" else field, msg) from exc
    session.add(d)
    session.flush()
    audit.record(session, user, "loan", loan.id, "record_disposal", after=d)
    from api.transactions.service import record_disposal

    record_disposal(session, user, loan, d)  # the IP transaction register, at gross proceeds (see there)
    return d


def claim_amount(session: Session, loan: Loan, as_of: date) -> int:
    """What the lenders are owed: principal outstanding + interest and fees due (fen)."""
    terms = get_terms(session, loan)
    account = load_account(session, loan, terms)
    if account is None:
        return loan.outstanding_fen
    due = account.due(as_of)
    return account.principal_outstanding_fen + due.interest_fen + due.fees_fen


def _disposals(session: Session, loan: Loan) -> tuple[list[PledgeDisposal], list[DisposalRecord], int]:
    rows = list(session.exec(select(PledgeDisposal).where(PledgeDisposal.loan_id == loan.id)
                             .order_by(col(PledgeDisposal.id))).all())
    claim = claim_amount(session, loan, loan.default_date or today())
    return rows, [_record(r) for r in rows], claim


def net_recovery_flows(session: Session, loan: Loan) -> list[tuple[date, int]]:
    """Dated net recoveries (fen) of the loan's disposals, for the risk-sharing recovery distribution.

    Each flow is the rise in cumulative max(0, proceeds − costs) on that date, capped in
    total at the claim (principal outstanding + interest and fees due at default); the
    flows sum exactly to the disposal summary's ``net_recovery_fen``. The caller has
    already checked that ``loan`` is visible to it. Risk sharing shares each flow back
    pro rata to what each party paid (one ``RiskRecovery`` per flow, gross = the flow,
    costs already netted).
    """
    _rows, records, claim = _disposals(session, loan)
    return recovery_flows(records, claim)


def disposal_summary(session: Session, org: Organisation, loan_id: int) -> dict[str, Any]:
    loan = crud.get_loan(session, org, loan_id)
    rows, records, claim = _disposals(session, loan)
    o = disposal_outcome(records, claim)
    return {
        "loan_id": loan.id, "claim_fen": claim, "gross_proceeds_fen": o.gross_proceeds_fen,
        "costs_fen": o.costs_fen, "net_recovery_fen": o.net_recovery_fen,
        "net_loss_on_disposal_fen": o.net_loss_on_disposal_fen, "surplus_to_pledgor_fen": o.surplus_to_pledgor_fen,
        "shortfall_fen": o.shortfall_fen,
        "recovery_flows": [{"on": d, "amount_fen": a} for d, a in recovery_flows(records, claim)],
        "disposals": rows,
    }
