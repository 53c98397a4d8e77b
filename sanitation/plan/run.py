"""The chain for one or more dates: assignment → due points → routes per station (in parallel
through an Executor) → transfer trips → verification → KPIs, as one `PlanDocument`.

With ``policy.consistency`` or ``policy.balance_max_ratio`` the station-days are built and
settled by `sanitation.plan.consistency` (territories, fixed lines, balance); without them the
chain is unchanged.

Every routing solution is verified in its worker (`sanitation.engines.solve`), every
transfer plan here (`sanitation.verify.transfer.check`); a violation raises
`VerificationError` and no plan is returned.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as dt
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sanitation.engines import DEFAULT_ENGINE
from sanitation.errors import VerificationError
from sanitation.plan.assign import (
    PlanMemo,
    assignment_note,
    peak_factors,
    schedule_start,
    site_and_assign,
    week_schedule,
)
from sanitation.plan.consistency import (
    TerritoryInputs,
    consistency_notes,
    consistency_out,
    plan_territories,
    restrict,
    routing_share,
    settle,
    territory_truck_of,
)
from sanitation.plan.context import PlanningContext, reachable
from sanitation.plan.daily import (
    StationDay,
    StationDayResult,
    build_station_day,
    routes_out,
)
from sanitation.plan.executor import executor_width, retried_tasks, tasks_submitted
from sanitation.plan.fleet import FleetPlan, plan_fleet
from sanitation.plan.fleet_report import fleet_report
from sanitation.plan.fleet_size import BUDGET_FACTOR, minimise_plan_fleet
from sanitation.plan.kpi import CO2_NOTE, plan_kpis
from sanitation.plan.model import (
    AssignmentOut,
    DayOut,
    FrequencyChangeOut,
    PlanDocument,
    PointAssignmentOut,
    StationAssignmentOut,
    StationDayOut,
    UnservedOut,
)
from sanitation.plan.pool import new_pool
from sanitation.plan.reuse import Baseline, Basis, Reference, solve_with_reference
from sanitation.plan.siting import siting_note
from sanitation.plan.streams import (
    check_stream_capacity,
    check_transfer_destinations,
    received_by_stream,
    unloads_by_site,
)
from sanitation.plan.transfer_day import build_transfer_problem, transfer_out
from sanitation.routing.engine import STOPPED_BY_TIME, SolveParams
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import RoutingSolution
from sanitation.scenario.model import Scenario, split_stop_id
from sanitation.schedule import WeekSchedule
from sanitation.transfer import solve as solve_transfer
from sanitation.verify.transfer import check as check_transfer

logger = logging.getLogger(__name__)

#: progress callback: (stage, detail, done, total)
Progress = Callable[[str, str, int, int], None]
MIN_STATION_SECONDS = 1.0
#: seconds a station-day's wall-clock cap allows beyond its share of the routing budget for what
#: the budget does not count: handing the task to the workers, screening, building the engines'
#: models and their first solutions (assumed; without it the 1-2 s station-days of the Wangjiang
#: demo were cut by the clock). The routing of a plan ends within its time limit plus this (and
#: plus this again for each round of station-days a slot starts after the deadline: those get
#: this much alone, so that each still has a verified answer).
SOLVE_OVERHEAD_S = 2.0


def _quiet(stage: str, detail: str, done: int, total: int) -> None:
    logger.info("%s %s (%d/%d)", stage, detail, done, total)


def routing_slots(engine: str, executor: cf.Executor | None = None) -> int:
    """Station-days solved at once: one per call ``executor`` runs at once (default: every
    core), or one per two for the portfolio, whose station-days each run two engines at once."""
    width = executor_width(executor) if executor is not None else (os.cpu_count() or 1)
    return max(1, width // 2) if engine == "portfolio" else max(1, width)


def portfolio_thread_note(engine: str, executor: cf.Executor | None = None) -> str | None:
    """The plan's note (also logged as a warning, once per process) when the portfolio runs
    on fewer than two threads, else None: its two engines then take turns, so a station-day can
    take twice its cap (in process) or lose the second engine's answer to the deadline (a
    one-thread cluster)."""
    width = executor_width(executor) if executor is not None else (os.cpu_count() or 1)
    if engine != "portfolio" or width >= 2:
        return None
    note = (
        f"the portfolio engine had {width} worker thread: its two engines took turns, so the "
        "routing may take up to twice the time limit, or the second engine's answer may come "
        "too late to count; give it 2 threads or choose one engine (--engine pyvrp)"
    )
    if note not in _LOGGED:  # once per process (a sweep plans each combination on one thread)
        _LOGGED.add(note)
        logger.warning("%s", note)
    return note


_LOGGED: set[str] = set()


def station_cap_s(work_s: float, *, slots: int, wall_s: float, left_s: float) -> float:
    """Wall-clock cap (s) of a station-day of work budget ``work_s`` (reference s) started when
    ``left_s`` of its batch's wall-clock budget ``wall_s`` are left, ``slots`` station-days
    running at once: its share of the slots' time (``slots × work_s``, at most ``wall_s``), no
    more than is left, plus `SOLVE_OVERHEAD_S`. The batch then ends within ``wall_s`` +
    `SOLVE_OVERHEAD_S` on any number of slots, unless the clock binds so hard that a slot starts
    station-days after the deadline (each of those adds its `SOLVE_OVERHEAD_S`)."""
    return max(0.0, min(slots * work_s, wall_s, left_s)) + SOLVE_OVERHEAD_S


def _work_s(task: StationDay) -> float:
    """A task's work budget (reference s; its time limit when it has none)."""
    params = task.params
    return params.work_s if params.work_s is not None else params.time_limit_s


