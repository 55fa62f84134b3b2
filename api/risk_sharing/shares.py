"""Per-payer sign-off: each party reviews, approves (maker-checker inside that party) and pays
its own share of a reviewed claim, or declines it with a reason.

Share moves: pending → proposed (a maker of the party) → approved (an approver of the party, not
the maker nor the filing user) → paid (payment date and reference; the ledger line is booked
then); pending/proposed/approved → declined (an approver, with a reason).

Signing: the first approval or decline of any share, under the family's cap lock, reviews the
claim once more against current usage (other claims' payouts and reservations), freezes the
split (amounts may be lower than at review if caps bound meanwhile — the rule's residual bearer
takes the rest, as the engine splits it) and reserves it: every unpaid share counts against the
caps (``schemes.reserved_entries``) and balance-limited parties' fund balances are debited. Later
approvals re-check the party's own caps and balance under the same lock. A declined share frees
its reservation and is never shifted to anyone; recoveries go back only to what was paid.

The claim's status follows its shares: reviewed → partially_paid (some settled) → completed (all
paid) | closed (all settled, some declined).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import Conflict, FieldError, NotFound
from api.identity.models import Organisation, User
from api.pledge.models import Loan
from api.risk_sharing import policies
from api.risk_sharing.loan_effects import reduce_exposure
from api.risk_sharing.models import (
    SETTLED_SHARES,
    ClaimStatus,
    RiskClaim,
    RiskClaimParty,
    RiskLedgerEntry,
    RiskSchemeState,
    ShareStatus,
)
from api.risk_sharing.schemas import SharePayment
from api.risk_sharing.schemes import get_rule_row, lock_scheme, rule_of
from api.risk_sharing.service import (
    adjust_balances,
    bump,
    claim_parties,
    get_claim,
    review_json,
    run_review,
    set_split,
)
from risk_sharing import ledger as rs_ledger

_OPEN = {ClaimStatus.reviewed.value, ClaimStatus.partially_paid.value}


def get_share(session: Session, org: Organisation, claim_id: int, party_key: str) -> tuple[RiskClaim, RiskClaimParty]:
    c = get_claim(session, org, claim_id)
    row = session.exec(
        select(RiskClaimParty).where(RiskClaimParty.claim_id == c.id, RiskClaimParty.party_key == party_key)
    ).first()
    if row is None:
        raise NotFound(f"claim {claim_id} has no party '{party_key}'")
    return c, row


def _require_open(c: RiskClaim) -> None:
    if str(c.status) not in _OPEN:
        raise Conflict(f"claim {c.id} is {c.status}: shares are signed while it is reviewed or partially_paid")
    if c.eligible is not True:
        reasons = "; ".join((c.review or {}).get("reasons", []))
        raise Conflict(f"claim {c.id} is not eligible ({reasons}): reject it or review it again")


def _require_share(row: RiskClaimParty, allowed: set[ShareStatus], action: str) -> None:
    if str(row.status) not in {str(s) for s in allowed}:
        raise Conflict(
            f"cannot {action} the share of '{row.party_key}' that is {row.status}; "
            f"allowed from: {', '.join(sorted(str(s) for s in allowed))}"
        )


def _move(session: Session, actor: User, row: RiskClaimParty, action: str, **values: object) -> None:
    """Conditional update on the share's version (a concurrent move → 409) and its audit event."""
    before = audit.snapshot(row)
    res = session.execute(
        update(RiskClaimParty)
        .where(col(RiskClaimParty.id) == row.id, col(RiskClaimParty.version) == row.version)
        .values(version=row.version + 1, **values)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"the share of '{row.party_key}' was changed by someone else; reload and retry")
    session.refresh(row)
    audit.record(session, actor, "risk_claim_party", row.id, action, before=before, after=row)


def _locked(session: Session, c: RiskClaim, row: RiskClaimParty) -> RiskSchemeState:
    """Take the family's cap lock, then re-read the claim and the share (they may have moved meanwhile)."""
    state = lock_scheme(session, c.rule_id)
    session.refresh(c)
    session.refresh(row)
    return state


def _sign(session: Session, actor: User, c: RiskClaim, state: RiskSchemeState) -> None:
    """Freeze and reserve the split (first approval or decline; under the lock)."""
    rule, review = run_review(session, c, state)
    if not review.eligible:
        raise Conflict("claim is not eligible now: " + "; ".join(review.reasons))
    before = audit.snapshot(c)
    today = date.today()
    set_split(session, c, review)
    session.flush()
    adjust_balances(session, rule, state, {p.key: -p.payable_fen for p in review.split.parties})
    bump(session, c, c.version, signed_on=today, loss_base_fen=review.loss_base_fen,
         review=review_json(review, today))
    audit.record(session, actor, "risk_claim", c.id, "sign", before=before, after=c)


def _check_own_caps(session: Session, c: RiskClaim, row: RiskClaimParty, state: RiskSchemeState) -> None:
    """A signed claim's compensating party: its caps and balance must still cover its share now."""
    rule, review = run_review(session, c, state)
    if row.party_key not in rule.compensator_keys:
        return
    now = review.payable.get(row.party_key, 0)
    if now < int(row.payable_fen or 0):
        raise Conflict(
            f"'{row.party_key}' can pay {now} fen now, less than its share of {row.payable_fen} fen "
            "(caps or balance): decline the share with the reason"
        )


