"""Indexes for the bank collateral page at national scale (issue 17 item 1): a covering index of a
loan's collateral (the per-loan appraised value reads no collateral rows), the monitoring alerts of
one run date by code and severity (the latest run first, then only that date's alerts), and an asset's
latest re-valuation with its value (read from the index alone: a correlated seek per asset instead of
PostgreSQL hashing all 1.7M valuations).

Revision ID: 0015_bank_page_indexes
Revises: 0013_perf
Create Date: 2026-12-02 11:15:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_bank_page_indexes"
down_revision: str | Sequence[str] | None = "0013_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLLATERAL = ["loan_id", "pledge_status", "ip_asset_id", "appraised_value_fen", "pledge_registered_on"]
_ALERT = ["as_of", "code", "severity", "loan_id"]
_VALUATION = ["ip_asset_id", "valuation_date", "id", "value_fen"]


def upgrade() -> None:
    op.create_index("ix_loan_collateral_cover", "loan_collateral", _COLLATERAL, unique=False)
    op.create_index("ix_pledge_alert_asof_code", "pledge_alert", _ALERT, unique=False)
    op.create_index("ix_pledge_valuation_cover", "pledge_collateral_valuation", _VALUATION, unique=False)


def downgrade() -> None:
    op.drop_index("ix_pledge_valuation_cover", table_name="pledge_collateral_valuation")
    op.drop_index("ix_pledge_alert_asof_code", table_name="pledge_alert")
    op.drop_index("ix_loan_collateral_cover", table_name="loan_collateral")
