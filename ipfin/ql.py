"""The one adapter between ipfin and QuantLib.

QuantLib keeps a process-global evaluation date; every pricing call here runs inside
:func:`evaluation_date`, which takes a lock, sets the date and restores the previous
one afterwards. QuantLib objects never leave this module, so none is shared across
threads. Dates in and out are ``datetime.date``; money in and out is plain numbers
(callers convert to fen where money must be exact).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

import QuantLib as ql

from ipfin.calendar import DEFAULT_CALENDAR

_LOCK = threading.RLock()

BusinessDayRule = Literal["following", "modified_following", "preceding", "unadjusted"]
_BDC = {
    "following": ql.Following,
    "modified_following": ql.ModifiedFollowing,
    "preceding": ql.Preceding,
    "unadjusted": ql.Unadjusted,
}


def to_ql_date(d: date) -> ql.Date:
    return ql.Date(d.day, d.month, d.year)


def from_ql_date(d: ql.Date) -> date:
    return date(d.year(), d.month(), d.dayOfMonth())


@contextmanager
def evaluation_date(d: date) -> Iterator[None]:
    """Set QuantLib's global evaluation date for the block, then restore it (thread-safe)."""
    with _LOCK:
        settings = ql.Settings.instance()
        previous = settings.evaluationDate
        settings.evaluationDate = to_ql_date(d)
        try:
            yield
        finally:
            settings.evaluationDate = previous


def china_calendar() -> ql.Calendar:
    """China business-day calendar as a QuantLib calendar (holidays and 调休 working weekends).

    Built from :data:`ipfin.calendar.DEFAULT_CALENDAR` (the ``holidays`` package) for 1990 to
    its published horizon + 5 years, as a ``BespokeCalendar``: weekends off, every holiday
    added, every working weekend day removed from the holidays.
    """
    return _bespoke_china()


@cache
def _bespoke_china() -> ql.Calendar:
    cal = DEFAULT_CALENDAR
    with _LOCK:
        bespoke = ql.BespokeCalendar("China (holidays package, ipfin)")
        bespoke.addWeekend(ql.Saturday)
        bespoke.addWeekend(ql.Sunday)
        for year in range(1990, cal.published_horizon + 6):
            hol, work = cal._year(year)
            for d in hol:
                bespoke.addHoliday(to_ql_date(d))
            for d in work:
                bespoke.removeHoliday(to_ql_date(d))
    return bespoke


def is_business_day(d: date) -> bool:
    """True on a China business day (see :mod:`ipfin.calendar`)."""
    return DEFAULT_CALENDAR.is_business_day(d)


def adjust(d: date, rule: BusinessDayRule = "following") -> date:
    """Move ``d`` to a China business day by the given convention."""
    return DEFAULT_CALENDAR.adjust(d, rule)


def advance_business_days(d: date, n: int) -> date:
    """``d`` plus ``n`` China business days (e.g. pledge registration ≈ 3 working days)."""
    return DEFAULT_CALENDAR.advance_business_days(d, n)


def monthly_schedule(
    start: date, n_periods: int, months_per_period: int = 1, rule: BusinessDayRule = "modified_following"
) -> list[date]:
    """Payment dates: ``start`` plus k×``months_per_period`` months, k = 1..n, business-day adjusted.

    Unadjusted dates keep the start's day of month (clamped at month end), so a date moved
    by a holiday does not drag the later ones with it. Calendar: :mod:`ipfin.calendar`.
    """
    return DEFAULT_CALENDAR.monthly_schedule(start, n_periods, months_per_period, rule)


def year_fraction(d1: date, d2: date, basis: Literal["act365f", "act360", "30/360"] = "act365f") -> float:
    """Accrual year fraction between two dates (Actual/365 Fixed by default, as Chinese loans use)."""
    dc = {
        "act365f": ql.Actual365Fixed(),
        "act360": ql.Actual360(),
        "30/360": ql.Thirty360(ql.Thirty360.BondBasis),
    }[basis]
    return float(dc.yearFraction(to_ql_date(d1), to_ql_date(d2)))


# --------------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class OptionPrice:
    """A vanilla call/put value with its Greeks where the engine provides them."""

    npv: float
    delta: float | None = None
    gamma: float | None = None
    vega: float | None = None


def _bsm_process(spot: float, rate: float, dividend_yield: float, vol: float, today: ql.Date):
    dc = ql.Actual365Fixed()
    return ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, dividend_yield, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
    )


def _maturity(today: ql.Date, years: float) -> ql.Date:
    days = round(years * 365)
    if days < 1:
        raise ValueError("option maturity must be at least one day")
    return today + days


