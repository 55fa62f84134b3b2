"""Core tables every domain builds on: organisations, users, borrowers, IP assets, loans,
collateral links and the append-only audit log.

Pattern: ``XBase`` (shared fields) → ``X`` (table) / ``XCreate`` (input) / ``XPublic``
(output), as in SQLModel's docs and the FastAPI full-stack template. Money is stored in
integer fen (BIGINT) and shown as CNY ``Decimal`` with two decimals.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import computed_field, field_validator, model_validator
from sqlalchemy import JSON, BigInteger, Index, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from ipfin.money import fen_to_cny
from ipfin.validation import (
    CreditCode,
    IndustrySection,
    MoneyCNY,
    PastDate,
    RegionCode,
    check_patent_number,
    patent_kind,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class OrgKind(StrEnum):
    """What an organisation is in IP finance."""

    bank = "bank"
    guarantor = "guarantor"  # 融资担保机构
    reguarantor = "reguarantor"  # 再担保机构
    fund = "fund"  # 国家融资担保基金 / 风险补偿基金
    bureau = "bureau"  # 知识产权局
    admin = "admin"


class UserRole(StrEnum):
    """A user's role inside their organisation: makers prepare, approvers check (maker-checker)."""

    officer = "officer"
    approver = "approver"
    viewer = "viewer"


class SizeClass(StrEnum):
    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"


class IPType(StrEnum):
    invention_patent = "invention_patent"  # 发明专利
    utility_model = "utility_model"  # 实用新型
    design = "design"  # 外观设计
    trademark = "trademark"  # 商标
    copyright = "copyright"  # 著作权
    software_copyright = "software_copyright"  # 软件著作权


PATENT_TYPES = {IPType.invention_patent, IPType.utility_model, IPType.design}


class LegalStatus(StrEnum):
    pending = "pending"
    granted = "granted"
    lapsed = "lapsed"  # annual fee unpaid
    invalidated = "invalidated"
    expired = "expired"


class LoanStatus(StrEnum):
    """Pledge-loan lifecycle states (the allowed moves live in ``pledge.states``)."""

    draft = "draft"
    submitted = "submitted"
    under_review = "under_review"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"
    pledge_registered = "pledge_registered"
    active = "active"
    settled = "settled"
    overdue = "overdue"
    default = "default"
    in_claim = "in_claim"
    in_disposal = "in_disposal"
    recovered = "recovered"
    written_off = "written_off"
    closed = "closed"


# ---------------------------------------------------------------- organisation


class OrganisationBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind = Field(sa_type=String(20))
    region_code: RegionCode | None = Field(default=None, max_length=6)


class Organisation(OrganisationBase, table=True):
    __tablename__ = "organisation"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class OrganisationCreate(OrganisationBase):
    pass


class OrganisationPublic(OrganisationBase):
    id: int


# ---------------------------------------------------------------- user


class UserBase(SQLModel):
    email: str = Field(max_length=255, regex=r"^[^@\s]+@[^@\s]+\.[A-Za-z0-9-]+$")
    full_name: str | None = Field(default=None, max_length=200)
    role: UserRole = Field(default=UserRole.officer, sa_type=String(20))
    is_active: bool = True


class User(UserBase, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=255, sa_column_kwargs={"unique": True}, index=True)
    hashed_password: str
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class UserCreate(UserBase):
    password: str = Field(min_length=10, max_length=128)
    organisation_id: int


class UserPublic(UserBase):
    id: int
    organisation_id: int


class UserMe(UserPublic):
    organisation: OrganisationPublic


class UserPasswordUpdate(SQLModel):
    current_password: str
    new_password: str = Field(min_length=10, max_length=128)


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


# ---------------------------------------------------------------- borrower


class BorrowerBase(SQLModel):
    """An enterprise borrowing against its IP (出质人)."""

    name: str = Field(min_length=1, max_length=200)
    credit_code: CreditCode = Field(max_length=18, description="统一社会信用代码 (GB 32100-2015)")
    region_code: RegionCode = Field(max_length=6, description="GB/T 2260 region")
    industry: IndustrySection = Field(max_length=1, description="GB/T 4754-2017 section A-T")
    size_class: SizeClass = Field(default=SizeClass.small, sa_type=String(10))
    registered_on: PastDate | None = Field(default=None, description="date of business registration")


class Borrower(BorrowerBase, table=True):
    __tablename__ = "borrower"
    __table_args__ = (UniqueConstraint("owner_org_id", "credit_code", name="uq_borrower_org_credit_code"),)
    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(max_length=18, index=True)
    region_code: str = Field(max_length=6)
    industry: str = Field(max_length=1)
    registered_on: date | None = None
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class BorrowerCreate(BorrowerBase):
    pass


class BorrowerPublic(BorrowerBase):
    id: int
    owner_org_id: int


# ---------------------------------------------------------------- IP asset


class IPAssetBase(SQLModel):
    """A patent, trademark or copyright that can be pledged (质物)."""

    ip_type: IPType = Field(sa_type=String(24))
    identifier: str = Field(
        min_length=1, max_length=40, description="patent application number, trademark or copyright registration no."
    )
    title: str = Field(min_length=1, max_length=300)
    filing_date: PastDate | None = None
    grant_date: PastDate | None = None
    legal_status: LegalStatus = Field(default=LegalStatus.granted, sa_type=String(20))
    annual_fee_paid_until: date | None = None


