"""The QuantLib adapter against closed forms and the China calendar."""

from datetime import date
from math import exp, log, sqrt

import QuantLib
from scipy.stats import norm

from ipfin import ql


def _black_scholes_call(s: float, k: float, t: float, r: float, q: float, vol: float) -> float:
    """Merton (1973) closed form, computed independently of QuantLib."""
    d1 = (log(s / k) + (r - q + vol**2 / 2) * t) / (vol * sqrt(t))
    d2 = d1 - vol * sqrt(t)
    return s * exp(-q * t) * norm.cdf(d1) - k * exp(-r * t) * norm.cdf(d2)


def test_analytic_european_matches_closed_form() -> None:
    p = ql.vanilla_option(120.0, 100.0, 2.0, 0.03, 0.35, 0.5 / 10)
    assert abs(p.npv - _black_scholes_call(120, 100, 730 / 365, 0.03, 0.05, 0.35)) < 1e-10


def test_american_call_without_dividends_is_european_and_with_yield_is_worth_more() -> None:
    eu = ql.vanilla_option(100, 100, 1, 0.05, 0.2).npv
    am0 = ql.vanilla_option(100, 100, 1, 0.05, 0.2, exercise="american", engine="crr", steps=2000).npv
    assert abs(am0 - eu) < 0.01  # never optimal to exercise early (Merton 1973)
    eu_q = ql.vanilla_option(100, 100, 1, 0.05, 0.2, 0.1).npv
    am_q = ql.vanilla_option(100, 100, 1, 0.05, 0.2, 0.1, exercise="american", engine="crr", steps=2000).npv
    assert am_q > eu_q + 0.05


def test_evaluation_date_is_restored() -> None:
    before = QuantLib.Settings.instance().evaluationDate
    with ql.evaluation_date(date(2024, 2, 29)):
        assert QuantLib.Settings.instance().evaluationDate == QuantLib.Date(29, 2, 2024)
    ql.vanilla_option(100, 100, 1, 0.05, 0.2, valuation_date=date(2020, 1, 2))
    assert QuantLib.Settings.instance().evaluationDate == before


def test_china_calendar_moves_payments_off_national_day() -> None:
    assert not ql.is_business_day(date(2025, 10, 1))
    assert ql.adjust(date(2025, 10, 1)) == date(2025, 10, 9)
    # from 2025-09-01: 10-01 holiday → 10-09; 11-01 is a Saturday → 11-03; then back on the 1st
    assert ql.monthly_schedule(date(2025, 9, 1), 3) == [date(2025, 10, 9), date(2025, 11, 3), date(2025, 12, 1)]


def test_cash_flow_price_yield_round_trip_and_duration_by_hand() -> None:
    """Two flows, semi-annual compounding at 5%: t1 = 181/365, t2 = 365/365.
    P = 5/1.025^(2·181/365) + 105/1.025^2; Macaulay D = Σ t·PV / P."""
    flows = [(date(2026, 7, 1), 5.0), (date(2027, 1, 1), 105.0)]
    a = ql.cashflow_analytics(flows, date(2026, 1, 1), yield_rate=0.05, frequency=2)
    t1, t2 = 181 / 365, 1.0
    pv1, pv2 = 5 / 1.025 ** (2 * t1), 105 / 1.025 ** (2 * t2)
    assert abs(a.dirty_price - (pv1 + pv2)) < 1e-9
    assert abs(a.macaulay_duration - (t1 * pv1 + t2 * pv2) / (pv1 + pv2)) < 1e-9
    assert abs(a.modified_duration - a.macaulay_duration / 1.025) < 1e-9
    back = ql.cashflow_analytics(flows, date(2026, 1, 1), price=a.dirty_price, frequency=2)
    assert abs(back.yield_rate - 0.05) < 1e-9
