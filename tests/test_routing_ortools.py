"""OR-Tools engine: tiny instances with known optima; each routing feature binds; verified."""

from __future__ import annotations

import pytest
from routing_helpers import line_matrices as _line
from routing_helpers import truck as _vt

from sanitation.engines import get_engine, solve
from sanitation.routing.engine import SolveParams
from sanitation.routing.ortools_engine import OrToolsEngine
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop
from sanitation.routing.screen import UnservedReason
from sanitation.routing.solution import RoutingSolution, objective
from sanitation.verify.routing import verify

# deterministic: the solution limit ends the search long before the time limit
PARAMS = SolveParams(time_limit_s=20, max_iterations=400)
# break intervals make each search step dearer: fewer steps suffice on these tiny days
LUNCH_PARAMS = SolveParams(time_limit_s=20, max_iterations=40)


def _solve(problem: RoutingProblem, params: SolveParams = PARAMS) -> RoutingSolution:
    sol = OrToolsEngine().solve(problem, params, seed=1)
    assert verify(problem, sol) == []
    assert sol.engine == "ortools"
    return sol


def test_registry_returns_the_engine():
    assert isinstance(get_engine("ortools"), OrToolsEngine)


def test_reload_appears_when_capacity_binds():
    dur, dist = _line([0, 1, 2, 3])
    stops = [Stop(f"S{i}", i, 5) for i in (1, 2, 3)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(capacity_kg=10)])
    sol = _solve(problem)
    route = sol.routes[0]
    assert len(sol.routes) == 1
    assert route.n_unloads == 2  # one reload on the way, one final unload
    assert max(v.load_after_kg for v in route.visits) == 10
    assert route.distance_m == 8000  # optimum: 0-3-2-0 (reload) -1-0
    assert sol.cost_cny == pytest.approx(8.0)
    loose = _solve(problem.replace(vehicle_types=[_vt(capacity_kg=15)]))
    assert loose.routes[0].n_unloads == 1
    assert loose.cost_cny == pytest.approx(6.0)


def test_every_route_ends_empty_at_the_best_allowed_site():
    # stops at 5 and 6 km, landfill "L" at 7 km, station site "far" on the other side (-5 km);
    # capacity forces two trips: 0-A-L-B-L-0 (16 km) beats finishing at "far" (24 km)
    dur, dist = _line([0, 5, 6, 7, -5])
    sites = [Site("st", 0), Site("L", 3, unload_s=60), Site("far", 4, unload_s=60)]
    stops = [Stop("A", 1, 6), Stop("B", 2, 6)]
    vt = _vt(capacity_kg=10, unload_sites=("far", "L"))
    sol = _solve(RoutingProblem(dur, dist, sites, stops, [vt]))
    route = sol.routes[0]
    assert route.visits[-1].kind == "unload"
    assert route.visits[-1].load_after_kg == 0
    assert [v.id for v in route.visits if v.kind == "unload"] == ["L", "L"]
    assert route.distance_m == 16_000
    # a type not allowed to use "L" must haul to "far"
    only_far = _solve(RoutingProblem(dur, dist, sites, stops, [_vt(unload_sites=("far",))]))
    assert {v.id for v in only_far.routes[0].visits if v.kind == "unload"} == {"far"}


def test_unload_site_hours_bind():
    dur, dist = _line([0, 1, 2])
    # the landfill opens at 1000 s: the truck waits there (start_s >= open_s)
    sites = [Site("st", 0), Site("L", 2, open_s=1000, close_s=5000, unload_s=300)]
    vt = _vt(unload_sites=("L",))
    sol = _solve(RoutingProblem(dur, dist, sites, [Stop("A", 1, 5)], [vt]))
    unload = sol.routes[0].visits[-1]
    assert unload.start_s >= 1000
    assert unload.departure_s == unload.start_s + 300


