"""Demo data for the pledge tables: one appraiser valuation per pledged asset, and for every
live loan its overdue bucket / five-class record and the monitoring alerts it would raise.

Buckets, classes and alert codes come from the pure ``pledge.monitoring`` functions, so the
demo book shows exactly what the monitoring job would store."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from api.pledge.models import BucketHistory, CollateralValuation, Loan, LoanCollateral, PledgeAlert
from pledge.monitoring import AlertCode, Severity, classify_loan, overdue_bucket

LIVE = ("active", "overdue", "default", "in_claim", "in_disposal")


def extend(conn: Connection, ctx: Any) -> dict[str, int]:
    rng = ctx.rng
    if len(ctx.loan_ids) == 0:
        return {"collateral_valuations": 0, "bucket_records": 0, "pledge_alerts": 0}
    lo, hi = int(ctx.loan_ids.min()), int(ctx.loan_ids.max())
    created = datetime.combine(ctx.as_of, time(8, 0), tzinfo=UTC)
    links = conn.execute(
        select(LoanCollateral.__table__.c.ip_asset_id, LoanCollateral.__table__.c.appraised_value_fen,  # type: ignore[attr-defined]
               LoanCollateral.__table__.c.pledge_registered_on)  # type: ignore[attr-defined]
        .where(LoanCollateral.__table__.c.loan_id.between(lo, hi))  # type: ignore[attr-defined]
    ).all()
    scores = rng.integers(55, 96, len(links))
    lags = rng.integers(5, 60, len(links))
    vals = [
        {"ip_asset_id": a, "value_fen": int(v or 0), "p5_fen": int((v or 0) * 6 // 10), "score": int(s),
         "valuation_date": reg - timedelta(days=int(lag)), "source": "appraiser",
         "report_reference": f"演示评报字[{reg.year}]第{a:06d}号", "created_at": created}
        for (a, v, reg), s, lag in zip(links, scores, lags, strict=True)
    ]
    if vals:
        conn.execute(insert(CollateralValuation.__table__), vals)  # type: ignore[attr-defined]
    loans = conn.execute(
        select(Loan.__table__.c.id, Loan.__table__.c.status, Loan.__table__.c.days_past_due)  # type: ignore[attr-defined]
        .where(Loan.__table__.c.id.between(lo, hi), Loan.__table__.c.status.in_(LIVE))  # type: ignore[attr-defined]
    ).all()
    history, alerts = [], []
    for lid, _status, dpd in loans:
        days = int(dpd or 0)
        bucket, klass = overdue_bucket(days), classify_loan(days)
        history.append({"loan_id": lid, "as_of": ctx.as_of, "days_overdue": days, "bucket_index": bucket.index,
                        "bucket_label": bucket.label, "loan_class": klass.value})
        if days > 0:
            sev = Severity.CRITICAL if bucket.is_npl else Severity.WARNING
            alerts.append({"loan_id": lid, "code": AlertCode.OVERDUE.value, "severity": sev.value,
                           "message": f"{days} days overdue (bucket {bucket.label})", "as_of": ctx.as_of,
                           "data": {"days_overdue": days, "bucket": bucket.label}, "created_at": created})
        if klass.is_npl:
            alerts.append({"loan_id": lid, "code": AlertCode.NPL.value, "severity": Severity.CRITICAL.value,
                           "message": f"non-performing: classified {klass.zh}", "as_of": ctx.as_of,
                           "data": {"class": klass.value}, "created_at": created})
    if history:
        conn.execute(insert(BucketHistory.__table__), history)  # type: ignore[attr-defined]
    if alerts:
        conn.execute(insert(PledgeAlert.__table__), alerts)  # type: ignore[attr-defined]
    return {"collateral_valuations": len(vals), "bucket_records": len(history), "pledge_alerts": len(alerts)}
