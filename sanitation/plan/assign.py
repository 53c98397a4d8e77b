"""Station siting and point assignment for a scenario (the optimiser of `sanitation.assignment`).

The scenario becomes an `AssignmentProblem`:

- demand: each point's generation × the largest seasonal multiplier of its township over the
  planned dates (stations are sized for the peak), in kg/day;
- stations: existing ones are kept open (``policy.keep_existing_open``), candidates are free,
  closed ones forced closed; capacity and expansion modules from the stations table;
- collection-cost estimate from the fastest-path matrix of the largest access class allowed at
  each point and the largest collection truck (see `sanitation.assignment.build`);
- transfer cost: the station's road distance to its cheapest disposal site × the scenario's
  CNY per t·km, and that site's gate fee;
- a point may go only to stations some allowed truck can reach within
  ``policy.max_point_station_travel_min``; a point that road closures cut off stays with its
  nearest station (straight line × 1.3 detour at 30 km/h), so its waste still counts there.

`site_and_assign` is the plan's one entry: it solves this assignment (the estimate) and then,
with ``policy.siting: routed`` (the default) when the scenario has stations to choose (candidates,
or existing ones that may close), re-chooses the stations with real routes in the loop
(`sanitation.plan.siting`), starting from the estimate's answer.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from geo.crs import haversine_m
from sanitation.assignment.build import build_problem
from sanitation.assignment.problem import AssignmentProblem
from sanitation.assignment.solve import AssignmentParams, AssignmentSolution
from sanitation.assignment.solve import solve as solve_assignment
from sanitation.plan.context import PlanningContext, reachable
from sanitation.plan.model import (
    AssignmentOut,
    PointAssignmentOut,
    SitingOut,
    StationAssignmentOut,
)
from sanitation.plan.siting import routed_siting, whatif_siting_mode
from sanitation.scenario.model import stop_id
from sanitation.schedule import (
    SchedulePoint,
    StationMemo,
    WeekSchedule,
    schedule_week,
    week_start,
)

DETOUR_FACTOR = 1.3  # road / straight-line distance (parameters.csv: 1.3-1.4 rural)
CUT_OFF_SPEED_M_S = 30 / 3.6
#: the assignment's work budget (reference seconds, `AssignmentParams.work_s`): the same plan
#: for the same inputs and seed; the wall clock stops it at `ASSIGNMENT_CAP_FACTOR` x this
ASSIGNMENT_SECONDS = 30.0
ASSIGNMENT_CAP_FACTOR = 3.0  # assumed: room for a loaded machine (docs/assignment.md)


@dataclass
class PlanMemo:
    """What the assignment stage computes that the rest of a plan reuses (`site_and_assign`
    fills it): ``schedules``, each station's balanced week (`week_schedule`'s memo: the plan's
    week after the design day's solves only the stations whose points the siting changed);
    ``tables``, the route-aware siting's matrix context (None: no siting computed tables), whose
    rows the plan's station-day matrices reuse (the same values as computed afresh)."""

    schedules: StationMemo = field(default_factory=dict)
    tables: PlanningContext | None = None


def peak_factors(ctx: PlanningContext, dates: Sequence[dt.date]) -> dict[str, float]:
    """Township code → the largest seasonal multiplier over ``dates``."""
    scenario = ctx.scenario
    return {
        t.code: max(scenario.waste_multiplier(day, t.code) for day in dates)
        for t in scenario.townships
    }