def plan_days(
    scenario: Scenario,
    dates: Sequence[dt.date],
    *,
    engine: str = DEFAULT_ENGINE,
    time_limit_s: float = 60.0,
    seed: int = 1,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
    context: PlanningContext | None = None,
    reference: Baseline | None = None,
    record: Baseline | None = None,
) -> PlanDocument:
    """Plan ``dates`` (one day, or a week) for ``scenario``.

    Parameters
    ----------
    time_limit_s
        Budget (s) for all routing solves of the plan, shared among the station-days in
        proportion to their due points (at least 1 s each); the assignment has its own
        work budget of 30 reference seconds (`ASSIGNMENT_SECONDS`, capped at 90 s); a
        route-aware siting (`sanitation.plan.siting`) gets budgets derived
        from this limit, and ``policy.fleet: minimise`` a search of up to `BUDGET_FACTOR` × this
        (`sanitation.plan.fleet_size`). Each station-day's share is a deterministic work
        budget (the same plan for the same inputs and seed, whatever the executor); the
        routing as a whole ends within this wall-clock limit plus `SOLVE_OVERHEAD_S`
        (`station_cap_s`); a station-day stopped by its cap is named in the notes (a re-run
        may differ there).
    executor
        Where station-days (and the route-aware siting's solves) run; default a local process
        pool of every core for each. With the portfolio each station-day runs its two engines
        on it, half as many station-days at once as it has workers.
    workers
        Station-days solved at once (default `routing_slots`).
    context
        A `PlanningContext` of ``scenario`` already built (e.g. to write outputs with it).
    reference
        The baseline a what-if is planned against: each station-day is solved against its
        baseline's of the same day number and station
        (`sanitation.plan.reuse.solve_with_reference`).
    record
        If given, receives this plan's station-days (problem and verified solution), station
        of each point and weekly schedule, to be the ``reference`` of a what-if.

    Raises
    ------
    ScenarioError
        Bad input found while building the network.
    InfeasibleError
        Naming the binding constraint (assignment capacity, overflowing bins, disposal capacity).
    VerificationError
        If a solver's plan breaks a constraint (an internal error).
    """
    report = progress or _quiet
    dates = sorted(set(dates))
    if (dates[-1] - schedule_start(dates)).days >= 7:
        msg = f"dates {dates[0]}..{dates[-1]} span more than one week; plan at most 7 days"
        raise ValueError(msg)
    report("network", "building the road network and snapping places", 0, 1)
    ctx = context or PlanningContext.build(scenario, cache_dir=cache_dir)
    report("network", f"{ctx.places.network.number_of_nodes} nodes", 1, 1)
    check_stream_capacity(scenario)
    check_transfer_destinations(scenario)

    report("assignment", "siting stations and assigning points", 0, 1)
    first_task = tasks_submitted(executor)
    memo = PlanMemo()
    assignment, station_of = _assignment(
        ctx,
        dates,
        time_limit_s=time_limit_s,
        seed=seed,
        reference=reference,
        executor=executor,
        memo=memo,
    )
    report("assignment", f"{sum(s.open for s in assignment.stations)} stations open", 1, 1)

    # one weekly schedule, starting at the first date of a 7-day plan, else on that week's Monday
    anchor = schedule_start(dates)
    schedule = week_schedule(
        ctx,
        anchor,
        station_of,
        seed=seed,
        reference=reference.schedule if reference else None,
        memo=memo.schedules,
    )
    open_stations = {s.station_id for s in assignment.stations if s.open}
    expected_kg = {s.station_id: s.load_t_per_day * 1000 for s in assignment.stations}
    station_points: dict[str, list[str]] = defaultdict(list)
    for point_id, station_id in station_of.items():
        if point_id not in ctx.cut_off:
            station_points[station_id].append(point_id)
    fleet = plan_fleet(scenario, open_stations, expected_kg, station_points)

    tasks: list[StationDay] = []
    due_by_day, cut_off_due = _due_points(ctx, schedule, station_of, dates)
    total_due = sum(len(p) for d in due_by_day.values() for p in d.values()) or 1
    n_workers = workers or routing_slots(engine, executor)
    one_thread = portfolio_thread_note(engine, executor)
    policy = scenario.policy
    base_truck_of = reference.truck_of if reference else {}
    base_station_of = reference.station_of if reference else {}
    inputs = TerritoryInputs(
        station_points, due_by_day, dates, fleet.of, seed, base_truck_of, base_station_of
    )
    territories = plan_territories(ctx, inputs)
    share = routing_share(policy.consistency)
    problems = {}
    free_problems: dict[tuple[dt.date, str], RoutingProblem] = {}
    references: dict[tuple[dt.date, str], Reference] = {}
    # the route-aware siting's tables where they hold the rows (the same values as afresh)
    matrices = memo.tables if memo.tables is not None else ctx
    for number, day in enumerate(dates):
        for station_id in sorted(due_by_day[day]):
            due = due_by_day[day][station_id]
            free = build_station_day(matrices, station_id, due, fleet.of(station_id))
            free_problems[(day, station_id)] = free
            problem = restrict(ctx, free, territories.get(station_id))
            problems[(day, station_id)] = problem
            work = max(MIN_STATION_SECONDS, time_limit_s * share * len(due) / total_due)
            cap = station_cap_s(work, slots=n_workers, wall_s=time_limit_s, left_s=time_limit_s)
            params = SolveParams(time_limit_s=cap, work_s=work)
            tasks.append(StationDay(station_id, day, problem, engine, params, seed))
            if reference and (number, station_id) in reference.station_days:
                references[(day, station_id)] = reference.station_days[(number, station_id)]
    memo.tables = None  # the tables are not needed past here
    del matrices
    results = _run_tasks(tasks, executor, n_workers, report, references, wall_s=time_limit_s)
    settled = settle(
        ctx,
        tasks,
        results,
        problems,
        free_problems,
        territories,
        inputs,
        run=lambda more: _run_tasks(more, executor, n_workers, report, {}),
    )
    search = None
    if scenario.policy.fleet == "minimise":
        pool = executor or new_pool(engine == "portfolio", n_workers)
        try:
            fleet, problems, results, search = minimise_plan_fleet(
                ctx,
                fleet,
                due_by_day,
                tasks,
                results,
                run=lambda more: _run_tasks(more, pool, n_workers, report, {}),
                budget_s=BUDGET_FACTOR * time_limit_s,
                seed=seed,
            )
        finally:
            if pool is not executor:
                pool.shutdown(cancel_futures=True)
    if record is not None:
        record.station_days.update(_references(dates, tasks, problems, results))
        record.station_of.update(station_of)
        record.schedule = schedule
        record.truck_of.update(territory_truck_of(territories))

    days = []
    for index, day in enumerate(dates):
        report("transfer", day.isoformat(), index, len(dates))
        days.append(
            _day_out(
                ctx,
                day,
                results,
                problems,
                due_by_day[day],
                fleet,
                station_of,
                cut_off_due[day],
                seed=seed,
            )
        )
    report("transfer", "verified", len(dates), len(dates))
    consistency = consistency_out(ctx, territories, days, settled, base_truck_of)
    kpis = plan_kpis(scenario, assignment, days)
    changes = [
        FrequencyChangeOut(point_id=c.point_id, declared=c.declared, used=c.used, reason=c.reason)
        for c in schedule.changes
    ]
    notes = [*scenario.notes, *([one_thread] if one_thread else [])]
    siting = siting_note(assignment.siting)
    if siting is not None:
        notes.append(siting)
    stopped = assignment_note(assignment)
    if stopped is not None:
        notes.append(stopped)
    if schedule.reference is not None:
        notes.append(schedule.reference.note)
    notes.extend(f"fleet moved for this plan: {move}" for move in fleet.moves)
    notes.extend(f"fleet shortfall: {shortfall.note}" for shortfall in fleet.shortfalls)
    notes.extend(f"disposal site not usable: {reason}" for reason in ctx.lost_sites.values())
    notes.extend(_clock_notes(results))
    notes.extend(_retry_notes(executor, since=first_task))
    notes.extend(consistency_notes(settled))
    if ctx.cut_off:
        notes.append(f"{len(ctx.cut_off)} point(s) cut off by the road closures")
    return PlanDocument(
        scenario=scenario.name,
        scenario_path=str(scenario.source_path),
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        dates=list(dates),
        engine=engine,
        time_limit_s=time_limit_s,
        seed=seed,
        notes=notes,
        assignment=assignment,
        frequency_changes=changes,
        days=days,
        kpis=kpis,
        co2_factor_note=CO2_NOTE.format(factor=scenario.costs.co2_kg_per_l_diesel),
        fleet=fleet_report(scenario, fleet, days, search=search),
        consistency=consistency,
    )


