"""Request dependencies: database session, current user, role checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from api.core.config import get_settings
from api.core.db import get_session
from api.core.security import decode_access_token
from api.identity.models import Organisation, OrgKind, User, UserRole

SessionDep = Annotated[Session, Depends(get_session)]


oauth2_scheme = OAuth2PasswordBearer(tokenUrl=f"{get_settings().api_v1_str}/auth/token", auto_error=False)


_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _unauthorised(detail: str = "Not authenticated") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def get_current_user(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    """The caller, from a bearer token or (for read-only requests) the dashboard's session cookie.

    The cookie is accepted on safe methods only, so a forged cross-site form cannot
    change anything with it.
    """
    if token is None and request.method in _SAFE_METHODS:
        token = request.cookies.get(get_settings().session_cookie_name)
    if not token:
        raise _unauthorised()
    user_id = decode_access_token(token)
    if user_id is None or not user_id.isdigit():
        raise _unauthorised("Invalid or expired token")
    user = session.get(User, int(user_id))
    if user is None or not user.is_active:
        raise _unauthorised("Unknown or inactive user")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_current_org(session: SessionDep, user: CurrentUser) -> Organisation:
    org = session.get(Organisation, user.organisation_id)
    if org is None:  # foreign key makes this impossible unless the row was deleted by hand
        raise _unauthorised("Organisation not found")
    return org


CurrentOrg = Annotated[Organisation, Depends(get_current_org)]


def require_role(
    *org_kinds: OrgKind, user_roles: tuple[UserRole, ...] | None = None, allow_admin: bool = True
) -> Callable[..., User]:
    """A dependency admitting users of the given organisation kinds (and user roles).

    Admin-organisation users pass unless ``allow_admin`` is false. Anyone else gets 403.
    """

    def dependency(user: CurrentUser, org: CurrentOrg) -> User:
        if allow_admin and org.kind == OrgKind.admin:
            return user
        if org_kinds and org.kind not in org_kinds:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"requires an organisation of kind {', '.join(k.value for k in org_kinds)}",
            )
        if user_roles and user.role not in user_roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"requires role {', '.join(r.value for r in user_roles)}"
            )
        return user

    return dependency
