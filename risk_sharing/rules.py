"""Risk-compensation rules (风险补偿/代偿规则) as validated data.

A rule says who bears how much of the loss on a defaulted, eligible IP pledge loan:
the parties and their shares (exact percentages summing to exactly 100), the
eligibility predicates, the loss base, the caps, the trigger and claim deadline,
how later recoveries (追偿) flow back, and the dates it is in force. Rules load from
JSON or YAML files and from dicts stored in database rows; bad rules fail with a
pydantic ``ValidationError`` whose message names the offending field.

Units: money in CNY (``Decimal``, at most two decimals) in rule files, converted to
integer fen by the engine; shares in percent (``Decimal``); rates as fractions
(1.5% is ``0.015``); durations in days.

Versions: rules of one family share an ``id`` and differ by ``version``; their
``[effective_from, effective_to]`` date ranges (both inclusive) must not overlap.
The version in force on the loan's origination date applies to that loan.

Programme parts beside the risk shares: an insurer's policy (premium, per-loan and annual limits) and
subsidies with annual budgets (贴息, appraisal-, guarantee-fee and premium subsidies).

Long because the rule is one validated schema: splitting it would scatter the cross-field checks.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)

from ipfin.money import Fen, cny_to_fen
from ipfin.validation import IndustrySection, MoneyCNY

HUNDRED = Decimal(100)


class PartyRole(StrEnum):
    """Kind of party that bears part of a loss."""

    GUARANTOR = "guarantor"  # 融资担保机构
    REGUARANTOR = "reguarantor"  # 再担保机构 (provincial re-guarantor)
    NFGF = "nfgf"  # 国家融资担保基金
    BANK = "bank"  # 贷款银行 (lender)
    FUND = "fund"  # 风险补偿基金 (risk compensation fund)
    GOVERNMENT = "government"  # 市/区政府 (city or district budget)
    INSURER = "insurer"  # 保险机构
    APPRAISER = "appraiser"  # 评估机构


class FirmSize(StrEnum):
    """Firm size class (大/中/小/微型企业, MIIT 2011 standard)."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class LossBasis(StrEnum):
    """What the counted loss is made of."""

    PRINCIPAL_ONLY = "principal_only"  # outstanding principal (本金损失)
    PRINCIPAL_PLUS_INTEREST = "principal_plus_interest"  # principal + unpaid interest
    IP_PLEDGED_PART_ONLY = "ip_pledged_part_only"  # principal × share secured by pledged IP


class TriggerKind(StrEnum):
    """What makes a loss claimable."""

    NPL_CLASS = "npl_class"  # loan classified substandard/doubtful/loss (次级/可疑/损失)
    RECOVERY_EFFORT_DAYS = "recovery_effort_days"  # N days of recovery effort after default
    OVERDUE_DAYS = "overdue_days"  # N days overdue after the default date


class NPLClass(StrEnum):
    """Five-tier loan classification, non-performing classes only (不良贷款)."""

    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失


class CapOverflow(StrEnum):
    """Who bears what a capped party cannot pay.

    ``residual_bearer`` (default): the shortfall stays with the rule's residual bearer
    (the party holding the loss in the first place — the bank, or the guarantor that
    made the compensatory payment), as most schemes word it: the fund pays *up to*
    its cap. ``pro_rata_uncapped``: the shortfall is first re-spread over the other
    compensating parties pro rata to their shares (water filling, each within its own
    cap); only what none of them can take falls to the residual bearer.
    """

    RESIDUAL_BEARER = "residual_bearer"
    PRO_RATA_UNCAPPED = "pro_rata_uncapped"


class RecoveryPolicyKind(StrEnum):
    """How recoveries after payout are shared back."""

    PRO_RATA_TO_PAID = "pro_rata_to_paid"
    PRIORITY = "priority"  # named parties first (each up to what it paid), rest pro rata


# --------------------------------------------------------------------------- scalar types


