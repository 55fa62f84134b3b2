"""Pledge-loan request and response models: borrowers, IP assets, loans, terms, schedules,
payments, collateral, monitoring, disposals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import computed_field, field_validator, model_validator
from sqlmodel import Field, SQLModel

from api.core.schemas import Page
from api.pledge.models import (
    PATENT_TYPES,
    Amount,
    BorrowerBase,
    DbId,
    IPAssetBase,
    IPType,
    LoanBase,
    LoanStatus,
    RateKind,
    ValuationSource,
)
from ipfin.money import fen_to_cny
from ipfin.validation import (
    MoneyCNY,
    PastDate,
    check_patent_number,
    patent_kind,
)
from pledge.disposal import DisposalMethod
from pledge.eligibility import DATA_SOURCE_LEGALITY_FLAGS
from pledge.schedule import ScheduleType
from valuation.assets import NEW_COLLATERAL_TYPES, GIProtection, PlantGroup, legal_expiry
from valuation.assets import IPType as ValuationIPType
from valuation.request import name_the_field


class BorrowerCreate(BorrowerBase):
    pass


class BorrowerPublic(BorrowerBase):
    id: int
    owner_org_id: int


class IPAssetCreate(IPAssetBase):
    borrower_id: int

    @model_validator(mode="after")
    @name_the_field  # "identifier: …" → loc ["body", "identifier"]
    def _identifier_matches_type(self) -> IPAssetCreate:
        if self.ip_type in PATENT_TYPES:
            try:
                self.identifier = check_patent_number(self.identifier)
            except ValueError as exc:
                raise ValueError(f"identifier: {exc}") from exc
            kind = patent_kind(self.identifier)
            expected = {
                "invention": IPType.invention_patent,
                "utility_model": IPType.utility_model,
                "design": IPType.design,
            }[kind]
            if expected != self.ip_type:
                raise ValueError(f"identifier: application number is a {kind} number, not {self.ip_type.value}")
        if self.filing_date and self.grant_date and self.grant_date < self.filing_date:
            raise ValueError("grant_date: must not be before filing_date")
        return self

    # facts of the newer collateral types (issue 18): data IP, GI, IC layout design, plant variety
    creation_date: PastDate | None = None
    first_commercial_use_date: PastDate | None = None
    plant_group: PlantGroup | None = None
    gi_protection: GIProtection | None = None
    certificate_no: str | None = Field(default=None, min_length=1, max_length=80)
    registering_platform: str | None = Field(default=None, max_length=200)
    certificate_valid_until: date | None = None
    data_source_legality: dict[str, bool] | None = Field(
        default=None, description=f"data IP legality flags: {', '.join(DATA_SOURCE_LEGALITY_FLAGS)}")

    @model_validator(mode="after")
    @name_the_field
    def _new_type_facts(self) -> IPAssetCreate:
        unknown = sorted(set(self.data_source_legality or {}) - set(DATA_SOURCE_LEGALITY_FLAGS))
        if unknown:
            raise ValueError(f"data_source_legality: unknown flag(s) {unknown}; known: "
                             f"{', '.join(DATA_SOURCE_LEGALITY_FLAGS)}")
        if self.ip_type.value in {t.value for t in NEW_COLLATERAL_TYPES}:
            try:  # inconsistent dates are refused; missing ones are left to eligibility (expiry_unknown)
                legal_expiry(ValuationIPType(self.ip_type.value), filing_date=self.filing_date,
                             registration_date=self.grant_date, grant_date=self.grant_date,
                             creation_date=self.creation_date, first_commercial_use_date=self.first_commercial_use_date,
                             plant_group=self.plant_group, gi_protection=self.gi_protection,
                             certificate_valid_until=self.certificate_valid_until)
            except ValueError as exc:
                if " is required for " not in str(exc):
                    raise
        return self


class IPAssetPublic(IPAssetBase):
    id: int
    borrower_id: int
    owner_org_id: int
    creation_date: date | None = None
    first_commercial_use_date: date | None = None
    plant_group: str | None = None
    gi_protection: str | None = None
    certificate_no: str | None = None
    registering_platform: str | None = None
    certificate_valid_until: date | None = None
    data_source_legality: dict[str, bool] | None = None


class LoanCreate(LoanBase):
    amount_cny: MoneyCNY
    annual_rate: Decimal = Field(ge=0, lt=1, max_digits=9, decimal_places=6, description="fraction, 4.35% = 0.0435")
    guarantee_fee_rate: Decimal | None = Field(default=None, ge=0, lt=1, max_digits=9, decimal_places=6)
    appraisal_fee_cny: MoneyCNY | None = Field(
        default=None, description="评估费: the collateral appraisal fee the borrower paid at origination, CNY "
        "(the base of an appraisal-fee subsidy)")
    collateral_ip_asset_ids: list[int] = Field(min_length=1, description="IP assets pledged for this loan")

    @field_validator("amount_cny")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("loan amount must be positive")
        return v

    @field_validator("appraisal_fee_cny")
    @classmethod
    def _fee_not_negative(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and v < 0:
            raise ValueError("appraisal fee must not be negative")
        return v

    @model_validator(mode="after")
    def _dates(self) -> LoanCreate:
        if self.maturity_date <= self.origination_date:
            raise ValueError("maturity_date: must be after origination_date")
        return self


class LoanPublic(LoanBase):
    id: int
    reference: str
    bank_org_id: int
    amount_fen: int
    outstanding_fen: int
    currency: str
    annual_rate: Decimal
    guarantee_fee_rate: Decimal | None
    appraisal_fee_fen: int | None = None
    term_months: int
    status: LoanStatus
    region_code: str
    province_code: str
    industry: str
    primary_ip_type: IPType
    ip_types: str
    days_past_due: int
    default_date: date | None
    version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount_cny(self) -> Decimal:
        return fen_to_cny(self.amount_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def outstanding_cny(self) -> Decimal:
        return fen_to_cny(self.outstanding_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def appraisal_fee_cny(self) -> Decimal | None:
        return None if self.appraisal_fee_fen is None else fen_to_cny(self.appraisal_fee_fen)


class LoansPage(Page):
    data: list[LoanPublic]


class BorrowersPage(Page):
    data: list[BorrowerPublic]


class IPAssetsPage(Page):
    data: list[IPAssetPublic]


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
    beyond_calendar_horizon: bool = Field(default=False, description="due date after the last year with a published "
                                          "State Council holiday notice (holidays estimated, 调休 unknown)")

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


class PaymentCreate(SQLModel):
    amount_cny: Amount
    paid_on: date
    allow_prepayment: bool = True
    prepayment_mode: Literal["keep_term", "shorten_term"] = Field(
        default="keep_term", description="提前还款: keep_term lowers the instalments, shorten_term keeps the "
                                         "instalment and shortens the term")

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


class PledgeIPFactsUpdate(SQLModel):
    expiry_date: date | None = None
    registered_owners: list[str] | None = Field(default=None, description="credit codes of all right holders")
    consenting_co_owners: list[str] = Field(default_factory=list)
    dispute: bool = False
    preservation: bool = False


class PledgeIPFactsPublic(PledgeIPFactsUpdate):
    ip_asset_id: int


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


class CashItemIn(SQLModel):
    on: date
    amount_cny: Amount
    description: str = Field(default="", max_length=200)


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
