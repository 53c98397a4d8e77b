"""Same inputs and seed, same plan: work budgets instead of wall-clock stops (engines, the
portfolio and `sanitation plan`), with the time limit kept as a hard cap that says so."""

from __future__ import annotations

import json

import pytest
from routing_helpers import twelve_points

from sanitation.engines import get_engine
from sanitation.io.plan_folder import plan_to_folder
from sanitation.routing.engine import (
    STOPPED_BY_TIME,
    STOPPED_BY_WORK,
    SolveParams,
    work_iterations,
)
from sanitation.scenario import load_scenario
from sanitation.scenario.generate import generate_county
from sanitation.verify.routing import verify

RATES = ((10, 1000.0), (100, 100.0))


def test_work_iterations_interpolate_and_scale_with_the_budget():
    assert work_iterations(RATES, 10, 4.0) == 1000  # 0.25 of 1000/s for 4 s
    assert work_iterations(RATES, 100, 4.0) == 100
    assert work_iterations(RATES, 1, 4.0) == 1000  # held constant beyond the ends
    assert work_iterations(RATES, 1000, 4.0) == 100
    # log-linear in between: here the rate falls as 1/n, 1000 x 10/31 per s at 31 stops
    assert work_iterations(RATES, 31, 4.0) == round(1000 * 10 / 31)
    assert work_iterations(RATES, 10, 8.0) == 2 * work_iterations(RATES, 10, 4.0)
    assert work_iterations(RATES, 10, 1e-9) == 1


def test_work_budget_is_bounded():
    with pytest.raises(ValueError, match="work_s"):
        SolveParams(time_limit_s=1, work_s=0)
    with pytest.raises(ValueError, match="work_s"):
        SolveParams(time_limit_s=1, work_s=1e9)


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_a_work_budget_gives_the_same_routes_twice(engine):
    problem = twelve_points()
    params = SolveParams(time_limit_s=30, work_s=0.5)
    first = get_engine(engine).solve(problem, params, seed=3)
    second = get_engine(engine).solve(problem, params, seed=3)
    assert first.stats["stopped_by"] == STOPPED_BY_WORK
    assert first.routes == second.routes and first.cost_cny == second.cost_cny
    assert verify(problem, first) == []


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_the_time_limit_still_caps_a_large_work_budget_and_says_so(engine):
    problem = twelve_points()
    solution = get_engine(engine).solve(
        problem, SolveParams(time_limit_s=0.3, work_s=3600.0), seed=1
    )
    assert solution.seconds < 5
    assert solution.stats["stopped_by"] == STOPPED_BY_TIME
    assert verify(problem, solution) == []


def test_no_work_budget_means_the_clock_stopped_it():
    solution = get_engine("pyvrp").solve(twelve_points(), SolveParams(time_limit_s=0.3), seed=1)
    assert solution.stats["stopped_by"] == STOPPED_BY_TIME


def _without_timings(document: dict) -> dict:
    """The plan document less what measures time (created_at, solve, assignment and siting
    seconds, whether the siting came from the cache) and the assignment's solver metadata:
    which MIP solver answered first, and its bound, depend on the clock (under load SCIP and
    CP-SAT swap); the stations and points chosen do not."""
    document = json.loads(json.dumps(document))
    document.pop("created_at")
    for key in ("seconds", "solver", "best_bound_cny_per_day", "optimal"):
        document["assignment"].pop(key)
    for key in ("seconds", "cached"):  # the second plan takes the first one's siting from the cache
        document["assignment"]["siting"].pop(key)
    for day in document["days"]:
        for station in day["stations"]:
            station.pop("solve_seconds")
    return document


def test_planning_a_county_twice_with_the_default_engine_gives_the_same_plan(tmp_path):
    path = generate_county(tmp_path / "county", n_points=16, n_stations=2, seed=11)
    scenario = load_scenario(path)
    plans = []
    for k in (1, 2):
        plan_to_folder(
            scenario,
            [scenario.plan_date],
            tmp_path / f"plan{k}",
            engine="portfolio",
            time_limit_s=4,
        )
        plans.append(json.loads((tmp_path / f"plan{k}" / "plan.json").read_text("utf-8")))
    assert plans[0]["engine"] == "portfolio"
    assert not [n for n in plans[0]["notes"] if "time limit" in n]  # the work budget stopped it
    assert _without_timings(plans[0]) == _without_timings(plans[1])
    assert plans[0]["created_at"] and plans[0]["days"][0]["routes"]
