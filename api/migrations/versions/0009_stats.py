"""Statistics at national scale: the loan's city (地级) code for province → city → county drill-down.

``loan.city_code`` is the city-level GB/T 2260 code of the borrower's region (a county-level unit
administered directly by its province is its own city); existing loans are filled from their
``region_code`` (one UPDATE per distinct region code).

Revision ID: 0009_stats
Revises: 0003_pledge
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_stats"
down_revision: str | Sequence[str] | None = "0003_pledge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _city(code: str) -> str | None:
    from ipfin import regions

    try:
        return regions.city_of(code)
    except ValueError:  # an unknown or split code: left empty rather than guessed
        return None


def upgrade() -> None:
    op.add_column("loan", sa.Column("city_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True))
    conn = op.get_bind()
    loan = sa.table("loan", sa.column("region_code", sa.String), sa.column("city_code", sa.String))
    codes = [r[0] for r in conn.execute(sa.select(loan.c.region_code).distinct()) if r[0]]
    for code in codes:
        city = _city(code)
        if city is not None:
            conn.execute(sa.update(loan).where(loan.c.region_code == code).values(city_code=city))


def downgrade() -> None:
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.drop_column("city_code")
