"""Portfolio engine: both engines in worker processes, the best verified plan wins."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging

import pytest
from routing_helpers import twelve_points

from sanitation.engines import get_engine, portfolio
from sanitation.engines.portfolio import PortfolioEngine
from sanitation.errors import VerificationError
from sanitation.routing.engine import SolveParams
from sanitation.routing.ortools_engine import OrToolsEngine
from sanitation.routing.problem import Lunch, RoutingProblem
from sanitation.routing.schedule import build_route
from sanitation.routing.screen import UnservedReason
from sanitation.routing.solution import RoutingSolution, Unserved, objective
from sanitation.verify.routing import verify

PARAMS = SolveParams(time_limit_s=20, max_iterations=300)


class _Fixed:
    """A stand-in engine returning a prepared solution (or raising)."""

    def __init__(self, name: str, solution: RoutingSolution | Exception) -> None:
        self.name = name
        self.solution = solution

    def solve(self, problem, params, *, seed):
        if isinstance(self.solution, Exception):
            raise self.solution
        return self.solution


def _with_fakes(monkeypatch: pytest.MonkeyPatch, fakes: dict[str, _Fixed]) -> PortfolioEngine:
    """A portfolio over in-process fakes (threads, so the monkeypatch applies)."""
    monkeypatch.setattr(portfolio, "get_engine", lambda name: fakes[name])
    return PortfolioEngine(tuple(fakes), executor=cf.ThreadPoolExecutor(max_workers=2))


def test_registry_default_is_the_portfolio():
    assert isinstance(get_engine("portfolio"), PortfolioEngine)


def test_portfolio_runs_both_engines_in_processes_and_returns_a_verified_plan():
    problem = twelve_points(lunch=Lunch(1800, 11 * 3600, 13 * 3600))
    sol = PortfolioEngine().solve(problem, SolveParams(time_limit_s=4), seed=3)
    assert verify(problem, sol) == []
    assert sol.engine == "portfolio"
    engines = sol.stats["engines"]
    assert set(engines) == {"pyvrp", "ortools"}
    assert all(e["status"] == "verified" for e in engines.values())
    winner = sol.stats["winner"]
    assert objective(problem, sol) == pytest.approx(engines[winner]["objective"])
    assert objective(problem, sol) == pytest.approx(min(e["objective"] for e in engines.values()))
    assert all(r.lunch_start_s is not None for r in sol.routes)


def _split_first_route(problem: RoutingProblem, sol: RoutingSolution) -> RoutingSolution:
    """A valid but dearer plan: the first route's stops shared with a spare vehicle."""
    first = sol.routes[0]
    used = {r.vehicle_index for r in sol.routes}
    spare = min(set(range(problem.vehicle_types[0].count)) - used)
    steps = [(v.kind, v.id) for v in first.visits[:-1]]  # without the final unload
    kinds = [k for k, _ in steps]
    cut = kinds.index("unload") if "unload" in kinds else len(steps) // 2
    rest = steps[cut + 1 :] if "unload" in kinds else steps[cut:]
    a = build_route(problem, first.vehicle_type, first.vehicle_index, steps[:cut])
    b = build_route(problem, first.vehicle_type, spare, rest)
    routes = (a, b, *sol.routes[1:])
    return dataclasses.replace(sol, routes=routes, cost_cny=sum(r.cost_cny for r in routes))


def test_portfolio_picks_the_cheaper_verified_plan(monkeypatch):
    problem = twelve_points()
    good = OrToolsEngine().solve(problem, PARAMS, seed=1)
    worse = _split_first_route(problem, good)
    assert verify(problem, good) == []
    assert verify(problem, worse) == []
    assert worse.cost_cny > good.cost_cny
    engine = _with_fakes(monkeypatch, {"a": _Fixed("a", good), "b": _Fixed("b", worse)})
    sol = engine.solve(problem, PARAMS, seed=1)
    assert sol.stats["winner"] == "a"
    assert sol.routes == good.routes
    assert sol.stats["engines"]["b"]["cost"] == pytest.approx(worse.cost_cny)
    # the order of the engines does not matter
    engine = _with_fakes(monkeypatch, {"b": _Fixed("b", worse), "a": _Fixed("a", good)})
    assert engine.solve(problem, PARAMS, seed=1).stats["winner"] == "a"


def test_portfolio_prefers_serving_more_stops_over_cost(monkeypatch):
    problem = twelve_points()
    full = OrToolsEngine().solve(problem, PARAMS, seed=1)
    # fewer stops (cheaper routes) but three stops unserved
    part_problem = problem.replace(stops=problem.stops[3:])
    part = OrToolsEngine().solve(part_problem, PARAMS, seed=1)
    part = dataclasses.replace(
        part,
        unserved=tuple(Unserved(s.id, UnservedReason.FLEET_EXHAUSTED) for s in problem.stops[:3]),
    )
    assert part.cost_cny < full.cost_cny
    assert verify(problem, part) == []
    engine = _with_fakes(
        monkeypatch, {"cheap": _Fixed("cheap", part), "full": _Fixed("full", full)}
    )
    sol = engine.solve(problem, PARAMS, seed=1)
    assert sol.stats["winner"] == "full"
    assert sol.unserved == ()
    assert sol.stats["engines"]["cheap"]["cost"] == pytest.approx(part.cost_cny)


