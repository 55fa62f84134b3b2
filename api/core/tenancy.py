"""Who may see which rows. Every list and read of org-owned data goes through here, so an
object of another organisation is simply not found (404), never leaked (403 would confirm it
exists)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, true
from sqlalchemy.sql.elements import ColumnElement

from api.core.config import get_settings
from api.identity.models import Organisation, OrgKind
from api.pledge.models import Borrower, IPAsset, Loan
from ipfin import regions


def region_clause(
    column_region: Any, column_province: Any, org: Organisation, column_city: Any = None
) -> ColumnElement[bool]:
    """Rows in the organisation's region, by the level of its GB/T 2260 code.

    A province scope matches the province column, a city scope the city column (or, for tables
    without one, region codes of that city: its first four digits), a county scope the region
    column itself. No region (a national bureau): every row.
    """
    if not org.region_code:
        return true()
    code = regions.normalise(org.region_code)
    level = regions.region(code).level
    if level == "province":
        return column_province == code  # type: ignore[no-any-return]
    if level == "city":
        if column_city is not None:
            return column_city == code  # type: ignore[no-any-return]
        return column_region.like(code[:4] + "%")  # type: ignore[no-any-return]
    return column_region == code  # type: ignore[no-any-return]


def loan_visibility(org: Organisation) -> ColumnElement[bool]:
    """The loans an organisation may see row by row.

    bank: its own loans; guarantor: loans it guarantees; bureau: loans in its region when
    ``IPFIN_BUREAU_LOAN_LEVEL_ACCESS`` is on (a national bureau has no region and sees all);
    reguarantor and fund: loans of claims they are a party of (``claim_visibility``); admin: all.
    """
    if org.kind == OrgKind.admin:
        return true()
    if org.kind == OrgKind.bank:
        return Loan.bank_org_id == org.id  # type: ignore[return-value]
    if org.kind == OrgKind.guarantor:
        return Loan.guarantor_org_id == org.id  # type: ignore[return-value]
    if org.kind == OrgKind.bureau:
        if not get_settings().bureau_loan_level_access:
            return false()
        return region_clause(Loan.region_code, Loan.province_code, org, Loan.city_code)
    return _party_loans(org)


def _party_loans(org: Organisation) -> ColumnElement[bool]:
    """Loans a re-guarantor or fund pays into; none until the risk-sharing claims exist."""
    try:
        from api.risk_sharing.models import loans_paid_into
    except ImportError:
        return false()
    return loans_paid_into(org)  # type: ignore[no-any-return]


def claim_visibility(org: Organisation) -> ColumnElement[bool]:
    """Risk-sharing claims an organisation may see: those it is a party of (admin: all).

    Party organisations are checked when the claim is filed (bank = the loan's bank, guarantor =
    the loan's guarantor, other roles by organisation kind) and the filer must be one of them, so
    naming an organisation as a party can never open another bank's loan to it.
    """
    from api.risk_sharing.models import claim_visibility as party_of

    return party_of(org)


def borrower_visibility(org: Organisation) -> ColumnElement[bool]:
    """Borrowers an organisation registered (admin: all)."""
    if org.kind == OrgKind.admin:
        return true()
    return Borrower.owner_org_id == org.id  # type: ignore[return-value]


def ip_asset_visibility(org: Organisation) -> ColumnElement[bool]:
    if org.kind == OrgKind.admin:
        return true()
    return IPAsset.owner_org_id == org.id  # type: ignore[return-value]
