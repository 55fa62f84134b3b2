"""Pledge-loan tables: repayment terms, ledger lines, payments, collateral facts and
valuations, alerts, overdue-bucket history, disposals and each bank's pledge-rate policy.

The loan itself (status, version, amounts) is the core ``loan`` table; the rules live in
the pure ``pledge`` package. Money in integer fen (BIGINT), rates as ``Numeric``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, computed_field, field_validator, model_validator
from sqlalchemy import JSON, BigInteger, Index, Numeric, String
from sqlmodel import Field, SQLModel

from api.models.core import LoanPublic, Page, utcnow
from ipfin.money import fen_to_cny
from ipfin.validation import MoneyCNY
from pledge.disposal import DisposalMethod
from pledge.schedule import ScheduleType

MAX_AMOUNT_CNY = Decimal("1000000000000")
"""Largest CNY amount accepted as input (1 trillion): far above any pledge loan, far below BIGINT fen."""

MAX_DB_ID = 2**63 - 1
"""Largest id a BIGINT column can hold; larger ids are refused (422) instead of overflowing the driver."""


def _at_most_max_amount(v: Decimal) -> Decimal:
    if v > MAX_AMOUNT_CNY:
        raise ValueError(f"amount must be at most {MAX_AMOUNT_CNY:,} CNY")
    return v


Amount = Annotated[MoneyCNY, AfterValidator(_at_most_max_amount)]
"""A CNY input amount: finite, non-negative, at most 2 decimals, at most :data:`MAX_AMOUNT_CNY`."""

DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
"""An id of a stored row given in a request body."""


class RateKind(StrEnum):
    fixed = "fixed"
    lpr_spread = "lpr_spread"


# ---------------------------------------------------------------- terms


class PledgeLoanTerms(SQLModel, table=True):
    """Repayment terms of a loan beyond the core row, and the workflow facts the rules need."""

    __tablename__ = "pledge_loan_terms"
    loan_id: int = Field(foreign_key="loan.id", primary_key=True)
    rate_kind: str = Field(default="fixed", sa_type=String(12))
    lpr: Decimal | None = Field(default=None, sa_type=Numeric(9, 6), description="LPR, fraction")
    spread_bp: int = Field(default=0, description="spread over LPR, basis points")
    schedule_type: str = Field(default="equal_instalment", sa_type=String(20))
    months_per_period: int = Field(default=1)
    n_periods: int
    submitted_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    disbursed_on: date | None = None
    fees_charged_fen: int = Field(default=0, sa_type=BigInteger)
    fees_paid_fen: int = Field(default=0, sa_type=BigInteger)


class PledgeTermsUpdate(SQLModel):
    """Set the repayment terms of a draft loan (rate = fixed ``annual_rate`` or LPR + spread)."""

    rate_kind: RateKind = RateKind.fixed
    annual_rate: Decimal | None = Field(default=None, ge=0, lt=1, max_digits=9, decimal_places=6)
    lpr: Decimal | None = Field(default=None, ge=0, lt=1, max_digits=9, decimal_places=6)
    spread_bp: int = Field(default=0, ge=-1000, le=2000)
    schedule_type: ScheduleType = ScheduleType.EQUAL_INSTALMENT
    months_per_period: Literal[1, 2, 3, 6, 12] = 1
    n_periods: int | None = Field(default=None, ge=1, le=600)

    @model_validator(mode="after")
    def _rate_given(self) -> PledgeTermsUpdate:
        if self.rate_kind == RateKind.lpr_spread and self.lpr is None:
            raise ValueError("lpr: required when rate_kind is lpr_spread")
        if self.rate_kind == RateKind.fixed and self.annual_rate is None:
            raise ValueError("annual_rate: required when rate_kind is fixed")
        return self


class PledgeTermsPublic(SQLModel):
    loan_id: int
    rate_kind: str
    lpr: Decimal | None
    spread_bp: int
    annual_rate: Decimal
    schedule_type: str
    months_per_period: int
    n_periods: int
    submitted_by_user_id: int | None
    disbursed_on: date | None


# ---------------------------------------------------------------- ledger


class PledgeInstalment(SQLModel, table=True):
    """One line of a loan's current schedule with what has been paid against it."""

    __tablename__ = "pledge_instalment"
    __table_args__ = (Index("ix_pledge_instalment_loan_seq", "loan_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id")
    seq: int
    number: int
    kind: str = Field(default="scheduled", sa_type=String(20))
    period_start: date
    due_date: date
    days: int
    opening_balance_fen: int = Field(sa_type=BigInteger)
    principal_fen: int = Field(sa_type=BigInteger)
    interest_fen: int = Field(sa_type=BigInteger)
    principal_paid_fen: int = Field(default=0, sa_type=BigInteger)
    interest_paid_fen: int = Field(default=0, sa_type=BigInteger)


class InstalmentPublic(SQLModel):
    number: int
    kind: str
    period_start: date
    due_date: date
    days: int
    opening_balance_fen: int
    principal_fen: int
    interest_fen: int
    total_fen: int
    principal_paid_fen: int
    interest_paid_fen: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_cny(self) -> Decimal:
        return fen_to_cny(self.total_fen)


class SchedulePublic(SQLModel):
    loan_id: int
    projected: bool = Field(description="true when ipfin holds no ledger (before disbursement, or a loan disbursed "
                                 "outside the workflow): the schedule the terms give from origination")
    annual_rate: Decimal
    schedule_type: str
    principal_fen: int
    total_interest_fen: int
    principal_outstanding_fen: int
    data: list[InstalmentPublic]


class PledgePayment(SQLModel, table=True):
    """A borrower payment and how it was applied (parts sum to ``amount_fen``)."""

    __tablename__ = "pledge_payment"
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    paid_on: date
    amount_fen: int = Field(sa_type=BigInteger)
    fees_fen: int = Field(default=0, sa_type=BigInteger)
    interest_fen: int = Field(default=0, sa_type=BigInteger)
    principal_fen: int = Field(default=0, sa_type=BigInteger)
    accrued_interest_fen: int = Field(default=0, sa_type=BigInteger)
    prepaid_principal_fen: int = Field(default=0, sa_type=BigInteger)
    unapplied_fen: int = Field(default=0, sa_type=BigInteger)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class PaymentCreate(SQLModel):
    amount_cny: Amount
    paid_on: date
    allow_prepayment: bool = True

    @field_validator("amount_cny")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("payment amount must be positive")
        return v


class PaymentPublic(SQLModel):
    id: int
    loan_id: int
    paid_on: date
    amount_fen: int
    fees_fen: int
    interest_fen: int
    principal_fen: int
    accrued_interest_fen: int
    prepaid_principal_fen: int
    unapplied_fen: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount_cny(self) -> Decimal:
        return fen_to_cny(self.amount_fen)


class PaymentsPage(Page):
    data: list[PaymentPublic]


class ChargeCreate(SQLModel):
    """A charge to the borrower: a fee of a given amount, or penalty interest (罚息) computed as of a date."""

    kind: Literal["fee", "penalty_interest"]
    amount_cny: Amount | None = None
    as_of: date | None = None
    multiplier: Decimal = Field(default=Decimal("1.5"), ge=1, le=3, max_digits=4, decimal_places=2)
    description: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _amount(self) -> ChargeCreate:
        if self.kind == "fee" and (self.amount_cny is None or self.amount_cny <= 0):
            raise ValueError("amount_cny: a positive amount is required for a fee")
        if self.kind == "penalty_interest" and self.as_of is None:
            raise ValueError("as_of: required to compute penalty interest")
        return self


class ChargePublic(SQLModel):
    loan_id: int
    kind: str
    amount_fen: int
    fees_outstanding_fen: int


# ---------------------------------------------------------------- transitions


class TransitionRequest(SQLModel):
    action: str = Field(min_length=1, max_length=40)
    on: date | None = Field(default=None, description="business date of the move (default today)")
    expected_version: int | None = Field(default=None, description="the loan version the caller saw (409 if stale)")
    comment: str | None = Field(default=None, max_length=500)
    pledge_registration_number: str | None = Field(default=None, max_length=40)


class TransitionPublic(SQLModel):
    """The loan after the move and the audit event written with it."""

    loan: LoanPublic
    event: dict[str, Any]


class AllowedActionsPublic(SQLModel):
    loan_id: int
    status: str
    version: int
    allowed_actions: list[str]


class IneligibilityPublic(SQLModel):
    asset_id: str | None
    reason: str
    message: str


class EligibilityPublic(SQLModel):
    loan_id: int
    on: date
    eligible: bool
    reasons: list[IneligibilityPublic]


# ---------------------------------------------------------------- collateral facts and valuations


class PledgeIPFacts(SQLModel, table=True):
    """Legal facts of an IP asset that pledge eligibility and monitoring need."""

    __tablename__ = "pledge_ip_facts"
    ip_asset_id: int = Field(foreign_key="ip_asset.id", primary_key=True)
    expiry_date: date | None = None
    registered_owners: list[str] | None = Field(default=None, sa_type=JSON)
    consenting_co_owners: list[str] | None = Field(default=None, sa_type=JSON)
    dispute: bool = False
    preservation: bool = False


class PledgeIPFactsUpdate(SQLModel):
    expiry_date: date | None = None
    registered_owners: list[str] | None = Field(default=None, description="credit codes of all right holders")
    consenting_co_owners: list[str] = Field(default_factory=list)
    dispute: bool = False
    preservation: bool = False


class PledgeIPFactsPublic(PledgeIPFactsUpdate):
    ip_asset_id: int


class ValuationSource(StrEnum):
    valuation = "valuation"  # a stored valuation of ipfin's valuation engine
    appraiser = "appraiser"  # an external appraiser's report


class CollateralValuation(SQLModel, table=True):
    """A value of one IP asset the bank relies on (latest per asset counts)."""

    __tablename__ = "pledge_collateral_valuation"
    __table_args__ = (Index("ix_pledge_valuation_asset_date", "ip_asset_id", "valuation_date"),)
    id: int | None = Field(default=None, primary_key=True)
    ip_asset_id: int = Field(foreign_key="ip_asset.id")
    value_fen: int = Field(sa_type=BigInteger)
    p5_fen: int | None = Field(default=None, sa_type=BigInteger)
    score: Decimal | None = Field(default=None, sa_type=Numeric(6, 2))
    valuation_date: date
    source: str = Field(sa_type=String(12))
    valuation_id: int | None = Field(default=None, description="id of the stored valuation, if source=valuation")
    report_reference: str | None = Field(default=None, max_length=100)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class CollateralValuationCreate(SQLModel):
    """A value to lend against: a stored valuation of ipfin's engine (``valuation_id``; value,
    P5 and date are taken from it) or an external appraiser's report (value, date and reference)."""

    source: ValuationSource
    value_cny: Amount | None = None
    p5_cny: Amount | None = None
    score: Decimal | None = Field(default=None, ge=0, le=100, max_digits=6, decimal_places=2)
    valuation_date: date | None = None
    valuation_id: DbId | None = None
    report_reference: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _reference(self) -> CollateralValuationCreate:
        if self.source == ValuationSource.valuation and self.valuation_id is None:
            raise ValueError("valuation_id: required when source is valuation")
        if self.source == ValuationSource.appraiser:
            if not self.report_reference:
                raise ValueError("report_reference: required when source is appraiser")
            if self.value_cny is None:
                raise ValueError("value_cny: required when source is appraiser")
            if self.valuation_date is None:
                raise ValueError("valuation_date: required when source is appraiser")
        if self.valuation_date is not None and self.valuation_date > date.today():
            raise ValueError("valuation_date: must not be in the future")
        if self.value_cny is not None and self.p5_cny is not None and self.p5_cny > self.value_cny:
            raise ValueError("p5_cny: the 5th percentile must not exceed the appraised value_cny")
        return self


class CollateralValuationPublic(SQLModel):
    id: int
    ip_asset_id: int
    value_fen: int
    p5_fen: int | None
    score: Decimal | None
    valuation_date: date
    source: str
    valuation_id: int | None
    report_reference: str | None


# ---------------------------------------------------------------- policy and max loan


class PledgePolicyRow(SQLModel, table=True):
    """A bank's pledge-rate policy (``pledge.policy.PledgePolicy`` as JSON)."""

    __tablename__ = "pledge_policy"
    org_id: int = Field(foreign_key="organisation.id", primary_key=True)
    policy: dict[str, Any] = Field(sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow)


class MaxLoanAsset(SQLModel):
    asset_id: str = Field(min_length=1, max_length=60)
    ip_type: str
    score: Decimal = Field(ge=0, le=100)
    value_cny: Amount
    p5_cny: Amount | None = None

    @model_validator(mode="after")
    def _p5_below_value(self) -> MaxLoanAsset:
        if self.p5_cny is not None and self.p5_cny > self.value_cny:
            raise ValueError("p5_cny: the 5th percentile must not exceed the appraised value_cny")
        return self


class MaxLoanRequest(SQLModel):
    """A collateral set given directly, or the ids of stored IP assets (their latest valuations)."""

    collateral: list[MaxLoanAsset] = Field(default_factory=list)
    ip_asset_ids: list[DbId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> MaxLoanRequest:
        if not self.collateral and not self.ip_asset_ids:
            raise ValueError("collateral: give the collateral set or ip_asset_ids")
        return self


# ---------------------------------------------------------------- monitoring


class PledgeAlert(SQLModel, table=True):
    __tablename__ = "pledge_alert"
    __table_args__ = (Index("ix_pledge_alert_loan_code", "loan_id", "code", "as_of"),)
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id")
    ip_asset_id: int | None = Field(default=None, foreign_key="ip_asset.id")
    code: str = Field(sa_type=String(40))
    severity: str = Field(sa_type=String(10))
    message: str = Field(max_length=500)
    as_of: date = Field(index=True)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)


class AlertPublic(SQLModel):
    id: int
    loan_id: int
    ip_asset_id: int | None
    code: str
    severity: str
    message: str
    as_of: date
    data: dict[str, Any] | None


class AlertsPage(Page):
    data: list[AlertPublic]


class BucketHistory(SQLModel, table=True):
    """The overdue bucket and five-class category of a loan at each monitoring run."""

    __tablename__ = "pledge_bucket_history"
    __table_args__ = (Index("ix_pledge_bucket_loan_asof", "loan_id", "as_of"),)
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id")
    as_of: date
    days_overdue: int
    bucket_index: int
    bucket_label: str = Field(max_length=20)
    loan_class: str = Field(sa_type=String(20))


class MonitoringRequest(SQLModel):
    as_of: date | None = None
    background: bool = Field(default=False, description="run as a background job: 202 with a job id to poll "
                                                         "at /api/v1/jobs/{id} (for large loan books)")


class MonitoringQueued(SQLModel):
    job_id: str


class MonitoringSummary(SQLModel):
    as_of: date
    loans_checked: int
    alerts_created: int
    moved_to_overdue: list[int]
    cured: list[int]


# ---------------------------------------------------------------- disposal


class CashItemIn(SQLModel):
    on: date
    amount_cny: Amount
    description: str = Field(default="", max_length=200)


class PledgeDisposal(SQLModel, table=True):
    __tablename__ = "pledge_disposal"
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    method: str = Field(sa_type=String(20))
    ip_asset_ids: list[int] = Field(sa_type=JSON)
    started_on: date
    completed_on: date | None = None
    counterparty: str | None = Field(default=None, max_length=200)
    proceeds: list[dict[str, Any]] = Field(sa_type=JSON, description="[{on, amount_fen, description}]")
    costs: list[dict[str, Any]] = Field(sa_type=JSON, description="[{on, amount_fen, description}]")
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class DisposalCreate(SQLModel):
    method: DisposalMethod
    ip_asset_ids: list[DbId] = Field(min_length=1)
    started_on: date
    completed_on: date | None = None
    counterparty: str | None = Field(default=None, max_length=200)
    proceeds: list[CashItemIn] = Field(default_factory=list)
    costs: list[CashItemIn] = Field(default_factory=list)


class DisposalPublic(SQLModel):
    id: int
    loan_id: int
    method: str
    ip_asset_ids: list[int]
    started_on: date
    completed_on: date | None
    counterparty: str | None
    proceeds: list[dict[str, Any]]
    costs: list[dict[str, Any]]


class DisposalSummary(SQLModel):
    loan_id: int
    claim_fen: int
    gross_proceeds_fen: int
    costs_fen: int
    net_recovery_fen: int
    net_loss_on_disposal_fen: int
    surplus_to_pledgor_fen: int
    shortfall_fen: int
    recovery_flows: list[dict[str, Any]]
    disposals: list[DisposalPublic]
