"""Fixed lines (定线、定时) of territorial week plans: each truck serves its territory's points in
one order every day, so that villagers see it at about the same time.

The order is an a priori tour (Jaillet 1988, "A priori solution of a traveling salesman problem
in which a random subset of the customers are visited", Operations Research 36(6); Bertsimas,
Jaillet & Odoni 1990): the routing engine's tour through every point of the territory (the
week's union, with their time windows, one truck without capacity, shift or lunch limits),
which each day follows and skips the points not due. Each station-day
is then timed on that order (`sanitation.routing.schedule.build_route`; an unload whenever the
next point would overfill the truck, and one at the end), and the timed day replaces the
solver's when every due point is served, the verifier accepts it and it costs at most
`MAX_EXTRA_COST` more (a day whose order breaks a time window, the shift or a limit keeps the
solver's routes). Then each point gets a timetable time, its latest arrival on the
fixed-line days, and every fixed-line day is timed again with the point opening no earlier
than `HOLD_SLACK_S` before it (the truck leaves later or waits on a light day: 定时), kept
where that fits within the same cost limit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from sanitation.errors import VerificationError
from sanitation.plan.daily import StationDayResult
from sanitation.routing.problem import RoutingProblem, Stop, VehicleType
from sanitation.routing.schedule import ScheduleError, Step, build_route
from sanitation.routing.solution import Route, RoutingSolution
from sanitation.verify.routing import check

Key = tuple[dt.date, str]
Accept = Callable[[RoutingSolution, RoutingSolution], bool]
#: how much earlier than its timetable time (the latest arrival of its fixed-line days) a point
#: may be served (s; assumed: 15 min, so that a point's arrivals spread by 15 min where the
#: line is held)
HOLD_SLACK_S = 15 * 60
#: largest extra cost of a fixed-line day over the solver's routes (share; assumed: the
#: issue's 3 % for balance, with room for the order's own cost)
MAX_EXTRA_COST = 0.05


def tour_problem(problem: RoutingProblem, vehicle_type: str) -> RoutingProblem | None:
    """The a priori tour problem of one truck: its stops of ``problem`` (a station's union of
    the week, one vehicle type per truck) with no load, one truck leaving at its shift start with
    the rest of the day; None when it has no stops. (Leaving at midnight instead would let the
    tour meet a morning window late in its order, which no real day can.)"""
    stops = tuple(
        dataclasses.replace(s, load_kg=0)
        for s in problem.stops
        if s.allowed_vehicle_types == frozenset({vehicle_type})
    )
    if not stops:
        return None
    own = problem.vehicle_type(vehicle_type)
    vtype = dataclasses.replace(
        own,
        shift_end_s=86_400,
        max_duration_s=86_400 - own.shift_start_s,
        lunch=None,
        max_trips=None,
        max_load_per_day_kg=None,
        max_stops=None,
    )
    return problem.replace(stops=stops, vehicle_types=(vtype,), horizon_s=None)


def tour_order(solution: RoutingSolution) -> dict[str, float]:
    """Point id → relative position on the tour (0 first, 1 last)."""
    stops = [stop_id for route in solution.routes for stop_id in route.stop_ids]
    return {stop_id: index / max(1, len(stops) - 1) for index, stop_id in enumerate(stops)}


def line_stops(
    problem: RoutingProblem,
    vtype: VehicleType,
    order: Mapping[str, float],
    *,
    windows_first: bool = False,
) -> list[Stop]:
    """The due stops of ``vtype`` (a one-truck type) in line order. ``windows_first``: the
    stops whose window closes before the shift ends come first (in line order), then the
    others."""
    own = [s for s in problem.stops if s.allowed_vehicle_types == frozenset({vtype.id})]

    def position(s: Stop) -> tuple[bool, float, str]:
        windowed = windows_first and s.tw_close_s < vtype.shift_end_s
        return (not windowed, order.get(s.id, 1.0), s.id)

    return sorted(own, key=position)


def greedy_steps(vtype: VehicleType, stops: Sequence[Stop]) -> list[Step]:
    """``stops`` in order, an unload at the first unload site whenever the next stop would
    overfill the truck."""
    steps: list[Step] = []
    load = vtype.initial_load_kg
    for stop in stops:
        if load + stop.load_kg > vtype.capacity_kg and steps:
            steps.append(("unload", vtype.unload_sites[0]))
            load = 0
        steps.append(("stop", stop.id))
        load += stop.load_kg
    return steps


def split_steps(problem: RoutingProblem, vtype: VehicleType, stops: Sequence[Stop]) -> list[Step]:
    """``stops`` in order with the unloads where they cost least: the optimal split of a giant
    tour into trips (Beasley 1983, "Route first-cluster second methods for vehicle routing",
    Omega 11(4); Prins 2004), by dynamic programming over where to break the sequence, each
    trip within the truck's capacity and each break at its cheapest unload site (driving cost
    plus the unload's time). Time windows, site hours and the shift are left to `build_route`,
    which times the result."""
    n = len(stops)
    if n == 0:
        return []
    dur = problem.duration_s[vtype.profile]
    dist = problem.distance_m[vtype.profile]
    per_s, per_m = vtype.cost_cny_per_h / 3600, vtype.cost_cny_per_km / 1000

    def cost(a: int, b: int) -> float:
        return per_s * float(dur[a, b]) + per_m * float(dist[a, b])

    sites = [problem.site(u) for u in vtype.unload_sites]
    loc = [s.location for s in stops]
    # the extra cost of unloading between stop k and k + 1, and where
    breaks: list[tuple[float, str]] = []
    for k in range(n - 1):
        via = min(
            sites,
            key=lambda u: (
                cost(loc[k], u.location) + cost(u.location, loc[k + 1]) + per_s * u.unload_s,
                u.id,
            ),
        )
        extra = cost(loc[k], via.location) + cost(via.location, loc[k + 1])
        breaks.append((extra + per_s * via.unload_s - cost(loc[k], loc[k + 1]), via.id))
    # best[j]: least break cost of stops[:j] ending in a break (or the start) after stop j - 1
    best = [0.0] + [float("inf")] * n
    back = [0] * (n + 1)
    first_load = vtype.initial_load_kg
    for j in range(1, n + 1):
        load = 0
        for i in range(j, 0, -1):  # the trip stops[i - 1 : j]
            load += stops[i - 1].load_kg
            if load + (first_load if i == 1 else 0) > vtype.capacity_kg:
                break
            value = best[i - 1] + (breaks[j - 1][0] if j < n else 0.0)
            if value < best[j]:
                best[j], back[j] = value, i - 1
    if best[n] == float("inf"):  # a stop above capacity: leave it to the greedy line
        return greedy_steps(vtype, stops)
    cuts, j = [], n
    while j > 0:
        cuts.append(j)
        j = back[j]
    steps: list[Step] = []
    begin = 0
    for end in sorted(cuts):
        steps.extend(("stop", s.id) for s in stops[begin:end])
        if end < n:
            steps.append(("unload", breaks[end - 1][1]))
        begin = end
    return steps


def _line_route(
    problem: RoutingProblem, vtype: VehicleType, order: Mapping[str, float]
) -> Route | Literal[False] | None:
    """The truck's day on its line (None: nothing due; False: it does not fit): the cheaper of
    the optimal split (`split_steps`) and the greedy one that fits. When neither does (an
    unload before a morning window, say), the line with its windowed stops first is tried: the
    same order every day, so still a fixed line."""
    for windows_first in (False, True):
        stops = line_stops(problem, vtype, order, windows_first=windows_first)
        if not stops:
            return None
        routes = []
        for steps in (split_steps(problem, vtype, stops), greedy_steps(vtype, stops)):
            try:
                routes.append(build_route(problem, vtype, 0, steps))
            except ScheduleError:
                continue
        if routes:
            return min(routes, key=lambda r: r.cost_cny)
    return False


def fixed_line_day(
    problem: RoutingProblem,
    solved: RoutingSolution,
    order: Mapping[str, float],
    accept: Accept | None = None,
) -> RoutingSolution | None:
    """The station-day timed on the line order, or None when it does not fit, costs more than
    `MAX_EXTRA_COST` above ``solved``, ``solved`` leaves points unserved, or ``accept(line,
    solved)`` says no (e.g. the balance ratio)."""
    if solved.unserved:
        return None
    routes: list[Route] = []
    for vtype in problem.vehicle_types:
        route = _line_route(problem, vtype, order)
        if route is False:
            return None
        if route is not None:
            routes.append(route)
    cost = sum(r.cost_cny for r in routes)
    if cost > solved.cost_cny * (1 + MAX_EXTRA_COST) + 1e-6:
        return None
    line = RoutingSolution(
        routes=tuple(routes),
        unserved=(),
        cost_cny=cost,
        engine="fixed_line",
        seconds=0.0,
        stats={**solved.stats, "winner": "fixed_line"},
    )
    if accept is not None and not accept(line, solved):
        return None
    try:
        check(problem, line)
    except VerificationError:
        return None
    return line


def timetable(solutions: Sequence[RoutingSolution]) -> dict[str, int]:
    """Point id → latest arrival (s after midnight) over ``solutions``: the time its truck comes
    by on every day of the line."""
    arrivals: dict[str, list[int]] = defaultdict(list)
    for solution in solutions:
        for route in solution.routes:
            for visit in route.visits:
                if visit.kind == "stop":
                    arrivals[visit.id].append(visit.arrival_s)
    return {p: max(a) for p, a in arrivals.items()}


def held(problem: RoutingProblem, table: Mapping[str, int]) -> RoutingProblem:
    """``problem`` whose stops open no earlier than `HOLD_SLACK_S` before their timetable
    time (within their own window): a truck early on a light day waits."""
    stops = tuple(
        dataclasses.replace(
            s, tw_open_s=max(s.tw_open_s, min(s.tw_close_s, table[s.id] - HOLD_SLACK_S))
        )
        if s.id in table
        else s
        for s in problem.stops
    )
    return problem.replace(stops=stops)


def apply_fixed_lines(
    results: dict[Key, StationDayResult],
    problems: dict[Key, RoutingProblem],
    orders: Mapping[str, Mapping[str, float]],
    accept: Accept | None = None,
) -> tuple[int, int, int]:
    """Replace the station-days of the stations in ``orders`` (station → point → tour
    position) by their fixed-line days where those fit; then time each station's fixed-line
    days again held to the station's timetable (`timetable`, `held`) where that fits too
    (module docstring). Returns the station-days on a fixed line, tried, and held."""
    solver: dict[Key, RoutingSolution] = {}
    tried = 0
    for key in sorted(results):
        if key[1] not in orders:
            continue
        tried += 1
        line = fixed_line_day(problems[key], results[key].solution, orders[key[1]], accept)
        if line is not None:
            solver[key] = results[key].solution
            results[key] = dataclasses.replace(results[key], solution=line)
    kept_held = 0
    for station_id, order in orders.items():
        keys = [k for k in sorted(solver) if k[1] == station_id]
        table = timetable([results[k].solution for k in keys])
        for key in keys:
            timed = held(problems[key], table)
            line = fixed_line_day(timed, solver[key], order, accept)
            if line is not None:
                results[key] = dataclasses.replace(results[key], solution=line)
                problems[key] = timed
                kept_held += 1
    return len(solver), tried, kept_held
