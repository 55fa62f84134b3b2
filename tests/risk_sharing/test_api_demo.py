"""Demo risk-sharing data: claims reviewed by the engine, ledger consistent with the reviews."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from api.core.db import make_engine, upgrade
from api.demo import generate


def test_demo_claims_are_exact_and_recoveries_never_exceed_payouts(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    counts = generate(engine, 6000, seed=5)
    assert counts["risk_rules"] == 11
    assert counts["risk_claims"] > 0 and counts["risk_claims_approved"] > 0
    assert counts["risk_claims_partially_paid"] > 0
    with engine.connect() as c:
        # every completed claim's payouts sum exactly to its loss base (issue 12: completed = all shares paid)
        rows = c.execute(text(
            "SELECT c.id, c.loss_base_fen, SUM(e.amount_fen) FROM risk_claim c JOIN risk_ledger_entry e "
            "ON e.claim_id = c.id AND e.kind = 'payout' WHERE c.status = 'completed' GROUP BY c.id, c.loss_base_fen"
        )).all()
        assert len(rows) == counts["risk_claims_approved"]
        assert all(base == paid for _, base, paid in rows)
        # a share's ledger line exists exactly when the share is paid, for its amount
        mismatched = c.execute(text(
            "SELECT p.claim_id, p.party_key FROM risk_claim_party p LEFT JOIN risk_ledger_entry e "
            "ON e.claim_id = p.claim_id AND e.party_key = p.party_key AND e.kind = 'payout' "
            "WHERE (p.status = 'paid' AND (e.amount_fen IS NULL OR e.amount_fen <> p.payable_fen)) "
            "OR (p.status <> 'paid' AND e.id IS NOT NULL)"
        )).all()
        assert mismatched == []
        # partially paid claims: some shares paid, some not
        partial = c.execute(text(
            "SELECT c.id, SUM(CASE WHEN p.status = 'paid' THEN 1 ELSE 0 END), COUNT(*) FROM risk_claim c "
            "JOIN risk_claim_party p ON p.claim_id = c.id WHERE c.status = 'partially_paid' GROUP BY c.id"
        )).all()
        assert len(partial) == counts["risk_claims_partially_paid"]
        assert all(0 < n_paid < n for _, n_paid, n in partial)
        # every preset family has an administering organisation
        assert c.execute(text("SELECT COUNT(*) FROM risk_rule_family")).scalar_one() == 11
        # per claim and party, recovered ≤ paid
        over = c.execute(text(
            "SELECT claim_id, party_key FROM risk_ledger_entry GROUP BY claim_id, party_key "
            "HAVING SUM(CASE WHEN kind = 'recovery' THEN amount_fen ELSE 0 END) > "
            "SUM(CASE WHEN kind = 'payout' THEN amount_fen ELSE 0 END)"
        )).all()
        assert over == []
        # rejected claims carry their reasons; approved ones none
        for status, review in c.execute(text("SELECT status, review FROM risk_claim")).all():
            reasons = (json.loads(review) if isinstance(review, str) else review)["reasons"]
            assert (status == "rejected") == bool(reasons) or status == "reviewed"
