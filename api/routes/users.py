from fastapi import APIRouter, Depends, HTTPException, status
from sqlmodel import col, select

from api import crud
from api.core.security import verify_password
from api.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.models import OrgKind, User
from api.models.core import OrganisationPublic, UserCreate, UserMe, UserPasswordUpdate, UserPublic

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=UserMe)
def read_me(user: CurrentUser, org: CurrentOrg) -> UserMe:
    """The caller and their organisation."""
    return UserMe(**UserPublic.model_validate(user).model_dump(), organisation=OrganisationPublic.model_validate(org))


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(session: SessionDep, user: CurrentUser, body: UserPasswordUpdate) -> None:
    if not verify_password(body.current_password, user.hashed_password):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "current_password: incorrect")
    crud.set_password(session, user, body.new_password)
    session.commit()


@router.get("", response_model=list[UserPublic])
def list_users(session: SessionDep, user: CurrentUser, org: CurrentOrg) -> list[User]:
    """Users of the caller's organisation (all users for admins)."""
    q = select(User).order_by(col(User.id))
    if org.kind != OrgKind.admin:
        q = q.where(User.organisation_id == user.organisation_id)
    return list(session.exec(q).all())


@router.post(
    "",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role(OrgKind.admin))],
)
def create_user(session: SessionDep, user: CurrentUser, body: UserCreate) -> User:
    """Create a user (admin only)."""
    new = crud.create_user(session, user, body)
    session.commit()
    session.refresh(new)
    return new
