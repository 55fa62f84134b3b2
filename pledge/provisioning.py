"""Loan-loss provisions (贷款损失准备, 拨备) from the five-class classification (五级分类).

The classification itself is :func:`pledge.monitoring.classify_loan` (overdue-day floors and
the credit officer's judgement); this module turns a class into a specific provision at
rates set per bank.

Default rates (an assumption each bank replaces with its own): the PBoC
《银行贷款损失准备计提指引》(银发〔2002〕98号) — specific provisions of 2 % for 关注
(special mention), 25 % for 次级 (substandard), 50 % for 可疑 (doubtful) and 100 % for 损失
(loss), the substandard and doubtful rates may float by 20 % (read here as ±20 % of the
rate: 20–30 % and 40–60 %); 正常 (normal) loans carry no specific provision but count
towards the general reserve (一般准备, at least 1 % of loans at year end under the same
guideline; reported separately).

Rounding: each loan's provision is outstanding × rate rounded half to even to the fen; a
portfolio's provision is the sum of its loans' provisions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from ipfin.money import Fen, round_half_even_fen
from pledge.monitoring import ClassificationPolicy, LoanClass, classify_loan
from pledge.schedule import _as_decimal

GUIDELINE_2002 = "PBoC 《银行贷款损失准备计提指引》(银发〔2002〕98号)"
SUBSTANDARD_BAND = (Decimal("0.20"), Decimal("0.30"))
DOUBTFUL_BAND = (Decimal("0.40"), Decimal("0.60"))


@dataclass(frozen=True, slots=True)
class ProvisionRates:
    """Specific-provision rate per class (fractions of the outstanding principal), set per bank.

    The defaults are an assumption: the 2002 guideline's reference rates. ``general_reserve_rate``
    is the general reserve (一般准备) on all loans, reported apart from the specific provision.
    """

    normal: Decimal = Decimal("0")
    special_mention: Decimal = Decimal("0.02")
    substandard: Decimal = Decimal("0.25")
    doubtful: Decimal = Decimal("0.50")
    loss: Decimal = Decimal("1")
    general_reserve_rate: Decimal = Decimal("0.01")
    source: str = f"assumption: {GUIDELINE_2002} reference rates"

    def __post_init__(self) -> None:
        values = []
        for name in ("normal", "special_mention", "substandard", "doubtful", "loss", "general_reserve_rate"):
            v = _as_decimal(name, getattr(self, name))
            if not Decimal(0) <= v <= Decimal(1):
                raise ValueError(f"{name} must be a fraction in [0, 1], got {v}")
            object.__setattr__(self, name, v)
            values.append(v)
        if values[:5] != sorted(values[:5]):
            raise ValueError("rates must not decrease from 正常 to 损失")

    def rate(self, loan_class: LoanClass | str) -> Decimal:
        """Specific-provision rate of ``loan_class``."""
        return getattr(self, LoanClass(loan_class).value)


def guideline_deviations(rates: ProvisionRates) -> list[str]:
    """Where ``rates`` depart from the 2002 guideline (an empty list means within it).

    Examples
    --------
    >>> guideline_deviations(ProvisionRates(substandard=Decimal("0.35")))
    ['次级 rate 0.35 outside 0.20–0.30']
    """
    out = []
    if rates.special_mention < Decimal("0.02"):
        out.append(f"关注 rate {rates.special_mention} below 0.02")
    for zh, v, (lo, hi) in (("次级", rates.substandard, SUBSTANDARD_BAND), ("可疑", rates.doubtful, DOUBTFUL_BAND)):
        if not lo <= v <= hi:
            out.append(f"{zh} rate {v} outside {lo}–{hi}")
    if rates.loss != 1:
        out.append(f"损失 rate {rates.loss} is not 1")
    if rates.general_reserve_rate < Decimal("0.01"):
        out.append(f"general reserve rate {rates.general_reserve_rate} below 0.01")
    return out


def provision_fen(outstanding_fen: Fen, loan_class: LoanClass | str, rates: ProvisionRates = ProvisionRates()) -> Fen:
    """Specific provision (fen) of one loan: outstanding × class rate, half-even to the fen.

    Examples
    --------
    >>> provision_fen(100_000_000, "substandard")  # 1,000,000 CNY × 25 %
    25000000
    """
    if isinstance(outstanding_fen, bool) or not isinstance(outstanding_fen, int) or outstanding_fen < 0:
        raise ValueError("outstanding_fen must be non-negative integer fen")
    return round_half_even_fen(Fraction(outstanding_fen) * Fraction(rates.rate(loan_class)))


@dataclass(frozen=True, slots=True)
class LoanProvision:
    loan_class: LoanClass
    outstanding_fen: Fen
    rate: Decimal
    provision_fen: Fen


def provision_for_loan(
    outstanding_fen: Fen,
    days_overdue: int,
    *,
    judged: LoanClass | None = None,
    policy: ClassificationPolicy = ClassificationPolicy(),
    rates: ProvisionRates = ProvisionRates(),
) -> LoanProvision:
    """Classify a loan (:func:`pledge.monitoring.classify_loan`) and provision it."""
    klass = classify_loan(days_overdue, judged=judged, policy=policy)
    return LoanProvision(klass, outstanding_fen, rates.rate(klass), provision_fen(outstanding_fen, klass, rates))


@dataclass(frozen=True, slots=True)
class ProvisionSummary:
    """Portfolio provisions by class; ``general_reserve_fen`` is the 一般准备 on all loans."""

    outstanding_by_class: dict[LoanClass, Fen] = field(default_factory=dict)
    provision_by_class: dict[LoanClass, Fen] = field(default_factory=dict)
    general_reserve_fen: Fen = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "outstanding_by_class", MappingProxyType(dict(self.outstanding_by_class)))
        object.__setattr__(self, "provision_by_class", MappingProxyType(dict(self.provision_by_class)))

    @property
    def outstanding_fen(self) -> Fen:
        return sum(self.outstanding_by_class.values())

    @property
    def specific_provision_fen(self) -> Fen:
        return sum(self.provision_by_class.values())

    @property
    def npl_fen(self) -> Fen:
        """Non-performing (次级 + 可疑 + 损失) outstanding."""
        return sum(v for k, v in self.outstanding_by_class.items() if k.is_npl)

    @property
    def provision_coverage(self) -> Decimal | None:
        """拨备覆盖率: (specific provision + general reserve) ÷ NPL outstanding (None without NPLs)."""
        if self.npl_fen == 0:
            return None
        return Decimal(self.specific_provision_fen + self.general_reserve_fen) / Decimal(self.npl_fen)


def portfolio_provision(
    loans: Iterable[tuple[Fen, LoanClass | str]], rates: ProvisionRates = ProvisionRates()
) -> ProvisionSummary:
    """Provisions of ``(outstanding_fen, class)`` pairs, summed per class (each loan rounded once)."""
    out: dict[LoanClass, Fen] = dict.fromkeys(LoanClass, 0)
    prov: dict[LoanClass, Fen] = dict.fromkeys(LoanClass, 0)
    for amount, klass in loans:
        k = LoanClass(klass)
        out[k] += amount
        prov[k] += provision_fen(amount, k, rates)
    total = sum(out.values())
    general = round_half_even_fen(Fraction(total) * Fraction(rates.general_reserve_rate))
    return ProvisionSummary(out, prov, general)
