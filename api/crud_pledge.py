"""Glue between the pledge tables and the pure ``pledge`` package.

Every write adds its audit event to the request's session; the route commits once.
Loan changes go through :func:`_bump_version`, a conditional ``UPDATE ... WHERE id AND
version`` so two concurrent moves on the same loan cannot both succeed (the loser gets
409 and nothing it did is committed).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib.util import find_spec
from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from api import audit, crud
from api.crud import Conflict, FieldError, NotFound
from api.models import (
    AuditEvent,
    Borrower,
    IPAsset,
    Loan,
    LoanCollateral,
    LoanStatus,
    Organisation,
    OrgKind,
    User,
    UserRole,
)
from api.models.core import BorrowerCreate, IPAssetCreate, LoanCreate
from api.models.pledge import (
    MAX_AMOUNT_CNY,
    BucketHistory,
    ChargeCreate,
    ChargePublic,
    CollateralValuation,
    CollateralValuationCreate,
    DisposalCreate,
    MaxLoanRequest,
    MonitoringSummary,
    PaymentCreate,
    PledgeAlert,
    PledgeDisposal,
    PledgeInstalment,
    PledgeIPFacts,
    PledgeIPFactsUpdate,
    PledgeLoanTerms,
    PledgePayment,
    PledgePolicyRow,
    PledgeTermsUpdate,
    RateKind,
    TransitionRequest,
    ValuationSource,
)
from api.tenancy import loan_visibility
from ipfin.money import cny_to_fen, fen_to_cny
from pledge.disposal import CashItem, DisposalMethod, DisposalRecord, disposal_outcome, recovery_flows
from pledge.eligibility import (
    CollateralFacts,
    Ineligibility,
    LegalStatus,
    PledgeRequest,
    Reason,
    check_eligibility,
    statutory_expiry,
)
from pledge.lifecycle import PAYABLE_STATES
from pledge.monitoring import AlertCode, LoanSnapshot, MonitoringResult, monitor_loan
from pledge.policy import CollateralValue, MaxLoanResult, PledgePolicy, default_policy, max_loan
from pledge.schedule import Instalment as DomainInstalment
from pledge.schedule import (
    InterestRate,
    LoanAccount,
    LoanTerms,
    PaymentAllocation,
    Schedule,
    ScheduleLine,
    ScheduleType,
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
    Role,
    TransitionContext,
    TransitionResult,
    apply_transition,
    move_for,
)

ROLE_OF = {UserRole.officer.value: Role.MAKER, UserRole.approver.value: Role.APPROVER}
SYSTEM_ACTOR = Actor("system", frozenset({Role.SYSTEM}))
ELIGIBILITY_CHECKED = frozenset({"approve", "register_pledge"})


class EligibilityFailed(Conflict):
    """Approval or registration refused: the collateral fails pledge eligibility (HTTP 409)."""

    def __init__(self, reasons: list[Ineligibility]) -> None:
        self.reasons = reasons
        super().__init__("collateral is not eligible: " + "; ".join(r.message for r in reasons))



def today() -> date:
    return datetime.now(UTC).date()


def domain_actor(user: User, org: Organisation) -> Actor:
    role = ROLE_OF.get(str(user.role))
    return Actor(str(user.id), frozenset({role}) if role else frozenset(), str(org.id))


# ---------------------------------------------------------------- terms and ledger


def full_months(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (2026-09-01 → 2027-09-15 is 12; a month end
    counts as the same day: 2026-01-31 → 2026-02-28 is 1)."""
    month_end = (end + timedelta(days=1)).month != end.month
    short = end.day < start.day and not month_end
    return (end.year - start.year) * 12 + (end.month - start.month) - (1 if short else 0)


def get_terms(session: Session, loan: Loan) -> PledgeLoanTerms:
    """The loan's repayment terms (defaults — fixed rate, monthly 等额本息 over the term — if never set)."""
    terms = session.get(PledgeLoanTerms, loan.id)
    if terms is None:
        terms = PledgeLoanTerms(loan_id=loan.id,  # type: ignore[arg-type]
                                n_periods=max(1, full_months(loan.origination_date, loan.maturity_date)))
    return terms


