"""Batched route-aware siting: the search routes the groups it needs at once (``route_batch``,
``lookahead``) and the chain runs them on a process pool (`sanitation.plan.siting`); the siting
is the sequential search's, whatever the batch's width or the order its solves finish in."""

from __future__ import annotations

import concurrent.futures as cf
import math
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from sanitation.plan import plan_days
from sanitation.plan import siting as siting_module
from sanitation.plan.assign import site_and_assign
from sanitation.plan.context import PlanningContext
from sanitation.plan.siting import StationDayOracle
from sanitation.scenario import load_scenario
from sanitation.scenario.generate import generate_county
from sanitation.siting import RoutedGroup, RouteRequest, SitingProblem, solve_siting

TRAP = Path(__file__).parent / "data" / "scenario" / "siting_trap" / "scenario.yaml"


class NearestTour:
    """A deterministic heuristic oracle: one tour per vehicle load, nearest neighbour first
    (Euclidean), plus a fixed cost per route; counts its calls."""

    def __init__(self, customers: np.ndarray, sites: np.ndarray, capacity: int) -> None:
        self.customers, self.sites, self.capacity, self.calls = customers, sites, capacity, 0

    def __call__(self, site, customers, *, time_limit_s, seed):
        self.calls += 1
        left, routes, cost = list(customers), [], 0.0
        while left:
            here, route = self.sites[site], []
            while left and len(route) < self.capacity:
                nxt = min(left, key=lambda c: (math.dist(here, self.customers[c]), c))
                cost += math.dist(here, self.customers[nxt])
                here = self.customers[nxt]
                route.append(nxt)
                left.remove(nxt)
            cost += math.dist(here, self.sites[site]) + 10.0
            routes.append(tuple(route))
        return RoutedGroup(cost, tuple(routes))


class ReversedBatch:
    """A `RouteBatch` whose requests finish last-first (solved in reverse order), answered in
    request order; records each batch's size."""

    def __init__(self, oracle) -> None:
        self.oracle, self.sizes = oracle, []

    def __call__(self, requests):
        self.sizes.append(len(requests))
        answers = {}
        for k in reversed(range(len(requests))):
            r = requests[k]
            answers[k] = self.oracle(r.site, r.customers, time_limit_s=r.time_limit_s, seed=r.seed)
        return [answers[k] for k in range(len(requests))]


