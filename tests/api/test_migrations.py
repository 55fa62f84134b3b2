"""The schema is made by Alembic migrations alone, and they match the models exactly."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import api.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from api.core.db import head_revisions, schema_revisions


def test_database_is_at_every_migration_head(engine: Any) -> None:
    assert schema_revisions(engine) == head_revisions()
    assert "0001_foundation" in {r for r in schema_revisions(engine)} or len(head_revisions()) >= 1


def test_migrations_match_the_models(engine: Any) -> None:
    """Autogenerate finds nothing to add: every table, column, index and type is migrated."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []
