"""Organisations and users: the tables of identity and access."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from api.core.db import utcnow
from ipfin.validation import (
    RegionCode,
)


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


class OrganisationBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind = Field(sa_type=String(20))
    region_code: RegionCode | None = Field(default=None, max_length=6)


class Organisation(OrganisationBase, table=True):
    __tablename__ = "organisation"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


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
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Bumped on password change and on disable: tokens issued at an older version are refused."""


class LoginFailure(SQLModel, table=True):
    """One failed login, kept for the throttling window (per account and per client address).

    Counted in the database, not in process memory, so several server workers share the limit.
    Rows older than the window are deleted as new failures arrive; the audit log keeps the history.
    """

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_account_at", "account", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    account: str = Field(max_length=255)
    address: str = Field(max_length=64)
