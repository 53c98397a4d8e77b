"""Road closures that hold for part of the rest of the day (time-dependent closures).

A closure in force from before ``t`` with no end is closed for the whole re-plan (the roads
are taken out of the network, as in `plan`). Any other closure (it starts after ``t``, or it
ends) is *timed*: a leg may drive its roads outside ``[from, until)``. The routing engines
price legs with static matrices, so the legs are priced by rounds:

1. every leg is priced on the roads open at ``t`` (timed closures open);
2. the routes are timed, and every leg driven while a timed closure holds gets its road path
   (the fastest one on the roads it was priced on); a leg priced on the open roads whose path
   drives a closed road during its closure *crosses* it;
3. each crossing leg (this truck, from this place to that one), and every leg from or to
   either of its two places that a timed closure makes dearer, is priced on the roads without
   any timed closure (a matrix of that truck's own), for this truck and every other one whose
   working hours meet that closure's, and the station is solved again.

After `MAX_ROUNDS` rounds with crossings left, every leg is priced on the roads without the
timed closures (the conservative rule: never wrong, as no leg can then use a closed road).
A leg that costs the same either way takes the path that avoids the closed roads. The paths
are handed to the independent check (`sanitation.verify.closures`), which walks them again.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoInputError
from geo.matrix import UNREACHABLE, route_nodes, travel_matrix
from geo.network import AccessProfile, RoadNetwork
from sanitation.plan.daily import UNREACHABLE_CAP_S
from sanitation.replan.context import closure_area
from sanitation.replan.events import RoadClosed
from sanitation.replan.position import EdgeStart, RoadEnd
from sanitation.replan.solve import StationReplan, replan_station
from sanitation.replan.state import Truck
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import Route, RoutingSolution
from sanitation.verify.closures import ClosureWindow, EdgeKey, LegKey, RoadsClaim

#: solve rounds with legs priced on the open roads before every leg avoids the timed closures
#: (each round solves the station again: a bound on the re-plan's time; assumed)
MAX_ROUNDS = 3

Mark = tuple[int, int]  # (from location, to location) of a leg priced without the closures
Crossing = tuple[str, int, int, int]  # (truck, from, to, timed closure index) of a leg


@dataclass(frozen=True)
class TimedRoads:
    """The roads of a re-plan with timed closures: ``open`` (every road usable at some time
    after ``t``), ``closed`` (without the timed closures' roads) and the closures."""

    open: RoadNetwork
    closed: RoadNetwork
    windows: tuple[ClosureWindow, ...]

    @classmethod
    def build(cls, network: RoadNetwork, timed: Sequence[RoadClosed]) -> TimedRoads:
        """From the network open at ``t`` and the timed closures."""
        present = set(network.arrays.road_id.tolist())
        windows = []
        closed = network
        ids = sorted({r for ev in timed for r in ev.roads if r in present})
        if ids:
            closed = closed.without_roads(ids)
        for ev in timed:
            area = closure_area(ev)
            if area is not None:
                closed = closed.without_roads_in(area)
            windows.append(ClosureWindow(frozenset(ev.roads), area, ev.from_s, ev.until_s))
        return cls(network, closed, tuple(windows))


def _closed_matrix(
    roads: TimedRoads,
    profile: AccessProfile,
    nodes: np.ndarray,
    cache_dir: object,
    to_nodes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and distances (m) from ``nodes`` to ``to_nodes`` (default: ``nodes``) on the
    closed roads (capped as in `sanitation.plan.daily`; a node the closures leave without a
    road is unreachable)."""
    targets = nodes if to_nodes is None else to_nodes
    shape = (len(nodes), len(targets))
    time_s = np.full(shape, UNREACHABLE_CAP_S, dtype=np.int64)
    dist_m = np.full(shape, UNREACHABLE_CAP_S * 30, dtype=np.int64)
    present = roads.closed.arrays.node_ids
    rows, cols = np.flatnonzero(np.isin(nodes, present)), np.flatnonzero(np.isin(targets, present))
    if len(rows) and len(cols):
        m = travel_matrix(
            roads.closed,
            profile,
            nodes[rows],
            targets[cols],
            cache_dir=cache_dir,  # type: ignore[arg-type]
        )
        ix = np.ix_(rows, cols)
        t = m.time_s
        time_s[ix] = np.minimum(t, UNREACHABLE_CAP_S)
        d = m.distance_m if m.distance_m is not None else np.full(t.shape, UNREACHABLE)
        dist_m[ix] = np.minimum(d, UNREACHABLE_CAP_S * 30)
    return time_s, dist_m


def edge_path(
    network: RoadNetwork, profile: AccessProfile, from_node: int, to_node: int
) -> tuple[EdgeKey, ...]:
    """The edges of the fastest path usable by ``profile`` (of parallel edges the fastest,
    then the shortest, as the matrices take them)."""
    if from_node == to_node:
        return ()
    nodes = route_nodes(network, profile, from_node, to_node)
    g = network.graph
    out = []
    for u, v in itertools.pairwise(nodes):
        usable = [
            (max(1, round(d["travel_time"] * 1000)), d["length"], k)
            for k, d in g[u][v].items()
            if profile.allows(d["width_m"], d["max_weight_t"])
        ]
        out.append((u, v, min(usable)[2]))
    return tuple(out)


@dataclass
class LegPricing:
    """The legs of one station's re-plan priced per truck, round by round (module docstring).

    ``base`` is the problem on the open roads; ``profiles[p]``/``nodes[p]`` the access profile
    and the node of each location of its profile ``p``.
    """

    base: RoutingProblem
    roads: TimedRoads
    profiles: tuple[AccessProfile, ...]
    nodes: tuple[np.ndarray, ...]
    closed_s: tuple[np.ndarray, ...]
    closed_m: tuple[np.ndarray, ...]
    #: location -> (profile, where on its road segment a reported truck stands)
    starts: Mapping[int, tuple[int, EdgeStart]] = dataclasses.field(default_factory=dict)
    marks: dict[str, set[Mark]] = dataclasses.field(default_factory=dict)
    everything: bool = False
    _geoms: Callable[[int, int, int], BaseGeometry] | None = None

    @classmethod
    def build(
        cls,
        base: RoutingProblem,
        roads: TimedRoads,
        profiles: Sequence[AccessProfile],
        nodes: Sequence[np.ndarray],
        cache_dir: object = None,
        starts: Mapping[int, tuple[int, EdgeStart]] | None = None,
    ) -> LegPricing:
        """The pricing of ``base`` (no leg marked yet); ``starts`` as `starts`."""
        mats = [
            _closed_matrix(roads, p, n, cache_dir) for p, n in zip(profiles, nodes, strict=True)
        ]
        pricing = cls(
            base,
            roads,
            tuple(profiles),
            tuple(nodes),
            tuple(m[0] for m in mats),
            tuple(m[1] for m in mats),
            dict(starts or {}),
        )
        for loc, (p, start) in pricing.starts.items():
            pricing.closed_start_row(loc, p, start, cache_dir)
        return pricing

    def closed_start_row(self, loc: int, p: int, start: EdgeStart, cache_dir: object) -> None:
        """The closed roads' row of a truck standing on a segment: by the ends it may reach
        without a closed road."""
        ends = self._ends(start, closed=True)
        time_s, dist_m = self.closed_s[p], self.closed_m[p]
        time_s[loc], dist_m[loc] = UNREACHABLE_CAP_S, UNREACHABLE_CAP_S * 30
        time_s[loc, loc] = dist_m[loc, loc] = 0
        for end in ends:
            row = _closed_matrix(
                self.roads, self.profiles[p], np.array([end.node]), cache_dir, self.nodes[p]
            )
            t, d = row[0][0] + round(end.time_s), row[1][0] + round(end.distance_m)
            better = t < time_s[loc]
            better[loc] = False
            time_s[loc][better], dist_m[loc][better] = t[better], d[better]

    def _ends(self, start: EdgeStart, *, closed: bool) -> list[RoadEnd]:
        """The ends of a truck's segment it may drive to (on the closed roads: not along a
        closed road)."""
        return [e for e in start.ends if not (closed and self._closed_edge(e.edge))]

    def _closed_edge(self, key: EdgeKey) -> bool:
        data = self.roads.open.graph.edges[key]
        return any(
            data["road_id"] in w.road_ids
            or (w.area is not None and self._geometry(*key).intersects(w.area))
            for w in self.roads.windows
        )

    def problem(self) -> RoutingProblem:
        """The problem with the marked legs (every leg, once ``everything``) priced closed."""
        base = self.base
        if self.everything:
            return base.replace(duration_s=self.closed_s, distance_m=self.closed_m)
        durs, dists = list(base.duration_s), list(base.distance_m)
        types = []
        for vt in base.vehicle_types:
            marks = self.marks.get(vt.id)
            if not marks:
                types.append(vt)
                continue
            p = vt.profile
            d, x = base.duration_s[p].copy(), base.distance_m[p].copy()
            a, b = (np.array(c) for c in zip(*sorted(marks), strict=True))
            d[a, b], x[a, b] = self.closed_s[p][a, b], self.closed_m[p][a, b]
            types.append(dataclasses.replace(vt, profile=len(durs)))
            durs.append(d)
            dists.append(x)
        return base.replace(
            duration_s=tuple(durs), distance_m=tuple(dists), vehicle_types=tuple(types)
        )

    def base_profile(self, vehicle: str) -> int:
        """The access profile of a truck in ``base``."""
        return self.base.vehicle_type(vehicle).profile

    def _priced_closed(self, vehicle: str, p: int, a: int, b: int) -> bool:
        return (
            self.everything
            or (a, b) in self.marks.get(vehicle, set())
            or self.base.duration_s[p][a, b] >= self.closed_s[p][a, b]
        )

    def paths(
        self, problem: RoutingProblem, solution: RoutingSolution
    ) -> tuple[dict[LegKey, tuple[EdgeKey, ...]], set[Crossing]]:
        """The road path of every leg driven while a timed closure holds, and the legs
        (truck, from, to, the closure) among them priced open that drive a closed road while
        it is."""
        paths: dict[LegKey, tuple[EdgeKey, ...]] = {}
        crossing: set[Crossing] = set()
        for route in solution.routes:
            p = self.base_profile(route.vehicle_type)
            for leg in route_legs(problem, route):
                end = leg.depart_s + leg.travel_s + leg.lunch_s
                if not any(w.overlaps(leg.depart_s, end) for w in self.roads.windows):
                    continue
                a, b = leg.start, leg.end
                closed = self._priced_closed(route.vehicle_type, p, a, b)
                path, first_s = self._path(p, a, b, closed=closed)
                paths[(route.vehicle_type, leg.number)] = path
                window = None if closed else self._crosses(path, leg, first_s)
                if window is not None:
                    crossing.add((route.vehicle_type, a, b, window))
        return paths, crossing

    def mark(self, crossing: set[Crossing]) -> None:
        """Price on the closed roads, for the crossing leg's truck and every other truck that
        could drive while that closure holds (its working hours meet the closure's), each leg
        from or to either end of a crossing leg that the closure makes dearer: the places
        next to a closure are where the next round's legs would cross it (marking the one
        leg alone moves the crossing to another truck or order, round after round)."""
        for vehicle, a, b, w in crossing:
            window = self.roads.windows[w]
            for vt in self.base.vehicle_types:
                if vt.id != vehicle and not window.overlaps(vt.shift_start_s, vt.shift_end_s):
                    continue
                p = vt.profile
                dearer = self.base.duration_s[p] < self.closed_s[p]
                marks = self.marks.setdefault(vt.id, set())
                marks.add((a, b))
                for end in (a, b):
                    marks.update((end, int(y)) for y in np.flatnonzero(dearer[end]))
                    marks.update((int(x), end) for x in np.flatnonzero(dearer[:, end]))

    def _path(
        self, p: int, a: int, b: int, *, closed: bool
    ) -> tuple[tuple[EdgeKey, ...], float | None]:
        """The road path of a leg on the roads it is priced on, and the time along its first
        edge when the leg starts on a segment (None: from a node)."""
        net = self.roads.closed if closed else self.roads.open
        nodes, profile = self.nodes[p], self.profiles[p]
        start = self.starts.get(a)
        if start is None or start[0] != p:
            return edge_path(net, profile, int(nodes[a]), int(nodes[b])), None
        best: tuple[float, tuple[EdgeKey, ...], float] | None = None
        for end in self._ends(start[1], closed=closed):
            try:
                rest = edge_path(net, profile, end.node, int(nodes[b]))
            except GeoInputError:
                continue
            g = net.graph
            total = end.time_s + sum(round(g.edges[k]["travel_time"] * 1000) for k in rest) / 1000
            if best is None or total < best[0]:
                best = (total, (end.edge, *rest), end.time_s)
        if best is None:
            msg = f"no road from the truck's place (location {a}) to location {b}"
            raise GeoInputError(msg)
        return best[1], best[2]

    def _crosses(self, path: Sequence[EdgeKey], leg: Leg, first_s: float | None) -> int | None:
        """The timed closure (its index) that the path driven from the leg's departure (each
        edge possibly up to the leg's lunch later; the first one for ``first_s`` when the
        truck starts on it) meets on one of its roads while it holds (None: none)."""
        g = self.roads.open.graph
        spent = 0.0
        for n, (u, v, k) in enumerate(path):
            data = g.edges[u, v, k]
            t = max(1, round(data["travel_time"] * 1000)) / 1000
            if n == 0 and first_s is not None:
                t = first_s
            lo = leg.depart_s + spent
            for i, w in enumerate(self.roads.windows):
                if not w.overlaps(lo, lo + t + leg.lunch_s):
                    continue
                if data["road_id"] in w.road_ids:
                    return i
                if w.area is not None and self._geometry(u, v, k).intersects(w.area):
                    return i
            spent += t
        return None

    def _geometry(self, u: int, v: int, k: int) -> BaseGeometry:
        if self._geoms is None:
            self._geoms = _edge_geometry(self.roads.open)
        return self._geoms(u, v, k)

    def claim(
        self, problem: RoutingProblem, paths: Mapping[LegKey, tuple[EdgeKey, ...]]
    ) -> RoadsClaim:
        """What the independent check needs of ``problem`` (a problem `problem` made)."""
        base_of = [0] * len(problem.duration_s)
        for p in range(len(self.base.duration_s)):
            base_of[p] = p
        for vt in problem.vehicle_types:
            base_of[vt.profile] = self.base_profile(vt.id)
        return RoadsClaim(
            self.roads.open,
            self.roads.windows,
            tuple(self.profiles[q] for q in base_of),
            tuple(self.nodes[q] for q in base_of),
            dict(paths),
            {
                loc: {e.edge: e.time_s for e in start.ends}
                for loc, (_, start) in self.starts.items()
            },
        )


def _edge_geometry(network: RoadNetwork) -> Callable[[int, int, int], BaseGeometry]:
    index = {k: i for i, k in enumerate(network.arrays.edge_keys)}
    geoms = network.edge_geometries()
    return lambda u, v, k: geoms[index[(u, v, k)]]


class Leg(NamedTuple):
    """One leg of a route: leg ``number`` ends at visit ``number`` (the last one at the depot);
    ``lunch_s``: the lunch of this gap, which may be taken on the way (0: none)."""

    number: int
    start: int
    end: int
    depart_s: int
    travel_s: int
    lunch_s: int


def route_legs(problem: RoutingProblem, route: Route) -> list[Leg]:
    """Every leg of ``route``, in order."""
    vt = problem.vehicle_type(route.vehicle_type)
    dur = problem.duration_s[vt.profile]
    lunch = vt.lunch.duration_s if vt.lunch is not None else 0
    stops = [(v.location, v.departure_s) for v in route.visits]
    stops.append((problem.site(vt.depot).location, route.depot_return_s))
    out = []
    at, depart = problem.site(vt.start_site_id).location, route.depot_departure_s
    for i, (loc, leave) in enumerate(stops):
        travel = int(dur[at, loc])
        extra = lunch if route.lunch_after_visit == i - 1 else 0
        out.append(Leg(i, at, loc, depart, travel, extra))
        at, depart = loc, leave
    return out


def solve_timed(
    pricing: LegPricing,
    places: dict[str, int],
    label: str,
    trucks: Sequence[Truck],
    *,
    engine: str,
    time_limit_s: float,
    seed: int,
    executor: cf.Executor | None = None,
) -> tuple[StationReplan, RoadsClaim]:
    """The station's re-plan with its legs priced round by round (module docstring), and what
    the independent check needs of its roads."""

    def solve(problem: RoutingProblem) -> StationReplan:
        return replan_station(
            problem,
            places,
            label,
            trucks,
            engine=engine,
            time_limit_s=time_limit_s,
            seed=seed,
            executor=executor,
        )

    for _ in range(MAX_ROUNDS):
        problem = pricing.problem()
        rep = solve(problem)
        paths, crossing = pricing.paths(problem, rep.solution)
        if not crossing:
            return rep, pricing.claim(problem, paths)
        pricing.mark(crossing)
    pricing.everything = True
    problem = pricing.problem()
    rep = solve(problem)
    paths, _ = pricing.paths(problem, rep.solution)
    return rep, pricing.claim(problem, paths)
