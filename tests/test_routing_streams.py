"""Sorted waste streams in routing: compartments, sites accepting streams, the verifier's rules.

Tiny instances on a line (1 km per minute, see `routing_helpers`): the station ``st`` at km 0 is
the depot; a composting plant ``cp`` at km 6 takes perishable waste only.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import pyvrp
from pyvrp._pyvrp import Activity, ActivityType
from routing_helpers import line_matrices, truck, twelve_points

from sanitation.engines import solve
from sanitation.engines.pyvrp_pair import PyVRPPairEngine
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import (
    Compartment,
    Lunch,
    RoutingProblem,
    Site,
    Stop,
    VehicleType,
)
from sanitation.routing.pyvrp_engine import _convert
from sanitation.routing.pyvrp_model import build_data, initial_solution
from sanitation.routing.schedule import build_route
from sanitation.routing.screen import UnservedReason, screen
from sanitation.routing.solution import Route, RoutingSolution, Visit
from sanitation.verify.routing import verify

GOLDEN = Path(__file__).parent / "data" / "routing" / "streams_golden.json"
PARAMS = SolveParams(time_limit_s=8, work_s=0.2)
ENGINES = ("pyvrp", "ortools")
RES, PER = "residual", "perishable"


def _two_compartments(**kw: object) -> VehicleType:
    """A truck with 100 kg for residual and 100 kg for perishable waste."""
    base: dict[str, object] = {
        "capacity_kg": 200,
        "compartments": (Compartment(RES, 100), Compartment(PER, 100)),
    }
    base.update(kw)
    return truck(**base)


def _line(stops: list[Stop], vts: list[VehicleType], sites: list[Site]) -> RoutingProblem:
    """Locations 0..5 at km 0, 1, 2, 3, 4 and 6 (the plant)."""
    dur, dist = line_matrices([0, 1, 2, 3, 4, 6])
    return RoutingProblem(dur, dist, sites, stops, vts)


def _solve(problem: RoutingProblem, engine: str) -> RoutingSolution:
    return solve(problem, PARAMS, seed=1, engine=engine)


def _stream_of(problem: RoutingProblem, route: Route) -> set[str]:
    return {problem.stop(s).stream for s in route.stop_ids}


# -- a problem without streams gives today's plan ---------------------------------------------
def _golden_instance() -> RoutingProblem:
    """The instance `tests/data/routing/streams_golden.json` was captured on (before streams)."""
    p = twelve_points(Lunch(1800, 11 * 3600, 13 * 3600))
    vt = dataclasses.replace(p.vehicle_types[0], capacity_kg=900, unload_sites=("st", "far"))
    sites = (*p.sites, Site("far", 5, open_s=7 * 3600, close_s=15 * 3600, unload_s=600))
    return p.replace(sites=sites, vehicle_types=(vt,))


def _one_named_stream(p: RoutingProblem) -> RoutingProblem:
    """The same problem with every stop, compartment and site of the one stream "residual"."""
    return p.replace(
        stops=[dataclasses.replace(s, stream=RES) for s in p.stops],
        vehicle_types=[
            dataclasses.replace(v, compartments=(Compartment(RES, v.capacity_kg),))
            for v in p.vehicle_types
        ],
        sites=[dataclasses.replace(s, streams=frozenset({RES})) for s in p.sites],
    )


def _as_golden(sol: RoutingSolution) -> dict[str, object]:
    return {
        "cost_cny": round(sol.cost_cny, 6),
        "routes": [
            [[v.kind, v.id, v.start_s, v.load_after_kg] for v in r.visits] for r in sol.routes
        ],
        "unserved": [u.stop_id for u in sol.unserved],
        "winner": sol.engine,
    }


@pytest.mark.parametrize(
    ("name", "engine"),
    [("reload_lunch", "pyvrp"), ("reload_lunch", "ortools"), ("twelve", "portfolio")],
)
@pytest.mark.parametrize("relabel", [False, True])
def test_no_streams_gives_the_plan_of_before(name: str, engine: str, relabel: bool) -> None:
    """Same seed, same routes as the code before streams (captured in the golden file); and a
    county sorting into one named stream gets the same plan too."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))[f"{name}/{engine}"]
    problem = _golden_instance() if name == "reload_lunch" else twelve_points()
    if relabel:
        problem = _one_named_stream(problem)
    sol = solve(problem, SolveParams(time_limit_s=20, work_s=0.5), seed=3, engine=engine)
    assert sol.stats.get("stopped_by") == "work_budget"
    assert _as_golden(sol) == golden


