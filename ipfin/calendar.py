"""The China business-day calendar (节假日与调休), beyond QuantLib's horizon.

Source of practice: each November the General Office of the State Council publishes the
next year's holiday arrangement (《国务院办公厅关于20XX年部分节假日安排的通知》), which
lists the days off and the weekend days that become working days (调休). The maintained
`holidays <https://github.com/vacanza/holidays>`_ package (``holidays.China``) carries those
notices (its ``ChinaStaticHolidays.special_public_holidays`` table, one entry per notice
year, each day off with the weekend day it was swapped from) and exposes the substituted
working weekends as ``weekend_workdays``. For years without a notice it *estimates* the
statutory holidays (lunar dates, weekend days moved to the next workday) but cannot know
the 调休 working weekends.

:class:`ChinaCalendar` adds an editable override table (dates forced to a holiday or to a
working day, each with a note: enter the State Council's notice here as soon as it is
published) and a ``published_horizon``: the last year covered by an official notice
(the package's last notice year, or later when the override table carries a newer
notice). Asking about a date after it emits :class:`CalendarHorizonWarning`.

Business day: not a holiday, and either a Monday–Friday or a 调休 working weekend day
(banks and the inter-bank market work on those days). One calendar serves due dates,
overdue days, penalty interest, claim deadlines and monitoring.
"""

from __future__ import annotations

import calendar as _stdcal
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Literal

import holidays

BusinessDayRule = Literal["following", "modified_following", "preceding", "unadjusted"]
BUSINESS_DAY_RULES: tuple[str, ...] = ("following", "modified_following", "preceding", "unadjusted")


class CalendarHorizonWarning(UserWarning):
    """A date lies after the last year with an official holiday notice: holidays are estimated, 调休 unknown."""


@cache
def package_published_horizon() -> int:
    """Last year for which the installed ``holidays`` package carries a State Council notice.

    Read from the package's table of notices (``ChinaStaticHolidays.special_public_holidays``);
    should a release move that table, the last year with a substituted working weekend is used.
    """
    try:
        from holidays.countries.china import ChinaStaticHolidays

        return max(ChinaStaticHolidays.special_public_holidays)
    except (ImportError, AttributeError, ValueError):  # pragma: no cover - depends on the package layout
        this_year = date.today().year
        lib = holidays.China(years=range(this_year - 3, this_year + 3))
        return max(d.year for d in lib.weekend_workdays)


@dataclass(frozen=True, slots=True)
class CalendarOverride:
    """One row of the override table: ``day`` is forced to a holiday (``working=False``) or a working day."""

    day: date
    working: bool
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.day, date):
            raise ValueError(f"day must be a date, got {self.day!r}")


