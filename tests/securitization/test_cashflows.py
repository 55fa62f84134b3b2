"""Standard Formulas cash flows against the published BMA worked examples.

Source of every published number below: The Bond Market Association, *Uniform Practices /
Standard Formulas*, chapter SF, 02/01/99 ("Standard Formulas for the Analysis of
Mortgage-Backed Securities and Other Related Securities"): SF-4 (first cash flow example),
SF-7..SF-8 (GNMA prepayment example), SF-9 (prepayment rate conversion table), SF-13..SF-14
(ABS example), SF-21 (cumulative default matrix, new 8% 30-year pool), SF-23..SF-30
("Cash Flow A": 8% WAC, 360 months, 1% SMM, 1% MDR, 12-month liquidation, 20% severity, P&I
advanced) and SF-31..SF-38 ("Cash Flow B": the same pool at 150% PSA / 100% SDA). Table values
are whole currency units; "to the unit" means our value rounds to the published integer.
"""

import numpy as np
import pytest

from securitization.cashflows import (
    abs_to_smm,
    cpr_to_psa,
    cpr_to_smm,
    project_bma,
    project_bma_scalar,
    psa_smm_matrix,
    psa_to_cpr,
    scheduled_balance_factors,
    sda_mdr_matrix,
    sda_to_cdr,
    smm_to_cpr,
)

COLS = ("performing_balance", "new_defaults", "foreclosure", "expected_amortization", "voluntary_prepayments",
        "amortization_from_defaults", "actual_amortization", "expected_interest", "interest_lost",
        "actual_interest", "principal_recovery", "principal_loss", "amortized_default_balance")

# month: (perf bal, new def, in FCL, exp am, vol prepay, am from def, act am, exp int, int lost, act int,
#         prin recovery, prin loss, ADB) — Cash Flow A, SF-23..SF-24
CASH_FLOW_A = {
    1: (97_934_244, 1_000_000, 999_329, 67_098, 999_329, 671, 66_427, 666_667, 6_667, 660_000, 0, 0, 0),
    2: (95_910_689, 979_342, 1_977_334, 66_870, 978_680, 1_337, 65_532, 659_557, 13_191, 646_366, 0, 0, 0),
    12: (77_816_148, 794_620, 10_674_244, 64_994, 794_042, 7_770, 57_223, 595_663, 71_213, 524_449, 0, 0, 0),
    13: (76_203_943, 778_161, 10_453_093, 64_118, 777_591, 7_666, 56_453, 589_936, 76_349, 513_587,
         791_646, 200_000, 991_646),
    48: (36_484_857, 372_649, 5_004_723, 39_893, 372_294, 4_769, 35_123, 282_511, 36_563, 245_948,
         378_868, 96_016, 474_884),
    49: (35_720_859, 364_849, 4_899_923, 39_356, 364_499, 4_705, 34_650, 276_597, 35_797, 240_800,
         370_929, 94_014, 464_943),
}
# Cash Flow A "Total" row, SF-30
TOTALS_A = {"new_defaults": 47_576_640, "expected_amortization": 5_510_477, "voluntary_prepayments": 47_527_662,
            "amortization_from_defaults": 614_780, "actual_amortization": 4_895_697,
            "principal_recovery": 37_446_547, "principal_loss": 9_515_314, "amortized_default_balance": 46_961_860}
# Cash Flow B rows, SF-31..SF-32 (months 1 and 13; 49 from SF-32)
CASH_FLOW_B = {
    1: (99_906_219, 1_667, 1_666, 67_098, 25_018, 1, 67_097, 666_667, 11, 666_656, 0, 0, 0),
    13: (96_685_496, 21_063, 147_113, 71_246, 321_121, 108, 71_138, 648_178, 992, 647_185, 1_320, 333, 1_653),
}
# Cash Flow B "Total" row, SF-38
TOTALS_B = {"new_defaults": 2_776_019, "expected_amortization": 21_208_767, "voluntary_prepayments": 76_052_023,
            "amortization_from_defaults": 36_809, "actual_amortization": 21_171_958,
            "principal_recovery": 2_184_008, "principal_loss": 555_201, "amortized_default_balance": 2_739_209}


