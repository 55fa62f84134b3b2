"""The one China calendar of the API: the ``holidays`` package plus the audited override table.

Administrators enter the State Council's yearly holiday notice (days off and 调休 working
weekends) as override rows; every due date, overdue count, penalty accrual, claim deadline and
monitoring run of the API uses :func:`current_calendar`. The calendar is cached per process and
rebuilt when the table changes (its row count and last update are checked on each use, so a
write in another process is seen too). A notice entered for a year after the package's last
notice year moves the published horizon to that year.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import NotFound
from api.identity.models import User
from api.pledge.models import CalendarOverrideRow
from ipfin.calendar import CalendarOverride, ChinaCalendar, china_calendar, package_published_horizon

_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "calendar": None}


def _table_key(session: Session) -> tuple[int, Any]:
    n, last = session.exec(select(func.count(), func.max(CalendarOverrideRow.updated_at))).one()
    return int(n), last


def override_rows(session: Session) -> list[CalendarOverrideRow]:
    return list(session.exec(select(CalendarOverrideRow).order_by(col(CalendarOverrideRow.day))).all())


def published_horizon(rows: list[CalendarOverrideRow]) -> int:
    """The package's last notice year, or a later year whose notice is in the override table."""
    return max([package_published_horizon(), *(r.day.year for r in rows)])


def current_calendar(session: Session) -> ChinaCalendar:
    """The calendar with the stored overrides (cached until the table changes)."""
    key = _table_key(session)
    with _lock:
        if _cache["key"] == key and _cache["calendar"] is not None:
            return _cache["calendar"]  # type: ignore[no-any-return]
    rows = override_rows(session)
    cal = china_calendar([CalendarOverride(r.day, r.working, r.note) for r in rows],
                         published_horizon(rows) if rows else None)
    with _lock:
        _cache.update(key=key, calendar=cal)
    return cal


def invalidate() -> None:
    """Forget the cached calendar (called on every write)."""
    with _lock:
        _cache.update(key=None, calendar=None)


def year_view(session: Session, year: int) -> dict[str, Any]:
    """Days off and working weekends of ``year`` as the API's calendar sees them, with the horizon."""
    import warnings

    cal = current_calendar(session)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hol, work = cal.holidays_in(year), cal.working_weekends_in(year)
    beyond = year > cal.published_horizon
    return {
        "year": year, "holidays": hol, "working_weekends": work, "published_horizon": cal.published_horizon,
        "beyond_horizon": beyond,
        "warning": (f"{year} is after {cal.published_horizon}, the last year with a published State Council notice: "
                    "holidays are estimated and working weekends (调休) unknown; enter the notice as overrides")
        if beyond else None,
        "overrides": [{"day": r.day, "kind": "working" if r.working else "holiday", "note": r.note}
                      for r in override_rows(session) if r.day.year == year],
    }


def put_override(session: Session, user: User | None, day: date, working: bool, note: str) -> CalendarOverrideRow:
    row = session.get(CalendarOverrideRow, day)
    before = audit.snapshot(row) if row else None
    if row is None:
        row = CalendarOverrideRow(day=day, working=working)
    row.working, row.note, row.updated_at = working, note, datetime.now(UTC)
    row.updated_by_user_id = user.id if user else None
    session.add(row)
    audit.record(session, user, "calendar_override", day.isoformat(), "set", before=before, after=row)
    invalidate()
    return row


def delete_override(session: Session, user: User | None, day: date) -> None:
    row = session.get(CalendarOverrideRow, day)
    if row is None:
        raise NotFound(f"no calendar override on {day.isoformat()}")
    audit.record(session, user, "calendar_override", day.isoformat(), "delete", before=row)
    session.delete(row)
    invalidate()
