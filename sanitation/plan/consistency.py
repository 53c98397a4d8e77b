"""Route consistency and workload balance of a week plan (``policy.consistency``,
``policy.balance_max_ratio``; `sanitation.territory` builds the territories).

- ``territory``: each station-day's routing problem has one vehicle type per truck
  (``type#n``, count 1) and each stop allows only its territory's truck, so both engines keep
  territories as they keep narrow lanes (``Stop.allowed_vehicle_types``); the routing verifier
  checks that, and `sanitation.verify.territory` re-checks the plan's routes against the
  territories.
- ``soft``: the engines have no per-stop, per-vehicle price, so each station-day is solved both
  ways (territories kept, and free) and the plan with the lower objective plus
  ``consistency_penalty_cny`` per point-visit off its territory's truck is kept; the free plan
  is first brought towards the territories at that price (`aligned`, `pull_home`).
- balance: a station-day whose longest working route is more than ``balance_max_ratio`` times
  its shortest is solved again with every truck's longest route capped, the cap bisected
  between the mean and the longest route (`balance`), and the plans are then evened out by
  moving stops between routes (`even_out`: a cap only shortens the long routes, this also
  lengthens the short ones); the cheapest verified plan that meets the ratio and serves as
  many points is kept (else the most balanced one, named in the notes). The
  cost with and without is reported. Without territories the trucks' weeks are evened out
  too, by which truck of a type drives which route (`sanitation.plan.rota`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from sanitation.errors import VerificationError
from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import (
    StationDay,
    StationDayResult,
    build_station_day,
    depot_index,
    split_truck_type,
    station_matrices,
    truck_type_id,
)
from sanitation.plan.fixed_line import apply_fixed_lines, tour_order, tour_problem
from sanitation.plan.model import ConsistencyOut, DayOut, RouteOut, TerritoryOut, TruckChangeOut
from sanitation.plan.rota import balance_week, week_truck_ratio
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import RoutingProblem, VehicleType
from sanitation.routing.schedule import ScheduleError, Step, build_route
from sanitation.routing.solution import Route, RoutingSolution, objective
from sanitation.scenario.model import split_truck_id, truck_id
from sanitation.territory import (
    ChangeReason,
    Territories,
    TerritoryProblem,
    Truck,
    build_territories,
)
from sanitation.territory.build import DAY_FILL
from sanitation.verify.routing import check
from sanitation.verify.territory import check as check_territories

Key = tuple[dt.date, str]
RunTasks = Callable[[list[StationDay]], dict[Key, StationDayResult]]
#: re-solves of an unbalanced station-day, bisecting its route cap (assumed: 4 halve the
#: interval between the mean and the longest route to 1/16 of it)
BALANCE_ROUNDS = 4
#: insertion places tried for a visit moved onto its territory's truck under ``soft``: the
#: smallest detours (assumed: the cheapest timed place is nearly always among them)
PULL_POSITIONS = 3
#: each step of `even_out` times moves in order of their estimated ratio until this many lower
#: the ratio, or `EVEN_TRIED` were timed (assumed: the move that evens a day most is nearly
#: always among them; many near the shortest route may not fit its trips)
EVEN_TIMED = 6
EVEN_TRIED = 40
#: most stop moves `even_out` makes on one station-day (assumed: a few dozen stops change
#: route to even out a day of 6 routes)
EVEN_MOVES = 60
#: work budget (reference s) of each truck's a priori tour (assumed: a territory of a few
#: hundred points; the tour is an order, not a route anyone drives)
TOUR_WORK_S = 1.0


def depot_name(ctx: PlanningContext, station_id: str) -> str:
    """The depot id a station's trucks are named by (the station's own id without a depot)."""
    index = depot_index(ctx, station_id)
    return ctx.scenario.depots[index].depot_id if index is not None else station_id


def station_trucks(ctx: PlanningContext, station_id: str, counts: Mapping[str, int]) -> list[Truck]:
    """The collection trucks working from ``station_id`` (``counts``: type → n)."""
    types = {v.type_id: v for v in ctx.scenario.vehicle_types}
    depot = depot_name(ctx, station_id)
    trucks: list[Truck] = []
    for type_id, count in sorted(counts.items()):
        vtype = types[type_id]
        if vtype.role != "collection":
            continue
        # working time of a day: the longest route less the lunch break it must hold
        limit = min(vtype.max_duration_s, vtype.shift_end_s - vtype.shift_start_s)
        limit = max(1, limit - vtype.lunch_duration_s)
        trucks.extend(
            Truck(
                truck_id=truck_id(depot, type_id, k),
                type_id=type_id,
                profile=ctx.classes.index(vtype.access_class),
                capacity_kg=round(vtype.capacity_t * 1000),
                limit_s=limit,
            )
            for k in range(1, count + 1)
        )
    return trucks


def territory_problem(
    ctx: PlanningContext,
    station_id: str,
    point_ids: Sequence[str],
    due_kg: Sequence[Mapping[str, int]],
    trucks: Sequence[Truck],
) -> TerritoryProblem:
    """The territory problem of a station's points (``due_kg``: per day, point → kg)."""
    scenario = ctx.scenario
    station = next(s for s in scenario.stations if s.station_id == station_id)
    index = {p.point_id: i for i, p in enumerate(scenario.points)}
    points = [scenario.points[index[p]] for p in sorted(point_ids)]
    matrices, _ = station_matrices(ctx, station_id, [p.point_id for p in points])
    return TerritoryProblem(
        station_id=station_id,
        point_ids=tuple(p.point_id for p in points),
        service_s=tuple(p.service_s for p in points),
        access_rank=tuple(ctx.classes.index(p.access_class) for p in points),
        visits_kg=tuple(tuple(int(day.get(p.point_id, 0)) for day in due_kg) for p in points),
        duration_s=tuple(matrices),
        unload_s=station.unload_s,
        trucks=tuple(trucks),
        fixed={p.point_id: p.truck_id for p in points if p.truck_id is not None},
    )


