"""The routing-engine contract, one suite for every engine: tiny instances with known optima, each
routing feature binding, every solution verified. Engine-specific behaviour is tested in
``test_routing_ortools.py``, ``test_routing_pyvrp.py`` and ``test_routing_portfolio.py``."""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterator

import pytest
from routing_helpers import S_PER_KM, twelve_points
from routing_helpers import line_matrices as _line
from routing_helpers import truck as _vt

from sanitation.engines import ENGINES, get_engine, solve
from sanitation.engines.portfolio import PortfolioEngine, _default_context
from sanitation.engines.pyvrp_pair import PyVRPPairEngine
from sanitation.routing.engine import Engine, SolveParams
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop
from sanitation.routing.screen import UnservedReason
from sanitation.routing.solution import RoutingSolution, objective
from sanitation.verify.routing import verify

# deterministic: the iteration caps end the searches long before the time limit
ITERATIONS = {"pyvrp": 300, "ortools": 400, "portfolio": 300, "pyvrp2": 300}
# break intervals make each OR-Tools search step dearer: fewer steps suffice on these tiny days
LUNCH_ITERATIONS = {"pyvrp": 300, "ortools": 40, "portfolio": 40, "pyvrp2": 300}

Solver = Callable[..., RoutingSolution]


@pytest.fixture(scope="module")
def pool() -> Iterator[cf.Executor]:
    """One warm process pool for every portfolio and pyvrp2 solve of this module."""
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=_default_context()) as executor:
        yield executor


@pytest.fixture(params=["pyvrp", "ortools", "portfolio", "pyvrp2"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(engine: str, pool: cf.Executor) -> Solver:
    """Solve with the engine under test (seeded, iteration-capped) and verify the result."""

    def _run(problem: RoutingProblem, *, seed: int = 1, lunch: bool = False) -> RoutingSolution:
        caps = LUNCH_ITERATIONS if lunch else ITERATIONS
        params = SolveParams(time_limit_s=20, max_iterations=caps[engine])
        impl = _engine(engine, pool)
        sol = impl.solve(problem, params, seed=seed)
        assert verify(problem, sol) == []
        assert sol.engine == engine
        return sol

    return _run


def _engine(name: str, pool: cf.Executor) -> Engine:
    """The engine on the warm pool; pyvrp2 runs both searches even on these tiny days."""
    if name == "portfolio":
        return PortfolioEngine(executor=pool)
    if name == "pyvrp2":
        return PyVRPPairEngine(executor=pool, min_stops=1)
    return get_engine(name)


def test_registry_names_every_engine(engine: str):
    assert engine in ENGINES
    assert get_engine(engine).name == engine


def test_reload_appears_when_capacity_binds(run: Solver):
    dur, dist = _line([0, 1, 2, 3])
    stops = [Stop(f"S{i}", i, 5) for i in (1, 2, 3)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(capacity_kg=10)])
    sol = run(problem)
    assert len(sol.routes) == 1
    route = sol.routes[0]
    assert route.n_unloads == 2  # one reload on the way, one final unload
    assert max(v.load_after_kg for v in route.visits) == 10
    assert route.distance_m == 8000  # optimum: 0-3-2-0 (reload) -1-0, or 0-2-3-0-1-0
    assert sol.cost_cny == pytest.approx(8.0)
    # without the capacity limit a single trip of 6 km suffices
    loose = run(problem.replace(vehicle_types=[_vt(capacity_kg=15)]))
    assert loose.routes[0].n_unloads == 1
    assert loose.cost_cny == pytest.approx(6.0)


def test_seeded_solves_are_exact_and_repeatable(run: Solver):
    dur, dist = _line([0, 1, 2, 3, -1, -2])
    stops = [Stop(f"S{i}", i, 4) for i in range(1, 6)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(capacity_kg=12)])
    sols = [run(problem, seed=seed) for seed in (1, 2, 3)]
    # 3+3 km out and back to the right (12 kg), 2+2 to the left (8 kg): 10 km in total
    assert [s.cost_cny for s in sols] == [10.0, 10.0, 10.0]
    assert run(problem, seed=1).routes == sols[0].routes


#: seeded, iteration-capped costs (CNY) of `_twelve_points`, pinned: a change in an engine's
#: model or search shows up here (re-pin only for a change meant to alter the search)
PINNED_COST_CNY = {
    ("pyvrp", False): 317.508,
    ("ortools", False): 317.508,
    ("portfolio", False): 317.508,
    ("pyvrp", True): 337.508,
    ("ortools", True): 352.926222,
    # the portfolio's lunch run caps both engines at 40 iterations: OR-Tools' plan wins
    ("portfolio", True): 352.926222,
    # the better of seeds 1 and 2 (here seed 1's, as PyVRP's alone)
    ("pyvrp2", False): 317.508,
    ("pyvrp2", True): 337.508,
}


@pytest.mark.parametrize("with_lunch", [False, True])
def test_seeded_costs_are_pinned(engine: str, run: Solver, with_lunch: bool):
    lunch = Lunch(1800, 11 * 3600, 13 * 3600) if with_lunch else None
    sol = run(twelve_points(lunch), lunch=with_lunch)
    assert round(sol.cost_cny, 6) == PINNED_COST_CNY[(engine, with_lunch)]
    assert sol.unserved == ()


def test_time_windows_bind(run: Solver):
    dur, dist = _line([0, 2, 4])
    # without windows the truck goes out to B (4 km) collecting A on the way;
    # B must be served by 300 s (it is 240 s away), A after 600 s: order B, A
    stops = [Stop("A", 1, 1, tw_open_s=600), Stop("B", 2, 1, tw_close_s=300)]
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt()]))
    visits = sol.routes[0].visits
    assert [v.id for v in visits] == ["B", "A", "st"]
    assert visits[0].start_s <= 300
    assert visits[1].start_s >= 600


def test_time_windows_force_a_second_vehicle(run: Solver):
    dur, dist = _line([0, 2, -2])
    stops = [Stop("A", 1, 1, tw_close_s=300), Stop("B", 2, 1, tw_close_s=300)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(count=2, fixed_cost_cny=10.0)])
    sol = run(problem)
    assert len(sol.routes) == 2
    assert sol.cost_cny == pytest.approx(2 * 10 + 8)
    loose = run(problem.replace(stops=[Stop("A", 1, 1), Stop("B", 2, 1)]))
    assert len(loose.routes) == 1


def test_unload_site_hours_bind(run: Solver):
    dur, dist = _line([0, 1, 2])
    # the landfill opens at 1000 s: the truck waits there (start_s >= open_s)
    sites = [Site("st", 0), Site("L", 2, open_s=1000, close_s=5000, unload_s=300)]
    vt = _vt(unload_sites=("L",))
    sol = run(RoutingProblem(dur, dist, sites, [Stop("A", 1, 5)], [vt]))
    unload = sol.routes[0].visits[-1]
    assert unload.start_s >= 1000
    assert unload.departure_s == unload.start_s + 300


# PyVRP (300 iterations) ends this day with 0-B-L-A-L-0 (18 km), not the optimum
@pytest.mark.parametrize("engine", ["ortools", "portfolio"])
def test_every_route_ends_empty_at_the_best_allowed_site(run: Solver):
    # stops at 5 and 6 km, landfill "L" at 7 km, station site "far" on the other side (-5 km);
    # capacity forces two trips: 0-A-L-B-L-0 (16 km) beats finishing at "far" (24 km)
    dur, dist = _line([0, 5, 6, 7, -5])
    sites = [Site("st", 0), Site("L", 3, unload_s=60), Site("far", 4, unload_s=60)]
    stops = [Stop("A", 1, 6), Stop("B", 2, 6)]
    vt = _vt(capacity_kg=10, unload_sites=("far", "L"))
    sol = run(RoutingProblem(dur, dist, sites, stops, [vt]))
    route = sol.routes[0]
    assert route.visits[-1].kind == "unload"
    assert route.visits[-1].load_after_kg == 0
    assert [v.id for v in route.visits if v.kind == "unload"] == ["L", "L"]
    assert route.distance_m == 16_000
    # a type not allowed to use "L" must haul to "far"
    only_far = run(RoutingProblem(dur, dist, sites, stops, [_vt(unload_sites=("far",))]))
    assert {v.id for v in only_far.routes[0].visits if v.kind == "unload"} == {"far"}


def test_final_unload_goes_to_an_allowed_site_before_the_depot(run: Solver):
    dur, dist = _line([0, 3, 4])
    sites = [Site("garage", 0), Site("landfill", 2, unload_s=300)]
    vt = _vt(depot="garage", unload_sites=("landfill",))
    sol = run(RoutingProblem(dur, dist, sites, [Stop("A", 1, 5)], [vt]))
    visits = sol.routes[0].visits
    assert [(v.kind, v.id) for v in visits] == [("stop", "A"), ("unload", "landfill")]
    assert sol.cost_cny == pytest.approx(8.0)


