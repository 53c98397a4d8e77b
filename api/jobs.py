"""Plan jobs in worker processes, supervised by background threads of each service process.

Any number of service processes may share one database (`api.liveness`): each has an identity
and a heartbeat thread. The supervisor thread claims runnable jobs atomically
(`api.job_state.claim`), starts one worker process per job (never in the event loop), and
watches them: a worker that exits without finishing its job marks the job failed with the
reason (e.g. killed by SIGKILL); a cancelled job's process group is killed (the cancel may come
through any process: the flag is in the database), and so is what a dead worker left in its
group, and a worker whose job was re-queued by another process (this one was taken for dead).
The heartbeat thread renews this process's heartbeat and re-queues the running jobs of
processes that are gone; jobs this process runs are never touched by a newcomer while its
heartbeat is fresh. On a clean stop, this process's own running jobs are re-queued. Workers kill
their process group when the service process is gone (nothing outlives a kill -9 of the
service). The stored job states live in `api.job_state`; the worker process itself in
`api.worker`.
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
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.job_state import claim, finish, worker_log
from api.liveness import Identity, beat, register, requeue_dead, requeue_owned, unregister
from api.models import JobRow, PlanRow
from api.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class _Running:
    process: BaseProcess
    attempt: int


class JobRunner:
    """Starts and watches worker processes (``settings.workers`` at a time) for this process."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.me = Identity.of_this_process()
        self._running: dict[int, _Running] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._declared_dead = threading.Event()
        self._threads: list[threading.Thread] = []
        if "forkserver" in multiprocessing.get_all_start_methods():
            forkserver = multiprocessing.get_context("forkserver")
            forkserver.set_forkserver_preload(["api.worker"])
            self._context: ForkServerContext | SpawnContext = forkserver
        else:
            self._context = multiprocessing.get_context("spawn")

    def start(self) -> None:
        """Register this process, re-queue the jobs of processes that are gone, start the
        heartbeat and supervisor threads."""
        with self.sessions() as session:
            register(session, self.me)
            count = requeue_dead(session, self.me, self.settings.heartbeat_timeout_s)
        if count:
            logger.warning("%d job(s) of stopped service processes re-queued", count)
        logger.info("service process %s started", self.me.id)
        for target, name in ((self._beat_loop, "heartbeat"), (self._loop, "job-supervisor")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Look for work now (a job was queued or cancelled)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the threads; running workers are killed and their jobs re-queued."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._kill_all()
        with self.sessions() as session:
            requeue_owned(session, self.me.id, "interrupted by a service restart; re-queued")
            unregister(session, self.me)

    def _kill_all(self) -> None:
        for job_id, running in list(self._running.items()):
            _kill_group(running.process)
            running.process.join(timeout=5)
            _kill_leftovers(running.process)
            self._running.pop(job_id, None)

    def _beat_loop(self) -> None:
        """Renew the heartbeat and re-queue the jobs of dead processes, every heartbeat."""
        while not self._stop.wait(self.settings.heartbeat_every_s):
            try:
                self._beat()
            except SQLAlchemyError as error:  # the database is away: try again next beat
                logger.error("heartbeat of %s not written: %s", self.me.id, error)

    def _beat(self) -> None:
        with self.sessions() as session:
            if not beat(session, self.me):
                logger.error("service process %s was taken for dead", self.me.id)
                self._declared_dead.set()
                self._wake.set()
                return
            count = requeue_dead(session, self.me, self.settings.heartbeat_timeout_s)
        if count:
            logger.warning("%d job(s) of stopped service processes re-queued", count)
            self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except SQLAlchemyError as error:  # the database is away: try again next poll
                logger.error("job supervisor of %s: %s", self.me.id, error)
            self._wake.wait(self.settings.poll_s)
            self._wake.clear()

    def _tick(self) -> None:
        if self._declared_dead.is_set():
            # another process re-queued our jobs: stop their workers, then live again
            self._kill_all()
            with self.sessions() as session:
                register(session, self.me)
            self._declared_dead.clear()
        with self.sessions() as session:
            self._reap(session)
            self._cancel_and_fence(session)
            while (
                len(self._running) < self.settings.workers
                and not self._stop.is_set()
                and not self._declared_dead.is_set()
            ):
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
            if job is None:
                continue
            session.refresh(job)
            if job.state != "running" or job.attempts != running.attempt:
                continue
            if job.cancel_requested:
                finish(session, job_id, running.attempt, "cancelled", error="cancelled")
                continue
            reason = _exit_reason(code, self.settings, job.plan_id, session)
            logger.warning("job %d: %s", job_id, reason)
            finish(session, job_id, running.attempt, "failed", error=reason)

    def _cancel_and_fence(self, session: Session) -> None:
        """Kill the workers of cancelled jobs, and of jobs no longer this process's attempt."""
        if not self._running:
            return
        rows = session.execute(
            select(JobRow.id, JobRow.cancel_requested, JobRow.owner, JobRow.attempts).where(
                JobRow.id.in_(list(self._running))
            )
        ).all()
        session.commit()
        for job_id, cancel, owner, attempts in rows:
            running = self._running[job_id]
            if owner != self.me.id or attempts != running.attempt:
                logger.warning("job %d was re-queued by another process; worker stopped", job_id)
                _kill_group(running.process)
            elif cancel:
                _kill_group(running.process)

    def _launch(self, session: Session) -> bool:
        claimed = claim(session, self.me.id)
        if claimed is None:
            return False
        job_id, attempt = claimed
        # imported here, not at the top: the worker's plotting and file-writing stack
        # (matplotlib, openpyxl, the solvers) stays out of the service process
        from api.worker import run_job

        process = self._context.Process(
            target=run_job,
            args=(
                self.settings.url,
                str(self.settings.data_dir),
                job_id,
                attempt,
                os.getpid(),
                self.settings.job_nice,
            ),
            name=f"plan-job-{job_id}",
        )
        process.start()
        self._running[job_id] = _Running(process, attempt)
        session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.attempts == attempt)
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
