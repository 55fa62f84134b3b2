"""Core tables every domain builds on: organisations, users, borrowers, IP assets, loans,
collateral links and the append-only audit log.

Pattern: ``XBase`` (shared fields) → ``X`` (table) / ``XCreate`` (input) / ``XPublic``
(output), as in SQLModel's docs and the FastAPI full-stack template. Money is stored in
integer fen (BIGINT) and shown as CNY ``Decimal`` with two decimals.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator
from sqlalchemy import JSON, BigInteger, Index, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.core.db import utcnow
from ipfin.validation import (
    CreditCode,
    IndustrySection,
    MoneyCNY,
    PastDate,
    RegionCode,
)


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
    data_ip = "data_ip"  # 数据知识产权 (registration certificate)
    geographical_indication = "geographical_indication"  # 地理标志
    ic_layout_design = "ic_layout_design"  # 集成电路布图设计
    plant_variety = "plant_variety"  # 植物新品种


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
    __table_args__ = (UniqueConstraint("owner_org_id", "ip_type", "identifier", name="uq_ip_asset_identifier"),
                      Index("ix_ip_asset_lapse", "id", "legal_status", "annual_fee_paid_until"))  # bank page, 0017
    id: int | None = Field(default=None, primary_key=True)
    borrower_id: int = Field(foreign_key="borrower.id", index=True)
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # facts of the newer collateral types (issue 18), see valuation.assets.legal_expiry for their terms
    creation_date: date | None = None  # IC layout design: 创作完成日
    first_commercial_use_date: date | None = None  # IC layout design: 首次商业利用日
    plant_group: str | None = Field(default=None, sa_type=String(16))  # plant variety: woody_or_vine / other
    gi_protection: str | None = Field(default=None, sa_type=String(20))  # GI: collective/certification mark, product
    certificate_no: str | None = Field(default=None, max_length=80)  # data IP: 登记证书编号
    registering_platform: str | None = Field(default=None, max_length=200)  # data IP: 登记平台
    certificate_valid_until: date | None = None  # data IP: last day the certificate is valid
    data_source_legality: dict[str, bool] | None = Field(default=None, sa_type=JSON)  # data IP: legality flags


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
        Index("ix_loan_bank_book", "bank_org_id", "status", "outstanding_fen", "days_past_due", "id"),  # bank page
        Index("ix_loan_status_orig", "status", "origination_date"),
        Index("ix_loan_region_orig", "region_code", "origination_date"),  # a city's or county's loan list
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
            "default_date",
        ),
        # covering index for the NPL stock today (api/stats/stock.py): live loans only
        Index(
            "ix_loan_live", "status", "origination_date", "province_code", "region_code", "industry",
            "primary_ip_type", "bank_org_id", "outstanding_fen", "days_past_due",
        ),
        # covering index for the NPL stock at past period ends: loans maturing after the earliest end
        Index(
            "ix_loan_stock", "maturity_date", "origination_date", "status", "province_code", "region_code",
            "industry", "primary_ip_type", "bank_org_id", "term_months", "default_date", "amount_fen",
            "outstanding_fen", "days_past_due",
        ),
        # the loans defaulted by a past period end (the rest of that stock is read from loan_rollup)
        Index(
            "ix_loan_defaulted", "default_date", "origination_date", "maturity_date", "term_months", "status",
            "province_code", "region_code", "industry", "primary_ip_type", "bank_org_id", "amount_fen",
            "outstanding_fen",
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
    appraisal_fee_fen: int | None = Field(
        default=None, sa_type=BigInteger, description="appraisal (valuation) fee paid for the loan, fen (评估费)"
    )
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
    city_code: str | None = Field(
        default=None, max_length=6, description="city (地级) of region_code, GB/T 2260 (denormalised; drill-down)"
    )


class LoanCollateral(SQLModel, table=True):
    """One pledged IP asset of a loan, with its pledge registration (质押登记)."""

    __tablename__ = "loan_collateral"
    __table_args__ = (
        UniqueConstraint("loan_id", "ip_asset_id", name="uq_collateral_loan_asset"),
        # covering index for the bank page's per-loan appraised value (api/stats/collateral.py)
        Index("ix_loan_collateral_cover", "loan_id", "pledge_status", "ip_asset_id", "appraised_value_fen",
              "pledge_registered_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    ip_asset_id: int = Field(foreign_key="ip_asset.id", index=True)
    appraised_value_fen: int | None = Field(default=None, sa_type=BigInteger)
    pledge_registration_no: str | None = Field(default=None, max_length=40)
    pledge_registered_on: date | None = None
    pledge_status: str = Field(default="pending", max_length=20)


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


class PledgeIPFacts(SQLModel, table=True):
    """Legal facts of an IP asset that pledge eligibility and monitoring need."""

    __tablename__ = "pledge_ip_facts"
    ip_asset_id: int = Field(foreign_key="ip_asset.id", primary_key=True)
    expiry_date: date | None = None
    registered_owners: list[str] | None = Field(default=None, sa_type=JSON)
    consenting_co_owners: list[str] | None = Field(default=None, sa_type=JSON)
    dispute: bool = False
    preservation: bool = False


class ValuationSource(StrEnum):
    valuation = "valuation"  # a stored valuation of ipfin's valuation engine
    appraiser = "appraiser"  # an external appraiser's report


class CollateralValuation(SQLModel, table=True):
    """A value of one IP asset the bank relies on (latest per asset counts)."""

    __tablename__ = "pledge_collateral_valuation"
    # the latest re-valuation of an asset is one seek (api/stats/collateral.py): date, then id
    __table_args__ = (
        Index("ix_pledge_valuation_latest", "ip_asset_id", "valuation_date", "id"),
        # the latest value of an asset from the index alone (the bank page at 1M loans, PostgreSQL)
        Index("ix_pledge_valuation_cover", "ip_asset_id", "valuation_date", "id", "value_fen"),
    )
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


class PledgePolicyRow(SQLModel, table=True):
    """A bank's pledge-rate policy (``pledge.policy.PledgePolicy`` as JSON)."""

    __tablename__ = "pledge_policy"
    org_id: int = Field(foreign_key="organisation.id", primary_key=True)
    policy: dict[str, Any] = Field(sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow)