def station_disposal(ctx: PlanningContext) -> tuple[np.ndarray, np.ndarray]:
    """Per station: transfer cost CNY/t to, and gate fee CNY/t at, its cheapest disposal site."""
    scenario = ctx.scenario
    largest = ctx.classes[-1]
    time_s, dist_m = ctx.matrix(
        largest,
        ctx.places.stations[largest].node_ids,
        ctx.places.disposal_sites[largest].node_ids,
    )
    cny_per_t_km = scenario.costs.transfer_cost_cny_per_t_km
    gate_cny_per_t = np.array([d.gate_fee_cny_per_t for d in scenario.disposal_sites])
    usable = np.array([d.site_id not in ctx.lost_sites for d in scenario.disposal_sites])
    cny_per_t = dist_m / 1000.0 * cny_per_t_km + gate_cny_per_t[None, :]
    cny_per_t = np.where(reachable(time_s) & usable[None, :], cny_per_t, np.inf)
    best = np.argmin(cny_per_t, axis=1)
    rows = np.arange(len(best))
    transfer_cny_per_t = np.where(
        np.isfinite(cny_per_t[rows, best]), dist_m[rows, best] / 1000.0 * cny_per_t_km, 0
    )
    return transfer_cny_per_t, gate_cny_per_t[best]


def build_assignment_problem(ctx: PlanningContext, dates: Sequence[dt.date]) -> AssignmentProblem:
    """The scenario's assignment problem (see the module docstring)."""
    scenario = ctx.scenario
    township_of = scenario.township_of_point()
    peak = peak_factors(ctx, dates)
    demand = np.array(
        [p.waste_t_per_day * 1000.0 * peak[township_of[p.point_id]] for p in scenario.points]
    )
    n, m = len(scenario.points), len(scenario.stations)
    travel = np.full((n, m), np.inf)
    distance = np.full((n, m), np.inf)
    classes = ctx.classes
    point_rank = np.array([classes.index(p.access_class) for p in scenario.points])
    for rank, class_id in enumerate(classes):
        rows = np.flatnonzero(point_rank == rank)
        if rows.size == 0:
            continue
        # the largest class allowed at these points: the truck that would normally serve them
        t_to, d_to = ctx.matrix(
            class_id,
            ctx.places.points[class_id].node_ids[rows],
            ctx.places.stations[class_id].node_ids,
        )
        ok = reachable(t_to)
        travel[rows] = np.where(ok, t_to, np.inf)
        distance[rows] = np.where(ok, d_to, np.inf)
    for point_id in ctx.cut_off:  # cut off by closures: keep it with its nearest station
        j = next(i for i, p in enumerate(scenario.points) if p.point_id == point_id)
        point = scenario.points[j]
        straight = [
            float(haversine_m(point.lon, point.lat, s.lon, s.lat)) for s in scenario.stations
        ]
        k = int(np.argmin(straight))
        distance[j, k] = straight[k] * DETOUR_FACTOR
        travel[j, k] = distance[j, k] / CUT_OFF_SPEED_M_S
    accessible = np.isfinite(travel)
    travel_clean = np.where(accessible, travel, 0.0)
    distance_clean = np.where(accessible, distance, 0.0)
    types = [v for v in scenario.vehicle_types if v.role == "collection"]
    truck = max(types, key=lambda v: v.capacity_t)
    status = [
        "forced_closed"
        if s.status == "closed"
        else "forced_open"
        if s.status == "existing" and scenario.policy.keep_existing_open
        else "free"
        for s in scenario.stations
    ]
    transfer_per_t, gate_fee = station_disposal(ctx)
    village_index = {v.code: i for i, v in enumerate(scenario.villages)}
    township_index = {t.code: i for i, t in enumerate(scenario.townships)}
    return build_problem(
        point_ids=[p.point_id for p in scenario.points],
        station_ids=[s.station_id for s in scenario.stations],
        demand_kg=demand,
        capacity_kg=np.array([s.capacity_t_per_day * 1000 for s in scenario.stations]).round(),
        fixed_cost_cny=np.array(
            [s.fixed_cost_cny_per_day + s.opening_cost_cny_per_day for s in scenario.stations]
        ),
        travel_s=travel_clean,
        distance_m=distance_clean,
        truck_capacity_kg=truck.capacity_t * 1000,
        truck_cost_cny_per_h=truck.cost_per_hour_cny,
        truck_cost_cny_per_km=truck.cost_per_km_cny,
        transfer_cost_cny_per_t=transfer_per_t,
        gate_fee_cny_per_t=gate_fee,
        accessible=accessible,
        max_travel_s=scenario.policy.max_point_station_travel_s,
        status=status,
        expansion_capacity_kg=np.array(
            [s.expansion_module_t_per_day * 1000 for s in scenario.stations]
        ).round(),
        expansion_cost_cny=np.array([s.expansion_cost_cny_per_day for s in scenario.stations]),
        expansion_max=np.array([s.max_expansions for s in scenario.stations]),
        group=np.array([village_index[p.village_code] for p in scenario.points]),
        township=np.array([township_index[township_of[p.point_id]] for p in scenario.points]),
        station_township=np.array([township_index[s.township_code] for s in scenario.stations]),
        township_penalty_cny_per_t=scenario.policy.township_preference_cny_per_t,
        keep_groups_together=scenario.policy.keep_villages_together,
    )