def interest_rate(loan: Loan, terms: PledgeLoanTerms) -> InterestRate:
    if str(terms.rate_kind) == RateKind.lpr_spread.value:
        return InterestRate.lpr_plus(Decimal(terms.lpr or 0), terms.spread_bp)
    return InterestRate.fixed(Decimal(loan.annual_rate))


def domain_terms(loan: Loan, terms: PledgeLoanTerms, start: date) -> LoanTerms:
    return LoanTerms(loan.amount_fen, interest_rate(loan, terms), start, terms.n_periods,
                     ScheduleType(str(terms.schedule_type)), terms.months_per_period)


def load_account(session: Session, loan: Loan, terms: PledgeLoanTerms) -> LoanAccount | None:
    """The loan's ledger rebuilt from its rows (None before disbursement)."""
    if terms.disbursed_on is None:
        return None
    rows = session.exec(select(PledgeInstalment).where(PledgeInstalment.loan_id == loan.id)
                        .order_by(col(PledgeInstalment.seq))).all()
    pays = session.exec(select(PledgePayment).where(PledgePayment.loan_id == loan.id)
                        .order_by(col(PledgePayment.id))).all()
    lines = tuple(
        ScheduleLine(DomainInstalment(r.number, r.period_start, r.due_date, r.days, r.opening_balance_fen,
                                      r.principal_fen, r.interest_fen, r.kind),  # type: ignore[arg-type]
                     r.principal_paid_fen, r.interest_paid_fen)
        for r in rows
    )
    payments = tuple(
        PaymentAllocation(p.paid_on, p.amount_fen, p.fees_fen, p.interest_fen, p.principal_fen,
                          p.accrued_interest_fen, p.prepaid_principal_fen, p.unapplied_fen)
        for p in pays
    )
    rate = interest_rate(loan, terms).annual_rate
    return LoanAccount(loan.amount_fen, rate, ScheduleType(str(terms.schedule_type)), terms.disbursed_on, lines,
                       terms.fees_charged_fen, terms.fees_paid_fen, payments)


def _save_lines(session: Session, loan_id: int, account: LoanAccount | None) -> None:
    for old in session.exec(select(PledgeInstalment).where(PledgeInstalment.loan_id == loan_id)).all():
        session.delete(old)
    session.flush()
    if account is None:
        return
    for seq, ln in enumerate(account.lines):
        i = ln.instalment
        session.add(PledgeInstalment(
            loan_id=loan_id, seq=seq, number=i.number, kind=i.kind, period_start=i.period_start,
            due_date=i.due_date, days=i.days, opening_balance_fen=i.opening_balance_fen,
            principal_fen=i.principal_fen, interest_fen=i.interest_fen,
            principal_paid_fen=ln.principal_paid_fen, interest_paid_fen=ln.interest_paid_fen,
        ))


def _bump_version(session: Session, loan: Loan, expected: int, **values: Any) -> None:
    """Conditional update of the loan row: only if nobody changed it since ``expected``."""
    stmt = (
        update(Loan)
        .where(col(Loan.id) == loan.id, col(Loan.version) == expected)
        .values(version=expected + 1, updated_at=datetime.now(UTC), **values)
    )
    result = session.connection().execute(stmt)
    if result.rowcount != 1:
        session.rollback()
        raise Conflict(f"loan {loan.id} was changed by someone else (your version {expected}); reload and retry")
    session.refresh(loan)


def schedule_rows(loan: Loan, terms: PledgeLoanTerms, account: LoanAccount | None) -> tuple[bool, list[dict]]:
    """The ledger's lines, or (before disbursement) the schedule the terms would give."""
    if account is None:
        start = loan.origination_date
        s: Schedule = build_schedule(domain_terms(loan, terms, start))
        lines = [ScheduleLine(i) for i in s.instalments]
        projected = True
    else:
        lines = list(account.lines)
        projected = False
    return projected, [
        {"number": ln.instalment.number, "kind": ln.instalment.kind, "period_start": ln.instalment.period_start,
         "due_date": ln.instalment.due_date, "days": ln.instalment.days,
         "opening_balance_fen": ln.instalment.opening_balance_fen, "principal_fen": ln.instalment.principal_fen,
         "interest_fen": ln.instalment.interest_fen, "total_fen": ln.instalment.total_fen,
         "principal_paid_fen": ln.principal_paid_fen, "interest_paid_fen": ln.interest_paid_fen}
        for ln in lines
    ]


