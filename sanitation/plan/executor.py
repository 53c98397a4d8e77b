"""Where solves are fanned out: the local process pool (default) or a Dask cluster.

`ExecutorChoice` is the one setting (``--executor local|dask --scheduler tcp://HOST:PORT``, or
``SANITATION_DASK_SCHEDULER``); `open_executor` turns it into a `concurrent.futures.Executor`
that station-days, week plans, ``compare`` and sweeps submit to: a process pool of this
machine, or a `DaskExecutor` whose every call is a task of the scheduler (run on any of its
workers). `executor_width` is how many calls it runs at once; `retried_tasks` which of its tasks
Dask ran more than once (a worker lost during the task, or the task raised and was retried).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sanitation.errors import ClusterError, ScenarioError
from sanitation.plan.pool import new_pool

SCHEDULER_ENV = "SANITATION_DASK_SCHEDULER"
#: seconds a TCP connection to the scheduler may take before it counts as unreachable (assumed:
#: a scheduler on the same network answers within milliseconds; a refused port fails at once)
PROBE_TIMEOUT_S = 2.0
#: seconds the Dask client may then take for its handshake with the scheduler (assumed)
CONNECT_TIMEOUT_S = 10.0
#: a task that raised is not run again (Dask's ``retries``: a solve's error is deterministic, and
#: running it again only delays the message); a task whose worker died is rescheduled on another
#: worker by the scheduler itself, at most ``distributed.scheduler.allowed-failures`` times
#: (default 3), and then fails with `ClusterError`
TASK_RETRIES = 0


class SchedulerUnreachableError(ScenarioError):
    """The Dask scheduler named by the user does not answer (bad input: exit 2, HTTP 503)."""


@dataclass(frozen=True)
class ExecutorChoice:
    """``local`` (a process pool on this machine) or ``dask`` (a running scheduler's workers)."""

    kind: Literal["local", "dask"] = "local"
    scheduler: str | None = None

    @classmethod
    def from_options(cls, executor: str | None, scheduler: str | None) -> ExecutorChoice:
        """The choice from command-line options, with ``SANITATION_DASK_SCHEDULER`` as the
        scheduler's default (and ``dask`` the executor's, when only a scheduler is given)."""
        if executor == "local":
            return cls("local", None)
        scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        kind = executor or ("dask" if scheduler else "local")
        if kind not in ("local", "dask"):
            msg = f"--executor: value {kind!r}; expected local or dask"
            raise ScenarioError(msg)
        if kind == "dask" and not scheduler:
            msg = f"--executor dask needs --scheduler tcp://HOST:PORT (or {SCHEDULER_ENV})"
            raise ScenarioError(msg)
        if kind == "local":
            return cls("local", None)
        return cls("dask", scheduler)


class DaskExecutor(cf.Executor):
    """Each call a task of a Dask scheduler (``pure=False``: a call is never merged with an
    equal one; ``retries``: `TASK_RETRIES`); the keys are kept so that `retried` can ask the
    scheduler's transition log which tasks were started more than once."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._keys: list[str] = []
        self._running: set[Any] = set()  # the Dask futures not settled yet (kept alive)
        self._lock = threading.Lock()
        self._shut = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        """Run ``fn(*args, **kwargs)`` on a worker of the cluster."""
        if self._shut:
            msg = "cannot submit to a DaskExecutor after shutdown"
            raise RuntimeError(msg)
        task = self.client.submit(fn, *args, pure=False, retries=TASK_RETRIES, **kwargs)
        out: cf.Future[Any] = cf.Future()
        with self._lock:
            self._keys.append(task.key)
            self._running.add(task)
        out.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        task.add_done_callback(lambda done: self._settle(done, out))
        return out

    def _settle(self, task: Any, out: cf.Future[Any]) -> None:
        """Hand the task's outcome to ``out`` (in the client's callback thread)."""
        with self._lock:
            self._running.discard(task)
        if out.cancelled():
            return
        if task.status == "cancelled":
            if self._shut:  # cancelled by our own shutdown
                out.cancel()
                out.set_running_or_notify_cancel()  # wakes `wait` and `as_completed`
            else:
                out.set_exception(self._lost(task, "the cluster cancelled it"))
            return
        try:
            result = task.result()
        except BaseException as error:  # any failure of the task is its outcome
            out.set_exception(self._lost(task, error) if _infrastructure(error) else error)
        else:
            out.set_result(result)

    def _lost(self, task: Any, why: object) -> ClusterError:
        """The error of a task the cluster lost."""
        address = getattr(self.client.scheduler, "address", "?")
        msg = f"the Dask cluster at {address} lost the solve task {task.key}: {why}"
        return ClusterError(msg)

    def width(self) -> int:
        """Threads of the cluster's workers now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def submitted(self) -> int:
        """Tasks submitted so far."""
        with self._lock:
            return len(self._keys)

    def retried(self, since: int = 0) -> dict[str, int]:
        """Task key → times it was started again (a lost worker or a retry), for every task
        submitted here (the ``since``-th on) that was started more than once."""
        with self._lock:
            keys = list(dict.fromkeys(self._keys[since:]))
        if not keys:
            return {}
        story = self.client.sync(self.client.scheduler.get_story, keys_or_stimuli=keys)
        starts = Counter(str(entry[0]) for entry in story if entry[2] == "processing")
        return {key: starts[key] - 1 for key in keys if starts[key] > 1}

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new tasks; with ``cancel_futures`` (or not ``wait``) the unsettled ones cancelled."""
        self._shut = True
        with self._lock:
            running = list(self._running)
        if cancel_futures or not wait:
            self.client.cancel(running)
        elif running:
            self.client.gather(running, errors="skip")


def _infrastructure(error: BaseException) -> bool:
    """Whether ``error`` is the cluster's (a worker lost too often, a closed connection), not
    the task's own."""
    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    return isinstance(error, KilledWorker | CommClosedError)


