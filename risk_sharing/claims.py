"""Loans, claims and the ledger context of a review, as validated data (money in integer fen).

:class:`Loan` and :class:`Claim` are the facts a claim review (:func:`risk_sharing.engine.review_claim`)
and the loss base (:func:`risk_sharing.splitting.gross_loss_fen`) need; :class:`ReviewContext` is the
ledger usage seen when the claim is reviewed, :class:`ExistingClaim` a claim already on file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ipfin.money import Fen
from ipfin.validation import IndustrySection
from risk_sharing.rules import DecimalFraction, ExactDecimal, FirmSize, NPLClass

#: Largest amount the engine takes: 10^16 fen (100 trillion CNY) — far above any loan book, far
#: below what a BIGINT column or a 28-digit Decimal (``fen_to_cny``) can hold.
MAX_FEN = 10**16

NonNegFen = Annotated[
    int, Field(ge=0, le=MAX_FEN, strict=True, description="integer fen (1 CNY = 100 fen), 0 ≤ x ≤ MAX_FEN")
]

#: Claim statuses that do not block a new claim on the same loan.
CLOSED_STATUSES = frozenset({"rejected", "withdrawn"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Loan(_Frozen):
    """The facts about a loan that eligibility and the loss base need. Money in fen."""

    loan_id: str = Field(min_length=1)
    borrower_id: str = Field(min_length=1)
    lender_id: str = Field("", description="lending bank's id (for per-bank caps)")
    origination_date: date
    principal_fen: NonNegFen
    borrower_total_loans_fen: NonNegFen | None = Field(
        None, description="borrower's total loans under the scheme; defaults to this loan's principal"
    )
    guarantee_fee_rate: DecimalFraction | None = Field(None, description="担保费率, fraction (0.015 = 1.5%)")
    guaranteed: bool = False
    firm_size: FirmSize | None = None
    firm_tier: str | None = None
    sector: IndustrySection | None = None
    years_registered: ExactDecimal | None = Field(None, ge=0)
    ip_pledged_share: DecimalFraction | None = Field(
        None, description="share of the loan secured by pledged IP, fraction"
    )

    @property
    def borrower_exposure_fen(self) -> Fen:
        return self.principal_fen if self.borrower_total_loans_fen is None else self.borrower_total_loans_fen


class Claim(_Frozen):
    """A compensation claim filed by a guarantee agency or bank. Money in fen."""

    claim_id: str = Field(min_length=1)
    loan_id: str = Field(min_length=1)
    default_date: date
    filed_on: date
    outstanding_principal_fen: NonNegFen
    outstanding_interest_fen: NonNegFen = 0
    recoveries_so_far_fen: NonNegFen = 0
    npl_class: NPLClass | None = None
    classified_on: date | None = Field(None, description="date of NPL classification")
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExistingClaim:
    """A claim already on file (for duplicate detection)."""

    claim_id: str
    loan_id: str
    status: str


def _check_fen(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: must be integer fen")
    if value < 0:
        raise ValueError(f"{name}: must not be negative")


@dataclass(frozen=True)
class ReviewContext:
    """Ledger usage so far, as seen when the claim is reviewed (all money in fen).

    Year figures are for the calendar year of ``review_date`` (the year the payout is
    booked); the caller reads them from the ledger under a lock (see ``ledger.py``).
    """

    review_date: date
    borrower_base_year_fen: Fen = 0
    borrower_compensation_year_fen: Fen = 0
    borrower_compensation_lifetime_fen: Fen = 0
    lender_compensation_year_fen: Fen = 0
    party_paid_year_fen: Mapping[str, Fen] = field(default_factory=dict)
    party_balance_fen: Mapping[str, Fen] = field(default_factory=dict)
    covered_loans_fen: Fen | None = None
    compensation_paid_fen: Fen = 0
    existing_claims: tuple[ExistingClaim, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "borrower_base_year_fen",
            "borrower_compensation_year_fen",
            "borrower_compensation_lifetime_fen",
            "lender_compensation_year_fen",
            "compensation_paid_fen",
        ):
            _check_fen(name, getattr(self, name))
        if self.covered_loans_fen is not None:
            _check_fen("covered_loans_fen", self.covered_loans_fen)
        for k, v in self.party_paid_year_fen.items():
            _check_fen(f"party_paid_year_fen[{k}]", v)
        for k, v in self.party_balance_fen.items():
            _check_fen(f"party_balance_fen[{k}]", v)


__all__ = [
    "CLOSED_STATUSES",
    "MAX_FEN",
    "Claim",
    "ExistingClaim",
    "Loan",
    "NonNegFen",
    "ReviewContext",
]