@dataclasses.dataclass(frozen=True)
class TerritoryInputs:
    """What territories are built from: each station's points, the due kg of each planned
    day (date → station → point → kg), the dates, the trucks working per station, the seed;
    for a what-if, its base plan's territories (point → truck) and stations (point → station),
    kept where they still hold (`sanitation.territory.build_territories`)."""

    station_points: Mapping[str, Sequence[str]]
    due_by_day: Mapping[dt.date, Mapping[str, Mapping[str, int]]]
    dates: Sequence[dt.date]
    fleet_of: Callable[[str], Mapping[str, int]]
    seed: int
    base_truck_of: Mapping[str, str] = dataclasses.field(default_factory=dict)
    base_station_of: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def _same_station(self, point_id: str, station_id: str) -> bool:
        return self.base_station_of.get(point_id, station_id) == station_id

    def problem(self, ctx: PlanningContext, station_id: str) -> TerritoryProblem:
        """The territory problem of ``station_id`` (a what-if's keeps its base's territories
        of the points the base served from this station too)."""
        trucks = station_trucks(ctx, station_id, self.fleet_of(station_id))
        due = [self.due_by_day[day].get(station_id, {}) for day in self.dates]
        points = self.station_points[station_id]
        problem = territory_problem(ctx, station_id, points, due, trucks)
        kept = {
            p: self.base_truck_of[p]
            for p in points
            if p in self.base_truck_of and self._same_station(p, station_id)
        }
        return dataclasses.replace(problem, kept=kept) if kept else problem

    def build(
        self, ctx: PlanningContext, station_id: str, *, day_fill: float = DAY_FILL
    ) -> Territories:
        """The territories of ``station_id``; a point the base served from another station on
        another truck is listed as changed (``station changed``)."""
        built = build_territories(self.problem(ctx, station_id), seed=self.seed, day_fill=day_fill)
        moved = {
            p: str(ChangeReason.STATION_CHANGED)
            for p in self.station_points[station_id]
            if p in self.base_truck_of
            and not self._same_station(p, station_id)
            and built.truck_of.get(p) != self.base_truck_of[p]
        }
        if not moved:
            return built
        return dataclasses.replace(built, changed=dict(sorted({**built.changed, **moved}.items())))


def plan_territories(ctx: PlanningContext, inputs: TerritoryInputs) -> dict[str, Territories]:
    """Territories of every station with points (`TerritoryInputs.build`); none under
    ``policy.consistency: none``."""
    out: dict[str, Territories] = {}
    if ctx.scenario.policy.consistency == "none":
        return out
    for station_id in sorted(inputs.station_points):
        out[station_id] = inputs.build(ctx, station_id)
    return out


def restrict(
    ctx: PlanningContext, problem: RoutingProblem, territories: Territories | None
) -> RoutingProblem:
    """``problem`` with one vehicle type per truck and each stop kept to its territory's truck
    (a stop without a territory may take any truck its access allows); unchanged without
    territories."""
    if territories is None:
        return problem
    depot = depot_name(ctx, territories.station_id)
    per_truck: list[VehicleType] = []
    of_type: dict[str, list[str]] = defaultdict(list)
    truck_type = {}
    for vtype in problem.vehicle_types:
        for k in range(1, vtype.count + 1):
            new_id = truck_type_id(vtype.id, k)
            per_truck.append(dataclasses.replace(vtype, id=new_id, count=1))
            of_type[vtype.id].append(new_id)
            truck_type[truck_id(depot, vtype.id, k)] = new_id
    stops = []
    for stop in problem.stops:
        allowed = {t for v in problem.vehicle_types if stop.allows(v.id) for t in of_type[v.id]}
        own = truck_type.get(territories.truck_of.get(stop.id, ""))
        if own is not None and own in allowed:
            allowed = {own}
        stops.append(dataclasses.replace(stop, allowed_vehicle_types=frozenset(allowed)))
    return problem.replace(vehicle_types=tuple(per_truck), stops=tuple(stops))


def off_territory_visits(solution: RoutingSolution, territories: Territories, depot: str) -> int:
    """Point-visits of ``solution`` made by a truck other than their territory's."""
    count = 0
    for route in solution.routes:
        type_id, index = split_truck_type(route.vehicle_type, route.vehicle_index)
        truck = truck_id(depot, type_id, index + 1)
        for stop_id in route.stop_ids:
            own = territories.truck_of.get(stop_id)
            count += own is not None and own != truck
    return count