def executor_width(executor: cf.Executor) -> int:
    """How many calls ``executor`` runs at once (a pool's processes or threads, a cluster's
    worker threads; 1 when it does not say)."""
    if isinstance(executor, DaskExecutor):
        return executor.width()
    return max(1, int(getattr(executor, "_max_workers", 1) or 1))


def tasks_submitted(executor: cf.Executor | None) -> int:
    """Tasks submitted to a `DaskExecutor` so far (0 for any other executor): a mark for
    `retried_tasks`."""
    return executor.submitted() if isinstance(executor, DaskExecutor) else 0


def retried_tasks(executor: cf.Executor | None, *, since: int = 0) -> int:
    """Restarts of the tasks submitted to ``executor`` from the ``since``-th on (0 for a local
    pool: a lost process there breaks the pool instead, and the plan fails)."""
    if isinstance(executor, DaskExecutor):
        return sum(executor.retried(since).values())
    return 0


def _probe(address: str) -> None:
    """Raise `SchedulerUnreachableError` at once when nothing listens at ``address``."""
    from distributed.comm import get_address_host_port

    try:
        host, port = get_address_host_port(address)
    except (ValueError, TypeError) as error:
        msg = (
            f"--scheduler: value {address!r}; expected tcp://HOST:PORT of a running Dask "
            f"scheduler ({error})"
        )
        raise SchedulerUnreachableError(msg) from None
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as error:
        msg = (
            f"--scheduler: the Dask scheduler at {address} does not answer "
            f"({error.strerror or type(error).__name__}); start it or fix the address "
            f"(--scheduler or {SCHEDULER_ENV})"
        )
        raise SchedulerUnreachableError(msg) from None


def connect(address: str) -> Any:
    """A `distributed.Client` of the scheduler at ``address`` (`SchedulerUnreachableError`
    naming it when it does not answer)."""
    from distributed import Client  # imported here: the local path never pays for it

    _probe(address)
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        msg = f"--scheduler: the Dask scheduler at {address} does not answer ({error})"
        raise SchedulerUnreachableError(msg) from None


@contextmanager
def open_executor(
    choice: ExecutorChoice, *, portfolio: bool, workers: int
) -> Iterator[cf.Executor]:
    """An executor for ``choice``, shut down on leaving (a Dask client is closed, the cluster
    keeps running); ``portfolio`` and ``workers`` size a local pool (`new_pool`)."""
    if choice.kind == "local":
        pool = new_pool(portfolio, workers)
        try:
            yield pool
        finally:
            pool.shutdown(cancel_futures=True)
        return
    client = connect(str(choice.scheduler))
    executor = DaskExecutor(client)
    try:
        yield executor
    finally:
        executor.shutdown(cancel_futures=True)
        client.close()


__all__ = [
    "SCHEDULER_ENV",
    "DaskExecutor",
    "ExecutorChoice",
    "SchedulerUnreachableError",
    "connect",
    "executor_width",
    "open_executor",
    "retried_tasks",
    "tasks_submitted",
]
