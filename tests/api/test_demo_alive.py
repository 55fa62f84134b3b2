"""The demo book is alive on any day (bureau issue 13, item 4): it runs up to today, with a
believable NPL ratio, fee and legal status, regional spread and seeded ABS runs; it is drawn from
a known hazard model; and it is reproducible block by block (performance issue 17, item 3)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from api.core.db import make_engine, upgrade
from api.demo import (
    BLOCK,
    DEMO_HAZARD,
    SEED_CITY_SHARES,
    SEED_PROVINCE_SHARES,
    draw_defaults,
    generate,
    year_weights,
)
from api.identity.models import Organisation
from api.securitization.reports import abs_view
from api.stats.collateral import collateral_report
from api.stats.filters import LoanFilter
from api.stats.kpis import bureau_overview
from ipfin import regions
from pledge.early_warning import build_features

N = 20_000
TODAY = date.today()
NOT_REPRODUCIBLE = ("created_at", "updated_at", "finished_at", "at", "hashed_password")
"""Wall-clock timestamps and salted password hashes: everything else must repeat exactly."""


def _fresh(path: Path) -> Any:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A default demo book (as of today), as ``make run`` seeds it."""
    engine = _fresh(tmp_path_factory.mktemp("alive") / "book.db")
    generate(engine, N)
    yield engine
    engine.dispose()


def _org(engine: Any, name: str) -> Organisation:
    with Session(engine) as s:
        return s.exec(select(Organisation).where(Organisation.name == name)).one()