def _pool_8pct():
    return scheduled_balance_factors("annuity", 0.08, 360, 360)


@pytest.fixture(scope="module")
def cash_flow_a():
    return project_bma(100_000_000, _pool_8pct(), 0.08, 0.01, 0.01, 0.20, 12, advancing=True)


@pytest.fixture(scope="module")
def cash_flow_b():
    return project_bma(100_000_000, _pool_8pct(), 0.08, psa_smm_matrix(np.array([150.0]), 360),
                       sda_mdr_matrix(np.array([100.0]), 360), 0.20, 12, advancing=True)


@pytest.mark.parametrize("month", sorted(CASH_FLOW_A))
def test_cash_flow_a_rows_match_sf23_to_the_unit(cash_flow_a, month):
    got = tuple(round(float(getattr(cash_flow_a, c)[0, month - 1])) for c in COLS)
    assert got == CASH_FLOW_A[month]


def test_cash_flow_a_totals_match_sf30_to_the_unit(cash_flow_a):
    totals = cash_flow_a.totals()
    assert {k: round(float(totals[k][0])) for k in TOTALS_A} == TOTALS_A


def test_cash_flow_a_has_no_defaults_in_the_last_12_months_and_pays_off(cash_flow_a):
    """SF-19 note j: default rate 0 for the last n = 12 months; table shows 82 new defaults in month 348."""
    assert round(float(cash_flow_a.new_defaults[0, 347])) == 82
    assert np.all(cash_flow_a.new_defaults[0, 348:] == 0)
    assert abs(cash_flow_a.performing_balance[0, -1]) < 1e-6 and abs(cash_flow_a.foreclosure[0, -1]) < 1e-6


@pytest.mark.parametrize("month", sorted(CASH_FLOW_B))
def test_cash_flow_b_rows_match_sf31_to_the_unit(cash_flow_b, month):
    got = tuple(round(float(getattr(cash_flow_b, c)[0, month - 1])) for c in COLS)
    assert got == CASH_FLOW_B[month]


def test_cash_flow_b_totals_match_sf38_to_the_unit(cash_flow_b):
    totals = cash_flow_b.totals()
    assert {k: round(float(totals[k][0])) for k in TOTALS_B} == TOTALS_B


def test_cumulative_default_matrix_matches_sf21():
    """SF-21: cumulative defaults (% of original balance), new 8% 30-year loans, 12-month liquidation."""
    psa = [100, 125, 150, 175, 200, 250, 300, 400, 500]
    sda = [50, 100, 150, 200, 250, 300]
    published = [
        [1.56, 3.09, 4.59, 6.08, 7.53, 8.97], [1.47, 2.92, 4.35, 5.76, 7.14, 8.51],
        [1.40, 2.78, 4.13, 5.47, 6.79, 8.08], [1.33, 2.64, 3.93, 5.20, 6.45, 7.69],
        [1.26, 2.51, 3.74, 4.95, 6.14, 7.32], [1.15, 2.28, 3.40, 4.50, 5.59, 6.66],
        [1.05, 2.08, 3.10, 4.11, 5.10, 6.08], [0.88, 1.74, 2.60, 3.45, 4.29, 5.12],
        [0.74, 1.48, 2.21, 2.93, 3.64, 4.35],
    ]
    p, s = np.meshgrid(psa, sda, indexing="ij")
    cf = project_bma(np.full(p.size, 100.0), _pool_8pct(), 0.08, psa_smm_matrix(p.ravel(), 360),
                     sda_mdr_matrix(s.ravel(), 360), 0.2, 12)
    got = np.round(cf.new_defaults.sum(axis=1), 2).reshape(p.shape)
    np.testing.assert_array_equal(got, np.array(published))


def test_sf4_first_cash_flow_components_of_a_9_5pct_gross_9pct_net_pool_at_150_psa():
    """SF-4: amortisation 0.00049188, prepayment 0.00025022, gross interest 0.00791667, servicing 0.00041667."""
    bf = scheduled_balance_factors("annuity", 0.095, 360, 1)
    cf = project_bma(1.0, bf, 0.095, psa_smm_matrix(np.array([150.0]), 1), 0.0, 0.0, 0)
    assert round(float(cf.expected_amortization[0, 0]), 8) == 0.00049188
    assert round(float(cf.voluntary_prepayments[0, 0]), 8) == 0.00025022
    assert round(float(cf.expected_interest[0, 0]), 8) == 0.00791667
    assert round(1.0 * 0.005 / 12, 8) == 0.00041667  # servicing = (gross − net) / 12 on the balance


