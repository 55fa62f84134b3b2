"""Registry facts that change on an IP asset, and the alerts they raise on the loans it secures.

``PATCH /ip-assets/{id}`` records the annual fee paid until, the legal status, an invalidation
request, a transfer or a licence, under optimistic locking (``expected_version``; a stale
version is 409). A pledged right (a registered pledge on a live loan) may not be transferred or
licensed without the pledgee's consent (民法典 art. 444): such a transfer or licence, a lapse,
an invalidation and an invalidation request each raise an alert on every loan the asset
secures, recorded in the loan's file too. A transfer also makes the assignee the registered
owner in the pledge facts, so eligibility and monitoring see it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import Conflict
from api.identity.models import Organisation, User
from api.pledge.models import (
    IPAsset,
    IPAssetVersion,
    IPRegistryEvent,
    LegalStatus,
    Loan,
    LoanCollateral,
    PledgeAlert,
    PledgeIPFacts,
)
from api.pledge.products_schemas import IPAssetPatch
from api.pledge.service import get_ip_asset, today
from pledge.lifecycle import PAYABLE_STATES

LIVE = {s.value for s in PAYABLE_STATES}


def asset_version(session: Session, asset_id: int) -> int:
    row = session.get(IPAssetVersion, asset_id)
    return row.version if row else 1


def events(session: Session, asset_id: int) -> list[dict[str, Any]]:
    rows = session.exec(select(IPRegistryEvent).where(IPRegistryEvent.ip_asset_id == asset_id)
                        .order_by(col(IPRegistryEvent.id))).all()
    return [{"id": r.id, "kind": r.kind, "on": r.on, "counterparty": r.counterparty,
             "pledgee_consent": r.pledgee_consent, "details": r.details} for r in rows]


def _lock(session: Session, asset_id: int, expected: int) -> int:
    """Move the asset's version from ``expected`` to ``expected + 1`` or fail with 409."""
    if session.get(IPAssetVersion, asset_id) is None:
        try:
            with session.begin_nested():
                session.add(IPAssetVersion(ip_asset_id=asset_id, version=1))
        except IntegrityError:  # created concurrently: the conditional update below decides
            pass
    res = session.connection().execute(update(IPAssetVersion).where(
        col(IPAssetVersion.ip_asset_id) == asset_id, col(IPAssetVersion.version) == expected).values(
        version=expected + 1))
    if res.rowcount != 1:
        session.rollback()
        raise Conflict(f"IP asset {asset_id} was changed by someone else (your version {expected}, now "
                       f"{asset_version(session, asset_id)}); reload and retry")
    return expected + 1


def _findings(asset: IPAsset, body: IPAssetPatch, old_status: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(code, severity, message, data) of each change that endangers the pledge."""
    out = []
    if body.transfer and not body.transfer.pledgee_consent:
        out.append(("pledged_ip_transferred", "critical",
                    f"{asset.identifier} was transferred to {body.transfer.assignee} on {body.transfer.on} without "
                    "the pledgee's consent (民法典 art. 444)",
                    {"assignee": body.transfer.assignee, "on": body.transfer.on.isoformat()}))
    if body.licence and not body.licence.pledgee_consent:
        out.append(("pledged_ip_licensed", "critical",
                    f"{asset.identifier} was licensed ({body.licence.licence_kind}) to {body.licence.licensee} on "
                    f"{body.licence.on} without the pledgee's consent (民法典 art. 444)",
                    {"licensee": body.licence.licensee, "on": body.licence.on.isoformat()}))
    if body.invalidation_request:
        out.append(("ip_invalidation_requested", "warning",
                    f"an invalidation request against {asset.identifier} was filed on "
                    f"{body.invalidation_request.filed_on} by {body.invalidation_request.petitioner}",
                    {"filed_on": body.invalidation_request.filed_on.isoformat()}))
    new_status = str(body.legal_status) if body.legal_status else old_status
    if new_status != old_status and new_status in (LegalStatus.lapsed.value, LegalStatus.invalidated.value,
                                                   LegalStatus.expired.value):
        code = "ip_lapsed" if new_status in (LegalStatus.lapsed.value, LegalStatus.expired.value) else "ip_invalidated"
        out.append((code, "critical", f"{asset.identifier} is now {new_status} (was {old_status})",
                    {"from": old_status, "to": new_status}))
    return out


def _record_events(session: Session, user: User, asset_id: int, body: IPAssetPatch, old: dict[str, Any]) -> None:
    def add(kind: str, on: date, **kw: Any) -> None:
        session.add(IPRegistryEvent(ip_asset_id=asset_id, kind=kind, on=on, created_by_user_id=user.id, **kw))

    if body.transfer:
        add("transfer", body.transfer.on, counterparty=body.transfer.assignee,
            pledgee_consent=body.transfer.pledgee_consent)
        facts = session.get(PledgeIPFacts, asset_id) or PledgeIPFacts(ip_asset_id=asset_id)
        facts.registered_owners = [body.transfer.assignee]
        session.add(facts)
    if body.licence:
        add("licence", body.licence.on, counterparty=body.licence.licensee,
            pledgee_consent=body.licence.pledgee_consent, details={"licence_kind": body.licence.licence_kind})
    if body.invalidation_request:
        add("invalidation_request", body.invalidation_request.filed_on,
            counterparty=body.invalidation_request.petitioner)
    if body.legal_status and str(body.legal_status) != old["legal_status"]:
        add("legal_status", today(), details={"from": old["legal_status"], "to": str(body.legal_status)})
    if "annual_fee_paid_until" in body.model_fields_set and body.annual_fee_paid_until != old["annual_fee_paid_until"]:
        add("annual_fee", today(), details={"paid_until": body.annual_fee_paid_until.isoformat()
                                            if body.annual_fee_paid_until else None})


def patch_asset(session: Session, user: User, org: Organisation, asset_id: int, body: IPAssetPatch
                ) -> tuple[IPAsset, list[dict[str, Any]]]:
    """Apply the registry changes, record them, and alert every live loan the asset secures."""
    asset = get_ip_asset(session, org, asset_id)
    old: dict[str, Any] = {"legal_status": str(asset.legal_status),
                           "annual_fee_paid_until": asset.annual_fee_paid_until}
    _lock(session, asset_id, body.expected_version)
    _record_events(session, user, asset_id, body, old)
    if body.legal_status:
        asset.legal_status = body.legal_status
    if "annual_fee_paid_until" in body.model_fields_set:
        asset.annual_fee_paid_until = body.annual_fee_paid_until
    session.add(asset)
    findings = _findings(asset, body, old["legal_status"])
    loans = session.exec(select(Loan).join(LoanCollateral, col(LoanCollateral.loan_id) == Loan.id).where(
        LoanCollateral.ip_asset_id == asset_id, LoanCollateral.pledge_status == "registered",
        col(Loan.status).in_(LIVE))).all() if findings else []
    raised = []
    for loan in loans:
        for code, severity, message, data in findings:
            session.add(PledgeAlert(loan_id=loan.id, ip_asset_id=asset_id, code=code,  # type: ignore[arg-type]
                                    severity=severity, message=message[:500], as_of=today(), data=data))
            audit.record(session, user, "loan", loan.id, "registry_alert",
                         after={"code": code, "ip_asset_id": asset_id, "message": message})
            raised.append({"loan_id": loan.id, "code": code, "severity": severity})
    audit.record(session, user, "ip_asset", asset_id, "registry_update", before=old,
                 after={**body.model_dump(mode="json", exclude_unset=True), "alerts": raised})
    return asset, raised