def assign(
    ctx: PlanningContext,
    dates: Sequence[dt.date],
    *,
    time_limit_s: float,
    seed: int,
) -> tuple[AssignmentProblem, AssignmentSolution]:
    """Solve the scenario's assignment with a work budget of ``time_limit_s`` reference seconds
    (deterministic; the wall clock caps it at `ASSIGNMENT_CAP_FACTOR` x that); raises
    `InfeasibleError` naming the cause."""
    problem = build_assignment_problem(ctx, dates)
    params = AssignmentParams(
        time_limit_s=ASSIGNMENT_CAP_FACTOR * time_limit_s, work_s=time_limit_s
    )
    return problem, solve_assignment(problem, params, seed=seed)


SORTED_SITING = (
    "sorted streams: the route-aware siting routes each point's waste as one stream, so the "
    "assignment's estimate sites the stations (sorted routed siting not built yet)"
)


def site_and_assign(
    ctx: PlanningContext,
    dates: Sequence[dt.date],
    *,
    time_limit_s: float,
    seed: int,
    base_station_of: Mapping[str, str] | None = None,
    base_schedule: WeekSchedule | None = None,
    executor: cf.Executor | None = None,
    memo: PlanMemo | None = None,
) -> tuple[AssignmentOut, dict[str, str]]:
    """The plan's siting and assignment (see the module docstring) and each point's station.

    ``time_limit_s`` is the plan's routing time limit; the routed siting's budgets derive from it
    (`sanitation.plan.siting.siting_seconds`). ``base_station_of``: a what-if's base plan's
    station of each point, a start of the routed siting (`sanitation.plan.siting.base_start`);
    ``base_schedule``: its base's week, which the design day's schedule keeps where it can (as
    the plan's own schedule does), so both design days route the same points. The route-aware
    siting's solves run on ``executor`` (default: its own pool). ``memo`` receives what the
    rest of the plan may reuse (`PlanMemo`).
    """
    problem, solution = assign(ctx, dates, time_limit_s=ASSIGNMENT_SECONDS, seed=seed)
    mode, reason = whatif_siting_mode(ctx.scenario, problem, solution, base_station_of)
    if ctx.scenario.sorted and mode != "estimate":
        mode, reason = "estimate", SORTED_SITING
    if mode != "estimate":
        ids = problem.station_ids
        estimate_of = {
            pid: ids[int(solution.station_of[j])] for j, pid in enumerate(problem.point_ids)
        }
        schedule = week_schedule(
            ctx,
            schedule_start(dates),
            estimate_of,
            seed=seed,
            reference=base_schedule,
            memo=memo.schedules if memo is not None else None,
        )
        design = max(dates, key=lambda day: (sum(schedule.due_on(day).values()), -day.toordinal()))
        due = {p: kg for p, kg in schedule.due_on(design).items() if p not in ctx.cut_off}
        solution, siting, tables = routed_siting(
            ctx,
            problem,
            solution,
            due,
            design,
            reason=reason,
            time_limit_s=time_limit_s,
            seed=seed,
            base_station_of=base_station_of,
            search=mode == "routed",
            executor=executor,
        )
        if memo is not None:
            memo.tables = tables
    else:
        siting = SitingOut(mode="estimate", reason=reason)
    out = assignment_out(ctx, problem, solution, siting=siting)
    return out, {p.point_id: p.station_id for p in out.points}


