"""Plan jobs in worker processes, supervised by a background thread of the service.

The supervisor claims queued (or interrupted) jobs, starts one worker process per job (never
in the event loop), and watches them: a worker that exits without finishing its job marks the
job failed with the reason (e.g. killed by SIGKILL); a cancelled job's process group is killed.
At startup, jobs left ``running`` by a previous service are marked ``interrupted`` and run again.
Every write of a worker is conditional on its attempt number, so a stale worker cannot
overwrite a newer attempt. Workers exit by themselves when the service process is gone.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.models import IncidentRow, JobRow, PlanRow, utcnow
from api.settings import Settings

logger = logging.getLogger(__name__)

RUNNABLE = ("queued", "interrupted")
PROGRESS_EVERY_S = 0.5


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
    result = session.execute(
        query.values(
            state=state,
            error=error,
            problems=problems or [],
            finished_at=now,
            updated_at=now,
            pid=None,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    job = session.get(JobRow, job_id)
    assert job is not None
    plan = session.get(PlanRow, job.plan_id)
    assert plan is not None
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


@dataclass
class _Running:
    process: BaseProcess
    attempt: int


class JobRunner:
    """Starts and watches worker processes (``settings.workers`` at a time)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self._running: dict[int, _Running] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        methods = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context(
            "forkserver" if "forkserver" in methods else "spawn"
        )
        if "forkserver" in methods:
            self._context.set_forkserver_preload(["api.worker"])

    def start(self) -> None:
        """Recover interrupted jobs and start the supervisor thread."""
        count = recover(self.sessions)
        if count:
            logger.warning("%d job(s) were running at the last stop; re-queued", count)
        if self.settings.workers > 0:
            self._thread = threading.Thread(target=self._loop, name="job-supervisor", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Look for work now (a job was queued or cancelled)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the supervisor; running workers are killed and their jobs interrupted."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for job_id, running in list(self._running.items()):
            _kill_group(running.process)
            running.process.join(timeout=5)
            self._running.pop(job_id, None)
        recover(self.sessions)

    @property
    def running_pids(self) -> dict[int, int]:
        """Job id → worker pid."""
        return {j: r.process.pid for j, r in self._running.items() if r.process.pid}

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._tick()
            self._wake.wait(self.settings.poll_s)
            self._wake.clear()

    def _tick(self) -> None:
        with self.sessions() as session:
            self._reap(session)
            self._cancel(session)
            while len(self._running) < self.settings.workers and not self._stop.is_set():
                if not self._launch(session):
                    break

    def _reap(self, session: Session) -> None:
        for job_id, running in list(self._running.items()):
            code = running.process.exitcode
            if code is None:
                continue
            running.process.join()
            self._running.pop(job_id)
            job = session.get(JobRow, job_id)
            session.refresh(job)
            if job is None or job.state != "running" or job.attempts != running.attempt:
                continue
            if job.cancel_requested:
                finish(session, job_id, running.attempt, "cancelled", error="cancelled")
                continue
            reason = _exit_reason(code, self.settings, job.plan_id, session)
            logger.warning("job %d: %s", job_id, reason)
            finish(session, job_id, running.attempt, "failed", error=reason)

    def _cancel(self, session: Session) -> None:
        wanted = set(
            session.scalars(
                select(JobRow.id).where(JobRow.cancel_requested, JobRow.state == "running")
            )
        )
        for job_id in wanted & set(self._running):
            _kill_group(self._running[job_id].process)

    def _launch(self, session: Session) -> bool:
        job = session.scalars(
            select(JobRow)
            .where(JobRow.state.in_(RUNNABLE), JobRow.cancel_requested.is_(False))
            .order_by(JobRow.id)
        ).first()
        if job is None:
            return False
        attempt = job.attempts + 1
        now = utcnow()
        claimed = session.execute(
            update(JobRow)
            .where(JobRow.id == job.id, JobRow.state.in_(RUNNABLE))
            .values(state="running", attempts=attempt, started_at=now, updated_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return True
        plan = session.get(PlanRow, job.plan_id)
        assert plan is not None
        plan.status = "running"
        session.commit()
        from api.worker import run_job

        process = self._context.Process(
            target=run_job,
            args=(self.settings.url, str(self.settings.data_dir), job.id, attempt, os.getpid()),
            name=f"plan-job-{job.id}",
        )
        process.start()
        self._running[job.id] = _Running(process, attempt)
        session.execute(
            update(JobRow)
            .where(JobRow.id == job.id, JobRow.attempts == attempt)
            .values(pid=process.pid)
        )
        session.commit()
        return True


def _kill_group(process: BaseProcess) -> None:
    """Kill a worker and the solver processes it started (its own process group)."""
    if process.pid is None or process.exitcode is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)


def _exit_reason(code: int, settings: Settings, plan_id: int, session: Session) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        reason = f"worker process died: killed by {name}"
    else:
        reason = f"worker process exited with code {code} before finishing the job"
    plan = session.get(PlanRow, plan_id)
    if plan is not None:
        log = worker_log(settings, plan.out_dir)
        last = _last_line(log)
        if last:
            reason += f"; last log line: {last}"
    return reason


def worker_log(settings: Settings, out_dir: str) -> Path:
    """The worker log of a plan (beside its output folder)."""
    return settings.data_dir / Path(out_dir).parent / "worker.log"


def _last_line(path: Path) -> str:
    if not path.is_file():
        return ""
    lines = [x for x in path.read_text(encoding="utf-8", errors="replace").splitlines() if x]
    return lines[-1][:500] if lines else ""


def wait_for(
    sessions: sessionmaker[Session], job_id: int, states: tuple[str, ...], timeout_s: float
) -> JobRow:
    """Poll a job until it reaches one of ``states`` (tests and scripts)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with sessions() as session:
            job = session.get(JobRow, job_id)
            assert job is not None
            if job.state in states or time.monotonic() > deadline:
                return job
        time.sleep(0.1)
