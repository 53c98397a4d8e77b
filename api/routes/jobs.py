"""Plan jobs: state and progress; cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import JobId, RunnerDep, SessionDep, Staff
from api.errors import ConflictError, NotFoundError
from api.job_state import finish
from api.models import JobRow
from api.routes.responses import ERRORS, STATEFUL
from api.schemas import JobPublic, JobState

router = APIRouter(prefix="/jobs", tags=["jobs"])


def _get(session: Session, job_id: int) -> JobRow:
    job = session.get(JobRow, job_id)
    if job is None:
        raise NotFoundError("job_id", job_id, "job")
    return job


@router.get("", response_model=list[JobPublic], responses=ERRORS, summary="List jobs")
def list_jobs(
    session: SessionDep,
    caller: Staff,
    state: Annotated[JobState | None, Query(description="only jobs in this state")] = None,
) -> list[JobRow]:
    """Plan jobs, newest first."""
    query = select(JobRow).order_by(JobRow.id.desc()).limit(200)
    if state is not None:
        query = query.where(JobRow.state == state)
    return list(session.scalars(query))


@router.get("/{job_id}", response_model=JobPublic, responses=ERRORS, summary="Get a job")
def get_job(session: SessionDep, caller: Staff, job_id: JobId) -> JobRow:
    """State (queued, running, done, failed, cancelled, interrupted) and progress: the stage
    (network, assignment, routing, transfer, outputs) with ``done`` of ``total`` steps."""
    return _get(session, job_id)


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    responses=STATEFUL,
    summary="Cancel a job",
)
def cancel_job(session: SessionDep, runner: RunnerDep, caller: Staff, job_id: JobId) -> JobRow:
    """Cancel a queued or running job (its worker processes are stopped by the service process
    that runs it, whichever process is asked)."""
    job = _get(session, job_id)
    if job.state in ("done", "failed", "cancelled"):
        raise ConflictError("job_id", f"job {job_id} is already {job.state}")
    job.cancel_requested = True
    session.commit()
    # a job no worker runs ends here; a running one is stopped by the process that runs it
    finish(session, job_id, None, "cancelled", error="cancelled before it started")
    runner.wake()
    session.refresh(job)
    return job
