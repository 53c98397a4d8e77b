"""A what-if's station-days against its baseline's: which kind of change, and whether the
baseline's routes still hold (the one home of that rule).

For each station-day of a what-if that has a baseline counterpart (same day number of the plan,
same station), `solve_with_reference`

- reuses the baseline's verified solution exactly when the problem is unchanged, or when the
  change only removes choices (`Change.NARROWER`: fewer trucks, narrower hours) and the baseline's
  solution is still valid: it was found over a superset of choices, so the what-if's KPIs there
  equal the baseline's;
- otherwise searches from the baseline's routes (a warm start through every engine) and, when
  the baseline's routes re-timed on the what-if's problem still pass the verifier, keeps the
  better of the two (`better`: fewer unserved stops first, then lower cost). A change that only
  adds resources (`Change.WIDER`: a truck, a wider window) leaves the baseline's routes valid, so
  its station-day can never come out costlier or with more unserved stops than the baseline's.

Every solution returned passes the verifier (`sanitation.verify.routing`).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import time
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from sanitation.plan.daily import StationDay, StationDayResult, solve_station_day
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import RoutingProblem, Site, Stop, VehicleType
from sanitation.routing.schedule import ScheduleError, Step, build_route
from sanitation.routing.solution import Route, RoutingSolution, Unserved
from sanitation.schedule import WeekSchedule
from sanitation.verify.routing import verify


class Change(StrEnum):
    """How a what-if's station-day problem relates to its baseline's."""

    UNCHANGED = "unchanged"
    NARROWER = "narrower"  # only choices removed (fewer trucks, narrower hours or windows)
    WIDER = "wider"  # only choices added (more trucks, a new truck type, wider hours)
    OTHER = "other"  # stops, loads, roads or costs differ


class Basis(StrEnum):
    """Where a station-day's routes come from (``StationDayOut.basis``)."""

    SOLVED = "solved"  # no baseline station-day: solved afresh
    REUSED = "reused"  # the baseline's routes, unchanged
    WARM_STARTED = "warm_started"  # searched from the baseline's routes; the search won
    BASE_KEPT = "base_kept"  # searched, but the baseline's routes (re-timed) were no worse


@dataclass(frozen=True)
class Reference:
    """A baseline station-day: its problem, verified solution and the parameters it was solved
    with (None: unknown)."""

    problem: RoutingProblem
    solution: RoutingSolution
    params: SolveParams | None = None


@dataclass
class Baseline:
    """What a what-if is planned against: its base plan's station-days by (day number, station
    id), the station of each point, the weekly schedule (None until the base is planned) and
    its territories, point → truck (empty under ``policy.consistency: none``)."""

    station_days: dict[tuple[int, str], Reference] = field(default_factory=dict)
    station_of: dict[str, str] = field(default_factory=dict)
    schedule: WeekSchedule | None = None
    truck_of: dict[str, str] = field(default_factory=dict)