def _exact_decimal(value: Any) -> Decimal:
    """A finite Decimal from str/int/Decimal (floats via their shortest text, as from JSON)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be finite (no NaN or infinity)")
        value = repr(value)
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError("must be finite (no NaN or infinity)")
    return d


def _check_share(value: Any) -> Decimal:
    d = _exact_decimal(value)
    if d < 0:
        raise ValueError("share must not be negative")
    if d > HUNDRED:
        raise ValueError("share is a percentage and must not exceed 100")
    return d


def _check_fraction(value: Any) -> Decimal:
    d = _exact_decimal(value)
    if d < 0 or d > 1:
        raise ValueError("must be a fraction in [0, 1] (1.5% is 0.015)")
    return d


SharePercent = Annotated[Decimal, BeforeValidator(_check_share)]
"""A share of the loss in percent, 0 ≤ s ≤ 100, exact."""
DecimalFraction = Annotated[Decimal, BeforeValidator(_check_fraction)]
"""An exact fraction in [0, 1], e.g. a fee rate 0.015 or a ceiling 0.05."""
ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal)]

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_key(value: str) -> str:
    if not _KEY_RE.match(value):
        raise ValueError("must be lower-case letters, digits and underscores, starting with a letter")
    return value


PartyKey = Annotated[str, AfterValidator(_check_key)]
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _check_rule_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError("rule id must be lower-case letters, digits, '-', '_' or '.'")
    return value


RuleId = Annotated[str, AfterValidator(_check_rule_id)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


# --------------------------------------------------------------------------- rule parts


class Party(_Frozen):
    """One party and its share of the loss base (percent)."""

    key: PartyKey = Field(description="unique key within the rule, e.g. 'guarantor' or 'district_government'")
    role: PartyRole
    share: SharePercent = Field(description="percent of the loss base, e.g. 40 for 40%")
    name: str = Field("", description="display name, e.g. 重庆市再担保公司")
    balance_limited: bool = Field(
        False, description="pays only out of a fund balance the caller supplies (fund balance cap)"
    )


class Eligibility(_Frozen):
    """Predicates a loan must meet for its loss to be compensated. ``None`` means 'no condition'."""

    max_borrower_loans_cny: MoneyCNY | None = Field(
        None, description="single-borrower cap (单户): borrower's total loans under the scheme, CNY"
    )
    max_guarantee_fee_rate: DecimalFraction | None = Field(
        None, description="guarantee fee rate cap (担保费率), fraction: 0.015 = 1.5%"
    )
    guarantee_required: bool = Field(False, description="loan must be guaranteed by a guarantee agency")
    firm_sizes: frozenset[FirmSize] | None = Field(None, description="allowed firm sizes")
    firm_tiers: frozenset[str] | None = Field(None, description="allowed firm tiers (scheme-defined labels)")
    sectors_allowed: frozenset[IndustrySection] | None = Field(
        None, description="GB/T 4754 sections whitelist"
    )
    sectors_excluded: frozenset[IndustrySection] = Field(
        frozenset(), description="GB/T 4754 sections blacklist"
    )
    min_years_registered: ExactDecimal | None = Field(None, ge=0, description="years since registration")
    min_ip_pledged_share: DecimalFraction | None = Field(
        None, description="minimum share of the loan secured by pledged IP, fraction"
    )
    required_documents: tuple[str, ...] = Field((), description="documents a claim must list")

    @model_validator(mode="after")
    def _sector_lists_disjoint(self) -> Eligibility:
        if self.sectors_allowed is not None and self.sectors_allowed & self.sectors_excluded:
            both = ", ".join(sorted(self.sectors_allowed & self.sectors_excluded))
            raise ValueError(f"sectors_excluded: sections {both} are also in sectors_allowed")
        return self


class LossBase(_Frozen):
    """How the counted loss (补偿基数) is computed from the claim.

    The issue's four options are ``basis`` ∈ {principal_only, principal_plus_interest,
    ip_pledged_part_only} combined with ``net_of_recoveries`` (deduct recoveries
    received before the claim). IP-pledged part = outstanding principal × the loan's
    IP-pledged share, floored to the fen.
    """

    basis: LossBasis = LossBasis.PRINCIPAL_ONLY
    net_of_recoveries: bool = Field(True, description="deduct recoveries received before the claim")


class Caps(_Frozen):
    """Limits on the counted loss and on compensation. All money in CNY; ``None`` = no cap.

    *Loss-base caps* limit the loss counted under the scheme (what exceeds them stays
    outside the scheme with the loss holder). *Compensation caps* limit what the
    compensating parties (all but the residual bearer) pay together. *Party caps*
    limit one party (annual budget). Rates are fractions.
    """

    base_per_loan_cny: MoneyCNY | None = Field(None, description="loss counted per loan")
    base_per_borrower_year_cny: MoneyCNY | None = Field(None, description="loss counted per borrower per year")
    compensation_per_loan_cny: MoneyCNY | None = None
    compensation_per_borrower_year_cny: MoneyCNY | None = None
    compensation_per_borrower_lifetime_cny: MoneyCNY | None = None
    compensation_per_lender_year_cny: MoneyCNY | None = Field(
        None, description="per-bank annual cap on compensation for one lender's loans"
    )
    party_year_cny: dict[PartyKey, MoneyCNY] = Field(
        default_factory=dict, description="per-party annual cap (annual budget), by party key"
    )
    payout_rate_ceiling: DecimalFraction | None = Field(
        None, description="ceiling on compensation paid ÷ loans covered (代偿率), fraction: 0.05 = 5%"
    )

    def fen(self, name: str) -> Fen | None:
        """A money cap in integer fen (``None`` when not set)."""
        value = getattr(self, name)
        return None if value is None else cny_to_fen(value)


class Trigger(_Frozen):
    """When a loss becomes claimable, and how long the claimant then has to file."""

    kind: TriggerKind = TriggerKind.OVERDUE_DAYS
    days: int = Field(90, ge=0, description="days after default (overdue or recovery-effort days)")
    npl_classes: frozenset[NPLClass] = Field(
        frozenset({NPLClass.SUBSTANDARD, NPLClass.DOUBTFUL, NPLClass.LOSS}),
        description="classes that trigger under kind npl_class",
    )
    claim_deadline_days: int | None = Field(
        None, ge=0, description="claim must be filed within this many days after the trigger date"
    )

    @field_serializer("npl_classes")
    def _npl_classes_in_class_order(self, classes: frozenset[NPLClass]) -> list[NPLClass]:
        """A set, written in the classes' own order: the same rule is the same text in every process."""
        return sorted(classes, key=list(NPLClass).index)