# -- each rule binds ----------------------------------------------------------------------------
@pytest.mark.parametrize("engine", [*ENGINES, "portfolio"])
def test_full_compartment_forces_an_unload_while_the_other_has_room(engine: str) -> None:
    """120 kg of residual waste in a 100 kg compartment: an unload in between, although the
    truck holds 130 kg of 200 in all."""
    stops = [
        Stop("R1", 3, 60, stream=RES),
        Stop("R2", 4, 60, stream=RES),
        Stop("P1", 2, 10, stream=PER),
    ]
    problem = _line(stops, [_two_compartments()], [Site("st", 0)])
    sol = _solve(problem, engine)
    assert not sol.unserved
    assert verify(problem, sol) == []
    (route,) = sol.routes
    assert route.n_unloads == 2
    # the same load in one 200 kg body needs a single trip
    plain = problem.replace(
        stops=[dataclasses.replace(s, stream="") for s in stops],
        vehicle_types=[truck(capacity_kg=200)],
    )
    assert _solve(plain, engine).routes[0].n_unloads == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_refused_stream_unloads_at_another_site(engine: str) -> None:
    """The station (the depot, nearest) refuses perishable waste: the truck takes it to the
    composting plant."""
    stops = [Stop("P1", 2, 30, stream=PER), Stop("P2", 3, 30, stream=PER)]
    vt = truck(capacity_kg=100, compartments=(Compartment(PER, 100),), unload_sites=("st", "cp"))
    sites = [Site("st", 0, streams=frozenset({RES})), Site("cp", 5, streams=frozenset({PER}))]
    problem = _line(stops, [vt], sites)
    sol = _solve(problem, engine)
    assert not sol.unserved
    assert verify(problem, sol) == []
    assert {v.id for v in sol.routes[0].visits if v.kind == "unload"} == {"cp"}
    # where the station takes it, the truck unloads there (nearer)
    open_st = problem.replace(sites=[Site("st", 0), sites[1]])
    assert {v.id for v in _solve(open_st, engine).routes[0].visits if v.kind == "unload"} == {"st"}


@pytest.mark.parametrize("engine", [*ENGINES, "portfolio"])
def test_dedicated_truck_never_serves_the_other_stream(engine: str) -> None:
    """A residual truck and a perishable truck, stops of both streams side by side: each route
    holds its own stream only, though one truck could carry all of it by load."""
    stops = [
        Stop("R1", 1, 20, stream=RES),
        Stop("P1", 1, 20, stream=PER),
        Stop("R2", 3, 20, stream=RES),
        Stop("P2", 3, 20, stream=PER),
    ]
    vts = [
        truck(id="res", compartments=(Compartment(RES, 100),)),
        truck(id="per", compartments=(Compartment(PER, 100),), fixed_cost_cny=0.0),
    ]
    problem = _line(stops, vts, [Site("st", 0)])
    sol = _solve(problem, engine)
    assert not sol.unserved
    assert verify(problem, sol) == []
    assert {r.vehicle_type: _stream_of(problem, r) for r in sol.routes} == {
        "res": {RES},
        "per": {PER},
    }
    # without the perishable truck its stops cannot be served (the residual truck may not)
    alone = problem.replace(vehicle_types=[vts[0], dataclasses.replace(vts[1], count=0)])
    sol = _solve(alone, engine)
    assert {u.stop_id: u.reason for u in sol.unserved} == {
        "P1": UnservedReason.STREAM_NOT_CARRIED,
        "P2": UnservedReason.STREAM_NOT_CARRIED,
    }


def _mixed_unload_problem() -> RoutingProblem:
    """A two-compartment truck; the station takes residual waste only, the plant perishable."""
    stops = [
        Stop("R1", 2, 40, stream=RES),
        Stop("P1", 3, 40, stream=PER),
        Stop("R2", 4, 40, stream=RES),
    ]
    vt = _two_compartments(unload_sites=("st", "cp"))
    sites = [Site("st", 0, streams=frozenset({RES})), Site("cp", 5, streams=frozenset({PER}))]
    return _line(stops, [vt], sites)


