"""Login page: a plain HTML form posting to ``/api/v1/auth/session`` (sets the HttpOnly cookie)."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from dashboard.data import current_lang
from dashboard.i18n import t

dash.register_page(__name__, path="/login", name="登录", title="知识产权金融监测 · 登录")

FIELD = {"display": "block", "width": "280px", "padding": "6px", "marginBottom": "10px"}


def layout(error: str | None = None, next: str | None = None, **_: Any) -> html.Div:
    lang = current_lang()
    target = next if next and next.startswith("/dashboard/") else "/dashboard/"
    return html.Div(
        [
            html.H2(t("login", lang), className="page-title"),
            html.Div(t("login_failed", lang), id="login-error", style={"color": "#b00020", "marginBottom": "8px"})
            if error
            else None,
            html.Form(
                [
                    html.Label(t("email", lang), htmlFor="login-username"),
                    dcc.Input(id="login-username", name="username", type="email", required=True, style=FIELD,
                              autoComplete="username"),
                    html.Label(t("password", lang), htmlFor="login-password"),
                    dcc.Input(id="login-password", name="password", type="password", required=True, style=FIELD,
                              autoComplete="current-password"),
                    dcc.Input(id="login-next", name="next", type="hidden", value=target),
                    html.Button(t("login", lang), id="login-submit", type="submit", className="btn"),
                ],
                action="/api/v1/auth/session",
                method="POST",
                id="login-form",
            ),
        ],
        id="login-page", className="panel",
        style={"maxWidth": "340px", "margin": "48px auto", "padding": "20px 28px"},
    )
