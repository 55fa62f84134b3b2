"""Securitisation persistence and glue to the pure ``securitization`` package.

Every write adds its audit event to the request session; the route commits once. Pools,
deals and runs belong to the organisation that made them: another organisation's object is
reported as not found.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, BinaryIO

from sqlmodel import Session, col, func, select

from api.audit import service as audit
from api.core.db import get_engine
from api.core.errors import FieldError, NotFound
from api.core.tenancy import loan_visibility
from api.identity.models import Organisation, OrgKind, User
from api.pledge.io import xlsx_rows
from api.pledge.models import Loan
from api.securitization.models import AbsDeal, AbsPool, AbsRun, PoolSource, RunStatus
from api.securitization.schemas import DealCreate, PoolAssumptions, PoolCreate, RunCreate
from securitization.deal import Deal, check_pricing, deal_from_dict, pool_from_dict, pool_to_dict, run_deal
from securitization.pool import MAX_POOL_ASSETS, PledgeLoan, Pool, PoolImport, RowError, parse_loan_rows

SYNC_MC_LIMIT = 2_000_000


"""Monte Carlo runs with paths × assets × stresses above this go to a background job."""


SYNC_DETERMINISTIC_LIMIT = 30_000


"""Deterministic runs with assets × scenarios above this go to a background job (≈ 2-3 s of projection)."""


def _visible(org: Organisation, owner_org_id: int) -> bool:
    return org.kind == OrgKind.admin or owner_org_id == org.id


def _months(a: date, b: date) -> int:
    return max(0, (b.year - a.year) * 12 + (b.month - a.month) - (1 if b.day < a.day else 0))


def _loan_to_asset(loan: Loan, a: PoolAssumptions) -> PledgeLoan:
    age = _months(loan.origination_date, a.as_of) if a.as_of else 0
    age = min(age, loan.term_months - 1)
    return PledgeLoan(
        loan_id=loan.reference, borrower=str(loan.borrower_id), balance_fen=int(loan.outstanding_fen),
        annual_rate=float(loan.annual_rate), term_months=int(loan.term_months), annual_pd=a.annual_pd,
        recovery_rate=a.recovery_rate, recovery_lag_months=a.recovery_lag_months, industry=loan.industry,
        region=loan.region_code, ip_type=str(loan.primary_ip_type), schedule=a.schedule, age_months=age,
    )


def _store_pool(session: Session, user: User, pool: Pool, source: PoolSource) -> AbsPool:
    row = AbsPool(
        name=pool.name, owner_org_id=user.organisation_id, source=str(source), balance_fen=pool.balance_fen,
        n_assets=pool.n_assets, definition=pool_to_dict(pool), created_by_user_id=user.id,
    )
    session.add(row)
    session.flush()
    audit.record(session, user, "abs_pool", row.id, "create",
                 after={"name": row.name, "source": row.source, "balance_fen": row.balance_fen,
                        "n_assets": row.n_assets})
    return row


def create_pool(session: Session, user: User, org: Organisation, body: PoolCreate) -> AbsPool:
    """A pool from stored loans (by id or filter, with credit assumptions) or from inline assets."""
    if body.assets is not None:
        try:
            pool = pool_from_dict({**body.assets, "name": body.name})
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise FieldError("assets", f"assets: {exc}") from exc
        return _store_pool(session, user, pool, PoolSource.inline)
    conds = [loan_visibility(org), col(Loan.outstanding_fen) > 0]
    if body.loan_ids is not None:
        ids = list(dict.fromkeys(body.loan_ids))
        if not ids:
            raise FieldError("loan_ids", "loan_ids: at least one loan is needed")
        rows = session.exec(select(Loan).where(col(Loan.id).in_(ids), *conds)).all()
        missing = sorted(set(ids) - {r.id for r in rows})
        if missing:
            raise NotFound(f"loan_ids: loans {missing} not found or without outstanding principal")
    else:
        f = body.filter
        assert f is not None
        conds.append(col(Loan.status).in_([str(s) for s in f.statuses]))
        if f.province_code:
            conds.append(Loan.province_code == f.province_code)  # type: ignore[arg-type]
        if f.industry:
            conds.append(Loan.industry == f.industry)  # type: ignore[arg-type]
        if f.bank_org_id:
            conds.append(Loan.bank_org_id == f.bank_org_id)  # type: ignore[arg-type]
        rows = session.exec(select(Loan).where(*conds).order_by(col(Loan.id)).limit(f.limit)).all()
        if not rows:
            raise FieldError("filter", "filter: no visible loans with outstanding principal match")
    try:
        assets = tuple(_loan_to_asset(r, body.assumptions) for r in rows)
        pool = Pool(name=body.name, loans=assets)
    except ValueError as exc:
        raise FieldError("assumptions", str(exc)) from exc
    return _store_pool(session, user, pool, PoolSource.loans)


def create_pool_from_import(session: Session, user: User, name: str, imported: PoolImport) -> AbsPool:
    if not imported.loans:
        first: RowError | None = imported.errors[0] if imported.errors else None
        raise FieldError("file", f"file: no valid loan rows{f' (row {first.row}: {first.message})' if first else ''}")
    return _store_pool(session, user, imported.pool(name), PoolSource.upload)


MAX_TAPE_BYTES = 50 * 1024 * 1024
"""Largest loan tape read (50,000 rows of CSV are about 10 MB)."""


def _tape_rows(fname: str, content: bytes) -> Iterator[dict[str, Any]]:
    """Rows of a loan tape, one at a time; stops with a 422 on ``file`` past ``MAX_POOL_ASSETS`` rows."""
    if fname.lower().endswith(".xlsx"):
        it = xlsx_rows(content)
        header = [str(h).strip() if h is not None else "" for h in next(it, ())]
        yield from _capped(dict(zip(header, r, strict=False)) for r in it)
        return
    text = content.decode("utf-8-sig")
    yield from _capped(csv.DictReader(io.StringIO(text, newline="")))


def _capped(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for n, r in enumerate(rows, start=1):
        if n > MAX_POOL_ASSETS:
            raise TapeTooLong(f"file: more than {MAX_POOL_ASSETS} rows; at most {MAX_POOL_ASSETS} loans per pool")
        yield r


class TapeTooLong(Exception):
    """A loan tape beyond the pool limit (not a ``ValueError``, so no row parser swallows it)."""


def read_loan_tape(fname: str, stream: BinaryIO) -> tuple[PoolImport, str]:
    """Parse an uploaded loan tape (CSV or .xlsx) streaming, with its sha256; unreadable → 422 on ``file``."""
    chunks, size = [], 0
    while chunk := stream.read(1 << 16):
        size += len(chunk)
        if size > MAX_TAPE_BYTES:
            raise FieldError("file", f"file: larger than {MAX_TAPE_BYTES // (1024 * 1024)} MB")
        chunks.append(chunk)
    content = b"".join(chunks)
    try:
        imported = parse_loan_rows(_tape_rows(fname, content))
    except TapeTooLong as exc:
        raise FieldError("file", str(exc)) from exc
    except Exception as exc:  # csv.Error, UnicodeDecodeError and the many kinds openpyxl raises for a bad file
        raise FieldError("file", f"file: cannot read the loan tape ({exc})") from exc
    return imported, hashlib.sha256(content).hexdigest()


def get_pool(session: Session, org: Organisation, pool_id: int) -> AbsPool:
    row = session.get(AbsPool, pool_id)
    if row is None or not _visible(org, row.owner_org_id):
        raise NotFound("pool not found")
    return row


def pool_domain(row: AbsPool) -> Pool:
    return pool_from_dict(row.definition)


def list_pools(session: Session, org: Organisation, offset: int, limit: int) -> tuple[int, list[AbsPool]]:
    cond = True if org.kind == OrgKind.admin else AbsPool.owner_org_id == org.id
    total = session.exec(select(func.count()).select_from(AbsPool).where(cond)).one()
    rows = session.exec(select(AbsPool).where(cond).order_by(col(AbsPool.id)).offset(offset).limit(limit)).all()
    return int(total), list(rows)


def build_deal(structure: dict[str, Any], pool_row: AbsPool) -> Deal:
    """Validate the structure against the pool with the pure package; errors name the field."""
    if "pool" in structure:
        raise FieldError("structure", "structure.pool: give pool_id instead of an inline pool")
    try:
        return deal_from_dict({**structure, "pool": pool_row.definition})
    except (ValueError, TypeError, KeyError) as exc:
        msg = str(exc)
        head = msg.split(":", 1)[0].strip() or "structure"
        raise FieldError(f"structure.{head}" if " " not in head else "structure", msg) from exc


def create_deal(session: Session, user: User, org: Organisation, body: DealCreate) -> AbsDeal:
    pool_row = get_pool(session, org, body.pool_id)
    deal = build_deal(body.structure, pool_row)
    row = AbsDeal(name=deal.name, owner_org_id=user.organisation_id, pool_id=pool_row.id,  # type: ignore[arg-type]
                  structure=dict(body.structure), created_by_user_id=user.id)
    session.add(row)
    session.flush()
    audit.record(session, user, "abs_deal", row.id, "create", after={"name": row.name, "pool_id": row.pool_id})
    return row


def get_deal(session: Session, org: Organisation, deal_id: int) -> AbsDeal:
    row = session.get(AbsDeal, deal_id)
    if row is None or not _visible(org, row.owner_org_id):
        raise NotFound("deal not found")
    return row


def list_deals(session: Session, org: Organisation, offset: int, limit: int) -> tuple[int, list[AbsDeal]]:
    cond = True if org.kind == OrgKind.admin else AbsDeal.owner_org_id == org.id
    total = session.exec(select(func.count()).select_from(AbsDeal).where(cond)).one()
    rows = session.exec(select(AbsDeal).where(cond).order_by(col(AbsDeal.id)).offset(offset).limit(limit)).all()
    return int(total), list(rows)


def run_is_large(deal: Deal, body: RunCreate) -> bool:
    """Whether the run goes to a background job instead of being computed in the request."""
    if body.mode == "monte_carlo":
        return body.n_paths * deal.pool.n_assets * len(body.stresses) > SYNC_MC_LIMIT
    return deal.pool.n_assets * len(deal.scenarios) > SYNC_DETERMINISTIC_LIMIT


def run_pricing(deal: Deal, body: RunCreate) -> dict[str, dict[str, float]] | None:
    """The run's pricing request in the domain's form, checked against the deal's tranches (422 ``pricing``)."""
    if not body.pricing:
        return None
    pricing = {name: p.model_dump(exclude_none=True) for name, p in body.pricing.items()}
    try:
        check_pricing(deal, pricing)
    except ValueError as exc:
        raise FieldError("pricing", str(exc)) from exc
    return pricing


