"""Valuation API: run and store a valuation, read it, render its report.

``POST /valuations`` validates the request (422 naming the field), runs the pure
``valuation.engine.value_asset`` in FastAPI's thread pool (sync route: never on the event loop)
and stores it; runs with more than ``SYNC_MAX_PATHS`` Monte Carlo paths are queued as a
background job (202 with the job id; progress via ``GET /jobs/{id}``) whose Monte Carlo chunks run
on the Dask scheduler ``IPFIN_DASK_SCHEDULER`` when configured (same seed, same answer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from api.core.config import get_settings
from api.core.db import get_engine
from api.core.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.core.errors import Conflict
from api.core.routes import PLOTLY_JS_ROUTE
from api.identity.models import OrgKind, UserRole
from api.jobs.service import submit
from api.valuation import service as crud
from api.valuation.models import Valuation, ValuationStatus
from api.valuation.schemas import ValuationCreate, ValuationPublic, ValuationQueued, ValuationsPage
from valuation.report import to_html, to_json_dict
from valuation.result import ValuationResult

router = APIRouter(prefix="/valuations", tags=["valuations"])


Valuer = Depends(require_role(OrgKind.bank, OrgKind.guarantor, user_roles=(UserRole.officer, UserRole.approver)))


def _public(row: Valuation, *, with_result: bool = True) -> ValuationPublic:
    out = ValuationPublic.model_validate(row)
    return out if with_result else out.model_copy(update={"result": None, "request": None})


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Valuer],
             responses={202: {"model": ValuationQueued, "description": "large Monte Carlo run queued as a job"}},
             response_model=ValuationPublic | ValuationQueued)
def create_valuation(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: ValuationCreate,
                     response: Response) -> Any:
    """Value an IP asset by income (with Monte Carlo), market, cost and real-option approaches and
    store the result (money in integer fen). Runs above the path limit return 202 with a job id."""
    crud.check_asset_link(session, org, body)
    req = crud.domain_request(body)
    if req.monte_carlo.enabled and req.monte_carlo.paths > crud.SYNC_MAX_PATHS:
        crud.preflight(req)
        row = crud.create_valuation(session, user, body, result=None)
        session.commit()
        valuation_id = int(row.id)  # type: ignore[arg-type]
        engine = get_engine()
        dask_address = get_settings().dask_scheduler
        actor = crud.JobActor(int(user.id), int(user.organisation_id))  # type: ignore[arg-type]

        def work(progress: Callable[[float], None]) -> dict[str, Any]:
            progress(0.05)
            return crud.complete_valuation(engine, valuation_id, actor, req, progress, dask_address)

        job_id, _ = submit("valuation", work, user)
        row.job_id = job_id
        session.add(row)
        session.commit()
        response.status_code = status.HTTP_202_ACCEPTED
        return ValuationQueued(valuation_id=valuation_id, job_id=job_id)
    result = crud.run(req)
    row = crud.create_valuation(session, user, body, result=result)
    session.commit()
    session.refresh(row)
    return _public(row)


@router.get("", response_model=ValuationsPage)
def list_valuations(session: SessionDep, org: CurrentOrg, ip_asset_id: int | None = None,
                    offset: Annotated[int, Query(ge=0)] = 0,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ValuationsPage:
    """The organisation's valuations (without the full result), oldest first."""
    total, rows = crud.list_valuations(session, org, ip_asset_id=ip_asset_id, offset=offset, limit=limit)
    return ValuationsPage(count=total, offset=offset, limit=limit, data=[_public(r, with_result=False) for r in rows])


@router.get("/{valuation_id}", response_model=ValuationPublic)
def read_valuation(session: SessionDep, org: CurrentOrg, valuation_id: int) -> ValuationPublic:
    """A stored valuation with its inputs and full result (``result`` is null while queued)."""
    return _public(crud.get_valuation(session, org, valuation_id))


@router.get("/{valuation_id}/report", response_model=None, responses={200: {"content": {"text/html": {}, "application/json": {}}}})  # noqa: E501
def valuation_report(session: SessionDep, org: CurrentOrg, valuation_id: int,
                     format: Literal["html", "json"] = "html",
                     lang: Literal["bilingual", "zh-CN", "en"] = "bilingual") -> Response:
    """The valuation report: print-ready bilingual HTML with charts, or the JSON result."""
    row = crud.get_valuation(session, org, valuation_id)
    if row.status != ValuationStatus.succeeded or row.result is None:
        raise Conflict(f"valuation {valuation_id} is {row.status}: the report exists once it has succeeded")
    result = ValuationResult.model_validate(row.result)
    if format == "json":
        return JSONResponse(to_json_dict(result))
    return HTMLResponse(to_html(result, lang, plotly_js=get_settings().api_v1_str + PLOTLY_JS_ROUTE))
