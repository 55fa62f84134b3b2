from fastapi import APIRouter, Depends, status
from sqlmodel import col, select

from api import crud
from api.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.models import Organisation, OrgKind
from api.models.core import OrganisationCreate, OrganisationPublic

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("", response_model=list[OrganisationPublic])
def list_organisations(session: SessionDep, org: CurrentOrg, kind: OrgKind | None = None) -> list[Organisation]:
    """All organisations (names and kinds are not secret: banks pick guarantors from this list)."""
    q = select(Organisation).order_by(col(Organisation.id))
    if kind:
        q = q.where(Organisation.kind == kind)
    return list(session.exec(q).all())


@router.get("/{org_id}", response_model=OrganisationPublic)
def read_organisation(session: SessionDep, org: CurrentOrg, org_id: int) -> Organisation:
    o = session.get(Organisation, org_id)
    if o is None:
        raise crud.NotFound("organisation not found")
    return o


@router.post(
    "",
    response_model=OrganisationPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role(OrgKind.admin))],
)
def create_organisation(session: SessionDep, user: CurrentUser, body: OrganisationCreate) -> Organisation:
    o = crud.create_organisation(session, user, body)
    session.commit()
    session.refresh(o)
    return o
