"""The audit helper every write path uses: the event joins the caller's transaction, so it
is committed with the change it records or rolled back with it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlmodel import Session, SQLModel

from api.audit.models import AuditEvent
from api.identity.models import User


def _jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Enum):
        return v.value
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def snapshot(obj: SQLModel | dict[str, Any] | None, exclude: set[str] | None = None) -> dict[str, Any] | None:
    """A JSON-safe summary of a row for the before/after columns (secrets never included)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        data = obj
    elif hasattr(obj, "__table__"):  # a table row: read its columns (values as stored)
        data = {c.key: getattr(obj, c.key) for c in obj.__table__.columns}
    else:
        data = obj.model_dump()
    skip = {"hashed_password"} | (exclude or set())
    return {k: _jsonable(v) for k, v in data.items() if k not in skip}


def record(
    session: Session,
    actor: User | None,
    entity: str,
    entity_id: Any,
    action: str,
    before: SQLModel | dict[str, Any] | None = None,
    after: SQLModel | dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to ``session`` (not committed here: the caller's commit carries it)."""
    event = AuditEvent(
        actor_user_id=actor.id if actor else None,
        actor_org_id=actor.organisation_id if actor else None,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        before=snapshot(before),
        after=snapshot(after),
    )
    session.add(event)
    return event
