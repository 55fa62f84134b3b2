"""Schedule building blocks (exact fen): rates, instalments, schedules and the amortisation kernel.

Split out of :mod:`pledge.schedule` (which re-exports every name here) to keep each module short:
:class:`InterestRate`, :class:`Instalment`, :class:`Schedule`, the period interest functions and
:func:`_amortise`, which turns a balance, period bounds and period rates into instalments whose
principal parts sum exactly to the balance. See :mod:`pledge.schedule` for the practice behind them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from ipfin import ql
from ipfin.money import Fen, round_half_even_fen
from pledge.conventions import (
    ACT_365F,
    InterestConvention,
    accrual_fraction,
)

DAYS_PER_YEAR = 365  # Actual/365 Fixed (:func:`period_interest_fen`)
PrepaymentMode = Literal["keep_term", "shorten_term"]


class ScheduleType(StrEnum):
    EQUAL_INSTALMENT = "equal_instalment"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_ONLY = "interest_only"  # 按期付息到期还本 (bullet)


def _check_fen(name: str, value: object, *, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be integer fen, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, got {value}")
    return value


def _as_decimal(name: str, value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError(f"{name} must be an exact decimal (Decimal, str or int), not {type(value).__name__}")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError as exc:
        raise ValueError(f"{name} is not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"{name} must be finite")
    return d


@dataclass(frozen=True, slots=True)
class InterestRate:
    """Annual loan rate: fixed, or LPR + spread in basis points (LPR is an input number).

    Use :meth:`fixed` or :meth:`lpr_plus`. ``annual_rate`` is the exact decimal fraction.
    """

    kind: Literal["fixed", "lpr_spread"]
    fixed_rate: Decimal | None = None
    lpr: Decimal | None = None
    spread_bp: int = 0

    def __post_init__(self) -> None:
        if self.kind == "fixed":
            if self.fixed_rate is None:
                raise ValueError("fixed_rate is required for a fixed rate")
            object.__setattr__(self, "fixed_rate", _as_decimal("fixed_rate", self.fixed_rate))
        elif self.kind == "lpr_spread":
            if self.lpr is None:
                raise ValueError("lpr is required for an LPR + spread rate")
            object.__setattr__(self, "lpr", _as_decimal("lpr", self.lpr))
            if isinstance(self.spread_bp, bool) or not isinstance(self.spread_bp, int):
                raise ValueError("spread_bp must be an integer number of basis points")
        else:
            raise ValueError(f"kind must be 'fixed' or 'lpr_spread', got {self.kind!r}")
        r = self.annual_rate
        if not (Decimal(0) <= r < Decimal(1)):
            raise ValueError(f"annual rate must be in [0, 1) as a fraction, got {r}")

    @classmethod
    def fixed(cls, rate: Decimal | str) -> InterestRate:
        return cls("fixed", fixed_rate=_as_decimal("fixed_rate", rate))

    @classmethod
    def lpr_plus(cls, lpr: Decimal | str, spread_bp: int) -> InterestRate:
        """LPR (e.g. the 1-year LPR, 0.0310) plus ``spread_bp`` basis points (may be negative)."""
        return cls("lpr_spread", lpr=_as_decimal("lpr", lpr), spread_bp=spread_bp)

    @property
    def annual_rate(self) -> Decimal:
        if self.kind == "fixed":
            assert self.fixed_rate is not None
            return self.fixed_rate
        assert self.lpr is not None
        return self.lpr + Decimal(self.spread_bp) / Decimal(10_000)


InstalmentKind = Literal["scheduled", "early_repayment", "grace"]


@dataclass(frozen=True, slots=True)
class Instalment:
    """One line of a schedule.

    ``kind``: ``scheduled``, ``grace`` (interest-only period of a grace period, 宽限期) or
    ``early_repayment`` (a period split by a prepayment). ``accrual_months``: the number of
    contractual months the period spans when it is a full period (used by the monthly
    convention); ``None`` for a broken period or when unknown.
    """

    number: int
    period_start: date
    due_date: date
    days: int
    opening_balance_fen: Fen
    principal_fen: Fen
    interest_fen: Fen
    kind: InstalmentKind = "scheduled"
    accrual_months: int | None = None

    @property
    def total_fen(self) -> Fen:
        return self.principal_fen + self.interest_fen

    @property
    def closing_balance_fen(self) -> Fen:
        return self.opening_balance_fen - self.principal_fen


@dataclass(frozen=True, slots=True)
class Schedule:
    principal_fen: Fen
    annual_rate: Decimal
    schedule_type: ScheduleType
    instalments: tuple[Instalment, ...]
    level_payment_fen: Fen | None = None  # equal_instalment only
    convention: InterestConvention | None = None  # None: the default for the schedule type
    months_per_period: int = 1
    business_day_rule: ql.BusinessDayRule = "modified_following"

    @property
    def total_interest_fen(self) -> Fen:
        return sum(i.interest_fen for i in self.instalments)

    @property
    def total_principal_fen(self) -> Fen:
        return sum(i.principal_fen for i in self.instalments)

    @property
    def maturity(self) -> date:
        return self.instalments[-1].due_date


def period_interest_fen(balance_fen: Fen, annual_rate: Decimal, days: int) -> Fen:
    """Interest of one period, Actual/365F: balance × rate × days / 365, rounded half-even to the fen."""
    if days < 0:
        raise ValueError("days must not be negative")
    return round_half_even_fen(Fraction(balance_fen) * Fraction(annual_rate) * days / DAYS_PER_YEAR)


def interest_fen(
    balance_fen: Fen,
    annual_rate: Decimal | str,
    start: date,
    end: date,
    convention: InterestConvention | str = ACT_365F,
    months: int | None = None,
) -> Fen:
    """Interest (fen) on ``balance_fen`` over [start, end) under ``convention``, half-even to the fen.

    ``months``: the period is a full contractual period of that many months (monthly convention).

    Examples
    --------
    >>> interest_fen(100_000_000, "0.049", date(2026, 1, 15), date(2026, 2, 15), "monthly_360")  # P·r/12
    408333
    >>> interest_fen(100_000_000, "0.049", date(2026, 1, 15), date(2026, 2, 15), "act_360")  # P·r·31/360
    421944
    """
    rate = Fraction(_as_decimal("annual_rate", annual_rate))
    return round_half_even_fen(Fraction(balance_fen) * rate * accrual_fraction(convention, start, end, months))


def level_payment(principal_fen: Fen, period_rates: Sequence[Fraction]) -> Fraction:
    """Exact level payment A that amortises ``principal_fen`` with per-period rates g_k.

    Solves B_n = 0 for B_k = B_{k−1}(1 + g_k) − A:
    A = P·∏(1+g_k) / Σ_{j=1..n} ∏_{k=j+1..n}(1+g_k). Equal g_k give the annuity formula.
    """
    if not period_rates:
        raise ValueError("period_rates must not be empty")
    denom = Fraction(0)
    suffix = Fraction(1)  # ∏_{k>j}(1+g_k), built backwards; ends as ∏ over all periods
    for g in reversed(period_rates):
        denom += suffix
        suffix *= 1 + g
    return Fraction(principal_fen) * suffix / denom


def _amortise(
    principal_fen: Fen,
    bounds: Sequence[date],
    growth: Sequence[Fraction],
    st: ScheduleType,
    *,
    grace_periods: int = 0,
    first_number: int = 1,
    months: Sequence[int | None] | None = None,
    carried_interest: Fraction = Fraction(0),
) -> tuple[tuple[Instalment, ...], Fen | None]:
    """Instalments for ``principal_fen`` over the periods [bounds[k], bounds[k+1]) with period rates ``growth``.

    The first ``grace_periods`` periods are interest-only. ``carried_interest`` (exact fen) is
    added to the first period's interest before rounding and is paid on top of the level
    payment (it does not reduce principal).
    """
    n = len(growth)
    if n == 0 or len(bounds) != n + 1:
        raise ValueError("need n+1 period bounds for n periods")
    days = [(b - a).days for a, b in pairwise(bounds)]
    if any(d <= 0 for d in days):
        raise ValueError("due_dates must be strictly increasing and after the start date")
    if not 0 <= grace_periods < n:
        raise ValueError("the grace period must leave at least one amortising period")
    mon = list(months) if months is not None else [None] * n
    level: Fen | None = None
    principals: list[Fen | None] = [None] * n
    n_amort = n - grace_periods
    if st is ScheduleType.EQUAL_PRINCIPAL:
        base = principal_fen // n_amort
        principals = [*([0] * grace_periods), *([base] * (n_amort - 1)), principal_fen - base * (n_amort - 1)]
    elif st is ScheduleType.INTEREST_ONLY:
        principals = [*([0] * (n - 1)), principal_fen]
    else:
        principals[:grace_periods] = [0] * grace_periods
        level = round_half_even_fen(level_payment(principal_fen, growth[grace_periods:]))
    out: list[Instalment] = []
    balance = principal_fen
    for k in range(n):
        exact = Fraction(balance) * growth[k]
        interest = round_half_even_fen(exact + (carried_interest if k == 0 else 0))
        if k == n - 1:
            principal = balance
        elif principals[k] is not None:
            principal = principals[k]  # type: ignore[assignment]
        else:
            assert level is not None
            principal = level - round_half_even_fen(exact)
            if principal < 0:
                raise ValueError("the level payment does not cover a period's interest (negative amortisation); "
                                 "shorten the term or the first period")
            principal = min(principal, balance)
        kind: InstalmentKind = "grace" if k < grace_periods and st is not ScheduleType.INTEREST_ONLY else "scheduled"
        out.append(Instalment(first_number + k, bounds[k], bounds[k + 1], days[k], balance, principal, interest,
                              kind, mon[k]))
        balance -= principal
    assert balance == 0
    return tuple(out), level


