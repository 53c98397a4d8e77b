"""The PyVRP engine's model: a `RoutingProblem` as PyVRP ``ProblemData`` (internal to
`sanitation.routing.pyvrp_engine`, whose docstring describes the mapping).

PyVRP locations are, in order: one start depot per vehicle depot, one reload depot per unload
site, one virtual end depot per vehicle type ("final unload, then home"; left out when the route
may simply end at its start depot), then one location per candidate stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyvrp
from numpy.typing import NDArray
from pyvrp import Client, Depot, Location, ProblemData
from pyvrp import VehicleType as PVehicleType
from pyvrp._pyvrp import Activity, ActivityType

from sanitation.routing.problem import Lunch, RoutingProblem, VehicleType
from sanitation.routing.screen import Screening

if TYPE_CHECKING:
    from sanitation.routing.solution import RoutingSolution

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: PyVRP's default ``max_reloads`` (no limit)
UNLIMITED_RELOADS = 2**64 - 1


@dataclass(frozen=True, slots=True)
class PyVRPData:
    """PyVRP's problem data and how its indices map back to the problem's."""

    data: ProblemData
    client_stop: list[int]  # pyvrp client index -> problem stop index
    depot_site: list[str | None]  # pyvrp depot index -> site id (None for start/virtual end)
    vt_index: list[int]  # pyvrp vehicle type -> problem vehicle type index


def lunch_close(close_s: int, open_s: int, lunch: Lunch | None) -> int:
    """Closing time tightened so that a lunch inserted later cannot make it late."""
    if lunch is None or close_s <= lunch.window_start_s:
        return close_s
    return max(open_s, lunch.window_start_s, close_s - lunch.duration_s)


def cny_scale_for_integral_costs(problem: RoutingProblem) -> int:
    """The smallest power of ten (<= 1e6) making every unit cost in CNY (nearly) an integer.

    PyVRP's costs are integers: fixed costs, costs per metre and per second are multiplied by
    this scale and rounded.
    """
    values: list[float] = []
    for v in problem.vehicle_types:
        values += [v.cost_cny_per_km / 1000.0, v.cost_cny_per_h / 3600.0, v.fixed_cost_cny]
    values = [x for x in values if x > 0]
    for exp in range(7):
        scale: int = 10**exp
        if all(
            abs(x * scale - round(x * scale)) <= 1e-3 * x * scale and round(x * scale) >= 1
            for x in values
        ):
            return scale
    return 10**6


def trip_capacity(vt: VehicleType, *, relax: bool = False) -> tuple[int, int | None]:
    """(capacity per trip, max trips) used in PyVRP, honouring the daily load limit.

    With ``relax`` the trips keep the full capacity (the daily limit is then checked outside).
    """
    cap, trips = vt.capacity_kg, vt.max_trips
    day = vt.max_load_per_day_kg
    if day is not None and (trips is None or day < cap * trips):
        if relax:
            k = math.ceil(day / cap) if cap > 0 else 1
            return min(cap, day), k if trips is None else min(k, trips)
        if day <= cap:
            return day, 1 if trips is None else min(trips, 1)
        k = math.ceil(day / cap) if cap > 0 else 1
        if trips is not None:
            k = min(k, trips)
        return day // k, k
    return cap, trips


def ends_at_depot(problem: RoutingProblem, v: VehicleType) -> bool:
    """Whether the final unload can be the depot itself at no cost (single trip, the depot is
    an unload site with no unload time, open the whole shift): then the route simply ends at the
    start depot, as in a plain CVRP, and the scheduler adds the zero-cost unload there."""
    if v.max_trips != 1 or v.depot not in v.unload_sites:
        return False
    site = problem.site(v.depot)
    return site.unload_s == 0 and site.open_s <= v.shift_start_s and site.close_s >= v.shift_end_s


@dataclass
class _Depots:
    """PyVRP depots and locations under construction."""

    src: list[int] = field(default_factory=list)  # pyvrp location -> problem location (-1 virtual)
    depots: list[Depot] = field(default_factory=list)
    depot_site: list[str | None] = field(default_factory=list)
    start_depot: dict[str, int] = field(default_factory=dict)  # vehicle depot id -> pyvrp depot
    reload_depot: dict[str, int] = field(default_factory=dict)  # unload site id -> pyvrp depot
    end_depot: dict[int, int] = field(default_factory=dict)  # vehicle type -> pyvrp end depot
    end_loc: dict[int, int] = field(default_factory=dict)  # vehicle type -> virtual end location

    def add_loc(self, loc: int) -> int:
        """A new PyVRP location standing for problem location ``loc`` (-1: virtual)."""
        self.src.append(loc)
        return len(self.src) - 1

    def add(self, depot: Depot, site: str | None) -> int:
        """Append a depot (standing for ``site``, or None); return its index."""
        self.depots.append(depot)
        self.depot_site.append(site)
        return len(self.depots) - 1


def _depots(problem: RoutingProblem, vts: list[tuple[int, VehicleType]], horizon: int) -> _Depots:
    """Start depots, reload depots (site hours tightened for lunch) and virtual end depots."""
    out = _Depots()
    lunches = [v.lunch for _, v in vts if v.lunch is not None]
    for _, v in vts:
        if v.depot not in out.start_depot:
            site = problem.site(v.depot)
            depot = Depot(out.add_loc(site.location), 0, horizon, 0, name=f"start:{site.id}")
            out.start_depot[v.depot] = out.add(depot, None)
    for _, v in vts:
        if v.max_trips == 1:
            continue  # no reloads: only the final unload, modelled by the end depot
        for u in v.unload_sites:
            if u in out.reload_depot:
                continue
            site = problem.site(u)
            close = site.close_s
            for lunch in lunches:
                close = lunch_close(close, site.open_s, lunch)
            depot = Depot(out.add_loc(site.location), site.open_s, close, site.unload_s, name=u)
            out.reload_depot[u] = out.add(depot, u)
    for i, v in vts:
        if ends_at_depot(problem, v):
            out.end_depot[i] = out.start_depot[v.depot]
            continue
        b = v.lunch.duration_s if v.lunch is not None else 0
        out.end_loc[i] = out.add_loc(-1)
        depot = Depot(out.end_loc[i], 0, max(0, v.shift_end_s - b), 0, name=f"end:{v.id}")
        out.end_depot[i] = out.add(depot, None)
    return out


def _clients(
    problem: RoutingProblem, candidates: list[int], scale: int, depots: _Depots
) -> tuple[list[Client], list[int]]:
    """Optional clients with priority prizes (windows tightened for lunch); their locations."""
    base_prize = math.ceil(problem.route_cost_bound_cny * scale) + 1
    base_prize = min(base_prize, 1 << 40)
    clients: list[Client] = []
    client_loc: list[int] = []
    for si in candidates:
        s = problem.stops[si]
        close = s.tw_close_s
        for v in problem.vehicle_types:
            if v.lunch is not None and s.allows(v.id):
                close = lunch_close(close, s.tw_open_s, v.lunch)
        loc = depots.add_loc(s.location)
        client_loc.append(loc)
        clients.append(
            Client(
                loc,
                pickup=[s.load_kg],
                service_duration=s.service_s,
                tw_early=s.tw_open_s,
                tw_late=close,
                prize=min(base_prize * s.priority, 1 << 42),
                required=False,
                name=s.id,
            )
        )
    return clients, client_loc


def _vehicle_type(
    problem: RoutingProblem,
    i: int,
    v: VehicleType,
    depots: _Depots,
    scale: int,
    *,
    profile: int,
    relax_day_limit: bool,
) -> PVehicleType:
    """The PyVRP vehicle type of problem vehicle type ``i`` (lunch time reserved)."""
    b = v.lunch.duration_s if v.lunch is not None else 0
    cap, trips = trip_capacity(v, relax=relax_day_limit)
    tw_late = max(v.shift_start_s, v.shift_end_s - b)
    # leave before the latest lunch start; never after the latest return (PyVRP rejects that:
    # a shift that ends before the lunch window cannot hold the break, and the re-timing says so)
    start_late = v.shift_end_s
    if v.lunch is not None:
        start_late = min(start_late, v.lunch.latest_start_s)
    start_late = min(max(v.shift_start_s, start_late), tw_late)
    fixed = v.fixed_cost_cny + problem.vehicle_weight
    return PVehicleType(
        num_available=v.count,
        capacity=[cap],
        start_depot=depots.start_depot[v.depot],
        end_depot=depots.end_depot[i],
        fixed_cost=round(fixed * scale),
        tw_early=v.shift_start_s,
        tw_late=tw_late,
        shift_duration=max(0, v.max_route_duration_s - b),
        unit_distance_cost=round(v.cost_cny_per_km * scale / 1000.0),
        unit_duration_cost=round(v.cost_cny_per_h * scale / 3600.0),
        profile=profile,
        start_late=start_late,
        reload_depots=[] if trips == 1 else [depots.reload_depot[u] for u in v.unload_sites],
        max_reloads=UNLIMITED_RELOADS if trips is None else max(0, trips - 1),
        name=v.id,
    )


def build_data(
    problem: RoutingProblem, screening: Screening, *, relax_day_limit: bool = False
) -> PyVRPData:
    """The PyVRP data of ``problem`` restricted to the screened candidate stops.

    A vehicle type may serve a candidate when the screening found that it could serve it alone
    (which implies the stop's access class allows it). With ``relax_day_limit`` the trips keep
    the full capacity (see `trip_capacity`).
    """
    candidates = list(screening.candidates)
    scale = cny_scale_for_integral_costs(problem)
    horizon = int(problem.horizon_s or 86_400)
    vts = [(i, v) for i, v in enumerate(problem.vehicle_types) if v.count > 0]
    depots = _depots(problem, vts, horizon)
    clients, client_loc = _clients(problem, candidates, scale, depots)

    # one PyVRP profile per (travel profile, set of forbidden stops)
    src_arr = np.asarray(depots.src)
    real = src_arr >= 0
    big_t = 4 * horizon + 1_000_000
    profile_key: dict[tuple[int, frozenset[int]], int] = {}
    dist_mats: list[IntArray] = []
    dur_mats: list[IntArray] = []
    vehicle_types: list[PVehicleType] = []
    for i, v in vts:
        forbidden = frozenset(
            c for c, si in enumerate(candidates) if i not in screening.vehicle_types[si]
        )
        key = (v.profile, forbidden)
        if key not in profile_key:
            profile_key[key] = len(dist_mats)
            dist_m, dur_m = _matrices(problem, v.profile, src_arr, real, vts, depots.end_loc)
            _forbid(dist_m, dur_m, [client_loc[c] for c in forbidden], big_t)
            dist_mats.append(dist_m)
            dur_mats.append(dur_m)
        vehicle_types.append(
            _vehicle_type(
                problem,
                i,
                v,
                depots,
                scale,
                profile=profile_key[key],
                relax_day_limit=relax_day_limit,
            )
        )
    locations = [Location(0.0, 0.0) for _ in depots.src]
    # PyVRP's stub types the matrices as ``ndarray[int, ...]`` (an int where numpy has a shape
    # tuple), which no real array matches
    data = ProblemData(
        locations,
        clients,
        depots.depots,
        vehicle_types,
        dist_mats,  # type: ignore[arg-type]
        dur_mats,  # type: ignore[arg-type]
    )
    return PyVRPData(data, list(candidates), depots.depot_site, [i for i, _ in vts])


def _forbid(dist_m: IntArray, dur_m: IntArray, locs: list[int], big_t: int) -> None:
    """Make ``locs`` unreachable in the matrices (a travel time beyond the horizon)."""
    big_d = int(dist_m.max(initial=0)) * 4 + 1
    for loc in locs:
        dur_m[loc, :] = big_t
        dur_m[:, loc] = big_t
        dist_m[loc, :] = big_d
        dist_m[:, loc] = big_d
        dur_m[loc, loc] = 0
        dist_m[loc, loc] = 0


def _matrices(
    problem: RoutingProblem,
    profile: int,
    src: IntArray,
    real: BoolArray,
    vts: list[tuple[int, VehicleType]],
    end_loc: dict[int, int],
) -> tuple[IntArray, IntArray]:
    """Distance and duration matrices over PyVRP locations for one travel profile."""
    dist = problem.distance_m[profile]
    dur = problem.duration_s[profile]
    idx = np.where(real, src, 0)
    dist_m = dist[np.ix_(idx, idx)].astype(np.int64)
    dur_m = dur[np.ix_(idx, idx)].astype(np.int64)
    for i, v in vts:
        if i not in end_loc:
            continue
        e = end_loc[i]
        depot = problem.site(v.depot).location
        best_cost = np.full(len(src), np.inf)
        col_d = np.zeros(len(src), dtype=np.int64)
        col_t = np.zeros(len(src), dtype=np.int64)
        for u in v.unload_sites:
            site = problem.site(u)
            d = dist[idx, site.location] + dist[site.location, depot]
            t = dur[idx, site.location] + site.unload_s + dur[site.location, depot]
            c = v.cost_cny_per_km * d / 1000.0 + v.cost_cny_per_h * t / 3600.0 + 1e-9 * d
            better = c < best_cost
            best_cost = np.where(better, c, best_cost)
            col_d = np.where(better, d, col_d)
            col_t = np.where(better, t, col_t)
        dist_m[:, e] = col_d
        dur_m[:, e] = col_t
        dist_m[e, :] = 0
        dur_m[e, :] = 0
    # virtual ends are never left and never reached from one another
    for e in end_loc.values():
        for e2 in end_loc.values():
            dist_m[e, e2] = 0
            dur_m[e, e2] = 0
    return dist_m, dur_m


def initial_solution(
    problem: RoutingProblem, mapping: PyVRPData, data: ProblemData, start: RoutingSolution
) -> pyvrp.Solution | None:
    """``start``'s routes as a PyVRP solution of ``data`` (built from ``mapping``), or None.

    Stops that are not candidates here are left out, and so are unloads at sites without a
    reload depot, routes of vehicle types missing here and routes beyond a type's count; the
    final unload is the route's end depot. The result may be infeasible (PyVRP repairs it).
    """
    client_of = {problem.stops[si].id: c for c, si in enumerate(mapping.client_stop)}
    reload_of = {site: d for d, site in enumerate(mapping.depot_site) if site is not None}
    type_of = {problem.vehicle_types[i].id: k for k, i in enumerate(mapping.vt_index)}
    used: dict[int, int] = {}
    routes = []
    for route in start.routes:
        k = type_of.get(route.vehicle_type)
        if k is None or used.get(k, 0) >= data.vehicle_type(k).num_available:
            continue
        reloads = set(data.vehicle_type(k).reload_depots)
        visits = (
            route.visits[:-1]
            if route.visits and route.visits[-1].kind == "unload"
            else route.visits
        )
        activities: list[Activity] = []
        for visit in visits:
            if visit.kind == "stop" and visit.id in client_of:
                activities.append(Activity(ActivityType.CLIENT, client_of[visit.id]))
            elif (
                visit.kind == "unload"
                and reload_of.get(visit.id) in reloads
                and activities
                and activities[-1].is_client()
            ):
                activities.append(Activity(ActivityType.DEPOT, reload_of[visit.id]))
        while activities and not activities[-1].is_client():
            activities.pop()
        if not activities:
            continue
        try:
            routes.append(pyvrp.Route(data, activities, k))
        except (ValueError, IndexError, RuntimeError):
            continue
        used[k] = used.get(k, 0) + 1
    if not routes:
        return None
    try:
        return pyvrp.Solution(data, routes)
    except (ValueError, IndexError, RuntimeError):
        return None
