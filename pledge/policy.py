"""Pledge-rate (质押率, loan-to-value) policy as data, and the maximum loan for a collateral set.

A bank's policy says, per IP type and indicator-score band (GB/T 42748-2023 style score,
0–100), the highest pledge rate it lends at; which value it lends against (the appraised
value, or a Monte Carlo percentile such as P5 — the value the asset exceeds with 95 %
probability); portfolio haircuts (e.g. a single asset, or one asset dominating the set);
an optional cap in CNY; and the monitoring parameters (LTV breach trigger, re-valuation
interval, maximum valuation age). Rates are exact decimals so loan amounts in fen are
exact. Rounding: every amount is rounded DOWN to the fen (a lender never lends the
extra fen a rounding would create).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ipfin.money import Fen, fen_to_cny
from pledge.eligibility import KNOWN_IP_TYPES, TypeEligibilityRule, default_type_rules
from pledge.monitoring import BucketPolicy

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.json")

_RATE = Field(ge=Decimal(0), le=Decimal(1))


class ScoreBand(BaseModel):
    """Scores in [min_score, max_score) lend at up to ``max_pledge_rate`` (the top band includes 100)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_score: Decimal = Field(ge=0, le=100)
    max_score: Decimal = Field(ge=0, le=100)
    max_pledge_rate: Decimal = _RATE

    @model_validator(mode="after")
    def _ordered(self) -> ScoreBand:
        if self.max_score <= self.min_score:
            raise ValueError("max_score must be above min_score")
        return self


class IpTypeRule(BaseModel):
    """Score bands for one IP type; bands must not overlap. Scores outside every band are not lendable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bands: tuple[ScoreBand, ...] = Field(min_length=1)
    assumption: bool = Field(default=False, description="the rates are an ipfin assumption, not a cited policy")
    note: str = ""

    @field_validator("bands")
    @classmethod
    def _no_overlap(cls, bands: tuple[ScoreBand, ...]) -> tuple[ScoreBand, ...]:
        ordered = sorted(bands, key=lambda b: b.min_score)
        for a, b in pairwise(ordered):
            if b.min_score < a.max_score:
                raise ValueError(f"bands overlap: [{a.min_score}, {a.max_score}) and [{b.min_score}, {b.max_score})")
        return tuple(ordered)

    def band_for(self, score: Decimal) -> ScoreBand | None:
        for b in self.bands:
            if b.min_score <= score < b.max_score or (score == b.max_score == 100):
                return b
        return None


class PortfolioHaircut(BaseModel):
    """A haircut on the whole lendable amount when a condition on the collateral set holds.

    ``when_assets_at_most``: applies if the set has at most this many assets (lack of
    diversification). ``when_top_share_above``: applies if the largest asset's share of
    the basis value exceeds this fraction (concentration). Give exactly one condition.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    haircut: Decimal = Field(ge=Decimal(0), lt=Decimal(1))
    when_assets_at_most: int | None = Field(default=None, ge=1)
    when_top_share_above: Decimal | None = Field(default=None, ge=Decimal(0), lt=Decimal(1))

    @model_validator(mode="after")
    def _one_condition(self) -> PortfolioHaircut:
        if (self.when_assets_at_most is None) == (self.when_top_share_above is None):
            raise ValueError("give exactly one of when_assets_at_most and when_top_share_above")
        return self


