"""Post-loan monitoring (贷后管理): overdue buckets, five-class classification, re-valuation,
LTV breach (margin call) and IP lapse alerts. Pure functions; the monitoring job in the
API/CLI feeds them the stored facts and stores the alerts they return.

Five-class loan classification (五级分类) follows the overdue-day floors of the
《商业银行金融资产风险分类办法》 (NFRA/PBoC order 2023 No. 1, art. 10–11): overdue at
all → at least special-mention (关注); principal or interest overdue > 90 days → at
least substandard (次级); > 270 days → at least doubtful (可疑); > 360 days → loss
(损失). The floors are configurable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from ipfin.money import Fen, fen_to_cny
from pledge.eligibility import PATENT_TYPES, CollateralFacts, LegalStatus


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertCode(StrEnum):
    OVERDUE = "overdue"
    BUCKET_WORSENED = "bucket_worsened"
    NPL = "npl"
    REVALUATION_DUE = "revaluation_due"
    LTV_BREACH = "ltv_breach"  # margin call (追加担保)
    ANNUAL_FEE_UNPAID = "annual_fee_unpaid"
    IP_INVALIDATED = "ip_invalidated"
    IP_LAPSED = "ip_lapsed"
    IP_EXPIRES_BEFORE_MATURITY = "ip_expires_before_maturity"
    IP_DISPUTE = "ip_dispute"
    EARLY_WARNING = "early_warning"  # 12-month PD at or above the bank's threshold (pledge.early_warning)


@dataclass(frozen=True, slots=True)
class Alert:
    """A monitoring finding: what, how serious, about which loan/asset, with its figures."""

    code: AlertCode
    severity: Severity
    loan_id: str
    message: str
    as_of: date
    asset_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value, "severity": self.severity.value, "loan_id": self.loan_id,
            "asset_id": self.asset_id, "message": self.message, "as_of": self.as_of.isoformat(),
            "data": dict(self.data),
        }


# ------------------------------------------------------------------ overdue buckets


@dataclass(frozen=True, slots=True)
class BucketPolicy:
    """Upper bounds (days, inclusive) of the overdue buckets; beyond the last is the open bucket.

    Default (30, 60, 90): 1–30, 31–60, 61–90, 90+. Buckets past ``npl_after_days`` are
    non-performing (不良).
    """

    upper_bounds: tuple[int, ...] = (30, 60, 90)
    npl_after_days: int = 90

    def __post_init__(self) -> None:
        b = self.upper_bounds
        if not b or any(x <= 0 for x in b) or list(b) != sorted(set(b)):
            raise ValueError("upper_bounds must be positive and strictly increasing")
        if self.npl_after_days < 0:
            raise ValueError("npl_after_days must not be negative")


@dataclass(frozen=True, slots=True)
class OverdueBucket:
    index: int  # 0 = current, 1 = first overdue bucket, ...
    label: str
    is_npl: bool


def overdue_bucket(days: int, policy: BucketPolicy = BucketPolicy()) -> OverdueBucket:
    """Bucket of a loan ``days`` overdue (0 = current)."""
    if days < 0:
        raise ValueError("days overdue must not be negative")
    if days == 0:
        return OverdueBucket(0, "current", False)
    lower = 1
    for i, ub in enumerate(policy.upper_bounds, start=1):
        if days <= ub:
            return OverdueBucket(i, f"{lower}-{ub}", days > policy.npl_after_days)
        lower = ub + 1
    return OverdueBucket(len(policy.upper_bounds) + 1, f"{policy.upper_bounds[-1]}+", days > policy.npl_after_days)


class LoanClass(StrEnum):
    NORMAL = "normal"  # 正常
    SPECIAL_MENTION = "special_mention"  # 关注
    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失

    @property
    def zh(self) -> str:
        return {"normal": "正常", "special_mention": "关注", "substandard": "次级", "doubtful": "可疑",
                "loss": "损失"}[self.value]

    @property
    def is_npl(self) -> bool:
        return self in (LoanClass.SUBSTANDARD, LoanClass.DOUBTFUL, LoanClass.LOSS)


_CLASS_ORDER = list(LoanClass)


@dataclass(frozen=True, slots=True)
class ClassificationPolicy:
    """Overdue-day floors: more than ``substandard_after`` days → at least 次级, etc."""

    substandard_after: int = 90
    doubtful_after: int = 270
    loss_after: int = 360

    def __post_init__(self) -> None:
        if not (0 <= self.substandard_after < self.doubtful_after < self.loss_after):
            raise ValueError("classification floors must satisfy 0 ≤ substandard < doubtful < loss")


def classify_loan(
    days_overdue: int, *, judged: LoanClass | None = None, policy: ClassificationPolicy = ClassificationPolicy()
) -> LoanClass:
    """Five-class classification: the worse of the overdue-day floor and the credit officer's ``judged`` class."""
    if days_overdue < 0:
        raise ValueError("days_overdue must not be negative")
    if days_overdue > policy.loss_after:
        floor = LoanClass.LOSS
    elif days_overdue > policy.doubtful_after:
        floor = LoanClass.DOUBTFUL
    elif days_overdue > policy.substandard_after:
        floor = LoanClass.SUBSTANDARD
    elif days_overdue > 0:
        floor = LoanClass.SPECIAL_MENTION
    else:
        floor = LoanClass.NORMAL
    if judged is None:
        return floor
    return max(floor, LoanClass(judged), key=_CLASS_ORDER.index)