def aligned(
    problem: RoutingProblem, solution: RoutingSolution, territories: Territories, depot: str
) -> RoutingSolution:
    """A free station-day's routes handed to the trucks of their type whose territories they
    cover most (an assignment problem per type, most visits on territory; scipy's
    `linear_sum_assignment`): trucks of a type are interchangeable on a free day, so only the
    numbers change. Re-verified."""
    routes = list(solution.routes)
    for vtype in problem.vehicle_types:
        rows = [k for k, r in enumerate(routes) if r.vehicle_type == vtype.id]
        if not rows or vtype.count < 2:
            continue
        on = np.zeros((len(rows), vtype.count))
        for row, k in enumerate(rows):
            owners = [territories.truck_of.get(p) for p in routes[k].stop_ids]
            for index in range(vtype.count):
                on[row, index] = owners.count(truck_id(depot, vtype.id, index + 1))
        picked, trucks = linear_sum_assignment(on, maximize=True)
        for row, index in zip(picked, trucks, strict=True):
            routes[rows[row]] = dataclasses.replace(routes[rows[row]], vehicle_index=int(index))
    out = dataclasses.replace(solution, routes=tuple(routes))
    check(problem, out)
    return out


def pull_home(
    problem: RoutingProblem,
    solution: RoutingSolution,
    territories: Territories,
    depot: str,
    penalty_cny: float,
) -> RoutingSolution:
    """A free station-day with each visit off territory moved onto its territory's truck's
    route where that costs less than ``penalty_cny``: the point leaves its route and goes in at
    the cheapest of the `PULL_POSITIONS` smallest detours of the other that `build_route` can
    time (capacity, windows, shift, lunch). A route left with no stop is dropped with its fixed
    cost. Soft territories' price per visit, applied per visit (``soft_choice`` then compares
    the day whole). Re-verified; unchanged when the check fails."""
    # a free day's types are the scenario's, so a route's truck is its type and number
    owner = {
        truck_id(depot, r.vehicle_type, r.vehicle_index + 1): k
        for k, r in enumerate(solution.routes)
    }
    routes: list[Route | None] = list(solution.routes)
    moved = False
    for k, first in enumerate(solution.routes):
        for stop_id in first.stop_ids:
            home = owner.get(territories.truck_of.get(stop_id, ""))
            if home is None or home == k:
                continue
            route, target = routes[k], routes[home]
            if route is None or target is None:
                continue
            better = _moved_home(problem, route, target, stop_id, penalty_cny)
            if better is not None:
                routes[k], routes[home] = better
                moved = True
    if not moved:
        return solution
    return _verified_or_kept(problem, solution, tuple(r for r in routes if r is not None))


def _verified_or_kept(
    problem: RoutingProblem, solution: RoutingSolution, routes: tuple[Route, ...]
) -> RoutingSolution:
    """``solution`` with ``routes`` (its cost theirs) if the routing verifier accepts it, else
    ``solution`` unchanged."""
    out = dataclasses.replace(solution, routes=routes, cost_cny=sum(r.cost_cny for r in routes))
    try:
        check(problem, out)
    except VerificationError:
        return solution
    return out


def _steps(route: Route, drop: str | None = None) -> list[Step]:
    """A route's visits as `build_route` steps, without the stop ``drop``."""
    return [(v.kind, v.id) for v in route.visits if v.id != drop or v.kind != "stop"]


def _moved_home(
    problem: RoutingProblem, away: Route, home: Route, stop_id: str, penalty_cny: float
) -> tuple[Route | None, Route] | None:
    """(``away`` without the stop or None, ``home`` with it) when that saves more than the
    penalty against leaving the stop where it is; else None."""
    moved = _moved(problem, away, home, stop_id)
    if moved is None:
        return None
    rest, joined = moved
    after = (rest.cost_cny if rest else 0.0) + joined.cost_cny
    return moved if after - (away.cost_cny + home.cost_cny) < penalty_cny else None


def _moved(
    problem: RoutingProblem, away: Route, home: Route, stop_id: str
) -> tuple[Route | None, Route] | None:
    """(``away`` without the stop or None when it is left empty, ``home`` with the stop at the
    cheapest of the `PULL_POSITIONS` smallest detours that `build_route` can time: capacity,
    windows, shift, lunch); None when neither can be timed. The caller checks that ``home``'s
    type may serve the stop."""
    left = _steps(away, stop_id)
    try:
        rest = (
            build_route(problem, away.vehicle_type, away.vehicle_index, left)
            if any(kind == "stop" for kind, _ in left)
            else None
        )
    except ScheduleError:
        return None
    vtype = problem.vehicle_type(home.vehicle_type)
    duration = problem.duration_s[vtype.profile]
    at = problem.stop(stop_id).location
    steps = _steps(home)
    places = [problem.site(vtype.start_site_id).location]
    places += [problem.stop(i).location if kind == "stop" else problem.site(i).location
               for kind, i in steps]  # fmt: skip
    detours = sorted(
        range(len(steps)),
        key=lambda g: (
            int(duration[places[g], at])
            + int(duration[at, places[g + 1]])
            - int(duration[places[g], places[g + 1]])
        ),
    )[:PULL_POSITIONS]
    best: tuple[Route | None, Route] | None = None
    for g in detours:
        try:
            sequence = [*steps[:g], ("stop", stop_id), *steps[g:]]
            joined = build_route(problem, home.vehicle_type, home.vehicle_index, sequence)
        except ScheduleError:
            continue
        if best is None or joined.cost_cny < best[1].cost_cny:
            best = (rest, joined)
    return best


