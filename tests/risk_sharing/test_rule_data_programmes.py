"""Insurance and subsidies as rule data (issue 12, item 4): an insurer's premium and limits, subsidies with
annual budgets; existing rules load unchanged; the insurer's annual limit is a party budget for claims and
the simulator, its per-loan limit caps its payout in the simulator; premiums and subsidy budgets by year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from risk_sharing.claims import Claim, Loan, ReviewContext
from risk_sharing.engine import review_claim
from risk_sharing.presets import list_presets, load_preset
from risk_sharing.rules import SubsidyKind, ValidationError, rule_from_dict, rule_to_dict
from risk_sharing.simulator import RiskBook, homogeneous_book, programme_cost, simulate_rule_cost

PROGRAMME = "loan-guarantee-insurance"


def _programme(**update: Any) -> dict[str, Any]:
    d = rule_to_dict(load_preset(PROGRAMME))
    d.pop("caps")  # the annual limit is carried into the caps again from the insurance block
    d.update(update)
    return d


def test_every_existing_preset_loads_unchanged_without_insurance_or_subsidies() -> None:
    for name in list_presets():
        rule = load_preset(name)
        if name != PROGRAMME:
            assert rule.insurance is None and rule.subsidies == ()
        assert rule_from_dict(rule_to_dict(rule)) == rule


def test_the_programme_preset_states_its_numbers_as_assumptions() -> None:
    rule = load_preset(PROGRAMME)
    assert "Assumptions (all numbers)" in rule.description
    assert rule.insurance is not None and rule.insurance.premium_rate == Decimal("0.01")
    assert rule.insurance.per_loan_limit_cny == Decimal("3000000.00")
    assert [(s.key, s.kind) for s in rule.subsidies] == [("interest_subsidy", SubsidyKind.INTEREST),
                                                         ("appraisal_subsidy", SubsidyKind.APPRAISAL_FEE)]


def test_the_insurers_annual_limit_is_its_party_budget() -> None:
    rule = load_preset(PROGRAMME)
    assert rule.caps.party_year_cny == {"insurer": Decimal("20000000.00")}
    assert rule.party_per_loan_limit_cny("insurer") == Decimal("3000000.00")
    assert rule.party_per_loan_limit_cny("guarantor") is None


@pytest.mark.parametrize(("update", "message"), [
    ({"insurance": {"party": "fund", "premium_rate": "0.01"}},
     "insurance.party: 'fund' is not a party of role insurer"),
    ({"insurance": {"party": "insurer", "premium_rate": "1.5"}}, "must be a fraction"),
    ({"insurance": {"party": "insurer", "premium_rate": "0.01", "annual_limit_cny": "5.00"},
      "caps": {"party_year_cny": {"insurer": "6.00"}}}, "insurance.annual_limit_cny: 5.00 differs"),
    ({"subsidies": [{"key": "s", "kind": "interest", "payer": "x", "rate": "0.5"},
                    {"key": "s", "kind": "appraisal_fee", "payer": "y", "rate": "0.5"}]},
     "subsidies: keys must not repeat"),
    ({"subsidies": [{"key": "s", "kind": "rent", "payer": "x", "rate": "0.5"}]}, "subsidies.0.kind"),
])
def test_bad_programme_data_is_refused_naming_the_field(update: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        rule_from_dict(_programme(**update))
    assert message in str(exc.value)


def test_a_claim_review_stops_the_insurer_at_its_annual_limit() -> None:
    """20M a year: with 19M already paid this year, the insurer pays 1M of its 30% of a 10M loss."""
    rule = load_preset(PROGRAMME)
    loan = Loan(loan_id="L", borrower_id="B", origination_date=date(2024, 1, 2), principal_fen=1_000_000_000,
                guaranteed=True)
    claim = Claim(claim_id="C", loan_id="L", default_date=date(2024, 6, 1), filed_on=date(2024, 10, 1),
                  outstanding_principal_fen=1_000_000_000)
    fresh = review_claim(rule, claim, loan, ReviewContext(review_date=date(2024, 10, 2)))
    assert fresh.payable["insurer"] == 300_000_000
    used = review_claim(rule, claim, loan, ReviewContext(review_date=date(2024, 10, 2),
                                                         party_paid_year_fen={"insurer": 1_900_000_000}))
    assert used.payable["insurer"] == 100_000_000
    assert used.payable["guarantor"] == 400_000_000 + 200_000_000  # the shortfall stays with the guarantor


def test_the_simulator_caps_the_insurer_per_loan_and_the_guarantor_bears_the_rest() -> None:
    """Certain default (PD → 1 in a year), nothing recovered, 20M loans: the insurer's 30% (6M) is capped at
    3M per loan, the guarantor bears 40% + 3M; the fund and the bank their nominal 10% and 20%."""
    book = homogeneous_book(3, 2e7, 0.999999, 0.0, 0.0)
    rule = rule_from_dict(_programme(insurance={"party": "insurer", "premium_rate": "0.01",
                                                "per_loan_limit_cny": "3000000.00"}))
    res = simulate_rule_cost(rule, book, 50, seed=2)
    per_path = {k: res.payout[:, j] / 3 for j, k in enumerate(res.parties)}
    assert np.allclose(per_path["insurer"], 3e6)
    assert np.allclose(per_path["guarantor"], 8e6 + 3e6)
    assert np.allclose(per_path["fund"], 2e6) and np.allclose(per_path["bank"], 4e6)
    unlimited = rule_from_dict(_programme(insurance={"party": "insurer", "premium_rate": "0.01"}))
    assert np.allclose(simulate_rule_cost(unlimited, book, 50, seed=2).payout[:, 1] / 3, 6e6)


@pytest.mark.parametrize("sequential", [False, True])
def test_per_loan_and_annual_limits_together_on_every_code_path(sequential: bool) -> None:
    """Ten certain 20M defaults a year: 3M each from the insurer would be 30M, its 20M annual limit binds."""
    book = homogeneous_book(10, 2e7, 0.999999, 0.0, 0.0)
    res = simulate_rule_cost(load_preset(PROGRAMME), book, 40, seed=1, sequential=sequential, claim_lag_months=0)
    assert np.allclose(res.payout[:, res.parties.index("insurer")], 2e7)
    assert res.exhaustion("party_year[insurer]").probability == 1.0
    assert np.allclose(res.payout.sum(axis=1), 2e8)  # parts always sum to the loss base


def test_premium_and_subsidy_budgets_by_year() -> None:
    """Two years, PD 10%: interest subsidy half of 6% on 1M (30k, under the 100k cap) for the loans performing
    through the year; appraisal-fee subsidy once; premium 1% on the loans alive at the start of the year."""
    base = homogeneous_book(100, 1e6, 0.1, 0.0, 5e5)
    book = RiskBook(**{**base.__dict__, "interest_rate": np.full(100, 0.06), "appraisal_fee": np.full(100, 5e4)})
    cost = programme_cost(load_preset(PROGRAMME), book, years=2)
    assert cost.premium_by_year == pytest.approx((1e6, 0.9e6))
    interest = cost.subsidy("interest_subsidy")
    assert interest.demand_by_year == pytest.approx((100 * 3e4 * 0.9, 100 * 3e4 * 0.81))
    assert interest.exhausted_by_year == (False, False) and interest.first_exhausted_year is None
    appraisal = cost.subsidy("appraisal_subsidy")
    assert appraisal.demand_by_year == (100 * 2e4, 0.0)  # min(50% × 50k, 20k) each, at origination
    assert appraisal.paid_by_year == (1e6, 0.0)  # the 1M budget binds
    assert appraisal.first_exhausted_year == 0


def test_a_subsidy_needs_the_book_fact_it_pays_on() -> None:
    with pytest.raises(ValueError, match="interest_rate: needed per loan for subsidy 'interest_subsidy'"):
        programme_cost(load_preset(PROGRAMME), homogeneous_book(3, 1e6, 0.1, 0.0, 5e5))


def test_the_insurers_per_loan_limit_caps_its_share_of_one_loss_and_the_rest_stays_with_the_guarantor() -> None:
    """A 20,000,000 CNY loss under 40 : 30 : 10 : 20 would ask 6,000,000 of the insurer; its policy pays at
    most 3,000,000 on one loan, so 3,000,000 stays with the guarantor (the rule's residual bearer)."""
    from ipfin.money import cny_to_fen
    from risk_sharing.splitting import simulate

    rule = load_preset(PROGRAMME)
    sim = simulate(rule, cny_to_fen("10000000.00"), apply_per_loan_caps=True)
    parts = sim.split.payable
    assert parts["insurer"] == cny_to_fen("3000000.00")  # 30% of 10M is exactly the limit
    sim = simulate(rule, cny_to_fen("20000000.00"), apply_per_loan_caps=True)
    parts = sim.split.payable
    assert parts["insurer"] == cny_to_fen("3000000.00")
    assert sum(parts.values()) == cny_to_fen("20000000.00")  # nothing is lost: the parts sum to the loss


def test_a_claim_review_caps_the_insurer_at_its_per_loan_limit() -> None:
    """A 10M loss with the insurer's per-loan limit set to 1M: it pays 1M instead of its 30% (3M), and the
    2M it does not pay stays with the guarantor (40% + 2M)."""
    rule = load_preset(PROGRAMME)
    loan = Loan(loan_id="L", borrower_id="B", origination_date=date(2024, 1, 2), principal_fen=1_000_000_000,
                guaranteed=True)
    claim = Claim(claim_id="C", loan_id="L", default_date=date(2024, 6, 1), filed_on=date(2024, 10, 1),
                  outstanding_principal_fen=1_000_000_000)
    tight = rule_from_dict(_programme(insurance={"party": "insurer", "premium_rate": "0.01",
                                                 "per_loan_limit_cny": "1000000.00"}))
    review = review_claim(tight, claim, loan, ReviewContext(review_date=date(2024, 10, 2)))
    assert review.payable["insurer"] == 100_000_000
    assert review.payable["guarantor"] == 400_000_000 + 200_000_000
    assert rule.party_per_loan_limit_cny("insurer") == Decimal("3000000.00")
