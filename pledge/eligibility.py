"""Pledge eligibility (质押合格性) checks before approval and pledge registration.

The rules follow CNIPA practice (DESIGN §3): the pledgor is the registered owner; the
right is granted and valid; the annual fee is paid (patents); there is no ownership
dispute or court preservation (保全); the right is not already pledged; every co-owner
consents; the loan matures before the right expires; and the valuation the loan rests
on is not older than the bank's policy allows. Every failing rule of every asset is
reported (not just the first), each with a reason code and a message.

Rules that differ by IP type are data (the ``eligibility`` section of ``default_policy.json``,
:class:`TypeEligibilityRule`): annual fee, expiry on record, and for data IP (数据知识产权) a
registration certificate valid on the loan's maturity, the registering platform recorded and every
data-source legality flag true; for geographical indications the protection forms that can be
pledged (a collective or certification mark, not GI product protection alone).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ipfin.reference import IP_TYPES

NEW_IP_TYPES: dict[str, tuple[str, str]] = {
    "data_ip": ("数据知识产权", "Data IP"),
    "geographical_indication": ("地理标志", "Geographical indication"),
    "ic_layout_design": ("集成电路布图设计", "IC layout design"),
    "plant_variety": ("植物新品种", "Plant variety"),
}
"""Collateral types of ``valuation.assets.IPType`` that ``ipfin.reference.IP_TYPES`` may not list yet."""

KNOWN_IP_TYPES: dict[str, tuple[str, str]] = {**NEW_IP_TYPES, **IP_TYPES}
"""Every IP type a pledge can be secured on: (zh-CN, en) names."""

DATA_SOURCE_LEGALITY_FLAGS: dict[str, tuple[str, str]] = {
    "lawful_collection": ("数据依法收集", "data collected lawfully"),
    "source_authorised": ("已获数据来源方授权", "authorised by the data source"),
    "personal_information_compliant": ("个人信息处理合规", "personal information handled lawfully"),
    "no_core_or_secret_data": ("不涉及国家秘密与核心数据", "no state secrets or national core data"),
}
"""Data-source legality flags of a data IP registration (zh-CN, en)."""

PATENT_TYPES = frozenset({"invention_patent", "utility_model", "design"})
"""IP types that carry a CNIPA annual fee (年费)."""


DESIGN_15_YEARS_FROM = date(2021, 6, 1)
"""Design patents filed on or after this day (Patent Law, 4th amendment) run 15 years, earlier ones 10."""


def statutory_expiry(ip_type: str, filing_date: date | None) -> date | None:
    """Latest day a patent can stay in force, from its filing date (专利法 第42条).

    Invention 20 years, utility model 10 years, design 15 years (10 if filed before
    2021-06-01), counted from the filing date: the right ends on the day before the
    anniversary, so the anniversary is returned as the first day it is no longer in force.
    ``None`` for renewable or life-based rights (trademarks, copyright) or an unknown date.
    Used when no registry expiry date is on record, so the maturity rule is never skipped.
    """
    if filing_date is None or ip_type not in PATENT_TYPES:
        return None
    years = {"invention_patent": 20, "utility_model": 10}.get(
        ip_type, 15 if filing_date >= DESIGN_15_YEARS_FROM else 10)
    try:
        return filing_date.replace(year=filing_date.year + years)
    except ValueError:  # 29 February → 1 March
        return date(filing_date.year + years, 3, 1)


class LegalStatus(StrEnum):
    """Legal status of the right at the check date."""

    PENDING = "pending"  # applied, not granted (申请中)
    GRANTED = "granted"  # granted / registered and in force (有效)
    LAPSED = "lapsed"  # terminated for unpaid fees (未缴年费终止)
    INVALIDATED = "invalidated"  # declared invalid (无效宣告)
    EXPIRED = "expired"  # term ended
    WITHDRAWN = "withdrawn"  # abandoned or withdrawn


class Reason(StrEnum):
    """Why a collateral asset is not eligible for pledge."""

    NOT_OWNER = "not_owner"
    NOT_GRANTED = "not_granted"
    NOT_VALID = "not_valid"
    ANNUAL_FEE_UNPAID = "annual_fee_unpaid"
    ALREADY_PLEDGED = "already_pledged"
    DISPUTE_OR_PRESERVATION = "dispute_or_preservation"
    CO_OWNER_CONSENT_MISSING = "co_owner_consent_missing"
    MATURITY_AFTER_EXPIRY = "maturity_after_expiry"
    VALUATION_MISSING = "valuation_missing"
    VALUATION_TOO_OLD = "valuation_too_old"
    NO_COLLATERAL = "no_collateral"
    EXPIRY_UNKNOWN = "expiry_unknown"  # the type's rule needs an expiry date on record
    CERTIFICATE_INVALID_AT_MATURITY = "certificate_invalid_at_maturity"  # data IP certificate (登记证书)
    PLATFORM_MISSING = "platform_missing"  # data IP: registering platform not recorded
    DATA_SOURCE_NOT_LAWFUL = "data_source_not_lawful"  # data IP: a legality flag false or missing
    FORM_NOT_PLEDGEABLE = "form_not_pledgeable"  # e.g. GI product protection without a GI mark
    ABOVE_MAX_LOAN = "above_max_loan"  # the loan exceeds what the bank's pledge-rate policy allows (质押率)


@dataclass(frozen=True, slots=True)
class CollateralFacts:
    """What is known about one pledged IP asset at the check date.

    ``registered_owners`` are the credit codes (or ids) of all registered right holders
    (the pledgor and any co-owners); ``consenting_co_owners`` those co-owners who signed
    their consent. ``annual_fee_paid_until`` is the end of the last fee year paid
    (patents only; ``None`` = unknown, treated as unpaid). ``pledged_to`` names an
    existing, unreleased pledgee (another loan or bank) if any. ``valuation_date`` is
    the base date of the valuation the loan relies on.
    """

    asset_id: str
    ip_type: str
    registered_owners: tuple[str, ...]
    legal_status: LegalStatus
    expiry_date: date | None = None
    annual_fee_paid_until: date | None = None
    pledged_to: str | None = None
    dispute: bool = False
    preservation: bool = False
    consenting_co_owners: tuple[str, ...] = ()
    valuation_date: date | None = None
    certificate_no: str | None = None  # data IP: 登记证书编号
    registering_platform: str | None = None  # data IP: 登记平台 (e.g. 浙江省数据知识产权登记平台)
    certificate_valid_until: date | None = None  # data IP: last day the certificate is valid
    data_source_legality: Mapping[str, bool] = field(default_factory=dict)  # see DATA_SOURCE_LEGALITY_FLAGS
    gi_protection: str | None = None  # GI: collective_mark, certification_mark or gi_product

    def __post_init__(self) -> None:
        if not self.asset_id:
            raise ValueError("asset_id must not be empty")
        if self.ip_type not in KNOWN_IP_TYPES:
            raise ValueError(f"ip_type: unknown IP type {self.ip_type!r}; known: {', '.join(KNOWN_IP_TYPES)}")
        object.__setattr__(self, "data_source_legality", dict(self.data_source_legality))
        object.__setattr__(self, "legal_status", LegalStatus(self.legal_status))
        object.__setattr__(self, "registered_owners", tuple(self.registered_owners))
        object.__setattr__(self, "consenting_co_owners", tuple(self.consenting_co_owners))
        if not self.registered_owners:
            raise ValueError(f"registered_owners of {self.asset_id} must name at least one owner")


@dataclass(frozen=True, slots=True)
class PledgeRequest:
    """The loan side of the check: who pledges, when the loan matures, the check date and policy age."""

    pledgor_id: str
    loan_maturity: date
    check_date: date
    max_valuation_age_days: int
    own_pledge_ref: str | None = None

    def __post_init__(self) -> None:
        if not self.pledgor_id:
            raise ValueError("pledgor_id must not be empty")
        if self.max_valuation_age_days < 0:
            raise ValueError("max_valuation_age_days must not be negative")
        if self.loan_maturity <= self.check_date:
            raise ValueError("loan_maturity must be after check_date")


class TypeEligibilityRule(BaseModel):
    """Eligibility rules of one IP type (policy data). ``assumption`` marks rules ipfin cannot cite."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    annual_fee_required: bool = False
    expiry_required: bool = False
    certificate_valid_at_maturity: bool = False
    registering_platform_required: bool = False
    required_legality_flags: tuple[str, ...] = ()
    pledgeable_forms: tuple[str, ...] | None = Field(
        default=None, description="GI protection forms that can be pledged; None = any")
    source: str = ""
    assumption: bool = False

    @model_validator(mode="after")
    def _known_flags(self) -> TypeEligibilityRule:
        unknown = sorted(set(self.required_legality_flags) - set(DATA_SOURCE_LEGALITY_FLAGS))
        if unknown:
            raise ValueError(f"unknown data-source legality flag(s) {unknown}; "
                             f"known: {sorted(DATA_SOURCE_LEGALITY_FLAGS)}")
        return self