def test_lunch_is_inside_its_window_and_counted_in_the_duration(run: Solver):
    dur, dist = _line([0, 1])
    stops = [Stop("A", 1, 1, service_s=60, tw_open_s=3600, tw_close_s=3700)]
    vt = _vt(lunch=Lunch(1800, 3600, 7200), cost_cny_per_h=36.0, cost_cny_per_km=0.0)
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt]), lunch=True)
    route = sol.routes[0]
    assert route.lunch_start_s is not None
    assert 3600 <= route.lunch_start_s <= 7200 - 1800
    assert route.lunch_start_s >= route.visits[0].departure_s  # after the stop
    assert route.duration_s == 2 * S_PER_KM + 60 + 1800
    assert sol.cost_cny == pytest.approx(36.0 * route.duration_s / 3600)


def test_lunch_lies_inside_its_window_and_binds(run: Solver):
    dur, dist = _line([0, 1, 2])
    lunch = Lunch(3600, 10 * 3600, 12 * 3600)
    # A starts 10:00-10:20 (10 min service), B 11:15-11:30: lunch cannot come before A (it
    # would end after 11:00) nor after B (it would end after 12:00), so it sits between them
    stops = [
        Stop("A", 1, 1, service_s=600, tw_open_s=36_000, tw_close_s=37_200),
        Stop("B", 2, 1, service_s=600, tw_open_s=40_500, tw_close_s=41_400),
    ]
    vt = _vt(shift_start_s=8 * 3600, shift_end_s=16 * 3600, lunch=lunch, cost_cny_per_h=30.0)
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt]), lunch=True)
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


def test_lunch_keeps_a_short_route_on_duty(run: Solver):
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
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], [stop], [vt]), lunch=True)
    route = sol.routes[0]
    assert route.depot_return_s >= 12 * 3600
    assert route.lunch_start_s is not None


# PyVRP reserves the break in front of every late window (its model cannot hold this visit)
@pytest.mark.parametrize("engine", ["ortools", "portfolio"])
def test_stop_waiting_for_its_window_near_the_shift_end_is_served(run: Solver):
    # the window opens 20 min before the shift ends: the break (11:00-13:00) is taken early and
    # does not push the return late, so the screening keeps the stop
    dur, dist = _line([0, 1])
    lunch = Lunch(1800, 11 * 3600, 13 * 3600)
    vt = _vt(shift_start_s=6 * 3600, shift_end_s=16 * 3600, lunch=lunch)
    stop = Stop("late", 1, 1, service_s=300, tw_open_s=15 * 3600 + 40 * 60, tw_close_s=16 * 3600)
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], [stop], [vt]), lunch=True)
    assert sol.unserved == ()
    assert sol.routes[0].stop_ids == ["late"]


def test_vehicles_whose_shift_cannot_hold_lunch_are_left_out(run: Solver):
    dur, dist = _line([0, 1])
    lunch = Lunch(3600, 11 * 3600, 13 * 3600)
    early = _vt(id="early", shift_start_s=5 * 3600, shift_end_s=10 * 3600, lunch=lunch)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], [Stop("A", 1, 1)], [early])
    sol = run(problem, lunch=True)
    assert sol.routes == ()
    assert [(u.stop_id, u.reason) for u in sol.unserved] == [
        ("A", UnservedReason.NO_TIME_TO_UNLOAD)
    ]
    day = _vt(id="day", shift_start_s=8 * 3600, shift_end_s=16 * 3600, lunch=lunch)
    sol2 = run(problem.replace(vehicle_types=[early, day]), lunch=True)
    assert [r.vehicle_type for r in sol2.routes] == ["day"]


def test_reload_bound_day_with_lunch_is_served(run: Solver):
    # eight stops of 4 kg, capacity 10: four trips, with a lunch break
    dur, dist = _line([0, *[1 + 0.5 * i for i in range(8)]])
    stops = [Stop(f"S{i}", i, 4, service_s=30) for i in range(1, 9)]
    vt = _vt(capacity_kg=10, lunch=Lunch(1800, 3600, 7200), shift_end_s=40_000)
    problem = RoutingProblem(dur, dist, [Site("st", 0, unload_s=120)], stops, [vt])
    sol = run(problem, lunch=True)
    assert sol.unserved == ()
    assert sol.routes[0].n_unloads == 4


