"""Route-aware siting in the chain (`sanitation.plan.siting`, ``policy.siting``): which path a
plan takes, the report in ``assignment.siting``, the cache, bad input, and a hand-checked county
where the estimate sites wrong and the routes site right."""

from __future__ import annotations

import concurrent.futures as cf
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from cli_helpers import run_cli

from sanitation.errors import InfeasibleError
from sanitation.plan import plan_days
from sanitation.plan import siting as siting_module
from sanitation.plan.assign import assign
from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import build_station_day
from sanitation.plan.siting import (
    StationDayOracle,
    siting_evaluations,
    siting_mode,
    siting_seconds,
)
from sanitation.scenario import load_scenario
from sanitation.scenario.generate import generate_county

TRAP = Path(__file__).parent / "data" / "scenario" / "siting_trap" / "scenario.yaml"


def _plan(scenario, cache_dir):
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        return plan_days(
            scenario,
            [scenario.plan_date],
            engine="pyvrp",
            time_limit_s=1,
            executor=pool,
            workers=1,
            cache_dir=cache_dir,
        )


def _overlay(base: Path, name: str, **keys) -> Path:
    path = base.with_name(f"{name}.yaml")
    document = {"base": base.name, "name": name, **keys}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    """40 points, 4 existing stations (kept open) and candidate ST-C01."""
    return generate_county(tmp_path_factory.mktemp("county"), n_points=40, n_stations=4, seed=3)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def routed(county, cache):
    return _plan(load_scenario(county), cache)


@pytest.fixture(scope="module")
def estimate_only(county, cache):
    """Today's assignment of the county, solved directly."""
    scenario = load_scenario(county)
    ctx = PlanningContext.build(scenario, cache_dir=cache)
    problem, solution = assign(ctx, [scenario.plan_date], time_limit_s=30, seed=1)
    ids = problem.station_ids
    return solution, {p: ids[int(solution.station_of[j])] for j, p in enumerate(problem.point_ids)}


def test_the_default_sites_with_routes_when_there_are_candidates(routed):
    siting = routed.assignment.siting
    assert siting is not None
    assert siting.mode == "routed"
    assert "ST-C01" in siting.reason
    assert siting.design_date == routed.dates[0]
    assert siting.points_routed > 0
    assert siting.oracle_calls > 0
    assert siting.evaluations >= 1
    assert any(note.startswith("stations sited with routes") for note in routed.notes)


def test_the_report_is_consistent_with_the_plan_and_the_estimate(routed, estimate_only):
    siting = routed.assignment.siting
    solution, estimate_of = estimate_only
    # the search starts from the estimate's siting and keeps the best verified whole
    assert siting.routed_cost_cny_per_day <= siting.estimate_routed_cost_cny_per_day
    assert siting.saving_cny_per_day == pytest.approx(
        siting.estimate_routed_cost_cny_per_day - siting.routed_cost_cny_per_day, abs=0.02
    )
    assert siting.estimate_cost_cny_per_day == pytest.approx(solution.objective_cny, abs=0.01)
    assert siting.stations_open == [s.station_id for s in routed.assignment.stations if s.open]
    ids = [s.station_id for s in routed.assignment.stations]
    assert siting.estimate_stations_open == [ids[i] for i in np.flatnonzero(solution.open)]
    chosen = {p.point_id: p.station_id for p in routed.assignment.points}
    assert siting.points_moved == sum(chosen[p] != estimate_of[p] for p in chosen)
    assert siting.unserved_points >= 0
    assert siting.unserved_points <= siting.points_routed
    # every point's station is open, and the routes of the plan follow the chosen assignment
    open_ids = set(siting.stations_open)
    assert set(chosen.values()) <= open_ids
    for route in routed.days[0].routes:
        assert all(chosen[v.id] == route.station_id for v in route.visits if v.kind == "stop")


def test_an_identical_siting_problem_comes_from_the_cache(county, cache, routed):
    again = _plan(load_scenario(county), cache)
    assert again.assignment.siting.cached
    assert not routed.assignment.siting.cached
    assert again.assignment.points == routed.assignment.points
    assert (
        again.assignment.siting.routed_cost_cny_per_day
        == routed.assignment.siting.routed_cost_cny_per_day
    )


