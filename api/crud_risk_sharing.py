"""Risk-sharing persistence and glue to the pure ``risk_sharing`` package.

Every write adds its audit event to the request session; the route commits once.
Cap checks are serialised per rule family: approvals and recoveries first bump the
family's ``risk_scheme_state.lock_counter`` (an ``UPDATE`` that holds a row lock on
PostgreSQL and the write lock on SQLite until commit), then read the ledger, review
the claim against it and write the payouts. Two claims racing for the last of a cap
therefore see each other's payouts; they cannot both take it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from fastapi import HTTPException, status
from pydantic import ValidationError
from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from api import audit
from api.crud import Conflict, FieldError, NotFound, get_loan
from api.models import Borrower, Loan, Organisation, OrgKind, User
from api.models.core import LoanStatus, utcnow
from api.models.risk_sharing import (
    ClaimCreate,
    ClaimStatus,
    RecoveryCreate,
    RiskClaim,
    RiskClaimParty,
    RiskLedgerEntry,
    RiskRecovery,
    RiskRule,
    RiskSchemeState,
    SchemeStateUpdate,
    claim_visibility,
)
from ipfin.money import cny_to_fen, fen_to_cny
from risk_sharing import engine as rs_engine
from risk_sharing import ledger as rs_ledger
from risk_sharing.presets import load_preset
from risk_sharing.recovery import share_recovery
from risk_sharing.rules import PartyRole, Rule, check_new_version, rule_from_dict, rule_to_dict

#: Organisation kinds that may stand for a party role (roles without a kind accept any organisation).
ROLE_ORG_KINDS: dict[str, set[str]] = {
    "bank": {"bank"},
    "guarantor": {"guarantor"},
    "reguarantor": {"reguarantor"},
    "nfgf": {"fund"},
    "fund": {"fund"},
}

_NOT_COUNTED_LOAN_STATUSES = {LoanStatus.rejected, LoanStatus.withdrawn, LoanStatus.settled, LoanStatus.closed}

#: Pledge-workflow states of a loan on which a compensation claim may be filed (违约 and after).
CLAIMABLE_LOAN_STATUSES = (
    LoanStatus.default, LoanStatus.in_claim, LoanStatus.in_disposal, LoanStatus.recovered, LoanStatus.written_off,
)

#: Loan states that mean the money was lent (disbursed): what a scheme's "loans covered" counts.
DISBURSED_LOAN_STATUSES = (
    LoanStatus.active, LoanStatus.overdue, LoanStatus.settled, LoanStatus.default, LoanStatus.in_claim,
    LoanStatus.in_disposal, LoanStatus.recovered, LoanStatus.written_off, LoanStatus.closed,
)


def rule_error(exc: ValidationError) -> FieldError:
    """A rule's validation errors as one 422 naming the first bad field (``definition.<path>``), all listed."""
    items: list[tuple[str, str]] = []
    for e in exc.errors():
        msg = str(e["msg"]).removeprefix("Value error, ")
        path = ".".join(str(x) for x in e["loc"])
        if not path and ": " in msg:  # rule-level checks say '<field>: <what is wrong>'
            path, msg = msg.split(": ", 1)
        items.append((path, msg))
    field = "definition" + (f".{items[0][0]}" if items and items[0][0] else "")
    return FieldError(field, "; ".join(f"{p}: {m}" if p else m for p, m in items) or str(exc))


# ---------------------------------------------------------------- rules


def rule_of(row: RiskRule) -> Rule:
    return rule_from_dict(row.definition)


def get_rule_row(session: Session, rule_row_id: int) -> RiskRule:
    row = session.get(RiskRule, rule_row_id)
    if row is None:
        raise NotFound("risk rule not found")
    return row


def list_rule_rows(
    session: Session, *, rule_id: str | None, offset: int, limit: int
) -> tuple[int, list[RiskRule]]:
    conds = [RiskRule.rule_id == rule_id] if rule_id else []
    total = session.exec(select(func.count()).select_from(RiskRule).where(*conds)).one()
    q = select(RiskRule).where(*conds).order_by(col(RiskRule.rule_id), col(RiskRule.version))
    rows = session.exec(q.offset(offset).limit(limit)).all()
    return int(total), list(rows)


def _family_rows(session: Session, rule_id: str) -> list[RiskRule]:
    return list(session.exec(select(RiskRule).where(RiskRule.rule_id == rule_id).order_by(col(RiskRule.version))))


