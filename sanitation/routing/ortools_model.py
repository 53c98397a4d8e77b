"""The OR-Tools engine's model: nodes and vehicles of one problem, the ``RoutingModel``, and the
conversion of an assignment back into timed routes (internal to `sanitation.routing.ortools_engine`,
whose docstring describes the model).

`ModelLayout` decides, once per problem, which nodes and vehicles the model has; its `build`
returns a fresh `BuiltModel` (a model is closed for one set of search parameters, so each search
run builds its own) that holds the OR-Tools objects and reads solutions back.

Two counts are estimates that can bind: the vehicles of a large fleet (`_modelled_count`) and the
unload copies of a site (`_n_copies`). With ``full=True`` both take their provable bounds (a used
vehicle serves at least one stop; a trip holds at least one stop, so a site needs at most one copy
per stop and per route); the engine re-solves with ``full=True`` when a capped layout's best plan
leaves stops out while a cap is reached (`ModelLayout.cap_reached`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp

from sanitation.routing.problem import RoutingProblem, Site, VehicleType
from sanitation.routing.solution import Route, Visit, VisitKind

logger = logging.getLogger(__name__)

#: fleets up to this size are modelled whole (see `_modelled_count`)
MAX_FLEET = 50

_INT_BUDGET = 2**60

IntArray = NDArray[np.int64]


@dataclass
class NodeTable:
    """Node bookkeeping of one model: what each node is and where."""

    kind: list[str] = field(default_factory=list)  # "depot", "stop", "unload", "end"
    ref: list[int] = field(default_factory=list)  # index into problem.stops / problem.sites
    location: list[int] = field(default_factory=list)
    service_s: list[int] = field(default_factory=list)
    demand_kg: list[int] = field(default_factory=list)

    def add(self, kind: str, ref: int, location: int, service_s: int, demand_kg: int) -> int:
        """Append a node; return its number."""
        self.kind.append(kind)
        self.ref.append(ref)
        self.location.append(location)
        self.service_s.append(service_s)
        self.demand_kg.append(demand_kg)
        return len(self.kind) - 1

    def __len__(self) -> int:
        return len(self.kind)


@dataclass(frozen=True)
class ModelVehicle:
    """One modelled vehicle: its type, index in the type, start/end nodes and final site."""

    type_index: int
    index_in_type: int
    start_node: int
    end_node: int
    merged_site: int  # site index of the merged final unload (the route's end node)


def cny_scale_within_int64(problem: RoutingProblem) -> int:
    """The largest power of ten (<= 1e6) turning CNY into integers without int64 overflow.

    OR-Tools' objective is one int64: every cost, the vehicle weight and every unserved penalty
    are multiplied by this scale.
    """
    total = problem.route_cost_bound_cny + problem.vehicle_weight * problem.n_vehicles
    total += sum(problem.unserved_penalty(s) for s in problem.stops)
    scale = 1_000_000
    while scale > 1 and scale * max(total, 1.0) * 4 > _INT_BUDGET:
        scale //= 10
    return scale


def _n_copies(
    problem: RoutingProblem,
    site_id: str,
    candidates: list[int],
    allowed: dict[int, list[int]],
    intermediate_per_type: dict[int, int | None],
    *,
    full: bool = False,
) -> int:
    """Number of optional copies of an unload site (intermediate + non-merged final unloads).

    With ``full``, the provable bound (one per stop and per route, within ``max_trips``).
    """
    users = [
        ti
        for ti, vt in enumerate(problem.vehicle_types)
        if vt.count > 0 and site_id in vt.unload_sites
    ]
    if not users:
        return 0
    bound = 0
    for ti in users:
        extra = intermediate_per_type[ti]
        if extra is None:
            bound = -1
            break
        bound += problem.vehicle_types[ti].count * extra
    site = problem.site(site_id)
    mine = [si for si in candidates if any(t in users for t in allowed[si])]
    n_cand = len(mine)
    # 1.5 x the trips the fullest compartment needs (an unload empties every stream the site
    # accepts)
    trips = 0
    for stream in sorted(
        {problem.stops[si].stream for si in mine if site.accepts(problem.stops[si].stream)}
    ):
        load = sum(problem.stops[si].load_kg for si in mine if problem.stops[si].stream == stream)
        vts = [problem.vehicle_types[ti] for ti in users]
        min_cap = max(
            1, min((v.capacity_for_kg(stream) for v in vts if v.carries(stream)), default=1)
        )
        trips = max(trips, math.ceil(1.5 * load / min_cap))
    vehicles = sum(problem.vehicle_types[ti].count for ti in users)
    estimate = trips + min(vehicles, n_cand) + 2
    estimate = min(estimate, n_cand + min(vehicles, n_cand))
    if full:
        estimate = n_cand + min(vehicles, n_cand)
    return estimate if bound < 0 else min(estimate, bound)


def _final_sites(
    problem: RoutingProblem, candidates: list[int], allowed: dict[int, list[int]]
) -> dict[int, list[str]]:
    """Per used vehicle type, its final unload sites in order of expected finishing time.

    Vehicle ``k`` of a type ends at the ``k``-th (round robin); the finishing time is the mean
    drive from the type's stops + unload + drive home.
    """
    out: dict[int, list[str]] = {}
    for ti, vt in enumerate(problem.vehicle_types):
        if vt.count == 0:
            continue
        home = problem.site(vt.depot).location
        dur = problem.duration_s[vt.profile]
        locs = [problem.stops[si].location for si in candidates if ti in allowed[si]]

        def finish_s(u: str, d: IntArray = dur, h: int = home, locs: list[int] = locs) -> float:
            site = problem.site(u)
            inbound = float(d[locs, site.location].mean()) if locs else 0.0
            return inbound + site.unload_s + int(d[site.location, h])

        # sites taking every stream the type collects here end its routes; if none does, the
        # ones taking most (the load dimension then makes an earlier unload empty the rest)
        streams = {problem.stops[si].stream for si in candidates if ti in allowed[si]}

        def taken(u: str, streams: set[str] = streams) -> int:
            return sum(1 for st in streams if problem.site(u).accepts(st))

        most = max(taken(u) for u in vt.unload_sites)
        order = sorted((u for u in vt.unload_sites if taken(u) == most), key=finish_s)
        out[ti] = order[: vt.count]
    return out


def _modelled_count(
    problem: RoutingProblem,
    ti: int,
    candidates: list[int],
    allowed: dict[int, list[int]],
    *,
    full: bool = False,
) -> int:
    """Vehicles of type ``ti`` put in the model.

    Large identical fleets (over `MAX_FLEET`, e.g. a benchmark's "as many trucks as customers")
    slow every local-search move; they are cut to three times the trucks the type's own load
    needs (at ``capacity_kg x max_trips`` per truck), at least `MAX_FLEET`. That ignores time,
    so it can bind; with ``full`` the count is the provable bound: no more vehicles than the
    stops the type may serve.
    """
    vt = problem.vehicle_types[ti]
    n_stops = sum(1 for si in candidates if ti in allowed[si])
    if full:
        return min(vt.count, n_stops)
    if vt.count <= MAX_FLEET:
        return vt.count
    load = sum(problem.stops[si].load_kg for si in candidates if ti in allowed[si])
    per_truck = max(1, vt.capacity_kg * (vt.max_trips or 1))
    return min(vt.count, n_stops, max(MAX_FLEET, 3 * math.ceil(load / per_truck)))


def tail(problem: RoutingProblem, vt: VehicleType, final: Site) -> tuple[int, int]:
    """(seconds, metres) after the merged final unload at ``final`` starts: unload + drive home."""
    depot = problem.site(vt.depot)
    t = final.unload_s + int(problem.duration_s[vt.profile][final.location, depot.location])
    d = int(problem.distance_m[vt.profile][final.location, depot.location])
    return t, d


def _usable(problem: RoutingProblem, vt: VehicleType, k: int, final: Site) -> bool:
    """Whether vehicle ``k`` of ``vt``'s shift leaves room for a route with its lunch on it."""
    if vt.lunch is None:
        return True
    tail_s, _ = tail(problem, vt, final)
    end_hi = min(vt.shift_end_s - tail_s, final.close_s)
    ok = (
        vt.shift_start_s <= vt.lunch.window_start_s + vt.lunch.duration_s - 1
        and vt.lunch.latest_start_s + 1 <= end_hi
    )
    if not ok:
        logger.warning("vehicle %s#%d left out: its shift cannot hold the lunch window", vt.id, k)
    return ok


class ModelLayout:
    """The nodes and vehicles of one problem's model; `build` makes the ``RoutingModel``.

    Parameters
    ----------
    problem
        The problem.
    candidates
        Indices of the stops to model (the screened ones).
    allowed
        For each candidate, the indices of the vehicle types that may serve it.
    """

    def __init__(
        self,
        problem: RoutingProblem,
        candidates: list[int],
        allowed: dict[int, list[int]],
        *,
        full: bool = False,
    ) -> None:
        self.problem = problem
        self.candidates = candidates
        self.allowed = allowed
        self.full = full
        self.cny_scale = cny_scale_within_int64(problem)
        self.nodes = NodeTable()
        self.stop_node = {
            si: self.nodes.add("stop", si, s.location, s.service_s, s.load_kg)
            for si, s in ((si, problem.stops[si]) for si in candidates)
        }
        self.final_sites = _final_sites(problem, candidates, allowed)
        self.copy_nodes = self._add_copies()
        self.vehicles = self._add_vehicles()

    def _add_copies(self) -> dict[str, list[int]]:
        """The optional unload copies of each site (node numbers)."""
        p = self.problem
        site_idx = {s.id: i for i, s in enumerate(p.sites)}
        intermediate = {
            ti: None if vt.max_trips is None else max(0, vt.max_trips - 1)
            for ti, vt in enumerate(p.vehicle_types)
        }
        copies: dict[str, list[int]] = {}
        for site in p.sites:
            k = _n_copies(p, site.id, self.candidates, self.allowed, intermediate, full=self.full)
            if k <= 0:
                continue
            cap = max(
                vt.capacity_kg
                for vt in p.vehicle_types
                if vt.count > 0 and site.id in vt.unload_sites
            )
            copies[site.id] = [
                self.nodes.add("unload", site_idx[site.id], site.location, site.unload_s, -cap)
                for _ in range(k)
            ]
        return copies

    def _add_vehicles(self) -> list[ModelVehicle]:
        """The usable vehicles, with their depot and merged-end nodes (added here)."""
        p = self.problem
        site_idx = {s.id: i for i, s in enumerate(p.sites)}
        depot_node: dict[str, int] = {}
        end_node: dict[tuple[str, str], int] = {}
        vehicles: list[ModelVehicle] = []
        for ti, vt in enumerate(p.vehicle_types):
            n = _modelled_count(p, ti, self.candidates, self.allowed, full=self.full)
            for k in range(n):
                finals = self.final_sites[ti]
                final = finals[k % len(finals)]
                if not _usable(p, vt, k, p.site(final)):
                    continue
                start_id = vt.start_site_id  # the depot, or where a truck already out stands
                if start_id not in depot_node:
                    depot = p.site(start_id)
                    depot_node[start_id] = self.nodes.add(
                        "depot", site_idx[start_id], depot.location, 0, 0
                    )
                if (vt.depot, final) not in end_node:
                    site = p.site(final)
                    end_node[(vt.depot, final)] = self.nodes.add(
                        "end", site_idx[final], site.location, site.unload_s, 0
                    )
                vehicles.append(
                    ModelVehicle(
                        ti, k, depot_node[start_id], end_node[(vt.depot, final)], site_idx[final]
                    )
                )
        return vehicles

    def capped(self) -> bool:
        """Whether a count is below its provable bound (see the module docstring)."""
        if self.full:
            return False
        full = ModelLayout(self.problem, self.candidates, self.allowed, full=True)
        ours = {k: len(v) for k, v in self.copy_nodes.items()}
        return len(full.vehicles) > len(self.vehicles) or any(
            len(v) > ours.get(k, 0) for k, v in full.copy_nodes.items()
        )

    def cap_reached(self, routes: list[Route], copies_used: dict[str, int]) -> bool:
        """Whether a plan uses every modelled vehicle of a type or every copy of a site."""
        per_type: dict[int, int] = {}
        for veh in self.vehicles:
            per_type[veh.type_index] = per_type.get(veh.type_index, 0) + 1
        used: dict[str, int] = {}
        for r in routes:
            used[r.vehicle_type] = used.get(r.vehicle_type, 0) + 1
        types = self.problem.vehicle_types
        return any(used.get(types[ti].id, 0) >= n for ti, n in per_type.items()) or any(
            copies_used.get(site, 0) >= len(nodes) for site, nodes in self.copy_nodes.items()
        )

    def vehicle_type(self, veh: ModelVehicle) -> VehicleType:
        """The problem's vehicle type of a modelled vehicle."""
        return self.problem.vehicle_types[veh.type_index]

    def tail(self, veh: ModelVehicle) -> tuple[int, int]:
        """(seconds, metres) after the vehicle's merged final unload starts."""
        return tail(self.problem, self.vehicle_type(veh), self.problem.sites[veh.merged_site])

    def node_matrix(self, mat: IntArray) -> IntArray:
        """``mat`` (over problem locations) over the model's nodes."""
        loc = np.asarray(self.nodes.location, dtype=np.int64)
        out: IntArray = np.asarray(mat, dtype=np.int64)[np.ix_(loc, loc)].copy()
        # the direct start -> merged end arc is only used by empty routes: make it free
        for veh in self.vehicles:
            out[veh.start_node, veh.end_node] = 0
        return out

    def build(self) -> BuiltModel:
        """A fresh ``RoutingModel`` of the layout, with every dimension and constraint."""
        manager = pywrapcp.RoutingIndexManager(
            len(self.nodes),
            len(self.vehicles),
            [v.start_node for v in self.vehicles],
            [v.end_node for v in self.vehicles],
        )
        routing = pywrapcp.RoutingModel(manager)
        time_dim = _add_costs_and_time(self, routing)
        _add_load(self, manager, routing)
        _add_limits(self, routing)
        _constrain_visits(self, manager, routing, time_dim)
        breaks = _constrain_vehicles(self, manager, routing, time_dim)
        return BuiltModel(self, manager, routing, time_dim, breaks)


def _allow(routing: pywrapcp.RoutingModel, index: int, vehicles: list[int]) -> None:
    """Restrict a node to ``vehicles`` (SetAllowedVehiclesForIndex's SWIG binding is broken in
    OR-Tools 9.15, so the vehicle variable's domain is restricted directly)."""
    routing.VehicleVar(index).SetValues([-1, *vehicles])


def _add_costs_and_time(layout: ModelLayout, routing: pywrapcp.RoutingModel) -> Any:
    """Travel-time callbacks per profile, arc and fixed costs per vehicle, the time dimension."""
    p, scale = layout.problem, layout.cny_scale
    service = np.asarray(layout.nodes.service_s, dtype=np.int64)
    profiles = sorted({layout.vehicle_type(v).profile for v in layout.vehicles})
    time_cb: dict[int, int] = {}
    dist: dict[int, IntArray] = {}
    for prof in profiles:
        travel = layout.node_matrix(p.duration_s[prof])
        dist[prof] = layout.node_matrix(p.distance_m[prof])
        transit = travel + service[:, None]
        for veh in layout.vehicles:  # empty route: no service at the start either
            transit[veh.start_node, veh.end_node] = 0
        time_cb[prof] = routing.RegisterTransitMatrix(transit.tolist())

    # arc costs per (profile, cost_cny_per_km)
    cost_cb: dict[tuple[int, float], int] = {}
    copies = [n for ns in layout.copy_nodes.values() for n in ns]
    for v_i, veh in enumerate(layout.vehicles):
        vt = layout.vehicle_type(veh)
        key = (vt.profile, vt.cost_cny_per_km)
        if key not in cost_cb:
            per_m = scale * vt.cost_cny_per_km / 1000.0
            arc = np.rint(dist[vt.profile] * per_m).astype(np.int64)
            # a token price (0.01 CNY) per unload copy entered: no free redundant unloads
            arc[:, copies] += max(1, round(0.01 * scale))
            cost_cb[key] = routing.RegisterTransitMatrix(arc.tolist())
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[key], v_i)
        tail_s, tail_m = layout.tail(veh)
        fixed = vt.fixed_cost_cny + p.vehicle_weight
        fixed += vt.cost_cny_per_km * tail_m / 1000.0 + vt.cost_cny_per_h * tail_s / 3600.0
        routing.SetFixedCostOfVehicle(round(scale * fixed), v_i)

    horizon = 1 + int(
        max(
            [p.horizon_s or 0]
            + [vt.shift_end_s for vt in p.vehicle_types]
            + [s.close_s + s.unload_s for s in p.sites]
            + [s.tw_close_s + s.service_s for s in p.stops]
        )
    )
    routing.AddDimensionWithVehicleTransits(
        [time_cb[layout.vehicle_type(v).profile] for v in layout.vehicles],
        horizon,
        horizon,
        False,
        "time",
    )
    return routing.GetDimensionOrDie("time")


