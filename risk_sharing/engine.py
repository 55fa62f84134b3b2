"""Claim review (代偿/补偿审核) and loss splitting under a risk-compensation rule.

``review_claim`` checks every eligibility predicate, the trigger, the claim deadline,
duplicates and the caps, and — when the claim is eligible — splits the loss base over
the parties in exact integer fen. ``simulate`` answers "what would each party pay for
a loss of X" without any ledger state.

Splitting rule (documented, used everywhere here):

1. The loss base is split over *all* parties by their shares with the largest-remainder
   rule (:func:`ipfin.money.split_largest_remainder`): the nominal parts sum exactly to
   the base.
2. Each compensating party (``Rule.compensator_keys``: by default every party except
   the residual bearer and banks — a bank's part is the loss it keeps, not a payment to
   anyone, so caps never move it) is limited by its own headroom: per-party annual cap
   (budget) and, if ``balance_limited``, the fund balance.
3. The compensating parties together are limited by the aggregate compensation caps
   (per loan, per borrower per year, per borrower lifetime, per lender per year,
   payout-rate ceiling); a binding aggregate cap is shared pro rata to the shares with
   :func:`ipfin.money.allocate_capped` so no party exceeds its step-2 amount.
4. What capped parties do not pay is treated per ``rule.cap_overflow``: by default it
   stays with the residual bearer (the loss holder — the fund pays *up to* its cap);
   with ``pro_rata_uncapped`` it is first re-spread over the other compensating parties
   pro rata (water filling within their caps). Non-compensating parties keep their
   nominal part; the residual bearer's part is ``base − Σ others``, so the parts always
   sum exactly to the loss base.

Money is integer fen throughout; no floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ipfin.money import Fen, allocate_capped, cny_to_fen, fen_to_cny, split_largest_remainder
from ipfin.validation import IndustrySection
from risk_sharing.rules import (
    CapOverflow,
    DecimalFraction,
    ExactDecimal,
    FirmSize,
    LossBasis,
    NPLClass,
    Rule,
    TriggerKind,
    check_versions,
)

#: Largest amount the engine takes: 10^16 fen (100 trillion CNY) — far above any loan book, far
#: below what a BIGINT column or a 28-digit Decimal (``fen_to_cny``) can hold.
MAX_FEN = 10**16

NonNegFen = Annotated[
    int, Field(ge=0, le=MAX_FEN, strict=True, description="integer fen (1 CNY = 100 fen), 0 ≤ x ≤ MAX_FEN")
]

#: Claim statuses that do not block a new claim on the same loan.
CLOSED_STATUSES = frozenset({"rejected", "withdrawn"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Loan(_Frozen):
    """The facts about a loan that eligibility and the loss base need. Money in fen."""

    loan_id: str = Field(min_length=1)
    borrower_id: str = Field(min_length=1)
    lender_id: str = Field("", description="lending bank's id (for per-bank caps)")
    origination_date: date
    principal_fen: NonNegFen
    borrower_total_loans_fen: NonNegFen | None = Field(
        None, description="borrower's total loans under the scheme; defaults to this loan's principal"
    )
    guarantee_fee_rate: DecimalFraction | None = Field(None, description="担保费率, fraction (0.015 = 1.5%)")
    guaranteed: bool = False
    firm_size: FirmSize | None = None
    firm_tier: str | None = None
    sector: IndustrySection | None = None
    years_registered: ExactDecimal | None = Field(None, ge=0)
    ip_pledged_share: DecimalFraction | None = Field(
        None, description="share of the loan secured by pledged IP, fraction"
    )

    @property
    def borrower_exposure_fen(self) -> Fen:
        return self.principal_fen if self.borrower_total_loans_fen is None else self.borrower_total_loans_fen


class Claim(_Frozen):
    """A compensation claim filed by a guarantee agency or bank. Money in fen."""

    claim_id: str = Field(min_length=1)
    loan_id: str = Field(min_length=1)
    default_date: date
    filed_on: date
    outstanding_principal_fen: NonNegFen
    outstanding_interest_fen: NonNegFen = 0
    recoveries_so_far_fen: NonNegFen = 0
    npl_class: NPLClass | None = None
    classified_on: date | None = Field(None, description="date of NPL classification")
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExistingClaim:
    """A claim already on file (for duplicate detection)."""

    claim_id: str
    loan_id: str
    status: str


def _check_fen(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: must be integer fen")
    if value < 0:
        raise ValueError(f"{name}: must not be negative")


@dataclass(frozen=True)
class ReviewContext:
    """Ledger usage so far, as seen when the claim is reviewed (all money in fen).

    Year figures are for the calendar year of ``review_date`` (the year the payout is
    booked); the caller reads them from the ledger under a lock (see ``ledger.py``).
    """

    review_date: date
    borrower_base_year_fen: Fen = 0
    borrower_compensation_year_fen: Fen = 0
    borrower_compensation_lifetime_fen: Fen = 0
    lender_compensation_year_fen: Fen = 0
    party_paid_year_fen: Mapping[str, Fen] = field(default_factory=dict)
    party_balance_fen: Mapping[str, Fen] = field(default_factory=dict)
    covered_loans_fen: Fen | None = None
    compensation_paid_fen: Fen = 0
    existing_claims: tuple[ExistingClaim, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "borrower_base_year_fen",
            "borrower_compensation_year_fen",
            "borrower_compensation_lifetime_fen",
            "lender_compensation_year_fen",
            "compensation_paid_fen",
        ):
            _check_fen(name, getattr(self, name))
        if self.covered_loans_fen is not None:
            _check_fen("covered_loans_fen", self.covered_loans_fen)
        for k, v in self.party_paid_year_fen.items():
            _check_fen(f"party_paid_year_fen[{k}]", v)
        for k, v in self.party_balance_fen.items():
            _check_fen(f"party_balance_fen[{k}]", v)


@dataclass(frozen=True)
class Check:
    """One item of the review: ``name`` of the test, whether it ``passed``, and why."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class CapApplied:
    """A cap that bound: its headroom (``limit_fen``) and how much it cut (``reduction_fen``)."""

    cap: str
    party: str | None
    limit_fen: Fen
    reduction_fen: Fen