def test_seeded_solves_are_exact_and_repeatable():
    dur, dist = _line([0, 1, 2, 3, -1, -2])
    stops = [Stop(f"S{i}", i, 4) for i in range(1, 6)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(capacity_kg=12)])
    sols = [_solve(problem) for _ in range(2)]
    # 3+3 km out and back to the right (12 kg), 2+2 to the left (8 kg): 10 km in total
    assert [s.cost_cny for s in sols] == [10.0, 10.0]
    assert sols[0].routes == sols[1].routes


def test_time_windows_bind():
    dur, dist = _line([0, 2, 4])
    # without windows the truck goes out to B (4 km) collecting A on the way;
    # B must be served by 300 s (it is 240 s away), A after 600 s: order B, A
    stops = [Stop("A", 1, 1, tw_open_s=600), Stop("B", 2, 1, tw_close_s=300)]
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt()]))
    visits = sol.routes[0].visits
    assert [v.id for v in visits] == ["B", "A", "st"]
    assert visits[0].start_s <= 300
    assert visits[1].start_s >= 600


def test_time_windows_force_a_second_vehicle():
    dur, dist = _line([0, 2, -2])
    stops = [Stop("A", 1, 1, tw_close_s=300), Stop("B", 2, 1, tw_close_s=300)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(count=2, fixed_cost_cny=10.0)])
    sol = _solve(problem)
    assert len(sol.routes) == 2
    assert sol.cost_cny == pytest.approx(2 * 10 + 8)
    loose = _solve(problem.replace(stops=[Stop("A", 1, 1), Stop("B", 2, 1)]))
    assert len(loose.routes) == 1


def test_lunch_lies_inside_its_window_and_binds():
    dur, dist = _line([0, 1, 2])
    lunch = Lunch(3600, 10 * 3600, 12 * 3600)
    # A starts 10:00-10:20 (10 min service), B 11:15-11:30: lunch cannot come before A (it
    # would end after 11:00) nor after B (it would end after 12:00), so it sits between them
    stops = [
        Stop("A", 1, 1, service_s=600, tw_open_s=36_000, tw_close_s=37_200),
        Stop("B", 2, 1, service_s=600, tw_open_s=40_500, tw_close_s=41_400),
    ]
    vt = _vt(shift_start_s=8 * 3600, shift_end_s=16 * 3600, lunch=lunch, cost_cny_per_h=30.0)
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt]), LUNCH_PARAMS)
    assert sol.unserved == ()
    route = sol.routes[0]
    ls = route.lunch_start_s
    assert ls is not None
    assert lunch.window_start_s <= ls <= lunch.latest_start_s
    assert [v.id for v in route.visits] == ["A", "B", "st"]
    assert route.lunch_after_visit == 0
    a, b = route.visits[0], route.visits[1]
    assert a.departure_s <= ls
    assert ls + lunch.duration_s <= b.start_s


def test_lunch_keeps_a_short_route_on_duty():
    # one nearby stop at 06:00; the lunch window is 11:00-13:00, so the truck cannot be back
    # before 12:00 (lunch on the route) and pays the hours
    dur, dist = _line([0, 1])
    vt = _vt(
        shift_start_s=6 * 3600,
        shift_end_s=16 * 3600,
        lunch=Lunch(3600, 11 * 3600, 13 * 3600),
        cost_cny_per_h=10.0,
    )
    stop = Stop("A", 1, 1, tw_open_s=6 * 3600, tw_close_s=6 * 3600 + 600)
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], [stop], [vt]), LUNCH_PARAMS)
    route = sol.routes[0]
    assert route.depot_return_s >= 12 * 3600
    assert route.lunch_start_s is not None