def test_policy_estimate_keeps_todays_assignment(county, cache, estimate_only):
    scenario = load_scenario(_overlay(county, "estimate", policy={"siting": "estimate"}))
    plan = _plan(scenario, cache)
    solution, estimate_of = estimate_only
    assert plan.assignment.siting.mode == "estimate"
    assert plan.assignment.siting.reason == "policy.siting is estimate"
    assert {p.point_id: p.station_id for p in plan.assignment.points} == estimate_of
    assert plan.assignment.objective_cny_per_day == pytest.approx(solution.objective_cny, abs=0.01)
    # (not the solver label: when the warm start is already optimal, which engine is named
    # depends on thread timing)


def test_without_a_station_to_choose_the_estimate_sites(county, cache):
    closed = _overlay(
        county, "no_candidate", overrides={"stations": {"ST-C01": {"status": "closed"}}}
    )
    plan = _plan(load_scenario(closed), cache)
    assert plan.assignment.siting.mode == "estimate"
    assert plan.assignment.siting.reason.startswith("no siting choice")
    assert plan.assignment.siting.oracle_calls == 0
    # existing stations that may close are a choice too
    closable = _overlay(
        closed,
        "closable",
        policy={"keep_existing_open": False},
    )
    assert siting_mode(load_scenario(closable))[0] == "routed"


def test_villages_kept_together_are_sited_with_routes(county, cache):
    """``policy.keep_villages_together`` no longer falls back to the estimate: the routed siting
    keeps every village's points at one station (the core's binding test is
    tests/test_siting.py::test_groups_stay_together_when_splitting_is_cheaper)."""
    together = _overlay(county, "together", policy={"keep_villages_together": True})
    scenario = load_scenario(together)
    assert siting_mode(scenario)[0] == "routed"
    plan = _plan(scenario, cache)
    assert plan.assignment.siting.mode == "routed"
    assert plan.assignment.siting.routed_cost_cny_per_day is not None
    village_of = {p.point_id: p.village_code for p in scenario.points}
    stations_of_village: dict[str, set[str]] = {}
    for point in plan.assignment.points:
        stations_of_village.setdefault(village_of[point.point_id], set()).add(point.station_id)
    assert all(len(stations) == 1 for stations in stations_of_village.values())


@pytest.mark.parametrize(("key", "value"), [("siting", "routes"), ("fleet", "smallest")])
def test_a_bad_siting_or_fleet_policy_is_exit_2_naming_the_field(county, monkeypatch, key, value):
    bad = _overlay(county, f"bad_{key}", policy={key: value})
    result = run_cli(["validate", str(bad)], monkeypatch)
    assert result.code == 2
    assert not result.traceback
    assert f"policy.{key}" in result.message
    assert f"'{value}'" in result.message


# ---------------------------------------------------------------------------------- the trap
def test_routes_open_the_station_the_estimate_wrongly_keeps_closed(tmp_path):
    """``siting_trap``: ST-A (existing, depot, 2 compactors, 2 hook-lifts) serves village A
    (3 × 1 t/day beside it); village C (3 × 50 kg/day) lies 28.4 km east, 0.5-1.5 km from
    candidate ST-B (10 + 10 CNY/day) and the waste-to-energy plant W1 (1 km west of ST-B). Trucks:
    fixed 20 CNY/day, 2.2 CNY/km, 45 CNY/h, 50 km/h.

    By hand, the estimate of C at ST-A: 3 × (50 kg ÷ 5 t) × (2 × 28.4 km × 2.2 + 2 × 0.57 h × 45)
    = 3 × 0.01 × 176 = 5.3 CNY/day, plus 0.15 t × 27 km × 0.6 = 2.4 CNY/day more transfer than
    from ST-B: opening ST-B saves the estimate ~8 CNY/day for 20, so it stays closed.
    The route from ST-A really drives the 2 × 28.4 km for C (125 CNY + 1.1 h × 45 = 51 CNY:
    ~176 CNY/day); from ST-B a truck drives ~3 km (its fixed 20 CNY + ~50 min with the service:
    ~63 CNY). Opening ST-B saves ~176 − 63 − 20 + 2.4 ≈ 95 CNY/day. The chain also pays ST-B's
    own hook-lift day (~45 CNY: fixed 20, 2 km, 0.5 h), which the siting prices per t·km only,
    as the assignment does; the whole day still comes out ~50 CNY cheaper.
    """
    cache = tmp_path / "cache"
    routed = _plan(load_scenario(TRAP), cache)
    estimate = _plan(load_scenario(_copy_with_policy(TRAP, tmp_path, "estimate")), cache)
    siting = routed.assignment.siting
    assert siting.estimate_stations_open == ["ST-A"]
    assert siting.stations_open == ["ST-A", "ST-B"]
    assert [p.station_id for p in routed.assignment.points] == ["ST-A"] * 3 + ["ST-B"] * 3
    assert [s.station_id for s in estimate.assignment.stations if s.open] == ["ST-A"]
    # the estimate's own figures: ST-B costs it 20 and saves it under 10 CNY/day
    assert routed.assignment.objective_cny_per_day - estimate.assignment.objective_cny_per_day == (
        pytest.approx(20 - 7.7, abs=3)
    )
    # the routes' figures: ~95 CNY/day saved (hand estimate above), and the whole chain agrees
    assert 70 < siting.saving_cny_per_day < 120
    assert _day_cost(routed) < _day_cost(estimate) - 30


