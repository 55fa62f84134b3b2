"""Organisations, users, passwords and authentication."""

from __future__ import annotations

import secrets

from sqlalchemy import func
from sqlmodel import Session, select

from api.audit import service as audit
from api.core.db import get_engine
from api.core.errors import Conflict, NotFound
from api.core.security import decode_access_token, hash_password, verify_password
from api.identity.models import Organisation, User
from api.identity.schemas import OrganisationCreate, UserCreate


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(func.lower(User.email) == email.lower())).first()


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = get_user_by_email(session, email)
    if user is None:
        verify_password(password, _DUMMY_HASH)  # same work either way: no user enumeration by timing
        return None
    return user if verify_password(password, user.hashed_password) else None


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


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
    user.hashed_password = hash_password(new_password)
    session.add(user)
    audit.record(session, user, "user", user.id, "change_password")


def active_user_from_token(token: str | None) -> tuple[User, Organisation] | None:
    """The active user behind a session token and their organisation, detached from the session
    (None when the token is missing, forged or expired, or the user is inactive)."""
    if not token:
        return None
    sub = decode_access_token(token)
    if sub is None or not sub.isdigit():
        return None
    with Session(get_engine()) as s:
        user = s.get(User, int(sub))
        if user is None or not user.is_active:
            return None
        org = s.get(Organisation, user.organisation_id)
        if org is None:
            return None
        s.expunge(user)
        s.expunge(org)
        return user, org
