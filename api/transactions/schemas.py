"""Request and response models of the IP transaction register (Create/Update/Public, pages, reports)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import computed_field, field_validator, model_validator
from sqlmodel import Field, SQLModel

from api.core.schemas import Page
from api.pledge.models import Amount
from ipfin.money import cny_to_fen, fen_to_cny
from ipfin.validation import FiniteFloat, IndustrySection, PastDate, RegionCode
from valuation.assets import IPType
from valuation.request import name_the_field
from valuation.transactions import IPTransaction, PricingMethod, TradingMode, TransactionKind, class_key


class IPTransactionCreate(SQLModel):
    """One transaction as typed in: price in CNY (two decimals), class in the IP type's scheme."""

    ref: str = Field(min_length=1, max_length=64, description="your own id (unique per organisation)")
    kind: TransactionKind
    price_cny: Amount
    transaction_date: PastDate
    ip_type: IPType
    ipc_or_nice_class: str = Field(default="", max_length=40, description="IPC (H01M 10/0525), Nice (9), Locarno (14)")
    industry: IndustrySection | None = None
    region_code: RegionCode
    pricing_method: PricingMethod
    trading_mode: TradingMode
    remaining_life_years: FiniteFloat = Field(gt=0, le=100)
    quality_score: FiniteFloat | None = Field(default=None, gt=0, le=100)
    asset_count: int = Field(default=1, ge=1, le=10_000)

    @field_validator("price_cny")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("price must be positive")
        return v

    @model_validator(mode="after")
    @name_the_field
    def _class_matches_type(self) -> IPTransactionCreate:
        try:
            class_key(self.ip_type, self.ipc_or_nice_class)
        except ValueError as exc:
            raise ValueError(f"ipc_or_nice_class: {exc}") from exc
        return self


class IPTransactionUpdate(SQLModel):
    """Fields to change (the others stay); the result is checked as a whole."""

    ref: str | None = Field(default=None, min_length=1, max_length=64)
    kind: TransactionKind | None = None
    price_cny: Amount | None = None
    transaction_date: PastDate | None = None
    ip_type: IPType | None = None
    ipc_or_nice_class: str | None = Field(default=None, max_length=40)
    industry: IndustrySection | None = None
    region_code: RegionCode | None = None
    pricing_method: PricingMethod | None = None
    trading_mode: TradingMode | None = None
    remaining_life_years: FiniteFloat | None = Field(default=None, gt=0, le=100)
    quality_score: FiniteFloat | None = Field(default=None, gt=0, le=100)
    asset_count: int | None = Field(default=None, ge=1, le=10_000)


class IPTransactionPublic(SQLModel):
    id: int
    ref: str
    kind: str
    price_fen: int
    transaction_date: date
    ip_type: str
    ipc_or_nice_class: str
    industry: str | None
    region_code: str
    pricing_method: str
    trading_mode: str
    remaining_life_years: float | None
    quality_score: float | None
    asset_count: int
    source: str
    loan_id: int | None
    disposal_id: int | None
    owner_org_id: int
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def price_cny(self) -> Decimal:
        return fen_to_cny(self.price_fen)


class IPTransactionsPage(Page):
    data: list[IPTransactionPublic]


class ImportResult(SQLModel):
    imported: int
    transaction_ids: list[int]


class VolumeRow(SQLModel):
    """Transactions of one pricing method or trading mode: how many and their value (fen)."""

    key: str
    label_zh: str
    label_en: str
    count: int
    value_fen: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def value_cny(self) -> Decimal:
        return fen_to_cny(self.value_fen)


class CrossRow(SQLModel):
    pricing_method: str
    trading_mode: str
    count: int
    value_fen: int


class VolumeReport(SQLModel):
    """Register volumes for the bureau: by pricing method, by trading mode and crossed (every method
    and mode listed, zero where none)."""

    date_from: date | None
    date_to: date | None
    filters: dict[str, Any]
    total_count: int
    total_value_fen: int
    by_pricing_method: list[VolumeRow]
    by_trading_mode: list[VolumeRow]
    cross: list[CrossRow]


def to_domain(body: IPTransactionCreate, tid: str) -> IPTransaction:
    """The pure transaction (id ``tid``) of a validated body; ``ValueError`` names the failing check."""
    return IPTransaction(tid, body.kind, cny_to_fen(body.price_cny), body.transaction_date, body.ip_type,
                         body.ipc_or_nice_class, body.industry, body.region_code, body.pricing_method,
                         body.trading_mode, body.remaining_life_years, body.quality_score)
