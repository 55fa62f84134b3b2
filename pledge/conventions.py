"""Interest conventions (计息规则) of loan products: which fraction of the annual rate a period earns.

Chinese practice, from the PBoC 《人民币利率管理规定》(银发〔1999〕77号), its basic rules of
interest calculation (计息的基本规则): 日利率 = 年利率 ÷ 360, 月利率 = 年利率 ÷ 12 (article
number not verified here) — interest on actual days uses a
daily rate of annual/360 (Actual/360), and instalment loans use a monthly rate of annual/12
per monthly period, whatever the number of days in the month. Some contracts state
Actual/365 (the pre-2026 default of this code base) or 30/360; these are product settings.

Conventions (:class:`InterestConvention`):

* ``MONTHLY_360`` (按月计息, the default for 等额本息 and 等额本金): every full contractual
  period of m months earns annual × m / 12; a broken period (disbursement to a first due
  date that is not a whole number of months away, an early repayment date, a rate reset
  inside a period) earns annual / 360 per actual day.
* ``ACT_360`` (按日计息, the default for interest-only/bullet loans and for daily accruals
  such as penalty interest): annual / 360 per actual day.
* ``ACT_365F``: annual / 365 per actual day (Actual/365 Fixed).
* ``THIRTY_360``: 30/360 bond basis (ISDA 2006 §4.16(f), QuantLib ``Thirty360.BondBasis``).

Each function returns the exact accrual fraction (a :class:`~fractions.Fraction` of a year):
interest of a period = balance × annual rate × fraction, rounded to the fen once.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from fractions import Fraction

from ipfin.calendar import add_months


class InterestConvention(StrEnum):
    """How a period's interest is computed from the annual rate (a loan-product setting)."""

    MONTHLY_360 = "monthly_360"  # 按月: full months at annual/12, broken periods at annual/360 per day
    ACT_360 = "act_360"  # 按日: annual/360 per actual day (PBoC 日利率)
    ACT_365F = "act_365f"  # annual/365 per actual day
    THIRTY_360 = "30_360"  # 30/360 bond basis


DayCount = InterestConvention  # the day-count name used by some callers
MONTHLY_360 = InterestConvention.MONTHLY_360
ACT_360 = InterestConvention.ACT_360
ACT_365F = InterestConvention.ACT_365F
THIRTY_360 = InterestConvention.THIRTY_360

INSTALMENT_DEFAULT = MONTHLY_360
"""Default for 等额本息 / 等额本金 (monthly rate = annual/12; 银发〔1999〕77号)."""
DAILY_DEFAULT = ACT_360
"""Default for interest-only loans and daily accruals (daily rate = annual/360; 银发〔1999〕77号)."""


def default_convention(schedule_type: str) -> InterestConvention:
    """Chinese practice: ``MONTHLY_360`` for equal instalment/equal principal, ``ACT_360`` otherwise.

    Examples
    --------
    >>> default_convention("equal_instalment").value, default_convention("interest_only").value
    ('monthly_360', 'act_360')
    """
    return INSTALMENT_DEFAULT if str(schedule_type) in ("equal_instalment", "equal_principal") else DAILY_DEFAULT


def days_30_360(start: date, end: date) -> int:
    """Days between two dates on the 30/360 bond basis (D1 = 31 → 30; D2 = 31 and D1 ≥ 30 → 30).

    Examples
    --------
    >>> days_30_360(date(2024, 1, 31), date(2024, 3, 31))
    60
    """
    d1, d2 = start.day, end.day
    if d1 == 31:
        d1 = 30
    if d2 == 31 and d1 >= 30:
        d2 = 30
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def whole_months_between(start: date, end: date) -> int | None:
    """m ≥ 1 if ``end`` is exactly ``start`` + m months (month-end clamped), else None (a broken period)."""
    m = (end.year - start.year) * 12 + end.month - start.month
    if m >= 1 and add_months(start, m) == end:
        return m
    return None


def daily_fraction(convention: InterestConvention | str, start: date, end: date) -> Fraction:
    """Year fraction of [start, end) on the convention's *daily* basis (no whole-month rule).

    ``MONTHLY_360`` and ``ACT_360`` → actual days / 360; ``ACT_365F`` → days / 365;
    ``THIRTY_360`` → 30/360 days / 360. Used for broken periods and daily accruals (罚息, 复利).

    Examples
    --------
    >>> daily_fraction("act_360", date(2026, 1, 1), date(2026, 1, 31))
    Fraction(1, 12)
    """
    c = InterestConvention(convention)
    if end < start:
        raise ValueError("end must not be before start")
    if c is THIRTY_360:
        return Fraction(days_30_360(start, end), 360)
    days = (end - start).days
    return Fraction(days, 365 if c is ACT_365F else 360)


def accrual_fraction(
    convention: InterestConvention | str, start: date, end: date, months: int | None = None
) -> Fraction:
    """Year fraction a period [start, end) earns under ``convention``.

    ``months`` says the period is a full contractual period of that many months (its dates may be
    business-day adjusted); only ``MONTHLY_360`` uses it (fraction = months/12). Without it,
    ``MONTHLY_360`` treats the period as full only if ``end`` is exactly ``start`` + m months,
    otherwise as a broken period at annual/360 per actual day.

    Examples
    --------
    >>> accrual_fraction("monthly_360", date(2026, 2, 24), date(2026, 3, 16), months=1)  # adjusted dates
    Fraction(1, 12)
    >>> accrual_fraction("monthly_360", date(2026, 1, 15), date(2026, 2, 2))  # 18 days, broken
    Fraction(1, 20)
    """
    c = InterestConvention(convention)
    if c is MONTHLY_360:
        if months is not None:
            if months < 1:
                raise ValueError("months must be positive")
            return Fraction(months, 12)
        m = whole_months_between(start, end)
        if m is not None:
            return Fraction(m, 12)
    return daily_fraction(c, start, end)


def daily_basis_days(convention: InterestConvention | str) -> int:
    """Days in the year of the daily rate: 365 for ``ACT_365F``, else 360 (PBoC 日利率 = 年利率 ÷ 360)."""
    return 365 if InterestConvention(convention) is ACT_365F else 360
