"""Securitisation tables: collateral pools, deal structures and their runs.

A pool row keeps the explicit JSON of :func:`securitization.deal.pool_to_dict` (every asset,
money as CNY strings) plus its balance in fen for listing; a deal row keeps the structure JSON
(tranches, fees, triggers, guarantor …, in the reference-deal file format) and points at its
pool; a run row keeps the parameters and the JSON result of :func:`securitization.deal.run_deal`
(or the id of the background job computing it).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlmodel import Field, SQLModel

from api.core.db import utcnow


class PoolSource(StrEnum):
    loans = "loans"  # built from stored pledge loans by id or filter
    upload = "upload"  # imported from a CSV/XLSX loan tape
    inline = "inline"  # assets given in the request body


class RunStatus(StrEnum):
    succeeded = "succeeded"
    queued = "queued"  # computed by a background job: poll /api/v1/jobs/{job_id}


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
