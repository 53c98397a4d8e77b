"""The ``pyvrp2`` engine: two PyVRP searches in two processes that swap their best solutions
(`sanitation.engines.pyvrp_pair`, `sanitation.routing.pyvrp_pair`). The shared engine contract
runs on it in ``test_routing_engines.py``."""

from __future__ import annotations

import concurrent.futures as cf
import os
import queue
import time
from collections.abc import Iterator

import numpy as np
import pytest
import pyvrp
from pyvrp import SolveParams as PSolveParams
from pyvrp.stop import MaxIterations
from routing_helpers import truck, twelve_points

from sanitation.engines import get_engine, solve
from sanitation.engines.portfolio import _default_context
from sanitation.engines.pyvrp_pair import PyVRPIndependentPairEngine, PyVRPPairEngine
from sanitation.routing.engine import STOPPED_BY_TIME, STOPPED_BY_WORK, SolveParams
from sanitation.routing.problem import RoutingProblem, Site, Stop
from sanitation.routing.pyvrp_pair import DONE, Exchange, Link, _wire
from sanitation.routing.solution import objective
from sanitation.verify.routing import verify

#: reference seconds of work of a seeded solve, and between exchanges (about 10 epochs)
WORK_S = 1.0
EPOCH_S = 0.1


@pytest.fixture(scope="module")
def pool() -> Iterator[cf.Executor]:
    """One warm process pool of two workers for this module's solves."""
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=_default_context()) as executor:
        yield executor


def forty_points() -> RoutingProblem:
    """Forty stops in a 10 km square, twelve 500 kg trucks: capacity binds, seeds differ."""
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 10_000, size=(41, 2))
    dist = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    dur = dist // 8
    stops = [Stop(f"P{i}", i, int(rng.integers(50, 200)), service_s=60) for i in range(1, 41)]
    vt = truck(count=12, capacity_kg=500, shift_end_s=12 * 3600, max_trips=1)
    return RoutingProblem(dur, dist, [Site("st", 0)], stops, [vt])


def _pair(pool: cf.Executor, **options: object) -> PyVRPPairEngine:
    return PyVRPPairEngine(executor=pool, epoch_s=EPOCH_S, **options)  # type: ignore[arg-type]


def _work(seed_limit_s: float = 20.0) -> SolveParams:
    return SolveParams(time_limit_s=seed_limit_s, work_s=WORK_S)


def test_two_searches_run_in_two_processes_and_the_plan_verifies(pool: cf.Executor):
    problem = forty_points()
    sol = _pair(pool).solve(problem, _work(), seed=2)
    assert verify(problem, sol) == []
    assert sol.engine == "pyvrp2"
    searches = sol.stats["searches"]
    assert [s["seed"] for s in searches] == [2, 3]
    pids = {s["pid"] for s in searches}
    assert len(pids) == 2
    assert os.getpid() not in pids
    assert all(s["iterations"] > 0 for s in searches)


def test_the_searches_exchange_and_adopt_cheaper_solutions(pool: cf.Executor):
    problem = forty_points()
    sol = _pair(pool).solve(problem, _work(), seed=2)
    searches = sol.stats["searches"]
    assert all(s["epochs"] >= 5 and s["sent"] == s["epochs"] for s in searches)
    assert sum(s["adoptions"] for s in searches) >= 1
    assert all(s["timeouts"] == 0 for s in searches)
    alone = PyVRPIndependentPairEngine(executor=pool, epoch_s=EPOCH_S).solve(
        problem, _work(), seed=2
    )
    assert alone.engine == "pyvrp2-independent"
    assert [s["epochs"] for s in alone.stats["searches"]] == [0, 0]
    assert [s["adoptions"] for s in alone.stats["searches"]] == [0, 0]


def test_same_seed_gives_the_same_plan_with_a_work_budget(pool: cf.Executor):
    problem = forty_points()
    first, again = (_pair(pool).solve(problem, _work(), seed=2) for _ in range(2))
    assert first.stats["stopped_by"] == STOPPED_BY_WORK
    assert again.routes == first.routes
    assert again.cost_cny == first.cost_cny
    counts = [(s["iterations"], s["adoptions"]) for s in first.stats["searches"]]
    assert [(s["iterations"], s["adoptions"]) for s in again.stats["searches"]] == counts


@pytest.mark.parametrize(
    ("engine", "seed"), [(PyVRPPairEngine, 2), (PyVRPIndependentPairEngine, 3)]
)
def test_the_plan_is_never_worse_than_either_search(
    pool: cf.Executor, engine: type[PyVRPPairEngine], seed: int
):
    # on these seeds the two searches end apart
    problem = forty_points()
    sol = engine(executor=pool, epoch_s=EPOCH_S).solve(problem, _work(), seed=seed)
    values = [s["objective"] for s in sol.stats["searches"]]
    assert values[0] != values[1]
    assert objective(problem, sol) == min(values)
    assert sol.stats["winner_seed"] == seed + values.index(min(values))


