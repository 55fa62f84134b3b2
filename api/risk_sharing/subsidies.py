"""Programme subsidies paid through the platform and drawn from their budgets (issue 12, item 4).

A bank officer applies (贴息/评估费补贴/担保费补贴/保费补贴 申请) for one subsidy of a rule (``Subsidy`` in
the rule data), one loan of its own and one period. The subsidised cost is what the platform holds:

* interest (贴息): the interest the borrower actually paid in the period — the ``interest_fen`` and
  ``accrued_interest_fen`` of the loan's ``pledge_payment`` rows dated in it (the period must have ended);
* appraisal fee (评估费补贴): the loan's recorded ``appraisal_fee_fen``, once per loan; budget year = the
  loan's origination year;
* guarantee fee / insurance premium: the annual rate (the loan's ``guarantee_fee_rate``; the rule's
  ``insurance.premium_rate``) × the loan's principal × days of the period ÷ days of its calendar year
  (a whole calendar year is exactly one year's fee), the period within the loan's term.

Rounding (stated once, tested): every fen amount is rounded **half up to the fen** (0.5 fen → 1 fen)
once — the fee of the period from its exact value, the subsidy as ``rate × base`` from its exact value.

Caps, in this order: ``max_per_loan_cny`` per loan and budget year (everything the loan already has
applied for or been granted under that subsidy that year counts; an appraisal-fee subsidy once per
loan), then the year's budget (``annual_budget_cny``, per rule version and calendar year), drawn when
the payer approves. A budget office pays first come, first served (额满即止): the approval that meets
the end of the budget is granted the remainder (``granted_fen`` < ``requested_fen``, the shortfall
recorded); once nothing remains an approval is a formal refusal (status ``refused``, the reason kept).

Workflow: applied → proposed (a maker of the payer organisation proposes approve or decline) →
approved (an approver of the payer, not the maker nor the applicant: the budget is drawn) | declined |
refused, or back to applied (the checker disagrees: ``send_back``); approved → paid (date and
reference: a line in the subsidy ledger and the budget's ``paid_fen``). Each move is one transaction
with its audit events. Approvals and payments first bump the budget row's ``lock_counter`` (row lock
on PostgreSQL, write lock on SQLite, until commit), the pattern of the claim payouts' cap lock
(``schemes.lock_scheme``): two approvals racing for the last of a budget are serialised and cannot
overdraw it; the draw itself is a conditional update as well.

The payer is a bureau or fund organisation named by the application; the first application of a
subsidy's budget year fixes it, later ones must name the same (422 otherwise). Only the applying bank
and the payer see an application (the platform admin: all); budgets are public figures.
"""

from __future__ import annotations

import calendar
import math
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, or_, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.db import utcnow
from api.core.errors import Conflict, FieldError, NotFound
from api.identity.models import Organisation, OrgKind, User
from api.pledge.models import Loan, PledgePayment
from api.pledge.service import get_loan
from api.risk_sharing import policies
from api.risk_sharing.models import (
    LIVE_SUBSIDY_STATUSES,
    RiskRule,
    RiskSubsidyApplication,
    RiskSubsidyBudget,
    RiskSubsidyLedgerEntry,
    SubsidyStatus,
)
from api.risk_sharing.schemes import DISBURSED_LOAN_STATUSES, _family_rows, rule_of
from api.risk_sharing.subsidy_schemas import (
    SubsidyApplicationCreate,
    SubsidyBudgetPublic,
    SubsidyCheck,
    SubsidyDecision,
    SubsidyPayment,
    SubsidyProposal,
)
from ipfin.money import cny_to_fen
from risk_sharing import engine as rs_engine
from risk_sharing.rules import Rule, Subsidy, SubsidyKind

PAYER_KINDS = frozenset({OrgKind.bureau.value, OrgKind.fund.value})
LEDGER_KIND = "subsidy_payment"
_Row = RiskSubsidyApplication
_GRANTED = (SubsidyStatus.approved.value, SubsidyStatus.paid.value)


