"""OR-Tools routing engine: the collection problem as a ``pywrapcp.RoutingModel``.

Model (nodes are depots, stops, unload-site copies and merged final unloads):

- **Cost.** Arc cost per vehicle = ``cost_per_km`` x distance of the vehicle's profile; the
  ``cost_per_hour`` is a span cost on the time dimension (route hours run from depot departure to
  depot return, waiting and lunch included); ``fixed_cost`` (+ ``vehicle_weight`` when
  ``minimise_vehicles_first``) is the vehicle's fixed cost. Money is scaled to integers by one
  power of ten (`_cost_scale`), the largest that cannot overflow.
- **Reloads.** Each unload site a vehicle type may use gets ``K`` optional copies (disjunction,
  penalty 0; ``K`` from the total load over the smallest capacity, see `_n_copies`). The load
  dimension has unary transit ``load_kg`` at stops and ``-C`` at an unload copy (``C`` = the
  largest capacity of the types allowed there), with slack in ``[0, C]`` at copies and slack fixed
  to 0 everywhere else. After a copy the cumul is ``cumul + slack - C``; the solver may pick
  ``slack = C - cumul`` so the load drops to 0, and any other choice only over-estimates the load,
  so ``cumul <= capacity`` at every node is exactly "never above capacity between unloads".
- **Ending empty.** A route's *end node* is a final unload at one of the type's unload sites (a
  merged final unload): the last unload after the last stop is structural. The constant tail
  (``unload_s`` + drive home) is added to the fixed cost and taken off the span and shift
  limits. Vehicle ``k`` of a type ends at the type's ``k``-th site (round robin, sites ordered by
  expected finishing time); after the search each route's final site is re-chosen, and
  redundant unloads dropped, by `sanitation.routing.schedule.build_route` when that is not
  dearer (`_polish`).
- **Time.** Per-profile transit = service (or ``unload_s``) at the origin + travel; slack =
  waiting (and lunch). Stops: cumul (= service start) within the time window; copies and merged
  ends: within the site's hours; start/end within the shift; span <= ``max_duration_s``.
- **Lunch.** One ``FixedDurationIntervalVar`` per vehicle, start in ``[window_start_s,
  window_end_s - duration_s]``, given to ``SetBreakIntervalsOfVehicle`` with the service time of
  each node as its visit (a break never overlaps a service or an unload; it may interrupt a
  drive, which the verifier's "parks on the way" rule accepts). To keep the break on the route
  rather than before departure or after the end, the depot departure is bounded above by
  ``window_start_s + duration_s - 1`` and the final unload below by the latest lunch start + 1
  (cumul bounds, which the local-search filters understand; a generic constraint made the search
  about 20x slower). Vehicles whose shift cannot meet these bounds are left out.
- **Access classes** by restricting each stop's vehicle variable to the allowed vehicles
  (``SetAllowedVehiclesForIndex`` has a broken SWIG binding in 9.15). **Optional stops** by
  disjunctions with ``problem.unserved_penalty`` (priority-linear, above any route cost), so
  the lowest priorities are dropped first. Optional limits ``max_trips``, ``max_stops``,
  ``max_load_per_day_kg`` are counting dimensions.

Search settings were chosen by measurement (see `SEARCH_MEASUREMENTS`): by default one run of
``SAVINGS`` + iterated local search (SISR ruin and recreate); on days with reloads the time is
split 65/35 between that and a run of guided local search started from our own multi-trip
construction (`_Builder.initial_routes`), and the better plan is kept. OR-Tools' insertion
heuristics add one node at a time and never open a reload trip, so on reload-bound days they
may leave stops out that the construction serves. ``params.options`` may force one run:
``first_solution``, ``metaheuristic`` (OR-Tools enum names or ``ITERATED_LOCAL_SEARCH``),
``construct`` (True/False/"auto").

OR-Tools' local search has no random seed: a run stopped by ``max_iterations`` (mapped to
``solution_limit``) is deterministic; a run stopped by the time limit depends on machine speed.
``seed`` is accepted for the engine interface and recorded in ``stats``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import RoutingProblem, Site, Stop, VehicleType
from sanitation.routing.schedule import ScheduleError, build_route
from sanitation.routing.screen import UnservedReason, screen
from sanitation.routing.solution import Route, RoutingSolution, Unserved, Visit

logger = logging.getLogger(__name__)

DEFAULT_FIRST_SOLUTION = "SAVINGS"
DEFAULT_METAHEURISTIC = "ITERATED_LOCAL_SEARCH"

#: What the defaults rest on: one seed (OR-Tools is not randomised), single thread, measured on
#: the shared 2-core machine while other jobs ran (load average 4-6), so each figure is noisy.
SEARCH_MEASUREMENTS = """
CVRP X (cost = distance; BKS in brackets), 20 s, this engine's model:
  X-n101-k25 (27591): LCI+GLS 29253, PCA+GLS 29159, SAVINGS+GLS 29087,
                      LCI+ILS 28431, SAVINGS+ILS 28518, PCI+ILS 28944
  X-n200-k36 (58578): LCI+GLS 61606, PCA+GLS 60865, SAVINGS+GLS 60708,
                      LCI+ILS 61425, SAVINGS+ILS 60627, PCI+ILS 61333
  X-n401-k29 (66154), 30 s: SAVINGS+ILS 69971, LCI+ILS 73282
  (plain CVRP prototype, 15 s, X-n101: PCA/PCI/SAVINGS/LCI+GLS 28991/29184/29003/28489;
   simulated annealing 29163-30159; tabu search and AUTOMATIC stop early, 29112-30362)