def load_streams(layout: ModelLayout) -> list[str]:
    """The streams of the modelled stops, sorted: one load dimension each."""
    p = layout.problem
    return sorted({p.stops[si].stream for si in layout.candidates}) or [""]


def _stream_demand(layout: ModelLayout, stream: str) -> list[int]:
    """Unary transit of ``stream``'s load dimension: a stop of the stream adds its kg, an unload
    copy of a site accepting it takes up to the largest compartment of it (the slack gives
    back what was not on board); other nodes leave it unchanged."""
    p, nodes = layout.problem, layout.nodes
    out = []
    for kind, ref, d in zip(nodes.kind, nodes.ref, nodes.demand_kg, strict=True):
        if kind == "stop":
            out.append(int(d) if p.stops[ref].stream == stream else 0)
        elif kind == "unload" and p.sites[ref].accepts(stream):
            site_id = p.sites[ref].id
            cap = max(
                vt.capacity_for_kg(stream) if vt.compartments else -int(d)
                for vt in p.vehicle_types
                if vt.count > 0 and site_id in vt.unload_sites
            )
            out.append(-cap)
        else:
            out.append(0)
    return out


def _add_load(
    layout: ModelLayout, manager: pywrapcp.RoutingIndexManager, routing: pywrapcp.RoutingModel
) -> None:
    """One load dimension per stream (compartment), with reload slack at the unload copies of
    sites accepting the stream (zero slack elsewhere); the merged final unload empties only
    the streams its site accepts, so the others must arrive there empty."""
    nodes, p = layout.nodes, layout.problem
    types = [layout.vehicle_type(v) for v in layout.vehicles]
    for stream in load_streams(layout):
        demand_kg = _stream_demand(layout, stream)
        demand = routing.RegisterUnaryTransitVector(demand_kg)
        caps = [vt.capacity_for_kg(stream) for vt in types]
        slack_max = max([0] + [-d for d in demand_kg])
        initial = [
            vt.initial_load_kg if vt.initial_load_kg and vt.initial_stream == stream else 0
            for vt in types
        ]
        name = "load" if stream == "" else f"load:{stream}"
        # trucks already out (a re-plan) start with their load on board: a start cumul of
        # their own
        routing.AddDimensionWithVehicleCapacity(demand, slack_max, caps, not any(initial), name)
        ldim = routing.GetDimensionOrDie(name)
        if any(initial):
            for v_i, kg in enumerate(initial):
                ldim.CumulVar(routing.Start(v_i)).SetValue(kg)
        for node in range(len(nodes)):
            kind = nodes.kind[node]
            if kind == "stop" or (kind == "unload" and demand_kg[node] == 0):
                ldim.SlackVar(manager.NodeToIndex(node)).SetValue(0)
            elif kind == "depot":  # a start node shared by several vehicles has several indices
                for v_i, veh in enumerate(layout.vehicles):
                    if veh.start_node == node:
                        ldim.SlackVar(routing.Start(v_i)).SetValue(0)
        for v_i, veh in enumerate(layout.vehicles):
            if not p.sites[veh.merged_site].accepts(stream):
                ldim.CumulVar(routing.End(v_i)).SetMax(0)


