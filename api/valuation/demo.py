"""Demo data for the valuation table: a handful of pledged IP assets valued by the real engine.

Each sampled asset gets a relief-from-royalty valuation with a small Monte Carlo (seeded), so
the stored rows, their fen columns and their reports are exactly what ``POST /valuations``
would store. Draws come from a generator of our own (seed, 2) so other extensions' data do not
change with ours.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from api.pledge.models import IPAsset, LoanCollateral
from api.valuation.models import Valuation
from valuation.engine import value_asset
from valuation.request import AssetIn, ValuationRequest

N_VALUATIONS = 12


PATHS = 2000


ROYALTY = {"invention_patent": (0.02, 0.035, 0.05), "utility_model": (0.01, 0.02, 0.03),
           "design": (0.005, 0.01, 0.02), "trademark": (0.005, 0.01, 0.015),
           "copyright": (0.02, 0.03, 0.05), "software_copyright": (0.03, 0.05, 0.08)}


def _request(a: Any, as_of: Any, rng: np.random.Generator) -> dict[str, Any]:
    t = str(a.ip_type)
    dates: dict[str, Any] = {"filing_date": a.filing_date, "grant_date": a.grant_date}
    if t == "trademark":
        dates = {"registration_date": a.grant_date or a.filing_date}
    elif t in ("copyright", "software_copyright"):
        dates = {"publication_date": a.grant_date or a.filing_date}
    lo, mode, hi = ROYALTY[t]
    return {
        "asset": {"ip_type": t, "identifier": a.identifier, "title": a.title, "legal_status": "in_force",
                  **{k: v.isoformat() for k, v in dates.items() if v is not None}},
        "valuation_date": as_of.isoformat(),
        "economics": {"base_revenue_cny": f"{int(rng.integers(5, 200)) * 1_000_000}.00",
                      "revenue_growth": round(float(rng.uniform(0.0, 0.1)), 4),
                      "revenue_volatility": round(float(rng.uniform(0.15, 0.35)), 4),
                      "profit_margin": 0.15, "tax_rate": 0.25},
        "discount": {"risk_free": 0.0185, "technical": 0.03, "market": 0.03, "funding": 0.01,
                     "management": 0.01, "legal": 0.02},
        "income": {"method": "relief_from_royalty", "royalty": {"low": lo, "mode": mode, "high": hi},
                   "economic_life_years": 5},
        "monte_carlo": {"paths": PATHS, "chunk_size": PATHS, "seed": int(rng.integers(0, 2**31)),
                        "success_probability": 0.95, "annual_hazard": 0.02},
    }


def extend(conn: Connection, ctx: Any) -> dict[str, int]:
    rng = np.random.default_rng([ctx.seed, 2])
    if len(ctx.loan_ids) == 0:
        return {"valuations": 0}
    lo, hi = int(ctx.loan_ids.min()), int(ctx.loan_ids.max())
    lc, ia = LoanCollateral.__table__.c, IPAsset.__table__.c  # type: ignore[attr-defined]
    assets = conn.execute(
        select(ia.id, ia.ip_type, ia.identifier, ia.title, ia.filing_date, ia.grant_date, ia.owner_org_id)
        .join(LoanCollateral.__table__, lc.ip_asset_id == ia.id)  # type: ignore[attr-defined]
        .where(lc.loan_id.between(lo, hi), ia.legal_status == "granted").order_by(ia.id).limit(20 * N_VALUATIONS)
    ).all()
    if not assets:
        return {"valuations": 0}
    pick = rng.choice(len(assets), size=min(N_VALUATIONS, len(assets)), replace=False)
    created = datetime.combine(ctx.as_of, time(9, 0), tzinfo=UTC)
    rows = []
    for i in sorted(pick.tolist()):
        a = assets[i]
        body = _request(a, ctx.as_of, rng)
        try:
            legal = AssetIn.model_validate(body["asset"]).to_asset().remaining_legal_term(ctx.as_of)
            if legal < 0.5:
                continue
            body["income"]["economic_life_years"] = round(min(5.0, 0.8 * legal), 2)
            req = ValuationRequest.model_validate(body)
        except ValidationError:  # an asset the engine would not value (e.g. not in force): skipped
            continue
        r = value_asset(req)
        rows.append({
            "owner_org_id": a.owner_org_id, "ip_asset_id": a.id, "identifier": r.identifier, "ip_type": r.ip_type,
            "valuation_date": ctx.as_of, "status": "succeeded", "appraised_value_fen": r.appraised_value_fen,
            "appraised_low_fen": r.appraised_low_fen, "appraised_high_fen": r.appraised_high_fen,
            "mc_mean_fen": r.monte_carlo.mean_fen if r.monte_carlo else None,
            "mc_p5_fen": r.monte_carlo.p5_fen if r.monte_carlo else None, "n_paths": PATHS,
            "seed": req.monte_carlo.seed, "request": body, "result": r.model_dump(mode="json"),
            "created_at": created, "finished_at": created,
        })
    if rows:
        conn.execute(insert(Valuation.__table__), rows)  # type: ignore[attr-defined]
    return {"valuations": len(rows)}
