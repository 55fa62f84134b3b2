"""Request and response models of programme subsidies (贴息 and fee subsidies): applications, the
payer's maker-checker review, payment, and the budget figures. Money in integer fen with ``*_cny``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import computed_field
from sqlmodel import Field, SQLModel

from api.core.schemas import Page
from api.pledge.models import DbId
from ipfin.money import fen_to_cny


def _cny(fen: int | None) -> Decimal | None:
    return None if fen is None else fen_to_cny(fen)


class SubsidyApplicationCreate(SQLModel):
    """A bank's application for one subsidy of a rule, for one loan and one period.

    ``period_start``/``period_end`` (inclusive, within one calendar year) are the interest period
    (interest subsidy: interest paid on the loan in it) or the fee period (guarantee fee, premium);
    an appraisal-fee subsidy has no period (once per loan, budget year = origination year).
    ``rule_version``, if given, must be the version in force on the loan's origination date.
    """

    rule_id: str = Field(min_length=1, max_length=80)
    rule_version: int | None = Field(default=None, ge=1)
    subsidy_key: str = Field(min_length=1, max_length=40)
    loan_id: DbId
    payer_org_id: DbId = Field(description="the bureau or fund organisation paying the subsidy from its budget")
    period_start: date | None = None
    period_end: date | None = None


class SubsidyDecision(StrEnum):
    """What the payer's maker proposes."""

    approve = "approve"
    decline = "decline"


class SubsidyProposal(SQLModel):
    """The payer's maker proposes to approve or decline (a decline needs a note: the reason)."""

    decision: SubsidyDecision
    note: str | None = Field(default=None, min_length=1, max_length=1000)


class SubsidyCheck(SQLModel):
    """The payer's checker confirms the proposal (optionally with a note)."""

    note: str | None = Field(default=None, min_length=1, max_length=1000)


class SubsidyPayment(SQLModel):
    """The payer's payment of an approved subsidy."""

    paid_on: date
    reference: str = Field(min_length=1, max_length=100, description="payment / transfer reference")


class SubsidyApplicationPublic(SQLModel):
    id: int
    rule_id: str
    rule_version: int
    subsidy_key: str
    kind: str
    year: int
    loan_id: int
    bank_org_id: int
    payer_org_id: int
    period_start: date | None
    period_end: date | None
    base_fen: int
    rate: str
    computed_fen: int
    requested_fen: int
    granted_fen: int | None
    shortfall_fen: int | None
    status: str
    proposed_decision: str | None
    proposal_note: str | None
    decision_note: str | None
    applied_by_user_id: int
    proposed_by_user_id: int | None
    decided_by_user_id: int | None
    decided_on: date | None
    paid_by_user_id: int | None
    paid_on: date | None
    payment_reference: str | None
    version: int
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def base_cny(self) -> Decimal:
        return fen_to_cny(self.base_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def requested_cny(self) -> Decimal:
        return fen_to_cny(self.requested_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def granted_cny(self) -> Decimal | None:
        return _cny(self.granted_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def shortfall_cny(self) -> Decimal | None:
        return _cny(self.shortfall_fen)


class SubsidyApplicationsPage(Page):
    data: list[SubsidyApplicationPublic]


class SubsidyBudgetPublic(SQLModel):
    """One subsidy's budget for the year: what approvals drew, what was paid, what remains (fen, CNY).

    ``budget_fen``/``remaining_fen`` are None when the rule sets no annual budget; ``payer_org_id`` is
    None while nobody has applied for the subsidy that year."""

    rule_id: str
    rule_version: int
    subsidy_key: str
    kind: str
    payer: str
    payer_org_id: int | None
    year: int
    budget_fen: int | None
    approved_fen: int
    paid_fen: int
    remaining_fen: int | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def budget_cny(self) -> Decimal | None:
        return _cny(self.budget_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def approved_cny(self) -> Decimal:
        return fen_to_cny(self.approved_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def paid_cny(self) -> Decimal:
        return fen_to_cny(self.paid_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def remaining_cny(self) -> Decimal | None:
        return _cny(self.remaining_fen)


class SubsidyBudgetsPublic(SQLModel):
    rule_id: str
    year: int
    data: list[SubsidyBudgetPublic]


class SubsidyLedgerEntryPublic(SQLModel):
    """A subsidy paid: from the payer's budget to the applying bank."""

    id: int
    application_id: int
    rule_id: str
    rule_version: int
    subsidy_key: str
    kind: str
    year: int
    payer_org_id: int
    payee_org_id: int
    loan_id: int
    amount_fen: int
    booked_on: date
    reference: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount_cny(self) -> Decimal:
        return fen_to_cny(self.amount_fen)


class SubsidyLedgerPage(Page):
    data: list[SubsidyLedgerEntryPublic]
