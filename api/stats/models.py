"""The statistics rollup table (汇总表): loan sums the bureau overview reads instead of the loans.

Kept in step with every write to ``loan`` by database triggers (:mod:`api.stats.rollup`), so it is
never stale and needs no refresh job; rebuilt from the loans by migration ``0016_loan_rollup``
(the two-dimension grains by ``0018_rollup_pairs``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Index, String
from sqlmodel import Field, SQLModel


class LoanRollup(SQLModel, table=True):
    """Sums over the funded loans sharing a grain value, an origination day, a term and a maturity.

    ``grain`` is ``all`` (every loan; ``grain_key`` empty), one dimension — ``province``,
    ``industry``, ``ip_type`` or ``bank`` — with the loans' value of it in ``grain_key``, or a pair of
    them (``api.stats.rollup.PAIRS``, e.g. ``ind+bank``) with both values joined by ``|`` (``C|12``;
    up to 48 characters: an IP type, ``|`` and an organisation id). Money in fen. A group whose
    ``loan_count`` fell to 0 (its loans moved away) has every sum 0.
    """

    __tablename__ = "loan_rollup"
    __table_args__ = (Index("ix_loan_rollup_maturity", "grain", "maturity_date"),)

    grain: str = Field(primary_key=True, sa_type=String(10))
    grain_key: str = Field(primary_key=True, sa_type=String(48))
    origination_date: date = Field(primary_key=True)
    term_months: int = Field(primary_key=True)
    maturity_date: date = Field(primary_key=True)
    loan_count: int = Field(default=0, sa_type=BigInteger)
    amount_fen: int = Field(default=0, sa_type=BigInteger, description="principal")
    outstanding_fen: int = Field(default=0, sa_type=BigInteger, description="current outstanding principal")
    inclusive_10m_count: int = Field(default=0, sa_type=BigInteger, description="loans of at most 10M CNY")
    inclusive_10m_amount_fen: int = Field(default=0, sa_type=BigInteger)
    inclusive_20m_count: int = Field(default=0, sa_type=BigInteger, description="loans of at most 20M CNY")
    inclusive_20m_amount_fen: int = Field(default=0, sa_type=BigInteger)
    defaulted_count: int = Field(default=0, sa_type=BigInteger, description="loans with a default date")
    defaulted_amount_fen: int = Field(default=0, sa_type=BigInteger)
    live_count: int = Field(default=0, sa_type=BigInteger, description="loans in a live status now")
    live_outstanding_fen: int = Field(default=0, sa_type=BigInteger)
    npl_count: int = Field(default=0, sa_type=BigInteger, description="live and non-performing now")
    npl_outstanding_fen: int = Field(default=0, sa_type=BigInteger)
    undated_npl_count: int = Field(default=0, sa_type=BigInteger,
                                   description="non-performing now without a recorded default date")
    undated_npl_outstanding_fen: int = Field(default=0, sa_type=BigInteger)
    undated_npl_amount_fen: int = Field(default=0, sa_type=BigInteger)


class RegistrationRollup(SQLModel, table=True):
    """Pledge registrations (质押登记) per grain and registration day, on funded loans, fen.

    ``registration_count`` and ``pledged_value_fen`` count every registration (one per pledged IP
    asset) on its own day; ``loan_count`` and ``amount_fen`` count each loan once, on the day of its
    first registration, so the registered amounts of consecutive periods add up.
    """

    __tablename__ = "registration_rollup"

    grain: str = Field(primary_key=True, sa_type=String(10))
    grain_key: str = Field(primary_key=True, sa_type=String(48))
    registered_on: date = Field(primary_key=True)
    registration_count: int = Field(default=0, sa_type=BigInteger)
    pledged_value_fen: int = Field(default=0, sa_type=BigInteger, description="appraised value at pledging")
    loan_count: int = Field(default=0, sa_type=BigInteger, description="loans first registered that day")
    amount_fen: int = Field(default=0, sa_type=BigInteger, description="their principal")