def test_two_compartments_unload_at_two_sites_ortools() -> None:
    """No site takes both streams: OR-Tools unloads each compartment where it is accepted."""
    problem = _mixed_unload_problem()
    sol = _solve(problem, "ortools")
    assert not sol.unserved
    assert verify(problem, sol) == []
    (route,) = sol.routes
    assert {v.id for v in route.visits if v.kind == "unload"} == {"st", "cp"}
    assert route.visits[-1].load_after_kg == 0


def _unload_runs(route: Route) -> list[list[str]]:
    """The sites of each run of consecutive unloads of ``route``."""
    runs: list[list[str]] = []
    previous = "stop"
    for v in route.visits:
        if v.kind == "unload":
            if previous != "unload":
                runs.append([])
            runs[-1].append(v.id)
        previous = v.kind
    return runs


def test_pyvrp_alone_unloads_through_a_chain() -> None:
    """PyVRP alone: the residual waste goes to the station and the perishable waste to the
    plant at the day's end (an unload chain), every stop served and the plan verified."""
    problem = _mixed_unload_problem()
    sol = _solve(problem, "pyvrp")
    assert not sol.unserved
    assert verify(problem, sol) == []
    (route,) = sol.routes
    assert [sorted(run) for run in _unload_runs(route)] == [["cp", "st"]]


def _two_trips(vt: VehicleType | None = None, **sites: Site) -> RoutingProblem:
    """Two 60 kg residual and two 60 kg perishable stops for 100 kg compartments: two trips,
    each holding one stop of each stream, so each unload needs the station and the plant."""
    stops = [
        Stop("R1", 1, 60, stream=RES),
        Stop("P1", 2, 60, stream=PER),
        Stop("R2", 3, 60, stream=RES),
        Stop("P2", 4, 60, stream=PER),
    ]
    base = {
        "st": Site("st", 0, streams=frozenset({RES})),
        "cp": Site("cp", 5, streams=frozenset({PER})),
    }
    base.update(sites)
    vt = vt or _two_compartments(unload_sites=tuple(base))
    return _line(stops, [vt], list(base.values()))


@pytest.mark.parametrize("engine", ["pyvrp", "pyvrp2"])
def test_a_full_compartment_forces_a_chain_reload(engine: str) -> None:
    """A compartment fills: the truck reloads mid-day through the chain (both sites) and ends
    through it; PyVRP alone (and its two-search engine) serve every stop."""
    problem = _two_trips()
    sol = _solve(problem, engine)
    assert not sol.unserved
    assert verify(problem, sol) == []
    (route,) = sol.routes
    assert [sorted(run) for run in _unload_runs(route)] == [["cp", "st"], ["cp", "st"]]


def test_a_chain_site_taking_nothing_on_board_is_skipped() -> None:
    """One perishable stop on two trips: the trip without perishable waste unloads at the
    station alone (the chain's plant would take nothing)."""
    problem = _two_trips()
    problem = problem.replace(stops=[s for s in problem.stops if s.id != "P2"])
    sol = _solve(problem, "pyvrp")
    assert not sol.unserved
    assert verify(problem, sol) == []
    (route,) = sol.routes
    assert sorted(sorted(run) for run in _unload_runs(route)) == [["cp", "st"], ["st"]]


