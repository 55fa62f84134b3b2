"""Risk-sharing rules and scheme state: versions, presets, balances and headroom."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.db import utcnow
from api.core.errors import Conflict, FieldError, NotFound
from api.identity.models import User
from api.pledge.models import Loan, LoanStatus
from api.risk_sharing.models import (
    RESERVED_SHARES,
    RiskClaim,
    RiskClaimParty,
    RiskLedgerEntry,
    RiskRule,
    RiskSchemeState,
)
from api.risk_sharing.schemas import SchemeStateUpdate
from ipfin.money import cny_to_fen
from risk_sharing import claims as rs_claims
from risk_sharing import ledger as rs_ledger
from risk_sharing.rules import Rule, check_new_version, rule_from_dict, rule_to_dict

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


def ledger_entry(e: RiskLedgerEntry) -> rs_ledger.LedgerEntry:
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


def reserved_entries(
    session: Session, rule_id: str, *, exclude_claim_id: int | None = None
) -> list[rs_ledger.LedgerEntry]:
    """Shares of signed claims not paid (nor declined) yet, as payouts booked on the signing day.

    Once a claim is signed its whole split counts against the family's caps until each share is
    paid (then the ledger line counts) or declined (then nothing does): two claims cannot both
    promise the last of a cap, whichever party pays first.
    """
    q = (
        select(RiskClaimParty, RiskClaim)
        .join(RiskClaim, col(RiskClaim.id) == col(RiskClaimParty.claim_id))
        .where(
            RiskClaim.rule_id == rule_id,
            col(RiskClaim.signed_on).is_not(None),
            col(RiskClaimParty.status).in_([str(s) for s in RESERVED_SHARES]),
            col(RiskClaimParty.payable_fen) > 0,
        )
    )
    if exclude_claim_id is not None:
        q = q.where(RiskClaim.id != exclude_claim_id)
    comp: dict[int, tuple[str, ...]] = {}
    out = []
    for p, c in session.exec(q).all():
        if c.rule_row_id not in comp:
            comp[c.rule_row_id] = rule_of(get_rule_row(session, c.rule_row_id)).compensator_keys
        out.append(rs_ledger.LedgerEntry(
            rule_id=c.rule_id, rule_version=c.rule_version, party=p.party_key, kind=rs_ledger.EntryKind.PAYOUT,
            amount_fen=int(p.payable_fen or 0), booked_on=c.signed_on, claim_id=str(c.id),  # type: ignore[arg-type]
            loan_id=c.loan_key, borrower_id=c.borrower_key, lender_id=c.lender_key,
            compensation=p.party_key in comp[c.rule_row_id],
        ))
    return out


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
    """Add a version to a rule family (or start one) — called once governance allowed it.

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


def scheme_state(session: Session, rule_id: str) -> RiskSchemeState:
    state = session.get(RiskSchemeState, rule_id)
    if state is None:
        raise NotFound(f"no rule family '{rule_id}'")
    return state


def validate_scheme_update(session: Session, rule_id: str, body: SchemeStateUpdate) -> None:
    """422 for fund balances of parties that are not balance-limited in any version of the family."""
    if body.party_balance_cny is None:
        return
    rows = _family_rows(session, rule_id)
    limited = {p.key for r in rows for p in rule_of(r).parties if p.balance_limited}
    unknown = sorted(set(body.party_balance_cny) - limited)
    if unknown:
        raise FieldError(
            "party_balance_cny",
            f"{', '.join(unknown)}: not a balance-limited party of rule '{rule_id}' "
            f"(balance-limited: {', '.join(sorted(limited)) or 'none'})",
        )


def update_scheme_state(session: Session, actor: User, rule_id: str, body: SchemeStateUpdate) -> RiskSchemeState:
    """Apply an approved scheme-state change (``governance.approve_change``) under the family lock."""
    state = lock_scheme(session, rule_id)
    validate_scheme_update(session, rule_id, body)
    before = audit.snapshot(state)
    if body.covered_loans_cny is not None:
        state.covered_loans_fen = cny_to_fen(body.covered_loans_cny)
    if body.covered_loans_from_book is not None:
        state.covered_loans_from_book = body.covered_loans_from_book
    if body.party_balance_cny is not None:
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
    """Headroom left this year on the family's scheme-wide caps (party budgets, balances, payout rate),
    counting payouts and the reserved shares of signed claims."""
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
    reserved = reserved_entries(session, rule.id)
    party_year = {str(k): int(v) for k, v in year_rows}
    for e in reserved:
        if e.booked_on.year == today.year:
            party_year[e.party] = party_year.get(e.party, 0) + e.amount_fen
    ctx = rs_claims.ReviewContext(
        review_date=today,
        party_paid_year_fen=party_year,
        party_balance_fen={
            p.key: int(state.party_balance_fen.get(p.key, 0)) for p in rule.parties if p.balance_limited
        },
        covered_loans_fen=covered_loans(session, state)[1],
        compensation_paid_fen=int(comp_all) + sum(e.amount_fen for e in reserved if e.compensation),
    )
    return {
        k: v
        for k, v in rs_ledger.headrooms(rule, ctx).items()
        if k.startswith(("party_year", "balance", "payout_rate"))
    }