# --------------------------------------------------------------------------- money rules (pure)


def half_up_fen(amount: Fraction) -> int:
    """A non-negative amount of fen rounded half up to a whole fen (12.5 → 13, 12.49 → 12)."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    return math.floor(amount + Fraction(1, 2))


def subsidy_fen(rate: Decimal, base_fen: int) -> int:
    """``rate`` (fraction) × ``base_fen``, rounded half up to the fen."""
    return half_up_fen(Fraction(rate) * base_fen)


def period_fee_fen(annual_rate: Decimal, principal_fen: int, start: date, end: date) -> int:
    """The fee of an annual rate on a principal for ``start``..``end`` (inclusive, one calendar year):
    rate × principal × days ÷ days of that year, rounded half up to the fen."""
    days = (end - start).days + 1
    year_days = 366 if calendar.isleap(start.year) else 365
    return half_up_fen(Fraction(annual_rate) * principal_fen * days / year_days)


# --------------------------------------------------------------------------- reading


def subsidy_visibility(org: Organisation) -> ColumnElement[bool]:
    """Applications an organisation sees: its own (the bank) and those it pays (admin: all)."""
    if policies.is_admin(org):
        return true()
    return or_(col(_Row.bank_org_id) == org.id, col(_Row.payer_org_id) == org.id)


def get_application(session: Session, org: Organisation, application_id: int) -> RiskSubsidyApplication:
    row = session.exec(select(_Row).where(_Row.id == application_id, subsidy_visibility(org))).first()
    if row is None:
        raise NotFound("subsidy application not found")
    return row


def list_applications(
    session: Session, org: Organisation, *, rule_id: str | None, loan_id: int | None, status: str | None,
    year: int | None, offset: int, limit: int,
) -> tuple[int, list[RiskSubsidyApplication]]:
    conds: list[Any] = [subsidy_visibility(org)]
    for column, value in ((_Row.rule_id, rule_id), (_Row.loan_id, loan_id), (_Row.status, status), (_Row.year, year)):
        if value is not None:
            conds.append(col(column) == value)
    total = session.exec(select(func.count()).select_from(_Row).where(*conds)).one()
    rows = session.exec(select(_Row).where(*conds).order_by(col(_Row.id)).offset(offset).limit(limit)).all()
    return int(total), list(rows)


def list_ledger(
    session: Session, org: Organisation, *, rule_id: str | None, year: int | None, offset: int, limit: int
) -> tuple[int, list[RiskSubsidyLedgerEntry]]:
    """Subsidy ledger lines the organisation paid or received (admin: all)."""
    e = RiskSubsidyLedgerEntry
    conds: list[Any] = [] if policies.is_admin(org) else [or_(col(e.payer_org_id) == org.id,
                                                              col(e.payee_org_id) == org.id)]
    if rule_id is not None:
        conds.append(col(e.rule_id) == rule_id)
    if year is not None:
        conds.append(col(e.year) == year)
    total = session.exec(select(func.count()).select_from(e).where(*conds)).one()
    rows = session.exec(select(e).where(*conds).order_by(col(e.id)).offset(offset).limit(limit)).all()
    return int(total), list(rows)


def budgets(session: Session, rule_id: str, year: int) -> list[SubsidyBudgetPublic]:
    """Every subsidy of the family's versions in force during ``year``: budget, approved, paid, remaining."""
    rows = _family_rows(session, rule_id)
    if not rows:
        raise NotFound(f"no rule family '{rule_id}'")
    out = []
    for row in rows:
        rule = rule_of(row)
        if rule.effective_from > date(year, 12, 31) or (rule.effective_to and rule.effective_to < date(year, 1, 1)):
            continue
        for s in rule.subsidies:
            b = session.exec(select(RiskSubsidyBudget).where(
                RiskSubsidyBudget.rule_row_id == row.id, RiskSubsidyBudget.subsidy_key == s.key,
                RiskSubsidyBudget.year == year)).first()
            total = None if s.annual_budget_cny is None else cny_to_fen(s.annual_budget_cny)
            approved, paid = (b.approved_fen, b.paid_fen) if b is not None else (0, 0)
            out.append(SubsidyBudgetPublic(
                rule_id=rule.id, rule_version=rule.version, subsidy_key=s.key, kind=str(s.kind), payer=s.payer,
                payer_org_id=b.payer_org_id if b is not None else None, year=year, budget_fen=total,
                approved_fen=approved, paid_fen=paid, remaining_fen=None if total is None else total - approved,
            ))
    return out


