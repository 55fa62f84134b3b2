"""Recoveries shared back to the parties that paid, and the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import Conflict, FieldError
from api.identity.models import Organisation, User
from api.risk_sharing.models import (
    ClaimStatus,
    RiskClaim,
    RiskLedgerEntry,
    RiskRecovery,
    claim_visibility,
)
from api.risk_sharing.schemas import RecoveryCreate
from api.risk_sharing.schemes import get_rule_row, ledger_entry, lock_scheme, rule_of
from api.risk_sharing.service import adjust_balances, claim_parties, get_claim
from ipfin.money import cny_to_fen
from risk_sharing import ledger as rs_ledger
from risk_sharing.recovery import share_recovery

_SETTLED = {ClaimStatus.completed.value, ClaimStatus.closed.value}


def record_recovery(session: Session, actor: User, org: Organisation, body: RecoveryCreate) -> RiskRecovery:
    """Share a recovery back to the parties of a settled claim (under the family lock), pro rata to
    what each actually paid: a declined share gets nothing back."""
    c = get_claim(session, org, body.claim_id)
    state = lock_scheme(session, c.rule_id)
    session.refresh(c)
    if str(c.status) not in _SETTLED:
        raise Conflict(
            f"recoveries are shared back once every share of the claim is paid or declined "
            f"(completed or closed); claim is {c.status}"
        )
    rule = rule_of(get_rule_row(session, c.rule_row_id))
    entries = [
        ledger_entry(e) for e in session.exec(select(RiskLedgerEntry).where(RiskLedgerEntry.claim_id == c.id))
    ]
    paid, recovered = rs_ledger.claim_totals(entries, str(c.id))
    paid = {k: paid.get(k, 0) for k in rule.party_keys if k in paid}
    if not paid:
        raise Conflict(f"nobody paid anything for claim {c.id}: there is nothing to share back")
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
    adjust_balances(session, rule, state, dict(share.parts))
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
        typed_costs = body.disposal_costs_cny if body.disposal_costs_cny is not None else Decimal(0)
        return body.received_on, cny_to_fen(body.gross_cny), cny_to_fen(typed_costs), body.method
    for name in ("received_on", "gross_cny", "disposal_costs_cny"):
        if getattr(body, name) is not None:
            raise FieldError(name, "comes from the disposal: give either disposal_id or the amounts, not both")
    from api.pledge.models import PledgeDisposal

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
    session: Session, org: Organisation, *, rule_id: str | None, year: int | None, by_year: bool,
    claim_id: int | None = None,
) -> list[rs_ledger.PartyBalance]:
    """Per party balances (paid, recovered, net) per rule family and year, over the caller's claims
    or one of them (``claim_id``: 404 unless the caller is a party)."""
    visible = select(RiskClaim.id).where(claim_visibility(org))
    conds = [col(RiskLedgerEntry.claim_id).in_(visible)]
    if claim_id is not None:
        get_claim(session, org, claim_id)
        conds.append(RiskLedgerEntry.claim_id == claim_id)  # type: ignore[arg-type]
    if rule_id:
        conds.append(RiskLedgerEntry.rule_id == rule_id)  # type: ignore[arg-type]
    if year is not None:
        conds.append(col(RiskLedgerEntry.booked_on).between(date(year, 1, 1), date(year, 12, 31)))
    rows = session.exec(select(RiskLedgerEntry).where(*conds)).all()
    return rs_ledger.balances([ledger_entry(e) for e in rows], by_year=by_year)
