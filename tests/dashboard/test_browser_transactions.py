"""End-to-end: the IP transactions page (知识产权交易) in headless Chromium on the real server with 3,000 demo loans.

The national bureau opens the page in Chinese: the count and value, the six pricing methods, five trading
modes, their cross table, the IP types and the years equal ``GET /api/v1/ip-transactions/reports/volumes``
for the same period (and, after picking Zhejiang, for that province); no English word shows. The Chongqing
bureau sees Chongqing only; a bank may not open the page. The Chinese page is saved to
``tests/artifacts/transactions_zh.png``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning:selenium.*")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "ipfin-demo-2026"  # api.demo.DEMO_PASSWORD
BUREAU = "bureau@ipfin.demo"
ALLOWED_ASCII_WORDS = {"CSV", "Excel"}
VISIBLE_TEXT_JS = """
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
SERVER_SCRIPT = """
import sys, uvicorn
from api.core.db import get_engine, upgrade
from api.demo import generate
from ipfin_app.server import create_app
upgrade(get_engine())
generate(get_engine(), 3000)
uvicorn.run(create_app(migrate=False), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _require_chromium() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    reason = f"headless Chromium needs {CHROMIUM} and {CHROMEDRIVER} (Debian packages chromium, chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: missing in CI")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate: Callable[[], Any], timeout: float = 90.0, what: str = "condition") -> Any:
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_chromium()
    db = tmp_path_factory.mktemp("browser-transactions") / "ipfin.db"
    port = _free_port()
    env = {**os.environ, "IPFIN_DATABASE_URL": f"sqlite:///{db}",
           "IPFIN_SECRET_KEY": "browser-test-secret-key-0123456789", "IPFIN_DEMO_MODE": "false"}
    root = Path(__file__).resolve().parents[2]
    log = tmp_path_factory.mktemp("browser-transactions-log") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(port)], cwd=root, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer within 120 s: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,2600"):
        opts.add_argument(arg)
    opts.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='ipfin-chromium-')}")
    opts.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.implicitly_wait(10)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(120)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def api_get(base: str, user: str, path: str, **params: Any) -> Any:
    form = urllib.parse.urlencode({"username": user, "password": PASSWORD}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/auth/token", data=form), timeout=10) as r:
        token = str(json.load(r)["access_token"])
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    req = urllib.request.Request(f"{base}/api/v1{path}?{query}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def login(driver: Any, base: str, user: str, lang: str = "zh") -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/dashboard/lang/{lang}")
    driver.get(f"{base}/dashboard/login")
    _wait(lambda: driver.find_element(By.ID, "login-username"), what="the login form")
    driver.find_element(By.ID, "login-username").send_keys(user)
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    _wait(lambda: driver.find_element(By.ID, "signed-in-as"), what="the signed-in header")


def settled(driver: Any, scope_part: str) -> None:
    _wait(lambda: driver.execute_script(
        "return document.querySelector('[data-dash-is-loading=\"true\"]') === null"
        " && document.querySelectorAll('#tx-year-graph .js-plotly-plot').length > 0"
        " && document.querySelector('#tx-cross-table') !== null"
        " && (document.querySelector('#tx-scope') || {}).textContent.includes(arguments[0])", scope_part),
        what=f"the figures for {scope_part}")
    time.sleep(0.5)


def trace(driver: Any, graph_id: str, i: int) -> dict[str, Any]:
    return dict(driver.execute_script(
        "const g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "const t = g.data[arguments[1]]; return {x: t.x, y: t.y};", f"#{graph_id}", i))


def english_words(driver: Any) -> list[str]:
    text = driver.execute_script(VISIBLE_TEXT_JS)
    return sorted({w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in ALLOWED_ASCII_WORDS})


def choose(driver: Any, dropdown_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, dropdown_id).click()
    option = _wait(lambda: driver.find_element(By.CSS_SELECTOR, f"[role=option] input[value='{value}']"),
                   what=f"option {value} of {dropdown_id}")
    driver.execute_script("arguments[0].closest('[role=option]').click()", option)


def table_rows(driver: Any, table_id: str) -> list[list[str]]:
    return [[c.strip() for c in row] for row in driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' tbody tr')]"
        ".map(r => [...r.querySelectorAll('td')].map(td => td.textContent));", f"#{table_id}")]


def unit_ratio(max_fen: int) -> float:
    return 1e-10 if max_fen >= 10_000_000_000 else 1e-6  # fen → 亿元 from 1 亿 up, else 万元


def assert_page_equals_api(driver: Any, api: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    assert driver.find_element(By.ID, "tx-kpi-count").get_attribute("data-value") == str(api["total_count"])
    assert driver.find_element(By.ID, "tx-kpi-amount").get_attribute("data-value") == str(api["total_value_fen"])
    for graph_id, rows in (("tx-method-graph", api["by_pricing_method"]), ("tx-mode-graph", api["by_trading_mode"])):
        value, count = trace(driver, graph_id, 0), trace(driver, graph_id, 1)
        assert value["x"] == [r["label_zh"] for r in rows] and count["y"] == [r["count"] for r in rows]
        ratio = unit_ratio(max(r["value_fen"] for r in rows))
        assert value["y"] == pytest.approx([r["value_fen"] * ratio for r in rows], abs=0.006)
    assert len(api["by_pricing_method"]) == 6 and len(api["by_trading_mode"]) == 5
    for c in api["cross"]:
        cell = driver.find_element(By.ID, f"tx-cross-{c['pricing_method']}-{c['trading_mode']}")
        assert (cell.get_attribute("data-count"), cell.get_attribute("data-value")) == (str(c["count"]),
                                                                                      str(c["value_fen"]))
    method_rows = table_rows(driver, "tx-method-rows")
    assert [r[0] for r in method_rows] == [r["label_zh"] for r in api["by_pricing_method"]] + ["合计"]
    assert method_rows[-1][1] == f"{api['total_count']:,}"
    for graph_id in ("tx-type-graph", "tx-year-graph"):  # every transaction falls in one type and one year
        assert sum(trace(driver, graph_id, 1)["y"]) == api["total_count"]


def test_the_national_bureau_sees_the_registers_volumes_in_chinese_as_the_api_reports_them(
    server: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    login(browser, server, BUREAU)
    browser.find_element(By.ID, "nav-transactions").click()
    settled(browser, "全国")
    today = date.today().isoformat()
    api = api_get(server, BUREAU, "/ip-transactions/reports/volumes", date_from="2019-01-01", date_to=today)
    assert api["total_count"] > 0 and all(r["count"] > 0 for r in api["by_pricing_method"] + api["by_trading_mode"])
    assert_page_equals_api(browser, api)
    labels = trace(browser, "tx-method-graph", 0)["x"]
    assert labels[:2] == ["协议定价", "评估定价"] and "网络竞价" in labels and "拍卖竞价" in labels
    assert "联盟交易" in trace(browser, "tx-mode-graph", 0)["x"]
    years = trace(browser, "tx-year-graph", 0)["x"]
    assert years[0] == "2019" and years[-1] == str(date.today().year)
    assert "发明专利" in trace(browser, "tx-type-graph", 0)["x"]
    unit = browser.find_element(By.ID, "tx-method-graph").text
    assert "万元" in unit or "亿元" in unit
    assert english_words(browser) == []
    browser.save_screenshot(str(ARTIFACTS / "transactions_zh.png"))

    choose(browser, "tx-province", "330000")
    settled(browser, "浙江")
    zj = api_get(server, BUREAU, "/ip-transactions/reports/volumes", date_from="2019-01-01", date_to=today,
                 region_prefix="33")
    assert 0 < zj["total_count"] < api["total_count"]
    assert_page_equals_api(browser, zj)
    assert english_words(browser) == []


def test_the_chongqing_bureau_sees_its_own_region_only(server: str, browser: Any) -> None:

    login(browser, server, "bureau-cq@ipfin.demo")
    browser.get(f"{server}/dashboard/transactions")
    settled(browser, "重庆")
    api = api_get(server, BUREAU, "/ip-transactions/reports/volumes", date_from="2019-01-01",
                  date_to=date.today().isoformat(), region_prefix="50")
    assert api["total_count"] > 0
    assert_page_equals_api(browser, api)
    assert english_words(browser) == []


def test_a_bank_may_not_open_the_transactions_page(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    login(browser, server, "officer@bank.ipfin.demo")
    assert not browser.find_elements(By.ID, "nav-transactions")
    browser.get(f"{server}/dashboard/transactions")
    _wait(lambda: browser.find_element(By.ID, "not-allowed"), what="the not-allowed notice")
