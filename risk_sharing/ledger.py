"""Pure ledger arithmetic for risk compensation (风险补偿台账).

The ledger is an append-only list of entries: a *payout* is what a party bore/paid
for an approved claim, a *recovery* is what it got back later. From these this module
computes per-party balances (paid, recovered, net) per rule family and year, the usage
figures a claim review needs (:class:`~risk_sharing.claims.ReviewContext`) and cap
headroom. The API calls these while holding a lock on the cap-usage row, so two claims
racing for the last of a cap cannot both take it.

Conventions: money in integer fen; a "year" is the calendar year of ``booked_on``;
usage is counted per rule *family* (``rule_id``, all versions) — a new version does
not reset a running budget; caps count gross payouts (recoveries do not free cap room).
Past entries are never rewritten: a rule change only affects later bookings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ipfin.money import Fen, cny_to_fen
from risk_sharing.claims import Claim, ExistingClaim, Loan, ReviewContext
from risk_sharing.engine import ClaimReview
from risk_sharing.recovery import RecoveryShare
from risk_sharing.rules import Rule
from risk_sharing.splitting import payout_rate_headroom


class EntryKind(StrEnum):
    PAYOUT = "payout"  # 代偿/补偿支出 (for the residual bearer: loss borne)
    RECOVERY = "recovery"  # 追偿返还


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger line. ``compensation``: part paid by a compensating party (counts toward caps);
    False for the residual bearer's and a bank's own borne part."""

    rule_id: str
    rule_version: int
    party: str
    kind: EntryKind
    amount_fen: Fen
    booked_on: date
    claim_id: str
    loan_id: str = ""
    borrower_id: str = ""
    lender_id: str = ""
    compensation: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.amount_fen, bool) or not isinstance(self.amount_fen, int):
            raise ValueError("amount_fen: must be integer fen")
        if self.amount_fen < 0:
            raise ValueError("amount_fen: must not be negative")
        if not isinstance(self.kind, EntryKind):
            object.__setattr__(self, "kind", EntryKind(self.kind))


@dataclass(frozen=True)
class PartyBalance:
    """A party's totals under one rule family (and year, unless ``year`` is None)."""

    rule_id: str
    year: int | None
    party: str
    paid_fen: Fen
    recovered_fen: Fen

    @property
    def net_fen(self) -> Fen:
        """Net cost to the party: paid − recovered (≥ 0 because recoveries are capped)."""
        return self.paid_fen - self.recovered_fen


def balances(entries: Iterable[LedgerEntry], *, by_year: bool = True) -> list[PartyBalance]:
    """Per (rule family, year, party) totals of paid and recovered, sorted."""
    paid: dict[tuple[str, int | None, str], int] = defaultdict(int)
    rec: dict[tuple[str, int | None, str], int] = defaultdict(int)
    for e in entries:
        key = (e.rule_id, e.booked_on.year if by_year else None, e.party)
        if e.kind is EntryKind.PAYOUT:
            paid[key] += e.amount_fen
        else:
            rec[key] += e.amount_fen
    keys = sorted(set(paid) | set(rec), key=lambda k: (k[0], k[1] or 0, k[2]))
    return [PartyBalance(k[0], k[1], k[2], paid.get(k, 0), rec.get(k, 0)) for k in keys]


def claim_totals(entries: Iterable[LedgerEntry], claim_id: str) -> tuple[dict[str, Fen], dict[str, Fen]]:
    """(paid, recovered) by party for one claim — the input to recovery share-back."""
    paid: dict[str, int] = {}
    rec: dict[str, int] = {}
    for e in entries:
        if e.claim_id != claim_id:
            continue
        target = paid if e.kind is EntryKind.PAYOUT else rec
        target[e.party] = target.get(e.party, 0) + e.amount_fen
    return paid, rec


def cap_headroom(limit_fen: Fen | None, used_fen: Fen) -> Fen | None:
    """What is left of a cap (fen, ≥ 0); ``None`` when there is no cap."""
    if used_fen < 0:
        raise ValueError("used_fen: must not be negative")
    return None if limit_fen is None else max(0, limit_fen - used_fen)


