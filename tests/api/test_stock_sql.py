"""The past NPL stock from the rollup, summed in SQL (issue 13): each (origination day, term) group's
scheduled balance is computed in the database with the integer arithmetic of
:func:`api.stats.stock.scheduled_balance_fen` — rounded half-up once per group, as the ``npl_ratio``
definition says — and equals the Python path and the loans' path; a group too large for 64-bit
arithmetic falls back to Python's big integers (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import Session, col

from api.pledge.models import Borrower, Loan
from api.stats import rollup, stock
from api.stats.filters import LoanFilter
from api.stats.stock import npl_stock_by_region, npl_stocks, scheduled_balance_fen
from tests.factories import credit_code

pytestmark = pytest.mark.db

TODAY = date(2026, 12, 2)
END = date(2025, 6, 30)
PERIOD = LoanFilter(date(2025, 1, 1), END)
LIMIT_12 = (2**63 - 1 - 487 * 12) // (2 * 487 * 12)
"""The largest performing principal (fen) of a 12-month group computed in SQL: 2 × amt × den + den ≤ 2^63 − 1
with den = 487 × 12 (30.4375 = 487/16 days a month)."""


def _months(d: date, n: int) -> date:
    m = d.month - 1 + n
    return date(d.year + m // 12, m % 12 + 1, min(d.day, 28))


def _loan(s: Session, bank_id: int, orig: date, term: int, amount: int, region: str = "650102", **kw: Any) -> Loan:
    b = Borrower(name="企业", credit_code=credit_code(region), region_code=region, industry="C", owner_org_id=bank_id)
    s.add(b)
    s.flush()
    loan = Loan(
        reference=f"SQ{bank_id}-{b.id}", bank_org_id=bank_id, borrower_id=b.id, amount_fen=amount,
        outstanding_fen=kw.pop("out", amount), annual_rate=Decimal("0.04"), term_months=term,
        status=kw.pop("status", "active"), region_code=region, province_code=region[:2] + "0000", industry="C",
        primary_ip_type="invention_patent", days_past_due=kw.pop("dpd", 0), origination_date=orig,
        default_date=kw.pop("default_date", None), maturity_date=kw.pop("maturity", _months(orig, term)),
    )
    assert not kw, kw
    s.add(loan)
    s.flush()
    return loan


@pytest.fixture
def planted(engine: Any) -> Iterator[list[int]]:
    """Ids of loans a test plants; deleted afterwards (the triggers take them out of the rollup again), so
    no other test of the session sees a principal that large."""
    ids: list[int] = []
    yield ids
    with engine.begin() as conn:
        borrowers = [b for (b,) in conn.execute(Loan.__table__.select().with_only_columns(  # type: ignore[attr-defined]
            col(Loan.borrower_id)).where(col(Loan.id).in_(ids)))]
        conn.execute(delete(Loan).where(col(Loan.id).in_(ids)))
        conn.execute(delete(Borrower).where(col(Borrower.id).in_(borrowers)))


def _three_ways(conn: Any, org: Any, flts: list[LoanFilter], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, Any]:
    """The past stocks of ``flts`` (and the map by province at the first period's end) three ways: summed in
    SQL (the Python path forbidden), with the arithmetic in Python, and from the loans."""
    def figures() -> Any:
        return ([s.as_dict() for s in npl_stocks(conn, org, flts, TODAY)],
                {k: v.as_dict() for k, v in npl_stock_by_region(conn, org, flts[0], "province", TODAY).items()})

    def forbidden(*_: Any) -> Any:
        raise AssertionError("the Python path was taken")

    with monkeypatch.context() as m:
        m.setattr(stock, "_past_stocks_rolled_py", forbidden)
        in_sql = figures()
    with monkeypatch.context() as m:
        m.setattr(stock, "_rolled_sums_sql", lambda *_: None)
        in_python = figures()
    with rollup.raw_queries():
        from_loans = figures()
    return in_sql, in_python, from_loans


def test_a_group_exactly_at_a_half_fen_rounds_up(engine: Any, make_org: Any, planted: list[int]) -> None:
    """487 × 1,000,001 fen over 32 months, 101 days in: 1,000,001 × (974 − 101) ÷ 2 = 436,500,436.5 fen
    scheduled → 436,500,437 half-up (truncation or banker's rounding would give …436)."""
    bank = make_org("bank")
    with Session(engine) as s:
        planted.append(int(_loan(s, bank.id, END - timedelta(days=101), 32, 487 * 1_000_001).id or 0))
        s.commit()
    assert scheduled_balance_fen(487 * 1_000_001, END - timedelta(days=101), 32, END) == 436_500_437
    with engine.connect() as conn:
        got = npl_stocks(conn, bank, [PERIOD], TODAY)[0]
        with rollup.raw_queries():
            want = npl_stocks(conn, bank, [PERIOD], TODAY)[0]
    assert (got.loan_count, got.outstanding_fen, got.npl_outstanding_fen) == (1, 436_500_437, 0)
    assert got == want


def test_the_scheduled_balance_is_rounded_once_per_group_not_per_loan(
    engine: Any, make_org: Any, planted: list[int]
) -> None:
    """Two loans of 487 × 500,001 fen on the same day and term, each 218,250,436.5 fen scheduled: the group's
    487 × 1,000,002 fen is exactly 436,500,873 (rounding each loan would give …874)."""
    bank = make_org("bank")
    with Session(engine) as s:
        for _ in range(2):
            planted.append(int(_loan(s, bank.id, END - timedelta(days=101), 32, 487 * 500_001).id or 0))
        s.commit()
    with engine.connect() as conn:
        got = npl_stocks(conn, bank, [PERIOD], TODAY)[0]
        with rollup.raw_queries():
            want = npl_stocks(conn, bank, [PERIOD], TODAY)[0]
    assert (got.loan_count, got.outstanding_fen) == (2, 436_500_873)
    assert got == want


def test_sql_python_and_loans_agree_on_every_end_scope_and_province(
    engine: Any, make_org: Any, planted: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Performing, defaulted by the end or after it, non-performing without a default date, maturing on an
    end, a term of 0 and groups of several loans; this period, the previous and a year ago at once; a bank's
    book, the national one and a province's (the map is grouped by province)."""
    rng = random.Random(1313)
    bank = make_org("bank")
    with Session(engine) as s:
        for _ in range(120):
            orig = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 40) * 30)
            term = rng.choice((0, 6, 12, 24, 36))
            amount = rng.choice((487, 1_000_000_00, 9_999_999_99)) + rng.randrange(0, 1000)
            kind = rng.choice(("good", "good", "defaulted", "undated"))
            kw: dict[str, Any] = {"region": rng.choice(("650102", "330106", "500101"))}
            if kind == "defaulted":
                defaulted_on = orig + timedelta(days=rng.randrange(30, 700))
                kw |= {"status": "default", "out": amount // 3, "default_date": defaulted_on}
            elif kind == "undated":
                kw |= {"status": "overdue", "dpd": 120, "out": amount // 2}
            if term == 0:
                kw["maturity"] = orig + timedelta(days=200)
            planted.append(int(_loan(s, bank.id, orig, term, amount, **kw).id or 0))
        planted.append(int(_loan(s, bank.id, date(2023, 12, 31), 18, 123_457, maturity=END).id or 0))
        s.commit()
    flts = [PERIOD, *(f for f in (PERIOD.previous(), PERIOD.year_ago()) if f)]
    for org in (bank, make_org("bureau"), make_org("bureau", "650000")):
        with engine.connect() as conn:
            in_sql, in_python, from_loans = _three_ways(conn, org, flts, monkeypatch)
        assert in_sql == in_python == from_loans, org.kind
        assert in_sql[0][0]["loan_count"] > 0 and in_sql[1]


def test_a_group_too_large_for_64_bit_arithmetic_falls_back_to_python(
    engine: Any, make_org: Any, planted: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 12-month group of exactly LIMIT_12 fen is still summed in SQL (and exact: 2 × amt × den + den fits);
    a group far beyond it (10^16 fen) and one a fen beyond it come from Python's big integers — the same as
    the loans' figures — rather than overflowing (PostgreSQL: an error; SQLite: a float)."""
    bank, huge, national = make_org("bank"), make_org("bank"), make_org("bureau")
    orig = END - timedelta(days=100)
    with Session(engine) as s:
        planted.append(int(_loan(s, bank.id, orig, 12, LIMIT_12).id or 0))
        s.commit()
    with engine.connect() as conn:
        in_sql, in_python, from_loans = _three_ways(conn, bank, [PERIOD], monkeypatch)
    assert in_sql == in_python == from_loans
    assert in_sql[0][0]["outstanding_fen"] == scheduled_balance_fen(LIMIT_12, orig, 12, END)

    took: list[str] = []
    python_path = stock._past_stocks_rolled_py

    def spy(*args: Any) -> Any:
        took.append("python")
        return python_path(*args)

    monkeypatch.setattr(stock, "_past_stocks_rolled_py", spy)
    with Session(engine) as s:  # 10^16 fen a day in: 2 × amt × num ≈ 1.2 × 10^20, past 2^63 − 1
        planted.append(int(_loan(s, huge.id, END - timedelta(days=1), 12, 10**16).id or 0))
        s.commit()
    with engine.connect() as conn:
        got = [s.as_dict() for s in npl_stocks(conn, huge, [PERIOD], TODAY)]
    assert got[0]["outstanding_fen"] == scheduled_balance_fen(10**16, END - timedelta(days=1), 12, END)
    assert took == ["python"]

    with Session(engine) as s:
        planted.append(int(_loan(s, bank.id, orig, 12, 1).id or 0))  # the same group: LIMIT_12 + 1 fen
        s.commit()
    with engine.connect() as conn:
        got = [s.as_dict() for s in npl_stocks(conn, bank, [PERIOD], TODAY)]
        got_map = {k: v.as_dict() for k, v in npl_stock_by_region(conn, national, PERIOD, "province", TODAY).items()}
        with rollup.raw_queries():
            want = [s.as_dict() for s in npl_stocks(conn, bank, [PERIOD], TODAY)]
            want_map = {k: v.as_dict()
                        for k, v in npl_stock_by_region(conn, national, PERIOD, "province", TODAY).items()}
    assert got == want and got_map == want_map
    assert got[0]["outstanding_fen"] == scheduled_balance_fen(LIMIT_12 + 1, orig, 12, END)
    assert took == ["python", "python", "python"]  # the bank's stock and the map
