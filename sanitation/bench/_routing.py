"""Shared helpers of the routing benchmarks: solve through the engine registry, verify, report."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sanitation.bench import expand_paths, gap_pct, read_instance
from sanitation.engines import get_engine
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import RoutingSolution
from sanitation.verify.routing import verify

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BenchSolve:
    """An engine's solution with its verification outcome and wall-clock seconds."""

    solution: RoutingSolution
    violations: list[str]
    seconds: float

    @property
    def feasible(self) -> bool:
        """Verified and every stop served."""
        return not self.violations and not self.solution.unserved


def solve_and_verify(
    problem: RoutingProblem, *, time_limit_s: float, engine: str, seed: int, name: str
) -> BenchSolve:
    """Solve with ``engine`` (verification done here, never skipped) and time it."""
    t0 = time.perf_counter()
    params = SolveParams(time_limit_s=time_limit_s, verify=False)
    solution = get_engine(engine).solve(problem, params, seed=seed)
    seconds = time.perf_counter() - t0
    violations = verify(problem, solution)
    for v in violations[:5]:
        logger.error("%s: verifier: %s", name, v)
    if solution.unserved:
        logger.error("%s: %d stops unserved", name, len(solution.unserved))
    return BenchSolve(solution, violations, seconds)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


InstanceT = TypeVar("InstanceT", bound=_Named)


def solve_each(
    paths: list[Path],
    suffixes: tuple[str, ...],
    read: Callable[[Path], InstanceT],
    to_problem: Callable[[InstanceT], RoutingProblem],
    *,
    time_limit_s: float,
    engine: str,
    seed: int,
) -> Iterator[tuple[Path, InstanceT, BenchSolve]]:
    """Read every instance file under ``paths`` (README files skipped), solve and verify it."""
    for path in expand_paths(paths, suffixes):
        if path.name.lower() == "readme.txt":
            continue
        inst = read_instance(path, partial(read, path))
        problem = read_instance(path, partial(to_problem, inst))
        bs = solve_and_verify(
            problem, time_limit_s=time_limit_s, engine=engine, seed=seed, name=inst.name
        )
        yield path, inst, bs


def routing_result(name: str, bs: BenchSolve, cost: float, bks: float | None) -> dict[str, Any]:
    """The contract's result dict of a routing instance; ``routes`` in the instance's node ids.

    ``cost`` is in the benchmark's own convention (the caller converts the distances).
    """
    routes = [[int(s) for s in r.stop_ids] for r in bs.solution.routes]
    return {
        "instance": name,
        "cost": cost,
        "bks": bks,
        "gap_pct": gap_pct(cost, bks) if bs.feasible else None,
        "seconds": round(bs.seconds, 2),
        "feasible": bs.feasible,
        "vehicles": len(routes),
        "unserved": len(bs.solution.unserved),
        "violations": bs.violations[:10],
        "routes": routes,
    }
