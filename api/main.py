"""The ASGI application: API under /api/v1, OpenAPI docs at /docs, Dash dashboard at /dashboard/."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import IntegrityError

from api.core.config import get_settings
from api.core.db import get_engine, upgrade
from api.crud import Conflict, NotFound
from api.routes import api_router
from ipfin import __version__

log = logging.getLogger("ipfin")


def create_app(*, migrate: bool = True, mount_dashboard: bool = True) -> FastAPI:
    """Build the app. ``migrate`` applies Alembic migrations at start-up."""
    settings = get_settings()
    settings.check_secret()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade(get_engine())
        yield

    app = FastAPI(
        title="ipfin API",
        version=__version__,
        description="IP finance: valuation, pledge loans, risk-sharing, securitisation.",
        openapi_url=f"{settings.api_v1_str}/openapi.json",
        lifespan=lifespan,
    )
    app.include_router(api_router, prefix=settings.api_v1_str)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error: %s", exc.orig)
        return JSONResponse(
            {"detail": "conflicts with an existing record (duplicate or missing reference)"},
            status_code=status.HTTP_409_CONFLICT,
        )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    if mount_dashboard:
        from dashboard.app import create_dash

        @app.get("/dashboard", include_in_schema=False)
        def dashboard_slash() -> RedirectResponse:
            return RedirectResponse("/dashboard/")

        app.mount("/dashboard", WSGIMiddleware(create_dash().server))  # type: ignore[arg-type]
    return app
