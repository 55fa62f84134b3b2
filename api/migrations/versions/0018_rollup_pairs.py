"""Two-dimension grains in the statistics rollup (issue 13): a scope and a filter on another dimension (a
bank's industry C, a provincial bureau's trademarks) or two filters read ``loan_rollup`` /
``registration_rollup`` instead of the loans. ``grain_key`` widens to 48 characters (two values and ``|``:
``330000|geographical_indication``), the triggers are re-created maintaining every grain of
``api.stats.rollup.GRAINS``, and the pair grains' rows are filled from the loans (``rollup.rebuild`` of
those grains; rows a previous run left for them are replaced). The downgrade deletes them and restores the
one-dimension triggers and column.

Revision ID: 0018_rollup_pairs
Revises: 0017_bank_page_2
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.stats import rollup

revision: str = "0018_rollup_pairs"
down_revision: str | Sequence[str] | None = "0017_bank_page_2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("loan_rollup", "registration_rollup")


def _drop_triggers() -> None:
    conn = op.get_bind()
    for stmt in [*rollup.drop_trigger_ddl(conn.dialect.name), *rollup.drop_registration_trigger_ddl(conn.dialect.name)]:
        conn.exec_driver_sql(stmt)


def _key_length(old: int, new: int) -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("grain_key", existing_type=sa.String(length=old), type_=sa.String(length=new),
                               existing_nullable=False)


def upgrade() -> None:
    _drop_triggers()
    _key_length(24, 48)
    conn = op.get_bind()
    rollup.rebuild(conn, rollup.PAIR_GRAINS)
    rollup.install_triggers(conn, rollup.GRAINS)


def downgrade() -> None:
    _drop_triggers()
    pairs = ", ".join(f"'{g}'" for g in rollup.PAIR_GRAINS)
    for table in _TABLES:
        op.execute(f"DELETE FROM {table} WHERE grain IN ({pairs})")
    _key_length(48, 24)
    rollup.install_triggers(op.get_bind(), rollup.ONE_DIMENSION_GRAINS)
