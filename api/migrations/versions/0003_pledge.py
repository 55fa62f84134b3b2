"""Pledge loans: repayment terms, ledger lines, payments, collateral facts and valuations,
alerts, overdue-bucket history, disposals and each bank's pledge-rate policy.

Revision ID: 0003_pledge
Revises: 0001_foundation
Create Date: 2026-11-22 02:54:40.332987
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003_pledge'
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pledge_policy',
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('org_id')
    )
    op.create_table('pledge_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('ip_asset_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ip_asset_id'], ['ip_asset.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pledge_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledge_alert_as_of'), ['as_of'], unique=False)
        batch_op.create_index('ix_pledge_alert_loan_code', ['loan_id', 'code', 'as_of'], unique=False)

    op.create_table('pledge_bucket_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('days_overdue', sa.Integer(), nullable=False),
    sa.Column('bucket_index', sa.Integer(), nullable=False),
    sa.Column('bucket_label', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('loan_class', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pledge_bucket_history', schema=None) as batch_op:
        batch_op.create_index('ix_pledge_bucket_loan_asof', ['loan_id', 'as_of'], unique=False)

    op.create_table('pledge_collateral_valuation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ip_asset_id', sa.Integer(), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('p5_fen', sa.BigInteger(), nullable=True),
    sa.Column('score', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('valuation_date', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('valuation_id', sa.Integer(), nullable=True),
    sa.Column('report_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['ip_asset_id'], ['ip_asset.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pledge_collateral_valuation', schema=None) as batch_op:
        batch_op.create_index('ix_pledge_valuation_asset_date', ['ip_asset_id', 'valuation_date'], unique=False)

    op.create_table('pledge_disposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('ip_asset_ids', sa.JSON(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('counterparty', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('proceeds', sa.JSON(), nullable=False),
    sa.Column('costs', sa.JSON(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pledge_disposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledge_disposal_loan_id'), ['loan_id'], unique=False)

    op.create_table('pledge_instalment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('opening_balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('principal_fen', sa.BigInteger(), nullable=False),
    sa.Column('interest_fen', sa.BigInteger(), nullable=False),
    sa.Column('principal_paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('interest_paid_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pledge_instalment', schema=None) as batch_op:
        batch_op.create_index('ix_pledge_instalment_loan_seq', ['loan_id', 'seq'], unique=False)

    op.create_table('pledge_ip_facts',
    sa.Column('ip_asset_id', sa.Integer(), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('registered_owners', sa.JSON(), nullable=True),
    sa.Column('consenting_co_owners', sa.JSON(), nullable=True),
    sa.Column('dispute', sa.Boolean(), nullable=False),
    sa.Column('preservation', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['ip_asset_id'], ['ip_asset.id'], ),
    sa.PrimaryKeyConstraint('ip_asset_id')
    )
    op.create_table('pledge_loan_terms',
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('rate_kind', sa.String(length=12), nullable=False),
    sa.Column('lpr', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('spread_bp', sa.Integer(), nullable=False),
    sa.Column('schedule_type', sa.String(length=20), nullable=False),
    sa.Column('months_per_period', sa.Integer(), nullable=False),
    sa.Column('n_periods', sa.Integer(), nullable=False),
    sa.Column('submitted_by_user_id', sa.Integer(), nullable=True),
    sa.Column('disbursed_on', sa.Date(), nullable=True),
    sa.Column('fees_charged_fen', sa.BigInteger(), nullable=False),
    sa.Column('fees_paid_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.ForeignKeyConstraint(['submitted_by_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('loan_id')
    )
    op.create_table('pledge_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('fees_fen', sa.BigInteger(), nullable=False),
    sa.Column('interest_fen', sa.BigInteger(), nullable=False),
    sa.Column('principal_fen', sa.BigInteger(), nullable=False),
    sa.Column('accrued_interest_fen', sa.BigInteger(), nullable=False),
    sa.Column('prepaid_principal_fen', sa.BigInteger(), nullable=False),
    sa.Column('unapplied_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pledge_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledge_payment_loan_id'), ['loan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pledge_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledge_payment_loan_id'))

    op.drop_table('pledge_payment')
    op.drop_table('pledge_loan_terms')
    op.drop_table('pledge_ip_facts')
    with op.batch_alter_table('pledge_instalment', schema=None) as batch_op:
        batch_op.drop_index('ix_pledge_instalment_loan_seq')

    op.drop_table('pledge_instalment')
    with op.batch_alter_table('pledge_disposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledge_disposal_loan_id'))

    op.drop_table('pledge_disposal')
    with op.batch_alter_table('pledge_collateral_valuation', schema=None) as batch_op:
        batch_op.drop_index('ix_pledge_valuation_asset_date')

    op.drop_table('pledge_collateral_valuation')
    with op.batch_alter_table('pledge_bucket_history', schema=None) as batch_op:
        batch_op.drop_index('ix_pledge_bucket_loan_asof')

    op.drop_table('pledge_bucket_history')
    with op.batch_alter_table('pledge_alert', schema=None) as batch_op:
        batch_op.drop_index('ix_pledge_alert_loan_code')
        batch_op.drop_index(batch_op.f('ix_pledge_alert_as_of'))

    op.drop_table('pledge_alert')
    op.drop_table('pledge_policy')
