"""The China business-day calendar (ipfin.calendar): holidays, 调休 working weekends, overrides, horizon.

Sources: the General Office of the State Council's yearly notices
《国务院办公厅关于2025年部分节假日安排的通知》 (gov.cn/gongbao/2024/issue_11726/202411/
content_6989767.html) and 《…关于2026年部分节假日安排的通知》 (gov.cn/gongbao/2025/issue_12406/
202511/content_7048922.html), as carried by the ``holidays`` package (China); QuantLib's
``China(IB)`` calendar as an independent reference up to 2026, its last year.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import QuantLib
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfin import ql
from ipfin.calendar import (
    DEFAULT_CALENDAR,
    CalendarHorizonWarning,
    CalendarOverride,
    ChinaCalendar,
    china_calendar,
    overrides_from_rows,
    package_published_horizon,
)
from pledge.schedule import InterestRate, LoanTerms, build_schedule

QL_CHINA = QuantLib.China(QuantLib.China.IB)


def qd(d: date) -> QuantLib.Date:
    return QuantLib.Date(d.day, d.month, d.year)


@contextmanager
def no_warning() -> Iterator[None]:
    """Fail on any CalendarHorizonWarning inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalendarHorizonWarning)
        yield


# ------------------------------------------------------------------ official notices 2025/2026


def test_2025_notice_working_weekends_are_business_days():
    """2025 notice: Sunday 26 Jan and Saturday 8 Feb (Spring Festival), Sunday 27 Apr (Labour Day),
    Sunday 28 Sep and Saturday 11 Oct (National Day) are working days."""
    expected = [date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)]
    assert DEFAULT_CALENDAR.working_weekends_in(2025) == expected
    assert all(DEFAULT_CALENDAR.is_business_day(d) and d.weekday() >= 5 for d in expected)
    # and the days off: Spring Festival 28 Jan – 4 Feb, National Day 1–8 Oct
    assert not any(DEFAULT_CALENDAR.is_business_day(date(2025, 1, 28) + timedelta(days=k)) for k in range(8))
    assert not any(DEFAULT_CALENDAR.is_business_day(date(2025, 10, 1) + timedelta(days=k)) for k in range(8))


def test_2026_notice_holidays_and_working_weekends():
    """2026 notice: Spring Festival 15–23 Feb off, Saturdays 14 Feb and 28 Feb worked; Sunday 4 Jan,
    Saturday 9 May, Sunday 20 Sep and Saturday 10 Oct worked."""
    assert DEFAULT_CALENDAR.working_weekends_in(2026) == [
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
        date(2026, 10, 10)]
    assert not any(DEFAULT_CALENDAR.is_business_day(date(2026, 2, 15) + timedelta(days=k)) for k in range(9))
    assert DEFAULT_CALENDAR.is_business_day(date(2026, 2, 24))


def test_agrees_with_quantlib_china_interbank_calendar_2015_to_2026():
    """Independent reference: every day of 2015–2026 is a business day in both calendars or in neither."""
    d = date(2015, 1, 1)
    with no_warning():
        while d <= date(2026, 12, 31):
            assert DEFAULT_CALENDAR.is_business_day(d) == QL_CHINA.isBusinessDay(qd(d)), d
            d += timedelta(days=1)


@settings(max_examples=150, deadline=None)
@given(d=st.dates(date(2016, 1, 1), date(2026, 10, 31)), n=st.integers(-30, 30))
def test_advance_and_count_agree_with_quantlib(d, n):
    got = DEFAULT_CALENDAR.advance_business_days(d, n)
    assert got == ql.from_ql_date(QL_CHINA.advance(qd(d), n, QuantLib.Days))
    end = d + timedelta(days=abs(n) * 3)
    assert DEFAULT_CALENDAR.business_days_between(d, end) == QL_CHINA.businessDaysBetween(qd(d), qd(end))


def test_business_day_rules():
    cal = DEFAULT_CALENDAR
    sat = date(2025, 5, 31)  # Dragon Boat Festival, Saturday; Monday 2 June is the day off in lieu
    assert cal.adjust(sat, "following") == date(2025, 6, 3)
    assert cal.adjust(sat, "modified_following") == date(2025, 5, 30)  # June would change the month
    assert cal.adjust(sat, "preceding") == date(2025, 5, 30)
    assert cal.adjust(sat, "unadjusted") == sat
    assert cal.adjust(date(2025, 10, 1)) == date(2025, 10, 9)
    with pytest.raises(ValueError, match="rule"):
        cal.adjust(sat, "nearest")  # type: ignore[arg-type]


def test_ql_helpers_delegate_to_the_new_calendar():
    assert ql.adjust(date(2025, 10, 1)) == DEFAULT_CALENDAR.adjust(date(2025, 10, 1))
    assert ql.is_business_day(date(2026, 2, 28))  # 调休 Saturday
    assert ql.advance_business_days(date(2026, 9, 30), 3) == date(2026, 10, 10)  # holidays 1–7 Oct, Sat 10 worked
    bespoke = ql.china_calendar()
    for d in (date(2026, 2, 28), date(2027, 2, 8), date(2027, 10, 4), date(2025, 1, 26)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalendarHorizonWarning)
            assert bespoke.isBusinessDay(qd(d)) == DEFAULT_CALENDAR.is_business_day(d)


