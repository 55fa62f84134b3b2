"""Request and response models of the early-warning and stress-test API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.core.schemas import Page


class EWRunCreate(BaseModel):
    """Score every live loan of the organisation at ``data_cut`` (default today)."""

    model_config = ConfigDict(extra="forbid")

    data_cut: date | None = None
    alert_pd: float = Field(default=0.10, gt=0, le=1, description="PD at or above which a loan raises an alert")
    background: bool = Field(default=False, description="run as a job (202 with job_id) instead of in the request")


class EWRunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    data_cut: date
    model_version: str
    model_kind: str
    note: str
    n_loans: int
    n_train: int
    n_alerts: int
    alert_pd: float
    metrics: dict[str, Any] | None
    created_by_user_id: int | None
    created_at: datetime


class EWRunsPage(Page):
    data: list[EWRunPublic]


class Driver(BaseModel):
    feature: str
    label_zh: str
    value: float | str
    contribution: float
    direction: str


class EWScorePublic(BaseModel):
    loan_id: int
    reference: str
    bank_org_id: int
    province_code: str
    pd: float
    rank: int
    bucket: str
    alert: bool
    drivers: list[Driver]
    previous_pd: float | None = None
    pd_change: float | None = None
    previous_rank: int | None = None
    rank_change: int | None = None
    new_alert: bool = False


class EWScoresPage(Page):
    data: list[EWScorePublic]


class MigrationPublic(BaseModel):
    run_id: int
    previous_run_id: int | None
    labels: list[str]
    matrix: list[list[int]]
    upgrades: int
    downgrades: int
    n_new: int
    n_exited: int


class JobAccepted(BaseModel):
    job_id: str
    run_id: int | None = None


class MonteCarlo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: int = Field(default=2000, ge=100, le=200_000)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    systematic_loading: float = Field(default=0.4, ge=0, le=1)
    ip_type_loading: float = Field(default=0.3, ge=0, le=1)
    industry_loading: float = Field(default=0.3, ge=0, le=1)
    mean_change: float = Field(default=0.0, gt=-1, le=10)


class CustomShocks(BaseModel):
    """Relative value shocks (−0.30 = value falls 30 %), whole basis points, as decimal strings or numbers."""

    model_config = ConfigDict(extra="forbid")

    ip_type_shocks: dict[str, Decimal] = Field(default_factory=dict)
    industry_shocks: dict[str, Decimal] = Field(default_factory=dict)
    other_industries_shock: Decimal = Decimal(0)
    invalidation_probability: dict[str, Decimal] = Field(default_factory=dict)
    pd_multiplier: Decimal = Decimal(1)


class StressRunCreate(BaseModel):
    """A named scenario or custom shocks (deterministic, answered at once), or a Monte Carlo (a job)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str | None = None
    custom: CustomShocks | None = None
    monte_carlo: MonteCarlo | None = None
    data_cut: date | None = None
    invalidation: Literal["expected", "sampled"] = "expected"
    seed: int = Field(default=0, ge=0, le=2**63 - 1, description="draws of the sampled invalidations")
    recovery_rate: Decimal | None = Field(default=None, ge=0, le=1, description="Monte Carlo; default the shipped one")

    @model_validator(mode="after")
    def _one_kind(self) -> StressRunCreate:
        given = sum(x is not None for x in (self.scenario, self.custom, self.monte_carlo))
        if given != 1:
            raise ValueError("give exactly one of scenario, custom or monte_carlo")
        return self


class StressRunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    kind: str
    scenario: str
    status: str
    job_id: str | None
    error: str | None
    data_cut: date
    request: dict[str, Any]
    result: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None


class StressScenarioPublic(BaseModel):
    name: str
    label_zh: str
    description: str
    ip_type_shocks: dict[str, Any]
    industry_shocks: dict[str, Any]
    other_industries_shock: dict[str, Any]
    invalidation_probability: dict[str, Any]
    pd_multiplier: dict[str, Any]