def vanilla_option(
    spot: float,
    strike: float,
    years: float,
    rate: float,
    vol: float,
    dividend_yield: float = 0.0,
    *,
    kind: Literal["call", "put"] = "call",
    exercise: Literal["european", "american"] = "european",
    engine: Literal["analytic", "crr", "mc"] = "analytic",
    steps: int = 500,
    mc_samples: int = 100_000,
    mc_seed: int = 42,
    valuation_date: date | None = None,
) -> OptionPrice:
    """Price a vanilla option on a dividend-paying asset (cost-of-delay yield q) with QuantLib.

    ``engine``: ``analytic`` (Black-Scholes-Merton, European only), ``crr`` (Cox-Ross-Rubinstein
    binomial tree with ``steps``), ``mc`` (MCEuropeanEngine, pseudo-random, one time step;
    European only). Maturity is ``years`` × 365 days on Actual/365F.
    """
    for name, v in (("spot", spot), ("strike", strike), ("vol", vol)):
        if not v > 0:
            raise ValueError(f"{name} must be positive")
    today_py = valuation_date or date(2026, 1, 5)
    with evaluation_date(today_py):
        today = to_ql_date(today_py)
        maturity = _maturity(today, years)
        process = _bsm_process(spot, rate, dividend_yield, vol, today)
        payoff = ql.PlainVanillaPayoff(ql.Option.Call if kind == "call" else ql.Option.Put, strike)
        if exercise == "american":
            if engine != "crr":
                raise ValueError("American exercise needs the 'crr' engine")
            ex = ql.AmericanExercise(today, maturity)
        else:
            ex = ql.EuropeanExercise(maturity)
        option = ql.VanillaOption(payoff, ex)
        if engine == "analytic":
            if exercise != "european":
                raise ValueError("the analytic engine prices European exercise only")
            option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
            return OptionPrice(option.NPV(), option.delta(), option.gamma(), option.vega())
        if engine == "crr":
            option.setPricingEngine(ql.BinomialVanillaEngine(process, "crr", steps))
            return OptionPrice(option.NPV(), option.delta(), option.gamma())
        option.setPricingEngine(
            ql.MCEuropeanEngine(process, "pseudorandom", timeSteps=1, requiredSamples=mc_samples, seed=mc_seed)
        )
        return OptionPrice(option.NPV())


def mc_european_error_estimate(
    spot: float,
    strike: float,
    years: float,
    rate: float,
    vol: float,
    dividend_yield: float,
    samples: int,
    seed: int = 42,
    valuation_date: date | None = None,
) -> tuple[float, float]:
    """QuantLib MCEuropeanEngine (pseudo-random) value and its standard error, for benchmarks."""
    today_py = valuation_date or date(2026, 1, 5)
    with evaluation_date(today_py):
        today = to_ql_date(today_py)
        process = _bsm_process(spot, rate, dividend_yield, vol, today)
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call, strike), ql.EuropeanExercise(_maturity(today, years))
        )
        option.setPricingEngine(
            ql.MCEuropeanEngine(process, "pseudorandom", timeSteps=1, requiredSamples=samples, seed=seed)
        )
        return float(option.NPV()), float(option.errorEstimate())


# --------------------------------------------------------------------------- fixed cash flows


@dataclass(frozen=True, slots=True)
class CashflowAnalytics:
    """Price/yield analytics of a stream of fixed cash flows (per 100 of face or in CNY)."""

    dirty_price: float
    yield_rate: float
    macaulay_duration: float
    modified_duration: float
    convexity: float


def _leg(flows: Sequence[tuple[date, float]]) -> ql.Leg:
    leg = ql.Leg()
    for d, amount in flows:
        leg.append(ql.SimpleCashFlow(float(amount), to_ql_date(d)))
    return leg


def cashflow_analytics(
    flows: Sequence[tuple[date, float]],
    settlement: date,
    *,
    yield_rate: float | None = None,
    price: float | None = None,
    frequency: int = 12,
) -> CashflowAnalytics:
    """Price at a yield, or yield at a price, of dated cash flows, with durations and convexity.

    Yields are compounded ``frequency`` times a year on Actual/365F (12 = monthly, as pool
    cash flows pay). Give exactly one of ``yield_rate`` and ``price`` (dirty, same units
    as the flows).
    """
    if (yield_rate is None) == (price is None):
        raise ValueError("give exactly one of yield_rate and price")
    if not flows:
        raise ValueError("no cash flows")
    dc = ql.Actual365Fixed()
    freq = {1: ql.Annual, 2: ql.Semiannual, 4: ql.Quarterly, 12: ql.Monthly}[frequency]
    with evaluation_date(settlement):
        leg = _leg(flows)
        s = to_ql_date(settlement)
        if yield_rate is None:
            assert price is not None
            y = ql.CashFlows.yieldRate(leg, price, dc, ql.Compounded, freq, False, s, s, 1.0e-12, 200, 0.05)
        else:
            y = yield_rate
        rate = ql.InterestRate(y, dc, ql.Compounded, freq)
        npv = ql.CashFlows.npv(leg, rate, False, s, s)
        mac = ql.CashFlows.duration(leg, rate, ql.Duration.Macaulay, False, s)
        mod = ql.CashFlows.duration(leg, rate, ql.Duration.Modified, False, s)
        cvx = ql.CashFlows.convexity(leg, rate, False, s)
    return CashflowAnalytics(float(npv), float(y), float(mac), float(mod), float(cvx))


# --- pledge ---


def fixed_leg_coupons(
    dates: Sequence[date],
    nominals: Sequence[float],
    rate: float,
    basis: Literal["act365f", "act360", "30/360"] = "act365f",
) -> list[float]:
    """Interest of each period of a fixed-rate leg on explicit dates with amortising nominals.

    ``dates`` are the accrual boundaries (start, then each payment date, used as given);
    ``nominals[k]`` is the balance accruing in period k. QuantLib ``FixedRateLeg`` with
    simple interest per period — the independent reference for pledge-loan schedules.
    """
    if len(dates) < 2 or len(nominals) != len(dates) - 1:
        raise ValueError("need n+1 dates and n nominals")
    dc = {
        "act365f": ql.Actual365Fixed(),
        "act360": ql.Actual360(),
        "30/360": ql.Thirty360(ql.Thirty360.BondBasis),
    }[basis]
    with _LOCK:
        schedule = ql.Schedule([to_ql_date(d) for d in dates])
        leg = ql.FixedRateLeg(schedule, dc, [float(n) for n in nominals], [float(rate)])
        return [float(cf.amount()) for cf in leg]
