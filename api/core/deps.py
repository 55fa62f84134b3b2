"""Request dependencies: database session, the caller (user and organisation), role checks.

Per request the caller costs one statement and one trip to the threadpool: :func:`get_caller`
decodes the token and loads the user with their organisation in one joined query, on the
request's session. ``get_current_user``, ``get_current_org`` and the :func:`require_role` checks
are plain ``async`` functions over that result (no I/O, so they run on the event loop instead of
each taking a worker thread), and the session is opened on the event loop (a ``Session`` touches
the database only when first used). Nothing is cached between requests: a password change or a
disable (``token_version`` + 1) refuses older tokens on the very next request, in every worker.
"""

from __future__ import annotations

import re
import types
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from inspect import isclass
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, HTTPException, Request, params, status
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from api.core.config import get_settings
from api.core.db import get_engine
from api.core.errors import field_error
from api.core.security import decode_token
from api.identity.models import Organisation, OrgKind, User, UserRole


async def request_session() -> AsyncIterator[Session]:
    """The request's session, closed when the request is done.

    Created on the event loop (no I/O until first used). Closing a session that still holds a
    connection (a read-only request: its transaction is rolled back, the connection returned to the
    pool) is a round trip to a PostgreSQL server, so it runs in the threadpool; on SQLite it is an
    in-process call (a read opens no transaction to roll back), done here.
    """
    engine = get_engine()
    session = Session(engine)
    try:
        yield session
    finally:
        if session.in_transaction() and engine.dialect.name != "sqlite":
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(request_session)]


oauth2_scheme = OAuth2PasswordBearer(tokenUrl=f"{get_settings().api_v1_str}/auth/token", auto_error=False)


_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _unauthorised(detail: str = "Not authenticated") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


_CALLER = (
    select(User, Organisation)
    .join(Organisation, col(Organisation.id) == col(User.organisation_id), isouter=True)
    .where(col(User.id) == bindparam("user_id"))
)
"""The user and their organisation by user id: one statement, built once."""


@dataclass(frozen=True)
class Caller:
    """Who is calling: the user and their organisation (``None`` only if the row was deleted by hand),
    both loaded on the request's session."""

    user: User
    org: Organisation | None