DEFAULT_POLICY_JSON = Path(__file__).with_name("default_policy.json")


@cache
def default_type_rules() -> Mapping[str, TypeEligibilityRule]:
    """Per-type eligibility rules shipped in ``default_policy.json`` (its ``eligibility`` section)."""
    raw = json.loads(DEFAULT_POLICY_JSON.read_text(encoding="utf-8"))["eligibility"]
    return {k: TypeEligibilityRule.model_validate(v) for k, v in raw.items()}


@dataclass(frozen=True, slots=True)
class Ineligibility:
    """One failed rule for one asset."""

    asset_id: str | None
    reason: Reason
    message: str


def check_asset(request: PledgeRequest, asset: CollateralFacts,
                rules: Mapping[str, TypeEligibilityRule] | None = None) -> list[Ineligibility]:
    """All failed rules for one asset (empty list = eligible); ``rules`` per IP type default to
    :func:`default_type_rules` (a type without a rule gets the patent annual-fee rule if a patent)."""
    out: list[Ineligibility] = []
    aid = asset.asset_id
    rule = (default_type_rules() if rules is None else rules).get(asset.ip_type)
    fee_required = rule.annual_fee_required if rule is not None else asset.ip_type in PATENT_TYPES

    def fail(reason: Reason, message: str) -> None:
        out.append(Ineligibility(aid, reason, message))

    if request.pledgor_id not in asset.registered_owners:
        fail(Reason.NOT_OWNER, f"{aid}: pledgor {request.pledgor_id} is not a registered owner "
                               f"({', '.join(asset.registered_owners)})")
    if asset.legal_status is LegalStatus.PENDING:
        fail(Reason.NOT_GRANTED, f"{aid}: the right is not granted yet (application pending)")
    elif asset.legal_status is not LegalStatus.GRANTED:
        fail(Reason.NOT_VALID, f"{aid}: the right is not in force (status {asset.legal_status.value})")
    elif asset.expiry_date is not None and asset.expiry_date <= request.check_date:
        fail(Reason.NOT_VALID, f"{aid}: the right expired on {asset.expiry_date.isoformat()}")
    if fee_required and asset.legal_status is LegalStatus.GRANTED and (
        asset.annual_fee_paid_until is None or asset.annual_fee_paid_until < request.check_date
    ):
        paid = asset.annual_fee_paid_until.isoformat() if asset.annual_fee_paid_until else "unknown"
        fail(Reason.ANNUAL_FEE_UNPAID, f"{aid}: annual fee (年费) not paid for the current year (paid until {paid})")
    if asset.pledged_to is not None and asset.pledged_to != request.own_pledge_ref:
        fail(Reason.ALREADY_PLEDGED, f"{aid}: already pledged to {asset.pledged_to}")
    if asset.dispute or asset.preservation:
        flags = [n for n, f in (("ownership dispute", asset.dispute), ("court preservation", asset.preservation)) if f]
        fail(Reason.DISPUTE_OR_PRESERVATION, f"{aid}: {' and '.join(flags)} recorded")
    co_owners = [o for o in asset.registered_owners if o != request.pledgor_id]
    missing = [o for o in co_owners if o not in asset.consenting_co_owners]
    if missing and request.pledgor_id in asset.registered_owners:  # consent is moot if not an owner at all
        fail(Reason.CO_OWNER_CONSENT_MISSING, f"{aid}: no written consent from co-owner(s) {', '.join(missing)}")
    if asset.expiry_date is not None and request.loan_maturity >= asset.expiry_date:
        fail(Reason.MATURITY_AFTER_EXPIRY, f"{aid}: loan matures {request.loan_maturity.isoformat()}, not before "
                                           f"the right expires {asset.expiry_date.isoformat()}")
    if rule is not None:
        _type_rules(request, asset, rule, fail)
    if asset.valuation_date is None:
        fail(Reason.VALUATION_MISSING, f"{aid}: no valuation on record")
    else:
        age = (request.check_date - asset.valuation_date).days
        if age > request.max_valuation_age_days:
            fail(Reason.VALUATION_TOO_OLD, f"{aid}: valuation of {asset.valuation_date.isoformat()} is {age} days "
                                           f"old; policy allows {request.max_valuation_age_days}")
    return out


