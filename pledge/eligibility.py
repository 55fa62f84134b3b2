"""Pledge eligibility (质押合格性) checks before approval and pledge registration.

The rules follow CNIPA practice (DESIGN §3): the pledgor is the registered owner; the
right is granted and valid; the annual fee is paid (patents); there is no ownership
dispute or court preservation (保全); the right is not already pledged; every co-owner
consents; the loan matures before the right expires; and the valuation the loan rests
on is not older than the bank's policy allows. Every failing rule of every asset is
reported (not just the first), each with a reason code and a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ipfin.reference import IP_TYPES

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

    def __post_init__(self) -> None:
        if not self.asset_id:
            raise ValueError("asset_id must not be empty")
        if self.ip_type not in IP_TYPES:
            raise ValueError(f"ip_type: unknown IP type {self.ip_type!r}; known: {', '.join(IP_TYPES)}")
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


@dataclass(frozen=True, slots=True)
class Ineligibility:
    """One failed rule for one asset."""

    asset_id: str | None
    reason: Reason
    message: str


def check_asset(request: PledgeRequest, asset: CollateralFacts) -> list[Ineligibility]:
    """All failed rules for one asset (empty list = eligible)."""
    out: list[Ineligibility] = []
    aid = asset.asset_id

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
    if asset.ip_type in PATENT_TYPES and asset.legal_status is LegalStatus.GRANTED and (
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
    if asset.valuation_date is None:
        fail(Reason.VALUATION_MISSING, f"{aid}: no valuation on record")
    else:
        age = (request.check_date - asset.valuation_date).days
        if age > request.max_valuation_age_days:
            fail(Reason.VALUATION_TOO_OLD, f"{aid}: valuation of {asset.valuation_date.isoformat()} is {age} days "
                                           f"old; policy allows {request.max_valuation_age_days}")
    return out


def check_eligibility(request: PledgeRequest, collateral: Sequence[CollateralFacts]) -> list[Ineligibility]:
    """All failed rules across the collateral set, asset by asset, in rule order (empty = eligible)."""
    if not collateral:
        return [Ineligibility(None, Reason.NO_COLLATERAL, "no collateral asset given")]
    ids = [a.asset_id for a in collateral]
    if len(set(ids)) != len(ids):
        raise ValueError("collateral: the same asset_id appears more than once")
    out: list[Ineligibility] = []
    for asset in collateral:
        out.extend(check_asset(request, asset))
    return out