@dataclass(frozen=True)
class PartyAmount:
    """A party's nominal share of the base and what it actually bears/pays, in fen."""

    key: str
    role: str
    share: Decimal
    nominal_fen: Fen
    payable_fen: Fen


@dataclass(frozen=True)
class Split:
    """Result of splitting a loss base: parts sum exactly to ``loss_base_fen``."""

    loss_base_fen: Fen
    parties: tuple[PartyAmount, ...]
    caps_applied: tuple[CapApplied, ...]
    residual_bearer: str

    @property
    def payable(self) -> dict[str, Fen]:
        return {p.key: p.payable_fen for p in self.parties}

    compensator_keys: tuple[str, ...] = ()

    @property
    def compensation_fen(self) -> Fen:
        """What the compensating parties pay (``Rule.compensator_keys``)."""
        return sum(p.payable_fen for p in self.parties if p.key in self.compensator_keys)


@dataclass(frozen=True)
class ClaimReview:
    """Outcome of :func:`review_claim`. Money in fen.

    When not eligible every ``payable_fen`` is 0 (nothing is paid under the scheme) and
    ``reasons`` lists every failed check; nominal parts still show what the split would be.
    """

    rule_id: str
    rule_version: int
    claim_id: str
    loan_id: str
    eligible: bool
    checks: tuple[Check, ...]
    gross_loss_fen: Fen
    loss_base_fen: Fen
    uncounted_loss_fen: Fen
    split: Split

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every failed check, as '<name>: <detail>'."""
        return tuple(f"{c.name}: {c.detail}" for c in self.checks if not c.passed)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks if not c.passed)

    @property
    def payable(self) -> dict[str, Fen]:
        return self.split.payable

    @property
    def compensation_fen(self) -> Fen:
        return self.split.compensation_fen

    @property
    def caps_applied(self) -> tuple[CapApplied, ...]:
        return self.split.caps_applied


# --------------------------------------------------------------------------- versions


def select_version(rule_versions: Iterable[Rule], origination_date: date) -> Rule:
    """The version in force on the loan's origination date (one rule family only).

    Versions are checked for overlaps first, so at most one can match. Raises
    ``ValueError`` when none is in force.
    """
    versions = check_versions(rule_versions)
    ids = {r.id for r in versions}
    if len(ids) != 1:
        raise ValueError(f"rule_versions: expected versions of one rule family, got {sorted(ids) or 'none'}")
    for r in versions:
        if r.in_force_on(origination_date):
            return r
    raise ValueError(f"origination_date: no version of rule '{ids.pop()}' in force on {origination_date}")


# --------------------------------------------------------------------------- helpers


def _cny(fen: Fen) -> str:
    return f"{fen_to_cny(fen):,} CNY"


def _pct(rate: Decimal) -> str:
    """0.0151 → '1.51%' (exact, no trailing zeros)."""
    return f"{(rate * 100).normalize():f}%"


def _headroom(limit: Fen | None, used: Fen) -> Fen | None:
    return None if limit is None else max(0, limit - used)


def payout_rate_headroom(ceiling: Decimal, covered_loans_fen: Fen, compensation_paid_fen: Fen) -> Fen:
    """Compensation still allowed under a payout-rate ceiling: ⌊ceiling × covered⌋ − paid, ≥ 0 (fen)."""
    allowed = int(Fraction(ceiling) * covered_loans_fen)  # floor: both non-negative
    return max(0, allowed - compensation_paid_fen)


def gross_loss_fen(rule: Rule, claim: Claim, loan: Loan) -> Fen:
    """The loss under the rule's basis, before loss-base caps (fen, ≥ 0).

    IP-pledged part = ⌊outstanding principal × ip_pledged_share⌋; recoveries so far are
    deducted when ``loss_base.net_of_recoveries`` (floored at 0).
    """
    basis = rule.loss_base.basis
    if basis is LossBasis.PRINCIPAL_ONLY:
        loss = claim.outstanding_principal_fen
    elif basis is LossBasis.PRINCIPAL_PLUS_INTEREST:
        loss = claim.outstanding_principal_fen + claim.outstanding_interest_fen
    else:
        if loan.ip_pledged_share is None:
            raise ValueError("loan.ip_pledged_share: needed for loss basis ip_pledged_part_only")
        loss = int(Fraction(loan.ip_pledged_share) * claim.outstanding_principal_fen)
    if rule.loss_base.net_of_recoveries:
        loss = max(0, loss - claim.recoveries_so_far_fen)
    return loss


def split_loss(
    rule: Rule,
    loss_base_fen: Fen,
    *,
    party_headroom_fen: Mapping[str, Fen] | None = None,
    compensation_headroom_fen: Mapping[str, Fen] | None = None,
    party_cap_names: Mapping[str, str] | None = None,
) -> Split:
    """Split ``loss_base_fen`` over the rule's parties under given cap headrooms (module doc).

    ``party_headroom_fen``: per compensating party, the most it may still pay (already
    the minimum of its own caps). ``compensation_headroom_fen``: aggregate caps on all
    compensating parties together, by cap name. ``party_cap_names``: which cap gives each
    party's headroom (for the report). Parts sum exactly to ``loss_base_fen``.
    """
    if isinstance(loss_base_fen, bool) or not isinstance(loss_base_fen, int) or loss_base_fen < 0:
        raise ValueError("loss_base_fen: must be non-negative integer fen")
    party_headroom_fen = party_headroom_fen or {}
    compensation_headroom_fen = compensation_headroom_fen or {}
    for k in party_headroom_fen:
        if k not in rule.compensator_keys:
            raise ValueError(f"party_headroom_fen: '{k}' is not a compensating party of rule '{rule.id}'")
    shares = [p.share for p in rule.parties]
    nominal = split_largest_remainder(loss_base_fen, shares)
    idx = {p.key: i for i, p in enumerate(rule.parties)}
    comp_keys = list(rule.compensator_keys)
    comp_shares = [rule.parties[idx[k]].share for k in comp_keys]
    comp_nominal = [nominal[idx[k]] for k in comp_keys]
    caps_applied: list[CapApplied] = []

    own_limit = [party_headroom_fen.get(k) for k in comp_keys]
    capped_own = [n if h is None else min(n, h) for n, h in zip(comp_nominal, own_limit, strict=True)]
    for k, n, h in zip(comp_keys, comp_nominal, own_limit, strict=True):
        if h is not None and h < n:
            caps_applied.append(CapApplied((party_cap_names or {}).get(k, "party"), k, h, n - h))

    total_comp_nominal = sum(comp_nominal)
    aggregate = min(compensation_headroom_fen.values()) if compensation_headroom_fen else None

    if rule.cap_overflow is CapOverflow.PRO_RATA_UNCAPPED and any(comp_shares):
        target = total_comp_nominal if aggregate is None else min(total_comp_nominal, aggregate)
        limits = [total_comp_nominal if h is None else h for h in own_limit]
        comp = allocate_capped(target, comp_shares, limits)
        if aggregate is not None and aggregate < min(total_comp_nominal, sum(limits)):
            binding = min(compensation_headroom_fen, key=lambda n: compensation_headroom_fen[n])
            caps_applied.append(
                CapApplied(binding, None, aggregate, min(total_comp_nominal, sum(limits)) - aggregate)
            )
    else:
        comp = capped_own
        if aggregate is not None and sum(capped_own) > aggregate:
            binding = min(compensation_headroom_fen, key=lambda n: compensation_headroom_fen[n])
            caps_applied.append(CapApplied(binding, None, aggregate, sum(capped_own) - aggregate))
            comp = allocate_capped(aggregate, comp_shares, capped_own)

    payable = {p.key: nominal[i] for i, p in enumerate(rule.parties)}  # non-compensators keep nominal
    payable.update(zip(comp_keys, comp, strict=True))
    others = sum(v for k, v in payable.items() if k != rule.residual_bearer)
    payable[rule.residual_bearer] = loss_base_fen - others  # type: ignore[index]
    parts = tuple(
        PartyAmount(p.key, p.role.value, p.share, nominal[i], payable[p.key]) for i, p in enumerate(rule.parties)
    )
    assert sum(pa.payable_fen for pa in parts) == loss_base_fen
    return Split(
        loss_base_fen, parts, tuple(caps_applied), rule.residual_bearer, rule.compensator_keys  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- simulate


@dataclass(frozen=True)
class Simulation:
    """What each party would pay for a loss (fen); ``uncounted_loss_fen`` is above the per-loan base cap."""

    rule_id: str
    rule_version: int
    loss_fen: Fen
    uncounted_loss_fen: Fen
    split: Split

    @property
    def payable(self) -> dict[str, Fen]:
        return self.split.payable


def simulate(rule: Rule, loss_fen: Fen, *, apply_per_loan_caps: bool = True) -> Simulation:
    """Split a loss of ``loss_fen`` over the parties, with no ledger state.

    Only the static per-loan caps apply (``base_per_loan``, ``compensation_per_loan``);
    annual, balance and payout-rate caps depend on the ledger and belong to
    :func:`review_claim`.
    """
    if isinstance(loss_fen, bool) or not isinstance(loss_fen, int):
        raise ValueError("loss_fen: must be integer fen (use ipfin.money.cny_to_fen)")
    if loss_fen < 0:
        raise ValueError("loss_fen: must not be negative")
    if loss_fen > MAX_FEN:
        raise ValueError(f"loss_fen: must not exceed {MAX_FEN:,} fen ({fen_to_cny(MAX_FEN):,} CNY)")
    base = loss_fen
    comp_caps: dict[str, Fen] = {}
    if apply_per_loan_caps:
        cap = rule.caps.fen("base_per_loan_cny")
        if cap is not None:
            base = min(base, cap)
        ccap = rule.caps.fen("compensation_per_loan_cny")
        if ccap is not None:
            comp_caps["compensation_per_loan"] = ccap
    split = split_loss(rule, base, compensation_headroom_fen=comp_caps)
    return Simulation(rule.id, rule.version, loss_fen, loss_fen - base, split)


def risk_fee_fen(rule: Rule, principal_fen: Fen, years: Decimal | int = 1) -> dict[str, Fen]:
    """Fees on a party's share of the loan risk (e.g. NFGF 再担保费), by party key, in fen.

    fee = rate × principal × party share × years, rounded half-even to the fen; the
    reduced rate applies when the principal is at most ``reduced_rate_max_loan_cny``.
    """
    _check_fen("principal_fen", principal_fen)
    y = Fraction(Decimal(years)) if not isinstance(years, int) else Fraction(years)
    if y < 0:
        raise ValueError("years: must not be negative")
    out: dict[str, Fen] = {}
    for fee in rule.fees:
        rate = fee.annual_rate
        if (
            fee.reduced_rate is not None
            and fee.reduced_rate_max_loan_cny is not None
            and principal_fen <= cny_to_fen(fee.reduced_rate_max_loan_cny)
        ):
            rate = fee.reduced_rate
        share = Fraction(rule.party(fee.party).share) / 100
        exact = Fraction(rate) * principal_fen * share * y
        whole, rem = divmod(exact.numerator, exact.denominator)
        twice = 2 * rem
        if twice > exact.denominator or (twice == exact.denominator and whole % 2 == 1):
            whole += 1
        out[fee.party] = out.get(fee.party, 0) + whole
    return out


# --------------------------------------------------------------------------- review


def _eligibility_checks(rule: Rule, claim: Claim, loan: Loan) -> list[Check]:
    e = rule.eligibility
    checks: list[Check] = []

    def add(name: str, ok: bool, detail: str) -> None:
        checks.append(Check(name, ok, detail))

    add(
        "rule_in_force",
        rule.in_force_on(loan.origination_date),
        f"loan originated {loan.origination_date}; rule '{rule.id}' v{rule.version} in force "
        f"{rule.effective_from}..{rule.effective_to or 'open'}",
    )
    add(
        "claim_matches_loan",
        claim.loan_id == loan.loan_id,
        f"claim is for loan '{claim.loan_id}', loan given is '{loan.loan_id}'",
    )
    add(
        "outstanding_principal",
        claim.outstanding_principal_fen <= loan.principal_fen,
        f"outstanding principal {_cny(claim.outstanding_principal_fen)} vs loan principal "
        f"{_cny(loan.principal_fen)} (must not exceed it)",
    )
    add(
        "dates_in_order",
        loan.origination_date <= claim.default_date <= claim.filed_on,
        f"origination {loan.origination_date} ≤ default {claim.default_date} ≤ filed {claim.filed_on}",
    )
    if e.max_borrower_loans_cny is not None:
        cap = cny_to_fen(e.max_borrower_loans_cny)
        add(
            "borrower_loan_cap",
            loan.borrower_exposure_fen <= cap,
            f"borrower's loans {_cny(loan.borrower_exposure_fen)}, cap {_cny(cap)} (单户上限)",
        )
    if e.max_guarantee_fee_rate is not None:
        fee = loan.guarantee_fee_rate
        add(
            "guarantee_fee_cap",
            fee is not None and fee <= e.max_guarantee_fee_rate,
            "guarantee fee rate unknown"
            if fee is None
            else f"guarantee fee rate {_pct(fee)}, cap {_pct(e.max_guarantee_fee_rate)} (担保费率上限)",
        )
    if e.guarantee_required:
        add("guaranteed", loan.guaranteed, "loan is guaranteed" if loan.guaranteed else "loan is not guaranteed")
    if e.firm_sizes is not None:
        add(
            "firm_size",
            loan.firm_size in e.firm_sizes,
            f"firm size {loan.firm_size.value if loan.firm_size else 'unknown'}, allowed "
            f"{', '.join(sorted(s.value for s in e.firm_sizes))}",
        )
    if e.firm_tiers is not None:
        add(
            "firm_tier",
            loan.firm_tier in e.firm_tiers,
            f"firm tier {loan.firm_tier or 'unknown'}, allowed {', '.join(sorted(e.firm_tiers))}",
        )
    if e.sectors_allowed is not None:
        add(
            "sector_allowed",
            loan.sector in e.sectors_allowed,
            f"sector {loan.sector or 'unknown'}, allowed {', '.join(sorted(e.sectors_allowed))}",
        )
    if e.sectors_excluded:
        add(
            "sector_excluded",
            loan.sector is not None and loan.sector not in e.sectors_excluded,
            f"sector {loan.sector or 'unknown'}, excluded {', '.join(sorted(e.sectors_excluded))}",
        )
    if e.min_years_registered is not None:
        yrs = loan.years_registered
        add(
            "years_registered",
            yrs is not None and yrs >= e.min_years_registered,
            f"registered {yrs if yrs is not None else 'unknown'} years, minimum {e.min_years_registered}",
        )
    if e.min_ip_pledged_share is not None:
        s = loan.ip_pledged_share
        add(
            "ip_pledged_share",
            s is not None and s >= e.min_ip_pledged_share,
            f"IP-pledged share {s if s is not None else 'unknown'}, minimum {e.min_ip_pledged_share}",
        )
    if e.required_documents:
        missing = [d for d in e.required_documents if d not in claim.documents]
        add(
            "documents",
            not missing,
            "all required documents listed" if not missing else f"missing documents: {', '.join(missing)}",
        )
    return checks


def trigger_date(rule: Rule, claim: Claim) -> date | None:
    """Date the loss became claimable under the rule's trigger (``None`` if the NPL class does not qualify)."""
    t = rule.trigger
    if t.kind is TriggerKind.NPL_CLASS:
        if claim.npl_class is None or claim.npl_class not in t.npl_classes:
            return None
        return claim.classified_on or claim.default_date
    return claim.default_date + timedelta(days=t.days)


