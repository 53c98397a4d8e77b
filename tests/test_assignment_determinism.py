"""Same problem, parameters and seed → the same assignment, whatever the timing.

The instances have ties: stations come in identical twins (same position, capacity and fixed
cost), so every optimum has a twin optimum with the twin stations swapped, and which one a
solver returns is up to its search. The racing portfolio returned whichever engine proved first;
the default engines must not depend on that, on the machine's load, or on the clock.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import sanitation.assignment._exact as exact
from sanitation.assignment import AssignmentParams, AssignmentProblem, solve


def twins(n: int, sites: int, seed: int) -> AssignmentProblem:
    """``n`` random points and ``sites`` random sites, each site holding two identical stations
    (collection cost = rounded distance)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    site_xy = np.repeat(rng.uniform(0, 100, (sites, 2)), 2, axis=0)
    cost = np.round(np.hypot(*(xy[:, None, :] - site_xy[None, :, :]).transpose(2, 0, 1)))
    demand = rng.integers(5, 30, n)
    share = int(demand.sum() / sites)
    capacity = np.repeat(rng.integers(share, 3 * share, sites), 2)
    fixed = np.repeat(rng.integers(100, 300, sites).astype(float), 2)
    m = 2 * sites
    return AssignmentProblem(
        point_ids=tuple(f"p{j}" for j in range(n)),
        station_ids=tuple(f"s{i}" for i in range(m)),
        demand_kg=demand,
        capacity_kg=capacity,
        fixed_cost_cny=fixed,
        collection_cost_cny=cost,
        travel_s=np.zeros((n, m), dtype=np.int64),
        allowed=np.ones((n, m), dtype=bool),
    )


def _delayed(engine: Callable[..., Any], seconds: float) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return engine(*args, **kwargs)

    return run


def _spin(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        x += 1


@contextmanager
def busy_cpu(processes: int = 2) -> Iterator[None]:
    """Two processes spinning on the CPU (the machine has two cores) while the block runs."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    workers = [context.Process(target=_spin, args=(stop,), daemon=True) for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)


TIES = twins(40, 6, seed=5)  # an instance where CP-SAT and SCIP return different twin optima


def test_the_engines_finishing_order_does_not_change_the_assignment(monkeypatch):
    """SCIP delayed (CP-SAT proves first) and CP-SAT delayed (SCIP proves first) give the same
    assignment; on the racing code the delayed engine's twin optimum was lost."""
    cpsat, scip = exact.solve_cpsat, exact.solve_mip
    found = []
    for slow in ("cpsat", "scip"):
        monkeypatch.setattr(
            exact, "solve_cpsat", _delayed(cpsat, 2.0) if slow == "cpsat" else cpsat
        )
        monkeypatch.setattr(exact, "solve_mip", _delayed(scip, 2.0) if slow == "scip" else scip)
        solution = solve(TIES, AssignmentParams(time_limit_s=30), seed=1)
        assert solution.optimal and not solution.stopped_by_time
        found.append((solution.station_of.tolist(), solution.objective_cny))
    assert found[0] == found[1]


def test_a_loaded_machine_gives_the_same_assignment():
    """A budget the search does not finish (no proof), solved idle and with both cores busy."""
    problem = twins(150, 15, seed=2)
    params = AssignmentParams(time_limit_s=30, work_s=1.0)
    idle = solve(problem, params, seed=4)
    with busy_cpu():
        loaded = solve(problem, params, seed=4)
    assert not idle.stopped_by_time and not loaded.stopped_by_time
    assert loaded.station_of.tolist() == idle.station_of.tolist()
    assert loaded.objective_cny == idle.objective_cny
    assert loaded.best_bound_cny == idle.best_bound_cny
    assert loaded.solver == idle.solver


@pytest.mark.parametrize("engine", ["auto", "mip", "cpsat"])
def test_each_deterministic_engine_repeats_itself(engine):
    problem = twins(150, 15, seed=2) if engine != "mip" else twins(60, 8, seed=2)
    params = AssignmentParams(time_limit_s=30, work_s=0.5, engine=engine)
    first, second = (solve(problem, params, seed=4) for _ in range(2))
    assert not first.stopped_by_time
    assert second.station_of.tolist() == first.station_of.tolist()
    assert second.best_bound_cny == first.best_bound_cny


def test_the_wall_clock_cap_is_reported():
    """A work budget far beyond the time limit: the clock ends the search and says so."""
    problem = twins(150, 15, seed=2)
    solution = solve(problem, AssignmentParams(time_limit_s=1.0, work_s=1000.0), seed=4)
    assert solution.stopped_by_time
    assert solution.seconds < 3.0


def test_the_default_parameters_are_deterministic():
    problem = twins(60, 8, seed=5)
    first, second = solve(problem), solve(problem)
    assert not first.stopped_by_time
    assert first.station_of.tolist() == second.station_of.tolist()
    assert first.objective_cny == second.objective_cny


def _assignment_view(out) -> tuple:
    """An `AssignmentOut` without its measured seconds (and the siting's cache flag)."""
    siting = out.siting.model_dump(exclude={"seconds", "cached"}) if out.siting else None
    return out.model_dump(exclude={"seconds", "siting"}), siting


@pytest.mark.parametrize("siting", ["estimate", "routed"])
def test_the_chain_sites_and_assigns_the_same_way_twice(tmp_path, siting):
    """`site_and_assign` (the plan's entry) on a county whose stations may all close, with the
    estimate alone and with routes, in two fresh contexts (no cache shared)."""
    import yaml

    from sanitation.plan.assign import site_and_assign
    from sanitation.plan.context import PlanningContext
    from sanitation.scenario import load_scenario
    from sanitation.scenario.generate import generate_county

    path = generate_county(tmp_path / "county", n_points=40, n_stations=4, seed=3)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document.setdefault("policy", {}).update(keep_existing_open=False, siting=siting)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    scenario = load_scenario(path)
    views = []
    for run in range(2):
        ctx = PlanningContext.build(scenario, cache_dir=tmp_path / f"cache{run}")
        out, _ = site_and_assign(ctx, [scenario.plan_date], time_limit_s=1, seed=2)
        assert not out.stopped_by_time
        views.append(_assignment_view(out))
    assert views[0] == views[1]


def test_a_cut_assignment_is_a_plan_note():
    from sanitation.plan.assign import assignment_note
    from sanitation.plan.model import AssignmentOut

    fields = {
        "mode": "optimised",
        "solver": "cpsat",
        "objective_cny_per_day": 1.0,
        "best_bound_cny_per_day": 0.5,
        "optimal": False,
        "seconds": 90.0,
        "cost_split_cny_per_day": {},
        "stations": [],
        "points": [],
    }
    assert assignment_note(AssignmentOut(**fields)) is None
    note = assignment_note(AssignmentOut(**fields, stopped_by_time=True))
    assert note is not None and "time limit" in note
