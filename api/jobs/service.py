"""Background jobs for long computations, so the event loop never blocks.

``submit(kind, fn, user)`` stores a ``job`` row and runs ``fn(report_progress)`` on a worker
thread; ``fn`` returns a JSON-able dict stored as the result. Progress and outcome are kept
in the database, so any API process can answer ``GET /api/v1/jobs/{id}``. Progress is written in a
short transaction of its own; a job that writes must commit in bounded chunks and report progress
between them (see ``api.pledge.jobs``), so it never waits on its own open transaction. Jobs are not
resumed after a server restart (a job left ``running`` by a dead process stays so and its
caller resubmits).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from api.core.db import get_engine, utcnow
from api.identity.models import User
from api.jobs.models import Job, JobStatus

log = logging.getLogger("ipfin.jobs")


_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ipfin-job")


ProgressFn = Callable[[float], None]


def _update(job_id: str, *, best_effort: bool = False, **fields: Any) -> None:
    """Write ``fields`` on the job row in a short transaction of its own.

    Progress is ``best_effort``: if the database is busy (SQLite's write lock held elsewhere) the
    update is skipped, never waited on for long and never fatal to the job. Status changes retry.
    """
    for attempt in range(1 if best_effort else 5):
        try:
            with Session(get_engine()) as s:
                job = s.get(Job, job_id)
                if job is None:
                    return
                for k, v in fields.items():
                    setattr(job, k, v)
                s.add(job)
                s.commit()
            return
        except OperationalError:
            if best_effort:
                log.info("job %s: progress not recorded (database busy)", job_id)
                return
            time.sleep(0.2 * (attempt + 1))
    log.error("job %s: could not record %s", job_id, sorted(fields))


def submit(kind: str, fn: Callable[[ProgressFn], dict[str, Any]], user: User) -> tuple[str, Future[None]]:
    """Queue ``fn``; returns the job id and a future that completes when the job ends."""
    job_id = str(uuid.uuid4())
    with Session(get_engine()) as s:
        s.add(Job(id=job_id, kind=kind, created_by_user_id=user.id, organisation_id=user.organisation_id))
        s.commit()

    last = {"p": -1.0}

    def progress(p: float) -> None:
        p = min(max(float(p), 0.0), 1.0)
        if p - last["p"] >= 0.05 or p >= 1.0:  # at most ~20 writes per job
            last["p"] = p
            _update(job_id, best_effort=True, progress=p)

    def run() -> None:
        _update(job_id, status=JobStatus.running)
        try:
            result = fn(progress)
        except Exception as exc:  # the job's failure is data for its caller, not a crash of the server
            log.exception("job %s failed", job_id)
            _update(job_id, status=JobStatus.failed, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=utcnow())
            return
        _update(job_id, status=JobStatus.succeeded, progress=1.0, result=result, finished_at=utcnow())

    return job_id, _pool.submit(run)
