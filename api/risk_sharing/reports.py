"""Read model for the guarantor page: claims queue, payouts by party and the ledger per party."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.engine import Connection

from api.identity.models import Organisation, OrgKind
from api.risk_sharing.models import SETTLED_SHARES, RiskClaim, RiskClaimParty, RiskLedgerEntry, RiskSchemeState

_DONE = ("completed", "closed", "rejected")
_SETTLED = {str(s) for s in SETTLED_SHARES}


def guarantor_view(conn: Connection, org: Organisation, limit: int = 200) -> dict[str, Any] | None:
    """Claims queue, review results, payouts by party and the ledger per party (None before
    the risk-sharing tables exist). Claims are those the organisation is a party of; each queue
    row carries its shares' progress (``shares_paid``/``shares_settled``/``shares_total``)."""
    claim, party, ledger = RiskClaim.__table__, RiskClaimParty.__table__, RiskLedgerEntry.__table__  # type: ignore[attr-defined]
    if str(org.kind) == OrgKind.admin:
        vis: Any = true()
        lvis: Any = true()
    else:
        vis = claim.c.id.in_(select(party.c.claim_id).where(party.c.org_id == org.id))
        lvis = ledger.c.claim_id.in_(select(claim.c.id).where(vis))
    by_status = [
        {"status": s, "count": int(n), "principal_fen": int(a or 0)}
        for s, n, a in conn.execute(
            select(claim.c.status, func.count(), func.sum(claim.c.outstanding_principal_fen))
            .where(vis).group_by(claim.c.status).order_by(claim.c.status)
        )
    ]
    queue = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                claim.c.id, claim.c.loan_key, claim.c.status, claim.c.rule_id, claim.c.default_date,
                claim.c.filed_on, claim.c.outstanding_principal_fen, claim.c.loss_base_fen, claim.c.eligible,
                claim.c.review,
            )
            .where(vis)
            .order_by(claim.c.status.in_(_DONE), claim.c.filed_on, claim.c.id)
            .limit(limit)
        )
    ]
    progress: dict[int, dict[str, int]] = {}
    if queue:
        for cid, st, n in conn.execute(
            select(party.c.claim_id, party.c.status, func.count())
            .where(party.c.claim_id.in_([q["id"] for q in queue])).group_by(party.c.claim_id, party.c.status)
        ):
            p = progress.setdefault(int(cid), {"shares_paid": 0, "shares_settled": 0, "shares_total": 0})
            p["shares_total"] += int(n)
            p["shares_paid"] += int(n) if st == "paid" else 0
            p["shares_settled"] += int(n) if st in _SETTLED else 0
    queue = [{**q, **progress.get(q["id"], {"shares_paid": 0, "shares_settled": 0, "shares_total": 0})}
             for q in queue]
    ledger_rows: dict[tuple[str, str], dict[str, Any]] = {}
    for rule_id, p, k, a in conn.execute(
        select(ledger.c.rule_id, ledger.c.party_key, ledger.c.kind, func.sum(ledger.c.amount_fen))
        .where(lvis).group_by(ledger.c.rule_id, ledger.c.party_key, ledger.c.kind)
    ):
        row = ledger_rows.setdefault((str(rule_id), str(p)), {"rule_id": str(rule_id), "party": str(p),
                                                                "paid_fen": 0, "recovered_fen": 0})
        row["paid_fen" if k == "payout" else "recovered_fen"] += int(a or 0)
    state = RiskSchemeState.__table__  # type: ignore[attr-defined]
    balances: dict[tuple[str, str], int] = {}
    if True:
        for rule_id, bal in conn.execute(select(state.c.rule_id, state.c.party_balance_fen)):
            for party_key, fen in (bal or {}).items():
                balances[(str(rule_id), str(party_key))] = int(fen)
    ledger_list = [
        {**r, "net_fen": r["paid_fen"] - r["recovered_fen"], "balance_fen": balances.get(key)}
        for key, r in sorted(ledger_rows.items())
    ]
    payouts: dict[str, int] = {}
    for r in ledger_list:
        payouts[r["party"]] = payouts.get(r["party"], 0) + r["paid_fen"]
    return {"by_status": by_status, "queue": queue, "payouts": payouts, "ledger": ledger_list}
