"""Jobs as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import SQLModel

from api.jobs.models import JobStatus


class JobPublic(SQLModel):
    id: str
    kind: str
    status: JobStatus
    progress: float
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
