"""The demo IP transaction register (``api.transactions.demo``): every kind, pricing method and trading
mode over the book's years, pledge disposals exactly as the completed disposals, the seeds' city figures
at the book's scale, and a volumes report (``GET /api/v1/ip-transactions/reports/volumes``) that adds up."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from api.core.db import make_engine, upgrade
from api.demo import generate
from api.transactions import demo as tx_demo
from api.transactions.reports import volumes
from valuation.transactions import PricingMethod, TradingMode, TransactionKind

pytestmark = pytest.mark.db

N = 6_000
AS_OF = date(2026, 3, 1)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('txdemo') / 'book.db'}")
    upgrade(engine)
    engine.counts = generate(engine, N, seed=11, as_of=AS_OF)  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


def _all(engine: Any, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def test_the_register_has_every_kind_method_and_mode_over_the_books_years(book):
    kinds = {k for (k,) in _all(book, "SELECT DISTINCT kind FROM ip_transaction")}
    methods = {m for (m,) in _all(book, "SELECT DISTINCT pricing_method FROM ip_transaction")}
    modes = {m for (m,) in _all(book, "SELECT DISTINCT trading_mode FROM ip_transaction")}
    assert kinds == {k.value for k in TransactionKind}
    assert methods == {m.value for m in PricingMethod} and modes == {m.value for m in TradingMode}
    years = {str(d)[:4] for (d,) in _all(book, "SELECT transaction_date FROM ip_transaction")}
    assert years == {str(y) for y in range(2019, AS_OF.year + 1)}
    (latest,) = _all(book, "SELECT MAX(transaction_date) FROM ip_transaction")[0]
    assert str(latest) <= AS_OF.isoformat()
    market = book.counts["ip_transactions_market"]
    assert market == _all(book, "SELECT COUNT(*) FROM ip_transaction WHERE source = 'import'")[0][0]
    assert market >= tx_demo.ROWS_PER_LOAN * N * 0.9


def test_prices_are_positive_integer_fen_on_the_collateral_valuations_scale(book):
    (median_value,) = _all(book, "SELECT value_fen FROM pledge_collateral_valuation ORDER BY value_fen "
                                 "LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM pledge_collateral_valuation)")[0]
    sale = sorted(p for (p,) in _all(book, "SELECT price_fen FROM ip_transaction WHERE kind = 'sale'"))
    assert all(isinstance(p, int) and p > 0 for p in sale)
    assert 0.1 * median_value < sale[len(sale) // 2] < 2 * median_value
    lic = sorted(p for (p,) in _all(book, "SELECT price_fen FROM ip_transaction WHERE kind = 'non_exclusive_licence'"))
    assert lic[len(lic) // 2] < sale[len(sale) // 2]  # a licence sells a fraction of the right


def test_disposal_rows_are_exactly_the_completed_disposals(book):
    completed = _all(book, "SELECT id, proceeds FROM pledge_disposal WHERE completed_on IS NOT NULL")
    rows = dict(_all(book, "SELECT disposal_id, price_fen FROM ip_transaction WHERE kind = 'pledge_disposal'"))
    assert completed and len(rows) == len(completed)
    for did, proceeds in completed:
        items = json.loads(proceeds) if isinstance(proceeds, str) else proceeds
        assert rows[did] == sum(int(i["amount_fen"]) for i in items)
    assert _all(book, "SELECT COUNT(*) FROM ip_transaction WHERE kind = 'pledge_disposal' "
                      "AND source <> 'pledge_disposal'")[0][0] == 0


def test_the_seeds_city_figures_hold_at_the_books_scale(book):
    with book.connect() as conn:
        scale = tx_demo._scale(conn, AS_OF)
    prefix, lo, hi, count, total = tx_demo.HANGZHOU
    n, fen = _all(book, "SELECT COUNT(*), SUM(price_fen) FROM ip_transaction WHERE region_code LIKE :p "
                        "AND transaction_date BETWEEN :lo AND :hi AND source = 'import'",
                  p=prefix + "%", lo=lo, hi=hi)[0]
    assert n == round(count / scale) > 0 and fen == round(total / scale)
    prefix, lo, hi, total = tx_demo.GUANGZHOU_2019
    (fen,) = _all(book, "SELECT SUM(price_fen) FROM ip_transaction WHERE region_code LIKE :p "
                        "AND transaction_date BETWEEN :lo AND :hi AND source = 'import'",
                  p=prefix + "%", lo=lo, hi=hi)[0]
    assert fen == round(total / scale)
    assert _all(book, "SELECT kind, asset_count FROM ip_transaction WHERE asset_count = 132") == [
        ("reserve_purchase", 132)]
    assert _all(book, "SELECT COUNT(*) FROM ip_transaction WHERE kind = 'equity_contribution' "
                      "AND price_fen = 500000000 AND region_code LIKE '50%'")[0][0] == 1


def test_the_volumes_report_adds_up_to_the_register(book):
    with Session(book) as s:
        rep = volumes(s, {})
        one_year = volumes(s, {"date_from": date(2023, 1, 1), "date_to": date(2023, 12, 31),
                               "region_prefix": "50"})
    n, fen = _all(book, "SELECT COUNT(*), SUM(price_fen) FROM ip_transaction")[0]
    assert (rep.total_count, rep.total_value_fen) == (n, fen)
    for rows in (rep.by_pricing_method, rep.by_trading_mode, rep.cross):
        assert sum(r.count for r in rows) == n and sum(r.value_fen for r in rows) == fen
    assert all(r.count > 0 for r in rep.by_pricing_method + rep.by_trading_mode)
    n23, fen23 = _all(book, "SELECT COUNT(*), SUM(price_fen) FROM ip_transaction WHERE region_code LIKE '50%' "
                            "AND transaction_date BETWEEN '2023-01-01' AND '2023-12-31'")[0]
    assert (one_year.total_count, one_year.total_value_fen) == (n23, fen23) and 0 < n23 < n
