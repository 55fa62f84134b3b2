"""The entry point value_asset(ValuationRequest): validation names fields; results add up."""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

import valuation
from ipfin.money import fen_to_cny
from valuation.engine import value_asset
from valuation.income import relief_from_royalty
from valuation.reconcile import float_to_fen
from valuation.request import ValuationRequest

EXAMPLE = {"valuation_date": "2025-12-31",  # the day the expected figures are for
           **json.loads((Path(valuation.__file__).parent / "examples" / "invention_patent.json").read_text("utf-8"))}


def _req(**changes) -> dict:
    d = copy.deepcopy(EXAMPLE)
    d["monte_carlo"]["paths"] = 4000
    d["monte_carlo"]["chunk_size"] = 2000
    for path, value in changes.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return d


@pytest.fixture(scope="module")
def example_result():
    return value_asset(ValuationRequest.model_validate(_req()))


def test_example_request_values_every_approach_and_serialises_to_json(example_result):
    r = example_result
    text = json.dumps(r.model_dump(mode="json"), ensure_ascii=False)
    assert '"appraised_value_fen"' in text
    assert {ln.approach for ln in r.reconciliation} == {"income", "market", "cost"}
    assert r.real_option is not None and r.real_option.american_fen >= r.real_option.european_fen
    assert r.monte_carlo is not None and r.monte_carlo.prob_value_below_loan is not None
    assert isinstance(r.appraised_value_fen, int)


def test_appraised_value_is_the_exact_sum_of_contributions_and_inside_its_range(example_result):
    r = example_result
    assert r.appraised_value_fen == sum(ln.contribution_fen for ln in r.reconciliation)
    assert sum(Decimal(ln.weight) for ln in r.reconciliation) == 1
    assert r.appraised_low_fen <= r.appraised_value_fen <= r.appraised_high_fen


def test_income_value_matches_an_independent_dcf_of_the_same_inputs(example_result):
    """Revenue 50M × 1.06^t, royalty mode 3.5%, declining 5%/y, tax 15%, 8 y, mid-year, TAB 10 y,
    discount = build-up total reported in the result."""
    r = example_result
    rev = [5e7 * 1.06**t for t in range(1, 9)]
    from valuation.income import IncomeShape, ShapeKind

    ref = relief_from_royalty(rev, 0.035, tax_rate=0.15, discount_rate=r.discount_rate, life_years=8, mid_year=True,
                              shape=IncomeShape(ShapeKind.DECLINING, decay=0.05), tab_amortisation_years=10)
    assert r.income.value_fen == float_to_fen(ref.value)
    assert r.tornado_base_fen == r.income.value_fen
    assert sum(f.present_value_fen for f in r.income.flows) == pytest.approx(r.income.value_before_tab_fen, abs=8)


def test_score_premia_replace_the_stated_premia_in_the_build_up(example_result):
    r = example_result
    items = {d.item: d.rate for d in r.discount_build_up}
    assert items["technical_risk"] == pytest.approx(r.score.risk_premia["technical"])
    assert items["legal_risk"] == pytest.approx(r.score.risk_premia["legal"])
    assert items["funding_risk"] == 0.01
    assert items["total"] == pytest.approx(sum(v for k, v in items.items() if k != "total"))


def test_tornado_bars_are_sorted_and_revenue_bumps_are_linear(example_result):
    bars = example_result.tornado
    swings = [abs(b.value_at_high_fen - b.value_at_low_fen) for b in bars]
    assert swings == sorted(swings, reverse=True)
    rev = next(b for b in bars if b.input == "revenue_scale")
    base = example_result.tornado_base_fen
    assert rev.value_at_high_fen - base == pytest.approx(base - rev.value_at_low_fen, abs=2)


def test_same_seed_gives_an_identical_result():
    a = value_asset(ValuationRequest.model_validate(_req()))
    b = value_asset(ValuationRequest.model_validate(_req()))
    assert a.model_dump() == b.model_dump()


def test_profit_share_from_the_score_equals_relief_from_royalty_at_k_times_margin():
    d = _req(income__method="profit_share", income__royalty=None, weights={"income": 1.0})
    d["monte_carlo"]["enabled"] = False
    r = value_asset(ValuationRequest.model_validate(d))
    assert r.income.profit_share_source == "indicator_score"
    assert r.income.sales_royalty_rate == pytest.approx(r.score.profit_share * 0.18)
    assert r.income_basis == "deterministic"
    assert r.appraised_value_fen == r.income.value_fen


