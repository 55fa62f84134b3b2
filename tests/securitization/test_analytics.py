"""Tranche analytics: the BMA yield example and QuantLib-backed price/yield on China-calendar dates."""

from datetime import date

import numpy as np
import pytest

from ipfin import ql
from securitization.analytics import bma_yield_table, tranche_analytics, weighted_average_life
from securitization.cashflows import project_bma, psa_smm_matrix, scheduled_balance_factors


def test_gnma_9pct_pass_through_at_150_psa_priced_at_par_matches_sf50():
    """BMA Standard Formulas SF-50..51: GNMA I 9.0% (9.5% gross), 360 months, 150% PSA, 14-day delay, price 100:
    CF1 0.8242, CF360 0.0562, yield 9.10675%, mortgage yield 8.93863%, average life 9.77844, duration
    5.73147, modified duration 5.48186, cash-flow convexity 0.544326."""
    bf = scheduled_balance_factors("annuity", 0.095, 360, 360)
    cf = project_bma(100.0, bf, 0.09, psa_smm_matrix(np.array([150.0]), 360), 0.0, 0.0, 0)
    principal = cf.principal_collected[0]
    flows = principal + cf.interest_collected[0]
    assert (round(float(flows[0]), 4), round(float(flows[1]), 4), round(float(flows[-1]), 4)) == (0.8242, 0.8491,
                                                                                                    0.0562)
    t = (14 + 30 * np.arange(1, 361)) / 360.0
    r = bma_yield_table(flows, principal, t, 100.0)
    assert round(r.yield_pct, 5) == 9.10675
    assert round(r.mortgage_yield_pct, 5) == 8.93863
    assert round(r.average_life, 5) == 9.77844
    assert round(r.duration, 5) == 5.73147
    assert round(r.modified_duration, 5) == 5.48186
    assert round(r.convexity, 6) == 0.544326


def _bond_flows(face=100_000_000, coupon=0.04, n=8):
    dates = ql.monthly_schedule(date(2024, 3, 15), n, 3)
    out, prev, bal = [], date(2024, 3, 15), face
    for k, d in enumerate(dates):
        prin = face // n if k < n - 1 else bal
        out.append((d, round(bal * coupon * ql.year_fraction(prev, d)), prin))
        bal -= prin
        prev = d
    return out


def test_price_at_yield_and_yield_at_price_round_trip_and_spread_adds_to_the_benchmark():
    flows = _bond_flows()
    settle = date(2024, 3, 15)
    at_y = tranche_analytics(flows, 100_000_000, settle, yield_rate=0.045)
    back = tranche_analytics(flows, 100_000_000, settle, price=at_y.price)
    assert back.yield_rate == pytest.approx(0.045, abs=1e-10)
    sp = tranche_analytics(flows, 100_000_000, settle, spread=0.01, benchmark_yield=0.035)
    assert sp.price == pytest.approx(at_y.price, rel=1e-12) and sp.spread == pytest.approx(0.01)
    assert at_y.price < 100 < tranche_analytics(flows, 100_000_000, settle, yield_rate=0.03).price
    assert 0 < at_y.modified_duration < at_y.macaulay_duration < at_y.wal_years


def test_wal_is_the_principal_weighted_act365_time_on_china_business_days():
    settle = date(2024, 1, 1)
    d1, d2 = ql.adjust(date(2024, 10, 1)), ql.adjust(date(2025, 10, 1))  # National Day holidays move both
    assert d1 > date(2024, 10, 1) and d2 > date(2025, 10, 1)
    wal = weighted_average_life([(d1, 0, 300), (d2, 0, 100)], settle)
    assert wal == pytest.approx((300 * (d1 - settle).days + 100 * (d2 - settle).days) / 400 / 365)
    with pytest.raises(ValueError, match="flows"):
        weighted_average_life([(d1, 5, 0)], settle)