def soft_choice(
    restricted: tuple[RoutingProblem, StationDayResult],
    free: tuple[RoutingProblem, StationDayResult],
    territories: Territories,
    depot: str,
    penalty_cny: float,
) -> tuple[RoutingProblem, StationDayResult]:
    """Of a station-day solved with territories kept and solved free, the one with the lower
    objective + ``penalty_cny`` per point-visit off its territory (ties: the territorial)."""

    def score(pair: tuple[RoutingProblem, StationDayResult]) -> float:
        problem, result = pair
        off = off_territory_visits(result.solution, territories, depot)
        return objective(problem, result.solution) + penalty_cny * off

    return free if score(free) < score(restricted) - 1e-6 else restricted


# -- balance -----------------------------------------------------------------------------------
def route_hours(solution: RoutingSolution) -> list[float]:
    """Working hours (depot to depot) of the routes that serve at least one point."""
    return [r.duration_s / 3600 for r in solution.routes if r.stop_ids]


def route_ratio(solution: RoutingSolution) -> float:
    """Longest ÷ shortest working route (1.0 with fewer than two)."""
    hours = route_hours(solution)
    if len(hours) < 2 or min(hours) <= 0:
        return 1.0
    return max(hours) / min(hours)


def capped(problem: RoutingProblem, cap_s: int) -> RoutingProblem:
    """``problem`` with every vehicle type's longest route at most ``cap_s``."""
    types = tuple(
        dataclasses.replace(v, max_duration_s=min(v.max_route_duration_s, cap_s))
        for v in problem.vehicle_types
    )
    return problem.replace(vehicle_types=types)


def even_out(problem: RoutingProblem, solution: RoutingSolution, ratio: float) -> RoutingSolution:
    """``solution`` with stops moved one at a time between its working routes while that lowers
    the longest ÷ shortest working route, until it is at most ``ratio``: a cap only shortens
    the long routes, this also lengthens the short ones. The moves weighed are every stop onto
    the shortest route and every stop of the longest onto another route (only onto a truck that
    may serve the stop), ranked by the ratio their detours and savings estimate; they are
    timed by `build_route` in that order until `EVEN_TIMED` lower the ratio (or `EVEN_TRIED`
    were timed) and the one lowering it most (then costing least) is made, at most
    `EVEN_MOVES` times. Re-verified; unchanged when no move
    lowers the ratio or the check fails."""
    routes: dict[int, Route] = dict(enumerate(solution.routes))
    moved = False
    for _ in range(EVEN_MOVES):
        hours = {k: r.duration_s for k, r in routes.items() if r.stop_ids}
        if len(hours) < 2:
            break
        short = min(hours, key=lambda k: (hours[k], k))
        long = max(hours, key=lambda k: (hours[k], -k))
        now = hours[long] / max(1, hours[short])
        if now <= ratio:
            break
        best: tuple[tuple[float, float], int, int, Route | None, Route] | None = None
        found = 0
        for tried, (away, home, stop_id) in enumerate(
            _even_candidates(problem, routes, hours, short, long, now)
        ):
            if found >= EVEN_TIMED or tried >= EVEN_TRIED:
                break
            got = _moved(problem, routes[away], routes[home], stop_id)
            if got is None:
                continue
            rest, joined = got
            after = dict(hours)
            after[home] = joined.duration_s
            if rest is None:
                del after[away]
            else:
                after[away] = rest.duration_s
            new = max(after.values()) / max(1, min(after.values()))
            extra = joined.cost_cny + (rest.cost_cny if rest else 0.0)
            key = (round(new, 6), extra - routes[away].cost_cny - routes[home].cost_cny)
            if new < now - 1e-6:
                found += 1
                if best is None or key < best[0]:
                    best = (key, away, home, rest, joined)
        if best is None:
            break
        _, away, home, rest, joined = best
        routes[home] = joined
        if rest is None:
            del routes[away]
        else:
            routes[away] = rest
        moved = True
    if not moved:
        return solution
    return _verified_or_kept(problem, solution, tuple(routes[k] for k in sorted(routes)))


def _even_candidates(
    problem: RoutingProblem,
    routes: Mapping[int, Route],
    hours: Mapping[int, int],
    short: int,
    long: int,
    now: float,
) -> list[tuple[int, int, str]]:
    """The (from route, onto route, stop) moves for `even_out` whose estimated ratio is below
    ``now``, lowest first: the receiving route gains the stop's service and its smallest
    detour, the giving route loses its service and the saving of leaving it out."""

    def places(route: Route) -> NDArray[np.int64]:
        vtype = problem.vehicle_type(route.vehicle_type)
        ends = problem.site(vtype.start_site_id).location, problem.site(vtype.depot).location
        return np.array([ends[0], *(v.location for v in route.visits), ends[1]], dtype=np.int64)

    def may_serve(route: Route, stop_id: str) -> bool:
        stop = problem.stop(stop_id)
        allowed = stop.allowed_vehicle_types
        ok = allowed is None or route.vehicle_type in allowed
        return ok and problem.vehicle_type(route.vehicle_type).carries(stop.stream)

    def matrix(k: int) -> NDArray[np.int64]:
        return problem.duration_s[problem.vehicle_type(routes[k].vehicle_type).profile]

    where = {k: places(routes[k]) for k in hours}
    saving: dict[str, int] = {}
    for k in hours:
        d, p = matrix(k), where[k]
        for g, visit in enumerate(routes[k].visits, start=1):
            if visit.kind == "stop":
                cut = int(d[p[g - 1], p[g]] + d[p[g], p[g + 1]] - d[p[g - 1], p[g + 1]])
                saving[visit.id] = cut + problem.stop(visit.id).service_s

    def detour(home: int, stop_id: str) -> int:
        d, p, at = matrix(home), where[home], problem.stop(stop_id).location
        return int(np.min(d[p[:-1], at] + d[at, p[1:]] - d[p[:-1], p[1:]]))

    pairs = [(away, short) for away in hours if away != short]
    pairs += [(long, home) for home in hours if home not in (long, short)]
    ranked = []
    for away, home in pairs:
        for stop_id in routes[away].stop_ids:
            if not may_serve(routes[home], stop_id):
                continue
            after = dict(hours)
            after[home] += detour(home, stop_id) + problem.stop(stop_id).service_s
            after[away] -= saving[stop_id]
            if after[away] <= 0:
                del after[away]
            estimate = max(after.values()) / max(1, min(after.values()))
            if estimate < now:
                ranked.append((estimate, away, home, stop_id))
    return [(away, home, stop_id) for _, away, home, stop_id in sorted(ranked)]


