"""Securitization request and response models (Create/Update/Public)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import computed_field, model_validator
from sqlmodel import Field, SQLModel

from api.core.schemas import Page
from api.pledge.models import LoanStatus
from ipfin.money import fen_to_cny
from ipfin.validation import IndustrySection, RegionCode


class PoolAssumptions(SQLModel):
    """Credit assumptions applied to stored loans (the loan table has no PD or recovery data)."""

    annual_pd: float = Field(default=0.02, ge=0, lt=1)
    recovery_rate: float = Field(default=0.3, ge=0, le=1)
    recovery_lag_months: int = Field(default=6, ge=0, le=120)
    schedule: Literal["annuity", "equal_principal", "bullet"] = "bullet"
    as_of: date | None = Field(default=None, description="cut-off date; loan age counts from origination to it")


class LoanFilter(SQLModel):
    """Which stored loans (visible to the caller) go into the pool."""

    statuses: list[LoanStatus] = Field(default_factory=lambda: [LoanStatus.active])
    province_code: RegionCode | None = None
    industry: IndustrySection | None = None
    bank_org_id: int | None = None
    limit: int = Field(default=5000, ge=1, le=50_000)


class PoolCreate(SQLModel):
    """Create a pool from stored loans (``loan_ids`` or ``filter``) or from inline assets (``assets``)."""

    name: str = Field(min_length=1, max_length=200)
    loan_ids: list[int] | None = None
    filter: LoanFilter | None = None
    assumptions: PoolAssumptions = Field(default_factory=PoolAssumptions)
    assets: dict[str, Any] | None = Field(
        default=None, description="pool JSON as in the deal files: {loans: [...], royalties: [...]} or synthetic_*"
    )

    @model_validator(mode="after")
    def _one_source(self) -> PoolCreate:
        given = sum(x is not None for x in (self.loan_ids, self.filter, self.assets))
        if given != 1:
            raise ValueError("give exactly one of loan_ids, filter or assets")
        return self


class PoolPublic(SQLModel):
    id: int
    name: str
    owner_org_id: int
    source: str
    balance_fen: int
    n_assets: int
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def balance_cny(self) -> Decimal:
        return fen_to_cny(self.balance_fen)


class PoolDetail(PoolPublic):
    summary: dict[str, Any]
    definition: dict[str, Any]


class ImportErrorPublic(SQLModel):
    row: int
    field: str
    message: str


class PoolUploadResult(SQLModel):
    pool: PoolPublic
    errors: list[ImportErrorPublic]


class PoolsPage(Page):
    data: list[PoolPublic]


class StratRowPublic(SQLModel):
    bucket: str
    count: int
    balance_cny: Decimal
    share: Decimal
    wa_annual_pd: float
    wa_rate: float | None


class StrataPublic(SQLModel):
    pool_id: int
    by: str
    rows: list[StratRowPublic]


class DealCreate(SQLModel):
    """``structure``: the deal-file JSON without ``pool`` (closing_date, tranches, fees, reserve, triggers,
    guarantor, principal_mode, clean_up_call, scenarios, credit)."""

    pool_id: int
    structure: dict[str, Any]


class DealPublic(SQLModel):
    id: int
    name: str
    owner_org_id: int
    pool_id: int
    structure: dict[str, Any]
    created_at: datetime


class DealsPage(Page):
    data: list[DealPublic]


class TranchePricing(SQLModel):
    """Price a tranche at a yield, solve its yield at a price, or price it at benchmark + spread."""

    yield_rate: float | None = Field(default=None, gt=-0.5, lt=10, description="annual yield, fraction")
    price: float | None = Field(default=None, gt=0, le=1000, description="dirty price per 100 of face")
    spread: float | None = Field(default=None, gt=-1, lt=1, description="over benchmark_yield, fraction")
    benchmark_yield: float | None = Field(default=None, gt=-0.5, lt=10)

    @model_validator(mode="after")
    def _one_way(self) -> TranchePricing:
        given = [k for k in ("yield_rate", "price", "spread") if getattr(self, k) is not None]
        if len(given) != 1 or (given == ["spread"]) != (self.benchmark_yield is not None):
            raise ValueError("give exactly one of yield_rate, price, or spread with benchmark_yield")
        return self


class RunCreate(SQLModel):
    mode: Literal["deterministic", "monte_carlo"] = "deterministic"
    n_paths: int = Field(default=10_000, ge=100, le=1_000_000)
    seed: int = Field(default=20240601, ge=0)
    stresses: list[Literal["base", "pd_x1.5", "pd_x2", "rho_+0.15", "recovery_halved", "severe"]] = Field(
        default_factory=lambda: ["base"], min_length=1
    )
    include_periods: bool = True
    pricing: dict[str, TranchePricing] | None = Field(
        default=None, description="tranche name → pricing level; results in each tranche's analytics_at_pricing"
    )


class RunPublic(SQLModel):
    id: int
    deal_id: int
    mode: str
    status: str
    params: dict[str, Any]
    job_id: str | None
    result: dict[str, Any] | None
    created_at: datetime


class RunSummary(SQLModel):
    """A run without its (possibly large) result; read ``/deals/{deal_id}/runs/{id}`` for the tables."""

    id: int
    deal_id: int
    mode: str
    status: str
    params: dict[str, Any]
    job_id: str | None
    created_at: datetime


class RunsPage(Page):
    data: list[RunSummary]


class RunQueued(SQLModel):
    run_id: int
    job_id: str
    status: str = "queued"
