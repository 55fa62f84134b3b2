"""How many SQL statements a request issues (issue 17, API throughput).

An overview request used to issue eighteen statements — the same NPL stock recomputed seven times
— and earlier 116, most of them re-reading table schemas. These tests count every statement the
engine sends during one request (SQLAlchemy ``before_cursor_execute``) and fail if someone brings
back per-request reflection, a recomputation per figure, or an N+1 over the rows of a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from api.core import result_cache
from api.stats import kpis
from api.stats import service as stats_service
from api.stats.filters import LoanFilter
from api.stats.stock import npl_stock
from tests.dashboard.book import make_book

pytestmark = pytest.mark.db

OVERVIEW_MAX_STATEMENTS = 9
"""The caller; flows (from the rollup) and distinct enterprises (from the loans); the past NPL stock
(running book from the rollup, defaulted loans from the loans); the current stock; compensation;
registrations; programme budgets — whatever the number of loans or periods."""
"""the caller (user joined to organisation: one statement), the flows of this / the previous period and a
year ago (one or two scans), the NPL stock today and at the past period ends (two), compensation by party."""

LOANS_PAGE_MAX_STATEMENTS = 3
"""the caller (user joined to organisation, :func:`api.core.deps.get_caller`), count, the page."""

SCHEMA_READ = re.compile(r"sqlite_master|sqlite_schema|PRAGMA\s+(main\.)?(table|index)_|information_schema|pg_catalog",
                         re.IGNORECASE)


@contextmanager
def statements(engine: Any) -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    seen: list[str] = []

    def listen(_conn: Any, _cur: Any, stmt: str, *_: Any) -> None:
        seen.append(stmt)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_overview_issues_a_bounded_number_of_statements_and_reads_no_schema(
    client: Any, engine: Any, make_user: Any
) -> None:
    bank = make_user("bank")
    make_book(engine, bank.org)
    for params in ("", "?date_from=2025-01-01&date_to=2025-12-31", "?date_from=2025-03-01&date_to=2025-03-31"):
        client.get(f"/api/v1/stats/overview{params}", headers=bank.headers)  # warm
        result_cache.clear()  # count the statements of the computation, not of a cached answer
        with statements(engine) as seen:
            r = client.get(f"/api/v1/stats/overview{params}", headers=bank.headers)
        assert r.status_code == 200
        assert len(seen) <= OVERVIEW_MAX_STATEMENTS, "\n\n".join(seen)
        assert not [s for s in seen if SCHEMA_READ.search(s)]


def test_a_page_of_loans_costs_the_same_statements_however_many_loans_it_holds(
    client: Any, engine: Any, make_user: Any
) -> None:
    counts = []
    for books in (0, 1):  # no loans, then the seven loans of a book
        bank = make_user("bank")
        if books:
            make_book(engine, bank.org)
        client.get("/api/v1/loans?limit=50", headers=bank.headers)
        with statements(engine) as seen:
            r = client.get("/api/v1/loans?limit=50", headers=bank.headers)
        assert r.status_code == 200
        assert not [s for s in seen if SCHEMA_READ.search(s)]
        counts.append((len(r.json()["data"]), len(seen)))
    assert [n for n, _ in counts] == [0, 7]
    assert counts[0][1] == counts[1][1], counts  # no statement per row
    assert counts[1][1] <= LOANS_PAGE_MAX_STATEMENTS


@pytest.mark.parametrize(
    ("date_from", "date_to", "today"),
    [
        (date(2025, 1, 1), date(2025, 12, 31), date(2026, 3, 1)),  # a year: previous period = a year ago
        (date(2025, 3, 1), date(2025, 3, 31), date(2026, 3, 1)),  # a month: a year ago is a separate scan
        (date(2025, 2, 3), date(2025, 5, 9), date(2025, 4, 1)),  # odd dates; the period end after today
        (None, date(2025, 6, 30), date(2026, 3, 1)),  # no start: no comparison periods
    ],
)
def test_the_one_pass_overview_equals_the_separate_figure_functions(
    engine: Any, make_org: Any, date_from: date | None, date_to: date, today: date
) -> None:
    bank = make_org("bank")
    make_book(engine, bank)
    flt = LoanFilter(date_from=date_from, date_to=date_to)
    with engine.connect() as conn:
        body = kpis.bureau_overview(conn, bank, flt, today)
        cur, _prev = stats_service.overview_with_previous(conn, bank, flt)
        assert body["current"] == {**cur.as_dict(), "npl_ratio": npl_stock(conn, bank, flt, today).npl_ratio}
        assert body["vintage"] == kpis.vintage(conn, bank, flt).as_dict()
        for key, other in (("previous", flt.previous()), ("year_ago", flt.year_ago())):
            if other is None:
                assert body[key] is None
                continue
            ov = stats_service.overview(conn, bank, other)
            assert body[key] == {**ov.as_dict(), "npl_ratio": npl_stock(conn, bank, other, today).npl_ratio}
            assert body["npl_stock"][key] == npl_stock(conn, bank, other, today).as_dict()
        assert body["npl_stock"]["current"] == npl_stock(conn, bank, flt, today).as_dict()
        # and the stock at a past end equals the stock of the same book filtered to a narrower dimension
        narrow = replace(flt, province_code="330000")
        assert kpis.bureau_overview(conn, bank, narrow, today)["npl_stock"]["current"] == npl_stock(
            conn, bank, narrow, today).as_dict()
