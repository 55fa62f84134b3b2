from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import func
from sqlmodel import col, select

from api import crud
from api.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.models import IPAsset, OrgKind, UserRole
from api.models.core import IPAssetCreate, IPAssetPublic, IPAssetsPage
from api.tenancy import ip_asset_visibility

router = APIRouter(prefix="/ip-assets", tags=["ip-assets"])

BankStaff = Depends(require_role(OrgKind.bank, user_roles=(UserRole.officer, UserRole.approver)))


@router.post("", response_model=IPAssetPublic, status_code=status.HTTP_201_CREATED, dependencies=[BankStaff])
def create_ip_asset(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: IPAssetCreate) -> IPAsset:
    """Register an IP asset of a borrower (patent numbers checked: format, type digit, check digit)."""
    a = crud.create_ip_asset(session, user, org, body)
    session.commit()
    session.refresh(a)
    return a


@router.get("", response_model=IPAssetsPage)
def list_ip_assets(
    session: SessionDep,
    org: CurrentOrg,
    borrower_id: int | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> IPAssetsPage:
    conds = [ip_asset_visibility(org)]
    if borrower_id is not None:
        conds.append(IPAsset.borrower_id == borrower_id)  # type: ignore[arg-type]
    total = session.exec(select(func.count()).select_from(IPAsset).where(*conds)).one()
    rows = session.exec(select(IPAsset).where(*conds).order_by(col(IPAsset.id)).offset(offset).limit(limit)).all()
    return IPAssetsPage(count=total, offset=offset, limit=limit, data=[IPAssetPublic.model_validate(r) for r in rows])


@router.get("/{asset_id}", response_model=IPAssetPublic)
def read_ip_asset(session: SessionDep, org: CurrentOrg, asset_id: int) -> IPAsset:
    return crud.get_ip_asset(session, org, asset_id)
