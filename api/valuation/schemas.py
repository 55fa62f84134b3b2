"""Valuation request and response models (Create/Update/Public)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import computed_field
from sqlmodel import Field, SQLModel

from api.core.schemas import Page
from api.valuation.models import ValuationStatus
from ipfin.money import fen_to_cny
from valuation.request import ValuationRequest


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