@dataclasses.dataclass
class BalanceReport:
    """What balancing did: station-days re-solved, met, not met, and the cost with and without."""

    ratio: float
    tried: int = 0
    met: int = 0
    not_met: list[str] = dataclasses.field(default_factory=list)
    cost_without_cny: float = 0.0
    cost_with_cny: float = 0.0


Plans = dict[Key, tuple[StationDayResult, RoutingProblem]]


def _keep_evened(
    key: Key,
    got: StationDayResult,
    problem: RoutingProblem,
    ratio: float,
    original: StationDayResult,
    best: Plans,
    closest: Plans,
) -> None:
    """Keep ``got`` evened out (`even_out`) as ``key``'s best plan (it meets ``ratio`` and is
    the cheapest that does) or its closest (the most balanced yet)."""
    evened = even_out(problem, got.solution, ratio)
    if evened is got.solution:
        return
    kept = dataclasses.replace(got, solution=evened)
    if route_ratio(evened) <= ratio:
        if key not in best or evened.cost_cny < best[key][0].solution.cost_cny:
            best[key] = (kept, problem)
    elif route_ratio(evened) < route_ratio(closest.get(key, (original,))[0].solution):
        closest[key] = (kept, problem)


def balance(
    tasks: Sequence[StationDay],
    results: dict[Key, StationDayResult],
    problems: dict[Key, RoutingProblem],
    ratio: float,
    run: RunTasks,
) -> BalanceReport:
    """Balance the station-days whose route ratio is above ``ratio``. The cost-only plan is
    first evened out by moving stops (`even_out`, no re-solve); the station-days it does not
    balance are re-solved with a cap on every truck's route, bisected between the mean and the
    longest of the cost-only routes (`BALANCE_ROUNDS` batches): a plan that meets the ratio
    raises the cap (a looser cap is cheaper), one above the ratio lowers it, one leaving more
    points unserved raises it; the most balanced capped plan is then evened out in turn. The
    cheapest plan that met the ratio is kept; where none did, the most balanced plan that
    serves as many points, if it is more balanced than the cost-only one (the station-day is
    still named in ``not_met``). ``results`` and ``problems`` are updated in place.
    """
    report = BalanceReport(ratio)
    report.cost_without_cny = sum(r.solution.cost_cny for r in results.values())
    pending = {
        (t.date, t.station_id): t
        for t in tasks
        if route_ratio(results[(t.date, t.station_id)].solution) > ratio
    }
    report.tried = len(pending)
    original = {key: results[key] for key in pending}
    bounds = {
        key: (statistics.mean(route_hours(r.solution)), max(route_hours(r.solution)))
        for key, r in original.items()
    }
    best: Plans = {}
    closest: Plans = {}

    def even(key: Key, got: StationDayResult, problem: RoutingProblem) -> None:
        _keep_evened(key, got, problem, ratio, original[key], best, closest)

    for key, task in sorted(pending.items()):  # first by moving stops: no re-solve
        even(key, original[key], task.problem)
    pending = {key: task for key, task in pending.items() if key not in best}
    for _ in range(BALANCE_ROUNDS):
        if not pending:
            break
        batch = [
            dataclasses.replace(task, problem=capped(task.problem, round(sum(bounds[key]) * 1800)))
            for key, task in sorted(pending.items())
        ]
        solved = run(batch)
        for task in batch:
            key = (task.date, task.station_id)
            got, (low, high) = solved[key], bounds[key]
            cap_h = (low + high) / 2
            more_unserved = len(got.solution.unserved) > len(original[key].solution.unserved)
            near = closest.get(key, (original[key], task.problem))[0].solution
            if not more_unserved and route_ratio(got.solution) < route_ratio(near):
                closest[key] = (got, task.problem)
            if not more_unserved and route_ratio(got.solution) <= ratio:
                kept = best.get(key)
                if kept is None or got.solution.cost_cny < kept[0].solution.cost_cny:
                    best[key] = (got, task.problem)
            bounds[key] = (cap_h, high) if more_unserved or key in best else (low, cap_h)
    for key in sorted(set(pending) - set(best)):  # the most balanced capped plan evened out
        if key in closest:
            even(key, *closest[key])
    for key, (got, problem) in (closest | best).items():
        results[key], problems[key] = got, problem
    report.met = len(best)
    report.not_met = [f"{d} {s}" for d, s in sorted(set(pending) - set(best))]
    report.cost_with_cny = sum(r.solution.cost_cny for r in results.values())
    return report


