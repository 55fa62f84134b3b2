from fastapi import APIRouter

from api.core.db import database_kind, schema_revisions
from api.deps import SessionDep
from api.models.core import Health
from ipfin import __version__

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    """Liveness and what the server runs on: database kind, schema revision, version."""
    return Health(
        status="ok",
        database=database_kind(session.get_bind()),  # type: ignore[arg-type]
        schema_revision=",".join(schema_revisions(session.get_bind())) or "none",  # type: ignore[arg-type]
        version=__version__,
    )