def _add_limits(layout: ModelLayout, routing: pywrapcp.RoutingModel) -> None:
    """Counting dimensions for max_trips, max_stops and max_load_per_day_kg, when set."""
    kinds = layout.nodes.kind
    types = [layout.vehicle_type(v) for v in layout.vehicles]
    big = 10**12
    if any(vt.max_trips is not None for vt in types):
        trips = routing.RegisterUnaryTransitVector([1 if k == "unload" else 0 for k in kinds])
        # the merged final unload is not a copy: max_trips - 1 intermediate unloads
        caps = [big if vt.max_trips is None else max(0, vt.max_trips - 1) for vt in types]
        routing.AddDimensionWithVehicleCapacity(trips, 0, caps, True, "trips")
    if any(vt.max_stops is not None for vt in types):
        count = routing.RegisterUnaryTransitVector([1 if k == "stop" else 0 for k in kinds])
        caps = [big if vt.max_stops is None else vt.max_stops for vt in types]
        routing.AddDimensionWithVehicleCapacity(count, 0, caps, True, "stops")
    if any(vt.max_load_per_day_kg is not None for vt in types):
        day = routing.RegisterUnaryTransitVector(
            [
                max(0, d) if k == "stop" else 0
                for k, d in zip(kinds, layout.nodes.demand_kg, strict=True)
            ]
        )
        caps = [big if vt.max_load_per_day_kg is None else vt.max_load_per_day_kg for vt in types]
        routing.AddDimensionWithVehicleCapacity(day, 0, caps, True, "day_load")


