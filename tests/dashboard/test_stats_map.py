"""The map's per-region figures, pledge registrations and programme budgets (issue 13, item 3).

A region's NPL ratio and compensation on the map come from ONE grouped query per metric
(:func:`api.stats.kpis.region_values`); the definition they must keep is the overview filtered to
that region (:func:`api.stats.stock.npl_stock`, :func:`api.stats.service.compensation_by_party`),
checked on the hand-built book (tests/dashboard/book.py) and on a demo book.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from api.identity.models import Organisation
from api.risk_sharing.models import RiskClaim, RiskLedgerEntry, RiskRule, RiskRuleFamily, RiskSubsidyBudget
from api.stats import kpis
from api.stats import service as stats_service
from api.stats.filters import LoanFilter
from api.stats.programme import programme_budgets
from api.stats.stock import npl_stock
from tests.dashboard.book import Y2025, make_book

pytestmark = pytest.mark.db

END_2025 = date(2025, 12, 31)


@pytest.fixture
def book(engine: Any, make_org: Any) -> Any:
    return make_book(engine, make_org("bank"))


def _reference_compensation(conn: Any, org: Any, flt: LoanFilter) -> list[tuple[str, int, int, int]]:
    """Compensation per party written the other way round, as an independent reference: claims whose
    loan is IN the list of loans in scope (any origination), ledger lines booked in the period."""
    from sqlalchemy import case, distinct, func
    from sqlmodel import col

    from api.pledge.models import Loan
    from api.stats.filters import _where

    led, paid = RiskLedgerEntry, col(RiskLedgerEntry.kind) == "payout"
    in_scope = select(col(Loan.id)).where(_where(conn, org, replace(flt, date_from=None, date_to=None)))
    conds = [col(RiskClaim.loan_id).in_(in_scope)]
    conds += [col(led.booked_on) >= flt.date_from] if flt.date_from else []
    conds += [col(led.booked_on) <= flt.date_to] if flt.date_to else []
    stmt = (select(col(led.party_key), func.count(distinct(case((paid, col(led.claim_id))))),
                   func.sum(case((paid, col(led.amount_fen)), else_=0)),
                   func.sum(case((paid, 0), else_=col(led.amount_fen))))
            .join(RiskClaim, col(RiskClaim.id) == col(led.claim_id)).where(*conds)
            .group_by(col(led.party_key)).order_by(col(led.party_key)))
    return [(str(p), int(n or 0), int(a or 0), int(r or 0)) for p, n, a, r in conn.execute(stmt)]


def _as_tuples(rows: Any) -> list[tuple[str, int, int, int]]:
    return [(c.party, c.claims, c.paid_fen, c.recovered_fen) for c in rows or []]


def _region_filter(flt: LoanFilter, level: str, code: str) -> LoanFilter | None:
    """The overview's filter narrowed to one region of a map (the definition a map value must equal)."""
    try:
        if level == "province":
            return replace(flt, province_code=code, region_code=None)
        return replace(flt, province_code=code[:2] + "0000", region_code=code)
    except ValueError:
        return None


def _per_region(conn: Any, org: Any, flt: LoanFilter, level: str, metric: str, today: date) -> dict[str, Any]:
    """Reference: one overview per region of the level's breakdown (the former per-region loop)."""
    out: dict[str, Any] = {}
    for row in stats_service.breakdowns(conn, org, flt, (level,))[level]:
        sub = _region_filter(flt, level, row.key)
        if sub is None:
            continue
        if metric == "npl":
            out[row.key] = npl_stock(conn, org, sub, today).npl_ratio
        else:
            out[row.key] = sum(c.paid_fen for c in stats_service.compensation_by_party(conn, org, sub) or [])
    return out