def lock_scheme(session: Session, rule_id: str) -> RiskSchemeState:
    """Take the family's cap lock (held until commit) and return its fresh state row."""
    res = session.execute(
        update(RiskSchemeState)
        .where(col(RiskSchemeState.rule_id) == rule_id)
        .values(lock_counter=col(RiskSchemeState.lock_counter) + 1)
    )
    if res.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"rule_id: no scheme state for rule '{rule_id}'")
    state = session.exec(
        select(RiskSchemeState).where(RiskSchemeState.rule_id == rule_id).execution_options(populate_existing=True)
    ).one()
    return state


def create_rule_version(session: Session, actor: User, definition: dict[str, Any]) -> RiskRule:
    """Add a version to a rule family (or start one).

    If the family's latest version is open-ended and starts earlier, it is closed the day
    before the new one starts (its past payouts are untouched). Overlapping or clashing
    versions → 409.
    """
    try:
        rule = rule_from_dict(definition)
    except ValidationError as exc:
        raise rule_error(exc) from exc
    state = session.get(RiskSchemeState, rule.id)
    if state is None:
        session.add(RiskSchemeState(rule_id=rule.id))
        session.flush()
    lock_scheme(session, rule.id)
    rows = _family_rows(session, rule.id)
    existing = [rule_of(r) for r in rows]
    if rows:
        last_row, last = rows[-1], existing[-1]
        if last.effective_to is None and last.effective_from < rule.effective_from:
            before = audit.snapshot(last_row)
            closed = last.model_copy(update={"effective_to": rule.effective_from - timedelta(days=1)})
            last_row.effective_to = closed.effective_to
            last_row.definition = rule_to_dict(closed)
            session.add(last_row)
            audit.record(session, actor, "risk_rule", last_row.id, "close_version", before=before, after=last_row)
            existing[-1] = closed
    try:
        check_new_version(existing, rule)
    except ValueError as exc:
        raise Conflict(str(exc)) from exc
    row = RiskRule(
        rule_id=rule.id,
        version=rule.version,
        name=rule.name,
        effective_from=rule.effective_from,
        effective_to=rule.effective_to,
        definition=rule_to_dict(rule),
        created_by_user_id=actor.id,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "risk_rule", row.id, "create", after=row)
    return row


def install_preset(session: Session, actor: User, name: str) -> RiskRule:
    try:
        rule = load_preset(name)
    except ValueError as exc:
        raise NotFound(str(exc)) from exc
    return create_rule_version(session, actor, rule_to_dict(rule))


def scheme_state(session: Session, rule_id: str) -> RiskSchemeState:
    state = session.get(RiskSchemeState, rule_id)
    if state is None:
        raise NotFound(f"no rule family '{rule_id}'")
    return state


def update_scheme_state(session: Session, actor: User, rule_id: str, body: SchemeStateUpdate) -> RiskSchemeState:
    state = lock_scheme(session, rule_id)
    before = audit.snapshot(state)
    if body.covered_loans_cny is not None:
        state.covered_loans_fen = cny_to_fen(body.covered_loans_cny)
    if body.covered_loans_from_book is not None:
        state.covered_loans_from_book = body.covered_loans_from_book
    if body.party_balance_cny is not None:
        rows = _family_rows(session, rule_id)
        limited = {p.key for r in rows for p in rule_of(r).parties if p.balance_limited}
        unknown = sorted(set(body.party_balance_cny) - limited)
        if unknown:
            raise FieldError(
                "party_balance_cny",
                f"{', '.join(unknown)}: not a balance-limited party of rule '{rule_id}' "
                f"(balance-limited: {', '.join(sorted(limited)) or 'none'})",
            )
        state.party_balance_fen = {k: cny_to_fen(v) for k, v in body.party_balance_cny.items()}
    state.updated_at = utcnow()
    session.add(state)
    audit.record(session, actor, "risk_scheme_state", rule_id, "update", before=before, after=state)
    return state