def test_access_class_sends_narrow_lane_stop_to_small_truck(run: Solver):
    dur, dist = _line([0, 1, 2])
    small_dur = dur * 2  # small trucks use their own (slower) profile
    stops = [Stop("wide", 1, 1), Stop("narrow", 2, 1, allowed_vehicle_types=frozenset({"small"}))]
    big = _vt(id="big", fixed_cost_cny=1.0)
    small = _vt(id="small", profile=1, fixed_cost_cny=50.0)
    problem = RoutingProblem([dur, small_dur], [dist, dist], [Site("st", 0)], stops, [big, small])
    sol = run(problem)
    by_type = {r.vehicle_type: r.stop_ids for r in sol.routes}
    assert "narrow" in by_type["small"]
    small_route = next(r for r in sol.routes if r.vehicle_type == "small")
    assert small_route.duration_s >= 2 * 2 * S_PER_KM * 2 - 1  # travelled on profile 1


def test_access_class_binds(run: Solver):
    dur, dist = _line([0, 1, 2])
    stops = [Stop("lane", 1, 1, allowed_vehicle_types=frozenset({"small"})), Stop("road", 2, 1)]
    fleet = [_vt(id="big", fixed_cost_cny=1.0), _vt(id="small", fixed_cost_cny=100.0)]
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], stops, fleet))
    # the expensive small truck is needed for the lane; it takes the road stop too
    assert [(r.vehicle_type, sorted(r.stop_ids)) for r in sol.routes] == [
        ("small", ["lane", "road"])
    ]
    no_small = RoutingProblem(
        dur, dist, [Site("st", 0)], stops, [_vt(id="big"), _vt(id="small", count=0)]
    )
    sol2 = run(no_small)
    assert [u.stop_id for u in sol2.unserved] == ["lane"]
    assert sol2.unserved[0].reason is UnservedReason.NO_VEHICLE_TYPE
    assert sol2.routes[0].stop_ids == ["road"]


def test_lowest_priority_dropped_first(run: Solver):
    dur, dist = _line([0, 1, -1, 2])
    # 1 truck, capacity 10, one trip only: two of the three stops fit
    stops = [
        Stop("P1", 1, 5, priority=1),
        Stop("P2", 2, 5, priority=2),
        Stop("P3", 3, 5, priority=3),
    ]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(capacity_kg=10, max_trips=1)])
    sol = run(problem)
    assert [u.stop_id for u in sol.unserved] == ["P1"]
    assert sol.unserved[0].reason is UnservedReason.FLEET_EXHAUSTED
    assert sorted(sol.routes[0].stop_ids) == ["P2", "P3"]
    assert objective(problem, sol) == pytest.approx(sol.cost_cny + problem.unserved_penalty("P1"))


def test_unserved_drops_lowest_priority_first_with_reasons(run: Solver):
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
    sol = run(problem)
    reasons = {u.stop_id: u.reason for u in sol.unserved}
    assert reasons == {
        "P1": UnservedReason.FLEET_EXHAUSTED,
        "heavy": UnservedReason.LOAD_ABOVE_CAPACITY,
        "nobody": UnservedReason.NO_VEHICLE_TYPE,
    }
    assert sorted(sol.routes[0].stop_ids) == ["P2", "P3"]
    assert objective(problem, sol) > problem.route_cost_bound_cny


def test_unreachable_stops_are_reported_with_reasons(run: Solver):
    dur, dist = _line([0, 1, 50])
    stops = [
        Stop("heavy", 1, 500),
        Stop("late", 2, 1, tw_close_s=60),  # 50 km away: 3000 s to get there
        Stop("ok", 1, 1),
    ]
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt()]))
    reasons = {u.stop_id: u.reason for u in sol.unserved}
    assert reasons == {
        "heavy": UnservedReason.LOAD_ABOVE_CAPACITY,
        "late": UnservedReason.TIME_WINDOW_UNREACHABLE,
    }
    assert sol.routes[0].stop_ids == ["ok"]


def test_daily_limits_bind(run: Solver):
    dur, dist = _line([0, 1, 2, 3])
    stops = [Stop(f"S{i}", i, 4) for i in (1, 2, 3)]
    two = [_vt(count=2, capacity_kg=100, max_load_per_day_kg=8, fixed_cost_cny=5.0)]
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], stops, two))
    assert len(sol.routes) == 2
    assert all(sum(4 for _ in r.stop_ids) <= 8 for r in sol.routes)


