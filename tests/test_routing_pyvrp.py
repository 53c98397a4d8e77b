"""PyVRP engine specifics: the daily load limit's relaxed phase, a short fleet's drops (the shared
engine contract is in ``test_routing_engines.py``)."""

from __future__ import annotations

import numpy as np
from routing_helpers import line_matrices as _line
from routing_helpers import truck as _vt

from sanitation.engines import get_engine
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop
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


def _short_fleet_day(n_stops: int, trucks: int) -> RoutingProblem:
    """``n_stops`` in a 20 km square, more than ``trucks`` 3 t trucks can serve in an 8 h shift
    with a lunch break; the station is open 06:00-15:00."""
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 20_000, size=(n_stops + 1, 2))
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(-1)).astype(np.int64)
    dur = dist // 8  # about 29 km/h
    stops = [
        Stop(f"P{i}", i, int(rng.integers(100, 600)), service_s=180, priority=1 + i % 3)
        for i in range(1, n_stops + 1)
    ]
    lunch = Lunch(duration_s=1800, window_start_s=11 * 3600, window_end_s=13 * 3600)
    vt = _vt(
        count=trucks,
        capacity_kg=3000,
        shift_start_s=6 * 3600,
        shift_end_s=14 * 3600,
        lunch=lunch,
        fixed_cost_cny=100.0,
        cost_cny_per_km=2.0,
        cost_cny_per_h=40.0,
    )
    station = Site("st", 0, open_s=6 * 3600, close_s=15 * 3600, unload_s=600)
    return RoutingProblem(dur, dist, [station], stops, [vt])


def test_a_short_fleet_drops_stops_by_the_search_not_by_the_re_timing():
    # the prizes (about 1e8 scaled CNY) are far above PyVRP's default penalty cap (1e5 per kg or
    # s): the search then never turned feasible and the re-timing cut its overfull routes
    problem = _short_fleet_day(60, trucks=1)
    sol = get_engine("pyvrp").solve(problem, SolveParams(time_limit_s=20, work_s=8), seed=1)
    assert verify(problem, sol) == []
    assert sol.stats["pyvrp_feasible"] is True
    assert sol.unserved
    assert {u.reason for u in sol.unserved} == {UnservedReason.FLEET_EXHAUSTED}
