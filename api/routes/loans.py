from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api import crud
from api.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.models import Loan, LoanStatus, OrgKind, UserRole
from api.models.core import LoanCreate, LoanPublic, LoansPage
from ipfin.validation import IndustrySection, RegionCode

router = APIRouter(prefix="/loans", tags=["loans"])


@router.post(
    "",
    response_model=LoanPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role(OrgKind.bank, user_roles=(UserRole.officer,), allow_admin=False))],
)
def create_loan(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: LoanCreate) -> Loan:
    """Open a draft pledge loan for one of the bank's borrowers, pledging their IP assets."""
    loan = crud.create_loan(session, user, org, body)
    session.commit()
    session.refresh(loan)
    return loan


@router.get("", response_model=LoansPage)
def list_loans(
    session: SessionDep,
    org: CurrentOrg,
    status_: Annotated[LoanStatus | None, Query(alias="status")] = None,
    province_code: RegionCode | None = None,
    industry: IndustrySection | None = None,
    bank_org_id: int | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LoansPage:
    """Loans the caller may see, filtered and paginated (``count`` is the total matching)."""
    total, rows = crud.list_loans(
        session,
        org,
        status=status_,
        province_code=province_code,
        industry=industry,
        bank_org_id=bank_org_id,
        offset=offset,
        limit=limit,
    )
    return LoansPage(count=total, offset=offset, limit=limit, data=[LoanPublic.model_validate(r) for r in rows])


@router.get("/{loan_id}", response_model=LoanPublic)
def read_loan(session: SessionDep, org: CurrentOrg, loan_id: int) -> Loan:
    return crud.get_loan(session, org, loan_id)
