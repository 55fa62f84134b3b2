"""Foundation: organisations, users, borrowers, IP assets, loans, collateral, audit log.

The audit log is append-only: triggers refuse UPDATE and DELETE on ``audit_event``.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-22 02:41:44.874859
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001_foundation"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "app_user",
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("hashed_password", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_user_email"), ["email"], unique=True)
        batch_op.create_index(batch_op.f("ix_app_user_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "borrower",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("credit_code", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("industry", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("size_class", sa.String(length=10), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_org_id", "credit_code", name="uq_borrower_org_credit_code"),
    )
    with op.batch_alter_table("borrower", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_borrower_credit_code"), ["credit_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_borrower_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_org_id", sa.Integer(), nullable=True),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_org_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entity", ["entity", "entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_actor_org_id"), ["actor_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)

    op.create_table(
        "ip_asset",
        sa.Column("ip_type", sa.String(length=24), nullable=False),
        sa.Column("identifier", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("filing_date", sa.Date(), nullable=True),
        sa.Column("grant_date", sa.Date(), nullable=True),
        sa.Column("legal_status", sa.String(length=20), nullable=False),
        sa.Column("annual_fee_paid_until", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrower.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_org_id", "ip_type", "identifier", name="uq_ip_asset_identifier"),
    )
    with op.batch_alter_table("ip_asset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ip_asset_borrower_id"), ["borrower_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ip_asset_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "loan",
        sa.Column("origination_date", sa.Date(), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("bank_org_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("guarantor_org_id", sa.Integer(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("annual_rate", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("guarantee_fee_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("industry", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("primary_ip_type", sa.String(length=24), nullable=False),
        sa.Column("ip_types", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("default_date", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_org_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrower.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["guarantor_org_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.create_index("ix_loan_bank_status", ["bank_org_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_borrower_id"), ["borrower_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_guarantor_org_id"), ["guarantor_org_id"], unique=False)
        batch_op.create_index("ix_loan_industry_orig", ["industry", "origination_date"], unique=False)
        batch_op.create_index("ix_loan_iptype_orig", ["primary_ip_type", "origination_date"], unique=False)
        batch_op.create_index(
            "ix_loan_stats",
            [
                "origination_date",
                "status",
                "province_code",
                "region_code",
                "industry",
                "primary_ip_type",
                "bank_org_id",
                "borrower_id",
                "amount_fen",
                "outstanding_fen",
                "days_past_due",
            ],
            unique=False,
        )
        batch_op.create_index("ix_loan_orig_province", ["origination_date", "province_code"], unique=False)
        batch_op.create_index("ix_loan_status_orig", ["status", "origination_date"], unique=False)

    op.create_table(
        "loan_collateral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("ip_asset_id", sa.Integer(), nullable=False),
        sa.Column("appraised_value_fen", sa.BigInteger(), nullable=True),
        sa.Column("pledge_registration_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("pledge_registered_on", sa.Date(), nullable=True),
        sa.Column("pledge_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["ip_asset_id"],
            ["ip_asset.id"],
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loan.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("loan_id", "ip_asset_id", name="uq_collateral_loan_asset"),
    )
    with op.batch_alter_table("loan_collateral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_collateral_ip_asset_id"), ["ip_asset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_collateral_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "job",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_organisation_id"), ["organisation_id"], unique=False)
    _append_only_audit()


def _append_only_audit() -> None:
    """Make ``audit_event`` append-only at the database level."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{what.lower()} BEFORE {what} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_organisation_id"))
    op.drop_table("job")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table("loan_collateral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_collateral_loan_id"))
        batch_op.drop_index(batch_op.f("ix_loan_collateral_ip_asset_id"))

    op.drop_table("loan_collateral")
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_status_orig")
        batch_op.drop_index("ix_loan_orig_province")
        batch_op.drop_index("ix_loan_stats")
        batch_op.drop_index("ix_loan_iptype_orig")
        batch_op.drop_index("ix_loan_industry_orig")
        batch_op.drop_index(batch_op.f("ix_loan_guarantor_org_id"))
        batch_op.drop_index(batch_op.f("ix_loan_borrower_id"))
        batch_op.drop_index("ix_loan_bank_status")

    op.drop_table("loan")
    with op.batch_alter_table("ip_asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ip_asset_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_ip_asset_borrower_id"))

    op.drop_table("ip_asset")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_actor_org_id"))
        batch_op.drop_index("ix_audit_entity")

    op.drop_table("audit_event")
    with op.batch_alter_table("borrower", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_borrower_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_borrower_credit_code"))

    op.drop_table("borrower")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_user_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_app_user_email"))

    op.drop_table("app_user")
    op.drop_table("organisation")
