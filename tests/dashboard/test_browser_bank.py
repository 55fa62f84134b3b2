"""End-to-end: the bank page's watchlist (预警名单), latest stress run (压力测试) and provisions by five-class
category (贷款五级分类与拨备) in headless Chromium on the real server with 3,000 demo loans.

The demo bank officer first sees notes saying how to start a scoring run and a stress run; after both are run
through the API the Chinese page shows the API's alert count, margin-call total and provision total, the loans
of highest PD with their Chinese drivers, and no English words. The page at 1366×768 is saved to
``tests/artifacts/bank_watchlist_zh.png``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.dashboard.browser_harness import ARTIFACTS, api_get, api_post, english_words, kpi, login
from tests.dashboard.browser_harness import wait as _wait

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning:selenium.*")]

WINDOW_SIZE = "1366,768"  # the browser fixture's window (tests/dashboard/conftest.py): a laptop screen
BANK = "officer@bank.ipfin.demo"


def _text(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, element_id).text)


def _loaded(driver: Any) -> bool:
    """The three sections are filled and no callback is running."""
    return bool(driver.execute_script(
        "return ['bk-watchlist', 'bk-stress', 'bk-provisions'].every(i => document.getElementById(i)"
        " && document.getElementById(i).children.length > 0)"
        " && document.querySelector('[data-dash-is-loading=\"true\"]') === null"))


def test_bank_page_shows_the_watchlist_stress_run_and_provisions_of_the_api(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    from dashboard.i18n import fmt_amount, fmt_count

    login(browser, server, BANK)
    browser.get(f"{server}/dashboard/bank")
    # before any run: notes say how to start one, in Chinese (the command and endpoint as typed)
    _wait(lambda: _text(browser, "bk-ew-none") and _text(browser, "bk-st-none"), what="the no-run notes")
    assert "POST /api/v1/early-warning/runs" in _text(browser, "bk-ew-none")
    assert "ipfin early-warning score" in _text(browser, "bk-ew-none")
    assert "POST /api/v1/stress-runs" in _text(browser, "bk-st-none")
    _wait(lambda: _loaded(browser), what="the three sections")
    assert english_words(browser, open_details=True) == []

    run = api_post(server, BANK, "/early-warning/runs", {})
    stress = api_post(server, BANK, "/stress-runs", {"scenario": "sector_downturn"})
    alerts = api_get(server, BANK, "/early-warning/watchlist", alerts_only="true", limit=1)["count"]
    top = api_get(server, BANK, "/early-warning/watchlist", limit=10)["data"]
    provisions = api_get(server, BANK, "/pledge/provisions")
    total = stress["result"]["total"]
    assert alerts == run["n_alerts"] and top

    browser.get(f"{server}/dashboard/bank")
    _wait(lambda: kpi(browser, "bk-ew-alerts") == str(alerts), what=f"{alerts} loans above the alert PD")
    assert fmt_count(alerts) in _text(browser, "bk-ew-alerts")
    assert kpi(browser, "bk-ew-scored") == str(run["n_loans"])
    # the loans of highest PD, in the API's order, with their Chinese drivers
    table = browser.find_element(By.ID, "bk-table-watchlist")
    assert int(table.get_attribute("data-rows")) == len(top)
    cells = [r.find_elements(By.TAG_NAME, "td") for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert [c[1].text for c in cells] == [r["reference"] for r in top]
    assert [int(c[0].text) for c in cells] == [r["rank"] for r in top]
    assert all(d["label_zh"] in c[6].text for c, r in zip(cells, top, strict=True) for d in r["drivers"][:3])
    # the stress run: scenario in Chinese, breaches before → after, margin calls, provision and EL change
    assert "行业下行" in _text(browser, "bk-stress")
    assert kpi(browser, "bk-st-margin") == str(total["margin_call_fen"])
    assert fmt_amount(total["margin_call_fen"], "zh") in _text(browser, "bk-st-margin")
    assert kpi(browser, "bk-st-breaches") == f"{total['n_breach_before']}/{total['n_breach_after']}"
    assert kpi(browser, "bk-st-provision") == str(total["provision_change_fen"])
    assert kpi(browser, "bk-st-el") == str(total["expected_loss_change_fen"])
    # provisions by class: one row per class and a total equal to the API's
    assert kpi(browser, "bk-pv-specific") == str(provisions["specific_provision_fen"])
    assert fmt_amount(provisions["specific_provision_fen"], "zh") in _text(browser, "bk-pv-specific")
    assert kpi(browser, "bk-pv-general") == str(provisions["general_reserve_fen"])
    rows = browser.find_elements(By.CSS_SELECTOR, "#bk-table-provisions tbody tr")
    classes = [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows]
    assert classes == ["正常", "关注", "次级", "可疑", "损失", "合计"]
    assert [int(r.find_elements(By.TAG_NAME, "td")[1].text.replace(",", "")) for r in rows[:5]] == [
        c["count"] for c in provisions["classes"]]

    _wait(lambda: _loaded(browser), what="every callback")
    assert english_words(browser, open_details=True) == []
    browser.execute_script("document.getElementById('bk-watchlist-section').scrollIntoView()")
    browser.execute_script("window.scrollBy(0, -60)")  # below the sticky header
    time.sleep(0.5)
    browser.save_screenshot(str(ARTIFACTS / "bank_watchlist_zh.png"))
    browser.execute_script("document.getElementById('bk-stress-section').scrollIntoView()")
    browser.execute_script("window.scrollBy(0, -60)")
    time.sleep(0.3)
    browser.save_screenshot(str(ARTIFACTS / "bank_stress_provisions_zh.png"))
