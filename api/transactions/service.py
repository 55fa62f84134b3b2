"""Glue between the IP transaction register table and the pure ``valuation.transactions`` /
``valuation.market`` code: create, read, change, list, import, export, the register as comparables for
a valuation, and the automatic entry of a recorded pledge disposal.

Tenancy: transactions are market facts, so every authenticated organisation reads every row; only
the owning organisation (or an admin) changes or deletes one (403 otherwise, since the caller can see
it); a row written from a pledge disposal changes only with the disposal (409).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.db import utcnow
from api.core.errors import Conflict, FieldError, NotFound
from api.identity.models import Organisation, OrgKind, User
from api.pledge.models import Borrower, CollateralValuation, IPAsset, Loan, PledgeDisposal, PledgeIPFacts
from api.transactions.models import IPTransactionRow, TransactionSource
from api.transactions.schemas import IPTransactionCreate, IPTransactionUpdate, to_domain
from ipfin.money import cny_to_fen, fen_to_cny
from pledge.eligibility import statutory_expiry
from valuation.assets import DAYS_PER_YEAR, NEW_COLLATERAL_TYPES, NO_STATUTORY_EXPIRY, IPType, legal_expiry
from valuation.transactions import IPTransaction, PricingMethod, TradingMode, TransactionKind

MAX_REGISTER_FOR_VALUATION = 100_000
"""Most recent register rows of the subject's type a valuation searches (``MarketIn.transactions`` limit)."""


class ForbiddenEdit(PermissionError):
    """The caller may read the row but not change it (HTTP 403)."""


# ------------------------------------------------------------------ read


def get_transaction(session: Session, transaction_id: int) -> IPTransactionRow:
    row = session.get(IPTransactionRow, transaction_id)
    if row is None:
        raise NotFound("transaction not found")
    return row


def _editable(session: Session, org: Organisation, transaction_id: int) -> IPTransactionRow:
    row = get_transaction(session, transaction_id)
    if org.kind != OrgKind.admin and row.owner_org_id != org.id:
        raise ForbiddenEdit("only the organisation that recorded a transaction (or an admin) may change it")
    if row.source == TransactionSource.pledge_disposal.value:
        raise Conflict(f"transaction {row.id} was recorded from pledge disposal {row.disposal_id}; it changes with "
                       "the disposal, not here")
    return row


def conditions(filters: dict[str, Any]) -> list[Any]:
    """SQL conditions of the list filters (None values ignored)."""
    t = IPTransactionRow
    conds: list[Any] = []
    for name in ("ip_type", "kind", "pricing_method", "trading_mode", "industry", "source"):
        v = filters.get(name)
        if v is not None:
            conds.append(getattr(t, name) == str(v))
    if filters.get("owner_org_id") is not None:  # an integer column: compare as one (PostgreSQL is strict)
        conds.append(col(t.owner_org_id) == int(filters["owner_org_id"]))
    if filters.get("date_from") is not None:
        conds.append(col(t.transaction_date) >= filters["date_from"])
    if filters.get("date_to") is not None:
        conds.append(col(t.transaction_date) <= filters["date_to"])
    if filters.get("region_prefix"):
        conds.append(col(t.region_code).startswith(filters["region_prefix"]))
    if filters.get("class_code"):
        conds.append(col(t.ipc_or_nice_class).startswith(str(filters["class_code"]).strip().upper()))
    return conds


def list_transactions(session: Session, filters: dict[str, Any], offset: int = 0, limit: int = 100
                      ) -> tuple[int, list[IPTransactionRow]]:
    """Register rows matching ``filters`` (every organisation's), newest first."""
    conds = conditions(filters)
    total = session.exec(select(func.count()).select_from(IPTransactionRow).where(*conds)).one()
    rows = session.exec(select(IPTransactionRow).where(*conds)
                        .order_by(col(IPTransactionRow.transaction_date).desc(), col(IPTransactionRow.id).desc())
                        .offset(offset).limit(limit)).all()
    return int(total), list(rows)


# ------------------------------------------------------------------ write


def _check_ref_free(session: Session, org_id: int, ref: str, own_id: int | None = None) -> None:
    other = session.exec(select(IPTransactionRow.id).where(IPTransactionRow.owner_org_id == org_id,
                                                           IPTransactionRow.ref == ref)).first()
    if other is not None and other != own_id:
        raise FieldError("ref", f"ref: {ref} is already recorded by your organisation (transaction {other})")


def _row_values(body: IPTransactionCreate) -> dict[str, Any]:
    return {"ref": body.ref, "kind": body.kind.value, "price_fen": cny_to_fen(body.price_cny),
            "transaction_date": body.transaction_date, "ip_type": body.ip_type.value,
            "ipc_or_nice_class": body.ipc_or_nice_class.strip(), "industry": body.industry,
            "region_code": body.region_code, "pricing_method": body.pricing_method.value,
            "trading_mode": body.trading_mode.value, "remaining_life_years": body.remaining_life_years,
            "quality_score": body.quality_score, "asset_count": body.asset_count}


