"""Post-loan monitoring: buckets, five-class floors, re-valuation, LTV margin call, IP lapses."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from pledge.eligibility import CollateralFacts, LegalStatus
from pledge.monitoring import (
    AlertCode,
    BucketPolicy,
    ClassificationPolicy,
    LoanClass,
    LoanSnapshot,
    Severity,
    classify_loan,
    current_ltv,
    ip_lapse_alerts,
    ltv_breached,
    monitor_loan,
    overdue_bucket,
    revaluation_due,
)

AS_OF = date(2026, 6, 30)
PATENT = CollateralFacts("P1", "invention_patent", ("owner",), LegalStatus.GRANTED, date(2040, 1, 1),
                         date(2027, 1, 1))


@pytest.mark.parametrize(
    ("days", "label", "npl"),
    [(0, "current", False), (1, "1-30", False), (30, "1-30", False), (31, "31-60", False), (60, "31-60", False),
     (61, "61-90", False), (90, "61-90", False), (91, "90+", True), (400, "90+", True)],
)
def test_default_buckets_are_1_30_31_60_61_90_and_90_plus_npl(days, label, npl):
    b = overdue_bucket(days)
    assert (b.label, b.is_npl) == (label, npl)


def test_bucket_boundaries_are_configurable():
    policy = BucketPolicy((15, 30, 60, 90, 180), npl_after_days=90)
    assert overdue_bucket(16, policy).label == "16-30"
    assert overdue_bucket(181, policy).label == "180+"
    assert overdue_bucket(181, policy).index == 6
    with pytest.raises(ValueError, match="upper_bounds"):
        BucketPolicy((30, 30))


@pytest.mark.parametrize(
    ("days", "klass"),
    [(0, LoanClass.NORMAL), (1, LoanClass.SPECIAL_MENTION), (90, LoanClass.SPECIAL_MENTION),
     (91, LoanClass.SUBSTANDARD), (270, LoanClass.SUBSTANDARD), (271, LoanClass.DOUBTFUL),
     (360, LoanClass.DOUBTFUL), (361, LoanClass.LOSS)],
)
def test_five_class_floors_follow_the_2023_risk_classification_measures(days, klass):
    """《商业银行金融资产风险分类办法》(2023): overdue → ≥关注; >90 d → ≥次级; >270 d → ≥可疑; >360 d → 损失."""
    assert classify_loan(days) is klass


def test_officer_judgement_can_worsen_but_not_improve_the_floor():
    assert classify_loan(10, judged=LoanClass.DOUBTFUL) is LoanClass.DOUBTFUL
    assert classify_loan(200, judged=LoanClass.NORMAL) is LoanClass.SUBSTANDARD
    assert LoanClass.SUBSTANDARD.zh == "次级" and LoanClass.SUBSTANDARD.is_npl
    assert classify_loan(100, policy=ClassificationPolicy(120, 200, 300)) is LoanClass.SPECIAL_MENTION


def test_revaluation_is_due_after_the_interval_or_without_valuation():
    assert revaluation_due(date(2025, 6, 30), AS_OF, 365)
    assert not revaluation_due(date(2025, 7, 1), AS_OF, 365)
    assert revaluation_due(None, AS_OF, 365)


def test_ltv_breach_is_strictly_above_the_trigger():
    assert current_ltv(70, 100) == Decimal("0.7")
    assert not ltv_breached(70, 100, Decimal("0.70"))
    assert ltv_breached(71, 100, Decimal("0.70"))
    assert ltv_breached(1, 0, Decimal("0.70"))  # worthless collateral
    assert current_ltv(0, 0) == 0


def test_ip_lapse_alerts_cover_fee_invalidation_expiry_and_dispute():
    maturity = date(2027, 6, 30)
    assert ip_lapse_alerts("L1", PATENT, maturity, AS_OF) == []
    codes = lambda a: [x.code for x in ip_lapse_alerts("L1", a, maturity, AS_OF)]  # noqa: E731
    assert codes(replace(PATENT, annual_fee_paid_until=date(2026, 5, 1))) == [AlertCode.ANNUAL_FEE_UNPAID]
    assert codes(replace(PATENT, legal_status=LegalStatus.INVALIDATED)) == [AlertCode.IP_INVALIDATED]
    assert codes(replace(PATENT, legal_status=LegalStatus.LAPSED)) == [AlertCode.IP_LAPSED]
    assert codes(replace(PATENT, expiry_date=date(2027, 1, 1))) == [AlertCode.IP_EXPIRES_BEFORE_MATURITY]
    assert codes(replace(PATENT, preservation=True)) == [AlertCode.IP_DISPUTE]


def snap(**kw) -> LoanSnapshot:
    base = {"loan_id": "L1", "as_of": AS_OF, "maturity": date(2027, 6, 30), "days_overdue": 0,
            "outstanding_fen": 5_000_000_00, "collateral_value_fen": 10_000_000_00,
            "last_valuation_date": date(2026, 1, 1), "collateral": (PATENT,)}
    base.update(kw)
    return LoanSnapshot(**base)


def run(s: LoanSnapshot):
    return monitor_loan(s, ltv_trigger=Decimal("0.70"), revaluation_interval_days=365)


def test_a_performing_well_covered_loan_raises_no_alert():
    r = run(snap())
    assert r.alerts == () and r.loan_class is LoanClass.NORMAL and r.ltv == Decimal("0.5")


def test_collateral_value_drop_triggers_a_margin_call():
    r = run(snap(collateral_value_fen=6_000_000_00))
    (alert,) = r.alerts
    assert alert.code is AlertCode.LTV_BREACH and alert.severity is Severity.CRITICAL
    assert alert.data["ltv"] == str(Decimal(5) / Decimal(6))
    assert "margin call" in alert.message


def test_a_95_day_overdue_loan_is_npl_with_worsened_bucket_and_revaluation_due():
    r = run(snap(days_overdue=95, previous_bucket_index=3, last_valuation_date=date(2025, 1, 1)))
    assert r.bucket.label == "90+" and r.loan_class is LoanClass.SUBSTANDARD
    assert [a.code for a in r.alerts] == [AlertCode.OVERDUE, AlertCode.BUCKET_WORSENED, AlertCode.NPL,
                                          AlertCode.REVALUATION_DUE]
    assert r.alerts[0].severity is Severity.CRITICAL
    assert r.alerts[0].as_dict()["data"] == {"days_overdue": 95, "bucket": "90+"}


def test_snapshot_rejects_negative_figures_naming_the_field():
    with pytest.raises(ValueError, match="outstanding_fen"):
        snap(outstanding_fen=-1)
