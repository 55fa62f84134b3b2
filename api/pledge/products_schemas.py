"""Request and response models of the lending-practice routes (issue 11): products, LPR, calendar,
repricing, restructuring, arrears accrual, IP registry changes and provisions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from api.pledge.models import LegalStatus
from pledge.conventions import InterestConvention
from pledge.schedule import ScheduleType

Rate = Decimal


class LoanProductCreate(SQLModel):
    """A loan product. Omitted settings are the common Chinese practice (monthly 等额本息 at annual/12,
    penalty rate +50 %, compound interest on overdue interest)."""

    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    active: bool = True
    rate_kind: Literal["fixed", "lpr_spread"] = "fixed"
    fixed_rate: Decimal | None = Field(default=None, ge=0, lt=1, max_digits=9, decimal_places=6)
    lpr_tenor: Literal["1Y", "5Y"] = "1Y"
    spread_bp: int = Field(default=0, ge=-1000, le=2000)
    reset_rule: Literal["anniversary", "january_1"] = "anniversary"
    convention: InterestConvention | None = Field(default=None, description="None: monthly_360 for instalment "
                                                  "types, act_360 for interest-only (银发〔1999〕77号)")
    schedule_types: list[ScheduleType] = Field(default=[ScheduleType.EQUAL_INSTALMENT], min_length=1)
    months_per_period: Literal[1, 2, 3, 6, 12] = 1
    grace_months: int = Field(default=0, ge=0, le=60)
    upfront_fee_rate: Decimal = Field(default=Decimal(0), ge=0, lt=Decimal("0.1"), max_digits=9, decimal_places=6)  # type: ignore[call-overload]
    penalty_multiplier: Decimal = Field(default=Decimal("1.5"), ge=Decimal("1.3"), le=Decimal("1.5"), max_digits=6,
                                        decimal_places=4, description="penalty ÷ contract rate (银发〔2003〕251号)")  # type: ignore[call-overload]
    arrears_grace_days: int = Field(default=0, ge=0, le=30)
    arrears_grace_basis: Literal["business", "calendar"] = "business"
    compound_interest: bool = True
    max_pledge_rate: Decimal | None = Field(default=None, gt=0, le=1, max_digits=6, decimal_places=4)

    @model_validator(mode="after")
    def _consistent(self) -> LoanProductCreate:
        if self.rate_kind == "fixed" and self.fixed_rate is None:
            raise ValueError("fixed_rate: required when rate_kind is fixed")
        if self.grace_months % self.months_per_period:
            raise ValueError("grace_months: must be a multiple of months_per_period")
        return self


class LoanProductUpdate(SQLModel):
    """Change some settings of a product; ``expected_version`` guards against a concurrent change."""

    expected_version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None
    fixed_rate: Decimal | None = Field(default=None, ge=0, lt=1, max_digits=9, decimal_places=6)
    spread_bp: int | None = Field(default=None, ge=-1000, le=2000)
    reset_rule: Literal["anniversary", "january_1"] | None = None
    convention: InterestConvention | None = None
    schedule_types: list[ScheduleType] | None = Field(default=None, min_length=1)
    grace_months: int | None = Field(default=None, ge=0, le=60)
    upfront_fee_rate: Decimal | None = Field(default=None, ge=0, lt=Decimal("0.1"), max_digits=9, decimal_places=6)  # type: ignore[call-overload]
    penalty_multiplier: Decimal | None = Field(default=None, ge=Decimal("1.3"), le=Decimal("1.5"), max_digits=6,
                                               decimal_places=4)  # type: ignore[call-overload]
    arrears_grace_days: int | None = Field(default=None, ge=0, le=30)
    compound_interest: bool | None = None
    max_pledge_rate: Decimal | None = Field(default=None, gt=0, le=1, max_digits=6, decimal_places=4)


class LoanProductPublic(SQLModel):
    id: int
    org_id: int
    code: str
    name: str
    version: int
    active: bool
    rate_kind: str
    fixed_rate: Decimal | None
    lpr_tenor: str
    spread_bp: int
    reset_rule: str
    convention: str | None
    schedule_types: list[str]
    months_per_period: int
    grace_months: int
    upfront_fee_rate: Decimal
    penalty_multiplier: Decimal
    arrears_grace_days: int
    arrears_grace_basis: str
    compound_interest: bool
    max_pledge_rate: Decimal | None
    updated_at: datetime


class ApplyProductRequest(SQLModel):
    product_id: int = Field(ge=1, le=2**63 - 1)
    schedule_type: ScheduleType | None = Field(default=None, description="one of the product's; default its first")


class LendingTermsPublic(SQLModel):
    loan_id: int
    product_id: int | None
    product_version: int | None
    convention: str
    grace_months: int
    lpr_tenor: str
    reset_rule: str
    penalty_multiplier: Decimal
    arrears_grace_days: int
    arrears_grace_basis: str
    compound_interest: bool
    annual_rate_now: Decimal | None
    rate_history: list[list[str]] | None
    anchor_date: date | None
    arrears_accrued_to: date | None


class LprFixingCreate(SQLModel):
    effective_date: date
    tenor: Literal["1Y", "5Y"]
    rate: Decimal = Field(ge=0, lt=Decimal("0.2"), max_digits=9, decimal_places=6, description="fraction: 3.0% = 0.03")  # type: ignore[call-overload]
    note: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _reformed(self) -> LprFixingCreate:
        if self.effective_date < date(2019, 8, 20):
            raise ValueError("effective_date: the reformed LPR starts on 2019-08-20")
        if self.effective_date > date.today():
            raise ValueError("effective_date: must not be in the future (enter a fixing once published)")
        return self


class LprFixingPublic(SQLModel):
    effective_date: date
    tenor: str
    rate: Decimal
    source: Literal["shipped", "admin"]


class CalendarOverrideIn(SQLModel):
    kind: Literal["working", "holiday"]
    note: str = Field(min_length=1, max_length=300, description="the notice it comes from, e.g. 国办发明电〔2026〕…")


class CalendarOverridePublic(SQLModel):
    day: date
    kind: Literal["working", "holiday"]
    note: str


class CalendarYearPublic(SQLModel):
    year: int
    holidays: list[date]
    working_weekends: list[date]
    published_horizon: int
    beyond_horizon: bool
    warning: str | None
    overrides: list[CalendarOverridePublic]


class OnRequest(SQLModel):
    on: date | None = Field(default=None, description="default: today")


class RestructureCreate(SQLModel):
    """A term extension (展期: ``extra_periods`` after maturity) or a rescheduling (``n_periods`` from ``on``)."""

    kind: Literal["extend", "reschedule"]
    on: date
    extra_periods: int | None = Field(default=None, ge=1, le=360)
    n_periods: int | None = Field(default=None, ge=1, le=600)
    months_per_period: Literal[1, 2, 3, 6, 12] | None = None
    schedule_type: ScheduleType | None = None
    annual_rate: Decimal | None = Field(default=None, ge=0, lt=1, max_digits=9, decimal_places=6)
    grace_periods: int = Field(default=0, ge=0, le=60)
    comment: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _kind(self) -> RestructureCreate:
        if self.kind == "extend" and self.extra_periods is None:
            raise ValueError("extra_periods: required for an extension")
        if self.kind == "reschedule" and self.n_periods is None:
            raise ValueError("n_periods: required for a rescheduling")
        return self


class RestructureDecision(SQLModel):
    comment: str | None = Field(default=None, max_length=500)


class RestructurePublic(SQLModel):
    id: int
    loan_id: int
    kind: str
    on: date
    params: dict[str, Any]
    status: str
    loan_version: int
    proposed_by_user_id: int
    decided_by_user_id: int | None
    decided_at: datetime | None
    comment: str | None


class AccrualRequest(SQLModel):
    as_of: date | None = Field(default=None, description="default: today")


class TransferIn(SQLModel):
    on: date
    assignee: str = Field(min_length=1, max_length=200)
    pledgee_consent: bool = False


class LicenceIn(SQLModel):
    on: date
    licensee: str = Field(min_length=1, max_length=200)
    licence_kind: Literal["exclusive", "sole", "non_exclusive"] = "non_exclusive"
    pledgee_consent: bool = False


class InvalidationIn(SQLModel):
    filed_on: date
    petitioner: str = Field(min_length=1, max_length=200)


class IPAssetPatch(SQLModel):
    """Registry facts that changed; ``expected_version`` is the version last read (optimistic locking)."""

    expected_version: int = Field(ge=1)
    annual_fee_paid_until: date | None = None
    legal_status: LegalStatus | None = None
    invalidation_request: InvalidationIn | None = None
    transfer: TransferIn | None = None
    licence: LicenceIn | None = None

    @model_validator(mode="after")
    def _dates(self) -> IPAssetPatch:
        today = date.today()
        inv = self.invalidation_request
        for name, d in (("transfer.on", self.transfer and self.transfer.on),
                        ("licence.on", self.licence and self.licence.on),
                        ("invalidation_request.filed_on", inv and inv.filed_on)):
            if d and d > today:
                raise ValueError(f"{name}: must not be in the future")
        return self


class IPRegistryPublic(SQLModel):
    ip_asset_id: int
    version: int
    legal_status: str
    annual_fee_paid_until: date | None
    events: list[dict[str, Any]]
    alerts_raised: list[dict[str, Any]] = []


class ProvisionRatesIn(SQLModel):
    normal: Decimal = Field(default=Decimal(0), ge=0, le=1, max_digits=6, decimal_places=4)
    special_mention: Decimal = Field(default=Decimal("0.02"), ge=0, le=1, max_digits=6, decimal_places=4)
    substandard: Decimal = Field(default=Decimal("0.25"), ge=0, le=1, max_digits=6, decimal_places=4)
    doubtful: Decimal = Field(default=Decimal("0.5"), ge=0, le=1, max_digits=6, decimal_places=4)
    loss: Decimal = Field(default=Decimal(1), ge=0, le=1, max_digits=6, decimal_places=4)
    general_reserve_rate: Decimal = Field(default=Decimal("0.01"), ge=0, le=1, max_digits=6, decimal_places=4)


class ProvisionClassPublic(SQLModel):
    loan_class: str
    label_zh: str
    count: int
    outstanding_fen: int
    rate: Decimal
    provision_fen: int


class ProvisionsPublic(SQLModel):
    as_of: date
    classes: list[ProvisionClassPublic]
    outstanding_fen: int
    specific_provision_fen: int
    general_reserve_fen: int
    npl_fen: int
    provision_coverage: Decimal | None
    rates: dict[str, Decimal]
    guideline_deviations: list[str]
