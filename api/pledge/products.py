"""Loan products, LPR fixings and LPR repricing.

A product fixes what a bank offers: rate type (fixed, or LPR + spread with a reset rule),
interest convention, schedule types, grace period, an upfront fee, the arrears settings
(penalty multiplier, grace days, compounding) and a pledge-rate cap. A loan opened from a
product gets the product's terms copied (``pledge_loan_terms`` and ``pledge_lending_terms``)
with the product version; later product changes do not touch it. Loans without a product
keep the Chinese-practice defaults.

LPR fixings: the shipped history ``pledge/data/lpr.csv`` plus the administrator's table (a row
for the same date and tenor replaces the shipped one). LPR loans reprice on their reset dates
(:func:`reprice_due`, run by the daily job and ``POST /loans/{id}/reprice``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import Conflict, FieldError, NotFound
from api.identity.models import Organisation, User
from api.pledge.models import (
    Loan,
    LoanLendingTerms,
    LoanProduct,
    LoanProductVersion,
    LoanStatus,
    LprFixingRow,
    PledgeLoanTerms,
)
from api.pledge.products_schemas import LoanProductCreate, LoanProductUpdate, LprFixingCreate
from api.pledge.service import _bump_version, _save_lines, full_months, get_terms, lending_terms, load_account
from ipfin.money import round_half_even_fen
from pledge.lpr import LprFixing, default_fixings, lpr_on, lpr_rate_path, merge_fixings
from pledge.restructure import apply_rate_path
from pledge.schedule import ScheduleType

PRODUCT_TERMS = ("rate_kind", "fixed_rate", "lpr_tenor", "spread_bp", "reset_rule", "convention", "schedule_types",
                 "months_per_period", "grace_months", "upfront_fee_rate", "penalty_multiplier", "arrears_grace_days",
                 "arrears_grace_basis", "compound_interest", "max_pledge_rate")


def product_terms(p: LoanProduct) -> dict[str, Any]:
    return audit.snapshot({k: getattr(p, k) for k in PRODUCT_TERMS}) or {}


def get_product(session: Session, org: Organisation, product_id: int) -> LoanProduct:
    p = session.get(LoanProduct, product_id)
    if p is None or p.org_id != org.id:
        raise NotFound("loan product not found")
    return p


def list_products(session: Session, org: Organisation) -> list[LoanProduct]:
    return list(session.exec(select(LoanProduct).where(LoanProduct.org_id == org.id).order_by(col(LoanProduct.id))))


def create_product(session: Session, user: User, org: Organisation, body: LoanProductCreate) -> LoanProduct:
    if session.exec(select(LoanProduct.id).where(LoanProduct.org_id == org.id, LoanProduct.code == body.code)).first():
        raise Conflict(f"a product with code {body.code!r} exists; change it with PATCH")
    p = LoanProduct(org_id=org.id, created_by_user_id=user.id,  # type: ignore[arg-type]
                    **body.model_dump(mode="python", exclude={"schedule_types"}),
                    schedule_types=[str(t) for t in body.schedule_types])
    session.add(p)
    session.flush()
    session.add(LoanProductVersion(product_id=p.id, version=1, terms=product_terms(p)))  # type: ignore[arg-type]
    audit.record(session, user, "loan_product", p.id, "create", after=p)
    return p


def update_product(session: Session, user: User, org: Organisation, product_id: int, body: LoanProductUpdate
                   ) -> LoanProduct:
    """Change a product: a new version (loans opened earlier keep the version they copied)."""
    p = get_product(session, org, product_id)
    if body.expected_version != p.version:
        raise Conflict(f"product {p.id} is at version {p.version}, not {body.expected_version}; reload and retry")
    before = audit.snapshot(p)
    changes = body.model_dump(mode="python", exclude_unset=True, exclude={"expected_version"})
    if "schedule_types" in changes:
        changes["schedule_types"] = [str(t) for t in changes["schedule_types"]]
    try:  # the whole product must stay valid
        LoanProductCreate.model_validate({**{k: getattr(p, k) for k in ("code", "name", *PRODUCT_TERMS)}, **changes})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise FieldError(".".join(str(x) for x in err["loc"]) or "body", err["msg"]) from exc
    for k, v in changes.items():
        setattr(p, k, v)
    p.version += 1
    p.updated_at = datetime.now(UTC)
    session.add(p)
    session.add(LoanProductVersion(product_id=p.id, version=p.version, terms=product_terms(p)))  # type: ignore[arg-type]
    audit.record(session, user, "loan_product", p.id, "update", before=before, after=p)
    return p


def apply_product(session: Session, user: User, org: Organisation, loan: Loan, product_id: int,
                  schedule_type: ScheduleType | None) -> PledgeLoanTerms:
    """Copy the product's terms onto a draft loan (its version recorded)."""
    p = get_product(session, org, product_id)
    if not p.active:
        raise FieldError("product_id", f"product {p.code} is not active")
    if str(loan.status) != LoanStatus.draft.value:
        raise Conflict(f"a product can only be applied to a draft loan (it is {loan.status})")
    st = schedule_type.value if schedule_type is not None else p.schedule_types[0]
    if st not in p.schedule_types:
        raise FieldError("schedule_type", f"product {p.code} offers {p.schedule_types}, not {st}")
    term = full_months(loan.origination_date, loan.maturity_date)
    if term // p.months_per_period < 1 or p.grace_months >= (term // p.months_per_period) * p.months_per_period:
        raise FieldError("maturity_date", f"the {term}-month term does not fit product {p.code} "
                                          f"({p.months_per_period}-month periods, {p.grace_months} grace months)")
    terms = get_terms(session, loan)
    before = audit.snapshot(terms)
    terms.rate_kind, terms.schedule_type = p.rate_kind, st
    terms.months_per_period, terms.n_periods = p.months_per_period, term // p.months_per_period
    if p.rate_kind == "lpr_spread":
        try:  # priced at the LPR in force on origination; disbursement takes the LPR of its own date
            terms.lpr = lpr_on(loan.origination_date, p.lpr_tenor, fixings(session))
        except ValueError as exc:
            raise FieldError("origination_date", str(exc)) from exc
        terms.spread_bp = p.spread_bp
        rate = terms.lpr + Decimal(p.spread_bp) / 10_000
    else:
        terms.lpr, terms.spread_bp, rate = None, 0, Decimal(p.fixed_rate or 0)
    terms.fees_charged_fen = round_half_even_fen(Fraction(loan.amount_fen) * Fraction(p.upfront_fee_rate))
    lt = session.get(LoanLendingTerms, loan.id) or LoanLendingTerms(loan_id=loan.id)  # type: ignore[arg-type]
    for k in ("convention", "grace_months", "lpr_tenor", "reset_rule", "penalty_multiplier", "arrears_grace_days",
              "arrears_grace_basis", "compound_interest", "max_pledge_rate"):
        setattr(lt, k, getattr(p, k))
    lt.product_id, lt.product_version = p.id, p.version
    session.add_all([terms, lt])
    _bump_version(session, loan, loan.version, annual_rate=rate)
    audit.record(session, user, "loan", loan.id, "apply_product", before=before,
                 after={**(audit.snapshot(terms) or {}), "product_id": p.id, "product_version": p.version,
                        "product_terms": product_terms(p)})
    return terms