def set_terms(session: Session, user: User, org: Organisation, loan_id: int, body: PledgeTermsUpdate) -> Loan:
    loan = crud.get_loan(session, org, loan_id)
    if str(loan.status) != LoanStatus.draft.value:
        raise Conflict(f"terms can only be changed while the loan is a draft (it is {loan.status})")
    terms = get_terms(session, loan)
    before = audit.snapshot(terms)
    try:
        rate = (InterestRate.lpr_plus(body.lpr, body.spread_bp) if body.rate_kind == RateKind.lpr_spread  # type: ignore[arg-type]
                else InterestRate.fixed(body.annual_rate))  # type: ignore[arg-type]
    except ValueError as exc:
        raise FieldError("spread_bp" if body.rate_kind == RateKind.lpr_spread else "annual_rate", str(exc)) from exc
    mpp, term = body.months_per_period, full_months(loan.origination_date, loan.maturity_date)
    fitting = term // mpp  # the schedule must end in the last period before the loan's maturity
    if fitting < 1:
        raise FieldError("months_per_period", f"a {mpp}-month period is longer than the {term}-month loan")
    n = body.n_periods or fitting
    if n != fitting:
        raise FieldError("n_periods", f"{n} periods of {mpp} month(s) do not fit the {term}-month term "
                                      f"(origination {loan.origination_date}, maturity {loan.maturity_date}); "
                                      f"use {fitting}")
    try:
        build_schedule(LoanTerms(loan.amount_fen, rate, loan.origination_date, n, body.schedule_type, mpp))
    except ValueError as exc:
        raise FieldError("n_periods", str(exc)) from exc
    terms.rate_kind = body.rate_kind.value
    terms.lpr = body.lpr if body.rate_kind == RateKind.lpr_spread else None
    terms.spread_bp = body.spread_bp if body.rate_kind == RateKind.lpr_spread else 0
    terms.schedule_type = body.schedule_type.value
    terms.months_per_period = mpp
    terms.n_periods = n
    session.add(terms)
    _bump_version(session, loan, loan.version, annual_rate=rate.annual_rate)
    audit.record(session, user, "loan", loan.id, "set_terms", before=before, after=terms)
    return loan


# ---------------------------------------------------------------- eligibility


def collateral_assets(session: Session, loan: Loan) -> list[tuple[LoanCollateral, IPAsset]]:
    rows = session.exec(select(LoanCollateral, IPAsset).join(IPAsset, col(IPAsset.id) == LoanCollateral.ip_asset_id)
                        .where(LoanCollateral.loan_id == loan.id).order_by(col(LoanCollateral.id))).all()
    return [(c, a) for c, a in rows]


def latest_valuation(session: Session, asset_id: int) -> CollateralValuation | None:
    return session.exec(select(CollateralValuation).where(CollateralValuation.ip_asset_id == asset_id)
                        .order_by(col(CollateralValuation.valuation_date).desc(), col(CollateralValuation.id).desc())
                        ).first()


def collateral_facts(session: Session, loan: Loan, borrower: Borrower) -> list[CollateralFacts]:
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
            expiry_date=(facts.expiry_date if facts and facts.expiry_date
                         else statutory_expiry(str(asset.ip_type), asset.filing_date)),
            annual_fee_paid_until=asset.annual_fee_paid_until,
            pledged_to=f"loan {other.loan_id}" if other else None,
            dispute=bool(facts and facts.dispute),
            preservation=bool(facts and facts.preservation),
            consenting_co_owners=tuple(facts.consenting_co_owners or ()) if facts else (),
            valuation_date=val.valuation_date if val else None,
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
    return []


# ---------------------------------------------------------------- transitions


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
        try:
            account = open_account(build_schedule(domain_terms(loan, terms, on)), on)
        except ValueError as exc:
            raise FieldError("on", str(exc)) from exc
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


