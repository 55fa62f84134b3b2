"""Demo risk-sharing data: every preset installed, claims reviewed by the engine and taken through the
share workflow (reviewed → partially paid → completed, or rejected), a ledger that agrees with the
shares, recoveries read from the loans' pledge disposals, and the same rows whatever the insert size."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from api.core.db import make_engine, upgrade
from api.demo import BLOCK, generate
from api.risk_sharing.demo import LedgerUsage
from risk_sharing import ledger as rs_ledger
from risk_sharing.claims import ExistingClaim
from risk_sharing.presets import list_presets

pytestmark = pytest.mark.db

N = BLOCK + 1_001
"""More than one random block of loans."""
AS_OF = date(2026, 3, 1)
RISK_TABLES = ("risk_rule", "risk_rule_family", "risk_scheme_state", "risk_claim", "risk_claim_party",
               "risk_recovery", "risk_ledger_entry")
NOT_REPRODUCIBLE = ("created_at", "updated_at")


def _fresh(path: Path, *, batch: int) -> Any:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.counts = generate(engine, N, seed=5, as_of=AS_OF, batch=batch)  # type: ignore[attr-defined]
    return engine


@pytest.fixture(scope="module")
def one_shot(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo book inserted in one statement per table."""
    engine = _fresh(tmp_path_factory.mktemp("rs_demo") / "one.db", batch=10 * N)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def chunked(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same book inserted 777 rows at a time."""
    engine = _fresh(tmp_path_factory.mktemp("rs_demo") / "chunked.db", batch=777)
    yield engine
    engine.dispose()


def _json(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def test_every_preset_is_installed_with_its_administering_organisation(one_shot: Any) -> None:
    assert one_shot.counts["risk_rules"] == len(list_presets())
    with one_shot.connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM risk_rule_family")).scalar_one() == len(list_presets())
        assert c.execute(text("SELECT COUNT(*) FROM risk_scheme_state")).scalar_one() == len(list_presets())


def test_claims_end_in_the_states_of_the_share_workflow(one_shot: Any) -> None:
    """Completed: every share settled and some paid; partially paid: some shares paid, some not;
    reviewed: nothing signed; rejected: ineligible, every share declined or nothing due."""
    counts = one_shot.counts
    assert counts["risk_claims"] > 0 and counts["risk_claims_completed"] > 0
    assert counts["risk_claims_partially_paid"] > 0
    with one_shot.connect() as c:
        rows = c.execute(text(
            "SELECT c.id, c.status, c.eligible, c.signed_on, p.status FROM risk_claim c "
            "JOIN risk_claim_party p ON p.claim_id = c.id ORDER BY c.id, p.party_key"
        )).all()
        by_status = dict(c.execute(text("SELECT status, COUNT(*) FROM risk_claim GROUP BY status")).all())
    assert set(by_status) <= {"reviewed", "partially_paid", "completed", "closed", "rejected"}
    assert by_status.get("completed", 0) == counts["risk_claims_completed"]
    assert by_status.get("partially_paid", 0) == counts["risk_claims_partially_paid"]
    shares: dict[int, tuple[str, bool, Any, list[str]]] = {}
    for cid, status, eligible, signed, share in rows:
        shares.setdefault(cid, (status, bool(eligible), signed, []))[3].append(share)
    for cid, (status, eligible, signed, sts) in shares.items():
        settled = all(s in ("paid", "declined", "nothing_due") for s in sts)
        if status == "completed":
            assert eligible and signed is not None and settled and "paid" in sts and "declined" not in sts, cid
        elif status == "closed":
            assert signed is not None and settled and "declined" in sts, cid
        elif status == "partially_paid":
            assert eligible and signed is not None and "paid" in sts and not settled, cid
        elif status == "reviewed":
            assert signed is None and set(sts) <= {"pending", "nothing_due"}, cid
        else:
            assert not eligible and set(sts) <= {"declined", "nothing_due"}, cid


def test_every_paid_share_has_a_ledger_payout_of_the_same_amount(one_shot: Any) -> None:
    """A share's payout line exists exactly when the share is paid, for its amount, on its payment day."""
    with one_shot.connect() as c:
        mismatched = c.execute(text(
            "SELECT p.claim_id, p.party_key FROM risk_claim_party p LEFT JOIN risk_ledger_entry e "
            "ON e.claim_id = p.claim_id AND e.party_key = p.party_key AND e.kind = 'payout' "
            "WHERE (p.status = 'paid' AND (e.amount_fen IS NULL OR e.amount_fen <> p.payable_fen "
            "OR e.booked_on <> p.paid_on OR e.party_org_id <> p.org_id)) "
            "OR (p.status <> 'paid' AND e.id IS NOT NULL)"
        )).all()
        paid = c.execute(text("SELECT COUNT(*) FROM risk_claim_party WHERE status = 'paid'")).scalar_one()
        payouts = c.execute(text("SELECT COUNT(*) FROM risk_ledger_entry WHERE kind = 'payout'")).scalar_one()
    assert mismatched == []
    assert paid == payouts > 0


def test_the_shares_of_a_claim_sum_to_its_payable_total(one_shot: Any) -> None:
    """Σ share amounts = the review's payable total: the loss base when eligible (exact fen), 0 when not;
    each share is the review's part for that party."""
    with one_shot.connect() as c:
        claims = c.execute(text("SELECT id, eligible, loss_base_fen, review FROM risk_claim")).all()
        parts: dict[int, dict[str, int]] = {}
        for cid, key, payable in c.execute(text("SELECT claim_id, party_key, payable_fen FROM risk_claim_party")):
            parts.setdefault(cid, {})[key] = payable
    assert claims
    for cid, eligible, base, review in claims:
        review = _json(review)
        assert parts[cid] == {p["key"]: p["payable_fen"] for p in review["parties"]}, cid
        assert sum(parts[cid].values()) == (base if eligible else 0), cid
        assert eligible == review["eligible"] and (eligible or review["reasons"]), cid


def test_recoveries_are_the_proceeds_of_the_loans_disposal(one_shot: Any) -> None:
    """A recovered loan's completed claim gets one recovery: the gross proceeds and costs of its pledge
    disposal, dated on the last proceeds, by the disposal's method (register, disposal and recovery agree)."""
    with one_shot.connect() as c:
        recs = c.execute(text(
            "SELECT r.claim_id, r.disposal_id, r.gross_fen, r.disposal_costs_fen, r.received_on, r.method, "
            "d.loan_id, d.proceeds, d.costs, d.method, c.loan_id FROM risk_recovery r "
            "JOIN risk_claim c ON c.id = r.claim_id LEFT JOIN pledge_disposal d ON d.id = r.disposal_id"
        )).all()
        expected = c.execute(text(
            "SELECT c.id FROM risk_claim c JOIN loan l ON l.id = c.loan_id "
            "WHERE c.status = 'completed' AND l.status = 'recovered' ORDER BY c.id"
        )).scalars().all()
        register = dict(c.execute(text(
            "SELECT disposal_id, price_fen FROM ip_transaction WHERE source = 'pledge_disposal'")).all())
    assert recs and sorted(r[0] for r in recs) == expected
    for claim_id, disposal_id, gross, costs, received, method, d_loan, proceeds, d_costs, d_method, loan in recs:
        assert disposal_id is not None and d_loan == loan, claim_id
        proceeds, d_costs = _json(proceeds), _json(d_costs)
        assert gross == sum(int(p["amount_fen"]) for p in proceeds) == register[disposal_id], claim_id
        assert costs == sum(int(p["amount_fen"]) for p in d_costs), claim_id
        assert str(received)[:10] == max(p["on"] for p in proceeds) and method == d_method, claim_id


def test_recoveries_never_exceed_what_a_party_paid(one_shot: Any) -> None:
    """Per claim and party, recovered ≤ paid; a recovery's ledger lines are its parts; net = Σ parts + surplus."""
    with one_shot.connect() as c:
        over = c.execute(text(
            "SELECT claim_id, party_key FROM risk_ledger_entry GROUP BY claim_id, party_key "
            "HAVING SUM(CASE WHEN kind = 'recovery' THEN amount_fen ELSE 0 END) > "
            "SUM(CASE WHEN kind = 'payout' THEN amount_fen ELSE 0 END)"
        )).all()
        recs = c.execute(text("SELECT id, gross_fen, disposal_costs_fen, net_fen, surplus_fen, parts "
                              "FROM risk_recovery")).all()
        lines: dict[int, dict[str, int]] = {}
        for rid, key, amount in c.execute(text(
                "SELECT recovery_id, party_key, amount_fen FROM risk_ledger_entry WHERE kind = 'recovery'")):
            lines.setdefault(rid, {})[key] = amount
    assert over == []
    for rid, gross, costs, net, surplus, parts in recs:
        parts = _json(parts)
        assert net == gross - costs == sum(parts.values()) + surplus, rid
        assert lines.get(rid, {}) == {k: v for k, v in parts.items() if v > 0}, rid


def _digest(engine: Any) -> str:
    """The risk-sharing tables, every column but wall-clock stamps, in id (key) order."""
    h = hashlib.sha256()
    insp = inspect(engine)
    with engine.connect() as c:
        for table in RISK_TABLES:
            cols = [x["name"] for x in insp.get_columns(table) if x["name"] not in NOT_REPRODUCIBLE]
            key = "id" if "id" in cols else "rule_id"
            for row in c.execute(text(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {key}")):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def test_same_seed_and_as_of_give_identical_risk_sharing_rows_whatever_the_batch_size(
    one_shot: Any, chunked: Any
) -> None:
    assert {k: v for k, v in one_shot.counts.items() if k != "seconds"} == {
        k: v for k, v in chunked.counts.items() if k != "seconds"}
    assert _digest(one_shot) == _digest(chunked)


def test_the_ledger_index_gives_the_review_context_of_a_full_ledger_scan() -> None:
    """O(1) look-ups of cap usage (borrower/year, lender/year, party/year, lifetime) equal
    ``risk_sharing.ledger.review_context`` over every entry, other families and recoveries ignored."""
    rnd = random.Random(7)
    usage = LedgerUsage("fam")
    entries: list[rs_ledger.LedgerEntry] = []
    for i in range(400):
        e = rs_ledger.LedgerEntry(
            rule_id=rnd.choice(("fam", "fam", "fam", "other")), rule_version=1,
            party=rnd.choice(("guarantor", "reguarantor", "nfgf", "bank")),
            kind=rnd.choice((rs_ledger.EntryKind.PAYOUT, rs_ledger.EntryKind.PAYOUT, rs_ledger.EntryKind.RECOVERY)),
            amount_fen=rnd.randrange(0, 10**9), booked_on=date(2021, 1, 1) + timedelta(days=rnd.randrange(1500)),
            claim_id=str(i), loan_id=f"loan:{i}", borrower_id=f"borrower:{rnd.randrange(30)}",
            lender_id=rnd.choice(("org:1", "org:2", "")), compensation=rnd.random() < 0.6,
        )
        entries.append(e)
        usage.add(e)
    existing = [ExistingClaim("1", "loan:1", "completed"), ExistingClaim("2", "loan:2", "reviewed")]
    for c in existing:
        usage.add_claim(c)
    for _ in range(200):
        borrower, lender = f"borrower:{rnd.randrange(35)}", rnd.choice(("org:1", "org:2", "org:3", ""))
        day, loan = date(2021, 1, 1) + timedelta(days=rnd.randrange(1800)), rnd.choice(("loan:1", "loan:2", "x"))
        fast = usage.context(borrower_id=borrower, lender_id=lender, loan_id=loan, review_date=day)
        full = rs_ledger.review_context(entries, rule_id="fam", borrower_id=borrower, lender_id=lender,
                                        review_date=day, existing_claims=existing)
        assert fast.existing_claims == tuple(c for c in existing if c.loan_id == loan)
        assert fast == replace(full, existing_claims=fast.existing_claims)
