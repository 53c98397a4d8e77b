"""Independent checker of routing solutions; it never imports an engine.

`verify` recomputes every route from the problem alone (travel from the vehicle's profile matrices,
waiting, service, unloads, lunch, loads, distance, cost) and returns every violation found, one
string each naming the route, the visit, the field and the value. `check` raises
`sanitation.errors.VerificationError` when there is any.

Timing rules (see `sanitation.routing.solution`): for the gap between a departure at ``D`` and
the next location reached after travel ``t``:

- without lunch in the gap: ``arrival = D + t``;
- with lunch starting at ``L >= D`` (duration ``b``): ``arrival = D + t + b`` if ``L < D + t`` (the
  truck parks on the way), else ``arrival = D + t`` (it parks at the next location); the next
  service/unload/depot return cannot begin before ``L + b``.

Service starts at or after ``max(arrival, tw_open_s, lunch end)`` and at or before ``tw_close_s``;
unloads likewise within the site's hours; ``departure = start + service_s`` (``unload_s``).
"""

from __future__ import annotations

import math
from collections import Counter

from sanitation.errors import VerificationError
from sanitation.routing.problem import RoutingProblem, VehicleType
from sanitation.routing.solution import Route, RoutingSolution

COST_TOL = 1e-6


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=COST_TOL, abs_tol=1e-4)


def verify(problem: RoutingProblem, solution: RoutingSolution) -> list[str]:
    """Every violation of ``solution`` against ``problem`` (empty list = valid).

    Parameters
    ----------
    problem
        The problem the solution claims to solve.
    solution
        The solution to check.

    Returns
    -------
    list[str]
        One message per violation.
    """
    errors: list[str] = []
    served: Counter[str] = Counter()
    seen_vehicles: set[tuple[str, int]] = set()
    total_cost = 0.0
    for r_idx, route in enumerate(solution.routes):
        errors.extend(_verify_route(problem, route, r_idx, served, seen_vehicles))
        total_cost += route.cost_cny

    unserved = Counter(u.stop_id for u in solution.unserved)
    for stop_id, n in unserved.items():
        if not problem.has_stop(stop_id):
            errors.append(f"unserved: unknown stop {stop_id!r}.")
        elif n > 1:
            errors.append(f"unserved: stop {stop_id!r} listed {n} times.")
    for u in solution.unserved:
        if not u.reason.strip():
            errors.append(f"unserved: stop {u.stop_id!r} has no reason.")
    for stop in problem.stops:
        n_served = served.get(stop.id, 0)
        if n_served > 1:
            errors.append(f"stop {stop.id!r}: served {n_served} times.")
        if n_served >= 1 and stop.id in unserved:
            errors.append(f"stop {stop.id!r}: both served and listed unserved.")
        if n_served == 0 and stop.id not in unserved:
            errors.append(f"stop {stop.id!r}: neither served nor listed unserved.")
    if not _close(total_cost, solution.cost_cny):
        errors.append(f"solution: cost {solution.cost_cny!r} != sum of route costs {total_cost!r}.")
    return errors


def check(problem: RoutingProblem, solution: RoutingSolution) -> None:
    """Raise `VerificationError` listing every violation, if there is any."""
    errors = verify(problem, solution)
    if errors:
        head = f"{solution.engine} solution violates {len(errors)} constraint(s): {errors[0]}"
        raise VerificationError(head, errors)