# -- KPIs ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ConsistencyFigures:
    """Share of point-visits on their territory's truck (or, without territories, on the
    point's most frequent truck), median spread (max − min, minutes) of a point's arrival
    times over its visits, the largest longest ÷ shortest route of any station-day, and the
    largest longest ÷ shortest week of a station's trucks (`sanitation.plan.rota`)."""

    visits: int
    on_territory: int
    share: float | None
    spread_median_min: float | None
    points_repeated: int
    max_route_ratio: float
    max_week_truck_ratio: float


def consistency_figures(
    days: Iterable[DayOut], truck_of: Mapping[str, str] | None = None
) -> ConsistencyFigures:
    """The figures of a plan's days (see `ConsistencyFigures`)."""
    days = list(days)
    trucks: dict[str, list[str]] = defaultdict(list)
    arrivals: dict[str, list[int]] = defaultdict(list)
    worst = 1.0
    for day in days:
        by_station: dict[str, list[RouteOut]] = defaultdict(list)
        for route in day.routes:
            by_station[route.station_id].append(route)
            for visit in route.visits:
                if visit.kind == "stop":
                    trucks[visit.id].append(route.vehicle_id)
                    arrivals[visit.id].append(visit.arrival_s)
        for routes in by_station.values():
            hours = [r.duration_s for r in routes if r.n_stops]
            if len(hours) >= 2 and min(hours) > 0:
                worst = max(worst, max(hours) / min(hours))
    visits = sum(len(v) for v in trucks.values())
    if truck_of is None:
        on = sum(Counter(v).most_common(1)[0][1] for v in trucks.values())
    else:
        on = sum(t == truck_of.get(p) for p, v in trucks.items() for t in v)
    spreads = [(max(a) - min(a)) / 60 for a in arrivals.values() if len(a) >= 2]
    return ConsistencyFigures(
        visits=visits,
        on_territory=on,
        share=round(on / visits, 4) if visits else None,
        spread_median_min=round(statistics.median(spreads), 1) if spreads else None,
        points_repeated=len(spreads),
        max_route_ratio=round(worst, 3),
        max_week_truck_ratio=round(week_truck_ratio(days), 3),
    )


# -- the plan's steps -------------------------------------------------------------------------
@dataclasses.dataclass
class Settled:
    """What `settle` did: the balance report (None: off), soft choices and notes."""

    balance: BalanceReport | None
    fixed_line: int = 0
    fixed_line_tried: int = 0
    held: int = 0
    soft_free: int = 0
    soft_total: int = 0
    rota_routes: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Week:
    """A week's station-days as `settle` works on them: the tasks, their verified results and
    problems (updated in place), the problems without territories, and how to solve more."""

    tasks: Sequence[StationDay]
    results: dict[Key, StationDayResult]
    problems: dict[Key, RoutingProblem]
    free_problems: Mapping[Key, RoutingProblem]
    run: RunTasks


def _soft(
    ctx: PlanningContext, week: Week, territories: Mapping[str, Territories], settled: Settled
) -> None:
    """``soft``: each territorial station-day solved free too, the cheaper with the penalty
    kept (`soft_choice`)."""
    policy = ctx.scenario.policy
    tasks, results, problems, free_problems = (
        week.tasks,
        week.results,
        week.problems,
        week.free_problems,
    )
    run = week.run
    free_tasks = [
        dataclasses.replace(t, problem=free_problems[(t.date, t.station_id)])
        for t in tasks
        if t.station_id in territories
    ]
    free = run(free_tasks)
    for task in free_tasks:
        key = (task.date, task.station_id)
        depot = depot_name(ctx, task.station_id)
        terr = territories[task.station_id]
        solution = aligned(task.problem, free[key].solution, terr, depot)
        solution = pull_home(task.problem, solution, terr, depot, policy.consistency_penalty_cny)
        free[key] = dataclasses.replace(free[key], solution=solution)
        kept = soft_choice(
            (problems[key], results[key]),
            (task.problem, free[key]),
            territories[task.station_id],
            depot,
            policy.consistency_penalty_cny,
        )
        problems[key], results[key] = kept
        settled.soft_free += kept[0] is task.problem
    settled.soft_total = len(free_tasks)
    settled.notes.append(
        f"consistency soft: {settled.soft_total - settled.soft_free} of "
        f"{settled.soft_total} station-day(s) kept their territories; the others were "
        f"cheaper free by more than {policy.consistency_penalty_cny:g} CNY per visit off "
        "territory"
    )