def test_a_skipped_chain_site_that_was_a_shortcut_is_kept() -> None:
    """Travel times breaking the triangle inequality: the station to ``R2`` takes 5,000 s, by
    the plant 200 s. Timing PyVRP's route ``R1``, chain (station, plant), ``R2``, ``P1``: the
    reload after ``R1`` (residual only on board) would skip the plant and reach ``R2`` after
    its window, so the whole chain is kept."""
    dur = np.full((5, 5), 100, dtype=np.int64)
    np.fill_diagonal(dur, 0)
    dur[0, 3] = dur[3, 0] = 5000
    stops = [
        Stop("R1", 2, 60, stream=RES, tw_close_s=1000),
        Stop("R2", 3, 60, stream=RES, tw_close_s=5200),
        Stop("P1", 4, 30, stream=PER, tw_open_s=6000),
    ]
    sites = [
        Site("st", 0, unload_s=100, streams=frozenset({RES})),
        Site("cp", 1, streams=frozenset({PER})),
    ]
    vt = _two_compartments(unload_sites=("st", "cp"))
    problem = RoutingProblem(dur, dur * 10, sites, stops, [vt])
    mapping = build_data(problem, screen(problem))
    client = {problem.stops[si].id: c for c, si in enumerate(mapping.client_stop)}
    chain = mapping.depot_sites.index(("st", "cp"))
    acts = [
        Activity(ActivityType.CLIENT, client["R1"]),
        Activity(ActivityType.DEPOT, chain),
        Activity(ActivityType.CLIENT, client["R2"]),
        Activity(ActivityType.CLIENT, client["P1"]),
    ]
    proute = pyvrp.Route(mapping.data, acts, 0)
    assert proute.is_feasible()
    unserved: dict[str, UnservedReason] = {}
    reason = UnservedReason.LUNCH_RETIMING
    (route,) = _convert(problem, mapping, pyvrp.Solution(mapping.data, [proute]), unserved, reason)
    assert not unserved
    assert route.stop_ids == ["R1", "R2", "P1"]
    assert _unload_runs(route)[0] == ["st", "cp"]
    assert verify(problem, _as_solution(problem, [route])) == []


def test_two_exchanging_searches_keep_the_chains() -> None:
    """``pyvrp2`` with both searches running (and swapping solutions) on a chain model."""
    problem = _two_trips()
    engine = PyVRPPairEngine(min_stops=1, epoch_s=0.05)
    sol = engine.solve(problem, PARAMS, seed=1)
    assert [s["epochs"] > 0 for s in sol.stats["searches"]] == [True, True]
    assert not sol.unserved
    assert verify(problem, sol) == []


def test_portfolio_gets_a_verified_pyvrp_chain_plan() -> None:
    problem = _two_trips()
    sol = _solve(problem, "portfolio")
    assert not sol.unserved
    assert verify(problem, sol) == []
    pyvrp = sol.stats["engines"]["pyvrp"]
    assert (pyvrp["status"], pyvrp["n_unserved"]) == ("verified", 0)


def test_a_chain_site_closing_early_binds_the_chain() -> None:
    """The plant ``cp`` closes at 3,000 s, the stops open at 5,000 s: the chains through it are
    only open while it is, and the truck unloads perishable waste at ``cp2`` (km 10) instead."""
    stops = [dataclasses.replace(s, tw_open_s=5000) for s in _two_trips().stops]
    dur, dist = line_matrices([0, 1, 2, 3, 4, 6, 10])
    sites = [
        Site("st", 0, unload_s=300, streams=frozenset({RES})),
        Site("cp", 5, close_s=3000, unload_s=300, streams=frozenset({PER})),
        Site("cp2", 6, unload_s=300, streams=frozenset({PER})),
    ]
    vt = _two_compartments(unload_sites=("st", "cp", "cp2"))
    problem = RoutingProblem(dur, dist, sites, stops, [vt])
    mapping = build_data(problem, screen(problem))
    windows = {
        mapping.depot_sites[d]: (dep.tw_early, dep.tw_late)
        for d, dep in enumerate(mapping.data.depots())
        if len(mapping.depot_sites[d]) > 1
    }
    # the station's unload (300 s) and the 6 km to the plant (360 s) before it closes
    assert windows[("st", "cp")] == (0, 3000 - 300 - 360)
    assert windows[("cp", "st")] == (0, 3000)
    assert windows[("cp2", "st")] == (0, 86_400 - 300 - 600)
    sol = _solve(problem, "pyvrp")
    assert not sol.unserved
    assert verify(problem, sol) == []
    (route,) = sol.routes
    assert [sorted(run) for run in _unload_runs(route)] == [["cp2", "st"], ["cp2", "st"]]


def test_max_trips_counts_every_site_of_a_chain() -> None:
    """``max_trips`` 2 with two-site chains: one trip per truck (a reload would make four
    unloads), so two trucks serve the two trips."""
    vt = _two_compartments(unload_sites=("st", "cp"), count=2, max_trips=2, fixed_cost_cny=1000.0)
    problem = _two_trips(vt)
    sol = _solve(problem, "pyvrp")
    assert not sol.unserved
    assert verify(problem, sol) == []
    assert sorted(r.n_unloads for r in sol.routes) == [2, 2]