def _assert_equal_per_region(conn: Any, org: Any, flt: LoanFilter, level: str, today: date) -> int:
    """Grouped values equal the per-region overview for every region of the breakdown; the count checked."""
    checked = 0
    for metric, absent in (("npl", None), ("compensation", 0)):
        grouped, _rows = kpis.region_values(conn, org, flt, level, metric, today)
        reference = _per_region(conn, org, flt, level, metric, today)
        for key, want in reference.items():
            assert grouped.get(key, absent) == want, (metric, level, key)
            checked += 1
    return checked


def _claims_and_payouts(engine: Any, book: Any, officer_id: int, rule_definition: dict[str, Any]) -> str:
    """A rule, claims on L2 (Ningbo) and L3 (Nanjing), and ledger lines booked in 2025 and 2024; the rule id."""
    with Session(engine) as s:
        rule = RiskRule(rule_id=f"map-{book.bank.id}", version=1, name="测试方案", effective_from=date(2020, 1, 1),
                        definition=rule_definition)
        s.add(rule)
        s.flush()
        claims = {}
        for key in ("L2", "L3"):
            loan = book.loans[key]
            c = RiskClaim(idempotency_key=f"map-{key}-{book.bank.id}", request_hash="x", rule_row_id=rule.id,
                          rule_id=rule.rule_id, rule_version=1, loan_id=loan.id, loan_key=f"loan:{loan.id}",
                          borrower_key="b", lender_key="l", loan_facts={}, default_date=date(2025, 6, 1),
                          filed_on=date(2025, 7, 1), outstanding_principal_fen=loan.outstanding_fen,
                          filed_by_org_id=book.bank.id, filed_by_user_id=officer_id, status="approved")
            s.add(c)
            s.flush()
            claims[key] = c.id
        entries = [("L2", "fund", "payout", 400_000_000, date(2025, 8, 1)),
                   ("L2", "bank", "payout", 200_000_001, date(2025, 8, 1)),
                   ("L2", "fund", "recovery", 100_000_000, date(2025, 9, 1)),
                   ("L3", "fund", "payout", 12_345, date(2025, 10, 1)),
                   ("L3", "fund", "payout", 500, date(2024, 9, 1))]
        for key, party, kind, fen, booked in entries:
            s.add(RiskLedgerEntry(rule_row_id=rule.id, rule_id=rule.rule_id, rule_version=1, claim_id=claims[key],
                                  party_key=party, kind=kind, amount_fen=fen, booked_on=booked,
                                  loan_key="k", borrower_key="b", lender_key="l"))
        s.commit()
        return rule.rule_id


def test_each_region_on_the_map_equals_the_overview_of_that_region_on_the_hand_built_book(
    engine: Any, book: Any, make_user: Any
) -> None:
    _claims_and_payouts(engine, book, make_user(book.bank).user.id, {})
    y2025 = LoanFilter(**Y2025)
    with engine.connect() as conn:
        for today in (END_2025, date(2026, 12, 2)):  # stock today, and at a past period end
            assert _assert_equal_per_region(conn, book.bank, y2025, "province", today) == 4
            zhejiang = replace(y2025, province_code="330000")
            assert _assert_equal_per_region(conn, book.bank, zhejiang, "city", today) == 4  # Hangzhou, Ningbo
            hangzhou = replace(zhejiang, region_code="330100")
            _assert_equal_per_region(conn, book.bank, hangzhou, "county", today)
        # and by hand: Zhejiang's book at 2025-12-31 is L1 4M, L2 12M (default), L5 1M, L7 1M
        npl, _ = kpis.region_values(conn, book.bank, y2025, "province", "npl", END_2025)
        assert npl["330000"] == pytest.approx(12_000_000 / 18_000_000)
        assert npl["320000"] == pytest.approx(1.0)  # L3 8,000,000.50 overdue 100 days is the whole of Jiangsu
        paid, _ = kpis.region_values(conn, book.bank, y2025, "province", "compensation", END_2025)
        assert paid == {"330000": 600_000_001, "320000": 12_345}  # payouts only; the 2024 line is outside
        by_city, _ = kpis.region_values(conn, book.bank, replace(y2025, province_code="330000"), "city",
                                        "compensation", END_2025)
        assert by_city == {"330200": 600_000_001}


