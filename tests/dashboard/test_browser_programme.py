"""End-to-end: the programme page (规则成本) in headless Chromium on the real server with 3,000 demo loans.

A national bureau picks Chongqing 4:2:2:2 and a seed; the page shows each party's expected and 99% payout
with standard errors (the same numbers as ``POST /api/v1/rule-costs`` for that rule, seed and book), the
budget/ceiling block and the break-even fee beside the 1.5% cap, all in Chinese. Another rule with a
fund budget shows its exhaustion probability by year. A bank may not open the page. The Chinese page
is saved to ``tests/artifacts/programme_zh.png``.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pytest

from tests.dashboard.browser_harness import ARTIFACTS, api_post, choose, english_words, login, wait

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning:selenium.*")]

WINDOW_SIZE = "1400,2600"  # the browser fixture's window (tests/dashboard/conftest.py): the whole page
WAIT_S = 90.0  # seconds each wait of this module may take (the harness's default is 60)
BUREAU = "bureau@ipfin.demo"
_wait = partial(wait, timeout=WAIT_S)


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


def test_a_bureau_sees_what_chongqing_4222_costs_each_payer_and_the_fee_against_the_cap(
    server: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    login(browser, server, BUREAU, timeout=WAIT_S)
    browser.find_element(By.ID, "nav-programme").click()
    settled(browser)

    api = api_post(server, BUREAU, "/rule-costs", {"rule_id": "chongqing-4222", "book": {}, "n_paths": 1000,
                                                   "seed": 1, "years": 1}, timeout=120)
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
    choose(browser, "pg-rule", "guangzhou-fund-2023", script_click=True, timeout=WAIT_S)
    choose(browser, "pg-years", "3", script_click=True, timeout=WAIT_S)
    browser.find_element(By.ID, "pg-run").click()
    _wait(lambda: browser.find_element(By.ID, "pg-caps-table"), what="the caps table")
    settled(browser)
    caps = browser.find_element(By.ID, "pg-caps-table").text
    assert "风险补偿资金池年度预算" in caps and "第3年首次耗尽" in caps
    assert english_words(browser) == []


def test_a_bank_may_not_open_the_programme_page(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    login(browser, server, "officer@bank.ipfin.demo", timeout=WAIT_S)
    assert not browser.find_elements(By.ID, "nav-programme")
    browser.get(f"{server}/dashboard/programme")
    _wait(lambda: browser.find_element(By.ID, "not-allowed"), what="the not-allowed notice")
