"""Shared helper of the facility-location benchmarks: read, solve and report one instance."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sanitation.assignment import AssignmentParams, AssignmentProblem, solve
from sanitation.bench import gap_pct, read_instance

logger = logging.getLogger(__name__)

#: share of a benchmark's time limit given to the deterministic engines as work (the rest is the
#: margin before the limit, the hard cap, cuts them; assumed)
BENCH_WORK_SHARE = 0.9


def facility_result(
    name: str,
    read: Callable[[], AssignmentProblem],
    *,
    path: Path,
    bks: float | None,
    time_limit_s: float,
    engine: str,
    seed: int,
) -> dict[str, Any]:
    """Read (``read()``, of the file ``path``) and solve one instance; ``time_limit_s`` covers both.

    Returns the contract's result dict plus ``bound`` (the solver's best bound), ``solver`` and
    ``stopped_by_time`` (the limit, not the work budget, ended the solve).
    """
    start = time.perf_counter()
    problem = read_instance(path, read)
    left = max(0.1, time_limit_s - (time.perf_counter() - start))
    params = AssignmentParams(time_limit_s=left, engine=engine, work_s=BENCH_WORK_SHARE * left)
    solution = solve(problem, params, seed=seed)
    seconds = time.perf_counter() - start
    cost = round(float(solution.objective_cny), 3)
    logger.info("%s: %s (bks %s) %.1fs", name, cost, bks, seconds)
    return {
        "instance": name,
        "cost": cost,
        "bks": bks,
        "gap_pct": gap_pct(cost, bks),
        "seconds": round(seconds, 2),
        "feasible": True,
        "optimal": bool(solution.optimal),
        "bound": round(float(solution.best_bound_cny), 3),
        "solver": solution.solver,
        "stopped_by_time": bool(solution.stopped_by_time),
    }
