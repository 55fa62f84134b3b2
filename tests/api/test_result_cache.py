"""Statistics served from the per-data-version cache are never stale (issue 17, p99 at 8 clients).

The overview, breakdown and time series are cached per caller, parameters and data version
(:mod:`api.core.result_cache`). These tests pin what makes that safe: a repeated request reads only
the caller and the version; any committed write — through the API, through another engine (another
worker or process) or by a bulk SQL statement — is seen by the next request; rows of a transaction
that has not committed are never served to anyone; one caller never receives another's figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from api.core import result_cache
from api.core.db import make_engine
from api.pledge.models import Loan
from api.stats import kpis
from api.stats.filters import LoanFilter
from tests.dashboard.book import make_book

pytestmark = pytest.mark.db

PERIOD = "?date_from=2025-01-01&date_to=2025-12-31"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    result_cache.clear()
    yield
    result_cache.clear()


@pytest.fixture
def other_engine(database_url: str) -> Iterator[Any]:
    """An engine with its own pool, as another worker, a job or a console has."""
    other = make_engine(database_url)
    yield other
    other.dispose()


def _count_statements(engine: Any, fn: Any) -> tuple[Any, int]:
    seen: list[str] = []

    def listen(_c: Any, _cur: Any, stmt: str, *_: Any) -> None:
        seen.append(stmt)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        return fn(), len(seen)
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def _amount(client: Any, actor: Any, path: str = f"/api/v1/stats/overview{PERIOD}") -> int:
    r = client.get(path, headers=actor.headers)
    assert r.status_code == 200, r.text
    return int(r.json()["current"]["amount_fen"])


def test_a_repeated_request_reads_only_the_caller_and_the_data_version(
    client: Any, engine: Any, make_user: Any
) -> None:
    bank = make_user("bank")
    make_book(engine, bank.org)
    first, computed = _count_statements(engine, lambda: client.get(f"/api/v1/stats/overview{PERIOD}",
                                                                   headers=bank.headers))
    again, served = _count_statements(engine, lambda: client.get(f"/api/v1/stats/overview{PERIOD}",
                                                                 headers=bank.headers))
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    # the caller (user and organisation) and, on PostgreSQL, the snapshot (SQLite's version is read on the
    # process's watcher connection, outside the engine)
    assert served == (1 if engine.dialect.name == "sqlite" else 2) < computed
    assert result_cache.stats["hits"] >= 1


def test_the_cached_figures_equal_the_figures_computed_afresh(client: Any, engine: Any, make_user: Any) -> None:
    bank = make_user("bank")
    make_book(engine, bank.org)
    for path in (f"/api/v1/stats/overview{PERIOD}", f"/api/v1/stats/breakdown{PERIOD}&by=industry",
                 f"/api/v1/stats/timeseries{PERIOD}&granularity=quarter"):
        fresh = client.get(path, headers=bank.headers).json()
        cached = client.get(path, headers=bank.headers).json()
        result_cache.clear()
        assert fresh == cached == client.get(path, headers=bank.headers).json()


def test_a_write_through_the_apps_own_engine_is_in_the_next_request(client: Any, engine: Any, make_user: Any) -> None:
    """The app's own pooled connections: a connection does not see its own commits in its own
    ``PRAGMA data_version``; the version is read on a connection that never writes."""
    bank = make_user("bank")
    book = make_book(engine, bank.org)
    before = _amount(client, bank)
    for step in range(1, 4):  # whichever pooled connection the write and the next request take
        with Session(engine) as s:
            loan = s.get(Loan, book.loans["L1"].id)
            assert loan is not None
            loan.amount_fen += 100
            s.add(loan)
            s.commit()
        assert _amount(client, bank) == before + 100 * step
        assert _amount(client, bank) == before + 100 * step


def test_a_write_committed_by_another_process_is_seen_by_the_next_request(
    client: Any, engine: Any, make_user: Any, other_engine: Any
) -> None:
    bank = make_user("bank")
    book = make_book(engine, bank.org)
    before = _amount(client, bank)
    assert _amount(client, bank) == before  # now served from the cache
    with other_engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE loan SET amount_fen = amount_fen + 100 WHERE id = {book.loans['L1'].id}")
    assert _amount(client, bank) == before + 100
    with other_engine.begin() as conn:  # a console's UPDATE selecting by the bank, same
        conn.exec_driver_sql(f"UPDATE loan SET amount_fen = amount_fen - 100 WHERE bank_org_id = {bank.org.id} "
                             f"AND id = {book.loans['L1'].id}")
    assert _amount(client, bank) == before


def test_rows_of_a_transaction_that_has_not_committed_are_never_served(
    client: Any, engine: Any, make_user: Any, other_engine: Any
) -> None:
    bank = make_user("bank")
    book = make_book(engine, bank.org)
    before = _amount(client, bank)
    with other_engine.connect() as conn:
        conn.exec_driver_sql(f"UPDATE loan SET amount_fen = amount_fen + 7 WHERE id = {book.loans['L1'].id}")
        # the writer itself may read its own rows, but nothing it computes is kept for others
        inside = result_cache.cached(conn, ("probe",), lambda: kpis.bureau_overview(
            conn, bank.org, _filter(), date(2026, 3, 1))["current"]["amount_fen"])
        assert inside == before + 7
        assert result_cache.cached(conn, ("probe",), lambda: -1) == -1  # computed again: nothing was stored
        if engine.dialect.name != "sqlite":  # SQLite's writer holds the file: readers wait for it
            assert _amount(client, bank) == before
        conn.rollback()
    assert _amount(client, bank) == before


def _filter() -> LoanFilter:
    return LoanFilter(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))


def test_one_caller_never_receives_another_callers_figures(client: Any, engine: Any, make_user: Any) -> None:
    first, second = make_user("bank"), make_user("bank")
    make_book(engine, first.org)
    mine = _amount(client, first)
    assert mine > 0
    assert _amount(client, second) == 0
    assert _amount(client, first) == mine
