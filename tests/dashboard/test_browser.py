"""End-to-end: the real server (uvicorn, migrated SQLite, 3,000 demo loans) in headless Chromium.

Logs in through the login page as each kind of organisation, opens every page, changes
filters, drills down province → city → loans and on the map country → province → city (county
map), and checks that graphs have the expected number of points and that KPI figures (with
同比 and 环比) equal ``GET /api/v1/stats/overview`` for the same filter. Every Chinese page is
checked for English words. Screenshots of every page in both languages go to
``tests/artifacts/`` (git-ignored, kept by CI).
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.browser_harness import ARTIFACTS, api_get, api_post, choose, english_words, kpi, login
from tests.dashboard.browser_harness import wait as _wait

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning:selenium.*")]

WINDOW_SIZE = "1400,2400"  # the browser fixture's window (tests/dashboard/conftest.py)


# ------------------------------------------------------------------ helpers


_PERIODS: dict[tuple[str, str], dict[str, str]] = {}


def default_period(base: str, user: str) -> dict[str, str]:
    """The landing period by DESIGN.md §6, from the API: this year up to today if the user's data has
    loans this year, else the latest year with loans (whole)."""
    if (base, user) not in _PERIODS:
        today = date.today()
        this_year = {"date_from": f"{today.year}-01-01", "date_to": today.isoformat()}
        if api_get(base, user, "/stats/overview", **this_year)["current"]["loan_count"]:
            _PERIODS[(base, user)] = this_year
        else:
            years = api_get(base, user, "/stats/timeseries", granularity="year", date_from="2000-01-01",
                            date_to=today.isoformat())["data"]
            last = max(int(p["period"][:4]) for p in years if p["loan_count"])
            _PERIODS[(base, user)] = {"date_from": f"{last}-01-01", "date_to": f"{last}-12-31"}
    return _PERIODS[(base, user)]


def settled(driver: Any, timeout: float = 60.0) -> None:
    """Wait until no Dash callback is running (no element flagged as loading)."""
    _wait(lambda: driver.execute_script(
        "return document.querySelector('[data-dash-is-loading=\"true\"]') === null"
        " && document.querySelectorAll('.js-plotly-plot').length > 0"), timeout=timeout, what="callbacks to finish")
    time.sleep(0.5)


def points(driver: Any, graph_id: str, trace: int = 0) -> int:
    """Number of points plotted in a trace of a dcc.Graph, read from Plotly's own data."""
    n = driver.execute_script(
        "const g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "if (!g || !g.data || !g.data[arguments[1]]) return -1;"
        "const t = g.data[arguments[1]]; return (t.x || t.values || []).length;",
        f"#{graph_id}", trace,
    )
    return int(n)


def click_bar(driver: Any, graph_id: str, index: int) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    bars = driver.find_elements(By.CSS_SELECTOR, f"#{graph_id} .bars .point path")
    ActionChains(driver).move_to_element(bars[index]).click().perform()


def assert_kpis_equal_api(driver: Any, overview: dict[str, Any]) -> None:
    cur = overview["current"]
    expected = {
        "kpi-amount": str(cur["amount_fen"]),
        "kpi-loans": str(cur["loan_count"]),
        "kpi-enterprises": str(cur["enterprise_count"]),
        "kpi-inclusive": f"{cur['inclusive_count']}/{cur['loan_count']}",
        "kpi-npl": f"{cur['npl_outstanding_fen']}/{cur['live_outstanding_fen']}",
    }
    _wait(lambda: all(kpi(driver, k) == v for k, v in expected.items()), what=f"KPIs {expected}")


def shot(driver: Any, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"dashboard-{name}.png"))


# ------------------------------------------------------------------ tests


