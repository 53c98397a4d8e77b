"""The chain's process pools: forkserver workers tied to the planning process (lifeline).

Used for the station-days of a plan (`sanitation.plan.run`) and for the route-aware siting's
station-day solves (`sanitation.plan.siting`).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time

from sanitation.engines.portfolio import forkserver_preload
from sanitation.lifeline import die_with_parent


def pool_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` where available (else ``spawn``), tied to this process (lifeline).

    The fork server preloads the engines, the project modules imported so far and
    `sanitation.lifeline` (`sanitation.engines.portfolio.forkserver_preload`), which kills the
    fork server when this process ends; the pool's initializer (`die_with_parent`) kills each worker
    when its parent ends, so a ``kill -9`` of the plan leaves no process behind. (A fork server
    already started by another pool keeps that pool's preload list.)
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(forkserver_preload())
    return context


def new_pool(portfolio: bool, workers: int) -> cf.ProcessPoolExecutor:
    """A process pool for station-days: ``workers`` processes, or every core for a portfolio;
    every worker is started before the first solve, so that no solve pays for the start-up."""
    size = max(2, (os.cpu_count() or 1) if portfolio else workers)
    pool = cf.ProcessPoolExecutor(
        max_workers=size, mp_context=pool_context(), initializer=die_with_parent
    )
    cf.wait([pool.submit(time.sleep, 0.05) for _ in range(size)])
    return pool


__all__ = ["new_pool", "pool_context"]
