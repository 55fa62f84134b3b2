"""Read model for the guarantor page: claims queue, payouts by party and the ledger per party."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.engine import Connection

from api.identity.models import Organisation, OrgKind
from api.risk_sharing.models import RiskClaim, RiskClaimParty, RiskLedgerEntry, RiskSchemeState


def guarantor_view(conn: Connection, org: Organisation, limit: int = 200) -> dict[str, Any] | None:
    """Claims queue, review results, payouts by party and the ledger per party (None before
    the risk-sharing tables exist). Claims are those the organisation filed or pays into."""
    claim, party, ledger = RiskClaim.__table__, RiskClaimParty.__table__, RiskLedgerEntry.__table__  # type: ignore[attr-defined]
    if str(org.kind) == OrgKind.admin:
        vis: Any = true()
        lvis: Any = true()
    else:
        paid_into = select(party.c.claim_id).where(party.c.org_id == org.id)
        vis = or_(claim.c.filed_by_org_id == org.id, claim.c.id.in_(paid_into))
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
            .order_by(claim.c.status.in_(("approved", "rejected")), claim.c.filed_on, claim.c.id)
            .limit(limit)
        )
    ]
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
