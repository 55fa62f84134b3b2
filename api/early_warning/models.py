"""Early-warning runs and scores, and collateral stress runs.

A run records what produced it (model version and kind, whether it was fitted on the stored
book or fell back to the documented prior, the data cut, the metrics) and who asked; a score is
one loan's 12-month PD in a run with its rank and top drivers. PDs are probabilities (floats),
never money; a stress run keeps its totals (integer fen) as JSON per bank and per region.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, Index, String
from sqlmodel import Field, SQLModel

from api.core.db import utcnow


class ModelKind(StrEnum):
    logistic = "logistic"  # fitted on the stored book's history (scikit-learn, calibrated logistic)
    prior = "prior"  # too little history: the documented TrueHazardModel coefficients


class StressKind(StrEnum):
    deterministic = "deterministic"
    monte_carlo = "monte_carlo"


class StressStatus(StrEnum):
    succeeded = "succeeded"
    queued = "queued"  # a Monte Carlo job: poll /api/v1/jobs/{job_id}
    failed = "failed"


class EWRun(SQLModel, table=True):
    """One early-warning scoring run over an organisation's live loans at a data cut."""

    __tablename__ = "ew_run"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    data_cut: date
    model_version: str = Field(max_length=60)
    model_kind: str = Field(sa_type=String(12))
    note: str = Field(default="", max_length=500)
    n_loans: int
    n_train: int = 0
    n_alerts: int = 0
    alert_pd: float = Field(sa_type=Float)
    metrics: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    coefficients: dict[str, Any] = Field(sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class EWScore(SQLModel, table=True):
    """One loan's score in a run."""

    __tablename__ = "ew_score"
    __table_args__ = (Index("ix_ew_score_run_rank", "run_id", "rank"), Index("ix_ew_score_loan", "loan_id", "run_id"))
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="ew_run.id")
    loan_id: int = Field(foreign_key="loan.id")
    pd: float = Field(sa_type=Float, description="12-month probability of default")
    rank: int = Field(description="1 = highest PD in the run")
    bucket: str = Field(max_length=12)
    alert: bool = False
    drivers: list[dict[str, Any]] = Field(sa_type=JSON)


class StressRun(SQLModel, table=True):
    """One collateral stress test of the book an organisation may aggregate."""

    __tablename__ = "stress_run"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    kind: str = Field(sa_type=String(16))
    scenario: str = Field(max_length=60)
    status: str = Field(sa_type=String(12))
    job_id: str | None = Field(default=None, max_length=36)
    error: str | None = Field(default=None, max_length=2000)
    data_cut: date
    request: dict[str, Any] = Field(sa_type=JSON)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