class PledgeAlert(SQLModel, table=True):
    __tablename__ = "pledge_alert"
    __table_args__ = (
        Index("ix_pledge_alert_loan_code", "loan_id", "code", "as_of"),
        # the latest monitoring run's alerts by code and severity (api/pledge/reports.py)
        Index("ix_pledge_alert_asof_code", "as_of", "code", "severity", "loan_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id")
    ip_asset_id: int | None = Field(default=None, foreign_key="ip_asset.id")
    code: str = Field(sa_type=String(40))
    severity: str = Field(sa_type=String(10))
    message: str = Field(max_length=500)
    as_of: date = Field(index=True)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)


class BucketHistory(SQLModel, table=True):
    """The overdue bucket and five-class category of a loan at each monitoring run."""

    __tablename__ = "pledge_bucket_history"
    __table_args__ = (Index("ix_pledge_bucket_loan_asof", "loan_id", "as_of"),
                      Index("ix_pledge_bucket_cover", "loan_id", "as_of", "id", "loan_class"))  # provisions, 0017
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id")
    as_of: date
    days_overdue: int
    bucket_index: int
    bucket_label: str = Field(max_length=20)
    loan_class: str = Field(sa_type=String(20))


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


# ------------------------------------------------------------------ lending practice (issue 11)