def test_a_chain_longer_than_four_sites_is_left_to_ortools() -> None:
    """Five streams, each at a site of its own: no chain of at most four sites empties the
    truck, so PyVRP leaves the stops out and says why; the portfolio returns OR-Tools' plan."""
    streams = [RES, PER, "recyclable", "hazardous", "textile"]
    stops = [Stop(f"S{k}", 1 + k % 4, 10, stream=st) for k, st in enumerate(streams)]
    sites = [Site(f"site{k}", k, streams=frozenset({st})) for k, st in enumerate(streams)]
    vt = truck(
        capacity_kg=500,
        compartments=tuple(Compartment(st, 100) for st in streams),
        depot="site0",
        unload_sites=tuple(s.id for s in sites),
    )
    problem = _line(stops, [vt], sites)
    pyvrp = _solve(problem, "pyvrp")
    assert {u.reason for u in pyvrp.unserved} == {UnservedReason.MIXED_UNLOAD}
    best = _solve(problem, "portfolio")
    assert best.stats["winner"] == "ortools"
    assert not best.unserved
    assert verify(problem, best) == []


def test_warm_start_maps_unload_runs_to_chains() -> None:
    """A warm-start route's run of unloads becomes the chain of those sites; a run matching no
    chain is left out."""
    problem = _two_trips()
    mapping = build_data(problem, screen(problem))
    steps = [("stop", "R1"), ("stop", "P1"), ("unload", "st"), ("unload", "cp")]
    route = build_route(problem, "truck", 0, [*steps, ("stop", "R2"), ("stop", "P2")])
    start = _as_solution(problem, [route])
    sol = initial_solution(problem, mapping, mapping.data, start)
    assert sol is not None
    (proute,) = sol.routes()
    acts = list(proute.schedule())[1:-1]
    assert [mapping.depot_sites[a.idx] for a in acts if a.is_depot()] == [("st", "cp")]
    # the same visits with the plant before the station match the chain anchored at the plant
    swapped = [*steps[:2], steps[3], steps[2], ("stop", "R2"), ("stop", "P2")]
    start = _as_solution(problem, [build_route(problem, "truck", 0, swapped)])
    (proute,) = initial_solution(problem, mapping, mapping.data, start).routes()  # type: ignore[union-attr]
    acts = list(proute.schedule())[1:-1]
    assert [mapping.depot_sites[a.idx] for a in acts if a.is_depot()] == [("cp", "st")]
    # a second plant beside the first (ties go to the first): no chain goes from the station to
    # it, so that reload is left out
    vt = _two_compartments(unload_sites=("st", "cp", "cp3"))
    cp3 = Site("cp3", 5, streams=frozenset({PER}))
    far = _two_trips(vt, cp3=cp3)
    mapping = build_data(far, screen(far))
    assert all("cp3" not in sites or sites[0] == "cp3" for sites in mapping.depot_sites)
    odd = [("stop", "R1"), ("stop", "P1"), ("unload", "st"), ("unload", "cp3")]
    start = _as_solution(
        far, [build_route(far, "truck", 0, [*odd, ("stop", "R2"), ("stop", "P2")])]
    )
    (proute,) = initial_solution(far, mapping, mapping.data, start).routes()  # type: ignore[union-attr]
    assert [a.is_depot() for a in list(proute.schedule())[1:-1]] == [False] * 4


def test_a_final_chain_of_four_sites() -> None:
    """Four streams on board, each taken by a site of its own: the day ends at all four."""
    streams = [RES, PER, "recyclable", "hazardous"]
    stops = [Stop(f"S{k}", 1, 10, stream=st) for k, st in enumerate(streams)]
    sites = [Site(f"site{k}", k, streams=frozenset({st})) for k, st in enumerate(streams)]
    vt = truck(
        capacity_kg=400,
        compartments=tuple(Compartment(st, 100) for st in streams),
        depot="site0",
        unload_sites=tuple(s.id for s in sites),
    )
    problem = _line(stops, [vt], sites)
    route = build_route(problem, vt, 0, [("stop", s.id) for s in stops])
    assert sorted(_unload_runs(route)[-1]) == sorted(s.id for s in sites)
    assert verify(problem, _as_solution(problem, [route])) == []


