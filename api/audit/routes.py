from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from api.audit.models import AuditEvent
from api.audit.schemas import AuditEventPublic
from api.core.deps import CurrentOrg, SessionDep
from api.identity.models import OrgKind

router = APIRouter(prefix="/audit-events", tags=["audit"])


@router.get("", response_model=list[AuditEventPublic])
def list_audit_events(
    session: SessionDep,
    org: CurrentOrg,
    entity: str | None = None,
    entity_id: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEvent]:
    """Audit trail, newest first: the caller's organisation's events (all for admins)."""
    q = select(AuditEvent)
    if org.kind != OrgKind.admin:
        q = q.where(AuditEvent.actor_org_id == org.id)
    if entity:
        q = q.where(AuditEvent.entity == entity)
    if entity_id:
        q = q.where(AuditEvent.entity_id == entity_id)
    return list(session.exec(q.order_by(col(AuditEvent.id).desc()).offset(offset).limit(limit)).all())
