"""Organisations, users, passwords and authentication (with login throttling and token revocation).

Login throttling: every failed login is a row in ``login_failure`` (account and client address);
an account with ``IPFIN_LOGIN_MAX_FAILURES_PER_ACCOUNT`` failures, or an address with
``IPFIN_LOGIN_MAX_FAILURES_PER_ADDRESS``, within the last ``IPFIN_LOGIN_WINDOW_SECONDS`` is refused
(HTTP 429 with Retry-After) without checking the password, until the oldest failure leaves the
window. The counters live in the database so that every server worker sees the same ones.
Every login, failed login and refused (throttled) login is written to the audit log.
"""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.config import get_settings
from api.core.db import get_engine, utcnow
from api.core.errors import Conflict, NotFound
from api.core.security import decode_token, hash_password, verify_password
from api.identity.models import LoginFailure, Organisation, User
from api.identity.schemas import OrganisationCreate, UserCreate


class LoginThrottled(Exception):
    """Too many failed logins for the account or the address: retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after} s")
        self.retry_after = retry_after


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(func.lower(User.email) == email.lower())).first()


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = get_user_by_email(session, email)
    if user is None:
        verify_password(password, _DUMMY_HASH)  # same work either way: no user enumeration by timing
        return None
    return user if verify_password(password, user.hashed_password) else None


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _retry_after(session: Session, column: object, key: str, limit: int, now: datetime) -> int | None:
    """Seconds until ``key`` is below ``limit`` failures in the window, or None if it is already."""
    window = timedelta(seconds=get_settings().login_window_seconds)
    times = session.exec(
        select(LoginFailure.at).where(column == key, col(LoginFailure.at) > now - window).order_by(col(LoginFailure.at))
    ).all()
    if len(times) < limit:
        return None
    frees_at = _aware(times[len(times) - limit]) + window
    return max(1, math.ceil((frees_at - now).total_seconds()))


def _account(email: str) -> str:
    return email.strip().lower()[:255]


def login(session: Session, email: str, password: str, address: str) -> User | None:
    """The user for these credentials, or None (failure recorded and audited, then committed).

    Raises :class:`LoginThrottled` (audited and committed) when the account or the address has
    too many recent failures, whether or not the password is right. An inactive user's correct
    password returns the user: the caller refuses it.
    """
    settings = get_settings()
    now, account, address = utcnow(), _account(email), address[:64]
    waits = [
        _retry_after(session, LoginFailure.account, account, settings.login_max_failures_per_account, now),
        _retry_after(session, LoginFailure.address, address, settings.login_max_failures_per_address, now),
    ]
    known = get_user_by_email(session, email)
    facts = {"account": account, "address": address}
    if any(w is not None for w in waits):
        retry = max(w for w in waits if w is not None)
        _audit_attempt(session, known, "login_throttled", {**facts, "retry_after_s": retry})
        session.commit()
        raise LoginThrottled(retry)
    user = authenticate(session, email, password)
    if user is None:
        session.add(LoginFailure(at=now, account=account, address=address))
        window = timedelta(seconds=settings.login_window_seconds)
        session.execute(delete(LoginFailure).where(col(LoginFailure.at) < now - window))
        _audit_attempt(session, known, "login_failed", {**facts, "reason": "unknown email" if known is None
                                                         else "wrong password"})
        session.commit()
        return None
    if user.is_active:
        session.execute(delete(LoginFailure).where(col(LoginFailure.account) == account))
    else:
        _audit_attempt(session, user, "login_failed", {**facts, "reason": "inactive user"})
        session.commit()
    return user


def _audit_attempt(session: Session, user: User | None, action: str, facts: dict[str, object]) -> None:
    """An audit event for a login attempt; nobody is authenticated, so there is no actor."""
    audit.record(session, None, "user", user.id if user else "-", action, after=facts)


def create_organisation(session: Session, actor: User | None, data: OrganisationCreate) -> Organisation:
    org = Organisation.model_validate(data)
    session.add(org)
    session.flush()
    audit.record(session, actor, "organisation", org.id, "create", after=org)
    return org


def create_user(session: Session, actor: User | None, data: UserCreate) -> User:
    if session.get(Organisation, data.organisation_id) is None:
        raise NotFound("organisation_id: no such organisation")
    if get_user_by_email(session, data.email):
        raise Conflict("email: a user with this email already exists")
    user = User.model_validate(data, update={"hashed_password": hash_password(data.password)})
    session.add(user)
    session.flush()
    audit.record(session, actor, "user", user.id, "create", after=user)
    return user


def set_password(session: Session, user: User, new_password: str) -> None:
    """Change the password and revoke every token issued before (``token_version`` + 1)."""
    user.hashed_password = hash_password(new_password)
    user.token_version = (user.token_version or 0) + 1
    session.add(user)
    audit.record(session, user, "user", user.id, "change_password")


def set_active(session: Session, actor: User, user_id: int, active: bool) -> User:
    """Enable or disable a user (admins); disabling revokes their tokens. 404 unknown, 409 yourself."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user_id: no such user")
    if user.id == actor.id and not active:
        raise Conflict("user_id: you cannot disable your own account")
    before = audit.snapshot(user)
    if user.is_active != active:
        user.is_active = active
        if not active:
            user.token_version = (user.token_version or 0) + 1
        session.add(user)
        session.flush()
        audit.record(session, actor, "user", user.id, "enable" if active else "disable", before=before, after=user)
    return user


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a token belongs to, if the token is valid and not revoked."""
    claims = decode_token(token)
    if claims is None:
        return None
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active or (user.token_version or 0) != claims.token_version:
        return None
    return user


def active_user_from_token(token: str | None) -> tuple[User, Organisation] | None:
    """The active user behind a session token and their organisation, detached from the session
    (None when the token is missing, forged, expired or revoked, or the user is inactive)."""
    if not token:
        return None
    with Session(get_engine()) as s:
        user = user_for_token(s, token)
        if user is None:
            return None
        org = s.get(Organisation, user.organisation_id)
        if org is None:
            return None
        s.expunge(user)
        s.expunge(org)
        return user, org
