"""Read models for the dashboard's bank page (and the API): the watchlist with score migration, the
bureau's regional summary of early warnings, and a stress run's summary.

Tenancy: loan rows are those the viewer may see row by row (``loan_visibility``: a bank its own, a
bureau only under ``bureau_loan_level_access``); the summaries aggregate what the viewer may
aggregate (``aggregate_scope``: a bureau its region). Scores come from the latest run of each
scoring organisation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from api.core.tenancy import loan_visibility
from api.early_warning.models import EWRun, EWScore, StressRun, StressStatus
from api.identity.models import Organisation, OrgKind
from api.pledge.models import Loan
from api.stats.filters import aggregate_scope
from pledge.early_warning import pd_bucket, pd_bucket_labels


def _latest_runs(conn: Connection, org: Organisation) -> list[int]:
    """The latest run of the organisation (a bank) or of every scoring organisation (bureau, admin)."""
    stmt = select(func.max(col(EWRun.id)))
    if org.kind not in (OrgKind.admin, OrgKind.bureau):
        stmt = stmt.where(col(EWRun.org_id) == org.id)
    return [int(r) for (r,) in conn.execute(stmt.group_by(col(EWRun.org_id))) if r is not None]


def _previous_run(conn: Connection, run_id: int) -> int | None:
    org_id = select(col(EWRun.org_id)).where(col(EWRun.id) == run_id).scalar_subquery()
    prev = conn.execute(select(func.max(col(EWRun.id))).where(col(EWRun.org_id) == org_id, col(EWRun.id) < run_id))
    p = prev.scalar()
    return None if p is None else int(p)


def _scores(conn: Connection, run_ids: list[int], where: ColumnElement[bool], *, alerts_only: bool = False,
            offset: int = 0, limit: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    s = EWScore.__table__  # type: ignore[attr-defined]
    cond = [s.c.run_id.in_(run_ids), where]
    if alerts_only:
        cond.append(s.c.alert.is_(True))
    base = select(s.c.loan_id, s.c.run_id, s.c.pd, s.c.rank, s.c.bucket, s.c.alert, s.c.drivers, col(Loan.reference),
                  col(Loan.bank_org_id), col(Loan.province_code)).join(Loan, col(Loan.id) == s.c.loan_id).where(*cond)
    count = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = conn.execute(base.order_by(s.c.pd.desc(), s.c.loan_id).offset(offset).limit(limit)).all()
    out = [{"loan_id": int(r[0]), "run_id": int(r[1]), "pd": float(r[2]), "rank": int(r[3]), "bucket": r[4],
            "alert": bool(r[5]), "drivers": r[6], "reference": r[7], "bank_org_id": int(r[8]),
            "province_code": r[9]} for r in rows]
    return int(count), out


def _with_previous(conn: Connection, rows: list[dict[str, Any]], alert_pd: dict[int, float]) -> None:
    """Add the loan's PD and rank in the previous run of the same organisation (score migration)."""
    s = EWScore.__table__  # type: ignore[attr-defined]
    prev = {rid: _previous_run(conn, rid) for rid in {r["run_id"] for r in rows}}
    found: dict[tuple[int, int], tuple[float, int]] = {}
    for rid, pid in prev.items():
        if pid is None:
            continue
        ids = [r["loan_id"] for r in rows if r["run_id"] == rid]
        for i in range(0, len(ids), 900):
            for lid, pd, rank in conn.execute(select(s.c.loan_id, s.c.pd, s.c.rank).where(
                    s.c.run_id == pid, s.c.loan_id.in_(ids[i:i + 900]))):
                found[(rid, int(lid))] = (float(pd), int(rank))
    for r in rows:
        p = found.get((r["run_id"], r["loan_id"]))
        r["previous_pd"] = p[0] if p else None
        r["pd_change"] = r["pd"] - p[0] if p else None
        r["previous_rank"] = p[1] if p else None
        r["rank_change"] = p[1] - r["rank"] if p else None
        r["new_alert"] = r["alert"] and (p is None or p[0] < alert_pd[r["run_id"]])