def _trigger_checks(rule: Rule, claim: Claim) -> list[Check]:
    t = rule.trigger
    td = trigger_date(rule, claim)
    checks: list[Check] = []
    if t.kind is TriggerKind.NPL_CLASS:
        ok = td is not None and td <= claim.filed_on
        allowed = ", ".join(sorted(c.value for c in t.npl_classes))
        detail = f"loan class {claim.npl_class.value if claim.npl_class else 'not NPL'}, triggering {allowed}"
    else:
        what = "recovery effort" if t.kind is TriggerKind.RECOVERY_EFFORT_DAYS else "overdue"
        ok = td is not None and td <= claim.filed_on
        detail = f"{t.days} days of {what} after default {claim.default_date} reached on {td}; filed {claim.filed_on}"
    checks.append(Check("trigger", ok, detail))
    if t.claim_deadline_days is not None and td is not None:
        last = td + timedelta(days=t.claim_deadline_days)
        checks.append(
            Check(
                "claim_deadline",
                claim.filed_on <= last,
                f"filed {claim.filed_on}, deadline {last} ({t.claim_deadline_days} days after trigger {td})",
            )
        )
    return checks


def _duplicate_check(claim: Claim, existing: Sequence[ExistingClaim]) -> Check:
    dups = [
        c.claim_id
        for c in existing
        if c.loan_id == claim.loan_id and c.claim_id != claim.claim_id and c.status not in CLOSED_STATUSES
    ]
    return Check(
        "duplicate_claim",
        not dups,
        "no other open claim on this loan" if not dups else f"loan already claimed by {', '.join(dups)}",
    )