class RecoveryPolicy(_Frozen):
    """How recoveries after payout are shared back (always capped at what each party paid)."""

    kind: RecoveryPolicyKind = RecoveryPolicyKind.PRO_RATA_TO_PAID
    priority: tuple[PartyKey, ...] = Field((), description="party keys repaid first, in order")
    net_of_disposal_costs: bool = Field(True, description="deduct disposal costs (处置费用) before sharing")

    @model_validator(mode="after")
    def _priority_matches_kind(self) -> RecoveryPolicy:
        if self.kind is RecoveryPolicyKind.PRIORITY and not self.priority:
            raise ValueError("priority: policy 'priority' needs at least one party key")
        if self.kind is RecoveryPolicyKind.PRO_RATA_TO_PAID and self.priority:
            raise ValueError("priority: only allowed with kind 'priority'")
        if len(set(self.priority)) != len(self.priority):
            raise ValueError("priority: party keys must not repeat")
        return self


class RiskFee(_Frozen):
    """A fee charged on a party's share of the loan risk (e.g. NFGF 再担保费 0.5%, 0.3% ≤ 5M)."""

    party: PartyKey
    annual_rate: DecimalFraction
    reduced_rate: DecimalFraction | None = None
    reduced_rate_max_loan_cny: MoneyCNY | None = Field(
        None, description="loans up to this principal pay the reduced rate"
    )

    @model_validator(mode="after")
    def _reduced_pair(self) -> RiskFee:
        if (self.reduced_rate is None) != (self.reduced_rate_max_loan_cny is None):
            raise ValueError("reduced_rate and reduced_rate_max_loan_cny must be given together")
        return self


