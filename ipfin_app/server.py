"""The ASGI application ``ipfin serve`` runs: the API (``api.main``) with the Dash dashboard
mounted at /dashboard/."""

from __future__ import annotations

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from api.main import create_app as create_api
from dashboard.app import create_dash


def create_app(*, migrate: bool = True, mount_dashboard: bool = True) -> FastAPI:
    """The API, and unless ``mount_dashboard`` is false, the dashboard under /dashboard/."""
    app = create_api(migrate=migrate)
    if mount_dashboard:

        @app.get("/dashboard", include_in_schema=False)
        def dashboard_slash() -> RedirectResponse:
            return RedirectResponse("/dashboard/")

        app.mount("/dashboard", WSGIMiddleware(create_dash().server))  # type: ignore[arg-type]
    return app


def create_served_app() -> FastAPI:
    """The app each worker of ``ipfin serve --workers N`` builds (migrations already applied)."""
    return create_app(migrate=False)
