"""Programme subsidies paid through the platform (issue 12, item 4): subsidy applications, each
subsidy's annual budget per rule version (the budget lock) and the subsidy ledger; the loan's
appraisal fee (评估费), the base of an appraisal-fee subsidy.

Revision ID: 0014_subsidy_payments
Revises: 0006_risk_governance
Create Date: 2026-12-02 10:08:14.125600
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014_subsidy_payments'
down_revision: str | Sequence[str] | None = '0006_risk_governance'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('risk_subsidy_budget',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_row_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('subsidy_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('payer_org_id', sa.Integer(), nullable=False),
    sa.Column('budget_fen', sa.BigInteger(), nullable=True),
    sa.Column('approved_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('lock_counter', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payer_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rule_row_id'], ['risk_rule.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule_row_id', 'subsidy_key', 'year', name='uq_risk_subsidy_budget'),
    sa.CheckConstraint('budget_fen IS NULL OR approved_fen <= budget_fen', name='ck_risk_subsidy_budget_drawn'),
    sa.CheckConstraint('paid_fen <= approved_fen', name='ck_risk_subsidy_budget_paid')
    )
    with op.batch_alter_table('risk_subsidy_budget', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_subsidy_budget_rule_id'), ['rule_id'], unique=False)

    op.create_table('risk_subsidy_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_row_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('subsidy_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('bank_org_id', sa.Integer(), nullable=False),
    sa.Column('payer_org_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('base_fen', sa.BigInteger(), nullable=False),
    sa.Column('rate', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('computed_fen', sa.BigInteger(), nullable=False),
    sa.Column('requested_fen', sa.BigInteger(), nullable=False),
    sa.Column('granted_fen', sa.BigInteger(), nullable=True),
    sa.Column('shortfall_fen', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('proposed_decision', sa.String(length=10), nullable=True),
    sa.Column('proposal_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('applied_by_user_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('paid_by_user_id', sa.Integer(), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('payment_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['applied_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['bank_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['budget_id'], ['risk_subsidy_budget.id'], ),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.ForeignKeyConstraint(['paid_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['payer_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['proposed_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['rule_row_id'], ['risk_rule.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('risk_subsidy_application', schema=None) as batch_op:
        batch_op.create_index('ix_risk_subsidy_app_budget', ['budget_id', 'status'], unique=False)
        batch_op.create_index('ix_risk_subsidy_app_loan', ['loan_id', 'rule_id', 'subsidy_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_subsidy_application_bank_org_id'), ['bank_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_subsidy_application_payer_org_id'), ['payer_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_subsidy_application_rule_id'), ['rule_id'], unique=False)

    op.create_table('risk_subsidy_ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('rule_row_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('subsidy_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('payer_org_id', sa.Integer(), nullable=False),
    sa.Column('payee_org_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['risk_subsidy_application.id'], ),
    sa.ForeignKeyConstraint(['budget_id'], ['risk_subsidy_budget.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.ForeignKeyConstraint(['payee_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['payer_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rule_row_id'], ['risk_rule.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id')
    )
    with op.batch_alter_table('risk_subsidy_ledger_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_subsidy_ledger_entry_budget_id'), ['budget_id'], unique=False)
        batch_op.create_index('ix_risk_subsidy_ledger_rule_year', ['rule_id', 'year'], unique=False)

    with op.batch_alter_table('loan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appraisal_fee_fen', sa.BigInteger(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('loan', schema=None) as batch_op:
        batch_op.drop_column('appraisal_fee_fen')

    with op.batch_alter_table('risk_subsidy_ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_subsidy_ledger_rule_year')
        batch_op.drop_index(batch_op.f('ix_risk_subsidy_ledger_entry_budget_id'))

    op.drop_table('risk_subsidy_ledger_entry')
    with op.batch_alter_table('risk_subsidy_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_subsidy_application_rule_id'))
        batch_op.drop_index(batch_op.f('ix_risk_subsidy_application_payer_org_id'))
        batch_op.drop_index(batch_op.f('ix_risk_subsidy_application_bank_org_id'))
        batch_op.drop_index('ix_risk_subsidy_app_loan')
        batch_op.drop_index('ix_risk_subsidy_app_budget')

    op.drop_table('risk_subsidy_application')
    with op.batch_alter_table('risk_subsidy_budget', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_subsidy_budget_rule_id'))

    op.drop_table('risk_subsidy_budget')
