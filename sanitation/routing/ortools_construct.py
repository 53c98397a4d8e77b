"""The OR-Tools engine's own first solution: a greedy multi-trip construction.

OR-Tools' first-solution heuristics insert one node at a time and so never open a reload trip (an
unload copy alone only adds cost): on reload-bound days they leave most stops out. `initial_routes`
builds routes vehicle by vehicle with an explicit schedule (`Trail`), unloading whenever the truck
would overflow; `sanitation.routing.ortools_engine` starts a guided local search from them.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sanitation.routing.ortools_model import BuiltModel
from sanitation.routing.problem import RoutingProblem, Site, Stop, VehicleType

if TYPE_CHECKING:
    from sanitation.routing.solution import RoutingSolution


@dataclass(frozen=True)
class Trail:
    """The end state of a route under construction, timed from the shift start.

    ``extend`` returns the state after (an optional unload and) one more stop, or None when the
    route could then no longer be finished: stop windows, site hours, lunch inside its window,
    final unload at ``final`` with a return by the shift end, route time limit, capacity and
    the daily limits.
    """

    problem: RoutingProblem
    vt: VehicleType
    final: Site
    #: sites that may empty, just before ``final``, the streams ``final`` refuses
    clear_sites: tuple[Site, ...] = ()
    loc: int = -1
    dep: int = -1
    lunch_end: int | None = None  # None = lunch not taken yet (or no lunch)
    loads: tuple[tuple[str, int], ...] = ()  # kg on board per stream (compartment)
    day: int = 0
    n_stops: int = 0
    n_unloads: int = 0

    def __post_init__(self) -> None:
        if self.loc < 0:
            vt = self.vt
            object.__setattr__(self, "loc", self.problem.site(vt.start_site_id).location)
            object.__setattr__(self, "dep", vt.shift_start_s)
            if vt.initial_load_kg:
                object.__setattr__(self, "loads", ((vt.initial_stream, vt.initial_load_kg),))

    def on_board(self, stream: str) -> int:
        """kg of ``stream`` on board."""
        return sum(kg for s, kg in self.loads if s == stream)

    def refused(self) -> set[str]:
        """Streams on board that the final site does not accept."""
        return {s for s, kg in self.loads if kg and not self.final.accepts(s)}

    def clearing(self) -> Site | None:
        """The site to unload at before the final one (None: the final one takes everything)."""
        refused = self.refused()
        if not refused:
            return None
        if self.vt.max_trips is not None and self.n_unloads + 2 > self.vt.max_trips:
            return None  # the clearing unload and the final one
        for site in self.clear_sites:
            if all(site.accepts(s) for s in refused) and self._finish_via(site):
                return site
        return None

    def _visit(
        self,
        dep: int,
        lunch_end: int | None,
        loc: int,
        to: Site | Stop,
        *,
        last: bool = False,
    ) -> tuple[int, int | None] | None:
        """Service (unload) start at ``to`` and the lunch end after the gap (None = infeasible)."""
        if isinstance(to, Site):
            open_s, close_s, service_s = to.open_s, to.close_s, to.unload_s
        else:
            open_s, close_s, service_s = to.tw_open_s, to.tw_close_s, to.service_s
        lunch = self.vt.lunch
        travel = int(self.problem.duration_s[self.vt.profile][loc, to.location])
        start = max(dep + travel, open_s)
        # take lunch here if the window is open, if later would be too late, or at the end
        if (
            lunch is not None
            and lunch_end is None
            and (last or dep >= lunch.window_start_s or start + service_s > lunch.latest_start_s)
        ):
            ls = max(dep, lunch.window_start_s)
            if ls > lunch.latest_start_s:
                return None
            lunch_end = ls + lunch.duration_s
            _, earliest = lunch.gap_times(dep, travel, ls)
            start = max(earliest, open_s)
        if start > close_s:
            return None
        return start, lunch_end

    def finish_ok(self) -> bool:
        """Whether the route can end now: (a clearing unload, then) the final unload, lunch
        taken, home in time."""
        if not self.refused():
            return self._finish_via(None)
        return self.clearing() is not None

    def _finish_via(self, via: Site | None) -> bool:
        vt, site = self.vt, self.final
        lunch_end, dep, loc = self.lunch_end, self.dep, self.loc
        if via is not None:
            at_via = self._visit(dep, lunch_end, loc, via)
            if at_via is None:
                return False
            dep, lunch_end, loc = at_via[0] + via.unload_s, at_via[1], via.location
        visited = self._visit(dep, lunch_end, loc, site, last=True)
        if visited is None:
            return False
        start, lunch_end = visited
        if vt.lunch is not None:
            if lunch_end is None:
                return False
            start = max(start, vt.lunch.latest_start_s + 1)  # the model's end bound
        home = self.problem.site(vt.depot).location
        back = start + site.unload_s + int(self.problem.duration_s[vt.profile][site.location, home])
        if start > site.close_s or back > vt.shift_end_s:
            return False
        return back - vt.shift_start_s <= vt.route_time_limit_s

    def extend(self, site: Site | None, stop: Stop) -> Trail | None:
        vt = self.vt
        if vt.max_stops is not None and self.n_stops + 1 > vt.max_stops:
            return None
        if vt.max_load_per_day_kg is not None and self.day + stop.load_kg > vt.max_load_per_day_kg:
            return None
        dep, loc, lunch_end, n_unloads = self.dep, self.loc, self.lunch_end, self.n_unloads
        loads = dict(self.loads)
        if site is not None:
            if vt.max_trips is not None and n_unloads + 2 > vt.max_trips:
                return None
            visited = self._visit(dep, lunch_end, loc, site)
            if visited is None:
                return None
            start, lunch_end = visited
            dep, loc, n_unloads = start + site.unload_s, site.location, n_unloads + 1
            loads = site.left_after_unload(loads)
        loads[stop.stream] = loads.get(stop.stream, 0) + stop.load_kg
        if loads[stop.stream] > vt.capacity_for_kg(stop.stream):
            return None
        visited = self._visit(dep, lunch_end, loc, stop)
        if visited is None:
            return None
        start, lunch_end = visited
        nxt = dataclasses.replace(
            self,
            loc=stop.location,
            dep=start + stop.service_s,
            lunch_end=lunch_end,
            loads=tuple(sorted(loads.items())),
            day=self.day + stop.load_kg,
            n_stops=self.n_stops + 1,
            n_unloads=n_unloads,
        )
        return nxt if nxt.finish_ok() else None


def initial_routes(model: BuiltModel, deadline: float, width: int = 8) -> list[list[int]]:
    """Routes (routing indices, start and end left out) of a greedy multi-trip construction.

    Each vehicle in turn extends its route with the nearest of the ``width`` nearest
    unrouted stops that keeps an explicit schedule feasible (`Trail`: earliest times from
    the shift start, lunch in the first gap at or after the window opens, or earlier if the
    next visit would make it impossible), with an unload first when the truck would
    overflow, ending at the vehicle's final site. OR-Tools' own first-solution heuristics
    insert one node at a time and so never open a reload (an unload copy alone only adds
    cost): on reload-bound days they leave most stops out.
    """
    layout = model.layout
    p = layout.problem
    copies = {site: list(nodes) for site, nodes in layout.copy_nodes.items()}
    unrouted = set(layout.stop_node)
    out: list[list[int]] = [[] for _ in layout.vehicles]
    for v_i, veh in enumerate(layout.vehicles):
        if not unrouted or time.perf_counter() > deadline:
            break
        vt = p.vehicle_types[veh.type_index]
        dur = p.duration_s[vt.profile]
        clear_sites = tuple(p.site(u) for u in vt.unload_sites if copies.get(u))
        trail = Trail(p, vt, p.sites[veh.merged_site], clear_sites)
        steps: list[int] = []
        routed: list[int] = []
        while unrouted and time.perf_counter() <= deadline:
            cand = [si for si in unrouted if veh.type_index in layout.allowed[si]]
            if not cand:
                break
            locs = np.asarray([p.stops[si].location for si in cand])
            near = np.argsort(dur[trail.loc, locs], kind="stable")[:width]
            chosen = None
            for j in near:
                si = cand[int(j)]
                stop = p.stops[si]
                site = None
                if trail.on_board(stop.stream) + stop.load_kg > vt.capacity_for_kg(stop.stream):
                    usable = [
                        u
                        for u in vt.unload_sites
                        if copies.get(u) and p.site(u).accepts(stop.stream)
                    ]
                    if not usable:
                        continue
                    site = p.site(
                        min(
                            usable,
                            key=lambda u: (
                                int(dur[trail.loc, p.site(u).location])
                                + int(dur[p.site(u).location, stop.location])
                            ),
                        )
                    )
                nxt = trail.extend(site, stop)
                if nxt is not None:
                    chosen = (si, site, nxt)
                    break
            if chosen is None:
                break
            si, site, trail = chosen
            if site is not None:
                steps.append(model.manager.NodeToIndex(copies[site.id].pop()))
            steps.append(model.manager.NodeToIndex(layout.stop_node[si]))
            unrouted.discard(si)
            routed.append(si)
        clear = trail.clearing()
        if clear is not None and copies.get(clear.id):
            steps.append(model.manager.NodeToIndex(copies[clear.id].pop()))
        elif clear is not None or trail.refused():  # cannot end empty: leave it to the search
            unrouted.update(routed)
            steps = []
        out[v_i] = steps
    return out


def warm_routes(model: BuiltModel, start: RoutingSolution) -> list[list[int]]:
    """``start``'s routes as routing indices per modelled vehicle (start and end left out).

    A route goes to the modelled vehicle of its type with its index, else to a free one of its
    type; routes without one are left out, and so are stops that are not modelled here. Each
    intermediate unload takes a free copy of its site (the final unload is the vehicle's end).
    """
    layout = model.layout
    p = layout.problem
    stop_index = {s.id: si for si, s in enumerate(p.stops)}
    copies = {site: list(nodes) for site, nodes in layout.copy_nodes.items()}
    free: dict[tuple[str, int], int] = {
        (p.vehicle_types[v.type_index].id, v.index_in_type): v_i
        for v_i, v in enumerate(layout.vehicles)
    }
    out: list[list[int]] = [[] for _ in layout.vehicles]
    for route in start.routes:
        v_i = free.pop((route.vehicle_type, route.vehicle_index), None)
        if v_i is None:
            spare = sorted(key for key in free if key[0] == route.vehicle_type)
            v_i = free.pop(spare[0]) if spare else None
        if v_i is None:
            continue
        steps: list[int] = []
        for visit in route.visits[:-1]:
            if visit.kind == "stop" and stop_index.get(visit.id) in layout.stop_node:
                steps.append(model.manager.NodeToIndex(layout.stop_node[stop_index[visit.id]]))
            elif visit.kind == "unload" and copies.get(visit.id) and steps:
                steps.append(model.manager.NodeToIndex(copies[visit.id].pop()))
        out[v_i] = steps
    return out