def book_covered_loans_fen(session: Session, rule_id: str) -> int:
    """Loans covered by a rule family, from the ipfin loan table (fen): Σ principal of disbursed loans.

    For each version: loans originated while it was in force, disbursed (active and every later
    state, settled and closed included: the payout-rate ceiling 代偿率 compares all compensation
    paid with all loans covered), passing the predicates the loan row can answer — guaranteed
    (if required), principal ≤ single-borrower cap, guarantee fee ≤ cap, sector allowed and not
    excluded. Borrower-level predicates (the borrower's total, firm size/tier, years registered,
    IP-pledged share) are checked per claim, not here. Loans outside ipfin are typed in as
    ``covered_loans_fen``.
    """
    total = 0
    for row in _family_rows(session, rule_id):
        rule = rule_of(row)
        e = rule.eligibility
        conds: list[Any] = [
            col(Loan.status).in_([str(s) for s in DISBURSED_LOAN_STATUSES]),
            col(Loan.origination_date) >= rule.effective_from,
        ]
        if rule.effective_to is not None:
            conds.append(col(Loan.origination_date) <= rule.effective_to)
        if e.guarantee_required:
            conds.append(col(Loan.guarantor_org_id).is_not(None))
        if e.max_borrower_loans_cny is not None:
            conds.append(col(Loan.amount_fen) <= cny_to_fen(e.max_borrower_loans_cny))
        if e.max_guarantee_fee_rate is not None:
            conds.append(col(Loan.guarantee_fee_rate) <= e.max_guarantee_fee_rate)
        if e.sectors_allowed is not None:
            conds.append(col(Loan.industry).in_(sorted(e.sectors_allowed)))
        if e.sectors_excluded:
            conds.append(col(Loan.industry).not_in(sorted(e.sectors_excluded)))
        total += int(session.exec(select(func.coalesce(func.sum(Loan.amount_fen), 0)).where(*conds)).one())
    return total


def covered_loans(session: Session, state: RiskSchemeState) -> tuple[int | None, int | None]:
    """(from the loan table or None, total used by the payout-rate ceiling or None if unknown), fen."""
    if not state.covered_loans_from_book:
        return None, state.covered_loans_fen
    book = book_covered_loans_fen(session, state.rule_id)
    return book, book + (state.covered_loans_fen or 0)


def scheme_headroom(session: Session, state: RiskSchemeState) -> dict[str, int]:
    """Headroom left this year on the family's scheme-wide caps (party budgets, balances, payout rate)."""
    rows = _family_rows(session, state.rule_id)
    if not rows:
        return {}
    rule = rule_of(rows[-1])
    today = date.today()
    payouts = [
        RiskLedgerEntry.rule_id == rule.id,
        RiskLedgerEntry.kind == rs_ledger.EntryKind.PAYOUT.value,
    ]
    comp_all = session.exec(
        select(func.coalesce(func.sum(RiskLedgerEntry.amount_fen), 0)).where(
            *payouts, col(RiskLedgerEntry.compensation).is_(True)
        )
    ).one()
    year_rows = session.exec(
        select(RiskLedgerEntry.party_key, func.sum(RiskLedgerEntry.amount_fen))
        .where(*payouts, col(RiskLedgerEntry.booked_on).between(date(today.year, 1, 1), date(today.year, 12, 31)))
        .group_by(RiskLedgerEntry.party_key)
    ).all()
    ctx = rs_engine.ReviewContext(
        review_date=today,
        party_paid_year_fen={k: int(v) for k, v in year_rows},
        party_balance_fen={
            p.key: int(state.party_balance_fen.get(p.key, 0)) for p in rule.parties if p.balance_limited
        },
        covered_loans_fen=covered_loans(session, state)[1],
        compensation_paid_fen=int(comp_all),
    )
    return {
        k: v
        for k, v in rs_ledger.headrooms(rule, ctx).items()
        if k.startswith(("party_year", "balance", "payout_rate"))
    }