def _domain_check(body: IPTransactionCreate) -> None:
    try:
        to_domain(body, body.ref)
    except ValueError as exc:
        msg = str(exc).removeprefix(f"transaction {body.ref}: ")
        raise FieldError(msg.split(" ", 1)[0] if msg.split(" ", 1)[0] in body.model_fields else "body", msg) from exc


def create_transaction(session: Session, user: User, body: IPTransactionCreate,
                       source: TransactionSource = TransactionSource.manual) -> IPTransactionRow:
    """Add one transaction owned by the caller's organisation (audited, not committed)."""
    _domain_check(body)
    _check_ref_free(session, user.organisation_id, body.ref)
    row = IPTransactionRow(**_row_values(body), source=source.value, owner_org_id=user.organisation_id,
                           created_by_user_id=user.id)
    session.add(row)
    session.flush()
    if source is TransactionSource.manual:
        audit.record(session, user, "ip_transaction", row.id, "create", after=row)
    return row


def _as_create(row: IPTransactionRow) -> dict[str, Any]:
    return {"ref": row.ref, "kind": row.kind, "price_cny": fen_to_cny(row.price_fen),
            "transaction_date": row.transaction_date, "ip_type": row.ip_type,
            "ipc_or_nice_class": row.ipc_or_nice_class, "industry": row.industry, "region_code": row.region_code,
            "pricing_method": row.pricing_method, "trading_mode": row.trading_mode,
            "remaining_life_years": row.remaining_life_years, "quality_score": row.quality_score,
            "asset_count": row.asset_count}


def update_transaction(session: Session, user: User, org: Organisation, transaction_id: int,
                       body: IPTransactionUpdate) -> IPTransactionRow:
    """Change fields of a manual or imported row of the caller's organisation; the whole row is re-checked."""
    row = _editable(session, org, transaction_id)
    before = audit.snapshot(row)
    merged = {**_as_create(row), **body.model_dump(exclude_unset=True)}
    from pydantic import ValidationError

    try:
        new = IPTransactionCreate.model_validate(merged)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = [str(x) for x in e.get("loc", ())]
        msg = str(e.get("msg", ""))
        field = loc[0] if loc else msg.split(", ", 1)[-1].split(":", 1)[0]
        raise FieldError(field if field in IPTransactionUpdate.model_fields else "body", msg) from exc
    _domain_check(new)
    _check_ref_free(session, row.owner_org_id, new.ref, own_id=row.id)
    for k, v in _row_values(new).items():
        setattr(row, k, v)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(session, user, "ip_transaction", row.id, "update", before=before, after=row)
    return row


def delete_transaction(session: Session, user: User, org: Organisation, transaction_id: int) -> None:
    row = _editable(session, org, transaction_id)
    before = audit.snapshot(row)
    session.delete(row)
    session.flush()
    audit.record(session, user, "ip_transaction", transaction_id, "delete", before=before)


# ------------------------------------------------------------------ pure transactions


def to_pure(row: IPTransactionRow) -> IPTransaction | None:
    """The row as ``valuation.transactions.IPTransaction`` (id = the register id as text), or None when
    it cannot serve as a comparable (remaining life unknown)."""
    if row.remaining_life_years is None:
        return None
    return IPTransaction(str(row.id), TransactionKind(row.kind), row.price_fen, row.transaction_date,
                         IPType(row.ip_type), row.ipc_or_nice_class, row.industry, row.region_code,
                         PricingMethod(row.pricing_method), TradingMode(row.trading_mode),
                         float(row.remaining_life_years), row.quality_score)


def register_for_valuation(session: Session, ip_type: str, valuation_date: date) -> tuple[list[IPTransaction], int]:
    """Register rows that can be comparables of a subject of ``ip_type`` valued on ``valuation_date``:
    same type, traded on or before that date, remaining life known, one right per price (bundles
    skipped); the most recent :data:`MAX_REGISTER_FOR_VALUATION`. Also returns how many rows of the
    type were skipped (bundle or unknown life)."""
    conds: list[Any] = [IPTransactionRow.ip_type == ip_type, col(IPTransactionRow.transaction_date) <= valuation_date]
    rows = session.exec(select(IPTransactionRow).where(*conds)
                        .order_by(col(IPTransactionRow.transaction_date).desc(), col(IPTransactionRow.id).desc())
                        .limit(MAX_REGISTER_FOR_VALUATION)).all()
    out = [t for r in rows if r.asset_count == 1 and (t := to_pure(r)) is not None]
    return out, len(rows) - len(out)


# ------------------------------------------------------------------ IP terms (shared with pledge eligibility)