def _constrain_visits(
    layout: ModelLayout,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    time_dim: Any,
) -> None:
    """Stops: windows, access, disjunctions; unload copies: hours, allowed vehicles, optional."""
    p, scale = layout.problem, layout.cny_scale
    n_used_types = sum(1 for vt in p.vehicle_types if vt.count > 0)
    for si, node in layout.stop_node.items():
        s = p.stops[si]
        index = manager.NodeToIndex(node)
        time_dim.CumulVar(index).SetRange(s.tw_open_s, s.tw_close_s)
        types = set(layout.allowed[si])
        vehicles = [i for i, v in enumerate(layout.vehicles) if v.type_index in types]
        if len(types) < n_used_types:
            _allow(routing, index, vehicles)
        penalty = round(scale * p.unserved_penalty(s))
        routing.AddDisjunction([index], penalty)
    for site_id, nodes in layout.copy_nodes.items():
        site = p.site(site_id)
        vehicles = [
            i
            for i, v in enumerate(layout.vehicles)
            if site_id in layout.vehicle_type(v).unload_sites
        ]
        for node in nodes:
            index = manager.NodeToIndex(node)
            time_dim.CumulVar(index).SetRange(site.open_s, site.close_s)
            _allow(routing, index, vehicles)
            routing.AddDisjunction([index], 0)