# ---------------------------------------------------------------- payments


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
    try:
        account, alloc = apply_payment(account, cny_to_fen(body.amount_cny), body.paid_on,
                                       allow_prepayment=body.allow_prepayment)
    except ValueError as exc:
        raise FieldError("paid_on", str(exc)) from exc
    expected, outstanding_before = loan.version, loan.outstanding_fen
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
        amount = penalty_interest_fen(account, body.as_of, body.multiplier)
        if amount == 0:
            raise FieldError("as_of", f"no principal is overdue on {body.as_of}: no penalty interest")
    expected, before = loan.version, terms.fees_charged_fen
    terms.fees_charged_fen += amount
    session.add(terms)
    _bump_version(session, loan, expected)
    audit.record(session, user, "loan", loan.id, "charge", before={"fees_charged_fen": before},
                 after={"kind": body.kind, "amount_fen": amount, "fees_charged_fen": terms.fees_charged_fen,
                        "description": body.description, "as_of": body.as_of, "version": loan.version})
    return ChargePublic(loan_id=loan_id, kind=body.kind, amount_fen=amount,
                        fees_outstanding_fen=terms.fees_charged_fen - terms.fees_paid_fen)


# ---------------------------------------------------------------- collateral facts, valuations, max loan


def set_ip_facts(session: Session, user: User, org: Organisation, asset_id: int, body: PledgeIPFactsUpdate
                 ) -> PledgeIPFacts:
    crud.get_ip_asset(session, org, asset_id)
    facts = session.get(PledgeIPFacts, asset_id) or PledgeIPFacts(ip_asset_id=asset_id)
    before = audit.snapshot(facts) if facts.expiry_date or facts.registered_owners else None
    for k, v in body.model_dump().items():
        setattr(facts, k, v)
    session.add(facts)
    audit.record(session, user, "ip_asset", asset_id, "set_pledge_facts", before=before, after=facts)
    return facts


def _stored_valuation(session: Session, org: Organisation, asset_id: int, valuation_id: int) -> Any:
    """The valuation engine's stored result ``valuation_id`` (same organisation and asset, succeeded)."""
    if find_spec("api.models.valuation") is None:
        raise FieldError("valuation_id", "the valuation module is not installed; use source=appraiser")
    from api.models.valuation import Valuation

    v = session.get(Valuation, valuation_id)
    if v is None or v.owner_org_id != org.id:
        raise FieldError("valuation_id", f"no valuation {valuation_id} of your organisation")
    if v.ip_asset_id not in (None, asset_id):
        raise FieldError("valuation_id", f"valuation {valuation_id} is of IP asset {v.ip_asset_id}, not {asset_id}")
    if str(v.status) != "succeeded" or v.appraised_value_fen is None:
        raise FieldError("valuation_id", f"valuation {valuation_id} has no result yet (status {v.status})")
    return v


def add_valuation(session: Session, user: User, org: Organisation, asset_id: int, body: CollateralValuationCreate
                  ) -> CollateralValuation:
    crud.get_ip_asset(session, org, asset_id)
    if body.source == ValuationSource.valuation:
        assert body.valuation_id is not None
        stored = _stored_valuation(session, org, asset_id, body.valuation_id)
        value, p5, day = stored.appraised_value_fen, stored.mc_p5_fen, stored.valuation_date
    else:
        assert body.value_cny is not None and body.valuation_date is not None
        value = cny_to_fen(body.value_cny)
        p5 = cny_to_fen(body.p5_cny) if body.p5_cny is not None else None
        day = body.valuation_date
    v = CollateralValuation(
        ip_asset_id=asset_id, value_fen=value, p5_fen=p5, score=body.score, valuation_date=day,
        source=body.source.value, valuation_id=body.valuation_id, report_reference=body.report_reference,
        created_by_user_id=user.id,
    )
    session.add(v)
    session.flush()
    audit.record(session, user, "ip_asset", asset_id, "add_valuation", after=v)
    return v