def _assignment(
    ctx: PlanningContext,
    dates: Sequence[dt.date],
    *,
    time_limit_s: float,
    seed: int,
    reference: Baseline | None = None,
    executor: cf.Executor | None = None,
    memo: PlanMemo | None = None,
) -> tuple[AssignmentOut, dict[str, str]]:
    """The scenario's assignment (a what-if's siting also starts from its base's, on a design
    day scheduled against the base's week; the route-aware siting's solves on ``executor``;
    ``memo`` receives what the plan reuses)."""
    if ctx.scenario.policy.assignment == "fixed":
        return _fixed_assignment(ctx, dates)
    base = reference.station_of if reference is not None and reference.station_of else None
    return site_and_assign(
        ctx,
        dates,
        time_limit_s=time_limit_s,
        seed=seed,
        base_station_of=base,
        base_schedule=reference.schedule if reference is not None else None,
        executor=executor,
        memo=memo,
    )


def _fixed_assignment(
    ctx: PlanningContext, dates: Sequence[dt.date]
) -> tuple[AssignmentOut, dict[str, str]]:
    """The assignment the scenario gives (``points.station_id``), with its loads and times."""
    scenario = ctx.scenario
    station_of = {p.point_id: str(p.station_id) for p in scenario.points}
    peak = peak_factors(ctx, dates)
    township_of = scenario.township_of_point()
    load: dict[str, float] = defaultdict(float)
    for p in scenario.points:
        load[station_of[p.point_id]] += p.waste_t_per_day * peak[township_of[p.point_id]]
    index = {s.station_id: i for i, s in enumerate(scenario.stations)}
    largest = ctx.classes[-1]
    time_s, _ = ctx.matrix(
        largest, ctx.places.points[largest].node_ids, ctx.places.stations[largest].node_ids
    )
    travel = [
        int(time_s[j, index[station_of[p.point_id]]]) if reachable(time_s[j]).any() else 0
        for j, p in enumerate(scenario.points)
    ]
    stations = [
        StationAssignmentOut(
            station_id=s.station_id,
            name=s.name,
            status=s.status,
            open=s.station_id in load,
            expansion_modules=0,
            load_t_per_day=round(load.get(s.station_id, 0.0), 3),
            capacity_t_per_day=s.capacity_t_per_day,
            utilisation=round(load.get(s.station_id, 0.0) / s.capacity_t_per_day, 4),
        )
        for s in scenario.stations
    ]
    out = AssignmentOut(
        mode="fixed",
        solver="none (fixed by the scenario)",
        objective_cny_per_day=0.0,
        best_bound_cny_per_day=0.0,
        optimal=False,
        seconds=0.0,
        cost_split_cny_per_day={},
        stations=stations,
        points=[
            PointAssignmentOut(
                point_id=p.point_id, station_id=station_of[p.point_id], travel_s=travel[j]
            )
            for j, p in enumerate(scenario.points)
        ],
    )
    return out, station_of