def recalibrate(
    ctx: PlanningContext, week: Week, territories: dict[str, Territories], inputs: TerritoryInputs
) -> list[str]:
    """Re-build the territories of each station whose week leaves points unserved, with the
    day fill scaled down by how much its routes' working hours (lunch aside) exceeded the
    territories' estimate, re-solve its station-days, and keep the better week (fewer points
    unserved, then cheaper); a note per station re-built."""
    tasks, results, problems = week.tasks, week.results, week.problems
    index = {day: number for number, day in enumerate(inputs.dates)}
    notes = []
    for station_id, terr in sorted(territories.items()):
        keys = [(t.date, t.station_id) for t in tasks if t.station_id == station_id]
        unserved = sum(len(results[k].solution.unserved) for k in keys)
        if not unserved:
            continue
        real = sum(_work_h(problems[k], r) for k in keys for r in results[k].solution.routes)
        estimated = sum(
            terr.day_hours.get(_route_truck(ctx, station_id, r), (0.0,) * len(index))[index[k[0]]]
            for k in keys
            for r in results[k].solution.routes
        )
        factor = real / estimated if estimated > 0 else 1.0
        fill = max(0.3, min(0.95 * DAY_FILL, DAY_FILL / max(factor, 1.0)))
        again = inputs.build(ctx, station_id, day_fill=fill)
        redo = [
            dataclasses.replace(
                t, problem=restrict(ctx, week.free_problems[(t.date, t.station_id)], again)
            )
            for t in tasks
            if t.station_id == station_id
        ]
        solved = week.run(redo)
        after = sum(len(solved[k].solution.unserved) for k in keys)
        cost = (
            sum(results[k].solution.cost_cny for k in keys),
            sum(solved[k].solution.cost_cny for k in keys),
        )
        if (after, cost[1]) < (unserved, cost[0]):
            territories[station_id] = again
            for task in redo:
                key = (task.date, task.station_id)
                results[key], problems[key] = solved[key], task.problem
        notes.append(
            f"territories of {station_id} re-built filling {fill:.0%} of each truck's day (its "
            f"routes took {factor:.2f}x the estimated hours): {unserved} -> {after} point-visits "
            f"unserved, {cost[0]:,.0f} -> {cost[1]:,.0f} CNY; "
            + ("kept" if territories[station_id] is again else "the first territories kept")
        )
    return notes


def _route_truck(ctx: PlanningContext, station_id: str, route: Route) -> str:
    """The truck id of a routing route."""
    type_id, index = split_truck_type(route.vehicle_type, route.vehicle_index)
    return truck_id(depot_name(ctx, station_id), type_id, index + 1)


def _work_h(problem: RoutingProblem, route: Route) -> float:
    """Working hours of a route: its duration less its lunch break."""
    lunch = problem.vehicle_type(route.vehicle_type).lunch
    taken = lunch.duration_s if lunch is not None and route.lunch_start_s is not None else 0
    return (route.duration_s - taken) / 3600


def settle(
    ctx: PlanningContext,
    tasks: Sequence[StationDay],
    results: dict[Key, StationDayResult],
    problems: dict[Key, RoutingProblem],
    free_problems: Mapping[Key, RoutingProblem],
    territories: dict[str, Territories],
    inputs: TerritoryInputs,
    *,
    run: RunTasks,
) -> Settled | None:
    """Apply consistency and balance to solved station-days (module docstring): re-build the
    territories of a station whose routes outran their estimate (`recalibrate`), soft
    choices, fixed lines, balance. ``results``, ``problems`` and ``territories`` are updated
    in place with the plans kept. None when neither policy is on (no consistency section)."""
    policy = ctx.scenario.policy
    if not territories and policy.balance_max_ratio is None:
        return None
    settled = Settled(balance=None)
    week = Week(tasks, results, problems, free_problems, run)
    if policy.consistency == "territory":
        settled.notes.extend(recalibrate(ctx, week, territories, inputs))
    if policy.consistency == "soft":
        _soft(ctx, week, territories, settled)
    if policy.consistency == "territory":
        ratio = policy.balance_max_ratio
        settled.fixed_line, settled.fixed_line_tried, settled.held = apply_fixed_lines(
            results,
            problems,
            line_orders(ctx, tasks, free_problems, territories, run),
            None if ratio is None else lambda line, _: route_ratio(line) <= ratio,
        )
    if policy.balance_max_ratio is not None:
        current = [dataclasses.replace(t, problem=problems[(t.date, t.station_id)]) for t in tasks]
        report = balance(current, results, problems, policy.balance_max_ratio, run)
        settled.balance = report
        if report.not_met:
            settled.notes.append(
                f"balance: {len(report.not_met)} station-day(s) could not meet longest/shortest "
                f"route <= {report.ratio:g} without leaving points unserved: "
                + ", ".join(report.not_met)
            )
        if policy.consistency == "none":
            settled.rota_routes = balance_week(results, problems)
    settled.notes.extend(territory_notes(territories))
    return settled


def territory_notes(territories: Mapping[str, Territories]) -> list[str]:
    """The notes on each station's territories: points off their base truck, fixed points
    reassigned, territories not contiguous along roads."""
    notes = []
    for station_id, t in sorted(territories.items()):
        if t.changed:
            why = Counter(t.changed.values())
            notes.append(
                f"territories: {len(t.changed)} point(s) of {station_id} left their base "
                "plan's truck ("
                + ", ".join(f"{n} {reason}" for reason, n in sorted(why.items()))
                + "); every other point kept its base territory"
            )
        if t.moved:
            notes.append(
                f"territories: {len(t.moved)} point(s) of {station_id} changed truck because "
                f"their fixed truck does not work there or may not serve them: {', '.join(t.moved)}"
            )
        apart = sorted(p for points in t.detached.values() for p in points)
        if not t.contiguity:
            notes.append(
                f"territories: no split of {station_id} contiguous along roads fits its trucks' "
                f"days; built without contiguity ({len(apart)} point(s) apart from their "
                "territory's centre)"
            )
        elif apart:
            notes.append(
                f"territories: {len(apart)} point(s) of {station_id} lie apart from their "
                "territory's centre along roads (fixed, kept and narrow-lane points win over "
                f"contiguity, and points may join them): {', '.join(apart)}"
            )
    return notes


def routing_share(consistency: str) -> float:
    """Share of the routing budget of a station-day's first solve (soft solves it twice)."""
    return 0.5 if consistency == "soft" else 1.0