def test_pages_need_a_session_and_a_wrong_password_is_refused(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{server}/dashboard/bank")
    _wait(lambda: "/dashboard/login?next=/dashboard/bank" in browser.current_url, what="redirect to login")
    _wait(lambda: browser.find_element(By.ID, "login-username"), what="the login form")  # rendered client-side
    browser.find_element(By.ID, "login-username").send_keys("bureau@ipfin.demo")
    browser.find_element(By.ID, "login-password").send_keys("wrong password!")
    browser.find_element(By.ID, "login-submit").click()
    _wait(lambda: browser.find_element(By.ID, "login-error"), what="the login error")
    shot(browser, "login-error-zh")
    browser.get(f"{server}/dashboard/lang/en")
    browser.get(f"{server}/dashboard/login")
    _wait(lambda: browser.find_element(By.ID, "login-username"), what="the English login form")
    shot(browser, "login-en")
    cookies = {c["name"]: c for c in browser.get_cookies()}
    assert "ipfin_session" not in cookies


def test_bureau_overview_matches_the_api_and_follows_filters(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    from dashboard.i18n import fmt_change_lang

    user = "bureau@ipfin.demo"
    login(browser, server, user)
    cookie = {c["name"]: c for c in browser.get_cookies()}["ipfin_session"]
    assert cookie["httpOnly"] is True
    period = default_period(server, user)
    overview = api_get(server, user, "/stats/overview", **period)
    assert_kpis_equal_api(browser, overview)
    # 同比 and 环比 beside every KPI, equal to the API's changes; the tooltip says how the figure is defined
    card = browser.find_element(By.ID, "kpi-amount")
    assert f"同比 {fmt_change_lang(overview['change_yoy']['amount_fen'], 'zh')}" in card.text
    assert f"环比 {fmt_change_lang(overview['change']['amount_fen'], 'zh')}" in card.text
    assert overview["definitions"]["amount_fen"]["zh"] in card.get_attribute("title")
    assert overview["definitions"]["npl_ratio"]["zh"] in browser.find_element(By.ID, "kpi-npl").get_attribute("title")
    months = api_get(server, user, "/stats/timeseries", granularity="month", **period)["data"]
    provinces = api_get(server, user, "/stats/breakdown", by="province", **period)["data"]
    _wait(lambda: points(browser, "ov-timeseries") == len(months), what="one bar per month")
    assert points(browser, "ov-timeseries", 1) == len(months)  # the loan-count line
    assert points(browser, "ov-timeseries", 2) == len(months)  # the same months a year earlier (同比)
    _wait(lambda: points(browser, "ov-province-graph") == len(provinces), what="one bar per province")
    assert points(browser, "ov-iptype-graph") == len(api_get(server, user, "/stats/breakdown", by="ip_type",
                                                             **period)["data"])
    settled(browser)
    assert english_words(browser, open_details=True) == []
    shot(browser, "overview-zh")

    # a filter: industry C (manufacturing) → every KPI equals the API's figure for industry=C
    choose(browser, "ov-industry", "C")
    assert_kpis_equal_api(browser, api_get(server, user, "/stats/overview", industry="C", **period))
    # quarterly series: one point per quarter, each equal to the API's quarter totals
    browser.find_element(By.CSS_SELECTOR, "#ov-granularity input[value='quarter']").click()
    ts = api_get(server, user, "/stats/timeseries", granularity="quarter", industry="C", **period)["data"]
    _wait(lambda: points(browser, "ov-timeseries") == len(ts), what="one bar per quarter")
    counts = browser.execute_script("return document.querySelector('#ov-timeseries .js-plotly-plot').data[1].y")
    assert list(counts) == [p["loan_count"] for p in ts]

    # drill down: click the largest province → its cities; click a city → its loans
    top = api_get(server, user, "/stats/breakdown", by="province", industry="C", **period)["data"][0]
    click_bar(browser, "ov-province-graph", -1)  # plotly draws the largest bar last (on top)
    cities = api_get(server, user, "/stats/breakdown", by="city", province_code=top["key"], industry="C",
                     **period)["data"]
    _wait(lambda: points(browser, "ov-city-graph") == len(cities), what="one bar per city")
    assert_kpis_equal_api(browser, api_get(server, user, "/stats/overview", province_code=top["key"],
                                           industry="C", **period))
    click_bar(browser, "ov-city-graph", -1)
    rows = _wait(lambda: browser.find_element(By.ID, "ov-table-loans").get_attribute("data-rows"),
                 what="the loans of the city")
    assert int(rows) == cities[0]["loan_count"]
    shot(browser, "overview-drilldown")


def map_state(driver: Any) -> dict[str, Any]:
    """The map's level, parent region and the regions coloured with data (trace 1), from Plotly's own data."""
    return dict(driver.execute_script(
        "const g = document.querySelector('#ov-map .js-plotly-plot');"
        "if (!g || !g.layout || !g.layout.meta || !g.data[1]) return {};"
        "return {level: g.layout.meta.level, parent: g.layout.meta.parent, locations: g.data[1].locations,"
        "        z: g.data[1].z};"
    ) or {})


def drawn_regions(driver: Any) -> int:
    """How many region shapes the map has drawn (both the no-data and the data trace)."""
    return int(driver.execute_script("return document.querySelectorAll('#ov-map path.choroplethlocation').length"))


def click_region(driver: Any, code: str) -> None:
    """A real mouse click on a point inside region ``code`` of the map (found with isPointInFill)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    driver.execute_script("document.querySelector('#ov-map').scrollIntoView({block: 'center'});")
    time.sleep(0.3)
    point = driver.execute_script("""
        const g = document.querySelector('#ov-map .js-plotly-plot');
        const i = g.data[1].locations.indexOf(arguments[0]);
        const traces = g.querySelectorAll('.choroplethlayer .trace');
        const path = traces[traces.length - 1].querySelectorAll('path.choroplethlocation')[i];
        const box = path.getBBox(), m = path.getScreenCTM();
        for (let n = 2; n <= 24; n++) {
          for (let a = 1; a < n; a++) for (let b = 1; b < n; b++) {
            const p = new DOMPoint(box.x + box.width * a / n, box.y + box.height * b / n);
            if (!path.isPointInFill(p)) continue;
            const q = p.matrixTransform(m);
            const hit = document.elementFromPoint(q.x, q.y);
            if (hit && g.contains(hit)) return [Math.round(q.x), Math.round(q.y)];
          }
        }
        return null;""", code)
    assert point, f"no clickable point inside region {code}"
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(*point).click()
    actions.perform()
    ActionChains(driver).reset_actions()


def test_map_drills_down_from_the_country_to_a_county_map(server: str, browser: Any) -> None:
    """The national map colours every province with loans by its financing; clicking the largest
    province opens its city map (KPIs follow), clicking its largest city the county map and its loans."""
    from selenium.webdriver.common.by import By

    from dashboard import maps
    from dashboard.i18n import fmt_count

    user = "bureau@ipfin.demo"
    period = default_period(server, user)
    provinces = api_get(server, user, "/stats/breakdown", by="province", **period)["data"]
    login(browser, server, user)
    _wait(lambda: map_state(browser).get("level") == "province"
          and sorted(map_state(browser)["locations"]) == sorted(p["key"] for p in provinces),
          what="one coloured province per province with loans")
    top = provinces[0]
    state = map_state(browser)
    assert state["z"][state["locations"].index(top["key"])] == max(state["z"])  # the largest is the darkest
    click_region(browser, top["key"])
    cities = api_get(server, user, "/stats/breakdown", by="city", province_code=top["key"], **period)["data"]
    _wait(lambda: map_state(browser).get("level") == "city" and map_state(browser).get("parent") == top["key"],
          what=f"the city map of {top['key']}")
    assert sorted(map_state(browser)["locations"]) == sorted(c["key"] for c in cities)
    n_cities = len(maps.load_geojson("city", top["key"])["features"])
    _wait(lambda: drawn_regions(browser) == n_cities, what=f"the {n_cities} cities drawn")
    assert_kpis_equal_api(browser, api_get(server, user, "/stats/overview", province_code=top["key"], **period))
    city = cities[0]["key"]
    click_region(browser, city)
    _wait(lambda: map_state(browser).get("level") == "county" and map_state(browser).get("parent") == city,
          what=f"the county map of {city}")
    assert_kpis_equal_api(browser, api_get(server, user, "/stats/overview", province_code=top["key"],
                                           region_code=city, **period))
    counties = api_get(server, user, "/stats/breakdown", by="county", province_code=top["key"], region_code=city,
                       **period)["data"]
    n_counties = len(maps.load_geojson("county", city)["features"])
    _wait(lambda: drawn_regions(browser) == n_counties, what=f"the {n_counties} counties drawn")
    on_map = set(map_state(browser)["locations"])
    assert on_map == {c["key"] for c in counties if c["key"] != city and c["key"][:4] == city[:4]}
    at_city = [c for c in counties if c["key"] not in on_map]  # loans registered at city level only
    if at_city:
        note = browser.find_element(By.ID, "ov-map-note").text
        assert fmt_count(sum(c["loan_count"] for c in at_city)) in note
    rows = _wait(lambda: browser.find_element(By.ID, "ov-table-loans").get_attribute("data-rows"),
                 what="the loans of the city")
    assert int(rows) == cities[0]["loan_count"]
    assert "›" in browser.find_element(By.ID, "ov-breadcrumb").text
    shot(browser, "overview-map-county-zh")
    browser.find_element(By.ID, "ov-map-back").click()  # up one level: the city map again
    _wait(lambda: map_state(browser).get("level") == "city", what="back to the city map")


def test_english_shows_cny_millions(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    user = "bureau@ipfin.demo"
    login(browser, server, user, lang="en")
    overview = api_get(server, user, "/stats/overview", **default_period(server, user))
    assert_kpis_equal_api(browser, overview)
    text = browser.find_element(By.ID, "kpi-amount").text
    from dashboard.i18n import fmt_amount

    assert "Financing amount" in text and fmt_amount(overview["current"]["amount_fen"], "en") in text
    assert "vs a year earlier" in text
    settled(browser)
    shot(browser, "overview-en")


def test_landing_period_ends_today_or_says_which_year_it_shows(server: str, browser: Any) -> None:
    """DESIGN.md §6: the default period ends at today; with no loans yet this year the page shows
    the latest year with data and says so."""
    from selenium.webdriver.common.by import By

    user = "bureau@ipfin.demo"
    period = default_period(server, user)
    login(browser, server, user)
    _wait(lambda: f"{period['date_from']} 至 {period['date_to']}" in browser.find_element(By.ID, "ov-period").text,
          what=f"the period {period}")
    today = date.today()
    if period["date_to"] == today.isoformat():
        assert period["date_from"] == f"{today.year}-01-01"
        assert not browser.find_elements(By.ID, "ov-fallback")
    else:  # the demo book has no loans this year: the page must say which year it shows instead
        note = browser.find_element(By.ID, "ov-fallback").text
        assert f"{today.year}" in note and period["date_from"][:4] in note


def test_regional_bureau_sees_its_own_province_only(server: str, browser: Any) -> None:
    user = "bureau-cq@ipfin.demo"
    login(browser, server, user)
    period = default_period(server, user)
    overview = api_get(server, user, "/stats/overview", **period)
    assert_kpis_equal_api(browser, overview)
    national = api_get(server, "bureau@ipfin.demo", "/stats/overview", province_code="500000", **period)
    assert overview["current"] == national["current"]
    _wait(lambda: points(browser, "ov-province-graph") == 1, what="a single province bar")
    # the map opens on Chongqing's own districts and shows nothing outside Chongqing
    _wait(lambda: map_state(browser).get("parent") == "500000", what="the Chongqing map")
    state = map_state(browser)
    assert state["level"] == "city" and state["locations"]
    assert all(code.startswith("50") for code in state["locations"])
    settled(browser)
    assert english_words(browser, open_details=True) == []
    shot(browser, "overview-chongqing-zh")


@pytest.mark.parametrize(("user", "pages"), [
    ("officer@bank.ipfin.demo", ("bank", "abs")),
    ("officer@guarantor.ipfin.demo", ("guarantor",)),
])
def test_chinese_pages_show_no_english_words(server: str, browser: Any, user: str, pages: tuple[str, ...]) -> None:
    """Every visible word of a Chinese page — labels, table headers and cells, enums, plotly axes and
    legends — is Chinese, except ALLOWED_ASCII_WORDS and user data (names, identifiers)."""
    login(browser, server, user)
    for page in pages:
        browser.get(f"{server}/dashboard/{page}")
        settled(browser)
        assert english_words(browser, open_details=True) == [], page
        shot(browser, f"{page}-zh")
    browser.delete_all_cookies()
    browser.get(f"{server}/dashboard/login")
    _wait(lambda: english_words(browser, open_details=True) == [], what="a Chinese login page")
    shot(browser, "login-zh")


def test_bank_collateral_page(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    user = "officer@bank.ipfin.demo"
    login(browser, server, user, lang="en")
    browser.get(f"{server}/dashboard/bank")
    _wait(lambda: kpi(browser, "bk-kpi-loans") not in ("", "None"), what="bank KPIs")
    _wait(lambda: points(browser, "bk-value-graph") == 7 and points(browser, "bk-ltv-graph") == 7
          and points(browser, "bk-dpd-graph") == 7, what="seven buckets in each distribution")
    live = api_get(server, user, "/loans", status="active", limit=1)["count"]
    assert int(kpi(browser, "bk-kpi-loans")) >= live  # active plus overdue / default / in claim / in disposal
    browser.find_element(By.CSS_SELECTOR, "#bk-ltv-limit input[value='50']").click()
    _wait(lambda: browser.find_element(By.ID, "bk-table-alerts"), what="the alerts table")
    shot(browser, "bank-en")
    # the language switch returns to the page being viewed
    browser.find_element(By.ID, "lang-zh").click()
    _wait(lambda: browser.current_url.endswith("/dashboard/bank")
          and browser.find_element(By.CSS_SELECTOR, "#bank-page h2").text == "银行质押品", what="the page in zh-CN")
    # a bank user may not open the guarantor page
    browser.get(f"{server}/dashboard/guarantor")
    _wait(lambda: browser.find_element(By.ID, "not-allowed"), what="the not-allowed notice")


def test_guarantor_page(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    login(browser, server, "officer@guarantor.ipfin.demo", lang="en")
    browser.get(f"{server}/dashboard/guarantor")
    found = _wait(lambda: browser.find_element(By.CSS_SELECTOR, "#gu-table-status, #gu-not-available"),
                  what="claims or the empty state")
    if found.get_attribute("id") == "gu-table-status":  # demo risk-sharing data present: one bar per status
        statuses = int(found.get_attribute("data-rows"))
        _wait(lambda: points(browser, "gu-status-graph") == statuses, what="one bar per claim status")
    shot(browser, "guarantor-en")


def test_abs_page_shows_strata_cash_flows_and_losses_of_stored_runs(server: str, browser: Any) -> None:
    """A deterministic and a small Monte Carlo run are made through the API first; the page then
    shows one cash-flow trace per paid tranche and one loss-quantile trace per stress."""
    from selenium.webdriver.common.by import By

    user = "officer@bank.ipfin.demo"
    pools = api_get(server, user, "/pools", limit=100)["data"]
    deals = api_get(server, user, "/deals", limit=100)["data"]
    assert pools and deals, "the demo data has ABS pools and deals"
    newest = max(p["id"] for p in pools)  # the page selects the newest pool first
    deal = next((d for d in deals if d["pool_id"] == newest), None)
    assert deal is not None, "the demo data has a deal on the bank's pool"
    det = api_post(server, user, f"/deals/{deal['id']}/runs", {"mode": "deterministic"})
    api_post(server, user, f"/deals/{deal['id']}/runs",
             {"mode": "monte_carlo", "n_paths": 200, "seed": 7, "stresses": ["base", "severe"]})
    periods = det["result"]["scenarios"][0]["periods"]
    paid = {k for p in periods for k, v in {**p["interest_paid_fen"], **p["principal_paid_fen"]}.items() if v}
    strata = api_get(server, user, f"/pools/{newest}/strata", by="industry")["rows"]
    login(browser, server, user, lang="en")
    browser.get(f"{server}/dashboard/abs")
    _wait(lambda: browser.find_element(By.ID, "ab-table-pools"), what="the pools table")
    _wait(lambda: points(browser, "ab-strata-graph") == len(strata), what="one bar per stratum")
    _wait(lambda: browser.execute_script(
        "return document.querySelector('#ab-cashflow-graph .js-plotly-plot').data.length") == len(paid),
        what="one cash-flow trace per paid tranche")
    _wait(lambda: browser.execute_script(
        "return document.querySelector('#ab-loss-graph .js-plotly-plot').data.length") == 2,
        what="loss quantiles for the two stresses")
    shot(browser, "abs-en")


def test_bank_page_valuation_report_has_the_stored_distribution_and_tornado(server: str, browser: Any) -> None:
    """The admin sees every bank's valuations; the newest report's histogram has one bar per
    stored bin and its tornado one bar pair per input, as in GET /api/v1/valuations/{id}."""
    user = "admin@ipfin.demo"
    vals = api_get(server, user, "/valuations", limit=1000)["data"]
    done = [v for v in vals if v["status"] == "succeeded"]
    assert done, "the demo data has completed valuations"
    newest = max(done, key=lambda v: (v["valuation_date"], v["id"]))
    result = api_get(server, user, f"/valuations/{newest['id']}")["result"]
    login(browser, server, user, lang="en")
    browser.get(f"{server}/dashboard/bank")
    bins = len(result["monte_carlo"]["histogram_counts"]) if result.get("monte_carlo") else 0
    if bins:
        _wait(lambda: points(browser, "bk-valuation-distribution") == bins, what="one bar per stored bin")
    _wait(lambda: points(browser, "bk-valuation-tornado") == len(result["tornado"]), what="one bar per input")
    shot(browser, "bank-valuation-report")


def test_province_table_exports_to_csv_and_excel_with_the_api_totals(
    server: str, browser: Any, tmp_path: Path
) -> None:
    from decimal import Decimal

    from openpyxl import load_workbook
    from selenium.webdriver.common.by import By

    user = "bureau@ipfin.demo"
    provinces = api_get(server, user, "/stats/breakdown", by="province", **default_period(server, user))["data"]
    login(browser, server, user, lang="en")
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    _wait(lambda: browser.find_element(By.ID, "ov-table-province"), what="the province table")
    files = {}
    for fmt in ("csv", "xlsx"):  # one at a time: both write the same dcc.Download
        button = browser.find_element(
            By.XPATH, f"//button[contains(@id, '\"table\":\"province\"') and contains(@id, '\"fmt\":\"{fmt}\"')]")
        browser.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", button)
        files[fmt] = _wait(lambda fmt=fmt: next(iter(tmp_path.glob(f"*.{fmt}")), None), timeout=40,
                           what=f"the {fmt} download")
    csv_file, xlsx_file = files["csv"], files["xlsx"]
    import csv as csv_mod

    lines = list(csv_mod.reader(csv_file.read_text(encoding="utf-8-sig").splitlines()))
    assert lines[0] == ["Province", "Code", "Loans", "Financing amount (CNY)", "Outstanding (CNY)"]
    assert [r[1] for r in lines[1:]] == [p["key"] for p in provinces]
    assert [Decimal(r[3]) for r in lines[1:]] == [Decimal(p["amount_fen"]) / 100 for p in provinces]
    _wait(lambda: xlsx_file.stat().st_size > 0 and not list(tmp_path.glob("*.crdownload")), what="the xlsx file")
    ws = load_workbook(xlsx_file).active
    assert ws.max_row == len(provinces) + 1
