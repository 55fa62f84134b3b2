"""The daily lending job: LPR repricing on reset dates, then penalty (罚息) and compound (复利) interest.

Each loan carries a watermark, ``arrears_accrued_to``: arrears are accrued over
[watermark, as_of) with :func:`pledge.arrears.accrue_arrears` (the product's multiplier, grace
days and compounding, the API's calendar), posted as fees and recorded as one
:class:`~api.pledge.models.ArrearsPosting` per loan and day, and the watermark moves to
``as_of``. Running the job twice for the same day posts nothing new; a payment first accrues up
to its date (the overdue amounts change with it), so the job never accrues across a payment.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import Conflict, FieldError
from api.core.tenancy import loan_visibility
from api.identity.models import Organisation, User
from api.pledge.calendar_admin import current_calendar
from api.pledge.models import ArrearsPosting, Loan, LoanLendingTerms, LoanStatus, PledgeLoanTerms
from api.pledge.service import _bump_version, get_terms, lending_terms, load_account
from pledge.arrears import ArrearsPolicy, accrue_arrears, post_arrears
from pledge.schedule import LoanAccount

log = logging.getLogger("ipfin.pledge.arrears")

ACCRUING = (LoanStatus.active, LoanStatus.overdue, LoanStatus.default, LoanStatus.in_claim, LoanStatus.in_disposal)


def arrears_policy(lt: LoanLendingTerms) -> ArrearsPolicy:
    return ArrearsPolicy(penalty_multiplier=lt.penalty_multiplier, grace_days=lt.arrears_grace_days,
                         grace_basis=lt.arrears_grace_basis,  # type: ignore[arg-type]
                         compound_interest=lt.compound_interest, allow_any_multiplier=True)


def accrue_to(session: Session, user: User | None, loan: Loan, terms: PledgeLoanTerms, account: LoanAccount,
              as_of: date, *, field: str = "as_of") -> LoanAccount:
    """Accrue and post the loan's arrears up to ``as_of`` (nothing if already accrued that far).

    Refuses (422 on ``field``) a date before the watermark: arrears already posted cannot be redone.
    The caller bumps the loan's version and commits.
    """
    lt = lending_terms(session, loan)
    start = lt.arrears_accrued_to or max(account.start_date, account.last_payment_date or account.start_date)
    if as_of < start:
        raise FieldError(field, f"{as_of.isoformat()} is before {start.isoformat()}, up to which penalty "
                                "interest is already posted")
    if as_of == start:
        return account
    try:
        accrual = accrue_arrears(account, start, as_of, arrears_policy(lt), current_calendar(session))
    except ValueError as exc:
        raise FieldError(field, str(exc)) from exc
    lt.arrears_accrued_to = as_of
    session.add(lt)
    if accrual.total_fen == 0:
        return account
    account = post_arrears(account, accrual)
    terms.fees_charged_fen = account.fees_charged_fen
    session.add(terms)
    session.add(ArrearsPosting(loan_id=loan.id, accrued_from=start, accrued_to=as_of,  # type: ignore[arg-type]
                               penalty_fen=accrual.penalty_fen, compound_fen=accrual.compound_fen))
    audit.record(session, user, "loan", loan.id, "accrue_arrears",
                 after={"from": start.isoformat(), "to": as_of.isoformat(), "penalty_fen": accrual.penalty_fen,
                        "compound_fen": accrual.compound_fen, "fees_charged_fen": terms.fees_charged_fen,
                        "lines": [ln.number for ln in accrual.lines]})
    return account


def accrue_loan(session: Session, user: User | None, loan: Loan, as_of: date) -> dict[str, int]:
    """The daily job on one loan: LPR resets due by ``as_of``, then arrears up to ``as_of``."""
    from api.pledge.products import reprice_due

    repriced = reprice_due(session, user, loan, as_of)
    terms = get_terms(session, loan)
    account = load_account(session, loan, terms)
    if account is None:
        return {"repriced": repriced, "posted_fen": 0}
    before = account.fees_charged_fen
    account = accrue_to(session, user, loan, terms, account, as_of)
    posted = account.fees_charged_fen - before
    if posted:
        _bump_version(session, loan, loan.version)
    return {"repriced": repriced, "posted_fen": posted}


def run_accrual(session: Session, user: User | None, org: Organisation | None, as_of: date) -> dict[str, Any]:
    """The daily job on every accruing loan the organisation may see (all loans for the CLI), one
    transaction per loan; a loan changed concurrently, or whose data the domain refuses, is skipped
    and reported."""
    conds: list[Any] = [col(Loan.status).in_([s.value for s in ACCRUING])]
    if org is not None:
        conds.append(loan_visibility(org))
    ids = [int(i) for i in session.exec(select(Loan.id).where(*conds).order_by(col(Loan.id))).all()]  # type: ignore[arg-type]
    out: dict[str, Any] = {"as_of": as_of.isoformat(), "loans_checked": 0, "loans_posted": 0, "posted_fen": 0,
                           "repriced": 0, "skipped": []}
    for loan_id in ids:
        loan = session.get(Loan, loan_id, populate_existing=True)
        if loan is None:
            continue
        try:
            r = accrue_loan(session, user, loan, as_of)
            session.commit()
        except (Conflict, FieldError) as exc:
            session.rollback()
            out["skipped"].append({"loan_id": loan_id, "reason": str(exc)})
            continue
        out["loans_checked"] += 1
        out["loans_posted"] += 1 if r["posted_fen"] else 0
        out["posted_fen"] += r["posted_fen"]
        out["repriced"] += r["repriced"]
    audit.record(session, user, "pledge_accrual", org.id if org else "all", "run", after=out)
    session.commit()
    return out
