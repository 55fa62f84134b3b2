"""The API application: routes under /api/v1, OpenAPI docs at /docs, one handler per error kind.

Every error body follows :class:`api.core.errors.ErrorResponse`; the transport guards (size limits,
refused characters, security headers) sit in front of everything (:mod:`api.core.middleware`).
The dashboard is mounted beside it by :mod:`ipfin_app.server`, which sits above both."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from api.core.config import get_settings
from api.core.db import get_engine, upgrade
from api.core.docs import install_offline_docs, install_request_examples
from api.core.errors import Conflict, FieldError, NotFound, field_error
from api.core.middleware import TransportGuard
from api.router import api_router
from ipfin import __version__

log = logging.getLogger("ipfin")


def _json_safe(v: Any) -> Any:
    """A value that always renders as UTF-8 JSON: NaN/infinity as text, lone surrogates escaped."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, str):
        return v.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(v, dict):
        return {_json_safe(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_safe(x) for x in v]
    return v


_ERROR_KEYS = ("loc", "msg", "type", "ctx")  # the submitted "input" is not echoed (it may be a password)


_LOCK_ERRORS = ("database is locked", "database table is locked", "lock timeout", "could not obtain lock",
                "deadlock detected")


def _is_lock_error(exc: OperationalError) -> bool:
    """A wait for a lock that gave up (retryable), as opposed to a broken database."""
    text = str(exc.orig).lower()
    return any(m in text for m in _LOCK_ERRORS)


def _int64_overflow(request: Request) -> list[str | int]:
    """The location of the first path or query parameter that is an integer beyond 64 bits."""
    for where, values in (("path", request.path_params.items()), ("query", request.query_params.multi_items())):
        for name, value in values:
            text = str(value).lstrip("+-")
            if text.isascii() and text.isdigit() and int(text) > 2**63 - 1:
                return [where, name]
    return ["body"]


def create_app(*, migrate: bool = True) -> FastAPI:
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
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    install_offline_docs(app)  # Swagger UI and ReDoc from an installed package: /docs works offline
    install_request_examples(app, settings.api_v1_str)  # an example body for every request (issue 15)
    app.include_router(api_router, prefix=settings.api_v1_str)
    app.add_middleware(TransportGuard)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(FieldError)
    async def _field_error(_: Request, exc: FieldError) -> JSONResponse:
        loc = ["body", *exc.field.split(".")]
        return JSONResponse({"detail": [{"loc": loc, "msg": str(exc), "type": "value_error"}]}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming the field; NaN, infinity or a lone surrogate in the error is rendered as text, not a 500."""
        errors = [{k: e[k] for k in _ERROR_KEYS if k in e} for e in exc.errors()]
        return JSONResponse({"detail": _json_safe(jsonable_encoder(errors))}, status_code=422)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        """A number too large for its column (e.g. an id above 2^63) is bad input, not a server fault."""
        log.info("value out of range: %s", exc)
        loc = _int64_overflow(request)
        return JSONResponse({"detail": [field_error(loc, "a number is out of range", "out_of_range")]}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error: %s", exc.orig)
        return JSONResponse(
            {"detail": "conflicts with an existing record (duplicate or missing reference)"},
            status_code=status.HTTP_409_CONFLICT,
        )

    @app.exception_handler(OperationalError)
    async def _busy(_: Request, exc: OperationalError) -> JSONResponse:
        """The database is busy (SQLite write lock past the busy timeout, a PostgreSQL lock timeout or
        deadlock): 503 with Retry-After, the transaction rolled back, nothing half-written. Any other
        operational error is a server fault and stays a 500."""
        if not _is_lock_error(exc):
            raise exc
        log.warning("database busy: %s", exc.orig)
        return JSONResponse({"detail": "the database is busy; nothing was written, retry shortly"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "1"})

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    return app
