"""The ``pyvrp2`` engine: two PyVRP searches on two cores that share their best solutions.

Both searches are the project's PyVRP engine (`sanitation.routing.pyvrp_engine`), with seeds
``seed`` and ``seed + 1``, each in a worker process (a local process pool of two workers from
the portfolio's fork server by default, or a warm ``executor`` with two free workers), for the
same wall-clock budget: the time limit less `MARGIN_S`, counted from the solve's start (a
worker's start-up is taken off its own limit). Every
`sanitation.routing.pyvrp_pair.EPOCH_S` they swap their best solutions and each goes on from
the cheaper one (`sanitation.routing.pyvrp_pair`, which says how; with a work budget the swaps
come at iteration counts, so a seeded solve is deterministic). The result is the search whose
re-timed solution has the lower `sanitation.routing.solution.objective` (on a tie, seed
``seed``'s), with ``stats["searches"]`` holding both searches' seeds, pids, costs and exchange
counts. ``pyvrp2-independent`` runs the same two searches without the exchange (the baseline
the exchange is measured against). A problem with fewer than ``min_stops`` candidate stops
gets one search, in this process (two would mostly find the same plan).

The engine does not verify: `sanitation.engines.solve` verifies whatever it returns. One search
failing or not answering (``GRACE_S`` after the limit) is logged and the other's plan is
returned; both failing raises `VerificationError` with the reasons.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import time
from typing import Any

from sanitation.engines.portfolio import _ENGINE_ERRORS, GRACE_S, _default_context
from sanitation.errors import VerificationError
from sanitation.lifeline import die_with_parent
from sanitation.routing.engine import (
    STOPPED_BY_TIME,
    STOPPED_BY_WORK,
    SolveParams,
    work_iterations,
)
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.pyvrp_engine import ITERATIONS_PER_S, PyVRPEngine
from sanitation.routing.pyvrp_pair import EPOCH_S, Link, search_in_worker
from sanitation.routing.screen import screen
from sanitation.routing.solution import RoutingSolution, objective

logger = logging.getLogger(__name__)

#: fewer candidate stops than this get one search (assumed: two seeds mostly agree there)
MIN_STOPS = 20
#: seconds kept back from the time limit for the answers' transfer and the pool's shutdown
#: (assumed; the workers' start-up is taken off their own limits, and on X-n101 the answers
#: came 0.01 s after the searches ended, measured on the 2-core machine)
MARGIN_S = 1.0
#: ... but never more than this share of the limit
MARGIN_SHARE = 0.1


class PyVRPPairEngine:
    """Two PyVRP searches in two processes, exchanging their best solutions every epoch.

    Parameters
    ----------
    executor
        Where the searches run; None = a fresh local pool of two workers per solve. It needs two
        free workers at once (the searches wait for each other at every epoch).
    epoch_s
        Seconds (reference seconds of work with a work budget) between exchanges.
    min_stops
        Fewer candidate stops than this: one search in this process.
    margin_s
        Seconds kept back from ``params.time_limit_s`` for start-up and transfer.
    """

    name = "pyvrp2"
    #: whether the searches exchange solutions (False: ``pyvrp2-independent``)
    exchange = True

    def __init__(
        self,
        *,
        executor: cf.Executor | None = None,
        epoch_s: float = EPOCH_S,
        min_stops: int = MIN_STOPS,
        margin_s: float = MARGIN_S,
    ) -> None:
        if not epoch_s > 0:
            msg = "PyVRPPairEngine: epoch_s must be > 0."
            raise ValueError(msg)
        self.executor = executor
        self.epoch_s = epoch_s
        self.min_stops = min_stops
        self.margin_s = margin_s

    def solve(
        self, problem: RoutingProblem, params: SolveParams, *, seed: int = 1
    ) -> RoutingSolution:
        """Solve ``problem`` within ``params.time_limit_s`` with two searches (seeds ``seed``,
        ``seed + 1``); return the better one's plan.

        Raises
        ------
        VerificationError
            If neither search returns a solution.
        """
        t0 = time.perf_counter()
        start = time.monotonic()  # the searches' shared clock (epochs, deadline)
        n_candidates = len(screen(problem).candidates)
        if n_candidates < self.min_stops:
            sol = PyVRPEngine().solve(problem, params, seed=seed)
            stats = {**sol.stats, "searches": [{"seed": seed, "cost": sol.cost_cny}]}
            return dataclasses.replace(sol, engine=self.name, stats=stats)
        margin = min(self.margin_s, MARGIN_SHARE * params.time_limit_s)
        budget = max(0.1, params.time_limit_s - margin)
        sub = dataclasses.replace(params, time_limit_s=budget, verify=False)
        epoch_iterations = (
            work_iterations(ITERATIONS_PER_S, n_candidates, self.epoch_s)
            if params.work_s is not None
            else None
        )
        context = _default_context()
        own_pool = self.executor is None
        executor = self.executor or cf.ProcessPoolExecutor(
            max_workers=2, mp_context=context, initializer=die_with_parent
        )
        with context.Manager() as manager:
            queues = (manager.Queue(), manager.Queue())  # inboxes of the two searches
            links = [
                Link(
                    inbox=queues[k] if self.exchange else None,
                    outbox=queues[1 - k] if self.exchange else None,
                    start=start,
                    epoch_s=self.epoch_s,
                    epoch_iterations=epoch_iterations,
                    last_s=budget - 0.5 * self.epoch_s,
                )
                for k in range(2)
            ]
            try:
                futures = [
                    executor.submit(search_in_worker, problem, sub, seed + k, links[k])
                    for k in range(2)
                ]
                results, failures = _collect(futures, t0 + params.time_limit_s + GRACE_S)
            finally:
                if own_pool:
                    executor.shutdown(wait=False, cancel_futures=True)
        if not results:
            msg = "pyvrp2: no search returned a solution: " + "; ".join(failures)
            raise VerificationError(msg, failures)
        return self._best(problem, params, results, failures, t0)

    def _best(
        self,
        problem: RoutingProblem,
        params: SolveParams,
        results: list[RoutingSolution],
        failures: list[str],
        t0: float,
    ) -> RoutingSolution:
        """The lowest-objective result (the first on a tie) with both searches' statistics."""
        values = [objective(problem, sol) for sol in results]
        k = min(range(len(results)), key=lambda i: (values[i], i))
        searches: list[dict[str, Any]] = [
            {
                **{key: sol.stats.get(key) for key in _SEARCH_STATS},
                "cost": sol.cost_cny,
                "objective": value,
                "seconds": sol.seconds,
            }
            for sol, value in zip(results, values, strict=True)
        ]
        clock = (
            params.work_s is None
            or bool(failures)
            or any(s["stopped_by"] != STOPPED_BY_WORK or (s["timeouts"] or 0) > 0 for s in searches)
        )
        stats = {
            **results[k].stats,
            "winner_seed": results[k].stats.get("seed"),
            "exchange": self.exchange,
            "epoch_s": self.epoch_s,
            "searches": searches,
            "failures": failures,
            "stopped_by": STOPPED_BY_TIME if clock else STOPPED_BY_WORK,
        }
        return dataclasses.replace(
            results[k], engine=self.name, seconds=time.perf_counter() - t0, stats=stats
        )


