"""The statistics rollup (issue 13): ``loan_rollup`` and ``registration_rollup`` with the triggers that
keep them in step with ``loan`` and ``loan_collateral`` (SQLite and PostgreSQL), filled from the loans;
and an index of the loans defaulted by a date (the past-period NPL stock reads only those from the loans).

Revision ID: 0016_loan_rollup
Revises: 0015_bank_page_indexes
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.stats import rollup

revision: str = "0016_loan_rollup"
down_revision: str | Sequence[str] | None = "0015_bank_page_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULTED = ["default_date", "origination_date", "maturity_date", "term_months", "status", "province_code",
              "region_code", "industry", "primary_ip_type", "bank_org_id", "amount_fen", "outstanding_fen"]


def upgrade() -> None:
    metrics = [sa.Column(name, sa.BigInteger(), nullable=False) for name in rollup.METRICS]
    op.create_table(
        "loan_rollup",
        sa.Column("grain", sa.String(length=10), nullable=False),
        sa.Column("grain_key", sa.String(length=24), nullable=False),
        sa.Column("origination_date", sa.Date(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=False),
        *metrics,
        sa.PrimaryKeyConstraint(*rollup.KEY_COLUMNS),
    )
    op.create_index("ix_loan_rollup_maturity", "loan_rollup", ["grain", "maturity_date"], unique=False)
    op.create_table(
        "registration_rollup",
        sa.Column("grain", sa.String(length=10), nullable=False),
        sa.Column("grain_key", sa.String(length=24), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in rollup.REG_METRICS],
        sa.PrimaryKeyConstraint(*rollup.REG_KEY_COLUMNS),
    )
    op.create_index("ix_loan_defaulted", "loan", _DEFAULTED, unique=False)
    conn = op.get_bind()
    rollup.rebuild(conn, rollup.ONE_DIMENSION_GRAINS)  # the pairs come with 0018 (wider keys)
    rollup.install_triggers(conn, rollup.ONE_DIMENSION_GRAINS)


def downgrade() -> None:
    conn = op.get_bind()
    for stmt in [*rollup.drop_trigger_ddl(conn.dialect.name), *rollup.drop_registration_trigger_ddl(conn.dialect.name)]:
        conn.exec_driver_sql(stmt)
    op.drop_table("registration_rollup")
    op.drop_index("ix_loan_defaulted", table_name="loan")
    op.drop_index("ix_loan_rollup_maturity", table_name="loan_rollup")
    op.drop_table("loan_rollup")
