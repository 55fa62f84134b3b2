"""Pool assets, validation, stratification and CSV/XLSX import with per-row errors."""

from decimal import Decimal

import numpy as np
import pytest

from securitization.pool import (
    LOAN_COLUMNS,
    PledgeLoan,
    Pool,
    RoyaltyReceivable,
    load_loans_csv,
    load_loans_xlsx,
    parse_loan_rows,
    size_bucket,
    stratify,
)
from securitization.projection import Scenario, project_pool


def _loan(i=1, **kw):
    args = dict(loan_id=f"L{i}", borrower=f"B{i}", balance_fen=3_000_000_00, annual_rate=0.05, term_months=24,
                annual_pd=0.02, recovery_rate=0.4, recovery_lag_months=6, industry="C", region="440300")
    args.update(kw)
    return PledgeLoan(**args)


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"balance_fen": -1}, "balance_fen"), ({"annual_pd": 1.2}, "annual_pd"), ({"industry": "Z"}, "industry"),
     ({"region": "999999"}, "region"), ({"annual_rate": float("inf")}, "annual_rate"),
     ({"schedule": "balloon"}, "schedule"), ({"age_months": 30}, "age_months"), ({"ip_type": "secret"}, "ip_type"),
     ({"recovery_rate": -0.1}, "recovery_rate"), ({"balance_fen": 10**13 + 1}, "balance_fen"),
     ({"term_months": 601}, "term_months"), ({"recovery_lag_months": 121}, "recovery_lag_months"),
     ({"term_months": True}, "term_months")],
)
def test_invalid_loan_fields_are_rejected_by_name(kw, field):
    with pytest.raises(ValueError, match=field):
        _loan(**kw)


def test_royalty_receivable_rejects_negative_scheduled_royalty():
    with pytest.raises(ValueError, match=r"schedule_fen\[1\]"):
        RoyaltyReceivable("R1", "licensee", (100, -5), 0.02, 0.2, 6, "C", "440100")


def test_stratification_by_size_buckets_balances_and_exact_shares():
    loans = (_loan(1, balance_fen=500_000_00), _loan(2, balance_fen=3_000_000_00, industry="I"),
             _loan(3, balance_fen=12_000_000_00, industry="I"), _loan(4, balance_fen=3_000_000_00))
    pool = Pool("p", loans)
    rows = stratify(pool, "size")
    assert [(r.bucket, r.count, r.balance_fen) for r in rows] == [
        ("10-20M", 1, 12_000_000_00), ("1-5M", 2, 6_000_000_00), ("<1M", 1, 500_000_00)]
    assert sum(r.share for r in rows) == Decimal(1)
    by_ind = {r.bucket: r for r in stratify(pool, "industry")}
    assert by_ind["I"].balance_fen == 15_000_000_00 and by_ind["C"].count == 2
    assert size_bucket(10_000_000_00) == "10-20M" and size_bucket(9_999_999_99) == "5-10M"
    with pytest.raises(ValueError, match="by"):
        stratify(pool, "colour")  # type: ignore[arg-type]


def test_pool_rejects_duplicate_ids_and_empty_pools():
    with pytest.raises(ValueError, match="duplicate"):
        Pool("p", (_loan(1), _loan(1)))
    with pytest.raises(ValueError, match="at least one"):
        Pool("p")


def _rows():
    good = dict(loan_id="A1", borrower="甲公司", balance_cny="2500000.00", annual_rate="0.052", term_months="36",
                annual_pd="0.02", recovery_rate="0.35", recovery_lag_months="9", industry="c", region="440100",
                ip_type="utility_model", schedule="equal_principal", age_months="", rating="BBB")
    bad_money = dict(good, loan_id="A2", balance_cny="12.345")
    bad_pd = dict(good, loan_id="A3", annual_pd="abc")
    missing = dict(good, loan_id="A4", region="")
    dup = dict(good)
    return [good, bad_money, bad_pd, missing, dup]


def test_import_keeps_good_rows_and_reports_each_bad_row_with_its_field():
    res = parse_loan_rows(_rows())
    assert [a.loan_id for a in res.loans] == ["A1"]
    assert res.loans[0].balance_fen == 250_000_000 and res.loans[0].industry == "C"
    assert [(e.row, e.field) for e in res.errors] == [(3, "balance_cny"), (4, "annual_pd"), (5, "region"),
                                                      (6, "loan_id")]