Solomon VRPTW (distance x10; DIMACS BKS x10), 20 s:
  R101 (16377):  LCI+GLS 16698, PCA+GLS 16565, SAVINGS+GLS 16516, LCI+ILS 16452,
                 SAVINGS+ILS 16494, PCI+ILS 16485
  RC201 (12618): LCI+GLS 12793, PCA+GLS 12867, SAVINGS+GLS 13030, LCI+ILS 12804,
                 SAVINGS+ILS 12911, PCI+ILS 12923
Kim et al. 102_stop (reloads, lunch, vehicles first), 30 s: SAVINGS+ILS 3 veh / 155.9 mi,
  PCI+ILS 3 / 157.4, LCI+ILS 3 / 181.6; at 20 s every GLS start gave 4 vehicles.
Kim et al. 277_stop, 30 s: SAVINGS/PCI/LCI+ILS 4 vehicles (486-461 mi; the insertion starts
  leave reload trips unopened); own construction + GLS 3 vehicles / 464.3 mi.
Defaults, via `sanitation bench ... --engine ortools` (same loaded machine, every plan verified):
  CVRP 60 s: X-n101-k25 28210 (+2.24 %), X-n200-k36 60551 (+3.37 %), X-n401-k29 68909 (+4.16 %)
  Solomon 30 s: C101 827.3 (0.00 %), R101 1649.4 (+0.71 %), RC201 1288.0 (+2.08 %),
                R201 1170.7 (+2.41 %)
  Kim 60 s: 102_stop 3 vehicles / 153.69 mi, 277_stop 3 / 464.29 mi (lunch included)
