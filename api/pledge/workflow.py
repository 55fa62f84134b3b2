"""Pledge-loan workflow glue: eligibility, transitions (maker-checker, optimistic locking) and payments."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from api.audit import service as audit
from api.audit.models import AuditEvent
from api.core.errors import Conflict, FieldError
from api.identity.models import Organisation, User
from api.pledge import service as crud
from api.pledge.models import (
    ArrearsPosting,
    Borrower,
    CollateralValuation,
    IPAsset,
    Loan,
    LoanCollateral,
    PledgeDisposal,
    PledgeIPFacts,
    PledgeLoanTerms,
    PledgePayment,
    PledgePolicyRow,
)
from api.pledge.schemas import (
    ChargeCreate,
    ChargePublic,
    PaymentCreate,
    TransitionRequest,
)
from api.pledge.service import (
    ELIGIBILITY_CHECKED,
    EligibilityFailed,
    _bump_version,
    _save_lines,
    domain_actor,
    domain_terms,
    get_terms,
    lending_terms,
    load_account,
    today,
)
from ipfin.money import cny_to_fen, fen_to_cny
from pledge.eligibility import (
    CollateralFacts,
    Ineligibility,
    LegalStatus,
    PledgeRequest,
    Reason,
    check_eligibility,
)
from pledge.lifecycle import PAYABLE_STATES
from pledge.lpr import lpr_on
from pledge.policy import CollateralValue, PledgePolicy, default_policy, max_loan
from pledge.schedule import (
    LoanAccount,
    apply_payment,
    build_schedule,
    open_account,
    penalty_interest_fen,
)
from pledge.states import (
    ACTIONS,
    Actor,
    GuardFailed,
    LoanState,
    TransitionContext,
    TransitionResult,
    apply_transition,
    move_for,
)


def collateral_assets(session: Session, loan: Loan) -> list[tuple[LoanCollateral, IPAsset]]:
    rows = session.exec(select(LoanCollateral, IPAsset).join(IPAsset, col(IPAsset.id) == LoanCollateral.ip_asset_id)
                        .where(LoanCollateral.loan_id == loan.id).order_by(col(LoanCollateral.id))).all()
    return [(c, a) for c, a in rows]


def latest_valuation(session: Session, asset_id: int) -> CollateralValuation | None:
    return session.exec(select(CollateralValuation).where(CollateralValuation.ip_asset_id == asset_id)
                        .order_by(col(CollateralValuation.valuation_date).desc(), col(CollateralValuation.id).desc())
                        ).first()


def collateral_facts(session: Session, loan: Loan, borrower: Borrower) -> list[CollateralFacts]:
    from api.transactions.service import legal_end

    out = []
    for _link, asset in collateral_assets(session, loan):
        facts = session.get(PledgeIPFacts, asset.id)
        other = session.exec(
            select(LoanCollateral).where(LoanCollateral.ip_asset_id == asset.id, LoanCollateral.loan_id != loan.id,
                                         LoanCollateral.pledge_status == "registered")).first()
        val = latest_valuation(session, asset.id)  # type: ignore[arg-type]
        status = str(asset.legal_status)
        out.append(CollateralFacts(
            asset_id=str(asset.id),
            ip_type=str(asset.ip_type),
            registered_owners=tuple(facts.registered_owners) if facts and facts.registered_owners
            else (borrower.credit_code,),
            legal_status=LegalStatus(status) if status in LegalStatus.__members__.values() else LegalStatus.LAPSED,
            expiry_date=legal_end(asset, facts),  # record, else statutory/certificate term (first day not in force)
            annual_fee_paid_until=asset.annual_fee_paid_until,
            pledged_to=f"loan {other.loan_id}" if other else None,
            dispute=bool(facts and facts.dispute),
            preservation=bool(facts and facts.preservation),
            consenting_co_owners=tuple(facts.consenting_co_owners or ()) if facts else (),
            valuation_date=val.valuation_date if val else None,
            certificate_no=asset.certificate_no,
            registering_platform=asset.registering_platform,
            certificate_valid_until=asset.certificate_valid_until,
            data_source_legality=asset.data_source_legality or {},
            gi_protection=asset.gi_protection,
        ))
    return out


def bank_policy(session: Session, bank_org_id: int) -> PledgePolicy:
    row = session.get(PledgePolicyRow, bank_org_id)
    if row is None:
        return default_policy().model_copy(update={"bank_id": str(bank_org_id)})
    return PledgePolicy.model_validate(row.policy)


def eligibility(session: Session, loan: Loan, on: date) -> list[Ineligibility]:
    borrower = session.get(Borrower, loan.borrower_id)
    assert borrower is not None
    policy = bank_policy(session, loan.bank_org_id)
    if loan.maturity_date <= on:
        raise FieldError("on", "the loan matures on or before this date")
    req = PledgeRequest(borrower.credit_code, loan.maturity_date, on, policy.max_valuation_age_days)
    reasons = check_eligibility(req, collateral_facts(session, loan, borrower))
    if not any(r.reason in (Reason.VALUATION_MISSING, Reason.NO_COLLATERAL) for r in reasons):
        reasons += _pledge_rate_check(session, loan, policy)
    return reasons


def _pledge_rate_check(session: Session, loan: Loan, policy: PledgePolicy) -> list[Ineligibility]:
    """The loan against the bank's pledge-rate policy: an asset without an indicator score (or the
    Monte Carlo percentile the policy lends against) cannot be rated; a loan above the maximum fails."""
    items, out = [], []
    for _link, asset in collateral_assets(session, loan):
        val = latest_valuation(session, asset.id)  # type: ignore[arg-type]
        assert val is not None  # valuation_missing was reported otherwise
        if val.score is None:
            out.append(Ineligibility(str(asset.id), Reason.VALUATION_MISSING,
                                     f"{asset.id}: the latest valuation has no indicator score, so the policy's "
                                     "pledge rate cannot be set"))
            continue
        items.append(CollateralValue(str(asset.id), str(asset.ip_type), Decimal(val.score), val.value_fen,
                                     {5: val.p5_fen} if val.p5_fen is not None else {}))
    if out:
        return out
    try:
        r = max_loan(policy, items)
    except ValueError as exc:
        return [Ineligibility(None, Reason.VALUATION_MISSING, str(exc))]
    if loan.amount_fen > r.max_loan_fen:
        return [Ineligibility(None, Reason.ABOVE_MAX_LOAN,
                              f"loan {fen_to_cny(loan.amount_fen):,} CNY is above the policy maximum "
                              f"{fen_to_cny(r.max_loan_fen):,} CNY ({r.why[-1]})")]
    cap_rate = lending_terms(session, loan).max_pledge_rate  # the loan product's pledge-rate cap, if any
    if cap_rate is not None and loan.amount_fen > (cap := int(r.basis_total_fen * Decimal(cap_rate))):
        return [Ineligibility(None, Reason.ABOVE_MAX_LOAN,
                              f"loan {fen_to_cny(loan.amount_fen):,} CNY is above the product's pledge-rate cap "
                              f"{cap_rate} × {fen_to_cny(r.basis_total_fen):,} CNY = {fen_to_cny(cap):,} CNY")]
    return []


def last_move_on(session: Session, loan: Loan) -> date | None:
    """Business date of the loan's latest workflow move (from its audit trail), if any."""
    rows = session.exec(select(AuditEvent.after).where(
        AuditEvent.entity == "loan", AuditEvent.entity_id == str(loan.id), col(AuditEvent.action).in_(ACTIONS))
        .order_by(col(AuditEvent.id).desc()).limit(1)).all()
    if not rows or not isinstance(rows[0], dict) or not rows[0].get("on"):
        return None
    return date.fromisoformat(str(rows[0]["on"]))


