"""Timing of a fixed visit sequence: earliest-start schedule, lunch placement, latest departure.

Engines decide *which* vehicle visits *what* in which order; this module turns such a sequence
into a timed `Route` that follows the rules of `sanitation.routing.solution` (the verifier
recomputes them independently). For a route with a lunch break every gap is tried as the lunch
slot (the truck parks at the next location if the break can start after arriving, otherwise on
the way); the depot departure is the latest one that keeps the route feasible, which gives the
shortest route duration for that sequence and lunch slot. Loads are kept per stream
(compartment): an unload empties the streams its site accepts, and a day's final unload is the
cheapest single site taking everything on board, or a chain of sites when none does
(`_final_tails`).

`lunch_free_window` is the lunch-free time of an engine that cannot model the break (PyVRP):
with every window, the shift end and the maximum duration transformed as it says, a sequence
that is feasible in lunch-free time is feasible here with the break at the first moment at or
after the lunch window opens (the argument is in its docstring), and `build_route` always tries
that slot, so such a sequence is always timed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from sanitation.routing.problem import Lunch, RoutingProblem, Site, VehicleType
from sanitation.routing.solution import Route, Visit, VisitKind

#: A visit of a sequence: ("stop", stop_id) or ("unload", site_id).
Step = tuple[str, str]

MAX_LUNCH_CANDIDATES = 8
#: most unload sites of an unload chain (one per stream on board: four streams, each at a site
#: of its own, need four; the final chains of `_final_tails` and the PyVRP engine's chains,
#: `sanitation.routing.pyvrp_model.unload_chains`)
MAX_FINAL_CHAIN = 4


class ScheduleError(ValueError):
    """The sequence cannot be timed feasibly; ``position`` is the failing visit (or -1).

    ``limit`` is True when the sequence breaks a vehicle limit (capacity, daily load, trips or
    stops) rather than a time rule.
    """

    def __init__(self, message: str, position: int = -1, *, limit: bool = False) -> None:
        super().__init__(message)
        self.position = position
        self.limit = limit


@dataclass(frozen=True, slots=True)
class _Node:
    kind: VisitKind
    id: str
    location: int
    open_s: int
    close_s: int
    service_s: int
    load_kg: int
    stream: str = ""  # of a stop
    site: Site | None = None  # of an unload

    def after(self, loads: dict[str, int]) -> dict[str, int]:
        """The kg per stream on board after this visit (an unload empties what it accepts)."""
        if self.site is not None:
            return self.site.left_after_unload(loads)
        out = dict(loads)
        out[self.stream] = out.get(self.stream, 0) + self.load_kg
        return out


def _start_loads(vt: VehicleType) -> dict[str, int]:
    """kg per stream on board at the start (a loaded start carries one stream)."""
    return {vt.initial_stream: vt.initial_load_kg} if vt.initial_load_kg else {}


@dataclass(slots=True)
class _Pass:
    """The outcome of one timing pass; ``too_long`` = it failed only on ``max_duration_s``."""

    ok: bool
    fail_pos: int
    reason: str
    visits: list[Visit]
    ret: int
    lunch_start: int | None
    too_long: bool = False


def lunch_free_window(
    open_s: int, close_s: int, service_s: int, lunch: Lunch | None
) -> tuple[int, int] | None:
    """The window ``[open_s, close_s]`` of a visit with ``service_s`` in lunch-free time.

    Lunch-free time is real time with the break cut out at the first moment at or after the
    lunch window opens (``ws``) when the truck is not serving. A visit starting at or before
    ``ws`` keeps its time (if its service runs past ``ws`` the break follows it, so it must end
    by the latest break start ``ls``): it is safe in ``[open, min(close, ws, ls - service)]``.
    A visit starting after ``ws`` follows the break; in real time it starts no later than its
    lunch-free start plus the duration (less where waiting absorbs the break) and never before
    ``open`` (the truck waits): it is safe in ``[max(open - duration, ws + 1), close -
    duration]``. The two parts meet unless the service is longer than ``ls - ws``; then the
    longer part is kept. None: no start is safe (e.g. a window wholly inside ``(ws, ws +
    duration]``). The shift end and the maximum route duration shrink by the duration, the
    departure must not be after ``ls`` and the route must not end before ``ws`` (waiting
    counts). By induction over the visits after the break, each starts in real time at most
    the duration after its lunch-free start, so every window, the shift end and the duration
    hold in real time.
    """
    if lunch is None:
        return (open_s, close_s) if open_s <= close_s else None
    ws, ls, dur = lunch.window_start_s, lunch.latest_start_s, lunch.duration_s
    before = (open_s, min(close_s, ws, ls - service_s))
    after = (max(open_s - dur, ws + 1), close_s - dur)
    parts = [w for w in (before, after) if w[0] <= w[1]]
    if not parts:
        return None
    if len(parts) == 2 and before[1] + 1 >= after[0]:
        return before[0], after[1]
    return max(parts, key=lambda w: w[1] - w[0])


def lunch_free_gap(
    problem: RoutingProblem, vt: VehicleType, sequence: Sequence[Step]
) -> int | None:
    """The gap where the break goes if ``sequence`` is timed in lunch-free time: the gap before
    the first visit starting after the lunch window opens, at the latest departure that is
    feasible in lunch-free time (see `lunch_free_window`); None if none is or there is no lunch.
    """
    lunch = vt.lunch
    if lunch is None:
        return None
    nodes = []
    for nd in _nodes(problem, vt, sequence):
        w = lunch_free_window(nd.open_s, nd.close_s, nd.service_s, lunch)
        if w is None:
            return None
        nodes.append((nd.location, w[0], w[1], nd.service_s))
    dur = problem.duration_s[vt.profile]
    depot = problem.site(vt.depot).location
    start_loc = problem.site(vt.start_site_id).location
    end_s = vt.shift_end_s - lunch.duration_s

    def starts(depart: int) -> list[int] | None:
        loc, t, out = start_loc, depart, []
        for location, open_s, close_s, service in nodes:
            t = max(t + int(dur[loc, location]), open_s)
            if t > close_s:
                return None
            out.append(t)
            loc, t = location, t + service
        return out if t + int(dur[loc, depot]) <= end_s else None

    lo, hi = vt.shift_start_s, min(vt.shift_end_s, lunch.latest_start_s)
    if lo > hi or starts(lo) is None:
        return None
    while lo < hi:  # latest feasible departure (feasibility is monotone in it)
        mid = (lo + hi + 1) // 2
        if starts(mid) is None:
            hi = mid - 1
        else:
            lo = mid
    times = starts(lo) or []
    first_after = next((i for i, t in enumerate(times) if t > lunch.window_start_s), len(times))
    return first_after - 1


def _nodes(problem: RoutingProblem, vt: VehicleType, sequence: Sequence[Step]) -> list[_Node]:
    nodes: list[_Node] = []
    for pos, (kind, ident) in enumerate(sequence):
        if kind == "stop":
            s = problem.stop(ident)
            if not s.allows(vt.id):
                msg = f"stop {ident!r} does not allow vehicle type {vt.id!r}."
                raise ScheduleError(msg, pos)
            if not vt.carries(s.stream):
                msg = f"vehicle type {vt.id!r} cannot carry stream {s.stream!r} of stop {ident!r}."
                raise ScheduleError(msg, pos)
            nodes.append(
                _Node(
                    "stop",
                    s.id,
                    s.location,
                    s.tw_open_s,
                    s.tw_close_s,
                    s.service_s,
                    s.load_kg,
                    stream=s.stream,
                )
            )
        elif kind == "unload":
            site = problem.site(ident)
            if site.id not in vt.unload_sites:
                msg = f"site {ident!r} is not an unload site of vehicle type {vt.id!r}."
                raise ScheduleError(msg, pos)
            nodes.append(
                _Node(
                    "unload",
                    site.id,
                    site.location,
                    site.open_s,
                    site.close_s,
                    site.unload_s,
                    0,
                    site=site,
                )
            )
        else:
            msg = f"unknown visit kind {kind!r}."
            raise ScheduleError(msg, pos)
    return nodes


def _forward(
    problem: RoutingProblem,
    vt: VehicleType,
    nodes: list[_Node],
    depart: int,
    lunch_gap: int | None,
) -> _Pass:
    """Earliest-start pass from depot departure ``depart`` with lunch in gap ``lunch_gap``."""
    dur = problem.duration_s[vt.profile]
    depot_loc = problem.site(vt.depot).location
    lunch = vt.lunch
    prev_loc, prev_dep = problem.site(vt.start_site_id).location, depart
    loads = _start_loads(vt)
    visits: list[Visit] = []
    lunch_start: int | None = None
    n = len(nodes)
    for gap in range(-1, n):
        nxt = nodes[gap + 1] if gap + 1 < n else None
        loc = nxt.location if nxt is not None else depot_loc
        travel = int(dur[prev_loc, loc])
        arrival = prev_dep + travel
        earliest = arrival
        if lunch is not None and gap == lunch_gap:
            # park at the next location if the break can start after arriving, else on the way
            ls = max(arrival, lunch.window_start_s)
            if ls > lunch.latest_start_s:
                ls = max(prev_dep, lunch.window_start_s)
                if ls > lunch.latest_start_s or ls >= arrival:
                    return _Pass(False, gap, "lunch cannot start in its window", visits, 0, None)
            arrival, earliest = lunch.gap_times(prev_dep, travel, ls)
            lunch_start = ls
        if nxt is None:
            ret = earliest
            if ret > vt.shift_end_s:
                return _Pass(False, n, "depot return after shift end", visits, ret, lunch_start)
            if ret - depart > vt.max_route_duration_s:
                return _Pass(
                    False, n, "route longer than max_duration_s", visits, ret, lunch_start, True
                )
            return _Pass(True, -1, "", visits, ret, lunch_start)
        start = max(earliest, nxt.open_s)
        if start > nxt.close_s:
            what = "time window" if nxt.kind == "stop" else "unload site hours"
            return _Pass(False, gap + 1, f"{what} missed", visits, 0, lunch_start)
        loads = nxt.after(loads)
        departure = start + nxt.service_s
        visits.append(
            Visit(
                kind=nxt.kind,
                id=nxt.id,
                location=nxt.location,
                arrival_s=arrival,
                start_s=start,
                departure_s=departure,
                load_after_kg=sum(loads.values()),
            )
        )
        prev_loc, prev_dep = loc, departure
    msg = "unreachable"
    raise AssertionError(msg)


def _latest_feasible(
    problem: RoutingProblem, vt: VehicleType, nodes: list[_Node], lunch_gap: int | None
) -> tuple[int, _Pass] | None:
    """The latest depot departure at which the pass is feasible (None if none is)."""
    lo = vt.shift_start_s
    first = _forward(problem, vt, nodes, lo, lunch_gap)
    # a longer-than-max-duration route may become feasible by leaving later
    if not first.ok and not first.too_long:
        return None
    best: tuple[int, _Pass] | None = (lo, first) if first.ok else None
    # largest departure keeping time windows / shift end feasible (monotone in departure)
    hi = vt.shift_end_s
    lo_tw = lo
    while lo_tw < hi:
        mid = (lo_tw + hi + 1) // 2
        p = _forward(problem, vt, nodes, mid, lunch_gap)
        if p.ok or p.too_long:
            lo_tw = mid
        else:
            hi = mid - 1
    p = _forward(problem, vt, nodes, lo_tw, lunch_gap)
    if not p.ok:
        return best
    # the departures giving this shortest duration form an interval: take its start, so the
    # truck is back as early as possible
    target = p.ret - lo_tw
    a, b = lo, lo_tw
    while a < b:
        mid = (a + b) // 2
        q = _forward(problem, vt, nodes, mid, lunch_gap)
        if q.ok and q.ret - mid == target:
            b = mid
        else:
            a = mid + 1
    q = _forward(problem, vt, nodes, a, lunch_gap)
    if q.ok and q.ret - a == target:
        return a, q
    return lo_tw, p


def build_route(
    problem: RoutingProblem,
    vehicle_type: str | VehicleType,
    vehicle_index: int,
    sequence: Sequence[Step],
    *,
    final_unload: bool = True,
) -> Route:
    """Time a visit sequence and return the `Route`.

    Parameters
    ----------
    problem
        The problem.
    vehicle_type
        The vehicle type (or its id).
    vehicle_index
        Index of the vehicle within its type.
    sequence
        ``("stop", stop_id)`` and ``("unload", site_id)`` steps in order.
    final_unload
        If the sequence does not end with an unload, append the allowed unload site giving the
        cheapest feasible route.

    Raises
    ------
    ScheduleError
        If no timing is feasible; ``position`` names the failing visit where known.
    """
    vt = problem.vehicle_type(vehicle_type) if isinstance(vehicle_type, str) else vehicle_type
    seq = list(sequence)
    on_board = on_board_streams(problem, vt, seq)
    if final_unload and (not seq or seq[-1][0] != "unload" or on_board):
        err: ScheduleError | None = None
        for tails in _final_tails(problem, vt, on_board):
            best: Route | None = None
            for tail in tails:
                try:
                    r = _build(problem, vt, vehicle_index, [*seq, *(("unload", u) for u in tail)])
                except ScheduleError as e:
                    err = e
                    continue
                if best is None or r.cost_cny < best.cost_cny:
                    best = r
            if best is not None:
                return best
        if err is None:
            msg = f"vehicle type {vt.id!r} has no unload sites accepting {sorted(on_board)}."
            raise ScheduleError(msg, len(seq) - 1)
        raise err
    return _build(problem, vt, vehicle_index, seq)


def on_board_streams(problem: RoutingProblem, vt: VehicleType, seq: Sequence[Step]) -> set[str]:
    """The streams with waste on board after ``seq`` (unknown steps are left to `_nodes`)."""
    loads = _start_loads(vt)
    for kind, ident in seq:
        if kind == "stop" and problem.has_stop(ident):
            s = problem.stop(ident)
            loads[s.stream] = loads.get(s.stream, 0) + s.load_kg
        elif kind == "unload" and problem.has_site(ident):
            loads = problem.site(ident).left_after_unload(loads)
    return {st for st, kg in loads.items() if kg > 0}


def _final_tails(
    problem: RoutingProblem, vt: VehicleType, on_board: set[str]
) -> list[list[tuple[str, ...]]]:
    """Final unload sequences emptying ``on_board``, shortest first (one list per length).

    A single site when one accepts every stream on board (with nothing on board, any site: the
    day still ends with an unload); else chains of two or more sites, each taking a stream the
    earlier ones did not.
    """
    sites = list(vt.unload_sites)
    if not on_board:
        return [[(u,) for u in sites]]
    out: list[list[tuple[str, ...]]] = []
    for k in range(1, min(len(on_board), MAX_FINAL_CHAIN, len(sites)) + 1):
        chains = []
        for chain in itertools.permutations(sites, k):
            left = set(on_board)
            useful = True
            for u in chain:
                taken = {st for st in left if problem.site(u).accepts(st)}
                useful = useful and bool(taken)
                left -= taken
            if useful and not left:
                chains.append(chain)
        if chains:
            out.append(chains)
    return out


def _build(problem: RoutingProblem, vt: VehicleType, vehicle_index: int, seq: list[Step]) -> Route:
    nodes = _nodes(problem, vt, seq)
    loads = _start_loads(vt)
    day = 0
    for pos, nd in enumerate(nodes):
        loads = nd.after(loads)
        day += nd.load_kg
        load = loads.get(nd.stream, 0)
        if nd.kind == "stop" and load > vt.capacity_for_kg(nd.stream):
            what = f"compartment {nd.stream!r}" if vt.compartments else "load"
            msg = (
                f"{what} {load} kg above capacity {vt.capacity_for_kg(nd.stream)} kg "
                f"at visit {pos}."
            )
            raise ScheduleError(msg, pos, limit=True)
    left = {st: kg for st, kg in loads.items() if kg > 0}
    if left:
        msg = f"compartments {sorted(left)} not emptied by the last unload."
        raise ScheduleError(msg, len(nodes) - 1)
    if vt.max_load_per_day_kg is not None and day > vt.max_load_per_day_kg:
        msg = f"day load {day} kg above max_load_per_day_kg {vt.max_load_per_day_kg}."
        raise ScheduleError(msg, limit=True)
    n_unloads = sum(1 for nd in nodes if nd.kind == "unload")
    if vt.max_trips is not None and n_unloads > vt.max_trips:
        msg = f"{n_unloads} unloads above max_trips {vt.max_trips}."
        raise ScheduleError(msg, limit=True)
    n_stops = len(nodes) - n_unloads
    if vt.max_stops is not None and n_stops > vt.max_stops:
        msg = f"{n_stops} stops above max_stops {vt.max_stops}."
        raise ScheduleError(msg, limit=True)

    if vt.lunch is None:
        candidates: list[int | None] = [None]
    else:
        probe = _forward(problem, vt, nodes, vt.shift_start_s, None)
        # gaps whose departure (without lunch, leaving at shift start) is not after the
        # latest lunch start; the last few are the useful ones
        deps = [vt.shift_start_s] + [v.departure_s for v in probe.visits]
        usable: list[int | None] = [
            g - 1 for g, d in enumerate(deps) if d <= vt.lunch.latest_start_s
        ]
        if not usable:
            usable = [-1]
        candidates = list(reversed(usable))[:MAX_LUNCH_CANDIDATES]
        witness = lunch_free_gap(problem, vt, seq)
        if witness is not None and witness not in candidates:
            candidates.append(witness)

    best: tuple[int, int, int, _Pass, int | None] | None = None
    last_fail: _Pass | None = None
    for gap in candidates:
        found = _latest_feasible(problem, vt, nodes, gap)
        if found is None:
            last_fail = _forward(problem, vt, nodes, vt.shift_start_s, gap)
            continue
        depart, p = found
        key = (p.ret - depart, p.ret)
        if best is None or key < (best[0], best[1]):
            best = (key[0], key[1], depart, p, gap)
    if best is None:
        fail = last_fail or _forward(problem, vt, nodes, vt.shift_start_s, None)
        msg = f"no feasible timing: {fail.reason} (visit {fail.fail_pos})."
        raise ScheduleError(msg, fail.fail_pos)
    duration, ret, depart, p, gap = best
    dist = problem.distance_m[vt.profile]
    depot_loc = problem.site(vt.depot).location
    start_loc = problem.site(vt.start_site_id).location
    locs = [start_loc, *(nd.location for nd in nodes), depot_loc]
    distance = int(sum(int(dist[a, b]) for a, b in itertools.pairwise(locs)))
    return Route(
        vehicle_type=vt.id,
        vehicle_index=vehicle_index,
        depot_departure_s=depart,
        depot_return_s=ret,
        visits=tuple(p.visits),
        lunch_start_s=p.lunch_start if vt.lunch is not None else None,
        lunch_after_visit=gap if vt.lunch is not None else None,
        distance_m=distance,
        duration_s=duration,
        cost_cny=vt.route_cost_cny(distance, duration),
    )