ILS = iterated local search with SISR ruin-and-recreate (avg 10 removed visits), greedy
acceptance; GLS = guided local search; LCI/PCI/PCA = local/parallel cheapest insertion, path
cheapest arc.
"""

#: share of a run's time given to the OR-Tools search (the rest covers its overrun)
TIME_SAFETY = 0.96

#: fleets up to this size are modelled whole (see `_Builder._modelled_count`)
MAX_FLEET = 50

_INT_BUDGET = 2**60


@dataclass
class _Nodes:
    """Node bookkeeping of one model: what each node is and where."""

    kind: list[str] = field(default_factory=list)  # "depot", "stop", "unload", "end"
    ref: list[int] = field(default_factory=list)  # index into problem.stops / problem.sites
    location: list[int] = field(default_factory=list)
    service_s: list[int] = field(default_factory=list)
    demand_kg: list[int] = field(default_factory=list)

    def add(self, kind: str, ref: int, location: int, service_s: int, demand_kg: int) -> int:
        self.kind.append(kind)
        self.ref.append(ref)
        self.location.append(location)
        self.service_s.append(service_s)
        self.demand_kg.append(demand_kg)
        return len(self.kind) - 1

    def __len__(self) -> int:
        return len(self.kind)


@dataclass(frozen=True)
class _Vehicle:
    type_index: int
    index_in_type: int
    start_node: int
    end_node: int
    merged_site: int  # site index of the merged final unload (the route's end node)


@dataclass(frozen=True)
class _Trail:
    """The end state of a route under construction, timed from the shift start.

    ``extend`` returns the state after (an optional unload and) one more stop, or None when the
    route could then no longer be finished: stop windows, site hours, lunch inside its window,
    final unload at ``final`` with a return by the shift end, route time limit, capacity and
    the daily limits.
    """

    problem: RoutingProblem
    vt: VehicleType
    final: Site
    loc: int = -1
    dep: int = -1
    lunch_end: int | None = None  # None = lunch not taken yet (or no lunch)
    load: int = 0
    day: int = 0
    n_stops: int = 0
    n_unloads: int = 0

    def __post_init__(self) -> None:
        if self.loc < 0:
            object.__setattr__(self, "loc", self.problem.site(self.vt.depot).location)
            object.__setattr__(self, "dep", self.vt.shift_start_s)

    def _visit(
        self,
        dep: int,
        lunch_end: int | None,
        loc: int,
        to: int,
        open_s: int,
        close_s: int,
        service_s: int,
        *,
        last: bool = False,
    ) -> tuple[int, int | None] | None:
        """Service start at ``to`` and the lunch end after the gap (None = infeasible)."""
        lunch = self.vt.lunch
        travel = int(self.problem.duration_s[self.vt.profile][loc, to])
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
        """Whether the route can end now: final unload, lunch taken, home in time."""
        vt, site = self.vt, self.final
        lunch_end = self.lunch_end
        visited = self._visit(
            self.dep,
            lunch_end,
            self.loc,
            site.location,
            site.open_s,
            site.close_s,
            site.unload_s,
            last=True,
        )
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

    def extend(self, site: Site | None, stop: Stop) -> _Trail | None:
        vt = self.vt
        if vt.max_stops is not None and self.n_stops + 1 > vt.max_stops:
            return None
        if vt.max_load_per_day_kg is not None and self.day + stop.load_kg > vt.max_load_per_day_kg:
            return None
        dep, loc, lunch_end, load, n_unloads = (
            self.dep,
            self.loc,
            self.lunch_end,
            self.load,
            self.n_unloads,
        )
        if site is not None:
            if vt.max_trips is not None and n_unloads + 2 > vt.max_trips:
                return None
            visited = self._visit(
                dep, lunch_end, loc, site.location, site.open_s, site.close_s, site.unload_s
            )
            if visited is None:
                return None
            start, lunch_end = visited
            dep, loc, load, n_unloads = start + site.unload_s, site.location, 0, n_unloads + 1
        if load + stop.load_kg > vt.capacity_kg:
            return None
        visited = self._visit(
            dep, lunch_end, loc, stop.location, stop.tw_open_s, stop.tw_close_s, stop.service_s
        )
        if visited is None:
            return None
        start, lunch_end = visited
        nxt = dataclasses.replace(
            self,
            loc=stop.location,
            dep=start + stop.service_s,
            lunch_end=lunch_end,
            load=load + stop.load_kg,
            day=self.day + stop.load_kg,
            n_stops=self.n_stops + 1,
            n_unloads=n_unloads,
        )
        return nxt if nxt.finish_ok() else None


def _cost_scale(problem: RoutingProblem) -> int:
    """The largest power of ten (<= 1e6) turning CNY into integers without int64 overflow."""
    total = problem.route_cost_bound + problem.vehicle_weight * problem.n_vehicles
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
) -> int:
    """Number of optional copies of an unload site (intermediate + non-merged final unloads)."""
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
    load = sum(
        problem.stops[si].load_kg for si in candidates if any(t in users for t in allowed[si])
    )
    n_cand = sum(1 for si in candidates if any(t in users for t in allowed[si]))
    min_cap = max(1, min(problem.vehicle_types[ti].capacity_kg for ti in users))
    vehicles = sum(problem.vehicle_types[ti].count for ti in users)
    estimate = math.ceil(1.5 * load / min_cap) + min(vehicles, n_cand) + 2
    estimate = min(estimate, n_cand + vehicles)
    return estimate if bound < 0 else min(estimate, bound)


class _Builder:
    """Builds the RoutingModel of one problem and converts its assignment back."""

    def __init__(
        self, problem: RoutingProblem, candidates: list[int], allowed: dict[int, list[int]]
    ):
        self.problem = problem
        self.candidates = candidates
        self.allowed = allowed
        self.scale = _cost_scale(problem)
        self.nodes = _Nodes()
        self.vehicles: list[_Vehicle] = []
        self.breaks: dict[int, Any] = {}
        self._build_nodes()

    # -- nodes -----------------------------------------------------------------------------------
    def _build_nodes(self) -> None:
        p = self.problem
        site_idx = {s.id: i for i, s in enumerate(p.sites)}
        depot_node: dict[str, int] = {}
        self.stop_node: dict[int, int] = {}
        for si in self.candidates:
            s = p.stops[si]
            self.stop_node[si] = self.nodes.add("stop", si, s.location, s.service_s, s.load_kg)
        # merged final unloads: vehicle k of a type ends at its k-th final site, round robin over
        # the sites in order of expected finishing time (mean drive from the type's stops +
        # unload + drive home); one end node per (depot, site)
        end_node: dict[tuple[str, str], int] = {}
        intermediate: dict[int, int | None] = {}
        self.final_sites: dict[int, list[str]] = {}
        for ti, vt in enumerate(p.vehicle_types):
            intermediate[ti] = None if vt.max_trips is None else max(0, vt.max_trips - 1)
            if vt.count == 0:
                continue
            home = p.site(vt.depot).location
            dur = p.duration_s[vt.profile]
            locs = [p.stops[si].location for si in self.candidates if ti in self.allowed[si]]

            def finish_s(
                u: str, d: np.ndarray = dur, h: int = home, locs: list[int] = locs
            ) -> float:
                site = p.site(u)
                inbound = float(d[locs, site.location].mean()) if locs else 0.0
                return inbound + site.unload_s + int(d[site.location, h])

            order = sorted(vt.unload_sites, key=finish_s)
            self.final_sites[ti] = order[: vt.count]
        self.copy_nodes: dict[str, list[int]] = {}
        for site in p.sites:
            k = _n_copies(p, site.id, self.candidates, self.allowed, intermediate)
            if k <= 0:
                continue
            cap = max(
                vt.capacity_kg
                for vt in p.vehicle_types
                if vt.count > 0 and site.id in vt.unload_sites
            )
            nodes = [
                self.nodes.add("unload", site_idx[site.id], site.location, site.unload_s, -cap)
                for _ in range(k)
            ]
            self.copy_nodes[site.id] = nodes
        # vehicles; depot and end nodes only for usable vehicles (any other node is a visit)
        for ti, vt in enumerate(p.vehicle_types):
            for k in range(self._modelled_count(ti)):
                finals = self.final_sites[ti]
                final = finals[k % len(finals)]
                if not self._usable(_Vehicle(ti, k, -1, -1, site_idx[final])):
                    continue
                if vt.depot not in depot_node:
                    depot = p.site(vt.depot)
                    depot_node[vt.depot] = self.nodes.add(
                        "depot", site_idx[vt.depot], depot.location, 0, 0
                    )
                if (vt.depot, final) not in end_node:
                    site = p.site(final)
                    end_node[(vt.depot, final)] = self.nodes.add(
                        "end", site_idx[final], site.location, site.unload_s, 0
                    )
                self.vehicles.append(
                    _Vehicle(
                        ti, k, depot_node[vt.depot], end_node[(vt.depot, final)], site_idx[final]
                    )
                )

    def _modelled_count(self, ti: int) -> int:
        """Vehicles of type ``ti`` put in the model.

        Large identical fleets (over `MAX_FLEET`, e.g. a benchmark's "as many trucks as
        customers") slow every local-search move; they are cut to three times the trucks the
        type's own load needs (at ``capacity_kg x max_trips`` per truck), at least `MAX_FLEET`.
        """
        vt = self.problem.vehicle_types[ti]
        if vt.count <= MAX_FLEET:
            return vt.count
        load = sum(
            self.problem.stops[si].load_kg for si in self.candidates if ti in self.allowed[si]
        )
        per_truck = max(1, vt.capacity_kg * (vt.max_trips or 1))
        return min(vt.count, max(MAX_FLEET, 3 * math.ceil(load / per_truck)))

    def _usable(self, veh: _Vehicle) -> bool:
        """Whether the vehicle's shift leaves room for a route with its lunch on it."""
        vt = self.problem.vehicle_types[veh.type_index]
        if vt.lunch is None:
            return True
        tail_s, _ = self._tail(veh)
        site = self.problem.sites[veh.merged_site]
        end_hi = min(vt.shift_end_s - tail_s, site.close_s)
        ok = (
            vt.shift_start_s <= vt.lunch.window_start_s + vt.lunch.duration_s - 1
            and vt.lunch.latest_start_s + 1 <= end_hi
        )
        if not ok:
            logger.warning(
                "vehicle %s#%d left out: its shift cannot hold the lunch window",
                vt.id,
                veh.index_in_type,
            )
        return ok

    def _tail(self, veh: _Vehicle) -> tuple[int, int]:
        """(seconds, metres) after the merged final unload starts: unload + drive to the depot."""
        vt = self.problem.vehicle_types[veh.type_index]
        site = self.problem.sites[veh.merged_site]
        depot = self.problem.site(vt.depot)
        t = site.unload_s + int(self.problem.duration_s[vt.profile][site.location, depot.location])
        d = int(self.problem.distance_m[vt.profile][site.location, depot.location])
        return t, d

    # -- matrices --------------------------------------------------------------------------------
    def _node_matrix(self, mat: np.ndarray) -> np.ndarray:
        loc = np.asarray(self.nodes.location, dtype=np.int64)
        out = np.asarray(mat, dtype=np.int64)[np.ix_(loc, loc)].copy()
        # the direct start -> merged end arc is only used by empty routes: make it free
        for veh in self.vehicles:
            out[veh.start_node, veh.end_node] = 0
        return out

    # -- model -----------------------------------------------------------------------------------
    def build(self) -> tuple[pywrapcp.RoutingIndexManager, pywrapcp.RoutingModel]:
        p = self.problem
        n_veh = len(self.vehicles)
        manager = pywrapcp.RoutingIndexManager(
            len(self.nodes),
            n_veh,
            [v.start_node for v in self.vehicles],
            [v.end_node for v in self.vehicles],
        )
        routing = pywrapcp.RoutingModel(manager)
        self.manager, self.routing = manager, routing
        service = np.asarray(self.nodes.service_s, dtype=np.int64)

        # time and travel callbacks per profile
        profiles = sorted({p.vehicle_types[v.type_index].profile for v in self.vehicles})
        time_cb: dict[int, int] = {}
        self.travel: dict[int, np.ndarray] = {}
        self.dist: dict[int, np.ndarray] = {}
        for prof in profiles:
            travel = self._node_matrix(p.duration_s[prof])
            self.travel[prof] = travel
            self.dist[prof] = self._node_matrix(p.distance_m[prof])
            transit = travel + service[:, None]
            for veh in self.vehicles:  # empty route: no service at the start either
                transit[veh.start_node, veh.end_node] = 0
            time_cb[prof] = routing.RegisterTransitMatrix(transit.tolist())

        # arc costs per (profile, cost_per_km)
        cost_cb: dict[tuple[int, float], int] = {}
        for v_i, veh in enumerate(self.vehicles):
            vt = p.vehicle_types[veh.type_index]
            key = (vt.profile, vt.cost_per_km)
            if key not in cost_cb:
                per_m = self.scale * vt.cost_per_km / 1000.0
                arc = np.rint(self.dist[vt.profile] * per_m).astype(np.int64)
                # a token price (0.01 CNY) per unload copy entered: no free redundant unloads
                copies = [n for ns in self.copy_nodes.values() for n in ns]
                arc[:, copies] += max(1, round(0.01 * self.scale))
                cost_cb[key] = routing.RegisterTransitMatrix(arc.tolist())
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[key], v_i)
            tail_s, tail_m = self._tail(veh)
            fixed = vt.fixed_cost + p.vehicle_weight
            fixed += vt.cost_per_km * tail_m / 1000.0 + vt.cost_per_hour * tail_s / 3600.0
            routing.SetFixedCostOfVehicle(round(self.scale * fixed), v_i)

        horizon = (
            int(
                max(
                    [p.horizon_s or 0]
                    + [vt.shift_end_s for vt in p.vehicle_types]
                    + [s.close_s + s.unload_s for s in p.sites]
                    + [s.tw_close_s + s.service_s for s in p.stops]
                )
            )
            + 1
        )
        routing.AddDimensionWithVehicleTransits(
            [time_cb[p.vehicle_types[v.type_index].profile] for v in self.vehicles],
            horizon,
            horizon,
            False,
            "time",
        )
        tdim = routing.GetDimensionOrDie("time")
        self.tdim = tdim

        # load dimension with reload slack
        demand = routing.RegisterUnaryTransitVector([int(d) for d in self.nodes.demand_kg])
        caps = [p.vehicle_types[v.type_index].capacity_kg for v in self.vehicles]
        slack_max = max([0] + [-d for d in self.nodes.demand_kg])
        routing.AddDimensionWithVehicleCapacity(demand, slack_max, caps, True, "load")
        ldim = routing.GetDimensionOrDie("load")
        for node in range(len(self.nodes)):
            if self.nodes.kind[node] in ("stop", "depot"):
                for index in self._indices(node):
                    ldim.SlackVar(index).SetValue(0)

        self._limits_dimensions()

        # stops: windows, access, disjunctions
        for si, node in self.stop_node.items():
            s = p.stops[si]
            index = manager.NodeToIndex(node)
            tdim.CumulVar(index).SetRange(s.tw_open_s, s.tw_close_s)
            types = set(self.allowed[si])
            vehicles = [i for i, v in enumerate(self.vehicles) if v.type_index in types]
            if len(types) < sum(1 for vt in p.vehicle_types if vt.count > 0):
                self._allow(index, vehicles)
            penalty = round(self.scale * p.unserved_penalty(s))
            routing.AddDisjunction([index], penalty)
        # unload copies: hours, allowed vehicles, optional
        for site_id, nodes in self.copy_nodes.items():
            site = p.site(site_id)
            vehicles = [
                i
                for i, v in enumerate(self.vehicles)
                if site_id in p.vehicle_types[v.type_index].unload_sites
            ]
            for node in nodes:
                index = manager.NodeToIndex(node)
                tdim.CumulVar(index).SetRange(site.open_s, site.close_s)
                self._allow(index, vehicles)
                routing.AddDisjunction([index], 0)

        # shifts, spans, span costs, lunch
        solver = routing.solver()
        # pre-travel of an arc = service at its origin (indexed by routing index)
        visit_s = [int(self.nodes.service_s[manager.IndexToNode(i)]) for i in range(routing.Size())]
        for v_i, veh in enumerate(self.vehicles):
            vt = p.vehicle_types[veh.type_index]
            tail_s, _ = self._tail(veh)
            start, end = routing.Start(v_i), routing.End(v_i)
            tdim.CumulVar(start).SetRange(vt.shift_start_s, vt.shift_end_s)
            end_hi = vt.shift_end_s - tail_s
            end_lo = max(vt.shift_start_s, p.sites[veh.merged_site].open_s)
            end_hi = min(end_hi, p.sites[veh.merged_site].close_s)
            tdim.CumulVar(end).SetRange(end_lo, max(end_lo, end_hi))
            tdim.SetSpanUpperBoundForVehicle(max(0, vt.route_time_limit_s - tail_s), v_i)
            coef = round(self.scale * vt.cost_per_hour / 3600.0)
            if coef:
                tdim.SetSpanCostCoefficientForVehicle(coef, v_i)
            routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(end))
            routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(start))
            if vt.lunch is not None:
                lunch = vt.lunch
                brk = solver.FixedDurationIntervalVar(
                    lunch.window_start_s,
                    lunch.latest_start_s,
                    lunch.duration_s,
                    False,
                    f"lunch_{v_i}",
                )
                tdim.SetBreakIntervalsOfVehicle([brk], v_i, visit_s)
                # keep the break on the route (not before departure nor after the end) with
                # cumul bounds, which the local-search filters understand
                tdim.CumulVar(start).SetMax(lunch.window_start_s + lunch.duration_s - 1)
                tdim.CumulVar(end).SetMin(lunch.latest_start_s + 1)
                routing.AddIntervalToAssignment(brk)
                self.breaks[v_i] = brk
        return manager, routing

    def _allow(self, index: int, vehicles: list[int]) -> None:
        """Restrict a node to ``vehicles`` (SetAllowedVehiclesForIndex's SWIG binding is broken
        in OR-Tools 9.15, so the vehicle variable's domain is restricted directly)."""
        self.routing.VehicleVar(index).SetValues([-1, *vehicles])

    def _indices(self, node: int) -> list[int]:
        """Routing indices of a node (a start/end node shared by several vehicles has several)."""
        kind = self.nodes.kind[node]
        if kind in ("stop", "unload"):
            return [self.manager.NodeToIndex(node)]
        out = []
        for v_i, veh in enumerate(self.vehicles):
            if veh.start_node == node:
                out.append(self.routing.Start(v_i))
        return out

    def _limits_dimensions(self) -> None:
        """Counting dimensions for max_trips, max_stops and max_load_per_day_kg, when set."""
        p, routing = self.problem, self.routing
        types = [p.vehicle_types[v.type_index] for v in self.vehicles]
        big = 10**12
        if any(vt.max_trips is not None for vt in types):
            trips = routing.RegisterUnaryTransitVector(
                [1 if k == "unload" else 0 for k in self.nodes.kind]
            )
            # the merged final unload is not a copy: max_trips - 1 intermediate unloads
            caps = [big if vt.max_trips is None else max(0, vt.max_trips - 1) for vt in types]
            routing.AddDimensionWithVehicleCapacity(trips, 0, caps, True, "trips")
        if any(vt.max_stops is not None for vt in types):
            count = routing.RegisterUnaryTransitVector(
                [1 if k == "stop" else 0 for k in self.nodes.kind]
            )
            caps = [big if vt.max_stops is None else vt.max_stops for vt in types]
            routing.AddDimensionWithVehicleCapacity(count, 0, caps, True, "stops")
        if any(vt.max_load_per_day_kg is not None for vt in types):
            day = routing.RegisterUnaryTransitVector(
                [
                    max(0, d) if k == "stop" else 0
                    for k, d in zip(self.nodes.kind, self.nodes.demand_kg, strict=True)
                ]
            )
            caps = [
                big if vt.max_load_per_day_kg is None else vt.max_load_per_day_kg for vt in types
            ]
            routing.AddDimensionWithVehicleCapacity(day, 0, caps, True, "day_load")

    # -- solution --------------------------------------------------------------------------------
    def routes(self, assignment: pywrapcp.Assignment) -> list[Route]:
        """The assignment's non-empty routes, timed as the verifier recomputes them."""
        p, routing, manager = self.problem, self.routing, self.manager
        out: list[Route] = []
        for v_i, veh in enumerate(self.vehicles):
            index = routing.Start(v_i)
            if routing.IsEnd(assignment.Value(routing.NextVar(index))):
                continue
            vt = p.vehicle_types[veh.type_index]
            dur = p.duration_s[vt.profile]
            dist = p.distance_m[vt.profile]
            depot = p.site(vt.depot)
            departure = assignment.Value(self.tdim.CumulVar(index))
            lunch = vt.lunch if v_i in self.breaks else None
            lunch_start: int | None = None
            if lunch is not None:
                lunch_start = assignment.StartValue(self.breaks[v_i])
            nodes: list[tuple[int, int]] = []  # (node, start_s)
            index = assignment.Value(routing.NextVar(index))
            while True:
                node = manager.IndexToNode(index)
                start_s = assignment.Value(self.tdim.CumulVar(index))
                if routing.IsEnd(index):
                    nodes.append((node, start_s))  # the merged final unload
                    break
                nodes.append((node, start_s))
                index = assignment.Value(routing.NextVar(index))

            visits: list[Visit] = []
            prev_loc, prev_dep = depot.location, departure
            load = 0
            distance = 0
            lunch_after: int | None = None
            for i, (node, start_s) in enumerate(nodes):
                kind = self.nodes.kind[node]
                loc = self.nodes.location[node]
                travel = int(dur[prev_loc, loc])
                distance += int(dist[prev_loc, loc])
                arrival = prev_dep + travel
                if (
                    lunch is not None
                    and lunch_start is not None
                    and lunch_after is None
                    and lunch_start < start_s
                ):
                    lunch_after = i - 1
                    arrival, _ = lunch.gap_times(prev_dep, travel, lunch_start)
                if kind == "stop":
                    stop = p.stops[self.nodes.ref[node]]
                    load += stop.load_kg
                    visits.append(
                        Visit(
                            "stop", stop.id, loc, arrival, start_s, start_s + stop.service_s, load
                        )
                    )
                else:
                    site = p.sites[self.nodes.ref[node]]
                    load = 0
                    visits.append(
                        Visit("unload", site.id, loc, arrival, start_s, start_s + site.unload_s, 0)
                    )
                prev_loc, prev_dep = loc, visits[-1].departure_s
            travel = int(dur[prev_loc, depot.location])
            distance += int(dist[prev_loc, depot.location])
            ret = prev_dep + travel
            if lunch is not None and lunch_start is not None and lunch_after is None:
                lunch_after = len(visits) - 1
                _, ret = lunch.gap_times(prev_dep, travel, lunch_start)
            duration = ret - departure
            out.append(
                Route(
                    vehicle_type=vt.id,
                    vehicle_index=veh.index_in_type,
                    depot_departure_s=departure,
                    depot_return_s=ret,
                    visits=tuple(visits),
                    lunch_start_s=lunch_start,
                    lunch_after_visit=lunch_after,
                    distance_m=distance,
                    duration_s=duration,
                    cost=vt.route_cost(distance, duration),
                )
            )
        return out

    def initial_routes(self, deadline: float, width: int = 8) -> list[list[int]]:
        """Routes (routing indices, start and end left out) of a greedy multi-trip construction.

        Each vehicle in turn extends its route with the nearest of the ``width`` nearest
        unrouted stops that keeps an explicit schedule feasible (`_Trail`: earliest times from
        the shift start, lunch in the first gap at or after the window opens, or earlier if the
        next visit would make it impossible), with an unload first when the truck would
        overflow, ending at the vehicle's final site. OR-Tools' own first-solution heuristics
        insert one node at a time and so never open a reload (an unload copy alone only adds
        cost): on reload-bound days they leave most stops out.
        """
        p = self.problem
        copies = {site: list(nodes) for site, nodes in self.copy_nodes.items()}
        unrouted = set(self.stop_node)
        out: list[list[int]] = [[] for _ in self.vehicles]
        for v_i, veh in enumerate(self.vehicles):
            if not unrouted or time.perf_counter() > deadline:
                break
            vt = p.vehicle_types[veh.type_index]
            dur = p.duration_s[vt.profile]
            trail = _Trail(p, vt, p.sites[veh.merged_site])
            steps: list[int] = []
            while unrouted and time.perf_counter() <= deadline:
                cand = [si for si in unrouted if veh.type_index in self.allowed[si]]
                if not cand:
                    break
                locs = np.asarray([p.stops[si].location for si in cand])
                near = np.argsort(dur[trail.loc, locs], kind="stable")[:width]
                chosen = None
                for j in near:
                    si = cand[int(j)]
                    stop = p.stops[si]
                    site = None
                    if trail.load + stop.load_kg > vt.capacity_kg:
                        usable = [u for u in vt.unload_sites if copies.get(u)]
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
                    steps.append(self.manager.NodeToIndex(copies[site.id].pop()))
                steps.append(self.manager.NodeToIndex(self.stop_node[si]))
                unrouted.discard(si)
            out[v_i] = steps
        return out

    def copies_used(self, assignment: pywrapcp.Assignment) -> int:
        """Number of unload-site copies the assignment visits."""
        used = 0
        for nodes in self.copy_nodes.values():
            for node in nodes:
                index = self.manager.NodeToIndex(node)
                used += assignment.Value(self.routing.NextVar(index)) != index
        return used

    def dropped_stops(self, assignment: pywrapcp.Assignment) -> list[int]:
        """Indices (into problem.stops) of modelled stops the assignment leaves out."""
        out = []
        for si, node in self.stop_node.items():
            index = self.manager.NodeToIndex(node)
            if assignment.Value(self.routing.NextVar(index)) == index:
                out.append(si)
        return out


