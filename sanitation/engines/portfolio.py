"""The default routing engine: PyVRP and OR-Tools side by side, the best verified plan wins.

Both engines run in worker processes (``concurrent.futures``; a local process pool of two workers
by default, or any `concurrent.futures.Executor` such as ``distributed.Client.get_executor()``)
on the same problem and seed, within the same wall-clock limit minus a margin for starting the
workers and verifying. Each result goes through the independent verifier; the verified solution
with the lowest `sanitation.routing.solution.objective` wins (unserved stops weigh more than any
route cost, higher priorities more, so the plan serving more stops wins first, then the cheaper
one). Both engines' costs land in ``stats``. One engine failing (an exception, a timeout or a
verifier rejection) is logged as a warning and the other's plan is returned; if both fail,
`VerificationError` is raised with every reason. A plan (`sanitation.plan.run`) runs several
station-days' portfolios at once, each from its own thread, on one shared executor: half as many
station-days as the executor has workers, so every worker has an engine to run.

Determinism: with a work budget (``params.work_s``) each engine stops after a fixed amount of
work, so with the same seed both return the same solutions and the winner is the same: the
lowest objective, and on an exact tie the engine listed first (``DEFAULT_ENGINES`` order). The
portfolio's ``stats["stopped_by"]`` is ``"time_limit"`` when any engine was stopped by the clock,
failed or did not answer (a re-run may then differ), else ``"work_budget"``. A warm start
(``params.initial_solution``) goes to every engine.

Both engines handle the lunch break (OR-Tools with break intervals, PyVRP in lunch-free time, see
`sanitation.routing.pyvrp_engine`), so break-constrained days are compared like any other; a stop
PyVRP leaves out for lunch (`UnservedReason.LUNCH_WINDOW`) is then served by OR-Tools' answer if
that one is better.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import multiprocessing
import pickle
import sys
import time
from collections.abc import Sequence
from typing import Any

from sanitation.engines.registry import get_engine
from sanitation.errors import VerificationError
from sanitation.lifeline import die_with_parent
from sanitation.routing.engine import STOPPED_BY_TIME, STOPPED_BY_WORK, SolveParams
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import RoutingSolution, objective
from sanitation.verify.routing import verify

logger = logging.getLogger(__name__)

DEFAULT_ENGINES = ("pyvrp", "ortools")

#: seconds kept back from the time limit for worker start-up, transfer and verification
#: (measured: a 1,000-stop day on the loaded 2-core machine needed about 4 s)
MARGIN_S = 4.0
#: ... but never more than this share of the limit
MARGIN_SHARE = 0.2
#: modules the fork server imports once
PRELOAD = (
    "sanitation.engines.portfolio",
    "sanitation.routing.ortools_engine",
    "sanitation.routing.pyvrp_engine",
)
#: packages whose modules, when this process has imported them, the fork server imports too
PROJECT_PACKAGES = ("sanitation", "api", "geo")
#: extra seconds a worker may overrun its own limit before it is given up
GRACE_S = 5.0


#: what a failing engine or worker may raise (a broken pool is a RuntimeError)
_ENGINE_ERRORS = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    LookupError,
    MemoryError,
    OSError,
    RuntimeError,
    TypeError,
    ValueError,
    pickle.PicklingError,
)


def _solve_in_worker(
    engine: str, problem: RoutingProblem, params: SolveParams, seed: int
) -> RoutingSolution:
    """Worker entry point: solve with ``engine`` (verification is done by the parent)."""
    return get_engine(engine).solve(problem, params, seed=seed)


def forkserver_preload() -> list[str]:
    """What the fork server imports once for all its workers: the engines, the lifeline, and
    every project module this process has imported.

    Each worker re-runs the main script (Python 3.11's fork server does not preload it, whatever
    the preload list says), and the console script imports the whole CLI: with those modules
    already in the fork server, a new worker finds them in memory instead of importing them
    again, which took seconds per pool on a busy machine (`docs/replan.md`).
    """
    imported = sorted(
        name
        for name in list(sys.modules)
        if name.partition(".")[0] in PROJECT_PACKAGES and not name.endswith("__main__")
    )
    return list(dict.fromkeys([*PRELOAD, "sanitation.lifeline", *imported]))


def _default_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` where available (safe with threads, cheap per task), else ``spawn``.

    The fork server imports the engines once, so later pools start their workers without
    re-importing OR-Tools and PyVRP, and `sanitation.lifeline`, which ends it with this process.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(forkserver_preload())
        return ctx
    return multiprocessing.get_context("spawn")


class PortfolioEngine:
    """Run several engines concurrently and return the best verified solution.

    Parameters
    ----------
    engines
        Engine names to run (default PyVRP and OR-Tools).
    executor
        Where to run them; None = a fresh local process pool (one worker per engine) per solve.
        A Dask executor (``client.get_executor()``) works too. It needs a free worker per
        engine: an engine that has not answered ``GRACE_S`` after the limit is given up.
    margin_s
        Seconds kept back from ``params.time_limit_s`` for start-up and verification.

    Notes
    -----
    ``params.options`` may hold per-engine options under the engine's name, e.g.
    ``{"ortools": {"metaheuristic": "GUIDED_LOCAL_SEARCH"}}``.
    """

    name = "portfolio"

    def __init__(
        self,
        engines: Sequence[str] = DEFAULT_ENGINES,
        *,
        executor: cf.Executor | None = None,
        margin_s: float = MARGIN_S,
    ) -> None:
        if not engines:
            msg = "PortfolioEngine: engines must not be empty."
            raise ValueError(msg)
        if "portfolio" in engines:
            msg = "PortfolioEngine: engines cannot include 'portfolio' itself."
            raise ValueError(msg)
        self.engines = tuple(engines)
        self.executor = executor
        self.margin_s = margin_s

    def solve(
        self, problem: RoutingProblem, params: SolveParams, *, seed: int = 1
    ) -> RoutingSolution:
        """Solve with every engine within ``params.time_limit_s``; return the best verified plan.

        Parameters
        ----------
        problem
            The station-day to route.
        params
            Wall-clock limit (s) for the whole portfolio; ``max_iterations`` is passed on.
        seed
            Passed to every engine.

        Returns
        -------
        RoutingSolution
            The winner, with ``engine = "portfolio"``, ``stats["winner"]`` naming the engine and
            ``stats["engines"]`` holding each engine's cost, objective, seconds and status.

        Raises
        ------
        VerificationError
            If no engine returns a solution that passes the verifier.
        """
        t0 = time.perf_counter()
        margin = min(self.margin_s, MARGIN_SHARE * params.time_limit_s)
        budget = max(0.1, params.time_limit_s - margin)
        own_pool = self.executor is None
        executor = self.executor or cf.ProcessPoolExecutor(
            max_workers=len(self.engines),
            mp_context=_default_context(),
            initializer=die_with_parent,
        )
        report: dict[str, dict[str, Any]] = {}
        candidates: list[tuple[float, int, str, RoutingSolution]] = []
        failures: list[str] = []
        try:
            futures = {
                executor.submit(
                    _solve_in_worker, name, problem, self._params_for(name, params, budget), seed
                ): name
                for name in self.engines
            }
            deadline = t0 + params.time_limit_s + GRACE_S
            pending = set(futures)
            while pending:
                timeout = max(0.0, deadline - time.perf_counter())
                done, pending = cf.wait(pending, timeout=timeout, return_when=cf.FIRST_COMPLETED)
                if not done:
                    break
                for fut in done:
                    name = futures[fut]
                    try:
                        sol = fut.result()
                    except _ENGINE_ERRORS as error:
                        msg = f"{name}: failed: {type(error).__name__}: {error}"
                        logger.warning("portfolio: %s", msg)
                        failures.append(msg)
                        report[name] = {"status": "failed", "error": str(error)}
                        continue
                    violations = verify(problem, sol)
                    value = objective(problem, sol)
                    entry = {
                        "stopped_by": sol.stats.get("stopped_by"),
                        "cost": sol.cost_cny,
                        "objective": value,
                        "seconds": sol.seconds,
                        "n_vehicles": sol.n_vehicles,
                        "n_unserved": len(sol.unserved),
                        "status": "verified" if not violations else "rejected",
                    }
                    report[name] = entry
                    if violations:
                        msg = f"{name}: rejected by the verifier: {violations[0]}"
                        logger.warning("portfolio: %s (%d violations)", msg, len(violations))
                        failures.append(msg)
                        continue
                    order = self.engines.index(name)
                    candidates.append((value, order, name, sol))
            for fut in pending:
                name = futures[fut]
                fut.cancel()
                msg = f"{name}: no answer within {params.time_limit_s + GRACE_S:g} s"
                logger.warning("portfolio: %s", msg)
                failures.append(msg)
                report[name] = {"status": "timeout"}
        finally:
            if own_pool:
                executor.shutdown(wait=False, cancel_futures=True)
        if not candidates:
            msg = "portfolio: no engine returned a verified solution: " + "; ".join(failures)
            raise VerificationError(msg, failures)
        candidates.sort(key=lambda c: (c[0], c[1]))
        _, _, winner, best = candidates[0]
        clock = len(report) < len(self.engines) or any(
            entry.get("status") in ("failed", "timeout") for entry in report.values()
        )
        clock = clock or any(c[3].stats.get("stopped_by") != STOPPED_BY_WORK for c in candidates)
        # an engine the clock stopped and the verifier then rejected decided the winner too
        clock = clock or any(
            entry.get("status") == "rejected" and entry.get("stopped_by") != STOPPED_BY_WORK
            for entry in report.values()
        )
        stats = {
            "winner": winner,
            "engines": report,
            "budget_s": budget,
            "winner_stats": best.stats,
            "stopped_by": STOPPED_BY_TIME if clock or params.work_s is None else STOPPED_BY_WORK,
        }
        return dataclasses.replace(
            best, engine=self.name, seconds=time.perf_counter() - t0, stats=stats
        )

    @staticmethod
    def _params_for(name: str, params: SolveParams, budget: float) -> SolveParams:
        """The sub-engine's parameters: the shared budget, its own options, no verification."""
        options = params.options.get(name, {})
        if not isinstance(options, dict):
            options = {}
        return SolveParams(
            time_limit_s=budget,
            max_iterations=params.max_iterations,
            work_s=params.work_s,
            initial_solution=params.initial_solution,
            verify=False,
            options=options,
        )
