"""Audit events as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import SQLModel


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    actor_user_id: int | None
    actor_org_id: int | None
    entity: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