def _constrain_vehicles(
    layout: ModelLayout,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    time_dim: Any,
) -> dict[int, Any]:
    """Shifts, spans, span costs and lunch breaks; returns the break interval per vehicle."""
    p, scale = layout.problem, layout.cny_scale
    solver = routing.solver()
    breaks: dict[int, Any] = {}
    # pre-travel of an arc = service at its origin (indexed by routing index)
    visit_s = [int(layout.nodes.service_s[manager.IndexToNode(i)]) for i in range(routing.Size())]
    for v_i, veh in enumerate(layout.vehicles):
        vt = layout.vehicle_type(veh)
        tail_s, _ = layout.tail(veh)
        final = p.sites[veh.merged_site]
        start, end = routing.Start(v_i), routing.End(v_i)
        time_dim.CumulVar(start).SetRange(vt.shift_start_s, vt.shift_end_s)
        end_lo = max(vt.shift_start_s, final.open_s)
        end_hi = min(vt.shift_end_s - tail_s, final.close_s)
        time_dim.CumulVar(end).SetRange(end_lo, max(end_lo, end_hi))
        time_dim.SetSpanUpperBoundForVehicle(max(0, vt.route_time_limit_s - tail_s), v_i)
        coef = round(scale * vt.cost_cny_per_h / 3600.0)
        if coef:
            time_dim.SetSpanCostCoefficientForVehicle(coef, v_i)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(end))
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(start))
        if vt.lunch is not None:
            lunch = vt.lunch
            brk = solver.FixedDurationIntervalVar(
                lunch.window_start_s, lunch.latest_start_s, lunch.duration_s, False, f"lunch_{v_i}"
            )
            time_dim.SetBreakIntervalsOfVehicle([brk], v_i, visit_s)
            # keep the break on the route (not before departure nor after the end) with cumul
            # bounds, which the local-search filters understand
            time_dim.CumulVar(start).SetMax(lunch.window_start_s + lunch.duration_s - 1)
            time_dim.CumulVar(end).SetMin(lunch.latest_start_s + 1)
            routing.AddIntervalToAssignment(brk)
            breaks[v_i] = brk
    return breaks


