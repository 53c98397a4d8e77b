"""A what-if re-solves only what its overlay changes (`sanitation.plan.reuse`): each kind of
change, exact reuse where the baseline's routes still hold, warm starts through every engine,
and "keep the better" so that added resources never make a station-day worse."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from routing_helpers import twelve_points

from sanitation.engines import get_engine
from sanitation.plan.daily import StationDay, StationDayResult
from sanitation.plan.reuse import (
    Basis,
    Change,
    Reference,
    better,
    carry_over,
    classify,
    solve_with_reference,
)
from sanitation.routing.engine import SolveParams
from sanitation.routing.schedule import build_route
from sanitation.routing.screen import UnservedReason
from sanitation.routing.solution import Unserved
from sanitation.verify.routing import verify

DAY = dt.date(2026, 11, 27)
PARAMS = SolveParams(time_limit_s=30, work_s=0.5)


def _with_trucks(problem, count):
    vt = dataclasses.replace(problem.vehicle_types[0], count=count)
    return dataclasses.replace(problem, vehicle_types=(vt,))


@pytest.fixture(scope="module")
def base():
    problem = twelve_points()
    solution = get_engine("pyvrp").solve(problem, PARAMS, seed=1)
    assert verify(problem, solution) == [] and not solution.unserved
    return Reference(problem, solution, PARAMS)


def _task(problem, engine="pyvrp"):
    return StationDay("st", DAY, problem, engine, PARAMS, 1)


def test_classify_names_each_kind_of_change(base):
    problem = base.problem
    assert classify(problem, twelve_points()) == Change.UNCHANGED
    assert classify(problem, _with_trucks(problem, 2)) == Change.NARROWER
    assert classify(problem, _with_trucks(problem, 4)) == Change.WIDER
    stop = dataclasses.replace(problem.stops[0], tw_close_s=problem.stops[0].tw_close_s + 3600)
    wider_window = dataclasses.replace(problem, stops=(stop, *problem.stops[1:]))
    assert classify(problem, wider_window) == Change.WIDER
    assert classify(wider_window, problem) == Change.NARROWER
    heavier = dataclasses.replace(problem.stops[0], load_kg=problem.stops[0].load_kg + 1)
    assert classify(problem, dataclasses.replace(problem, stops=(heavier, *problem.stops[1:]))) == (
        Change.OTHER
    )
    dearer = dataclasses.replace(problem.vehicle_types[0], cost_cny_per_km=3.0)
    assert classify(problem, dataclasses.replace(problem, vehicle_types=(dearer,))) == Change.OTHER


def test_an_unchanged_station_day_reuses_the_base_routes_exactly(base):
    result = solve_with_reference(_task(twelve_points()), base)
    assert result.solution.stats["basis"] == Basis.REUSED
    assert result.solution.routes == base.solution.routes
    assert result.solution.cost_cny == base.solution.cost_cny


def test_fewer_trucks_than_owned_but_no_fewer_than_used_reuses_the_base_exactly(base):
    used = len(base.solution.routes)
    assert used < base.problem.vehicle_types[0].count  # the cut does not bind
    result = solve_with_reference(_task(_with_trucks(base.problem, used)), base)
    assert result.solution.stats["basis"] == Basis.REUSED
    assert result.solution.routes == base.solution.routes


def test_a_cut_that_binds_is_solved_again_and_verified(base):
    used = len(base.solution.routes)
    problem = _with_trucks(base.problem, used - 1)
    assert carry_over(problem, base.solution) is None  # the base needs more trucks
    result = solve_with_reference(_task(problem), base)
    assert result.solution.stats["basis"] == Basis.WARM_STARTED
    assert result.solution.stats["change"] == Change.NARROWER
    assert verify(problem, result.solution) == []
    assert len(result.solution.routes) <= used - 1


@pytest.mark.parametrize("engine", ["pyvrp", "ortools", "portfolio"])
def test_more_trucks_never_make_the_station_day_worse(base, engine):
    problem = _with_trucks(base.problem, 5)
    result = solve_with_reference(_task(problem, engine), base)
    solution = result.solution
    assert solution.stats["basis"] in (Basis.WARM_STARTED, Basis.BASE_KEPT)
    assert verify(problem, solution) == []
    assert not better(base.solution, solution)  # never costlier, never more unserved


def test_the_base_is_kept_when_the_search_does_worse(base, monkeypatch):
    """The search's answer here serves one stop fewer (valid, but worse): the base's routes,
    still valid with more trucks, are kept."""
    problem = _with_trucks(base.problem, 5)
    route = base.solution.routes[0]
    dropped = route.stop_ids[-1]
    steps = [(v.kind, v.id) for v in route.visits[:-1] if v.id != dropped]
    while steps[-1][0] == "unload":
        steps.pop()
    shorter = build_route(problem, route.vehicle_type, route.vehicle_index, steps)
    routes = (shorter, *base.solution.routes[1:])
    worse = dataclasses.replace(
        base.solution,
        routes=routes,
        unserved=(Unserved(dropped, UnservedReason.FLEET_EXHAUSTED),),
        cost_cny=sum(r.cost_cny for r in routes),
    )
    assert verify(problem, worse) == [] and better(base.solution, worse)

    def search(task, executor=None):
        assert task.params.initial_solution is base.solution  # the warm start is passed on
        return StationDayResult(task.station_id, task.date, worse, 0.1)

    monkeypatch.setattr("sanitation.plan.reuse.solve_station_day", search)
    result = solve_with_reference(_task(problem), base)
    assert result.solution.stats["basis"] == Basis.BASE_KEPT
    assert result.solution.routes == base.solution.routes


@pytest.mark.parametrize("engine", ["pyvrp", "ortools", "portfolio"])
def test_engines_start_from_the_initial_solution(base, engine):
    """One iteration from the base's routes: nothing worse than them comes back."""
    problem = _with_trucks(base.problem, 5)
    params = SolveParams(time_limit_s=30, max_iterations=1, initial_solution=base.solution)
    warm = get_engine(engine).solve(problem, params, seed=1)
    assert verify(problem, warm) == []
    assert warm.cost_cny <= base.solution.cost_cny + 1e-6
    stats = warm.stats.get("winner_stats", warm.stats)
    if engine == "ortools" or warm.stats.get("winner") == "ortools":
        assert stats["runs"][0]["first_solution"] == "WARM_START"


def test_a_stop_taken_away_leaves_the_base_routes_valid_once_re_timed(base):
    problem = base.problem
    gone = base.solution.routes[0].stop_ids[0]
    fewer = dataclasses.replace(problem, stops=tuple(s for s in problem.stops if s.id != gone))
    assert classify(problem, fewer) == Change.OTHER
    carried = carry_over(fewer, base.solution)
    assert carried is not None and verify(fewer, carried) == []
    assert gone not in {sid for r in carried.routes for sid in r.stop_ids}
    assert carried.cost_cny <= base.solution.cost_cny + 1e-6  # shortest paths: no detour added


def test_a_new_stop_makes_the_base_routes_invalid(base):
    problem = base.problem
    extra = dataclasses.replace(problem.stops[0], id="NEW")
    more = dataclasses.replace(problem, stops=(*problem.stops, extra))
    assert carry_over(more, base.solution) is None
