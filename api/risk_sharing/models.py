"""Risk-sharing tables: rule families (owner), proposed rule changes (maker-checker), rule
versions, scheme state (cap lock), claims, claim parties (one share each, signed and paid by
that party), recoveries and the append-only payout/recovery ledger; programme subsidies (贴息 and
fee subsidies): applications, their annual budgets (the budget lock) and their own append-only ledger.

Money is integer fen (BIGINT) with computed ``*_cny`` on public models. A rule row is
one version of a rule family (``rule_id``); its full definition is the validated JSON of
:class:`risk_sharing.rules.Rule`. Payouts reference the rule row they were computed
under, so a later version never rewrites a past payout.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints
from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, col, select

from api.core.db import utcnow
from api.identity.models import Organisation
from api.pledge.models import Loan
from ipfin.validation import MoneyCNY as _MoneyCNY

#: Largest amount accepted in a request: 1 trillion CNY (10^14 fen), far below BIGINT's 9.2 × 10^18 fen
#: even summed over many rows, so no amount can overflow a money column.
MAX_REQUEST_CNY = Decimal("1000000000000")


def _at_most_max(v: Decimal) -> Decimal:
    if v > MAX_REQUEST_CNY:
        raise ValueError(f"amount must not exceed {MAX_REQUEST_CNY:,} CNY")
    return v


MoneyCNY = Annotated[_MoneyCNY, AfterValidator(_at_most_max)]


"""A CNY amount (≥ 0, at most 2 decimals) no larger than :data:`MAX_REQUEST_CNY`."""


DocumentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class RiskRule(SQLModel, table=True):
    """One version of a risk-compensation rule (definition = validated rule JSON)."""

    __tablename__ = "risk_rule"
    __table_args__ = (UniqueConstraint("rule_id", "version", name="uq_risk_rule_version"),)
    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(max_length=80, index=True, description="rule family id")
    version: int
    name: str = Field(max_length=200)
    effective_from: date
    effective_to: date | None = None
    definition: dict[str, Any] = Field(sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class RiskSchemeState(SQLModel, table=True):
    """Per rule family: the cap lock row and the figures caps need that are not in the ledger.

    Every approval and recovery first bumps ``lock_counter`` on this row, which takes a
    row lock (PostgreSQL) / the write lock (SQLite) until commit: cap checks of one
    family are serialised, so two claims cannot both take the last of a cap.
    """

    __tablename__ = "risk_scheme_state"
    rule_id: str = Field(primary_key=True, max_length=80)
    lock_counter: int = Field(default=0, sa_type=BigInteger)
    covered_loans_fen: int | None = Field(
        default=None,
        sa_type=BigInteger,
        description="loans covered by the scheme (payout-rate ceiling), fen, typed in; with "
        "covered_loans_from_book it counts only loans outside the ipfin loan table",
    )
    covered_loans_from_book: bool = Field(
        default=False, description="add the covered loans of the ipfin loan table (see crud.book_covered_loans_fen)"
    )
    party_balance_fen: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="current fund balances of balance-limited parties, fen"
    )
    updated_at: datetime = Field(default_factory=utcnow)


class RiskRuleFamily(SQLModel, table=True):
    """A rule family and the organisation that administers it (the only one that may change it)."""

    __tablename__ = "risk_rule_family"
    rule_id: str = Field(primary_key=True, max_length=80)
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class ChangeKind(StrEnum):
    """What a proposed change does to a rule family."""

    new_version = "new_version"
    scheme_state = "scheme_state"


class ChangeStatus(StrEnum):
    """A proposed change: proposed → approved (applied) | rejected."""

    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"


class RiskRuleChange(SQLModel, table=True):
    """A change to a rule family proposed by a maker of its owner, applied when a second user
    (an approver of the owner) approves it. ``payload``: the rule JSON or the scheme-state update."""

    __tablename__ = "risk_rule_change"
    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(max_length=80, index=True)
    kind: str = Field(sa_type=String(20))
    payload: dict[str, Any] = Field(sa_type=JSON)
    status: str = Field(default=ChangeStatus.proposed, sa_type=String(20))
    note: str | None = Field(default=None, max_length=1000)
    proposed_by_user_id: int = Field(foreign_key="app_user.id")
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decision_note: str | None = Field(default=None, max_length=1000)
    rule_row_id: int | None = Field(default=None, foreign_key="risk_rule.id", description="version it created")
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class ClaimStatus(StrEnum):
    """Claim workflow, derived from its shares once reviewed: filed → reviewed → partially_paid →
    completed (every share paid) | closed (every share settled, some declined); or rejected
    (by a party while no share is signed)."""

    filed = "filed"
    reviewed = "reviewed"
    partially_paid = "partially_paid"
    completed = "completed"
    closed = "closed"
    rejected = "rejected"


class ShareStatus(StrEnum):
    """One party's share of a claim: pending → proposed (maker) → approved (the party's approver)
    → paid (date and reference); or declined with a reason (from pending, proposed or approved).
    A share of 0 fen is ``nothing_due`` at review. Paid, declined and nothing_due are settled."""

    pending = "pending"
    proposed = "proposed"
    approved = "approved"
    paid = "paid"
    declined = "declined"
    nothing_due = "nothing_due"


SETTLED_SHARES = (ShareStatus.paid, ShareStatus.declined, ShareStatus.nothing_due)
#: Shares whose amount counts against the caps before it is paid (the claim is signed: see shares.py).
RESERVED_SHARES = (ShareStatus.pending, ShareStatus.proposed, ShareStatus.approved)


class RiskClaim(SQLModel, table=True):
    """A compensation claim (代偿/补偿申请) on a defaulted loan, internal or imported."""

    __tablename__ = "risk_claim"
    __table_args__ = (
        UniqueConstraint("filed_by_org_id", "idempotency_key", name="uq_risk_claim_idempotency"),
        Index("ix_risk_claim_loan_key", "loan_key"),
        Index("ix_risk_claim_status", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=100)
    request_hash: str = Field(max_length=64)
    rule_row_id: int = Field(foreign_key="risk_rule.id", index=True)
    rule_id: str = Field(max_length=80)
    rule_version: int
    loan_id: int | None = Field(default=None, foreign_key="loan.id", index=True)
    loan_key: str = Field(max_length=80, description="'loan:<id>' or 'ext:<reference>' (duplicate detection)")
    borrower_key: str = Field(max_length=80)
    lender_key: str = Field(max_length=80)
    loan_facts: dict[str, Any] = Field(sa_type=JSON, description="the domain Loan the review used")
    default_date: date
    filed_on: date
    outstanding_principal_fen: int = Field(sa_type=BigInteger)
    outstanding_interest_fen: int = Field(default=0, sa_type=BigInteger)
    recoveries_so_far_fen: int = Field(default=0, sa_type=BigInteger)
    npl_class: str | None = Field(default=None, max_length=20)
    classified_on: date | None = None
    documents: list[str] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default=ClaimStatus.filed, sa_type=String(20))
    eligible: bool | None = None
    loss_base_fen: int | None = Field(default=None, sa_type=BigInteger)
    review: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    decision_note: str | None = Field(default=None, max_length=1000)
    filed_by_org_id: int = Field(foreign_key="organisation.id", index=True)
    filed_by_user_id: int = Field(foreign_key="app_user.id")
    reviewed_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    signed_on: date | None = Field(
        default=None, description="first share approved or declined: the split is frozen and reserved against caps"
    )
    version: int = Field(default=1, description="optimistic-lock version, bumped on every change")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RiskClaimParty(SQLModel, table=True):
    """A party of a claim, the organisation that signs and pays its share, and that share's state."""

    __tablename__ = "risk_claim_party"
    __table_args__ = (UniqueConstraint("claim_id", "party_key", name="uq_risk_claim_party"),)
    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="risk_claim.id", index=True)
    party_key: str = Field(max_length=40)
    role: str = Field(max_length=20)
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    nominal_fen: int | None = Field(default=None, sa_type=BigInteger)
    payable_fen: int | None = Field(default=None, sa_type=BigInteger)
    status: str = Field(default=ShareStatus.pending, sa_type=String(20))
    proposed_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_on: date | None = None
    paid_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    paid_on: date | None = None
    payment_reference: str | None = Field(default=None, max_length=100)
    declined_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decline_reason: str | None = Field(default=None, max_length=1000)
    version: int = Field(default=1, description="optimistic-lock version, bumped on every change")


