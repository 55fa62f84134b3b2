"""Landing page: what the dashboard will show, and where the API lives."""

import dash
from dash import html

dash.register_page(__name__, path="/", name="Overview 总览")

layout = html.Div(
    [
        html.H2("IP pledge financing 知识产权质押融资"),
        html.P(
            "Bureau, bank, guarantor and ABS pages are built on this server as their domains land. "
            "Until then no figures are shown here rather than placeholder numbers."
        ),
        html.P(
            [
                "API documentation: ",
                html.A("/docs", href="/docs"),
                " · health: ",
                html.A("/api/v1/health", href="/api/v1/health"),
            ]
        ),
    ],
    id="home-page",
)
