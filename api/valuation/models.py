"""Valuation table: one stored run of :func:`valuation.engine.value_asset`.

The request and the full result are kept as JSON (the result's money is integer fen); the
headline figures are columns (BIGINT fen) for listing and for the pledge module's collateral
values. A large Monte Carlo run is stored ``queued`` with the id of the background job that
computes it; the job fills in the result and sets the status when it finishes.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlmodel import Field, SQLModel

from api.core.db import utcnow


class ValuationStatus(StrEnum):
    succeeded = "succeeded"
    queued = "queued"  # being computed by a background job: poll /api/v1/jobs/{job_id}
    failed = "failed"


class Valuation(SQLModel, table=True):
    """A stored valuation (评估结果) owned by one organisation."""

    __tablename__ = "valuation"
    id: int | None = Field(default=None, primary_key=True)
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    ip_asset_id: int | None = Field(default=None, foreign_key="ip_asset.id", index=True)
    identifier: str = Field(max_length=40)
    ip_type: str = Field(sa_type=String(24))
    valuation_date: date
    status: str = Field(sa_type=String(12))
    job_id: str | None = Field(default=None, max_length=36)
    error: str | None = Field(default=None, max_length=2000)
    appraised_value_fen: int | None = Field(default=None, sa_type=BigInteger)
    appraised_low_fen: int | None = Field(default=None, sa_type=BigInteger)
    appraised_high_fen: int | None = Field(default=None, sa_type=BigInteger)
    mc_mean_fen: int | None = Field(default=None, sa_type=BigInteger)
    mc_p5_fen: int | None = Field(default=None, sa_type=BigInteger)
    n_paths: int
    seed: int = Field(sa_type=BigInteger)
    request: dict[str, Any] = Field(sa_type=JSON)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
