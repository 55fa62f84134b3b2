"""Read models for the bank page: the latest monitoring run's alerts, provisions by class and the bank filter's
options."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from api.core.tenancy import loan_visibility
from api.identity.models import Organisation
from api.pledge import provisions
from api.pledge.models import Loan, PledgeAlert
from api.stats import filters
from pledge.monitoring import AlertCode


def monitoring_alerts(conn: Connection, org: Organisation) -> list[dict[str, Any]] | None:
    """Alerts of the latest monitoring run by code and severity. Early-warning alerts come from scoring
    runs on their own dates and are shown with the watchlist, so a later scoring run never hides the
    monitoring run's alerts (nor the reverse)."""
    alert = PledgeAlert.__table__  # type: ignore[attr-defined]
    visible = select(col(Loan.id)).where(loan_visibility(org))
    monitoring = alert.c.code != AlertCode.EARLY_WARNING.value
    latest = select(func.max(alert.c.as_of)).where(alert.c.loan_id.in_(visible), monitoring).scalar_subquery()
    stmt = (
        select(alert.c.code, alert.c.severity, func.count(), func.max(alert.c.as_of))
        .where(alert.c.loan_id.in_(visible), monitoring, alert.c.as_of == latest)
        .group_by(alert.c.code, alert.c.severity)
        .order_by(func.count().desc())
    )
    return [{"code": c, "severity": s, "count": int(n), "as_of": a} for c, s, n, a in conn.execute(stmt)]


def bank_options(conn: Connection, org: Organisation) -> list[tuple[int, str]]:
    """Banks appearing in the viewer's aggregate scope (for the bank filter)."""
    ids = select(col(Loan.bank_org_id)).where(filters.aggregate_scope(org)).distinct().scalar_subquery()
    rows = conn.execute(
        select(col(Organisation.id), col(Organisation.name))
        .where(col(Organisation.id).in_(ids))
        .order_by(col(Organisation.name))
    ).all()
    return [(int(i or 0), str(n)) for i, n in rows]


def provisions_by_class(conn: Connection, org: Organisation, as_of: date) -> dict[str, Any]:
    """Provisions by five-class category at ``as_of``: the same function as ``GET /api/v1/pledge/provisions``
    (count, outstanding, rate and provision per class; totals, general reserve, coverage), read on ``conn``."""
    with Session(bind=conn) as session:
        return provisions.provisions(session, org, as_of)
