"""Health check and the static assets ipfin serves itself."""

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.core.db import database_kind, schema_revisions
from api.core.deps import SessionDep
from api.core.schemas import Health
from ipfin import __version__
from valuation.report import plotly_js_path

health_router = APIRouter(tags=["health"])


@health_router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    """Liveness and what the server runs on: database kind, schema revision, version."""
    return Health(
        status="ok",
        database=database_kind(session.get_bind()),  # type: ignore[arg-type]
        schema_revision=",".join(schema_revisions(session.get_bind())) or "none",  # type: ignore[arg-type]
        version=__version__,
    )


static_router = APIRouter(prefix="/static", tags=["static"], include_in_schema=False)


PLOTLY_JS_ROUTE = "/static/plotly.min.js"


@static_router.get("/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})