def _due_points(
    ctx: PlanningContext,
    schedule: WeekSchedule,
    station_of: Mapping[str, str],
    dates: Sequence[dt.date],
) -> tuple[dict[dt.date, dict[str, dict[str, int]]], dict[dt.date, dict[str, int]]]:
    """Per date: the due kg of each station's points, and of the points the closures cut off."""
    due_by_day: dict[dt.date, dict[str, dict[str, int]]] = {}
    cut_off_due: dict[dt.date, dict[str, int]] = {}
    for day in dates:
        due = schedule.due_on(day)
        per_station: dict[str, dict[str, int]] = defaultdict(dict)
        for key, kg in due.items():  # a stop id: the point id, or point@stream (sorted)
            point_id = split_stop_id(key)[0]
            if point_id not in ctx.cut_off:
                per_station[station_of[point_id]][key] = kg
        due_by_day[day] = per_station
        cut_off_due[day] = {p: kg for p, kg in due.items() if split_stop_id(p)[0] in ctx.cut_off}
    return due_by_day, cut_off_due


def _references(
    dates: Sequence[dt.date],
    tasks: Sequence[StationDay],
    problems: Mapping[tuple[dt.date, str], RoutingProblem],
    results: Mapping[tuple[dt.date, str], StationDayResult],
) -> dict[tuple[int, str], Reference]:
    """The plan's final station-days by (day number, station id), as a what-if's reference."""
    number_of = {day: number for number, day in enumerate(dates)}
    return {
        (number_of[t.date], t.station_id): Reference(
            problems[(t.date, t.station_id)], results[(t.date, t.station_id)].solution, t.params
        )
        for t in tasks
    }


