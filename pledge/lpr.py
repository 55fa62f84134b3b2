"""Loan Prime Rate (LPR, 贷款市场报价利率) history and LPR + spread repricing dates.

Since the reform of PBoC announcement [2019] No. 15 the National Interbank Funding Center
publishes the 1-year and over-5-year LPR on the 20th of each month (postponed to the next
business day). The shipped history (``pledge/data/lpr.csv``) lists every change point from
2019-08-20; an administrator adds new fixings with :func:`load_fixings` /
:func:`merge_fixings` (a later row for the same date and tenor replaces the earlier one).

A floating loan priced at LPR + spread (the spread in basis points is fixed for the life
of the loan) is repriced on its reset dates (重定价日) — every contract anniversary or every
1 January, per contract, with a repricing period of at least one year (PBoC announcement
[2019] No. 30) — at the LPR in force on the reset date (the latest fixing published on or
before it) plus the spread.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from ipfin.calendar import add_months

Tenor = Literal["1Y", "5Y"]
TENORS: tuple[str, ...] = ("1Y", "5Y")
ResetRule = Literal["anniversary", "january_1"]


@dataclass(frozen=True, slots=True, order=True)
class LprFixing:
    """One LPR fixing: in force from ``effective_date``; ``rate`` is an exact annual fraction (0.0310 = 3.10 %)."""

    effective_date: date
    tenor: str
    rate: Decimal

    def __post_init__(self) -> None:
        if self.tenor not in TENORS:
            raise ValueError(f"tenor must be one of {TENORS}, got {self.tenor!r}")
        if not isinstance(self.rate, Decimal) or not (Decimal(0) <= self.rate < Decimal(1)):
            raise ValueError(f"rate must be a Decimal fraction in [0, 1), got {self.rate!r}")


def parse_fixings(text: str) -> tuple[LprFixing, ...]:
    """Fixings from CSV text with columns ``effective_date,tenor,rate_percent`` (``#`` lines are comments).

    Examples
    --------
    >>> parse_fixings("effective_date,tenor,rate_percent\\n2025-05-20,1Y,3.00\\n")[0].rate
    Decimal('0.0300')
    """
    rows = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(rows)))
    need = {"effective_date", "tenor", "rate_percent"}
    if reader.fieldnames is None or not need <= set(reader.fieldnames):
        raise ValueError(f"LPR CSV needs the columns {sorted(need)}, got {reader.fieldnames}")
    out = []
    for i, row in enumerate(reader, start=2):
        try:
            d = date.fromisoformat(row["effective_date"].strip())
            pct = Decimal(row["rate_percent"].strip())
        except (ValueError, ArithmeticError) as exc:
            raise ValueError(f"LPR CSV row {i}: {exc}") from exc
        out.append(LprFixing(d, row["tenor"].strip().upper(), pct.scaleb(-2)))
    return tuple(out)


def load_fixings(path: str | Path) -> tuple[LprFixing, ...]:
    """Read a CSV file of fixings (same columns as the shipped history)."""
    return parse_fixings(Path(path).read_text(encoding="utf-8"))


@cache
def default_fixings() -> tuple[LprFixing, ...]:
    """The shipped LPR history (``pledge/data/lpr.csv``), sorted by date."""
    text = resources.files("pledge").joinpath("data", "lpr.csv").read_text(encoding="utf-8")
    return tuple(sorted(parse_fixings(text)))


def merge_fixings(base: Iterable[LprFixing], extra: Iterable[LprFixing]) -> tuple[LprFixing, ...]:
    """``base`` with ``extra`` added; an extra row for the same (date, tenor) replaces the base row."""
    table = {(f.effective_date, f.tenor): f for f in base}
    for f in extra:
        table[(f.effective_date, f.tenor)] = f
    return tuple(sorted(table.values()))


def lpr_on(on: date, tenor: str = "1Y", fixings: Sequence[LprFixing] | None = None) -> Decimal:
    """The LPR of ``tenor`` in force on ``on`` (the latest fixing effective on or before it).

    ``fixings`` defaults to the shipped history. Raises ValueError before the first fixing.

    Examples
    --------
    >>> lpr_on(date(2024, 10, 20)), lpr_on(date(2024, 10, 21))
    (Decimal('0.0335'), Decimal('0.0310'))
    >>> lpr_on(date(2023, 1, 1), "5Y")
    Decimal('0.0430')
    """
    tenor = str(tenor).upper()
    if tenor not in TENORS:
        raise ValueError(f"tenor must be one of {TENORS}, got {tenor!r}")
    found: LprFixing | None = None
    for f in sorted(default_fixings() if fixings is None else fixings):
        if f.tenor == tenor and f.effective_date <= on:
            found = f
    if found is None:
        raise ValueError(f"no {tenor} LPR fixing on or before {on.isoformat()} (the reformed LPR starts 2019-08-20)")
    return found.rate


def reset_dates(start: date, maturity: date, rule: ResetRule = "anniversary") -> list[date]:
    """Repricing dates strictly between ``start`` and ``maturity``.

    ``anniversary``: start + 1, 2, … years (29 Feb → 28 Feb); ``january_1``: every 1 January.

    Examples
    --------
    >>> reset_dates(date(2024, 2, 29), date(2027, 3, 1))
    [datetime.date(2025, 2, 28), datetime.date(2026, 2, 28), datetime.date(2027, 2, 28)]
    >>> reset_dates(date(2024, 6, 15), date(2026, 6, 15), "january_1")
    [datetime.date(2025, 1, 1), datetime.date(2026, 1, 1)]
    """
    if maturity <= start:
        raise ValueError("maturity must be after start")
    out: list[date] = []
    if rule == "anniversary":
        k = 1
        while (d := add_months(start, 12 * k)) < maturity:
            out.append(d)
            k += 1
    elif rule == "january_1":
        y = start.year + 1
        while (d := date(y, 1, 1)) < maturity:
            out.append(d)
            y += 1
    else:
        raise ValueError(f"rule must be 'anniversary' or 'january_1', got {rule!r}")
    return out


def lpr_rate_path(
    start: date,
    maturity: date,
    spread_bp: int,
    tenor: str = "1Y",
    rule: ResetRule = "anniversary",
    fixings: Sequence[LprFixing] | None = None,
) -> list[tuple[date, Decimal]]:
    """The loan rate (LPR + spread) at the start and at each reset date: ``[(date, annual rate), ...]``.

    Examples
    --------
    >>> [(d.isoformat(), str(r)) for d, r in lpr_rate_path(date(2024, 3, 1), date(2026, 3, 1), -20)]
    [('2024-03-01', '0.0325'), ('2025-03-01', '0.0290')]
    """
    if isinstance(spread_bp, bool) or not isinstance(spread_bp, int):
        raise ValueError("spread_bp must be an integer number of basis points")
    spread = Decimal(spread_bp) / Decimal(10_000)
    path = []
    for d in [start, *reset_dates(start, maturity, rule)]:
        rate = lpr_on(d, tenor, fixings) + spread
        if rate < 0:
            raise ValueError(f"LPR + spread is negative on {d.isoformat()}")
        path.append((d, rate))
    return path


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (``start`` + m months ≤ ``end``)."""
    m = (end.year - start.year) * 12 + end.month - start.month
    while m > 0 and add_months(start, m) > end:
        m -= 1
    return m
