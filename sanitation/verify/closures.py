"""Independent check that no leg of a re-plan drives a road while it is closed.

A closure holds from ``from_s`` until ``until_s`` (None: the end of the day), on its road ids
and on every road segment that meets its area. A leg of a route goes from one visit's
departure (the route's start at its start site; the last visit to its depot) to the next
visit. Each leg that is driven while some closure holds must come with its road path (edge
keys ``(u, v, key)`` of the road network); this module walks that path itself: the edges
exist, follow one another from the node of the leg's start to that of its end, are usable by
the truck's access profile, and add up to the leg's travel time in the problem (within 1 s).
Each edge is driven over ``[D + c0, D + c1]`` (``D`` the departure, ``c0``/``c1`` the path
time before and after it); a lunch taken on the way (it starts before the truck would arrive)
may fall anywhere before an edge, so the edge's interval is widened by the lunch's duration.
An edge closed by a closure whose interval meets the edge's one is a violation.

This module keeps its own copy of the leg and edge timing rules on purpose (the re-plan's own
pricing of legs is in `sanitation.replan.closures`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.network import AccessProfile, RoadNetwork
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import Route, RoutingSolution

EdgeKey = tuple[int, int, int]
#: (vehicle type id, leg index): leg i ends at visit i; leg len(visits) ends at the depot
LegKey = tuple[str, int]


@dataclass(frozen=True)
class ClosureWindow:
    """Roads closed from ``from_s`` until ``until_s`` (None: to the end of the day)."""

    road_ids: frozenset[str]
    area: BaseGeometry | None
    from_s: int
    until_s: int | None = None

    def overlaps(self, start_s: float, end_s: float) -> bool:
        """Whether the closure holds at some time of ``[start_s, end_s]``."""
        return end_s >= self.from_s and (self.until_s is None or start_s < self.until_s)


@dataclass(frozen=True)
class RoadsClaim:
    """The roads a re-plan's legs drive and the closures they must respect.

    ``network`` holds every road open at some time after ``t``; ``profiles[p]`` is the access
    profile of the problem's profile ``p`` and ``nodes[p][loc]`` the network node of location
    ``loc`` for it; ``paths`` gives each leg's edges (at least every leg driven during a
    closure). ``partial[loc]``: a location on a road segment (a truck's reported place), the
    edges it may leave by and the seconds along each to its head; a leg from there starts
    with one of them.
    """

    network: RoadNetwork
    closures: tuple[ClosureWindow, ...]
    profiles: tuple[AccessProfile, ...]
    nodes: tuple[np.ndarray, ...]
    paths: Mapping[LegKey, tuple[EdgeKey, ...]] = field(default_factory=dict)
    partial: Mapping[int, Mapping[EdgeKey, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Leg:
    index: int
    start: int
    end: int
    depart_s: int
    travel_s: int
    lunch_s: int  # lunch taken on the way (0: none)


def _legs(problem: RoutingProblem, route: Route) -> Iterator[_Leg]:
    vt = problem.vehicle_type(route.vehicle_type)
    dur = problem.duration_s[vt.profile]
    lunch = vt.lunch.duration_s if vt.lunch is not None else 0
    at = problem.site(vt.start_site_id).location
    depart = route.depot_departure_s
    ends = [v.location for v in route.visits] + [problem.site(vt.depot).location]
    departures = [v.departure_s for v in route.visits]
    for i, end in enumerate(ends):
        travel = int(dur[at, end])
        on_way = (
            route.lunch_after_visit == i - 1
            and route.lunch_start_s is not None
            and route.lunch_start_s < depart + travel
        )
        yield _Leg(i, at, end, depart, travel, lunch if on_way else 0)
        if i < len(departures):
            at, depart = end, departures[i]


class _Roads:
    def __init__(self, claim: RoadsClaim) -> None:
        self.claim = claim
        a = claim.network.arrays
        self.index = {k: i for i, k in enumerate(a.edge_keys)}
        geoms = claim.network.edge_geometries() if any(c.area for c in claim.closures) else None
        self.closed = []
        for c in claim.closures:
            mask = np.isin(a.road_id.astype(str), sorted(c.road_ids))
            if c.area is not None and geoms is not None:
                mask |= shapely.intersects(geoms, c.area)
            self.closed.append(mask)

    def check_leg(self, who: str, profile: int, leg: _Leg, path: Sequence[EdgeKey]) -> list[str]:
        claim, a = self.claim, self.claim.network.arrays
        where = f"{who} leg {leg.index}"
        node = int(claim.nodes[profile][leg.start])
        goal = int(claim.nodes[profile][leg.end])
        spent_ms = 0
        errs: list[str] = []
        partial = claim.partial.get(leg.start)
        for n, (u, v, key) in enumerate(path):
            e = self.index.get((u, v, key))
            first = n == 0 and partial is not None
            if first and partial is not None and (u, v, key) not in partial:
                return [f"{where}: starts on edge {(u, v, key)}, not where its truck stands."]
            if e is None or (u != node and not first):
                return [f"{where}: edge {(u, v, key)} is no road of the network from node {node}."]
            if not claim.profiles[profile].allows(
                float(a.width_m[e]), None if np.isinf(a.max_weight_t[e]) else a.max_weight_t[e]
            ):
                return [f"{where}: edge {(u, v, key)} is not usable by its truck."]
            edge_ms = max(1, round(float(a.travel_time_s[e]) * 1000))
            if first and partial is not None:
                edge_ms = round(partial[(u, v, key)] * 1000)
            lo = leg.depart_s + spent_ms / 1000
            hi = leg.depart_s + (spent_ms + edge_ms) / 1000 + leg.lunch_s
            for c, mask in zip(claim.closures, self.closed, strict=True):
                if mask[e] and c.overlaps(lo, hi):
                    errs.append(
                        f"{where}: drives road {a.road_id[e]!r} at {lo:.0f}-{hi:.0f} s while it "
                        f"is closed ({c.from_s}-{c.until_s if c.until_s is not None else 'end'} s)."
                    )
            spent_ms += edge_ms
            node = v
        if node != goal:
            errs.append(f"{where}: its road path ends at node {node}, not at {goal}.")
        if abs(round(spent_ms / 1000) - leg.travel_s) > 1:
            errs.append(
                f"{where}: its road path takes {spent_ms / 1000:.0f} s, the route {leg.travel_s} s."
            )
        return errs


def verify_closures(
    problem: RoutingProblem, solution: RoutingSolution, claim: RoadsClaim
) -> list[str]:
    """Every leg of ``solution`` that drives a closed road during its closure, or whose road
    path is missing (it is driven while a closure holds) or is not the leg's (see the module
    docstring)."""
    if not claim.closures:
        return []
    roads = _Roads(claim)
    errs: list[str] = []
    for route in solution.routes:
        who = f"truck {route.vehicle_type!r}"
        profile = problem.vehicle_type(route.vehicle_type).profile
        for leg in _legs(problem, route):
            path = claim.paths.get((route.vehicle_type, leg.index))
            if path is None:
                end = leg.depart_s + leg.travel_s + leg.lunch_s
                if leg.start != leg.end and any(
                    c.overlaps(leg.depart_s, end) for c in claim.closures
                ):
                    errs.append(
                        f"{who} leg {leg.index}: driven at {leg.depart_s}-{end} s while a road "
                        "closure holds, with no road path to check."
                    )
                continue
            errs.extend(roads.check_leg(who, profile, leg, path))
    return errs