def _audit_after(result: TransitionResult, loan: Loan) -> dict[str, Any]:
    return {**result.audit.as_dict(), "status": str(loan.status), "version": loan.version,
            "outstanding_fen": loan.outstanding_fen}


def transition(
    session: Session, user: User | None, org: Organisation | None, loan: Loan, req: TransitionRequest,
    *, actor: Actor | None = None,
) -> TransitionResult:
    """Run one move on ``loan`` (already tenancy-checked), with its effects and audit event."""
    expected = loan.version
    if req.expected_version is not None and req.expected_version != expected:
        raise Conflict(f"loan {loan.id} is at version {expected}, not {req.expected_version}; reload and retry")
    on = req.on or today()
    if user is not None and on > today():  # a person records what happened; only jobs run as of a date
        raise FieldError("on", f"{on.isoformat()} is in the future; workflow moves are recorded when they happen")
    last_on = last_move_on(session, loan)
    if last_on is not None and on < last_on:
        raise FieldError("on", f"{on.isoformat()} is before the loan's previous move ({last_on.isoformat()}); "
                               "moves are recorded in date order")
    if actor is None:
        assert user is not None and org is not None
        actor = domain_actor(user, org)
    try:
        move_for(req.action)
    except ValueError as exc:
        raise FieldError("action", str(exc)) from exc
    terms = get_terms(session, loan)
    account = load_account(session, loan, terms)
    ctx = TransitionContext(
        on=on,
        bank_id=str(loan.bank_org_id),
        submitted_by=str(terms.submitted_by_user_id) if terms.submitted_by_user_id else None,
        disbursed_on=terms.disbursed_on,
        payments_received_fen=sum(p.applied_fen for p in account.payments) if account else 0,
        # loans without a ledger here (imported or demo books) fall back to the stored figures
        outstanding_fen=account.payoff_amount(on) if account else (
            loan.outstanding_fen if LoanState(str(loan.status)) in PAYABLE_STATES else 0),
        overdue_days=account.overdue_days(on) if account else loan.days_past_due,
        pledge_registration_number=req.pledge_registration_number,
        comment=req.comment,
        details={"loan_version": expected},
    )
    result = apply_transition(str(loan.status), req.action, actor, ctx)
    if req.action == "complete_recovery" and session.exec(
            select(PledgeDisposal.id).where(PledgeDisposal.loan_id == loan.id).limit(1)).first() is None:
        raise GuardFailed(LoanState(str(loan.status)), req.action,
                          "no disposal is recorded: record the disposal (POST /loans/{id}/disposals) first")
    if req.action in ELIGIBILITY_CHECKED:
        reasons = eligibility(session, loan, on)
        if reasons:
            raise EligibilityFailed(reasons)
    values: dict[str, Any] = {"status": result.to_state.value}
    a = req.action
    if a == "submit":
        terms.submitted_by_user_id = user.id if user else None
    elif a == "register_pledge":
        for link, _ in collateral_assets(session, loan):
            link.pledge_registration_no = req.pledge_registration_number
            link.pledge_registered_on = on
            link.pledge_status = "registered"
            session.add(link)
    elif a == "disburse":
        terms.disbursed_on = on
        account = _open_ledger(session, loan, terms, on)
        _save_lines(session, loan.id, account)  # type: ignore[arg-type]
        values["outstanding_fen"] = loan.amount_fen
    elif a == "undo_disbursement":
        terms.disbursed_on = None
        _save_lines(session, loan.id, None)  # type: ignore[arg-type]
    elif a == "declare_default":
        values["default_date"] = on
    if result.releases_pledge:
        for link, _ in collateral_assets(session, loan):
            if link.pledge_status == "registered":
                link.pledge_status = "released"
                session.add(link)
    session.add(terms)
    _bump_version(session, loan, expected, **values)
    audit.record(session, user, "loan", loan.id, a, before={"status": result.from_state.value, "version": expected},
                 after=_audit_after(result, loan))
    return result