# ------------------------------------------------------------------ collateral checks


def revaluation_due(last_valuation: date | None, as_of: date, interval_days: int) -> bool:
    """True if the collateral has no valuation or the last one is at least ``interval_days`` old."""
    if interval_days <= 0:
        raise ValueError("interval_days must be positive")
    return last_valuation is None or (as_of - last_valuation).days >= interval_days


def current_ltv(outstanding_fen: Fen, collateral_value_fen: Fen) -> Decimal | None:
    """Outstanding ÷ latest collateral value (None when the collateral is worth 0 and debt > 0 → infinite)."""
    if outstanding_fen < 0 or collateral_value_fen < 0:
        raise ValueError("outstanding_fen and collateral_value_fen must not be negative")
    if collateral_value_fen == 0:
        return None if outstanding_fen > 0 else Decimal(0)
    return Decimal(outstanding_fen) / Decimal(collateral_value_fen)


def ltv_breached(outstanding_fen: Fen, collateral_value_fen: Fen, trigger: Decimal) -> bool:
    """True when outstanding ÷ collateral value is above ``trigger`` (a worthless collateral breaches)."""
    ltv = current_ltv(outstanding_fen, collateral_value_fen)
    return ltv is None or ltv > trigger


def ip_lapse_alerts(loan_id: str, asset: CollateralFacts, loan_maturity: date, as_of: date) -> list[Alert]:
    """Alerts for one pledged asset: unpaid annual fee, invalidation/lapse, expiry before maturity, dispute."""
    out: list[Alert] = []
    aid = asset.asset_id
    if asset.legal_status is LegalStatus.INVALIDATED:
        out.append(Alert(AlertCode.IP_INVALIDATED, Severity.CRITICAL, loan_id,
                         f"{aid} was declared invalid: the pledge has lost its collateral", as_of, aid))
    elif asset.legal_status in (LegalStatus.LAPSED, LegalStatus.EXPIRED, LegalStatus.WITHDRAWN):
        out.append(Alert(AlertCode.IP_LAPSED, Severity.CRITICAL, loan_id,
                         f"{aid} is no longer in force ({asset.legal_status.value})", as_of, aid))
    elif asset.ip_type in PATENT_TYPES and (asset.annual_fee_paid_until is None
                                            or asset.annual_fee_paid_until < as_of):
        paid = asset.annual_fee_paid_until.isoformat() if asset.annual_fee_paid_until else "unknown"
        out.append(Alert(AlertCode.ANNUAL_FEE_UNPAID, Severity.WARNING, loan_id,
                         f"{aid}: annual fee unpaid (paid until {paid}); the patent lapses after the 6-month "
                         f"grace period", as_of, aid, {"paid_until": paid}))
    if asset.expiry_date is not None and asset.expiry_date <= loan_maturity:
        out.append(Alert(AlertCode.IP_EXPIRES_BEFORE_MATURITY, Severity.WARNING, loan_id,
                         f"{aid} expires {asset.expiry_date.isoformat()}, not after the loan matures "
                         f"{loan_maturity.isoformat()}", as_of, aid,
                         {"expiry_date": asset.expiry_date.isoformat()}))
    if asset.dispute or asset.preservation:
        out.append(Alert(AlertCode.IP_DISPUTE, Severity.WARNING, loan_id,
                         f"{aid}: ownership dispute or court preservation recorded", as_of, aid))
    return out


# ------------------------------------------------------------------ the whole loan


