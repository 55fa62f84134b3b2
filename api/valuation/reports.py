"""Read models for the bank page's valuation charts: latest valuations and the newest report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select, true
from sqlalchemy.engine import Connection

from api.identity.models import Organisation, OrgKind
from api.valuation.models import Valuation


def _valuation_scope(table: Table, org: Organisation) -> Any:
    return true() if str(org.kind) == OrgKind.admin else table.c.owner_org_id == org.id


def valuation_list(conn: Connection, org: Organisation, limit: int = 100) -> list[dict[str, Any]] | None:
    """The organisation's latest completed valuations (None before the valuation tables exist)."""
    val = Valuation.__table__  # type: ignore[attr-defined]
    cols = [val.c[k] for k in ("id", "identifier", "ip_type", "valuation_date", "appraised_value_fen",
                               "mc_p5_fen", "appraised_low_fen", "appraised_high_fen")]
    stmt = (
        select(*cols)
        .where(_valuation_scope(val, org), val.c.status == "succeeded")
        .order_by(val.c.valuation_date.desc(), val.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def latest_valuation_report(conn: Connection, org: Organisation) -> dict[str, Any] | None:
    """The newest completed valuation's Monte Carlo histogram (bin edges in fen, counts) and
    tornado bars (input, value at low, value at high, fen), from its stored result."""
    val = Valuation.__table__  # type: ignore[attr-defined]
    row = conn.execute(
        select(val.c.id, val.c.identifier, val.c.valuation_date, val.c.result)
        .where(_valuation_scope(val, org), val.c.status == "succeeded", val.c.result.is_not(None))
        .order_by(val.c.valuation_date.desc(), val.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    result = row.result if isinstance(row.result, dict) else {}
    mc = result.get("monte_carlo") or {}
    tornado = [
        (str(b["input"]), int(b["value_at_low_fen"]), int(b["value_at_high_fen"])) for b in result.get("tornado") or []
    ]
    return {
        "id": row.id, "identifier": row.identifier, "valuation_date": row.valuation_date,
        "histogram_edges_fen": [int(e) for e in mc.get("histogram_edges_fen") or []],
        "histogram_counts": [int(c) for c in mc.get("histogram_counts") or []],
        "tornado": tornado, "tornado_base_fen": int(result.get("tornado_base_fen") or 0),
    }