def compute_run(deal: Deal, body: RunCreate, progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    return run_deal(deal, body.mode, n_paths=body.n_paths, seed=body.seed, stresses=tuple(body.stresses),
                    include_periods=body.include_periods, progress=progress,
                    pricing=run_pricing(deal, body)).to_dict()


def create_run(session: Session, user: User, deal_row: AbsDeal, body: RunCreate, *,
               result: dict[str, Any] | None, job_id: str | None) -> AbsRun:
    row = AbsRun(
        deal_id=deal_row.id,  # type: ignore[arg-type]
        mode=body.mode, status=str(RunStatus.succeeded if result is not None else RunStatus.queued),
        params=body.model_dump(), job_id=job_id, result=result, created_by_user_id=user.id,
    )
    session.add(row)
    session.flush()
    audit.record(session, user, "abs_run", row.id, "create",
                 after={"deal_id": row.deal_id, "mode": row.mode, "status": row.status, "job_id": job_id})
    return row


def list_runs(session: Session, org: Organisation, deal_id: int, offset: int, limit: int) -> tuple[int, list[AbsRun]]:
    """Runs of one visible deal, oldest first."""
    get_deal(session, org, deal_id)
    cond = AbsRun.deal_id == deal_id
    total = session.exec(select(func.count()).select_from(AbsRun).where(cond)).one()
    rows = session.exec(select(AbsRun).where(cond).order_by(col(AbsRun.id)).offset(offset).limit(limit)).all()
    return int(total), list(rows)


def store_run_result(run_id: int, result: dict[str, Any]) -> None:
    """Write a background run's result onto its run row (own transaction, from the job's worker thread), so
    the row — and everything reading ``abs_run`` directly, like the dashboard — shows it as succeeded."""
    with Session(get_engine()) as s:
        row = s.get(AbsRun, run_id)
        if row is None:
            return
        row.status = str(RunStatus.succeeded)
        row.result = result
        s.add(row)
        s.commit()


def get_run(session: Session, org: Organisation, deal_id: int, run_id: int) -> AbsRun:
    get_deal(session, org, deal_id)
    row = session.get(AbsRun, run_id)
    if row is None or row.deal_id != deal_id:
        raise NotFound("run not found")
    return row