def overrides_from_rows(rows: Iterable[Mapping[str, object]]) -> tuple[CalendarOverride, ...]:
    """Parse override rows ``{"date": "2027-02-07", "kind": "working"|"holiday", "note": "..."}``.

    Examples
    --------
    >>> overrides_from_rows([{"date": "2027-02-07", "kind": "working", "note": "notice"}])[0].working
    True
    """
    out = []
    for i, row in enumerate(rows):
        raw = row.get("date")
        kind = str(row.get("kind", "")).strip().lower()
        if kind not in ("working", "holiday"):
            raise ValueError(f"row {i}: kind must be 'working' or 'holiday', got {row.get('kind')!r}")
        day = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        out.append(CalendarOverride(day, kind == "working", str(row.get("note", ""))))
    return tuple(out)


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months, the day clamped to the month's end (Jan 31 + 1 → Feb 28/29).

    Examples
    --------
    >>> add_months(date(2024, 1, 31), 1)
    datetime.date(2024, 2, 29)
    """
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, _stdcal.monthrange(y, m)[1]))


class ChinaCalendar:
    """China business days from the ``holidays`` package plus an override table.

    Parameters
    ----------
    overrides : iterable of CalendarOverride
        Dates forced to holiday or working day (the audited copy of the State Council notice).
        A later row for the same date wins.
    published_horizon : int, optional
        Last year covered by an official notice. Default: the package's last notice year.
    warn : bool
        Emit :class:`CalendarHorizonWarning` for dates after ``published_horizon``.

    Examples
    --------
    >>> cal = ChinaCalendar()
    >>> cal.is_business_day(date(2025, 1, 26))  # Sunday made a working day (调休) for the Spring Festival
    True
    >>> cal.adjust(date(2025, 10, 1), "following")
    datetime.date(2025, 10, 9)
    """

    def __init__(
        self,
        overrides: Iterable[CalendarOverride] = (),
        published_horizon: int | None = None,
        *,
        warn: bool = True,
    ) -> None:
        table: dict[date, CalendarOverride] = {}
        for o in overrides:
            if not isinstance(o, CalendarOverride):
                raise ValueError(f"overrides must be CalendarOverride rows, got {o!r}")
            table[o.day] = o
        self._overrides: Mapping[date, CalendarOverride] = table
        self.published_horizon: int = package_published_horizon() if published_horizon is None else published_horizon
        self.warn = warn
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        self._lock = threading.Lock()

    @property
    def overrides(self) -> tuple[CalendarOverride, ...]:
        return tuple(sorted(self._overrides.values(), key=lambda o: o.day))

    # ------------------------------------------------------------------ year tables

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(holidays, working weekend days) of ``year`` after overrides; cached."""
        got = self._years.get(year)
        if got is not None:
            return got
        with self._lock:
            got = self._years.get(year)
            if got is None:
                got = self._build_year(year)
                self._years[year] = got
        return got

    def _build_year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        # a working weekend may belong to a notice of the next year (e.g. 2001-12-29 for New Year 2002)
        lib = holidays.China(years=(year, year + 1))
        hol = {d for d in lib if d.year == year}
        work = {d for d in lib.weekend_workdays if d.year == year and d.weekday() >= 5}
        for o in self._overrides.values():
            if o.day.year != year:
                continue
            if o.working:
                hol.discard(o.day)
                if o.day.weekday() >= 5:
                    work.add(o.day)
            else:
                hol.add(o.day)
                work.discard(o.day)
        return frozenset(hol), frozenset(work)

    def beyond_horizon(self, d: date) -> bool:
        """True if ``d`` is after the last officially published year (holidays estimated, 调休 unknown)."""
        return d.year > self.published_horizon

    def _check(self, d: date) -> None:
        if self.warn and d.year > self.published_horizon:
            warnings.warn(
                f"dates in {d.year} are after {self.published_horizon}, the last year with a published State Council "
                "holiday notice: holidays are estimated and working weekends (调休) unknown; add the notice to the "
                "calendar overrides",
                CalendarHorizonWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------------ queries

    def is_business_day(self, d: date) -> bool:
        """True on Monday–Friday that are not holidays, and on 调休 working weekend days."""
        self._check(d)
        hol, work = self._year(d.year)
        if d in hol:
            return False
        return d.weekday() < 5 or d in work

    def _is_bd(self, d: date) -> bool:  # no warning (internal stepping past the horizon)
        hol, work = self._year(d.year)
        return d not in hol and (d.weekday() < 5 or d in work)

    def holidays_in(self, year: int) -> list[date]:
        """Days off (public holidays and substituted days off) of ``year`` that fall on weekdays or weekends."""
        if self.warn and year > self.published_horizon:
            self._check(date(year, 1, 1))
        return sorted(self._year(year)[0])

    def working_weekends_in(self, year: int) -> list[date]:
        """Saturdays/Sundays of ``year`` that are working days (调休)."""
        if self.warn and year > self.published_horizon:
            self._check(date(year, 1, 1))
        return sorted(self._year(year)[1])

    def adjust(self, d: date, rule: BusinessDayRule = "following") -> date:
        """Move ``d`` to a business day: following, modified following (stay in the month), preceding, unadjusted.

        Examples
        --------
        >>> ChinaCalendar().adjust(date(2025, 5, 31), "modified_following")  # Saturday; 2 June is a holiday
        datetime.date(2025, 5, 30)
        """
        if rule not in BUSINESS_DAY_RULES:
            raise ValueError(f"rule must be one of {BUSINESS_DAY_RULES}, got {rule!r}")
        self._check(d)
        if rule == "unadjusted" or self._is_bd(d):
            return d
        if rule == "preceding":
            return self._step(d, -1)
        nxt = self._step(d, 1)
        if rule == "modified_following" and nxt.month != d.month:
            return self._step(d, -1)
        return nxt

    def _step(self, d: date, direction: int) -> date:
        one = timedelta(days=direction)
        d += one
        while not self._is_bd(d):
            d += one
        return d

    def advance_business_days(self, d: date, n: int) -> date:
        """``d`` plus ``n`` business days (negative: back). ``n = 0`` gives ``d`` adjusted following.

        Same convention as QuantLib ``Calendar.advance(d, n, Days)``.
        """
        self._check(d)
        if n == 0:
            return self.adjust(d, "following")
        direction = 1 if n > 0 else -1
        for _ in range(abs(n)):
            d = self._step(d, direction)
        self._check(d)
        return d

    def business_days_between(self, start: date, end: date, *, include_first: bool = True,
                              include_last: bool = False) -> int:
        """Number of business days from ``start`` to ``end`` ([start, end) by default; negative if end < start)."""
        self._check(start)
        self._check(end)
        if end < start:
            return -self.business_days_between(end, start, include_first=include_last, include_last=include_first)
        count = 0
        d = start
        while d <= end:
            if (d != start or include_first) and (d != end or include_last) and self._is_bd(d):
                count += 1
            d += timedelta(days=1)
        return count

    def monthly_schedule(self, start: date, n_periods: int, months_per_period: int = 1,
                         rule: BusinessDayRule = "modified_following") -> list[date]:
        """Due dates ``start`` + k×``months_per_period`` months (k = 1..n), each adjusted by ``rule``.

        The unadjusted dates keep the start's day of month (clamped at month end), so one date moved by a
        holiday does not drag the later ones.
        """
        if n_periods <= 0 or months_per_period <= 0:
            raise ValueError("n_periods and months_per_period must be positive")
        return [self.adjust(add_months(start, k * months_per_period), rule) for k in range(1, n_periods + 1)]


@cache
def _default() -> ChinaCalendar:
    return ChinaCalendar()


DEFAULT_CALENDAR: ChinaCalendar = _default()
"""The calendar of the installed ``holidays`` package, no overrides."""


def china_calendar(
    overrides: Iterable[CalendarOverride] | None = None, published_horizon: int | None = None
) -> ChinaCalendar:
    """The default calendar, or a new one with ``overrides`` (and a later ``published_horizon``)."""
    if not overrides and published_horizon is None:
        return DEFAULT_CALENDAR
    return ChinaCalendar(overrides or (), published_horizon)