# --------------------------------------------------------------------------- applying


def _rule_and_subsidy(session: Session, body: SubsidyApplicationCreate, loan: Loan) -> tuple[RiskRule, Rule, Subsidy]:
    rows = _family_rows(session, body.rule_id)
    if not rows:
        raise FieldError("rule_id", f"no rule family '{body.rule_id}'")
    try:
        rule = rs_engine.select_version([rule_of(r) for r in rows], loan.origination_date)
    except ValueError as exc:
        raise FieldError("rule_id", str(exc)) from exc
    if body.rule_version is not None and body.rule_version != rule.version:
        raise FieldError("rule_version", f"version {rule.version} of '{rule.id}' is in force on the loan's "
                                         f"origination date {loan.origination_date}, not {body.rule_version}")
    sub = next((s for s in rule.subsidies if s.key == body.subsidy_key), None)
    if sub is None:
        keys = ", ".join(s.key for s in rule.subsidies) or "none"
        raise FieldError("subsidy_key", f"rule '{rule.id}' version {rule.version} has no subsidy "
                                        f"'{body.subsidy_key}' (its subsidies: {keys})")
    return next(r for r in rows if r.version == rule.version), rule, sub


def _period(body: SubsidyApplicationCreate, loan: Loan, sub: Subsidy) -> tuple[date | None, date | None, int]:
    """(period start, period end, budget year) of the application, checked (422 naming the field)."""
    if sub.kind is SubsidyKind.APPRAISAL_FEE:
        if body.period_start is not None or body.period_end is not None:
            raise FieldError("period_start", "an appraisal-fee subsidy has no period (once per loan)")
        return None, None, loan.origination_date.year
    start, end, today = body.period_start, body.period_end, date.today()
    if start is None:
        raise FieldError("period_start", f"required for a {sub.kind} subsidy")
    if end is None:
        raise FieldError("period_end", f"required for a {sub.kind} subsidy")
    if end < start:
        raise FieldError("period_end", "must not be before period_start")
    if end.year != start.year:
        raise FieldError("period_end", "a period lies within one calendar year (the budget year): split it")
    if start > today:
        raise FieldError("period_start", "must not be in the future")
    if sub.kind is SubsidyKind.INTEREST and end > today:
        raise FieldError("period_end", "interest is subsidised once paid: the period must have ended")
    if sub.kind is not SubsidyKind.INTEREST:
        if start < loan.origination_date:
            raise FieldError("period_start", f"before the loan's origination date {loan.origination_date}")
        if end > loan.maturity_date:
            raise FieldError("period_end", f"after the loan's maturity date {loan.maturity_date}")
    return start, end, start.year


