"""LPR history, lookup, extra fixings, reset dates and LPR + spread repricing of a loan.

Reference: the NIFC monthly LPR announcements as listed in DESIGN.md §6 (change points from
2019-08-20), published on the 20th of each month or the next business day (PBoC
announcement [2019] No. 15); reset on the anniversary or 1 January (PBoC announcement [2019]
No. 30); the annuity formula with monthly rate annual/12 for the recomputed instalment.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import pytest

from ipfin.calendar import DEFAULT_CALENDAR
from pledge.lpr import (
    LprFixing,
    default_fixings,
    load_fixings,
    lpr_on,
    lpr_rate_path,
    merge_fixings,
    parse_fixings,
    reset_dates,
)
from pledge.restructure import apply_rate_path
from pledge.schedule import InterestRate, LoanTerms, build_schedule, open_account

# DESIGN.md §6, month of the change → rate in percent
REFERENCE_1Y = {"2019-08": "4.25", "2019-09": "4.20", "2019-11": "4.15", "2020-02": "4.05", "2020-04": "3.85",
                "2021-12": "3.80", "2022-01": "3.70", "2022-08": "3.65", "2023-06": "3.55", "2023-08": "3.45",
                "2024-07": "3.35", "2024-10": "3.10", "2025-05": "3.00"}
REFERENCE_5Y = {"2019-08": "4.85", "2019-11": "4.80", "2020-02": "4.75", "2020-04": "4.65", "2022-01": "4.60",
                "2022-05": "4.45", "2022-08": "4.30", "2023-06": "4.20", "2024-02": "3.95", "2024-07": "3.85",
                "2024-10": "3.60", "2025-05": "3.50"}


def test_shipped_history_is_the_reference_list_of_change_points():
    for tenor, ref in (("1Y", REFERENCE_1Y), ("5Y", REFERENCE_5Y)):
        rows = [f for f in default_fixings() if f.tenor == tenor]
        assert {f.effective_date.strftime("%Y-%m"): f.rate * 100 for f in rows} == {
            k: Decimal(v) for k, v in ref.items()}
        rates = [f.rate for f in rows]
        assert all(a != b for a, b in pairwise(rates))  # change points only


def test_fixings_take_effect_on_the_20th_or_the_next_business_day():
    """2022-08-20 and 2024-07-20 were Saturdays, 2023-08-20 and 2024-10-20 Sundays: published the Monday."""
    for f in default_fixings():
        twentieth = f.effective_date.replace(day=20)
        assert f.effective_date == DEFAULT_CALENDAR.adjust(twentieth, "following"), f
    moved = {f.effective_date for f in default_fixings() if f.effective_date.day != 20}
    assert moved == {date(2022, 8, 22), date(2023, 8, 21), date(2024, 7, 22), date(2024, 10, 21)}


def test_lpr_on_gives_the_latest_fixing_on_or_before_the_date():
    assert lpr_on(date(2019, 8, 20)) == Decimal("0.0425")
    assert lpr_on(date(2019, 8, 20), "5Y") == Decimal("0.0485")
    assert lpr_on(date(2024, 10, 20)) == Decimal("0.0335")
    assert lpr_on(date(2024, 10, 21)) == Decimal("0.0310")
    assert lpr_on(date(2025, 12, 31)) == Decimal("0.0300")
    assert lpr_on(date(2025, 12, 31), "5Y") == Decimal("0.0350")
    with pytest.raises(ValueError, match="2019-08-20"):
        lpr_on(date(2019, 8, 19))
    with pytest.raises(ValueError, match="tenor"):
        lpr_on(date(2024, 1, 1), "3Y")


def test_an_administrator_adds_and_corrects_fixings_from_a_csv(tmp_path):
    extra = tmp_path / "lpr_extra.csv"
    extra.write_text("# test data, not an official fixing\neffective_date,tenor,rate_percent\n"
                     "2026-01-20,1Y,2.90\n2025-05-20,5Y,3.55\n", encoding="utf-8")
    fixings = merge_fixings(default_fixings(), load_fixings(extra))
    assert lpr_on(date(2026, 1, 19), fixings=fixings) == Decimal("0.0300")
    assert lpr_on(date(2026, 1, 20), fixings=fixings) == Decimal("0.0290")
    assert lpr_on(date(2025, 6, 1), "5Y", fixings) == Decimal("0.0355")  # the correction replaced the row
    assert len(fixings) == len(default_fixings()) + 1


def test_bad_csv_rows_are_refused():
    with pytest.raises(ValueError, match="columns"):
        parse_fixings("date,rate\n2025-01-01,3\n")
    with pytest.raises(ValueError, match="row 2"):
        parse_fixings("effective_date,tenor,rate_percent\n2025-13-01,1Y,3\n")
    with pytest.raises(ValueError, match="tenor"):
        LprFixing(date(2025, 1, 1), "2Y", Decimal("0.03"))


def test_reset_dates_on_anniversary_and_on_january_first():
    assert reset_dates(date(2024, 4, 15), date(2027, 4, 15)) == [date(2025, 4, 15), date(2026, 4, 15)]
    assert reset_dates(date(2024, 4, 15), date(2027, 4, 15), "january_1") == [
        date(2025, 1, 1), date(2026, 1, 1), date(2027, 1, 1)]
    assert reset_dates(date(2024, 2, 29), date(2026, 3, 1)) == [date(2025, 2, 28), date(2026, 2, 28)]
    with pytest.raises(ValueError, match="rule"):
        reset_dates(date(2024, 1, 1), date(2026, 1, 1), "monthly")  # type: ignore[arg-type]


def test_rate_path_is_lpr_on_each_reset_date_plus_the_spread():
    path = lpr_rate_path(date(2024, 4, 15), date(2026, 4, 15), 50, "5Y")
    assert path == [(date(2024, 4, 15), Decimal("0.0445")), (date(2025, 4, 15), Decimal("0.0410"))]
    jan = lpr_rate_path(date(2024, 4, 15), date(2026, 4, 15), -20, "1Y", "january_1")
    assert jan == [(date(2024, 4, 15), Decimal("0.0325")), (date(2025, 1, 1), Decimal("0.0290")),
                   (date(2026, 1, 1), Decimal("0.0280"))]


def test_lpr_loan_reprices_on_its_anniversary_and_the_rest_is_the_annuity_at_the_new_rate():
    """1,000,000 CNY over 24 months from 2024-04-15 at 1Y LPR + 0: 3.45 % in the first year, then
    3.10 % from 2025-04-15 (a business day and a due date). The last 12 instalments are the annuity
    of the balance at 3.10 %/12 (monthly convention), computed independently."""
    start, maturity = date(2024, 4, 15), date(2026, 4, 15)
    path = lpr_rate_path(start, maturity, 0)
    terms = LoanTerms(100_000_000, InterestRate.lpr_plus(path[0][1], 0), start, 24)
    acct = apply_rate_path(open_account(build_schedule(terms), start), path)
    lines = [ln.instalment for ln in acct.lines]
    reset = next(i for i, x in enumerate(lines) if x.period_start == date(2025, 4, 15))
    assert reset == 12
    balance = lines[12].opening_balance_fen
    i = Fraction(31, 12_000)
    annuity = balance * i / (1 - (1 + i) ** -12)
    assert abs(lines[12].total_fen - annuity) <= Fraction(1, 2)
    assert lines[12].interest_fen == round(balance * i)
    assert lines[11].interest_fen == build_schedule(terms).instalments[11].interest_fen  # before the reset: 3.45 %
    assert sum(x.principal_fen for x in lines) == 100_000_000
    assert acct.annual_rate == Decimal("0.0310")
    assert acct.rate_on(date(2025, 4, 14)) == Decimal("0.0345")


def test_january_first_reset_splits_the_period_by_days():
    """Reset on 1 Jan 2025 inside the period 16 Dec – 15 Jan (15 Dec 2024 was a Sunday): 16 days at the
    old rate 3.45 %, 14 at the new 3.10 % (PBoC daily rate annual/360), on the same balance, rounded once."""
    start = date(2024, 4, 15)
    path = lpr_rate_path(start, date(2026, 4, 15), 0, "1Y", "january_1")
    terms = LoanTerms(100_000_000, InterestRate.fixed(path[0][1]), start, 24)
    acct = apply_rate_path(open_account(build_schedule(terms), start), path)
    line = next(ln.instalment for ln in acct.lines if ln.instalment.due_date == date(2025, 1, 15))
    b = line.opening_balance_fen
    assert line.period_start == date(2024, 12, 16)  # 15 Dec 2024 was a Sunday
    assert line.days == (date(2025, 1, 15) - date(2024, 12, 16)).days
    old_days = (date(2025, 1, 1) - date(2024, 12, 16)).days
    exact = Fraction(b) * (Fraction(345, 10_000) * old_days + Fraction(310, 10_000) * (line.days - old_days)) / 360
    assert abs(line.interest_fen - exact) <= Fraction(1, 2)
    assert sum(ln.instalment.principal_fen for ln in acct.lines) == 100_000_000
    assert all(x.due_date > x.period_start for x in (ln.instalment for ln in acct.lines))
    assert acct.lines[-1].instalment.due_date == date(2026, 4, 15)
    assert acct.rate_on(date(2025, 12, 31)) == Decimal("0.0310") and acct.annual_rate == Decimal("0.0300")