def _clock_notes(results: Mapping[tuple[dt.date, str], StationDayResult]) -> list[str]:
    """A note per station-day whose search the wall clock stopped before its work budget."""
    return [
        f"{day} {station_id}: the routing search was stopped by the time limit before its "
        "work budget (a loaded machine?); a re-run may give other routes there"
        for (day, station_id), result in sorted(results.items())
        if result.solution.stats.get("stopped_by") == STOPPED_BY_TIME
        and result.solution.stats.get("basis") != Basis.REUSED
    ]


def _retry_notes(executor: cf.Executor | None, *, since: int) -> list[str]:
    """A note when the cluster ran some of this plan's tasks (from the ``since``-th) again."""
    retried = retried_tasks(executor, since=since)
    if not retried:
        return []
    return [
        f"{retried} solve task(s) were run again on another Dask worker (a worker was lost or "
        "a task failed during its solve); the plan is complete"
    ]


def _run_tasks(
    tasks: list[StationDay],
    executor: cf.Executor | None,
    slots: int,
    report: Progress,
    references: Mapping[tuple[dt.date, str], Reference],
    *,
    wall_s: float | None = None,
) -> dict[tuple[dt.date, str], StationDayResult]:
    """Solve every station-day, ``slots`` at once, within ``wall_s`` (default: the sum of their
    work budgets) plus `SOLVE_OVERHEAD_S`; results keyed by (date, station).

    A driver thread per slot takes the next station-day (the largest work first), gives it its
    wall-clock cap as it starts (`station_cap_s`) and waits for it: a single engine's solve is
    one call on ``executor``; a portfolio's station-day runs here and sends its two engines to
    ``executor`` (a pool of every core: ``slots`` is half of it), so every worker is busy and
    no station-day waits in a queue while its clock runs.
    """
    results: dict[tuple[dt.date, str], StationDayResult] = {}
    if not tasks:
        return results
    portfolio = tasks[0].engine == "portfolio"
    own = executor is None
    pool = executor if executor is not None else new_pool(portfolio, slots)
    wall = wall_s if wall_s is not None else sum(_work_s(t) for t in tasks)
    try:
        report("routing", "", 0, len(tasks))
        started = time.perf_counter()

        def solve(task: StationDay) -> StationDayResult:
            left = wall - (time.perf_counter() - started)
            cap = station_cap_s(_work_s(task), slots=slots, wall_s=wall, left_s=left)
            task = dataclasses.replace(
                task, params=dataclasses.replace(task.params, time_limit_s=cap)
            )
            ref = references.get((task.date, task.station_id))
            if portfolio:
                return solve_with_reference(task, ref, pool)
            return pool.submit(solve_with_reference, task, ref).result()

        order = sorted(tasks, key=lambda t: (-_work_s(t), t.date, t.station_id))
        with cf.ThreadPoolExecutor(min(slots, len(tasks)), "station-day") as drivers:
            futures = [drivers.submit(solve, task) for task in order]
            try:
                for done, future in enumerate(cf.as_completed(futures), start=1):
                    result = future.result()
                    results[(result.date, result.station_id)] = result
                    report(
                        "routing",
                        f"{result.date} {result.station_id}: {len(result.solution.routes)} "
                        f"trucks, {len(result.solution.unserved)} unserved",
                        done,
                        len(tasks),
                    )
            finally:
                for future in futures:
                    future.cancel()
    finally:
        if own:
            pool.shutdown(cancel_futures=True)
    return results