def _base_fen(session: Session, loan: Loan, rule: Rule, sub: Subsidy, start: date | None, end: date | None) -> int:
    """The subsidised cost, fen, from what the platform holds (module docstring); 409 if it holds none."""
    if sub.kind is SubsidyKind.APPRAISAL_FEE:
        if not loan.appraisal_fee_fen:
            raise Conflict(f"loan {loan.id} has no appraisal fee recorded: nothing to subsidise")
        return int(loan.appraisal_fee_fen)
    assert start is not None and end is not None
    if sub.kind is SubsidyKind.INTEREST:
        p = PledgePayment
        paid = session.exec(select(func.coalesce(func.sum(p.interest_fen + p.accrued_interest_fen), 0)).where(
            p.loan_id == loan.id, col(p.paid_on).between(start, end))).one()
        if int(paid) <= 0:
            raise Conflict(f"no interest was paid on loan {loan.id} between {start} and {end}: nothing to subsidise")
        return int(paid)
    if sub.kind is SubsidyKind.GUARANTEE_FEE:
        if loan.guarantor_org_id is None or loan.guarantee_fee_rate is None:
            raise Conflict(f"loan {loan.id} has no guarantee fee (no guarantor or no guarantee_fee_rate)")
        return period_fee_fen(Decimal(loan.guarantee_fee_rate), loan.amount_fen, start, end)
    if rule.insurance is None:
        raise Conflict(f"rule '{rule.id}' has no insurance: no premium to subsidise")
    return period_fee_fen(rule.insurance.premium_rate, loan.amount_fen, start, end)


def _same_subsidy(app: RiskSubsidyApplication | None, loan_id: int, rule_id: str, key: str) -> list[Any]:
    conds = [col(_Row.loan_id) == loan_id, col(_Row.rule_id) == rule_id, col(_Row.subsidy_key) == key]
    if app is not None and app.id is not None:
        conds.append(col(_Row.id) != app.id)
    return conds


def _require_no_overlap(session: Session, conds: list[Any], start: date | None, end: date | None,
                        statuses: tuple[str, ...]) -> None:
    """No other application of the statuses covers the same cost (an appraisal fee: at all)."""
    q = select(_Row).where(*conds, col(_Row.status).in_(statuses))
    if start is not None and end is not None:
        q = q.where(col(_Row.period_start) <= end, col(_Row.period_end) >= start)
    hit = session.exec(q.order_by(col(_Row.id))).first()
    if hit is not None:
        span = f"{hit.period_start}..{hit.period_end}" if hit.period_start else "once per loan"
        raise Conflict(f"application {hit.id} ({hit.status}, {span}) already covers this cost")


def _loan_year_used(session: Session, conds: list[Any], year: int, statuses: tuple[str, ...]) -> int:
    """What the loan holds of the subsidy in the budget year: granted, or requested while undecided."""
    used = session.exec(select(func.coalesce(func.sum(func.coalesce(_Row.granted_fen, _Row.requested_fen)), 0))
                        .where(*conds, col(_Row.year) == year, col(_Row.status).in_(statuses))).one()
    return int(used)


def _budget_row(session: Session, row: RiskRule, sub: Subsidy, year: int, payer_org_id: int) -> RiskSubsidyBudget:
    """The subsidy's budget row of the year, created by the first application (fixing its payer)."""
    values = {
        "rule_row_id": row.id, "rule_id": row.rule_id, "rule_version": row.version, "subsidy_key": sub.key,
        "year": year, "payer_org_id": payer_org_id, "approved_fen": 0, "paid_fen": 0, "lock_counter": 0,
        "budget_fen": None if sub.annual_budget_cny is None else cny_to_fen(sub.annual_budget_cny),
        "updated_at": utcnow(),
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(RiskSubsidyBudget).values(**values).on_conflict_do_nothing(
        index_elements=["rule_row_id", "subsidy_key", "year"]))
    b = session.exec(select(RiskSubsidyBudget).where(
        RiskSubsidyBudget.rule_row_id == row.id, RiskSubsidyBudget.subsidy_key == sub.key,
        RiskSubsidyBudget.year == year)).one()
    if b.payer_org_id != payer_org_id:
        raise FieldError("payer_org_id", f"the {year} budget of subsidy '{sub.key}' of '{row.rule_id}' "
                                         f"version {row.version} is paid by organisation {b.payer_org_id}")
    return b