def _polish(problem: RoutingProblem, route: Route) -> Route:
    """The route without redundant unloads and with the cheapest final site, if that is cheaper.

    An unload with no stop since the previous one (or since the depot) is redundant: the model
    charges almost nothing for it when time has no price. The model also fixes each vehicle's
    final site (its end node). The cleaned sequence is re-timed by
    `sanitation.routing.schedule.build_route`, trying every allowed final site; the result is
    kept only if it is feasible and not dearer.
    """
    vt = problem.vehicle_type(route.vehicle_type)
    seq: list[tuple[str, str]] = []
    for v in route.visits[:-1]:
        if v.kind == "unload" and (not seq or seq[-1][0] == "unload"):
            continue
        seq.append((v.kind, v.id))
    while seq and seq[-1][0] == "unload":
        seq.pop()
    cleaned = len(seq) + 1 < len(route.visits)
    if not cleaned and len(vt.unload_sites) < 2:
        return route
    try:
        other = build_route(problem, vt, route.vehicle_index, seq, final_unload=True)
    except ScheduleError:
        return route
    return other if other.cost <= route.cost + 1e-9 else route


def _enum(enum_type: Any, name: str, what: str) -> int:
    try:
        return int(getattr(enum_type, name))
    except AttributeError:
        msg = f"OR-Tools engine: unknown {what} {name!r}."
        raise ValueError(msg) from None


