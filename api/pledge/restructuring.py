"""Term extension (展期) and rescheduling with maker-checker.

An officer proposes (the new schedule is computed then, so a bad proposal is refused at once,
and its preview stored); an approver of the same bank, not the proposer, approves or rejects.
Approval recomputes the change on the loan as it is then — refused (409) if the loan changed
since the proposal — posts the arrears accrued up to the change date first, stores the new
ledger and moves the loan's maturity. Everything is audited on the loan.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import Conflict, FieldError, NotFound
from api.identity.models import Organisation, User
from api.pledge.arrears_jobs import accrue_to
from api.pledge.calendar_admin import current_calendar
from api.pledge.models import Loan, PledgeLoanTerms, RestructureRequest
from api.pledge.products_schemas import RestructureCreate, RestructureDecision
from api.pledge.service import _bump_version, _save_lines, get_loan, get_terms, load_account, today
from ipfin.calendar import CalendarHorizonWarning
from pledge.lifecycle import PAYABLE_STATES
from pledge.restructure import extend_term, reschedule
from pledge.schedule import LoanAccount
from pledge.states import Forbidden, LoanState


def _compute(session: Session, loan: Loan, account: LoanAccount, kind: str, on: date, p: dict[str, Any]
             ) -> LoanAccount:
    cal = current_calendar(session)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalendarHorizonWarning)
            if kind == "extend":
                return extend_term(account, on, int(p["extra_periods"]), annual_rate=p.get("annual_rate"),
                                   original_term_months=loan.term_months, calendar=cal)
            return reschedule(account, on, int(p["n_periods"]), months_per_period=p.get("months_per_period"),
                              schedule_type=p.get("schedule_type"), annual_rate=p.get("annual_rate"),
                              grace_periods=int(p.get("grace_periods") or 0), calendar=cal)
    except ValueError as exc:
        msg = str(exc)
        field = next((f for f in ("extra_periods", "n_periods", "months_per_period", "on") if msg.startswith(f)),
                     "on" if "on:" in msg else ("extra_periods" if kind == "extend" else "n_periods"))
        raise FieldError(field, msg) from exc


def _ledger(session: Session, loan: Loan) -> tuple[PledgeLoanTerms, LoanAccount]:
    if LoanState(str(loan.status)) not in PAYABLE_STATES:
        raise Conflict(f"a loan that is {loan.status} cannot be restructured")
    terms = get_terms(session, loan)
    account = load_account(session, loan, terms)
    if account is None:
        raise Conflict(f"loan {loan.id} has no repayment ledger in ipfin; it cannot be restructured here")
    return terms, account


def _preview(account: LoanAccount) -> dict[str, Any]:
    future = [ln.instalment for ln in account.lines if not ln.settled]
    return {"maturity": account.maturity.isoformat(), "annual_rate": str(account.annual_rate),
            "instalments_left": len(future),
            "next_due": future[0].due_date.isoformat() if future else None,
            "next_total_fen": future[0].total_fen if future else None}


def propose(session: Session, user: User, org: Organisation, loan_id: int, body: RestructureCreate
            ) -> RestructureRequest:
    loan = get_loan(session, org, loan_id)
    if body.on > today():
        raise FieldError("on", "must not be in the future")
    _, account = _ledger(session, loan)
    params = body.model_dump(mode="json", exclude={"kind", "on", "comment"}, exclude_none=True)
    new = _compute(session, loan, account, body.kind, body.on, params)
    req = RestructureRequest(loan_id=loan.id, kind=body.kind, on=body.on,  # type: ignore[arg-type]
                             params={**params, "preview": _preview(new), "before": _preview(account)},
                             loan_version=loan.version, proposed_by_user_id=user.id,  # type: ignore[arg-type]
                             comment=body.comment)
    session.add(req)
    session.flush()
    audit.record(session, user, "loan", loan.id, f"propose_{body.kind}", after=req)
    return req


def get_request(session: Session, org: Organisation, loan_id: int, request_id: int) -> tuple[Loan, RestructureRequest]:
    loan = get_loan(session, org, loan_id)
    req = session.get(RestructureRequest, request_id)
    if req is None or req.loan_id != loan.id:
        raise NotFound("restructuring request not found")
    return loan, req


def list_requests(session: Session, org: Organisation, loan_id: int) -> list[RestructureRequest]:
    get_loan(session, org, loan_id)
    return list(session.exec(select(RestructureRequest).where(RestructureRequest.loan_id == loan_id)
                             .order_by(col(RestructureRequest.id))).all())


def decide(session: Session, user: User, org: Organisation, loan_id: int, request_id: int, approve: bool,
           body: RestructureDecision) -> RestructureRequest:
    """Approve (apply) or reject a proposal: by another user than the proposer (maker-checker, 403)."""
    loan, req = get_request(session, org, loan_id, request_id)
    if loan.bank_org_id != org.id:
        raise NotFound("loan not found")
    if req.status != "proposed":
        raise Conflict(f"restructuring request {req.id} is already {req.status}")
    if req.proposed_by_user_id == user.id:
        raise Forbidden(f"decide_{req.kind}", "maker-checker: the proposer cannot decide their own request")
    before = audit.snapshot(req)
    req.status, req.decided_by_user_id, req.decided_at = ("approved" if approve else "rejected"), user.id, \
        datetime.now(UTC)
    if body.comment:
        req.comment = body.comment
    if approve:
        if loan.version != req.loan_version:
            raise Conflict(f"loan {loan.id} changed since the proposal (version {req.loan_version} → {loan.version}); "
                           "propose again")
        _apply(session, user, loan, req)
    session.add(req)
    audit.record(session, user, "loan", loan.id, f"{'approve' if approve else 'reject'}_{req.kind}",
                 before=before, after=req)
    return req


def _apply(session: Session, user: User, loan: Loan, req: RestructureRequest) -> None:
    terms, account = _ledger(session, loan)
    account = accrue_to(session, user, loan, terms, account, req.on, field="on")
    new = _compute(session, loan, account, req.kind, req.on, req.params)
    _save_lines(session, loan.id, new)  # type: ignore[arg-type]
    if req.kind == "reschedule":
        terms.schedule_type = new.schedule_type.value
        terms.months_per_period = new.months_per_period
    terms.n_periods = sum(1 for ln in new.lines if ln.instalment.kind != "early_repayment")
    session.add(terms)
    _bump_version(session, loan, loan.version, maturity_date=new.maturity, annual_rate=new.annual_rate,
                  outstanding_fen=new.principal_outstanding_fen, days_past_due=new.overdue_days(req.on))
