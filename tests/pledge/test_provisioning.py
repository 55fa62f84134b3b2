"""Five-class classification → loan-loss provisions at per-bank rates.

Reference: PBoC 《银行贷款损失准备计提指引》(银发〔2002〕98号): specific provisions 关注 2 %,
次级 25 %, 可疑 50 %, 损失 100 % (次级/可疑 may float 20 %), general reserve ≥ 1 % of loans;
classification floors of the 《商业银行金融资产风险分类办法》 as implemented in
pledge.monitoring.classify_loan.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pledge.monitoring import ClassificationPolicy, LoanClass
from pledge.provisioning import (
    ProvisionRates,
    guideline_deviations,
    portfolio_provision,
    provision_fen,
    provision_for_loan,
)

ONE_M = 100_000_000  # 1,000,000 CNY


def test_default_rates_are_the_2002_guideline_and_labelled_an_assumption():
    r = ProvisionRates()
    assert [r.rate(k) for k in LoanClass] == [Decimal(0), Decimal("0.02"), Decimal("0.25"), Decimal("0.50"),
                                              Decimal(1)]
    assert "assumption" in r.source and "2002" in r.source
    assert guideline_deviations(r) == []


@pytest.mark.parametrize(("days", "klass", "provision"), [
    (0, LoanClass.NORMAL, 0),
    (15, LoanClass.SPECIAL_MENTION, 2_000_000),
    (91, LoanClass.SUBSTANDARD, 25_000_000),
    (271, LoanClass.DOUBTFUL, 50_000_000),
    (361, LoanClass.LOSS, ONE_M),
])
def test_overdue_days_classify_and_provision_a_loan(days, klass, provision):
    got = provision_for_loan(ONE_M, days)
    assert got.loan_class is klass and got.provision_fen == provision


def test_the_officers_judgement_and_the_banks_floors_are_reused():
    assert provision_for_loan(ONE_M, 0, judged=LoanClass.DOUBTFUL).provision_fen == 50_000_000
    strict = ClassificationPolicy(substandard_after=60, doubtful_after=180, loss_after=270)
    assert provision_for_loan(ONE_M, 61, policy=strict).loan_class is LoanClass.SUBSTANDARD


def test_bank_rates_inside_and_outside_the_twenty_percent_band():
    mine = ProvisionRates(substandard=Decimal("0.30"), doubtful=Decimal("0.40"), source="bank X policy 2026")
    assert guideline_deviations(mine) == []
    assert provision_fen(ONE_M, LoanClass.SUBSTANDARD, mine) == 30_000_000
    wide = ProvisionRates(substandard=Decimal("0.15"), doubtful=Decimal("0.70"))
    assert guideline_deviations(wide) == ["次级 rate 0.15 outside 0.20–0.30", "可疑 rate 0.70 outside 0.40–0.60"]
    with pytest.raises(ValueError, match="decrease"):
        ProvisionRates(doubtful=Decimal("0.20"))
    with pytest.raises(ValueError, match="loss"):
        ProvisionRates(loss=Decimal("1.2"))
    with pytest.raises(ValueError, match="float"):
        ProvisionRates(special_mention=0.02)  # type: ignore[arg-type]


def test_portfolio_provision_rounds_each_loan_once_and_sums_by_class():
    loans = [(12_345_679, LoanClass.SPECIAL_MENTION), (12_345_679, "special_mention"), (ONE_M, "substandard"),
             (50_000_000, LoanClass.NORMAL), (3, LoanClass.LOSS)]
    s = portfolio_provision(loans)
    # 123,456.79 CNY × 2 % = 2,469.1358 → 2,469.14 each
    assert s.provision_by_class[LoanClass.SPECIAL_MENTION] == 2 * 246_914
    assert s.specific_provision_fen == 2 * 246_914 + 25_000_000 + 3
    assert s.outstanding_fen == sum(a for a, _ in loans)
    assert s.npl_fen == ONE_M + 3
    assert s.general_reserve_fen == round(Decimal(s.outstanding_fen) / 100)
    assert s.provision_coverage == Decimal(s.specific_provision_fen + s.general_reserve_fen) / Decimal(ONE_M + 3)
    assert portfolio_provision([(ONE_M, "normal")]).provision_coverage is None
