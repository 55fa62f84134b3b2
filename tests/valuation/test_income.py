"""Income approaches checked against hand-computed worked examples (arithmetic in each docstring)
and closed-form annuities."""

import itertools
import math

import pytest

from valuation import income as inc


def test_relief_from_royalty_three_flat_years_hand_computed():
    """Revenue 1,000,000 a year for 3 years, royalty 5%, tax 25%, r = 10%, end-year:
    after-tax royalty = 1,000,000 × 0.05 × 0.75 = 37,500;
    PV = 37,500 × (1/1.1 + 1/1.21 + 1/1.331) = 37,500 × 2.4868520 = 93,256.95."""
    v = inc.relief_from_royalty([1e6] * 3, 0.05, tax_rate=0.25, discount_rate=0.10, life_years=3)
    assert v.value == pytest.approx(93_256.95, abs=0.01)
    assert [f.attributable_after_tax for f in v.flows] == pytest.approx([37_500] * 3)


def test_mid_year_convention_is_end_year_value_times_sqrt_one_plus_r():
    """Mid-year DF_t = (1+r)^-(t-0.5) = end-year DF_t × (1+r)^0.5, so V_mid = V_end × √1.1."""
    end = inc.relief_from_royalty([1e6] * 5, 0.05, tax_rate=0.25, discount_rate=0.10, life_years=5)
    mid = inc.relief_from_royalty([1e6] * 5, 0.05, tax_rate=0.25, discount_rate=0.10, life_years=5, mid_year=True)
    assert mid.value == pytest.approx(end.value * math.sqrt(1.1), rel=1e-12)


def test_constant_income_value_equals_the_annuity_closed_form():
    """Σ_{t=1..n} C (1+r)^-t = C (1 − (1+r)^-n) / r."""
    c, r, n = 1e6 * 0.04 * 0.75, 0.12, 12
    v = inc.relief_from_royalty([1e6] * n, 0.04, tax_rate=0.25, discount_rate=r, life_years=n)
    assert v.value == pytest.approx(c * (1 - (1 + r) ** -n) / r, rel=1e-12)


def test_a_partial_final_year_counts_pro_rata():
    """Life 2.5 years: weights 1, 1, 0.5 → PV = 37,500 × (1/1.1 + 1/1.21 + 0.5/1.331) = 79,173.56."""
    v = inc.relief_from_royalty([1e6] * 3, 0.05, tax_rate=0.25, discount_rate=0.10, life_years=2.5)
    assert v.value == pytest.approx(37_500 * (1 / 1.1 + 1 / 1.21 + 0.5 / 1.331), rel=1e-12)
    assert len(v.flows) == 3


def test_tab_factor_worked_example_15_years_at_10_percent():
    """n = 15, r = 10%, tax 25%: annuity a = (1 − 1.1^-15)/0.1 = 7.6060795;
    AF = 1 / (1 − 0.25 × 7.6060795 / 15) = 1 / (1 − 0.1267680) = 1 / 0.8732320 = 1.1451710."""
    assert inc.tab_factor(0.25, 0.10, 15) == pytest.approx(1.1451710, abs=1e-7)


def test_tab_value_satisfies_its_fixed_point_definition():
    """V = V_pre + tax × (V / n) × Σ DF_k: the tax saved on amortising the whole value V."""
    v = inc.relief_from_royalty([1e6] * 8, 0.05, tax_rate=0.25, discount_rate=0.11, life_years=8,
                                tab_amortisation_years=10)
    annuity = sum(inc.discount_factors(0.11, 10))
    assert v.value == pytest.approx(v.value_before_tab + 0.25 * v.value / 10 * annuity, rel=1e-12)


def test_profit_share_and_sales_royalty_identity_gives_the_same_value():
    """Sales royalty = profit share × margin: K = 25% of a 20% margin is a 5% royalty on sales."""
    assert inc.sales_royalty_from_profit_share(0.25, 0.20) == pytest.approx(0.05)
    assert inc.profit_share_from_sales_royalty(0.05, 0.20) == pytest.approx(0.25)
    rev = [1e6 * 1.05**t for t in range(1, 9)]
    a = inc.profit_share_value(rev, 0.20, 0.25, tax_rate=0.25, discount_rate=0.12, life_years=7.5)
    b = inc.relief_from_royalty(rev, 0.05, tax_rate=0.25, discount_rate=0.12, life_years=7.5)
    assert a.value == pytest.approx(b.value, rel=1e-12)


