"""The harness of the headless-Chromium tests (``test_browser*.py``): the real server (uvicorn on a
migrated SQLite file with 3,000 demo loans, on a free loopback port) and Chromium driven by
chromedriver, plus the helpers every page test uses (log in through the login page, wait, read a KPI,
pick a dropdown option, look for English words on a Chinese page, call the API as a demo user).

The ``server`` and ``browser`` fixtures (``tests/dashboard/conftest.py``) call :func:`running_server`
and :func:`chromium` once per test module; a module sets its window with ``WINDOW_SIZE``.
Screenshots go to ``tests/artifacts/`` (git-ignored, kept by CI).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "ipfin-demo-2026"  # api.demo.DEMO_PASSWORD
WINDOW_SIZE = "1400,2400"
"""Chromium's window (width,height in CSS pixels) unless the test module sets its own ``WINDOW_SIZE``."""
SERVER_START_S = 120
"""How long the server may take to migrate, seed 3,000 demo loans and answer (seconds)."""
# English words allowed on a Chinese page: file-format names that Chinese software shows as they are.
# Everything else in English is a defect, except user data (names, identifiers: class "user-text") and
# the language switch's own "English" (lang="en").
ALLOWED_ASCII_WORDS = {"CSV", "Excel"}
_VISIBLE_TEXT_JS = """
const texts = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const el = walker.currentNode.parentElement;
  if (!el || el.closest('.user-text, [lang="en"], script, style, .modebar-container')) continue;
  const cs = getComputedStyle(el);
  if (cs.display === 'none' || cs.visibility === 'hidden') continue;
  if (!el.closest('svg') && el.offsetParent === null && cs.position !== 'fixed') continue;
  texts.push(walker.currentNode.textContent);
}
return texts.join('\\n');
"""
_OPEN_DETAILS_JS = "document.querySelectorAll('details').forEach(d => d.open = true);"
SERVER_SCRIPT = """
import sys, uvicorn
from api.core.db import get_engine, upgrade
from api.demo import generate
from ipfin_app.server import create_app
upgrade(get_engine())
generate(get_engine(), 3000)
uvicorn.run(create_app(migrate=False), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def require_chromium() -> None:
    """Skip without Chromium and chromedriver; in CI their absence is a failure."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    reason = f"headless Chromium needs {CHROMIUM} and {CHROMEDRIVER} (Debian packages chromium, chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: missing in CI")
    pytest.skip(reason)


def wait(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``predicate`` every 0.2 s until it is truthy (its value is returned) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # element not there yet, stale, JS not ready
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last})" if last else ""))


@contextmanager
def running_server(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    """The real server on a fresh SQLite file (in a temporary directory called ``name``) with 3,000 demo
    loans; yields its base URL and stops it afterwards."""
    require_chromium()
    db = tmp_path_factory.mktemp(name) / "ipfin.db"
    port = free_port()
    env = {**os.environ, "IPFIN_DATABASE_URL": f"sqlite:///{db}",
           "IPFIN_SECRET_KEY": "browser-test-secret-key-0123456789", "IPFIN_DEMO_MODE": "false"}
    root = Path(__file__).resolve().parents[2]
    log = tmp_path_factory.mktemp(f"{name}-log") / "server.log"
    with serving([sys.executable, "-c", SERVER_SCRIPT, str(port)], port=port, cwd=root,
                 env=env, log=log, start_s=SERVER_START_S, stop_s=10) as base:
        yield base


@contextmanager
def chromium(window_size: str = WINDOW_SIZE) -> Iterator[Any]:
    """Headless Chromium (a fresh profile) through chromedriver; quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--window-size={window_size}"):
        opts.add_argument(arg)
    opts.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='ipfin-chromium-')}")
    opts.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.implicitly_wait(10)  # Dash renders client-side: let find_element wait for it
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(120)  # a busy renderer (Plotly drawing maps) must not fail a one-line script
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


# ------------------------------------------------------------------ the API as a demo user

_TOKENS: dict[tuple[str, str], str] = {}


def token(base: str, user: str) -> str:
    """A bearer token from the password flow (one per user and server: argon2 is slow on purpose)."""
    if (base, user) not in _TOKENS:
        form = urllib.parse.urlencode({"username": user, "password": PASSWORD}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/auth/token", data=form), timeout=10) as r:
            _TOKENS[(base, user)] = str(json.load(r)["access_token"])
    return _TOKENS[(base, user)]


def api_get(base: str, user: str, path: str, *, timeout: float = 30, **params: Any) -> Any:
    """The API's answer for ``user`` (bearer token from the password flow)."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    headers = {"Authorization": f"Bearer {token(base, user)}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1{path}?{query}", headers=headers),
                                timeout=timeout) as r:
        return json.load(r)


def api_post(base: str, user: str, path: str, body: dict[str, Any], *, timeout: float = 60) -> Any:
    headers = {"Authorization": f"Bearer {token(base, user)}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"{base}/api/v1{path}", data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


# ------------------------------------------------------------------ the page


def login(driver: Any, base: str, user: str, lang: str = "zh", *, timeout: float = 60.0) -> None:
    """Sign in through the login page in ``lang`` (the language switch first, a fresh session); each
    wait for the page at most ``timeout`` seconds."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/dashboard/lang/{lang}")
    driver.get(f"{base}/dashboard/login")
    wait(lambda: driver.find_element(By.ID, "login-username"), timeout, what="the login form")
    driver.find_element(By.ID, "login-username").send_keys(user)
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait(lambda: driver.find_element(By.ID, "signed-in-as"), timeout, what="the signed-in header")


def english_words(driver: Any, *, open_details: bool = False) -> list[str]:
    """ASCII words of 3+ letters in the page's visible text (plotly SVG text included), minus the
    allow-list. ``open_details``: read the folded ``<details>`` too, then fold them again (as a user sees it)."""
    text = driver.execute_script((_OPEN_DETAILS_JS if open_details else "") + _VISIBLE_TEXT_JS)
    if open_details:
        driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = false)")
    return sorted({w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in ALLOWED_ASCII_WORDS})


def kpi(driver: Any, card_id: str) -> str:
    """A KPI card's exact value (its ``data-value``: fen, counts)."""
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, card_id).get_attribute("data-value"))


def choose(driver: Any, dropdown_id: str, value: str, *, script_click: bool = False, timeout: float = 60.0) -> None:
    """Pick an option of a Dash 4 dropdown by its value: a WebDriver click on the option, or with
    ``script_click`` the option's ``click()`` run in the page."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, dropdown_id).click()
    option = wait(lambda: driver.find_element(By.CSS_SELECTOR, f"[role=option] input[value='{value}']"),
                  timeout, what=f"option {value} of {dropdown_id}")
    if script_click:
        driver.execute_script("arguments[0].closest('[role=option]').click()", option)
    else:
        option.find_element(By.XPATH, "./ancestor::*[@role='option']").click()