def compute_max_loan(session: Session, org: Organisation, body: MaxLoanRequest) -> MaxLoanResult:
    policy = bank_policy(session, org.id)  # type: ignore[arg-type]
    items: list[CollateralValue] = []
    try:
        for c in body.collateral:
            items.append(CollateralValue(c.asset_id, c.ip_type, c.score, cny_to_fen(c.value_cny),
                                         {5: cny_to_fen(c.p5_cny)} if c.p5_cny is not None else {}))
        for aid in body.ip_asset_ids:
            asset = crud.get_ip_asset(session, org, aid)
            val = latest_valuation(session, aid)
            if val is None:
                raise FieldError("ip_asset_ids", f"IP asset {aid} has no valuation on record")
            if val.score is None:
                raise FieldError("ip_asset_ids", f"the latest valuation of IP asset {aid} has no indicator score")
            items.append(CollateralValue(str(aid), str(asset.ip_type), Decimal(val.score), val.value_fen,
                                         {5: val.p5_fen} if val.p5_fen is not None else {}))
        return max_loan(policy, items)
    except FieldError:
        raise
    except ValueError as exc:
        raise FieldError("collateral", str(exc)) from exc


def set_policy(session: Session, user: User, org: Organisation, policy: PledgePolicy) -> PledgePolicyRow:
    policy = policy.model_copy(update={"bank_id": str(org.id)})
    row = session.get(PledgePolicyRow, org.id)
    before = row.policy if row else None
    if row is None:
        row = PledgePolicyRow(org_id=org.id, policy={})  # type: ignore[arg-type]
    row.policy = policy.model_dump(mode="json")
    row.updated_at = datetime.now(UTC)
    session.add(row)
    audit.record(session, user, "pledge_policy", org.id, "set", before=before, after=row.policy)
    return row


# ---------------------------------------------------------------- monitoring

MONITORED = (LoanStatus.active, LoanStatus.overdue, LoanStatus.default, LoanStatus.in_claim, LoanStatus.in_disposal)


@dataclass
class _RunTotals:
    checked: int = 0
    alerts: int = 0


def monitor_one(session: Session, loan: Loan, as_of: date, totals: _RunTotals, moved: list[int], cured: list[int],
                user: User | None = None) -> MonitoringResult:
    """Monitor one loan on ``as_of``: overdue marking or cure (not before the loan's last move),
    bucket record, alerts; a new LTV breach also writes a ``margin_call`` event on the loan."""
    terms = get_terms(session, loan)
    account = load_account(session, loan, terms)
    days = account.overdue_days(as_of) if account else loan.days_past_due
    state = str(loan.status)
    last_on = last_move_on(session, loan)
    if last_on is not None and as_of < last_on:
        state = ""  # a run dated before the last move records buckets and alerts but moves nothing
    if state == LoanStatus.active.value and days > 0:
        transition(session, None, None, loan, TransitionRequest(action="mark_overdue", on=as_of), actor=SYSTEM_ACTOR)
        moved.append(loan.id)  # type: ignore[arg-type]
    elif state == LoanStatus.overdue.value and days == 0:
        transition(session, None, None, loan, TransitionRequest(action="cure", on=as_of), actor=SYSTEM_ACTOR)
        cured.append(loan.id)  # type: ignore[arg-type]
    borrower = session.get(Borrower, loan.borrower_id)
    assert borrower is not None
    facts = collateral_facts(session, loan, borrower)
    vals = [latest_valuation(session, int(f.asset_id)) for f in facts]
    value = sum(v.value_fen for v in vals if v is not None)
    last_val = None if any(v is None for v in vals) or not vals else min(v.valuation_date for v in vals if v)
    prev = session.exec(select(BucketHistory).where(BucketHistory.loan_id == loan.id, BucketHistory.as_of < as_of)
                        .order_by(col(BucketHistory.as_of).desc(), col(BucketHistory.id).desc())).first()
    for same_day in session.exec(select(BucketHistory).where(BucketHistory.loan_id == loan.id,
                                                             BucketHistory.as_of == as_of)).all():
        session.delete(same_day)  # a re-run on the same day replaces that day's record
    policy = bank_policy(session, loan.bank_org_id)
    snap = LoanSnapshot(
        loan_id=str(loan.id), as_of=as_of, maturity=account.maturity if account else loan.maturity_date,
        days_overdue=days, outstanding_fen=account.principal_outstanding_fen if account else loan.outstanding_fen,
        collateral_value_fen=value, last_valuation_date=last_val, collateral=tuple(facts),
        previous_bucket_index=prev.bucket_index if prev else None,
    )
    result = monitor_loan(snap, ltv_trigger=policy.ltv_breach_trigger,
                          revaluation_interval_days=policy.revaluation_interval_days, buckets=policy.bucket_policy)
    session.add(BucketHistory(loan_id=loan.id, as_of=as_of, days_overdue=days,  # type: ignore[arg-type]
                              bucket_index=result.bucket.index, bucket_label=result.bucket.label,
                              loan_class=result.loan_class.value))
    if loan.days_past_due != days:
        _bump_version(session, loan, loan.version, days_past_due=days)
    for al in result.alerts:
        asset_id = int(al.asset_id) if al.asset_id else None
        dup = session.exec(select(PledgeAlert.id).where(
            PledgeAlert.loan_id == loan.id, PledgeAlert.code == al.code.value, PledgeAlert.as_of == as_of,
            PledgeAlert.ip_asset_id == asset_id if asset_id is not None else col(PledgeAlert.ip_asset_id).is_(None),
        )).first()
        if dup is None:
            session.add(PledgeAlert(loan_id=loan.id, ip_asset_id=asset_id, code=al.code.value,  # type: ignore[arg-type]
                                    severity=al.severity.value, message=al.message[:500], as_of=as_of,
                                    data=dict(al.data)))
            totals.alerts += 1
            if al.code == AlertCode.LTV_BREACH:  # 追加担保: the margin call is an event of the loan file
                audit.record(session, user, "loan", loan.id, "margin_call",
                             after={"on": as_of.isoformat(), "message": al.message, **dict(al.data)})
    totals.checked += 1
    return result


