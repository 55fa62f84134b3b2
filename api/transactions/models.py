"""IP transaction register table (知识产权交易登记): the market facts comparables are drawn from.

One row per transaction: what changed hands (``valuation.transactions.TransactionKind``), the price
in integer fen, the date, IP type and class (IPC / Nice / Locarno), industry, region, and how it was
priced and traded (the six pricing methods and five trading modes of seed 002). Rows are typed in,
imported from CSV/Excel, or written automatically when a pledge disposal is recorded (``source``
``pledge_disposal`` with its ``disposal_id``). Every authenticated organisation reads the register;
only the owning organisation (or an admin) edits or deletes its rows.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.core.db import utcnow


class TransactionSource(StrEnum):
    """How a row entered the register."""

    manual = "manual"  # typed in through the API
    import_ = "import"  # CSV/Excel import
    pledge_disposal = "pledge_disposal"  # written by the pledge workflow when a disposal is recorded


class IPTransactionRow(SQLModel, table=True):
    """One registered IP transaction (price in fen)."""

    __tablename__ = "ip_transaction"
    __table_args__ = (
        UniqueConstraint("owner_org_id", "ref", name="uq_ip_transaction_org_ref"),
        Index("ix_ip_transaction_type_date", "ip_type", "transaction_date"),
        Index("ix_ip_transaction_methods", "transaction_date", "pricing_method", "trading_mode"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, description="the recording organisation's own id of the transaction")
    kind: str = Field(sa_type=String(24))
    price_fen: int = Field(sa_type=BigInteger)
    transaction_date: date
    ip_type: str = Field(sa_type=String(24))
    ipc_or_nice_class: str = Field(default="", max_length=40)
    industry: str | None = Field(default=None, sa_type=String(1))
    region_code: str = Field(sa_type=String(6))
    pricing_method: str = Field(sa_type=String(24))
    trading_mode: str = Field(sa_type=String(12))
    remaining_life_years: float | None = None
    quality_score: float | None = None
    asset_count: int = Field(default=1, description="IP rights sold together for this price (a bundle if > 1)")
    source: str = Field(default=TransactionSource.manual.value, sa_type=String(16))
    loan_id: int | None = Field(default=None, foreign_key="loan.id", index=True)
    disposal_id: int | None = Field(default=None, foreign_key="pledge_disposal.id", unique=True)
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
