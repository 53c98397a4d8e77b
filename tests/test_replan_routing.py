"""Trucks starting mid-day (a re-plan): a start site other than the depot and a load on board,
in both engines, the scheduler and the verifier; unused, the fields change nothing."""

from __future__ import annotations

import dataclasses

import pytest

from sanitation.engines import solve
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import RoutingProblem, Site, Stop
from sanitation.routing.schedule import build_route
from sanitation.routing.solution import RoutingSolution
from sanitation.verify.routing import verify
from tests.routing_helpers import line_matrices, truck

ENGINES = ["pyvrp", "ortools"]
PARAMS = SolveParams(time_limit_s=5.0, work_s=0.3)


def mid_day(initial_load_kg: int) -> RoutingProblem:
    """Depot and station at km 0, the truck stands at km 10 (site ``here``) at 10:00 with
    ``initial_load_kg`` of its 100 kg on board; stops of 30 kg at km 11 and km 12."""
    dur, dist = line_matrices([0, 10, 11, 12])
    vt = truck(
        start_site="here",
        initial_load_kg=initial_load_kg,
        shift_start_s=36_000,
        shift_end_s=50_000,
    )
    sites = [Site("st", 0, unload_s=60), Site("here", 1)]
    stops = [Stop("A", 2, 30), Stop("B", 3, 30)]
    return RoutingProblem(dur, dist, sites, stops, [vt])


@pytest.mark.parametrize("engine", ENGINES)
def test_route_starts_where_the_truck_stands(engine: str) -> None:
    problem = mid_day(0)
    solution = solve(problem, PARAMS, seed=1, engine=engine)
    assert verify(problem, solution) == []
    (route,) = solution.routes
    assert route.depot_departure_s >= 36_000
    # from km 10: 2 km out to B, then 12 km to the station: 14 km, never 2 x 12
    assert route.distance_m == 14_000
    assert route.stop_ids in (["A", "B"], ["B", "A"])
    assert route.n_unloads == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_load_on_board_forces_an_unload_first(engine: str) -> None:
    problem = mid_day(80)  # 80 + 30 > 100: the truck must unload before its first stop
    solution = solve(problem, PARAMS, seed=1, engine=engine)
    assert verify(problem, solution) == []
    (route,) = solution.routes
    assert route.visits[0].kind == "unload"
    assert route.visits[0].load_after_kg == 0
    assert route.n_unloads == 2


def test_verifier_counts_the_load_on_board() -> None:
    light, heavy = mid_day(0), mid_day(80)
    route = build_route(light, "truck", 0, [("stop", "A"), ("stop", "B")])
    solution = RoutingSolution((route,), (), route.cost_cny, "test", 0.0)
    assert verify(light, solution) == []
    errors = verify(heavy, solution)
    assert any("above capacity" in e for e in errors)
    assert any("load_after_kg 30 != recomputed 110" in e for e in errors)


def test_verifier_rejects_a_teleport_from_the_depot() -> None:
    """A route timed from the depot does not fit a truck standing at km 10."""
    problem = mid_day(0)
    at_depot = problem.replace(
        vehicle_types=[dataclasses.replace(problem.vehicle_types[0], start_site=None)]
    )
    route = build_route(at_depot, "truck", 0, [("stop", "A"), ("stop", "B")])
    solution = RoutingSolution((route,), (), route.cost_cny, "test", 0.0)
    assert verify(at_depot, solution) == []
    errors = verify(problem, solution)
    assert any("arrival_s" in e for e in errors)


def test_start_fields_are_checked() -> None:
    problem = mid_day(0)
    with pytest.raises(IndexError, match="start_site 'nowhere' is not a site"):
        problem.replace(
            vehicle_types=[dataclasses.replace(problem.vehicle_types[0], start_site="nowhere")]
        )
    with pytest.raises(ValueError, match="initial_load_kg must be in"):
        truck(initial_load_kg=101)


def test_the_routing_budget_is_shared_by_the_re_planned_stations():
    """`--time-limit` is the re-plan's budget, as `plan`'s: shared in proportion to the stops
    still due, at least 1 s a group (a flood re-planning eleven stations takes no longer than
    its budget and their floors)."""
    from types import SimpleNamespace

    from sanitation.replan.run import group_budgets

    state = SimpleNamespace(due={"A": {f"a{i}": 100 for i in range(30)}, "B": {"b": 5}, "C": {}})
    assert group_budgets([["A"], ["B"]], state, 8.0) == pytest.approx([8 * 30 / 31, 1.0])
    assert group_budgets([["A"]], state, 8.0) == [8.0]  # a station alone gets all of it
    assert group_budgets([["A", "B"], ["C"]], state, 6.0) == pytest.approx([6.0, 1.0])


def test_a_truck_going_on_after_its_lunch_window_opened_is_served_by_ortools() -> None:
    """At 11:30 a truck not yet out (lunch 30 min in 11:00-13:00, still due) goes on: the
    break is taken in the rest of its window, and OR-Tools no longer leaves the truck out."""
    from sanitation.replan.solve import truck_type
    from sanitation.replan.state import Truck
    from sanitation.routing.problem import Lunch
    from sanitation.verify.replan import TruckFacts

    at_s = 41_400
    dur, dist = line_matrices([0, 10, 12])
    template = truck(id="small", shift_start_s=21_600, shift_end_s=55_800)
    template = dataclasses.replace(template, lunch=Lunch(1800, 39_600, 46_800))
    vt = truck_type(
        Truck("T", "st", "small", None, TruckFacts("T", (), None)), template, at_s, None
    )
    assert vt.lunch == Lunch(1800, at_s, 46_800)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], [Stop("A", 1, 30), Stop("B", 2, 30)], [vt])
    solution = solve(problem, PARAMS, seed=1, engine="ortools")
    assert verify(problem, solution) == []
    (route,) = solution.routes
    assert sorted(route.stop_ids) == ["A", "B"]
    assert route.lunch_start_s is not None and route.lunch_start_s >= at_s