def run_monitoring(session: Session, user: User | None, org: Organisation | None, as_of: date,
                   progress: Callable[[float], None] | None = None) -> MonitoringSummary:
    """Monitor every live loan the organisation may see (all loans when ``org`` is None: the CLI job)."""
    conds: list[Any] = [col(Loan.status).in_([s.value for s in MONITORED])]
    if org is not None:
        conds.append(loan_visibility(org))
    loans = session.exec(select(Loan).where(*conds).order_by(col(Loan.id))).all()
    totals, moved, cured = _RunTotals(), [], []  # type: ignore[var-annotated]
    for i, loan in enumerate(loans):
        monitor_one(session, loan, as_of, totals, moved, cured, user)
        if progress is not None and i % 50 == 49:
            progress((i + 1) / len(loans))
    summary = MonitoringSummary(as_of=as_of, loans_checked=totals.checked, alerts_created=totals.alerts,
                                moved_to_overdue=moved, cured=cured)
    audit.record(session, user, "pledge_monitoring", org.id if org else "all", "run", after=summary.model_dump())
    return summary


def run_monitoring_job(engine: Any, user_id: int, org_id: int, as_of: date,
                       progress: Callable[[float], None]) -> dict[str, Any]:
    """The monitoring run as a background job (``api.jobs``): own session, one commit at the end."""
    with Session(engine) as s:
        user, org = s.get(User, user_id), s.get(Organisation, org_id)
        summary = run_monitoring(s, user, org, as_of, progress)
        s.commit()
    return summary.model_dump(mode="json")


def run_from_cli(args: Any) -> int:
    """``ipfin monitor`` without ``--input``: monitor the whole database and commit."""
    import os

    from api.core.config import reset_settings
    from api.core.db import get_engine, set_engine

    if getattr(args, "database_url", None):
        os.environ["IPFIN_DATABASE_URL"] = args.database_url
        reset_settings()
        set_engine(None)
    as_of = date.fromisoformat(args.as_of) if getattr(args, "as_of", None) else today()
    with Session(get_engine()) as s:
        org = None
        if getattr(args, "bank_org_id", None) is not None:
            org = s.get(Organisation, args.bank_org_id)
            if org is None or str(org.kind) != OrgKind.bank.value:
                print(f"ipfin monitor: no bank organisation {args.bank_org_id}")
                return 2
        summary = run_monitoring(s, None, org, as_of)
        s.commit()
    print(f"monitored {summary.loans_checked} loan(s) on {as_of}: {summary.alerts_created} new alert(s), "
          f"{len(summary.moved_to_overdue)} moved to overdue, {len(summary.cured)} cured")
    return 0


