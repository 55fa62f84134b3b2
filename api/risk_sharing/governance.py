"""Rule-family governance: owners, proposed changes and maker-checker approval.

A rule family belongs to the organisation that administers it (``RiskRuleFamily.owner_org_id``).
Starting a family (version 1, or a preset the platform admin installs) is one step. Every later
change — a new version, covered loans, fund balances — is proposed by a maker of the owner and
applied only when a second user of the owner with the approver role approves it; other
organisations, the platform admin included, get 403. A new version may not start in the past,
nor cover the origination date of a loan that already has a claim under the family (it would
re-price a claim already filed or paid). Every proposal, decision and applied change is audited.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.db import utcnow
from api.core.errors import Conflict, FieldError, NotFound
from api.identity.models import Organisation, OrgKind, User
from api.risk_sharing import policies
from api.risk_sharing.models import (
    ChangeKind,
    ChangeStatus,
    ClaimStatus,
    RiskClaim,
    RiskRule,
    RiskRuleChange,
    RiskRuleFamily,
)
from api.risk_sharing.schemas import SchemeStateUpdate
from api.risk_sharing.schemes import (
    _family_rows,
    create_rule_version,
    rule_error,
    rule_of,
    update_scheme_state,
    validate_scheme_update,
)
from risk_sharing.presets import load_preset
from risk_sharing.rules import Rule, check_new_version, rule_from_dict, rule_to_dict

#: Organisation kinds that may administer a rule family.
OWNER_KINDS = {OrgKind.fund, OrgKind.reguarantor, OrgKind.guarantor, OrgKind.admin}


def get_family(session: Session, rule_id: str) -> RiskRuleFamily:
    fam = session.get(RiskRuleFamily, rule_id)
    if fam is None:
        if _family_rows(session, rule_id):
            raise Conflict(f"rule family '{rule_id}' has no administering organisation recorded; it cannot be changed")
        raise NotFound(f"no rule family '{rule_id}'")
    return fam


def _owner(session: Session, org: Organisation, owner_org_id: int | None) -> Organisation:
    """The owner of a new family: the caller's organisation, or (platform admin only) the one named."""
    if owner_org_id is None or owner_org_id == org.id:
        return org
    if not policies.is_admin(org):
        raise policies.forbid("only the platform admin may start a rule family for another organisation")
    owner = session.get(Organisation, owner_org_id)
    if owner is None:
        raise FieldError("owner_org_id", f"no organisation {owner_org_id}")
    if str(owner.kind) not in {str(k) for k in OWNER_KINDS}:
        raise FieldError("owner_org_id", f"a {owner.kind} cannot administer a rule family")
    return owner


def _parse(definition: dict[str, Any]) -> Rule:
    try:
        return rule_from_dict(definition)
    except ValidationError as exc:
        raise rule_error(exc) from exc


def start_family(
    session: Session, actor: User, org: Organisation, rule: Rule, owner_org_id: int | None
) -> RiskRule:
    """Create a family's first version and record its owner (409 if the family exists)."""
    if session.get(RiskRuleFamily, rule.id) is not None or _family_rows(session, rule.id):
        raise Conflict(f"rule family '{rule.id}' exists: propose a new version (POST /risk-rules by its owner)")
    owner = _owner(session, org, owner_org_id)
    fam = RiskRuleFamily(rule_id=rule.id, owner_org_id=owner.id, created_by_user_id=actor.id)  # type: ignore[arg-type]
    session.add(fam)
    row = create_rule_version(session, actor, rule_to_dict(rule))
    audit.record(session, actor, "risk_rule_family", rule.id, "create", after=fam)
    return row


def install_preset(session: Session, actor: User, org: Organisation, name: str, owner_org_id: int | None) -> RiskRule:
    try:
        rule = load_preset(name)
    except ValueError as exc:
        raise NotFound(str(exc)) from exc
    return start_family(session, actor, org, rule, owner_org_id)


def _claimed_origination_dates(session: Session, rule_id: str) -> list[date]:
    rows = session.exec(
        select(RiskClaim.loan_facts).where(RiskClaim.rule_id == rule_id, RiskClaim.status != ClaimStatus.rejected.value)
    ).all()
    return [date.fromisoformat(str(f["origination_date"])) for f in rows if f and f.get("origination_date")]


def check_version(session: Session, rule: Rule) -> None:
    """A new version starts today or later, fits the family's versions and re-prices no filed claim."""
    today = date.today()
    if rule.effective_from < today:
        raise FieldError(
            "definition.effective_from",
            f"{rule.effective_from} is in the past: a new version starts today ({today}) or later",
        )
    rows = _family_rows(session, rule.id)
    existing = [rule_of(r) for r in rows]
    if existing and existing[-1].effective_to is None and existing[-1].effective_from < rule.effective_from:
        existing[-1] = existing[-1].model_copy(update={"effective_to": rule.effective_from - timedelta(days=1)})
    try:
        check_new_version(existing, rule)
    except ValueError as exc:
        raise Conflict(str(exc)) from exc
    hit = [
        d for d in _claimed_origination_dates(session, rule.id)
        if d >= rule.effective_from and (rule.effective_to is None or d <= rule.effective_to)
    ]
    if hit:
        raise Conflict(
            f"version {rule.version} would cover loans originated {min(hit)} … {max(hit)} that already have "
            f"claims under '{rule.id}': it may not rewrite a period with claims booked"
        )


def _propose(
    session: Session, actor: User, org: Organisation, rule_id: str, kind: ChangeKind, payload: dict[str, Any],
    note: str | None,
) -> RiskRuleChange:
    policies.require_family_owner(org, get_family(session, rule_id))
    policies.require_staff(user=actor)
    ch = RiskRuleChange(
        rule_id=rule_id, kind=kind.value, payload=payload, note=note, proposed_by_user_id=actor.id,  # type: ignore[arg-type]
    )
    session.add(ch)
    session.flush()
    audit.record(session, actor, "risk_rule_change", ch.id, "propose", after=ch)
    return ch