class SubsidyKind(StrEnum):
    """What a programme subsidy (补贴) pays part of."""

    INTEREST = "interest"  # 贴息: part of the interest the borrower pays
    APPRAISAL_FEE = "appraisal_fee"  # 评估费补贴: part of the valuation fee at origination
    GUARANTEE_FEE = "guarantee_fee"  # 担保费补贴: part of the guarantee fee
    INSURANCE_PREMIUM = "insurance_premium"  # 保费补贴: part of the insurance premium


class Insurance(_Frozen):
    """IP pledge-financing insurance (知识产权质押融资保险) in a "loan + guarantee + insurance" programme.

    The insurer is a party of the rule (role ``insurer``) with its share of the loss; the policy adds its
    premium and limits. ``annual_limit_cny`` (年度累计赔偿限额) is the insurer's annual cap: the rule carries it
    in ``caps.party_year_cny`` so claim reviews and the simulator apply it like any party budget.
    ``per_loan_limit_cny`` (单笔赔偿限额) caps what the insurer pays on one loan; what it does not pay stays
    with the residual bearer (or is re-spread under ``cap_overflow: pro_rata_uncapped``).
    """

    party: PartyKey = Field(description="key of the insurer party")
    product: str = Field("", description="product, e.g. 知识产权质押融资保证保险 (补偿险/损失险/综合险)")
    premium_rate: DecimalFraction = Field(description="annual premium on the insured principal, fraction")
    per_loan_limit_cny: MoneyCNY | None = Field(None, description="most the insurer pays on one loan, CNY")
    annual_limit_cny: MoneyCNY | None = Field(None, description="most the insurer pays in one year, CNY")


class Subsidy(_Frozen):
    """A programme subsidy paid from a budget (贴息, 评估费/担保费/保费补贴), per loan, up to an annual budget.

    A loan draws ``rate`` × the subsidised cost (interest paid, appraisal fee, guarantee fee or premium),
    at most ``max_per_loan_cny`` a year (the appraisal fee once); loans draw in order until the year's
    ``annual_budget_cny`` is used up.
    """

    key: PartyKey = Field(description="unique key of the subsidy within the rule, e.g. 'interest_subsidy'")
    kind: SubsidyKind
    payer: str = Field(min_length=1, description="budget holder, e.g. 市知识产权局 / 市财政局")
    rate: DecimalFraction = Field(description="share of the cost the subsidy pays, fraction: 0.5 = half")
    max_per_loan_cny: MoneyCNY | None = Field(None, description="most one loan receives in a year, CNY")
    annual_budget_cny: MoneyCNY | None = Field(None, description="the subsidy's annual budget, CNY")


# --------------------------------------------------------------------------- the rule


