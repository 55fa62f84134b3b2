"""API documentation pages that work offline: Swagger UI at /docs and ReDoc at /redoc.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a machine without internet
/docs is blank. Here the same pages load their scripts, styles and icon from the installed
``fastapi-offline`` package (MIT; it ships swagger-ui-bundle.js, swagger-ui.css and
redoc.standalone.js), mounted under ``/docs/static``. ``/openapi.json`` redirects to the
versioned spec so the usual address works too.

Call :func:`install_offline_docs` once on the app; it replaces FastAPI's CDN pages if the app
was built with them (``docs_url``/``redoc_url`` left at their defaults).

:func:`install_request_examples` puts an example body (:mod:`api.core.examples`) into every request
body of the document, so "Try it out" starts from a realistic request; the domains' schemas stay as
they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Route

from api.core.examples import operation_examples, schema_examples

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
STATIC_URL = "/docs/static"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def assets_dir() -> Path:
    """The folder of the installed Swagger UI / ReDoc assets (raises if the package is missing)."""
    path = Path(str(files("fastapi_offline") / "static"))
    missing = [a for a in ASSETS if not (path / a).is_file()]
    if missing:
        raise RuntimeError(f"fastapi-offline is installed without {', '.join(missing)} in {path}")
    return path


def _is_cdn_page(route: BaseRoute, app: FastAPI) -> bool:
    paths = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    return isinstance(route, Route) and route.path in paths


def install_offline_docs(app: FastAPI) -> None:
    """Serve /docs (Swagger UI), /redoc and their assets from this machine; /openapi.json → the spec."""
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    app.router.routes[:] = [r for r in app.router.routes if not _is_cdn_page(r, app)]
    app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url = DOCS_URL, REDOC_URL, oauth2_url
    app.mount(STATIC_URL, StaticFiles(directory=assets_dir()), name="docs-static")

    def _root(request: Request) -> str:
        return str(request.scope.get("root_path", ""))

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — Swagger UI",
            oauth2_redirect_url=f"{root}{oauth2_url}",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(oauth2_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )

    if openapi_url != "/openapi.json":

        @app.get("/openapi.json", include_in_schema=False)
        def openapi_alias() -> RedirectResponse:
            return RedirectResponse(openapi_url)


# ------------------------------------------------------------------ request examples

JsonDict = dict[str, Any]
REF = "#/components/schemas/"


def request_schema_name(schema: JsonDict) -> str | None:
    """The component a request body refers to (also through ``X | None``), without pydantic's ``-Input``."""
    refs = [schema.get("$ref", "")] + [s.get("$ref", "") for s in schema.get("anyOf", [])]
    names = [r.removeprefix(REF) for r in refs if r.startswith(REF)]
    return names[0].removesuffix("-Input") if len(names) == 1 else None


def add_request_examples(spec: JsonDict, by_schema: dict[str, JsonDict], by_operation: dict[str, JsonDict],
                         prefix: str = "") -> list[str]:
    """Set ``examples`` on every request body media type that has one in the registries (operation first).

    Returns the operations (``"POST /api/v1/x"``) left without an example; file uploads
    (``multipart/form-data``) are not examples' business and are not listed.
    """
    missing = []
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            for media_type, media in op.get("requestBody", {}).get("content", {}).items():
                key = f"{method.upper()} {path.removeprefix(prefix)}"
                name = request_schema_name(media.get("schema", {}))
                example = by_operation.get(key) or (by_schema.get(name) if name else None)
                if example is not None:
                    media["examples"] = {"example": {"summary": name or key, "value": example}}
                elif media_type != "multipart/form-data":
                    missing.append(f"{method.upper()} {path}")
    return missing


def install_request_examples(app: FastAPI, prefix: str = "", today: Callable[[], date] = date.today) -> None:
    """Wrap ``app.openapi`` so the document carries the example requests, dated from the day it is built."""
    build = app.openapi

    def openapi() -> JsonDict:
        if app.openapi_schema:
            return app.openapi_schema
        spec = build()
        day = today()
        add_request_examples(spec, schema_examples(day), operation_examples(day), prefix)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