def _day_out(
    ctx: PlanningContext,
    day: dt.date,
    results: dict[tuple[dt.date, str], StationDayResult],
    problems: dict,
    due: dict[str, dict[str, int]],
    fleet: FleetPlan,
    station_of: dict[str, str],
    cut_off_due: dict[str, int],
    *,
    seed: int,
) -> DayOut:
    routes, unserved, stations = [], [], []
    points = {p.point_id: p for p in ctx.scenario.points}
    township_of = ctx.scenario.township_of_point()
    for key, kg in sorted(cut_off_due.items()):
        point_id, stream = split_stop_id(key)
        unserved.append(
            UnservedOut(
                date=day,
                point_id=key,
                name=points[point_id].name,
                station_id=station_of[point_id],
                township_code=township_of[point_id],
                load_kg=kg,
                reason=ctx.cut_off[point_id],
                stream=stream,
            )
        )
    collected: dict[str, dict[str, int]] = {}
    facilities = {f.facility_id for f in ctx.scenario.facilities}
    facility_unloads_kg: dict[tuple[str, str, str], int] = defaultdict(int)
    for station_id in sorted(due):
        result = results[(day, station_id)]
        problem = problems[(day, station_id)]
        station_routes, station_unserved = routes_out(
            ctx, station_id, day, problem, result.solution
        )
        routes.extend(station_routes)
        unserved.extend(fleet.explain(station_unserved))
        collected[station_id] = received_by_stream(station_routes, ctx.scenario)
        for (site_id, stream), kg in unloads_by_site(station_routes).items():
            if site_id in facilities:
                facility_unloads_kg[(site_id, station_id, stream)] += kg
        stations.append(
            StationDayOut(
                date=day,
                station_id=station_id,
                points_due=len(due[station_id]),
                points_served=sum(r.n_stops for r in station_routes),
                due_kg=int(sum(due[station_id].values())),
                collected_kg=sum(collected[station_id].values()),
                trucks_available=problem.n_vehicles,
                trucks_used=len(station_routes),
                engine=str(result.solution.stats.get("winner", result.solution.engine)),
                solve_seconds=round(result.seconds, 2),
                cost_cny=round(result.solution.cost_cny, 2),
                basis=str(result.solution.stats.get("basis", Basis.SOLVED)),
            )
        )
    transfer_problem = build_transfer_problem(
        ctx,
        {s: kg for s, kg in collected.items() if sum(kg.values()) > 0},
        fleet,
        facility_unloads_kg=facility_unloads_kg,
    )
    transfer_solution = solve_transfer(transfer_problem, seed=seed)
    try:
        check_transfer(transfer_problem, transfer_solution)
    except VerificationError as error:
        error.add_context(f"transfer trips on {day}", stage="transfer")
        raise
    trucks, unmoved = transfer_out(ctx, day, transfer_problem, transfer_solution)
    return DayOut(
        date=day,
        routes=routes,
        unserved=unserved,
        stations=stations,
        transfer_trucks=trucks,
        unmoved=unmoved,
        gate_fees_cny=transfer_solution.gate_fees_cny,
        transfer_cost_cny=transfer_solution.truck_cost_cny,
    )


