"""The dashboard's only data access: who is looking (from the session cookie) and their figures.

Every callback asks :func:`current_viewer` again — the browser's state is never trusted for
identity or scope — and every figure comes from :mod:`api.stats` (the same functions as
``/api/v1/stats``) on the process-wide engine, scoped to the viewer's organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import flask
from sqlalchemy import MetaData, Table, func, inspect, or_, select, true
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from api import stats
from api.core.config import get_settings
from api.core.db import get_engine
from api.core.security import decode_access_token
from api.models import Loan, Organisation, OrgKind, User
from api.tenancy import loan_visibility
from dashboard.i18n import LANG_COOKIE, norm_lang


@dataclass(frozen=True)
class Viewer:
    """The signed-in user and their organisation (a detached snapshot for one request)."""

    user_id: int
    email: str
    full_name: str | None
    role: str
    org: Organisation

    @property
    def kind(self) -> str:
        return str(self.org.kind)

    def may_see(self, page: str) -> bool:
        """Page access by organisation kind (admin sees everything)."""
        allowed = PAGE_ACCESS[page]
        return self.kind == OrgKind.admin or allowed is None or self.kind in allowed


PAGE_ACCESS: dict[str, set[str] | None] = {
    "overview": None,  # everyone, scoped to what they may aggregate
    "bank": {"bank"},
    "guarantor": {"guarantor", "reguarantor", "fund"},
    "abs": None,  # everyone; pools are owner-scoped
}


def viewer_from_token(token: str | None) -> Viewer | None:
    """The active user behind a session token, or None (missing, forged, expired, inactive)."""
    if not token:
        return None
    sub = decode_access_token(token)
    if sub is None or not sub.isdigit():
        return None
    with Session(get_engine()) as s:
        user = s.get(User, int(sub))
        if user is None or not user.is_active:
            return None
        org = s.get(Organisation, user.organisation_id)
        if org is None:
            return None
        s.expunge(org)
        return Viewer(int(user.id or 0), user.email, user.full_name, str(user.role), org)


def current_viewer() -> Viewer | None:
    """The viewer of the current Flask request, from the HttpOnly session cookie."""
    if not flask.has_request_context():
        return None
    return viewer_from_token(flask.request.cookies.get(get_settings().session_cookie_name))


def current_lang() -> str:
    if not flask.has_request_context():
        return norm_lang(None)
    return norm_lang(flask.request.cookies.get(LANG_COOKIE))


# ------------------------------------------------------------------ bureau overview


def overview(viewer: Viewer, flt: stats.LoanFilter, threshold_cny: int) -> tuple[stats.Overview, stats.Overview | None]:
    """This period's and the previous period's headline figures (one SQL scan)."""
    with get_engine().connect() as conn:
        return stats.overview_with_previous(conn, viewer.org, flt, threshold_cny)


def breakdowns(viewer: Viewer, flt: stats.LoanFilter, keys: tuple[str, ...]) -> dict[str, list[stats.BreakdownRow]]:
    with get_engine().connect() as conn:
        return stats.breakdowns(conn, viewer.org, flt, keys)


def timeseries(viewer: Viewer, flt: stats.LoanFilter, granularity: str) -> list[stats.SeriesPoint]:
    with get_engine().connect() as conn:
        return stats.timeseries(conn, viewer.org, flt, granularity)


def loans(viewer: Viewer, flt: stats.LoanFilter, limit: int = 200) -> tuple[int, list[stats.LoanRow]]:
    with get_engine().connect() as conn:
        return stats.loans(conn, viewer.org, flt, 0, limit)


def may_list_loans(viewer: Viewer) -> bool:
    return stats.may_list_loans(viewer.org)


def data_period(viewer: Viewer) -> tuple[date | None, date | None]:
    with get_engine().connect() as conn:
        return stats.data_period(conn, viewer.org)


def bank_options(viewer: Viewer) -> list[tuple[int, str]]:
    """Banks appearing in the viewer's aggregate scope (for the bank filter)."""
    with get_engine().connect() as conn:
        ids = select(col(Loan.bank_org_id)).where(stats.aggregate_scope(viewer.org)).distinct().scalar_subquery()
        rows = conn.execute(
            select(col(Organisation.id), col(Organisation.name))
            .where(col(Organisation.id).in_(ids))
            .order_by(col(Organisation.name))
        ).all()
    return [(int(i or 0), str(n)) for i, n in rows]


def _table(conn: Connection, name: str) -> Table | None:
    """Another domain's table as it exists in the database, or None before its migration ran."""
    if not inspect(conn).has_table(name):
        return None
    return Table(name, MetaData(), autoload_with=conn)


