"""Provisions by five-class category (正常/关注/次级/可疑/损失) at the bank's rates.

A loan's class is the one its latest monitoring run recorded (``pledge_bucket_history``),
or, for a loan never monitored, the overdue-day floor of :func:`pledge.monitoring.classify_loan`.
Rates are the bank's (``PUT /pledge/provisions/rates``), else the 2002 guideline's reference
rates (:class:`pledge.provisioning.ProvisionRates`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from api.audit import service as audit
from api.core.tenancy import loan_visibility
from api.identity.models import Organisation, User
from api.pledge.models import BucketHistory, Loan, ProvisionRatesRow
from api.pledge.products_schemas import ProvisionRatesIn
from pledge.lifecycle import PAYABLE_STATES
from pledge.monitoring import LoanClass, classify_loan
from pledge.provisioning import ProvisionRates, guideline_deviations, portfolio_provision

RATE_FIELDS = ("normal", "special_mention", "substandard", "doubtful", "loss", "general_reserve_rate")


def bank_rates(session: Session, org_id: int | None) -> ProvisionRates:
    row = session.get(ProvisionRatesRow, org_id) if org_id is not None else None
    if row is None:
        return ProvisionRates()
    return ProvisionRates(**{k: Decimal(str(row.rates[k])) for k in RATE_FIELDS}, source="bank")


def set_rates(session: Session, user: User, org: Organisation, body: ProvisionRatesIn) -> ProvisionRates:
    """Store the bank's rates (they must not decrease from 正常 to 损失; 422 otherwise)."""
    rates = ProvisionRates(**body.model_dump(), source="bank")  # ValueError → 422 by the route
    row = session.get(ProvisionRatesRow, org.id)
    before = dict(row.rates) if row else None
    row = row or ProvisionRatesRow(org_id=org.id, rates={})  # type: ignore[arg-type]
    row.rates = {k: str(getattr(rates, k)) for k in RATE_FIELDS}
    row.updated_at = datetime.now(UTC)
    session.add(row)
    audit.record(session, user, "provision_rates", org.id, "set", before=before, after=row.rates)
    return rates


_CLASSES = {k.value: k for k in LoanClass}  # a dict lookup per loan: cheaper than LoanClass(value) 48k times


def loan_classes(conn: Connection, org: Organisation, as_of: date) -> list[tuple[int, LoanClass]]:
    """``(outstanding_fen, class)`` of each payable loan the organisation may see. The class
    is the one the latest monitoring run at or before ``as_of`` recorded (latest date, then highest id: one
    index seek per loan on ``ix_pledge_bucket_loan_asof``), else the overdue-day floor of ``classify_loan``.
    Plain columns, no ORM objects: 48,000 loans of a 1M book in about half a second."""
    h = BucketHistory.__table__  # type: ignore[attr-defined]
    latest = (
        sa_select(h.c.loan_class)
        .where(h.c.loan_id == col(Loan.id), h.c.as_of <= as_of)
        .order_by(h.c.as_of.desc(), h.c.id.desc())
        .limit(1)
        .correlate(Loan)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa_select(col(Loan.outstanding_fen), col(Loan.days_past_due), latest)
        .where(loan_visibility(org), col(Loan.status).in_(sorted(s.value for s in PAYABLE_STATES)))
    )
    return [(int(out), _CLASSES[klass] if klass else classify_loan(int(dpd))) for out, dpd, klass in rows]


def provisions(session: Session, org: Organisation, as_of: date) -> dict[str, Any]:
    """Count, outstanding, rate and provision per class of the live loans the organisation may see.

    Each loan's provision is rounded once (``portfolio_provision``), so the classes sum to the total."""
    classes = loan_classes(session.connection(), org, as_of)
    rates = bank_rates(session, org.id if str(org.kind) == "bank" else None)
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
        "rates": {k: getattr(rates, k) for k in RATE_FIELDS},
        "guideline_deviations": guideline_deviations(rates),
    }
