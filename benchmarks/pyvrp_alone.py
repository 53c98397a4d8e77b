"""The peer of the routing benchmarks: PyVRP alone, single-threaded, with its default settings.

The instance is the `RoutingProblem` the bench builds from the file (`sanitation.bench.cvrp` or
`sanitation.bench.vrptw` ``to_problem``), handed to PyVRP's public model (`pyvrp.ProblemData`)
as is, solved by `pyvrp.solve` for the same wall-clock time (counted from the call, as ours:
PyVRP's own ``MaxRuntime`` starts after its initial local search), and its routes are rebuilt on the
same problem and re-checked by the project's verifier, so both columns are costed and checked
the same way. Only single-depot, single-vehicle-type problems without reloads (CVRP, VRPTW).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyvrp

from sanitation.routing.problem import RoutingProblem
from sanitation.routing.schedule import build_route
from sanitation.routing.solution import RoutingSolution
from sanitation.verify.routing import verify


@dataclass(frozen=True)
class PeerResult:
    """PyVRP's best routes as the project's solution, the verifier's findings, seconds."""

    solution: RoutingSolution
    violations: list[str]
    seconds: float


def problem_data(problem: RoutingProblem) -> pyvrp.ProblemData:
    """``problem`` in PyVRP's own model (one depot, one vehicle type, cost 1 per metre)."""
    [vt] = problem.vehicle_types
    [site] = problem.sites
    locations = [site.location, *(s.location for s in problem.stops)]
    index = np.array(locations)
    distance = problem.distance_m[0][np.ix_(index, index)]
    duration = problem.duration_s[0][np.ix_(index, index)]
    depot = pyvrp.Depot(0, tw_early=site.open_s, tw_late=site.close_s)
    clients = [
        pyvrp.Client(
            k + 1,
            delivery=[s.load_kg],
            service_duration=s.service_s,
            tw_early=s.tw_open_s,
            tw_late=s.tw_close_s,
        )
        for k, s in enumerate(problem.stops)
    ]
    vehicle = pyvrp.VehicleType(
        num_available=vt.count,
        capacity=[vt.capacity_kg],
        tw_early=vt.shift_start_s,
        tw_late=vt.shift_end_s,
        unit_distance_cost=1,
        unit_duration_cost=0,
    )
    return pyvrp.ProblemData(
        locations=[pyvrp.Location(0.0, 0.0) for _ in locations],
        clients=clients,
        depots=[depot],
        vehicle_types=[vehicle],
        distance_matrices=[distance],
        duration_matrices=[duration],
    )


class WallClock:
    """A stopping criterion: stop ``seconds`` after it was made."""

    def __init__(self, seconds: float) -> None:
        self.end = time.perf_counter() + seconds

    def __call__(self, best_cost: int) -> bool:
        return time.perf_counter() >= self.end


def solve_alone(problem: RoutingProblem, *, time_limit_s: float, seed: int) -> PeerResult:
    """PyVRP alone for ``time_limit_s`` seconds; its routes rebuilt on ``problem`` and verified."""
    started = time.perf_counter()
    data = problem_data(problem)
    result = pyvrp.solve(data, stop=WallClock(time_limit_s), seed=seed, display=False)
    seconds = time.perf_counter() - started
    if not result.is_feasible():
        empty = RoutingSolution((), (), 0.0, "pyvrp-alone", seconds)
        return PeerResult(empty, ["PyVRP found no feasible solution"], seconds)
    vt = problem.vehicle_types[0].id
    routes = tuple(
        build_route(problem, vt, k, [("stop", problem.stops[a.idx].id) for a in client_visits])
        for k, client_visits in enumerate(
            [a for a in route.schedule() if a.is_client()] for route in result.best.routes()
        )
    )
    solution = RoutingSolution(routes, (), sum(r.cost_cny for r in routes), "pyvrp-alone", seconds)
    return PeerResult(solution, verify(problem, solution), seconds)
