"""``policy.fleet: minimise``: the smallest fleet per station and type that still serves every due
point the owned fleet serves (collection trucks here, then hook-lift trucks).

How:

1. The plan is routed with the owned fleet (after the moves). Each truck-day carries its type's
   fixed cost (`VehicleType.fixed_cost_cny`), so the routing already prefers fewer trucks.
2. Each station keeps, per type, the trucks its busiest day used: the routes found stay valid
   (their trucks renumbered), and are verified again against the smaller fleet.
3. Then one truck at a time is removed, per station: of the type that costs the most per day,
   the least loaded first (fewest truck-days per truck). The station's days that used more trucks
   of that type than remain are re-solved (every station's in one batch per round); the removal is
   kept when every re-solved day still serves every point the owned fleet served that day, else
   that type is at its minimum at that station. A station is done when every type is.
4. The search is bounded by work, not by the clock, so the same inputs and seed give the same
   fleet: a round starts only while the routing work budgets (`SolveParams.work_s`, reference
   seconds) of the station-days solved so far in the search sum to less than its work budget:
   `COLLECTION_SHARE` of `BUDGET_FACTOR` × the plan's routing budget, divided by
   `WORK_SPEED_SHARE` (a solve of ``w`` reference seconds takes about that share of ``w`` on
   the clock), so that the search does about as much as the wall-clock budget it replaces.
   The wall clock (`WALL_CAP_FACTOR` × `BUDGET_FACTOR` × the routing budget) is a hard cap
   only; when it stops the search the report says ``stopped_by_time`` (a re-run may then
   differ). The fleet is the last complete one, and the report says which station/type pairs
   were left untried.

A station with no due point on the planned dates keeps its trucks. The hook-lift (transfer)
trucks are searched next, with the rest of the work budget (`sanitation.plan.fleet_hooklift`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import StationDay, StationDayResult, build_station_day
from sanitation.plan.fleet import FleetPlan
from sanitation.plan.fleet_hooklift import minimise_hooklifts
from sanitation.plan.model import FleetSearchOut
from sanitation.plan.streams import received_in_solution
from sanitation.routing.engine import WORK_SPEED_SHARE
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import RoutingSolution
from sanitation.verify.routing import check

BUDGET_FACTOR = 4.0  # assumed: the whole search may do four times the plan's routing work
COLLECTION_SHARE = 0.75  # assumed: ... of which the collection trucks' search at most 3/4
WALL_CAP_FACTOR = 2.0  # assumed: the wall clock stops the search at twice its former budget

Key = tuple[dt.date, str]  # (date, station id)


@dataclass(frozen=True)
class StationDaySolved:
    """A station-day's routing problem and its verified solution."""

    problem: RoutingProblem
    solution: RoutingSolution


#: Builds a station-day's problem for a fleet (type → n) of the station.
BuildProblem = Callable[[Key, Mapping[str, int]], RoutingProblem]
#: Solves station-day problems (in parallel); returns verified solutions by key.
SolveMany = Callable[[dict[Key, RoutingProblem]], dict[Key, RoutingSolution]]
#: The work budget (reference seconds, `SolveParams.work_s`) of a station-day's solve.
WorkOf = Callable[[Key], float]


def used(solution: RoutingSolution) -> dict[str, int]:
    """type → distinct vehicles the solution uses."""
    vehicles: dict[str, set[int]] = {}
    for route in solution.routes:
        vehicles.setdefault(route.vehicle_type, set()).add(route.vehicle_index)
    return {t: len(v) for t, v in vehicles.items()}


def renumbered(solution: RoutingSolution) -> RoutingSolution:
    """The same routes with each type's vehicles numbered 0, 1, ... in their order."""
    index: dict[tuple[str, int], int] = {}
    for route in solution.routes:
        key = (route.vehicle_type, route.vehicle_index)
        if key not in index:
            index[key] = sum(1 for t, _ in index if t == route.vehicle_type)
    routes = tuple(
        dataclasses.replace(r, vehicle_index=index[(r.vehicle_type, r.vehicle_index)])
        for r in solution.routes
    )
    return dataclasses.replace(solution, routes=routes)


def _unserved(solution: RoutingSolution) -> set[str]:
    return {u.stop_id for u in solution.unserved}


