"""Monitoring runs: overdue buckets, classification, LTV breaches and alerts; background runs commit loan by loan."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import Conflict
from api.core.tenancy import loan_visibility
from api.identity.models import Organisation, User
from api.pledge.models import (
    Borrower,
    BucketHistory,
    Loan,
    LoanStatus,
    PledgeAlert,
)
from api.pledge.schemas import (
    MonitoringSummary,
    TransitionRequest,
)
from api.pledge.service import SYSTEM_ACTOR, _bump_version, get_terms, load_account
from api.pledge.workflow import bank_policy, collateral_facts, last_move_on, latest_valuation, transition
from pledge.monitoring import AlertCode, LoanSnapshot, MonitoringResult, monitor_loan
from pledge.states import IllegalTransition

log = logging.getLogger("ipfin.pledge.jobs")

MONITORED = (LoanStatus.active, LoanStatus.overdue, LoanStatus.default, LoanStatus.in_claim, LoanStatus.in_disposal)


@dataclass
class _RunTotals:
    checked: int = 0
    alerts: int = 0


def monitor_one(session: Session, loan: Loan, as_of: date, totals: _RunTotals, moved: list[int], cured: list[int],
                user: User | None = None) -> MonitoringResult:
    """Monitor one loan on ``as_of``: overdue marking or cure (not before the loan's last move),
    bucket record, alerts; a new LTV breach also writes a ``margin_call`` event on the loan."""
    terms = get_terms(session, loan)
    account = load_account(session, loan, terms)
    days = account.overdue_days(as_of) if account else loan.days_past_due
    state = str(loan.status)
    last_on = last_move_on(session, loan)
    if last_on is not None and as_of < last_on:
        state = ""  # a run dated before the last move records buckets and alerts but moves nothing
    if state == LoanStatus.active.value and days > 0:
        transition(session, None, None, loan, TransitionRequest(action="mark_overdue", on=as_of), actor=SYSTEM_ACTOR)
        moved.append(loan.id)  # type: ignore[arg-type]
    elif state == LoanStatus.overdue.value and days == 0:
        transition(session, None, None, loan, TransitionRequest(action="cure", on=as_of), actor=SYSTEM_ACTOR)
        cured.append(loan.id)  # type: ignore[arg-type]
    borrower = session.get(Borrower, loan.borrower_id)
    assert borrower is not None
    facts = collateral_facts(session, loan, borrower)
    vals = [latest_valuation(session, int(f.asset_id)) for f in facts]
    value = sum(v.value_fen for v in vals if v is not None)
    last_val = None if any(v is None for v in vals) or not vals else min(v.valuation_date for v in vals if v)
    prev = session.exec(select(BucketHistory).where(BucketHistory.loan_id == loan.id, BucketHistory.as_of < as_of)
                        .order_by(col(BucketHistory.as_of).desc(), col(BucketHistory.id).desc())).first()
    for same_day in session.exec(select(BucketHistory).where(BucketHistory.loan_id == loan.id,
                                                             BucketHistory.as_of == as_of)).all():
        session.delete(same_day)  # a re-run on the same day replaces that day's record
    policy = bank_policy(session, loan.bank_org_id)
    snap = LoanSnapshot(
        loan_id=str(loan.id), as_of=as_of, maturity=account.maturity if account else loan.maturity_date,
        days_overdue=days, outstanding_fen=account.principal_outstanding_fen if account else loan.outstanding_fen,
        collateral_value_fen=value, last_valuation_date=last_val, collateral=tuple(facts),
        previous_bucket_index=prev.bucket_index if prev else None,
    )
    result = monitor_loan(snap, ltv_trigger=policy.ltv_breach_trigger,
                          revaluation_interval_days=policy.revaluation_interval_days, buckets=policy.bucket_policy)
    session.add(BucketHistory(loan_id=loan.id, as_of=as_of, days_overdue=days,  # type: ignore[arg-type]
                              bucket_index=result.bucket.index, bucket_label=result.bucket.label,
                              loan_class=result.loan_class.value))
    if loan.days_past_due != days:
        _bump_version(session, loan, loan.version, days_past_due=days)
    for al in result.alerts:
        asset_id = int(al.asset_id) if al.asset_id else None
        dup = session.exec(select(PledgeAlert.id).where(
            PledgeAlert.loan_id == loan.id, PledgeAlert.code == al.code.value, PledgeAlert.as_of == as_of,
            PledgeAlert.ip_asset_id == asset_id if asset_id is not None else col(PledgeAlert.ip_asset_id).is_(None),
        )).first()
        if dup is None:
            session.add(PledgeAlert(loan_id=loan.id, ip_asset_id=asset_id, code=al.code.value,  # type: ignore[arg-type]
                                    severity=al.severity.value, message=al.message[:500], as_of=as_of,
                                    data=dict(al.data)))
            totals.alerts += 1
            if al.code == AlertCode.LTV_BREACH:  # 追加担保: the margin call is an event of the loan file
                audit.record(session, user, "loan", loan.id, "margin_call",
                             after={"on": as_of.isoformat(), "message": al.message, **dict(al.data)})
    totals.checked += 1
    return result


PROGRESS_EVERY = 200
"""Loans between two progress reports of a background run."""


def _monitor_committed(session: Session, loan_id: int, as_of: date, totals: _RunTotals, moved: list[int],
                       cured: list[int], user: User | None) -> None:
    """One loan in a transaction of its own (the write lock is held for one loan's writes only).

    A concurrent change of the loan (a payment, a move: version conflict) is retried once on the
    fresh row; if it conflicts again the loan is left for the next run.
    """
    for attempt in (1, 2):
        loan = session.get(Loan, loan_id, populate_existing=True)
        if loan is None or str(loan.status) not in {s.value for s in MONITORED}:
            return
        try:
            monitor_one(session, loan, as_of, totals, moved, cured, user)
            session.commit()
            return
        except (Conflict, IllegalTransition):
            session.rollback()
            if attempt == 2:
                log.info("monitoring: loan %s changed concurrently twice; left for the next run", loan_id)


def run_monitoring(session: Session, user: User | None, org: Organisation | None, as_of: date,
                   progress: Callable[[float], None] | None = None, *, commit_each: bool = False
                   ) -> MonitoringSummary:
    """Monitor every live loan the organisation may see (all loans when ``org`` is None: the CLI job).

    With ``commit_each`` (background jobs) each loan's changes and audit events are committed
    together, loan by loan, so the job never holds the write lock for more than one loan and
    concurrent requests never queue behind it; ``progress`` is reported every ``PROGRESS_EVERY``
    loans, between commits, when this session holds no lock. Without it everything is one
    transaction, committed by the caller.
    """
    conds: list[Any] = [col(Loan.status).in_([s.value for s in MONITORED])]
    if org is not None:
        conds.append(loan_visibility(org))
    ids = [int(i) for i in session.exec(select(Loan.id).where(*conds).order_by(col(Loan.id))).all()]  # type: ignore[arg-type]
    totals, moved, cured = _RunTotals(), [], []  # type: ignore[var-annotated]
    for n, loan_id in enumerate(ids, start=1):
        if commit_each:
            _monitor_committed(session, loan_id, as_of, totals, moved, cured, user)
        else:
            loan = session.get(Loan, loan_id)
            assert loan is not None
            monitor_one(session, loan, as_of, totals, moved, cured, user)
        if progress is not None and (n % PROGRESS_EVERY == 0 or n == len(ids)):
            progress(n / len(ids))
    summary = MonitoringSummary(as_of=as_of, loans_checked=totals.checked, alerts_created=totals.alerts,
                                moved_to_overdue=moved, cured=cured)
    audit.record(session, user, "pledge_monitoring", org.id if org else "all", "run", after=summary.model_dump())
    return summary


def run_monitoring_job(engine: Any, user_id: int, org_id: int, as_of: date,
                       progress: Callable[[float], None]) -> dict[str, Any]:
    """The monitoring run as a background job (``api.jobs``): own session, committed in bounded chunks
    loan by loan, so concurrent requests never wait long for the write lock."""
    with Session(engine, expire_on_commit=False) as s:
        user, org = s.get(User, user_id), s.get(Organisation, org_id)
        summary = run_monitoring(s, user, org, as_of, progress, commit_each=True)
        s.commit()
    return summary.model_dump(mode="json")
