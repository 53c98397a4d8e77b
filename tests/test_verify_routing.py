"""The routing verifier accepts a valid plan and rejects each kind of violation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sanitation.errors import VerificationError
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop, VehicleType
from sanitation.routing.schedule import build_route
from sanitation.routing.screen import UnservedReason
from sanitation.routing.solution import Route, RoutingSolution, Unserved
from sanitation.verify.routing import check, verify

H = 3600
FLEET = UnservedReason.FLEET_EXHAUSTED


def _problem() -> RoutingProblem:
    # locations on a line every 2 km; 240 s per 2 km; location 0 = station (depot + unload)
    pos = np.array([0, 2, 4, 6, 8])
    dist = np.abs(pos[:, None] - pos[None, :]) * 1000
    dur = dist // 1000 * 120
    stops = [
        Stop("A", 1, 5, service_s=60),
        Stop("B", 2, 5, service_s=60, tw_open_s=9 * H, tw_close_s=10 * H),
        Stop("C", 3, 5, service_s=60),
        Stop("D", 4, 4, service_s=60, allowed_vehicle_types=frozenset({"small"})),
    ]
    lunch = Lunch(1800, 11 * H, 13 * H)
    small = VehicleType(
        "small",
        1,
        10,
        "st",
        ("st",),
        shift_start_s=7 * H,
        shift_end_s=15 * H,
        lunch=lunch,
        fixed_cost_cny=100,
        cost_cny_per_km=2,
        cost_cny_per_h=30,
    )
    big = VehicleType(
        "big",
        1,
        20,
        "st",
        ("st",),
        shift_start_s=7 * H,
        shift_end_s=15 * H,
        lunch=lunch,
        fixed_cost_cny=150,
        cost_cny_per_km=3,
        cost_cny_per_h=30,
    )
    sites = [Site("st", 0, 6 * H, 16 * H, 600)]
    return RoutingProblem([dur], [dist], sites, stops, [small, big])


def _solution(problem: RoutingProblem) -> RoutingSolution:
    r1 = build_route(
        problem, "small", 0, [("stop", "A"), ("stop", "B"), ("unload", "st"), ("stop", "D")]
    )
    r2 = build_route(problem, "big", 0, [("stop", "C")])
    return RoutingSolution((r1, r2), (), r1.cost_cny + r2.cost_cny, "hand", 0.0)


def _with_route(sol: RoutingSolution, i: int, route: Route) -> RoutingSolution:
    routes = list(sol.routes)
    routes[i] = route
    return dataclasses.replace(sol, routes=tuple(routes), cost_cny=sum(r.cost_cny for r in routes))


def _has(errors: list[str], text: str) -> bool:
    return any(text in e for e in errors)


def test_valid_solution_passes():
    problem = _problem()
    sol = _solution(problem)
    assert verify(problem, sol) == []
    check(problem, sol)
    r = sol.routes[0]
    assert r.visits[-1].kind == "unload"
    assert r.lunch_start_s is not None


def test_check_raises_with_every_violation():
    problem = _problem()
    sol = _solution(problem)
    bad = dataclasses.replace(sol, cost_cny=sol.cost_cny + 1)
    with pytest.raises(VerificationError) as info:
        check(problem, bad)
    assert len(info.value.violations) == 1


def test_rejects_overload_between_unloads():
    problem = _problem()
    sol = _solution(problem)
    tight = problem.replace(
        vehicle_types=[
            dataclasses.replace(problem.vehicle_types[0], capacity_kg=9),
            problem.vehicle_types[1],
        ]
    )
    assert _has(verify(tight, sol), "above capacity 9 kg")


def test_rejects_not_empty_at_end():
    problem = _problem()
    sol = _solution(problem)
    r = sol.routes[1]
    cut = dataclasses.replace(r, visits=r.visits[:-1])
    assert _has(verify(problem, _with_route(sol, 1, cut)), "not empty at the end")


def test_rejects_time_window_miss():
    problem = _problem()
    sol = _solution(problem)
    b_start = sol.routes[0].visits[1].start_s
    stops = [
        dataclasses.replace(s, tw_close_s=b_start - 1) if s.id == "B" else s for s in problem.stops
    ]
    assert _has(verify(problem.replace(stops=stops), sol), "after time window close")


def test_rejects_shift_end_and_max_duration():
    problem = _problem()
    sol = _solution(problem)
    r = sol.routes[1]
    vt = dataclasses.replace(
        problem.vehicle_types[1], shift_end_s=r.depot_return_s - 1, max_duration_s=r.duration_s - 1
    )
    errors = verify(problem.replace(vehicle_types=[problem.vehicle_types[0], vt]), sol)
    assert _has(errors, "after shift_end_s")
    assert _has(errors, "above max_duration_s")


def test_rejects_lunch_outside_window_or_missing():
    problem = _problem()
    sol = _solution(problem)
    r = sol.routes[1]
    early = dataclasses.replace(r, lunch_start_s=11 * H - 60)
    assert _has(verify(problem, _with_route(sol, 1, early)), "outside window")
    missing = dataclasses.replace(r, lunch_start_s=None, lunch_after_visit=None)
    assert _has(verify(problem, _with_route(sol, 1, missing)), "lunch missing")


def test_rejects_access_class_violation():
    problem = _problem()
    r = build_route(problem, "big", 0, [("stop", "C")])
    sneaky = dataclasses.replace(
        r, visits=(dataclasses.replace(r.visits[0], id="D", location=4), *r.visits[1:])
    )
    sol = RoutingSolution(
        (sneaky,),
        (Unserved("A", FLEET), Unserved("B", FLEET), Unserved("C", FLEET)),
        sneaky.cost_cny,
        "hand",
        0.0,
    )
    assert _has(verify(problem, sol), "not allowed (access class)")


def test_rejects_stop_served_twice_and_unknown_vehicle_reuse():
    problem = _problem()
    sol = _solution(problem)
    r2 = build_route(problem, "big", 0, [("stop", "A"), ("stop", "C")])
    twice = _with_route(sol, 1, r2)
    assert _has(verify(problem, twice), "stop 'A': served 2 times")
    reuse = dataclasses.replace(
        sol, routes=(sol.routes[0], sol.routes[0]), cost_cny=2 * sol.routes[0].cost_cny
    )
    assert _has(verify(problem, reuse), "vehicle used by more than one route")


def test_rejects_stop_neither_served_nor_unserved_and_both():
    problem = _problem()
    sol = _solution(problem)
    dropped = dataclasses.replace(sol, routes=sol.routes[:1], cost_cny=sol.routes[0].cost_cny)
    assert _has(verify(problem, dropped), "stop 'C': neither served nor listed unserved")
    both = dataclasses.replace(sol, unserved=(Unserved("C", FLEET),))
    assert _has(verify(problem, both), "both served and listed unserved")


def test_rejects_wrong_costs_and_distance():
    problem = _problem()
    sol = _solution(problem)
    r = sol.routes[0]
    assert _has(
        verify(problem, _with_route(sol, 0, dataclasses.replace(r, cost_cny=r.cost_cny + 1))),
        "cost",
    )
    assert _has(
        verify(problem, dataclasses.replace(sol, cost_cny=sol.cost_cny - 5)), "sum of route costs"
    )
    assert _has(
        verify(problem, _with_route(sol, 0, dataclasses.replace(r, distance_m=r.distance_m - 1))),
        "distance_m",
    )


def test_rejects_wrong_arrival_and_departure_times():
    problem = _problem()
    sol = _solution(problem)
    r = sol.routes[0]
    v = r.visits[0]
    moved = dataclasses.replace(
        r, visits=(dataclasses.replace(v, arrival_s=v.arrival_s + 1), *r.visits[1:])
    )
    assert _has(verify(problem, _with_route(sol, 0, moved)), "arrival_s")
    short = dataclasses.replace(
        r, visits=(dataclasses.replace(v, departure_s=v.start_s), *r.visits[1:])
    )
    assert _has(verify(problem, _with_route(sol, 0, short)), "departure_s")
    early = dataclasses.replace(r, depot_departure_s=6 * H)
    assert _has(verify(problem, _with_route(sol, 0, early)), "before shift_start_s")


def test_rejects_unload_outside_site_hours():
    problem = _problem()
    sol = _solution(problem)
    unload = sol.routes[0].visits[2]
    assert unload.kind == "unload"
    sites = [dataclasses.replace(problem.sites[0], close_s=unload.start_s - 1)]
    assert _has(verify(problem.replace(sites=sites), sol), "after site hours close")


def test_rejects_day_load_trips_and_stops_limits():
    problem = _problem()
    sol = _solution(problem)
    vt = dataclasses.replace(
        problem.vehicle_types[0], max_load_per_day_kg=13, max_trips=1, max_stops=2
    )
    errors = verify(problem.replace(vehicle_types=[vt, problem.vehicle_types[1]]), sol)
    assert _has(errors, "above max_load_per_day_kg 13")
    assert _has(errors, "above max_trips 1")
    assert _has(errors, "above max_stops 2")


def test_rejects_unload_at_site_not_allowed():
    problem = _problem()
    sites = [*problem.sites, Site("far", 4, 0, 24 * H, 0)]
    p2 = problem.replace(sites=sites)
    r = build_route(p2, "big", 0, [("stop", "C")])
    v = r.visits[-1]
    wrong = dataclasses.replace(r, visits=(r.visits[0], dataclasses.replace(v, id="far")))
    sol = RoutingSolution(
        (wrong,), tuple(Unserved(s, FLEET) for s in "ABD"), wrong.cost_cny, "hand", 0.0
    )
    assert _has(verify(p2, sol), "not among unload_sites")
