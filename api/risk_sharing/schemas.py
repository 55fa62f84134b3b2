"""Risk sharing request and response models (Create/Update/Public)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import computed_field
from sqlmodel import Field, SQLModel

from api.core.schemas import Page
from api.risk_sharing.models import DocumentName, MoneyCNY
from ipfin.money import fen_to_cny
from ipfin.validation import IndustrySection
from risk_sharing.rules import FirmSize, NPLClass


class RiskRulePublic(SQLModel):
    id: int
    rule_id: str
    version: int
    name: str
    effective_from: date
    effective_to: date | None
    definition: dict[str, Any]
    created_at: datetime


class RiskRulesPage(Page):
    data: list[RiskRulePublic]


class SchemeStateUpdate(SQLModel):
    covered_loans_cny: MoneyCNY | None = None
    covered_loans_from_book: bool | None = None
    party_balance_cny: dict[str, MoneyCNY] | None = None


class SchemeStatePublic(SQLModel):
    rule_id: str
    covered_loans_fen: int | None
    covered_loans_from_book: bool
    covered_loans_book_fen: int | None = None
    covered_loans_total_fen: int | None = None
    party_balance_fen: dict[str, Any]
    headroom_fen: dict[str, int] = {}


class SimulateRequest(SQLModel):
    loss_cny: MoneyCNY
    apply_per_loan_caps: bool = True


class PartyAmountPublic(SQLModel):
    key: str
    role: str
    share: Decimal
    nominal_fen: int
    payable_fen: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def payable_cny(self) -> Decimal:
        return fen_to_cny(self.payable_fen)


class SimulationPublic(SQLModel):
    rule_id: str
    rule_version: int
    loss_fen: int
    loss_base_fen: int
    uncounted_loss_fen: int
    parties: list[PartyAmountPublic]


class ExternalLoan(SQLModel):
    """A loan imported from outside ipfin (not in the loan table)."""

    reference: str = Field(min_length=1, max_length=60)
    borrower_ref: str = Field(min_length=1, max_length=60)
    lender_ref: str = Field(default="", max_length=60)
    origination_date: date
    principal_cny: MoneyCNY
    borrower_total_loans_cny: MoneyCNY | None = None
    guarantee_fee_rate: Decimal | None = Field(default=None, ge=0, lt=1, max_digits=9, decimal_places=6)
    guaranteed: bool = False
    firm_size: FirmSize | None = None
    firm_tier: str | None = Field(default=None, max_length=40)
    sector: IndustrySection | None = None
    years_registered: Decimal | None = Field(default=None, ge=0, max_digits=6, decimal_places=2)
    ip_pledged_share: Decimal | None = Field(default=None, ge=0, le=1, max_digits=7, decimal_places=6)


class ClaimCreate(SQLModel):
    """File a claim: ``loan_id`` of an ipfin loan or an ``external_loan``, and the rule family.

    For an ipfin loan the loan must be in default (states default, in_claim, in_disposal,
    recovered, written_off: the pledge workflow's 违约 and after); ``default_date`` and
    ``outstanding_principal_cny`` default to the loan's own default date and outstanding
    principal, and a ``default_date`` that contradicts the loan's is refused. For an
    external loan both are required.
    """

    rule_id: str = Field(min_length=1, max_length=80)
    loan_id: int | None = None
    external_loan: ExternalLoan | None = None
    default_date: date | None = Field(default=None, description="required for external loans")
    filed_on: date | None = Field(default=None, description="defaults to today")
    outstanding_principal_cny: MoneyCNY | None = Field(default=None, description="required for external loans")
    outstanding_interest_cny: MoneyCNY = Decimal(0)
    recoveries_so_far_cny: MoneyCNY = Decimal(0)
    npl_class: NPLClass | None = None
    classified_on: date | None = None
    documents: list[DocumentName] = Field(default_factory=list, max_length=100)
    party_orgs: dict[str, int] = Field(default_factory=dict, description="party key → paying organisation id")
    ip_pledged_share: Decimal | None = Field(
        default=None, ge=0, le=1, max_digits=7, decimal_places=6, description="for ipfin loans; default 1"
    )
    firm_tier: str | None = Field(default=None, max_length=40)
    borrower_total_loans_cny: MoneyCNY | None = None


class ClaimPartyPublic(SQLModel):
    """A party's share and where it stands (every party of the claim sees every share)."""

    party_key: str
    role: str
    org_id: int | None
    nominal_fen: int | None
    payable_fen: int | None
    status: str
    proposed_by_user_id: int | None = None
    approved_by_user_id: int | None = None
    approved_on: date | None = None
    paid_by_user_id: int | None = None
    paid_on: date | None = None
    payment_reference: str | None = None
    declined_by_user_id: int | None = None
    decline_reason: str | None = None
    version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def payable_cny(self) -> Decimal | None:
        return None if self.payable_fen is None else fen_to_cny(self.payable_fen)


class ClaimPublic(SQLModel):
    id: int
    rule_id: str
    rule_version: int
    loan_id: int | None
    loan_key: str
    default_date: date
    filed_on: date
    outstanding_principal_fen: int
    outstanding_interest_fen: int
    recoveries_so_far_fen: int
    npl_class: str | None
    classified_on: date | None
    documents: list[str]
    status: str
    eligible: bool | None
    loss_base_fen: int | None
    review: dict[str, Any] | None
    decision_note: str | None
    filed_by_org_id: int
    filed_by_user_id: int
    reviewed_by_user_id: int | None
    decided_by_user_id: int | None
    signed_on: date | None = None
    version: int
    parties: list[ClaimPartyPublic] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def outstanding_principal_cny(self) -> Decimal:
        return fen_to_cny(self.outstanding_principal_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def loss_base_cny(self) -> Decimal | None:
        return None if self.loss_base_fen is None else fen_to_cny(self.loss_base_fen)


class ClaimsPage(Page):
    data: list[ClaimPublic]


class ClaimDecision(SQLModel):
    note: str | None = Field(default=None, max_length=1000)


class SharePayment(SQLModel):
    """A party's payment of its approved share."""

    paid_on: date
    reference: str = Field(min_length=1, max_length=100, description="payment / transfer reference")


class ShareDecline(SQLModel):
    """A party formally declines its share."""

    reason: str = Field(min_length=1, max_length=1000)


class RuleChangeDecision(SQLModel):
    note: str | None = Field(default=None, max_length=1000)


class RiskRuleFamilyPublic(SQLModel):
    rule_id: str
    owner_org_id: int
    created_by_user_id: int | None
    created_at: datetime


class RiskRuleFamiliesPage(Page):
    data: list[RiskRuleFamilyPublic]


class RiskRuleChangePublic(SQLModel):
    """A proposed change to a rule family (new version or scheme state) and its decision."""

    id: int
    rule_id: str
    kind: str
    payload: dict[str, Any]
    status: str
    note: str | None
    proposed_by_user_id: int
    decided_by_user_id: int | None
    decision_note: str | None
    rule_row_id: int | None
    created_at: datetime
    decided_at: datetime | None


class RiskRuleChangesPage(Page):
    data: list[RiskRuleChangePublic]


class RecoveryCreate(SQLModel):
    """A recovery: typed amounts, or ``disposal_id`` of a pledge disposal of the claim's loan
    (``POST /loans/{id}/disposals``) whose proceeds, costs, date and method are then used."""

    claim_id: int
    disposal_id: int | None = None
    received_on: date | None = Field(default=None, description="required without disposal_id")
    gross_cny: MoneyCNY | None = Field(default=None, description="required without disposal_id")
    disposal_costs_cny: MoneyCNY | None = None
    method: str = Field(default="", max_length=40)


class RecoveryPublic(SQLModel):
    id: int
    claim_id: int
    disposal_id: int | None
    received_on: date
    method: str
    gross_fen: int
    disposal_costs_fen: int
    net_fen: int
    surplus_fen: int
    parts: dict[str, Any]


class RecoveriesPage(Page):
    data: list[RecoveryPublic]


class PartyBalancePublic(SQLModel):
    rule_id: str
    year: int | None
    party_key: str
    paid_fen: int
    recovered_fen: int
    net_fen: int


class LedgerPublic(SQLModel):
    balances: list[PartyBalancePublic]