def test_the_time_limit_holds(pool: cf.Executor):
    problem = forty_points()
    t0 = time.perf_counter()
    sol = _pair(pool).solve(problem, SolveParams(time_limit_s=2.0), seed=2)
    wall = time.perf_counter() - t0
    assert wall < 2.0
    assert sol.stats["stopped_by"] == STOPPED_BY_TIME
    assert all(s["epochs"] >= 5 for s in sol.stats["searches"])
    assert verify(problem, sol) == []


def test_small_problems_get_one_search_in_this_process():
    problem = twelve_points()
    sol = solve(problem, SolveParams(time_limit_s=10, max_iterations=200), engine="pyvrp2")
    assert sol.engine == "pyvrp2"
    assert [s["seed"] for s in sol.stats["searches"]] == [1]


def test_registry_builds_both_variants():
    assert get_engine("pyvrp2").name == "pyvrp2"
    assert get_engine("pyvrp2-independent").name == "pyvrp2-independent"
    with pytest.raises(ValueError, match="epoch_s"):
        PyVRPPairEngine(epoch_s=0)


def _cvrp_data() -> pyvrp.ProblemData:
    """Eight clients on a line at 1..8, capacity 3 of 8 unit demands: three routes needed."""
    xs = list(range(9))
    matrix = np.abs(np.subtract.outer(xs, xs)) * 10
    depot = pyvrp.Depot(0)
    clients = [pyvrp.Client(i, delivery=[1]) for i in range(1, 9)]
    vt = pyvrp.VehicleType(num_available=8, capacity=[3])
    locations = [pyvrp.Location(float(x), 0.0) for x in xs]
    return pyvrp.ProblemData(locations, clients, [depot], [vt], [matrix], [matrix])


def _one_route_each(data: pyvrp.ProblemData) -> pyvrp.Solution:
    return pyvrp.Solution(data, [[c] for c in range(data.num_clients)])


def _search_with_offer(
    offer: pyvrp.Solution, *, every: int, iterations: int
) -> tuple[pyvrp.Result, Exchange]:
    """Run `Exchange` on `_cvrp_data` from its worst solution, a boundary ``every`` iterations,
    the peer offering ``offer`` at the first one and then ending."""
    data = _cvrp_data()
    inbox: queue.Queue[object] = queue.Queue()
    inbox.put(_wire(offer))
    inbox.put(DONE)
    exchange = Exchange(Link(inbox, queue.Queue(), start=0.0, epoch_iterations=every))
    worst = _one_route_each(data)
    res = exchange(
        data, MaxIterations(iterations), seed=1, params=PSolveParams(), initial_solution=worst
    )
    return res, exchange


def test_a_cheaper_peer_solution_is_adopted_and_a_dearer_one_is_not():
    data = _cvrp_data()
    good = pyvrp.solve(data, MaxIterations(300), seed=1, display=False).best
    res, exchange = _search_with_offer(good, every=1, iterations=1)
    assert (exchange.epochs, exchange.adoptions) == (1, 1)
    assert res.best.distance() == good.distance()
    # the worst solution, offered after the first iteration's local search found better
    worst = _one_route_each(data)
    res, exchange = _search_with_offer(worst, every=2, iterations=3)
    assert (exchange.epochs, exchange.adoptions) == (1, 0)
    assert res.best.distance() < worst.distance()


def test_without_a_peer_the_search_is_pyvrps_own():
    data = _cvrp_data()
    alone = Exchange(Link(None, None, start=0.0))
    for seed in (1, 2):
        ours = alone(
            data, MaxIterations(50), seed=seed, params=PSolveParams(), initial_solution=None
        )
        theirs = pyvrp.solve(data, MaxIterations(50), seed=seed, display=False)
        assert ours.best == theirs.best
        assert ours.num_iterations == theirs.num_iterations
    assert (alone.epochs, alone.iterations) == (0, 100)


def test_a_peer_that_does_not_answer_leaves_the_search_alone():
    data = _cvrp_data()
    silent = Exchange(
        Link(queue.Queue(), queue.Queue(), start=0.0, epoch_iterations=1, wait_s=0.01)
    )
    res = silent(data, MaxIterations(5), seed=1, params=PSolveParams(), initial_solution=None)
    assert res.num_iterations == 5
    assert (silent.epochs, silent.timeouts, silent.adoptions) == (1, 1, 0)
