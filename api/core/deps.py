"""Request dependencies: database session, current user, role checks."""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from datetime import date, datetime
from inspect import isclass
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, HTTPException, Request, params, status
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from sqlmodel import Session

from api.core.config import get_settings
from api.core.db import get_session
from api.core.errors import field_error
from api.core.security import decode_token
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
    change anything with it. A token issued before the user's last password change or
    disable (an older ``token_version``) is refused.
    """
    if token is None and request.method in _SAFE_METHODS:
        token = request.cookies.get(get_settings().session_cookie_name)
    if not token:
        raise _unauthorised()
    claims = decode_token(token)
    if claims is None:
        raise _unauthorised("Invalid or expired token")
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise _unauthorised("Unknown or inactive user")
    if (user.token_version or 0) != claims.token_version:
        raise _unauthorised("Token revoked (password changed or user disabled); log in again")
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


# ------------------------------------------------------------------ strict parameters
# pydantic in lax mode reads ``date=0`` as 1970-01-01 and lets ``loan_id=99999999999999999999``
# reach the database (an overflow there). Every API route runs this check first (api.router).

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_INT64 = (-(2**63), 2**63 - 1)


def _scalar_types(annotation: Any) -> set[type]:
    """The plain classes in an annotation (``date | None`` → {date, NoneType})."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalar_types(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(_scalar_types(a) for a in get_args(annotation)))
    return {annotation} if isclass(annotation) else set()


def value_problem(value: Any, annotation: Any, loc: list[str | int]) -> dict[str, Any] | None:
    """A 422 item when ``value`` is a lax spelling of a date or an integer beyond 64 bits."""
    if value is None:
        return None
    kinds = _scalar_types(annotation)
    if kinds & {date, datetime} and not kinds & {str, int, float}:
        pattern = _ISO_DATETIME if datetime in kinds else _ISO_DATE
        if not isinstance(value, str) or not pattern.match(value):
            return field_error(loc, "write the date as YYYY-MM-DD", "date_format")
    long_int = isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,400}", value) is not None
    if int in kinds and not kinds & {str, float} and long_int and not _INT64[0] <= int(value) <= _INT64[1]:
        return field_error(loc, "integer out of range (must fit in 64 bits)", "int_out_of_range")
    return None


async def strict_params(request: Request) -> None:
    """422 naming the field for lax dates (``date=0``) and over-long integers in path, query and body."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    errors: list[dict[str, Any]] = []
    for field in get_flat_params(route.dependant):
        if isinstance(field.field_info, params.Path):
            values = [request.path_params[field.alias]] if field.alias in request.path_params else []
            where = "path"
        elif isinstance(field.field_info, params.Query):
            values, where = request.query_params.getlist(field.alias), "query"
        else:
            continue
        errors.extend(e for v in values if (e := value_problem(v, field.field_info.annotation, [where, field.alias])))
    errors.extend(await _body_problems(request, route))
    if errors:
        raise RequestValidationError(errors)


async def _body_problems(request: Request, route: APIRoute) -> list[dict[str, Any]]:
    """The same check on the top-level fields of a JSON body model."""
    body_params = route.dependant.body_params
    if len(body_params) != 1 or "json" not in request.headers.get("content-type", ""):
        return []
    model = body_params[0].field_info.annotation
    if not (isclass(model) and issubclass(model, BaseModel)):
        return []
    try:
        body = await request.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    found = []
    for name, f in model.model_fields.items():
        alias = f.alias or name
        if alias in body and (e := value_problem(body[alias], f.annotation, ["body", alias])):
            found.append(e)
    return found