class _Search:
    """The state of the search: each station's fleet and its days' solved problems."""

    def __init__(
        self,
        fleet: FleetPlan,
        solved: Mapping[Key, StationDaySolved],
        collection_types: Mapping[str, tuple[float, str]],
        build: BuildProblem,
    ) -> None:
        self.build = build
        self.solved = dict(solved)
        self.allowed_unserved = {k: _unserved(s.solution) for k, s in solved.items()}
        self.days_of: dict[str, list[Key]] = {}
        for key in sorted(solved):
            self.days_of.setdefault(key[1], []).append(key)
        self.cost_of = collection_types  # type → (fixed cost CNY/day, type id)
        self.counts = {s: fleet.of(s) for s in self.days_of}
        self.at_minimum: dict[str, set[str]] = {s: set() for s in self.days_of}
        self.tried = self.kept = self.solved_days = 0

    def peak(self, station: str) -> dict[str, int]:
        """type → trucks used on the station's busiest day."""
        peak: dict[str, int] = {}
        for key in self.days_of[station]:
            for type_id, n in used(self.solved[key].solution).items():
                peak[type_id] = max(peak.get(type_id, 0), n)
        return peak

    def trim_to_peak(self, station: str) -> None:
        """Keep per collection type the trucks of the busiest day (routes renumbered, verified)."""
        peak = self.peak(station)
        counts = {
            t: (peak.get(t, 0) if t in self.cost_of else n) for t, n in self.counts[station].items()
        }
        changed = {}
        for key in self.days_of[station]:
            problem = self.build(key, counts)
            solution = renumbered(self.solved[key].solution)
            check(problem, solution)
            changed[key] = StationDaySolved(problem, solution)
        self.solved.update(changed)
        self.counts[station] = counts

    def next_removal(self, station: str) -> str | None:
        """The type to remove one truck of next: dearest, then fewest truck-days per truck."""
        counts = self.counts[station]
        options = [
            t
            for t, n in counts.items()
            if n > 0 and t in self.cost_of and t not in self.at_minimum[station]
        ]
        if not options:
            return None

        def load(type_id: str) -> float:
            days = sum(used(self.solved[k].solution).get(type_id, 0) for k in self.days_of[station])
            return days / counts[type_id]

        return min(options, key=lambda t: (-self.cost_of[t][0], load(t), t))

    def proposal(
        self, station: str, type_id: str
    ) -> tuple[dict[str, int], dict[Key, RoutingProblem]]:
        """The fleet with one truck of ``type_id`` fewer and the days that must be re-solved."""
        counts = dict(self.counts[station])
        counts[type_id] -= 1
        days = {
            key: self.build(key, counts)
            for key in self.days_of[station]
            if used(self.solved[key].solution).get(type_id, 0) > counts[type_id]
        }
        return counts, days

    def settle(
        self,
        station: str,
        type_id: str,
        counts: dict[str, int],
        problems: Mapping[Key, RoutingProblem],
        solutions: Mapping[Key, RoutingSolution],
    ) -> None:
        """Keep the removal if every re-solved day serves what the owned fleet served."""
        self.tried += 1
        self.solved_days += len(problems)
        complete = all(_unserved(solutions[k]) <= self.allowed_unserved[k] for k in problems)
        if not complete:
            self.at_minimum[station].add(type_id)
            return
        self.kept += 1
        for key in self.days_of[station]:
            if key in problems:
                self.solved[key] = StationDaySolved(problems[key], solutions[key])
            else:  # the day used no more trucks of the type than remain: same routes
                problem = self.build(key, counts)
                solution = renumbered(self.solved[key].solution)
                check(problem, solution)
                self.solved[key] = StationDaySolved(problem, solution)
        self.counts[station] = counts

    def untried(self) -> list[str]:
        return [
            f"{s}/{t}"
            for s in sorted(self.counts)
            for t, n in sorted(self.counts[s].items())
            if n > 0 and t in self.cost_of and t not in self.at_minimum[s]
        ]


def minimise_fleet(
    fleet: FleetPlan,
    solved: Mapping[Key, StationDaySolved],
    *,
    collection_types: Mapping[str, float],
    build: BuildProblem,
    solve: SolveMany,
    work_of: WorkOf,
    work_s: float,
    cap_s: float,
) -> tuple[FleetPlan, dict[Key, StationDaySolved], FleetSearchOut]:
    """The smallest fleet found (see the module docstring) and the station-days solved with it.

    Parameters
    ----------
    solved
        Every station-day of the plan with the owned fleet's problem and verified solution.
    collection_types
        Collection type id → fixed cost (CNY/day): the types searched, dearest first.
    build
        The problem of a station-day for a fleet of the station.
    solve
        Solves and verifies station-day problems, all of a round at once.
    work_of
        The work budget of a station-day's solve (reference seconds).
    work_s
        No round starts once the solves of the search have this much work (reference seconds).
    cap_s
        Wall-clock seconds after which no round starts (the hard cap).
    """
    started = time.perf_counter()
    search = _Search(fleet, solved, {t: (c, t) for t, c in collection_types.items()}, build)
    for station in sorted(search.counts):
        search.trim_to_peak(station)
    spent_s, clock = 0.0, False
    while spent_s < work_s:
        round_: dict[str, tuple[str, dict[str, int], dict[Key, RoutingProblem]]] = {}
        for station in sorted(search.counts):
            type_id = search.next_removal(station)
            if type_id is not None:
                round_[station] = (type_id, *search.proposal(station, type_id))
        if not round_:
            break
        if time.perf_counter() - started >= cap_s:
            clock = True
            break
        problems = {k: p for _, _, days in round_.values() for k, p in days.items()}
        solutions = solve(problems) if problems else {}
        spent_s += sum(work_of(k) for k in problems)
        for station, (type_id, counts, days) in sorted(round_.items()):
            search.settle(station, type_id, counts, days, solutions)
    result = fleet
    for station, counts in search.counts.items():
        result = result.with_counts(station, counts)
    untried = search.untried()
    report = FleetSearchOut(
        budget_s=round(work_s, 1),
        seconds=round(time.perf_counter() - started, 1),
        removals_tried=search.tried,
        removals_kept=search.kept,
        station_days_solved=search.solved_days,
        complete=not untried,
        untried=untried,
        stopped_by_time=clock,
    )
    return result, search.solved, report


