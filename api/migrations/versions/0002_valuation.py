"""Valuation: stored valuation runs (request, result JSON, headline values in fen).

Revision ID: 0002_valuation
Revises: 0001_foundation
Create Date: 2026-11-22 03:01:35.286691
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002_valuation'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('valuation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_org_id', sa.Integer(), nullable=False),
    sa.Column('ip_asset_id', sa.Integer(), nullable=True),
    sa.Column('identifier', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('ip_type', sa.String(length=24), nullable=False),
    sa.Column('valuation_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('job_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('appraised_value_fen', sa.BigInteger(), nullable=True),
    sa.Column('appraised_low_fen', sa.BigInteger(), nullable=True),
    sa.Column('appraised_high_fen', sa.BigInteger(), nullable=True),
    sa.Column('mc_mean_fen', sa.BigInteger(), nullable=True),
    sa.Column('mc_p5_fen', sa.BigInteger(), nullable=True),
    sa.Column('n_paths', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['ip_asset_id'], ['ip_asset.id'], ),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('valuation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_valuation_ip_asset_id'), ['ip_asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_valuation_owner_org_id'), ['owner_org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('valuation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_valuation_owner_org_id'))
        batch_op.drop_index(batch_op.f('ix_valuation_ip_asset_id'))

    op.drop_table('valuation')