def test_equivalent_investment_share_textbook_example():
    """约当投资分成 worked example (资产评估 textbooks, 无形资产投资 case): patent replacement cost
    1,000,000 with cost-profit rate 500% → 6,000,000; the investee's assets 80,000,000 at 12.5%
    → 90,000,000; K = 6,000,000 / (6,000,000 + 90,000,000) = 6.25%."""
    assert inc.equivalent_investment_share(1e6, 5.0, 8e7, 0.125) == pytest.approx(0.0625)


def test_excess_earnings_deduct_contributory_asset_charges():
    """Revenue 1,000,000, margin 20%, CAC 5% + 3% → excess 12% pre-tax, 90,000 after 25% tax;
    2 years at 10%: 90,000 × (0.9090909 + 0.8264463) = 156,198.35."""
    v = inc.excess_earnings([1e6, 1e6], 0.20, [0.05, 0.03], tax_rate=0.25, discount_rate=0.10, life_years=2)
    assert v.value == pytest.approx(156_198.35, abs=0.01)


def test_contributory_charges_above_the_margin_are_rejected():
    with pytest.raises(ValueError, match="contributory"):
        inc.excess_earnings([1e6], 0.10, [0.08, 0.05], tax_rate=0.25, discount_rate=0.1, life_years=1)


def test_with_and_without_discounts_the_after_tax_difference():
    """(500k − 300k) × 0.75 / 1.1 + (600k − 350k) × 0.75 / 1.21 = 136,363.64 + 154,958.68 = 291,322.31."""
    v = inc.with_and_without([5e5, 6e5], [3e5, 3.5e5], tax_rate=0.25, discount_rate=0.10, life_years=2)
    assert v.value == pytest.approx(291_322.31, abs=0.01)


def test_shapes_declining_linear_and_s_curve():
    assert inc.IncomeShape(inc.ShapeKind.DECLINING, decay=0.1).factors(3) == pytest.approx([1, 0.9, 0.81])
    assert inc.IncomeShape(inc.ShapeKind.LINEAR_DECLINE, decay=0.4).factors(4) == pytest.approx([1, 0.6, 0.2, 0])
    s = inc.IncomeShape(inc.ShapeKind.S_CURVE, midpoint=2.5, steepness=1.3).factors(5)
    assert s[2] == pytest.approx(0.5)  # year 3 at mid-year 2.5 is the logistic midpoint
    assert s[1] + s[3] == pytest.approx(1.0)  # logistic symmetry about the midpoint
    assert all(a < b for a, b in itertools.pairwise(s))


def test_discount_rate_build_up_is_itemised_and_sums():
    bu = inc.DiscountRateBuildUp(0.0185, technical=0.03, market=0.03, funding=0.01, management=0.01, legal=0.02)
    assert bu.total == pytest.approx(0.1185)
    assert bu.items()[-1] == ("total", pytest.approx(0.1185))
    assert [k for k, _ in bu.items()][:6] == ["risk_free", "technical_risk", "market_risk", "funding_risk",
                                               "management_risk", "legal_risk"]


@pytest.mark.parametrize("bad", [float("nan"), -0.01, 1.0])
def test_discount_rate_item_out_of_range_is_named(bad):
    with pytest.raises(ValueError, match="legal"):
        inc.DiscountRateBuildUp(0.02, legal=bad)


def test_negative_or_nan_revenue_is_rejected_naming_the_year():
    with pytest.raises(ValueError, match=r"revenue\[1\]"):
        inc.relief_from_royalty([1e6, -5.0], 0.05, tax_rate=0.25, discount_rate=0.1, life_years=2)
    with pytest.raises(ValueError, match=r"revenue\[0\]"):
        inc.relief_from_royalty([float("nan")], 0.05, tax_rate=0.25, discount_rate=0.1, life_years=1)


def test_royalty_rate_of_one_or_more_is_rejected():
    with pytest.raises(ValueError, match="royalty_rate"):
        inc.relief_from_royalty([1e6], 1.0, tax_rate=0.25, discount_rate=0.1, life_years=1)