# ---------------------------------------------------------------- claims: filing


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
        domain_loan = rs_engine.Loan.model_validate(facts)
    except ValidationError as exc:
        raise FieldError("external_loan", str(exc)) from exc
    row, rule = _select_rule_row(session, body.rule_id, domain_loan.origination_date)
    filed_on = body.filed_on or date.today()
    if filed_on > date.today():
        raise FieldError("filed_on", "must not be in the future")
    try:
        domain_claim = rs_engine.Claim.model_validate({
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
    return claim, True


def _party_orgs(
    session: Session, rule: Rule, given: dict[str, int], loan: Loan | None, filer: Organisation
) -> dict[str, int]:
    """Map party keys to paying organisations: given ones (kind checked), bank/guarantor from the loan."""
    out: dict[str, int] = {}
    for key, org_id in given.items():
        if key not in rule.party_keys:
            raise FieldError("party_orgs", f"'{key}' is not a party of rule '{rule.id}' ({', '.join(rule.party_keys)})")
        o = session.get(Organisation, org_id)
        if o is None:
            raise FieldError("party_orgs", f"{key}: no organisation {org_id}")
        kinds = ROLE_ORG_KINDS.get(rule.party(key).role.value)
        if kinds and str(o.kind) not in kinds:
            raise FieldError("party_orgs", f"{key}: organisation {org_id} is a {o.kind}, expected {', '.join(kinds)}")
        out[key] = org_id
    for p in rule.parties:
        if p.key in out:
            continue
        if p.role is PartyRole.BANK:
            if loan is not None:
                out[p.key] = loan.bank_org_id
            elif filer.kind == OrgKind.bank:
                out[p.key] = filer.id  # type: ignore[assignment]
        elif p.role is PartyRole.GUARANTOR:
            if loan is not None and loan.guarantor_org_id is not None:
                out[p.key] = loan.guarantor_org_id
            elif loan is None and filer.kind == OrgKind.guarantor:
                out[p.key] = filer.id  # type: ignore[assignment]
    # a paying party with an organisation kind must be named: it reviews, approves and sees the claim
    missing = [k for k in rule.compensator_keys if k not in out and rule.party(k).role.value in ROLE_ORG_KINDS]
    if missing:
        raise FieldError(
            "party_orgs",
            f"name the paying organisation of {', '.join(missing)} (party key → organisation id); "
            "without it nobody of that party can see, review or approve the claim",
        )
    return out


# ---------------------------------------------------------------- claims: reading


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


# ---------------------------------------------------------------- claims: review / approve / reject


def _domain_claim(c: RiskClaim) -> rs_engine.Claim:
    return rs_engine.Claim.model_validate({
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


def _ledger_entry(e: RiskLedgerEntry) -> rs_ledger.LedgerEntry:
    return rs_ledger.LedgerEntry(
        rule_id=e.rule_id,
        rule_version=e.rule_version,
        party=e.party_key,
        kind=rs_ledger.EntryKind(e.kind),
        amount_fen=e.amount_fen,
        booked_on=e.booked_on,
        claim_id=str(e.claim_id),
        loan_id=e.loan_key,
        borrower_id=e.borrower_key,
        lender_id=e.lender_key,
        compensation=e.compensation,
    )


def review_context(
    session: Session, rule: Rule, c: RiskClaim, state: RiskSchemeState, review_date: date
) -> rs_engine.ReviewContext:
    """Ledger usage for ``c``'s review: this year's and this borrower's payouts of the family."""
    year_start, year_end = date(review_date.year, 1, 1), date(review_date.year, 12, 31)
    rows = session.exec(
        select(RiskLedgerEntry).where(
            RiskLedgerEntry.rule_id == rule.id,
            RiskLedgerEntry.kind == rs_ledger.EntryKind.PAYOUT.value,
            or_(
                col(RiskLedgerEntry.booked_on).between(year_start, year_end),
                RiskLedgerEntry.borrower_key == c.borrower_key,  # type: ignore[arg-type]
            ),
        )
    ).all()
    comp_all = session.exec(
        select(func.coalesce(func.sum(RiskLedgerEntry.amount_fen), 0)).where(
            RiskLedgerEntry.rule_id == rule.id,
            RiskLedgerEntry.kind == rs_ledger.EntryKind.PAYOUT.value,
            col(RiskLedgerEntry.compensation).is_(True),
        )
    ).one()
    # earlier claims on the same loan (and any approved one) make this claim a duplicate, not vice versa
    others = session.exec(select(RiskClaim.id, RiskClaim.loan_key, RiskClaim.status).where(
        RiskClaim.loan_key == c.loan_key,
        or_(col(RiskClaim.id) < c.id, RiskClaim.status == ClaimStatus.approved.value),  # type: ignore[arg-type]
    )).all()
    balances = {
        p.key: int(state.party_balance_fen.get(p.key, 0)) for p in rule.parties if p.balance_limited
    }
    ctx = rs_ledger.review_context(
        [_ledger_entry(e) for e in rows],
        rule_id=rule.id,
        borrower_id=c.borrower_key,
        lender_id=c.lender_key,
        review_date=review_date,
        party_balance_fen=balances,
        covered_loans_fen=covered_loans(session, state)[1],
        existing_claims=[rs_engine.ExistingClaim(str(i), k, str(s)) for i, k, s in others],
    )
    return replace(ctx, compensation_paid_fen=int(comp_all))


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


def _run_review(session: Session, c: RiskClaim, state: RiskSchemeState) -> tuple[Rule, rs_engine.ClaimReview]:
    rule = rule_of(get_rule_row(session, c.rule_row_id))
    today = date.today()
    ctx = review_context(session, rule, c, state, today)
    loan = rs_engine.Loan.model_validate(c.loan_facts)
    try:
        review = rs_engine.review_claim(rule, _domain_claim(c), loan, ctx)
    except ValueError as exc:
        raise Conflict(f"review: {exc}") from exc
    return rule, review


def _bump(session: Session, c: RiskClaim, expected_version: int, **values: Any) -> None:
    """Conditional update on the claim's version: a concurrent change makes this a 409."""
    res = session.execute(
        update(RiskClaim)
        .where(col(RiskClaim.id) == c.id, col(RiskClaim.version) == expected_version)
        .values(version=expected_version + 1, updated_at=utcnow(), **values)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("claim was changed by someone else; reload and retry")
    session.refresh(c)


def _require_move(c: RiskClaim, allowed_from: set[str], action: str) -> None:
    if str(c.status) not in allowed_from:
        raise Conflict(f"cannot {action} a claim that is {c.status}; allowed from: {', '.join(sorted(allowed_from))}")


def _party_rows_update(session: Session, c: RiskClaim, review: rs_engine.ClaimReview) -> None:
    amounts = {p.key: p for p in review.split.parties}
    for row in claim_parties(session, c.id):  # type: ignore[arg-type]
        pa = amounts.get(row.party_key)
        if pa is not None:
            row.nominal_fen, row.payable_fen = pa.nominal_fen, pa.payable_fen
            session.add(row)


def review_claim(session: Session, actor: User, org: Organisation, claim_id: int) -> RiskClaim:
    """Check the claim against its rule and the current ledger; store every reason and the split."""
    c = get_claim(session, org, claim_id)
    _require_move(c, {ClaimStatus.filed, ClaimStatus.reviewed}, "review")
    if c.filed_by_user_id == actor.id:
        raise Conflict("maker-checker: the user who filed a claim cannot review it")
    state = scheme_state(session, c.rule_id)
    _, review = _run_review(session, c, state)
    before = audit.snapshot(c)
    data = review_json(review, date.today())
    _bump(
        session, c, c.version, status=ClaimStatus.reviewed.value, eligible=review.eligible,
        loss_base_fen=review.loss_base_fen, review=data, reviewed_by_user_id=actor.id,
    )
    _party_rows_update(session, c, review)
    audit.record(session, actor, "risk_claim", c.id, "review", before=before, after=c)
    return c


def approve_claim(session: Session, actor: User, org: Organisation, claim_id: int, note: str | None) -> RiskClaim:
    """Approve (checker): re-review under the family's cap lock, then book the payouts per party."""
    c = get_claim(session, org, claim_id)
    if actor.id in (c.filed_by_user_id, c.reviewed_by_user_id):
        raise Conflict("maker-checker: the approver must differ from the user who filed and who reviewed")
    if org.kind != OrgKind.admin:
        payers = {p.org_id for p in claim_parties(session, c.id)} - {None, c.filed_by_org_id}  # type: ignore[arg-type]
        if org.id not in payers:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "only an organisation that pays into this claim, other than the one that filed it, may approve it",
            )
    state = lock_scheme(session, c.rule_id)  # serialises cap checks of this rule family until commit
    c = session.exec(select(RiskClaim).where(RiskClaim.id == claim_id).execution_options(populate_existing=True)).one()
    _require_move(c, {ClaimStatus.reviewed}, "approve")
    rule, review = _run_review(session, c, state)
    if not review.eligible:
        raise Conflict("claim is not eligible now: " + "; ".join(review.reasons))
    before = audit.snapshot(c)
    today = date.today()
    orgs = {p.party_key: p.org_id for p in claim_parties(session, c.id)}  # type: ignore[arg-type]
    rule_row = get_rule_row(session, c.rule_row_id)
    for e in rs_ledger.payout_entries(review, _domain_claim(c), rs_engine.Loan.model_validate(c.loan_facts), today):
        session.add(
            RiskLedgerEntry(
                rule_row_id=rule_row.id,  # type: ignore[arg-type]
                rule_id=e.rule_id,
                rule_version=e.rule_version,
                claim_id=c.id,  # type: ignore[arg-type]
                party_key=e.party,
                party_org_id=orgs.get(e.party),
                kind=e.kind.value,
                amount_fen=e.amount_fen,
                compensation=e.compensation,
                booked_on=e.booked_on,
                loan_key=c.loan_key,
                borrower_key=c.borrower_key,
                lender_key=c.lender_key,
            )
        )
    _adjust_balances(session, rule, state, {p.key: -p.payable_fen for p in review.split.parties})
    _bump(
        session, c, c.version, status=ClaimStatus.approved.value, eligible=True, loss_base_fen=review.loss_base_fen,
        review=review_json(review, today), decided_by_user_id=actor.id, decision_note=note,
    )
    _party_rows_update(session, c, review)
    audit.record(session, actor, "risk_claim", c.id, "approve", before=before, after=c)
    return c


def _adjust_balances(session: Session, rule: Rule, state: RiskSchemeState, delta: dict[str, int]) -> None:
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
    c = get_claim(session, org, claim_id)
    if actor.id == c.filed_by_user_id:
        raise Conflict("maker-checker: the user who filed a claim cannot reject it")
    _require_move(c, {ClaimStatus.filed, ClaimStatus.reviewed}, "reject")
    before = audit.snapshot(c)
    _bump(session, c, c.version, status=ClaimStatus.rejected.value, decided_by_user_id=actor.id, decision_note=note)
    audit.record(session, actor, "risk_claim", c.id, "reject", before=before, after=c)
    return c


# ---------------------------------------------------------------- recoveries and ledger


def record_recovery(session: Session, actor: User, org: Organisation, body: RecoveryCreate) -> RiskRecovery:
    """Share a recovery back to the parties of an approved claim (under the family lock)."""
    c = get_claim(session, org, body.claim_id)
    state = lock_scheme(session, c.rule_id)
    if str(c.status) != ClaimStatus.approved:
        raise Conflict(f"recoveries are shared back on approved claims only; claim is {c.status}")
    rule = rule_of(get_rule_row(session, c.rule_row_id))
    entries = [
        _ledger_entry(e) for e in session.exec(select(RiskLedgerEntry).where(RiskLedgerEntry.claim_id == c.id))
    ]
    paid, recovered = rs_ledger.claim_totals(entries, str(c.id))
    paid = {k: paid.get(k, 0) for k in rule.party_keys if k in paid}
    received_on, gross_fen, costs_fen, method = _recovery_amounts(session, c, body)
    try:
        share = share_recovery(
            rule,
            paid,
            gross_fen,
            disposal_costs_fen=costs_fen,
            already_recovered_fen=recovered,
        )
    except ValueError as exc:
        raise FieldError("disposal_costs_cny", str(exc)) from exc
    rec = RiskRecovery(
        claim_id=c.id,  # type: ignore[arg-type]
        disposal_id=body.disposal_id,
        received_on=received_on,
        method=method,
        gross_fen=share.gross_fen,
        disposal_costs_fen=share.disposal_costs_fen,
        net_fen=share.net_fen,
        surplus_fen=share.surplus_fen,
        parts=dict(share.parts),
        recorded_by_user_id=actor.id,  # type: ignore[arg-type]
    )
    session.add(rec)
    session.flush()
    orgs = {p.party_key: p.org_id for p in claim_parties(session, c.id)}  # type: ignore[arg-type]
    comp = set(rule.compensator_keys)
    for k, amount in share.parts.items():
        if amount <= 0:
            continue
        session.add(
            RiskLedgerEntry(
                rule_row_id=c.rule_row_id, rule_id=c.rule_id, rule_version=c.rule_version, claim_id=c.id,  # type: ignore[arg-type]
                recovery_id=rec.id, party_key=k, party_org_id=orgs.get(k), kind=rs_ledger.EntryKind.RECOVERY.value,
                amount_fen=amount, compensation=k in comp, booked_on=received_on, loan_key=c.loan_key,
                borrower_key=c.borrower_key, lender_key=c.lender_key,
            )
        )
    _adjust_balances(session, rule, state, dict(share.parts))
    audit.record(session, actor, "risk_recovery", rec.id, "create", after=rec)
    return rec


def _recovery_amounts(session: Session, c: RiskClaim, body: RecoveryCreate) -> tuple[date, int, int, str]:
    """(received on, gross fen, disposal costs fen, method): typed in, or from a pledge disposal.

    A disposal (``POST /loans/{id}/disposals``) of the claim's own loan gives Σ proceeds as the
    gross, Σ costs as the disposal costs, the last proceeds date (else completion, else start) as
    the date and its method; each disposal is shared back once (409 on a second use).
    """
    if body.disposal_id is None:
        if body.received_on is None:
            raise FieldError("received_on", "required unless disposal_id is given")
        if body.gross_cny is None:
            raise FieldError("gross_cny", "required unless disposal_id is given")
        costs = body.disposal_costs_cny if body.disposal_costs_cny is not None else Decimal(0)
        return body.received_on, cny_to_fen(body.gross_cny), cny_to_fen(costs), body.method
    for name in ("received_on", "gross_cny", "disposal_costs_cny"):
        if getattr(body, name) is not None:
            raise FieldError(name, "comes from the disposal: give either disposal_id or the amounts, not both")
    from api.models.pledge import PledgeDisposal  # the pledge workflow's disposal records

    d = session.get(PledgeDisposal, body.disposal_id)
    if d is None or c.loan_id is None or d.loan_id != c.loan_id:
        raise FieldError("disposal_id", f"no disposal {body.disposal_id} of this claim's loan")
    used = session.exec(select(RiskRecovery.id).where(RiskRecovery.disposal_id == d.id)).first()
    if used is not None:
        raise Conflict(f"disposal {d.id} was already shared back as recovery {used}")
    proceeds = [(date.fromisoformat(i["on"]), int(i["amount_fen"])) for i in d.proceeds]
    costs = [(date.fromisoformat(i["on"]), int(i["amount_fen"])) for i in d.costs]
    if c.recoveries_so_far_fen > 0:
        # what came in up to filing was declared as "recoveries so far" and already reduced the
        # loss base: only later proceeds (and their costs) are shared back, so nothing counts twice
        proceeds = [(on, a) for on, a in proceeds if on > c.filed_on]
        costs = [(on, a) for on, a in costs if on > c.filed_on]
    costs_fen = sum(a for _, a in costs)
    gross_fen = sum(a for _, a in proceeds)
    if gross_fen == 0:
        raise FieldError(
            "disposal_id",
            f"disposal {d.id} has no proceeds after the claim was filed on {c.filed_on} "
            "(earlier ones were declared as recoveries so far)",
        )
    received_on = max((on for on, _ in proceeds), default=d.completed_on or d.started_on)
    return received_on, gross_fen, costs_fen, body.method or str(d.method)


def list_recoveries(
    session: Session, org: Organisation, *, claim_id: int | None, offset: int, limit: int
) -> tuple[int, list[RiskRecovery]]:
    visible = select(RiskClaim.id).where(claim_visibility(org))
    conds = [col(RiskRecovery.claim_id).in_(visible)]
    if claim_id is not None:
        conds.append(RiskRecovery.claim_id == claim_id)  # type: ignore[arg-type]
    total = session.exec(select(func.count()).select_from(RiskRecovery).where(*conds)).one()
    rows = session.exec(
        select(RiskRecovery).where(*conds).order_by(col(RiskRecovery.id)).offset(offset).limit(limit)
    ).all()
    return int(total), list(rows)


def ledger_balances(
    session: Session, org: Organisation, *, rule_id: str | None, year: int | None, by_year: bool
) -> list[rs_ledger.PartyBalance]:
    """Per party balances (paid, recovered, net) per rule family and year, over the caller's claims."""
    visible = select(RiskClaim.id).where(claim_visibility(org))
    conds = [col(RiskLedgerEntry.claim_id).in_(visible)]
    if rule_id:
        conds.append(RiskLedgerEntry.rule_id == rule_id)  # type: ignore[arg-type]
    if year is not None:
        conds.append(col(RiskLedgerEntry.booked_on).between(date(year, 1, 1), date(year, 12, 31)))
    rows = session.exec(select(RiskLedgerEntry).where(*conds)).all()
    return rs_ledger.balances([_ledger_entry(e) for e in rows], by_year=by_year)
