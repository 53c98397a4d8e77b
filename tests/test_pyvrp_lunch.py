"""PyVRP engine with a lunch break and binding disposal hours: every route its search returns as
feasible is timed with the break, so no stop is lost to the re-timing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import pyvrp
from pyvrp._pyvrp import Activity, ActivityType

from sanitation.bench.waste import generate_kim, to_problem
from sanitation.engines import get_engine
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import (
    Compartment,
    Lunch,
    RoutingProblem,
    Site,
    Stop,
    VehicleType,
)
from sanitation.routing.pyvrp_engine import PyVRPEngine, _convert
from sanitation.routing.pyvrp_model import build_data
from sanitation.routing.schedule import Step, build_route, lunch_free_window
from sanitation.routing.screen import UnservedReason, screen
from sanitation.routing.solution import RoutingSolution, Unserved
from sanitation.verify.routing import verify

H = 3600
LUNCH = Lunch(H, 11 * H, 13 * H)


def _kim_day() -> RoutingProblem:
    """120 generated stops, one landfill closing at 13:00, two trucks (the engine before the
    lunch-free model left 8 of them out "when the lunch break was inserted", the default
    engine 10)."""
    return to_problem(generate_kim(120, 1, 2, area_mi=10.0), vehicles=2)


def test_generated_day_with_binding_landfill_hours_is_served_whole():
    problem = _kim_day()
    sol = PyVRPEngine().solve(problem, SolveParams(time_limit_s=6), seed=1)
    assert verify(problem, sol) == []
    assert sol.unserved == ()
    landfill = problem.sites[1]
    assert landfill.close_s == 13 * H
    # the hours bind: every route's last disposal is before 13:00, its lunch inside the window
    for route in sol.routes:
        assert route.visits[-1].kind == "unload" and route.visits[-1].start_s <= landfill.close_s
        assert route.lunch_start_s is not None and 11 * H <= route.lunch_start_s <= 12 * H


def test_default_engine_serves_the_same_day_whole():
    problem = _kim_day()
    sol = get_engine("portfolio").solve(problem, SolveParams(time_limit_s=8), seed=1)
    assert verify(problem, sol) == []
    assert sol.unserved == ()


def _random_day(rng: np.random.Generator, *, sorted_: bool = False) -> RoutingProblem:
    """Eight stops and three landfills on a 6 km square, windows and hours around the lunch.

    ``sorted_``: the stops alternate residual and perishable waste, L1 takes perishable waste
    only and L0, L2 residual only (so the truck unloads through chains), 70 kg compartments.
    """
    xy = rng.uniform(0, 6000, size=(12, 2))
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(-1)).astype(np.int64)
    dur = (dist // 5).astype(np.int64)  # 18 km/h
    hours = [(6 * H, 12 * H + 1800), (9 * H, 14 * H), (11 * H + 900, 15 * H)]
    sites = [Site("depot", 0)] + [
        Site(f"L{k}", 1 + k, open_s=o, close_s=c, unload_s=int(rng.integers(5, 40)) * 60)
        for k, (o, c) in enumerate(hours)
    ]
    stops = []
    for i in range(8):
        o = int(rng.integers(6 * H, 13 * H))
        c = o + int(rng.integers(10, 300)) * 60
        stops.append(
            Stop(
                f"s{i}",
                4 + i,
                30,
                service_s=int(rng.integers(1, 40)) * 60,
                tw_open_s=o,
                tw_close_s=c,
                stream=("residual", "perishable")[i % 2] if sorted_ else "",
            )
        )
    streams = ("residual", "perishable", "residual")
    if sorted_:
        sites = [sites[0]] + [
            dataclasses.replace(s, streams=frozenset({st}))
            for s, st in zip(sites[1:], streams, strict=True)
        ]
    compartments = (Compartment("residual", 70), Compartment("perishable", 70))
    vt = VehicleType(
        "truck",
        count=3,
        compartments=compartments if sorted_ else (),
        capacity_kg=140 if sorted_ else 70,
        depot="depot",
        unload_sites=("L0", "L1", "L2"),
        shift_start_s=6 * H,
        shift_end_s=15 * H,
        max_duration_s=8 * H,
        lunch=LUNCH,
        cost_cny_per_km=1.0,
    )
    return RoutingProblem((dur,), (dist,), sites, stops, (vt,))


def test_every_route_feasible_in_the_model_is_timed_with_the_lunch():
    """Random visit sequences: whenever PyVRP calls one feasible in the lunch-free model, the
    scheduler times it with the break (windows, site hours, shift, duration all kept)."""
    rng = np.random.default_rng(3)
    feasible = 0
    for _ in range(40):
        problem = _random_day(rng)
        mapping = build_data(problem, screen(problem))
        data = mapping.data
        reloads = [d for d, sites in enumerate(mapping.depot_sites) if sites]
        for _ in range(60):
            k = int(rng.integers(0, data.num_vehicle_types))
            n = int(rng.integers(1, min(5, data.num_clients) + 1))
            order = rng.permutation(data.num_clients)[:n]
            acts: list[Activity] = []
            for c in order:
                acts.append(Activity(ActivityType.CLIENT, int(c)))
                if reloads and rng.random() < 0.3 and len(acts) < 2 * n - 1:
                    acts.append(Activity(ActivityType.DEPOT, int(rng.choice(reloads))))
            if not acts[-1].is_client():
                acts.pop()
            route = pyvrp.Route(data, acts, k)
            if not route.is_feasible():
                continue
            feasible += 1
            steps: list[Step] = [
                ("stop", problem.stops[mapping.client_stop[a.idx]].id)
                if a.is_client()
                else ("unload", mapping.depot_sites[a.idx][0])
                for a in acts
            ]
            final = mapping.vt_final[k]
            if final is not None:  # this PyVRP type ends by unloading there
                steps.append(("unload", final[0]))
            timed = build_route(problem, problem.vehicle_types[0], 0, steps)
            assert timed.lunch_start_s is not None
    assert feasible >= 200  # the sample exercises the model


def test_every_chain_route_feasible_in_the_model_is_kept_whole():
    """The same with unload chains: whenever PyVRP calls a random sequence feasible, the
    engine's conversion times it with the break and keeps every stop, and it verifies."""
    rng = np.random.default_rng(5)
    feasible = 0
    for _ in range(30):
        problem = _random_day(rng, sorted_=True)
        mapping = build_data(problem, screen(problem))
        data = mapping.data
        reloads = [d for d, sites in enumerate(mapping.depot_sites) if len(sites) > 1]
        assert reloads
        for _ in range(60):
            k = int(rng.integers(0, data.num_vehicle_types))
            n = int(rng.integers(1, min(5, data.num_clients) + 1))
            acts: list[Activity] = []
            for c in rng.permutation(data.num_clients)[:n]:
                acts.append(Activity(ActivityType.CLIENT, int(c)))
                if rng.random() < 0.3 and len(acts) < 2 * n - 1:
                    acts.append(Activity(ActivityType.DEPOT, int(rng.choice(reloads))))
            if not acts[-1].is_client():
                acts.pop()
            route = pyvrp.Route(data, acts, k)
            if not route.is_feasible():
                continue
            feasible += 1
            unserved: dict[str, UnservedReason] = {}
            sol = pyvrp.Solution(data, [route])
            (timed,) = _convert(problem, mapping, sol, unserved, UnservedReason.LUNCH_RETIMING)
            assert unserved == {}
            assert timed.lunch_start_s is not None
            left = tuple(
                Unserved(s.id, UnservedReason.FLEET_EXHAUSTED)
                for s in problem.stops
                if s.id not in timed.stop_ids
            )
            assert verify(problem, RoutingSolution((timed,), left, timed.cost_cny, "x", 0.0)) == []
    assert feasible >= 100  # the sample exercises the model