def _open_ledger(session: Session, loan: Loan, terms: PledgeLoanTerms, on: date) -> LoanAccount:
    """The ledger at disbursement on ``on``: due dates on the API's calendar (override table included),
    the product's convention and grace; a product LPR loan takes the LPR in force on ``on``."""
    from api.pledge.calendar_admin import current_calendar
    from api.pledge.products import fixings

    lending = lending_terms(session, loan)
    if lending.product_id is not None and str(terms.rate_kind) == "lpr_spread":
        try:
            terms.lpr = lpr_on(on, lending.lpr_tenor, fixings(session))
        except ValueError as exc:
            raise FieldError("on", str(exc)) from exc
    try:
        account = open_account(build_schedule(domain_terms(loan, terms, on, lending, current_calendar(session))), on)
    except ValueError as exc:
        raise FieldError("on", str(exc)) from exc
    return replace(account, anchor_date=on)


def _require_ledger(session: Session, loan: Loan, terms: PledgeLoanTerms) -> LoanAccount:
    """The loan's ledger; 409 for a live loan disbursed outside ipfin (imported or demo book: no schedule)."""
    account = load_account(session, loan, terms)
    if account is None:
        raise Conflict(f"loan {loan.id} has no repayment ledger in ipfin (it was disbursed outside the "
                       "workflow, e.g. imported); its payments cannot be applied here")
    return account