class IPAsset(IPAssetBase, table=True):
    __tablename__ = "ip_asset"
    __table_args__ = (UniqueConstraint("owner_org_id", "ip_type", "identifier", name="uq_ip_asset_identifier"),)
    id: int | None = Field(default=None, primary_key=True)
    borrower_id: int = Field(foreign_key="borrower.id", index=True)
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class IPAssetCreate(IPAssetBase):
    borrower_id: int

    @model_validator(mode="after")
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


class IPAssetPublic(IPAssetBase):
    id: int
    borrower_id: int
    owner_org_id: int


# ---------------------------------------------------------------- loan


class LoanBase(SQLModel):
    """An IP pledge loan (知识产权质押贷款)."""

    borrower_id: int
    guarantor_org_id: int | None = Field(default=None, description="financing guarantee agency, if guaranteed")
    origination_date: date
    maturity_date: date
    purpose: str | None = Field(default=None, max_length=300)


class Loan(LoanBase, table=True):
    __tablename__ = "loan"
    __table_args__ = (
        Index("ix_loan_orig_province", "origination_date", "province_code"),
        Index("ix_loan_bank_status", "bank_org_id", "status"),
        Index("ix_loan_status_orig", "status", "origination_date"),
        Index("ix_loan_industry_orig", "industry", "origination_date"),
        Index("ix_loan_iptype_orig", "primary_ip_type", "origination_date"),
        # covering index for the bureau aggregates (api/stats.py): GROUP BY without touching the table
        Index(
            "ix_loan_stats",
            "origination_date",
            "status",
            "province_code",
            "region_code",
            "industry",
            "primary_ip_type",
            "bank_org_id",
            "borrower_id",
            "amount_fen",
            "outstanding_fen",
            "days_past_due",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    bank_org_id: int = Field(foreign_key="organisation.id")
    borrower_id: int = Field(foreign_key="borrower.id", index=True)
    guarantor_org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger, description="principal, fen")
    outstanding_fen: int = Field(sa_type=BigInteger, description="outstanding principal, fen")
    currency: str = Field(default="CNY", max_length=3)
    annual_rate: Decimal = Field(sa_type=Numeric(9, 6), description="annual interest rate, fraction")
    guarantee_fee_rate: Decimal | None = Field(default=None, sa_type=Numeric(9, 6), description="担保费率, fraction")
    term_months: int
    status: LoanStatus = Field(default=LoanStatus.draft, sa_type=String(20))
    region_code: str = Field(max_length=6, description="borrower's GB/T 2260 region (denormalised)")
    province_code: str = Field(max_length=6, description="province of region_code (denormalised)")
    industry: str = Field(max_length=1, description="GB/T 4754 section (denormalised)")
    primary_ip_type: IPType = Field(sa_type=String(24), description="main pledged IP type (denormalised)")
    ip_types: str = Field(default="", max_length=200, description="comma-separated pledged IP types")
    days_past_due: int = Field(default=0)
    default_date: date | None = None
    version: int = Field(default=1, description="optimistic-lock version, bumped on every change")
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LoanCreate(LoanBase):
    amount_cny: MoneyCNY
    annual_rate: Decimal = Field(ge=0, lt=1, max_digits=9, decimal_places=6, description="fraction, 4.35% = 0.0435")
    guarantee_fee_rate: Decimal | None = Field(default=None, ge=0, lt=1, max_digits=9, decimal_places=6)
    collateral_ip_asset_ids: list[int] = Field(min_length=1, description="IP assets pledged for this loan")

    @field_validator("amount_cny")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("loan amount must be positive")
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


class LoanCollateral(SQLModel, table=True):
    """One pledged IP asset of a loan, with its pledge registration (质押登记)."""

    __tablename__ = "loan_collateral"
    __table_args__ = (UniqueConstraint("loan_id", "ip_asset_id", name="uq_collateral_loan_asset"),)
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    ip_asset_id: int = Field(foreign_key="ip_asset.id", index=True)
    appraised_value_fen: int | None = Field(default=None, sa_type=BigInteger)
    pledge_registration_no: str | None = Field(default=None, max_length=40)
    pledge_registered_on: date | None = None
    pledge_status: str = Field(default="pending", max_length=20)


class Page(SQLModel):
    """One page of a list: the items and the total count matching the filter."""

    count: int
    offset: int
    limit: int


class LoansPage(Page):
    data: list[LoanPublic]


class BorrowersPage(Page):
    data: list[BorrowerPublic]


class IPAssetsPage(Page):
    data: list[IPAssetPublic]


# ---------------------------------------------------------------- audit


class AuditEvent(SQLModel, table=True):
    """Append-only record of every state change, written in the change's own transaction."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    entity: str = Field(max_length=60)
    entity_id: str = Field(max_length=60)
    action: str = Field(max_length=60)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    actor_user_id: int | None
    actor_org_id: int | None
    entity: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class Health(SQLModel):
    status: str
    database: str
    schema_revision: str
    version: str


# ---------------------------------------------------------------- background jobs


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class Job(SQLModel, table=True):
    """A long computation (Monte Carlo valuation, pool simulation) run off the event loop."""

    __tablename__ = "job"
    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=40)
    status: JobStatus = Field(default=JobStatus.queued, sa_type=String(12))
    progress: float = Field(default=0.0, description="fraction done, 0..1 (statistic, not money)")
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, max_length=2000)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class JobPublic(SQLModel):
    id: str
    kind: str
    status: JobStatus
    progress: float
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
