"""Read models for the bank page: the latest monitoring run's alerts, provisions by class and the bank filter's
options. Each reads only the columns it needs of the viewer's loans (no ORM objects): at 1,000,000 loans the
demo bank's 48k live loans are classified in a fraction of a second."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import exists, func, select
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
    monitoring = alert.c.code != AlertCode.EARLY_WARNING.value
    # the latest run first: walk the alerts newest date first (ix_pledge_alert_as_of) to the first one on a
    # visible loan, then read that date's alerts only, each checked against its loan by primary key; never
    # every visible loan's alert history (a bank's 166k loans at 1,000,000)
    latest = (
        select(alert.c.as_of).join(Loan, col(Loan.id) == alert.c.loan_id).where(loan_visibility(org), monitoring)
        .order_by(alert.c.as_of.desc()).limit(1).scalar_subquery()
    )
    stmt = (
        select(alert.c.code, alert.c.severity, func.count(), func.max(alert.c.as_of))
        .join(Loan, col(Loan.id) == alert.c.loan_id)
        .where(alert.c.as_of == latest, monitoring, loan_visibility(org))
        .group_by(alert.c.code, alert.c.severity)
        .order_by(func.count().desc(), alert.c.code, alert.c.severity)
    )
    return [{"code": c, "severity": s, "count": int(n), "as_of": a} for c, s, n, a in conn.execute(stmt)]


def bank_options(conn: Connection, org: Organisation) -> list[tuple[int, str]]:
    """Banks appearing in the viewer's aggregate scope (for the bank filter)."""
    # EXISTS per organisation (one index seek each on ix_loan_bank_status), not IN (SELECT DISTINCT …)
    # over every loan in scope
    lends = exists().where(col(Loan.bank_org_id) == col(Organisation.id), filters.aggregate_scope(org))
    rows = conn.execute(
        select(col(Organisation.id), col(Organisation.name)).where(lends).order_by(col(Organisation.name))
    ).all()
    return [(int(i or 0), str(n)) for i, n in rows]


def provisions_by_class(conn: Connection, org: Organisation, as_of: date) -> dict[str, Any]:
    """Provisions by five-class category at ``as_of``: the figures of ``GET /api/v1/pledge/provisions``
    (:func:`api.pledge.provisions.provisions`), read on the dashboard's connection."""
    with Session(bind=conn) as session:
        return provisions.provisions(session, org, as_of)