def _verify_route(
    problem: RoutingProblem,
    route: Route,
    r_idx: int,
    served: Counter[str],
    seen_vehicles: set[tuple[str, int]],
) -> list[str]:
    errs: list[str] = []
    who = f"route {r_idx} ({route.vehicle_type}#{route.vehicle_index})"
    try:
        vt = problem.vehicle_type(route.vehicle_type)
    except KeyError:
        return [f"{who}: unknown vehicle_type {route.vehicle_type!r}."]
    if not 0 <= route.vehicle_index < vt.count:
        errs.append(f"{who}: vehicle_index {route.vehicle_index} not in [0, {vt.count}).")
    key = (vt.id, route.vehicle_index)
    if key in seen_vehicles:
        errs.append(f"{who}: vehicle used by more than one route.")
    seen_vehicles.add(key)

    dur = problem.duration_s[vt.profile]
    dist = problem.distance_m[vt.profile]
    depot = problem.site(vt.depot)
    visits = route.visits
    n = len(visits)
    if not any(v.kind == "stop" for v in visits):
        errs.append(f"{who}: used vehicle serves no stop.")

    # lunch bookkeeping
    lunch = vt.lunch
    lunch_gap: int | None = None
    if lunch is None:
        if route.lunch_start_s is not None or route.lunch_after_visit is not None:
            errs.append(f"{who}: lunch given but vehicle type {vt.id!r} has none.")
    elif route.lunch_start_s is None or route.lunch_after_visit is None:
        errs.append(f"{who}: lunch missing (lunch_start_s/lunch_after_visit is None).")
    else:
        lunch_gap = route.lunch_after_visit
        if not -1 <= lunch_gap <= n - 1:
            errs.append(f"{who}: lunch_after_visit {lunch_gap} not in [-1, {n - 1}].")
            lunch_gap = None
        ls = route.lunch_start_s
        if ls < lunch.window_start_s or ls + lunch.duration_s > lunch.window_end_s:
            errs.append(
                f"{who}: lunch [{ls}, {ls + lunch.duration_s}] outside window "
                f"[{lunch.window_start_s}, {lunch.window_end_s}]."
            )

    def gap_arrival(gap: int, dep: int, travel: int) -> tuple[int, int]:
        """(arrival, earliest start) at the end of gap ``gap`` given departure ``dep``."""
        if lunch is None or lunch_gap != gap or route.lunch_start_s is None:
            return dep + travel, dep + travel
        ls = route.lunch_start_s
        le = ls + lunch.duration_s
        where = "depot departure" if gap == -1 else f"visit {gap}"
        if ls < dep:
            errs.append(f"{who}: lunch_start_s {ls} before the departure {dep} of {where}.")
        arrival = dep + travel + lunch.duration_s if ls < dep + travel else dep + travel
        return arrival, max(arrival, le)

    if route.depot_departure_s < vt.shift_start_s:
        errs.append(
            f"{who}: depot_departure_s {route.depot_departure_s} before shift_start_s "
            f"{vt.shift_start_s}."
        )
    prev_loc = depot.location
    prev_dep = route.depot_departure_s
    load = 0
    day_load = 0
    n_stops = 0
    n_unloads = 0
    distance = 0
    for i, v in enumerate(visits):
        vw = f"{who} visit {i} ({v.kind} {v.id!r})"
        if v.kind == "stop":
            if not problem.has_stop(v.id):
                errs.append(f"{vw}: unknown stop.")
                continue
            stop = problem.stop(v.id)
            served[v.id] += 1
            n_stops += 1
            if not stop.allows(vt.id):
                errs.append(f"{vw}: vehicle type {vt.id!r} not allowed (access class).")
            loc, tw_open, tw_close, service = (
                stop.location,
                stop.tw_open_s,
                stop.tw_close_s,
                stop.service_s,
            )
            load += stop.load_kg
            day_load += stop.load_kg
        elif v.kind == "unload":
            if not problem.has_site(v.id):
                errs.append(f"{vw}: unknown site.")
                continue
            site = problem.site(v.id)
            n_unloads += 1
            if site.id not in vt.unload_sites:
                errs.append(f"{vw}: site not among unload_sites of type {vt.id!r}.")
            loc, tw_open, tw_close, service = (
                site.location,
                site.open_s,
                site.close_s,
                site.unload_s,
            )
            load = 0
        else:
            errs.append(f"{vw}: unknown kind {v.kind!r}.")
            continue
        if v.location != loc:
            errs.append(f"{vw}: location {v.location} != {loc}.")
        travel = int(dur[prev_loc, loc])
        distance += int(dist[prev_loc, loc])
        arrival, earliest = gap_arrival(i - 1, prev_dep, travel)
        if v.arrival_s != arrival:
            errs.append(f"{vw}: arrival_s {v.arrival_s} != recomputed {arrival}.")
        if v.start_s < max(earliest, tw_open):
            errs.append(
                f"{vw}: start_s {v.start_s} before max(arrival/lunch end {earliest}, "
                f"open {tw_open})."
            )
        if v.start_s > tw_close:
            kind = "time window" if v.kind == "stop" else "site hours"
            errs.append(f"{vw}: start_s {v.start_s} after {kind} close {tw_close}.")
        if v.departure_s != v.start_s + service:
            errs.append(
                f"{vw}: departure_s {v.departure_s} != start_s + service {v.start_s + service}."
            )
        if v.load_after_kg != load:
            errs.append(f"{vw}: load_after_kg {v.load_after_kg} != recomputed {load}.")
        if load > vt.capacity_kg:
            errs.append(f"{vw}: load {load} kg above capacity {vt.capacity_kg} kg.")
        prev_loc, prev_dep = loc, v.departure_s

    travel = int(dur[prev_loc, depot.location])
    distance += int(dist[prev_loc, depot.location])
    arrival, earliest = gap_arrival(n - 1, prev_dep, travel)
    if route.depot_return_s < earliest:
        errs.append(f"{who}: depot_return_s {route.depot_return_s} before recomputed {earliest}.")
    if route.depot_return_s > vt.shift_end_s:
        errs.append(
            f"{who}: depot_return_s {route.depot_return_s} after shift_end_s {vt.shift_end_s}."
        )
    duration = route.depot_return_s - route.depot_departure_s
    if route.duration_s != duration:
        errs.append(f"{who}: duration_s {route.duration_s} != return - departure {duration}.")
    if duration > vt.max_route_duration_s:
        errs.append(f"{who}: duration {duration} s above max_duration_s {vt.max_route_duration_s}.")
    if n and (visits[-1].kind != "unload" or load != 0):
        errs.append(f"{who}: not empty at the end (last visit must be an unload; load {load}).")
    errs.extend(_limits(vt, who, n_unloads, day_load, n_stops))
    if route.distance_m != distance:
        errs.append(f"{who}: distance_m {route.distance_m} != recomputed {distance}.")
    cost = vt.route_cost_cny(distance, duration)
    if not _close(route.cost_cny, cost):
        errs.append(f"{who}: cost {route.cost_cny!r} != recomputed {cost!r}.")
    return errs


def _limits(vt: VehicleType, who: str, n_unloads: int, day_load: int, n_stops: int) -> list[str]:
    errs: list[str] = []
    if vt.max_trips is not None and n_unloads > vt.max_trips:
        errs.append(f"{who}: {n_unloads} unloads above max_trips {vt.max_trips}.")
    if vt.max_load_per_day_kg is not None and day_load > vt.max_load_per_day_kg:
        errs.append(
            f"{who}: day load {day_load} kg above max_load_per_day_kg {vt.max_load_per_day_kg}."
        )
    if vt.max_stops is not None and n_stops > vt.max_stops:
        errs.append(f"{who}: {n_stops} stops above max_stops {vt.max_stops}.")
    return errs