def _county(seed: int, *, n: int = 12, m: int = 4, grouped: bool = False):
    """Customers and sites uniform in a 40 × 40 square, the estimate a stem per load of 4."""
    rng = np.random.default_rng(seed)
    customers = rng.uniform(0, 40, size=(n, 2))
    sites = rng.uniform(0, 40, size=(m, 2))
    d = np.linalg.norm(customers[:, None] - sites[None], axis=2)
    problem = SitingProblem(
        opening_cost=rng.uniform(10, 40, size=m).round(),
        capacity=np.full(m, n // 2 + 1),
        demand=np.ones(n, dtype=int),
        allowed=np.ones((n, m), dtype=bool),
        assign_cost=np.zeros((n, m)),
        estimate=2 * d / 4,
        fixed_open=np.arange(m) == 0,
        group=np.arange(n) // 2 if grouped else None,
    )
    return problem, customers, sites


def _solve(problem, customers, sites, **kwargs):
    oracle = NearestTour(customers, sites, capacity=4)
    batch = kwargs.pop("batch", False)
    route_batch = ReversedBatch(oracle) if batch else None
    result = solve_siting(
        problem,
        oracle,
        time_limit_s=60,
        seed=1,
        max_evaluations=kwargs.pop("max_evaluations", 16),
        route_batch=route_batch,
        **kwargs,
    )
    return result, route_batch


def _same(a, b) -> None:
    assert a.site_of.tolist() == b.site_of.tolist()
    assert a.total_cost == b.total_cost
    assert a.evaluations == b.evaluations
    assert a.stopped_by == b.stopped_by
    assert [cost for _, cost in a.history] == [cost for _, cost in b.history]


@pytest.mark.parametrize("seed", range(1, 9))
def test_the_batched_search_sites_as_the_sequential_one(seed):
    """Every look-ahead, its groups finishing in reverse order, gives the sequential siting;
    the batches bind (several groups routed at once) and only add oracle calls."""
    problem, customers, sites = _county(seed, m=3 + seed % 3, grouped=seed % 2 == 1)
    sequential, _ = _solve(problem, customers, sites)
    for lookahead in (1, 2, 4):
        batched, batch = _solve(problem, customers, sites, batch=True, lookahead=lookahead)
        _same(batched, sequential)
        assert batched.oracle_calls >= sequential.oracle_calls
        assert max(batch.sizes) > 1  # the estimate's groups at least, in one batch


def test_a_look_ahead_routes_the_next_candidates_in_one_batch():
    """With a look-ahead of 4 a batch holds more groups than any single whole has sites."""
    problem, customers, sites = _county(2)
    batched, batch = _solve(problem, customers, sites, batch=True, lookahead=4)
    assert max(batch.sizes) > problem.n_sites
    single, one = _solve(problem, customers, sites, batch=True, lookahead=1)
    assert max(one.sizes) <= problem.n_sites
    _same(batched, single)


def test_a_batch_that_answers_too_few_requests_is_an_error():
    problem, customers, sites = _county(1)
    oracle = NearestTour(customers, sites, capacity=4)

    def short(requests):
        return [oracle(r.site, r.customers, time_limit_s=1, seed=1) for r in requests[:-1]]

    with pytest.raises(RuntimeError, match="route_batch answered"):
        solve_siting(problem, oracle, time_limit_s=5, max_evaluations=4, route_batch=short)
    with pytest.raises(ValueError, match="lookahead must be >= 1"):
        solve_siting(problem, oracle, time_limit_s=5, max_evaluations=4, lookahead=0)


# ------------------------------------------------------------------------------- the chain
class _Later(cf.Future):
    """A future of `ReverseExecutor`: asking for any result runs every pending task."""

    def __init__(self, executor: ReverseExecutor) -> None:
        super().__init__()
        self.executor = executor

    def result(self, timeout=None):
        self.executor.run_pending()
        return super().result(timeout)


class ReverseExecutor(cf.Executor):
    """Runs the submitted tasks when a result is first asked for, the last submitted first (as
    if they finished in reverse order); records the order they finished in."""

    def __init__(self) -> None:
        self.pending: list = []
        self.finished: list[int] = []
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        future = _Later(self)
        self.pending.append((self.submitted, future, fn, args, kwargs))
        self.submitted += 1
        return future

    def run_pending(self) -> None:
        while self.pending:
            number, future, fn, args, kwargs = self.pending.pop()
            future.set_result(fn(*args, **kwargs))
            self.finished.append(number)


def test_the_station_day_oracle_keeps_its_answers_by_request(tmp_path):
    """``siting_trap``'s groups solved on an executor that finishes them last-first: each answer
    is the one a solve of its own gives, in request order."""
    ctx = PlanningContext.build(load_scenario(TRAP), cache_dir=tmp_path)
    due = {"A1": 1000, "A2": 1000, "A3": 1000, "C1": 50, "C2": 50, "C3": 50}
    requests = [
        RouteRequest(0, (0, 1, 2), 5.0, 1),
        RouteRequest(1, (3, 4, 5), 5.0, 1),
        RouteRequest(0, (0, 1, 2, 3, 4, 5), 5.0, 1),
        RouteRequest(1, (3, 4, 5), 5.0, 1),  # a repeat: solved once
    ]
    executor = ReverseExecutor()
    batched = StationDayOracle(ctx, due, executor=executor).batch(requests)
    assert executor.submitted == 3
    assert executor.finished == [2, 1, 0]  # the last submitted finished first
    alone = StationDayOracle(ctx, due)
    for request, answer in zip(requests, batched, strict=True):
        own = alone(request.site, request.customers, time_limit_s=5.0, seed=1)
        assert answer == own
    assert batched[1] is batched[3]


def test_the_deadline_cuts_a_running_batch(tmp_path, monkeypatch):
    """A solve of a batch not finished by the oracle's deadline is refused (None, not memoised),
    the batch does not wait for it, and the finished ones are kept."""
    ctx = PlanningContext.build(load_scenario(TRAP), cache_dir=tmp_path)
    due = {"A1": 1000, "A2": 1000, "A3": 1000, "C1": 50, "C2": 50, "C3": 50}
    real = siting_module.solve_routing

    def slow_when_large(problem, params, *, seed, engine):
        if len(problem.stops) > 3:
            time.sleep(4.0)
        return real(problem, params, seed=seed, engine=engine)

    monkeypatch.setattr(siting_module, "solve_routing", slow_when_large)
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        oracle = StationDayOracle(ctx, due, executor=pool)
        began = time.perf_counter()
        oracle.deadline = began + 2.0
        small, large = oracle.batch(
            [RouteRequest(0, (0, 1, 2), 5.0, 1), RouteRequest(0, (0, 1, 2, 3, 4, 5), 5.0, 1)]
        )
        waited = time.perf_counter() - began
    assert small is not None and small.routes
    assert large is None
    assert (oracle.solves, oracle.refused, len(oracle.memo)) == (1, 1, 1)
    assert waited < 3.5


def _generated(folder: Path) -> Path:
    """24 points, 4 existing stations kept open and candidate ST-C01: the routed siting."""
    return generate_county(folder, n_points=24, n_stations=4, seed=7)


def _site(scenario_path: Path, cache: Path):
    """The chain's siting (`site_and_assign`) of the scenario, its siting cache emptied first."""
    shutil.rmtree(cache / "siting", ignore_errors=True)
    scenario = load_scenario(scenario_path)
    ctx = PlanningContext.build(scenario, cache_dir=cache)
    out, station_of = site_and_assign(ctx, [scenario.plan_date], time_limit_s=2, seed=1)
    report = out.siting.model_dump(exclude={"seconds", "cached"})
    return station_of, report


def _count_pools(monkeypatch) -> list[int]:
    """The siting's pools made from now on (their sizes), real ones."""
    made: list[int] = []
    real = siting_module.new_pool

    def counted(portfolio, workers):
        made.append(workers)
        return real(portfolio, workers)

    monkeypatch.setattr(siting_module, "new_pool", counted)
    return made


def test_the_pool_gives_the_sequential_siting_and_the_same_twice(tmp_path, monkeypatch):
    """The chain's siting on its process pool, twice, and on an executor that finishes the
    solves last-first, equals the siting routed one solve after another; the pool is used and
    the work budget, not the clock, ends the search."""
    path = _generated(tmp_path / "county")
    cache = tmp_path / "cache"
    made = _count_pools(monkeypatch)
    first = _site(path, cache)
    second = _site(path, cache)
    assert len(made) == 2
    assert first == second
    assert first[1]["mode"] == "routed"
    assert first[1]["stopped_by"] in ("evaluations", "converged")

    executor = ReverseExecutor()
    monkeypatch.setattr(siting_module, "new_pool", lambda portfolio, workers: executor)
    reversed_order = _site(path, cache)
    assert executor.finished and executor.finished != sorted(executor.finished)

    class Inline(ReverseExecutor):  # one solve at a time, in submission order
        def submit(self, fn, /, *args, **kwargs):
            future = cf.Future()
            future.set_result(fn(*args, **kwargs))
            return future

    monkeypatch.setattr(siting_module, "new_pool", lambda portfolio, workers: Inline())
    monkeypatch.setattr(siting_module, "siting_workers", lambda: 1)  # no look-ahead
    sequential = _site(path, cache)
    assert reversed_order[0] == sequential[0] == first[0]
    calls = {"oracle_calls"}  # the look-ahead only adds calls
    for report in (reversed_order[1], first[1]):
        assert {k: v for k, v in report.items() if k not in calls} == {
            k: v for k, v in sequential[1].items() if k not in calls
        }


def test_the_default_plan_sites_on_the_pool_within_its_work_budget(tmp_path, monkeypatch):
    """`plan_days` with the default engine and its own pools: the siting runs on a pool of
    every core, is ended by its work budget, and the plan follows it."""
    made = _count_pools(monkeypatch)
    scenario = load_scenario(_generated(tmp_path / "county"))
    plan = plan_days(scenario, [scenario.plan_date], time_limit_s=2, cache_dir=tmp_path / "c")
    siting = plan.assignment.siting
    assert made == [siting_module.siting_workers()]
    assert siting.mode == "routed"
    assert siting.stopped_by in ("evaluations", "converged")
    assert not any("cut by its time budget" in note for note in plan.notes)
    open_ids = {s.station_id for s in plan.assignment.stations if s.open}
    assert open_ids == set(siting.stations_open)
    assert {p.station_id for p in plan.assignment.points} <= open_ids
