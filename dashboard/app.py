"""The Dash application, mounted under /dashboard/ in the API's ASGI server."""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Dash, html

PAGES_DIR = Path(__file__).resolve().parent / "pages"


def create_dash(requests_prefix: str = "/dashboard/") -> Dash:
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PAGES_DIR),
        requests_pathname_prefix=requests_prefix,
        routes_pathname_prefix="/",
        title="ipfin",
        suppress_callback_exceptions=True,
    )
    app.layout = html.Div(
        [
            html.Header(
                [
                    html.H1("ipfin", style={"margin": "0", "fontSize": "22px"}),
                    html.Nav(
                        [
                            dash.dcc.Link(page["name"], href=page["relative_path"], style={"marginRight": "16px"})
                            for page in dash.page_registry.values()
                        ]
                    ),
                ],
                style={
                    "display": "flex",
                    "gap": "24px",
                    "alignItems": "center",
                    "padding": "12px 24px",
                    "borderBottom": "1px solid #ddd",
                    "fontFamily": "sans-serif",
                },
            ),
            html.Main(dash.page_container, style={"padding": "24px", "fontFamily": "sans-serif"}),
        ]
    )
    return app
