"""Bureau statistics at national scale: the NPL ratio as a stock at period end, county/city/province
scopes and drill-down, year-on-year, and the stock against a row-by-row recomputation."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from api.pledge.models import Borrower, Loan
from api.stats import kpis
from api.stats import service as stats_service
from api.stats.filters import LIVE_STATUSES, NPL_STATUSES, LoanFilter
from api.stats.stock import npl_stock, scheduled_balance_fen
from tests.factories import credit_code

pytestmark = pytest.mark.db

TODAY = date(2026, 12, 2)
Y2022 = {"date_from": date(2022, 1, 1), "date_to": date(2022, 12, 31)}


def _add(s: Session, bank_id: int, region: str, orig: date, term: int, status: str, amount: int, out: int,
         default_date: date | None = None, dpd: int = 0) -> Loan:
    b = Borrower(name="企业", credit_code=credit_code(region), region_code=region, industry="C", owner_org_id=bank_id)
    s.add(b)
    s.flush()
    m = orig.month - 1 + term
    loan = Loan(
        reference=f"N{bank_id}-{b.id}", bank_org_id=bank_id, borrower_id=b.id, amount_fen=amount, outstanding_fen=out,
        annual_rate=Decimal("0.04"), term_months=term, status=status, region_code=region,
        province_code=region[:2] + "0000", industry="C", primary_ip_type="invention_patent",
        days_past_due=dpd, origination_date=orig, default_date=default_date,
        maturity_date=date(orig.year + m // 12, m % 12 + 1, min(orig.day, 28)),
    )
    s.add(loan)
    s.flush()
    return loan


def test_npl_ratio_of_a_past_year_is_the_stock_at_its_end_not_the_defaults_among_loans_started_then(
    engine: Any, make_org: Any
) -> None:
    """Issue 13: 2022 showed 100% because only loans started in 2022 counted, at today's status (the
    performing ones have been repaid since). At 2022-12-31 A was running and performing."""
    bank = make_org("bank")
    with Session(engine) as s:
        _add(s, bank.id, "330100", date(2022, 6, 1), 12, "settled", 1_000_000_000, 0)  # A
        _add(s, bank.id, "330100", date(2022, 3, 1), 12, "in_disposal", 1_000_000_000, 800_000_000,
             default_date=date(2022, 11, 1))  # B
        _add(s, bank.id, "330100", date(2021, 7, 1), 24, "settled", 600_000_000, 0)  # C, still running at the end
        s.commit()
    end = date(2022, 12, 31)
    a = scheduled_balance_fen(1_000_000_000, date(2022, 6, 1), 12, end)
    c = scheduled_balance_fen(600_000_000, date(2021, 7, 1), 24, end)
    with engine.connect() as conn:
        ov = stats_service.overview(conn, bank, LoanFilter(**Y2022), today=TODAY)
    assert (ov.npl_outstanding_fen, ov.live_outstanding_fen) == (800_000_000, 800_000_000 + a + c)
    assert ov.npl_ratio == pytest.approx(800_000_000 / (800_000_000 + a + c))
    assert ov.npl_ratio < 0.8


def test_scheduled_balance_is_straight_line_in_average_months_and_never_negative() -> None:
    assert scheduled_balance_fen(1_200, date(2025, 1, 1), 12, date(2025, 1, 1)) == 1_200
    assert scheduled_balance_fen(1_200, date(2025, 1, 1), 12, date(2026, 6, 1)) == 0
    half = date(2025, 1, 1) + timedelta(days=183)  # 183 days = 6.012... average months
    assert scheduled_balance_fen(1_200_000, date(2025, 1, 1), 12, half) == 598_768


def test_bureau_scopes_by_province_city_and_county(engine: Any, make_org: Any) -> None:
    bank = make_org("bank")
    with Session(engine) as s:
        _add(s, bank.id, "440305", date(2025, 3, 1), 12, "active", 100, 100)  # Shenzhen, Nanshan district
        _add(s, bank.id, "440300", date(2025, 3, 1), 12, "active", 20, 20)  # Shenzhen, no district recorded
        _add(s, bank.id, "440106", date(2025, 3, 1), 12, "active", 3, 3)  # Guangzhou, Tianhe district
        s.commit()
    flt = LoanFilter(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), bank_org_id=bank.id)
    expected = {"440000": 123, "440300": 120, "440305": 100, "440100": 3, "440106": 3, "440304": 0}
    with engine.connect() as conn:
        for code, fen in expected.items():
            bureau = make_org("bureau", code)
            assert stats_service.overview(conn, bureau, flt, today=TODAY).amount_fen == fen, code


def test_city_and_county_drill_down(engine: Any, make_org: Any) -> None:
    bank = make_org("bank")
    with Session(engine) as s:
        for region, fen in (("440305", 100), ("440304", 10), ("440300", 20), ("440106", 3)):
            _add(s, bank.id, region, date(2025, 3, 1), 12, "active", fen, fen)
        s.commit()
    flt = LoanFilter(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), bank_org_id=bank.id)
    with engine.connect() as conn:
        by = stats_service.breakdowns(conn, bank, flt, ("city", "county"))
        shenzhen = stats_service.breakdown(conn, bank, replace(flt, region_code="440300"), "county")
        nanshan = stats_service.overview(conn, bank, replace(flt, region_code="440305"))
    assert [(r.key, r.name_zh, r.amount_fen) for r in by["city"]] == [
        ("440300", "深圳市", 130), ("440100", "广州市", 3)]
    assert [(r.key, r.amount_fen) for r in by["county"]] == [("440305", 100), ("440300", 20), ("440304", 10),
                                                             ("440106", 3)]
    assert [r.key for r in shenzhen] == ["440305", "440300", "440304"]
    assert nanshan.amount_fen == 100


def test_year_on_year_beside_period_on_period(engine: Any, make_org: Any) -> None:
    bank = make_org("bank")
    with Session(engine) as s:
        _add(s, bank.id, "330100", date(2025, 4, 1), 12, "active", 300, 300)
        _add(s, bank.id, "330100", date(2025, 1, 5), 12, "active", 200, 200)  # the previous quarter
        _add(s, bank.id, "330100", date(2024, 5, 1), 12, "settled", 100, 0)  # a year earlier
        s.commit()
    q2 = LoanFilter(date_from=date(2025, 4, 1), date_to=date(2025, 6, 30), bank_org_id=bank.id)
    with engine.connect() as conn:
        body = kpis.bureau_overview(conn, bank, q2, TODAY)
    assert body["previous_filter"]["date_from"] == "2025-01-01"
    assert body["year_ago_filter"] == {**q2.as_dict(), "date_from": "2024-04-01", "date_to": "2024-06-30"}
    assert body["change"]["amount_fen"] == pytest.approx(0.5)
    assert body["change_yoy"]["amount_fen"] == pytest.approx(2.0)
    assert set(body["definitions"]) >= {"npl_ratio", "vintage_default_rate", "compensation_by_party", "change"}
    assert all(d["zh"] and d["en"] for d in body["definitions"].values())


STATUSES = st.sampled_from(["active", "overdue", "default", "in_claim", "in_disposal", "settled", "written_off"])
LOANS = st.lists(st.tuples(
    st.dates(date(2020, 1, 1), date(2026, 11, 30)), st.sampled_from([12, 24, 36]), STATUSES,
    st.integers(1, 10**9), st.integers(0, 100), st.integers(0, 400), st.booleans(),
), min_size=0, max_size=25)


def _raw_stock(rows: list[tuple[Any, ...]], end: date, today: date) -> tuple[int, int]:
    """The stock's definition applied loan by loan (the reference the SQL must equal): a performing
    loan's scheduled principal is summed per origination day and term and rounded once per group (two
    1-fen loans 5 months into 12 are 1.17 fen together → 1, not 1 + 1)."""
    out = npl = 0
    performing: dict[tuple[date, int], int] = {}
    for orig, term, status, amount, out_pct, dpd, _, maturity, dd in rows:
        current_npl = status in NPL_STATUSES or dpd > 90
        if orig > end:
            continue
        if end >= today:
            if status in LIVE_STATUSES:
                bal = amount * out_pct // 100
                out += bal
                npl += bal if current_npl else 0
            continue
        if maturity <= end:
            continue
        if (dd is not None and dd <= end) or (dd is None and current_npl):
            bal = amount * out_pct // 100
            out += bal
            npl += bal
        else:
            performing[(orig, term)] = performing.get((orig, term), 0) + amount
    out += sum(scheduled_balance_fen(amount, orig, term, end) for (orig, term), amount in performing.items())
    return out, npl


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loans=LOANS, end=st.dates(date(2020, 6, 1), date(2027, 6, 30)))
def test_npl_stock_equals_the_definition_loan_by_loan(engine: Any, make_org: Any, loans: list[Any], end: date) -> None:
    bank = make_org("bank")
    rows = []
    with Session(engine) as s:
        for orig, term, status, amount, out_pct, dpd, has_dd in loans:
            dd = orig + timedelta(days=200) if has_dd and status not in ("active", "settled") else None
            loan = _add(s, bank.id, "500101", orig, term, status, amount, amount * out_pct // 100, dd, dpd)
            rows.append((orig, term, status, amount, out_pct, dpd, has_dd, loan.maturity_date, dd))
        s.commit()
    today = date(2026, 12, 2)
    with engine.connect() as conn:
        got = npl_stock(conn, bank, LoanFilter(date_to=end), today)
    assert (got.outstanding_fen, got.npl_outstanding_fen) == _raw_stock(rows, end, today)


def test_a_loan_under_a_retired_code_counts_in_its_successor_on_the_map_and_in_the_filters(
    engine: Any, make_org: Any
) -> None:
    """梅列区 (350402) was merged into 三元区 (350404) in 2021 (GB/T 2260 change list, ipfin/data/
    region_changes.csv): an older loan still carrying 350402 is drawn in 三元区 and 三明市 (350400), and
    filtering by either finds it — the map's value and the filtered overview agree."""
    bank = make_org("bank")
    with Session(engine) as s:
        _add(s, bank.id, "350402", date(2020, 5, 1), 12, "settled", 100_000_00, 0)  # 梅列区, retired code
        _add(s, bank.id, "350404", date(2020, 6, 1), 12, "settled", 300_000_00, 0)  # 三元区
        s.commit()
    y2020 = LoanFilter(date(2020, 1, 1), date(2020, 12, 31))
    with engine.connect() as conn:
        by_city, _ = kpis.region_values(conn, bank, y2020, "city", "amount", TODAY)
        by_county, _ = kpis.region_values(conn, bank, y2020, "county", "count", TODAY)
        city = stats_service.overview(conn, bank, replace(y2020, region_code="350400"), today=TODAY)
        county = stats_service.overview(conn, bank, replace(y2020, region_code="350404"), today=TODAY)
        neighbour = stats_service.overview(conn, bank, replace(y2020, region_code="350405"), today=TODAY)  # 沙县区
    assert by_city == {"350400": 400_000_00}
    assert by_county == {"350404": 2}
    assert (city.loan_count, city.amount_fen) == (2, 400_000_00)
    assert (county.loan_count, county.amount_fen) == (2, 400_000_00)
    assert neighbour.loan_count == 0