def test_gnma_example_sf7_balances_smm_cpr_and_psa():
    """SF-7..8: BAL1 0.99213300, BAL2 0.99157471, SMM 0.435270%, CPR 5.1000%, PSA 150.00% in month 17."""
    f = scheduled_balance_factors("annuity", 0.095, 359, 16)  # 359-month loans, ages 0..16
    full = scheduled_balance_factors("annuity", 0.095, 360, 16)
    bal1 = (1 - (1 + 0.095 / 12) ** -344) / (1 - (1 + 0.095 / 12) ** -359)
    assert round(bal1, 8) == 0.99213300 and round(float(f[15]), 8) == 0.99213300
    bal2 = (1 - (1 + 0.095 / 12) ** -343) / (1 - (1 + 0.095 / 12) ** -359)
    assert round(bal2, 8) == 0.99157471 and round(float(f[16]), 8) == 0.99157471
    assert full[0] == 1.0
    f1, f2 = 0.85150625, 0.84732282
    fsched = f1 * bal2 / bal1
    assert round(fsched, 8) == 0.85102709
    smm = (fsched - f2) / fsched
    assert round(100 * smm, 6) == 0.435270
    cpr = float(smm_to_cpr(smm))
    assert round(100 * cpr, 4) == 5.1000
    assert round(cpr_to_psa(cpr, 17), 2) == 150.00


@pytest.mark.parametrize(
    ("smm_pct", "cpr_pct", "psa"),
    [(0.05, 0.6, 10), (0.50, 5.8, 97), (1.00, 11.4, 189), (2.00, 21.5, 359), (3.00, 30.6, 510),
     (4.50, 42.5, 708), (6.00, 52.4, 873), (9.00, 67.8, 1129)],
)
def test_prepayment_rate_conversion_table_sf9(smm_pct, cpr_pct, psa):
    cpr = float(smm_to_cpr(smm_pct / 100))
    assert round(100 * cpr, 1) == cpr_pct
    assert round(cpr_to_psa(cpr, 30)) == psa
    assert float(cpr_to_smm(cpr)) == pytest.approx(smm_pct / 100, rel=1e-12)


def test_abs_speed_example_sf14_two_pct_abs_in_month_11_is_2_5pct_smm():
    assert abs_to_smm(2.0, 11) == pytest.approx(0.025, abs=1e-15)
    assert round(100 * abs_to_smm(1.0, 40), 2) == 1.64  # SF-15 table, 1.00 ABS, month 40


def test_psa_and_sda_curves_match_the_rate_columns_of_cash_flow_b():
    """SF-31..33 columns: annual default rate, MDR and SMM (6 decimals) at 150% PSA / 100% SDA."""
    assert float(psa_to_cpr(100, 1)) == pytest.approx(0.002) and float(psa_to_cpr(100, 45)) == pytest.approx(0.06)
    smm = psa_smm_matrix(np.array([150.0]), 360)[0]
    assert [round(float(smm[m - 1]), 6) for m in (1, 2, 30, 31, 200)] == [0.000250, 0.000501, 0.007828,
                                                                          0.007828, 0.007828]
    cdr = sda_to_cdr(100, np.array([1, 30, 45, 60, 61, 96, 119, 120, 121, 300]))
    np.testing.assert_allclose(cdr, [0.0002, 0.006, 0.006, 0.006, 0.005905, 0.00258, 0.000395, 0.0003, 0.0003,
                                     0.0003], atol=1e-12)
    mdr = sda_mdr_matrix(np.array([100.0]), 130)[0]
    assert [round(float(mdr[m - 1]), 6) for m in (1, 30, 61, 120)] == [0.000017, 0.000501, 0.000493, 0.000025]


