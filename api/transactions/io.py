"""CSV/Excel import (all or nothing, per-row errors) and export of the IP transaction register.

The file format is ``valuation.transactions.CSV_COLUMNS`` (``id`` is the recording organisation's own
reference; enum columns take the value or its Chinese label, e.g. ``收储``, ``网络竞价``), plus an
optional ``asset_count``. An export re-imports as it is (extra columns are ignored).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from api.audit import service as audit
from api.identity.models import User
from api.pledge.io import ImportFailed
from api.pledge.models import MAX_AMOUNT_CNY
from api.transactions.models import IPTransactionRow, TransactionSource
from ipfin.money import cny_to_fen, fen_to_cny
from ipfin.validation import check_region_code
from valuation.transactions import CSV_COLUMNS, parse_transactions

REQUIRED_COLUMNS = ("id", "kind", "date", "ip_type", "region_code", "pricing_method", "trading_mode",
                    "remaining_life_years")
EXPORT_COLUMNS = [*CSV_COLUMNS, "asset_count", "register_id", "source", "owner_org_id"]
_MAX_FEN = cny_to_fen(MAX_AMOUNT_CNY)


def _extra_checks(r: dict[str, str], today: date) -> tuple[str, str] | None:
    """Checks the pure parser leaves to the API: column lengths, a current region code, no future date, life
    within 100 years (as a valuation request takes it), bundle size."""
    for column, limit in (("id", 64), ("class", 40)):
        if len((r.get(column) or "").strip()) > limit:
            return column, f"at most {limit} characters"
    if float((r.get("remaining_life_years") or "").strip()) > 100:
        return "remaining_life_years", "must be at most 100 years"
    try:
        check_region_code((r.get("region_code") or "").strip())
    except ValueError as exc:
        return "region_code", str(exc)
    if date.fromisoformat((r.get("date") or "").strip()) > today:
        return "date", "must not be in the future"
    n = (r.get("asset_count") or "").strip()
    if n and not (n.isdigit() and 1 <= int(n) <= 10_000):
        return "asset_count", "must be a whole number from 1 to 10000"
    return None


def import_transactions(session: Session, user: User, rows: list[dict[str, str]],
                        today: date) -> list[IPTransactionRow]:
    """Validate every row, then write all of them or none (:class:`ImportFailed` lists ``{row, field,
    message}``; row 2 is the first data row, as a spreadsheet shows it). A reference already recorded by
    the caller's organisation is a row error. One audit event records the import."""
    if not rows:
        raise ImportFailed([{"row": 1, "field": "file", "message": "no data rows"}])
    missing = [c for c in REQUIRED_COLUMNS if c not in rows[0]]
    if "price_cny" not in rows[0] and "price_fen" not in rows[0]:
        missing.append("price_cny")
    if missing:
        raise ImportFailed([{"row": 1, "field": c, "message": "missing column"} for c in missing])
    result = parse_transactions(rows)
    errors = [{"row": e.row + 1, "field": e.column or "row", "message": e.message} for e in result.errors]
    bad_rows = {e.row for e in result.errors}
    existing = set(session.exec(select(IPTransactionRow.ref).where(
        IPTransactionRow.owner_org_id == user.organisation_id)).all())
    good = iter(result.transactions)
    staged = []
    for n, r in enumerate(rows, start=1):
        if n in bad_rows:
            continue
        t = next(good)
        problem = _extra_checks(r, today)
        if problem is None and t.price_fen > _MAX_FEN:
            problem = ("price_cny", f"must be at most {MAX_AMOUNT_CNY:,} CNY")
        if problem is None and t.id in existing:
            problem = ("id", f"{t.id} is already recorded by your organisation")
        if problem is not None:
            errors.append({"row": n + 1, "field": problem[0], "message": problem[1]})
            continue
        count: str | int = (r.get("asset_count") or "").strip()
        staged.append((t, int(count) if count else 1))
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: (e["row"], e["field"])))
    out = []
    for t, count in staged:
        row = IPTransactionRow(
            ref=t.id, kind=t.kind.value, price_fen=t.price_fen, transaction_date=t.date, ip_type=t.ip_type.value,
            ipc_or_nice_class=t.ipc_or_nice_class.strip(), industry=t.industry, region_code=t.region_code,
            pricing_method=t.pricing_method.value, trading_mode=t.trading_mode.value,
            remaining_life_years=t.remaining_life_years, quality_score=t.quality_score, asset_count=count,
            source=TransactionSource.import_.value, owner_org_id=user.organisation_id, created_by_user_id=user.id)
        session.add(row)
        out.append(row)
    session.flush()
    audit.record(session, user, "ip_transaction", "import", "import",
                 after={"imported": len(out), "transaction_ids": [r.id for r in out],
                        "total_fen": sum(r.price_fen for r in out)})
    return out


def export_rows(rows: list[IPTransactionRow]) -> list[list[Any]]:
    """Rows in :data:`EXPORT_COLUMNS` order (price in CNY with two decimals)."""
    return [[r.ref, r.kind, fen_to_cny(r.price_fen), r.transaction_date.isoformat(), r.ip_type, r.ipc_or_nice_class,
             r.industry or "", r.region_code, r.pricing_method, r.trading_mode,
             "" if r.remaining_life_years is None else r.remaining_life_years,
             "" if r.quality_score is None else r.quality_score, r.asset_count, r.id, r.source, r.owner_org_id]
            for r in rows]