def _day_cost(plan) -> float:
    """The plan's CNY of the day: the KPIs' total (trucks, transfer, gate fees and the open
    stations' fixed and opening costs; every due point served)."""
    (county,) = [k for k in plan.kpis if k.scope == "county"]
    assert county.points_unserved == 0
    stations = {s.station_id: s for s in load_scenario(TRAP).stations}
    assert county.station_cost_cny == sum(
        stations[s.station_id].fixed_cost_cny_per_day
        + stations[s.station_id].opening_cost_cny_per_day
        for s in plan.assignment.stations
        if s.open
    )
    return county.total_cost_cny


def _copy_with_policy(scenario: Path, folder: Path, siting: str, **keys) -> Path:
    """The scenario YAML with ``policy.siting`` set (and ``keys``), in ``folder``."""
    document = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    document["policy"] = {"siting": siting}
    document.update(keys)
    document["data"] = {k: str(scenario.parent / v) for k, v in document["data"].items()}
    document["roads"]["path"] = str(scenario.parent / document["roads"]["path"])
    path = folder / f"{scenario.stem}_{siting}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_points_the_routes_cannot_serve_are_priced_and_reported(tmp_path):
    """Village C must be emptied by 05:45: a truck leaving ST-A at 05:30 needs 34 min to reach
    it and three stops, so from ST-A the routes leave all three unserved; from ST-B (1 km) they
    are served. Each unserved point costs a truck-day of the dearest collection truck (20 CNY +
    10 h × 45), so the routed siting opens ST-B and says the estimate's siting leaves 3 out."""
    windows = {f"C{k}": {"tw_open": "05:00", "tw_close": "05:45"} for k in (1, 2, 3)}
    early = _copy_with_policy(TRAP, tmp_path, "routed", overrides={"points": windows})
    routed = _plan(load_scenario(early), tmp_path / "cache")
    siting = routed.assignment.siting
    assert siting.estimate_stations_open == ["ST-A"]
    assert siting.stations_open == ["ST-A", "ST-B"]
    assert (siting.estimate_unserved_points, siting.unserved_points) == (3, 0)
    # ST-A's 600 CNY/day and the three penalties alone exceed 2,000; the routed siting is cheaper
    assert siting.estimate_routed_cost_cny_per_day > 600 + 3 * 470
    assert siting.routed_cost_cny_per_day < siting.estimate_routed_cost_cny_per_day - 500
    assert not routed.days[0].unserved
    # the estimate alone keeps ST-B closed and the chain lists the three unserved, with reasons
    kept = _copy_with_policy(TRAP, tmp_path, "estimate", overrides={"points": windows})
    estimate = _plan(load_scenario(kept), tmp_path / "cache")
    assert sorted(u.point_id for u in estimate.days[0].unserved) == ["C1", "C2", "C3"]
    assert all(u.reason for u in estimate.days[0].unserved)