def _configure_ils(search: Any, opts: dict[str, Any]) -> None:
    """Iterated local search: SISR ruin (string removals) and recreate, greedy descent inside."""
    search.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    rr = search.iterated_local_search_parameters.ruin_recreate_parameters
    del rr.ruin_strategies[:]
    sisr = rr.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = int(opts.get("sisr_max_sequence", 10))
    sisr.avg_num_removed_visits = int(opts.get("sisr_avg_removed", 10))
    sisr.bypass_factor = 0.01
    if opts.get("ils_acceptance", "greedy") == "annealing":
        sa = search.iterated_local_search_parameters.reference_solution_acceptance_strategy
        sa.simulated_annealing.cooling_schedule_strategy = 1
        sa.simulated_annealing.automatic_temperatures = True


class OrToolsEngine:
    """The OR-Tools routing engine (see the module docstring for the model).

    ``params.options`` may set ``first_solution`` and ``metaheuristic`` (OR-Tools enum names,
    or ``ITERATED_LOCAL_SEARCH``) for a single run, ``construct`` (True/False/"auto": start from
    the multi-trip construction), ``construct_share`` (its share of the time, default 0.25),
    ``gls_lambda`` (guided local search lambda), ``sisr_avg_removed`` / ``sisr_max_sequence``
    (ruin size) and ``log_search`` (bool).
    """

    name = "ortools"

    def solve(
        self, problem: RoutingProblem, params: SolveParams, *, seed: int = 1
    ) -> RoutingSolution:
        """Solve ``problem`` within ``params.time_limit_s``; unserved stops carry a reason.

        Parameters
        ----------
        problem
            The station-day to route.
        params
            Time limit (s), optional ``max_iterations`` (OR-Tools solution limit) and options.
        seed
            Recorded only: OR-Tools' routing search is not randomised.

        Returns
        -------
        RoutingSolution
            Routes, unserved stops with reasons, route cost (CNY) and search statistics.
        """
        t0 = time.perf_counter()
        screening = screen(problem)
        candidates = list(screening.candidates)
        allowed = {si: list(types) for si, types in screening.vehicle_types.items()}
        reasons: dict[int, UnservedReason] = dict(screening.rejected)
        builder = _Builder(problem, candidates, allowed)
        if not builder.vehicles or not candidates:
            for si in candidates:
                reasons[si] = UnservedReason.NO_USABLE_VEHICLE
            return RoutingSolution(
                routes=(),
                unserved=tuple(
                    Unserved(problem.stops[si].id, reasons[si]) for si in sorted(reasons)
                ),
                cost=0.0,
                engine=self.name,
                seconds=time.perf_counter() - t0,
                stats={"seed": seed, "nodes": len(builder.nodes)},
            )
        opts = dict(params.options)
        plan = _plan(opts, bool(builder.copy_nodes))
        runs: list[tuple[float, list[Route], list[int], dict[str, Any]]] = []
        run_stats: list[dict[str, Any]] = []
        for k, (first, meta, construct, share) in enumerate(plan):
            if k > 0:  # a fresh model per run (a model is closed for one set of parameters)
                builder = _Builder(problem, candidates, allowed)
            left = params.time_limit_s - (time.perf_counter() - t0)
            budget = left if k == len(plan) - 1 else share * params.time_limit_s
            routes, dropped, stats = _run(
                builder, first, meta, construct, max(0.05, budget), params.max_iterations, opts
            )
            logger.info("OR-Tools run %d (%s + %s): %s", k, first, meta, stats)
            run_stats.append(stats)
            if routes is None:
                continue
            value = sum(r.cost for r in routes)
            value += problem.vehicle_weight * len(routes)
            value += sum(problem.unserved_penalty(problem.stops[si]) for si in dropped)
            runs.append((value, routes, dropped, stats))
        stats_all: dict[str, Any] = {"seed": seed, "runs": run_stats}
        if not runs:
            logger.warning("OR-Tools found no solution within %.1f s", params.time_limit_s)
            best_routes: list[Route] = []
            for si in candidates:
                reasons[si] = UnservedReason.NOT_FOUND_IN_TIME
        else:
            best = min(runs, key=lambda r: r[0])
            best_routes = best[1]
            stats_all.update(best[3])
            for si in best[2]:
                reasons[si] = UnservedReason.FLEET_EXHAUSTED
        unserved = tuple(Unserved(problem.stops[si].id, reasons[si]) for si in sorted(reasons))
        return RoutingSolution(
            routes=tuple(best_routes),
            unserved=unserved,
            cost=sum(r.cost for r in best_routes),
            engine=self.name,
            seconds=time.perf_counter() - t0,
            stats=stats_all,
        )


