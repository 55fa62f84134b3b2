"""End-to-end: the IP transactions page (知识产权交易) in headless Chromium on the real server with 3,000 demo loans.

The national bureau opens the page in Chinese: the count and value, the six pricing methods, five trading
modes, their cross table, the IP types and the years equal ``GET /api/v1/ip-transactions/reports/volumes``
for the same period (and, after picking Zhejiang, for that province); no English word shows. The Chongqing
bureau sees Chongqing only; a bank may not open the page. The Chinese page is saved to
``tests/artifacts/transactions_zh.png``.
"""

from __future__ import annotations

import time
from datetime import date
from functools import partial
from typing import Any

import pytest

from tests.dashboard.browser_harness import ARTIFACTS, api_get, choose, english_words, login, wait

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning:selenium.*")]

WINDOW_SIZE = "1400,2600"  # the browser fixture's window (tests/dashboard/conftest.py): the whole page
WAIT_S = 90.0  # seconds each wait of this module may take (the harness's default is 60)
BUREAU = "bureau@ipfin.demo"
_wait = partial(wait, timeout=WAIT_S)


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

    login(browser, server, BUREAU, timeout=WAIT_S)
    browser.find_element(By.ID, "nav-transactions").click()
    settled(browser, "全国")
    today = date.today().isoformat()
    api = api_get(server, BUREAU, "/ip-transactions/reports/volumes", timeout=60, date_from="2019-01-01", date_to=today)
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

    choose(browser, "tx-province", "330000", script_click=True, timeout=WAIT_S)
    settled(browser, "浙江")
    zj = api_get(server, BUREAU, "/ip-transactions/reports/volumes", timeout=60, date_from="2019-01-01", date_to=today,
                 region_prefix="33")
    assert 0 < zj["total_count"] < api["total_count"]
    assert_page_equals_api(browser, zj)
    assert english_words(browser) == []


def test_the_chongqing_bureau_sees_its_own_region_only(server: str, browser: Any) -> None:

    login(browser, server, "bureau-cq@ipfin.demo", timeout=WAIT_S)
    browser.get(f"{server}/dashboard/transactions")
    settled(browser, "重庆")
    api = api_get(server, BUREAU, "/ip-transactions/reports/volumes", timeout=60, date_from="2019-01-01",
                  date_to=date.today().isoformat(), region_prefix="50")
    assert api["total_count"] > 0
    assert_page_equals_api(browser, api)
    assert english_words(browser) == []


def test_a_bank_may_not_open_the_transactions_page(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    login(browser, server, "officer@bank.ipfin.demo", timeout=WAIT_S)
    assert not browser.find_elements(By.ID, "nav-transactions")
    browser.get(f"{server}/dashboard/transactions")
    _wait(lambda: browser.find_element(By.ID, "not-allowed"), what="the not-allowed notice")
