"""Create/read operations on the core tables. Each write adds its audit event to the same
session; the route commits once, so the change and its audit record stand or fall together."""

from __future__ import annotations

import secrets
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from api import audit
from api.core.security import hash_password, verify_password
from api.models import (
    Borrower,
    IPAsset,
    Loan,
    LoanCollateral,
    LoanStatus,
    Organisation,
    User,
)
from api.models.core import BorrowerCreate, IPAssetCreate, LoanCreate, OrganisationCreate, UserCreate
from api.tenancy import borrower_visibility, ip_asset_visibility, loan_visibility
from ipfin.money import cny_to_fen
from ipfin.validation import province_of


class NotFound(LookupError):
    """The object does not exist or the caller may not see it."""


class Conflict(ValueError):
    """The request conflicts with the current state (HTTP 409)."""


class FieldError(ValueError):
    """A domain error about one request field (HTTP 422 whose ``loc`` names it; dots for nesting)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# ---------------------------------------------------------------- users and organisations


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(func.lower(User.email) == email.lower())).first()


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = get_user_by_email(session, email)
    if user is None:
        verify_password(password, _DUMMY_HASH)  # same work either way: no user enumeration by timing
        return None
    return user if verify_password(password, user.hashed_password) else None


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def create_organisation(session: Session, actor: User | None, data: OrganisationCreate) -> Organisation:
    org = Organisation.model_validate(data)
    session.add(org)
    session.flush()
    audit.record(session, actor, "organisation", org.id, "create", after=org)
    return org


def create_user(session: Session, actor: User | None, data: UserCreate) -> User:
    if session.get(Organisation, data.organisation_id) is None:
        raise NotFound("organisation_id: no such organisation")
    if get_user_by_email(session, data.email):
        raise Conflict("email: a user with this email already exists")
    user = User.model_validate(data, update={"hashed_password": hash_password(data.password)})
    session.add(user)
    session.flush()
    audit.record(session, actor, "user", user.id, "create", after=user)
    return user


def set_password(session: Session, user: User, new_password: str) -> None:
    user.hashed_password = hash_password(new_password)
    session.add(user)
    audit.record(session, user, "user", user.id, "change_password")


# ---------------------------------------------------------------- borrowers and IP assets


def create_borrower(session: Session, actor: User, data: BorrowerCreate) -> Borrower:
    borrower = Borrower.model_validate(data, update={"owner_org_id": actor.organisation_id})
    session.add(borrower)
    session.flush()
    audit.record(session, actor, "borrower", borrower.id, "create", after=borrower)
    return borrower


def get_borrower(session: Session, org: Organisation, borrower_id: int) -> Borrower:
    b = session.exec(select(Borrower).where(Borrower.id == borrower_id, borrower_visibility(org))).first()
    if b is None:
        raise NotFound("borrower not found")
    return b


def create_ip_asset(session: Session, actor: User, org: Organisation, data: IPAssetCreate) -> IPAsset:
    get_borrower(session, org, data.borrower_id)
    asset = IPAsset.model_validate(data, update={"owner_org_id": actor.organisation_id})
    session.add(asset)
    session.flush()
    audit.record(session, actor, "ip_asset", asset.id, "create", after=asset)
    return asset


def get_ip_asset(session: Session, org: Organisation, asset_id: int) -> IPAsset:
    a = session.exec(select(IPAsset).where(IPAsset.id == asset_id, ip_asset_visibility(org))).first()
    if a is None:
        raise NotFound("IP asset not found")
    return a


# ---------------------------------------------------------------- loans


def _months_between(a, b) -> int:  # type: ignore[no-untyped-def]
    months = (b.year - a.year) * 12 + (b.month - a.month)
    return max(1, months + (1 if b.day > a.day else 0))


def create_loan(session: Session, actor: User, org: Organisation, data: LoanCreate) -> Loan:
    """A draft loan for ``org`` (a bank) with its pledged IP assets; region, industry and IP
    types are copied from the borrower and assets for fast aggregation."""
    borrower = get_borrower(session, org, data.borrower_id)
    assets = [get_ip_asset(session, org, i) for i in dict.fromkeys(data.collateral_ip_asset_ids)]
    foreign = [a.id for a in assets if a.borrower_id != borrower.id]
    if foreign:
        raise Conflict(f"collateral_ip_asset_ids: assets {foreign} are not owned by the borrower")
    if data.guarantor_org_id is not None:
        g = session.get(Organisation, data.guarantor_org_id)
        if g is None or g.kind != "guarantor":
            raise NotFound("guarantor_org_id: no such guarantee agency")
    amount_fen = cny_to_fen(data.amount_cny)
    types = sorted({str(a.ip_type) for a in assets})
    loan = Loan(
        reference=f"L{data.origination_date:%Y%m}{secrets.token_hex(5).upper()}",
        bank_org_id=org.id,  # type: ignore[arg-type]
        borrower_id=borrower.id,  # type: ignore[arg-type]
        guarantor_org_id=data.guarantor_org_id,
        origination_date=data.origination_date,
        maturity_date=data.maturity_date,
        purpose=data.purpose,
        amount_fen=amount_fen,
        outstanding_fen=amount_fen,
        annual_rate=Decimal(data.annual_rate),
        guarantee_fee_rate=data.guarantee_fee_rate,
        term_months=_months_between(data.origination_date, data.maturity_date),
        status=LoanStatus.draft,
        region_code=borrower.region_code,
        province_code=province_of(borrower.region_code),
        industry=borrower.industry,
        primary_ip_type=assets[0].ip_type,
        ip_types=",".join(types),
        created_by_user_id=actor.id,
    )
    session.add(loan)
    session.flush()
    for a in assets:
        session.add(LoanCollateral(loan_id=loan.id, ip_asset_id=a.id))  # type: ignore[arg-type]
    audit.record(session, actor, "loan", loan.id, "create", after=loan)
    return loan


def get_loan(session: Session, org: Organisation, loan_id: int) -> Loan:
    loan = session.exec(select(Loan).where(Loan.id == loan_id, loan_visibility(org))).first()
    if loan is None:
        raise NotFound("loan not found")
    return loan


def list_loans(
    session: Session,
    org: Organisation,
    *,
    status: LoanStatus | None = None,
    province_code: str | None = None,
    industry: str | None = None,
    bank_org_id: int | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[int, list[Loan]]:
    conds = [loan_visibility(org)]
    if status:
        conds.append(Loan.status == status)  # type: ignore[arg-type]
    if province_code:
        conds.append(Loan.province_code == province_code)  # type: ignore[arg-type]
    if industry:
        conds.append(Loan.industry == industry)  # type: ignore[arg-type]
    if bank_org_id:
        conds.append(Loan.bank_org_id == bank_org_id)  # type: ignore[arg-type]
    total = session.exec(select(func.count()).select_from(Loan).where(*conds)).one()
    rows = session.exec(select(Loan).where(*conds).order_by(col(Loan.id)).offset(offset).limit(limit)).all()
    return int(total), list(rows)
