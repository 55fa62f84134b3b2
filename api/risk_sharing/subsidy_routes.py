"""Programme subsidies API: a bank applies, the payer (bureau or fund) reviews with maker-checker and
pays from the subsidy's annual budget; budgets and the subsidy ledger are read here. Thin routes over
``api.risk_sharing.subsidies`` (the rules, rounding and locking are documented there); every write
commits once with its audit events. ``Idempotency-Key`` is honoured on apply, approve and pay."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from api.core.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.core.idempotency import IdempotencyDep
from api.identity.models import OrgKind, UserRole
from api.risk_sharing import subsidies
from api.risk_sharing.models import SubsidyStatus
from api.risk_sharing.subsidy_schemas import (
    SubsidyApplicationCreate,
    SubsidyApplicationPublic,
    SubsidyApplicationsPage,
    SubsidyBudgetsPublic,
    SubsidyCheck,
    SubsidyLedgerEntryPublic,
    SubsidyLedgerPage,
    SubsidyPayment,
    SubsidyProposal,
)

router = APIRouter(prefix="", tags=["risk-sharing"])

_STAFF = (UserRole.officer, UserRole.approver)
BankOfficer = Depends(require_role(OrgKind.bank, user_roles=(UserRole.officer,)))
PayerStaff = Depends(require_role(OrgKind.bureau, OrgKind.fund, user_roles=_STAFF))
PayerApprover = Depends(require_role(OrgKind.bureau, OrgKind.fund, user_roles=(UserRole.approver,)))


def _public(app: Any) -> SubsidyApplicationPublic:
    return SubsidyApplicationPublic.model_validate(app)


@router.post("/subsidy-applications", response_model=SubsidyApplicationPublic,
             status_code=status.HTTP_201_CREATED, dependencies=[BankOfficer])
def apply_for_subsidy(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, body: SubsidyApplicationCreate, idem: IdempotencyDep
) -> Any:
    """A bank officer applies for a subsidy (贴息/评估费/担保费/保费补贴) on one of its loans for one period:
    the cost is taken from the platform (interest paid, the recorded appraisal fee, fee rate × principal),
    the amount is rate × cost rounded half up to the fen, within the per-loan yearly cap."""
    if (replay := idem.begin(session, org, body)) is not None:
        return replay
    app = subsidies.apply(session, user, org, body)
    session.flush()
    return idem.finish(session, status.HTTP_201_CREATED, _public(app))


@router.get("/subsidy-applications", response_model=SubsidyApplicationsPage)
def list_subsidy_applications(
    session: SessionDep,
    org: CurrentOrg,
    rule_id: str | None = None,
    loan_id: Annotated[int | None, Query(ge=1)] = None,
    status_: Annotated[SubsidyStatus | None, Query(alias="status")] = None,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SubsidyApplicationsPage:
    """Applications of the caller's bank, or those the caller's organisation pays (by rule, loan, status, year)."""
    total, rows = subsidies.list_applications(
        session, org, rule_id=rule_id, loan_id=loan_id, status=status_.value if status_ else None, year=year,
        offset=offset, limit=limit)
    return SubsidyApplicationsPage(count=total, offset=offset, limit=limit, data=[_public(r) for r in rows])


@router.get("/subsidy-applications/{application_id}", response_model=SubsidyApplicationPublic)
def read_subsidy_application(session: SessionDep, org: CurrentOrg, application_id: int) -> SubsidyApplicationPublic:
    return _public(subsidies.get_application(session, org, application_id))


@router.post("/subsidy-applications/{application_id}/propose", response_model=SubsidyApplicationPublic,
             dependencies=[PayerStaff])
def propose_subsidy(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, application_id: int, body: SubsidyProposal
) -> SubsidyApplicationPublic:
    """Maker of the paying organisation: propose to approve or decline (with the reason)."""
    app = subsidies.propose(session, user, org, application_id, body)
    session.commit()
    return _public(app)


@router.post("/subsidy-applications/{application_id}/approve", response_model=SubsidyApplicationPublic,
             dependencies=[PayerApprover])
def approve_subsidy(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, application_id: int, idem: IdempotencyDep,
    body: SubsidyCheck | None = None,
) -> Any:
    """Checker of the paying organisation (not the maker, not the applicant): confirm the proposal. An
    approval draws the year's budget — the remainder if less is left (shortfall recorded), status
    ``refused`` if nothing is; a proposed decline becomes ``declined``."""
    body = body or SubsidyCheck()
    if (replay := idem.begin(session, org, body)) is not None:
        return replay
    app = subsidies.approve(session, user, org, application_id, body)
    session.flush()
    return idem.finish(session, status.HTTP_200_OK, _public(app))


@router.post("/subsidy-applications/{application_id}/send-back", response_model=SubsidyApplicationPublic,
             dependencies=[PayerApprover])
def send_back_subsidy(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, application_id: int, body: SubsidyCheck | None = None
) -> SubsidyApplicationPublic:
    """Checker of the paying organisation who disagrees with the proposal: back to ``applied`` (note kept)."""
    app = subsidies.send_back(session, user, org, application_id, body or SubsidyCheck())
    session.commit()
    return _public(app)


@router.post("/subsidy-applications/{application_id}/pay", response_model=SubsidyApplicationPublic,
             dependencies=[PayerStaff])
def pay_subsidy(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, application_id: int, body: SubsidyPayment,
    idem: IdempotencyDep,
) -> Any:
    """The payer records its payment (date, reference): booked in the subsidy ledger and the budget.
    With ``Idempotency-Key`` a retried payment answers as the first one did and books nothing."""
    if (replay := idem.begin(session, org, body)) is not None:
        return replay
    app = subsidies.pay(session, user, org, application_id, body)
    session.flush()
    return idem.finish(session, status.HTTP_200_OK, _public(app))


@router.get("/subsidy-budgets", response_model=SubsidyBudgetsPublic)
def read_subsidy_budgets(
    session: SessionDep,
    _: CurrentUser,
    rule_id: Annotated[str, Query(min_length=1, max_length=80)],
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> SubsidyBudgetsPublic:
    """Per subsidy of the rule family (versions in force that year; default: this year): the annual
    budget, what approvals drew, what was paid and what remains (fen and CNY)."""
    y = year or date.today().year
    return SubsidyBudgetsPublic(rule_id=rule_id, year=y, data=subsidies.budgets(session, rule_id, y))


@router.get("/subsidy-ledger", response_model=SubsidyLedgerPage)
def read_subsidy_ledger(
    session: SessionDep,
    org: CurrentOrg,
    rule_id: str | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SubsidyLedgerPage:
    """Subsidies paid, as ledger lines, that the caller's organisation paid or received."""
    total, rows = subsidies.list_ledger(session, org, rule_id=rule_id, year=year, offset=offset, limit=limit)
    data = [SubsidyLedgerEntryPublic.model_validate(r) for r in rows]
    return SubsidyLedgerPage(count=total, offset=offset, limit=limit, data=data)
