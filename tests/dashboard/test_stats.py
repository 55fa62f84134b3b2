"""Aggregation queries (api.stats) against totals computed by hand from tests/dashboard/book.py."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from api.stats import collateral as stats_collateral
from api.stats import service as stats_service
from api.stats.filters import LoanFilter
from tests.dashboard.book import Y2025, make_book


@pytest.fixture
def book(engine: Any, make_org: Any) -> Any:
    return make_book(engine, make_org("bank"))


END_2025 = date(2025, 12, 31)


def _ov(
    engine: Any, org: Any, threshold: int = 10_000_000, today: date = END_2025, **flt: Any
) -> stats_service.Overview:
    with engine.connect() as conn:
        return stats_service.overview(conn, org, LoanFilter(**flt), threshold, today)


def test_overview_2025_counts_funded_loans_only_with_exact_fen(engine: Any, book: Any) -> None:
    ov = _ov(engine, book.bank, **Y2025)
    assert ov.loan_count == 4  # L1-L4; L6 is a draft
    assert ov.amount_fen == 4_800_000_050  # 5M + 15M + 8,000,000.50 + 20M CNY
    assert ov.enterprise_count == 3
    assert (ov.inclusive_count, ov.inclusive_amount_fen) == (2, 1_300_000_050)  # L1, L3 ≤ 10M
    # NPL figures are the stock at the period end (today): every live loan, the 2024 ones too
    assert ov.live_outstanding_fen == 2_600_000_050  # L1 4M + L2 12M + L3 8,000,000.50 + L5 1M + L7 1M
    assert (ov.npl_count, ov.npl_outstanding_fen) == (2, 2_000_000_050)  # L2 default, L3 100 days past due
    assert ov.inclusive_share == pytest.approx(0.5)
    assert ov.npl_ratio == pytest.approx(2_000_000_050 / 2_600_000_050)


def test_inclusive_threshold_of_20m_includes_a_loan_of_exactly_20m(engine: Any, book: Any) -> None:
    ov = _ov(engine, book.bank, threshold=20_000_000, **Y2025)
    assert (ov.inclusive_count, ov.inclusive_amount_fen, ov.inclusive_threshold_fen) == (4, 4_800_000_050, 2 * 10**9)


def test_previous_period_of_a_calendar_year_is_the_previous_calendar_year(engine: Any, book: Any) -> None:
    prev = LoanFilter(**Y2025).previous()
    assert prev == LoanFilter(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
    ov = _ov(engine, book.bank, date_from=prev.date_from, date_to=prev.date_to)
    assert (ov.loan_count, ov.amount_fen, ov.enterprise_count) == (2, 400_000_000, 2)  # L5 3M + L7 1M
    assert stats_service.change(4_800_000_050, ov.amount_fen) == pytest.approx(11.00000125)


def test_previous_period_shifts_whole_months_by_months_and_other_spans_by_days() -> None:
    assert LoanFilter(date_from=date(2025, 3, 1), date_to=date(2025, 5, 31)).previous() == LoanFilter(
        date_from=date(2024, 12, 1), date_to=date(2025, 2, 28))
    assert LoanFilter(date_from=date(2025, 3, 10), date_to=date(2025, 3, 19)).previous() == LoanFilter(
        date_from=date(2025, 2, 28), date_to=date(2025, 3, 9))
    assert LoanFilter(date_from=date(2025, 3, 10)).previous() is None


def test_change_is_none_without_a_previous_figure() -> None:
    assert stats_service.change(5, 0) is None
    assert stats_service.change(5, None) is None
    assert stats_service.change(6, 4) == pytest.approx(0.5)


def test_breakdown_by_province_ranks_by_amount_and_sums_exactly(engine: Any, book: Any) -> None:
    with engine.connect() as conn:
        rows = stats_service.breakdown(conn, book.bank, LoanFilter(**Y2025), "province")
    assert [(r.key, r.loan_count, r.amount_fen, r.outstanding_fen) for r in rows] == [
        ("320000", 2, 2_800_000_050, 800_000_050),
        ("330000", 2, 2_000_000_000, 1_600_000_000),
    ]
    assert (rows[0].name_zh, rows[0].name_en) == ("江苏省", "Jiangsu")


def test_city_drill_down_within_a_province(engine: Any, book: Any) -> None:
    with engine.connect() as conn:
        rows = stats_service.breakdown(conn, book.bank, LoanFilter(province_code="330000", **Y2025), "city")
        flt = LoanFilter(province_code="330000", region_code="330100", **Y2025)
        total, loans = stats_service.loans(conn, book.bank, flt)
    assert [(r.key, r.amount_fen) for r in rows] == [("330200", 1_500_000_000), ("330100", 500_000_000)]
    assert total == 1 and [x.reference for x in loans] == [book.loans["L1"].reference]


def test_breakdowns_by_industry_ip_type_and_bank(engine: Any, book: Any) -> None:
    with engine.connect() as conn:
        flt = LoanFilter(**Y2025)
        ind = {r.key: r.amount_fen for r in stats_service.breakdown(conn, book.bank, flt, "industry")}
        ipt = {r.key: r.loan_count for r in stats_service.breakdown(conn, book.bank, flt, "ip_type")}
        bank = stats_service.breakdown(conn, book.bank, flt, "bank")
    assert ind == {"C": 1_300_000_050, "I": 1_500_000_000, "M": 2_000_000_000}
    assert ipt == {"invention_patent": 2, "trademark": 1, "utility_model": 1}
    assert [(r.key, r.name_zh, r.amount_fen) for r in bank] == [(str(book.bank.id), book.bank.name, 4_800_000_050)]


def test_timeseries_fills_empty_months_and_rolls_up_to_quarters_exactly(engine: Any, book: Any) -> None:
    with engine.connect() as conn:
        months = stats_service.timeseries(conn, book.bank, LoanFilter(**Y2025), "month")
        quarters = stats_service.timeseries(conn, book.bank, LoanFilter(**Y2025), "quarter")
        years = stats_service.timeseries(conn, book.bank, LoanFilter(), "year")
    assert len(months) == 12
    assert [(p.period, p.loan_count, p.amount_fen) for p in months[:4]] == [
        ("2025-01", 1, 500_000_000), ("2025-02", 2, 2_300_000_050), ("2025-03", 0, 0), ("2025-04", 1, 2_000_000_000)]
    assert [(p.period, p.loan_count, p.amount_fen) for p in quarters] == [
        ("2025-Q1", 3, 2_800_000_050), ("2025-Q2", 1, 2_000_000_000), ("2025-Q3", 0, 0), ("2025-Q4", 0, 0)]
    assert [(p.period, p.loan_count, p.amount_fen) for p in years] == [("2024", 2, 400_000_000),
                                                                       ("2025", 4, 4_800_000_050)]


def test_another_bank_sees_none_of_the_book(engine: Any, book: Any, make_org: Any) -> None:
    other = make_org("bank")
    ov = _ov(engine, other, bank_org_id=book.bank.id, **Y2025)
    assert (ov.loan_count, ov.amount_fen) == (0, 0)
    assert ov.npl_ratio is None and ov.inclusive_share is None


def test_regional_bureau_aggregates_its_region_only(engine: Any, book: Any, make_org: Any) -> None:
    zhejiang = make_org("bureau", "330000")
    hangzhou = make_org("bureau", "330100")
    assert _ov(engine, zhejiang, bank_org_id=book.bank.id, **Y2025).amount_fen == 2_000_000_000  # L1 + L2
    assert _ov(engine, hangzhou, bank_org_id=book.bank.id, **Y2025).amount_fen == 500_000_000  # L1


def test_bureau_without_loan_level_access_gets_totals_but_no_loans(
    engine: Any, book: Any, make_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.core.config import get_settings

    monkeypatch.setattr(get_settings(), "bureau_loan_level_access", False)
    bureau = make_org("bureau", "330000")
    assert _ov(engine, bureau, bank_org_id=book.bank.id, **Y2025).loan_count == 2
    with engine.connect() as conn, pytest.raises(PermissionError, match="loan-level access"):
        stats_service.loans(conn, bureau, LoanFilter(**Y2025))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"date_from": date(2025, 2, 1), "date_to": date(2025, 1, 1)}, "date_from"),
        ({"province_code": "330100"}, "province_code"),
        ({"region_code": "999999"}, "region_code"),
        ({"province_code": "320000", "region_code": "330100"}, "region_code"),
        ({"industry": "Z"}, "industry"),
        ({"ip_type": "livestock"}, "ip_type"),  # not an IP type (plant_variety is one since issue 18)
        ({"bank_org_id": 0}, "bank_org_id"),
    ],
)
def test_bad_filter_is_rejected_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        LoanFilter(**kwargs)


def test_collateral_report_ltv_buckets_and_alerts(engine: Any, book: Any) -> None:
    with engine.connect() as conn:
        rep = stats_collateral.collateral_report(conn, book.bank, as_of=date(2025, 12, 31), ltv_limit_pct=60)
    # live loans: L1, L2, L3, L5, L7
    assert rep.loan_count == 5
    assert rep.outstanding_fen == 2_600_000_050
    assert rep.appraised_fen == 2_500_000_000
    assert (rep.ltv_breach_count, rep.lapse_count, rep.revaluation_due_count) == (1, 1, 1)
    ltv = {b.label: b.loan_count for b in rep.ltv_distribution}
    assert ltv == {"no valuation": 3, "≤30%": 0, "30-40%": 1, "40-50%": 0, "50-60%": 0, "60-70%": 0, ">70%": 1}
    value = {b.label: b.loan_count for b in rep.value_distribution}
    assert (value["no valuation"], value["5-10M"], value["10-50M"]) == (3, 1, 1)
    assert {b.label: b.loan_count for b in rep.dpd_buckets if b.loan_count} == {"0": 3, "91-180": 2}
    flags = {a["reference"]: (a["ltv_breach"], a["lapse"], a["revaluation_due"]) for a in rep.alerts}
    assert flags == {book.loans["L2"].reference: (True, True, False), book.loans["L1"].reference: (False, False, True)}


def test_collateral_report_rejects_a_silly_ltv_limit(engine: Any, book: Any) -> None:
    with engine.connect() as conn, pytest.raises(ValueError, match="ltv_limit_pct"):
        stats_collateral.collateral_report(conn, book.bank, as_of=date(2025, 12, 31), ltv_limit_pct=0)


def test_one_scan_overview_with_previous_equals_two_separate_overviews(engine: Any, book: Any) -> None:
    flt = LoanFilter(province_code="330000", **Y2025)
    with engine.connect() as conn:
        cur, prev = stats_service.overview_with_previous(conn, book.bank, flt, 20_000_000, END_2025)
        assert cur == stats_service.overview(conn, book.bank, flt, 20_000_000, END_2025)
        assert prev == stats_service.overview(conn, book.bank, flt.previous(), 20_000_000, END_2025)
        assert stats_service.overview_with_previous(conn, book.bank, LoanFilter(), 20_000_000)[1] is None
    assert (cur.loan_count, prev.loan_count, prev.amount_fen) == (2, 2, 400_000_000)


def test_breakdowns_from_one_scan_equal_single_breakdowns(engine: Any, book: Any) -> None:
    flt = LoanFilter(**Y2025)
    with engine.connect() as conn:
        many = stats_service.breakdowns(conn, book.bank, flt, ("province", "industry", "ip_type", "bank", "status"))
        for key, rows in many.items():
            assert rows == stats_service.breakdown(conn, book.bank, flt, key)
            assert sum(r.amount_fen for r in rows) == 4_800_000_050


def test_stats_index_hint_is_sqlite_unary_plus_and_plain_elsewhere() -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    clause = LoanFilter(industry="C").clause(steer_to_date_index=True)
    assert "+loan.industry" in str(clause.compile(dialect=sqlite.dialect()))
    assert "+" not in str(clause.compile(dialect=postgresql.dialect()))


def test_latest_pledge_revaluation_replaces_the_pledging_appraisal(engine: Any, book: Any) -> None:
    """L1 re-valued at 5M on 2025-11-01 (and 12M earlier): LTV 4M/5M = 80% breaches 60%, and
    its appraisal is no longer older than 12 months at 2025-12-31."""
    from sqlmodel import Session, select

    from api.pledge.models import CollateralValuation, LoanCollateral

    with Session(engine) as s:
        asset_id = s.exec(select(LoanCollateral.ip_asset_id).where(LoanCollateral.loan_id == book.loans["L1"].id)).one()
        for day, fen in ((date(2025, 6, 1), 1_200_000_000), (date(2025, 11, 1), 500_000_000)):
            s.add(CollateralValuation(ip_asset_id=asset_id, value_fen=fen, valuation_date=day, source="appraiser",
                                      report_reference="R-1"))
        s.commit()
    with engine.connect() as conn:
        rep = stats_collateral.collateral_report(conn, book.bank, as_of=date(2025, 12, 31), ltv_limit_pct=60)
    assert rep.appraised_fen == 2_000_000_000  # L1 5M + L2 15M
    assert (rep.ltv_breach_count, rep.revaluation_due_count) == (2, 0)
    flags = {a["reference"]: (a["ltv_breach"], a["revaluation_due"]) for a in rep.alerts}
    assert flags[book.loans["L1"].reference] == (True, False)


def test_compensation_by_party_counts_ledger_lines_booked_in_the_period_whenever_the_loan_started(
    engine: Any, book: Any, make_user: Any
) -> None:
    """Claim on L2 (2025): payouts guarantor 4,000,000.00 / bank 2,000,000.01, recovery to the
    guarantor 1,000,000.00, all booked 2025-08-01; a payout of 999.00 on L5 (a 2024 loan) booked in
    2025 counts in 2025 (by payment date), one of 5.00 booked in 2024 does not."""
    from sqlmodel import Session

    from api.risk_sharing.models import RiskClaim, RiskLedgerEntry, RiskRule

    officer = make_user(book.bank)
    with Session(engine) as s:
        rule = RiskRule(rule_id=f"t-{book.bank.id}", version=1, name="test", effective_from=date(2020, 1, 1),
                        definition={})
        s.add(rule)
        s.flush()
        claims = {}
        for key in ("L2", "L5"):
            loan = book.loans[key]
            c = RiskClaim(idempotency_key=f"{key}-{book.bank.id}", request_hash="x", rule_row_id=rule.id,
                          rule_id=rule.rule_id, rule_version=1, loan_id=loan.id, loan_key=f"loan:{loan.id}",
                          borrower_key="b", lender_key="l", loan_facts={}, default_date=date(2025, 6, 1),
                          filed_on=date(2025, 7, 1), outstanding_principal_fen=loan.outstanding_fen,
                          filed_by_org_id=book.bank.id, filed_by_user_id=officer.id, status="approved")
            s.add(c)
            s.flush()
            claims[key] = c.id
        aug, y2024 = date(2025, 8, 1), date(2024, 9, 1)
        entries = [("L2", "guarantor", "payout", 400_000_000, aug), ("L2", "bank", "payout", 200_000_001, aug),
                   ("L2", "guarantor", "recovery", 100_000_000, aug), ("L5", "guarantor", "payout", 99_900, aug),
                   ("L5", "bank", "payout", 500, y2024)]
        for key, party, kind, fen, booked in entries:
            s.add(RiskLedgerEntry(rule_row_id=rule.id, rule_id=rule.rule_id, rule_version=1, claim_id=claims[key],
                                  party_key=party, kind=kind, amount_fen=fen, booked_on=booked,
                                  loan_key="k", borrower_key="b", lender_key="l"))
        s.commit()
    with engine.connect() as conn:
        rows = stats_service.compensation_by_party(conn, book.bank, LoanFilter(**Y2025))
    assert [(r.party, r.claims, r.paid_fen, r.recovered_fen, r.net_fen) for r in rows] == [
        ("bank", 1, 200_000_001, 0, 200_000_001),
        ("guarantor", 2, 400_099_900, 100_000_000, 300_099_900),
    ]