def test_a_failed_search_keeps_the_estimates_siting(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise InfeasibleError("no allocation found in time")

    monkeypatch.setattr(siting_module, "solve_siting", fail)
    plan = _plan(load_scenario(TRAP), tmp_path / "cache")
    siting = plan.assignment.siting
    assert siting.mode == "routed"
    assert siting.stopped_by.startswith("search failed (no allocation found in time)")
    assert siting.stations_open == siting.estimate_stations_open == ["ST-A"]
    assert siting.routed_cost_cny_per_day is None  # not priced: the search failed
    assert any("route-aware siting failed" in note for note in plan.notes)


@pytest.mark.parametrize("tables", ["one", "per site", "per site, a point in none"])
def test_the_oracle_routes_the_chains_own_station_day_problem(tmp_path, tables):
    """The oracle's matrices, cut from one table per class or from one per site (a point's
    entries only at the sites near it; a point near no site is computed when asked for), equal
    the chain's own."""
    scenario = load_scenario(TRAP)
    ctx = PlanningContext.build(scenario, cache_dir=tmp_path)
    due = {"A2": 1000, "C1": 50, "C3": 50}
    near = None
    if tables != "one":
        near = np.ones((len(scenario.points), len(scenario.stations)), dtype=bool)
        if tables.endswith("in none"):
            ids = [p.point_id for p in scenario.points]
            near[ids.index("C3"), :] = False  # no table has C3
    oracle = StationDayOracle(ctx, due, near=near)
    if near is not None:
        assert all(len(blocks) == len(scenario.stations) for blocks in oracle.ctx.tables.values())
    fleet = {"compactor_5t": 1}  # ⌈1,100 kg ÷ 5 t⌉
    for site, station_id in enumerate(["ST-A", "ST-B"]):
        mine = oracle.problem(site, due)
        chains = build_station_day(ctx, station_id, due, fleet)
        for matrices in ("duration_s", "distance_m"):
            pairs = zip(getattr(mine, matrices), getattr(chains, matrices), strict=True)
            assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in pairs)
        assert mine.stops == chains.stops
        assert mine.vehicle_types == chains.vehicle_types
    # C2 and A1 are not due: the oracle routes only the due points of a group
    group = oracle(1, (0, 3, 4, 5), time_limit_s=5, seed=1)
    assert sorted(i for route in group.routes for i in route) == [3, 5]
    nothing_due = oracle(0, (0, 4), time_limit_s=5, seed=1)
    assert (nothing_due.cost, nothing_due.routes) == (0.0, ())
    assert oracle.solves == 1


@pytest.mark.parametrize("time_limit_s", [1, 15, 60, 600, 86_400])
def test_the_siting_budgets_stay_in_their_ranges(time_limit_s):
    assert 20 <= siting_seconds(time_limit_s) <= 300
    assert 1 <= siting_evaluations(time_limit_s) <= 12
    assert siting_seconds(time_limit_s) == min(300, max(20, 3 * time_limit_s))


def test_the_siting_does_not_depend_on_the_fleet_table(county, cache, routed):
    """A what-if that only changes trucks keeps the baseline's siting (from the cache)."""
    more = _overlay(
        county, "fleet_more", overrides={"fleet": {"D-ST-001-compactor_5t": {"count": 3}}}
    )
    scenario = load_scenario(more)
    assert scenario.fleet != load_scenario(county).fleet
    plan = _plan(scenario, cache)
    assert plan.assignment.siting.cached
    assert plan.assignment.points == routed.assignment.points


def test_the_siting_time_budget_is_a_hard_cap(county, cache, monkeypatch):
    """With no time left after the estimate's siting is routed, the search routes nothing new:
    it keeps the estimate's siting (or one built from groups already routed) and says so."""
    monkeypatch.setattr(siting_module, "siting_seconds", lambda time_limit_s: 0.0)
    plan = _plan(load_scenario(county), cache)
    siting = plan.assignment.siting
    assert siting.stopped_by == "time"
    stations_with_due = {
        s.station_id for s in plan.days[0].stations if s.points_due > 0
    }  # the chosen siting's, which here is built only from the start's groups
    assert siting.oracle_calls == len(stations_with_due)
    assert siting.routed_cost_cny_per_day <= siting.estimate_routed_cost_cny_per_day
    assert any("cut by its time budget" in note for note in plan.notes)


