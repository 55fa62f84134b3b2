"""Risk-sharing claims: filing (parties checked against the loan), the rule review, rejection.

Every write adds its audit event to the request session; the route commits once. The review
reads cap usage from the ledger (shares paid) plus the shares of signed claims not paid yet
(reserved, see ``shares.py``), leaving out the claim itself. Signing, paying and recoveries
first bump the family's ``risk_scheme_state.lock_counter`` (an ``UPDATE`` that holds a row lock
on PostgreSQL and the write lock on SQLite until commit), so two claims racing for the last of
a cap see each other's reservations; they cannot both take it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.db import utcnow
from api.core.errors import Conflict, FieldError, NotFound
from api.identity.models import Organisation, OrgKind, User
from api.pledge.models import Borrower, Loan
from api.pledge.service import get_loan
from api.risk_sharing import policies
from api.risk_sharing.loan_effects import move_loan_into_claim
from api.risk_sharing.models import (
    RESERVED_SHARES,
    ClaimStatus,
    RiskClaim,
    RiskClaimParty,
    RiskLedgerEntry,
    RiskRule,
    RiskSchemeState,
    ShareStatus,
    claim_visibility,
)
from api.risk_sharing.schemas import ClaimCreate
from api.risk_sharing.schemes import (
    _NOT_COUNTED_LOAN_STATUSES,
    CLAIMABLE_LOAN_STATUSES,
    DISBURSED_LOAN_STATUSES,
    ROLE_ORG_KINDS,
    _family_rows,
    covered_loans,
    get_rule_row,
    ledger_entry,
    reserved_entries,
    rule_of,
    scheme_state,
)
from ipfin.money import cny_to_fen, fen_to_cny
from risk_sharing import claims as rs_claims
from risk_sharing import engine as rs_engine
from risk_sharing import ledger as rs_ledger
from risk_sharing.rules import PartyRole, Rule


def _request_hash(body: ClaimCreate) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def _years_between(start: date, end: date) -> Decimal:
    """Whole years and a fraction (days / 365), floored to 0.01 — 'years registered' at origination."""
    return (Decimal((end - start).days) / Decimal(365)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


def _internal_loan_facts(session: Session, org: Organisation, body: ClaimCreate) -> tuple[Loan, dict[str, Any]]:
    loan = get_loan(session, org, body.loan_id)  # type: ignore[arg-type]
    if org.kind != OrgKind.admin and org.id not in (loan.bank_org_id, loan.guarantor_org_id):
        raise NotFound("loan not found")
    if str(loan.status) not in {str(s) for s in CLAIMABLE_LOAN_STATUSES}:
        raise Conflict(
            f"loan {loan.id} is {loan.status}: claims are filed on defaulted loans "
            f"(states {', '.join(str(s) for s in CLAIMABLE_LOAN_STATUSES)}); declare the default first"
        )
    borrower = session.get(Borrower, loan.borrower_id)
    if body.borrower_total_loans_cny is not None:
        total = cny_to_fen(body.borrower_total_loans_cny)
    else:
        # the borrower's loans lent and not repaid, as at this loan's origination (单户): applications
        # never lent and loans repaid or closed do not count; this loan always does
        lent = [str(s) for s in DISBURSED_LOAN_STATUSES if s not in _NOT_COUNTED_LOAN_STATUSES]
        total = session.exec(
            select(func.coalesce(func.sum(Loan.amount_fen), 0)).where(
                Loan.borrower_id == loan.borrower_id,
                or_(
                    col(Loan.id) == loan.id,
                    col(Loan.status).in_(lent) & (col(Loan.origination_date) <= loan.origination_date),
                ),
            )
        ).one()
    years = None
    if borrower is not None and borrower.registered_on is not None:
        years = _years_between(borrower.registered_on, loan.origination_date)
    facts = {
        "loan_id": f"loan:{loan.id}",
        "borrower_id": f"borrower:{loan.borrower_id}",
        "lender_id": f"org:{loan.bank_org_id}",
        "origination_date": loan.origination_date.isoformat(),
        "principal_fen": loan.amount_fen,
        "borrower_total_loans_fen": int(total),
        "guarantee_fee_rate": None if loan.guarantee_fee_rate is None else str(loan.guarantee_fee_rate),
        "guaranteed": loan.guarantor_org_id is not None,
        "firm_size": str(borrower.size_class) if borrower is not None else None,
        "firm_tier": body.firm_tier,
        "sector": loan.industry,
        "years_registered": None if years is None else str(years),
        "ip_pledged_share": str(body.ip_pledged_share if body.ip_pledged_share is not None else Decimal(1)),
    }
    return loan, facts


def _internal_default_and_principal(loan: Loan, body: ClaimCreate) -> tuple[date, int]:
    """Default date and outstanding principal of a claim on an ipfin loan, checked against the loan.

    The default date is the one the pledge workflow recorded (``declare_default``): a claim may
    not move it (that would shift the trigger and the claim deadline). The principal claimed may
    not exceed the loan's outstanding principal.
    """
    if loan.default_date is not None:
        if body.default_date is not None and body.default_date != loan.default_date:
            raise FieldError(
                "default_date",
                f"loan {loan.id} was declared in default on {loan.default_date}, not {body.default_date}",
            )
        default_date = loan.default_date
    elif body.default_date is not None:
        default_date = body.default_date
    else:
        raise FieldError("default_date", f"loan {loan.id} has no recorded default date: give one")
    if body.outstanding_principal_cny is None:
        return default_date, loan.outstanding_fen
    principal = cny_to_fen(body.outstanding_principal_cny)
    if principal > loan.outstanding_fen:
        raise FieldError(
            "outstanding_principal_cny",
            f"{body.outstanding_principal_cny} CNY exceeds the loan's outstanding principal "
            f"{fen_to_cny(loan.outstanding_fen)} CNY",
        )
    return default_date, principal


def _external_loan_facts(body: ClaimCreate) -> dict[str, Any]:
    ext = body.external_loan
    assert ext is not None
    return {
        "loan_id": f"ext:{ext.reference}",
        "borrower_id": f"ext:{ext.borrower_ref}",
        "lender_id": f"ext:{ext.lender_ref}" if ext.lender_ref else "",
        "origination_date": ext.origination_date.isoformat(),
        "principal_fen": cny_to_fen(ext.principal_cny),
        "borrower_total_loans_fen": None
        if ext.borrower_total_loans_cny is None
        else cny_to_fen(ext.borrower_total_loans_cny),
        "guarantee_fee_rate": None if ext.guarantee_fee_rate is None else str(ext.guarantee_fee_rate),
        "guaranteed": ext.guaranteed,
        "firm_size": ext.firm_size,
        "firm_tier": ext.firm_tier,
        "sector": ext.sector,
        "years_registered": None if ext.years_registered is None else str(ext.years_registered),
        "ip_pledged_share": None if ext.ip_pledged_share is None else str(ext.ip_pledged_share),
    }


def _select_rule_row(session: Session, rule_id: str, origination: date) -> tuple[RiskRule, Rule]:
    rows = _family_rows(session, rule_id)
    if not rows:
        raise FieldError("rule_id", f"no rule family '{rule_id}'")
    try:
        rule = rs_engine.select_version([rule_of(r) for r in rows], origination)
    except ValueError as exc:
        raise FieldError("rule_id", str(exc)) from exc
    row = next(r for r in rows if r.version == rule.version)
    return row, rule


def find_by_idempotency_key(session: Session, org: Organisation, key: str) -> RiskClaim | None:
    return session.exec(
        select(RiskClaim).where(RiskClaim.filed_by_org_id == org.id, RiskClaim.idempotency_key == key)
    ).first()


def replay_or_conflict(existing: RiskClaim, body: ClaimCreate) -> RiskClaim:
    """Same key and same request → the claim already filed; same key, different request → 409."""
    if existing.request_hash != _request_hash(body):
        raise Conflict("Idempotency-Key: already used for a different claim request")
    return existing


def file_claim(
    session: Session, actor: User, org: Organisation, body: ClaimCreate, idempotency_key: str
) -> tuple[RiskClaim, bool]:
    """File a claim; returns (claim, created). A repeated idempotency key returns the first claim."""
    existing = find_by_idempotency_key(session, org, idempotency_key)
    if existing is not None:
        return replay_or_conflict(existing, body), False
    if (body.loan_id is None) == (body.external_loan is None):
        raise FieldError("loan_id", "give exactly one of loan_id (an ipfin loan) or external_loan")
    loan: Loan | None = None
    if body.loan_id is not None:
        loan, facts = _internal_loan_facts(session, org, body)
        default_date, principal_fen = _internal_default_and_principal(loan, body)
    else:
        facts = _external_loan_facts(body)
        if body.default_date is None:
            raise FieldError("default_date", "required for an external loan")
        if body.outstanding_principal_cny is None:
            raise FieldError("outstanding_principal_cny", "required for an external loan")
        default_date, principal_fen = body.default_date, cny_to_fen(body.outstanding_principal_cny)
    try:
        domain_loan = rs_claims.Loan.model_validate(facts)
    except ValidationError as exc:
        raise FieldError("external_loan", str(exc)) from exc
    row, rule = _select_rule_row(session, body.rule_id, domain_loan.origination_date)
    filed_on = body.filed_on or date.today()
    if filed_on > date.today():
        raise FieldError("filed_on", "must not be in the future")
    try:
        domain_claim = rs_claims.Claim.model_validate({
            "claim_id": "new",
            "loan_id": domain_loan.loan_id,
            "default_date": default_date,
            "filed_on": filed_on,
            "outstanding_principal_fen": principal_fen,
            "outstanding_interest_fen": cny_to_fen(body.outstanding_interest_cny),
            "recoveries_so_far_fen": cny_to_fen(body.recoveries_so_far_cny),
            "npl_class": body.npl_class,
            "classified_on": body.classified_on,
            "documents": tuple(body.documents),
        })
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "body"
        raise FieldError(field, str(exc)) from exc
    party_orgs = _party_orgs(session, rule, body.party_orgs, loan, org)
    claim = RiskClaim(
        idempotency_key=idempotency_key,
        request_hash=_request_hash(body),
        rule_row_id=row.id,  # type: ignore[arg-type]
        rule_id=rule.id,
        rule_version=rule.version,
        loan_id=loan.id if loan is not None else None,
        loan_key=domain_loan.loan_id,
        borrower_key=domain_loan.borrower_id,
        lender_key=domain_loan.lender_id,
        loan_facts=domain_loan.model_dump(mode="json"),
        default_date=domain_claim.default_date,
        filed_on=filed_on,
        outstanding_principal_fen=domain_claim.outstanding_principal_fen,
        outstanding_interest_fen=domain_claim.outstanding_interest_fen,
        recoveries_so_far_fen=domain_claim.recoveries_so_far_fen,
        npl_class=None if domain_claim.npl_class is None else str(domain_claim.npl_class),
        classified_on=domain_claim.classified_on,
        documents=list(domain_claim.documents),
        status=ClaimStatus.filed,
        filed_by_org_id=org.id,  # type: ignore[arg-type]
        filed_by_user_id=actor.id,  # type: ignore[arg-type]
    )
    session.add(claim)
    session.flush()
    for p in rule.parties:
        session.add(
            RiskClaimParty(claim_id=claim.id, party_key=p.key, role=p.role.value, org_id=party_orgs.get(p.key))  # type: ignore[arg-type]
        )
    session.flush()
    audit.record(session, actor, "risk_claim", claim.id, "file", after=claim)
    if loan is not None:
        move_loan_into_claim(session, actor, org, loan, claim)
    return claim, True


def _expected_org(role: PartyRole, loan: Loan | None, filer: Organisation) -> tuple[int | None, str]:
    """The organisation a bank or guarantor party must be, and why; (None, '') when not fixed."""
    if role is PartyRole.BANK:
        if loan is not None:
            return loan.bank_org_id, f"the loan's bank ({loan.bank_org_id})"
        if filer.kind == OrgKind.bank:
            return filer.id, f"the filing bank ({filer.id})"
    elif role is PartyRole.GUARANTOR:
        if loan is not None:
            if loan.guarantor_org_id is None:
                return -1, f"nobody: loan {loan.id} has no guarantee contract"
            return loan.guarantor_org_id, f"the loan's guarantor ({loan.guarantor_org_id}, the guarantee contract)"
        if filer.kind == OrgKind.guarantor:
            return filer.id, f"the filing guarantor ({filer.id})"
    return None, ""


def _party_orgs(
    session: Session, rule: Rule, given: dict[str, int], loan: Loan | None, filer: Organisation
) -> dict[str, int]:
    """Every party key → the organisation that signs and pays its share, checked (422 on party_orgs).

    A bank party is the loan's bank (an external loan filed by a bank: that bank); a guarantor party
    is the loan's guarantor (the guarantee contract; an external loan filed by a guarantor: that
    guarantor); other roles take an organisation of the kind the role needs (``ROLE_ORG_KINDS``;
    roles without one: any but a bank or the platform admin). Every party must end up with one.
    """
    out: dict[str, int] = {}
    for key, org_id in given.items():
        if key not in rule.party_keys:
            raise FieldError("party_orgs", f"'{key}' is not a party of rule '{rule.id}' ({', '.join(rule.party_keys)})")
        o = session.get(Organisation, org_id)
        if o is None:
            raise FieldError("party_orgs", f"{key}: no organisation {org_id}")
        role = rule.party(key).role
        kinds = ROLE_ORG_KINDS.get(role.value) or {k.value for k in OrgKind} - {OrgKind.bank, OrgKind.admin}
        if str(o.kind) not in kinds:
            raise FieldError(
                "party_orgs", f"{key}: organisation {org_id} is a {o.kind}, expected {', '.join(sorted(kinds))}"
            )
        out[key] = org_id
    for p in rule.parties:
        expected, why = _expected_org(p.role, loan, filer)
        if expected is None:
            continue
        if p.key in out and out[p.key] != expected:
            raise FieldError("party_orgs", f"{p.key}: organisation {out[p.key]} is not {why}")
        if expected > 0:
            out[p.key] = expected
    missing = [k for k in rule.party_keys if k not in out]
    if missing:
        raise FieldError(
            "party_orgs",
            f"name the organisation of {', '.join(missing)} (party key → organisation id); every party "
            "signs and pays its own share, and only parties see the claim",
        )
    if not policies.is_admin(filer) and filer.id not in out.values():
        raise policies.forbid(f"only a party of the claim may file it; organisation {filer.id} is none of "
                              f"{', '.join(rule.party_keys)}")
    return out


def get_claim(session: Session, org: Organisation, claim_id: int) -> RiskClaim:
    c = session.exec(select(RiskClaim).where(RiskClaim.id == claim_id, claim_visibility(org))).first()
    if c is None:
        raise NotFound("claim not found")
    return c


def claim_parties(session: Session, claim_id: int) -> list[RiskClaimParty]:
    return list(
        session.exec(select(RiskClaimParty).where(RiskClaimParty.claim_id == claim_id).order_by(col(RiskClaimParty.id)))
    )


def list_claims(
    session: Session,
    org: Organisation,
    *,
    status: str | None,
    rule_id: str | None,
    offset: int,
    limit: int,
    loan_id: int | None = None,
) -> tuple[int, list[RiskClaim]]:
    conds = [claim_visibility(org)]
    if loan_id is not None:
        conds.append(RiskClaim.loan_id == loan_id)  # type: ignore[arg-type]
    if status:
        conds.append(RiskClaim.status == status)  # type: ignore[arg-type]
    if rule_id:
        conds.append(RiskClaim.rule_id == rule_id)  # type: ignore[arg-type]
    total = session.exec(select(func.count()).select_from(RiskClaim).where(*conds)).one()
    rows = session.exec(select(RiskClaim).where(*conds).order_by(col(RiskClaim.id)).offset(offset).limit(limit)).all()
    return int(total), list(rows)


def _domain_claim(c: RiskClaim) -> rs_claims.Claim:
    return rs_claims.Claim.model_validate({
        "claim_id": str(c.id),
        "loan_id": c.loan_key,
        "default_date": c.default_date,
        "filed_on": c.filed_on,
        "outstanding_principal_fen": c.outstanding_principal_fen,
        "outstanding_interest_fen": c.outstanding_interest_fen,
        "recoveries_so_far_fen": c.recoveries_so_far_fen,
        "npl_class": c.npl_class,
        "classified_on": c.classified_on,
        "documents": tuple(c.documents),
    })


def review_context(
    session: Session, rule: Rule, c: RiskClaim, state: RiskSchemeState, review_date: date
) -> rs_claims.ReviewContext:
    """Cap usage for ``c``'s review: the family's payouts of this year and of this borrower, plus the
    reserved (signed, unpaid) shares of other claims; ``c``'s own payouts and reservations left out,
    and its own deductions from fund balances added back, so a signed claim reviews as it was signed."""
    year_start, year_end = date(review_date.year, 1, 1), date(review_date.year, 12, 31)
    rows = session.exec(
        select(RiskLedgerEntry).where(
            RiskLedgerEntry.rule_id == rule.id,
            RiskLedgerEntry.kind == rs_ledger.EntryKind.PAYOUT.value,
            RiskLedgerEntry.claim_id != c.id,
            or_(
                col(RiskLedgerEntry.booked_on).between(year_start, year_end),
                RiskLedgerEntry.borrower_key == c.borrower_key,  # type: ignore[arg-type]
            ),
        )
    ).all()
    reserved = reserved_entries(session, rule.id, exclude_claim_id=c.id)
    comp_all = session.exec(
        select(func.coalesce(func.sum(RiskLedgerEntry.amount_fen), 0)).where(
            RiskLedgerEntry.rule_id == rule.id,
            RiskLedgerEntry.kind == rs_ledger.EntryKind.PAYOUT.value,
            RiskLedgerEntry.claim_id != c.id,
            col(RiskLedgerEntry.compensation).is_(True),
        )
    ).one()
    # earlier claims on the same loan (and any signed one) make this claim a duplicate, not vice versa
    others = session.exec(select(RiskClaim.id, RiskClaim.loan_key, RiskClaim.status).where(
        RiskClaim.loan_key == c.loan_key,
        RiskClaim.id != c.id,
        or_(col(RiskClaim.id) < c.id, col(RiskClaim.signed_on).is_not(None)),
    )).all()
    own = {p.party_key: int(p.payable_fen or 0) for p in claim_parties(session, c.id)  # type: ignore[arg-type]
           if c.signed_on is not None and str(p.status) in {*map(str, RESERVED_SHARES), "paid"}}
    balances = {
        p.key: int(state.party_balance_fen.get(p.key, 0)) + own.get(p.key, 0) for p in rule.parties if p.balance_limited
    }
    ctx = rs_ledger.review_context(
        [ledger_entry(e) for e in rows] + reserved,
        rule_id=rule.id,
        borrower_id=c.borrower_key,
        lender_id=c.lender_key,
        review_date=review_date,
        party_balance_fen=balances,
        covered_loans_fen=covered_loans(session, state)[1],
        existing_claims=[rs_claims.ExistingClaim(str(i), k, str(s)) for i, k, s in others],
    )
    return replace(ctx, compensation_paid_fen=int(comp_all) + sum(e.amount_fen for e in reserved if e.compensation))


def review_json(review: rs_engine.ClaimReview, review_date: date) -> dict[str, Any]:
    return {
        "reviewed_on": review_date.isoformat(),
        "rule_id": review.rule_id,
        "rule_version": review.rule_version,
        "eligible": review.eligible,
        "reasons": list(review.reasons),
        "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in review.checks],
        "gross_loss_fen": review.gross_loss_fen,
        "loss_base_fen": review.loss_base_fen,
        "uncounted_loss_fen": review.uncounted_loss_fen,
        "compensation_fen": review.compensation_fen,
        "parties": [
            {"key": p.key, "role": p.role, "share": str(p.share), "nominal_fen": p.nominal_fen,
             "payable_fen": p.payable_fen}
            for p in review.split.parties
        ],
        "caps_applied": [
            {"cap": x.cap, "party": x.party, "limit_fen": x.limit_fen, "reduction_fen": x.reduction_fen}
            for x in review.caps_applied
        ],
    }


def run_review(session: Session, c: RiskClaim, state: RiskSchemeState) -> tuple[Rule, rs_engine.ClaimReview]:
    rule = rule_of(get_rule_row(session, c.rule_row_id))
    today = date.today()
    ctx = review_context(session, rule, c, state, today)
    loan = rs_claims.Loan.model_validate(c.loan_facts)
    try:
        review = rs_engine.review_claim(rule, _domain_claim(c), loan, ctx)
    except ValueError as exc:
        raise Conflict(f"review: {exc}") from exc
    return rule, review


def bump(session: Session, c: RiskClaim, expected_version: int, **values: Any) -> None:
    """Conditional update on the claim's version: a concurrent change makes this a 409."""
    res = session.execute(
        update(RiskClaim)
        .where(col(RiskClaim.id) == c.id, col(RiskClaim.version) == expected_version)
        .values(version=expected_version + 1, updated_at=utcnow(), **values)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("claim was changed by someone else; reload and retry")
    session.refresh(c)


def _require_unsigned(c: RiskClaim, action: str) -> None:
    allowed = {ClaimStatus.filed, ClaimStatus.reviewed}
    if str(c.status) not in allowed or c.signed_on is not None:
        raise Conflict(
            f"cannot {action} a claim that is {c.status}"
            + (" and signed by a party (its split is frozen)" if c.signed_on is not None else "")
            + f"; allowed while {', '.join(sorted(allowed))} and no share is approved or declined"
        )


def set_split(session: Session, c: RiskClaim, review: rs_engine.ClaimReview) -> None:
    """Each party's nominal and payable amounts from the review; a share of 0 fen is nothing_due."""
    amounts = {p.key: p for p in review.split.parties}
    for row in claim_parties(session, c.id):  # type: ignore[arg-type]
        pa = amounts.get(row.party_key)
        if pa is None:
            continue
        row.nominal_fen, row.payable_fen = pa.nominal_fen, pa.payable_fen
        if str(row.status) in (ShareStatus.pending, ShareStatus.nothing_due):
            row.status = ShareStatus.pending.value if pa.payable_fen > 0 else ShareStatus.nothing_due.value
        session.add(row)


def review_claim(session: Session, actor: User, org: Organisation, claim_id: int) -> RiskClaim:
    """Check the claim against its rule and the current usage; store every reason and the split.

    Allowed while no party has signed (approved or declined) its share; the filing user may not review."""
    c = get_claim(session, org, claim_id)
    _require_unsigned(c, "review")
    if c.filed_by_user_id == actor.id:
        raise Conflict("maker-checker: the user who filed a claim cannot review it")
    state = scheme_state(session, c.rule_id)
    _, review = run_review(session, c, state)
    before = audit.snapshot(c)
    data = review_json(review, date.today())
    bump(
        session, c, c.version, status=ClaimStatus.reviewed.value, eligible=review.eligible,
        loss_base_fen=review.loss_base_fen, review=data, reviewed_by_user_id=actor.id,
    )
    set_split(session, c, review)
    audit.record(session, actor, "risk_claim", c.id, "review", before=before, after=c)
    return c


def adjust_balances(session: Session, rule: Rule, state: RiskSchemeState, delta: dict[str, int]) -> None:
    limited = {p.key for p in rule.parties if p.balance_limited}
    if not limited:
        return
    new = dict(state.party_balance_fen)
    for k in limited:
        new[k] = int(new.get(k, 0)) + delta.get(k, 0)
    state.party_balance_fen = new
    state.updated_at = utcnow()
    session.add(state)


def reject_claim(session: Session, actor: User, org: Organisation, claim_id: int, note: str | None) -> RiskClaim:
    """Reject the whole claim (a party's approver, not the filing user) while no share is signed."""
    c = get_claim(session, org, claim_id)
    if actor.id == c.filed_by_user_id:
        raise Conflict("maker-checker: the user who filed a claim cannot reject it")
    _require_unsigned(c, "reject")
    before = audit.snapshot(c)
    bump(session, c, c.version, status=ClaimStatus.rejected.value, decided_by_user_id=actor.id, decision_note=note)
    for row in claim_parties(session, c.id):  # type: ignore[arg-type]
        if str(row.status) in (ShareStatus.pending, ShareStatus.proposed):
            row.status = ShareStatus.declined.value
            row.decline_reason = f"claim rejected: {note or 'no reason given'}"
            row.declined_by_user_id = actor.id
            session.add(row)
    audit.record(session, actor, "risk_claim", c.id, "reject", before=before, after=c)
    return c