def _plan(opts: dict[str, Any], reloads: bool) -> list[tuple[str, str, bool, float]]:
    """The runs (first solution, metaheuristic, construct?, share of the time) to make.

    Explicit ``first_solution``/``metaheuristic`` options give one run. By default
    (measured, see `SEARCH_MEASUREMENTS`): SAVINGS + iterated local search; on days with
    reloads (unload copies) first 35 % of the time for our own multi-trip construction +
    guided local search, then the rest for it, the better result kept.
    """
    if "first_solution" in opts or "metaheuristic" in opts:
        first = str(opts.get("first_solution", DEFAULT_FIRST_SOLUTION))
        meta = str(opts.get("metaheuristic", DEFAULT_METAHEURISTIC))
        construct = opts.get("construct", "auto")
        auto = construct == "auto" and reloads and meta != "ITERATED_LOCAL_SEARCH"
        return [(first, meta, construct is True or auto, 1.0)]
    if not reloads:
        return [(DEFAULT_FIRST_SOLUTION, DEFAULT_METAHEURISTIC, False, 1.0)]
    # the construction + GLS run settles within seconds (same plan at 30 s and 60 s on Kim's
    # 102/277-stop days), the ILS run keeps improving: most of the time goes to the ILS. The
    # construction runs first: it always yields a plan, while SAVINGS on a large day may not
    # finish its first solution in time (seen at 1,000 stops on a loaded machine)
    return [
        (DEFAULT_FIRST_SOLUTION, "GUIDED_LOCAL_SEARCH", True, 0.35),
        (DEFAULT_FIRST_SOLUTION, DEFAULT_METAHEURISTIC, False, 0.65),
    ]


