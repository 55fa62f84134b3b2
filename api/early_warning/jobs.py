"""Background runs: a scoring run on a large book and the Monte Carlo stress test, with progress.

Each job opens its own session; a Monte Carlo run's row is created ``queued`` by the request (so
its id is known at once) and the job writes the result, or the failure, on it when done.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from api.audit import service as audit
from api.core.db import get_engine, utcnow
from api.early_warning import service, stress
from api.early_warning.models import StressKind, StressRun, StressStatus
from api.identity.models import Organisation, User
from api.jobs.service import ProgressFn, submit
from api.pledge.service import today
from pledge.stress import ShockFactorModel


def submit_scoring(user: User, org: Organisation, data_cut: date | None, alert_pd: float) -> str:
    """Queue a scoring run; the job's result is ``{"run_id": ...}``."""
    user_id, org_id = user.id, org.id

    def work(progress: ProgressFn) -> dict[str, Any]:
        with Session(get_engine()) as s:
            u, o = s.get(User, user_id), s.get(Organisation, org_id)
            assert u is not None and o is not None
            progress(0.1)
            run = service.create_run(s, u, o, data_cut, alert_pd)
            s.commit()
            return {"run_id": run.id, "n_loans": run.n_loans, "n_alerts": run.n_alerts}

    job_id, _ = submit("early_warning_run", work, user)
    return job_id


def submit_monte_carlo(session: Session, user: User, org: Organisation, body: Any) -> StressRun:
    """Store a queued Monte Carlo run (with its audit event) and queue the job that fills it in; returns
    the run as it was accepted (status ``queued``, with its job id), whatever the job has done since."""
    mc = body.monte_carlo
    try:
        model = ShockFactorModel(systematic_loading=mc.systematic_loading, ip_type_loading=mc.ip_type_loading,
                                 industry_loading=mc.industry_loading, mean_change=mc.mean_change)
    except ValueError as exc:
        from api.core.errors import FieldError

        raise FieldError("monte_carlo", str(exc)) from exc
    cut = body.data_cut or today()
    book = stress.collateral_book(session, org, cut)  # read now: bad input fails the request, not the job
    _, params = stress.scenarios()
    recovery = body.recovery_rate if body.recovery_rate is not None else params.recovery_rate.value
    row = StressRun(org_id=org.id, kind=StressKind.monte_carlo.value, scenario="monte_carlo",  # type: ignore[arg-type]
                    status=StressStatus.queued.value, data_cut=cut, request=body.model_dump(mode="json"),
                    created_by_user_id=user.id)
    session.add(row)
    session.flush()
    audit.record(session, user, "stress_run", row.id, "create", after={"kind": row.kind, "paths": mc.paths,
                                                                        "seed": mc.seed, "n_loans": book.n})
    session.commit()
    run_id = int(row.id)  # type: ignore[arg-type]

    def work(progress: ProgressFn) -> dict[str, Any]:
        try:
            result = stress.mc_result(book, model, mc.paths, mc.seed, Decimal(recovery), progress)
        except Exception as exc:
            _finish(run_id, StressStatus.failed, error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        _finish(run_id, StressStatus.succeeded, result=result)
        return {"stress_run_id": run_id}

    job_id, _ = submit("stress_monte_carlo", work, user)
    with Session(get_engine()) as s:
        r = s.get(StressRun, run_id)
        if r is not None and r.job_id is None:
            r.job_id = job_id
            s.add(r)
            s.commit()
    # the run as accepted (queued): the job may already have finished it, which a poll then shows
    session.expunge(row)
    row.job_id = job_id
    return row


def _finish(run_id: int, status: StressStatus, **fields: Any) -> None:
    with Session(get_engine()) as s:
        r = s.get(StressRun, run_id)
        if r is None:
            return
        r.status = status.value
        r.finished_at = utcnow()
        for k, v in fields.items():
            setattr(r, k, v)
        s.add(r)
        s.commit()
