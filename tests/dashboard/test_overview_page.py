"""The bureau overview's logic without a browser: landing period, map level, KPI cards, Chinese columns."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from api.stats.definitions import DEFINITIONS
from dashboard import data
from dashboard.app import create_dash

create_dash()  # pages register themselves with the app: import the page module the app loaded
overview = importlib.import_module("pages.overview")


@dataclass
class _Org:
    kind: str
    region_code: str | None


def _viewer(kind: str = "bureau", region: str | None = None) -> Any:
    return data.Viewer(1, "x@example.org", None, "viewer", _Org(kind, region))  # type: ignore[arg-type]


@pytest.mark.parametrize(("last", "expected"), [
    (date(2026, 11, 30), (date(2026, 1, 1), date(2026, 12, 2), None)),  # loans this year: the year to today
    (date(2025, 12, 28), (date(2025, 1, 1), date(2025, 12, 31), 2025)),  # none yet: the latest year, said so
    (None, (date(2026, 1, 1), date(2026, 12, 2), None)),  # an empty book: this year to today
])
def test_the_landing_period_ends_today_unless_this_year_has_no_data(
    monkeypatch: pytest.MonkeyPatch, last: date | None, expected: tuple[date, date, int | None]
) -> None:
    monkeypatch.setattr(data, "data_period", lambda _v: (date(2019, 1, 1) if last else None, last))
    assert data.default_period(_viewer(), today=date(2026, 12, 2)) == expected


def test_the_map_opens_at_the_level_of_the_selection() -> None:
    assert overview.map_view(None, None) == ("province", None)
    assert overview.map_view("440000", None) == ("city", "440000")
    assert overview.map_view("440000", "440300") == ("county", "440300")
    assert overview.map_view("440000", "320100") == ("city", "440000")  # a city of another province is ignored
    assert overview.map_view("710000", None) == ("province", None)  # Taiwan: no city map


def test_a_regional_bureau_starts_in_its_own_region() -> None:
    assert overview.home_region(_viewer("bureau", "500000")) == ("500000", None)
    assert overview.home_region(_viewer("bureau", "440100")) == ("440000", "440100")
    assert overview.home_region(_viewer("bureau", None)) == (None, None)
    assert overview.home_region(_viewer("bank", "500000")) == (None, None)


def _figures(amount: int, loans: int, npl: float | None, inclusive: float | None) -> dict[str, Any]:
    return {"amount_fen": amount, "loan_count": loans, "enterprise_count": loans, "inclusive_count": loans // 2,
            "inclusive_share": inclusive, "npl_ratio": npl, "npl_outstanding_fen": 5, "live_outstanding_fen": 100}


def _view(budgets: dict[str, Any] | None) -> dict[str, Any]:
    regs = {"registration_count": 30, "loan_count": 20, "registered_amount_fen": 250_000_000_00,
            "pledged_value_fen": 600_000_000_00}
    return {
        "current": _figures(150, 10, 0.05, 0.5), "previous": _figures(100, 8, 0.04, 0.5),
        "year_ago": _figures(120, 10, 0.06, 0.25),
        "change": {"amount_fen": 0.5, "loan_count": 0.25, "enterprise_count": 0.25},
        "change_yoy": {"amount_fen": 0.25, "loan_count": 0.0, "enterprise_count": 0.0},
        "registrations": {"current": regs, "previous": regs, "year_ago": regs,
                          "change": {"registration_count": 0.2, "registered_amount_fen": -0.1},
                          "change_yoy": {"registration_count": None, "registered_amount_fen": 0.5}},
        "compensation_by_party": [
            {"party": "fund", "claims": 2, "paid_fen": 300_000_00, "recovered_fen": 100_000_00, "net_fen": 0},
            {"party": "bank", "claims": 1, "paid_fen": 100_000_00, "recovered_fen": 0, "net_fen": 0}],
        "vintage": {"loan_count": 10, "amount_fen": 150, "defaulted_count": 1, "defaulted_amount_fen": 3,
                    "default_rate": 0.02},
        "programme_budgets": budgets,
    }


def _lines(card: Any) -> list[str]:
    return [c.children for c in card.children if "kpi-change" in (c.className or "")]


def test_every_kpi_card_shows_yoy_and_pop_and_says_how_it_is_defined() -> None:
    budgets = {"year": 2026, "budget_fen": 5_000_000_00, "used_fen": 1_250_000_00, "used_share": 0.25,
               "budgets": [{}, {}]}
    cards = {c.id: c for c in overview._kpis(_view(budgets), "zh")}
    assert list(cards) == ["kpi-amount", "kpi-loans", "kpi-enterprises", "kpi-inclusive", "kpi-npl",
                           "kpi-registrations", "kpi-registered-amount", "kpi-compensation", "kpi-vintage",
                           "kpi-budget"]  # two full rows of five

    assert _lines(cards["kpi-amount"]) == ["同比 ▲ +25.0%", "环比 ▲ +50.0%"]
    assert _lines(cards["kpi-npl"]) == ["同比 ▼ −1.00 个百分点", "环比 ▲ +1.00 个百分点"]
    assert _lines(cards["kpi-inclusive"]) == ["同比 ▲ +25.00 个百分点", "环比 ■ +0.00 个百分点"]
    npl_tones = [c.className for c in cards["kpi-npl"].children if "kpi-change" in (c.className or "")]
    assert npl_tones == ["kpi-change kpi-good", "kpi-change kpi-bad"]  # a falling NPL ratio is good news
    assert DEFINITIONS["amount_fen"]["zh"] in cards["kpi-amount"].title
    assert DEFINITIONS["npl_ratio"]["zh"] in cards["kpi-npl"].title
    assert DEFINITIONS["change"]["zh"] in cards["kpi-loans"].title
    # the second row: registrations with 同比/环比, compensation, vintage, budgets — each defined
    assert _lines(cards["kpi-registrations"]) == ["同比 —", "环比 ▲ +20.0%", "涉及贷款 20 笔"]
    assert _lines(cards["kpi-registered-amount"])[:2] == ["同比 ▲ +50.0%", "环比 ▼ −10.0%"]
    assert cards["kpi-registered-amount"].children[1].children == "2.50 亿元"
    assert cards["kpi-compensation"].children[1].children == "40.00 万元"  # 300,000 + 100,000 CNY
    assert _lines(cards["kpi-compensation"]) == ["扣除追偿后净额 30.00 万元", "涉及理赔 3 件"]
    assert cards["kpi-vintage"].children[1].children == "2.00%"
    assert cards["kpi-budget"].children[1].children == "25.0%"
    assert _lines(cards["kpi-budget"]) == ["已用 125.00 万元 / 预算 500.00 万元", "2026年度，2 项预算"]
    for card_id, key in (("kpi-registrations", "registrations"), ("kpi-compensation", "compensation_total"),
                         ("kpi-vintage", "vintage_default_rate"), ("kpi-budget", "programme_budgets")):
        assert DEFINITIONS[key]["zh"] in cards[card_id].title, card_id
    assert DEFINITIONS["change"]["zh"] not in cards["kpi-budget"].title  # no comparison shown, none explained
    for card in cards.values():  # Chinese page: no English word in a card
        assert not re.search(r"[A-Za-z]{3,}", " ".join(str(x) for x in [card.title, *_lines(card)])), card.id


def test_banks_get_no_budget_card_and_an_empty_budget_year_says_so() -> None:
    assert "kpi-budget" not in {c.id for c in overview._kpis(_view(None), "zh")}
    empty = {"year": 2026, "budget_fen": 0, "used_fen": 0, "used_share": None, "budgets": []}
    card = next(c for c in overview._kpis(_view(empty), "en") if c.id == "kpi-budget")
    assert card.children[1].children == "—" and _lines(card) == ["No annual budgets in 2026"]


@pytest.mark.parametrize("key", overview.TABLES)
def test_table_and_export_headers_are_chinese(key: str) -> None:
    from dashboard.components import export_headers

    headers = export_headers(overview._columns(key, "zh"), "zh")
    assert not re.search(r"[A-Za-z]{3,}", " ".join(headers)), headers


def test_map_values_are_shown_in_display_units() -> None:
    shown, label, fmt, scale = overview._metric_values({"440000": 12_345_678_900, "320000": 100}, "amount", "zh")
    assert shown == {"440000": 1.23, "320000": 0.0} and label == "融资金额（亿元）" and scale is None
    shown, label, fmt, scale = overview._metric_values({"440000": 0.0123, "320000": None}, "npl", "zh")
    assert shown == {"440000": pytest.approx(1.23)} and label == "不良率（%）" and scale == "Oranges"
    assert fmt == ",.2f"  # a region without a ratio (no outstanding) is left grey, not drawn as 0
    shown, label, _, _ = overview._metric_values({"440000": 7}, "count", "en")
    assert shown == {"440000": 7.0} and label == "Loans"
