"""Pledge demo data: an appraisal for every pledged asset, annual re-valuations, and buckets and
alerts exactly as the pure monitoring check gives them for every live loan."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import text

from api.core.db import make_engine, upgrade
from api.demo import generate
from pledge.eligibility import CollateralFacts, LegalStatus, statutory_expiry
from pledge.monitoring import LoanSnapshot, monitor_loan, overdue_bucket
from pledge.policy import default_policy

AS_OF = date(2026, 6, 30)


def _day(v: object) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def test_demo_book_has_valuations_buckets_and_alerts_consistent_with_monitoring(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    counts = generate(engine, 1500, seed=5, as_of=AS_OF)
    policy = default_policy()
    with engine.connect() as c:
        links = c.execute(text("SELECT count(*) FROM loan_collateral")).scalar_one()
        assert counts["collateral_valuations"] == links
        assert counts["collateral_revaluations"] > 0
        live = c.execute(text("SELECT id, days_past_due, outstanding_fen, maturity_date FROM loan WHERE status IN "
                              "('active','overdue','default','in_claim','in_disposal')")).all()
        hist = dict(c.execute(text("SELECT loan_id, bucket_label FROM pledge_bucket_history")).all())
        assert {lid: overdue_bucket(d).label for lid, d, _, _ in live} == hist
        latest = {a: (v, _day(d)) for a, v, d in c.execute(text(
            "SELECT ip_asset_id, value_fen, valuation_date FROM pledge_collateral_valuation ORDER BY id"))}
        assets: dict[int, list[CollateralFacts]] = {}
        for lid, aid, ip_type, status, filing, paid in c.execute(text(
                "SELECT lc.loan_id, a.id, a.ip_type, a.legal_status, a.filing_date, a.annual_fee_paid_until "
                "FROM loan_collateral lc JOIN ip_asset a ON a.id = lc.ip_asset_id "
                "WHERE lc.pledge_status = 'registered' ORDER BY lc.loan_id, a.id")):
            assets.setdefault(lid, []).append(CollateralFacts(
                asset_id=str(aid), ip_type=ip_type, registered_owners=("demo",), legal_status=LegalStatus(status),
                expiry_date=statutory_expiry(ip_type, _day(filing)), valuation_date=latest[aid][1],
                annual_fee_paid_until=_day(paid) if paid else None))
        expected: Counter[tuple[int, str, str | None]] = Counter()
        for lid, dpd, out, maturity in live:
            facts = assets.get(lid, [])
            snap = LoanSnapshot(
                loan_id=str(lid), as_of=AS_OF, maturity=_day(maturity), days_overdue=dpd, outstanding_fen=out,
                collateral_value_fen=sum(latest[int(f.asset_id)][0] for f in facts),
                last_valuation_date=min((f.valuation_date for f in facts if f.valuation_date), default=None),
                collateral=tuple(facts))
            res = monitor_loan(snap, ltv_trigger=policy.ltv_breach_trigger,
                               revaluation_interval_days=policy.revaluation_interval_days)
            expected.update((lid, a.code.value, a.asset_id) for a in res.alerts)
        stored = Counter((lid, code, str(aid) if aid is not None else None) for lid, code, aid in c.execute(text(
            "SELECT loan_id, code, ip_asset_id FROM pledge_alert")))
        assert stored == expected
        assert counts["pledge_alerts"] == sum(expected.values())
        # a believable book: few loans need re-valuation, few rights are in trouble
        flagged = Counter(code for _, code, _ in expected.elements())
        assert flagged["revaluation_due"] <= 0.1 * len(live)
        assert flagged["annual_fee_unpaid"] + flagged["ip_lapsed"] <= 0.06 * len(live)
        # disposals: every loan in disposal has one started, every recovered loan one completed, and the
        # completed ones are in the IP transaction register at their gross proceeds
        disposals = c.execute(text(
            "SELECT l.status, d.completed_on, d.proceeds, t.price_fen, t.region_code, b.region_code "
            "FROM loan l JOIN pledge_disposal d ON d.loan_id = l.id JOIN borrower b ON b.id = l.borrower_id "
            "LEFT JOIN ip_transaction t ON t.disposal_id = d.id")).all()
        n_ended = c.execute(text("SELECT COUNT(*) FROM loan WHERE status IN ('in_disposal', 'recovered')")).scalar_one()
        assert len(disposals) == n_ended == counts["pledge_disposals"] > 0
        for status, done, proceeds, price, t_region, b_region in disposals:
            gross = sum(p["amount_fen"] for p in (json.loads(proceeds) if isinstance(proceeds, str) else proceeds))
            assert (done is not None) == (status == "recovered")
            assert price == (gross or None) and (price is None or t_region == b_region)
            assert done is None or _day(done) <= AS_OF
    engine.dispose()
