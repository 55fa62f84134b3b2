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
from api.pledge.models import BucketHistory, Loan, PledgeAlert
from api.stats import filters
from pledge.lifecycle import PAYABLE_STATES
from pledge.monitoring import AlertCode, LoanClass, classify_loan
from pledge.provisioning import guideline_deviations, portfolio_provision


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


_CLASSES = {k.value: k for k in LoanClass}  # a dict lookup per loan: cheaper than LoanClass(value) 48k times


def loan_classes(conn: Connection, org: Organisation, as_of: date) -> list[tuple[int, LoanClass]]:
    """``(outstanding_fen, class)`` of each payable loan the organisation may see. The class
    is the one the latest monitoring run at or before ``as_of`` recorded (latest date, then highest id: one
    index seek per loan on ``ix_pledge_bucket_loan_asof``), else the overdue-day floor of ``classify_loan``."""
    h = BucketHistory.__table__  # type: ignore[attr-defined]
    latest = (
        select(h.c.loan_class)
        .where(h.c.loan_id == col(Loan.id), h.c.as_of <= as_of)
        .order_by(h.c.as_of.desc(), h.c.id.desc())
        .limit(1)
        .correlate(Loan)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(col(Loan.outstanding_fen), col(Loan.days_past_due), latest)
        .where(loan_visibility(org), col(Loan.status).in_(sorted(s.value for s in PAYABLE_STATES)))
    )
    return [(int(out), _CLASSES[klass] if klass else classify_loan(int(dpd))) for out, dpd, klass in rows]


def provisions_by_class(conn: Connection, org: Organisation, as_of: date) -> dict[str, Any]:
    """Provisions by five-class category at ``as_of``: the figures of ``GET /api/v1/pledge/provisions``
    (:func:`api.pledge.provisions.provisions`; count, outstanding, rate and provision per class; totals,
    general reserve, coverage), from :func:`loan_classes` on ``conn`` rather than one ORM object per loan.
    Each loan's provision is rounded once (``portfolio_provision``), so the classes sum to the total."""
    classes = loan_classes(conn, org, as_of)
    with Session(bind=conn) as session:
        rates = provisions.bank_rates(session, org.id if str(org.kind) == "bank" else None)
    summary = portfolio_provision(classes, rates)
    counts = dict.fromkeys(LoanClass, 0)
    for _, k in classes:
        counts[k] += 1
    return {
        "as_of": as_of,
        "classes": [{"loan_class": k.value, "label_zh": k.zh, "count": counts[k],
                     "outstanding_fen": summary.outstanding_by_class[k], "rate": rates.rate(k),
                     "provision_fen": summary.provision_by_class[k]} for k in LoanClass],
        "outstanding_fen": summary.outstanding_fen, "specific_provision_fen": summary.specific_provision_fen,
        "general_reserve_fen": summary.general_reserve_fen, "npl_fen": summary.npl_fen,
        "provision_coverage": summary.provision_coverage,
        "rates": {k: getattr(rates, k) for k in provisions.RATE_FIELDS},
        "guideline_deviations": guideline_deviations(rates),
    }