def test_compensation_from_the_ledger_side_equals_the_definition_written_from_the_loans(
        engine: Any, book: Any, make_user: Any) -> None:
    """``service.compensation_by_party`` (ledger → claim → loan by primary key) returns exactly the
    reference written from the other side (claims of the list of loans in scope)."""
    _claims_and_payouts(engine, book, make_user(book.bank).user.id, {})
    with engine.connect() as conn:
        y2024 = LoanFilter(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
        for flt in (LoanFilter(**Y2025), LoanFilter(), y2024, LoanFilter(**Y2025, province_code="320000"),
                    LoanFilter(**Y2025, industry="I")):
            got = _as_tuples(stats_service.compensation_by_party(conn, book.bank, flt))
            assert got == _reference_compensation(conn, book.bank, flt), flt
        fund = stats_service.compensation_by_party(conn, book.bank, LoanFilter(**Y2025)) or []
        assert [(c.party, c.claims, c.paid_fen, c.recovered_fen) for c in fund] == [
            ("bank", 1, 200_000_001, 0), ("fund", 2, 400_012_345, 100_000_000)]


def test_the_map_takes_one_query_per_metric_whatever_the_number_of_regions(engine: Any, book: Any) -> None:
    from sqlalchemy import event

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.connect() as conn:
            for metric in ("npl", "compensation"):
                statements.clear()
                kpis.region_values(conn, book.bank, LoanFilter(**Y2025), "province", metric, END_2025)
                assert len(statements) == 2, statements  # the breakdown rows, then one grouped query
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_an_unknown_map_level_or_metric_is_refused_naming_it(engine: Any, book: Any) -> None:
    with engine.connect() as conn:
        with pytest.raises(ValueError, match="metric"):
            kpis.region_values(conn, book.bank, LoanFilter(**Y2025), "province", "volume", END_2025)
        with pytest.raises(ValueError, match="level"):
            kpis.region_values(conn, book.bank, LoanFilter(**Y2025), "street", "npl", END_2025)


def test_pledge_registrations_count_each_registration_once_and_each_loan_principal_once(
    engine: Any, book: Any
) -> None:
    """L1 registered 2024-12-01 (appraised 10M), L2 registered 2025-02-01 (appraised 15M)."""
    with engine.connect() as conn:
        r2025 = kpis.registrations(conn, book.bank, LoanFilter(**Y2025))
        r2024 = kpis.registrations(conn, book.bank, LoanFilter(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31)))
        view = kpis.bureau_overview(conn, book.bank, LoanFilter(**Y2025), END_2025)
    assert r2025 == kpis.Registrations(1, 1, 1_500_000_000, 1_500_000_000)  # L2: principal 15M, pledged 15M
    assert r2024 == kpis.Registrations(1, 1, 500_000_000, 1_000_000_000)  # L1 (a 2025 loan registered in 2024)
    regs = view["registrations"]
    assert regs["current"] == r2025.as_dict() and regs["year_ago"] == r2024.as_dict()
    assert regs["change_yoy"] == {"registration_count": 0.0, "registered_amount_fen": 2.0}  # 15M vs 5M


