"""The re-plan of one station from ``t``: its trucks continue from their state, its remaining
due points are routed again, with as few stops moved between trucks as the day allows.

Each truck still able to work is a vehicle type of its own (count 1, id = the plan's
``vehicle_id``): a truck on the road starts at its place (a site ``at:<vehicle>``) with its load
on board at the end of its last done visit; a truck not yet out starts at the depot; a truck
that took its lunch before ``t`` has none left (one whose lunch window has passed, none either;
one whose window opened before it goes on takes it in the rest of the window); a truck out
already has no fixed cost left and its route limit is shortened by the time it has been out.
A reported position stands on its road segment (`with_edge_starts`).

Minimal disruption: two verified candidates, and the lower of route cost + unserved penalties
+ `MOVE_PENALTY_CNY` per stop moved off the truck the old plan gave it wins: *keep* (every
truck keeps its remaining old sequence, re-timed from its state; stops that no longer fit and
stops without a truck are inserted where they cost least) and *solve* (the routing engine on
the whole station, started from the kept routes).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from geo.matrix import UNREACHABLE
from sanitation.engines import solve as solve_routing
from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import UNREACHABLE_CAP_S, build_station_day
from sanitation.replan.context import GPS_PREFIX, SITE_PREFIX, NodeRecorder
from sanitation.replan.position import EdgeStart, RoadSegments
from sanitation.replan.state import DayState, Truck
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop, VehicleType
from sanitation.routing.schedule import ScheduleError, Step, build_route
from sanitation.routing.screen import UnservedReason, screen
from sanitation.routing.solution import Route, RoutingSolution, Unserved, objective
from sanitation.verify.routing import check

#: objective charge per stop moved off the truck the old plan gave it (CNY): about ten minutes
#: of a crew and truck at the scenarios' 40-45 CNY/h, for re-briefing the crew (assumed)
MOVE_PENALTY_CNY = 8.0
#: priority of an urgent point (overflow): dropped after every ordinary point (assumed)
URGENT_PRIORITY = 10
#: places tried for a stop without a truck, the cheapest by detour first (each one re-times a
#: route, the costly step)
INSERT_TRIES = 4
START_PREFIX = "at:"
#: the depot site of a helping neighbour's trucks
HOME_PREFIX = "home:"


@dataclass(frozen=True)
class StationReplan:
    """The verified re-plan of one station after ``t``."""

    station_id: str
    problem: RoutingProblem
    solution: RoutingSolution
    places: dict[str, int]
    moved: int
    basis: str
    seconds: float


def start_place(truck: Truck) -> str | None:
    """The place id the truck continues from: a reported position, its last kept visit's
    place, or None (its depot)."""
    if truck.facts.position_at_s is not None:
        return f"{GPS_PREFIX}{truck.vehicle_id}"
    kept = truck.kept()
    if truck.route is None or not kept:
        return None
    return truck.route.visits[kept[-1]].id


def _free_at(truck: Truck, at_s: int) -> int:
    if truck.facts.position_at_s is not None:
        return max(at_s, truck.facts.position_at_s)
    kept = truck.kept()
    if truck.route is None or not kept:
        return at_s
    return max(at_s, truck.route.visits[kept[-1]].departure_s)


def _load_on_board(truck: Truck) -> int:
    """kg on board after the kept visits (loads since the last unload), or as reported."""
    if truck.facts.position_load_kg is not None:
        return truck.facts.position_load_kg
    if truck.route is None:
        return 0
    load = 0
    kept = set(truck.kept())
    for i, v in enumerate(truck.route.visits[: truck.n_done]):
        if v.kind == "unload":
            load = 0
        elif i in kept:
            load += v.load_kg
    return load


def _lunch_left(truck: Truck, vt: VehicleType, start_s: int) -> bool:
    lunch = vt.lunch
    if lunch is None:
        return False
    route = truck.route
    if route is not None and route.lunch_start_s is not None and route.lunch_start_s < start_s:
        return False  # taken (or begun) before it continues
    return lunch.latest_start_s >= start_s


def truck_type(truck: Truck, vt: VehicleType, at_s: int, location_site: str | None) -> VehicleType:
    """The vehicle type standing for one truck from ``t`` on (see the module docstring)."""
    start = max(vt.shift_start_s, _free_at(truck, at_s))
    out = truck.out and truck.route is not None
    limit = vt.max_route_duration_s
    if out and truck.route is not None:
        limit = max(0, limit - (start - truck.route.depot_departure_s))
    lunch = vt.lunch if _lunch_left(truck, vt, start) else None
    if lunch is not None and lunch.window_start_s < start:
        # its window opened before the truck goes on: the break lies in the rest of it (an
        # engine may not take a window opening before the vehicle's start, as OR-Tools' may not)
        lunch = Lunch(lunch.duration_s, start, lunch.window_end_s)
    return dataclasses.replace(
        vt,
        id=truck.vehicle_id,
        count=1,
        shift_start_s=min(start, vt.shift_end_s),
        max_duration_s=limit,
        lunch=lunch,
        fixed_cost_cny=0.0 if out else vt.fixed_cost_cny,
        start_site=location_site,
        initial_load_kg=min(_load_on_board(truck), vt.capacity_kg),
    )


def _helper_sites(ctx: PlanningContext, helpers: Sequence[str]) -> dict[str, str]:
    """Per helping station: its site id and its depot's (the station itself without a depot),
    each a key of the zero-waste point standing there."""
    depots = {d.station_id: d.depot_id for d in ctx.scenario.depots}
    out = {}
    for station_id in helpers:
        out[station_id] = f"{SITE_PREFIX}{station_id}"
        out[f"{HOME_PREFIX}{station_id}"] = f"{SITE_PREFIX}{depots.get(station_id, station_id)}"
    return out


def station_problem(
    ctx: PlanningContext, group: Sequence[str], state: DayState, trucks: Sequence[Truck]
) -> tuple[RoutingProblem, dict[str, int], dict[int, tuple[int, EdgeStart]]]:
    """The routing problem after ``t`` of a station (``group[0]``) and its helping neighbours
    (``group[1:]``: their trucks and points join; their trucks unload at their own station and
    go home to their own depot), the location of every place id and, per location of a
    reported position, its profile and where on its road segment the truck stands
    (`with_edge_starts`)."""
    recorder = ctx if isinstance(ctx, NodeRecorder) else NodeRecorder.of(ctx)
    problem, places = _station_problem(recorder, group, state, trucks)
    return with_edge_starts(recorder, problem, places, trucks)


def with_edge_starts(
    ctx: NodeRecorder, problem: RoutingProblem, places: dict[str, int], trucks: Sequence[Truck]
) -> tuple[RoutingProblem, dict[str, int], dict[int, tuple[int, EdgeStart]]]:
    """``problem`` with each reported position's travel from where the truck stands on its
    road segment (`sanitation.replan.position`): to any place, the faster of its segment's
    ends it may drive to plus the way on from there (its row of the truck's profile)."""
    scenario = ctx.scenario
    where = {p.point_id: (p.lon, p.lat) for p in scenario.points}
    classes = ctx.classes
    type_class = {v.type_id: v.access_class for v in scenario.vehicle_types}
    durs, dists = [d.copy() for d in problem.duration_s], [d.copy() for d in problem.distance_m]
    segments: dict[str, RoadSegments] = {}
    starts: dict[int, tuple[int, EdgeStart]] = {}
    for t in trucks:
        pid = f"{GPS_PREFIX}{t.vehicle_id}"
        if t.facts.position_at_s is None or pid not in places:
            continue
        cls = type_class[t.type_id]
        if cls not in segments:
            segments[cls] = RoadSegments(ctx.places.network, ctx.places.profiles[cls])
        start = segments[cls].place(*where[pid])
        if start is None:
            continue
        loc, p = places[pid], classes.index(cls)
        time_s, dist_m = ctx.matrix(cls, np.array([e.node for e in start.ends]), ctx.nodes[cls])
        ok = time_s < UNREACHABLE
        if not ok.any():
            continue  # an isolated piece of road: the node it snapped to stands
        lead = np.array([[e.time_s] for e in start.ends])
        total = np.where(ok, time_s + lead, np.inf)
        best = np.argmin(total, axis=0)
        cols = np.arange(total.shape[1])
        reach = np.isfinite(total[best, cols])
        far_m = dist_m[best, cols] + np.array([e.distance_m for e in start.ends])[best]
        durs[p][loc] = np.where(reach, np.rint(total[best, cols]), UNREACHABLE_CAP_S)
        dists[p][loc] = np.where(reach, np.rint(far_m), UNREACHABLE_CAP_S * 30)
        durs[p][loc, loc] = dists[p][loc, loc] = 0
        starts[loc] = (p, start)
    if not starts:
        return problem, places, starts
    return problem.replace(duration_s=tuple(durs), distance_m=tuple(dists)), places, starts


def _station_problem(
    ctx: PlanningContext, group: Sequence[str], state: DayState, trucks: Sequence[Truck]
) -> tuple[RoutingProblem, dict[str, int]]:
    main, helpers = group[0], list(group[1:])
    due = {p: kg for s in group for p, kg in state.due.get(s, {}).items() if p not in ctx.cut_off}
    starts = {t.vehicle_id: start_place(t) for t in trucks}
    placed = {p for p in starts.values() if p is not None and p not in group}
    helper_sites = _helper_sites(ctx, helpers)
    matrix_due = {**dict.fromkeys([*placed, *helper_sites.values()], 0), **due}
    counts: dict[str, int] = {}
    for t in trucks:
        counts[t.type_id] = counts.get(t.type_id, 0) + 1
    base = build_station_day(ctx, main, matrix_due, counts)
    places = {s.id: s.location for s in base.stops} | {s.id: s.location for s in base.sites}
    records = {r.station_id: r for r in ctx.scenario.stations}
    sites = list(base.sites)
    for helper_site, point_id in helper_sites.items():
        places[helper_site] = loc = places[point_id]
        st = records.get(helper_site)
        hours = (st.open_s, st.close_s, st.unload_s) if st is not None else (0, 86_400, 0)
        sites.append(Site(helper_site, loc, *hours))
    templates = {v.id: v for v in base.vehicle_types}
    types = []
    for t in trucks:
        place = starts[t.vehicle_id]
        site_id = None
        if place is not None:
            site_id = f"{START_PREFIX}{t.vehicle_id}"
            sites.append(Site(site_id, places[place]))
        template = templates[t.type_id]
        if t.station_id != main:
            template = dataclasses.replace(
                template, depot=f"{HOME_PREFIX}{t.station_id}", unload_sites=(t.station_id,)
            )
        types.append(truck_type(t, template, state.at_s, site_id))
    by_type: dict[str, set[str]] = {}
    for t in trucks:
        by_type.setdefault(t.type_id, set()).add(t.vehicle_id)
    stops = [_stop(s, state, by_type) for s in base.stops if s.id in due]
    problem = base.replace(sites=tuple(sites), stops=tuple(stops), vehicle_types=tuple(types))
    return problem, places


def _stop(s: Stop, state: DayState, by_type: Mapping[str, set[str]]) -> Stop:
    allowed = frozenset(v for t in (s.allowed_vehicle_types or by_type) for v in by_type.get(t, ()))
    own = state.territory_truck_of.get(s.id)
    if own is not None and own in allowed:  # its territory's truck works: it stays on it
        allowed = frozenset({own})
    deadline = state.deadline_s.get(s.id)
    if deadline is None:
        return dataclasses.replace(s, allowed_vehicle_types=allowed)
    close = max(0, deadline - s.service_s)
    return dataclasses.replace(
        s,
        allowed_vehicle_types=allowed,
        tw_open_s=min(s.tw_open_s, close),
        tw_close_s=min(s.tw_close_s, close) if s.tw_close_s >= s.tw_open_s else close,
        priority=max(s.priority, URGENT_PRIORITY),
    )


def old_sequences(problem: RoutingProblem, trucks: Sequence[Truck]) -> dict[str, list[Step]]:
    """Per truck: its remaining old visits (stops still due here, unloads at its sites)."""
    out: dict[str, list[Step]] = {}
    for t in trucks:
        steps: list[Step] = []
        if t.route is not None:
            for v in t.route.visits[t.n_done :]:
                if v.kind == "stop" and problem.has_stop(v.id):
                    steps.append(("stop", v.id))
                elif v.kind == "unload" and steps and steps[-1][0] == "stop":
                    steps.append(("unload", v.id))
        out[t.vehicle_id] = steps
    return out


def _try(problem: RoutingProblem, vehicle: str, steps: list[Step]) -> Route | None:
    if not any(k == "stop" for k, _ in steps):
        return None
    try:
        return build_route(problem, vehicle, 0, steps)
    except ScheduleError:
        return None


def _fit(problem: RoutingProblem, vehicle: str, steps: list[Step]) -> tuple[list[Step], list[str]]:
    """The longest head of ``steps`` that can be timed (a head of a timed sequence can be timed:
    searched by halves), and the stops cut off its tail."""
    sites = problem.vehicle_type(vehicle).unload_sites
    steps = [s for s in steps if s[0] == "stop" or s[1] in sites]

    def ok(n: int) -> bool:
        head = steps[:n]
        return not any(k == "stop" for k, _ in head) or _try(problem, vehicle, head) is not None

    lo, hi = 0, len(steps)
    if not ok(hi):
        hi -= 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if ok(mid):
                lo = mid
            else:
                hi = mid - 1
    cut = [ident for kind, ident in steps[hi:] if kind == "stop"]
    return steps[:hi], cut


def _insertions(
    problem: RoutingProblem, seqs: Mapping[str, list[Step]], stop: Stop
) -> list[tuple[float, str, int]]:
    """(estimated added cost in CNY, truck, position) of every place ``stop`` could go, cheapest
    first: the detour in distance and time between the two visits around it."""
    out = []
    for vt in problem.vehicle_types:
        if not stop.allows(vt.id):
            continue
        dur, dist = problem.duration_s[vt.profile], problem.distance_m[vt.profile]
        seq = seqs[vt.id]
        locs = [problem.site(vt.start_site_id).location]
        locs += [
            problem.stop(i).location if k == "stop" else problem.site(i).location for k, i in seq
        ]
        locs.append(problem.site(vt.unload_sites[0]).location)
        x = stop.location
        for j in range(len(seq) + 1):
            a, b = locs[j], locs[j + 1]
            d_m = int(dist[a, x]) + int(dist[x, b]) - int(dist[a, b])
            d_s = int(dur[a, x]) + int(dur[x, b]) - int(dur[a, b])
            cost = vt.cost_cny_per_km * d_m / 1000 + vt.cost_cny_per_h * d_s / 3600
            out.append((cost, vt.id, j))
    out.sort()
    return out


def _insert(problem: RoutingProblem, seqs: dict[str, list[Step]], stop_id: str) -> bool:
    """Put ``stop_id`` at the cheapest of its `INSERT_TRIES` best estimated places where the
    route can still be timed (with an unload before it when the truck is full)."""
    stop = problem.stop(stop_id)
    for _, vehicle, j in _insertions(problem, seqs, stop)[:INSERT_TRIES]:
        seq = seqs[vehicle]
        unload = ("unload", problem.vehicle_type(vehicle).unload_sites[0])
        for extra in ([], [unload]):
            cand = [*seq[:j], *extra, ("stop", stop_id), *seq[j:]]
            if _try(problem, vehicle, cand) is not None:
                seqs[vehicle] = cand
                return True
    return False


def _solution(
    problem: RoutingProblem, seqs: Mapping[str, list[Step]], left: Sequence[str], engine: str
) -> RoutingSolution:
    routes = []
    for vehicle, seq in seqs.items():
        route = _try(problem, vehicle, seq)
        if route is not None:
            routes.append(route)
    screening = screen(problem)
    reasons = {problem.stops[i].id: r for i, r in screening.rejected.items()}
    unserved = tuple(
        Unserved(s, reasons.get(s, UnservedReason.FLEET_EXHAUSTED)) for s in sorted(left)
    )
    return RoutingSolution(
        tuple(routes), unserved, sum(r.cost_cny for r in routes), engine, 0.0, {"basis": "kept"}
    )


def keep_candidate(problem: RoutingProblem, trucks: Sequence[Truck]) -> RoutingSolution:
    """Every truck keeps its remaining old sequence; the rest is inserted where cheapest."""
    seqs: dict[str, list[Step]] = {}
    loose: list[str] = []
    old = old_sequences(problem, trucks)
    for vt in problem.vehicle_types:
        seqs[vt.id], cut = _fit(problem, vt.id, old.get(vt.id, []))
        loose.extend(cut)
    on_route = {i for seq in seqs.values() for k, i in seq if k == "stop"}
    loose.extend(s.id for s in problem.stops if s.id not in on_route and s.id not in loose)
    # urgent points first, then by load (heaviest first: the hardest to place)
    loose.sort(key=lambda s: (-problem.stop(s).priority, -problem.stop(s).load_kg, s))
    left = [s for s in loose if not _insert(problem, seqs, s)]
    solution = with_tails(problem, _solution(problem, seqs, left, "kept"))
    check(problem, solution)
    return solution


def with_tails(problem: RoutingProblem, solution: RoutingSolution) -> RoutingSolution:
    """``solution`` plus, for each truck already out that got no stop, its way to unload (if it
    has a load on board) and home."""
    used = {r.vehicle_type for r in solution.routes}
    tails = []
    for vt in problem.vehicle_types:
        if vt.start_site is None or vt.id in used:
            continue
        try:
            tails.append(build_route(problem, vt, 0, [], final_unload=vt.initial_load_kg > 0))
        except ScheduleError:
            continue  # it cannot be home by the shift end whatever it does: left to the crew
    if not tails:
        return solution
    routes = (*solution.routes, *tails)
    return dataclasses.replace(solution, routes=routes, cost_cny=sum(r.cost_cny for r in routes))


def moved_stops(solution: RoutingSolution, truck_of: Mapping[str, str]) -> int:
    """Stops served by another truck than the old plan's."""
    return sum(
        1
        for r in solution.routes
        for s in r.stop_ids
        if s in truck_of and truck_of[s] != r.vehicle_type
    )


def replan_station(
    problem: RoutingProblem,
    places: dict[str, int],
    station_id: str,
    trucks: Sequence[Truck],
    *,
    engine: str,
    time_limit_s: float,
    seed: int,
    executor: cf.Executor | None = None,
) -> StationReplan:
    """The better of the keep and solve candidates (see the module docstring), verified
    (``executor``: a warm pool for the portfolio's engines, as `sanitation.engines.solve`)."""
    started = time.perf_counter()
    truck_of = {
        v.id: t.vehicle_id
        for t in trucks
        if t.route is not None
        for v in t.route.visits
        if v.kind == "stop"
    }
    kept = keep_candidate(problem, trucks)
    best, basis = kept, "kept"
    if problem.stops and problem.vehicle_types:
        params = SolveParams(
            time_limit_s=time_limit_s + 2.0, work_s=time_limit_s, initial_solution=kept
        )
        raw = solve_routing(problem, params, seed=seed, engine=engine, executor=executor)
        solved = with_tails(problem, raw)
        check(problem, solved)

        def score(sol: RoutingSolution) -> float:
            return objective(problem, sol) + MOVE_PENALTY_CNY * moved_stops(sol, truck_of)

        if score(solved) < score(kept) - 1e-6:
            best, basis = solved, "solved"
    return StationReplan(
        station_id,
        problem,
        best,
        places,
        moved_stops(best, truck_of),
        basis,
        time.perf_counter() - started,
    )
