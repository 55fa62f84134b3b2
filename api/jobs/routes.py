from fastapi import APIRouter

from api.core.deps import CurrentOrg, SessionDep
from api.core.errors import NotFound
from api.identity.models import OrgKind
from api.jobs.models import Job
from api.jobs.schemas import JobPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobPublic)
def read_job(session: SessionDep, org: CurrentOrg, job_id: str) -> Job:
    """Status, progress (0..1) and, when done, the result of a background job of your organisation."""
    job = session.get(Job, job_id)
    if job is None or (org.kind != OrgKind.admin and job.organisation_id != org.id):
        raise NotFound("job not found")
    return job