class RiskRecovery(SQLModel, table=True):
    """Money recovered after payout (追偿), shared back to the parties by the rule."""

    __tablename__ = "risk_recovery"
    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="risk_claim.id", index=True)
    disposal_id: int | None = Field(
        default=None, sa_column_kwargs={"unique": True}, description="pledge_disposal.id the money came from"
    )
    received_on: date
    method: str = Field(default="", max_length=40, description="auction, sale, agreed transfer, licence, equity")
    gross_fen: int = Field(sa_type=BigInteger)
    disposal_costs_fen: int = Field(default=0, sa_type=BigInteger)
    net_fen: int = Field(sa_type=BigInteger)
    surplus_fen: int = Field(default=0, sa_type=BigInteger, description="above everything owed: not scheme money")
    parts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="party key → fen")
    recorded_by_user_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class RiskLedgerEntry(SQLModel, table=True):
    """Append-only ledger line: a party's payout for an approved claim, or a recovery back to it."""

    __tablename__ = "risk_ledger_entry"
    __table_args__ = (
        Index("ix_risk_ledger_rule_booked", "rule_id", "booked_on"),
        Index("ix_risk_ledger_rule_borrower", "rule_id", "borrower_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    rule_row_id: int = Field(foreign_key="risk_rule.id")
    rule_id: str = Field(max_length=80)
    rule_version: int
    claim_id: int = Field(foreign_key="risk_claim.id", index=True)
    recovery_id: int | None = Field(default=None, foreign_key="risk_recovery.id")
    party_key: str = Field(max_length=40)
    party_org_id: int | None = Field(default=None, foreign_key="organisation.id")
    kind: str = Field(sa_type=String(10))
    amount_fen: int = Field(sa_type=BigInteger)
    compensation: bool = True
    booked_on: date
    loan_key: str = Field(max_length=80)
    borrower_key: str = Field(max_length=80)
    lender_key: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow)


class SubsidyStatus(StrEnum):
    """A subsidy application: applied (bank) → proposed (payer's maker: approve or decline) → approved
    (payer's checker; budget drawn) → paid (ledger line); or declined (the checker confirms a proposed
    decline) or refused (approved when nothing of the year's budget remained)."""

    applied = "applied"
    proposed = "proposed"
    approved = "approved"
    paid = "paid"
    declined = "declined"
    refused = "refused"


#: Applications that count against a loan's per-year cap and block an overlapping period.
LIVE_SUBSIDY_STATUSES = (SubsidyStatus.applied, SubsidyStatus.proposed, SubsidyStatus.approved, SubsidyStatus.paid)


class RiskSubsidyBudget(SQLModel, table=True):
    """One subsidy's budget for one calendar year under one rule version, and what is drawn from it.

    ``approved_fen`` is drawn when an application is approved (paid or not); ``paid_fen`` when it is
    paid. Every approval first bumps ``lock_counter`` (row lock on PostgreSQL, the write lock on
    SQLite, until commit), so two approvals racing for the last of a budget are serialised.
    ``budget_fen`` None: the rule sets no annual budget (unlimited).
    """

    __tablename__ = "risk_subsidy_budget"
    __table_args__ = (
        UniqueConstraint("rule_row_id", "subsidy_key", "year", name="uq_risk_subsidy_budget"),
        CheckConstraint("budget_fen IS NULL OR approved_fen <= budget_fen", name="ck_risk_subsidy_budget_drawn"),
        CheckConstraint("paid_fen <= approved_fen", name="ck_risk_subsidy_budget_paid"),
    )
    id: int | None = Field(default=None, primary_key=True)
    rule_row_id: int = Field(foreign_key="risk_rule.id")
    rule_id: str = Field(max_length=80, index=True)
    rule_version: int
    subsidy_key: str = Field(max_length=40)
    year: int
    payer_org_id: int = Field(foreign_key="organisation.id", description="the organisation paying from it")
    budget_fen: int | None = Field(default=None, sa_type=BigInteger, description="annual budget, fen")
    approved_fen: int = Field(default=0, sa_type=BigInteger, description="drawn by approvals, fen")
    paid_fen: int = Field(default=0, sa_type=BigInteger, description="paid out, fen")
    lock_counter: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = Field(default_factory=utcnow)


class RiskSubsidyApplication(SQLModel, table=True):
    """A subsidy application (贴息/评估费补贴/担保费补贴/保费补贴申请) of a bank for one loan and period."""

    __tablename__ = "risk_subsidy_application"
    __table_args__ = (
        Index("ix_risk_subsidy_app_loan", "loan_id", "rule_id", "subsidy_key"),
        Index("ix_risk_subsidy_app_budget", "budget_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    rule_row_id: int = Field(foreign_key="risk_rule.id")
    rule_id: str = Field(max_length=80, index=True)
    rule_version: int
    subsidy_key: str = Field(max_length=40)
    kind: str = Field(sa_type=String(20), description="interest, appraisal_fee, guarantee_fee, insurance_premium")
    budget_id: int = Field(foreign_key="risk_subsidy_budget.id")
    year: int = Field(description="budget year (calendar year of the subsidised cost)")
    loan_id: int = Field(foreign_key="loan.id")
    bank_org_id: int = Field(foreign_key="organisation.id", index=True)
    payer_org_id: int = Field(foreign_key="organisation.id", index=True)
    period_start: date | None = None
    period_end: date | None = None
    base_fen: int = Field(sa_type=BigInteger, description="the subsidised cost taken from the platform, fen")
    rate: str = Field(max_length=40, description="share of the cost subsidised, fraction, exactly as in the rule")
    computed_fen: int = Field(sa_type=BigInteger, description="rate × base, rounded half up to the fen")
    requested_fen: int = Field(sa_type=BigInteger, description="computed, within the per-loan yearly cap")
    granted_fen: int | None = Field(default=None, sa_type=BigInteger, description="drawn from the budget")
    shortfall_fen: int | None = Field(default=None, sa_type=BigInteger, description="requested − granted")
    status: str = Field(default=SubsidyStatus.applied, sa_type=String(20))
    proposed_decision: str | None = Field(default=None, sa_type=String(10), description="approve or decline")
    proposal_note: str | None = Field(default=None, max_length=1000)
    decision_note: str | None = Field(default=None, max_length=1000)
    applied_by_user_id: int = Field(foreign_key="app_user.id")
    proposed_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_on: date | None = None
    paid_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    paid_on: date | None = None
    payment_reference: str | None = Field(default=None, max_length=100)
    version: int = Field(default=1, description="optimistic-lock version, bumped on every change")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RiskSubsidyLedgerEntry(SQLModel, table=True):
    """Append-only ledger line: a subsidy paid from its budget by the payer to the applying bank."""

    __tablename__ = "risk_subsidy_ledger_entry"
    __table_args__ = (Index("ix_risk_subsidy_ledger_rule_year", "rule_id", "year"),)
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="risk_subsidy_application.id", sa_column_kwargs={"unique": True})
    budget_id: int = Field(foreign_key="risk_subsidy_budget.id", index=True)
    rule_row_id: int = Field(foreign_key="risk_rule.id")
    rule_id: str = Field(max_length=80)
    rule_version: int
    subsidy_key: str = Field(max_length=40)
    kind: str = Field(sa_type=String(20), description="entry kind: 'subsidy_payment'")
    year: int
    payer_org_id: int = Field(foreign_key="organisation.id")
    payee_org_id: int = Field(foreign_key="organisation.id", description="the applying bank")
    loan_id: int = Field(foreign_key="loan.id")
    amount_fen: int = Field(sa_type=BigInteger)
    booked_on: date
    reference: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


def claim_visibility(org: Organisation) -> ColumnElement[bool]:
    """Claims an organisation may see: those it is a party of (admin: all).

    The filer is always a party (``service.file_claim`` refuses anything else), so this is the
    whole rule: a claim, its shares, loan facts, recoveries and ledger lines are read by its
    parties only (see ``api.risk_sharing.policies``).
    """
    from sqlalchemy import true

    if str(org.kind) == "admin":
        return true()
    party_claims = select(RiskClaimParty.claim_id).where(RiskClaimParty.org_id == org.id)
    return col(RiskClaim.id).in_(party_claims)  # type: ignore[arg-type]


def loans_paid_into(org: Organisation) -> ColumnElement[bool]:
    """Loans with claims the organisation pays into (used by ``api.tenancy`` for re-guarantors and funds)."""
    paid = (
        select(RiskClaim.loan_id)
        .join(RiskClaimParty, col(RiskClaimParty.claim_id) == col(RiskClaim.id))
        .where(RiskClaimParty.org_id == org.id, col(RiskClaim.loan_id).is_not(None))
    )
    return col(Loan.id).in_(paid)