def consistency_notes(settled: Settled | None) -> list[str]:
    """The plan notes of `settle` (none when it did nothing)."""
    return settled.notes if settled is not None else []


def line_orders(
    ctx: PlanningContext,
    tasks: Sequence[StationDay],
    free_problems: Mapping[Key, RoutingProblem],
    territories: Mapping[str, Territories],
    run: RunTasks,
) -> dict[str, dict[str, float]]:
    """Station → point → position on its truck's a priori tour (`sanitation.plan.fixed_line`):
    each truck's tour through its territory's points of the whole week, solved by the plan's
    engine with `TOUR_WORK_S` each."""
    union: dict[str, dict[str, int]] = defaultdict(dict)
    counts: dict[str, dict[str, int]] = {}
    for (_, station_id), problem in sorted(free_problems.items()):
        if station_id in territories:
            for stop in problem.stops:
                union[station_id][stop.id] = max(union[station_id].get(stop.id, 0), stop.load_kg)
            counts[station_id] = {v.id: v.count for v in problem.vehicle_types}
    if not tasks:
        return {}
    first = tasks[0]
    params = SolveParams(time_limit_s=TOUR_WORK_S, work_s=TOUR_WORK_S)
    batch = []
    for station_id, due in sorted(union.items()):
        whole = build_station_day(ctx, station_id, due, counts[station_id])
        whole = restrict(ctx, whole, territories[station_id])
        for vtype in whole.vehicle_types:
            tour = tour_problem(whole, vtype.id)
            if tour is not None:
                name = f"{station_id} {vtype.id}"  # station ids hold no space
                batch.append(StationDay(name, first.date, tour, first.engine, params, first.seed))
    solved = run(batch)
    orders: dict[str, dict[str, float]] = defaultdict(dict)
    for task in batch:
        station_id = task.station_id.split(" ", 1)[0]
        orders[station_id].update(tour_order(solved[(task.date, task.station_id)].solution))
    return dict(orders)


def territory_truck_of(territories: Mapping[str, Territories]) -> dict[str, str]:
    """Point → truck over every station's territories."""
    return {p: t for terr in territories.values() for p, t in terr.truck_of.items()}


def truck_changes(
    territories: Mapping[str, Territories], base_truck_of: Mapping[str, str] | None
) -> list[TruckChangeOut]:
    """The points whose territory's truck differs from the base's, with the reason."""
    if not base_truck_of:
        return []
    truck_of = territory_truck_of(territories)
    return [
        TruckChangeOut(
            point_id=point_id,
            base_truck_id=base_truck_of[point_id],
            truck_id=truck_of.get(point_id),
            reason=reason,
        )
        for terr in territories.values()
        for point_id, reason in sorted(terr.changed.items())
    ]


def consistency_out(
    ctx: PlanningContext,
    territories: Mapping[str, Territories],
    days: Sequence[DayOut],
    settled: Settled | None,
    base_truck_of: Mapping[str, str] | None = None,
) -> ConsistencyOut | None:
    """The plan's consistency section (None when `settle` did nothing); under ``territory``
    the plan's routes are first checked against the territories
    (`sanitation.verify.territory.check`, `VerificationError`). ``base_truck_of``: a
    what-if's base territories (point → truck), for ``truck_changes``."""
    if settled is None:
        return None
    policy = ctx.scenario.policy
    truck_of = territory_truck_of(territories)
    if policy.consistency == "territory":
        check_territories(
            truck_of,
            (
                (r.route_id, r.vehicle_id, [v.id for v in r.visits if v.kind == "stop"])
                for day in days
                for r in day.routes
            ),
        )
    figures = consistency_figures(days, truck_of if territories else None)
    village = {p.point_id: p.village_code for p in ctx.scenario.points}
    out = []
    for station_id, terr in sorted(territories.items()):
        for truck, hours in sorted(terr.week_hours.items()):
            points = terr.points_of(truck)
            out.append(
                TerritoryOut(
                    truck_id=truck,
                    station_id=station_id,
                    type_id=split_truck_id(truck)[1],
                    point_ids=points,
                    village_codes=sorted({village[p] for p in points}),
                    centre_point_id=terr.seeds.get(truck) if points else None,
                    estimated_week_h=hours,
                    estimated_day_h=list(terr.day_hours[truck]),
                    contiguous=not terr.detached.get(truck),
                    detached_point_ids=list(terr.detached.get(truck, ())),
                )
            )
    report = settled.balance
    return ConsistencyOut(
        policy=policy.consistency,
        balance_max_ratio=policy.balance_max_ratio,
        territories=out,
        reassigned_point_ids=sorted(p for t in territories.values() for p in t.moved),
        truck_changes=truck_changes(territories, base_truck_of),
        visits=figures.visits,
        visits_on_territory=figures.on_territory,
        share_on_territory=figures.share,
        arrival_spread_median_min=figures.spread_median_min,
        max_route_ratio=figures.max_route_ratio,
        max_week_truck_ratio=figures.max_week_truck_ratio,
        week_rota_routes=settled.rota_routes,
        fixed_line_station_days=settled.fixed_line,
        fixed_line_tried=settled.fixed_line_tried,
        timetable_station_days=settled.held,
        balance_tried=report.tried if report else 0,
        balance_met=report.met if report else 0,
        balance_not_met=report.not_met if report else [],
        cost_without_balance_cny=round(report.cost_without_cny, 2) if report else None,
        cost_with_balance_cny=round(report.cost_with_cny, 2) if report else None,
    )
