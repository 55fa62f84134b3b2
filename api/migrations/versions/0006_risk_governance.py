"""Risk-sharing governance and per-payer sign-off: rule families with their administering
organisation, proposed rule changes (maker-checker), the claim's signing day, and each claim
party's share state (proposed, approved, paid with date and reference, or declined with a reason).

Existing data: every rule family gets an owner (the organisation of the user who created its first
version, else the platform admin organisation); claims approved under the old one-approval flow
become ``completed`` with every share ``paid`` on its ledger date (or ``nothing_due`` at 0 fen).

Revision ID: 0006_risk_governance
Revises: 0004_risk_sharing
Create Date: 2026-12-02 06:14:42.528851
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006_risk_governance'
down_revision: str | Sequence[str] | None = '0004_risk_sharing'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USER_FKS = ('proposed_by_user_id', 'approved_by_user_id', 'paid_by_user_id', 'declined_by_user_id')


def upgrade() -> None:
    op.create_table('risk_rule_family',
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('owner_org_id', sa.Integer(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('rule_id')
    )
    with op.batch_alter_table('risk_rule_family', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_rule_family_owner_org_id'), ['owner_org_id'], unique=False)

    op.create_table('risk_rule_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('proposed_by_user_id', sa.Integer(), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('rule_row_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['proposed_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['rule_row_id'], ['risk_rule.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('risk_rule_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_rule_change_rule_id'), ['rule_id'], unique=False)

    with op.batch_alter_table('risk_claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_on', sa.Date(), nullable=True))

    with op.batch_alter_table('risk_claim_party', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('proposed_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('paid_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('paid_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('payment_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('declined_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        for c in _USER_FKS:
            batch_op.create_foreign_key(f'fk_risk_claim_party_{c}', 'app_user', [c], ['id'])

    _backfill()


def _backfill() -> None:
    """Owners for existing families; old approved claims as completed with their shares paid."""
    op.execute(sa.text(
        "INSERT INTO risk_rule_family (rule_id, owner_org_id, created_by_user_id, created_at) "
        "SELECT t.rule_id, t.owner, NULL, t.created FROM ("
        " SELECT r.rule_id AS rule_id, MIN(r.created_at) AS created, COALESCE("
        "  (SELECT u.organisation_id FROM risk_rule r2 JOIN app_user u ON u.id = r2.created_by_user_id"
        "   WHERE r2.rule_id = r.rule_id ORDER BY r2.version LIMIT 1),"
        "  (SELECT MIN(o.id) FROM organisation o WHERE o.kind = 'admin')) AS owner"
        " FROM risk_rule r GROUP BY r.rule_id) t WHERE t.owner IS NOT NULL"
    ))
    approved = "SELECT c.id FROM risk_claim c WHERE c.status = 'approved'"
    op.execute(sa.text(
        "UPDATE risk_claim_party SET status = 'paid', payment_reference = 'before per-payer sign-off', "
        "paid_on = (SELECT MIN(e.booked_on) FROM risk_ledger_entry e WHERE e.claim_id = risk_claim_party.claim_id "
        "AND e.party_key = risk_claim_party.party_key AND e.kind = 'payout') "
        f"WHERE claim_id IN ({approved}) AND payable_fen > 0"
    ))
    op.execute(sa.text(
        f"UPDATE risk_claim_party SET status = 'nothing_due' WHERE claim_id IN ({approved}) "
        "AND (payable_fen IS NULL OR payable_fen = 0)"
    ))
    op.execute(sa.text(
        "UPDATE risk_claim SET status = 'completed', signed_on = (SELECT MIN(e.booked_on) FROM risk_ledger_entry e "
        "WHERE e.claim_id = risk_claim.id) WHERE status = 'approved'"
    ))


def downgrade() -> None:
    op.execute(sa.text("UPDATE risk_claim SET status = 'approved' WHERE status IN ('completed', 'partially_paid', "
                       "'closed')"))
    with op.batch_alter_table('risk_claim_party', schema=None) as batch_op:
        for c in _USER_FKS:
            batch_op.drop_constraint(f'fk_risk_claim_party_{c}', type_='foreignkey')
        for c in ('version', 'decline_reason', 'declined_by_user_id', 'payment_reference', 'paid_on',
                  'paid_by_user_id', 'approved_on', 'approved_by_user_id', 'proposed_by_user_id', 'status'):
            batch_op.drop_column(c)

    with op.batch_alter_table('risk_claim', schema=None) as batch_op:
        batch_op.drop_column('signed_on')

    with op.batch_alter_table('risk_rule_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_rule_change_rule_id'))

    op.drop_table('risk_rule_change')
    with op.batch_alter_table('risk_rule_family', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_rule_family_owner_org_id'))

    op.drop_table('risk_rule_family')