@pytest.mark.parametrize(
    ("window", "service", "expected"),
    [
        ((0, 24 * H), 60, (0, 23 * H)),  # all day: the late part shifts by the lunch
        ((10 * H, 11 * H + 1800), 600, (10 * H, 11 * H)),  # ends inside the lunch: before it
        ((11 * H + 900, 13 * H), 600, (11 * H + 1, 12 * H)),  # after the break, opening - lunch
        ((11 * H + 900, 11 * H + 2700), 60, None),  # wholly inside (ws, ws + lunch]
    ],
)
def test_lunch_free_window(window, service, expected):
    assert lunch_free_window(*window, service, LUNCH) == expected


def test_stop_whose_window_lies_inside_the_lunch_is_left_out_with_its_reason():
    dur = np.array([[0, 60], [60, 0]], dtype=np.int64)
    stops = [Stop("A", 1, 1, service_s=60, tw_open_s=11 * H + 900, tw_close_s=11 * H + 2700)]
    vt = VehicleType(
        "truck", 1, 100, "st", ("st",), shift_start_s=6 * H, shift_end_s=15 * H, lunch=LUNCH
    )
    problem = RoutingProblem((dur,), (dur * 10,), [Site("st", 0)], stops, (vt,))
    sol = PyVRPEngine().solve(problem, SolveParams(time_limit_s=2, max_iterations=100), seed=1)
    assert [u.reason for u in sol.unserved] == [UnservedReason.LUNCH_WINDOW]
    assert verify(problem, sol) == []
    # the default engine also runs OR-Tools, which places the break freely, and serves it
    both = get_engine("portfolio").solve(problem, SolveParams(time_limit_s=4), seed=1)
    assert both.unserved == () and verify(problem, both) == []