# ---------------------------------------------------------------- disposal


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


# ---------------------------------------------------------------- import and export

EXPORT_COLUMNS = ["reference", "borrower_credit_code", "bank_org_id", "guarantor_org_id", "amount_cny",
                  "outstanding_cny", "annual_rate", "status", "origination_date", "maturity_date", "days_past_due",
                  "region_code", "industry", "ip_types", "version"]

MAX_IMPORT_ROWS = 5000
"""Data rows accepted in one import file (split larger books into several files)."""

IMPORT_COLUMNS = ["borrower_name", "credit_code", "region_code", "industry", "size_class", "ip_type",
                  "identifier", "title", "legal_status", "amount_cny", "annual_rate", "origination_date",
                  "maturity_date"]


def export_rows(session: Session, org: Organisation, status: str | None = None) -> list[list[Any]]:
    conds = [loan_visibility(org)]
    if status:
        conds.append(col(Loan.status) == status)
    rows = session.exec(select(Loan, Borrower).join(Borrower, col(Borrower.id) == Loan.borrower_id)
                        .where(*conds).order_by(col(Loan.id))).all()
    return [[ln.reference, b.credit_code, ln.bank_org_id, ln.guarantor_org_id or "", fen_to_cny(ln.amount_fen),
             fen_to_cny(ln.outstanding_fen), ln.annual_rate, str(ln.status), ln.origination_date.isoformat(),
             ln.maturity_date.isoformat(), ln.days_past_due, ln.region_code, ln.industry, ln.ip_types, ln.version]
            for ln, b in rows]