# ------------------------------------------------------------------ beyond QuantLib: 2027


def test_2027_spring_festival_and_national_day_are_holidays_unlike_quantlib():
    """2027 Chinese New Year is 6 Feb (lunar calendar); the package's estimate has 5–10 Feb off and
    1–5 Oct off. QuantLib's China calendar stops at 2026 and counts 8–9 Feb and 4–5 Oct as business days."""
    with pytest.warns(CalendarHorizonWarning):
        for d in (date(2027, 2, 8), date(2027, 2, 9), date(2027, 10, 4), date(2027, 10, 5)):
            assert not DEFAULT_CALENDAR.is_business_day(d)
            assert QL_CHINA.isBusinessDay(qd(d))
    with pytest.warns(CalendarHorizonWarning):
        assert date(2027, 2, 6) in DEFAULT_CALENDAR.holidays_in(2027)


def test_2027_holidays_are_visible_in_a_loan_schedule():
    """Due dates on 8 Feb 2027 and 4 Oct 2027 move to the next business day (11 Feb, 6 Oct)."""
    with pytest.warns(CalendarHorizonWarning):
        s = build_schedule(LoanTerms(12_000_000, InterestRate.fixed("0.04"), date(2026, 10, 4), 12))
    due = [i.due_date for i in s.instalments]
    assert date(2027, 2, 4) in due  # a Thursday, no holiday
    assert due[-1] == date(2027, 10, 6)
    with pytest.warns(CalendarHorizonWarning):
        s2 = build_schedule(LoanTerms(12_000_000, InterestRate.fixed("0.04"), date(2026, 11, 8), 6))
    assert s2.instalments[2].due_date == date(2027, 2, 11)


def test_a_working_saturday_is_a_due_date_in_a_schedule():
    """28 Feb 2026 is a Saturday made a working day (2026 notice): a due date on it stays there."""
    s = build_schedule(LoanTerms(12_000_000, InterestRate.fixed("0.04"), date(2026, 1, 28), 3))
    assert s.instalments[0].due_date == date(2026, 2, 28)


# ------------------------------------------------------------------ override table and horizon


def test_override_table_enters_a_new_notice_and_extends_the_horizon():
    """An administrator enters a (here hypothetical) 2027 notice: Sunday 7 Feb and Saturday 20 Feb
    worked, Thursday 11 Feb off; with the horizon moved to 2027 no warning is raised."""
    rows = [
        {"date": "2027-02-07", "kind": "working", "note": "2027 notice (test data)"},
        {"date": "2027-02-20", "kind": "working", "note": "2027 notice (test data)"},
        {"date": "2027-02-11", "kind": "holiday", "note": "2027 notice (test data)"},
    ]
    cal = china_calendar(overrides_from_rows(rows), published_horizon=2027)
    with no_warning():
        assert cal.is_business_day(date(2027, 2, 7)) and cal.is_business_day(date(2027, 2, 20))
        assert not cal.is_business_day(date(2027, 2, 11))
        assert cal.working_weekends_in(2027) == [date(2027, 2, 7), date(2027, 2, 20)]
        assert cal.adjust(date(2027, 2, 8)) == date(2027, 2, 12)
        s = build_schedule(LoanTerms(12_000_000, InterestRate.fixed("0.04"), date(2026, 11, 20), 4, calendar=cal))
    assert s.instalments[2].due_date == date(2027, 2, 20)  # a working Saturday from the override table
    # the default calendar is unchanged
    with pytest.warns(CalendarHorizonWarning):
        assert not DEFAULT_CALENDAR.is_business_day(date(2027, 2, 7))


def test_override_can_cancel_a_holiday_and_later_rows_win():
    cal = ChinaCalendar([CalendarOverride(date(2025, 10, 8), False, "x"), CalendarOverride(date(2025, 10, 8), True,
                                                                                           "correction")])
    assert cal.is_business_day(date(2025, 10, 8))
    assert cal.overrides[0].note == "correction"
    with pytest.raises(ValueError, match="kind"):
        overrides_from_rows([{"date": "2027-01-01", "kind": "maybe"}])


def test_horizon_warning_only_after_the_published_year():
    assert package_published_horizon() == 2026
    assert DEFAULT_CALENDAR.published_horizon == 2026
    assert not DEFAULT_CALENDAR.beyond_horizon(date(2026, 12, 31))
    assert DEFAULT_CALENDAR.beyond_horizon(date(2027, 1, 1))
    with no_warning():
        DEFAULT_CALENDAR.is_business_day(date(2026, 12, 31))
    with pytest.warns(CalendarHorizonWarning, match="2027"):
        DEFAULT_CALENDAR.is_business_day(date(2027, 1, 4))
    quiet = ChinaCalendar(warn=False)
    with no_warning():
        assert quiet.is_business_day(date(2030, 1, 2))


def test_business_days_between_counts_half_open_interval():
    # 2026-09-28 (Mon) .. 2026-10-12 (Mon): 28, 29, 30 Sep, 8, 9 Oct, Sat 10 Oct (调休) → 6
    assert DEFAULT_CALENDAR.business_days_between(date(2026, 9, 28), date(2026, 10, 12)) == 6
    assert DEFAULT_CALENDAR.business_days_between(date(2026, 10, 12), date(2026, 9, 28)) == -6