@pytest.mark.parametrize("lag", [0, 1, 6])
@pytest.mark.parametrize("advancing", [True, False])
def test_vectorised_projection_equals_the_scalar_reference_loop(advancing, lag):
    rng = np.random.default_rng(3)
    bf = scheduled_balance_factors("annuity", 0.07, 120, 120)
    smm = rng.uniform(0, 0.03, (5, 120))
    mdr = rng.uniform(0, 0.02, (5, 120))
    sev = rng.uniform(0.1, 0.9, 5)
    vec = project_bma(np.full(5, 1e6), bf, 0.065, smm, mdr, sev, lag, advancing=advancing)
    for r in range(5):
        ref = project_bma_scalar(1e6, list(bf), 0.065, list(smm[r]), list(mdr[r]), float(sev[r]), lag,
                                 advancing=advancing)
        for c in COLS:
            np.testing.assert_allclose(getattr(vec, c)[r], ref[c], rtol=1e-12, atol=1e-6)


@pytest.mark.parametrize("advancing", [True, False])
@pytest.mark.parametrize("schedule", ["annuity", "equal_principal", "bullet"])
def test_every_unit_of_balance_is_amortised_prepaid_recovered_lost_or_still_outstanding(advancing, schedule):
    bf = scheduled_balance_factors(schedule, 0.06, 36, 48)
    cf = project_bma(np.full(3, 1e7), bf, 0.06, 0.01, np.array([0.0, 0.01, 0.05]), 0.6, 6, advancing=advancing,
                     zero_defaults_before_maturity=False)
    out = (cf.actual_amortization + cf.voluntary_prepayments + cf.amortization_from_defaults
           + cf.principal_recovery + cf.principal_loss).sum(axis=1)
    np.testing.assert_allclose(out + cf.performing_balance[:, -1] + cf.foreclosure[:, -1], 1e7, rtol=1e-12)


def test_zero_months_to_liquidation_recovers_in_the_month_of_default():
    """SF-17 f: "0 months to Liquidation" means liquidation proceeds arrive in the month of default."""
    bf = scheduled_balance_factors("annuity", 0.06, 24, 24)
    cf = project_bma(1e6, bf, 0.06, 0.0, 0.02, 0.3, 0)
    np.testing.assert_allclose(cf.principal_recovery, 0.7 * cf.new_defaults, rtol=1e-12)
    assert np.all(cf.foreclosure == 0)


def test_without_advancing_defaulted_loans_do_not_amortise_and_recover_one_minus_severity():
    bf = scheduled_balance_factors("annuity", 0.06, 24, 30)
    cf = project_bma(1e6, bf, 0.06, 0.0, 0.02, 0.4, 3, advancing=False, zero_defaults_before_maturity=False)
    np.testing.assert_allclose(cf.principal_recovery[0, 3:], 0.6 * cf.new_defaults[0, :-3], rtol=1e-12)
    np.testing.assert_allclose(cf.principal_loss[0, 3:], 0.4 * cf.new_defaults[0, :-3], rtol=1e-12)
    assert np.all(cf.amortization_from_defaults == 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"smm": -0.1}, "smm"), ({"mdr": float("nan")}, "mdr"), ({"severity": 1.5}, "severity"),
     ({"balance": -5.0}, "balance")],
)
def test_bad_assumptions_are_rejected_naming_the_field(kwargs, field):
    args = {"balance": 100.0, "smm": 0.01, "mdr": 0.01, "severity": 0.2}
    args.update(kwargs)
    with pytest.raises(ValueError, match=field):
        project_bma(args["balance"], _pool_8pct(), 0.08, args["smm"], args["mdr"], args["severity"], 12)
    with pytest.raises(ValueError, match="cpr"):
        cpr_to_smm(1.2)


def test_a_tiny_annuity_rate_amortises_like_a_zero_rate_not_nan() -> None:
    """At r → 0 the level-payment balance tends to straight-line amortisation; 1 + r rounding to 1
    must not give 0/0 (found by the end-to-end hypothesis test)."""
    import numpy as np

    from securitization.cashflows import scheduled_balance_factors

    f = scheduled_balance_factors("annuity", 1.175494351e-38, 12, 12)
    assert np.all(np.isfinite(f))
    assert np.allclose(f, scheduled_balance_factors("equal_principal", 0.0, 12, 12))
