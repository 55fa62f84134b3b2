"""The append-only audit log table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from api.core.db import utcnow


class AuditEvent(SQLModel, table=True):
    """Append-only record of every state change, written in the change's own transaction."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    entity: str = Field(max_length=60)
    entity_id: str = Field(max_length=60)
    action: str = Field(max_length=60)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
