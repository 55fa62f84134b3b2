"""Valuation table: one stored run of :func:`valuation.engine.value_asset`.

The request and the full result are kept as JSON (the result's money is integer fen); the
headline figures are columns (BIGINT fen) for listing and for the pledge module's collateral
values. A large Monte Carlo run is stored ``queued`` with the id of the background job that
computes it; the job fills in the result and sets the status when it finishes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import computed_field
from sqlalchemy import JSON, BigInteger, String
from sqlmodel import Field, SQLModel

from api.models.core import Page, utcnow
from ipfin.money import fen_to_cny
from valuation.engine import ValuationRequest


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


class ValuationCreate(ValuationRequest):
    """A valuation request (see ``valuation.engine.ValuationRequest``), optionally linked to a
    stored IP asset of the caller's organisation."""

    ip_asset_id: int | None = None


class ValuationPublic(SQLModel):
    id: int
    owner_org_id: int
    ip_asset_id: int | None
    identifier: str
    ip_type: str
    valuation_date: date
    status: ValuationStatus
    job_id: str | None
    error: str | None
    appraised_value_fen: int | None
    appraised_low_fen: int | None
    appraised_high_fen: int | None
    mc_mean_fen: int | None
    mc_p5_fen: int | None
    n_paths: int
    seed: int
    created_at: datetime
    finished_at: datetime | None
    request: dict[str, Any] | None = Field(default=None, description="the inputs as posted (audit trail)")
    result: dict[str, Any] | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def appraised_value_cny(self) -> Decimal | None:
        return None if self.appraised_value_fen is None else fen_to_cny(self.appraised_value_fen)


class ValuationQueued(SQLModel):
    """202 answer for a large run: poll the job, then read the valuation."""

    valuation_id: int
    job_id: str
    status: ValuationStatus = ValuationStatus.queued


class ValuationsPage(Page):
    data: list[ValuationPublic]