def _type_rules(request: PledgeRequest, asset: CollateralFacts, rule: TypeEligibilityRule,
                fail: Callable[[Reason, str], None]) -> None:
    """The per-type rules of ``rule`` (expiry on record, data-IP certificate, platform, legality, form)."""
    aid = asset.asset_id
    if rule.expiry_required and asset.expiry_date is None:
        fail(Reason.EXPIRY_UNKNOWN, f"{aid}: no expiry date on record for {asset.ip_type}, so the loan's maturity "
                                    "cannot be checked against the term")
    if rule.certificate_valid_at_maturity:
        if asset.certificate_valid_until is None:
            fail(Reason.CERTIFICATE_INVALID_AT_MATURITY, f"{aid}: registration certificate validity (登记证书有效期) "
                                                         "not on record")
        elif asset.certificate_valid_until < request.loan_maturity:
            fail(Reason.CERTIFICATE_INVALID_AT_MATURITY,
                 f"{aid}: registration certificate {asset.certificate_no or ''} is valid until "
                 f"{asset.certificate_valid_until.isoformat()}, before the loan matures "
                 f"{request.loan_maturity.isoformat()}")
    if rule.registering_platform_required and not (asset.registering_platform or "").strip():
        fail(Reason.PLATFORM_MISSING, f"{aid}: the registering platform (登记平台) is not recorded")
    bad = [f for f in rule.required_legality_flags if asset.data_source_legality.get(f) is not True]
    if bad:
        names = ", ".join(f"{f} ({DATA_SOURCE_LEGALITY_FLAGS[f][0]})" for f in bad)
        fail(Reason.DATA_SOURCE_NOT_LAWFUL, f"{aid}: data-source legality not confirmed: {names}")
    if rule.pledgeable_forms is not None and asset.gi_protection not in rule.pledgeable_forms:
        fail(Reason.FORM_NOT_PLEDGEABLE, f"{aid}: protection form {asset.gi_protection or 'unknown'} cannot be "
                                         f"pledged; pledgeable: {', '.join(rule.pledgeable_forms)}")


def check_eligibility(request: PledgeRequest, collateral: Sequence[CollateralFacts],
                      rules: Mapping[str, TypeEligibilityRule] | None = None) -> list[Ineligibility]:
    """All failed rules across the collateral set, asset by asset, in rule order (empty = eligible)."""
    if not collateral:
        return [Ineligibility(None, Reason.NO_COLLATERAL, "no collateral asset given")]
    ids = [a.asset_id for a in collateral]
    if len(set(ids)) != len(ids):
        raise ValueError("collateral: the same asset_id appears more than once")
    out: list[Ineligibility] = []
    for asset in collateral:
        out.extend(check_asset(request, asset, rules))
    return out
