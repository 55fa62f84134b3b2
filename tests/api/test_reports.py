"""The dashboard's read models (``api/<domain>/reports.py``) on an organisation with no data yet:
empty figures, never an error (a bank's first login shows empty panels, not a crash)."""

from __future__ import annotations

from typing import Any

import pytest

from api.pledge import reports as pledge_reports
from api.risk_sharing import reports as risk_sharing_reports
from api.securitization import reports as securitization_reports
from api.valuation import reports as valuation_reports

pytestmark = pytest.mark.db


def test_a_new_bank_sees_empty_read_models(engine: Any, make_org: Any) -> None:
    bank = make_org("bank")
    with engine.connect() as conn:
        assert pledge_reports.monitoring_alerts(conn, bank) == []
        assert pledge_reports.bank_options(conn, bank) == []
        assert valuation_reports.valuation_list(conn, bank) == []
        assert valuation_reports.latest_valuation_report(conn, bank) is None
        abs_view = securitization_reports.abs_view(conn, bank)
        assert abs_view is not None and abs_view["pools"] == [] and abs_view["pool_id"] is None


def test_a_new_guarantor_sees_an_empty_claims_queue(engine: Any, make_org: Any) -> None:
    guarantor = make_org("guarantor")
    with engine.connect() as conn:
        view = risk_sharing_reports.guarantor_view(conn, guarantor)
    assert view is not None
    assert view["by_status"] == [] and view["queue"] == [] and view["payouts"] == {}
