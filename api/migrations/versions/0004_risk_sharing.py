"""Risk sharing: rule versions, scheme state (cap lock row), claims, claim parties,
recoveries and the payout/recovery ledger.

Revision ID: 0004_risk_sharing
Revises: 0001_foundation
Create Date: 2026-11-22 02:51:29.328665
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004_risk_sharing'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('risk_scheme_state',
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('lock_counter', sa.BigInteger(), nullable=False),
    sa.Column('covered_loans_fen', sa.BigInteger(), nullable=True),
    sa.Column('covered_loans_from_book', sa.Boolean(), nullable=False),
    sa.Column('party_balance_fen', sa.JSON(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('rule_id')
    )
    op.create_table('risk_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule_id', 'version', name='uq_risk_rule_version')
    )
    with op.batch_alter_table('risk_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_rule_rule_id'), ['rule_id'], unique=False)

    op.create_table('risk_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('rule_row_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('loan_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('borrower_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('lender_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('loan_facts', sa.JSON(), nullable=False),
    sa.Column('default_date', sa.Date(), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('outstanding_principal_fen', sa.BigInteger(), nullable=False),
    sa.Column('outstanding_interest_fen', sa.BigInteger(), nullable=False),
    sa.Column('recoveries_so_far_fen', sa.BigInteger(), nullable=False),
    sa.Column('npl_class', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('classified_on', sa.Date(), nullable=True),
    sa.Column('documents', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('eligible', sa.Boolean(), nullable=True),
    sa.Column('loss_base_fen', sa.BigInteger(), nullable=True),
    sa.Column('review', sa.JSON(), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('filed_by_org_id', sa.Integer(), nullable=False),
    sa.Column('filed_by_user_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['filed_by_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['filed_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.ForeignKeyConstraint(['reviewed_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['rule_row_id'], ['risk_rule.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('filed_by_org_id', 'idempotency_key', name='uq_risk_claim_idempotency')
    )
    with op.batch_alter_table('risk_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_claim_filed_by_org_id'), ['filed_by_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_claim_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('ix_risk_claim_loan_key', ['loan_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_claim_rule_row_id'), ['rule_row_id'], unique=False)
        batch_op.create_index('ix_risk_claim_status', ['status'], unique=False)

    op.create_table('risk_claim_party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('party_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('nominal_fen', sa.BigInteger(), nullable=True),
    sa.Column('payable_fen', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['risk_claim.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('claim_id', 'party_key', name='uq_risk_claim_party')
    )
    with op.batch_alter_table('risk_claim_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_claim_party_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_claim_party_org_id'), ['org_id'], unique=False)

    op.create_table('risk_recovery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('disposal_id', sa.Integer(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('gross_fen', sa.BigInteger(), nullable=False),
    sa.Column('disposal_costs_fen', sa.BigInteger(), nullable=False),
    sa.Column('net_fen', sa.BigInteger(), nullable=False),
    sa.Column('surplus_fen', sa.BigInteger(), nullable=False),
    sa.Column('parts', sa.JSON(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['risk_claim.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('disposal_id')
    )
    with op.batch_alter_table('risk_recovery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_recovery_claim_id'), ['claim_id'], unique=False)

    op.create_table('risk_ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_row_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('recovery_id', sa.Integer(), nullable=True),
    sa.Column('party_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_org_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('compensation', sa.Boolean(), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('loan_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('borrower_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('lender_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['risk_claim.id'], ),
    sa.ForeignKeyConstraint(['party_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['recovery_id'], ['risk_recovery.id'], ),
    sa.ForeignKeyConstraint(['rule_row_id'], ['risk_rule.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('risk_ledger_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_ledger_entry_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_risk_ledger_rule_booked', ['rule_id', 'booked_on'], unique=False)
        batch_op.create_index('ix_risk_ledger_rule_borrower', ['rule_id', 'borrower_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('risk_ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_ledger_rule_borrower')
        batch_op.drop_index('ix_risk_ledger_rule_booked')
        batch_op.drop_index(batch_op.f('ix_risk_ledger_entry_claim_id'))

    op.drop_table('risk_ledger_entry')
    with op.batch_alter_table('risk_recovery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_recovery_claim_id'))

    op.drop_table('risk_recovery')
    with op.batch_alter_table('risk_claim_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_claim_party_org_id'))
        batch_op.drop_index(batch_op.f('ix_risk_claim_party_claim_id'))

    op.drop_table('risk_claim_party')
    with op.batch_alter_table('risk_claim', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_claim_status')
        batch_op.drop_index(batch_op.f('ix_risk_claim_rule_row_id'))
        batch_op.drop_index('ix_risk_claim_loan_key')
        batch_op.drop_index(batch_op.f('ix_risk_claim_loan_id'))
        batch_op.drop_index(batch_op.f('ix_risk_claim_filed_by_org_id'))

    op.drop_table('risk_claim')
    with op.batch_alter_table('risk_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_rule_rule_id'))

    op.drop_table('risk_rule')
    op.drop_table('risk_scheme_state')