@dataclass(frozen=True, slots=True)
class LoanSnapshot:
    """What monitoring needs to know about one loan on ``as_of``.

    ``outstanding_fen``: principal outstanding (what LTV is measured on);
    ``collateral_value_fen``: latest value of the whole collateral set;
    ``last_valuation_date``: oldest of the latest valuations of the set's assets;
    ``previous_bucket_index``: the bucket recorded by the last run (bucket history).
    """

    loan_id: str
    as_of: date
    maturity: date
    days_overdue: int
    outstanding_fen: Fen
    collateral_value_fen: Fen
    last_valuation_date: date | None
    collateral: tuple[CollateralFacts, ...] = ()
    previous_bucket_index: int | None = None
    judged_class: LoanClass | None = None

    def __post_init__(self) -> None:
        for name in ("days_overdue", "outstanding_fen", "collateral_value_fen"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer")


@dataclass(frozen=True, slots=True)
class MonitoringResult:
    loan_id: str
    as_of: date
    days_overdue: int
    bucket: OverdueBucket
    loan_class: LoanClass
    ltv: Decimal | None
    alerts: tuple[Alert, ...]


def monitor_loan(
    snap: LoanSnapshot,
    *,
    ltv_trigger: Decimal,
    revaluation_interval_days: int,
    buckets: BucketPolicy = BucketPolicy(),
    classification: ClassificationPolicy = ClassificationPolicy(),
) -> MonitoringResult:
    """Run every check on one loan and return its bucket, class, LTV and alerts."""
    lid, d = snap.loan_id, snap.as_of
    bucket = overdue_bucket(snap.days_overdue, buckets)
    klass = classify_loan(snap.days_overdue, judged=snap.judged_class, policy=classification)
    alerts: list[Alert] = []
    if snap.days_overdue > 0:
        sev = Severity.CRITICAL if bucket.is_npl else Severity.WARNING
        alerts.append(Alert(AlertCode.OVERDUE, sev, lid, f"{snap.days_overdue} days overdue (bucket {bucket.label})",
                            d, data={"days_overdue": snap.days_overdue, "bucket": bucket.label}))
    if snap.previous_bucket_index is not None and bucket.index > snap.previous_bucket_index:
        alerts.append(Alert(AlertCode.BUCKET_WORSENED, Severity.WARNING, lid,
                            f"moved from bucket {snap.previous_bucket_index} to {bucket.label}", d,
                            data={"from": snap.previous_bucket_index, "to": bucket.index}))
    if klass.is_npl:
        alerts.append(Alert(AlertCode.NPL, Severity.CRITICAL, lid, f"non-performing: classified {klass.zh}", d,
                            data={"class": klass.value}))
    if revaluation_due(snap.last_valuation_date, d, revaluation_interval_days):
        last = snap.last_valuation_date.isoformat() if snap.last_valuation_date else "never"
        alerts.append(Alert(AlertCode.REVALUATION_DUE, Severity.INFO, lid,
                            f"collateral re-valuation due (last {last}, interval {revaluation_interval_days} days)",
                            d, data={"last_valuation_date": last}))
    ltv = current_ltv(snap.outstanding_fen, snap.collateral_value_fen)
    if snap.outstanding_fen > 0 and ltv_breached(snap.outstanding_fen, snap.collateral_value_fen, ltv_trigger):
        shown = f"{ltv:.2%}" if ltv is not None else "infinite"
        alerts.append(Alert(AlertCode.LTV_BREACH, Severity.CRITICAL, lid,
                            f"LTV {shown} above trigger {ltv_trigger:%}: margin call (outstanding "
                            f"{fen_to_cny(snap.outstanding_fen)} CNY, collateral "
                            f"{fen_to_cny(snap.collateral_value_fen)} CNY)", d,
                            data={"ltv": str(ltv) if ltv is not None else None, "trigger": str(ltv_trigger),
                                  "outstanding_fen": snap.outstanding_fen,
                                  "collateral_value_fen": snap.collateral_value_fen}))
    for asset in snap.collateral:
        alerts.extend(ip_lapse_alerts(lid, asset, snap.maturity, d))
    return MonitoringResult(lid, d, snap.days_overdue, bucket, klass, ltv, tuple(alerts))


def monitor_portfolio(
    snaps: Sequence[LoanSnapshot], **kwargs: Any
) -> list[MonitoringResult]:
    """:func:`monitor_loan` over many loans (same keyword arguments)."""
    return [monitor_loan(s, **kwargs) for s in snaps]