def apply(session: Session, actor: User, org: Organisation, body: SubsidyApplicationCreate) -> RiskSubsidyApplication:
    """A bank officer applies for a subsidy on one of its loans (amount computed here, module docstring)."""
    loan = get_loan(session, org, body.loan_id)
    if loan.bank_org_id != org.id:
        raise NotFound("loan not found")  # only the lending bank applies for its loan
    if str(loan.status) not in {str(s) for s in DISBURSED_LOAN_STATUSES}:
        raise Conflict(f"loan {loan.id} is {loan.status}: subsidies are for loans lent (disbursed)")
    row, rule, sub = _rule_and_subsidy(session, body, loan)
    payer = session.get(Organisation, body.payer_org_id)
    if payer is None or str(payer.kind) not in PAYER_KINDS:
        raise FieldError("payer_org_id", f"organisation {body.payer_org_id} is not a bureau or fund organisation")
    start, end, year = _period(body, loan, sub)
    base = _base_fen(session, loan, rule, sub, start, end)
    same = _same_subsidy(None, loan.id, rule.id, sub.key)  # type: ignore[arg-type]
    _require_no_overlap(session, same, start, end, tuple(map(str, LIVE_SUBSIDY_STATUSES)))
    computed = subsidy_fen(sub.rate, base)
    requested = computed
    if sub.max_per_loan_cny is not None:
        room = cny_to_fen(sub.max_per_loan_cny) - _loan_year_used(session, same, year,
                                                                  tuple(map(str, LIVE_SUBSIDY_STATUSES)))
        requested = max(0, min(computed, room))
        if requested == 0:
            raise Conflict(f"loan {loan.id} has used its {sub.max_per_loan_cny:.2f} CNY of '{sub.key}' for {year}")
    if requested == 0:
        raise Conflict(f"{sub.rate} × {base} fen rounds to 0 fen: nothing to subsidise")
    budget = _budget_row(session, row, sub, year, payer.id)  # type: ignore[arg-type]
    app = RiskSubsidyApplication(
        rule_row_id=row.id, rule_id=rule.id, rule_version=rule.version, subsidy_key=sub.key,  # type: ignore[arg-type]
        kind=str(sub.kind), budget_id=budget.id, year=year, loan_id=loan.id, bank_org_id=org.id,  # type: ignore[arg-type]
        payer_org_id=payer.id, period_start=start, period_end=end, base_fen=base, rate=str(sub.rate),  # type: ignore[arg-type]
        computed_fen=computed, requested_fen=requested, applied_by_user_id=actor.id,  # type: ignore[arg-type]
    )
    session.add(app)
    session.flush()
    audit.record(session, actor, "risk_subsidy_application", app.id, "apply", after=app)
    return app


# --------------------------------------------------------------------------- the payer's review


def _require_payer(org: Organisation, app: RiskSubsidyApplication) -> None:
    if org.id != app.payer_org_id:
        raise policies.forbid(f"only users of the paying organisation ({app.payer_org_id}) may act on it")


def _require_status(app: RiskSubsidyApplication, allowed: set[str], action: str) -> None:
    if str(app.status) not in allowed:
        raise Conflict(f"cannot {action} subsidy application {app.id} that is {app.status}; "
                       f"allowed from: {', '.join(sorted(allowed))}")


def _move(session: Session, actor: User, app: RiskSubsidyApplication, action: str, **values: object) -> None:
    """Conditional update on the application's version (a concurrent move → 409) and its audit event."""
    before = audit.snapshot(app)
    res = session.execute(update(_Row).where(col(_Row.id) == app.id, col(_Row.version) == app.version)
                          .values(version=app.version + 1, updated_at=utcnow(), **values))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"subsidy application {app.id} was changed by someone else; reload and retry")
    session.refresh(app)
    audit.record(session, actor, "risk_subsidy_application", app.id, action, before=before, after=app)