def review_context(
    entries: Iterable[LedgerEntry],
    *,
    rule_id: str,
    borrower_id: str,
    lender_id: str,
    review_date: date,
    party_balance_fen: Mapping[str, Fen] | None = None,
    covered_loans_fen: Fen | None = None,
    existing_claims: Sequence[ExistingClaim] = (),
) -> ReviewContext:
    """Usage figures for a claim review, read from the rule family's ledger entries."""
    year = review_date.year
    base_year = comp_year = comp_life = lender_year = comp_all = 0
    party_year: dict[str, int] = defaultdict(int)
    for e in entries:
        if e.rule_id != rule_id or e.kind is not EntryKind.PAYOUT:
            continue
        same_year = e.booked_on.year == year
        if same_year:
            party_year[e.party] += e.amount_fen
        if e.borrower_id == borrower_id:
            if same_year:
                base_year += e.amount_fen  # parts sum to the base, so Σ parts = base counted
                if e.compensation:
                    comp_year += e.amount_fen
            if e.compensation:
                comp_life += e.amount_fen
        if e.compensation:
            comp_all += e.amount_fen
            if same_year and lender_id and e.lender_id == lender_id:
                lender_year += e.amount_fen
    return ReviewContext(
        review_date=review_date,
        borrower_base_year_fen=base_year,
        borrower_compensation_year_fen=comp_year,
        borrower_compensation_lifetime_fen=comp_life,
        lender_compensation_year_fen=lender_year,
        party_paid_year_fen=dict(party_year),
        party_balance_fen=dict(party_balance_fen or {}),
        covered_loans_fen=covered_loans_fen,
        compensation_paid_fen=comp_all,
        existing_claims=tuple(existing_claims),
    )


def headrooms(rule: Rule, context: ReviewContext) -> dict[str, Fen]:
    """Remaining room on every cap the rule sets, by cap name (party caps as 'party_year[key]')."""
    c = rule.caps
    out: dict[str, Fen] = {}
    pairs: list[tuple[str, Fen | None, Fen]] = [
        ("base_per_loan", c.fen("base_per_loan_cny"), 0),
        ("base_per_borrower_year", c.fen("base_per_borrower_year_cny"), context.borrower_base_year_fen),
        ("compensation_per_loan", c.fen("compensation_per_loan_cny"), 0),
        (
            "compensation_per_borrower_year",
            c.fen("compensation_per_borrower_year_cny"),
            context.borrower_compensation_year_fen,
        ),
        (
            "compensation_per_borrower_lifetime",
            c.fen("compensation_per_borrower_lifetime_cny"),
            context.borrower_compensation_lifetime_fen,
        ),
        (
            "compensation_per_lender_year",
            c.fen("compensation_per_lender_year_cny"),
            context.lender_compensation_year_fen,
        ),
    ]
    for k, cap in c.party_year_cny.items():
        pairs.append((f"party_year[{k}]", cny_to_fen(cap), context.party_paid_year_fen.get(k, 0)))
    for name, limit, used in pairs:
        h = cap_headroom(limit, used)
        if h is not None:
            out[name] = h
    for k, bal in context.party_balance_fen.items():
        out[f"balance[{k}]"] = bal
    if c.payout_rate_ceiling is not None and context.covered_loans_fen is not None:
        out["payout_rate_ceiling"] = payout_rate_headroom(
            c.payout_rate_ceiling, context.covered_loans_fen, context.compensation_paid_fen
        )
    return out


def payout_entries(review: ClaimReview, claim: Claim, loan: Loan, booked_on: date) -> list[LedgerEntry]:
    """Ledger lines for an approved, eligible review (one per party with a non-zero part)."""
    if not review.eligible:
        raise ValueError("review: only an eligible review can be booked")
    if review.claim_id != claim.claim_id:
        raise ValueError("claim: does not match the review")
    return [
        LedgerEntry(
            rule_id=review.rule_id,
            rule_version=review.rule_version,
            party=p.key,
            kind=EntryKind.PAYOUT,
            amount_fen=p.payable_fen,
            booked_on=booked_on,
            claim_id=claim.claim_id,
            loan_id=loan.loan_id,
            borrower_id=loan.borrower_id,
            lender_id=loan.lender_id,
            compensation=p.key in review.split.compensator_keys,
        )
        for p in review.split.parties
        if p.payable_fen > 0
    ]


def recovery_entries(
    share: RecoveryShare,
    *,
    rule_id: str,
    rule_version: int,
    claim_id: str,
    booked_on: date,
    loan_id: str = "",
    borrower_id: str = "",
    lender_id: str = "",
) -> list[LedgerEntry]:
    """Ledger lines for a recovery share-back (one per party with a non-zero part)."""
    return [
        LedgerEntry(
            rule_id, rule_version, k, EntryKind.RECOVERY, v, booked_on, claim_id, loan_id, borrower_id, lender_id
        )
        for k, v in share.parts.items()
        if v > 0
    ]


__all__ = [
    "EntryKind",
    "LedgerEntry",
    "PartyBalance",
    "balances",
    "cap_headroom",
    "claim_totals",
    "headrooms",
    "payout_entries",
    "recovery_entries",
    "review_context",
]