def test_access_class_binds():
    dur, dist = _line([0, 1, 2])
    stops = [Stop("lane", 1, 1, allowed_vehicle_types=frozenset({"small"})), Stop("road", 2, 1)]
    fleet = [_vt(id="big", fixed_cost_cny=1.0), _vt(id="small", fixed_cost_cny=100.0)]
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], stops, fleet))
    # the expensive small truck is needed for the lane; it takes the road stop too
    assert [(r.vehicle_type, sorted(r.stop_ids)) for r in sol.routes] == [
        ("small", ["lane", "road"])
    ]
    no_small = RoutingProblem(
        dur, dist, [Site("st", 0)], stops, [_vt(id="big"), _vt(id="small", count=0)]
    )
    sol2 = _solve(no_small)
    assert [u.stop_id for u in sol2.unserved] == ["lane"]
    assert sol2.unserved[0].reason is UnservedReason.NO_VEHICLE_TYPE
    assert sol2.routes[0].stop_ids == ["road"]


def test_lowest_priority_dropped_first():
    dur, dist = _line([0, 1, -1, 2])
    # 1 truck, capacity 10, one trip only: two of the three stops fit
    stops = [
        Stop("P1", 1, 5, priority=1),
        Stop("P2", 2, 5, priority=2),
        Stop("P3", 3, 5, priority=3),
    ]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(capacity_kg=10, max_trips=1)])
    sol = _solve(problem)
    assert [u.stop_id for u in sol.unserved] == ["P1"]
    assert sol.unserved[0].reason is UnservedReason.FLEET_EXHAUSTED
    assert sorted(sol.routes[0].stop_ids) == ["P2", "P3"]
    assert objective(problem, sol) == pytest.approx(sol.cost_cny + problem.unserved_penalty("P1"))


def test_unreachable_stops_are_reported_with_reasons():
    dur, dist = _line([0, 1, 50])
    stops = [
        Stop("heavy", 1, 500),
        Stop("late", 2, 1, tw_close_s=60),  # 50 km away: 3000 s to get there
        Stop("ok", 1, 1),
    ]
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt()]))
    reasons = {u.stop_id: u.reason for u in sol.unserved}
    assert set(reasons) == {"heavy", "late"}
    assert reasons["heavy"] is UnservedReason.LOAD_ABOVE_CAPACITY
    assert reasons["late"] is UnservedReason.TIME_WINDOW_UNREACHABLE
    assert sol.routes[0].stop_ids == ["ok"]


def test_daily_limits_bind():
    dur, dist = _line([0, 1, 2, 3])
    stops = [Stop(f"S{i}", i, 4) for i in (1, 2, 3)]
    two = [_vt(count=2, capacity_kg=100, max_load_per_day_kg=8, fixed_cost_cny=5.0)]
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], stops, two))
    assert len(sol.routes) == 2
    assert all(sum(4 for _ in r.stop_ids) <= 8 for r in sol.routes)
    stops_cap = [_vt(count=2, max_stops=1, fixed_cost_cny=5.0)]
    sol2 = _solve(RoutingProblem(dur, dist, [Site("st", 0)], stops, stops_cap))
    assert len(sol2.unserved) == 1
    assert all(len(r.stop_ids) == 1 for r in sol2.routes)


def test_max_duration_binds():
    dur, dist = _line([0, 10, -10])
    stops = [Stop("E", 1, 1), Stop("W", 2, 1)]
    # a single route E+W lasts 40 min = 2400 s; the limit forces two vehicles
    vt = _vt(count=2, max_duration_s=1500, fixed_cost_cny=1.0)
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt]))
    assert len(sol.routes) == 2
    assert all(r.duration_s <= 1500 for r in sol.routes)


def test_cost_per_hour_and_fixed_cost_are_charged():
    dur, dist = _line([0, 3])
    vt = _vt(fixed_cost_cny=50.0, cost_cny_per_km=2.0, cost_cny_per_h=36.0)
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], [Stop("A", 1, 1, service_s=120)], [vt]))
    # 6 km, 360 s driving + 120 s service = 480 s
    assert sol.cost_cny == pytest.approx(50.0 + 2.0 * 6 + 36.0 * 480 / 3600)


