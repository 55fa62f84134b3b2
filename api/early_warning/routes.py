"""Early-warning scoring, validation and watchlist; collateral stress scenarios and runs.

Runs are created by banks (their own loans; admin: every loan) and read back by their
organisation; the watchlist lists the loans the viewer may see row by row, the summary what it may
aggregate (a bureau: its region). Stress runs aggregate the viewer's scope (bank or bureau).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.core.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.core.errors import NotFound
from api.early_warning import jobs, reports, service, stress
from api.early_warning.schemas import (
    EWRunCreate,
    EWRunPublic,
    EWRunsPage,
    EWScoresPage,
    JobAccepted,
    MigrationPublic,
    StressRunCreate,
    StressRunPublic,
    StressScenarioPublic,
)
from api.identity.models import OrgKind, UserRole

router = APIRouter(prefix="/early-warning", tags=["early warning"])
stress_router = APIRouter(tags=["stress test"])

BankStaff = Depends(require_role(OrgKind.bank, user_roles=(UserRole.officer, UserRole.approver)))
StressStaff = Depends(require_role(OrgKind.bank, OrgKind.bureau, user_roles=(UserRole.officer, UserRole.approver)))
Offset = Annotated[int, Query(ge=0, le=10**9)]
Limit = Annotated[int, Query(ge=1, le=500)]
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/runs", status_code=status.HTTP_201_CREATED, response_model=EWRunPublic | JobAccepted,
             responses={202: {"model": JobAccepted, "description": "queued as a background job"}},
             dependencies=[BankStaff])
def create_run(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: EWRunCreate,
               response: Response) -> EWRunPublic | JobAccepted:
    """Score every live loan at the data cut: fit on the stored history or fall back to the prior (see the
    run's ``model_kind`` and ``note``), store scores with drivers, raise ``early_warning`` alerts."""
    if body.background:
        response.status_code = status.HTTP_202_ACCEPTED
        return JobAccepted(job_id=jobs.submit_scoring(user, org, body.data_cut, body.alert_pd))
    run = service.create_run(session, user, org, body.data_cut, body.alert_pd)
    session.commit()
    session.refresh(run)
    return EWRunPublic.model_validate(run)


@router.get("/runs", response_model=EWRunsPage)
def list_runs(session: SessionDep, org: CurrentOrg, offset: Offset = 0, limit: Limit = 50) -> EWRunsPage:
    count, rows = service.list_runs(session, org, offset, limit)
    return EWRunsPage(count=count, offset=offset, limit=limit, data=[EWRunPublic.model_validate(r) for r in rows])


@router.get("/runs/{run_id}", response_model=EWRunPublic)
def get_run(session: SessionDep, org: CurrentOrg, run_id: RunId) -> EWRunPublic:
    return EWRunPublic.model_validate(service.get_run(session, org, run_id))


@router.get("/runs/{run_id}/scores", response_model=EWScoresPage)
def run_scores(session: SessionDep, org: CurrentOrg, run_id: RunId, offset: Offset = 0, limit: Limit = 50,
               alerts_only: bool = False) -> dict[str, Any]:
    """A run's scores, highest PD first, with drivers and the change since the previous run."""
    run = service.get_run(session, org, run_id)
    wl = reports.watchlist(session.connection(), org, alerts_only=alerts_only, offset=offset, limit=limit,
                           run_id=int(run.id))  # type: ignore[arg-type]
    return {"count": wl["count"], "offset": offset, "limit": limit, "data": wl["data"]}


@router.get("/runs/{run_id}/migration", response_model=MigrationPublic)
def run_migration(session: SessionDep, org: CurrentOrg, run_id: RunId) -> dict[str, Any]:
    """PD-bucket migration since the organisation's previous run."""
    run = service.get_run(session, org, run_id)
    return reports.migration(session.connection(), int(run.id))  # type: ignore[arg-type]


@router.get("/runs/{run_id}/validation")
def run_validation(session: SessionDep, org: CurrentOrg, run_id: RunId, data_cut: date,
                   n_bins: Annotated[int, Query(ge=2, le=50)] = 10) -> dict[str, Any]:
    """AUC, KS, Brier and the calibration table of the run's model on the stored book at a past cut
    (outcome: default within 12 months after it); ``out_of_time`` when the cut is not before the run's."""
    run = service.get_run(session, org, run_id)
    return service.validate_run(session, org, run, data_cut, n_bins)


@router.get("/watchlist")
def watchlist(session: SessionDep, org: CurrentOrg, offset: Offset = 0, limit: Limit = 50,
              alerts_only: bool = False) -> dict[str, Any]:
    """Loans by PD from the latest run(s) the viewer may see, with drivers and score migration."""
    return reports.watchlist(session.connection(), org, alerts_only=alerts_only, offset=offset, limit=limit)


@router.get("/summary")
def summary(session: SessionDep, org: CurrentOrg) -> list[dict[str, Any]]:
    """Loans scored, alerts and mean PD per province and bank over the latest runs (aggregates)."""
    return reports.regional_summary(session.connection(), org)


@stress_router.get("/stress-scenarios", response_model=list[StressScenarioPublic])
def list_scenarios(user: CurrentUser) -> list[dict[str, Any]]:
    """The named scenarios shipped as data, every number with its rationale."""
    named, _ = stress.scenarios()
    return [stress.scenario_json(s) for s in named.values()]


@stress_router.post("/stress-runs", status_code=status.HTTP_201_CREATED, response_model=StressRunPublic,
                    responses={202: {"model": StressRunPublic, "description": "Monte Carlo queued as a job"}},
                    dependencies=[StressStaff])
def create_stress_run(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: StressRunCreate,
                      response: Response) -> StressRunPublic:
    """A named scenario or custom shocks (answered at once, exact fen), or a Monte Carlo (202, poll the job
    or this run), on the latest collateral valuations of the viewer's book; totals per bank and region."""
    if body.monte_carlo is not None:
        row = jobs.submit_monte_carlo(session, user, org, body)
        response.status_code = status.HTTP_202_ACCEPTED
        return StressRunPublic.model_validate(row)
    row = stress.create_deterministic(session, user, org, body)
    session.commit()
    session.refresh(row)
    return StressRunPublic.model_validate(row)


@stress_router.get("/stress-runs/{run_id}", response_model=StressRunPublic)
def get_stress_run(session: SessionDep, org: CurrentOrg, run_id: RunId) -> StressRunPublic:
    return StressRunPublic.model_validate(stress.get_stress_run(session, org, run_id))


@stress_router.get("/stress-runs", response_model=StressRunPublic)
def latest_stress_run(session: SessionDep, org: CurrentOrg) -> Any:
    """The organisation's latest succeeded stress run (None when there is none)."""
    s = reports.stress_summary(session.connection(), org)
    if s is None:
        raise NotFound("no stress run yet")
    return StressRunPublic.model_validate(stress.get_stress_run(session, org, int(s["id"])))
