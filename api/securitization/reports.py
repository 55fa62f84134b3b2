"""Read model for the ABS page: pools, stratification and the latest runs of their deals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, true
from sqlalchemy.engine import Connection

from api.identity.models import Organisation, OrgKind
from api.securitization.models import AbsDeal, AbsPool, AbsRun


def abs_view(
    conn: Connection, org: Organisation, pool_id: int | None = None, strat_by: str = "industry"
) -> dict[str, Any] | None:
    """Pools the organisation owns, the selected pool's stratification, and the latest
    deterministic and Monte Carlo runs of deals on it (None before securitisation exists)."""
    try:
        from securitization.deal import pool_from_dict
        from securitization.pool import stratify
    except ImportError:
        return None
    pool, deal, run = AbsPool.__table__, AbsDeal.__table__, AbsRun.__table__  # type: ignore[attr-defined]
    scope = true() if str(org.kind) == OrgKind.admin else pool.c.owner_org_id == org.id
    pools = [
        dict(r._mapping)
        for r in conn.execute(
            select(pool.c.id, pool.c.name, pool.c.source, pool.c.balance_fen, pool.c.n_assets, pool.c.created_at)
            .where(scope).order_by(pool.c.id.desc()).limit(200)
        )
    ]
    ids = [p["id"] for p in pools]
    selected = pool_id if pool_id in ids else (ids[0] if ids else None)
    out: dict[str, Any] = {"pools": pools, "pool_id": selected, "strata": [], "deterministic": None,
                           "monte_carlo": None}
    if selected is None:
        return out
    definition = conn.execute(select(pool.c.definition).where(pool.c.id == selected)).scalar_one()
    out["strata"] = [
        {"bucket": r.bucket, "count": r.count, "balance_fen": r.balance_fen, "share": float(r.share)}
        for r in stratify(pool_from_dict(definition), strat_by)  # type: ignore[arg-type]  # checked by stratify
    ]
    for mode in ("deterministic", "monte_carlo"):
        row = conn.execute(
            select(run.c.id, run.c.result)
            .join(deal, deal.c.id == run.c.deal_id)
            .where(deal.c.pool_id == selected, run.c.mode == mode, run.c.status == "succeeded",
                   run.c.result.is_not(None))
            .order_by(run.c.id.desc()).limit(1)
        ).first()
        if row is not None and isinstance(row.result, dict):
            out[mode] = {"run_id": row.id, **row.result}
    return out