# PyVRP does not model max_stops: it repairs an over-long route by dropping stops (see its module)
@pytest.mark.parametrize("engine", ["ortools", "portfolio"])
def test_stop_limit_binds(run: Solver):
    dur, dist = _line([0, 1, 2, 3])
    stops = [Stop(f"S{i}", i, 4) for i in (1, 2, 3)]
    stops_cap = [_vt(count=2, max_stops=1, fixed_cost_cny=5.0)]
    sol2 = run(RoutingProblem(dur, dist, [Site("st", 0)], stops, stops_cap))
    assert len(sol2.unserved) == 1
    assert all(len(r.stop_ids) == 1 for r in sol2.routes)


def test_daily_load_limit_binds(run: Solver):
    dur, dist = _line([0, 1, 2, -1, -2])
    stops = [Stop(f"S{i}", i, 6) for i in range(1, 5)]
    # capacity 12 would allow 2 stops per trip and 4 in two trips; the day limit allows 2 stops
    vt = _vt(count=2, capacity_kg=12, max_load_per_day_kg=12, fixed_cost_cny=5.0)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt])
    sol = run(problem)
    assert len(sol.routes) == 2
    assert all(len(r.stop_ids) == 2 for r in sol.routes)
    assert sol.cost_cny == pytest.approx(2 * 5 + 8)
    free = problem.replace(vehicle_types=[_vt(count=2, capacity_kg=12, fixed_cost_cny=5.0)])
    assert len(run(free).routes) == 1


def test_daily_limit_above_capacity_uses_uneven_trips(run: Solver):
    dur, dist = _line([0, 1, 1, 1, -1, -1, -1])
    stops = [Stop(f"S{i}", i, 5) for i in range(1, 7)]
    # 15 kg a day in trips of at most 10: one trip of 10 and one of 5 per vehicle, 2 vehicles
    vt = _vt(count=3, capacity_kg=10, max_load_per_day_kg=15, fixed_cost_cny=100.0)
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt]))
    assert len(sol.routes) == 2
    assert sorted(r.n_unloads for r in sol.routes) == [2, 2]


def test_max_duration_binds(run: Solver):
    dur, dist = _line([0, 10, -10])
    stops = [Stop("E", 1, 1), Stop("W", 2, 1)]
    # a single route E+W lasts 40 min = 2400 s; the limit forces two vehicles
    vt = _vt(count=2, max_duration_s=1500, fixed_cost_cny=1.0)
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt]))
    assert len(sol.routes) == 2
    assert all(r.duration_s <= 1500 for r in sol.routes)


def test_cost_per_hour_and_fixed_cost_are_charged(run: Solver):
    dur, dist = _line([0, 3])
    vt = _vt(fixed_cost_cny=50.0, cost_cny_per_km=2.0, cost_cny_per_h=36.0)
    stop = Stop("A", 1, 1, service_s=120)
    sol = run(RoutingProblem(dur, dist, [Site("st", 0)], [stop], [vt]))
    # 6 km, 360 s driving + 120 s service = 480 s
    assert sol.cost_cny == pytest.approx(50.0 + 2.0 * 6 + 36.0 * 480 / 3600)


def test_minimise_vehicles_first(run: Solver):
    dur, dist = _line([0, 5, -5])
    # one truck doing both waits 2100 s for W; two trucks are cheaper at 100 CNY per hour
    stops = [Stop("E", 1, 1, tw_close_s=600), Stop("W", 2, 1, tw_open_s=3000)]
    fleet = [_vt(count=2, cost_cny_per_h=100.0)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, fleet)
    assert len(run(problem).routes) == 2
    fewer = run(problem.replace(minimise_vehicles_first=True))
    assert len(fewer.routes) == 1
    assert objective(problem.replace(minimise_vehicles_first=True), fewer) == pytest.approx(
        fewer.cost_cny + problem.replace(minimise_vehicles_first=True).vehicle_weight
    )


def test_registry_solve_verifies(engine: str):
    dur, dist = _line([0, 1, -1])
    stops = [Stop("A", 1, 1), Stop("B", 2, 1)]
    problem = RoutingProblem(
        dur, dist, [Site("st", 0)], stops, [_vt(count=2)], minimise_vehicles_first=True
    )
    params = SolveParams(time_limit_s=20, max_iterations=ITERATIONS[engine])
    sol = solve(problem, params, seed=1, engine=engine)
    assert len(sol.routes) == 1
    assert objective(problem, sol) == pytest.approx(sol.cost_cny + problem.vehicle_weight)