def review_claim(rule: Rule, claim: Claim, loan: Loan, context: ReviewContext) -> ClaimReview:
    """Review a claim against a rule and the ledger usage in ``context``.

    Returns every check (eligibility predicates, trigger, deadline, duplicates, caps),
    the loss base, each party's payable amount in fen (parts sum exactly to the base)
    and the caps that bound. Eligible only if every check passes and something is
    payable by the compensating parties.
    """
    checks = _eligibility_checks(rule, claim, loan)
    checks += _trigger_checks(rule, claim)
    checks.append(_duplicate_check(claim, context.existing_claims))
    checks.append(
        Check(
            "review_date",
            context.review_date >= claim.filed_on,
            f"reviewed {context.review_date}, filed {claim.filed_on}",
        )
    )

    caps = rule.caps
    if rule.loss_base.basis is LossBasis.IP_PLEDGED_PART_ONLY and loan.ip_pledged_share is None:
        checks.append(Check("ip_pledged_share_known", False, "loan.ip_pledged_share unknown: loss base cannot be set"))
        gross = 0
    else:
        gross = gross_loss_fen(rule, claim, loan)
    base = gross
    base_caps: list[CapApplied] = []
    for name, head in (
        ("base_per_loan", caps.fen("base_per_loan_cny")),
        ("base_per_borrower_year", _headroom(caps.fen("base_per_borrower_year_cny"), context.borrower_base_year_fen)),
    ):
        if head is not None and head < base:
            base_caps.append(CapApplied(name, None, head, base - head))
            base = head

    party_head: dict[str, Fen] = {}
    party_cap_name: dict[str, str] = {}
    for k in rule.compensator_keys:
        limits: list[tuple[Fen, str]] = []
        year_cap = caps.party_year_cny.get(k)
        if year_cap is not None:
            limits.append((max(0, cny_to_fen(year_cap) - context.party_paid_year_fen.get(k, 0)), "party_year"))
        if rule.party(k).balance_limited:
            if k not in context.party_balance_fen:
                raise ValueError(f"context.party_balance_fen: balance of '{k}' is needed (balance_limited)")
            limits.append((context.party_balance_fen[k], "fund_balance"))
        if limits:
            party_head[k], party_cap_name[k] = min(limits)

    comp_head: dict[str, Fen] = {}
    for name, limit, used in (
        ("compensation_per_loan", caps.fen("compensation_per_loan_cny"), 0),
        (
            "compensation_per_borrower_year",
            caps.fen("compensation_per_borrower_year_cny"),
            context.borrower_compensation_year_fen,
        ),
        (
            "compensation_per_borrower_lifetime",
            caps.fen("compensation_per_borrower_lifetime_cny"),
            context.borrower_compensation_lifetime_fen,
        ),
        (
            "compensation_per_lender_year",
            caps.fen("compensation_per_lender_year_cny"),
            context.lender_compensation_year_fen,
        ),
    ):
        h = _headroom(limit, used)
        if h is not None:
            comp_head[name] = h
    if caps.payout_rate_ceiling is not None:
        if context.covered_loans_fen is None:
            checks.append(
                Check("payout_rate_ceiling", False, "loans covered unknown: cannot check the payout-rate ceiling")
            )
        else:
            comp_head["payout_rate_ceiling"] = payout_rate_headroom(
                caps.payout_rate_ceiling, context.covered_loans_fen, context.compensation_paid_fen
            )

    split = split_loss(
        rule,
        base,
        party_headroom_fen=party_head,
        compensation_headroom_fen=comp_head,
        party_cap_names=party_cap_name,
    )
    split = Split(
        split.loss_base_fen,
        split.parties,
        (*base_caps, *split.caps_applied),
        split.residual_bearer,
        split.compensator_keys,
    )
    checks.append(Check("loss_positive", base > 0, f"loss base {_cny(base)} (gross loss {_cny(gross)})"))
    if base > 0 and rule.compensator_keys:
        bound = ", ".join(sorted({c.cap + (f"[{c.party}]" if c.party else "") for c in split.caps_applied}))
        checks.append(
            Check(
                "compensation_available",
                split.compensation_fen > 0,
                f"compensation {_cny(split.compensation_fen)}"
                + (f"; caps bound: {bound}" if bound else ""),
            )
        )
    eligible = all(c.passed for c in checks)
    if not eligible:
        split = Split(
            split.loss_base_fen,
            tuple(
                PartyAmount(p.key, p.role, p.share, p.nominal_fen, 0) for p in split.parties
            ),
            split.caps_applied,
            split.residual_bearer,
            split.compensator_keys,
        )
    return ClaimReview(
        rule_id=rule.id,
        rule_version=rule.version,
        claim_id=claim.claim_id,
        loan_id=claim.loan_id,
        eligible=eligible,
        checks=tuple(checks),
        gross_loss_fen=gross,
        loss_base_fen=base,
        uncounted_loss_fen=gross - base,
        split=split,
    )


__all__ = [
    "CLOSED_STATUSES",
    "MAX_FEN",
    "CapApplied",
    "Check",
    "Claim",
    "ClaimReview",
    "ExistingClaim",
    "Loan",
    "PartyAmount",
    "ReviewContext",
    "Simulation",
    "Split",
    "gross_loss_fen",
    "payout_rate_headroom",
    "review_claim",
    "risk_fee_fen",
    "select_version",
    "simulate",
    "split_loss",
]
