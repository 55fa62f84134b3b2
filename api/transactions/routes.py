"""IP transaction register API: record, read, change and delete transactions; CSV/Excel import (all or
nothing) and export; volumes by pricing method and trading mode for the bureau.

Every authenticated organisation reads the register (transactions are market facts); officers and
approvers of any organisation record transactions; only the recording organisation (or an admin)
changes or deletes them (403 otherwise).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Response, UploadFile, status

from api.core.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.identity.models import UserRole
from api.pledge import io as pledge_io
from api.pledge.service import today
from api.transactions import io as tx_io
from api.transactions import reports
from api.transactions import service as crud
from api.transactions.models import TransactionSource
from api.transactions.schemas import (
    ImportResult,
    IPTransactionCreate,
    IPTransactionPublic,
    IPTransactionsPage,
    IPTransactionUpdate,
    VolumeReport,
)
from ipfin.validation import IndustrySection
from valuation.assets import IPType
from valuation.transactions import PricingMethod, TradingMode, TransactionKind

router = APIRouter(prefix="/ip-transactions", tags=["ip-transactions"])

Recorder = Depends(require_role(user_roles=(UserRole.officer, UserRole.approver)))


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except crud.ForbiddenEdit as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from exc
    except pledge_io.ImportFailed as exc:
        raise HTTPException(422, detail={"message": str(exc), "errors": exc.errors}) from exc


def _filters(
    ip_type: IPType | None = None,
    kind: TransactionKind | None = None,
    pricing_method: PricingMethod | None = None,
    trading_mode: TradingMode | None = None,
    industry: IndustrySection | None = None,
    source: TransactionSource | None = None,
    owner_org_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    region_prefix: Annotated[str | None, Query(pattern=r"^\d{1,6}$")] = None,
    class_code: Annotated[str | None, Query(max_length=40, description="IPC / Nice / Locarno code prefix")] = None,
) -> dict[str, Any]:
    if date_from is not None and date_to is not None and date_to < date_from:
        raise HTTPException(422, detail=[{"loc": ["query", "date_to"], "msg": "date_to is before date_from",
                                          "type": "value_error"}])
    return {"ip_type": ip_type, "kind": kind, "pricing_method": pricing_method, "trading_mode": trading_mode,
            "industry": industry, "source": source, "owner_org_id": owner_org_id, "date_from": date_from,
            "date_to": date_to, "region_prefix": region_prefix, "class_code": class_code}


Filters = Annotated[dict[str, Any], Depends(_filters)]


@router.get("", response_model=IPTransactionsPage)
def list_transactions(session: SessionDep, user: CurrentUser, filters: Filters,
                      offset: Annotated[int, Query(ge=0)] = 0,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> IPTransactionsPage:
    """The register (every organisation's transactions), filtered, newest first."""
    total, rows = crud.list_transactions(session, filters, offset, limit)
    return IPTransactionsPage(count=total, offset=offset, limit=limit,
                              data=[IPTransactionPublic.model_validate(r) for r in rows])


@router.post("", response_model=IPTransactionPublic, status_code=status.HTTP_201_CREATED, dependencies=[Recorder])
def create_transaction(session: SessionDep, user: CurrentUser, body: IPTransactionCreate) -> IPTransactionPublic:
    """Record one transaction (price in CNY, stored in fen)."""
    row = crud.create_transaction(session, user, body)
    session.commit()
    session.refresh(row)
    return IPTransactionPublic.model_validate(row)


@router.post("/import", response_model=ImportResult, status_code=status.HTTP_201_CREATED, dependencies=[Recorder])
def import_transactions(session: SessionDep, user: CurrentUser,
                        file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx")]) -> ImportResult:
    """Import transactions, all or nothing: any bad row → 422 listing every error by row and field.

    Columns: id, kind, price_cny (or price_fen), date, ip_type, class, industry, region_code,
    pricing_method, trading_mode, remaining_life_years, quality_score, optional asset_count. Enum
    columns take the value or its Chinese label (协议定价, 挂牌转让, 收储 …). Audited as one event."""
    content = pledge_io.read_upload(file.file)
    with _errors():
        rows = pledge_io.read_table(file.filename or "upload.csv", content)
        out = tx_io.import_transactions(session, user, rows, today())
    session.commit()
    return ImportResult(imported=len(out), transaction_ids=[int(r.id) for r in out])  # type: ignore[arg-type]


@router.get("/export", response_class=Response, responses={200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}})  # noqa: E501
def export_transactions(session: SessionDep, user: CurrentUser, filters: Filters,
                        format: Literal["csv", "xlsx"] = "csv") -> Response:
    """The register (filtered) as CSV (UTF-8 with BOM) or Excel, in the import format."""
    _total, rows = crud.list_transactions(session, filters, 0, pledge_io.MAX_IMPORT_ROWS * 20)
    data = tx_io.export_rows(rows)
    if format == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(tx_io.EXPORT_COLUMNS)
        for r in data:
            ws.append([x if isinstance(x, int | float) else str(x) for x in r])
        buf = io.BytesIO()
        wb.save(buf)
        return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="ip_transactions.xlsx"'})
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(tx_io.EXPORT_COLUMNS)
    w.writerows(data)
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="ip_transactions.csv"'})


@router.get("/reports/volumes", response_model=VolumeReport)
def volumes(session: SessionDep, user: CurrentUser, filters: Filters) -> VolumeReport:
    """Transaction counts and values (fen) by pricing method and by trading mode (and crossed)."""
    return reports.volumes(session, filters)


@router.get("/{transaction_id}", response_model=IPTransactionPublic)
def read_transaction(session: SessionDep, user: CurrentUser, transaction_id: int) -> IPTransactionPublic:
    return IPTransactionPublic.model_validate(crud.get_transaction(session, transaction_id))


@router.patch("/{transaction_id}", response_model=IPTransactionPublic, dependencies=[Recorder])
def update_transaction(session: SessionDep, user: CurrentUser, org: CurrentOrg, transaction_id: int,
                       body: IPTransactionUpdate) -> IPTransactionPublic:
    """Change a transaction your organisation recorded (403 for another's; 409 for a disposal's)."""
    with _errors():
        row = crud.update_transaction(session, user, org, transaction_id, body)
    session.commit()
    session.refresh(row)
    return IPTransactionPublic.model_validate(row)


@router.delete("/{transaction_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Recorder])
def delete_transaction(session: SessionDep, user: CurrentUser, org: CurrentOrg, transaction_id: int) -> Response:
    """Delete a transaction your organisation recorded (403 for another's; 409 for a disposal's)."""
    with _errors():
        crud.delete_transaction(session, user, org, transaction_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