def test_programme_budgets_used_in_the_year_of_the_period_end(engine: Any, book: Any, make_user: Any,
                                                              make_org: Any) -> None:
    """The fund's annual cap 1,000,000.00 is used by its 2025 payouts (4,000,000.00 is more than the cap
    here on purpose: use is reported as it is, above 100%); a subsidy budget by its approved draws."""
    caps = {"caps": {"party_year_cny": {"fund": "5000000.00"}}}
    rule_id = _claims_and_payouts(engine, book, make_user(book.bank).user.id, caps)
    bureau_zj = make_org("bureau", "330000")
    bureau_sh = make_org("bureau", "310000")
    national = make_org("bureau")
    with Session(engine) as s:
        row_id = s.exec(select(RiskRule.id).where(RiskRule.rule_id == rule_id)).one()
        s.add(RiskRuleFamily(rule_id=rule_id, owner_org_id=bureau_zj.id))
        s.add(RiskSubsidyBudget(rule_row_id=row_id, rule_id=rule_id, rule_version=1, subsidy_key="interest",
                                year=2025, payer_org_id=bureau_zj.id, budget_fen=50_000_000, approved_fen=12_500_000))
        s.commit()
    y2025 = LoanFilter(**Y2025)
    with engine.connect() as conn:
        mine = programme_budgets(conn, bureau_zj, y2025, date(2026, 12, 2))
        other = programme_budgets(conn, bureau_sh, y2025, date(2026, 12, 2))
        everyone = programme_budgets(conn, national, y2025, date(2026, 12, 2))
        bank = programme_budgets(conn, book.bank, y2025, date(2026, 12, 2))
        this_year = programme_budgets(conn, bureau_zj, LoanFilter(), date(2026, 12, 2))
    assert mine is not None and mine["year"] == 2025
    lines = {(b["kind"], b["key"]): (b["budget_fen"], b["used_fen"]) for b in mine["budgets"]}
    assert lines == {("party_year", "fund"): (500_000_000, 400_012_345), ("subsidy", "interest"): (50_000_000,
                                                                                                  12_500_000)}
    assert (mine["budget_fen"], mine["used_fen"]) == (550_000_000, 412_512_345)
    assert mine["used_share"] == pytest.approx(412_512_345 / 550_000_000)
    assert other is not None and not [b for b in other["budgets"] if b["rule_id"] == rule_id]
    assert everyone is not None and [b for b in everyone["budgets"] if b["rule_id"] == rule_id]
    assert bank is None  # banks see their claims, not a scheme's budget
    assert this_year is not None and this_year["year"] == 2026
    assert next(b for b in this_year["budgets"] if b["rule_id"] == rule_id)["used_fen"] == 0


# ------------------------------------------------------------------ the demo book

DEMO_AS_OF = date(2026, 3, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A demo book of 6,000 loans as of 2026-03-01 with its claims and payouts, in its own SQLite file."""
    from api.core.db import make_engine, upgrade
    from api.demo import generate

    path = Path(tmp_path_factory.mktemp("map_demo")) / "demo.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    generate(eng, 6_000, seed=7, as_of=DEMO_AS_OF)
    yield eng
    eng.dispose()


def test_each_region_on_the_map_equals_the_overview_of_that_region_on_the_demo_book(demo: Any) -> None:
    platform = Organisation(id=1, name="platform", kind="admin")
    y2025 = LoanFilter(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    with demo.connect() as conn:
        comp = stats_service.compensation_by_party(conn, platform, y2025) or []
        assert sum(c.paid_fen for c in comp) > 0, "the demo book has payouts in 2025"
        assert _as_tuples(comp) == _reference_compensation(conn, platform, y2025)
        checked = 0
        for flt, today in ((y2025, DEMO_AS_OF), (replace(y2025, date_to=DEMO_AS_OF), DEMO_AS_OF)):
            checked += _assert_equal_per_region(conn, platform, flt, "province", today)
            top = stats_service.breakdowns(conn, platform, flt, ("province",))["province"][0].key
            in_province = replace(flt, province_code=top)
            checked += _assert_equal_per_region(conn, platform, in_province, "city", today)
            city = stats_service.breakdowns(conn, platform, in_province, ("city",))["city"][0].key
            checked += _assert_equal_per_region(conn, platform, replace(in_province, region_code=city), "county",
                                                today)
    assert checked > 60  # provinces, cities and counties, two metrics, two period ends