def read_table(filename: str, content: bytes) -> list[dict[str, str]]:
    """Rows of an uploaded CSV (UTF-8, optional BOM) or Excel (.xlsx, first sheet) file."""
    if filename.lower().endswith(".xlsx"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a corrupt file
            raise FieldError("file", f"not a readable .xlsx file: {exc}") from exc
        ws = wb.worksheets[0]
        values = list(ws.iter_rows(values_only=True))
        if not values:
            return []
        header = [str(h).strip() if h is not None else "" for h in values[0]]
        return [{h: ("" if v is None else (v.isoformat()[:10] if isinstance(v, datetime | date) else str(v)))
                 for h, v in zip(header, row, strict=False)} for row in values[1:]
                if any(v is not None for v in row)]
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FieldError("file", "CSV must be UTF-8 encoded") from exc
    return [dict(r) for r in csv.DictReader(io.StringIO(text))]


def import_loans(session: Session, user: User, org: Organisation, rows: list[dict[str, str]]) -> list[Loan]:
    """All-or-nothing import: every row is validated first; any error → nothing is written.

    Each row is one draft loan with one pledged IP asset; the borrower (by credit code) and
    the asset (by type + identifier) are reused when the bank already has them; an asset
    already recorded (or named earlier in the file) for another borrower is a row error.
    Raises :class:`ImportFailed` with one entry per bad field: ``{row, field, message}``
    (row 2 is the first data row, as a spreadsheet shows it).
    """
    if not rows:
        raise ImportFailed([{"row": 1, "field": "file", "message": "no data rows"}])
    if len(rows) > MAX_IMPORT_ROWS:
        raise ImportFailed([{"row": MAX_IMPORT_ROWS + 2, "field": "file",
                             "message": f"{len(rows)} data rows; at most {MAX_IMPORT_ROWS} per file"}])
    missing = [c for c in IMPORT_COLUMNS if c not in rows[0]]
    if missing:
        raise ImportFailed([{"row": 1, "field": c, "message": "missing column"} for c in missing])
    errors: list[dict[str, Any]] = []
    parsed = []
    owners: dict[tuple[str, str], tuple[int, str]] = {}  # (ip_type, identifier) → first (row, credit code)
    for n, r in enumerate(rows, start=2):
        def v(k: str, r: dict[str, str] = r) -> str | None:
            x = (r.get(k) or "").strip()
            return x or None

        try:
            b = BorrowerCreate.model_validate({"name": v("borrower_name"), "credit_code": v("credit_code"),
                                               "region_code": v("region_code"), "industry": v("industry"),
                                               "size_class": v("size_class") or "small"})
        except ValidationError as exc:
            errors += [{"row": n, "field": _import_field(e), "message": e["msg"]} for e in exc.errors()]
            b = None
        try:
            a = IPAssetCreate.model_validate({"borrower_id": 0, "ip_type": v("ip_type"), "identifier": v("identifier"),
                                              "title": v("title"), "legal_status": v("legal_status") or "granted"})
        except ValidationError as exc:
            errors += [{"row": n, "field": _import_field(e), "message": e["msg"]} for e in exc.errors()]
            a = None
        try:
            ln = LoanCreate.model_validate({"borrower_id": 0, "collateral_ip_asset_ids": [0],
                                            "amount_cny": v("amount_cny"), "annual_rate": v("annual_rate"),
                                            "origination_date": v("origination_date"),
                                            "maturity_date": v("maturity_date")})
        except ValidationError as exc:
            errors += [{"row": n, "field": _import_field(e), "message": e["msg"]} for e in exc.errors()]
            ln = None
        if ln is not None and ln.amount_cny > MAX_AMOUNT_CNY:
            errors.append({"row": n, "field": "amount_cny", "message": f"must be at most {MAX_AMOUNT_CNY:,} CNY"})
        if a is not None and b is not None:
            key = (str(a.ip_type), a.identifier)
            holder = owners.setdefault(key, (n, b.credit_code))
            existing = session.exec(select(Borrower.credit_code).join(IPAsset, col(IPAsset.borrower_id) == Borrower.id)
                                    .where(IPAsset.owner_org_id == org.id, IPAsset.ip_type == a.ip_type,
                                           IPAsset.identifier == a.identifier)).first()
            if existing is not None and existing != b.credit_code:
                errors.append({"row": n, "field": "identifier", "message": f"{a.identifier} is already recorded "
                               f"for another borrower ({existing})"})
            elif holder[1] != b.credit_code:
                errors.append({"row": n, "field": "identifier", "message": f"{a.identifier} is given for "
                               f"another borrower in row {holder[0]} ({holder[1]})"})
        parsed.append((b, a, ln))
    if errors:
        raise ImportFailed(errors)
    loans = []
    borrowers: dict[str, Borrower] = {}
    for b, a, ln in parsed:
        assert b is not None and a is not None and ln is not None
        borrower = borrowers.get(b.credit_code) or session.exec(
            select(Borrower).where(Borrower.owner_org_id == org.id, Borrower.credit_code == b.credit_code)).first()
        if borrower is None:
            borrower = crud.create_borrower(session, user, b)
        borrowers[b.credit_code] = borrower
        asset = session.exec(select(IPAsset).where(IPAsset.owner_org_id == org.id, IPAsset.ip_type == a.ip_type,
                                                   IPAsset.identifier == a.identifier)).first()
        if asset is None:
            asset = crud.create_ip_asset(session, user, org, a.model_copy(update={"borrower_id": borrower.id}))
        loans.append(crud.create_loan(session, user, org, ln.model_copy(
            update={"borrower_id": borrower.id, "collateral_ip_asset_ids": [asset.id]})))
    return loans


def _import_field(e: Any) -> str:
    loc = [str(x) for x in e.get("loc", ()) if x != "__root__"]
    if loc:
        return loc[0]
    msg = str(e.get("msg", ""))
    # model-level validators name the field first: "Value error, maturity_date: must be ..."
    head = msg.split(", ", 1)[-1].split(":", 1)[0]
    return head if head and " " not in head else "row"


class ImportFailed(ValueError):
    """Rows that failed validation; nothing was imported."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s); nothing imported")


__all__ = ["EligibilityFailed", "FieldError", "ImportFailed", "NotFound", "OrgKind"]
