"""CSV/Excel import (all or nothing, per-row errors) and export of loans."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlmodel import Session, col, select

from api.core.errors import FieldError
from api.core.tenancy import loan_visibility
from api.identity.models import Organisation, User
from api.pledge import service as crud
from api.pledge.models import (
    MAX_AMOUNT_CNY,
    Borrower,
    IPAsset,
    Loan,
)
from api.pledge.schemas import (
    BorrowerCreate,
    IPAssetCreate,
    LoanCreate,
)
from ipfin.money import fen_to_cny

EXPORT_COLUMNS = ["reference", "borrower_credit_code", "bank_org_id", "guarantor_org_id", "amount_cny",
                  "outstanding_cny", "annual_rate", "status", "origination_date", "maturity_date", "days_past_due",
                  "region_code", "industry", "ip_types", "version"]


MAX_IMPORT_ROWS = 5000


"""Data rows accepted in one import file (split larger books into several files)."""


IMPORT_COLUMNS = ["borrower_name", "credit_code", "region_code", "industry", "size_class", "ip_type",
                  "identifier", "title", "legal_status", "amount_cny", "annual_rate", "origination_date",
                  "maturity_date"]


def export_rows(session: Session, org: Organisation, status: str | None = None) -> list[list[Any]]:
    conds = [loan_visibility(org)]
    if status:
        conds.append(col(Loan.status) == status)
    rows = session.exec(select(Loan, Borrower).join(Borrower, col(Borrower.id) == Loan.borrower_id)
                        .where(*conds).order_by(col(Loan.id))).all()
    return [[ln.reference, b.credit_code, ln.bank_org_id, ln.guarantor_org_id or "", fen_to_cny(ln.amount_fen),
             fen_to_cny(ln.outstanding_fen), ln.annual_rate, str(ln.status), ln.origination_date.isoformat(),
             ln.maturity_date.isoformat(), ln.days_past_due, ln.region_code, ln.industry, ln.ip_types, ln.version]
            for ln, b in rows]


MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Largest upload read (a 5,000-row file is well under 2 MB)."""


