"""Stored state of plan jobs: claiming a job, finishing it (and its plan).

Used by the supervisor (`api.jobs`), the worker processes (`api.worker`) and the routes; it
imports neither of them. Every write of a worker is conditional on its attempt number, so a
stale worker cannot overwrite a newer attempt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Executable, select, update
from sqlalchemy.orm import Session

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

    ``attempt`` None finishes a job no worker runs (queued or interrupted: a cancel before it
    started). Returns False when the job is no longer the given attempt's (or no longer
    waiting) to finish.
    """
    query = update(JobRow).where(JobRow.id == job_id)
    if attempt is None:
        query = query.where(JobRow.state.in_(RUNNABLE))
    else:
        query = query.where(JobRow.state == "running", JobRow.attempts == attempt)
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


def claim(session: Session, owner: str) -> tuple[int, int] | None:
    """Claim the oldest runnable job for service process ``owner``: (job id, attempt), or None
    when there is none. Commits.

    The row is picked with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL: concurrent
    claimers skip each other's rows; SQLite serialises writers and ignores the clause) and taken
    with a conditional UPDATE whose row count must be 1, so of concurrent claimers in any
    number of processes exactly one gets each job.
    """
    picked = session.execute(
        select(JobRow.id, JobRow.attempts, JobRow.plan_id)
        .where(JobRow.state.in_(RUNNABLE), JobRow.cancel_requested.is_(False))
        .order_by(JobRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if picked is None:
        session.rollback()
        return None
    job_id, attempts, plan_id = picked
    now = utcnow()
    taken = rows_changed(
        session,
        update(JobRow)
        .where(
            JobRow.id == job_id,
            JobRow.state.in_(RUNNABLE),
            JobRow.attempts == attempts,
            JobRow.cancel_requested.is_(False),
        )
        .values(
            state="running",
            attempts=attempts + 1,
            owner=owner,
            pid=None,
            started_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False),
    )
    if taken != 1:
        session.rollback()
        return None
    session.execute(update(PlanRow).where(PlanRow.id == plan_id).values(status="running"))
    session.commit()
    return job_id, attempts + 1


def worker_log(settings: Settings, out_dir: str) -> Path:
    """The worker log of a plan (beside its output folder)."""
    return settings.data_dir / Path(out_dir).parent / "worker.log"
