"""End-to-end: the programme page (规则成本) in headless Chromium on the real server with 3,000 demo loans.

A national bureau picks Chongqing 4:2:2:2 and a seed; the page shows each party's expected and 99% payout
with standard errors (the same numbers as ``POST /api/v1/rule-costs`` for that rule, seed and book), the
budget/ceiling block and the break-even fee beside the 1.5% cap, all in Chinese. Another rule with a
fund budget shows its exhaustion probability by year. A bank may not open the page. The Chinese page
is saved to ``tests/artifacts/programme_zh.png``.
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
    db = tmp_path_factory.mktemp("browser-programme") / "ipfin.db"
    port = _free_port()
    env = {**os.environ, "IPFIN_DATABASE_URL": f"sqlite:///{db}",
           "IPFIN_SECRET_KEY": "browser-test-secret-key-0123456789", "IPFIN_DEMO_MODE": "false"}
    root = Path(__file__).resolve().parents[2]
    log = tmp_path_factory.mktemp("browser-programme-log") / "server.log"
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


def api_post(base: str, user: str, path: str, body: dict[str, Any]) -> Any:
    form = urllib.parse.urlencode({"username": user, "password": PASSWORD}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/auth/token", data=form), timeout=10) as r:
        token = str(json.load(r)["access_token"])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"{base}/api/v1{path}", data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=120) as r:
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


def settled(driver: Any) -> None:
    _wait(lambda: driver.execute_script(
        "return document.querySelector('[data-dash-is-loading=\"true\"]') === null"
        " && document.querySelectorAll('#pg-payout-graph .js-plotly-plot').length > 0"
        " && document.querySelector('#pg-parties') !== null"), what="the simulation to show")
    time.sleep(0.5)


def trace(driver: Any, graph_id: str, i: int) -> dict[str, Any]:
    return dict(driver.execute_script(
        "const g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "const t = g.data[arguments[1]]; return {x: t.x, y: t.y, err: (t.error_y || {}).array};",
        f"#{graph_id}", i))


def english_words(driver: Any) -> list[str]:
    text = driver.execute_script(VISIBLE_TEXT_JS)
    return sorted({w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in ALLOWED_ASCII_WORDS})


def choose(driver: Any, dropdown_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, dropdown_id).click()
    option = _wait(lambda: driver.find_element(By.CSS_SELECTOR, f"[role=option] input[value='{value}']"),
                   what=f"option {value} of {dropdown_id}")
    driver.execute_script("arguments[0].closest('[role=option]').click()", option)


def test_a_bureau_sees_what_chongqing_4222_costs_each_payer_and_the_fee_against_the_cap(
    server: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    login(browser, server, BUREAU)
    browser.find_element(By.ID, "nav-programme").click()
    settled(browser)

    api = api_post(server, BUREAU, "/rule-costs", {"rule_id": "chongqing-4222", "book": {}, "n_paths": 1000,
                                                   "seed": 1, "years": 1})
    kpi = browser.find_element(By.ID, "pg-kpi-loans")
    assert kpi.get_attribute("data-value") == str(round(api["exposure_cny"] * 100))
    expected = trace(browser, "pg-payout-graph", 0)
    p99 = trace(browser, "pg-payout-graph", 1)
    assert len(expected["x"]) == len(p99["x"]) == 4  # guarantor, re-guarantor, NFGF, bank
    assert expected["x"][0] == "担保机构"
    by_key = {p["key"]: p for p in api["parties"]}
    g = by_key["guarantor"]
    g99 = next(q for q in g["payout_quantiles"] if q["level"] == 0.99)
    top_p99 = max(next(q for q in p["payout_quantiles"] if q["level"] == 0.99)["value_cny"] for p in api["parties"])
    ratio = 1e-8 if top_p99 >= 1e8 else 1e-4  # the page's unit: 亿元 from 1 亿 up, else 万元
    assert expected["y"][0] == pytest.approx(g["expected_payout_cny"] * ratio, abs=0.006)
    assert p99["y"][0] == pytest.approx(g99["value_cny"] * ratio, abs=0.01)
    assert expected["err"][0] == pytest.approx(g["expected_payout_se_cny"] * ratio, abs=0.01)
    assert expected["y"][0] == pytest.approx(2 * expected["y"][3], abs=0.02)  # 40% vs the bank's 20%

    assert browser.find_element(By.ID, "pg-no-caps").text.startswith("该规则没有年度预算")
    fee = trace(browser, "pg-fee-graph", 0)
    assert fee["x"] == ["担保机构", "再担保机构", "国家融资担保基金", "收费方合计"]
    assert "费率上限 1.50%" in browser.find_element(By.ID, "pg-fee-rows").text
    assert "费率上限低于盈亏平衡费率的贷款" in browser.find_element(By.ID, "pg-under-priced").text
    assert english_words(browser) == []
    browser.save_screenshot(str(ARTIFACTS / "programme_zh.png"))

    # a rule with a fund budget (50M a year) and three years: exhaustion by year, in Chinese
    choose(browser, "pg-rule", "guangzhou-fund-2023")
    choose(browser, "pg-years", "3")
    browser.find_element(By.ID, "pg-run").click()
    _wait(lambda: browser.find_element(By.ID, "pg-caps-table"), what="the caps table")
    settled(browser)
    caps = browser.find_element(By.ID, "pg-caps-table").text
    assert "风险补偿资金池年度预算" in caps and "第3年首次耗尽" in caps
    assert english_words(browser) == []


def test_a_bank_may_not_open_the_programme_page(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    login(browser, server, "officer@bank.ipfin.demo")
    assert not browser.find_elements(By.ID, "nav-programme")
    browser.get(f"{server}/dashboard/programme")
    _wait(lambda: browser.find_element(By.ID, "not-allowed"), what="the not-allowed notice")