# ------------------------------------------------------------------ LPR


def fixings(session: Session) -> tuple[LprFixing, ...]:
    """The shipped LPR history with the administrator's additions and corrections."""
    rows = session.exec(select(LprFixingRow)).all()
    return merge_fixings(default_fixings(), (LprFixing(r.effective_date, r.tenor, Decimal(r.rate)) for r in rows))


def add_fixing(session: Session, user: User, body: LprFixingCreate) -> LprFixingRow:
    row = session.exec(select(LprFixingRow).where(LprFixingRow.effective_date == body.effective_date,
                                                  LprFixingRow.tenor == body.tenor)).first()
    before = audit.snapshot(row) if row else None
    shipped = {(f.effective_date, f.tenor): f.rate for f in default_fixings()}.get((body.effective_date, body.tenor))
    row = row or LprFixingRow(effective_date=body.effective_date, tenor=body.tenor, rate=body.rate)
    row.rate, row.note, row.created_by_user_id = body.rate, body.note, user.id
    session.add(row)
    session.flush()
    audit.record(session, user, "lpr_fixing", f"{body.effective_date.isoformat()}/{body.tenor}",
                 "correct" if (before or shipped is not None) else "add",
                 before=before or ({"rate": str(shipped)} if shipped is not None else None), after=row)
    return row


def reprice_due(session: Session, user: User | None, loan: Loan, as_of: date) -> int:
    """Apply the LPR + spread resets of an LPR loan falling after disbursement and on or before
    ``as_of`` (the rest of the schedule recomputed exactly); returns how many changed the rate."""
    terms = get_terms(session, loan)
    if str(terms.rate_kind) != "lpr_spread" or terms.disbursed_on is None:
        return 0
    account = load_account(session, loan, terms)
    assert account is not None
    lt = lending_terms(session, loan)
    try:
        path = lpr_rate_path(terms.disbursed_on, account.maturity, terms.spread_bp, lt.lpr_tenor,
                             lt.reset_rule, fixings(session))  # type: ignore[arg-type]
    except ValueError as exc:
        raise FieldError("on", str(exc)) from exc
    due = [(d, r) for d, r in path[1:] if d <= as_of and r != account.rate_on(d)]
    if not due:
        return 0
    try:
        new = apply_rate_path(account, due)
    except ValueError as exc:
        raise Conflict(f"loan {loan.id} cannot be repriced on {[d.isoformat() for d, _ in due]}: {exc}") from exc
    _save_lines(session, loan.id, new)  # type: ignore[arg-type]
    terms.lpr = due[-1][1] - Decimal(terms.spread_bp) / 10_000  # the LPR of the period now running
    session.add(terms)
    _bump_version(session, loan, loan.version, annual_rate=new.annual_rate)
    audit.record(session, user, "loan", loan.id, "reprice",
                 before={"annual_rate": str(account.annual_rate)},
                 after={"annual_rate": str(new.annual_rate), "resets": [[d.isoformat(), str(r)] for d, r in due],
                        "lpr_tenor": lt.lpr_tenor, "spread_bp": terms.spread_bp})
    return len(due)


def reprice_now(session: Session, user: User, org: Organisation, loan_id: int, on: date) -> int:
    from api.pledge.service import get_loan

    return reprice_due(session, user, get_loan(session, org, loan_id), on)