def test_csv_and_xlsx_files_import_the_same_loans(tmp_path):
    import csv

    from openpyxl import Workbook

    rows = _rows()
    p = tmp_path / "loans.csv"
    with open(p, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=LOAN_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    wb = Workbook()
    ws = wb.active
    ws.append(list(LOAN_COLUMNS))
    for r in rows:
        ws.append([r[c] or None for c in LOAN_COLUMNS])
    x = tmp_path / "loans.xlsx"
    wb.save(x)
    a, b = load_loans_csv(p), load_loans_xlsx(x)
    assert a.loans == b.loans and len(a.errors) == len(b.errors) == 4


def test_royalty_projection_pays_scheduled_royalties_times_survival_and_recovers_after_the_lag():
    r = RoyaltyReceivable("R1", "licensee", (0, 0, 100_000_00) * 4, 0.12, 0.25, 2, "C", "440100")
    pool = Pool("p", royalties=(r,))
    proj = project_pool(pool, [Scenario("base"), Scenario("no_default", pd_multiplier=0.0)])
    h = 1 - (1 - 0.12) ** (1 / 12)
    months = np.arange(1, 13)
    expected = np.where(months % 3 == 0, 100_000.0, 0.0) * (1 - h) ** months
    np.testing.assert_allclose(proj.principal[0, :12], expected, rtol=1e-12)
    np.testing.assert_allclose(proj.recoveries[0, 2:], 0.25 * proj.defaults[0, :-2], rtol=1e-12)
    assert proj.principal[1].sum() == pytest.approx(400_000.0) and proj.losses[1].sum() == 0
    paid = proj.principal[0].sum() + proj.recoveries[0].sum() + proj.losses[0].sum()
    assert paid == pytest.approx(400_000.0, rel=1e-12)


def test_loan_projection_of_a_pool_sums_its_loans_under_each_scenario():
    loans = (_loan(1), _loan(2, schedule="bullet", term_months=12, recovery_lag_months=3), _loan(3, age_months=6))
    pool = Pool("p", loans)
    both = project_pool(pool, [Scenario("base"), Scenario("stress", cpr=0.1, pd_multiplier=3.0)])
    single = [project_pool(Pool("one", (a,)), [Scenario("stress", cpr=0.1, pd_multiplier=3.0)]) for a in loans]
    for name in ("principal", "prepayments", "defaults", "recoveries", "losses", "interest"):
        tot = sum(np.pad(getattr(s, name)[0], (0, both.months - s.months)) for s in single)
        np.testing.assert_allclose(getattr(both, name)[1], tot, rtol=1e-12, atol=1e-9)
    assert both.cumulative_loss_rate()[1] > both.cumulative_loss_rate()[0] > 0


def test_scenario_psa_speeds_follow_loan_age_and_bad_scenarios_name_the_field():
    seasoned = Pool("p", (_loan(1, term_months=120, age_months=40, annual_pd=0.0),))
    fresh = Pool("p", (_loan(1, term_months=120, annual_pd=0.0),))
    s = [Scenario("psa200", cpr=None, psa=200.0)]
    # a seasoned loan is past the 30-month ramp: 200% PSA = 12% CPR from its first projected month
    first = project_pool(seasoned, s).prepayments[0, 0] / (3_000_000 - project_pool(seasoned, s).principal[0, 0])
    assert first == pytest.approx(1 - (1 - 0.12) ** (1 / 12), rel=1e-12)
    young = project_pool(fresh, s).prepayments[0, 0] / (3_000_000 - project_pool(fresh, s).principal[0, 0])
    assert young == pytest.approx(1 - (1 - 0.004) ** (1 / 12), rel=1e-12)
    with pytest.raises(ValueError, match="pd_multiplier"):
        Scenario("bad", pd_multiplier=-1)
    with pytest.raises(ValueError, match="cdr"):
        Scenario("bad", cdr=1.5)


def test_royalty_schedules_longer_than_50_years_are_rejected():
    with pytest.raises(ValueError, match="schedule_fen: at most 600"):
        RoyaltyReceivable("R1", "licensee", (100,) * 601, 0.02, 0.2, 6, "C", "440100")


def test_projection_in_memory_bounded_batches_equals_the_projection_in_one_batch(monkeypatch):
    import securitization.projection as projection

    loans = tuple(_loan(i, annual_pd=0.01 * i, term_months=12 + 6 * i, recovery_lag_months=3 + i % 2)
                  for i in range(1, 8))
    pool = Pool("p", loans)
    scens = [Scenario("base"), Scenario("stress", cpr=0.1, pd_multiplier=3.0, advancing=True)]
    whole = project_pool(pool, scens)
    monkeypatch.setattr(projection, "BATCH_CELLS", 1)  # one loan per batch
    batched = project_pool(pool, scens)
    for name in ("principal", "prepayments", "defaults", "recoveries", "losses", "interest", "balance"):
        np.testing.assert_allclose(getattr(batched, name), getattr(whole, name), rtol=1e-12, atol=1e-9)


def test_a_file_that_is_not_an_xlsx_workbook_is_a_value_error_naming_the_file(tmp_path):
    p = tmp_path / "tape.xlsx"
    p.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match=r"file: not a readable \.xlsx workbook"):
        load_loans_xlsx(p)
