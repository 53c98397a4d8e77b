"""PyVRP engine specifics: the daily load limit's relaxed phase (the shared engine contract is in
``test_routing_engines.py``)."""

from __future__ import annotations

from routing_helpers import line_matrices as _line
from routing_helpers import truck as _vt

from sanitation.engines import get_engine
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import RoutingProblem, Site, Stop
from sanitation.routing.screen import UnservedReason
from sanitation.routing.solution import RoutingSolution
from sanitation.verify.routing import verify

# deterministic: the iteration cap ends the search long before the time limit
PARAMS = SolveParams(time_limit_s=20, max_iterations=300)


def _solve(problem: RoutingProblem, seed: int = 1) -> RoutingSolution:
    sol = get_engine("pyvrp").solve(problem, PARAMS, seed=seed)
    assert verify(problem, sol) == []
    return sol


def test_daily_limit_above_capacity_is_won_by_the_relaxed_phase():
    dur, dist = _line([0, 1, 1, 1, -1, -1, -1])
    stops = [Stop(f"S{i}", i, 5) for i in range(1, 7)]
    # 15 kg a day in trips of at most 10: the conservative model (trips of 7 kg) needs three
    # vehicles; the relaxed model (trips of 10) finds two, which respect the daily limit
    vt = _vt(count=3, capacity_kg=10, max_load_per_day_kg=15, fixed_cost_cny=100.0)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt])
    sol = _solve(problem)
    assert len(sol.routes) == 2
    assert "relaxed-day-limit won" in sol.stats["pyvrp_phases"]


def test_stop_limit_is_repaired_by_dropping_stops_with_that_reason():
    # PyVRP does not model max_stops: the route it finds is cut back until it complies
    dur, dist = _line([0, 1, 2, 3])
    stops = [Stop(f"S{i}", i, 4) for i in (1, 2, 3)]
    vt = _vt(count=2, max_stops=1, fixed_cost_cny=5.0)
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt]))
    assert all(len(r.stop_ids) == 1 for r in sol.routes)
    assert sol.unserved
    assert {u.reason for u in sol.unserved} == {UnservedReason.VEHICLE_LIMITS}