def compensation_by_party(viewer: Viewer, flt: stats.LoanFilter) -> list[dict[str, Any]] | None:
    """Compensation paid per party on the loans behind the figures (None before risk-sharing)."""
    with get_engine().connect() as conn:
        rows = stats.compensation_by_party(conn, viewer.org, flt)
    return None if rows is None else [r.as_dict() for r in rows]


# ------------------------------------------------------------------ bank page


def collateral_report(viewer: Viewer, as_of: date, ltv_limit_pct: int) -> stats.CollateralReport:
    with get_engine().connect() as conn:
        return stats.collateral_report(conn, viewer.org, as_of=as_of, ltv_limit_pct=ltv_limit_pct)


def monitoring_alerts(viewer: Viewer) -> list[dict[str, Any]] | None:
    """Alerts of the pledge module's latest monitoring run by code and severity (None if absent)."""
    with get_engine().connect() as conn:
        alert = _table(conn, "pledge_alert")
        if alert is None:
            return None
        visible = select(col(Loan.id)).where(loan_visibility(viewer.org))
        latest = select(func.max(alert.c.as_of)).where(alert.c.loan_id.in_(visible)).scalar_subquery()
        stmt = (
            select(alert.c.code, alert.c.severity, func.count(), func.max(alert.c.as_of))
            .where(alert.c.loan_id.in_(visible), alert.c.as_of == latest)
            .group_by(alert.c.code, alert.c.severity)
            .order_by(func.count().desc())
        )
        return [{"code": c, "severity": s, "count": int(n), "as_of": a} for c, s, n, a in conn.execute(stmt)]


# ------------------------------------------------------------------ guarantor page


def guarantor_view(viewer: Viewer, limit: int = 200) -> dict[str, Any] | None:
    """Claims queue, review results, payouts by party and the ledger per party (None before
    the risk-sharing tables exist). Claims are those the organisation filed or pays into."""
    with get_engine().connect() as conn:
        claim, party, ledger = (_table(conn, n) for n in ("risk_claim", "risk_claim_party", "risk_ledger_entry"))
        if claim is None or party is None or ledger is None:
            return None
        if viewer.kind == OrgKind.admin:
            vis: Any = true()
            lvis: Any = true()
        else:
            paid_into = select(party.c.claim_id).where(party.c.org_id == viewer.org.id)
            vis = or_(claim.c.filed_by_org_id == viewer.org.id, claim.c.id.in_(paid_into))
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
        state = _table(conn, "risk_scheme_state")
        balances: dict[tuple[str, str], int] = {}
        if state is not None:
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


# ------------------------------------------------------------------ ABS page


def abs_view(viewer: Viewer, pool_id: int | None = None, strat_by: str = "industry") -> dict[str, Any] | None:
    """Pools the organisation owns, the selected pool's stratification, and the latest
    deterministic and Monte Carlo runs of deals on it (None before securitisation exists)."""
    try:
        from securitization.deal import pool_from_dict
        from securitization.pool import stratify
    except ImportError:
        return None
    with get_engine().connect() as conn:
        pool, deal, run = (_table(conn, n) for n in ("abs_pool", "abs_deal", "abs_run"))
        if pool is None or deal is None or run is None:
            return None
        scope = true() if viewer.kind == OrgKind.admin else pool.c.owner_org_id == viewer.org.id
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


# ------------------------------------------------------------------ valuation reports (bank page)


def _valuation_scope(table: Table, viewer: Viewer) -> Any:
    return true() if viewer.kind == OrgKind.admin else table.c.owner_org_id == viewer.org.id


def valuation_list(viewer: Viewer, limit: int = 100) -> list[dict[str, Any]] | None:
    """The organisation's latest completed valuations (None before the valuation tables exist)."""
    with get_engine().connect() as conn:
        val = _table(conn, "valuation")
        if val is None:
            return None
        cols = [val.c[k] for k in ("id", "identifier", "ip_type", "valuation_date", "appraised_value_fen",
                                   "mc_p5_fen", "appraised_low_fen", "appraised_high_fen")]
        stmt = (
            select(*cols)
            .where(_valuation_scope(val, viewer), val.c.status == "succeeded")
            .order_by(val.c.valuation_date.desc(), val.c.id.desc())
            .limit(limit)
        )
        return [dict(r._mapping) for r in conn.execute(stmt)]


def latest_valuation_report(viewer: Viewer) -> dict[str, Any] | None:
    """The newest completed valuation's Monte Carlo histogram (bin edges in fen, counts) and
    tornado bars (input, value at low, value at high, fen), from its stored result."""
    with get_engine().connect() as conn:
        val = _table(conn, "valuation")
        if val is None:
            return None
        row = conn.execute(
            select(val.c.id, val.c.identifier, val.c.valuation_date, val.c.result)
            .where(_valuation_scope(val, viewer), val.c.status == "succeeded", val.c.result.is_not(None))
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
