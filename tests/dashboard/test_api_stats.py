"""GET /api/v1/stats/*: the bureau figures as exact integer fen, scoped like the dashboard."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from api.stats.stock import scheduled_balance_fen
from tests.dashboard.book import make_book

YEAR = "date_from=2025-01-01&date_to=2025-12-31"


@pytest.fixture
def bank_user(engine: Any, make_user: Any) -> Any:
    actor = make_user("bank", role="viewer")
    make_book(engine, actor.org)
    return actor


def test_overview_returns_exact_fen_and_the_previous_year(client: Any, bank_user: Any) -> None:
    r = client.get(f"/api/v1/stats/overview?{YEAR}", headers=bank_user.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    cur, prev = body["current"], body["previous"]
    assert (cur["loan_count"], cur["amount_fen"], cur["enterprise_count"]) == (4, 4_800_000_050, 3)
    # NPL as a stock at 2025-12-31 (a past period end): L2 12M and L3 8,000,000.50 non-performing; L1 and L4
    # (settled since, but contractually running at the end) at their straight-line scheduled balance; L5 and L7
    # matured by then
    end = date(2025, 12, 31)
    running = scheduled_balance_fen(500_000_000, date(2025, 1, 15), 12, end) + scheduled_balance_fen(
        2_000_000_000, date(2025, 4, 1), 12, end)
    assert (cur["npl_outstanding_fen"], cur["live_outstanding_fen"]) == (2_000_000_050, 2_000_000_050 + running)
    assert body["npl_stock"]["current"]["as_of"] == "2025-12-31"
    assert body["year_ago_filter"]["date_to"] == "2024-12-31"
    assert body["definitions"]["npl_ratio"]["zh"].startswith("不良率")
    assert body["previous_filter"]["date_from"] == "2024-01-01"
    assert (prev["loan_count"], prev["amount_fen"]) == (2, 400_000_000)
    assert body["change"]["loan_count"] == pytest.approx(1.0)
    assert body["compensation_by_party"] == []  # the risk-sharing ledger exists but has no claims on these loans


def test_overview_adds_pledge_registrations_and_programme_budgets(
    client: Any, bank_user: Any, make_user: Any
) -> None:
    """Additive fields: L2's pledge registered 2025-02-01 (principal 15M, appraised 15M), L1's in 2024;
    programme budgets are a bureau's figure (a bank gets null)."""
    body = client.get(f"/api/v1/stats/overview?{YEAR}", headers=bank_user.headers).json()
    regs = body["registrations"]
    assert regs["current"] == {"registration_count": 1, "loan_count": 1, "registered_amount_fen": 1_500_000_000,
                               "pledged_value_fen": 1_500_000_000}
    assert regs["year_ago"]["registered_amount_fen"] == 500_000_000  # L1, registered 2024-12-01
    assert regs["change_yoy"]["registered_amount_fen"] == pytest.approx(2.0)
    assert body["programme_budgets"] is None
    assert body["definitions"]["registrations"]["zh"].startswith("质押登记")
    bureau = make_user("bureau", role="viewer")
    budgets = client.get(f"/api/v1/stats/overview?{YEAR}", headers=bureau.headers).json()["programme_budgets"]
    assert budgets["year"] == 2025  # the year of the period end; the totals are the sum of the lines
    assert budgets["budget_fen"] == sum(b["budget_fen"] for b in budgets["budgets"])
    assert budgets["used_fen"] == sum(b["used_fen"] for b in budgets["budgets"])


def test_overview_inclusive_threshold_20m(client: Any, bank_user: Any) -> None:
    r = client.get(f"/api/v1/stats/overview?{YEAR}&inclusive_threshold_cny=20000000", headers=bank_user.headers)
    assert r.json()["current"]["inclusive_count"] == 4


def test_overview_filters_by_province_industry_and_ip_type(client: Any, bank_user: Any) -> None:
    h = bank_user.headers
    assert client.get(f"/api/v1/stats/overview?{YEAR}&province_code=330000", headers=h).json()["current"][
        "amount_fen"] == 2_000_000_000
    assert client.get(f"/api/v1/stats/overview?{YEAR}&industry=C", headers=h).json()["current"][
        "amount_fen"] == 1_300_000_050
    assert client.get(f"/api/v1/stats/overview?{YEAR}&ip_type=trademark", headers=h).json()["current"][
        "loan_count"] == 1


def test_breakdown_and_timeseries(client: Any, bank_user: Any) -> None:
    h = bank_user.headers
    b = client.get(f"/api/v1/stats/breakdown?by=city&province_code=330000&{YEAR}", headers=h).json()
    assert [(d["key"], d["amount_fen"]) for d in b["data"]] == [("330200", 1_500_000_000), ("330100", 500_000_000)]
    ts = client.get(f"/api/v1/stats/timeseries?granularity=quarter&{YEAR}", headers=h).json()
    assert [d["amount_fen"] for d in ts["data"]] == [2_800_000_050, 2_000_000_000, 0, 0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=2025-02-01&date_to=2025-01-01", "date_from"),
        ("province_code=330100", "province_code"),
        ("industry=Z", "industry"),
        ("ip_type=plant", "ip_type"),
        ("inclusive_threshold_cny=0", "inclusive_threshold_cny"),
    ],
)
def test_bad_filter_is_422_naming_the_field(client: Any, bank_user: Any, query: str, field: str) -> None:
    r = client.get(f"/api/v1/stats/overview?{query}", headers=bank_user.headers)
    assert r.status_code == 422, r.text
    assert field in r.text


def test_bad_breakdown_dimension_is_422(client: Any, bank_user: Any) -> None:
    assert client.get("/api/v1/stats/breakdown?by=colour", headers=bank_user.headers).status_code == 422


def test_stats_need_authentication(client: Any) -> None:
    assert client.get("/api/v1/stats/overview", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_another_bank_gets_zeros_for_this_bank(client: Any, bank_user: Any, make_user: Any) -> None:
    other = make_user("bank")
    r = client.get(f"/api/v1/stats/overview?{YEAR}&bank_org_id={bank_user.org.id}", headers=other.headers)
    assert r.json()["current"]["loan_count"] == 0