def watchlist(conn: Connection, org: Organisation, *, alerts_only: bool = False, offset: int = 0,
              limit: int = 50, run_id: int | None = None) -> dict[str, Any]:
    """Loans by PD (highest first) from the latest runs the viewer may see, with drivers and migration.

    Returns ``{"runs": [{id, org_id, data_cut, model_version, model_kind, alert_pd, n_loans, n_alerts}],
    "count": int, "data": [{loan_id, reference, bank_org_id, province_code, pd, rank, bucket, alert,
    new_alert, drivers: [{feature, label_zh, value, contribution, direction}], previous_pd, pd_change,
    previous_rank, rank_change, run_id}]}``; ``data`` is empty for a viewer without loan-level access.
    """
    run_ids = [run_id] if run_id is not None else _latest_runs(conn, org)
    runs = [dict(r._mapping) for r in conn.execute(
        select(col(EWRun.id), col(EWRun.org_id), col(EWRun.data_cut), col(EWRun.model_version),
               col(EWRun.model_kind), col(EWRun.alert_pd), col(EWRun.n_loans), col(EWRun.n_alerts), col(EWRun.note))
        .where(col(EWRun.id).in_(run_ids)).order_by(col(EWRun.id)))]
    count, rows = _scores(conn, run_ids, loan_visibility(org), alerts_only=alerts_only, offset=offset, limit=limit)
    _with_previous(conn, rows, {r["id"]: float(r["alert_pd"]) for r in runs})
    return {"runs": runs, "count": count, "data": rows}


def migration(conn: Connection, run_id: int) -> dict[str, Any]:
    """PD-bucket migration matrix between a run and its organisation's previous run (loans in both)."""
    s = EWScore.__table__  # type: ignore[attr-defined]
    labels = list(pd_bucket_labels())
    k = len(labels)
    prev = _previous_run(conn, run_id)
    cur = {int(lid): float(pd) for lid, pd in conn.execute(select(s.c.loan_id, s.c.pd).where(s.c.run_id == run_id))}
    old = {} if prev is None else {int(lid): float(pd) for lid, pd in conn.execute(
        select(s.c.loan_id, s.c.pd).where(s.c.run_id == prev))}
    common = sorted(set(cur) & set(old))
    matrix = np.zeros((k, k), dtype=np.int64)
    if common:
        a = pd_bucket(np.array([old[i] for i in common]))
        b = pd_bucket(np.array([cur[i] for i in common]))
        np.add.at(matrix, (a, b), 1)
    return {"run_id": run_id, "previous_run_id": prev, "labels": labels, "matrix": matrix.tolist(),
            "upgrades": int(np.tril(matrix, -1).sum()), "downgrades": int(np.triu(matrix, 1).sum()),
            "n_new": len(set(cur) - set(old)), "n_exited": len(set(old) - set(cur))}


def regional_summary(conn: Connection, org: Organisation) -> list[dict[str, Any]]:
    """Per province and bank, over the latest runs: loans scored, alerts and mean PD (aggregates only).

    Returns ``[{province_code, bank_org_id, n_loans, n_alerts, mean_pd}]`` sorted by province, bank.
    """
    s = EWScore.__table__  # type: ignore[attr-defined]
    run_ids = _latest_runs(conn, org)
    if not run_ids:
        return []
    stmt = (select(col(Loan.province_code), col(Loan.bank_org_id), func.count(),
                   func.sum(case((s.c.alert, 1), else_=0)),
                   func.avg(s.c.pd))
            .join(Loan, col(Loan.id) == s.c.loan_id).where(s.c.run_id.in_(run_ids), aggregate_scope(org))
            .group_by(col(Loan.province_code), col(Loan.bank_org_id))
            .order_by(col(Loan.province_code), col(Loan.bank_org_id)))
    return [{"province_code": p, "bank_org_id": int(b), "n_loans": int(n), "n_alerts": int(a or 0),
             "mean_pd": float(m)} for p, b, n, a, m in conn.execute(stmt)]


def stress_summary(conn: Connection, org: Organisation) -> dict[str, Any] | None:
    """The organisation's latest succeeded stress run: ``{id, kind, scenario, data_cut, created_at, result}``.

    ``result`` of a deterministic run: ``{scenario, invalidation, total, by_bank, by_province, by_city}``,
    each group ``{key, n_loans, balance_fen, value_before_fen, value_after_fen, n_breach_before,
    n_breach_after, margin_call_fen, expected_loss_before_fen, expected_loss_after_fen,
    provision_before_fen, provision_after_fen, provision_change_fen, expected_loss_change_fen}``;
    of a Monte Carlo run: ``{paths, seed, model, margin_call, expected_loss, mean_breaches, by_bank,
    by_province}``. None when there is none.
    """
    r = conn.execute(
        select(col(StressRun.id), col(StressRun.kind), col(StressRun.scenario), col(StressRun.data_cut),
               col(StressRun.created_at), col(StressRun.result))
        .where(col(StressRun.org_id) == org.id, col(StressRun.status) == StressStatus.succeeded.value)
        .order_by(col(StressRun.id).desc()).limit(1)).first()
    return None if r is None else dict(r._mapping)