def test_final_unload_chain_empties_every_compartment() -> None:
    """`build_route` ends a day with both streams on board at both sites."""
    problem = _mixed_unload_problem()
    route = build_route(problem, "truck", 0, [("stop", "R1"), ("stop", "P1")])
    assert [v.id for v in route.visits if v.kind == "unload"] in (["st", "cp"], ["cp", "st"])
    assert verify(problem, _as_solution(problem, [route])) == []


def test_pyvrp_daily_limit_counts_every_compartment() -> None:
    """A 150 kg daily limit on a truck of two 50 kg compartments, 200 kg of stops: PyVRP plans
    at most 150 kg (its trips' capacities bound the sum of the compartments, and the relaxed
    model's check counts both), so the re-timing drops nothing for the daily limit."""
    stops = [Stop(f"R{i}", 1 + i, 25, stream=RES) for i in range(4)]
    stops += [Stop(f"P{i}", 1 + i, 25, stream=PER) for i in range(4)]
    compartments = (Compartment(RES, 50), Compartment(PER, 50))
    vt = truck(capacity_kg=100, compartments=compartments, max_load_per_day_kg=150)
    problem = _line(stops, [vt], [Site("st", 0)])
    sol = _solve(problem, "pyvrp")
    assert verify(problem, sol) == []
    assert {u.reason for u in sol.unserved} == {UnservedReason.FLEET_EXHAUSTED}


# -- the verifier catches each violation --------------------------------------------------------
def _hand_route(
    problem: RoutingProblem, vt_id: str, steps: list[tuple[str, str]], loads: list[int]
) -> Route:
    """A route timed without waiting (wide windows, no lunch), with the given loads."""
    vt = problem.vehicle_type(vt_id)
    dur, dist = problem.duration_s[vt.profile], problem.distance_m[vt.profile]
    depot = problem.site(vt.depot)
    t, loc, metres = vt.shift_start_s, depot.location, 0
    visits = []
    for (kind, ident), load in zip(steps, loads, strict=True):
        place = problem.stop(ident) if kind == "stop" else problem.site(ident)
        service = place.service_s if isinstance(place, Stop) else place.unload_s
        arrival = t + int(dur[loc, place.location])
        metres += int(dist[loc, place.location])
        visits.append(Visit(kind, ident, place.location, arrival, arrival, arrival + service, load))  # type: ignore[arg-type]
        t, loc = arrival + service, place.location
    ret = t + int(dur[loc, depot.location])
    metres += int(dist[loc, depot.location])
    duration = ret - vt.shift_start_s
    return Route(
        vt_id,
        0,
        vt.shift_start_s,
        ret,
        tuple(visits),
        None,
        None,
        metres,
        duration,
        vt.route_cost_cny(metres, duration),
    )


def _as_solution(problem: RoutingProblem, routes: list[Route]) -> RoutingSolution:
    served = {s for r in routes for s in r.stop_ids}
    from sanitation.routing.solution import Unserved

    unserved = tuple(
        Unserved(s.id, UnservedReason.FLEET_EXHAUSTED) for s in problem.stops if s.id not in served
    )
    return RoutingSolution(tuple(routes), unserved, sum(r.cost_cny for r in routes), "hand", 0.0)


def _errors(
    problem: RoutingProblem, vt_id: str, steps: list[tuple[str, str]], loads: list[int]
) -> list[str]:
    return verify(problem, _as_solution(problem, [_hand_route(problem, vt_id, steps, loads)]))


def test_verifier_accepts_a_good_hand_route() -> None:
    problem = _mixed_unload_problem()
    steps = [("stop", "R1"), ("stop", "P1"), ("unload", "cp"), ("stop", "R2"), ("unload", "st")]
    assert _errors(problem, "truck", steps, [40, 80, 40, 80, 0]) == []


def test_verifier_catches_mixing() -> None:
    """A perishable stop on a residual-only truck."""
    problem = _mixed_unload_problem()
    problem = problem.replace(
        vehicle_types=[
            *problem.vehicle_types,
            truck(id="res", compartments=(Compartment(RES, 100),), unload_sites=("st", "cp")),
        ]
    )
    errors = _errors(problem, "res", [("stop", "P1"), ("unload", "cp")], [40, 0])
    assert any(
        "vehicle type 'res' has no compartment for stream 'perishable' of stop 'P1'" in e
        for e in errors
    ), errors


