"""Background jobs (long Monte Carlo runs, monitoring) and their progress."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String
from sqlmodel import Field, SQLModel

from api.core.db import utcnow


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class Job(SQLModel, table=True):
    """A long computation (Monte Carlo valuation, pool simulation) run off the event loop."""

    __tablename__ = "job"
    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=40)
    status: JobStatus = Field(default=JobStatus.queued, sa_type=String(12))
    progress: float = Field(default=0.0, description="fraction done, 0..1 (statistic, not money)")
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, max_length=2000)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
