"""Identity routes: log in (token), users, organisations."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import col, select

from api.audit import service as audit
from api.core import errors as core_errors
from api.core.config import get_settings
from api.core.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.core.errors import ErrorResponse
from api.core.security import create_access_token, verify_password
from api.identity import service as identity_service
from api.identity.models import Organisation, OrgKind, User
from api.identity.schemas import (
    OrganisationCreate,
    OrganisationPublic,
    Token,
    UserCreate,
    UserMe,
    UserPasswordUpdate,
    UserPublic,
)

auth_router = APIRouter(prefix="/auth", tags=["auth"])


def _address(request: Request) -> str:
    """The client address the login throttle counts (the proxy's, unless uvicorn trusts its headers)."""
    return request.client.host if request.client else "unknown"


def _throttled(exc: identity_service.LoginThrottled) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": str(exc.retry_after)})


@auth_router.post(
    "/token",
    response_model=Token,
    responses={429: {"model": ErrorResponse, "description": "Too many failed logins (see Retry-After)"}},
)
def login_for_access_token(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password flow: email as ``username`` and password → bearer token.

    Throttled per account and per client address (429 with Retry-After); every attempt is audited.
    """
    try:
        user = identity_service.login(session, form.username, form.password, _address(request))
    except identity_service.LoginThrottled as exc:
        raise _throttled(exc) from exc
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Incorrect email or password", headers={"WWW-Authenticate": "Bearer"}
        )
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Inactive user")
    token, expires_in = create_access_token(user.id, token_version=user.token_version)  # type: ignore[arg-type]
    audit.record(session, user, "user", user.id, "login")
    session.commit()
    return Token(access_token=token, expires_in=expires_in)


@auth_router.post("/session", status_code=status.HTTP_303_SEE_OTHER, response_class=RedirectResponse)
def login_session(
    request: Request,
    session: SessionDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/dashboard/",
) -> Response:
    """Dashboard login: sets the token as a secure HttpOnly cookie and redirects (303).

    The cookie authenticates read-only requests only (see ``api.deps.get_current_user``); it is
    ``Secure`` unless in demo mode. A failed login redirects back to the login page with
    ``?error=1``; a throttled one with ``?error=throttled`` and a Retry-After header.
    """
    settings = get_settings()
    target = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/dashboard/"
    try:
        user = identity_service.login(session, form.username, form.password, _address(request))
    except identity_service.LoginThrottled as exc:
        return RedirectResponse("/dashboard/login?error=throttled", status_code=status.HTTP_303_SEE_OTHER,
                                headers={"Retry-After": str(exc.retry_after)})
    if user is None or not user.is_active:
        return RedirectResponse("/dashboard/login?error=1", status_code=status.HTTP_303_SEE_OTHER)
    token, expires_in = create_access_token(user.id, token_version=user.token_version)  # type: ignore[arg-type]
    audit.record(session, user, "user", user.id, "login_session")
    session.commit()
    resp = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    resp.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=expires_in,
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="strict",
        path="/",
    )
    return resp


@auth_router.post("/logout", status_code=status.HTTP_303_SEE_OTHER, response_class=RedirectResponse)
def logout_session() -> Response:
    """Clear the dashboard session cookie."""
    resp = RedirectResponse("/dashboard/login", status_code=status.HTTP_303_SEE_OTHER)
    resp.delete_cookie(get_settings().session_cookie_name, path="/")
    return resp


users_router = APIRouter(prefix="/users", tags=["users"])


@users_router.get("/me", response_model=UserMe)
def read_me(user: CurrentUser, org: CurrentOrg) -> UserMe:
    """The caller and their organisation."""
    return UserMe(**UserPublic.model_validate(user).model_dump(), organisation=OrganisationPublic.model_validate(org))


@users_router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={400: {"model": ErrorResponse, "description": "The current password is wrong"}},
)
def change_password(session: SessionDep, user: CurrentUser, body: UserPasswordUpdate) -> None:
    """Change the caller's password; every token issued before (this one included) stops working."""
    if not verify_password(body.current_password, user.hashed_password):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "current_password: incorrect")
    identity_service.set_password(session, user, body.new_password)
    session.commit()


@users_router.get("", response_model=list[UserPublic])
def list_users(session: SessionDep, user: CurrentUser, org: CurrentOrg) -> list[User]:
    """Users of the caller's organisation (all users for admins)."""
    q = select(User).order_by(col(User.id))
    if org.kind != OrgKind.admin:
        q = q.where(User.organisation_id == user.organisation_id)
    return list(session.exec(q).all())


@users_router.post(
    "",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role(OrgKind.admin))],
)
def create_user(session: SessionDep, user: CurrentUser, body: UserCreate) -> User:
    """Create a user (admin only)."""
    new = identity_service.create_user(session, user, body)
    session.commit()
    session.refresh(new)
    return new


@users_router.post(
    "/{user_id}/disable",
    response_model=UserPublic,
    dependencies=[Depends(require_role(OrgKind.admin))],
)
def disable_user(session: SessionDep, user: CurrentUser, user_id: int) -> User:
    """Disable a user (admin only): they cannot log in and their tokens stop working at once."""
    target = identity_service.set_active(session, user, user_id, active=False)
    session.commit()
    session.refresh(target)
    return target


@users_router.post(
    "/{user_id}/enable",
    response_model=UserPublic,
    dependencies=[Depends(require_role(OrgKind.admin))],
)
def enable_user(session: SessionDep, user: CurrentUser, user_id: int) -> User:
    """Enable a user again (admin only); tokens from before the disable stay revoked."""
    target = identity_service.set_active(session, user, user_id, active=True)
    session.commit()
    session.refresh(target)
    return target


organisations_router = APIRouter(prefix="/organisations", tags=["organisations"])


@organisations_router.get("", response_model=list[OrganisationPublic])
def list_organisations(session: SessionDep, org: CurrentOrg, kind: OrgKind | None = None) -> list[Organisation]:
    """All organisations (names and kinds are not secret: banks pick guarantors from this list)."""
    q = select(Organisation).order_by(col(Organisation.id))
    if kind:
        q = q.where(Organisation.kind == kind)
    return list(session.exec(q).all())


@organisations_router.get("/{org_id}", response_model=OrganisationPublic)
def read_organisation(session: SessionDep, org: CurrentOrg, org_id: int) -> Organisation:
    o = session.get(Organisation, org_id)
    if o is None:
        raise core_errors.NotFound("organisation not found")
    return o


@organisations_router.post(
    "",
    response_model=OrganisationPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role(OrgKind.admin))],
)
def create_organisation(session: SessionDep, user: CurrentUser, body: OrganisationCreate) -> Organisation:
    o = identity_service.create_organisation(session, user, body)
    session.commit()
    session.refresh(o)
    return o