class Rule(_Frozen):
    """One version of a risk-compensation rule."""

    id: RuleId = Field(description="rule family id, e.g. 'chongqing-4222'")
    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    description: str = ""
    source: str = Field("", description="citation of the policy text")
    effective_from: date
    effective_to: date | None = Field(None, description="last day in force (inclusive); None = open")
    parties: tuple[Party, ...] = Field(min_length=1)
    residual_bearer: PartyKey | None = Field(
        None,
        description="party that holds the loss and bears what capped parties do not pay; "
        "defaults to the only bank party",
    )
    compensation_parties: tuple[PartyKey, ...] | None = Field(
        None,
        description="parties whose parts are compensation paid out (subject to caps); defaults to "
        "every party except the residual bearer and banks (a bank's part is its own loss kept)",
    )
    cap_overflow: CapOverflow = CapOverflow.RESIDUAL_BEARER
    eligibility: Eligibility = Eligibility.model_validate({})
    loss_base: LossBase = LossBase.model_validate({})
    caps: Caps = Caps.model_validate({})
    trigger: Trigger = Trigger.model_validate({})
    recovery: RecoveryPolicy = RecoveryPolicy.model_validate({})
    fees: tuple[RiskFee, ...] = ()
    insurance: Insurance | None = Field(None, description="the insurer's policy (premium and limits), if any")
    subsidies: tuple[Subsidy, ...] = Field((), description="interest and fee subsidies with annual budgets")

    @model_validator(mode="before")
    @classmethod
    def _insurance_limit_is_a_party_cap(cls, data: Any) -> Any:
        """Carry the insurer's annual limit into ``caps.party_year_cny`` (one cap, applied everywhere)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("insurance"), Mapping):
            return data
        ins = data["insurance"]
        limit, key = ins.get("annual_limit_cny"), ins.get("party")
        if limit is None or not isinstance(key, str):
            return data
        caps = data.get("caps") or {}
        if not isinstance(caps, Mapping):
            return data
        year = dict(caps.get("party_year_cny") or {})
        if key in year and _exact_decimal(year[key]) != _exact_decimal(limit):
            raise ValueError(
                f"insurance.annual_limit_cny: {limit} differs from caps.party_year_cny['{key}'] = {year[key]}"
            )
        year[key] = limit
        return {**data, "caps": {**caps, "party_year_cny": year}}

    @model_validator(mode="before")
    @classmethod
    def _default_residual_bearer(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("residual_bearer") is None:
            parties = data.get("parties") or ()
            banks = [
                p.get("key") if isinstance(p, Mapping) else getattr(p, "key", None)
                for p in parties
                if (p.get("role") if isinstance(p, Mapping) else getattr(p, "role", None)) in ("bank",)
            ]
            if len(banks) == 1:
                data = {**data, "residual_bearer": banks[0]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        keys = [p.key for p in self.parties]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"parties: duplicate party key(s) {', '.join(dup)}")
        total = sum((p.share for p in self.parties), Decimal(0))
        if total != HUNDRED:
            raise ValueError(f"parties: shares must sum to exactly 100 (percent), got {total}")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to: must not be before effective_from")
        if self.residual_bearer is None:
            raise ValueError("residual_bearer: required when the rule does not have exactly one bank party")
        known = set(keys)
        if self.residual_bearer not in known:
            raise ValueError(f"residual_bearer: '{self.residual_bearer}' is not a party key")
        if self.compensation_parties is not None:
            for k in self.compensation_parties:
                if k not in known:
                    raise ValueError(f"compensation_parties: '{k}' is not a party key")
                if k == self.residual_bearer:
                    raise ValueError("compensation_parties: must not include the residual bearer")
            if len(set(self.compensation_parties)) != len(self.compensation_parties):
                raise ValueError("compensation_parties: party keys must not repeat")
        comp = set(self.compensator_keys)
        for k in self.caps.party_year_cny:
            if k not in known:
                raise ValueError(f"caps.party_year_cny: '{k}' is not a party key")
            if k not in comp:
                raise ValueError(
                    f"caps.party_year_cny: '{k}' is not a compensating party (the residual bearer and "
                    "non-paying parties cannot be capped)"
                )
        for p in self.parties:
            if p.balance_limited and p.key not in comp:
                raise ValueError(f"parties: '{p.key}' is balance_limited but is not a compensating party")
        for k in self.recovery.priority:
            if k not in known:
                raise ValueError(f"recovery.priority: '{k}' is not a party key")
        for fee in self.fees:
            if fee.party not in known:
                raise ValueError(f"fees.party: '{fee.party}' is not a party key")
        if self.insurance is not None:
            key = self.insurance.party
            if key not in known or self.party(key).role is not PartyRole.INSURER:
                raise ValueError(f"insurance.party: '{key}' is not a party of role insurer")
            if key not in comp:
                raise ValueError(f"insurance.party: '{key}' is not a compensating party")
        subsidy_keys = [s.key for s in self.subsidies]
        if len(set(subsidy_keys)) != len(subsidy_keys):
            raise ValueError("subsidies: keys must not repeat")
        return self

    # ---- helpers
    def party(self, key: str) -> Party:
        """The party with this key (KeyError if none)."""
        for p in self.parties:
            if p.key == key:
                return p
        raise KeyError(key)

    def party_per_loan_limit_cny(self, key: str) -> Decimal | None:
        """The most party ``key`` pays on one loan (the insurer's per-loan limit), ``None`` if unlimited."""
        if self.insurance is not None and self.insurance.party == key:
            return self.insurance.per_loan_limit_cny
        return None

    @property
    def party_keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.parties)

    @property
    def compensator_keys(self) -> tuple[str, ...]:
        """Parties whose parts are compensation paid out (capped); in party order.

        Explicit ``compensation_parties`` or, by default, every party except the
        residual bearer and banks (a bank's part is the loss it keeps, not a payment).
        """
        if self.compensation_parties is not None:
            chosen = set(self.compensation_parties)
            return tuple(p.key for p in self.parties if p.key in chosen)
        return tuple(
            p.key for p in self.parties if p.key != self.residual_bearer and p.role is not PartyRole.BANK
        )

    def in_force_on(self, day: date) -> bool:
        """Whether this version is in force on ``day`` (both ends inclusive)."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


# --------------------------------------------------------------------------- loading / versions


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """Validate a rule from a plain dict (a parsed file or a database JSON column)."""
    return Rule.model_validate(dict(data))


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """A JSON-ready dict (Decimals as strings) that :func:`rule_from_dict` reads back."""
    return rule.model_dump(mode="json")


def load_rule(path: str | Path) -> Rule:
    """Load a rule from a ``.json``, ``.yaml`` or ``.yml`` file."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    elif p.suffix.lower() == ".json":
        data = json.loads(text)
    else:
        raise ValueError(f"path: unsupported rule file type '{p.suffix}' (use .json, .yaml or .yml)")
    if not isinstance(data, Mapping):
        raise ValueError("path: a rule file must hold one mapping (object)")
    return rule_from_dict(data)


