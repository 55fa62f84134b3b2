"""Indexes for the bank collateral page at 1,000,000 loans, second round (issue 17 item 1): a bank's live
loans with their outstanding, days past due and id (the per-loan collateral figures read no loan rows; the id
is explicit for PostgreSQL index-only scans), and an
asset's lapse facts by id (legal status, annual fee paid until: a dense index instead of the wide asset
rows, one page read per few hundred assets), and a loan's five-class category at its latest monitoring run
(provisions by class: PostgreSQL reads the class from the index instead of a heap row per loan); and a
city's or county's loans by origination date (the drill-down's loan list reads that region's loans, not every
loan of the period).

Revision ID: 0017_bank_page_2
Revises: 0016_loan_rollup
Create Date: 2026-12-02 13:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017_bank_page_2"
down_revision: str | Sequence[str] | None = "0016_loan_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BANK_BOOK = ["bank_org_id", "status", "outstanding_fen", "days_past_due", "id"]
_LAPSE = ["id", "legal_status", "annual_fee_paid_until"]
_BUCKET = ["loan_id", "as_of", "id", "loan_class"]


def upgrade() -> None:
    op.create_index("ix_loan_bank_book", "loan", _BANK_BOOK, unique=False)
    op.create_index("ix_ip_asset_lapse", "ip_asset", _LAPSE, unique=False)
    op.create_index("ix_pledge_bucket_cover", "pledge_bucket_history", _BUCKET, unique=False)
    op.create_index("ix_loan_region_orig", "loan", ["region_code", "origination_date"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_loan_region_orig", table_name="loan")
    op.drop_index("ix_pledge_bucket_cover", table_name="pledge_bucket_history")
    op.drop_index("ix_ip_asset_lapse", table_name="ip_asset")
    op.drop_index("ix_loan_bank_book", table_name="loan")
