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

Loads are kept per stream (one compartment per stream; a body without compartments carries the
single stream ``""``): a stop adds its ``load_kg`` to its stream's compartment, which the vehicle
type must carry (a compartment of that stream with room, or ``""`` on a plain body) and whose
capacity the load may never exceed; an unload empties every compartment whose stream the site
accepts and leaves the others as they are; ``load_after_kg`` is the total on board; the route
ends with every compartment empty. So waste of a stream only ever leaves the truck at a site
accepting it. The verifier keeps these rules itself and uses only the problem's data.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import NamedTuple

from sanitation.errors import VerificationError
from sanitation.routing.problem import RoutingProblem, Site, VehicleType
from sanitation.routing.solution import Route, RoutingSolution, Visit

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
        raise VerificationError(head, errors, stage="routing")


def _verify_route(
    problem: RoutingProblem,
    route: Route,
    r_idx: int,
    served: Counter[str],
    seen_vehicles: set[tuple[str, int]],
) -> list[str]:
    who = f"route {r_idx} ({route.vehicle_type}#{route.vehicle_index})"
    try:
        vt = problem.vehicle_type(route.vehicle_type)
    except KeyError:
        return [f"{who}: unknown vehicle_type {route.vehicle_type!r}."]
    check = _RouteCheck(problem, route, vt, who)
    check.vehicle(seen_vehicles)
    check.lunch_fields()
    check.departure()
    check.visits(served)
    check.end()
    return check.errs


class _VisitPlace(NamedTuple):
    location: int
    open_s: int
    close_s: int
    service_s: int


