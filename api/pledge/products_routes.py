"""Lending-practice routes (issue 11): loan products, LPR fixings and repricing, the calendar override
table, term extension and rescheduling (maker-checker), the daily arrears accrual, IP registry
changes and provisions by class.

Status codes: stale version or illegal state → 409; wrong role or maker-checker → 403; bad input
→ 422 naming the field; another organisation's loan, asset or product → 404. Calendar overrides
and LPR fixings are written by administrators only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status

from api.core.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.core.errors import FieldError
from api.identity.models import OrgKind, UserRole
from api.pledge import arrears_jobs, calendar_admin, products, provisions, registry, restructuring
from api.pledge import service as crud
from api.pledge.models import MAX_DB_ID, LoanProduct, RestructureRequest
from api.pledge.products_schemas import (
    AccrualRequest,
    ApplyProductRequest,
    CalendarOverrideIn,
    CalendarOverridePublic,
    CalendarYearPublic,
    IPAssetPatch,
    IPRegistryPublic,
    LendingTermsPublic,
    LoanProductCreate,
    LoanProductPublic,
    LoanProductUpdate,
    LprFixingCreate,
    LprFixingPublic,
    OnRequest,
    ProvisionRatesIn,
    ProvisionsPublic,
    RestructureCreate,
    RestructureDecision,
    RestructurePublic,
)
from api.pledge.schemas import PledgeTermsPublic
from pledge.conventions import default_convention
from pledge.lpr import default_fixings
from pledge.states import Forbidden

router = APIRouter(prefix="", tags=["lending"])

LoanId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="loan id")]
AssetId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="IP asset id")]
ProductId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="loan product id")]
RequestId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="restructuring request id")]

BankStaff = Depends(require_role(OrgKind.bank, user_roles=(UserRole.officer, UserRole.approver), allow_admin=False))
BankOfficer = Depends(require_role(OrgKind.bank, user_roles=(UserRole.officer,), allow_admin=False))
BankApprover = Depends(require_role(OrgKind.bank, user_roles=(UserRole.approver,), allow_admin=False))
Admin = Depends(require_role(OrgKind.admin))


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except Forbidden as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from exc


# ------------------------------------------------------------------ products


@router.post("/pledge/products", response_model=LoanProductPublic, status_code=201, dependencies=[BankApprover])
def create_product(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: LoanProductCreate) -> LoanProduct:
    """Define a loan product (approvers set the bank's products)."""
    p = products.create_product(session, user, org, body)
    session.commit()
    session.refresh(p)
    return p


@router.get("/pledge/products", response_model=list[LoanProductPublic], dependencies=[BankStaff])
def list_products(session: SessionDep, org: CurrentOrg) -> list[LoanProduct]:
    return products.list_products(session, org)


@router.get("/pledge/products/{product_id}", response_model=LoanProductPublic, dependencies=[BankStaff])
def read_product(session: SessionDep, org: CurrentOrg, product_id: ProductId) -> LoanProduct:
    return products.get_product(session, org, product_id)


@router.patch("/pledge/products/{product_id}", response_model=LoanProductPublic, dependencies=[BankApprover])
def update_product(session: SessionDep, user: CurrentUser, org: CurrentOrg, product_id: ProductId,
                   body: LoanProductUpdate) -> LoanProduct:
    """Change a product (a new version; loans already opened keep theirs)."""
    p = products.update_product(session, user, org, product_id, body)
    session.commit()
    session.refresh(p)
    return p


@router.post("/loans/{loan_id}/product", response_model=PledgeTermsPublic, dependencies=[BankOfficer])
def apply_product(session: SessionDep, user: CurrentUser, org: CurrentOrg, loan_id: LoanId,
                  body: ApplyProductRequest) -> PledgeTermsPublic:
    """Open a draft loan on a product: the product's terms are copied onto the loan with its version."""
    loan = crud.get_loan(session, org, loan_id)
    t = products.apply_product(session, user, org, loan, body.product_id, body.schedule_type)
    session.commit()
    session.refresh(loan)
    return PledgeTermsPublic(loan_id=loan_id, rate_kind=str(t.rate_kind), lpr=t.lpr, spread_bp=t.spread_bp,
                             annual_rate=crud.interest_rate(loan, t).annual_rate, schedule_type=str(t.schedule_type),
                             months_per_period=t.months_per_period, n_periods=t.n_periods,
                             submitted_by_user_id=t.submitted_by_user_id, disbursed_on=t.disbursed_on)


@router.get("/loans/{loan_id}/lending-terms", response_model=LendingTermsPublic)
def read_lending_terms(session: SessionDep, org: CurrentOrg, loan_id: LoanId) -> LendingTermsPublic:
    """Product, convention, grace, LPR reset rule, arrears settings, rate history and accrual watermark."""
    loan = crud.get_loan(session, org, loan_id)
    lt = crud.lending_terms(session, loan)
    conv = lt.convention or default_convention(str(crud.get_terms(session, loan).schedule_type)).value
    return LendingTermsPublic.model_validate({**lt.model_dump(), "convention": conv})


# ------------------------------------------------------------------ LPR and repricing


@router.get("/pledge/lpr", response_model=list[LprFixingPublic])
def list_lpr(session: SessionDep, user: CurrentUser, tenor: str | None = None) -> list[LprFixingPublic]:
    """LPR fixings in force (the shipped history from 2019-08-20 with the administrator's rows)."""
    shipped = {(f.effective_date, f.tenor, f.rate) for f in default_fixings()}
    return [LprFixingPublic(effective_date=f.effective_date, tenor=f.tenor, rate=f.rate,
                            source="shipped" if (f.effective_date, f.tenor, f.rate) in shipped else "admin")
            for f in products.fixings(session) if tenor is None or f.tenor == tenor.upper()]


@router.post("/pledge/lpr", response_model=LprFixingPublic, status_code=201, dependencies=[Admin])
def add_lpr(session: SessionDep, user: CurrentUser, body: LprFixingCreate) -> LprFixingPublic:
    """Add a new fixing or correct one (administrators; audited)."""
    row = products.add_fixing(session, user, body)
    session.commit()
    return LprFixingPublic(effective_date=row.effective_date, tenor=row.tenor, rate=row.rate, source="admin")


@router.post("/loans/{loan_id}/reprice", dependencies=[BankStaff])
def reprice(session: SessionDep, user: CurrentUser, org: CurrentOrg, loan_id: LoanId, body: OnRequest
            ) -> dict[str, Any]:
    """Apply the LPR resets due by ``on`` to an LPR + spread loan; the remaining schedule is recomputed."""
    on = body.on or crud.today()
    if on > crud.today():
        raise FieldError("on", "must not be in the future")
    n = products.reprice_now(session, user, org, loan_id, on)
    session.commit()
    loan = crud.get_loan(session, org, loan_id)
    return {"loan_id": loan_id, "resets_applied": n, "annual_rate": str(loan.annual_rate), "version": loan.version}


# ------------------------------------------------------------------ calendar


@router.get("/pledge/calendar/{year}", response_model=CalendarYearPublic)
def read_calendar(session: SessionDep, user: CurrentUser, year: Annotated[int, Path(ge=1990, le=2100)]
                  ) -> dict[str, Any]:
    """Days off and 调休 working weekends of ``year`` as every due date and overdue count uses them."""
    return calendar_admin.year_view(session, year)


@router.put("/pledge/calendar/overrides/{day}", response_model=CalendarOverridePublic, dependencies=[Admin])
def put_calendar_override(session: SessionDep, user: CurrentUser, day: date, body: CalendarOverrideIn
                          ) -> CalendarOverridePublic:
    """Force ``day`` to a holiday or a working day (the State Council notice; administrators; audited)."""
    row = calendar_admin.put_override(session, user, day, body.kind == "working", body.note)
    session.commit()
    return CalendarOverridePublic(day=row.day, kind="working" if row.working else "holiday", note=row.note)


@router.delete("/pledge/calendar/overrides/{day}", status_code=204, dependencies=[Admin])
def delete_calendar_override(session: SessionDep, user: CurrentUser, day: date) -> None:
    calendar_admin.delete_override(session, user, day)
    session.commit()


# ------------------------------------------------------------------ restructuring


@router.post("/loans/{loan_id}/restructurings", response_model=RestructurePublic, status_code=201,
             dependencies=[BankOfficer])
def propose_restructuring(session: SessionDep, user: CurrentUser, org: CurrentOrg, loan_id: LoanId,
                          body: RestructureCreate) -> RestructureRequest:
    """Propose a term extension (展期) or a rescheduling; an approver decides."""
    req = restructuring.propose(session, user, org, loan_id, body)
    session.commit()
    session.refresh(req)
    return req


@router.get("/loans/{loan_id}/restructurings", response_model=list[RestructurePublic])
def list_restructurings(session: SessionDep, org: CurrentOrg, loan_id: LoanId) -> list[RestructureRequest]:
    return restructuring.list_requests(session, org, loan_id)


@router.post("/loans/{loan_id}/restructurings/{request_id}/approve", response_model=RestructurePublic,
             dependencies=[BankApprover])
def approve_restructuring(session: SessionDep, user: CurrentUser, org: CurrentOrg, loan_id: LoanId,
                          request_id: RequestId, body: RestructureDecision) -> RestructureRequest:
    with _errors():
        req = restructuring.decide(session, user, org, loan_id, request_id, True, body)
    session.commit()
    session.refresh(req)
    return req


@router.post("/loans/{loan_id}/restructurings/{request_id}/reject", response_model=RestructurePublic,
             dependencies=[BankApprover])
def reject_restructuring(session: SessionDep, user: CurrentUser, org: CurrentOrg, loan_id: LoanId,
                         request_id: RequestId, body: RestructureDecision) -> RestructureRequest:
    with _errors():
        req = restructuring.decide(session, user, org, loan_id, request_id, False, body)
    session.commit()
    session.refresh(req)
    return req


# ------------------------------------------------------------------ daily accrual


@router.post("/pledge/arrears/run", dependencies=[BankStaff])
def run_accrual(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: AccrualRequest) -> dict[str, Any]:
    """The daily job on the bank's loans: LPR resets due, then penalty (罚息) and compound (复利) interest
    up to ``as_of``. Idempotent per loan and day."""
    as_of = body.as_of or crud.today()
    if as_of > crud.today():
        raise FieldError("as_of", "must not be in the future")
    return arrears_jobs.run_accrual(session, user, org, as_of)


# ------------------------------------------------------------------ IP registry


@router.get("/ip-assets/{asset_id}/registry", response_model=IPRegistryPublic)
def read_registry(session: SessionDep, org: CurrentOrg, asset_id: AssetId) -> IPRegistryPublic:
    asset = crud.get_ip_asset(session, org, asset_id)
    return IPRegistryPublic(ip_asset_id=asset_id, version=registry.asset_version(session, asset_id),
                            legal_status=str(asset.legal_status), annual_fee_paid_until=asset.annual_fee_paid_until,
                            events=registry.events(session, asset_id))


@router.patch("/ip-assets/{asset_id}", response_model=IPRegistryPublic, dependencies=[BankStaff])
def patch_ip_asset(session: SessionDep, user: CurrentUser, org: CurrentOrg, asset_id: AssetId, body: IPAssetPatch
                   ) -> IPRegistryPublic:
    """Record changed registry facts (annual fee, legal status, invalidation request, transfer, licence);
    a change that endangers a pledge raises an alert on every loan the asset secures."""
    _, raised = registry.patch_asset(session, user, org, asset_id, body)
    session.commit()
    out = read_registry(session, org, asset_id)
    out.alerts_raised = raised
    return out


# ------------------------------------------------------------------ provisions


@router.get("/pledge/provisions", response_model=ProvisionsPublic)
def read_provisions(session: SessionDep, org: CurrentOrg, as_of: date | None = None) -> dict[str, Any]:
    """Live loans by five-class category (正常/关注/次级/可疑/损失): count, outstanding, rate and provision."""
    return provisions.provisions(session, org, as_of or crud.today())


@router.put("/pledge/provisions/rates", response_model=ProvisionsPublic, dependencies=[BankApprover])
def put_provision_rates(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: ProvisionRatesIn
                        ) -> dict[str, Any]:
    """Set the bank's provision rate per class (not decreasing from 正常 to 损失)."""
    try:
        provisions.set_rates(session, user, org, body)
    except ValueError as exc:
        raise FieldError("loss" if "decrease" in str(exc) else "body", str(exc)) from exc
    session.commit()
    return provisions.provisions(session, org, crud.today())
