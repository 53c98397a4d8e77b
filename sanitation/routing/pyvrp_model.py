"""The PyVRP engine's model: a `RoutingProblem` as PyVRP ``ProblemData`` (internal to
`sanitation.routing.pyvrp_engine`, whose docstring describes the mapping).

PyVRP locations are, in order: one start depot per vehicle depot, one reload depot per unload
site, one virtual end depot per vehicle type ("final unload, then home"; left out when the route
may simply end at its start depot), then one location per candidate stop.

Every window is in lunch-free time (`sanitation.routing.schedule.lunch_free_window`), so every
route PyVRP returns as feasible can be timed with the break. The final unload: a vehicle type's
unload site is *safe* when its (lunch-free) hours cannot bind a final unload (open at the shift
start, open until the latest arrival from which the truck is still home in time); one virtual end
goes through the cheapest safe site. Each other site gets a PyVRP vehicle type of its own ending
at "unload there, then home", whose end window carries the site's hours (waiting at the end =
waiting at the site). Copies share the type's count (round robin) unless the count cannot bind
(at least one truck per stop the type may serve).

Sorted streams: one load dimension per stream of the stops (`RoutingProblem.streams`; one
dimension in a county that does not sort); a client's pickup is its kg in its stream's dimension,
a vehicle type's capacity in a dimension is its compartment's for that stream. A PyVRP reload
depot empties *every* dimension, so a vehicle type unloads (reload or final) at the sites
accepting every stream it carries among the stops' (`pyvrp_unload_sites`), or, when it has none
(say a two-compartment truck whose perishable waste goes to a composting plant and its residual
waste to the transfer station), at *unload chains* (`unload_chains`): fixed sequences of its
sites that together take every such stream. A chain is one PyVRP depot at a virtual location,
per travel profile: arriving costs the travel to its first site plus the legs between its sites,
leaving costs the travel from its last site, its service is every site's unload plus the inner
legs, and its window keeps every site within its (lunch-free) hours when the chain is driven
without waiting (`unload_window`: the intersection of each site's window shifted by its offset,
conservative where waiting at a later site would do). A type whose chains would be longer than
`sanitation.routing.schedule.MAX_FINAL_CHAIN` (or than its ``max_trips``) is left out of the
model, and stops only it could serve are reported `UnservedReason.MIXED_UNLOAD`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyvrp
from numpy.typing import NDArray
from pyvrp import Client, Depot, Location, ProblemData
from pyvrp import VehicleType as PVehicleType
from pyvrp._pyvrp import Activity, ActivityType

from sanitation.routing.problem import Lunch, RoutingProblem, VehicleType
from sanitation.routing.schedule import MAX_FINAL_CHAIN, lunch_free_window
from sanitation.routing.screen import Screening

if TYPE_CHECKING:
    from sanitation.routing.solution import Route, RoutingSolution

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: PyVRP's default ``max_reloads`` (no limit)
UNLIMITED_RELOADS = 2**64 - 1

#: the sites of one PyVRP unload (a reload or final depot) in order: one site, or a chain
Unload = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PyVRPData:
    """PyVRP's problem data and how its indices map back to the problem's."""

    data: ProblemData
    client_stop: list[int]  # pyvrp client index -> problem stop index
    #: pyvrp depot index -> the sites its visit stands for, in order (empty: start/virtual end)
    depot_sites: list[Unload]
    vt_index: list[int]  # pyvrp vehicle type -> problem vehicle type index
    #: per pyvrp vehicle type: the sites of its final unload (None: the cheapest safe one)
    vt_final: list[Unload | None] = field(default_factory=list)
    #: per pyvrp vehicle type: the chains its end stands for (empty: single sites, which the
    #: timing re-chooses)
    final_chains: list[list[Unload]] = field(default_factory=list)
    #: candidate stops (problem indices) left out: no start in their window is lunch-free safe
    lunch_excluded: list[int] = field(default_factory=list)
    #: candidate stops left out: only vehicle types without a site for all their streams
    stream_excluded: list[int] = field(default_factory=list)


def lunch_free(
    open_s: int, close_s: int, service_s: int, lunches: list[Lunch]
) -> tuple[int, int] | None:
    """The window in lunch-free time for every lunch of ``lunches`` (their intersection)."""
    if not lunches:
        return (open_s, close_s) if open_s <= close_s else None
    lo, hi = -(1 << 62), 1 << 62
    for lunch in lunches:
        w = lunch_free_window(open_s, close_s, service_s, lunch)
        if w is None:
            return None
        lo, hi = max(lo, w[0]), min(hi, w[1])
    return (lo, hi) if lo <= hi else None


def pyvrp_unload_sites(problem: RoutingProblem, v: VehicleType) -> list[str]:
    """``v``'s unload sites accepting every stream it carries among the stops' (a PyVRP reload
    empties every load dimension), in ``unload_sites`` order."""
    streams = v.streams.intersection(problem.streams)
    return [u for u in v.unload_sites if all(problem.site(u).accepts(st) for st in streams)]


def unload_chains(problem: RoutingProblem, v: VehicleType) -> list[Unload]:
    """``v``'s unload chains, when none of its sites accepts every stream it carries among the
    stops' (none otherwise).

    One chain per anchor (each of ``v``'s sites accepting such a stream): the anchor, then
    repeatedly the nearest site (travel time from the last, ties in ``unload_sites`` order)
    taking a stream not yet taken, until every stream is. Chains longer than `MAX_FINAL_CHAIN`
    or ``max_trips`` (each site is an unload) are left out, and repeats.
    """
    if pyvrp_unload_sites(problem, v):
        return []
    streams = v.streams.intersection(problem.streams)
    dur = problem.duration_s[v.profile]
    sites = [
        problem.site(u)
        for u in v.unload_sites
        if any(problem.site(u).accepts(st) for st in streams)
    ]
    longest = min(MAX_FINAL_CHAIN, v.max_trips or MAX_FINAL_CHAIN)
    out: list[Unload] = []
    for anchor in sites:
        chain = [anchor]
        left = {st for st in streams if not anchor.accepts(st)}
        while left:
            here = chain[-1].location
            options = [s for s in sites if s not in chain and any(s.accepts(st) for st in left)]
            if not options:
                break
            nxt = min(options, key=lambda s: int(dur[here, s.location]))
            chain.append(nxt)
            left = {st for st in left if not nxt.accepts(st)}
        ids = tuple(s.id for s in chain)
        if not left and len(ids) <= longest and ids not in out:
            out.append(ids)
    return out


def pyvrp_unloads(problem: RoutingProblem, v: VehicleType) -> list[Unload]:
    """Where ``v`` unloads in the PyVRP model: each of `pyvrp_unload_sites` alone, or, when
    there is none, its `unload_chains`."""
    single = pyvrp_unload_sites(problem, v)
    return [(u,) for u in single] if single else unload_chains(problem, v)


@dataclass(frozen=True, slots=True)
class UnloadTiming:
    """An unload's sites driven in order without waiting, on one travel profile."""

    first: int  # location of the first site
    last: int  # location of the last site
    inner_m: int  # metres between the sites
    offsets_s: tuple[int, ...]  # each site's start after the first's
    service_s: int  # from the first site's start to the last's end


def unload_timing(problem: RoutingProblem, sites: Unload, profile: int) -> UnloadTiming:
    """The `UnloadTiming` of ``sites`` on travel profile ``profile``."""
    dur, dist = problem.duration_s[profile], problem.distance_m[profile]
    t, metres, offsets = 0, 0, []
    here = problem.site(sites[0])
    for u in sites:
        site = problem.site(u)
        t += int(dur[here.location, site.location])
        metres += int(dist[here.location, site.location])
        offsets.append(t)
        t += site.unload_s
        here = site
    first = problem.site(sites[0]).location
    return UnloadTiming(first, here.location, metres, tuple(offsets), t)


def unload_window(
    problem: RoutingProblem, sites: Unload, profile: int, lunches: list[Lunch]
) -> tuple[int, int] | None:
    """When the first of ``sites`` may start (lunch-free time) so that every site starts within
    its lunch-free hours (for every lunch of ``lunches``) when they are driven without waiting.

    The intersection of each site's window less its offset: conservative, as waiting at a
    later site could make an earlier start feasible. A single site: its lunch-free hours.
    """
    timing = unload_timing(problem, sites, profile)
    lo, hi = -(1 << 62), 1 << 62
    for u, offset in zip(sites, timing.offsets_s, strict=True):
        site = problem.site(u)
        w = lunch_free(site.open_s, site.close_s, site.unload_s, lunches)
        if w is None:
            return None
        lo, hi = max(lo, w[0] - offset), min(hi, w[1] - offset)
    return (lo, hi) if lo <= hi else None


def safe_finals(problem: RoutingProblem, v: VehicleType) -> list[Unload]:
    """``v``'s unloads (`pyvrp_unloads`) whose hours cannot bind a final unload in lunch-free
    time."""
    lunch = v.lunch
    b = lunch.duration_s if lunch is not None else 0
    dur = problem.duration_s[v.profile]
    depot = problem.site(v.depot).location
    out = []
    for unit in pyvrp_unloads(problem, v):
        w = unload_window(problem, unit, v.profile, [] if lunch is None else [lunch])
        timing = unload_timing(problem, unit, v.profile)
        latest = v.shift_end_s - b - timing.service_s - int(dur[timing.last, depot])
        if w is not None and w[0] <= v.shift_start_s and w[1] >= latest:
            out.append(unit)
    return out


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


def trip_capacity(
    vt: VehicleType, *, relax: bool = False, total_kg: int | None = None
) -> tuple[int, int | None]:
    """(capacity per trip, max trips) used in PyVRP, honouring the daily load limit.

    With ``relax`` the trips keep the full capacity (the daily limit is then checked outside).
    A daily limit of at least ``total_kg`` (the load of every stop to model) cannot bind and is
    ignored.
    """
    cap, trips = vt.capacity_kg, vt.max_trips
    day = vt.max_load_per_day_kg
    if day is not None and total_kg is not None and day >= total_kg:
        day = None
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
    if v.max_trips != 1 or v.depot not in pyvrp_unload_sites(problem, v):
        return False
    if v.start_site_id != v.depot or v.initial_load_kg:  # a truck already out: a real end
        return False
    if v.lunch is not None:  # the end must wait for the lunch window (see `_depots`)
        return False
    site = problem.site(v.depot)
    return site.unload_s == 0 and site.open_s <= v.shift_start_s and site.close_s >= v.shift_end_s


def _reload_key(v: VehicleType, unit: Unload) -> tuple[Unload, int | None]:
    """A reload depot's key: a single site is shared by every type, a chain is per travel
    profile (its service and window hold its inner legs)."""
    return unit, (v.profile if len(unit) > 1 else None)


@dataclass
class _Depots:
    """PyVRP depots and locations under construction."""

    src: list[int] = field(default_factory=list)  # pyvrp location -> problem location (-1 virtual)
    depots: list[Depot] = field(default_factory=list)
    depot_sites: list[Unload] = field(default_factory=list)
    start_depot: dict[str, int] = field(default_factory=dict)  # start site id -> pyvrp depot
    #: (unload, profile of a chain) -> pyvrp depot
    reload_depot: dict[tuple[Unload, int | None], int] = field(default_factory=dict)
    chain_at: dict[int, Unload] = field(default_factory=dict)  # virtual location -> its chain
    #: (vehicle type, final unload or None for the safe ones) -> pyvrp end depot / its location
    end_depot: dict[tuple[int, Unload | None], int] = field(default_factory=dict)
    end_loc: dict[tuple[int, Unload | None], int] = field(default_factory=dict)
    ends: dict[int, list[Unload | None]] = field(default_factory=dict)  # vehicle type -> finals
    safe: dict[int, list[Unload]] = field(default_factory=dict)  # vehicle type -> safe finals

    def add_loc(self, loc: int) -> int:
        """A new PyVRP location standing for problem location ``loc`` (-1: virtual)."""
        self.src.append(loc)
        return len(self.src) - 1

    def add(self, depot: Depot, sites: Unload = ()) -> int:
        """Append a depot (standing for ``sites``, or none); return its index."""
        self.depots.append(depot)
        self.depot_sites.append(sites)
        return len(self.depots) - 1


def _depots(problem: RoutingProblem, vts: list[tuple[int, VehicleType]], horizon: int) -> _Depots:
    """Start depots, reload depots (site hours in lunch-free time; a chain at a virtual
    location) and virtual end depots."""
    out = _Depots()
    lunches = [v.lunch for _, v in vts if v.lunch is not None]
    for i, v in vts:
        out.safe[i] = safe_finals(problem, v)
        start_id = v.start_site_id  # the depot, or where a truck already out stands
        if start_id not in out.start_depot:
            site = problem.site(start_id)
            depot = Depot(out.add_loc(site.location), 0, horizon, 0, name=f"start:{site.id}")
            out.start_depot[start_id] = out.add(depot)
    for _, v in vts:
        if v.max_trips == 1:
            continue  # no reloads: only the final unload, modelled by the end depots
        for unit in pyvrp_unloads(problem, v):
            key = _reload_key(v, unit)
            if key in out.reload_depot:
                continue
            w = unload_window(problem, unit, v.profile, lunches)
            if w is None:
                continue  # open only when a truck may be at lunch: no safe unload there
            chain = len(unit) > 1
            loc = out.add_loc(-1 if chain else problem.site(unit[0]).location)
            if chain:
                out.chain_at[loc] = unit
            service = unload_timing(problem, unit, v.profile).service_s
            depot = Depot(loc, w[0], w[1], service, name="+".join(unit))
            out.reload_depot[key] = out.add(depot, unit)
    for i, v in vts:
        out.ends[i] = []
        if ends_at_depot(problem, v):
            out.ends[i].append(None)
            out.end_depot[(i, None)] = out.start_depot[v.depot]
            continue
        finals: list[Unload | None] = [None] if out.safe[i] else []
        finals += [u for u in pyvrp_unloads(problem, v) if u not in out.safe[i]]
        for final in finals:
            window = _end_window(problem, v, final)
            if window is None:
                continue
            loc = out.add_loc(-1)
            name = f"end:{v.id}" if final is None else f"end:{v.id}@{'+'.join(final)}"
            out.end_loc[(i, final)] = loc
            out.end_depot[(i, final)] = out.add(Depot(loc, *window, 0, name=name))
            out.ends[i].append(final)
    return out


def _end_window(
    problem: RoutingProblem, v: VehicleType, final: Unload | None
) -> tuple[int, int] | None:
    """The arrival window of ``v``'s virtual end through ``final`` (None: the safe ones).

    The latest return shrinks by the lunch, and with a lunch the route may not end before the
    window opens (it waits; see `lunch_free_window`). Through an unsafe unload the window
    carries its lunch-free hours (`unload_window`) plus its service and the drive home.
    """
    b = v.lunch.duration_s if v.lunch is not None else 0
    late = max(0, v.shift_end_s - b)
    early = min(v.lunch.window_start_s, late) if v.lunch is not None else 0
    if final is None:
        return early, late
    w = unload_window(problem, final, v.profile, [] if v.lunch is None else [v.lunch])
    if w is None:
        return None
    timing = unload_timing(problem, final, v.profile)
    tail = timing.service_s + int(
        problem.duration_s[v.profile][timing.last, problem.site(v.depot).location]
    )
    early, late = max(early, w[0] + tail), min(late, w[1] + tail)
    return (early, late) if early <= late else None


def _clients(
    problem: RoutingProblem, candidates: list[int], scale: int, depots: _Depots, dims: list[str]
) -> tuple[list[Client], list[int], list[int], list[int]]:
    """Optional clients with priority prizes (windows in lunch-free time); their locations,
    the stops they stand for and the candidates left out (no lunch-free safe start)."""
    base_prize = math.ceil(problem.route_cost_bound_cny * scale) + 1
    base_prize = min(base_prize, 1 << 40)
    clients: list[Client] = []
    client_loc: list[int] = []
    kept: list[int] = []
    excluded: list[int] = []
    for si in candidates:
        s = problem.stops[si]
        lunches = [v.lunch for v in problem.vehicle_types if v.lunch is not None and s.allows(v.id)]
        w = lunch_free(s.tw_open_s, s.tw_close_s, s.service_s, lunches)
        if w is None:
            excluded.append(si)
            continue
        loc = depots.add_loc(s.location)
        client_loc.append(loc)
        kept.append(si)
        clients.append(
            Client(
                loc,
                pickup=[s.load_kg if s.stream == d else 0 for d in dims],
                service_duration=s.service_s,
                tw_early=w[0],
                tw_late=w[1],
                prize=min(base_prize * s.priority, 1 << 42),
                required=False,
                name=s.id,
            )
        )
    return clients, client_loc, kept, excluded


def _vehicle_type(
    problem: RoutingProblem,
    i: int,
    v: VehicleType,
    depots: _Depots,
    scale: int,
    *,
    profile: int,
    relax_day_limit: bool,
    total_kg: int,
    final: Unload | None,
    count: int,
    dims: list[str],
) -> PVehicleType:
    """The PyVRP vehicle type of problem vehicle type ``i`` ending through ``final`` (lunch time
    reserved), with ``count`` vehicles."""
    b = v.lunch.duration_s if v.lunch is not None else 0
    cap, trips = trip_capacity(v, relax=relax_day_limit, total_kg=total_kg)
    tw_late = max(v.shift_start_s, v.shift_end_s - b)
    # leave before the latest lunch start; never after the latest return (PyVRP rejects that:
    # a shift that ends before the lunch window cannot hold the break, and the re-timing says so)
    start_late = v.shift_end_s
    if v.lunch is not None:
        start_late = min(start_late, v.lunch.latest_start_s)
    start_late = min(max(v.shift_start_s, start_late), tw_late)
    fixed = v.fixed_cost_cny + problem.vehicle_weight
    units = pyvrp_unloads(problem, v)
    reloads = [
        depots.reload_depot[key]
        for key in (_reload_key(v, u) for u in units)
        if key in depots.reload_depot
    ]
    longest = max(len(u) for u in units)
    if trips is not None and longest > 1 and v.max_trips is not None:
        trips = min(trips, v.max_trips // longest)  # each site of a chain is an unload
    if trips == 1:
        reloads = []
    return PVehicleType(
        num_available=count,
        capacity=_dimension_capacities(v, cap, dims),
        start_depot=depots.start_depot[v.start_site_id],
        end_depot=depots.end_depot[(i, final)],
        fixed_cost=round(fixed * scale),
        tw_early=v.shift_start_s,
        tw_late=tw_late,
        shift_duration=max(0, v.max_route_duration_s - b),
        unit_distance_cost=round(v.cost_cny_per_km * scale / 1000.0),
        unit_duration_cost=round(v.cost_cny_per_h * scale / 3600.0),
        profile=profile,
        start_late=start_late,
        reload_depots=reloads,
        max_reloads=UNLIMITED_RELOADS if trips is None else max(0, trips - 1),
        name=v.id if final is None else f"{v.id}@{'+'.join(final)}",
        **_initial_load(v, cap, dims),
    )


def _dimension_capacities(v: VehicleType, cap: int, dims: list[str]) -> list[int]:
    """Each load dimension's capacity for a trip of at most ``cap`` kg: its compartment's, each
    scaled by ``cap / capacity_kg`` when a daily limit makes the trip smaller than the body
    (PyVRP has no bound on the sum of dimensions, so the scaled ones keep it; one dimension:
    ``cap``)."""
    if cap >= v.capacity_kg:
        return [v.capacity_for_kg(d) for d in dims]
    return [v.capacity_for_kg(d) * cap // v.capacity_kg for d in dims]


def _initial_load(v: VehicleType, cap: int, dims: list[str]) -> dict[str, Any]:
    """PyVRP's ``initial_load`` keyword for a truck already out with waste on board (none
    otherwise, so the model of a plain day is unchanged); at most the modelled trip capacity."""
    if v.initial_load_kg == 0:
        return {}
    kg = min(v.initial_load_kg, cap)
    return {"initial_load": [kg if d == v.initial_stream else 0 for d in dims]}


def build_data(
    problem: RoutingProblem, screening: Screening, *, relax_day_limit: bool = False
) -> PyVRPData:
    """The PyVRP data of ``problem`` restricted to the screened candidate stops.

    A vehicle type may serve a candidate when the screening found that it could serve it alone
    (which implies the stop's access class allows it). With ``relax_day_limit`` the trips keep
    the full capacity (see `trip_capacity`).
    """
    scale = cny_scale_for_integral_costs(problem)
    horizon = int(problem.horizon_s or 86_400)
    vts = [
        (i, v)
        for i, v in enumerate(problem.vehicle_types)
        if v.count > 0 and pyvrp_unloads(problem, v)
    ]
    modelled = {i for i, _ in vts}
    candidates = [
        si for si in screening.candidates if modelled.intersection(screening.vehicle_types[si])
    ]
    kept_candidates = set(candidates)
    stream_excluded = [si for si in screening.candidates if si not in kept_candidates]
    dims = list(problem.streams)
    depots = _depots(problem, vts, horizon)
    clients, client_loc, kept, excluded = _clients(problem, candidates, scale, depots, dims)
    total_kg = sum(problem.stops[si].load_kg for si in kept)

    # one PyVRP profile per (travel profile, set of forbidden stops)
    src_arr = np.asarray(depots.src)
    real = src_arr >= 0
    big_t = 4 * horizon + 1_000_000
    profile_key: dict[tuple[int, frozenset[int]], int] = {}
    dist_mats: list[IntArray] = []
    dur_mats: list[IntArray] = []
    vehicle_types: list[PVehicleType] = []
    vt_index: list[int] = []
    vt_final: list[Unload | None] = []
    final_chains: list[list[Unload]] = []
    for i, v in vts:
        forbidden = frozenset(
            c for c, si in enumerate(kept) if i not in screening.vehicle_types[si]
        )
        finals = depots.ends[i]
        counts = _copy_counts(v.count, len(finals), len(kept) - len(forbidden))
        key = (v.profile, forbidden)
        if key not in profile_key:
            profile_key[key] = len(dist_mats)
            dist_m, dur_m = _matrices(problem, v.profile, src_arr, real, vts, depots)
            _forbid(dist_m, dur_m, [client_loc[c] for c in forbidden], big_t)
            dist_mats.append(dist_m)
            dur_mats.append(dur_m)
        for final, count in zip(finals, counts, strict=True):
            if count == 0:
                continue
            vehicle_types.append(
                _vehicle_type(
                    problem,
                    i,
                    v,
                    depots,
                    scale,
                    profile=profile_key[key],
                    relax_day_limit=relax_day_limit,
                    total_kg=total_kg,
                    final=final,
                    count=count,
                    dims=dims,
                )
            )
            vt_index.append(i)
            vt_final.append(final)
            finals_of = depots.safe[i] if final is None else [final]
            final_chains.append([u for u in finals_of if len(u) > 1])
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
    return PyVRPData(
        data,
        kept,
        depots.depot_sites,
        vt_index,
        vt_final=vt_final,
        final_chains=final_chains,
        lunch_excluded=excluded,
        stream_excluded=stream_excluded,
    )


def _copy_counts(count: int, n_copies: int, n_stops: int) -> list[int]:
    """Vehicles of each of a type's ``n_copies`` PyVRP types: all of them each when the count
    cannot bind (a truck per stop), else shared round robin."""
    if count >= n_stops:
        return [count] * n_copies
    return [count // n_copies + (1 if j < count % n_copies else 0) for j in range(n_copies)]


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
    depots: _Depots,
) -> tuple[IntArray, IntArray]:
    """Distance and duration matrices over PyVRP locations for one travel profile.

    A chain is entered at its first site (its distance adds the legs between its sites, whose
    time is in its service) and left from its last. The column of a virtual end: from a stop,
    its final unload (the cheapest safe one, or its own) then home; from a reload depot,
    straight home (it has just unloaded).
    """
    end_loc = depots.end_loc
    dist = problem.distance_m[profile]
    dur = problem.duration_s[profile]
    idx = np.where(real, src, 0)
    rows = idx.copy()  # where a location is left from (a chain: its last site)
    inner = np.zeros(len(src), dtype=np.int64)
    for loc, chain in depots.chain_at.items():
        timing = unload_timing(problem, chain, profile)
        idx[loc], rows[loc], inner[loc] = timing.first, timing.last, timing.inner_m
    dist_m = dist[np.ix_(rows, idx)].astype(np.int64) + inner[None, :]
    dur_m = dur[np.ix_(rows, idx)].astype(np.int64)
    for loc in depots.chain_at:
        dist_m[loc, loc] = 0
        dur_m[loc, loc] = 0
    reload_locs = list(depots.reload_depot.values())  # a depot's location has its index
    types = dict(vts)
    for (i, final), e in end_loc.items():
        v = types[i]
        depot = problem.site(v.depot).location
        best_cost = np.full(len(src), np.inf)
        col_d = np.zeros(len(src), dtype=np.int64)
        col_t = np.zeros(len(src), dtype=np.int64)
        for unit in depots.safe[i] if final is None else [final]:
            timing = unload_timing(problem, unit, profile)
            d = dist[rows, timing.first] + timing.inner_m + dist[timing.last, depot]
            t = dur[rows, timing.first] + timing.service_s + dur[timing.last, depot]
            c = v.cost_cny_per_km * d / 1000.0 + v.cost_cny_per_h * t / 3600.0 + 1e-9 * d
            better = c < best_cost
            best_cost = np.where(better, c, best_cost)
            col_d = np.where(better, d, col_d)
            col_t = np.where(better, t, col_t)
        for loc in reload_locs:  # just unloaded: straight home
            col_d[loc] = dist[rows[loc], depot]
            col_t[loc] = dur[rows[loc], depot]
        dist_m[:, e] = col_d
        dur_m[:, e] = col_t
        dist_m[e, :] = 0
        dur_m[e, :] = 0
    # virtual ends are never left and never reached from one another or from a start depot
    starts = list(depots.start_depot.values())
    for e in end_loc.values():
        for e2 in end_loc.values():
            dist_m[e, e2] = 0
            dur_m[e, e2] = 0
        for s0 in starts:
            dist_m[s0, e] = 0
            dur_m[s0, e] = 0
    return dist_m, dur_m


def initial_solution(
    problem: RoutingProblem, mapping: PyVRPData, data: ProblemData, start: RoutingSolution
) -> pyvrp.Solution | None:
    """``start``'s routes as a PyVRP solution of ``data`` (built from ``mapping``), or None.

    Stops that are not candidates here are left out, and so are routes of vehicle types missing
    here and routes beyond a type's count. Each run of consecutive unloads becomes the route
    type's reload depot standing for those sites (`_warm_reload`), or is left out when it has
    none; the final unload is the route's end depot (of the PyVRP type ending through those
    sites, or through the safe ones). The result may be infeasible (PyVRP repairs it).
    """
    client_of = {problem.stops[si].id: c for c, si in enumerate(mapping.client_stop)}
    used: dict[int, int] = {}
    routes = []
    for route in start.routes:
        k = _warm_type(problem, mapping, route)
        if k is None or used.get(k, 0) >= data.vehicle_type(k).num_available:
            continue
        reloads = [(mapping.depot_sites[d], d) for d in data.vehicle_type(k).reload_depots]
        visits = (
            route.visits[:-1]
            if route.visits and route.visits[-1].kind == "unload"
            else route.visits
        )
        activities: list[Activity] = []
        run: list[str] = []  # the unloads since the last stop
        for visit in [*visits, None]:
            if visit is not None and visit.kind == "unload":
                run.append(visit.id)
                continue
            if run and activities and activities[-1].is_client():
                d = _warm_reload(run, reloads)
                if d is not None:
                    activities.append(Activity(ActivityType.DEPOT, d))
            run = []
            if visit is not None and visit.id in client_of:
                activities.append(Activity(ActivityType.CLIENT, client_of[visit.id]))
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


def _is_subsequence(run: list[str], sites: Unload) -> bool:
    it = iter(sites)
    return all(u in it for u in run)


def _warm_reload(run: list[str], reloads: list[tuple[Unload, int]]) -> int | None:
    """The reload depot (of ``reloads``: sites, depot) a warm-start run of unloads becomes:
    the one of exactly those sites, else a chain holding them in that order, else the first
    site of the run that is a reload depot alone; None if none is."""
    for sites, d in reloads:
        if list(sites) == run:
            return d
    for sites, d in reloads:
        if len(sites) > 1 and _is_subsequence(run, sites):
            return d
    for u in run:
        for sites, d in reloads:
            if sites == (u,):
                return d
    return None


def _warm_type(problem: RoutingProblem, mapping: PyVRPData, route: Route) -> int | None:
    """The PyVRP vehicle type a warm-start route goes to: its type's copy ending through the
    route's final unloads (its last site, or a chain holding them in order), else its copy
    through the safe unloads, else None."""
    run: list[str] = []
    for visit in reversed(route.visits):
        if visit.kind != "unload":
            break
        run.insert(0, visit.id)
    copies = [
        k
        for k, i in enumerate(mapping.vt_index)
        if problem.vehicle_types[i].id == route.vehicle_type
    ]
    if run:
        wanted = [(run[-1],), *(f for k in copies if (f := mapping.vt_final[k]) is not None)]
        for want in wanted:
            if want != (run[-1],) and not (list(want) == run or _is_subsequence(run, want)):
                continue
            for k in copies:
                if mapping.vt_final[k] == want:
                    return k
    for k in copies:
        if mapping.vt_final[k] is None:
            return k
    return None