@dataclass(frozen=True)
class BuiltModel:
    """A built ``RoutingModel`` with what is needed to read its assignments back."""

    layout: ModelLayout
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time_dim: Any
    breaks: dict[int, Any]

    def routes(self, assignment: pywrapcp.Assignment) -> list[Route]:
        """The assignment's non-empty routes, timed as the verifier recomputes them."""
        out: list[Route] = []
        for v_i, veh in enumerate(self.layout.vehicles):
            index = self.routing.Start(v_i)
            if self.routing.IsEnd(assignment.Value(self.routing.NextVar(index))):
                continue
            out.append(self._route(assignment, v_i, veh))
        return out

    def _visited(self, assignment: pywrapcp.Assignment, v_i: int) -> list[tuple[int, int]]:
        """(node, start_s) of each visit of vehicle ``v_i``, the merged final unload last."""
        routing = self.routing
        nodes: list[tuple[int, int]] = []
        index = assignment.Value(routing.NextVar(routing.Start(v_i)))
        while True:
            node = self.manager.IndexToNode(index)
            nodes.append((node, assignment.Value(self.time_dim.CumulVar(index))))
            if routing.IsEnd(index):
                return nodes
            index = assignment.Value(routing.NextVar(index))

    def _route(self, assignment: pywrapcp.Assignment, v_i: int, veh: ModelVehicle) -> Route:
        p, table = self.layout.problem, self.layout.nodes
        vt = self.layout.vehicle_type(veh)
        dur = p.duration_s[vt.profile]
        dist = p.distance_m[vt.profile]
        depot = p.site(vt.depot)
        start_loc = p.site(vt.start_site_id).location
        departure = assignment.Value(self.time_dim.CumulVar(self.routing.Start(v_i)))
        # (the break, its start) when the vehicle has one
        lunch_at = (
            (vt.lunch, int(assignment.StartValue(self.breaks[v_i])))
            if vt.lunch is not None and v_i in self.breaks
            else None
        )
        visits: list[Visit] = []
        prev_loc, prev_dep = start_loc, departure
        loads = {vt.initial_stream: vt.initial_load_kg} if vt.initial_load_kg else {}
        distance = 0
        lunch_after: int | None = None
        kind: VisitKind
        for i, (node, start_s) in enumerate(self._visited(assignment, v_i)):
            loc = table.location[node]
            travel = int(dur[prev_loc, loc])
            distance += int(dist[prev_loc, loc])
            arrival = prev_dep + travel
            if lunch_at is not None and lunch_after is None and lunch_at[1] < start_s:
                lunch_after = i - 1
                arrival, _ = lunch_at[0].gap_times(prev_dep, travel, lunch_at[1])
            if table.kind[node] == "stop":
                stop = p.stops[table.ref[node]]
                loads[stop.stream] = loads.get(stop.stream, 0) + stop.load_kg
                kind, ident, service = "stop", stop.id, stop.service_s
            else:
                site = p.sites[table.ref[node]]
                loads = site.left_after_unload(loads)
                kind, ident, service = "unload", site.id, site.unload_s
            visits.append(
                Visit(
                    kind=kind,
                    id=ident,
                    location=loc,
                    arrival_s=arrival,
                    start_s=start_s,
                    departure_s=start_s + service,
                    load_after_kg=sum(loads.values()),
                )
            )
            prev_loc, prev_dep = loc, visits[-1].departure_s
        travel = int(dur[prev_loc, depot.location])
        distance += int(dist[prev_loc, depot.location])
        ret = prev_dep + travel
        if lunch_at is not None and lunch_after is None:
            lunch_after = len(visits) - 1
            _, ret = lunch_at[0].gap_times(prev_dep, travel, lunch_at[1])
        duration = ret - departure
        return Route(
            vehicle_type=vt.id,
            vehicle_index=veh.index_in_type,
            depot_departure_s=departure,
            depot_return_s=ret,
            visits=tuple(visits),
            lunch_start_s=lunch_at[1] if lunch_at is not None else None,
            lunch_after_visit=lunch_after,
            distance_m=distance,
            duration_s=duration,
            cost_cny=vt.route_cost_cny(distance, duration),
        )

    def copies_used(self, assignment: pywrapcp.Assignment) -> dict[str, int]:
        """Number of unload-site copies the assignment visits, per site."""
        used: dict[str, int] = {}
        for site, nodes in self.layout.copy_nodes.items():
            for node in nodes:
                index = self.manager.NodeToIndex(node)
                used[site] = used.get(site, 0) + (
                    assignment.Value(self.routing.NextVar(index)) != index
                )
        return used

    def dropped_stops(self, assignment: pywrapcp.Assignment) -> list[int]:
        """Indices (into problem.stops) of modelled stops the assignment leaves out."""
        out = []
        for si, node in self.layout.stop_node.items():
            index = self.manager.NodeToIndex(node)
            if assignment.Value(self.routing.NextVar(index)) == index:
                out.append(si)
        return out
