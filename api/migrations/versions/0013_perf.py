"""Indexes for national-scale statistics (issues 13, 17): default_date on the covering ix_loan_stats
(vintage in the same scan), covering ix_loan_live and ix_loan_stock for the NPL stock, and the latest
re-valuation of an asset as one index seek.

Revision ID: 0013_perf
Revises: 0009_stats
Create Date: 2026-12-02 07:00:08.569768
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_perf"
down_revision: str | Sequence[str] | None = "0009_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIMS = ["province_code", "region_code", "industry", "primary_ip_type", "bank_org_id"]
_STATS_OLD = ["origination_date", "status", *_DIMS, "borrower_id", "amount_fen", "outstanding_fen", "days_past_due"]
_LIVE = ["status", "origination_date", *_DIMS, "outstanding_fen", "days_past_due"]
_STOCK = ["maturity_date", "origination_date", "status", *_DIMS, "term_months", "default_date", "amount_fen",
          "outstanding_fen", "days_past_due"]


def upgrade() -> None:
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_stats"))
        batch_op.create_index("ix_loan_stats", [*_STATS_OLD, "default_date"], unique=False)
        batch_op.create_index("ix_loan_live", _LIVE, unique=False)
        batch_op.create_index("ix_loan_stock", _STOCK, unique=False)

    with op.batch_alter_table("pledge_collateral_valuation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pledge_valuation_asset_date"))
        batch_op.create_index("ix_pledge_valuation_latest", ["ip_asset_id", "valuation_date", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pledge_collateral_valuation", schema=None) as batch_op:
        batch_op.drop_index("ix_pledge_valuation_latest")
        batch_op.create_index(batch_op.f("ix_pledge_valuation_asset_date"), ["ip_asset_id", "valuation_date"],
                              unique=False)

    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_stock")
        batch_op.drop_index("ix_loan_live")
        batch_op.drop_index("ix_loan_stats")
        batch_op.create_index(batch_op.f("ix_loan_stats"), _STATS_OLD, unique=False)
