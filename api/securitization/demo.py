"""Demo securitisation data: the shipped reference deals (pool + structure) for the first demo
bank, one pool built from that bank's active demo loans with a plain senior/subordinated
structure on it, and for every deal a deterministic and a Monte Carlo run (so the ABS page
shows cash flows and loss distributions on first start).

Demo assumptions for the loan pool: the bank's 300 most recently originated active loans, aged
to ``as_of`` (as ``POST /pools`` with ``assumptions.as_of`` does), annual PD 2%, 30% recovery
after 6 months, interest-only (先息后本) schedules; tranches 90% senior at 3.5% and the rest
subordinated; a cumulative default rate above 8% switches to turbo. Runs: the API's defaults
(seed 20240601, base stress) with 2,000 paths for Monte Carlo, computed by the same
``compute_run`` the API uses.
"""

from __future__ import annotations

import json
import warnings
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from api.core.db import utcnow
from api.demo import DemoContext
from api.identity.models import Organisation
from api.pledge.models import Loan
from api.securitization.models import AbsDeal, AbsPool, AbsRun
from api.securitization.schemas import RunCreate
from api.securitization.service import compute_run
from ipfin.calendar import CalendarHorizonWarning
from ipfin.money import fen_to_cny
from securitization.deal import deal_from_dict, pool_to_dict, reference_deals
from securitization.pool import PledgeLoan, Pool


def _pool_row(conn: Connection, org_id: int, pool: Pool, source: str) -> int:
    res = conn.execute(insert(AbsPool).values(
        name=pool.name, owner_org_id=org_id, source=source, balance_fen=pool.balance_fen, n_assets=pool.n_assets,
        definition=pool_to_dict(pool), created_at=utcnow(),
    ))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


RUNS = (RunCreate(), RunCreate(mode="monte_carlo", n_paths=2_000))


def _deal_row(conn: Connection, org_id: int, pool_id: int, name: str, structure: dict[str, Any], pool: Pool) -> int:
    """The deal, then one stored run per :data:`RUNS` entry (succeeded, result as the API stores it)."""
    deal_id = int(conn.execute(insert(AbsDeal).values(
        name=name, owner_org_id=org_id, pool_id=pool_id, structure=structure, created_at=utcnow(),
    )).inserted_primary_key[0])  # type: ignore[index]
    deal = deal_from_dict({**structure, "pool": pool_to_dict(pool)})
    for body in RUNS:
        with warnings.catch_warnings():  # a deal closing today projects past the published holiday calendar
            warnings.simplefilter("ignore", CalendarHorizonWarning)
            result = compute_run(deal, body)
        conn.execute(insert(AbsRun).values(deal_id=deal_id, mode=body.mode, status="succeeded",
                                           params=body.model_dump(mode="json"), result=result, created_at=utcnow()))
    return len(RUNS)


def _months(a: date, b: date) -> int:
    return max(0, (b.year - a.year) * 12 + (b.month - a.month) - (1 if b.day < a.day else 0))


def extend(conn: Connection, ctx: DemoContext) -> dict[str, int]:
    orgs = Organisation.__table__  # type: ignore[attr-defined]
    bank_id = conn.execute(select(orgs.c.id).where(orgs.c.kind == "bank").order_by(orgs.c.id)).scalar()
    if bank_id is None:
        return {"abs_pools": 0, "abs_deals": 0, "abs_runs": 0}
    n_pools = n_deals = n_runs = 0
    for path in reference_deals().values():
        raw = json.loads(path.read_text(encoding="utf-8"))
        deal = deal_from_dict(raw)
        pool_id = _pool_row(conn, bank_id, deal.pool, "inline")
        structure = {k: v for k, v in raw.items() if k != "pool"}
        n_runs += _deal_row(conn, bank_id, pool_id, deal.name, structure, deal.pool)
        n_pools += 1
        n_deals += 1

    t = Loan.__table__  # type: ignore[attr-defined]
    rows = conn.execute(
        select(t.c.reference, t.c.borrower_id, t.c.outstanding_fen, t.c.annual_rate, t.c.term_months,
               t.c.industry, t.c.region_code, t.c.primary_ip_type, t.c.origination_date)
        .where(t.c.bank_org_id == bank_id, t.c.status == "active", t.c.outstanding_fen > 0)
        .order_by(t.c.origination_date.desc(), t.c.id).limit(300)
    ).all()
    if rows:
        loans = tuple(
            PledgeLoan(loan_id=r.reference, borrower=str(r.borrower_id), balance_fen=int(r.outstanding_fen),
                       annual_rate=float(r.annual_rate), term_months=int(r.term_months), annual_pd=0.02,
                       recovery_rate=0.3, recovery_lag_months=6, industry=r.industry, region=r.region_code,
                       ip_type=str(r.primary_ip_type), schedule="bullet",
                       age_months=min(_months(_day(r.origination_date), ctx.as_of), int(r.term_months) - 1))
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
        n_runs += _deal_row(conn, bank_id, pool_id, structure["name"], structure, pool)  # type: ignore[arg-type]
        n_pools += 1
        n_deals += 1
    return {"abs_pools": n_pools, "abs_deals": n_deals, "abs_runs": n_runs}


def _day(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))