def _day(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


# ------------------------------------------------------------------ alive today


def test_the_book_runs_up_to_the_current_month_of_today(book: Any) -> None:
    with book.connect() as c:
        dates = [_day(d) for (d,) in c.execute(text("SELECT origination_date FROM loan"))]
    assert max(dates) <= TODAY
    months_this_year = {d.month for d in dates if d.year == TODAY.year}
    assert months_this_year == set(range(1, TODAY.month + 1))  # every month of this year so far has loans
    assert min(dates).year == 2019


@pytest.mark.parametrize("as_of", [date(2026, 1, 1), date(2031, 3, 15)])
def test_any_as_of_date_gives_a_book_ending_in_that_month(tmp_path: Path, as_of: date) -> None:
    engine = _fresh(tmp_path / "x.db")
    generate(engine, 1_500, seed=2, as_of=as_of)
    with engine.connect() as c:
        last = _day(c.execute(text("SELECT MAX(origination_date) FROM loan")).scalar_one())
    assert (last.year, last.month) == (as_of.year, as_of.month) and last <= as_of


def test_the_landing_page_figures_are_believable(book: Any) -> None:
    """The overview's default period (this year to today): loans, an NPL ratio (stock) near 1.8%
    (a 20,000-loan book moves ± 0.3 points from day to day: the band is ± 3 of those), and
    period-on-period / year-on-year changes that are not the −100% of a book ending last year."""
    flt = LoanFilter(date_from=date(TODAY.year, 1, 1), date_to=TODAY)
    with book.connect() as c:
        ov = bureau_overview(c, _org(book, "国家知识产权局"), flt, TODAY)
    assert ov["current"]["loan_count"] > 0.05 * N
    assert 0.009 <= ov["npl_stock"]["current"]["npl_ratio"] <= 0.027
    assert 0.009 <= ov["npl_stock"]["previous"]["npl_ratio"] <= 0.035
    for key in ("change", "change_yoy"):
        assert -0.5 < ov[key]["amount_fen"] < 1.0, (key, ov[key])
        assert -0.5 < ov[key]["loan_count"] < 1.0, (key, ov[key])


def test_the_bank_page_flags_few_lapsed_or_unpaid_rights(book: Any) -> None:
    """Most pledged patents are paid up and in force: the demo bank's lapse / fee-unpaid flags
    cover a few percent of its live loans (not 1,160 of 1,209), and re-valuations are mostly current."""
    bank = _org(book, "长江科创银行")
    with book.connect() as c:
        rep = collateral_report(c, bank, as_of=TODAY)
    assert rep.loan_count > 500
    assert 0 < rep.lapse_count <= 0.05 * rep.loan_count
    assert rep.revaluation_due_count <= 0.10 * rep.loan_count
    assert rep.ltv_breach_count <= 0.10 * rep.loan_count


def test_fee_and_legal_status_follow_the_stated_calibration(book: Any) -> None:
    with book.connect() as c:
        rows = c.execute(text(
            "SELECT legal_status, annual_fee_paid_until FROM ip_asset "
            "WHERE ip_type IN ('invention_patent', 'utility_model', 'design')")).all()
        others = c.execute(text(
            "SELECT COUNT(*) FROM ip_asset WHERE ip_type NOT IN ('invention_patent', 'utility_model', 'design') "
            "AND annual_fee_paid_until IS NOT NULL")).scalar_one()
    granted = [_day(p) for s, p in rows if s == "granted"]
    late = sum(p < TODAY for p in granted) / len(granted)
    lapsed = sum(s == "lapsed" for s, _ in rows) / len(rows)
    assert 0.008 < late < 0.025  # 3% of the ≈ half within the 6-month grace period
    assert 0.001 < lapsed < 0.006
    assert all(p <= TODAY + timedelta(days=366) for p in granted)  # paid for the current patent year only
    assert others == 0  # trademarks and copyrights pay no annual fee


def test_the_demo_bank_pools_have_seeded_deterministic_and_monte_carlo_runs(book: Any) -> None:
    bank = _org(book, "长江科创银行")
    with book.connect() as c:
        pools = abs_view(c, bank)
        assert pools is not None and len(pools["pools"]) >= 4
        for p in pools["pools"]:
            view = abs_view(c, bank, pool_id=p["id"])
            assert view is not None
            assert view["deterministic"] and view["deterministic"]["scenarios"], p["name"]
            assert view["monte_carlo"] and view["monte_carlo"]["run_id"], p["name"]


# ------------------------------------------------------------------ calibration


def test_regions_are_real_counties_and_follow_the_seeded_shares(book: Any) -> None:
    with book.connect() as c:
        rows = c.execute(text("SELECT region_code, city_code, province_code FROM loan")).all()
    codes = {r[0] for r in rows}
    assert len(codes) > 1000  # spread over real counties, not a few capitals
    for region, city, province in rows[:2000]:
        assert regions.get(region) is not None and regions.province_of(region) == province
        assert regions.city_of(region) == city
    n = len(rows)
    for code, share in {**SEED_PROVINCE_SHARES, **SEED_CITY_SHARES}.items():
        got = sum((r[2] if code.endswith("0000") else r[1]) == code for r in rows) / n
        se = (share * (1 - share) / n) ** 0.5
        assert abs(got - share) < 4 * se, (code, got, share)


def test_loans_per_year_follow_the_published_amounts_up_to_today(book: Any) -> None:
    with book.connect() as c:
        counts = dict(c.execute(text(
            "SELECT CAST(strftime('%Y', origination_date) AS INTEGER), COUNT(*) FROM loan GROUP BY 1")).all())
    weights = year_weights(TODAY)
    total = sum(weights.values())
    assert set(counts) == set(weights)
    for year, w in weights.items():
        assert abs(counts[year] - N * w / total) <= 1


def test_defaults_are_drawn_from_the_known_hazard_model(book: Any) -> None:
    """Loans seasoned a year: defaults within 12 months of origination match the true model's PDs
    on the features at origination, rebuilt from the stored book (overall and for micro firms)."""
    with book.connect() as c:
        loans = c.execute(text(
            "SELECT l.id, l.amount_fen, l.origination_date, l.default_date, l.industry, l.province_code, "
            "b.size_class, l.primary_ip_type FROM loan l JOIN borrower b ON b.id = l.borrower_id "
            "ORDER BY l.id")).all()
        coll = c.execute(text(
            "SELECT lc.loan_id, v.value_fen, v.p5_fen, v.valuation_date FROM loan_collateral lc "
            "JOIN pledge_collateral_valuation v ON v.ip_asset_id = lc.ip_asset_id "
            "WHERE v.id = (SELECT MIN(id) FROM pledge_collateral_valuation w WHERE w.ip_asset_id = lc.ip_asset_id) "
            "ORDER BY lc.loan_id, lc.ip_asset_id")).all()
    value: dict[int, float] = {}
    cv_w: dict[int, float] = {}
    first_val: dict[int, date] = {}
    for lid, v, p5, vd in coll:
        value[lid] = value.get(lid, 0) + v
        cv_w[lid] = cv_w.get(lid, 0) + v * (1 - p5 / v) / 1.6449
        first_val.setdefault(lid, _day(vd))
    seasoned = [r for r in loans if _day(r[2]) <= TODAY - timedelta(days=366)]
    X = build_features({
        "ltv_now": [r[1] / value[r[0]] for r in seasoned], "ltv_change": [0.0] * len(seasoned),
        "max_dpd_12m": [0.0] * len(seasoned), "dpd_now": [0.0] * len(seasoned),
        "n_fee_events_12m": [0.0] * len(seasoned), "valuation_cv": [cv_w[r[0]] / value[r[0]] for r in seasoned],
        "valuation_age_years": [(_day(r[2]) - first_val[r[0]]).days / 365.25 for r in seasoned],
        "loan_age_years": [0.0] * len(seasoned), "legal_event": ["none"] * len(seasoned),
        "industry": [r[4] for r in seasoned], "province": [r[5] for r in seasoned],
        "borrower_size": [r[6] for r in seasoned], "ip_type": [r[7] for r in seasoned],
    })
    pd12 = DEMO_HAZARD.pd_12m(X)
    observed = np.array([r[3] is not None and (_day(r[3]) - _day(r[2])).days <= 365 for r in seasoned])
    for mask in (np.ones(len(seasoned), bool), np.array([r[6] == "micro" for r in seasoned])):
        expected, sd = pd12[mask].sum(), np.sqrt((pd12[mask] * (1 - pd12[mask])).sum())
        assert abs(observed[mask].sum() - expected) < 4 * sd, (observed[mask].sum(), expected)
    assert 0.012 < pd12.mean() < 0.022  # the demo's calibration: mean 12-month PD ≈ 1.6%


def test_draw_defaults_is_the_hazard_models_bernoulli_draw() -> None:
    rng = np.random.default_rng(5)
    n = 200_000
    X = build_features({
        "ltv_now": rng.uniform(0.2, 1.2, n), "ltv_change": rng.normal(0, 0.2, n),
        "max_dpd_12m": rng.integers(0, 120, n), "dpd_now": rng.integers(0, 60, n),
        "n_fee_events_12m": rng.poisson(0.2, n), "valuation_cv": rng.uniform(0.1, 0.6, n),
        "valuation_age_years": rng.uniform(0, 2, n), "loan_age_years": rng.uniform(0, 3, n),
        "legal_event": np.full(n, "none"), "industry": np.full(n, "C"), "province": np.full(n, "33"),
        "borrower_size": np.full(n, "small"), "ip_type": np.full(n, "invention_patent"),
    })
    pd12 = DEMO_HAZARD.pd_12m(X)
    drawn = draw_defaults(X, seed=9)
    assert abs(drawn.sum() - pd12.sum()) < 4 * np.sqrt((pd12 * (1 - pd12)).sum())
    high = pd12 > np.quantile(pd12, 0.9)
    assert abs(drawn[high].mean() - pd12[high].mean()) < 4 * np.sqrt(pd12[high].mean() / high.sum())
    assert np.array_equal(drawn, draw_defaults(X, seed=9))


# ------------------------------------------------------------------ reproducible, streamed


def _digest(engine: Any) -> str:
    """Every table the generator writes, every column but :data:`NOT_REPRODUCIBLE`, in id order."""
    h = hashlib.sha256()
    insp = inspect(engine)
    with engine.connect() as c:
        for table in sorted(insp.get_table_names()):
            if table in ("audit_event", "alembic_version"):
                continue
            cols = [x["name"] for x in insp.get_columns(table) if x["name"] not in NOT_REPRODUCIBLE]
            key = "id" if "id" in cols else cols[0]
            h.update(table.encode())
            quoted = ", ".join(f'"{x}"' for x in cols)
            for row in c.execute(text(f'SELECT {quoted} FROM "{table}" ORDER BY "{key}"')):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def test_same_seed_and_as_of_give_identical_data_whatever_the_batch_size(tmp_path: Path) -> None:
    """Chunked generation (inserts of 777 rows) stores exactly what one-shot generation stores;
    the book spans more than one random block."""
    n = BLOCK + 1_001
    as_of = date(2026, 6, 30)
    one_shot, chunked, other_day = (_fresh(tmp_path / f"{x}.db") for x in ("a", "b", "c"))
    generate(one_shot, n, seed=3, as_of=as_of, batch=10 * n)
    generate(chunked, n, seed=3, as_of=as_of, batch=777)
    generate(other_day, n, seed=3, as_of=as_of + timedelta(days=40))
    assert _digest(one_shot) == _digest(chunked)
    assert _digest(one_shot) != _digest(other_day)
