"""Plan jobs in worker processes, supervised by a background thread of the service.

The supervisor claims queued (or interrupted) jobs, starts one worker process per job (never
in the event loop), and watches them: a worker that exits without finishing its job marks the
job failed with the reason (e.g. killed by SIGKILL); a cancelled job's process group is killed,
and so is what a dead worker left in its group. At startup, jobs left ``running`` by a previous
service are marked ``interrupted`` and run again. Workers kill their process group when the
service process is gone (nothing outlives a kill -9 of the service). The stored job states (finish,
recover) live in `api.job_state`; the worker process itself in `api.worker`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.job_state import RUNNABLE, finish, recover, rows_changed, stored, worker_log
from api.models import JobRow, PlanRow, utcnow
from api.settings import Settings

logger = logging.getLogger(__name__)


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
        if "forkserver" in multiprocessing.get_all_start_methods():
            forkserver = multiprocessing.get_context("forkserver")
            forkserver.set_forkserver_preload(["api.worker"])
            self._context: ForkServerContext | SpawnContext = forkserver
        else:
            self._context = multiprocessing.get_context("spawn")

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
            _kill_leftovers(running.process)
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
        claimed = rows_changed(
            session,
            update(JobRow)
            .where(JobRow.id == job.id, JobRow.state.in_(RUNNABLE))
            .values(state="running", attempts=attempt, started_at=now, updated_at=now),
        )
        if claimed != 1:
            session.rollback()
            return True
        stored(session, PlanRow, job.plan_id).status = "running"
        session.commit()
        # imported here, not at the top: the worker's plotting and file-writing stack
        # (matplotlib, openpyxl, the solvers) stays out of the service process
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


def _kill_leftovers(process: BaseProcess) -> None:
    """Kill what a finished worker left in its process group (solver pool processes, their
    forkserver), e.g. after the worker itself was killed with SIGKILL."""
    if process.pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


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


def _last_line(path: Path) -> str:
    if not path.is_file():
        return ""
    lines = [x for x in path.read_text(encoding="utf-8", errors="replace").splitlines() if x]
    return lines[-1][:500] if lines else ""