class LoanProduct(SQLModel, table=True):
    """A bank's loan product: the terms copied onto each loan opened from it (versioned on change)."""

    __tablename__ = "pledge_loan_product"
    __table_args__ = (UniqueConstraint("org_id", "code", name="uq_pledge_product_org_code"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    version: int = Field(default=1)
    active: bool = True
    rate_kind: str = Field(default="fixed", sa_type=String(12))
    fixed_rate: Decimal | None = Field(default=None, sa_type=Numeric(9, 6))
    lpr_tenor: str = Field(default="1Y", sa_type=String(2))
    spread_bp: int = 0
    reset_rule: str = Field(default="anniversary", sa_type=String(12))
    convention: str | None = Field(default=None, sa_type=String(12))
    schedule_types: list[str] = Field(sa_type=JSON)
    months_per_period: int = 1
    grace_months: int = 0
    upfront_fee_rate: Decimal = Field(default=Decimal(0), sa_type=Numeric(9, 6))
    penalty_multiplier: Decimal = Field(default=Decimal("1.5"), sa_type=Numeric(6, 4))
    arrears_grace_days: int = 0
    arrears_grace_basis: str = Field(default="business", sa_type=String(10))
    compound_interest: bool = True
    max_pledge_rate: Decimal | None = Field(default=None, sa_type=Numeric(6, 4))
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LoanProductVersion(SQLModel, table=True):
    """Each version of a product's terms as they were (loans name the version they copied)."""

    __tablename__ = "pledge_loan_product_version"
    __table_args__ = (UniqueConstraint("product_id", "version", name="uq_pledge_product_version"),)
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="pledge_loan_product.id")
    version: int
    terms: dict[str, Any] = Field(sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)


class LoanLendingTerms(SQLModel, table=True):
    """What a stored loan needs beyond ``pledge_loan_terms`` to rebuild its ledger exactly: the
    product it was opened from, convention, grace, LPR reset rule, arrears settings, anchor date
    and rate history (LPR resets, restructurings)."""

    __tablename__ = "pledge_lending_terms"
    loan_id: int = Field(foreign_key="loan.id", primary_key=True)
    product_id: int | None = Field(default=None, foreign_key="pledge_loan_product.id", index=True)
    product_version: int | None = None
    convention: str | None = Field(default=None, sa_type=String(12))
    grace_months: int = 0
    lpr_tenor: str = Field(default="1Y", sa_type=String(2))
    reset_rule: str = Field(default="anniversary", sa_type=String(12))
    penalty_multiplier: Decimal = Field(default=Decimal("1.5"), sa_type=Numeric(6, 4))
    arrears_grace_days: int = 0
    arrears_grace_basis: str = Field(default="business", sa_type=String(10))
    compound_interest: bool = True
    max_pledge_rate: Decimal | None = Field(default=None, sa_type=Numeric(6, 4))
    annual_rate_now: Decimal | None = Field(default=None, sa_type=Numeric(9, 6))
    anchor_date: date | None = None
    rate_history: list[list[str]] | None = Field(default=None, sa_type=JSON, description="[[date, rate], ...]")
    arrears_accrued_to: date | None = None


class PledgeInstalmentMonths(SQLModel, table=True):
    """Contractual months of a full-period ledger line (the monthly convention needs them after a change)."""

    __tablename__ = "pledge_instalment_months"
    __table_args__ = (UniqueConstraint("loan_id", "seq", name="uq_pledge_instalment_months"),)
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    seq: int
    accrual_months: int | None = None


class CalendarOverrideRow(SQLModel, table=True):
    """A date forced to a holiday or a working day (the State Council's yearly notice), admin-maintained."""

    __tablename__ = "calendar_override"
    day: date = Field(primary_key=True)
    working: bool
    note: str = Field(default="", max_length=300)
    updated_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class LprFixingRow(SQLModel, table=True):
    """An LPR fixing added or corrected by an administrator (on top of ``pledge/data/lpr.csv``)."""

    __tablename__ = "lpr_fixing"
    __table_args__ = (UniqueConstraint("effective_date", "tenor", name="uq_lpr_fixing_date_tenor"),)
    id: int | None = Field(default=None, primary_key=True)
    effective_date: date
    tenor: str = Field(sa_type=String(2))
    rate: Decimal = Field(sa_type=Numeric(9, 6))
    note: str = Field(default="", max_length=300)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class RestructureRequest(SQLModel, table=True):
    """A term extension (展期) or rescheduling proposed by an officer and decided by an approver."""

    __tablename__ = "pledge_restructure"
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    kind: str = Field(sa_type=String(12))
    on: date
    params: dict[str, Any] = Field(sa_type=JSON)
    status: str = Field(default="proposed", sa_type=String(12))
    loan_version: int
    proposed_by_user_id: int = Field(foreign_key="app_user.id")
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = None
    comment: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class ArrearsPosting(SQLModel, table=True):
    """Penalty (罚息) and compound (复利) interest posted for [accrued_from, accrued_to); one per loan and day."""

    __tablename__ = "pledge_arrears_posting"
    __table_args__ = (UniqueConstraint("loan_id", "accrued_to", name="uq_pledge_arrears_loan_day"),)
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    accrued_from: date
    accrued_to: date
    penalty_fen: int = Field(sa_type=BigInteger)
    compound_fen: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class IPRegistryEvent(SQLModel, table=True):
    """A registry fact that changed on an IP asset: transfer, licence, invalidation request, status, annual fee."""

    __tablename__ = "pledge_ip_event"
    id: int | None = Field(default=None, primary_key=True)
    ip_asset_id: int = Field(foreign_key="ip_asset.id", index=True)
    kind: str = Field(sa_type=String(24))
    on: date
    counterparty: str | None = Field(default=None, max_length=200)
    pledgee_consent: bool | None = None
    details: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class IPAssetVersion(SQLModel, table=True):
    """Optimistic-lock version of an IP asset's registry facts (bumped by every PATCH)."""

    __tablename__ = "pledge_ip_version"
    ip_asset_id: int = Field(foreign_key="ip_asset.id", primary_key=True)
    version: int = 1


class ProvisionRatesRow(SQLModel, table=True):
    """A bank's provision rates per five-class category (``pledge.provisioning.ProvisionRates`` as JSON)."""

    __tablename__ = "pledge_provision_rates"
    org_id: int = Field(foreign_key="organisation.id", primary_key=True)
    rates: dict[str, Any] = Field(sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow)