def propose_version(
    session: Session, actor: User, org: Organisation, definition: dict[str, Any], note: str | None = None
) -> RiskRuleChange:
    rule = _parse(definition)
    policies.require_family_owner(org, get_family(session, rule.id))
    check_version(session, rule)
    return _propose(session, actor, org, rule.id, ChangeKind.new_version, rule_to_dict(rule), note)


def create_or_propose(
    session: Session, actor: User, org: Organisation, definition: dict[str, Any], owner_org_id: int | None
) -> RiskRule | RiskRuleChange:
    """``POST /risk-rules``: a new family starts at once; a version of an existing one is a proposal."""
    rule = _parse(definition)
    if session.get(RiskRuleFamily, rule.id) is None and not _family_rows(session, rule.id):
        if str(org.kind) not in (OrgKind.fund, OrgKind.admin):
            raise policies.forbid("a rule family is started by a fund or installed by the platform admin")
        return start_family(session, actor, org, rule, owner_org_id)
    if owner_org_id is not None:
        raise FieldError("owner_org_id", "only for a new rule family")
    return propose_version(session, actor, org, definition)


def propose_scheme_state(
    session: Session, actor: User, org: Organisation, rule_id: str, body: SchemeStateUpdate
) -> RiskRuleChange:
    fam = get_family(session, rule_id)
    policies.require_family_owner(org, fam)
    validate_scheme_update(session, rule_id, body)
    payload = body.model_dump(mode="json", exclude_none=True)
    if not payload:
        raise FieldError("covered_loans_cny", "nothing to change")
    return _propose(session, actor, org, rule_id, ChangeKind.scheme_state, payload, None)


def get_change(session: Session, org: Organisation, change_id: int) -> RiskRuleChange:
    """A proposal, visible to its family's owner and the platform admin (others: 404)."""
    ch = session.get(RiskRuleChange, change_id)
    if ch is None:
        raise NotFound("change not found")
    fam = session.get(RiskRuleFamily, ch.rule_id)
    if not policies.is_admin(org) and (fam is None or fam.owner_org_id != org.id):
        raise NotFound("change not found")
    return ch


def _decide(session: Session, actor: User, org: Organisation, change_id: int) -> RiskRuleChange:
    ch = get_change(session, org, change_id)
    policies.require_family_owner(org, get_family(session, ch.rule_id))
    policies.require_approver(actor)
    if str(ch.status) != ChangeStatus.proposed:
        raise Conflict(f"change {ch.id} is {ch.status}; only a proposed change can be decided")
    if ch.proposed_by_user_id == actor.id:
        raise Conflict("maker-checker: the user who proposed a change cannot approve or reject it")
    return ch


def approve_change(
    session: Session, actor: User, org: Organisation, change_id: int, note: str | None
) -> RiskRuleChange:
    """Checker: apply the change (checks re-run now) and mark it approved, in one transaction."""
    ch = _decide(session, actor, org, change_id)
    before = audit.snapshot(ch)
    if ch.kind == ChangeKind.new_version:
        rule = _parse(ch.payload)
        check_version(session, rule)
        row = create_rule_version(session, actor, ch.payload)
        ch.rule_row_id = row.id
    else:
        state = update_scheme_state(session, actor, ch.rule_id, SchemeStateUpdate.model_validate(ch.payload))
        session.add(state)
    ch.status, ch.decided_by_user_id, ch.decision_note, ch.decided_at = (
        ChangeStatus.approved.value, actor.id, note, utcnow()
    )
    session.add(ch)
    session.flush()
    audit.record(session, actor, "risk_rule_change", ch.id, "approve", before=before, after=ch)
    return ch


def reject_change(
    session: Session, actor: User, org: Organisation, change_id: int, note: str | None
) -> RiskRuleChange:
    ch = _decide(session, actor, org, change_id)
    before = audit.snapshot(ch)
    ch.status, ch.decided_by_user_id, ch.decision_note, ch.decided_at = (
        ChangeStatus.rejected.value, actor.id, note, utcnow()
    )
    session.add(ch)
    session.flush()
    audit.record(session, actor, "risk_rule_change", ch.id, "reject", before=before, after=ch)
    return ch


def list_changes(
    session: Session, org: Organisation, *, rule_id: str | None, status: str | None, offset: int, limit: int
) -> tuple[int, list[RiskRuleChange]]:
    conds: list[Any] = []
    if not policies.is_admin(org):
        owned = select(RiskRuleFamily.rule_id).where(RiskRuleFamily.owner_org_id == org.id)
        conds.append(col(RiskRuleChange.rule_id).in_(owned))
    if rule_id:
        conds.append(RiskRuleChange.rule_id == rule_id)
    if status:
        conds.append(RiskRuleChange.status == status)
    total = session.exec(select(func.count()).select_from(RiskRuleChange).where(*conds)).one()
    rows = session.exec(
        select(RiskRuleChange).where(*conds).order_by(col(RiskRuleChange.id)).offset(offset).limit(limit)
    ).all()
    return int(total), list(rows)


def list_families(session: Session, *, offset: int, limit: int) -> tuple[int, list[RiskRuleFamily]]:
    total = session.exec(select(func.count()).select_from(RiskRuleFamily)).one()
    rows = session.exec(
        select(RiskRuleFamily).order_by(col(RiskRuleFamily.rule_id)).offset(offset).limit(limit)
    ).all()
    return int(total), list(rows)
