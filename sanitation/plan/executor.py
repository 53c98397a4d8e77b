"""Where solves are fanned out: the local process pool (default) or a Dask cluster.

`ExecutorChoice` is the one setting (``--executor local|dask --scheduler tcp://HOST:PORT``, or
``SANITATION_DASK_SCHEDULER``); `open_executor` turns it into a `concurrent.futures.Executor`
that station-days, week plans, ``compare`` and sweeps submit to.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from sanitation.errors import ScenarioError
from sanitation.plan.pool import new_pool

SCHEDULER_ENV = "SANITATION_DASK_SCHEDULER"
CONNECT_TIMEOUT_S = 10.0  # assumed: a scheduler on the same network answers well within this
TASK_RETRIES = 2  # a task whose worker dies is run again on another worker, at most this often


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
        scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        kind = executor or ("dask" if scheduler else "local")
        if kind not in ("local", "dask"):
            msg = f"--executor: {kind!r} is not one of local, dask"
            raise ScenarioError(msg)
        if kind == "dask" and not scheduler:
            msg = f"--executor dask needs --scheduler tcp://HOST:PORT (or {SCHEDULER_ENV})"
            raise ScenarioError(msg)
        if kind == "local":
            return cls("local", None)
        return cls("dask", scheduler)


@contextmanager
def open_executor(
    choice: ExecutorChoice, *, portfolio: bool, workers: int
) -> Iterator[cf.Executor]:
    """An executor for ``choice``, shut down on leaving (a Dask client is closed, the cluster
    keeps running)."""
    if choice.kind == "local":
        pool = new_pool(portfolio, workers)
        try:
            yield pool
        finally:
            pool.shutdown(cancel_futures=True)
        return
    from distributed import Client  # imported here: the local path never pays for it

    try:
        client = Client(choice.scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        msg = f"--scheduler: the Dask scheduler at {choice.scheduler} does not answer ({error})"
        raise SchedulerUnreachableError(msg) from None
    try:
        yield client.get_executor(pure=False, retries=TASK_RETRIES)
    finally:
        client.close()


__all__ = ["SCHEDULER_ENV", "ExecutorChoice", "SchedulerUnreachableError", "open_executor"]
