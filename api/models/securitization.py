"""Securitisation tables: collateral pools, deal structures and their runs.

A pool row keeps the explicit JSON of :func:`securitization.deal.pool_to_dict` (every asset,
money as CNY strings) plus its balance in fen for listing; a deal row keeps the structure JSON
(tranches, fees, triggers, guarantor …, in the reference-deal file format) and points at its
pool; a run row keeps the parameters and the JSON result of :func:`securitization.deal.run_deal`
(or the id of the background job computing it).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import computed_field, model_validator
from sqlalchemy import JSON, BigInteger, String
from sqlmodel import Field, SQLModel

from api.models.core import LoanStatus, Page, utcnow
from ipfin.money import fen_to_cny
from ipfin.validation import IndustrySection, RegionCode


class PoolSource(StrEnum):
    loans = "loans"  # built from stored pledge loans by id or filter
    upload = "upload"  # imported from a CSV/XLSX loan tape
    inline = "inline"  # assets given in the request body


class RunStatus(StrEnum):
    succeeded = "succeeded"
    queued = "queued"  # computed by a background job: poll /api/v1/jobs/{job_id}


# ---------------------------------------------------------------- pools


class AbsPool(SQLModel, table=True):
    """A collateral pool (基础资产池) owned by one organisation."""

    __tablename__ = "abs_pool"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    source: str = Field(sa_type=String(20))
    balance_fen: int = Field(sa_type=BigInteger)
    n_assets: int
    definition: dict[str, Any] = Field(sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


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


# ---------------------------------------------------------------- deals


class AbsDeal(SQLModel, table=True):
    """A deal structure (tranches, fees, triggers, guarantor …) on one pool."""

    __tablename__ = "abs_deal"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    pool_id: int = Field(foreign_key="abs_pool.id", index=True)
    structure: dict[str, Any] = Field(sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


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


# ---------------------------------------------------------------- runs


class AbsRun(SQLModel, table=True):
    """One run of a deal: deterministic (all scenarios through the waterfall) or Monte Carlo."""

    __tablename__ = "abs_run"
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="abs_deal.id", index=True)
    mode: str = Field(sa_type=String(20))
    status: str = Field(sa_type=String(12))
    params: dict[str, Any] = Field(sa_type=JSON)
    job_id: str | None = Field(default=None, max_length=36, foreign_key="job.id")
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


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
