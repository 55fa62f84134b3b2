"""Pledge demo data: valuations for every pledged asset, buckets and alerts as monitoring would store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from api.core.db import make_engine, upgrade
from api.demo import generate
from pledge.monitoring import classify_loan, overdue_bucket


def test_demo_book_has_valuations_buckets_and_alerts_consistent_with_monitoring(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    counts = generate(engine, 800, seed=5)
    with engine.connect() as c:
        links = c.execute(text("SELECT count(*) FROM loan_collateral")).scalar_one()
        assert counts["collateral_valuations"] == links
        live = c.execute(text("SELECT id, days_past_due FROM loan WHERE status IN "
                              "('active','overdue','default','in_claim','in_disposal')")).all()
        hist = dict(c.execute(text("SELECT loan_id, bucket_label FROM pledge_bucket_history")).all())
        assert {lid: overdue_bucket(d).label for lid, d in live} == hist
        expected_alerts = sum((d > 0) + classify_loan(d).is_npl for _, d in live)
        assert c.execute(text("SELECT count(*) FROM pledge_alert")).scalar_one() == expected_alerts
    engine.dispose()