def assignment_note(assignment: AssignmentOut) -> str | None:
    """The plan-notes line when the wall clock, not the work budget, ended the assignment's
    solve (None otherwise: the same inputs and seed give the same assignment)."""
    if not assignment.stopped_by_time:
        return None
    return (
        "the station assignment was stopped by its time limit before its work budget (a loaded "
        "machine?); a re-run may assign points, and site stations, differently"
    )


def schedule_start(dates: Sequence[dt.date]) -> dt.date:
    """The first day of a plan's weekly schedule: the first date of a plan of several dates,
    else the Monday of the date's week."""
    return dates[0] if len(dates) > 1 else week_start(dates[0])


def week_schedule(
    ctx: PlanningContext,
    start: dt.date,
    station_of: dict[str, str],
    *,
    seed: int,
    reference: WeekSchedule | None = None,
    memo: StationMemo | None = None,
) -> WeekSchedule:
    """The visiting days of the 7 days from ``start``, with those days' seasonal waste
    (``reference``: the base's week, whose days each point keeps where still allowed;
    ``memo``: stations already balanced; `sanitation.schedule.schedule_week`)."""
    scenario = ctx.scenario
    township_of = scenario.township_of_point()
    week = [start + dt.timedelta(days=k) for k in range(7)]
    points = [
        SchedulePoint(
            point_id=stop_id(p.point_id, part.stream),
            station_id=station_of[p.point_id],
            frequency=part.frequency,
            bin_capacity_kg=round(part.bin_capacity_t * 1000),
            generation_kg=tuple(
                round(
                    part.waste_t_per_day
                    * 1000
                    * scenario.waste_multiplier(day, township_of[p.point_id])
                )
                for day in week
            ),
            stream=part.stream,
        )
        for p in scenario.points
        for part in p.collections()
    ]
    return schedule_week(points, start, seed=seed, reference=reference, memo=memo)


def assignment_out(
    ctx: PlanningContext,
    problem: AssignmentProblem,
    solution: AssignmentSolution,
    *,
    siting: SitingOut | None = None,
) -> AssignmentOut:
    """The plan document's view of an assignment (``siting``: how its stations were chosen)."""
    scenario = ctx.scenario
    cost = solution.cost
    return AssignmentOut(
        mode="optimised",
        solver=solution.solver,
        objective_cny_per_day=round(solution.objective_cny, 2),
        best_bound_cny_per_day=round(solution.best_bound_cny, 2),
        optimal=bool(solution.optimal),
        seconds=round(solution.seconds, 3),
        stopped_by_time=bool(solution.stopped_by_time),
        cost_split_cny_per_day={
            "fixed": round(cost.fixed_cny, 2),
            "expansion": round(cost.expansion_cny, 2),
            "collection_estimate": round(cost.collection_cny, 2),
            "transfer": round(cost.transfer_cny, 2),
            "gate_fees": round(cost.gate_fee_cny, 2),
            "township_preference": round(cost.preference_cny, 2),
        },
        stations=[
            StationAssignmentOut(
                station_id=s.station_id,
                name=s.name,
                status=s.status,
                open=bool(solution.open[i]),
                expansion_modules=int(solution.modules[i]),
                load_t_per_day=round(float(solution.load_kg[i]) / 1000, 3),
                capacity_t_per_day=round(float(solution.capacity_kg[i]) / 1000, 3),
                utilisation=round(float(solution.utilisation[i]), 4),
            )
            for i, s in enumerate(scenario.stations)
        ],
        points=[
            PointAssignmentOut(
                point_id=p.point_id,
                station_id=scenario.stations[int(solution.station_of[j])].station_id,
                travel_s=int(solution.travel_s[j]),
            )
            for j, p in enumerate(scenario.points)
        ],
        siting=siting,
    )
