"""The API docs work on a machine without internet (issue 15): /docs and /redoc load every script,
style and icon from this server, the spec is also at /openapi.json, and Swagger UI renders every
route in headless Chromium whose network reaches nothing but 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.core.docs import install_offline_docs
from tests.live_server import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
EXTERNAL = re.compile(r"""(?:src|href)=["']?(https?:)?//""", re.IGNORECASE)
SERVER_SCRIPT = """
import sys, uvicorn
from api.main import create_app
uvicorn.run(create_app(migrate=True), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _assets(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']?([^"' >]+)""", html) + re.findall(r"""url: ?'([^']+)'""", html)


def test_install_offline_docs_replaces_the_cdn_pages_of_any_app() -> None:
    app = FastAPI(title="t", openapi_url="/api/v1/openapi.json")  # FastAPI's default /docs loads from a CDN
    install_offline_docs(app)
    client = TestClient(app)
    for page in ("/docs", "/redoc"):
        r = client.get(page)
        assert r.status_code == 200 and not EXTERNAL.search(r.text), r.text
        assert sum(1 for route in app.routes if getattr(route, "path", None) == page) == 1
    assert client.get("/openapi.json", follow_redirects=False).headers["location"] == "/api/v1/openapi.json"


@pytest.mark.db
def test_the_api_serves_its_docs_and_their_assets_itself(client: TestClient) -> None:
    html = client.get("/docs").text
    assert not EXTERNAL.search(html), "the docs page loads something from another host"
    for asset in (a for a in _assets(html) if a.startswith("/docs/static/")):
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 1000, asset
    assert {"/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"} <= set(_assets(html))
    redoc = client.get("/redoc").text
    assert "/docs/static/redoc.standalone.js" in redoc and not EXTERNAL.search(redoc)
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "ipfin API"


# ------------------------------------------------------------------ headless Chromium, network off

@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = "headless Chromium needs /usr/bin/chromium and /usr/bin/chromedriver"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: missing in CI")
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("docs")
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("IPFIN_")},
           "IPFIN_DATABASE_URL": f"sqlite:///{tmp / 'ipfin.db'}", "IPFIN_SECRET_KEY": "docs-test-secret-key-0123456789"}
    with serving([sys.executable, "-c", SERVER_SCRIPT, str(port)], port=port, cwd=Path(__file__).parents[2],
                 env=env, log=tmp / "server.log", start_s=90, stop_s=10) as base:
        yield base


@pytest.mark.browser
@pytest.mark.filterwarnings("ignore::DeprecationWarning:selenium.*")
def test_swagger_ui_renders_every_route_with_the_network_disabled(live_server: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                # no network but the loopback: every name resolves nowhere, every other address via a dead proxy
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"):
        opts.add_argument(arg)
    opts.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='ipfin-docs-')}")
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    opts.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        driver.set_page_load_timeout(30)
        driver.get(f"{live_server}/docs")
        deadline = time.monotonic() + 30
        count = 0
        while time.monotonic() < deadline:
            count = driver.execute_script("return document.querySelectorAll('.swagger-ui .opblock').length")
            if count:
                break
            time.sleep(0.3)
        title = driver.execute_script("return document.querySelector('.swagger-ui .info .title')?.textContent")
        spec = json.loads(urllib.request.urlopen(f"{live_server}/api/v1/openapi.json").read())
        operations = sum(len([m for m in ops if m in {"get", "post", "put", "patch", "delete"}])
                         for ops in spec["paths"].values())
        assert title and "ipfin API" in title, "Swagger UI did not render"
        assert count == operations, f"{count} of {operations} operations shown"
        requested: set[str] = set()
        for entry in driver.get_log("performance"):
            message: dict[str, Any] = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                requested.add(message["params"]["request"]["url"])
        web = {u for u in requested if u.startswith(("http:", "https:", "ws:", "wss:"))}  # not chrome:// internals
        assert f"{live_server}/docs/static/swagger-ui-bundle.js" in web
        assert all(u.startswith(live_server) for u in web), sorted(web)
    finally:
        driver.quit()


@pytest.mark.db
def test_every_request_body_has_an_example(client: TestClient) -> None:
    """Issue 15: the docs show an example request for every route that takes a body (a CSV/Excel upload,
    ``multipart/form-data``, shows a file chooser instead)."""
    spec = client.get("/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    missing = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for media_type, media in op.get("requestBody", {}).get("content", {}).items():
                if media_type == "multipart/form-data":
                    continue
                ref = media.get("schema", {}).get("$ref", "")
                named = schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
                if not (media.get("example") or media.get("examples") or named.get("examples")):
                    missing.append(f"{method.upper()} {path}")
    assert not missing, f"{len(missing)} request bodies without an example:\n" + "\n".join(missing)
