"""PyVRP engine: tiny instances with known optima; each routing feature binds."""

from __future__ import annotations

import pytest
from routing_helpers import S_PER_KM
from routing_helpers import line_matrices as _line
from routing_helpers import truck as _vt

from sanitation.engines import get_engine, solve
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop
from sanitation.routing.screen import UnservedReason
from sanitation.routing.solution import objective
from sanitation.verify.routing import verify

# deterministic: the iteration cap ends the search long before the time limit
PARAMS = SolveParams(time_limit_s=20, max_iterations=300)


def _solve(problem: RoutingProblem, seed: int = 1):
    sol = get_engine("pyvrp").solve(problem, PARAMS, seed=seed)
    assert verify(problem, sol) == []
    return sol


def test_reload_appears_when_capacity_binds():
    dur, dist = _line([0, 1, 2, 3])
    stops = [Stop(f"S{i}", i, 5) for i in (1, 2, 3)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(capacity_kg=10)])
    sol = _solve(problem)
    assert len(sol.routes) == 1
    route = sol.routes[0]
    assert route.n_unloads == 2  # one reload on the way, one final unload
    assert route.distance_m == 8000  # optimum: 0-3-2-0 (reload) -1-0, or 0-2-3-0-1-0
    assert sol.cost_cny == pytest.approx(8.0)
    # without the capacity limit a single trip of 6 km suffices
    loose = problem.replace(vehicle_types=[_vt(capacity_kg=15)])
    sol2 = _solve(loose)
    assert sol2.routes[0].n_unloads == 1
    assert sol2.cost_cny == pytest.approx(6.0)


def test_seeded_solves_are_exact_and_repeatable():
    dur, dist = _line([0, 1, 2, 3, -1, -2])
    stops = [Stop(f"S{i}", i, 4) for i in range(1, 6)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(capacity_kg=12)])
    costs = [_solve(problem, seed).cost_cny for seed in (1, 2, 3)]
    # 3+3 km out and back to the right (12 kg), 2+2 to the left (8 kg): 10 km in total
    assert costs == [10.0, 10.0, 10.0]


def test_time_windows_force_a_second_vehicle():
    dur, dist = _line([0, 2, -2])
    stops = [Stop("A", 1, 1, tw_close_s=300), Stop("B", 2, 1, tw_close_s=300)]
    vt = _vt(count=2, fixed_cost_cny=10.0)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt])
    sol = _solve(problem)
    assert len(sol.routes) == 2
    assert sol.cost_cny == pytest.approx(2 * 10 + 8)
    loose = problem.replace(stops=[Stop("A", 1, 1), Stop("B", 2, 1)])
    assert len(_solve(loose).routes) == 1


def test_lunch_is_inside_its_window_and_counted_in_the_duration():
    dur, dist = _line([0, 1])
    stops = [Stop("A", 1, 1, service_s=60, tw_open_s=3600, tw_close_s=3700)]
    vt = _vt(lunch=Lunch(1800, 3600, 7200), cost_cny_per_h=36.0, cost_cny_per_km=0.0)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt])
    sol = _solve(problem)
    route = sol.routes[0]
    assert route.lunch_start_s is not None
    assert 3600 <= route.lunch_start_s <= 7200 - 1800
    assert route.lunch_start_s >= route.visits[0].departure_s  # after the stop
    assert route.duration_s == 2 * S_PER_KM + 60 + 1800
    assert sol.cost_cny == pytest.approx(36.0 * route.duration_s / 3600)


def test_access_class_sends_narrow_lane_stop_to_small_truck():
    dur, dist = _line([0, 1, 2])
    small_dur = dur * 2  # small trucks use their own (slower) profile
    stops = [Stop("wide", 1, 1), Stop("narrow", 2, 1, allowed_vehicle_types=frozenset({"small"}))]
    big = _vt(id="big", fixed_cost_cny=1.0)
    small = _vt(id="small", profile=1, fixed_cost_cny=50.0)
    problem = RoutingProblem([dur, small_dur], [dist, dist], [Site("st", 0)], stops, [big, small])
    sol = _solve(problem)
    by_type = {r.vehicle_type: r.stop_ids for r in sol.routes}
    assert "narrow" in by_type["small"]
    small_route = next(r for r in sol.routes if r.vehicle_type == "small")
    assert small_route.duration_s >= 2 * 2 * S_PER_KM * 2 - 1  # travelled on profile 1