class _RouteCheck:
    """The checks of one route, in the order their messages are listed."""

    def __init__(self, problem: RoutingProblem, route: Route, vt: VehicleType, who: str) -> None:
        self.problem = problem
        self.route = route
        self.vt = vt
        self.who = who
        self.errs: list[str] = []
        self.dur = problem.duration_s[vt.profile]
        self.dist = problem.distance_m[vt.profile]
        self.depot = problem.site(vt.depot)
        self.lunch_gap: int | None = None
        # running totals of the walk along the visits, from the start site (the depot, or where
        # a truck already out stands) with the load already on board
        self.prev_loc = problem.site(vt.start_site_id).location
        self.prev_dep = route.depot_departure_s
        # kg on board per stream (compartment); the load already on board is of the body's
        # one stream (the problem refuses a loaded start otherwise)
        self.loads: dict[str, int] = {}
        if vt.initial_load_kg:
            self.loads[min(_streams_of(vt))] = vt.initial_load_kg
        self.last_unloads: dict[str, str] = {}  # stream -> last site that refused it
        self.day_load = 0
        self.n_stops = 0
        self.n_unloads = 0
        self.distance = 0

    def vehicle(self, seen_vehicles: set[tuple[str, int]]) -> None:
        """The vehicle exists, is used once and serves a stop."""
        route, vt, who = self.route, self.vt, self.who
        if not 0 <= route.vehicle_index < vt.count:
            self.errs.append(f"{who}: vehicle_index {route.vehicle_index} not in [0, {vt.count}).")
        key = (vt.id, route.vehicle_index)
        if key in seen_vehicles:
            self.errs.append(f"{who}: vehicle used by more than one route.")
        seen_vehicles.add(key)
        # a truck already out (a re-plan) may only drive to unload and home
        if not any(v.kind == "stop" for v in route.visits) and vt.start_site is None:
            self.errs.append(f"{who}: used vehicle serves no stop.")

    def lunch_fields(self) -> None:
        """Lunch given exactly when the type has one, in its window, in an existing gap."""
        route, vt, who = self.route, self.vt, self.who
        lunch = vt.lunch
        n = len(route.visits)
        if lunch is None:
            if route.lunch_start_s is not None or route.lunch_after_visit is not None:
                self.errs.append(f"{who}: lunch given but vehicle type {vt.id!r} has none.")
            return
        if route.lunch_start_s is None or route.lunch_after_visit is None:
            self.errs.append(f"{who}: lunch missing (lunch_start_s/lunch_after_visit is None).")
            return
        self.lunch_gap = route.lunch_after_visit
        if not -1 <= self.lunch_gap <= n - 1:
            self.errs.append(f"{who}: lunch_after_visit {self.lunch_gap} not in [-1, {n - 1}].")
            self.lunch_gap = None
        ls = route.lunch_start_s
        if ls < lunch.window_start_s or ls + lunch.duration_s > lunch.window_end_s:
            self.errs.append(
                f"{who}: lunch [{ls}, {ls + lunch.duration_s}] outside window "
                f"[{lunch.window_start_s}, {lunch.window_end_s}]."
            )

    def gap_arrival(self, gap: int, dep: int, travel: int) -> tuple[int, int]:
        """(arrival, earliest start) at the end of gap ``gap`` given departure ``dep``."""
        lunch, route = self.vt.lunch, self.route
        if lunch is None or self.lunch_gap != gap or route.lunch_start_s is None:
            return dep + travel, dep + travel
        ls = route.lunch_start_s
        le = ls + lunch.duration_s
        where = "depot departure" if gap == -1 else f"visit {gap}"
        if ls < dep:
            self.errs.append(
                f"{self.who}: lunch_start_s {ls} before the departure {dep} of {where}."
            )
        arrival = dep + travel + lunch.duration_s if ls < dep + travel else dep + travel
        return arrival, max(arrival, le)

    def _place(self, vw: str, v: Visit, served: Counter[str]) -> _VisitPlace | None:
        """Where the visit is and its hours (None: unknown; reported); counts and loads."""
        problem, vt = self.problem, self.vt
        if v.kind == "stop":
            if not problem.has_stop(v.id):
                self.errs.append(f"{vw}: unknown stop.")
                return None
            stop = problem.stop(v.id)
            served[v.id] += 1
            self.n_stops += 1
            if not stop.allows(vt.id):
                self.errs.append(f"{vw}: vehicle type {vt.id!r} not allowed (access class).")
            if not _carries(vt, stop.stream):
                self.errs.append(
                    f"{vw}: vehicle type {vt.id!r} has no compartment for stream "
                    f"{stop.stream!r} of stop {stop.id!r} (mixing)."
                )
            self.loads[stop.stream] = self.loads.get(stop.stream, 0) + stop.load_kg
            self.day_load += stop.load_kg
            return _VisitPlace(stop.location, stop.tw_open_s, stop.tw_close_s, stop.service_s)
        if v.kind == "unload":
            if not problem.has_site(v.id):
                self.errs.append(f"{vw}: unknown site.")
                return None
            site = problem.site(v.id)
            self.n_unloads += 1
            if site.id not in vt.unload_sites:
                self.errs.append(f"{vw}: site not among unload_sites of type {vt.id!r}.")
            self._unload(vw, v, site)
            return _VisitPlace(site.location, site.open_s, site.close_s, site.unload_s)
        self.errs.append(f"{vw}: unknown kind {v.kind!r}.")
        return None

    def visits(self, served: Counter[str]) -> None:
        """Each visit: place, recomputed arrival, start within hours, departure, load."""
        for i, v in enumerate(self.route.visits):
            vw = f"{self.who} visit {i} ({v.kind} {v.id!r})"
            place = self._place(vw, v, served)
            if place is None:
                continue
            self._timing(vw, i, v, place)
            if v.load_after_kg != self.load:
                self.errs.append(
                    f"{vw}: load_after_kg {v.load_after_kg} != recomputed {self.load}."
                )
            self._capacity(vw)
            self.prev_loc, self.prev_dep = place.location, v.departure_s

    @property
    def load(self) -> int:
        """Total kg on board (every compartment)."""
        return sum(self.loads.values())

    def _unload(self, vw: str, v: Visit, site: Site) -> None:
        """Empty the compartments whose stream ``site`` accepts; the others keep their load."""
        kept = {s: kg for s, kg in self.loads.items() if kg and not site.accepts(s)}
        claims_left = v.load_after_kg < sum(kept.values())  # the solution says it left here
        for stream, kg in kept.items():
            self.last_unloads[stream] = site.id
            if claims_left:
                self.errs.append(
                    f"{vw}: site {site.id!r} does not accept stream {stream!r}: compartment "
                    f"{stream!r} of vehicle type {self.vt.id!r} keeps {kg} kg."
                )
        self.loads = kept

    def _capacity(self, vw: str) -> None:
        """Each compartment's load within its capacity (the body's, without compartments)."""
        vt = self.vt
        if not vt.compartments:
            if self.load > vt.capacity_kg:
                self.errs.append(f"{vw}: load {self.load} kg above capacity {vt.capacity_kg} kg.")
            return
        for stream, kg in sorted(self.loads.items()):
            cap = sum(c.capacity_kg for c in vt.compartments if c.stream == stream)
            if kg > cap:
                self.errs.append(
                    f"{vw}: compartment {stream!r} of vehicle type {vt.id!r}: load {kg} kg "
                    f"above capacity {cap} kg."
                )

    def _timing(self, vw: str, i: int, v: Visit, place: _VisitPlace) -> None:
        if v.location != place.location:
            self.errs.append(f"{vw}: location {v.location} != {place.location}.")
        travel = int(self.dur[self.prev_loc, place.location])
        self.distance += int(self.dist[self.prev_loc, place.location])
        arrival, earliest = self.gap_arrival(i - 1, self.prev_dep, travel)
        if v.arrival_s != arrival:
            self.errs.append(f"{vw}: arrival_s {v.arrival_s} != recomputed {arrival}.")
        if v.start_s < max(earliest, place.open_s):
            self.errs.append(
                f"{vw}: start_s {v.start_s} before max(arrival/lunch end {earliest}, "
                f"open {place.open_s})."
            )
        if v.start_s > place.close_s:
            kind = "time window" if v.kind == "stop" else "site hours"
            self.errs.append(f"{vw}: start_s {v.start_s} after {kind} close {place.close_s}.")
        if v.departure_s != v.start_s + place.service_s:
            self.errs.append(
                f"{vw}: departure_s {v.departure_s} != start_s + service "
                f"{v.start_s + place.service_s}."
            )

    def departure(self) -> None:
        """The depot departure is not before the shift start."""
        route, vt = self.route, self.vt
        if route.depot_departure_s < vt.shift_start_s:
            self.errs.append(
                f"{self.who}: depot_departure_s {route.depot_departure_s} before shift_start_s "
                f"{vt.shift_start_s}."
            )

    def end(self) -> None:
        """Depot return, duration, ending empty, daily limits, distance and cost."""
        route, vt, who, errs = self.route, self.vt, self.who, self.errs
        n = len(route.visits)
        travel = int(self.dur[self.prev_loc, self.depot.location])
        self.distance += int(self.dist[self.prev_loc, self.depot.location])
        _, earliest = self.gap_arrival(n - 1, self.prev_dep, travel)
        if route.depot_return_s < earliest:
            errs.append(
                f"{who}: depot_return_s {route.depot_return_s} before recomputed {earliest}."
            )
        if route.depot_return_s > vt.shift_end_s:
            errs.append(
                f"{who}: depot_return_s {route.depot_return_s} after shift_end_s {vt.shift_end_s}."
            )
        duration = route.depot_return_s - route.depot_departure_s
        if route.duration_s != duration:
            errs.append(f"{who}: duration_s {route.duration_s} != return - departure {duration}.")
        if duration > vt.max_route_duration_s:
            errs.append(
                f"{who}: duration {duration} s above max_duration_s {vt.max_route_duration_s}."
            )
        if self.load != 0 or (n and route.visits[-1].kind != "unload"):
            errs.append(
                f"{who}: not empty at the end (last visit must be an unload; load {self.load})."
            )
        for stream, kg in sorted(self.loads.items()):
            if kg:
                refused = self.last_unloads.get(stream)
                where = f"; site {refused!r} refused it" if refused else ""
                errs.append(f"{who}: compartment {stream!r} still holds {kg} kg at the end{where}.")
        errs.extend(_limits(vt, who, self.n_unloads, self.day_load, self.n_stops))
        if route.distance_m != self.distance:
            errs.append(f"{who}: distance_m {route.distance_m} != recomputed {self.distance}.")
        cost = vt.route_cost_cny(self.distance, duration)
        if not _close(route.cost_cny, cost):
            errs.append(f"{who}: cost {route.cost_cny!r} != recomputed {cost!r}.")


def _streams_of(vt: VehicleType) -> set[str]:
    """The streams a vehicle type's body has room for (``{""}`` without compartments)."""
    return {c.stream for c in vt.compartments} or {""}


def _carries(vt: VehicleType, stream: str) -> bool:
    """A compartment of ``stream`` with room (``""`` on a body without compartments)."""
    if not vt.compartments:
        return stream == ""
    return any(c.stream == stream and c.capacity_kg > 0 for c in vt.compartments)


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