def test_minimise_vehicles_first():
    dur, dist = _line([0, 5, -5])
    # one truck doing both waits 2100 s for W; two trucks are cheaper at 100 CNY per hour
    stops = [Stop("E", 1, 1, tw_close_s=600), Stop("W", 2, 1, tw_open_s=3000)]
    problem = RoutingProblem(
        dur, dist, [Site("st", 0)], stops, [_vt(count=2, cost_cny_per_h=100.0)]
    )
    assert len(_solve(problem).routes) == 2
    fewer = _solve(problem.replace(minimise_vehicles_first=True))
    assert len(fewer.routes) == 1


def test_engine_options_and_registry_solve():
    dur, dist = _line([0, 1, 2])
    problem = RoutingProblem(
        dur, dist, [Site("st", 0)], [Stop("A", 1, 1), Stop("B", 2, 1)], [_vt()]
    )
    for meta in ("GUIDED_LOCAL_SEARCH", "ITERATED_LOCAL_SEARCH"):
        params = SolveParams(time_limit_s=20, max_iterations=50, options={"metaheuristic": meta})
        sol = solve(problem, params, engine="ortools")
        assert sol.cost_cny == pytest.approx(4.0)
    with pytest.raises(ValueError, match="unknown metaheuristic"):
        OrToolsEngine().solve(
            problem, SolveParams(time_limit_s=1, options={"metaheuristic": "NOPE"}), seed=1
        )


def test_vehicles_whose_shift_cannot_hold_lunch_are_left_out():
    dur, dist = _line([0, 1])
    lunch = Lunch(3600, 11 * 3600, 13 * 3600)
    early = _vt(id="early", shift_start_s=5 * 3600, shift_end_s=10 * 3600, lunch=lunch)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], [Stop("A", 1, 1)], [early])
    sol = _solve(problem, LUNCH_PARAMS)
    assert sol.routes == ()
    assert [u.stop_id for u in sol.unserved] == ["A"]
    day = _vt(id="day", shift_start_s=8 * 3600, shift_end_s=16 * 3600, lunch=lunch)
    sol2 = _solve(problem.replace(vehicle_types=[early, day]), LUNCH_PARAMS)
    assert [r.vehicle_type for r in sol2.routes] == ["day"]


def test_reload_bound_day_is_served_from_the_multi_trip_construction():
    # eight stops of 4 kg, capacity 10: four trips; the default runs include the construction
    dur, dist = _line([0, *[1 + 0.5 * i for i in range(8)]])
    stops = [Stop(f"S{i}", i, 4, service_s=30) for i in range(1, 9)]
    lunch = Lunch(1800, 3600, 7200)
    vt = _vt(capacity_kg=10, lunch=lunch, shift_end_s=40_000)
    problem = RoutingProblem(dur, dist, [Site("st", 0, unload_s=120)], stops, [vt])
    sol = _solve(problem, LUNCH_PARAMS)
    assert sol.unserved == ()
    assert sol.routes[0].n_unloads == 4
    runs = sol.stats["runs"]
    assert [r["first_solution"] for r in runs] == ["CONSTRUCTION", "SAVINGS"]
    assert runs[0]["construct_stops"] == 8
    forced = OrToolsEngine().solve(
        problem,
        SolveParams(
            time_limit_s=20,
            max_iterations=40,
            options={"metaheuristic": "GUIDED_LOCAL_SEARCH", "construct": True},
        ),
        seed=1,
    )
    assert verify(problem, forced) == []
    assert forced.unserved == ()


def test_polish_drops_redundant_unloads():
    from sanitation.routing.ortools_engine import _clean_unloads
    from sanitation.routing.schedule import build_route

    dur, dist = _line([0, 1, 2])
    sites = [Site("st", 0, unload_s=60)]
    problem = RoutingProblem(dur, dist, sites, [Stop("A", 1, 5), Stop("B", 2, 5)], [_vt()])
    seq = [("stop", "A"), ("unload", "st"), ("unload", "st"), ("stop", "B"), ("unload", "st")]
    route = build_route(problem, "truck", 0, seq, final_unload=False)
    polished = _clean_unloads(problem, route)
    assert [v.kind for v in polished.visits] == ["stop", "unload", "stop", "unload"]
    assert polished.cost_cny <= route.cost_cny