class PyVRPIndependentPairEngine(PyVRPPairEngine):
    """`PyVRPPairEngine` without the exchange: two independent searches, the better one wins."""

    name = "pyvrp2-independent"
    exchange = False


#: per-search statistics copied into ``stats["searches"]``
_SEARCH_STATS = (
    "seed",
    "pid",
    "start_s",
    "stopped_by",
    "iterations",
    "epochs",
    "sent",
    "adoptions",
    "timeouts",
    "pyvrp_phases",
)


def _collect(
    futures: list[cf.Future[RoutingSolution]], deadline: float
) -> tuple[list[RoutingSolution], list[str]]:
    """The searches' solutions in seed order, and why any failed, waiting until ``deadline``
    (a `time.perf_counter` time)."""
    _done, pending = cf.wait(futures, timeout=max(0.0, deadline - time.perf_counter()))
    results: list[RoutingSolution] = []
    failures: list[str] = []
    for k, fut in enumerate(futures):
        if fut in pending:
            fut.cancel()
            failures.append(f"search {k}: no answer in time")
            continue
        try:
            results.append(fut.result())
        except _ENGINE_ERRORS as error:
            failures.append(f"search {k}: failed: {type(error).__name__}: {error}")
    for failure in failures:
        logger.warning("pyvrp2: %s", failure)
    return results, failures