def minimise_plan_fleet(
    ctx: PlanningContext,
    fleet: FleetPlan,
    due_by_day: Mapping[dt.date, Mapping[str, Mapping[str, int]]],
    tasks: Sequence[StationDay],
    results: Mapping[Key, StationDayResult],
    *,
    run: Callable[[list[StationDay]], dict[Key, StationDayResult]],
    budget_s: float,
    seed: int,
) -> tuple[FleetPlan, dict[Key, RoutingProblem], dict[Key, StationDayResult], FleetSearchOut]:
    """`minimise_fleet` for a plan's station-days (``tasks`` solved into ``results``; ``run``
    solves more tasks), then `minimise_hooklifts` with what they collect, in one work budget
    derived from ``budget_s`` (see the module docstring; the wall clock capped at
    `WALL_CAP_FACTOR` x ``budget_s``); returns the fleet, the station-days' problems and results,
    the search."""
    started = time.perf_counter()
    by_key = {(t.date, t.station_id): t for t in tasks}
    seconds = {k: r.seconds for k, r in results.items()}

    def build(key: Key, counts: Mapping[str, int]) -> RoutingProblem:
        return build_station_day(ctx, key[1], due_by_day[key[0]][key[1]], counts)

    def solve(problems: dict[Key, RoutingProblem]) -> dict[Key, RoutingSolution]:
        out = run([dataclasses.replace(by_key[k], problem=p) for k, p in sorted(problems.items())])
        seconds.update({k: r.seconds for k, r in out.items()})
        return {k: r.solution for k, r in out.items()}

    def work_of(key: Key) -> float:
        params = by_key[key].params
        return params.work_s if params.work_s is not None else params.time_limit_s

    collection = {
        v.type_id: v.fixed_cost_cny_per_day
        for v in ctx.scenario.vehicle_types
        if v.role == "collection"
    }
    solved = {k: StationDaySolved(by_key[k].problem, r.solution) for k, r in results.items()}
    fleet, solved, search = minimise_fleet(
        fleet,
        solved,
        collection_types=collection,
        build=build,
        solve=solve,
        work_of=work_of,
        work_s=COLLECTION_SHARE * budget_s / WORK_SPEED_SHARE,
        cap_s=WALL_CAP_FACTOR * COLLECTION_SHARE * budget_s,
    )
    collected_kg: dict[dt.date, dict[str, dict[str, int]]] = {}
    facilities = {f.facility_id for f in ctx.scenario.facilities}
    for (day, station), done in sorted(solved.items()):
        kg = received_in_solution(done.problem, done.solution.routes, facilities)
        if sum(kg.values()) > 0:
            collected_kg.setdefault(day, {})[station] = kg
    fleet, hooklifts = minimise_hooklifts(
        ctx,
        fleet,
        collected_kg,
        seed=seed,
        work_s=(1 - COLLECTION_SHARE) * budget_s / WORK_SPEED_SHARE,
        deadline=started + WALL_CAP_FACTOR * budget_s,
    )
    untried = search.untried + hooklifts.untried
    search = search.model_copy(
        update={
            "budget_s": round(budget_s / WORK_SPEED_SHARE, 1),
            "seconds": round(time.perf_counter() - started, 1),
            "removals_tried": search.removals_tried + hooklifts.tried,
            "removals_kept": search.removals_kept + hooklifts.kept,
            "complete": not untried,
            "untried": untried,
            "stopped_by_time": search.stopped_by_time or hooklifts.stopped_by_time,
        }
    )
    problems = {k: s.problem for k, s in solved.items()}
    out = {k: StationDayResult(k[1], k[0], s.solution, seconds[k]) for k, s in solved.items()}
    return fleet, problems, out, search