def _run(
    builder: _Builder,
    first: str,
    meta: str,
    construct: bool,
    time_limit_s: float,
    max_iterations: int | None,
    opts: dict[str, Any],
) -> tuple[list[Route] | None, list[int], dict[str, Any]]:
    """One OR-Tools search on a fresh model: (routes or None, dropped stop indices, stats)."""
    t0 = time.perf_counter()
    problem = builder.problem
    manager, routing = builder.build()
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = _enum(
        routing_enums_pb2.FirstSolutionStrategy, first, "first_solution"
    )
    use_ils = meta == "ITERATED_LOCAL_SEARCH"
    if use_ils:
        _configure_ils(search, opts)
    else:
        search.local_search_metaheuristic = _enum(
            routing_enums_pb2.LocalSearchMetaheuristic, meta, "metaheuristic"
        )
    if "gls_lambda" in opts:
        search.guided_local_search_lambda_coefficient = float(opts["gls_lambda"])
    search.log_search = bool(opts.get("log_search", False))
    if max_iterations is not None:
        search.solution_limit = max_iterations
    stats: dict[str, Any] = {
        "first_solution": "CONSTRUCTION" if construct else first,
        "metaheuristic": meta,
        "nodes": len(builder.nodes),
        "unload_copies": {k: len(v) for k, v in builder.copy_nodes.items()},
        "cost_scale": builder.scale,
    }
    start: pywrapcp.Assignment | None = None
    if construct:
        share = float(opts.get("construct_share", 0.25))
        routes0 = builder.initial_routes(time.perf_counter() + share * time_limit_s)
        start = routing.ReadAssignmentFromRoutes(routes0, True)
        stats["construct_stops"] = sum(
            1 for r in routes0 for i in r if builder.nodes.kind[manager.IndexToNode(i)] == "stop"
        )
        if start is None:
            logger.warning("OR-Tools rejected the constructed routes; using its own start")
    # OR-Tools overruns its limit by a few percent on large models (a move in progress ends)
    left = max(0.05, TIME_SAFETY * time_limit_s - (time.perf_counter() - t0))
    search.time_limit.FromMilliseconds(max(1, int(left * 1000)))
    if start is not None:
        if use_ils:  # OR-Tools' ILS cannot start from a given solution: GLS from it instead
            search.local_search_metaheuristic = (
                routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
            )
            stats["metaheuristic"] = "GUIDED_LOCAL_SEARCH"
        assignment = routing.SolveFromAssignmentWithParameters(start, search)
    elif use_ils:
        assignment = routing.SolveWithIteratedLocalSearch(search)
    else:
        assignment = routing.SolveWithParameters(search)
    stats["status"] = int(routing.status())
    stats["seconds"] = round(time.perf_counter() - t0, 2)
    if assignment is None:
        return None, [], stats
    stats["objective_scaled"] = assignment.ObjectiveValue()
    # a vehicle that only visits unload copies is not used (the verifier demands a stop)
    routes = [_polish(problem, r) for r in builder.routes(assignment) if r.stop_ids]
    dropped = builder.dropped_stops(assignment)
    n_copies = sum(len(v) for v in builder.copy_nodes.values())
    stats["unload_copies_used"] = builder.copies_used(assignment)
    if n_copies and stats["unload_copies_used"] >= n_copies:
        logger.info("all %d unload copies used; more trips might help", n_copies)
    return routes, dropped, stats


__all__ = ["OrToolsEngine"]