class PledgePolicy(BaseModel):
    """One bank's pledge-rate policy (JSON-serialisable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bank_id: str = Field(min_length=1)
    name: str = "default"
    version: str = "1"
    rules: dict[str, IpTypeRule]
    eligibility: dict[str, TypeEligibilityRule] = Field(
        default_factory=lambda: dict(default_type_rules()),
        description="per-IP-type eligibility rules (annual fee, expiry on record, data-IP certificate and legality)")
    basis: Literal["appraised", "mc_percentile"] = "appraised"
    basis_percentile: int = Field(default=5, ge=1, le=99)
    haircuts: tuple[PortfolioHaircut, ...] = ()
    max_loan_cap_fen: int | None = Field(default=None, ge=0, le=2**63 - 1)
    ltv_breach_trigger: Decimal = Field(default=Decimal("0.70"), gt=Decimal(0), le=Decimal(2))
    revaluation_interval_days: int = Field(default=365, ge=1, le=3650)
    max_valuation_age_days: int = Field(default=365, ge=0, le=3650)
    overdue_bucket_bounds: tuple[int, ...] = Field(
        default=(30, 60, 90), min_length=1, max_length=12,
        description="upper bounds (days, inclusive) of the overdue buckets: (30, 60, 90) gives 1-30, 31-60, "
                    "61-90, 90+")
    npl_after_days: int = Field(default=90, ge=0, le=3650, description="more days overdue than this is NPL (不良)")

    @field_validator("overdue_bucket_bounds")
    @classmethod
    def _increasing_bounds(cls, b: tuple[int, ...]) -> tuple[int, ...]:
        if any(x <= 0 or x > 3650 for x in b) or list(b) != sorted(set(b)):
            raise ValueError("overdue_bucket_bounds must be positive (at most 3650 days) and strictly increasing")
        return b

    @property
    def bucket_policy(self) -> BucketPolicy:
        """The overdue buckets of this policy for :func:`pledge.monitoring.monitor_loan`."""
        return BucketPolicy(self.overdue_bucket_bounds, self.npl_after_days)

    @field_validator("eligibility")
    @classmethod
    def _known_eligibility_types(cls, rules: dict[str, TypeEligibilityRule]) -> dict[str, TypeEligibilityRule]:
        unknown = sorted(set(rules) - set(KNOWN_IP_TYPES))
        if unknown:
            raise ValueError(f"eligibility: unknown IP type(s) {unknown}; known: {sorted(KNOWN_IP_TYPES)}")
        return rules

    @field_validator("rules")
    @classmethod
    def _known_types(cls, rules: dict[str, IpTypeRule]) -> dict[str, IpTypeRule]:
        unknown = sorted(set(rules) - set(KNOWN_IP_TYPES))
        if unknown:
            raise ValueError(f"unknown IP type(s) {unknown}; known: {sorted(KNOWN_IP_TYPES)}")
        if not rules:
            raise ValueError("at least one IP type rule is needed")
        return rules


def load_policy(path: str | Path) -> PledgePolicy:
    """Read a policy JSON file."""
    return PledgePolicy.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


def save_policy(policy: PledgePolicy, path: str | Path) -> None:
    """Write a policy as JSON (rates as decimal strings, exact)."""
    Path(path).write_text(policy.model_dump_json(indent=2), encoding="utf-8")


def default_policy() -> PledgePolicy:
    """The policy shipped with ipfin: 10–60 % pledge rates, lower for utility models (DESIGN §3); the
    rates for data IP, GIs, IC layout designs and plant varieties are labelled assumptions."""
    return load_policy(DEFAULT_POLICY_PATH)


# ------------------------------------------------------------------ maximum loan


@dataclass(frozen=True, slots=True)
class CollateralValue:
    """One asset in the collateral set: its type, indicator score (0–100) and valuation in fen.

    ``percentiles`` maps a percentile (e.g. 5) to the Monte Carlo value at that
    percentile, in fen; needed when the policy lends against a percentile.
    """

    asset_id: str
    ip_type: str
    score: Decimal
    appraised_value_fen: Fen
    percentiles: dict[int, Fen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ip_type not in KNOWN_IP_TYPES:
            raise ValueError(f"ip_type: unknown IP type {self.ip_type!r}")
        s = Decimal(str(self.score)) if not isinstance(self.score, Decimal) else self.score
        if not s.is_finite() or not (0 <= s <= 100):
            raise ValueError(f"score of {self.asset_id} must be within 0..100")
        object.__setattr__(self, "score", s)
        if isinstance(self.appraised_value_fen, bool) or not isinstance(self.appraised_value_fen, int):
            raise ValueError(f"appraised_value_fen of {self.asset_id} must be integer fen")
        if self.appraised_value_fen < 0:
            raise ValueError(f"appraised_value_fen of {self.asset_id} must not be negative")
        for p, v in self.percentiles.items():
            if not isinstance(v, int) or v < 0:
                raise ValueError(f"percentiles[{p}] of {self.asset_id} must be non-negative integer fen")


@dataclass(frozen=True, slots=True)
class MaxLoanItem:
    """How much one asset supports: basis × band rate, rounded down."""

    asset_id: str
    ip_type: str
    score: Decimal
    basis_label: str
    basis_fen: Fen
    band: tuple[Decimal, Decimal] | None
    pledge_rate: Decimal
    lendable_fen: Fen
    note: str


@dataclass(frozen=True, slots=True)
class AppliedHaircut:
    name: str
    haircut: Decimal
    before_fen: Fen
    after_fen: Fen


@dataclass(frozen=True, slots=True)
class MaxLoanResult:
    """Maximum loan for a collateral set, with the item-by-item reasoning (why)."""

    max_loan_fen: Fen
    basis_total_fen: Fen
    effective_pledge_rate: Decimal
    items: tuple[MaxLoanItem, ...]
    haircuts: tuple[AppliedHaircut, ...]
    capped: bool
    why: tuple[str, ...]


def _floor_fen(x: Decimal) -> Fen:
    return int(x.to_integral_value(rounding=ROUND_FLOOR))


def _cny(fen: Fen) -> str:
    return f"{fen_to_cny(fen):,} CNY"


def max_loan(policy: PledgePolicy, collateral: Sequence[CollateralValue]) -> MaxLoanResult:
    """The largest loan ``policy`` allows against ``collateral``, in fen, and why.

    Per asset: basis value (appraised, or the policy's MC percentile) × the max pledge
    rate of its IP type and score band, rounded down; assets of an IP type the policy
    does not lend against, or whose score is in no band, support 0. The sum is then cut
    by each portfolio haircut whose condition holds (multiplicatively, in policy order,
    rounded down), and capped at ``max_loan_cap_fen``.
    """
    if not collateral:
        raise ValueError("collateral: at least one asset is needed")
    ids = [c.asset_id for c in collateral]
    if len(set(ids)) != len(ids):
        raise ValueError("collateral: the same asset_id appears more than once")
    items: list[MaxLoanItem] = []
    why: list[str] = []
    for c in collateral:
        if policy.basis == "appraised":
            label, basis = "appraised value", c.appraised_value_fen
        else:
            p = policy.basis_percentile
            if p not in c.percentiles:
                raise ValueError(
                    f"collateral[{c.asset_id}].percentiles: policy lends against the Monte Carlo P{p}, "
                    f"which is missing for this asset"
                )
            label, basis = f"Monte Carlo P{p}", c.percentiles[p]
        rule = policy.rules.get(c.ip_type)
        band = rule.band_for(c.score) if rule else None
        if rule is None:
            rate, note = Decimal(0), f"bank {policy.bank_id} does not lend against {c.ip_type}"
        elif band is None:
            rate, note = Decimal(0), f"score {c.score} is in no lendable band for {c.ip_type}"
        else:
            rate = band.max_pledge_rate
            note = f"{c.ip_type}, score {c.score} in band [{band.min_score}, {band.max_score}): pledge rate {rate:%}"
        lendable = _floor_fen(Decimal(basis) * rate)
        items.append(MaxLoanItem(c.asset_id, c.ip_type, c.score, label, basis,
                                 (band.min_score, band.max_score) if band else None, rate, lendable, note))
        why.append(f"{c.asset_id}: {label} {_cny(basis)} × {rate:%} = {_cny(lendable)} ({note})")
    basis_total = sum(i.basis_fen for i in items)
    amount = sum(i.lendable_fen for i in items)
    why.append(f"sum of asset amounts: {_cny(amount)}")
    applied: list[AppliedHaircut] = []
    top_share = Decimal(max(i.basis_fen for i in items)) / basis_total if basis_total else Decimal(0)
    for h in policy.haircuts:
        if h.when_assets_at_most is not None:
            hit = len(items) <= h.when_assets_at_most
            cond = f"{len(items)} asset(s) ≤ {h.when_assets_at_most}"
        else:
            assert h.when_top_share_above is not None
            hit = top_share > h.when_top_share_above
            cond = f"largest asset {top_share:.2%} of basis > {h.when_top_share_above:%}"
        if hit:
            after = _floor_fen(Decimal(amount) * (1 - h.haircut))
            applied.append(AppliedHaircut(h.name, h.haircut, amount, after))
            why.append(f"haircut {h.name} ({cond}): −{h.haircut:%} → {_cny(after)}")
            amount = after
    capped = policy.max_loan_cap_fen is not None and amount > policy.max_loan_cap_fen
    if capped:
        assert policy.max_loan_cap_fen is not None
        amount = policy.max_loan_cap_fen
        why.append(f"capped at the policy maximum {_cny(amount)}")
    eff = (Decimal(amount) / Decimal(basis_total)).quantize(Decimal("0.0001")) if basis_total else Decimal(0)
    why.append(f"maximum loan {_cny(amount)} = {eff:%} of total basis {_cny(basis_total)}")
    return MaxLoanResult(amount, basis_total, eff, tuple(items), tuple(applied), capped, tuple(why))
