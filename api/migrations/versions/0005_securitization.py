"""Securitisation: collateral pools, deal structures and deal runs.

Revision ID: 0005_securitization
Revises: 0001_foundation
Create Date: 2026-11-22 02:58:47.273477
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005_securitization'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('abs_pool',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('owner_org_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('n_assets', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('abs_pool', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_abs_pool_owner_org_id'), ['owner_org_id'], unique=False)

    op.create_table('abs_deal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('owner_org_id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('structure', sa.JSON(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['pool_id'], ['abs_pool.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('abs_deal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_abs_deal_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_abs_deal_pool_id'), ['pool_id'], unique=False)

    op.create_table('abs_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('job_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['deal_id'], ['abs_deal.id'], ),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('abs_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_abs_run_deal_id'), ['deal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('abs_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_abs_run_deal_id'))

    op.drop_table('abs_run')
    with op.batch_alter_table('abs_deal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_abs_deal_pool_id'))
        batch_op.drop_index(batch_op.f('ix_abs_deal_owner_org_id'))

    op.drop_table('abs_deal')
    with op.batch_alter_table('abs_pool', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_abs_pool_owner_org_id'))

    op.drop_table('abs_pool')
