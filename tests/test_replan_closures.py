"""Timed road closures in a re-plan (`sanitation.replan.closures`): a leg may drive a closed
road outside the closure's [from, until); the independent check (`sanitation.verify.closures`)
walks each leg's road path and rejects one driven through a road while it is closed.

On the tiny grid, closing EW1 and EW2 (the east-west roads at 30.130 and 30.135) sends a
standard truck from the depot (116.700, 30.130) to P1 (116.705, 30.135) or P4 (116.745,
30.135) round by EW0 (30.125): a detour of several km.
"""

from __future__ import annotations

import dataclasses

from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import build_station_day
from sanitation.replan.closures import LegPricing, TimedRoads, solve_timed
from sanitation.replan.context import NodeRecorder
from sanitation.replan.events import RoadClosed
from sanitation.routing.schedule import build_route
from sanitation.routing.solution import RoutingSolution
from sanitation.scenario import load_scenario
from sanitation.verify.closures import verify_closures
from tests.replan_helpers import COMPACTOR, SMALL, TINY, _routes, base_plan, replan

__all__ = ["base_plan"]  # the module fixture

DOWN = {"type": "truck_down", "vehicle": SMALL, "time": "08:10"}


def _closed(frm: str, until: str | None = None) -> dict:
    event = {"type": "road_closed", "roads": ["EW1", "EW2"], "from": frm}
    return event | ({"until": until} if until else {})


def test_a_closure_later_than_the_truck_passes_is_used(base_plan, tmp_path, monkeypatch) -> None:
    # the compactor takes over P1 and P4 at 10:00 and is at the station before 11:00 (its
    # depot stands there)
    open_day = _routes(replan(base_plan, tmp_path / "a", monkeypatch, [DOWN], "10:00"))
    later = [DOWN, _closed("11:00", "12:00")]
    timed = _routes(replan(base_plan, tmp_path / "b", monkeypatch, later, "10:00"))
    closed = [DOWN, _closed("10:00")]
    detour = _routes(replan(base_plan, tmp_path / "c", monkeypatch, closed, "10:00"))
    assert all(v["arrival_s"] < 11 * 3600 for v in timed[COMPACTOR]["visits"])
    assert timed[COMPACTOR]["distance_m"] == open_day[COMPACTOR]["distance_m"]
    # the closure binds when it holds while the truck drives
    assert detour[COMPACTOR]["distance_m"] > open_day[COMPACTOR]["distance_m"] + 2000


def _two_trucks() -> tuple[LegPricing, PlanningContext]:
    """P1 for truck A (out at 11:30, P1 open 11:30-11:45), P4 for truck B (out at 14:00, P4
    open 14:00-14:30); EW1 and EW2 closed from 11:30 until 13:00."""
    ctx = PlanningContext.build(load_scenario(TINY))
    recorder = NodeRecorder.of(ctx)
    base = build_station_day(recorder, "S1", {"P1": 300, "P4": 600}, {"compactor_5t": 1})
    (vt,) = base.vehicle_types
    a = dataclasses.replace(vt, id="A", shift_start_s=41_400, lunch=None)
    b = dataclasses.replace(vt, id="B", shift_start_s=50_400, lunch=None)
    p1, p4 = (base.stop(s) for s in ("P1", "P4"))
    stops = (
        dataclasses.replace(p1, tw_open_s=41_400, tw_close_s=42_300, allowed_vehicle_types={"A"}),
        dataclasses.replace(p4, tw_open_s=50_400, tw_close_s=52_200, allowed_vehicle_types={"B"}),
    )
    problem = base.replace(vehicle_types=(a, b), stops=stops)
    closure = RoadClosed.model_validate(_closed("11:30", "13:00"))
    roads = TimedRoads.build(ctx.places.network, [closure])
    pricing = LegPricing.build(
        problem,
        roads,
        [ctx.places.profiles[c] for c in ctx.classes],
        [recorder.nodes[c] for c in ctx.classes],
    )
    return pricing, ctx


def test_a_closure_forces_the_detour_while_it_holds_only() -> None:
    pricing, _ = _two_trucks()
    rep, claim = solve_timed(pricing, {}, "S1", [], engine="pyvrp", time_limit_s=1, seed=1)
    routes = {r.vehicle_type: r for r in rep.solution.routes}
    assert sorted(routes) == ["A", "B"]
    base = pricing.base
    p = base.vehicle_type("A").profile
    depot, at_p1, at_p4 = 0, base.stop("P1").location, base.stop("P4").location
    # A drives to P1 at 11:30, inside the closure: priced (and driven) round it
    assert routes["A"].visits[0].arrival_s - routes["A"].depot_departure_s == int(
        pricing.closed_s[p][depot, at_p1]
    )
    assert pricing.closed_s[p][depot, at_p1] > base.duration_s[p][depot, at_p1] + 60
    # B drives to P4 at 14:00, after the closure: the open roads
    assert routes["B"].visits[0].arrival_s - routes["B"].depot_departure_s == int(
        base.duration_s[p][depot, at_p4]
    )
    assert verify_closures(rep.problem, rep.solution, claim) == []


def test_the_check_rejects_a_leg_through_a_closed_road_while_closed() -> None:
    pricing, _ = _two_trucks()
    problem = pricing.base  # every leg priced on the open roads
    route = build_route(problem, "A", 0, [("stop", "P1")])
    solution = RoutingSolution((route,), (), route.cost_cny, "hand-made", 0.0)
    paths, crossing = pricing.paths(problem, solution)
    assert ("A", 0, problem.stop("P1").location, 0) in crossing  # depot -> P1 by EW1 or EW2
    claim = pricing.claim(problem, paths)
    errors = verify_closures(problem, solution, claim)
    assert any("drives road 'EW" in e and "while it is closed" in e for e in errors)
    # without its road path the leg is not taken on trust either
    bare = dataclasses.replace(claim, paths={})
    assert any("no road path" in e for e in verify_closures(problem, solution, bare))
    # the same leg after the closure ends is fine
    late_problem = problem.replace(
        vehicle_types=(dataclasses.replace(problem.vehicle_type("A"), shift_start_s=47_000),),
        stops=(dataclasses.replace(problem.stop("P1"), tw_open_s=0, tw_close_s=86_400),),
    )
    late = build_route(late_problem, "A", 0, [("stop", "P1")])
    assert late.depot_departure_s >= 13 * 3600
    late_solution = RoutingSolution((late,), (), late.cost_cny, "hand-made", 0.0)
    paths, crossing = pricing.paths(late_problem, late_solution)
    assert crossing == set()
    assert verify_closures(late_problem, late_solution, pricing.claim(late_problem, paths)) == []