def refresh_status(session: Session, actor: User, c: RiskClaim) -> None:
    """The claim's status from its shares (audited when it changes)."""
    if c.signed_on is None:
        return
    rows = claim_parties(session, c.id)  # type: ignore[arg-type]
    settled = [r for r in rows if str(r.status) in {str(s) for s in SETTLED_SHARES}]
    if len(settled) == len(rows):
        declined = any(str(r.status) == ShareStatus.declined for r in rows)
        new = ClaimStatus.closed if declined else ClaimStatus.completed
    else:
        new = ClaimStatus.partially_paid if settled else ClaimStatus.reviewed
    if str(c.status) != new:
        before = audit.snapshot(c)
        bump(session, c, c.version, status=new.value)
        audit.record(session, actor, "risk_claim", c.id, new.value, before=before, after=c)


def propose_share(session: Session, actor: User, org: Organisation, claim_id: int, key: str) -> RiskClaimParty:
    """Maker: put the party's share forward for its approver."""
    c, row = get_share(session, org, claim_id, key)
    policies.require_share_org(org, row)
    policies.require_staff(actor)
    _require_open(c)
    _require_share(row, {ShareStatus.pending}, "propose")
    _move(session, actor, row, "propose", status=ShareStatus.proposed.value, proposed_by_user_id=actor.id)
    return row


def approve_share(session: Session, actor: User, org: Organisation, claim_id: int, key: str) -> RiskClaimParty:
    """Checker of the party: approve its share, its caps and balance checked under the family lock."""
    c, row = get_share(session, org, claim_id, key)
    policies.require_share_org(org, row)
    policies.require_approver(actor)
    if actor.id in (row.proposed_by_user_id, c.filed_by_user_id):
        raise Conflict("maker-checker: the approver of a share must differ from its proposer and the filing user")
    state = _locked(session, c, row)
    _require_open(c)
    _require_share(row, {ShareStatus.proposed}, "approve")
    if c.signed_on is None:
        _sign(session, actor, c, state)
        session.refresh(row)
    else:
        _check_own_caps(session, c, row, state)
    _move(session, actor, row, "approve", status=ShareStatus.approved.value, approved_by_user_id=actor.id,
          approved_on=date.today())
    refresh_status(session, actor, c)
    return row


def decline_share(
    session: Session, actor: User, org: Organisation, claim_id: int, key: str, reason: str
) -> RiskClaimParty:
    """The party's approver formally declines its share (reason kept); its reservation is freed."""
    c, row = get_share(session, org, claim_id, key)
    policies.require_share_org(org, row)
    policies.require_approver(actor)
    state = _locked(session, c, row)
    _require_open(c)
    _require_share(row, {ShareStatus.pending, ShareStatus.proposed, ShareStatus.approved}, "decline")
    if c.signed_on is None:
        _sign(session, actor, c, state)
        session.refresh(row)
    rule = rule_of(get_rule_row(session, c.rule_row_id))
    adjust_balances(session, rule, state, {row.party_key: int(row.payable_fen or 0)})
    _move(session, actor, row, "decline", status=ShareStatus.declined.value, declined_by_user_id=actor.id,
          decline_reason=reason)
    refresh_status(session, actor, c)
    return row


def pay_share(
    session: Session, actor: User, org: Organisation, claim_id: int, key: str, body: SharePayment
) -> RiskClaimParty:
    """Record the party's payment of its approved share: the ledger line, and the bank's exposure."""
    c, row = get_share(session, org, claim_id, key)
    policies.require_share_org(org, row)
    policies.require_staff(actor)
    if body.paid_on > date.today():
        raise FieldError("paid_on", "must not be in the future")
    if body.paid_on < c.filed_on:
        raise FieldError("paid_on", f"must not be before the claim was filed ({c.filed_on})")
    _locked(session, c, row)
    _require_open(c)
    _require_share(row, {ShareStatus.approved}, "pay")
    amount = int(row.payable_fen or 0)
    rule = rule_of(get_rule_row(session, c.rule_row_id))
    if amount > 0:
        session.add(RiskLedgerEntry(
            rule_row_id=c.rule_row_id, rule_id=c.rule_id, rule_version=c.rule_version, claim_id=c.id,  # type: ignore[arg-type]
            party_key=row.party_key, party_org_id=row.org_id, kind=rs_ledger.EntryKind.PAYOUT.value,
            amount_fen=amount, compensation=row.party_key in rule.compensator_keys, booked_on=body.paid_on,
            loan_key=c.loan_key, borrower_key=c.borrower_key, lender_key=c.lender_key,
        ))
    _move(session, actor, row, "pay", status=ShareStatus.paid.value, paid_by_user_id=actor.id,
          paid_on=body.paid_on, payment_reference=body.reference)
    loan = session.get(Loan, c.loan_id) if c.loan_id is not None else None
    if loan is not None and row.org_id != loan.bank_org_id:
        reduce_exposure(session, actor, c, amount, row.party_key, body.paid_on)
    refresh_status(session, actor, c)
    return row