def read_upload(stream: BinaryIO, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """The uploaded bytes, read in chunks and refused (422 on ``file``) once above ``limit``."""
    chunks, size = [], 0
    while chunk := stream.read(1 << 16):
        size += len(chunk)
        if size > limit:
            raise FieldError("file", f"file: larger than {limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_many_rows() -> ImportFailed:
    return ImportFailed([{"row": MAX_IMPORT_ROWS + 2, "field": "file",
                          "message": f"more than {MAX_IMPORT_ROWS} data rows; at most {MAX_IMPORT_ROWS} per file"}])


def _cell(v: Any) -> str:
    return "" if v is None else (v.isoformat()[:10] if isinstance(v, datetime | date) else str(v))


def xlsx_rows(content: bytes) -> Iterator[tuple[Any, ...]]:
    """Cell values of the first worksheet's rows, parsed as a stream (blank rows skipped).

    openpyxl's read-only mode first scans the whole sheet for its size when the file has no
    ``<dimension>`` record, so a 161 kB workbook of 200,000 rows cost seconds before the first
    row; this reads rows straight from the sheet's XML, so the caller's row limit bounds the work.
    Any damage to the file raises (the caller turns it into a 422 on ``file``).
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._reader import WorkSheetParser

    reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=True)
    try:
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        wb = reader.wb
        rel = next((r for _, r in reader.parser.find_sheets()
                    if r.target in reader.valid_files and "chartsheet" not in r.Type), None)
        if rel is None:
            return
        with reader.archive.open(rel.target) as src:
            parser = WorkSheetParser(src, reader.shared_strings, data_only=True, epoch=wb.epoch,
                                     date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
            for _, cells in parser.parse():
                row: list[Any] = [None] * max((c["column"] for c in cells), default=0)
                for c in cells:
                    row[c["column"] - 1] = c["value"]
                yield tuple(row)
    finally:
        reader.archive.close()


def read_table(filename: str, content: bytes, max_rows: int = MAX_IMPORT_ROWS) -> list[dict[str, str]]:
    """Rows of an uploaded CSV (UTF-8, optional BOM) or Excel (.xlsx, first sheet) file.

    Read row by row, stopping with :class:`ImportFailed` at the first data row beyond ``max_rows``,
    so an oversized file costs no more than the limit. A malformed CSV (e.g. a bare carriage
    return inside a field) is a 422 on ``file``.
    """
    out: list[dict[str, str]] = []
    if filename.lower().endswith(".xlsx"):
        try:
            it = xlsx_rows(content)
            header = [str(h).strip() if h is not None else "" for h in next(it, ())]
            for row in it:
                if any(v is not None for v in row):
                    if len(out) >= max_rows:
                        raise _too_many_rows()
                    out.append({h: _cell(v) for h, v in zip(header, row, strict=False)})
        except (ImportFailed, FieldError):
            raise
        except Exception as exc:  # openpyxl raises many kinds for a corrupt file
            raise FieldError("file", f"not a readable .xlsx file: {exc}") from exc
        return out
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FieldError("file", "CSV must be UTF-8 encoded") from exc
    try:
        for r in csv.DictReader(io.StringIO(text, newline="")):
            if len(out) >= max_rows:
                raise _too_many_rows()
            out.append({k: v for k, v in r.items() if isinstance(k, str)})
    except csv.Error as exc:
        raise FieldError("file", f"not a readable CSV file: {exc}") from exc
    return out


def import_loans(session: Session, user: User, org: Organisation, rows: list[dict[str, str]]) -> list[Loan]:
    """All-or-nothing import: every row is validated first; any error → nothing is written.

    Each row is one draft loan with one pledged IP asset; the borrower (by credit code) and
    the asset (by type + identifier) are reused when the bank already has them; an asset
    already recorded (or named earlier in the file) for another borrower is a row error.
    Raises :class:`ImportFailed` with one entry per bad field: ``{row, field, message}``
    (row 2 is the first data row, as a spreadsheet shows it).
    """
    if not rows:
        raise ImportFailed([{"row": 1, "field": "file", "message": "no data rows"}])
    if len(rows) > MAX_IMPORT_ROWS:
        raise ImportFailed([{"row": MAX_IMPORT_ROWS + 2, "field": "file",
                             "message": f"{len(rows)} data rows; at most {MAX_IMPORT_ROWS} per file"}])
    missing = [c for c in IMPORT_COLUMNS if c not in rows[0]]
    if missing:
        raise ImportFailed([{"row": 1, "field": c, "message": "missing column"} for c in missing])
    errors: list[dict[str, Any]] = []
    parsed = []
    owners: dict[tuple[str, str], tuple[int, str]] = {}  # (ip_type, identifier) → first (row, credit code)
    for n, r in enumerate(rows, start=2):
        def v(k: str, r: dict[str, str] = r) -> str | None:
            x = (r.get(k) or "").strip()
            return x or None

        try:
            b = BorrowerCreate.model_validate({"name": v("borrower_name"), "credit_code": v("credit_code"),
                                               "region_code": v("region_code"), "industry": v("industry"),
                                               "size_class": v("size_class") or "small"})
        except ValidationError as exc:
            errors += [{"row": n, "field": _import_field(e), "message": e["msg"]} for e in exc.errors()]
            b = None
        try:
            a = IPAssetCreate.model_validate({"borrower_id": 0, "ip_type": v("ip_type"), "identifier": v("identifier"),
                                              "title": v("title"), "legal_status": v("legal_status") or "granted"})
        except ValidationError as exc:
            errors += [{"row": n, "field": _import_field(e), "message": e["msg"]} for e in exc.errors()]
            a = None
        try:
            ln = LoanCreate.model_validate({"borrower_id": 0, "collateral_ip_asset_ids": [0],
                                            "amount_cny": v("amount_cny"), "annual_rate": v("annual_rate"),
                                            "origination_date": v("origination_date"),
                                            "maturity_date": v("maturity_date")})
        except ValidationError as exc:
            errors += [{"row": n, "field": _import_field(e), "message": e["msg"]} for e in exc.errors()]
            ln = None
        if ln is not None and ln.amount_cny > MAX_AMOUNT_CNY:
            errors.append({"row": n, "field": "amount_cny", "message": f"must be at most {MAX_AMOUNT_CNY:,} CNY"})
        if a is not None and b is not None:
            key = (str(a.ip_type), a.identifier)
            holder = owners.setdefault(key, (n, b.credit_code))
            existing = session.exec(select(Borrower.credit_code).join(IPAsset, col(IPAsset.borrower_id) == Borrower.id)
                                    .where(IPAsset.owner_org_id == org.id, IPAsset.ip_type == a.ip_type,
                                           IPAsset.identifier == a.identifier)).first()
            if existing is not None and existing != b.credit_code:
                errors.append({"row": n, "field": "identifier", "message": f"{a.identifier} is already recorded "
                               f"for another borrower ({existing})"})
            elif holder[1] != b.credit_code:
                errors.append({"row": n, "field": "identifier", "message": f"{a.identifier} is given for "
                               f"another borrower in row {holder[0]} ({holder[1]})"})
        parsed.append((b, a, ln))
    if errors:
        raise ImportFailed(errors)
    loans = []
    borrowers: dict[str, Borrower] = {}
    for b, a, ln in parsed:
        assert b is not None and a is not None and ln is not None
        borrower = borrowers.get(b.credit_code) or session.exec(
            select(Borrower).where(Borrower.owner_org_id == org.id, Borrower.credit_code == b.credit_code)).first()
        if borrower is None:
            borrower = crud.create_borrower(session, user, b)
        borrowers[b.credit_code] = borrower
        asset = session.exec(select(IPAsset).where(IPAsset.owner_org_id == org.id, IPAsset.ip_type == a.ip_type,
                                                   IPAsset.identifier == a.identifier)).first()
        if asset is None:
            asset = crud.create_ip_asset(session, user, org, a.model_copy(update={"borrower_id": borrower.id}))
        loans.append(crud.create_loan(session, user, org, ln.model_copy(
            update={"borrower_id": borrower.id, "collateral_ip_asset_ids": [asset.id]})))
    return loans


def _import_field(e: Any) -> str:
    loc = [str(x) for x in e.get("loc", ()) if x != "__root__"]
    if loc:
        return loc[0]
    msg = str(e.get("msg", ""))
    # model-level validators name the field first: "Value error, maturity_date: must be ..."
    head = msg.split(", ", 1)[-1].split(":", 1)[0]
    return head if head and " " not in head else "row"


class ImportFailed(ValueError):
    """Rows that failed validation; nothing was imported."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s); nothing imported")