def _lock_budget(session: Session, budget_id: int) -> RiskSubsidyBudget:
    """Take the budget's lock (held until commit) and return its fresh row."""
    session.execute(update(RiskSubsidyBudget).where(col(RiskSubsidyBudget.id) == budget_id)
                    .values(lock_counter=col(RiskSubsidyBudget.lock_counter) + 1))
    return session.exec(select(RiskSubsidyBudget).where(RiskSubsidyBudget.id == budget_id)
                        .execution_options(populate_existing=True)).one()


def _budget_change(session: Session, actor: User, b: RiskSubsidyBudget, action: str, guard: Any,
                   **values: Any) -> None:
    """Conditional update of the budget row (``guard``: the figures it was computed from) and its audit."""
    before = audit.snapshot(b)
    res = session.execute(update(RiskSubsidyBudget).where(col(RiskSubsidyBudget.id) == b.id, guard)
                          .values(updated_at=utcnow(), **values))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"subsidy budget {b.id} changed meanwhile; retry")
    session.refresh(b)
    audit.record(session, actor, "risk_subsidy_budget", b.id, action, before=before, after=b)


def propose(session: Session, actor: User, org: Organisation, application_id: int,
            body: SubsidyProposal) -> RiskSubsidyApplication:
    """Maker of the payer: propose to approve or decline (a decline with its reason)."""
    app = get_application(session, org, application_id)
    _require_payer(org, app)
    policies.require_staff(actor)
    if body.decision is SubsidyDecision.decline and not body.note:
        raise FieldError("note", "a proposed decline needs the reason")
    _require_status(app, {SubsidyStatus.applied.value}, "propose")
    _move(session, actor, app, "propose", status=SubsidyStatus.proposed.value, proposed_decision=body.decision.value,
          proposal_note=body.note, proposed_by_user_id=actor.id)
    return app


def send_back(session: Session, actor: User, org: Organisation, application_id: int,
              body: SubsidyCheck) -> RiskSubsidyApplication:
    """Checker of the payer who disagrees with the proposal: back to ``applied`` for a new proposal."""
    app = get_application(session, org, application_id)
    _require_payer(org, app)
    policies.require_approver(actor)
    if actor.id == app.proposed_by_user_id:
        raise Conflict("maker-checker: the proposer cannot send back its own proposal; propose anew instead")
    _require_status(app, {SubsidyStatus.proposed.value}, "send back")
    _move(session, actor, app, "send_back", status=SubsidyStatus.applied.value, proposed_decision=None,
          proposed_by_user_id=None, decision_note=body.note)
    return app


def _grant(session: Session, app: RiskSubsidyApplication, b: RiskSubsidyBudget, rule: Rule) -> tuple[int, str | None]:
    """(fen granted, why less than requested) under the budget lock: the per-loan yearly cap against what
    the loan was granted, then the budget's remainder."""
    sub = next(s for s in rule.subsidies if s.key == app.subsidy_key)
    want, why = app.requested_fen, None
    if sub.max_per_loan_cny is not None:
        same = _same_subsidy(app, app.loan_id, app.rule_id, app.subsidy_key)
        room = max(0, cny_to_fen(sub.max_per_loan_cny) - _loan_year_used(session, same, app.year, _GRANTED))
        if room < want:
            want, why = room, f"the loan's {sub.max_per_loan_cny:.2f} CNY cap of '{sub.key}' for {app.year}"
    if b.budget_fen is not None and b.budget_fen - b.approved_fen < want:
        want = max(0, b.budget_fen - b.approved_fen)
        why = f"the {app.year} budget of '{sub.key}' ({b.budget_fen} fen, {b.approved_fen} fen drawn before)"
    return want, why