def test_unserved_drops_lowest_priority_first_with_reasons():
    dur, dist = _line([0, 1, 1, 1, 1, 1])
    stops = [
        Stop("P1", 1, 5, priority=1),
        Stop("P3", 2, 5, priority=3),
        Stop("P2", 3, 5, priority=2),
        Stop("heavy", 4, 500, priority=5),
        Stop("nobody", 5, 1, priority=5, allowed_vehicle_types=frozenset({"ghost"})),
    ]
    vt = _vt(capacity_kg=10, max_trips=1)
    ghost = _vt(id="ghost", count=0)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt, ghost])
    sol = _solve(problem)
    reasons = {u.stop_id: u.reason for u in sol.unserved}
    assert reasons == {
        "P1": UnservedReason.FLEET_EXHAUSTED,
        "heavy": UnservedReason.LOAD_ABOVE_CAPACITY,
        "nobody": UnservedReason.NO_VEHICLE_TYPE,
    }
    assert sorted(sol.routes[0].stop_ids) == ["P2", "P3"]
    assert objective(problem, sol) > problem.route_cost_bound_cny


def test_final_unload_goes_to_an_allowed_site_before_the_depot():
    dur, dist = _line([0, 3, 4])
    sites = [Site("garage", 0), Site("landfill", 2, unload_s=300)]
    stops = [Stop("A", 1, 5)]
    vt = _vt(depot="garage", unload_sites=("landfill",))
    problem = RoutingProblem(dur, dist, sites, stops, [vt])
    sol = _solve(problem)
    visits = sol.routes[0].visits
    assert [(v.kind, v.id) for v in visits] == [("stop", "A"), ("unload", "landfill")]
    assert sol.cost_cny == pytest.approx(8.0)


def test_solve_helper_verifies_and_minimise_vehicles_adds_weight():
    dur, dist = _line([0, 1, -1])
    stops = [Stop("A", 1, 1), Stop("B", 2, 1)]
    problem = RoutingProblem(
        dur, dist, [Site("st", 0)], stops, [_vt(count=2)], minimise_vehicles_first=True
    )
    sol = solve(problem, PARAMS, seed=1, engine="pyvrp")
    assert len(sol.routes) == 1
    assert objective(problem, sol) == pytest.approx(sol.cost_cny + problem.vehicle_weight)


def test_daily_load_limit_binds():
    dur, dist = _line([0, 1, 2, -1, -2])
    stops = [Stop(f"S{i}", i, 6) for i in range(1, 5)]
    # capacity 12 would allow 2 stops per trip and 4 in two trips; the day limit allows 2 stops
    vt = _vt(count=2, capacity_kg=12, max_load_per_day_kg=12, fixed_cost_cny=5.0)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt])
    sol = _solve(problem)
    assert len(sol.routes) == 2
    assert all(len(r.stop_ids) == 2 for r in sol.routes)
    assert sol.cost_cny == pytest.approx(2 * 5 + 8)
    free = problem.replace(vehicle_types=[_vt(count=2, capacity_kg=12, fixed_cost_cny=5.0)])
    assert len(_solve(free).routes) == 1


def test_daily_limit_above_capacity_uses_uneven_trips():
    dur, dist = _line([0, 1, 1, 1, -1, -1, -1])
    stops = [Stop(f"S{i}", i, 5) for i in range(1, 7)]
    # 15 kg a day in trips of at most 10: one trip of 10 and one of 5 per vehicle, 2 vehicles
    vt = _vt(count=3, capacity_kg=10, max_load_per_day_kg=15, fixed_cost_cny=100.0)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt])
    sol = _solve(problem)
    assert len(sol.routes) == 2
    assert sorted(r.n_unloads for r in sol.routes) == [2, 2]
    assert "relaxed-day-limit won" in sol.stats["pyvrp_phases"]
