"""The Dash application, mounted under /dashboard/ in the API's ASGI server.

Behind the API's login: the session is the HttpOnly ``ipfin_session`` cookie set by
``POST /api/v1/auth/session`` (the login page posts a plain HTML form there). A visitor
without a valid session who opens a page is redirected to ``/dashboard/login``; every
page layout and data callback looks the viewer up again from the cookie, so the browser
never decides what it may see. The language (zh-CN / en) is a cookie set by
``/dashboard/lang/<zh|en>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import dash
import flask
from dash import Dash, Input, Output, dcc, html
from werkzeug.wrappers import Response as WerkzeugResponse

from dashboard import data
from dashboard.i18n import LANG_COOKIE, LANGS, t

PAGES_DIR = Path(__file__).resolve().parent / "pages"

# paths (inside the mount) reachable without a session: Dash's own machinery and the login page
_PUBLIC_PREFIXES = (
    "/_dash-component-suites/", "/_dash-layout", "/_dash-dependencies", "/_dash-update-component",
    "/_reload-hash", "/_favicon", "/assets/", "/login", "/lang/", "/_alive",
)
_NAV = (("overview", "/"), ("bank", "/bank"), ("guarantor", "/guarantor"), ("programme", "/programme"),
        ("abs", "/abs"), ("transactions", "/transactions"))


def login_url(prefix: str, next_path: str | None = None) -> str:
    url = f"{prefix}login"
    return f"{url}?next={quote(next_path, safe='/')}" if next_path else url


def _header(prefix: str) -> html.Header:
    viewer = data.current_viewer()
    lang = data.current_lang()
    nav: list[Any] = []
    if viewer is not None:
        nav = [
            dcc.Link(t(key, lang), href=f"{prefix}{path.lstrip('/')}", id=f"nav-{key}")
            for key, path in _NAV
            if viewer.may_see(key)
        ]
    langs = [
        html.A(
            "中文" if code == "zh" else "English",
            href=f"{prefix}lang/{code}",
            id=f"lang-{code}", lang="zh-CN" if code == "zh" else "en",
            style={"fontWeight": "700" if code == lang else "400"},
        )
        for code in LANGS
    ]
    user: list[Any] = []
    if viewer is not None:
        user = [
            html.Span(f"{viewer.email} · {viewer.org.name}", id="signed-in-as", className="user-text"),
            html.Form(
                html.Button(t("logout", lang), type="submit", id="logout-button"),
                action="/api/v1/auth/logout", method="POST", style={"display": "inline"},
            ),
        ]
    return html.Header(
        [
            html.H1(t("app_title", lang)),
            html.Nav(nav),
            html.Div(langs, id="lang-switch"),
            html.Div(user, className="user"),
        ],
        className="app-header",
    )


def create_dash(requests_prefix: str = "/dashboard/") -> Dash:
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PAGES_DIR),
        requests_pathname_prefix=requests_prefix,
        routes_pathname_prefix="/",
        title="ipfin",
        suppress_callback_exceptions=True,
        update_title="",
    )

    def layout() -> html.Div:
        return html.Div(
            [
                dcc.Location(id="app-url"),
                _header(requests_prefix),
                html.Main(dash.page_container),
            ]
        )

    app.layout = layout
    # the language links return to the page being viewed (client-side: pages change without reloads)
    app.clientside_callback(
        f"""function(pathname, search) {{
            const next = encodeURIComponent((pathname || "{requests_prefix}") + (search || ""));
            return ["{requests_prefix}lang/zh?next=" + next, "{requests_prefix}lang/en?next=" + next];
        }}""",
        Output("lang-zh", "href"),
        Output("lang-en", "href"),
        Input("app-url", "pathname"),
        Input("app-url", "search"),
    )
    server: flask.Flask = app.server

    @server.before_request
    def _require_login() -> WerkzeugResponse | None:
        """Pages need a session; Dash's own endpoints check the viewer in each callback instead."""
        path = flask.request.path
        if flask.request.method != "GET" or path.startswith(_PUBLIC_PREFIXES):
            return None
        if data.current_viewer() is None:
            return flask.redirect(login_url(requests_prefix, requests_prefix + path.lstrip("/")), code=302)
        return None

    @server.after_request
    def _no_store(resp: flask.Response) -> flask.Response:
        """Figures are per user: never cache callback responses or pages in shared caches."""
        if flask.request.path.startswith(("/_dash-update-component", "/_dash-layout")) or resp.mimetype == "text/html":
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @server.route("/lang/<code>")
    def _set_lang(code: str) -> WerkzeugResponse:
        target = flask.request.args.get("next") or requests_prefix
        if "://" in target:  # only same-site targets
            from urllib.parse import urlsplit

            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        if not target.startswith(requests_prefix):
            target = requests_prefix
        resp = flask.redirect(target, code=302)
        if code in LANGS:
            resp.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", path="/")
        return resp

    return app
