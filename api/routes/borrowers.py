from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import func
from sqlmodel import col, select

from api import crud
from api.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.models import Borrower, OrgKind, UserRole
from api.models.core import BorrowerCreate, BorrowerPublic, BorrowersPage
from api.tenancy import borrower_visibility

router = APIRouter(prefix="/borrowers", tags=["borrowers"])

BankStaff = Depends(require_role(OrgKind.bank, user_roles=(UserRole.officer, UserRole.approver)))


@router.post("", response_model=BorrowerPublic, status_code=status.HTTP_201_CREATED, dependencies=[BankStaff])
def create_borrower(session: SessionDep, user: CurrentUser, body: BorrowerCreate) -> Borrower:
    """Register a borrowing enterprise (credit code checked by GB 32100-2015)."""
    b = crud.create_borrower(session, user, body)
    session.commit()
    session.refresh(b)
    return b


@router.get("", response_model=BorrowersPage)
def list_borrowers(
    session: SessionDep,
    org: CurrentOrg,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> BorrowersPage:
    cond = borrower_visibility(org)
    total = session.exec(select(func.count()).select_from(Borrower).where(cond)).one()
    rows = session.exec(select(Borrower).where(cond).order_by(col(Borrower.id)).offset(offset).limit(limit)).all()
    return BorrowersPage(count=total, offset=offset, limit=limit, data=[BorrowerPublic.model_validate(r) for r in rows])


@router.get("/{borrower_id}", response_model=BorrowerPublic)
def read_borrower(session: SessionDep, org: CurrentOrg, borrower_id: int) -> Borrower:
    return crud.get_borrower(session, org, borrower_id)
