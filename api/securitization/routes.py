"""Securitisation API: pools (from stored loans, inline assets or an uploaded loan tape),
stratification, deal structures and deterministic / Monte Carlo runs. Thin routes: validate,
call ``api.crud_securitization`` and the pure ``securitization`` package, commit once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status

from api.core.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.core.idempotency import IdempotencyDep
from api.identity.models import OrgKind, UserRole
from api.jobs.models import Job
from api.jobs.service import submit
from api.securitization import service as crud
from api.securitization.models import AbsDeal, AbsPool, AbsRun
from api.securitization.schemas import (
    DealCreate,
    DealPublic,
    DealsPage,
    ImportErrorPublic,
    PoolCreate,
    PoolDetail,
    PoolPublic,
    PoolsPage,
    PoolUploadResult,
    RunCreate,
    RunPublic,
    RunQueued,
    RunsPage,
    RunSummary,
    StrataPublic,
    StratRowPublic,
)
from securitization.pool import stratify

router = APIRouter(prefix="", tags=["securitization"])


Arranger = Depends(require_role(OrgKind.bank, OrgKind.guarantor, user_roles=(UserRole.officer, UserRole.approver)))


def _pool_detail(row: AbsPool) -> PoolDetail:
    return PoolDetail(**PoolPublic.model_validate(row).model_dump(exclude={"balance_cny"}),
                      summary=crud.pool_domain(row).summary(), definition=row.definition)


@router.post("/pools", response_model=PoolDetail, status_code=status.HTTP_201_CREATED, dependencies=[Arranger])
def create_pool(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: PoolCreate, idem: IdempotencyDep
                ) -> Any:
    """Build a pool from stored loans (``loan_ids`` or ``filter`` plus credit ``assumptions``) or ``assets``.
    A retry with the same ``Idempotency-Key`` returns the first pool."""
    if (replay := idem.begin(session, org, body)) is not None:
        return replay
    row = crud.create_pool(session, user, org, body)
    session.flush()
    session.refresh(row)
    return idem.finish(session, status.HTTP_201_CREATED, _pool_detail(row))


@router.post("/pools/upload", response_model=PoolUploadResult, status_code=status.HTTP_201_CREATED,
             dependencies=[Arranger])
def upload_pool(session: SessionDep, user: CurrentUser, org: CurrentOrg,
                name: Annotated[str, Form(min_length=1, max_length=200)],
                file: Annotated[UploadFile, File(description="loan tape: CSV (UTF-8) or .xlsx")],
                idem: IdempotencyDep) -> Any:
    """Import a loan tape; valid rows make the pool, each bad row is reported with its field. The tape is
    read streaming and refused past the pool limit; ``Idempotency-Key`` honoured (request = name + file bytes)."""
    imported, digest = crud.read_loan_tape(file.filename or "", file.file)
    if (replay := idem.begin(session, org, {"name": name, "filename": file.filename, "sha256": digest})) is not None:
        return replay
    row = crud.create_pool_from_import(session, user, name, imported)
    session.flush()
    session.refresh(row)
    return idem.finish(session, status.HTTP_201_CREATED, PoolUploadResult(
        pool=PoolPublic.model_validate(row),
        errors=[ImportErrorPublic(row=e.row, field=e.field, message=e.message) for e in imported.errors]))


@router.get("/pools", response_model=PoolsPage)
def list_pools(session: SessionDep, org: CurrentOrg, offset: Annotated[int, Query(ge=0)] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> PoolsPage:
    total, rows = crud.list_pools(session, org, offset, limit)
    return PoolsPage(count=total, offset=offset, limit=limit, data=[PoolPublic.model_validate(r) for r in rows])


@router.get("/pools/{pool_id}", response_model=PoolDetail)
def read_pool(session: SessionDep, org: CurrentOrg, pool_id: int) -> PoolDetail:
    return _pool_detail(crud.get_pool(session, org, pool_id))


@router.get("/pools/{pool_id}/strata", response_model=StrataPublic)
def pool_strata(session: SessionDep, org: CurrentOrg, pool_id: int,
                by: Literal["industry", "region", "province", "ip_type", "size", "rating", "kind"] = "industry"
                ) -> StrataPublic:
    """Stratification table (分层统计) of the pool by one key; shares sum to exactly 1."""
    pool = crud.pool_domain(crud.get_pool(session, org, pool_id))
    rows = [StratRowPublic(**r.to_dict()) for r in stratify(pool, by)]
    return StrataPublic(pool_id=pool_id, by=by, rows=rows)


@router.post("/deals", response_model=DealPublic, status_code=status.HTTP_201_CREATED, dependencies=[Arranger])
def create_deal(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: DealCreate, idem: IdempotencyDep
                ) -> Any:
    """Structure a deal on a pool; a bad structure is a 422 naming the field (e.g. ``tranches``).
    ``Idempotency-Key`` honoured."""
    if (replay := idem.begin(session, org, body)) is not None:
        return replay
    row = crud.create_deal(session, user, org, body)
    session.flush()
    session.refresh(row)
    return idem.finish(session, status.HTTP_201_CREATED, DealPublic.model_validate(row))


@router.get("/deals", response_model=DealsPage)
def list_deals(session: SessionDep, org: CurrentOrg, offset: Annotated[int, Query(ge=0)] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> DealsPage:
    total, rows = crud.list_deals(session, org, offset, limit)
    return DealsPage(count=total, offset=offset, limit=limit, data=[DealPublic.model_validate(r) for r in rows])


@router.get("/deals/{deal_id}", response_model=DealPublic)
def read_deal(session: SessionDep, org: CurrentOrg, deal_id: int) -> AbsDeal:
    return crud.get_deal(session, org, deal_id)


@router.post("/deals/{deal_id}/runs", status_code=status.HTTP_201_CREATED, dependencies=[Arranger],
             responses={202: {"model": RunQueued, "description": "large Monte Carlo run queued as a job"}},
             response_model=RunPublic | RunQueued)
def create_run(session: SessionDep, user: CurrentUser, org: CurrentOrg, deal_id: int, body: RunCreate,
               response: Response, idem: IdempotencyDep) -> Any:
    """Run a deal: deterministic (cash-flow tables, waterfall, tranche analytics per scenario) or Monte Carlo
    (pool and tranche loss statistics with standard errors). Large runs (Monte Carlo paths × assets × stresses,
    or assets × scenarios for deterministic runs) return 202 with a job id whose progress is polled at
    ``/api/v1/jobs/{job_id}``. A retry with the same ``Idempotency-Key`` returns the first run (or job)."""
    row = crud.get_deal(session, org, deal_id)
    pool_row = crud.get_pool(session, org, row.pool_id)
    deal = crud.build_deal(row.structure, pool_row)
    crud.run_pricing(deal, body)  # a bad pricing request is a 422 now, not a failed job later
    if (replay := idem.lookup(session, org, body)) is not None:
        return replay
    if crud.run_is_large(deal, body):
        if (replay := idem.begin(session, org, body)) is not None:
            return replay
        # the job row is committed by submit() before this request writes, and the job writes its result onto
        # the run row only once that row is committed (``stored``), so neither waits on the other's transaction
        stored = threading.Event()
        run_ref: dict[str, int] = {}

        def work(progress: Callable[[float], None]) -> dict[str, Any]:
            result = crud.compute_run(deal, body, progress)
            if stored.wait(timeout=120):
                crud.store_run_result(run_ref["id"], result)
            return result

        job_id, _ = submit("abs_run", work, user)
        run = crud.create_run(session, user, row, body, result=None, job_id=job_id)
        session.flush()
        run_ref["id"] = run.id  # type: ignore[assignment]
        queued = idem.finish(session, status.HTTP_202_ACCEPTED, RunQueued(run_id=run_ref["id"], job_id=job_id))
        stored.set()
        response.status_code = status.HTTP_202_ACCEPTED
        return queued
    result = crud.compute_run(deal, body)  # computed before the claim: no write lock is held meanwhile
    if (replay := idem.begin(session, org, body)) is not None:
        return replay
    run = crud.create_run(session, user, row, body, result=result, job_id=None)
    session.flush()
    session.refresh(run)
    return idem.finish(session, status.HTTP_201_CREATED, RunPublic.model_validate(run))


@router.get("/deals/{deal_id}/runs", response_model=RunsPage)
def list_runs(session: SessionDep, org: CurrentOrg, deal_id: int, offset: Annotated[int, Query(ge=0)] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> RunsPage:
    """The deal's runs, oldest first, without their result tables (status of queued runs from their job)."""
    total, rows = crud.list_runs(session, org, deal_id, offset, limit)
    data = []
    for r in rows:
        item = RunSummary.model_validate(r)
        if r.job_id:
            job = session.get(Job, r.job_id)
            if job is not None:
                item.status = str(job.status)
        data.append(item)
    return RunsPage(count=total, offset=offset, limit=limit, data=data)


@router.get("/deals/{deal_id}/runs/{run_id}", response_model=RunPublic)
def read_run(session: SessionDep, org: CurrentOrg, deal_id: int, run_id: int) -> RunPublic:
    """A run; for a queued run the result and status come from its job once it has finished."""
    run: AbsRun = crud.get_run(session, org, deal_id, run_id)
    out = RunPublic.model_validate(run)
    if run.job_id:
        job = session.get(Job, run.job_id)
        if job is not None:
            out.status = str(job.status)
            out.result = job.result
    return out