def check_versions(rules: Iterable[Rule]) -> list[Rule]:
    """Check versions of rule families; return them sorted by (id, effective_from).

    Within one ``id``: version numbers unique, date ranges not overlapping, and a later
    ``effective_from`` carries a higher version. Raises ``ValueError`` naming the clash.
    """
    by_id: dict[str, list[Rule]] = {}
    for r in rules:
        by_id.setdefault(r.id, []).append(r)
    out: list[Rule] = []
    for rid, versions in sorted(by_id.items()):
        nums = [v.version for v in versions]
        dup = sorted({n for n in nums if nums.count(n) > 1})
        if dup:
            raise ValueError(f"version: rule '{rid}' has duplicate version number(s) {dup}")
        ordered = sorted(versions, key=lambda v: v.effective_from)
        for a, b in itertools.pairwise(ordered):
            if a.effective_to is None or a.effective_to >= b.effective_from:
                raise ValueError(
                    f"effective_from: rule '{rid}' versions {a.version} and {b.version} overlap "
                    f"({a.effective_from}..{a.effective_to or 'open'} and {b.effective_from}..)"
                )
            if b.version <= a.version:
                raise ValueError(
                    f"version: rule '{rid}' version {b.version} starts after version {a.version} "
                    "and must have a higher number"
                )
        out.extend(ordered)
    return out


def check_new_version(existing: Sequence[Rule], new: Rule) -> None:
    """Check that ``new`` can be added to the ``existing`` versions of its family."""
    check_versions([*[r for r in existing if r.id == new.id], new])


__all__ = [
    "CapOverflow",
    "Caps",
    "Eligibility",
    "FirmSize",
    "Insurance",
    "LossBase",
    "LossBasis",
    "NPLClass",
    "Party",
    "PartyRole",
    "RecoveryPolicy",
    "RecoveryPolicyKind",
    "RiskFee",
    "Rule",
    "Subsidy",
    "SubsidyKind",
    "Trigger",
    "TriggerKind",
    "ValidationError",
    "check_new_version",
    "check_versions",
    "load_rule",
    "rule_from_dict",
    "rule_to_dict",
]
