"""Behaviour added in the acceptance audit: the with-and-without income method is selectable in a
request; inputs that used to crash the engine (amounts compounding past BIGINT fen, an S-curve
with a far midpoint, a discount build-up summing to 1 or more, identifiers longer than the
column) are rejected naming the field."""

import copy
import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

import valuation
from valuation.engine import value_asset
from valuation.income import IncomeShape, ShapeKind
from valuation.reconcile import MAX_FEN, FenRangeError, float_to_fen
from valuation.request import ValuationRequest

EXAMPLE = {"valuation_date": "2025-12-31",  # the day the expected figures are for
           **json.loads((Path(valuation.__file__).parent / "examples" / "invention_patent.json").read_text("utf-8"))}


def wnw_request(**income: object) -> dict:
    """A with-and-without request: no scores, market or cost; flat build-up r = 10%."""
    d = copy.deepcopy(EXAMPLE)
    for k in ("scores", "market", "cost"):
        d.pop(k, None)
    d["weights"] = {"income": 1.0}
    d["economics"] = {"revenue_growth": 0.0, "revenue_volatility": 0.0, "profit_margin": 0.2, "tax_rate": 0.25}
    d["discount"] = {"risk_free": 0.04, "technical": 0.03, "market": 0.03}
    d["income"] = {
        "method": "with_and_without", "economic_life_years": 3, "mid_year": False,
        "cash_flow_with_cny": ["1000000.00", "1100000.00", "1200000.00"],
        "cash_flow_without_cny": ["600000.00", "650000.00", "700000.00"],
        **income,
    }
    d["monte_carlo"] = {"paths": 2000, "chunk_size": 1000, "seed": 3}
    return d


def test_with_and_without_request_discounts_the_after_tax_increment_hand_computed():
    """Hand DCF (有无对比法): increments 400k, 450k, 500k; × (1 − 25%); ÷ 1.10^t →
    272,727.27 + 278,925.62 + 281,743.05 = 833,395.94 CNY."""
    res = value_asset(ValuationRequest.model_validate(wnw_request()))
    expected = 300_000 / 1.1 + 337_500 / 1.1**2 + 375_000 / 1.1**3
    assert res.income.method == "with_and_without"
    assert res.income.value_fen == round(expected * 100) == 83_339_594
    assert [f.revenue_fen for f in res.income.flows] == [100_000_000, 110_000_000, 120_000_000]
    assert [f.attributable_pre_tax_fen for f in res.income.flows] == [40_000_000, 45_000_000, 50_000_000]
    # no volatility, fixed life, fixed rate: every Monte Carlo path is the deterministic value
    assert res.monte_carlo is not None and res.monte_carlo.mean_fen == res.income.value_fen
    assert res.monte_carlo.standard_error_cny < 1e-6
    assert res.appraised_value_fen == res.income.value_fen
    assert "sales_rate" not in {b.input for b in res.tornado}


def test_with_and_without_accepts_negative_profit_without_the_ip_and_extends_by_growth():
    d = wnw_request(economic_life_years=2, cash_flow_with_cny=["100000.00"], cash_flow_without_cny=["-50000.00"])
    with pytest.raises(ValidationError, match="cash_flow_with_cny covers 1 years"):
        ValuationRequest.model_validate(d)
    d["income"]["cash_flow_with_cny"] = ["100000.00", "100000.00"]
    d["income"]["cash_flow_without_cny"] = ["-50000.00", "-50000.00"]
    d["monte_carlo"]["life_years"] = {"low": 2, "mode": 3, "high": 4}
    d["economics"]["revenue_growth"] = 0.1
    res = value_asset(ValuationRequest.model_validate(d))
    assert res.income.value_fen == round((112_500 / 1.1 + 112_500 / 1.1**2) * 100)
    # the Monte Carlo's longer lives use years 3-4 extended by growth: 150k × 1.1, × 1.1²
    assert res.monte_carlo is not None and res.monte_carlo.mean_fen > res.income.value_fen