def solve_again(
    record: Mapping[tuple[int, str], Reference],
    *,
    engine: str,
    seed: int,
    progress: Progress | None = None,
    executor: cf.Executor | None = None,
) -> dict[tuple[int, str], RoutingSolution]:
    """The recorded station-days solved afresh with another ``seed`` (same problems and
    parameters; on ``executor``, default a local pool), e.g. to measure the search's
    seed-to-seed spread."""
    keys = sorted(record, key=lambda k: (k[0], k[1]))
    day0 = dt.date(2000, 1, 1)  # task dates only key the results here
    tasks = [
        StationDay(
            k[1],
            day0 + dt.timedelta(days=k[0]),
            record[k].problem,
            engine,
            record[k].params or SolveParams(time_limit_s=MIN_STATION_SECONDS),
            seed,
        )
        for k in keys
    ]
    slots = routing_slots(engine, executor)
    results = _run_tasks(tasks, executor, slots, progress or _quiet, {})
    return {k: results[(t.date, t.station_id)].solution for k, t in zip(keys, tasks, strict=True)}


def week_dates(day: dt.date) -> list[dt.date]:
    """The seven dates from ``day`` on."""
    return [day + dt.timedelta(days=k) for k in range(7)]


__all__ = ["plan_days", "routing_slots", "solve_again", "station_cap_s", "week_dates"]
