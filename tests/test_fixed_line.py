"""Fixed lines (`sanitation.plan.fixed_line`): each day's route follows the truck's line order;
its unloads go where they cost least (the optimal split), a line that misses a morning window
is tried with its windowed stops first, and the a priori tour leaves at the shift start."""

from __future__ import annotations

import dataclasses

import numpy as np

from sanitation.plan.fixed_line import (
    _line_route,
    greedy_steps,
    line_stops,
    split_steps,
    tour_problem,
)
from sanitation.routing.problem import RoutingProblem, Site, Stop, VehicleType
from sanitation.routing.schedule import build_route

#: positions on a straight road (10 min a unit): depot, station, then the stops A-D
POSITIONS = [0.0, 2.5, 1.0, 2.0, 3.0, 10.0]


def _road(stops: tuple[Stop, ...], capacity_kg: int = 300) -> RoutingProblem:
    x = np.array(POSITIONS)
    duration = (np.abs(x[:, None] - x[None, :]) * 600).astype(np.int64)
    truck = VehicleType(
        "T#1",
        1,
        capacity_kg,
        "depot",
        ("station",),
        shift_start_s=5 * 3600 + 1800,
        shift_end_s=18 * 3600,
        cost_cny_per_km=2.0,
        cost_cny_per_h=40.0,
    )
    return RoutingProblem(
        duration_s=duration,
        distance_m=duration * 10,
        sites=(Site("depot", 0), Site("station", 1, unload_s=600)),
        stops=tuple(
            dataclasses.replace(s, allowed_vehicle_types=frozenset({"T#1"}))
            for s in stops
        ),
        vehicle_types=(truck,),
    )


ORDER = {"A": 0.0, "B": 0.3, "C": 0.6, "D": 1.0}


def test_the_unload_goes_where_it_costs_least_not_where_the_truck_is_full():
    """A, B, C fill the truck; the station lies between B and C, far from D: the greedy line
    unloads after C (a detour on the way to D), the split after B (on its way)."""
    problem = _road(tuple(Stop(k, 2 + i, 100) for i, k in enumerate("ABCD")))
    truck = problem.vehicle_types[0]
    stops = line_stops(problem, truck, ORDER)
    greedy, split = greedy_steps(truck, stops), split_steps(problem, truck, stops)
    assert greedy == [("stop", "A"), ("stop", "B"), ("stop", "C"), ("unload", "station"),
                      ("stop", "D")]  # fmt: skip
    assert split == [("stop", "A"), ("stop", "B"), ("unload", "station"), ("stop", "C"),
                     ("stop", "D")]  # fmt: skip
    cheaper = build_route(problem, truck, 0, split).cost_cny
    assert cheaper < build_route(problem, truck, 0, greedy).cost_cny
    route = _line_route(problem, truck, ORDER)
    assert route and route.cost_cny == cheaper


def test_a_line_that_misses_a_morning_window_serves_its_windowed_stop_first():
    """D, 100 min out, closes at 07:15 and is last on the line: the line (unloading on the way)
    misses it, the windowed-first one (D, then A, B, C) fits; when no order can make it, the
    day is refused."""
    close = 7 * 3600 + 900
    stops = [Stop(k, 2 + i, 100) for i, k in enumerate("ABC")]
    stops.append(Stop("D", 5, 100, tw_open_s=5 * 3600, tw_close_s=close))
    problem = _road(tuple(stops))
    truck = problem.vehicle_types[0]
    route = _line_route(problem, truck, ORDER)
    assert route and route.stop_ids[0] == "D"
    assert [s.id for s in line_stops(problem, truck, ORDER, windows_first=True)] == list("DABC")
    late = [*stops[:3], Stop("D", 5, 100, tw_open_s=5 * 3600, tw_close_s=6 * 3600 + 1800)]
    assert _line_route(_road(tuple(late)), truck, ORDER) is False  # 100 min away: never


def test_the_a_priori_tour_leaves_at_the_shift_start():
    problem = _road(tuple(Stop(k, 2 + i, 100) for i, k in enumerate("ABCD")))
    tour = tour_problem(problem, "T#1")
    assert tour is not None
    (truck,) = tour.vehicle_types
    assert truck.shift_start_s == problem.vehicle_types[0].shift_start_s
    assert truck.shift_end_s == 86_400 and truck.lunch is None
    assert all(s.load_kg == 0 for s in tour.stops)