def record_payment(session: Session, user: User, org: Organisation, loan_id: int, body: PaymentCreate) -> PledgePayment:
    loan = crud.get_loan(session, org, loan_id)
    if LoanState(str(loan.status)) not in PAYABLE_STATES:
        raise Conflict(f"payments are not accepted while the loan is {loan.status}")
    terms = get_terms(session, loan)
    account = _require_ledger(session, loan, terms)
    expected, outstanding_before = loan.version, loan.outstanding_fen
    from api.pledge.arrears_jobs import accrue_to  # penalty and compound interest up to the payment date first

    account = accrue_to(session, user, loan, terms, account, body.paid_on, field="paid_on")
    try:
        account, alloc = apply_payment(account, cny_to_fen(body.amount_cny), body.paid_on,
                                       allow_prepayment=body.allow_prepayment, prepayment_mode=body.prepayment_mode)
    except ValueError as exc:
        raise FieldError("paid_on", str(exc)) from exc
    _save_lines(session, loan.id, account)  # type: ignore[arg-type]
    terms.fees_paid_fen = account.fees_paid_fen
    session.add(terms)
    pay = PledgePayment(
        loan_id=loan.id, paid_on=alloc.on, amount_fen=alloc.amount_fen, fees_fen=alloc.fees_fen,  # type: ignore[arg-type]
        interest_fen=alloc.interest_fen, principal_fen=alloc.principal_fen,
        accrued_interest_fen=alloc.accrued_interest_fen, prepaid_principal_fen=alloc.prepaid_principal_fen,
        unapplied_fen=alloc.unapplied_fen, created_by_user_id=user.id,
    )
    session.add(pay)
    _bump_version(session, loan, expected, outstanding_fen=account.principal_outstanding_fen,
                  days_past_due=account.overdue_days(body.paid_on))
    session.flush()
    audit.record(session, user, "loan", loan.id, "payment",
                 before={"outstanding_fen": outstanding_before, "version": expected},
                 after={"payment_id": pay.id, "amount_fen": alloc.amount_fen, "fees_fen": alloc.fees_fen,
                        "interest_fen": alloc.interest_fen + alloc.accrued_interest_fen,
                        "principal_fen": alloc.principal_fen + alloc.prepaid_principal_fen,
                        "unapplied_fen": alloc.unapplied_fen, "outstanding_fen": loan.outstanding_fen,
                        "version": loan.version})
    return pay


def add_charge(session: Session, user: User, org: Organisation, loan_id: int, body: ChargeCreate) -> ChargePublic:
    """Charge a fee, or the penalty interest on overdue principal as of ``body.as_of``."""
    loan = crud.get_loan(session, org, loan_id)
    if LoanState(str(loan.status)) not in PAYABLE_STATES:
        raise Conflict(f"charges are not accepted while the loan is {loan.status}")
    terms = get_terms(session, loan)
    account = _require_ledger(session, loan, terms)
    if body.kind == "fee":
        amount = cny_to_fen(body.amount_cny)  # type: ignore[arg-type]
    else:
        assert body.as_of is not None
        lending = lending_terms(session, loan)
        if session.exec(select(ArrearsPosting.id).where(ArrearsPosting.loan_id == loan.id).limit(1)).first():
            raise Conflict(f"penalty interest of loan {loan.id} is posted by the daily accrual (up to "
                           f"{lending.arrears_accrued_to}); it cannot also be charged by hand")
        amount = penalty_interest_fen(account, body.as_of, body.multiplier)
        if amount == 0:
            raise FieldError("as_of", f"no principal is overdue on {body.as_of}: no penalty interest")
        # the daily accrual continues from here, so the days charged are never charged again
        lending.arrears_accrued_to = max(body.as_of, lending.arrears_accrued_to or body.as_of)
        session.add(lending)
    expected, before = loan.version, terms.fees_charged_fen
    terms.fees_charged_fen += amount
    session.add(terms)
    _bump_version(session, loan, expected)
    audit.record(session, user, "loan", loan.id, "charge", before={"fees_charged_fen": before},
                 after={"kind": body.kind, "amount_fen": amount, "fees_charged_fen": terms.fees_charged_fen,
                        "description": body.description, "as_of": body.as_of, "version": loan.version})
    return ChargePublic(loan_id=loan_id, kind=body.kind, amount_fen=amount,
                        fees_outstanding_fen=terms.fees_charged_fen - terms.fees_paid_fen)