@pytest.mark.parametrize(
    ("income", "field"),
    [
        ({"cash_flow_without_cny": ["600000.00", "650000.00"]}, "cash_flow_without_cny must cover the same years"),
        ({"cash_flow_without_cny": ["600000.00", "1200000.00", "700000.00"]}, "cash_flow_without_cny[1]"),
        ({"cash_flow_with_cny": ["1e14", "1", "1"]}, "cash_flow_with_cny.0"),
        ({"cash_flow_with_cny": ["NaN", "1", "1"]}, "cash_flow_with_cny.0"),
        ({"method": "relief_from_royalty", "royalty": {"low": 0.01, "mode": 0.02, "high": 0.03}},
         "cash_flow_with_cny/cash_flow_without_cny are only used by with_and_without"),
    ],
)
def test_bad_with_and_without_inputs_name_the_field(income, field):
    with pytest.raises(ValidationError) as err:
        ValuationRequest.model_validate(wnw_request(**income))
    assert field in str(err.value)


def test_other_methods_still_require_base_revenue():
    d = copy.deepcopy(EXAMPLE)
    del d["economics"]["base_revenue_cny"]
    with pytest.raises(ValidationError, match=r"economics\.base_revenue_cny is required for relief_from_royalty"):
        ValuationRequest.model_validate(d)


def test_amounts_compounding_past_bigint_fen_raise_a_value_error_naming_economics():
    """1 trillion CNY (the boundary maximum) doubling every year for 18 years passes 9.2e16 CNY: ValueError."""
    d = copy.deepcopy(EXAMPLE)
    d["asset"].update(filing_date="2024-06-01", grant_date=None)
    d["income"]["economic_life_years"] = 18
    d["economics"].update(base_revenue_cny="1000000000000", revenue_growth=1.0)
    d["monte_carlo"].update(paths=1000, chunk_size=1000)
    d["monte_carlo"].pop("life_years", None)
    req = ValuationRequest.model_validate(d)
    with pytest.raises(ValueError, match=r"^economics: the valuation reaches amounts beyond"):
        value_asset(req)


def test_request_amounts_above_ten_trillion_cny_are_rejected():
    d = copy.deepcopy(EXAMPLE)
    d["economics"]["base_revenue_cny"] = "10000000000000.01"
    with pytest.raises(ValidationError, match=r"economics\.base_revenue_cny"):
        ValuationRequest.model_validate(d)


def test_float_to_fen_refuses_amounts_a_bigint_column_cannot_hold():
    assert float_to_fen(9.2e16) == 9_200_000_000_000_000_000 <= MAX_FEN
    for bad in (1e17, -1e30, math.inf, math.nan):
        with pytest.raises(FenRangeError):
            float_to_fen(bad)


def test_s_curve_with_extreme_arguments_does_not_overflow():
    far = IncomeShape(ShapeKind.S_CURVE, midpoint=1e6, steepness=1000).factors(3)
    assert far == [0.0, 0.0, 0.0]
    near = IncomeShape(ShapeKind.S_CURVE, midpoint=-1e6, steepness=1000).factors(2)
    assert near == [1.0, 1.0]
    d = copy.deepcopy(EXAMPLE)
    d["income"]["shape"] = {"kind": "s_curve", "midpoint": 1e6, "steepness": 1000}
    with pytest.raises(ValidationError, match=r"income\.shape\.midpoint"):
        ValuationRequest.model_validate(d)


def test_discount_build_up_of_one_or_more_is_a_value_error_naming_discount():
    d = copy.deepcopy(EXAMPLE)
    d["discount"].update(risk_free=0.5, funding=0.3, management=0.3, premia_from_score=False)
    d["monte_carlo"].update(paths=1000, chunk_size=1000)
    with pytest.raises(ValueError, match=r"^discount: the total discount rate must be in \(0, 1\), got 1\.1800"):
        value_asset(ValuationRequest.model_validate(d))


def test_identifier_longer_than_the_stored_column_and_sub_day_option_life_are_rejected():
    d = copy.deepcopy(EXAMPLE)
    d["asset"] = {"ip_type": "trademark", "identifier": "T" * 41, "registration_date": "2020-01-01"}
    with pytest.raises(ValidationError, match=r"asset\.identifier"):
        ValuationRequest.model_validate(d)
    d = copy.deepcopy(EXAMPLE)
    d["income"]["economic_life_years"] = 0.001
    d["monte_carlo"].pop("life_years", None)
    with pytest.raises(ValidationError, match="real_option: the remaining economic life is shorter than one day"):
        ValuationRequest.model_validate(d)