def test_verifier_catches_a_full_compartment() -> None:
    """120 kg of residual waste in its 100 kg compartment (200 kg in all would fit)."""
    problem = _line(
        [Stop("R1", 3, 60, stream=RES), Stop("R2", 4, 60, stream=RES)],
        [_two_compartments()],
        [Site("st", 0)],
    )
    errors = _errors(
        problem, "truck", [("stop", "R1"), ("stop", "R2"), ("unload", "st")], [60, 120, 0]
    )
    assert any(
        "visit 1 (stop 'R2')" in e
        and "compartment 'residual' of vehicle type 'truck': load 120 kg above capacity 100 kg" in e
        for e in errors
    ), errors


def test_verifier_catches_waste_left_at_a_site_refusing_it() -> None:
    """Perishable waste claimed unloaded at the station, which refuses it."""
    problem = _mixed_unload_problem()
    steps = [("stop", "P1"), ("unload", "st")]
    errors = _errors(problem, "truck", steps, [40, 0])
    assert any(
        "visit 1 (unload 'st')" in e
        and "site 'st' does not accept stream 'perishable'" in e
        and "compartment 'perishable' of vehicle type 'truck' keeps 40 kg" in e
        for e in errors
    ), errors
    assert any(
        "compartment 'perishable' still holds 40 kg at the end; site 'st' refused it" in e
        for e in errors
    ), errors


def test_verifier_catches_a_compartment_not_empty_at_the_end() -> None:
    """Honest loads, but the day ends with residual waste on board after the plant."""
    problem = _mixed_unload_problem()
    steps = [("stop", "R1"), ("stop", "P1"), ("unload", "cp")]
    errors = _errors(problem, "truck", steps, [40, 80, 40])
    assert any(
        "compartment 'residual' still holds 40 kg at the end; site 'cp'" in e for e in errors
    ), errors


# -- the problem refuses early ------------------------------------------------------------------
def test_problem_refuses_a_stream_no_truck_carries() -> None:
    with pytest.raises(
        ValueError, match=r"Stop 'H1': no vehicle type can carry its stream 'hazardous'"
    ):
        _line([Stop("H1", 1, 5, stream="hazardous")], [_two_compartments()], [Site("st", 0)])


def test_problem_refuses_a_stream_no_site_accepts() -> None:
    with pytest.raises(
        ValueError,
        match=r"Stop 'P1': no unload site of a vehicle type carrying its stream 'perishable' "
        r"\('truck'\) accepts it",
    ):
        _line(
            [Stop("P1", 1, 5, stream=PER)],
            [_two_compartments()],
            [Site("st", 0, streams=frozenset({RES}))],
        )


def test_loaded_start_needs_a_single_stream_body() -> None:
    with pytest.raises(ValueError, match="initial_load_kg needs a body carrying one stream"):
        _two_compartments(initial_load_kg=10)


@pytest.mark.parametrize("engine", ENGINES)
def test_streams_keep_lunch_and_time_windows(engine: str) -> None:
    """Dedicated fleets with a lunch break and stop windows: every stop served in its window,
    the break taken, each truck on its own stream, every plan verified."""
    lunch = Lunch(1800, 3600, 7200)
    stops = [
        Stop("R1", 1, 30, service_s=600, tw_open_s=0, tw_close_s=3000, stream=RES),
        Stop("R2", 4, 30, service_s=600, tw_open_s=6000, tw_close_s=12_000, stream=RES),
        Stop("P1", 2, 30, service_s=600, tw_open_s=4000, tw_close_s=9000, stream=PER),
        Stop("P2", 3, 30, service_s=600, tw_open_s=0, tw_close_s=20_000, stream=PER),
    ]
    vts = [
        truck(id="res", compartments=(Compartment(RES, 100),), lunch=lunch),
        truck(id="per", compartments=(Compartment(PER, 100),), lunch=lunch, unload_sites=("cp",)),
    ]
    sites = [Site("st", 0, streams=frozenset({RES})), Site("cp", 5, streams=frozenset({PER}))]
    problem = _line(stops, vts, sites)
    sol = _solve(problem, engine)
    assert not sol.unserved
    assert verify(problem, sol) == []
    assert all(r.lunch_start_s is not None for r in sol.routes)
    assert {r.vehicle_type: _stream_of(problem, r) for r in sol.routes} == {
        "res": {RES},
        "per": {PER},
    }
