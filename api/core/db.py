"""Database engine, sessions and Alembic migrations.

SQLite file by default (zero set-up, foreign keys on, WAL); PostgreSQL through
``IPFIN_DATABASE_URL=postgresql+psycopg://user:pw@host/db``. The schema is only ever
created by Alembic migrations, applied at start-up and by ``ipfin db upgrade``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from api.core.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

_engine: Engine | None = None

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite writer waits for the write lock before ``database is locked``."""


def make_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets its directory created, foreign keys, WAL and a busy timeout
    of ``busy_timeout_ms`` (a writer that waits longer for the lock fails with ``database is locked``)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            """WAL: readers never wait for the writer; writers queue on the lock for at most the busy
            timeout (jobs commit in short chunks, so a request waits well under a second)."""
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cur.close()

        return engine
    if u.get_backend_name() == "postgresql":
        # JIT compiles a plan above jit_above_cost: 0.1-0.3 s on the index-driven statistics queries, which
        # then run in milliseconds; none of our statements gains from it
        kwargs.setdefault("connect_args", {}).setdefault("options", "-c jit=off")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def get_engine() -> Engine:
    """The process-wide engine for ``IPFIN_DATABASE_URL`` (created on first use)."""
    global _engine
    if _engine is None:
        _engine = make_engine(get_settings().database_url)
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Replace the process-wide engine (tests, CLI ``--database-url``)."""
    global _engine
    if _engine is not None and _engine is not engine:
        _engine.dispose()
    _engine = engine


def get_session() -> Iterator[Session]:
    with Session(get_engine()) as session:
        yield session


def database_kind(engine: Engine | None = None) -> str:
    return (engine or get_engine()).dialect.name


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine | None = None, revision: str = "heads") -> None:
    """Apply Alembic migrations up to ``revision`` (all heads by default)."""
    command.upgrade(alembic_config(engine or get_engine()), revision)


def schema_revisions(engine: Engine | None = None) -> list[str]:
    """The revisions the database is at (one per migration branch head)."""
    with (engine or get_engine()).connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


def head_revisions() -> list[str]:
    return sorted(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def utcnow() -> datetime:
    return datetime.now(UTC)
