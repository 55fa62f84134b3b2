"""Create/read operations on the core tables. Each write adds its audit event to the same
session; the route commits once, so the change and its audit record stand or fall together."""

from __future__ import annotations

import secrets
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import Conflict, FieldError, NotFound
from api.core.tenancy import borrower_visibility, ip_asset_visibility, loan_visibility
from api.identity.models import Organisation, User, UserRole
from api.pledge import service as crud
from api.pledge.models import (
    Borrower,
    IPAsset,
    Loan,
    LoanCollateral,
    LoanLendingTerms,
    LoanStatus,
    PledgeInstalment,
    PledgeInstalmentMonths,
    PledgeLoanTerms,
    PledgePayment,
    RateKind,
)
from api.pledge.schemas import (
    BorrowerCreate,
    IPAssetCreate,
    LoanCreate,
    PledgeTermsUpdate,
)
from ipfin.calendar import CalendarHorizonWarning, ChinaCalendar, package_published_horizon
from ipfin.money import cny_to_fen
from ipfin.regions import city_of
from ipfin.validation import province_of
from pledge.conventions import InterestConvention
from pledge.eligibility import (
    Ineligibility,
)
from pledge.schedule import Instalment as DomainInstalment
from pledge.schedule import (
    InterestRate,
    LoanAccount,
    LoanTerms,
    PaymentAllocation,
    Schedule,
    ScheduleLine,
    ScheduleType,
    build_schedule,
)
from pledge.states import (
    Actor,
    Role,
)


def create_borrower(session: Session, actor: User, data: BorrowerCreate) -> Borrower:
    borrower = Borrower.model_validate(data, update={"owner_org_id": actor.organisation_id})
    session.add(borrower)
    session.flush()
    audit.record(session, actor, "borrower", borrower.id, "create", after=borrower)
    return borrower


def get_borrower(session: Session, org: Organisation, borrower_id: int) -> Borrower:
    b = session.exec(select(Borrower).where(Borrower.id == borrower_id, borrower_visibility(org))).first()
    if b is None:
        raise NotFound("borrower not found")
    return b


def create_ip_asset(session: Session, actor: User, org: Organisation, data: IPAssetCreate) -> IPAsset:
    get_borrower(session, org, data.borrower_id)
    asset = IPAsset.model_validate(data, update={"owner_org_id": actor.organisation_id})
    session.add(asset)
    session.flush()
    audit.record(session, actor, "ip_asset", asset.id, "create", after=asset)
    return asset


def get_ip_asset(session: Session, org: Organisation, asset_id: int) -> IPAsset:
    a = session.exec(select(IPAsset).where(IPAsset.id == asset_id, ip_asset_visibility(org))).first()
    if a is None:
        raise NotFound("IP asset not found")
    return a


def _months_between(a, b) -> int:  # type: ignore[no-untyped-def]
    months = (b.year - a.year) * 12 + (b.month - a.month)
    return max(1, months + (1 if b.day > a.day else 0))


def create_loan(session: Session, actor: User, org: Organisation, data: LoanCreate) -> Loan:
    """A draft loan for ``org`` (a bank) with its pledged IP assets; region, industry and IP
    types are copied from the borrower and assets for fast aggregation."""
    borrower = get_borrower(session, org, data.borrower_id)
    assets = [get_ip_asset(session, org, i) for i in dict.fromkeys(data.collateral_ip_asset_ids)]
    foreign = [a.id for a in assets if a.borrower_id != borrower.id]
    if foreign:
        raise Conflict(f"collateral_ip_asset_ids: assets {foreign} are not owned by the borrower")
    if data.guarantor_org_id is not None:
        g = session.get(Organisation, data.guarantor_org_id)
        if g is None or g.kind != "guarantor":
            raise NotFound("guarantor_org_id: no such guarantee agency")
    amount_fen = cny_to_fen(data.amount_cny)
    types = sorted({str(a.ip_type) for a in assets})
    loan = Loan(
        reference=f"L{data.origination_date:%Y%m}{secrets.token_hex(5).upper()}",
        bank_org_id=org.id,  # type: ignore[arg-type]
        borrower_id=borrower.id,  # type: ignore[arg-type]
        guarantor_org_id=data.guarantor_org_id,
        origination_date=data.origination_date,
        maturity_date=data.maturity_date,
        purpose=data.purpose,
        amount_fen=amount_fen,
        outstanding_fen=amount_fen,
        annual_rate=Decimal(data.annual_rate),
        guarantee_fee_rate=data.guarantee_fee_rate,
        appraisal_fee_fen=None if data.appraisal_fee_cny is None else cny_to_fen(data.appraisal_fee_cny),
        term_months=_months_between(data.origination_date, data.maturity_date),
        status=LoanStatus.draft,
        region_code=borrower.region_code,
        province_code=province_of(borrower.region_code),
        city_code=city_of(borrower.region_code),
        industry=borrower.industry,
        primary_ip_type=assets[0].ip_type,
        ip_types=",".join(types),
        created_by_user_id=actor.id,
    )
    session.add(loan)
    session.flush()
    for a in assets:
        session.add(LoanCollateral(loan_id=loan.id, ip_asset_id=a.id))  # type: ignore[arg-type]
    audit.record(session, actor, "loan", loan.id, "create", after=loan)
    return loan