def legal_end(asset: IPAsset, facts: PledgeIPFacts | None) -> date | None:
    """First day the right is no longer in force (pledge's convention), or None if unknown.

    The expiry on record (``pledge_ip_facts.expiry_date``) wins. Otherwise the new collateral types
    (data IP, GI, IC layout design, plant variety) use ``valuation.assets.legal_expiry`` — its last
    day in force plus one day; never-expiring GI product protection stays ``date.max`` — with the
    asset's ``grant_date`` as the registration/grant date; patents use ``statutory_expiry``.
    """
    if facts is not None and facts.expiry_date is not None:
        return facts.expiry_date
    ip_type = str(asset.ip_type)
    if ip_type not in {t.value for t in NEW_COLLATERAL_TYPES}:
        return statutory_expiry(ip_type, asset.filing_date)
    try:
        last = legal_expiry(
            IPType(ip_type), filing_date=asset.filing_date, registration_date=asset.grant_date,
            grant_date=asset.grant_date, creation_date=asset.creation_date,
            first_commercial_use_date=asset.first_commercial_use_date, plant_group=asset.plant_group,
            gi_protection=asset.gi_protection, certificate_valid_until=asset.certificate_valid_until)
    except ValueError:
        return None
    return last if last == NO_STATUTORY_EXPIRY else last + timedelta(days=1)


# ------------------------------------------------------------------ pledge disposals enter the register

DISPOSAL_PRICING: dict[str, tuple[PricingMethod, TradingMode]] = {
    "auction": (PricingMethod.AUCTION_BIDDING, TradingMode.BIDDING),  # 拍卖
    "sale": (PricingMethod.AGREEMENT, TradingMode.LISTING),  # 变卖: sold at a listed price
    "agreed_transfer": (PricingMethod.AGREEMENT, TradingMode.AGREEMENT),  # 协议折价
    "licence": (PricingMethod.AGREEMENT, TradingMode.AGREEMENT),  # 许可
    "pledge_to_equity": (PricingMethod.APPRAISAL, TradingMode.DIRECTED),  # 质权转股权: equity appraised
    "reverse_licence": (PricingMethod.AGREEMENT, TradingMode.DIRECTED),  # 反向许可: back to the borrower
}
"""How each disposal method was priced and traded (the register's seed-002 vocabulary)."""


def _disposal_date(d: PledgeDisposal) -> date:
    dates = [date.fromisoformat(i["on"]) for i in d.proceeds]
    return d.completed_on or (max(dates) if dates else d.started_on)


def record_disposal(session: Session, user: User, loan: Loan, disposal: PledgeDisposal) -> IPTransactionRow | None:
    """Enter a recorded pledge disposal in the register (kind ``pledge_disposal``), in the caller's transaction.

    Price = the GROSS proceeds (what the buyer paid for the right), not net of the disposal costs:
    commissions and fees are the seller's expenses, not part of the market price a comparable must
    show (the net is the lenders' recovery, kept on the disposal). Date = completion, else the last
    proceeds date. IP type, remaining life and quality score come from the first disposed asset (its
    latest collateral valuation's score); ``asset_count`` > 1 marks a bundle, which valuations skip.
    Region and industry are the borrower's. A disposal with no proceeds is no transaction: None.
    """
    gross = sum(int(i["amount_fen"]) for i in disposal.proceeds)
    if gross <= 0 or not disposal.ip_asset_ids:
        return None
    asset = session.get(IPAsset, int(disposal.ip_asset_ids[0]))
    borrower = session.get(Borrower, loan.borrower_id)
    assert asset is not None and borrower is not None
    when = _disposal_date(disposal)
    end = legal_end(asset, session.get(PledgeIPFacts, asset.id))
    life = None if end is None else 100.0 if end == date.max else min(100.0, (end - when).days / DAYS_PER_YEAR)
    score = session.exec(select(col(CollateralValuation.score)).where(CollateralValuation.ip_asset_id == asset.id)
                         .order_by(col(CollateralValuation.valuation_date).desc(),
                                   col(CollateralValuation.id).desc())).first()
    pricing, mode = DISPOSAL_PRICING[str(disposal.method)]
    row = IPTransactionRow(
        ref=f"disposal-{disposal.id}", kind=TransactionKind.PLEDGE_DISPOSAL.value, price_fen=gross,
        transaction_date=when, ip_type=str(asset.ip_type), ipc_or_nice_class="", industry=borrower.industry,
        region_code=borrower.region_code, pricing_method=pricing.value, trading_mode=mode.value,
        remaining_life_years=life if life is not None and life > 0 else None,
        quality_score=float(score) if score is not None and 0 < score <= 100 else None,
        asset_count=len(disposal.ip_asset_ids), source=TransactionSource.pledge_disposal.value, loan_id=loan.id,
        disposal_id=disposal.id, owner_org_id=user.organisation_id, created_by_user_id=user.id)
    session.add(row)
    session.flush()
    audit.record(session, user, "ip_transaction", row.id, "create_from_disposal", after=row)
    return row

