"""Glue between the valuation API and the pure ``valuation`` package: store requests and
results, run large Monte Carlo jobs in the background with progress, enforce tenancy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.db import get_engine, utcnow
from api.core.errors import FieldError, NotFound
from api.identity.models import Organisation, OrgKind, User
from api.pledge.service import get_ip_asset
from api.transactions.service import register_for_valuation
from api.valuation.models import Valuation, ValuationStatus
from api.valuation.schemas import ValuationCreate
from ipfin.money import fen_to_cny
from valuation.engine import value_asset
from valuation.request import TransactionIn, ValuationRequest
from valuation.result import ValuationResult

T = TypeVar("T")


R = TypeVar("R")


SYNC_MAX_PATHS = 200_000


"""Runs with more Monte Carlo paths than this are queued as background jobs (202); those jobs use
the Dask scheduler when ``settings.dask_scheduler`` is set, small runs stay in-process."""


class ProgressExecutor:
    """Runs Monte Carlo chunks and reports the fraction done after each: in this thread, or on
    the Dask scheduler at ``dask_address`` (``IPFIN_DASK_SCHEDULER``) when one is configured.
    Chunks carry their own seeds, so both give bit-identical results."""

    def __init__(self, progress: Callable[[float], None], start: float = 0.05,
                 dask_address: str | None = None) -> None:
        self.progress = progress
        self.start = start
        self.dask_address = dask_address

    def _done(self, i: int, n: int) -> None:
        self.progress(self.start + (0.95 - self.start) * i / n)

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        if self.dask_address:
            from distributed import Client, as_completed

            with Client(self.dask_address) as client:
                futures = client.map(fn, list(tasks), pure=False)
                for i, _ in enumerate(as_completed(futures), start=1):
                    self._done(i, len(futures))
                return list(client.gather(futures))
        out = []
        for i, t in enumerate(tasks, start=1):
            out.append(fn(t))
            self._done(i, len(tasks))
        return out


def domain_request(body: ValuationCreate, session: Session | None = None) -> ValuationRequest:
    """The pure request of ``body``, its market comparables filled from the IP transaction register
    when it asks for them (see :func:`with_register`)."""
    req = _as_request(body)
    return with_register(req, session) if wants_register(body) else req


def _as_request(body: ValuationCreate) -> ValuationRequest:
    return ValuationRequest.model_validate(body.model_dump(exclude={"ip_asset_id"}))


def wants_register(body: ValuationRequest) -> bool:
    """A market approach with a ``search`` given (as posted) and no transactions inline asks for the register."""
    m = body.market
    return m is not None and not m.transactions and "search" in m.model_fields_set


def with_register(req: ValuationRequest, session: Session | None = None) -> ValuationRequest:
    """``req`` with ``market.transactions`` = the register's rows of the subject's IP type traded on or
    before the valuation date (ids = register ids, so ``search.include_ids``/``exclude_ids`` name them),
    (the caller checks :func:`wants_register` on the request as posted); the engine then searches them
    and its result lists every one, used or not, with the reason. Reads the shared register (every
    organisation's rows: market facts) on ``session``, or a read-only session of its own."""
    if session is None:
        with Session(get_engine()) as own:
            return with_register(req, own)
    assert req.market is not None
    register, _skipped = register_for_valuation(session, req.asset.ip_type.value, req.valuation_date)
    if not register and not req.market.comparables:
        raise FieldError("market.search", f"market.search: the IP transaction register holds no usable "
                         f"{req.asset.ip_type.value} transaction on or before {req.valuation_date}; type "
                         "comparables by hand (market.comparables) or give market.transactions")
    rows = []
    for t in register:
        try:
            rows.append(TransactionIn(
                id=t.id, kind=t.kind, price_cny=fen_to_cny(t.price_fen), date=t.date, ip_type=t.ip_type,
                ipc_or_nice_class=t.ipc_or_nice_class, industry=t.industry, region_code=t.region_code,
                pricing_method=t.pricing_method, trading_mode=t.trading_mode,
                remaining_life_years=t.remaining_life_years, quality_score=t.quality_score))
        except ValidationError:  # a row outside what a request takes (e.g. life above 100 years): not comparable
            continue
    return req.model_copy(update={"market": req.market.model_copy(update={"transactions": rows})})


def _field_of(msg: str) -> str:
    head = msg.split(":", 1)[0].strip()
    return head if head and all(p.isidentifier() for p in head.split(".")) else "body"


def run(req: ValuationRequest, executor: Any = None) -> ValuationResult:
    """value_asset with domain ValueErrors turned into FieldError."""
    try:
        return value_asset(req, executor=executor)
    except ValueError as exc:
        raise FieldError(_field_of(str(exc)), str(exc)) from exc


def preflight(req: ValuationRequest) -> None:
    """Everything but the Monte Carlo, to reject bad input before a job is queued."""
    run(req.model_copy(update={"monte_carlo": req.monte_carlo.model_copy(update={"enabled": False})}))


def check_asset_link(session: Session, org: Organisation, body: ValuationCreate) -> None:
    if body.ip_asset_id is None:
        return
    stored = get_ip_asset(session, org, body.ip_asset_id)  # 404 if not visible
    if str(stored.ip_type) != body.asset.ip_type.value:
        raise FieldError("asset.ip_type", f"asset.ip_type: stored asset {stored.id} is a {stored.ip_type}")
    if stored.identifier != body.asset.identifier and str(stored.ip_type) in (
        "invention_patent", "utility_model", "design"
    ):
        from ipfin.validation import check_patent_number

        if check_patent_number(body.asset.identifier) != stored.identifier:
            raise FieldError("asset.identifier", f"asset.identifier: stored asset {stored.id} is {stored.identifier}")


def _apply_result(row: Valuation, result: ValuationResult) -> None:
    row.status = str(ValuationStatus.succeeded)
    row.result = result.model_dump(mode="json")
    row.appraised_value_fen = result.appraised_value_fen
    row.appraised_low_fen = result.appraised_low_fen
    row.appraised_high_fen = result.appraised_high_fen
    row.mc_mean_fen = result.monte_carlo.mean_fen if result.monte_carlo else None
    row.mc_p5_fen = result.monte_carlo.p5_fen if result.monte_carlo else None
    row.finished_at = utcnow()


def create_valuation(
    session: Session, user: User, body: ValuationCreate, *, result: ValuationResult | None, job_id: str | None = None
) -> Valuation:
    """Store a finished valuation, or a queued one that the job ``job_id`` will complete."""
    req = _as_request(body)
    row = Valuation(
        owner_org_id=user.organisation_id, ip_asset_id=body.ip_asset_id, identifier=req.asset.identifier,
        ip_type=req.asset.ip_type.value, valuation_date=req.valuation_date, status=str(ValuationStatus.queued),
        job_id=job_id, n_paths=req.monte_carlo.paths, seed=req.monte_carlo.seed,
        request=body.model_dump(mode="json"), created_by_user_id=user.id,
    )
    if result is not None:
        _apply_result(row, result)
    session.add(row)
    session.flush()
    audit.record(session, user, "valuation", row.id, "create",
                 after={"identifier": row.identifier, "status": row.status, "job_id": job_id,
                        "appraised_value_fen": row.appraised_value_fen})
    return row


@dataclass(frozen=True)
class JobActor:
    """The requesting user as plain ids, safe to use on the job thread after the request ended."""

    id: int
    organisation_id: int


def complete_valuation(engine: Any, valuation_id: int, actor: JobActor, req: ValuationRequest,
                       progress: Callable[[float], None], dask_address: str | None = None) -> dict[str, Any]:
    """Background job body: run the valuation (on Dask when ``dask_address`` is given) and store
    it on the row (its own transaction)."""
    user = cast(User, actor)  # audit.record reads .id and .organisation_id only
    try:
        result = run(req, executor=ProgressExecutor(progress, dask_address=dask_address))
    except Exception as exc:
        with Session(engine) as s:
            row = s.get(Valuation, valuation_id)
            if row is not None:
                row.status, row.error, row.finished_at = str(ValuationStatus.failed), str(exc)[:2000], utcnow()
                s.add(row)
                audit.record(s, user, "valuation", valuation_id, "fail", after={"error": row.error})
                s.commit()
        raise
    with Session(engine) as s:
        row = s.get(Valuation, valuation_id)
        if row is None:
            raise NotFound("valuation not found")
        _apply_result(row, result)
        s.add(row)
        audit.record(s, user, "valuation", valuation_id, "complete",
                     after={"status": row.status, "appraised_value_fen": row.appraised_value_fen})
        s.commit()
    return {"valuation_id": valuation_id, "appraised_value_fen": result.appraised_value_fen}


def get_valuation(session: Session, org: Organisation, valuation_id: int) -> Valuation:
    row = session.get(Valuation, valuation_id)
    if row is None or (org.kind != OrgKind.admin and row.owner_org_id != org.id):
        raise NotFound("valuation not found")
    return row


def list_valuations(
    session: Session, org: Organisation, *, ip_asset_id: int | None = None, offset: int = 0, limit: int = 100
) -> tuple[int, list[Valuation]]:
    conds = [] if org.kind == OrgKind.admin else [Valuation.owner_org_id == org.id]
    if ip_asset_id is not None:
        conds.append(Valuation.ip_asset_id == ip_asset_id)
    total = session.exec(select(func.count()).select_from(Valuation).where(*conds)).one()
    rows = session.exec(select(Valuation).where(*conds).order_by(col(Valuation.id)).offset(offset).limit(limit)).all()
    return int(total), list(rows)
