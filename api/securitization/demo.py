"""Demo securitisation data: the shipped reference deals (pool + structure) for the first demo
bank, and one pool built from that bank's active demo loans with a plain senior/subordinated
structure on it.

Demo assumptions for the loan pool: up to 300 of the bank's active loans, annual PD 2%, 30%
recovery after 6 months, interest-only (先息后本) schedules; tranches 90% senior at 3.5% and the
rest subordinated; a cumulative default rate above 8% switches to turbo.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from api.core.db import utcnow
from api.demo import DemoContext
from api.identity.models import Organisation
from api.pledge.models import Loan
from api.securitization.models import AbsDeal, AbsPool
from ipfin.money import fen_to_cny
from securitization.deal import deal_from_dict, pool_to_dict, reference_deals
from securitization.pool import PledgeLoan, Pool


def _pool_row(conn: Connection, org_id: int, pool: Pool, source: str) -> int:
    res = conn.execute(insert(AbsPool).values(
        name=pool.name, owner_org_id=org_id, source=source, balance_fen=pool.balance_fen, n_assets=pool.n_assets,
        definition=pool_to_dict(pool), created_at=utcnow(),
    ))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def _deal_row(conn: Connection, org_id: int, pool_id: int, name: str, structure: dict[str, Any]) -> None:
    conn.execute(insert(AbsDeal).values(name=name, owner_org_id=org_id, pool_id=pool_id, structure=structure,
                                        created_at=utcnow()))


def extend(conn: Connection, ctx: DemoContext) -> dict[str, int]:
    orgs = Organisation.__table__  # type: ignore[attr-defined]
    bank_id = conn.execute(select(orgs.c.id).where(orgs.c.kind == "bank").order_by(orgs.c.id)).scalar()
    if bank_id is None:
        return {"abs_pools": 0, "abs_deals": 0}
    n_pools = n_deals = 0
    for path in reference_deals().values():
        raw = json.loads(path.read_text(encoding="utf-8"))
        deal = deal_from_dict(raw)
        pool_id = _pool_row(conn, bank_id, deal.pool, "inline")
        structure = {k: v for k, v in raw.items() if k != "pool"}
        _deal_row(conn, bank_id, pool_id, deal.name, structure)
        n_pools += 1
        n_deals += 1

    t = Loan.__table__  # type: ignore[attr-defined]
    rows = conn.execute(
        select(t.c.reference, t.c.borrower_id, t.c.outstanding_fen, t.c.annual_rate, t.c.term_months,
               t.c.industry, t.c.region_code, t.c.primary_ip_type)
        .where(t.c.bank_org_id == bank_id, t.c.status == "active", t.c.outstanding_fen > 0)
        .order_by(t.c.id).limit(300)
    ).all()
    if rows:
        loans = tuple(
            PledgeLoan(loan_id=r.reference, borrower=str(r.borrower_id), balance_fen=int(r.outstanding_fen),
                       annual_rate=float(r.annual_rate), term_months=int(r.term_months), annual_pd=0.02,
                       recovery_rate=0.3, recovery_lag_months=6, industry=r.industry, region=r.region_code,
                       ip_type=str(r.primary_ip_type), schedule="bullet")
            for r in rows
        )
        pool = Pool(name="Demo bank active IP pledge loans", loans=loans)
        pool_id = _pool_row(conn, bank_id, pool, "loans")
        senior = pool.balance_fen * 9 // 10
        structure = {
            "name": "DEMO-BANK-IP-ABS", "closing_date": ctx.as_of.isoformat(), "payment_months": 3,
            "tranches": [
                {"name": "Senior", "balance_cny": str(fen_to_cny(senior)), "coupon": 0.035, "seniority": 1},
                {"name": "Sub", "balance_cny": str(fen_to_cny(pool.balance_fen - senior)), "coupon": 0.0,
                 "seniority": 2, "residual": True},
            ],
            "fees": [{"name": "servicer", "kind": "rate", "annual_rate": 0.001}],
            "triggers": [{"name": "cdr_8pct", "kind": "cumulative_default", "threshold": 0.08}],
            "scenarios": [{"name": "base"}, {"name": "pd_x3", "pd_multiplier": 3.0}],
        }
        deal_from_dict({**structure, "pool": pool_to_dict(pool)})  # validate before storing
        _deal_row(conn, bank_id, pool_id, structure["name"], structure)  # type: ignore[arg-type]
        n_pools += 1
        n_deals += 1
    return {"abs_pools": n_pools, "abs_deals": n_deals}
