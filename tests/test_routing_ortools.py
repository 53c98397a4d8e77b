"""OR-Tools engine specifics: search options, the multi-trip construction, unload clean-up and the
model's lunch bounds (the shared engine contract is in ``test_routing_engines.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from ortools.constraint_solver import pywrapcp
from routing_helpers import line_matrices as _line
from routing_helpers import truck as _vt

from sanitation.engines import solve
from sanitation.routing import ortools_engine
from sanitation.routing.engine import SolveParams
from sanitation.routing.ortools_engine import OrToolsEngine, _clean_unloads
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop
from sanitation.routing.schedule import build_route
from sanitation.routing.screen import UnservedReason
from sanitation.routing.solution import RoutingSolution
from sanitation.verify.routing import verify

# break intervals make each search step dearer: few steps suffice on these tiny days
LUNCH_PARAMS = SolveParams(time_limit_s=20, max_iterations=40)


def _solve(problem: RoutingProblem, params: SolveParams = LUNCH_PARAMS) -> RoutingSolution:
    sol = OrToolsEngine().solve(problem, params, seed=1)
    assert verify(problem, sol) == []
    assert sol.engine == "ortools"
    return sol


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


def test_reload_bound_day_is_served_from_the_multi_trip_construction():
    # eight stops of 4 kg, capacity 10: four trips; the default runs include the construction
    dur, dist = _line([0, *[1 + 0.5 * i for i in range(8)]])
    stops = [Stop(f"S{i}", i, 4, service_s=30) for i in range(1, 9)]
    lunch = Lunch(1800, 3600, 7200)
    vt = _vt(capacity_kg=10, lunch=lunch, shift_end_s=40_000)
    problem = RoutingProblem(dur, dist, [Site("st", 0, unload_s=120)], stops, [vt])
    sol = _solve(problem)
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


def test_vehicle_leaving_after_the_model_lunch_bound_is_not_used():
    # the shift starts at 12:30, the latest lunch start (window 11:00-13:00, 30 min): the break
    # fits at the departure, but the model keeps the break on the route by making the truck
    # leave before the earliest lunch end, so OR-Tools cannot use this truck
    dur, dist = _line([0, 1])
    lunch = Lunch(1800, 11 * 3600, 13 * 3600)
    late = _vt(shift_start_s=12 * 3600 + 1800, shift_end_s=16 * 3600, lunch=lunch)
    sol = _solve(RoutingProblem(dur, dist, [Site("st", 0)], [Stop("A", 1, 1)], [late]))
    assert sol.routes == ()
    assert [(u.stop_id, u.reason) for u in sol.unserved] == [
        ("A", UnservedReason.NO_USABLE_VEHICLE)
    ]


def test_clean_unloads_drops_redundant_unloads():
    dur, dist = _line([0, 1, 2])
    sites = [Site("st", 0, unload_s=60)]
    problem = RoutingProblem(dur, dist, sites, [Stop("A", 1, 5), Stop("B", 2, 5)], [_vt()])
    seq = [("stop", "A"), ("unload", "st"), ("unload", "st"), ("stop", "B"), ("unload", "st")]
    route = build_route(problem, "truck", 0, seq, final_unload=False)
    cleaned = _clean_unloads(problem, route)
    assert [v.kind for v in cleaned.visits] == ["stop", "unload", "stop", "unload"]
    assert cleaned.cost_cny <= route.cost_cny


def _simultaneous_stops(n: int, count: int) -> RoutingProblem:
    """``n`` stops 30 km apart that all open and close at 08:00: one truck each."""
    dur, dist = _line([0.0] + [30.0 * (i + 1) for i in range(n)])
    stops = [Stop(f"s{i}", i + 1, 10, tw_open_s=8 * 3600, tw_close_s=8 * 3600) for i in range(n)]
    vt = _vt(count=count, capacity_kg=1000, shift_end_s=86_000)
    return RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt])


def test_binding_fleet_cap_is_lifted_and_every_stop_served(monkeypatch):
    import sanitation.routing.ortools_model as om

    monkeypatch.setattr(om, "MAX_FLEET", 3)
    problem = _simultaneous_stops(6, count=8)
    capped = om.ModelLayout(problem, list(range(6)), {i: [0] for i in range(6)})
    assert len(capped.vehicles) == 3 and capped.capped()  # the load alone asks for one truck
    sol = _solve(problem, SolveParams(time_limit_s=10, max_iterations=200))
    assert sol.stats["caps_lifted"] is True
    assert not sol.unserved and len(sol.routes) == 6


def test_binding_unload_copy_cap_is_lifted_and_every_stop_served():
    import sanitation.routing.ortools_model as om

    # 30 stops of 51 kg on a 100 kg truck: one trip each, more than the copy estimate
    n = 30
    dur, dist = _line([0.0] + [0.5 + 0.01 * i for i in range(n)])
    stops = [Stop(f"s{i}", i + 1, 51) for i in range(n)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [_vt(count=1)])
    layout = om.ModelLayout(problem, list(range(n)), {i: [0] for i in range(n)})
    assert sum(len(c) for c in layout.copy_nodes.values()) < n - 1 and layout.capped()
    sol = _solve(problem, SolveParams(time_limit_s=15, max_iterations=2000))
    assert sol.stats["caps_lifted"] is True
    assert not sol.unserved and sum(1 for v in sol.routes[0].visits if v.kind == "unload") == n


def _sixty_stops_with_reloads() -> RoutingProblem:
    """Sixty stops in a 10 km square, three 2 t trucks: several trips each (reloads)."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10_000, size=(61, 2))
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(-1)).astype(np.int64)
    dur = (dist // 8).astype(np.int64)  # about 30 km/h
    stops = [Stop(f"P{i}", i, int(rng.integers(100, 400)), service_s=120) for i in range(1, 61)]
    vt = _vt(count=3, capacity_kg=2000, shift_start_s=6 * 3600, shift_end_s=18 * 3600)
    return RoutingProblem(dur, dist, [Site("st", 0, unload_s=300)], stops, [vt])


def test_work_budgeted_run_has_no_hidden_clock_in_its_moves(monkeypatch):
    # OR-Tools cuts each large-neighbourhood re-insertion at `lns_time_limit` (100 ms by
    # default): on a slow or shared core that changed routes without any clock note. A default
    # of 1 ns stands for an infinitely slow core; the work-budgeted run must not notice it.
    problem = _sixty_stops_with_reloads()
    params = SolveParams(time_limit_s=30, work_s=1.0)
    normal = OrToolsEngine().solve(problem, params, seed=1)
    default = pywrapcp.DefaultRoutingSearchParameters

    def slow_core() -> object:
        search = default()
        search.lns_time_limit.FromNanoseconds(1)
        return search

    monkeypatch.setattr(ortools_engine.pywrapcp, "DefaultRoutingSearchParameters", slow_core)
    slow = OrToolsEngine().solve(problem, params, seed=1)
    assert normal.stats["stopped_by"] == slow.stats["stopped_by"] == "work_budget"
    assert verify(problem, slow) == []
    assert [r.stop_ids for r in slow.routes] == [r.stop_ids for r in normal.routes]
    assert slow.cost_cny == pytest.approx(normal.cost_cny)


def test_a_run_stopped_by_the_clock_stops_the_whole_solve_by_the_clock(monkeypatch):
    # a reload day makes two runs; when the second one finds nothing before the clock, the
    # first one's plan wins but the solve was stopped by the clock (a faster core would have
    # let the second run find its plan): it was reported "work_budget", hiding the clock
    problem = _sixty_stops_with_reloads()
    search_once = ortools_engine._search_once
    calls = []

    def second_run_out_of_time(layout, first, meta, construct, budget, limit, opts):
        calls.append(first)
        if len(calls) == 1:
            return search_once(layout, first, meta, construct, budget, limit, opts)
        return None, [], {"first_solution": first, "stopped_by": "time_limit", "status": 0}

    monkeypatch.setattr(ortools_engine, "_search_once", second_run_out_of_time)
    sol = OrToolsEngine().solve(problem, SolveParams(time_limit_s=30, work_s=1.0), seed=1)
    assert len(calls) == 2
    assert verify(problem, sol) == []
    assert sol.stats["runs"][0]["stopped_by"] == "work_budget"
    assert sol.stats["stopped_by"] == "time_limit"