def test_portfolio_falls_back_when_one_engine_fails_or_is_rejected(monkeypatch, caplog):
    problem = twelve_points()
    good = OrToolsEngine().solve(problem, PARAMS, seed=1)
    bad_route = dataclasses.replace(good.routes[0], cost_cny=good.routes[0].cost_cny - 1.0)
    invalid = dataclasses.replace(
        good, routes=(bad_route, *good.routes[1:]), cost_cny=good.cost_cny - 1.0
    )
    assert verify(problem, invalid) != []
    fakes = {"bad": _Fixed("bad", invalid), "ok": _Fixed("ok", good)}
    with caplog.at_level(logging.WARNING, logger="sanitation.engines.portfolio"):
        sol = _with_fakes(monkeypatch, fakes).solve(problem, PARAMS, seed=1)
    assert sol.stats["winner"] == "ok"
    assert sol.stats["engines"]["bad"]["status"] == "rejected"
    assert "rejected by the verifier" in caplog.text

    crash = {"crash": _Fixed("crash", RuntimeError("solver crashed")), "ok": _Fixed("ok", good)}
    sol = _with_fakes(monkeypatch, crash).solve(problem, PARAMS, seed=1)
    assert sol.stats["winner"] == "ok"
    assert sol.stats["engines"]["crash"]["status"] == "failed"


def test_portfolio_raises_when_no_engine_is_verified(monkeypatch):
    problem = twelve_points()
    good = OrToolsEngine().solve(problem, PARAMS, seed=1)
    invalid = dataclasses.replace(good, cost_cny=good.cost_cny + 5.0)
    fakes = {"x": _Fixed("x", invalid), "y": _Fixed("y", ValueError("bad input"))}
    with pytest.raises(VerificationError, match="no engine returned a verified solution") as info:
        _with_fakes(monkeypatch, fakes).solve(problem, PARAMS, seed=1)
    assert len(info.value.violations) == 2


def test_portfolio_rejects_bad_configuration():
    with pytest.raises(ValueError, match="must not be empty"):
        PortfolioEngine(())
    with pytest.raises(ValueError, match="cannot include 'portfolio'"):
        PortfolioEngine(("pyvrp", "portfolio"))


def test_a_rejected_engine_stopped_by_the_clock_makes_the_portfolio_clock_stopped(monkeypatch):
    # the winner then depends on the clock (on a faster core the rejected engine may have
    # finished its work with a valid, cheaper plan): the plan must say so
    problem = twelve_points()
    params = SolveParams(time_limit_s=20, work_s=1.0)
    good = OrToolsEngine().solve(problem, params, seed=1)
    bad_route = dataclasses.replace(good.routes[0], cost_cny=good.routes[0].cost_cny - 1.0)
    invalid = dataclasses.replace(good, routes=(bad_route, *good.routes[1:]))
    work = dataclasses.replace(good, stats={**good.stats, "stopped_by": "work_budget"})
    for stopped_by, expected in (("time_limit", "time_limit"), ("work_budget", "work_budget")):
        rejected = dataclasses.replace(invalid, stats={"stopped_by": stopped_by})
        fakes = {"bad": _Fixed("bad", rejected), "ok": _Fixed("ok", work)}
        sol = _with_fakes(monkeypatch, fakes).solve(problem, params, seed=1)
        assert sol.stats["winner"] == "ok"
        assert sol.stats["engines"]["bad"]["status"] == "rejected"
        assert sol.stats["stopped_by"] == expected


class _Counting(cf.ThreadPoolExecutor):
    """A thread pool that counts what it is given."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_solve_runs_the_portfolio_on_the_warm_pool_it_is_given():
    from sanitation.engines import solve

    problem = twelve_points()
    pool = _Counting()
    try:
        sol = solve(problem, SolveParams(time_limit_s=3), seed=1, executor=pool)
    finally:
        pool.shutdown()
    assert pool.submitted == 2  # both engines went to the given pool, not to a new one
    assert sol.engine == "portfolio"
    assert verify(problem, sol) == []


def test_the_fork_server_preloads_the_project_modules_this_process_imported():
    import sanitation.replan.run  # noqa: F401 (imported so that it is in sys.modules)

    preload = portfolio.forkserver_preload()
    assert preload[: len(portfolio.PRELOAD)] == list(portfolio.PRELOAD)
    assert "sanitation.lifeline" in preload
    assert "sanitation.replan.run" in preload
    assert not [m for m in preload if m.endswith("__main__")]  # never the CLI itself
    assert not [m for m in preload if m.partition(".")[0] not in portfolio.PROJECT_PACKAGES]
    assert len(preload) == len(set(preload))