def test_the_sitings_budget_counts_its_tables(county, tmp_path, monkeypatch):
    """The oracle's tables are computed inside the siting's clock, and the search gets only
    what the tables and the starts left of it: here nothing (it used to get at least 20 s)."""
    table_context = siting_module._table_context
    search = siting_module._search
    given: list[float] = []

    def slow_tables(*args, **kwargs):
        tables = table_context(*args, **kwargs)
        time.sleep(2.5)  # tables that take longer than the whole budget
        return tables

    def recording(*args, time_limit_s, **kwargs):
        given.append(time_limit_s)
        return search(*args, time_limit_s=time_limit_s, **kwargs)

    monkeypatch.setattr(siting_module, "_table_context", slow_tables)
    monkeypatch.setattr(siting_module, "_search", recording)
    monkeypatch.setattr(siting_module, "siting_seconds", lambda time_limit_s: 2.0)
    plan = _plan(load_scenario(county), tmp_path)
    assert given == [0.0]
    siting = plan.assignment.siting
    assert siting.stopped_by == "time"
    assert siting.evaluations == 1  # the estimate's siting alone


def test_station_days_built_from_the_sitings_tables_equal_those_computed_afresh(
    county, cache, monkeypatch
):
    """The plan's station-day matrices cut from the oracle's tables (`PlanMemo.tables`), with
    the rows and columns of points no table holds computed, equal the fresh ones; only those
    entries are computed."""
    scenario = load_scenario(county)
    ctx = PlanningContext.build(scenario, cache_dir=cache)
    problem, solution = assign(ctx, [scenario.plan_date], time_limit_s=30, seed=1)
    ids = [p.point_id for p in scenario.points]
    due = {pid: 100 + i for i, pid in enumerate(ids) if i % 3}  # the design day's due points
    oracle = StationDayOracle(ctx, due, near=siting_module.near_sites(problem, count=1))
    tables = oracle.ctx
    cells: list[int] = []  # entries computed
    fresh_matrix = PlanningContext.matrix

    def counting(self, class_id, from_nodes, to_nodes):
        cells.append(len(from_nodes) * len(to_nodes))
        return fresh_matrix(self, class_id, from_nodes, to_nodes)

    monkeypatch.setattr(PlanningContext, "matrix", counting)
    station_ids = [s.station_id for s in scenario.stations]
    cut = 0
    for j, station_id in enumerate(station_ids):
        # the plan's due points of the station: the design day's and (every third) some the
        # tables lack, as on a day after the siting moved points
        mine = [pid for i, pid in enumerate(ids) if int(solution.station_of[i]) == j]
        plan_due = {pid: due.get(pid, 50) for pid in mine}
        if not plan_due:
            continue
        cells.clear()
        from_tables = build_station_day(tables, station_id, plan_due, {"compactor_5t": 2})
        computed = sum(cells)
        cells.clear()
        afresh = build_station_day(ctx, station_id, plan_due, {"compactor_5t": 2})
        for name in ("duration_s", "distance_m"):
            pairs = zip(getattr(from_tables, name), getattr(afresh, name), strict=True)
            assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in pairs)
        assert (from_tables.stops, from_tables.sites) == (afresh.stops, afresh.sites)
        cut += computed < sum(cells)
    assert cut >= 1  # some station-day came (in part) from the tables


def test_a_routed_plan_balances_each_stations_week_once(county, cache, monkeypatch, estimate_only):
    """The design day's week and the plan's share their stations (`PlanMemo.schedules`): a
    station is balanced again only when the siting changed its points."""
    import sanitation.schedule as schedule_module

    solved: list[str] = []
    solve = schedule_module._schedule_station

    def counting(points, *args, **kwargs):
        solved.append(points[0].station_id)
        return solve(points, *args, **kwargs)

    monkeypatch.setattr(schedule_module, "_schedule_station", counting)
    plan = _plan(load_scenario(county), cache)
    _, estimate_of = estimate_only
    station_of = {p.point_id: p.station_id for p in plan.assignment.points}
    changed = {station_of[p] for p in station_of if station_of[p] != estimate_of[p]}
    changed |= {estimate_of[p] for p in station_of if station_of[p] != estimate_of[p]}
    stations = set(estimate_of.values())
    assert plan.assignment.siting.mode == "routed"
    assert sorted(solved) == sorted([*stations, *(changed & set(station_of.values()))])
