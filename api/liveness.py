"""Service processes sharing one database: identity, heartbeat, and re-queueing the running jobs
of a process that is gone.

Every ``sanitation serve`` process registers a row (`api.models.ServiceProcess`) and renews its
``heartbeat_at`` every `Settings.heartbeat_every_s`; the jobs it runs name it as their ``owner``.
Any process re-queues (state ``interrupted``) the running jobs of a process whose heartbeat is
older than `Settings.heartbeat_timeout_s`, or at once of a process of its own machine (the same
pid namespace) whose pid no longer runs the process that registered; running jobs whose owner
has no row (it was declared dead, or the job predates owners) are re-queued too. A process that
finds its own row gone was declared dead: it kills its workers and registers again. Heartbeat
ages are measured on the database's clock (PostgreSQL's ``now()``; SQLite lives on one machine),
so the machines' clocks need not agree.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from api.job_state import rows_changed
from api.models import JobRow, PlanRow, ServiceProcess, utcnow

logger = logging.getLogger(__name__)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii").strip()
    except OSError:
        return ""


def machine_id() -> str:
    """This process's pid namespace: the kernel's boot id and the namespace's inode ("" where
    /proc does not tell); two processes with the same value see each other's pids."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot}:{namespace}" if boot else ""


def process_started(pid: int) -> str:
    """The start time of process ``pid`` (clock ticks after boot; "" when no such process)."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return ""
    return stat[stat.rindex(")") + 2 :].split()[19]


@dataclass(frozen=True)
class Identity:
    """Who a service process is: a unique id, its host name and pid, where its pid is valid."""

    id: str
    host: str
    pid: int
    machine: str
    pid_started: str

    @classmethod
    def of_this_process(cls) -> Identity:
        """A new identity for the calling process."""
        host, pid = socket.gethostname(), os.getpid()
        return cls(
            id=f"{host[:60]}-{pid}-{secrets.token_hex(4)}",
            host=host[:255],
            pid=pid,
            machine=machine_id(),
            pid_started=process_started(pid),
        )

    def sees_gone(self, machine: str, pid: int, pid_started: str) -> bool:
        """Whether the process registered as (``machine``, ``pid``, ``pid_started``) shares this
        one's pid namespace and no longer runs."""
        if not self.machine or machine != self.machine or not pid_started:
            return False
        return process_started(pid) != pid_started


def db_now(session: Session) -> dt.datetime:
    """Now on the database's clock (UTC)."""
    if session.get_bind().dialect.name == "postgresql":
        now = session.scalar(select(func.now()))
        if now is not None:
            return now
    return utcnow()


def register(session: Session, me: Identity) -> None:
    """Store (or renew) this process's row with a fresh heartbeat."""
    now = db_now(session)
    session.merge(
        ServiceProcess(
            id=me.id,
            host=me.host,
            pid=me.pid,
            machine=me.machine,
            pid_started=me.pid_started,
            started_at=now,
            heartbeat_at=now,
        )
    )
    session.commit()


def beat(session: Session, me: Identity) -> bool:
    """Renew this process's heartbeat; False when its row is gone (it was declared dead)."""
    alive = rows_changed(
        session,
        update(ServiceProcess)
        .where(ServiceProcess.id == me.id)
        .values(heartbeat_at=db_now(session)),
    )
    session.commit()
    return alive == 1


def unregister(session: Session, me: Identity) -> None:
    """Remove this process's row (a clean stop)."""
    session.execute(delete(ServiceProcess).where(ServiceProcess.id == me.id))
    session.commit()


def requeue(session: Session, job: JobRow, reason: str) -> bool:
    """Re-queue a running job (state ``interrupted``) if it is still the same attempt of the same
    owner; its plan is marked interrupted. The caller commits."""
    changed = rows_changed(
        session,
        update(JobRow)
        .where(
            JobRow.id == job.id,
            JobRow.state == "running",
            JobRow.attempts == job.attempts,
            JobRow.owner.is_(None) if job.owner is None else JobRow.owner == job.owner,
        )
        .values(
            state="interrupted",
            interruptions=JobRow.interruptions + 1,
            owner=None,
            pid=None,
            error=reason,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False),
    )
    if changed == 1:
        session.execute(
            update(PlanRow).where(PlanRow.id == job.plan_id).values(status="interrupted")
        )
    return changed == 1


def requeue_owned(session: Session, owner: str, reason: str) -> int:
    """Re-queue the running jobs of process ``owner`` (it stops, or stopped); how many."""
    jobs = session.scalars(
        select(JobRow).where(JobRow.state == "running", JobRow.owner == owner)
    ).all()
    count = sum(requeue(session, job, reason) for job in jobs)
    session.commit()
    return count


def requeue_dead(session: Session, me: Identity, timeout_s: float) -> int:
    """Declare dead the processes that are gone or silent for over ``timeout_s`` and re-queue
    their running jobs, and those of no live process; how many jobs."""
    cutoff = db_now(session) - dt.timedelta(seconds=timeout_s)
    count = 0
    others = session.execute(
        select(
            ServiceProcess.id,
            ServiceProcess.host,
            ServiceProcess.pid,
            ServiceProcess.machine,
            ServiceProcess.pid_started,
            ServiceProcess.heartbeat_at,
        ).where(ServiceProcess.id != me.id)
    ).all()
    for row in others:
        silent = _aware(row.heartbeat_at) < cutoff
        if not (silent or me.sees_gone(row.machine, row.pid, row.pid_started)):
            continue
        # only the process that removes the row (as it was seen) re-queues its jobs
        removed = rows_changed(
            session,
            delete(ServiceProcess).where(
                ServiceProcess.id == row.id, ServiceProcess.heartbeat_at == row.heartbeat_at
            ),
        )
        if removed != 1:
            session.rollback()
            continue
        why = f"heartbeat older than {timeout_s:g} s" if silent else "process gone"
        reason = f"service process {row.host} pid {row.pid} stopped ({why}); re-queued"
        count += requeue_owned(session, row.id, reason)
        logger.warning("service process %s declared dead (%s)", row.id, why)
    orphans = session.scalars(
        select(JobRow).where(
            JobRow.state == "running",
            or_(JobRow.owner.is_(None), JobRow.owner.not_in(select(ServiceProcess.id))),
        )
    ).all()
    for job in orphans:
        count += requeue(session, job, "its service process stopped; re-queued")
    session.commit()
    return count


def _aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC time (SQLite hands back naive UTC times)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