def approve(session: Session, actor: User, org: Organisation, application_id: int,
            body: SubsidyCheck) -> RiskSubsidyApplication:
    """Checker of the payer: confirm the proposal. An approval draws the budget under its lock: the
    remainder if less is left (shortfall recorded), a refusal if nothing is."""
    app = get_application(session, org, application_id)
    _require_payer(org, app)
    policies.require_approver(actor)
    if actor.id in (app.proposed_by_user_id, app.applied_by_user_id):
        raise Conflict("maker-checker: the approver must differ from the proposer and the applicant")
    b = _lock_budget(session, app.budget_id)
    session.refresh(app)
    _require_status(app, {SubsidyStatus.proposed.value}, "approve")
    if actor.id == app.proposed_by_user_id:
        raise Conflict("maker-checker: the approver must differ from the proposer and the applicant")
    today, note = date.today(), body.note
    if app.proposed_decision == SubsidyDecision.decline.value:
        _move(session, actor, app, "decline", status=SubsidyStatus.declined.value, decided_by_user_id=actor.id,
              decided_on=today, decision_note=note or app.proposal_note)
        return app
    if app.period_start is not None:
        same = _same_subsidy(app, app.loan_id, app.rule_id, app.subsidy_key)
        _require_no_overlap(session, same, app.period_start, app.period_end, _GRANTED)
    rule = rule_of(session.get(RiskRule, app.rule_row_id))  # type: ignore[arg-type]
    granted, why = _grant(session, app, b, rule)
    if granted == 0:
        _move(session, actor, app, "refuse", status=SubsidyStatus.refused.value, granted_fen=0,
              shortfall_fen=app.requested_fen, decided_by_user_id=actor.id, decided_on=today,
              decision_note=f"refused: nothing left of {why}")
        return app
    _budget_change(session, actor, b, "draw", col(RiskSubsidyBudget.approved_fen) == b.approved_fen,
                   approved_fen=b.approved_fen + granted)
    shortfall = app.requested_fen - granted
    _move(session, actor, app, "approve", status=SubsidyStatus.approved.value, granted_fen=granted,
          shortfall_fen=shortfall, decided_by_user_id=actor.id, decided_on=today,
          decision_note=note if not shortfall else f"partly granted ({shortfall} fen short): {why}")
    return app


def pay(session: Session, actor: User, org: Organisation, application_id: int,
        body: SubsidyPayment) -> RiskSubsidyApplication:
    """The payer records its payment of an approved subsidy: the ledger line and the budget's paid figure."""
    app = get_application(session, org, application_id)
    _require_payer(org, app)
    policies.require_staff(actor)
    if body.paid_on > date.today():
        raise FieldError("paid_on", "must not be in the future")
    if app.decided_on is not None and body.paid_on < app.decided_on:
        raise FieldError("paid_on", f"must not be before the approval ({app.decided_on})")
    b = _lock_budget(session, app.budget_id)
    session.refresh(app)
    _require_status(app, {SubsidyStatus.approved.value}, "pay")
    amount = int(app.granted_fen or 0)
    entry = RiskSubsidyLedgerEntry(
        application_id=app.id, budget_id=b.id, rule_row_id=app.rule_row_id, rule_id=app.rule_id,  # type: ignore[arg-type]
        rule_version=app.rule_version, subsidy_key=app.subsidy_key, kind=LEDGER_KIND, year=app.year,
        payer_org_id=app.payer_org_id, payee_org_id=app.bank_org_id, loan_id=app.loan_id, amount_fen=amount,
        booked_on=body.paid_on, reference=body.reference,
    )
    session.add(entry)
    session.flush()
    audit.record(session, actor, "risk_subsidy_ledger_entry", entry.id, "book", after=entry)
    _budget_change(session, actor, b, "pay", col(RiskSubsidyBudget.paid_fen) + amount <= b.approved_fen,
                   paid_fen=col(RiskSubsidyBudget.paid_fen) + amount)
    _move(session, actor, app, "pay", status=SubsidyStatus.paid.value, paid_by_user_id=actor.id,
          paid_on=body.paid_on, payment_reference=body.reference)
    return app