def _same_arrays(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _stop_within(inner: Stop, outer: Stop, outer_types: frozenset[str]) -> bool:
    """Every way of serving ``inner`` is a way of serving ``outer``."""
    fixed = ("id", "location", "load_kg", "service_s", "priority")
    if any(getattr(inner, f) != getattr(outer, f) for f in fixed):
        return False
    if inner.tw_open_s < outer.tw_open_s or inner.tw_close_s > outer.tw_close_s:
        return False
    allowed_in = inner.allowed_vehicle_types
    allowed_out = outer.allowed_vehicle_types
    if allowed_out is None:
        return allowed_in is None or allowed_in <= outer_types
    return allowed_in is not None and allowed_in <= allowed_out


def _site_within(inner: Site, outer: Site) -> bool:
    return (
        (inner.id, inner.location, inner.unload_s) == (outer.id, outer.location, outer.unload_s)
        and inner.open_s >= outer.open_s
        and inner.close_s <= outer.close_s
    )


def _type_within(inner: VehicleType, outer: VehicleType) -> bool:
    """Same truck type with no more trucks and no longer shift (every other field equal)."""
    longest = outer.max_duration_s if outer.max_duration_s is not None else 10**9
    return (
        inner.count <= outer.count
        and inner.shift_start_s >= outer.shift_start_s
        and inner.shift_end_s <= outer.shift_end_s
        and (inner.max_duration_s if inner.max_duration_s is not None else 10**9) <= longest
        and dataclasses.replace(
            inner,
            count=outer.count,
            shift_start_s=outer.shift_start_s,
            shift_end_s=outer.shift_end_s,
            max_duration_s=outer.max_duration_s,
        )
        == outer
    )


def contains(outer: RoutingProblem, inner: RoutingProblem) -> bool:
    """Whether every solution of ``inner`` is a solution of ``outer`` (same stops, roads and
    costs; ``inner`` has no more trucks and no wider hours or time windows)."""
    if not (
        _same_arrays(outer.duration_s, inner.duration_s)
        and _same_arrays(outer.distance_m, inner.distance_m)
        and (outer.minimise_vehicles_first, outer.horizon_s)
        == (inner.minimise_vehicles_first, inner.horizon_s)
        and len(outer.stops) == len(inner.stops)
        and len(outer.sites) == len(inner.sites)
    ):
        return False
    outer_types = {v.id: v for v in outer.vehicle_types}
    if any(
        v.id not in outer_types or not _type_within(v, outer_types[v.id])
        for v in inner.vehicle_types
    ):
        return False
    ids = frozenset(outer_types)
    return all(
        _stop_within(a, b, ids) for a, b in zip(inner.stops, outer.stops, strict=True)
    ) and all(_site_within(a, b) for a, b in zip(inner.sites, outer.sites, strict=True))


def classify(base: RoutingProblem, new: RoutingProblem) -> Change:
    """The kind of change from the baseline's problem ``base`` to the what-if's ``new``."""
    narrower, wider = contains(base, new), contains(new, base)
    if narrower and wider:
        return Change.UNCHANGED
    if narrower:
        return Change.NARROWER
    return Change.WIDER if wider else Change.OTHER


def _retimed(problem: RoutingProblem, route: Route, index: int) -> Route | None:
    """``route``'s sequence, without stops ``problem`` lacks, timed on ``problem`` (or None)."""
    known = {s.id for s in problem.stops}
    steps: list[Step] = []
    for visit in route.visits[:-1]:
        if visit.kind == "stop" and visit.id in known:
            steps.append(("stop", visit.id))
        elif visit.kind == "unload" and steps and steps[-1][0] == "stop":
            steps.append(("unload", visit.id))
    while steps and steps[-1][0] == "unload":
        steps.pop()
    if not steps:
        return None
    try:
        return build_route(problem, route.vehicle_type, index, steps)
    except (ScheduleError, KeyError, ValueError):
        return None


def carry_over(problem: RoutingProblem, solution: RoutingSolution) -> RoutingSolution | None:
    """The baseline's ``solution`` as a verified solution of ``problem``, or None.

    As it is if it passes the verifier on ``problem``; else its routes re-timed on ``problem``
    (stops ``problem`` lacks left out, vehicles renumbered within their type), valid only if
    every stop it leaves unserved was unserved in the baseline too (with the baseline's reason)
    and the verifier accepts the result.
    """
    if not verify(problem, solution):
        return solution
    types = {v.id: v.count for v in problem.vehicle_types}
    used: dict[str, int] = {}
    routes = []
    for route in solution.routes:
        index = used.get(route.vehicle_type, 0)
        if index >= types.get(route.vehicle_type, 0):
            return None
        timed = _retimed(problem, route, index)
        if timed is None:
            continue
        routes.append(timed)
        used[route.vehicle_type] = index + 1
    served = {sid for r in routes for sid in r.stop_ids}
    reasons = {u.stop_id: u.reason for u in solution.unserved}
    unserved = []
    for stop in problem.stops:
        if stop.id not in served:
            if stop.id not in reasons:
                return None
            unserved.append(Unserved(stop.id, reasons[stop.id]))
    carried = RoutingSolution(
        routes=tuple(routes),
        unserved=tuple(unserved),
        cost_cny=sum(r.cost_cny for r in routes),
        engine=solution.engine,
        seconds=0.0,
        stats={**solution.stats, "carried_over": True},
    )
    return None if verify(problem, carried) else carried


def better(a: RoutingSolution, b: RoutingSolution) -> bool:
    """Whether ``a`` beats ``b``: fewer unserved stops, then a lower cost (CNY)."""
    return (len(a.unserved), round(a.cost_cny, 6)) < (len(b.unserved), round(b.cost_cny, 6))


def _with_basis(solution: RoutingSolution, basis: Basis, change: Change) -> RoutingSolution:
    stats = {**solution.stats, "basis": basis.value, "change": change.value}
    return dataclasses.replace(solution, stats=stats)


def solve_with_reference(
    task: StationDay,
    reference: Reference | None,
    portfolio_executor: cf.Executor | None = None,
) -> StationDayResult:
    """Solve one station-day of a what-if against its baseline's ``reference`` (see the module
    docstring); without one, as `sanitation.plan.daily.solve_station_day`. The solution's
    ``stats`` say ``basis`` (`Basis`) and ``change`` (`Change`)."""
    if reference is None:
        return solve_station_day(task, portfolio_executor)
    started = time.perf_counter()
    change = classify(reference.problem, task.problem)
    base = carry_over(task.problem, reference.solution)
    if base is not None and change in (Change.UNCHANGED, Change.NARROWER):
        solution = _with_basis(base, Basis.REUSED, change)
        return StationDayResult(task.station_id, task.date, solution, time.perf_counter() - started)
    params = dataclasses.replace(task.params, initial_solution=reference.solution)
    result = solve_station_day(dataclasses.replace(task, params=params), portfolio_executor)
    solution = _with_basis(result.solution, Basis.WARM_STARTED, change)
    if base is not None and not better(result.solution, base):
        solution = _with_basis(base, Basis.BASE_KEPT, change)
    return StationDayResult(task.station_id, task.date, solution, time.perf_counter() - started)