def get_caller(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Caller:
    """The caller, from a bearer token or (for read-only requests) the dashboard's session cookie.

    The cookie is accepted on safe methods only, so a forged cross-site form cannot
    change anything with it. A token issued before the user's last password change or
    disable (an older ``token_version``) is refused. One statement: the user joined to the
    organisation (outer join, so a missing organisation is reported as such, not as a missing user).
    """
    if token is None and request.method in _SAFE_METHODS:
        token = request.cookies.get(get_settings().session_cookie_name)
    if not token:
        raise _unauthorised()
    claims = decode_token(token)
    if claims is None:
        raise _unauthorised("Invalid or expired token")
    row = session.exec(_CALLER, params={"user_id": claims.user_id}).first()
    user, org = row if row is not None else (None, None)
    if user is None or not user.is_active:
        raise _unauthorised("Unknown or inactive user")
    if (user.token_version or 0) != claims.token_version:
        raise _unauthorised("Token revoked (password changed or user disabled); log in again")
    return Caller(user, org)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_current_user(caller: CallerDep) -> User:
    """The authenticated user (see :func:`get_caller`)."""
    return caller.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_org(caller: CallerDep) -> Organisation:
    """The authenticated user's organisation (see :func:`get_caller`)."""
    if caller.org is None:  # foreign key makes this impossible unless the row was deleted by hand
        raise _unauthorised("Organisation not found")
    return caller.org


CurrentOrg = Annotated[Organisation, Depends(get_current_org)]


def require_role(
    *org_kinds: OrgKind, user_roles: tuple[UserRole, ...] | None = None, allow_admin: bool = True
) -> Callable[..., Any]:
    """A dependency admitting users of the given organisation kinds (and user roles).

    Admin-organisation users pass unless ``allow_admin`` is false. Anyone else gets 403.
    """

    async def dependency(user: CurrentUser, org: CurrentOrg) -> User:
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
_LONG_INT = re.compile(r"[+-]?[0-9]{1,400}")
_INT64 = (-(2**63), 2**63 - 1)


def _scalar_types(annotation: Any) -> set[type]:
    """The plain classes in an annotation (``date | None`` → {date, NoneType})."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalar_types(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(_scalar_types(a) for a in get_args(annotation)))
    return {annotation} if isclass(annotation) else set()


@dataclass(frozen=True)
class _Check:
    """What :func:`value_problem` checks for one annotation: a strict date (which pattern), a 64-bit integer."""

    date_pattern: re.Pattern[str] | None
    int64: bool

    @classmethod
    def of(cls, annotation: Any) -> _Check:
        kinds = _scalar_types(annotation)
        strict_date = bool(kinds & {date, datetime}) and not kinds & {str, int, float}
        pattern = (_ISO_DATETIME if datetime in kinds else _ISO_DATE) if strict_date else None
        return cls(pattern, int in kinds and not kinds & {str, float})

    def problem(self, value: Any, loc: list[str | int]) -> dict[str, Any] | None:
        if value is None:
            return None
        if self.date_pattern is not None and (not isinstance(value, str) or not self.date_pattern.match(value)):
            return field_error(loc, "write the date as YYYY-MM-DD", "date_format")
        if (self.int64 and isinstance(value, str) and _LONG_INT.fullmatch(value) is not None
                and not _INT64[0] <= int(value) <= _INT64[1]):
            return field_error(loc, "integer out of range (must fit in 64 bits)", "int_out_of_range")
        return None


def value_problem(value: Any, annotation: Any, loc: list[str | int]) -> dict[str, Any] | None:
    """A 422 item when ``value`` is a lax spelling of a date or an integer beyond 64 bits."""
    return _Check.of(annotation).problem(value, loc)


_PLAN = "_ipfin_strict_plan"
"""Attribute of an :class:`APIRoute` holding its checks, worked out on its first request."""


def _plan(route: APIRoute) -> tuple[list[tuple[str, str, _Check]], list[tuple[str, _Check]] | None]:
    """The path and query parameters worth checking (``(where, alias, check)``) and, for a route with
    one JSON body model, its top-level fields (``(alias, check)``); computed once per route."""
    cached = route.__dict__.get(_PLAN)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    fields: list[tuple[str, str, _Check]] = []
    for field in get_flat_params(route.dependant):
        where = ("path" if isinstance(field.field_info, params.Path)
                 else "query" if isinstance(field.field_info, params.Query) else None)
        check = _Check.of(field.field_info.annotation)
        if where and (check.date_pattern or check.int64):
            fields.append((where, field.alias, check))
    body: list[tuple[str, _Check]] | None = None
    body_params = route.dependant.body_params
    model = body_params[0].field_info.annotation if len(body_params) == 1 else None
    if isclass(model) and issubclass(model, BaseModel):
        body = [(f.alias or name, _Check.of(f.annotation)) for name, f in model.model_fields.items()]
    plan = (fields, body)
    route.__dict__[_PLAN] = plan
    return plan


async def strict_params(request: Request) -> None:
    """422 naming the field for lax dates (``date=0``) and over-long integers in path, query and body."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    fields, body = _plan(route)
    errors: list[dict[str, Any]] = []
    for where, alias, check in fields:
        if where == "path":
            values = [request.path_params[alias]] if alias in request.path_params else []
        else:
            values = request.query_params.getlist(alias)
        errors.extend(e for v in values if (e := check.problem(v, [where, alias])))
    if body is not None:
        errors.extend(await _body_problems(request, body))
    if errors:
        raise RequestValidationError(errors)


async def _body_problems(request: Request, fields: list[tuple[str, _Check]]) -> list[dict[str, Any]]:
    """The same check on the top-level fields of a JSON body model."""
    if "json" not in request.headers.get("content-type", ""):
        return []
    try:
        body = await request.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    return [e for alias, check in fields if alias in body and (e := check.problem(body[alias], ["body", alias]))]