def test_equivalent_investment_sets_k():
    d = _req(income__method="profit_share", income__royalty=None, weights={"income": 1.0})
    d["income"]["equivalent_investment"] = {"ip_replacement_cost_cny": "1000000", "ip_cost_profit_rate": 5.0,
                                            "other_assets_cost_cny": "80000000", "other_assets_profit_rate": 0.125}
    r = value_asset(ValuationRequest.model_validate(d))
    assert r.income.profit_share == pytest.approx(0.0625)


def test_money_in_the_result_is_integer_fen_convertible_to_cny(example_result):
    assert fen_to_cny(example_result.cost.value_fen) == Decimal("3296160.00")  # 4.36M × 1.12 × 0.675


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"economics__base_revenue_cny": "-1"}, "base_revenue_cny"),
        ({"economics__revenue_growth": float("nan")}, "revenue_growth"),
        ({"economics__tax_rate": 1.0}, "tax_rate"),
        ({"discount__risk_free": 1.2}, "risk_free"),
        ({"income__economic_life_years": 13}, "economic_life_years"),
        ({"monte_carlo__life_years": {"low": 5, "mode": 8, "high": 13}}, "life_years"),
        ({"weights": {"income": 0.6, "market": 0.3}}, "weights"),
        ({"weights": {"income": 0.5, "real_option": 0.5}, "real_option": None}, "weights.real_option"),
        ({"income__royalty": {"low": 0.05, "mode": 0.03, "high": 0.04}}, "royalty"),
        ({"asset__identifier": "CN201810123456.4"}, "check digit"),
        ({"asset__identifier": "CN201920123456.5"}, "identifier"),
        ({"asset__legal_status": "lapsed"}, "legal_status"),
        ({"asset__filing_date": None}, "filing_date"),
        ({"scores": {"stability": 120}}, "scores.stability"),
        ({"monte_carlo__paths": 3001}, "even"),
        ({"monte_carlo__annual_hazard": -0.1}, "annual_hazard"),
        ({"asset__grant_date": "2026-03-01"}, "asset.grant_date"),
        ({"income__method": "excess_earnings", "income__contributory_charge_rates": [0.1, 0.1]},
         "contributory_charge_rates"),
    ],
)
def test_bad_inputs_raise_validation_errors_naming_the_field(changes, field):
    with pytest.raises(ValidationError) as exc:
        ValuationRequest.model_validate(_req(**changes))
    assert field in str(exc.value)


def test_unknown_fields_are_rejected():
    d = _req()
    d["economics"]["revenu_growth"] = 0.1
    with pytest.raises(ValidationError, match="revenu_growth"):
        ValuationRequest.model_validate(d)


def test_trademark_and_copyright_requests_use_their_own_term_rules():
    d = _req(asset={"ip_type": "trademark", "identifier": "TM12345678", "registration_date": "2018-06-14"},
             weights={"income": 1.0}, market=None, cost=None, real_option=None, scores=None)
    d["discount"]["premia_from_score"] = False
    d["income"]["economic_life_years"] = 2
    d["monte_carlo"]["life_years"] = None
    r = value_asset(ValuationRequest.model_validate(d))
    assert r.expiry_date.isoformat() == "2028-06-13"
    d["asset"] = {"ip_type": "software_copyright", "identifier": "2020SR0123456", "publication_date": "2020-04-01"}
    r = value_asset(ValuationRequest.model_validate(d))
    assert r.expiry_date.isoformat() == "2070-12-31"


def test_warnings_flag_a_pending_right_a_short_term_and_a_likely_shortfall():
    d = _req(weights={"income": 1.0}, market=None, cost=None, real_option=None)
    d["asset"]["legal_status"] = "pending"
    d["income"]["economic_life_years"] = 2
    d["monte_carlo"]["life_years"] = None
    d["monte_carlo"]["loan_amount_cny"] = "900000000.00"
    r = value_asset(ValuationRequest.model_validate(d | {"valuation_date": "2036-01-01"}))
    text = " | ".join(r.warnings)
    assert "pending" in text and "less than 3 years" in text and "P(value < loan)" in text


def test_a_well_covered_right_has_no_warnings(example_result):
    assert not any("pending" in w or "less than 3 years" in w for w in example_result.warnings)


def test_excess_earnings_request_values_margin_less_contributory_charges():
    d = _req(weights={"income": 1.0})
    d["income"].update(method="excess_earnings", contributory_charge_rates=[0.05, 0.03])
    d["monte_carlo"]["enabled"] = False
    r = value_asset(ValuationRequest.model_validate(d))
    assert r.income.method == "excess_earnings"
    assert r.income.sales_royalty_rate == pytest.approx(0.18 - 0.08)
