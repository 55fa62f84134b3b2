"""Claim review (代偿/补偿审核) under a risk-compensation rule.

``select_version`` picks the rule version in force on the loan's origination date.
``review_claim`` checks every eligibility predicate, the trigger, the claim deadline,
duplicates and the caps, and — when the claim is eligible — splits the loss base over
the parties in exact integer fen with :func:`risk_sharing.splitting.split_loss` (the
splitting rule is documented there; ``simulate`` and ``risk_fee_fen`` live there too).
The data a review reads — loan, claim, ledger context — are in :mod:`risk_sharing.claims`.

Money is integer fen throughout; no floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ipfin.money import Fen, cny_to_fen, fen_to_cny
from risk_sharing.claims import CLOSED_STATUSES, Claim, ExistingClaim, Loan, ReviewContext
from risk_sharing.rules import LossBasis, Rule, TriggerKind, check_versions
from risk_sharing.splitting import (
    CapApplied,
    PartyAmount,
    Split,
    _headroom,
    gross_loss_fen,
    payout_rate_headroom,
    split_loss,
)


@dataclass(frozen=True)
class Check:
    """One item of the review: ``name`` of the test, whether it ``passed``, and why."""

    name: str
    passed: bool
    detail: str


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


# --------------------------------------------------------------------------- review


def loan_eligibility_checks(rule: Rule, claim: Claim, loan: Loan) -> list[Check]:
    """The eligibility checks of a claim review (loan and claim predicates, passed or not, in order).

    Public for the rule-cost simulator and :mod:`risk_sharing.eligibility`, which run them on a loan
    before any default."""
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


_eligibility_checks = loan_eligibility_checks
"""Former private name, kept for callers that still use it."""


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
    checks = loan_eligibility_checks(rule, claim, loan)
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
        per_loan = rule.party_per_loan_limit_cny(k)  # the insurer's per-loan limit (保险单笔赔付限额)
        if per_loan is not None:
            limits.append((cny_to_fen(per_loan), "party_per_loan"))
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
    "Check",
    "ClaimReview",
    "loan_eligibility_checks",
    "review_claim",
    "select_version",
    "trigger_date",
]
