"""Stored state of plan jobs: finishing a job (and its plan), re-queueing interrupted jobs.

Used by the supervisor (`api.jobs`), the worker processes (`api.worker`) and the routes; it
imports neither of them. Every write of a worker is conditional on its attempt number, so a
stale worker cannot overwrite a newer attempt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Executable, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.models import Base, IncidentRow, JobRow, PlanRow, utcnow
from api.settings import Settings

RUNNABLE = ("queued", "interrupted")

RowT = TypeVar("RowT", bound=Base)


def stored(session: Session, model: type[RowT], ident: int) -> RowT:
    """The row ``ident`` of ``model``; a missing row is an internal error (rows are never deleted).

    Raises
    ------
    LookupError
        When there is no such row.
    """
    row = session.get(model, ident)
    if row is None:
        msg = f"{model.__tablename__} {ident} is not stored"
        raise LookupError(msg)
    return row


def rows_changed(session: Session, statement: Executable) -> int:
    """Execute an UPDATE and return how many rows it changed."""
    return cast("CursorResult[Any]", session.execute(statement)).rowcount


def finish(
    session: Session,
    job_id: int,
    attempt: int | None,
    state: str,
    *,
    error: str | None = None,
    problems: list[str] | None = None,
    county_kpis: dict | None = None,
) -> bool:
    """Set a job's final state (and its plan's); failed plans give their incidents back.

    Returns False when the job is no longer the given attempt's to finish.
    """
    query = update(JobRow).where(JobRow.id == job_id, JobRow.state.in_(("running", "queued")))
    if attempt is not None:
        query = query.where(JobRow.attempts == attempt)
    now = utcnow()
    changed = rows_changed(
        session,
        query.values(
            state=state,
            error=error,
            problems=problems or [],
            finished_at=now,
            updated_at=now,
            pid=None,
        ),
    )
    if changed != 1:
        session.rollback()
        return False
    plan = stored(session, PlanRow, stored(session, JobRow, job_id).plan_id)
    plan.status = state
    plan.error = error
    plan.problems = problems or []
    plan.finished_at = now
    if county_kpis is not None:
        plan.county_kpis = county_kpis
    if state != "done":
        for incident in session.scalars(select(IncidentRow).where(IncidentRow.plan_id == plan.id)):
            incident.status = "open"
            incident.plan_id = None
    session.commit()
    return True


def recover(sessions: sessionmaker[Session]) -> int:
    """Mark jobs left running by a stopped service as interrupted (they run again)."""
    with sessions() as session:
        jobs = list(session.scalars(select(JobRow).where(JobRow.state == "running")))
        for job in jobs:
            job.state = "interrupted"
            job.interruptions += 1
            job.pid = None
            job.error = "interrupted by a service restart; re-queued"
            job.updated_at = utcnow()
            plan = session.get(PlanRow, job.plan_id)
            if plan is not None:
                plan.status = "interrupted"
        session.commit()
        return len(jobs)


def worker_log(settings: Settings, out_dir: str) -> Path:
    """The worker log of a plan (beside its output folder)."""
    return settings.data_dir / Path(out_dir).parent / "worker.log"
