"""The statistics rollup (issue 13): kept exact by triggers through every kind of write, and every
figure read through it equal to the same figure computed from the loans (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, event, text, update
from sqlmodel import Session, col

from api.pledge.models import Borrower, IPAsset, Loan, LoanCollateral
from api.stats import kpis, rollup
from api.stats import service as stats_service
from api.stats.filters import FUNDED_STATUSES, LoanFilter
from api.stats.stock import npl_stock_by_region, npl_stocks
from tests.factories import credit_code

pytestmark = pytest.mark.db

TODAY = date(2026, 12, 2)
REGIONS = ("330100", "330200", "320500", "500101", "440305", "110108")
STATUSES = (*FUNDED_STATUSES, "draft", "approved")


def assert_rollup_equals_the_loans(engine: Any) -> None:
    """The maintained tables equal a rebuild from the loans and their collateral (in a savepoint
    rolled back), and an emptied group has every sum 0."""
    with engine.connect() as conn, conn.begin():
        for table, keys in (("loan_rollup", rollup.KEY_COLUMNS), ("registration_rollup", rollup.REG_KEY_COLUMNS)):
            first_metric = "loan_count" if table == "loan_rollup" else "registration_count"
            empty = conn.execute(text(f"SELECT * FROM {table} WHERE {first_metric} = 0")).all()
            assert all(not any(v for v in row[len(keys):]) for row in empty)
        assert rollup.differences(conn) == []
        kept = rollup.snapshot(conn)
    with engine.connect() as conn:
        assert rollup.snapshot(conn) == kept  # the check changed nothing


def _loan(s: Session, bank_id: int, rng: random.Random, **kw: Any) -> Loan:
    region = kw.pop("region", rng.choice(REGIONS))
    b = Borrower(name="企业", credit_code=credit_code(region), region_code=region, industry="C", owner_org_id=bank_id)
    s.add(b)
    s.flush()
    orig = kw.pop("orig", date(2021, 1, 1) + timedelta(days=rng.randrange(0, 2150)))
    term = kw.pop("term", rng.choice((6, 12, 24, 36)))
    m = orig.month - 1 + term
    status = kw.pop("status", rng.choice(STATUSES))
    amount = kw.pop("amount", rng.choice((500_000_00, 9_999_999_99, 10_000_000_00, 15_000_000_00, 20_000_000_00,
                                         30_000_000_00)) + rng.randrange(0, 100))
    defaulted = status in ("default", "in_claim", "in_disposal", "recovered", "written_off") and rng.random() < 0.8
    loan = Loan(
        reference=f"RU{bank_id}-{b.id}", bank_org_id=bank_id, borrower_id=b.id, amount_fen=amount,
        outstanding_fen=kw.pop("out", rng.randrange(0, amount + 1)), annual_rate=Decimal("0.04"), term_months=term,
        status=status, region_code=region, province_code=region[:2] + "0000",
        industry=kw.pop("industry", rng.choice("CIM")),
        primary_ip_type=kw.pop("ip", rng.choice(("invention_patent", "trademark", "copyright"))),
        days_past_due=kw.pop("dpd", rng.choice((0, 0, 0, 30, 95, 200))), origination_date=orig,
        default_date=kw.pop("default_date", orig + timedelta(days=rng.randrange(30, 300)) if defaulted else None),
        maturity_date=date(orig.year + m // 12, m % 12 + 1, min(orig.day, 28)),
    )
    assert not kw, kw
    s.add(loan)
    s.flush()
    for k in range(rng.choice((0, 1, 1, 2, 3))):  # registered before, on or after the start; one not yet
        registered = None if k == 2 else orig + timedelta(days=rng.choice((-20, 0, 0, 45, 400)))
        _pledge(s, loan, rng, registered)
    return loan


def _pledge(s: Session, loan: Loan, rng: random.Random, registered: date | None) -> LoanCollateral:
    asset = IPAsset(ip_type="invention_patent", identifier=f"RU{loan.id}-{rng.random():.12f}", title="专利",
                    legal_status="valid", borrower_id=loan.borrower_id, owner_org_id=loan.bank_org_id)
    s.add(asset)
    s.flush()
    c = LoanCollateral(loan_id=loan.id, ip_asset_id=asset.id, pledge_registered_on=registered,
                       appraised_value_fen=rng.choice((None, 1_000_000_00, 2_500_000_00)), pledge_status="registered")
    s.add(c)
    s.flush()
    return c


def test_every_kind_of_write_keeps_the_rollup_equal_to_the_loans(engine: Any, make_org: Any) -> None:
    """Insert, each column the figures read, a move out of the funded statuses and back, a change of
    every dimension and date, bulk UPDATE and DELETE statements: after each, the rollup is exact."""
    rng = random.Random(13)
    bank, other = make_org("bank"), make_org("bank")
    with Session(engine) as s:
        loans = [_loan(s, bank.id, rng) for _ in range(40)]
        s.commit()
        ids = [x.id for x in loans]
    assert_rollup_equals_the_loans(engine)
    with engine.connect() as conn:  # every grain is kept, the two-dimension ones too
        assert {row[0] for row in rollup.snapshot(conn)} == set(rollup.GRAINS)
    changes: list[dict[str, Any]] = [
        {"status": "overdue", "days_past_due": 120}, {"status": "default", "default_date": date(2024, 5, 1)},
        {"outstanding_fen": 1}, {"default_date": None}, {"status": "draft"}, {"status": "active"},
        {"amount_fen": 20_000_000_00}, {"province_code": "440000", "region_code": "440305"},
        {"industry": "M"}, {"primary_ip_type": "copyright"}, {"bank_org_id": other.id},
        {"origination_date": date(2023, 2, 3), "maturity_date": date(2025, 2, 3), "term_months": 24},
        {"reference": "RU-renamed"},  # a column the rollup does not read
        {"days_past_due": 31}, {"days_past_due": 91}, {"days_past_due": 90},  # under, over, back under 90 days
        {"default_date": date(2024, 6, 1)}, {"status": "default", "default_date": date(2024, 7, 1)},
    ]
    for k, values in enumerate(changes):
        with Session(engine) as s:
            loan = s.get(Loan, ids[k])
            assert loan is not None
            for name, value in values.items():
                setattr(loan, name, value)
            s.add(loan)
            s.commit()
        assert_rollup_equals_the_loans(engine)
    with Session(engine) as s:  # collateral: added, re-dated, moved to another loan, released
        target = s.get(Loan, ids[0])
        assert target is not None
        added = _pledge(s, target, rng, date(2019, 5, 5)).id  # earlier than any: the loan's first now
        s.commit()
    assert_rollup_equals_the_loans(engine)
    for values in ({"pledge_registered_on": date(2026, 1, 9)}, {"appraised_value_fen": 7}, {"loan_id": ids[1]},
                   {"pledge_registered_on": None}):
        with engine.begin() as conn:
            conn.execute(update(LoanCollateral).where(col(LoanCollateral.id) == added).values(**values))
        assert_rollup_equals_the_loans(engine)
    with engine.begin() as conn:
        conn.execute(delete(LoanCollateral).where(col(LoanCollateral.loan_id).in_(ids[2:4])))
    assert_rollup_equals_the_loans(engine)
    with engine.begin() as conn:  # set-based statements, as a job or a console would issue them
        conn.execute(update(Loan).where(col(Loan.id).in_(ids[20:30])).values(days_past_due=Loan.days_past_due + 91))
        conn.execute(update(Loan).where(col(Loan.id).in_(ids[30:35])).values(status="written_off", outstanding_fen=0))
        conn.execute(delete(LoanCollateral).where(col(LoanCollateral.loan_id).in_(ids[35:])))
        conn.execute(delete(Loan).where(col(Loan.id).in_(ids[35:])))
    assert_rollup_equals_the_loans(engine)


def test_a_failed_write_leaves_the_rollup_as_it_was(engine: Any, make_org: Any) -> None:
    bank = make_org("bank")
    rng = random.Random(5)
    with Session(engine) as s:
        loan_id = _loan(s, bank.id, rng, status="active").id
        s.commit()
    with engine.connect() as conn:
        before = rollup.snapshot(conn)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(update(Loan).where(col(Loan.id) == loan_id).values(status="default", outstanding_fen=7))
        raise RuntimeError("the request fails after the write")
    with engine.connect() as conn:
        assert rollup.snapshot(conn) == before
    assert_rollup_equals_the_loans(engine)


@pytest.fixture
def book(engine: Any, make_org: Any) -> dict[str, Any]:
    """Two banks' loans over six years in six regions, three industries and IP types, every status,
    amounts either side of both inclusive thresholds, defaults dated and undated."""
    rng = random.Random(2026)
    banks = [make_org("bank"), make_org("bank")]
    with Session(engine) as s:
        for _ in range(300):
            _loan(s, rng.choice(banks).id, rng)
        for status in ("settled", "default"):  # maturing on, and originated on, a period end (2024-06-28)
            _loan(s, banks[0].id, rng, orig=date(2023, 6, 28), term=12, status=status, default_date=None)
            _loan(s, banks[0].id, rng, orig=date(2024, 6, 28), term=12, status=status, default_date=date(2024, 6, 28))
        s.commit()
    return {
        "admin": make_org("admin"), "national": make_org("bureau"), "zhejiang": make_org("bureau", "330000"),
        "hangzhou": make_org("bureau", "330100"), "bank": banks[0], "guarantor": make_org("guarantor"),
        "banks": banks,
    }


def _filters(banks: list[Any], every_dimension: bool) -> list[LoanFilter]:
    """Whole years, odd dates (one ending on a maturity and an origination day), open ends and the
    current half-year × the dimensions (all of them, or none and one, for scopes read from the loans):
    none, each one, each pair (with a scope: a bank's industry, a province's IP type…), three at once,
    a region, and a filter disjoint from a scope."""
    periods = [LoanFilter(date(2022, 1, 1), date(2022, 12, 31)), LoanFilter(date(2025, 1, 1), date(2025, 12, 31)),
               LoanFilter(date(2024, 3, 17), date(2025, 2, 9)), LoanFilter(date(2024, 1, 1), date(2024, 6, 28)),
               LoanFilter(date(2026, 6, 1), date(2026, 12, 31)), LoanFilter(None, None),
               LoanFilter(date(2025, 7, 1), None)]
    dims: list[dict[str, Any]] = [{}, {"industry": "C"}]
    if every_dimension:
        dims += [{"province_code": "330000"}, {"ip_type": "trademark"}, {"bank_org_id": banks[0].id},
                 {"province_code": "330000", "industry": "M"}, {"region_code": "330100"}, {"province_code": "320000"},
                 {"industry": "I", "ip_type": "copyright"}, {"ip_type": "trademark", "bank_org_id": banks[1].id},
                 {"province_code": "500000", "bank_org_id": banks[0].id},
                 {"province_code": "330000", "industry": "C", "ip_type": "trademark"}]
    return [replace(p, **d) for p in periods for d in dims]


def _figures(conn: Any, org: Any, flt: LoanFilter, threshold: int) -> dict[str, Any]:
    out = kpis.bureau_overview(conn, org, flt, TODAY, threshold)
    out.pop("definitions")
    out["breakdowns"] = stats_service.breakdowns(conn, org, flt, ("province", "industry", "ip_type", "bank"))
    out["series"] = stats_service.timeseries(conn, org, flt, "month")
    out["npl_by_province"] = npl_stock_by_region(conn, org, flt, "province", TODAY)
    out["stocks_now"] = npl_stocks(conn, org, [flt], date(2026, 12, 1))
    out["data_period"] = stats_service.data_period(conn, org)
    return out


def test_every_figure_from_the_rollup_equals_the_same_figure_from_the_loans(engine: Any, book: dict[str, Any]) -> None:
    """Each scope (platform, national, provincial, city bureau, bank, guarantor) × periods (whole years,
    odd dates, open ends, the current year) × dimensions, both inclusive thresholds and another: the
    overview with 环比/同比, NPL stocks past and present, vintage, breakdowns, series and the map."""
    statements: list[str] = []
    parameters: set[Any] = set()

    def seen(*args: Any) -> None:
        statements.append(args[2])
        if "_rollup" in args[2]:
            params = args[3]
            parameters.update(params.values() if isinstance(params, dict) else params or ())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with engine.connect() as conn:
            for who in ("admin", "national", "zhejiang", "hangzhou", "bank", "guarantor"):
                every_dimension = who in ("admin", "national", "zhejiang", "bank")
                for flt in _filters(book["banks"], every_dimension=every_dimension):
                    for threshold in (10_000_000, 20_000_000, 5_000_000):
                        dimensions = (flt.province_code, flt.region_code, flt.industry, flt.ip_type, flt.bank_org_id)
                        if threshold != 10_000_000 and (flt.date_from is None or any(dimensions)):
                            continue  # the other thresholds once per dated period, without dimensions
                        got = _figures(conn, book[who], flt, threshold)
                        with rollup.raw_queries():
                            want = _figures(conn, book[who], flt, threshold)
                        assert got == want, (who, flt, threshold)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert any("loan_rollup" in s for s in statements)
    assert any("registration_rollup" in s for s in statements)
    assert set(rollup.PAIRS) <= parameters  # every two-dimension grain was read (and agreed with the loans)


def test_which_scopes_and_filters_the_rollup_answers(book: dict[str, Any]) -> None:
    bank = book["bank"]
    assert rollup.grain_of(book["national"], LoanFilter()) == ("all", "")
    assert rollup.grain_of(book["admin"], LoanFilter(industry="C")) == ("industry", "C")
    assert rollup.grain_of(book["zhejiang"], LoanFilter()) == ("province", "330000")
    assert rollup.grain_of(book["zhejiang"], LoanFilter(province_code="330000")) == ("province", "330000")
    assert rollup.grain_of(bank, LoanFilter()) == ("bank", str(bank.id))
    assert rollup.grain_of(book["hangzhou"], LoanFilter()) is None  # a city: from the loans
    assert rollup.grain_of(book["guarantor"], LoanFilter()) is None
    assert rollup.grain_of(book["national"], LoanFilter(region_code="330100")) is None
    # two dimensions — a scope and a filter on another, or two filters: the pair's grain, values in
    # canonical order (province, industry, IP type, bank) joined by "|"
    assert rollup.grain_of(book["national"], LoanFilter(province_code="330000", industry="C")) == (
        "prov+ind", "330000|C")
    assert rollup.grain_of(bank, LoanFilter(industry="C")) == ("ind+bank", f"C|{bank.id}")
    assert rollup.grain_of(bank, LoanFilter(ip_type="trademark")) == ("ip+bank", f"trademark|{bank.id}")
    assert rollup.grain_of(book["zhejiang"], LoanFilter(ip_type="trademark")) == ("prov+ip", "330000|trademark")
    assert rollup.grain_of(book["zhejiang"], LoanFilter(province_code="330000", industry="C")) == (
        "prov+ind", "330000|C")  # the scope's own province as a filter: still two dimensions
    assert rollup.grain_of(book["admin"], LoanFilter(industry="C", bank_org_id=bank.id)) == ("ind+bank", f"C|{bank.id}")
    assert rollup.grain_of(bank, LoanFilter(bank_org_id=bank.id, ip_type="design")) == ("ip+bank", f"design|{bank.id}")
    assert all(len(g) <= 10 for g in rollup.GRAINS)  # the grain column holds 10 characters
    # three dimensions, a region with another dimension, a scope and a disjoint filter: from the loans
    assert rollup.grain_of(bank, LoanFilter(industry="C", ip_type="trademark")) is None
    assert rollup.grain_of(book["national"], LoanFilter(province_code="330000", industry="C", ip_type="design")) is None
    assert rollup.grain_of(book["hangzhou"], LoanFilter(industry="C")) is None
    assert rollup.grain_of(book["zhejiang"], LoanFilter(region_code="330100", industry="C")) is None
    assert rollup.grain_of(bank, LoanFilter(bank_org_id=book["banks"][1].id, industry="C")) is None
    assert rollup.grain_of(book["zhejiang"], LoanFilter(province_code="320000", industry="C")) is None
    with rollup.raw_queries():
        assert rollup.grain_of(book["national"], LoanFilter()) is None


def test_the_check_finds_a_rollup_that_drifted_and_the_rebuild_repairs_it(
    engine: Any, make_org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """As after a load with triggers off: ``ipfin db check-rollups`` exits 1 naming the command that
    repairs it, ``ipfin db rebuild-rollups`` does, and the check then passes."""
    from ipfin_app.cli import main

    bank = make_org("bank")
    with Session(engine) as s:
        _loan(s, bank.id, random.Random(8), status="active")
        s.commit()
    url = engine.url.render_as_string(hide_password=False)
    assert main(["db", "check-rollups", "--database-url", url]) == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE loan_rollup SET amount_fen = amount_fen + 1 WHERE grain = 'industry'"))
    assert main(["db", "check-rollups", "--database-url", url]) == 1
    assert "ipfin db rebuild-rollups" in capsys.readouterr().err
    assert main(["db", "rebuild-rollups", "--database-url", url]) == 0
    assert main(["db", "check-rollups", "--database-url", url]) == 0
    assert_rollup_equals_the_loans(engine)


def test_the_rollup_commands_on_a_database_not_yet_migrated_say_to_upgrade_first(
    engine: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from ipfin_app.cli import main

    url = f"sqlite:///{tmp_path / 'old.db'}"
    try:
        assert main(["db", "check-rollups", "--database-url", url]) == 1
        assert main(["db", "rebuild-rollups", "--database-url", url]) == 1
    finally:
        main(["db", "current", "--database-url", engine.url.render_as_string(hide_password=False)])
    assert capsys.readouterr().err.count("run `ipfin db upgrade` first") == 2