def get_loan(session: Session, org: Organisation, loan_id: int) -> Loan:
    loan = session.exec(select(Loan).where(Loan.id == loan_id, loan_visibility(org))).first()
    if loan is None:
        raise NotFound("loan not found")
    return loan


def list_loans(
    session: Session,
    org: Organisation,
    *,
    status: LoanStatus | None = None,
    province_code: str | None = None,
    industry: str | None = None,
    bank_org_id: int | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[int, list[Any]]:
    """Loans ``org`` may see: the total matching and one page of rows as plain column mappings (no ORM
    objects: a page is read-only and is validated once, as a whole, by the route)."""
    conds = [loan_visibility(org)]
    if status:
        conds.append(Loan.status == status)  # type: ignore[arg-type]
    if province_code:
        conds.append(Loan.province_code == province_code)  # type: ignore[arg-type]
    if industry:
        conds.append(Loan.industry == industry)  # type: ignore[arg-type]
    if bank_org_id:
        conds.append(Loan.bank_org_id == bank_org_id)  # type: ignore[arg-type]
    conn = session.connection()  # Core: the ORM adds nothing to a read of plain columns (≈1 ms a request)
    total = conn.execute(select(func.count()).select_from(Loan).where(*conds)).scalar_one()
    page = select(*Loan.__table__.c).where(*conds).order_by(col(Loan.id)).offset(offset).limit(limit)  # type: ignore[attr-defined]
    return int(total), list(conn.execute(page).mappings().all())


ROLE_OF = {UserRole.officer.value: Role.MAKER, UserRole.approver.value: Role.APPROVER}


SYSTEM_ACTOR = Actor("system", frozenset({Role.SYSTEM}))


ELIGIBILITY_CHECKED = frozenset({"approve", "register_pledge"})


class EligibilityFailed(Conflict):
    """Approval or registration refused: the collateral fails pledge eligibility (HTTP 409)."""

    def __init__(self, reasons: list[Ineligibility]) -> None:
        self.reasons = reasons
        super().__init__("collateral is not eligible: " + "; ".join(r.message for r in reasons))


def today() -> date:
    return datetime.now(UTC).date()


def domain_actor(user: User, org: Organisation) -> Actor:
    role = ROLE_OF.get(str(user.role))
    return Actor(str(user.id), frozenset({role}) if role else frozenset(), str(org.id))


def full_months(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (2026-09-01 → 2027-09-15 is 12; a month end
    counts as the same day: 2026-01-31 → 2026-02-28 is 1)."""
    month_end = (end + timedelta(days=1)).month != end.month
    short = end.day < start.day and not month_end
    return (end.year - start.year) * 12 + (end.month - start.month) - (1 if short else 0)


def get_terms(session: Session, loan: Loan) -> PledgeLoanTerms:
    """The loan's repayment terms (defaults — fixed rate, monthly 等额本息 over the term — if never set)."""
    terms = session.get(PledgeLoanTerms, loan.id)
    if terms is None:
        terms = PledgeLoanTerms(loan_id=loan.id,  # type: ignore[arg-type]
                                n_periods=max(1, full_months(loan.origination_date, loan.maturity_date)))
    return terms


def interest_rate(loan: Loan, terms: PledgeLoanTerms) -> InterestRate:
    if str(terms.rate_kind) == RateKind.lpr_spread.value:
        return InterestRate.lpr_plus(Decimal(terms.lpr or 0), terms.spread_bp)
    return InterestRate.fixed(Decimal(loan.annual_rate))


def lending_terms(session: Session, loan: Loan) -> LoanLendingTerms:
    """The loan's lending settings (Chinese-practice defaults for a loan opened without a product)."""
    return session.get(LoanLendingTerms, loan.id) or LoanLendingTerms(loan_id=loan.id)  # type: ignore[arg-type]


def domain_terms(loan: Loan, terms: PledgeLoanTerms, start: date, lending: LoanLendingTerms | None = None,
                 calendar: ChinaCalendar | None = None) -> LoanTerms:
    """The pure package's terms: rate, periods, convention and grace of the product, due dates on ``calendar``."""
    conv = InterestConvention(lending.convention) if lending is not None and lending.convention else None
    return LoanTerms(loan.amount_fen, interest_rate(loan, terms), start, terms.n_periods,
                     ScheduleType(str(terms.schedule_type)), terms.months_per_period, convention=conv,
                     grace_months=lending.grace_months if lending is not None else 0, calendar=calendar)


def load_account(session: Session, loan: Loan, terms: PledgeLoanTerms) -> LoanAccount | None:
    """The loan's ledger rebuilt exactly from its rows (None before disbursement): lines with their
    contractual months, payments, fees, convention, period length, rate now and history, anchor date."""
    if terms.disbursed_on is None:
        return None
    rows = session.exec(select(PledgeInstalment).where(PledgeInstalment.loan_id == loan.id)
                        .order_by(col(PledgeInstalment.seq))).all()
    months = {m.seq: m.accrual_months for m in session.exec(
        select(PledgeInstalmentMonths).where(PledgeInstalmentMonths.loan_id == loan.id)).all()}
    pays = session.exec(select(PledgePayment).where(PledgePayment.loan_id == loan.id)
                        .order_by(col(PledgePayment.id))).all()
    lines = tuple(
        ScheduleLine(DomainInstalment(r.number, r.period_start, r.due_date, r.days, r.opening_balance_fen,
                                      r.principal_fen, r.interest_fen, r.kind,  # type: ignore[arg-type]
                                      months.get(r.seq)),
                     r.principal_paid_fen, r.interest_paid_fen)
        for r in rows
    )
    payments = tuple(
        PaymentAllocation(p.paid_on, p.amount_fen, p.fees_fen, p.interest_fen, p.principal_fen,
                          p.accrued_interest_fen, p.prepaid_principal_fen, p.unapplied_fen)
        for p in pays
    )
    lt = lending_terms(session, loan)
    rate = Decimal(lt.annual_rate_now) if lt.annual_rate_now is not None else interest_rate(loan, terms).annual_rate
    history = tuple((date.fromisoformat(d), Decimal(r)) for d, r in (lt.rate_history or ()))
    return LoanAccount(loan.amount_fen, rate, ScheduleType(str(terms.schedule_type)), terms.disbursed_on, lines,
                       terms.fees_charged_fen, terms.fees_paid_fen, payments,
                       convention=InterestConvention(lt.convention) if lt.convention else None,
                       months_per_period=terms.months_per_period, rate_history=history, anchor_date=lt.anchor_date)


def _save_lines(session: Session, loan_id: int, account: LoanAccount | None) -> None:
    """Store the ledger's lines and what the ledger carries beyond them (see :func:`load_account`)."""
    for table in (PledgeInstalment, PledgeInstalmentMonths):
        for old in session.exec(select(table).where(table.loan_id == loan_id)).all():  # type: ignore[attr-defined]
            session.delete(old)
    session.flush()
    if account is None:
        return
    for seq, ln in enumerate(account.lines):
        i = ln.instalment
        session.add(PledgeInstalment(
            loan_id=loan_id, seq=seq, number=i.number, kind=i.kind, period_start=i.period_start,
            due_date=i.due_date, days=i.days, opening_balance_fen=i.opening_balance_fen,
            principal_fen=i.principal_fen, interest_fen=i.interest_fen,
            principal_paid_fen=ln.principal_paid_fen, interest_paid_fen=ln.interest_paid_fen,
        ))
        if i.accrual_months is not None:
            session.add(PledgeInstalmentMonths(loan_id=loan_id, seq=seq, accrual_months=i.accrual_months))
    lt = session.get(LoanLendingTerms, loan_id) or LoanLendingTerms(loan_id=loan_id)
    lt.annual_rate_now = account.annual_rate
    lt.rate_history = [[d.isoformat(), str(r)] for d, r in account.rate_history] or None
    lt.anchor_date = account.anchor_date
    lt.convention = str(account.interest_convention) if (account.convention is not None or lt.convention) else None
    session.add(lt)


def _bump_version(session: Session, loan: Loan, expected: int, **values: Any) -> None:
    """Conditional update of the loan row: only if nobody changed it since ``expected``."""
    stmt = (
        update(Loan)
        .where(col(Loan.id) == loan.id, col(Loan.version) == expected)
        .values(version=expected + 1, updated_at=datetime.now(UTC), **values)
    )
    result = session.connection().execute(stmt)
    if result.rowcount != 1:
        session.rollback()
        raise Conflict(f"loan {loan.id} was changed by someone else (your version {expected}); reload and retry")
    session.refresh(loan)


def schedule_rows(loan: Loan, terms: PledgeLoanTerms, account: LoanAccount | None) -> tuple[bool, list[dict]]:
    """The ledger's lines, or (before disbursement) the schedule the terms would give on the API's
    calendar (its override table included); each line says whether its due date lies beyond the
    calendar's published horizon (holidays estimated, 调休 unknown)."""
    from api.pledge.calendar_admin import current_calendar

    session = object_session(loan)
    calendar = current_calendar(session) if isinstance(session, Session) else None  # type: ignore[arg-type]
    if account is None:
        start = loan.origination_date
        lending = lending_terms(session, loan) if isinstance(session, Session) else None
        with warnings.catch_warnings():  # the horizon is reported per line instead
            warnings.simplefilter("ignore", CalendarHorizonWarning)
            s: Schedule = build_schedule(domain_terms(loan, terms, start, lending, calendar))
        lines = [ScheduleLine(i) for i in s.instalments]
        projected = True
    else:
        lines = list(account.lines)
        projected = False
    horizon = calendar.published_horizon if calendar is not None else package_published_horizon()
    return projected, [
        {"number": ln.instalment.number, "kind": ln.instalment.kind, "period_start": ln.instalment.period_start,
         "due_date": ln.instalment.due_date, "days": ln.instalment.days,
         "opening_balance_fen": ln.instalment.opening_balance_fen, "principal_fen": ln.instalment.principal_fen,
         "interest_fen": ln.instalment.interest_fen, "total_fen": ln.instalment.total_fen,
         "principal_paid_fen": ln.principal_paid_fen, "interest_paid_fen": ln.interest_paid_fen,
         "beyond_calendar_horizon": ln.instalment.due_date.year > horizon}
        for ln in lines
    ]


def set_terms(session: Session, user: User, org: Organisation, loan_id: int, body: PledgeTermsUpdate) -> Loan:
    loan = crud.get_loan(session, org, loan_id)
    if str(loan.status) != LoanStatus.draft.value:
        raise Conflict(f"terms can only be changed while the loan is a draft (it is {loan.status})")
    terms = get_terms(session, loan)
    before = audit.snapshot(terms)
    try:
        rate = (InterestRate.lpr_plus(body.lpr, body.spread_bp) if body.rate_kind == RateKind.lpr_spread  # type: ignore[arg-type]
                else InterestRate.fixed(body.annual_rate))  # type: ignore[arg-type]
    except ValueError as exc:
        raise FieldError("spread_bp" if body.rate_kind == RateKind.lpr_spread else "annual_rate", str(exc)) from exc
    mpp, term = body.months_per_period, full_months(loan.origination_date, loan.maturity_date)
    fitting = term // mpp  # the schedule must end in the last period before the loan's maturity
    if fitting < 1:
        raise FieldError("months_per_period", f"a {mpp}-month period is longer than the {term}-month loan")
    n = body.n_periods or fitting
    if n != fitting:
        raise FieldError("n_periods", f"{n} periods of {mpp} month(s) do not fit the {term}-month term "
                                      f"(origination {loan.origination_date}, maturity {loan.maturity_date}); "
                                      f"use {fitting}")
    try:
        build_schedule(LoanTerms(loan.amount_fen, rate, loan.origination_date, n, body.schedule_type, mpp))
    except ValueError as exc:
        raise FieldError("n_periods", str(exc)) from exc
    terms.rate_kind = body.rate_kind.value
    terms.lpr = body.lpr if body.rate_kind == RateKind.lpr_spread else None
    terms.spread_bp = body.spread_bp if body.rate_kind == RateKind.lpr_spread else 0
    terms.schedule_type = body.schedule_type.value
    terms.months_per_period = mpp
    terms.n_periods = n
    session.add(terms)
    _bump_version(session, loan, loan.version, annual_rate=rate.annual_rate)
    audit.record(session, user, "loan", loan.id, "set_terms", before=before, after=terms)
    return loan
