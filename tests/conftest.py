"""Shared fixtures: a migrated test database (SQLite, or PostgreSQL when
``IPFIN_TEST_DATABASE_URL`` is set), the ASGI app, and factories for organisations,
users and auth headers. Every test that touches the database is marked ``db``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TEST_SECRET = "test-secret-key-for-ipfin-tests-only-0123456789"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("IPFIN_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'ipfin-test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Any]:
    """A freshly migrated database for the whole test session."""
    os.environ["IPFIN_DATABASE_URL"] = database_url
    os.environ["IPFIN_SECRET_KEY"] = TEST_SECRET
    os.environ["IPFIN_DEMO_MODE"] = "false"
    from api.core.config import reset_settings
    from api.core.db import make_engine, set_engine, upgrade

    reset_settings()
    eng = make_engine(database_url)
    if eng.dialect.name == "postgresql":
        with eng.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    else:
        path = Path(eng.url.database or "")
        if path.exists():
            path.unlink()
    set_engine(eng)
    upgrade(eng)
    yield eng
    set_engine(None)


@pytest.fixture(scope="session")
def app(engine: Any) -> Any:
    from ipfin_app.server import create_app

    return create_app(migrate=False)


@pytest.fixture(scope="session")
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as c:  # the session cookie is Secure
        yield c


@pytest.fixture
def session(engine: Any) -> Iterator[Any]:
    from sqlmodel import Session

    with Session(engine) as s:
        yield s


TEST_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def _password_hash() -> str:
    from api.core.security import hash_password

    return hash_password(TEST_PASSWORD)


@dataclass
class Actor:
    """A test user with their organisation and ready-made auth headers."""

    user: Any
    org: Any

    @property
    def headers(self) -> dict[str, str]:
        from api.core.security import create_access_token

        token, _ = create_access_token(self.user.id)
        return {"Authorization": f"Bearer {token}"}

    @property
    def id(self) -> int:
        return int(self.user.id)


@pytest.fixture
def make_org(engine: Any) -> Callable[..., Any]:
    """``make_org(kind, region_code=None, name=None)`` → a committed Organisation."""
    from sqlmodel import Session

    from api.identity.models import Organisation

    def factory(kind: str, region_code: str | None = None, name: str | None = None) -> Any:
        with Session(engine) as s:
            org = Organisation(name=name or f"{kind}-{uuid.uuid4().hex[:8]}", kind=kind, region_code=region_code)
            s.add(org)
            s.commit()
            s.refresh(org)
            return org

    return factory


@pytest.fixture
def make_user(engine: Any, make_org: Callable[..., Any], _password_hash: str) -> Callable[..., Actor]:
    """``make_user(kind_or_org, role='officer')`` → an Actor (user + org + headers).

    Pass an org kind to get a new organisation, or an existing Organisation to add a user to it.
    """
    from sqlmodel import Session

    from api.identity.models import User

    def factory(kind_or_org: Any, role: str = "officer", region_code: str | None = None) -> Actor:
        org = make_org(kind_or_org, region_code) if isinstance(kind_or_org, str) else kind_or_org
        with Session(engine) as s:
            user = User(
                email=f"{role}-{uuid.uuid4().hex[:10]}@test.ipfin",
                full_name=f"{org.kind} {role}",
                role=role,
                hashed_password=_password_hash,
                organisation_id=org.id,
            )
            s.add(user)
            s.commit()
            s.refresh(user)
            return Actor(user=user, org=org)

    return factory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the database, so CI can re-run them on PostgreSQL with ``-m db``."""
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
