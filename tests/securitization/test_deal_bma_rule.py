"""BMA rule C.3.j ("no new defaults in the last lag months before maturity") on the deal path: a deal
scenario's ``zero_defaults_before_maturity`` reaches :func:`securitization.cashflows.project_bma`."""

import json

import numpy as np
import pytest

from securitization.cashflows import cdr_to_mdr, cpr_to_smm, project_bma, scheduled_balance_factors
from securitization.deal import BMA_RULE, deal_from_dict, project_deal_pool, reference_deals, run_deal

LOANS = [  # two terms, so the rule's last months differ per loan
    {"loan_id": "A", "borrower": "a", "balance_cny": "3000000.00", "annual_rate": 0.05, "term_months": 24,
     "annual_pd": 0.08, "recovery_rate": 0.4, "recovery_lag_months": 6, "industry": "C", "region": "500100",
     "schedule": "annuity", "age_months": 4},
    {"loan_id": "B", "borrower": "b", "balance_cny": "2000000.00", "annual_rate": 0.06, "term_months": 12,
     "annual_pd": 0.05, "recovery_rate": 0.3, "recovery_lag_months": 6, "industry": "I", "region": "500100",
     "schedule": "bullet"},
]


def _deal(scenarios: list[dict]) -> dict:
    return {"name": "R", "closing_date": "2025-01-15", "payment_months": 1, "principal_mode": "sequential",
            "tranches": [{"name": "A", "balance_cny": "4000000.00", "coupon": 0.03, "seniority": 1},
                         {"name": "Sub", "balance_cny": "1000000.00", "coupon": 0.0, "seniority": 2,
                          "residual": True}],
            "scenarios": scenarios, "pool": {"name": "p", "loans": LOANS}}


def _direct(loan: dict, horizon: int, cpr: float, rule: bool):
    term = loan["term_months"] - loan.get("age_months", 0)
    bf = scheduled_balance_factors(loan["schedule"], loan["annual_rate"], loan["term_months"], horizon,
                                   loan.get("age_months", 0))
    return project_bma(float(loan["balance_cny"]), bf, loan["annual_rate"], float(cpr_to_smm(cpr)),
                       float(cdr_to_mdr(loan["annual_pd"])), 1 - loan["recovery_rate"], loan["recovery_lag_months"],
                       advancing=False, remaining_term=term, zero_defaults_before_maturity=rule)


def test_a_scenario_with_the_rule_gives_the_pool_flows_of_project_bma_called_with_it():
    deal = deal_from_dict(_deal([{"name": "plain", "cpr": 0.05},
                                 {"name": "bma", "cpr": 0.05, BMA_RULE: True}]))
    proj = project_deal_pool(deal)
    horizon = proj.months
    assert horizon == 20 + 6
    for k, rule in ((0, False), (1, True)):
        flows = [_direct(loan, horizon, 0.05, rule) for loan in LOANS]
        for ours, theirs in (("defaults", "new_defaults"), ("losses", "principal_loss"),
                             ("recoveries", "principal_recovery"), ("prepayments", "voluntary_prepayments"),
                             ("principal", "actual_amortization"), ("interest", "interest_collected"),
                             ("balance", "pool_balance")):
            want = sum(getattr(cf, theirs)[0] for cf in flows)
            np.testing.assert_allclose(getattr(proj, ours)[k], want, rtol=1e-9, atol=1e-6, err_msg=f"{k} {ours}")


def test_the_rule_stops_defaults_in_each_loans_last_lag_months_and_changes_the_deal_result():
    raw = _deal([{"name": "plain", "pd_multiplier": 3.0}, {"name": "bma", "pd_multiplier": 3.0, BMA_RULE: True}])
    res = run_deal(deal_from_dict(raw)).to_dict()["scenarios"]
    plain, bma = (np.array(s["pool"]["monthly"]["defaults"]) for s in res)
    # loan B (12 months) may not default from month 7 on, loan A (20 months left) from month 15 on
    assert plain[6:12].sum() > 0 and plain[14:20].sum() > 0
    assert bma[14:].sum() == 0 and bma[:6].sum() > 0
    np.testing.assert_allclose(bma[:6], plain[:6])
    assert res[1]["pool"]["cumulative_default_rate"] < res[0]["pool"]["cumulative_default_rate"]
    assert res[0]["scenario"][BMA_RULE] is False and res[1]["scenario"][BMA_RULE] is True
    assert res[1]["waterfall"] != res[0]["waterfall"]


def test_without_the_key_the_deal_path_is_unchanged():
    path = reference_deals()["zgc_tech_leasing_2022_1"]
    raw = json.loads(path.read_text(encoding="utf-8"))
    before = run_deal(deal_from_dict(raw), include_periods=False).to_dict()["scenarios"]
    raw["scenarios"] = [{**s, BMA_RULE: False} for s in raw["scenarios"]]
    after = run_deal(deal_from_dict(raw), include_periods=False).to_dict()["scenarios"]
    assert [s["pool"] for s in before] == [s["pool"] for s in after]
    raw["scenarios"][0][BMA_RULE] = True
    ruled = run_deal(deal_from_dict(raw), include_periods=False).to_dict()["scenarios"]
    assert ruled[0]["pool"]["cumulative_default_rate"] < before[0]["pool"]["cumulative_default_rate"]
    assert [s["pool"] for s in ruled[1:]] == [s["pool"] for s in before[1:]]


def test_a_rule_that_is_not_true_or_false_is_rejected_naming_the_field():
    with pytest.raises(ValueError, match=rf"scenarios\[0\]\.{BMA_RULE}: must be true or false"):
        deal_from_dict(_deal([{"name": "x", BMA_RULE: "yes"}]))
