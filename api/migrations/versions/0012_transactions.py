"""transactions: the IP transaction register (ip_transaction); facts of the newer collateral types on ip_asset
(creation / first commercial use dates, plant group, GI protection, data-IP certificate, platform, legality flags)

Revision ID: 0012_transactions
Revises: 0003_pledge
Create Date: 2026-12-02 06:43:47.704444
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012_transactions'
down_revision: str | Sequence[str] | None = '0003_pledge'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ip_transaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('transaction_date', sa.Date(), nullable=False),
    sa.Column('ip_type', sa.String(length=24), nullable=False),
    sa.Column('ipc_or_nice_class', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('industry', sa.String(length=1), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('pricing_method', sa.String(length=24), nullable=False),
    sa.Column('trading_mode', sa.String(length=12), nullable=False),
    sa.Column('remaining_life_years', sa.Float(), nullable=True),
    sa.Column('quality_score', sa.Float(), nullable=True),
    sa.Column('asset_count', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('disposal_id', sa.Integer(), nullable=True),
    sa.Column('owner_org_id', sa.Integer(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['disposal_id'], ['pledge_disposal.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('disposal_id'),
    sa.UniqueConstraint('owner_org_id', 'ref', name='uq_ip_transaction_org_ref')
    )
    with op.batch_alter_table('ip_transaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ip_transaction_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('ix_ip_transaction_methods', ['transaction_date', 'pricing_method', 'trading_mode'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_ip_transaction_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_index('ix_ip_transaction_type_date', ['ip_type', 'transaction_date'], unique=False)

    with op.batch_alter_table('ip_asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('creation_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('first_commercial_use_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('plant_group', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('gi_protection', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('certificate_no', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.add_column(sa.Column('registering_platform', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=True))
        batch_op.add_column(sa.Column('certificate_valid_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('data_source_legality', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('ip_asset', schema=None) as batch_op:
        batch_op.drop_column('data_source_legality')
        batch_op.drop_column('certificate_valid_until')
        batch_op.drop_column('registering_platform')
        batch_op.drop_column('certificate_no')
        batch_op.drop_column('gi_protection')
        batch_op.drop_column('plant_group')
        batch_op.drop_column('first_commercial_use_date')
        batch_op.drop_column('creation_date')

    with op.batch_alter_table('ip_transaction', schema=None) as batch_op:
        batch_op.drop_index('ix_ip_transaction_type_date')
        batch_op.drop_index(batch_op.f('ix_ip_transaction_owner_org_id'))
        batch_op.drop_index('ix_ip_transaction_methods')
        batch_op.drop_index(batch_op.f('ix_ip_transaction_loan_id'))

    op.drop_table('ip_transaction')
