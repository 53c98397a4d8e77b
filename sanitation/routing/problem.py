"""The collection-routing problem of one station and day: immutable, validated at construction.

Units inside the solver are integers: seconds (``_s``), metres (``_m``), kilograms (``_kg``);
money is float CNY. Locations are indices into the travel matrices; ``duration_s[p]`` and
``distance_m[p]`` are the matrices of access profile ``p`` (a vehicle type names its profile).

Semantics (the verifier in `sanitation.verify.routing` checks exactly these):

- A used vehicle leaves its start site (its depot, or ``start_site`` for a truck already out in a
  re-plan, with ``initial_load_kg`` on board) at or after ``shift_start_s``, serves stops,
  unloads at one of its ``unload_sites`` whenever needed (its load is never above
  ``capacity_kg`` between unloads; an unload takes the site's ``unload_s`` and must *start*
  within the site's ``[open_s, close_s]``),
  ends the day empty (its last visit is an unload after its last stop), and is back at its depot
  by ``shift_end_s``; depot return minus depot departure is at most ``max_duration_s``. The
  depot's own hours are not used: the shift governs departure and return.
- A stop's service must *start* within ``[tw_open_s, tw_close_s]``; waiting is allowed.
- A vehicle type with a ``lunch`` takes it once per used vehicle, wholly inside the lunch window,
  between two visits (or between the depot and the first/last visit); the truck parks.
- Optional limits per vehicle: ``max_trips`` (unloads), ``max_load_per_day_kg`` (total collected),
  ``max_stops``.
- Stop access: ``allowed_vehicle_types`` (None = any type).
- Sorted streams: a stop's waste of ``stream`` rides only in a compartment of that stream (a
  vehicle type without compartments carries the single stream ``""``), so only a vehicle type
  that `VehicleType.carries` the stream may serve it; each compartment's load is never above its
  capacity between unloads, and it is unloaded only at a site that accepts its stream: an unload
  visit empties every compartment whose stream the site accepts, and a compartment whose stream
  the site refuses keeps its load. The day ends with every compartment empty. A problem whose
  stops all have stream ``""``, whose trucks have no compartments and whose sites accept every
  stream is the single-stream problem of a county that does not sort.
- Route cost (CNY): ``fixed_cost_cny + cost_cny_per_km * km + cost_cny_per_h * hours`` with hours
  from depot departure to depot return. Objective: route costs, plus ``vehicle_weight`` per used
  vehicle when ``minimise_vehicles_first``, plus ``unserved_penalty(stop)`` per unserved stop; the
  penalty is larger than any set of routes can cost and grows linearly with priority, so
  lower-priority stops are dropped first and a stop is only dropped when no plan can serve it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import cast

import numpy as np
from numpy.typing import NDArray

IntMatrix = NDArray[np.int64]


def _require(cond: bool, who: str, msg: str) -> None:
    if not cond:
        full = f"{who}: {msg}"
        raise ValueError(full)


@dataclass(frozen=True, slots=True)
class Site:
    """A depot or an unload site (transfer station, disposal facility).

    Parameters
    ----------
    id
        Stable identifier.
    location
        Index into the travel matrices.
    open_s, close_s
        An unload must start within these hours (seconds since midnight).
    unload_s
        Time an unload takes (seconds).
    streams
        The waste streams this site accepts for unloading (sorted collection), or None for
        every stream.
    """

    id: str
    location: int
    open_s: int = 0
    close_s: int = 86_400
    unload_s: int = 0
    streams: frozenset[str] | None = None

    def __post_init__(self) -> None:
        who = f"Site {self.id!r}"
        _require(self.location >= 0, who, "location must be >= 0.")
        _require(self.open_s <= self.close_s, who, "open_s must be <= close_s.")
        _require(self.unload_s >= 0, who, "unload_s must be >= 0.")
        if self.streams is not None and not isinstance(self.streams, frozenset):
            object.__setattr__(self, "streams", frozenset(self.streams))

    def accepts(self, stream: str) -> bool:
        """Whether waste of ``stream`` may be unloaded here."""
        return self.streams is None or stream in self.streams

    def left_after_unload(self, loads_kg: Mapping[str, int]) -> dict[str, int]:
        """kg per stream still on board after an unload here: every compartment whose stream
        the site accepts is emptied, the others keep their load (empty ones are left out)."""
        return {s: kg for s, kg in loads_kg.items() if kg and not self.accepts(s)}


@dataclass(frozen=True, slots=True)
class Stop:
    """A collection point due on this day.

    Parameters
    ----------
    id
        Stable identifier.
    location
        Index into the travel matrices.
    load_kg
        Waste to pick up (kg).
    service_s
        Service time at the stop (seconds).
    tw_open_s, tw_close_s
        Service must start within this window (seconds since midnight).
    priority
        Higher is more important; lower priorities are dropped first when the fleet is short.
    allowed_vehicle_types
        Ids of the vehicle types that may serve it (narrow lanes), or None for any.
    stream
        The waste stream collected here (sorted collection); ``""`` is the single stream of a
        county that does not sort. A point with several streams is one stop per stream.
    """

    id: str
    location: int
    load_kg: int
    service_s: int = 0
    tw_open_s: int = 0
    tw_close_s: int = 86_400
    priority: int = 1
    allowed_vehicle_types: frozenset[str] | None = None
    stream: str = ""

    def __post_init__(self) -> None:
        who = f"Stop {self.id!r}"
        _require(self.location >= 0, who, "location must be >= 0.")
        _require(self.load_kg >= 0, who, "load_kg must be >= 0.")
        _require(self.service_s >= 0, who, "service_s must be >= 0.")
        _require(self.tw_open_s <= self.tw_close_s, who, "tw_open_s must be <= tw_close_s.")
        _require(self.priority >= 1, who, "priority must be >= 1.")
        if self.allowed_vehicle_types is not None and not isinstance(
            self.allowed_vehicle_types, frozenset
        ):
            object.__setattr__(self, "allowed_vehicle_types", frozenset(self.allowed_vehicle_types))

    def allows(self, vehicle_type_id: str) -> bool:
        """Whether vehicles of this type may serve the stop."""
        return self.allowed_vehicle_types is None or vehicle_type_id in self.allowed_vehicle_types


@dataclass(frozen=True, slots=True)
class Lunch:
    """A lunch break of ``duration_s`` lying wholly inside ``[window_start_s, window_end_s]``."""

    duration_s: int
    window_start_s: int
    window_end_s: int

    def __post_init__(self) -> None:
        who = "Lunch"
        _require(self.duration_s >= 0, who, "duration_s must be >= 0.")
        _require(
            self.window_start_s + self.duration_s <= self.window_end_s,
            who,
            "window_start_s + duration_s must be <= window_end_s.",
        )

    @property
    def latest_start_s(self) -> int:
        """Latest start of the break (seconds since midnight)."""
        return self.window_end_s - self.duration_s

    def gap_times(self, departure_s: int, travel_s: int, start_s: int) -> tuple[int, int]:
        """(arrival, earliest start) at the end of a gap that holds the break.

        The truck leaves at ``departure_s`` and drives ``travel_s``; the break starts at
        ``start_s`` (not before the departure). A break that starts before the truck would
        arrive is taken on the way (the arrival moves by the break); otherwise the truck parks at
        the next location. Either way nothing starts there before the break ends. The scheduler,
        the screening and the OR-Tools engine time a break with this rule; the verifier keeps its
        own copy.
        """
        arrival = departure_s + travel_s
        if start_s < arrival:
            arrival += self.duration_s
        return arrival, max(arrival, start_s + self.duration_s)


@dataclass(frozen=True, slots=True)
class Compartment:
    """One compartment of a truck body: it carries waste of ``stream`` only, at most
    ``capacity_kg`` between unloads."""

    stream: str
    capacity_kg: int

    def __post_init__(self) -> None:
        _require(self.capacity_kg >= 0, f"Compartment {self.stream!r}", "capacity_kg must be >= 0.")


@dataclass(frozen=True, slots=True)
class VehicleType:
    """A kind of collection truck and how many are available.

    Parameters
    ----------
    id
        Stable identifier.
    count
        Number of vehicles of this type.
    capacity_kg
        Load limit between unloads (kg).
    depot
        Site id where the vehicles start and end.
    unload_sites
        Site ids where these vehicles may unload.
    profile
        Index of the access profile (travel matrices) these vehicles use.
    shift_start_s, shift_end_s
        Earliest depot departure and latest depot return (seconds since midnight).
    max_duration_s
        Longest route (depot departure to return, seconds); None = shift length.
    lunch
        The lunch break, or None.
    fixed_cost_cny, cost_cny_per_km, cost_cny_per_h
        CNY per used vehicle-day, per km driven, per route hour.
    max_trips
        Most unloads per day, or None.
    max_load_per_day_kg
        Most waste collected per vehicle-day (kg), or None.
    max_stops
        Most stops per vehicle-day, or None.
    start_site
        Site id where the vehicles start, when it is not ``depot`` (a truck already on the road
        in a re-plan); they still end at ``depot``. None = the depot.
    initial_load_kg
        Waste on board at the start (kg, 0 to ``capacity_kg``): it counts towards the first
        trip's load and is unloaded at the first unload (accepting its stream). Only a body
        carrying one stream may start loaded (the stream of the load is then known).
    compartments
        The body's compartments, one stream each (sorted collection); their capacities sum to
        ``capacity_kg``. Empty: one body that carries the single stream ``""`` only.
    """

    id: str
    count: int
    capacity_kg: int
    depot: str
    unload_sites: tuple[str, ...]
    profile: int = 0
    shift_start_s: int = 0
    shift_end_s: int = 86_400
    max_duration_s: int | None = None
    lunch: Lunch | None = None
    fixed_cost_cny: float = 0.0
    cost_cny_per_km: float = 0.0
    cost_cny_per_h: float = 0.0
    max_trips: int | None = None
    max_load_per_day_kg: int | None = None
    max_stops: int | None = None
    start_site: str | None = None
    initial_load_kg: int = 0
    compartments: tuple[Compartment, ...] = ()

    def __post_init__(self) -> None:
        who = f"VehicleType {self.id!r}"
        if not isinstance(self.unload_sites, tuple):
            object.__setattr__(self, "unload_sites", tuple(self.unload_sites))
        if not isinstance(self.compartments, tuple):
            object.__setattr__(self, "compartments", tuple(self.compartments))
        if self.max_duration_s is None:
            object.__setattr__(self, "max_duration_s", self.shift_end_s - self.shift_start_s)
        _require(self.count >= 0, who, "count must be >= 0.")
        _require(self.capacity_kg >= 0, who, "capacity_kg must be >= 0.")
        _require(len(self.unload_sites) >= 1, who, "unload_sites must not be empty.")
        _require(self.profile >= 0, who, "profile must be >= 0.")
        _require(
            self.shift_start_s <= self.shift_end_s, who, "shift_start_s must be <= shift_end_s."
        )
        _require(self.max_route_duration_s >= 0, who, "max_duration_s must be >= 0.")
        _require(self.fixed_cost_cny >= 0, who, "fixed_cost_cny must be >= 0.")
        _require(self.cost_cny_per_km >= 0, who, "cost_cny_per_km must be >= 0.")
        _require(self.cost_cny_per_h >= 0, who, "cost_cny_per_h must be >= 0.")
        for name in ("max_trips", "max_load_per_day_kg", "max_stops"):
            value = getattr(self, name)
            _require(value is None or value >= 0, who, f"{name} must be >= 0 or None.")
        _require(
            0 <= self.initial_load_kg <= self.capacity_kg,
            who,
            "initial_load_kg must be in [0, capacity_kg].",
        )
        if self.compartments:
            streams = [c.stream for c in self.compartments]
            _require(len(set(streams)) == len(streams), who, "compartment streams must differ.")
            _require(
                sum(c.capacity_kg for c in self.compartments) == self.capacity_kg,
                who,
                "compartment capacities must sum to capacity_kg.",
            )
        _require(
            self.initial_load_kg == 0 or len(self.streams) == 1,
            who,
            "initial_load_kg needs a body carrying one stream (whose load would it be?).",
        )

    @property
    def streams(self) -> frozenset[str]:
        """The streams these vehicles may carry (``{""}`` for a body without compartments)."""
        return frozenset(c.stream for c in self.compartments) or frozenset({""})

    def capacity_for_kg(self, stream: str) -> int:
        """Load limit (kg) between unloads for waste of ``stream`` (0: cannot carry it)."""
        if not self.compartments:
            return self.capacity_kg if stream == "" else 0
        return sum(c.capacity_kg for c in self.compartments if c.stream == stream)

    def carries(self, stream: str) -> bool:
        """Whether these vehicles may serve stops of ``stream``: a compartment of it with room
        (a body without compartments carries ``""`` whatever its capacity, as before streams)."""
        if not self.compartments:
            return stream == ""
        return self.capacity_for_kg(stream) > 0

    @property
    def initial_stream(self) -> str:
        """The stream of ``initial_load_kg`` (a body carrying one stream; see validation)."""
        return min(self.streams)

    @property
    def start_site_id(self) -> str:
        """The site the vehicles start from: ``start_site``, or the depot."""
        return self.depot if self.start_site is None else self.start_site

    @property
    def max_route_duration_s(self) -> int:
        """``max_duration_s`` as an int (construction fills in the shift length for None)."""
        if self.max_duration_s is None:
            return self.shift_end_s - self.shift_start_s
        return self.max_duration_s

    @property
    def route_time_limit_s(self) -> int:
        """The binding limit on route duration: min(max_duration_s, shift length)."""
        return min(self.max_route_duration_s, self.shift_end_s - self.shift_start_s)

    def route_cost_cny(self, distance_m: int, duration_s: int) -> float:
        """Cost (CNY) of one used vehicle driving ``distance_m`` in ``duration_s``."""
        return (
            self.fixed_cost_cny
            + self.cost_cny_per_km * distance_m / 1000.0
            + self.cost_cny_per_h * duration_s / 3600.0
        )


def _as_matrices(value: object, name: str) -> tuple[IntMatrix, ...]:
    arrays = (
        [value]
        if isinstance(value, np.ndarray) and value.ndim == 2
        else list(cast(Iterable[object], value))
    )
    out: list[IntMatrix] = []
    for p, arr in enumerate(arrays):
        a = np.asarray(arr)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            msg = f"RoutingProblem: {name}[{p}] must be a square matrix, got shape {a.shape}."
            raise ValueError(msg)
        if not np.issubdtype(a.dtype, np.integer):
            msg = f"RoutingProblem: {name}[{p}] must be integers (round explicitly), got {a.dtype}."
            raise ValueError(msg)
        if a.size and a.min() < 0:
            msg = f"RoutingProblem: {name}[{p}] must be >= 0."
            raise ValueError(msg)
        b = np.array(a, dtype=np.int64, copy=True)
        b.setflags(write=False)
        out.append(b)
    return tuple(out)


@dataclass(frozen=True, eq=False)
class RoutingProblem:
    """One station-day of collection routing. Immutable; ``replace`` returns a modified copy.

    Parameters
    ----------
    duration_s
        Travel times (seconds), one square int matrix per access profile (or a single matrix).
    distance_m
        Travel distances (metres), same shapes as ``duration_s``.
    sites
        Depots and unload sites.
    stops
        Collection points due this day.
    vehicle_types
        The fleet.
    minimise_vehicles_first
        Minimise the number of used vehicles before cost.
    horizon_s
        End of the planning day (seconds); None = the latest shift end.

    Raises
    ------
    ValueError
        When the data is inconsistent; the message names the object and the field.
    IndexError
        When a location, profile or site reference is out of range / unknown.
    """

    duration_s: tuple[IntMatrix, ...]
    distance_m: tuple[IntMatrix, ...]
    sites: tuple[Site, ...]
    stops: tuple[Stop, ...]
    vehicle_types: tuple[VehicleType, ...]
    minimise_vehicles_first: bool = False
    horizon_s: int | None = None
    _site_index: Mapping[str, int] = field(init=False, repr=False)
    _stop_index: Mapping[str, int] = field(init=False, repr=False)
    _vt_index: Mapping[str, int] = field(init=False, repr=False)
    _streams: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        dur = _as_matrices(self.duration_s, "duration_s")
        dist = _as_matrices(self.distance_m, "distance_m")
        object.__setattr__(self, "duration_s", dur)
        object.__setattr__(self, "distance_m", dist)
        object.__setattr__(self, "sites", tuple(self.sites))
        object.__setattr__(self, "stops", tuple(self.stops))
        object.__setattr__(self, "vehicle_types", tuple(self.vehicle_types))
        if len(dur) == 0 or len(dur) != len(dist):
            msg = (
                "RoutingProblem: duration_s and distance_m need the same (>= 1) number of profiles."
            )
            raise ValueError(msg)
        n = dur[0].shape[0]
        for p in range(len(dur)):
            if dur[p].shape != (n, n) or dist[p].shape != (n, n):
                msg = f"RoutingProblem: profile {p} matrices must be {n}x{n}."
                raise ValueError(msg)
        site_index = _unique_index([s.id for s in self.sites], "Site")
        stop_index = _unique_index([s.id for s in self.stops], "Stop")
        vt_index = _unique_index([v.id for v in self.vehicle_types], "VehicleType")
        _check_places(self.sites, self.stops, n, vt_index)
        _check_vehicle_types(self.vehicle_types, len(dur), site_index)
        _check_streams(self.stops, self.vehicle_types, {s.id: s for s in self.sites})
        if self.horizon_s is None:
            ends = [v.shift_end_s for v in self.vehicle_types] or [86_400]
            object.__setattr__(self, "horizon_s", max(ends))
        object.__setattr__(self, "_site_index", MappingProxyType(site_index))
        object.__setattr__(self, "_stop_index", MappingProxyType(stop_index))
        object.__setattr__(self, "_vt_index", MappingProxyType(vt_index))
        object.__setattr__(self, "_streams", tuple(sorted({s.stream for s in self.stops})))

    # -- lookups -------------------------------------------------------------------------------
    @property
    def n_locations(self) -> int:
        """Number of locations (matrix size)."""
        return int(self.duration_s[0].shape[0])

    @property
    def n_vehicles(self) -> int:
        """Total number of vehicles over all types."""
        return sum(v.count for v in self.vehicle_types)

    def site(self, site_id: str) -> Site:
        """The site with this id (KeyError if unknown)."""
        return self.sites[self._site_index[site_id]]

    def stop(self, stop_id: str) -> Stop:
        """The stop with this id (KeyError if unknown)."""
        return self.stops[self._stop_index[stop_id]]

    def stop_index(self, stop_id: str) -> int:
        """Position of the stop in ``stops``."""
        return self._stop_index[stop_id]

    def vehicle_type(self, type_id: str) -> VehicleType:
        """The vehicle type with this id (KeyError if unknown)."""
        return self.vehicle_types[self._vt_index[type_id]]

    @property
    def streams(self) -> tuple[str, ...]:
        """The waste streams of the stops, sorted (``("",)`` for a county that does not sort)."""
        return self._streams

    def has_site(self, site_id: str) -> bool:
        """Whether a site with this id exists."""
        return site_id in self._site_index

    def has_stop(self, stop_id: str) -> bool:
        """Whether a stop with this id exists."""
        return stop_id in self._stop_index

    # -- objective -----------------------------------------------------------------------------
    @property
    def route_cost_bound_cny(self) -> float:
        """An upper bound (CNY) on the total cost of any set of routes of this problem."""
        n_legs = 2 * len(self.stops) + 2
        total = 0.0
        for v in self.vehicle_types:
            if v.count == 0:
                continue
            max_km = float(self.distance_m[v.profile].max(initial=0)) / 1000.0
            per_vehicle = v.fixed_cost_cny + v.cost_cny_per_h * v.route_time_limit_s / 3600.0
            total += v.count * per_vehicle + v.cost_cny_per_km * n_legs * max_km
        return total

    @property
    def vehicle_weight(self) -> float:
        """Objective weight per used vehicle: above any route cost if minimising vehicles first."""
        if not self.minimise_vehicles_first:
            return 0.0
        return float(np.ceil(self.route_cost_bound_cny)) + 1.0

    def unserved_penalty(self, stop: Stop | str) -> float:
        """Objective penalty for leaving ``stop`` unserved: above any plan's cost, x priority."""
        s = self.stop(stop) if isinstance(stop, str) else stop
        base = float(np.ceil(self.route_cost_bound_cny)) + 1.0
        return base * (self.n_vehicles + 1) * s.priority

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        """Pickle by the constructor arguments (for worker processes and executors)."""
        return (
            RoutingProblem,
            (
                self.duration_s,
                self.distance_m,
                self.sites,
                self.stops,
                self.vehicle_types,
                self.minimise_vehicles_first,
                self.horizon_s,
            ),
        )

    def replace(self, **changes: object) -> RoutingProblem:
        """A modified, re-validated copy (keyword names as in the constructor)."""
        kwargs = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        kwargs.update(changes)
        return RoutingProblem(**kwargs)


def _check_places(
    sites: Sequence[Site], stops: Sequence[Stop], n: int, vt_index: Mapping[str, int]
) -> None:
    """Every site and stop location is a matrix index; stops name known vehicle types."""
    for site in sites:
        if site.location >= n:
            msg = f"Site {site.id!r}: location {site.location} out of range (n_locations={n})."
            raise IndexError(msg)
    for stop in stops:
        if stop.location >= n:
            msg = f"Stop {stop.id!r}: location {stop.location} out of range (n_locations={n})."
            raise IndexError(msg)
        for vt in stop.allowed_vehicle_types or ():
            if vt not in vt_index:
                msg = f"Stop {stop.id!r}: allowed_vehicle_types names unknown type {vt!r}."
                raise IndexError(msg)


def _check_vehicle_types(
    vehicle_types: Sequence[VehicleType], n_profiles: int, site_index: Mapping[str, int]
) -> None:
    """Every vehicle type's profile, depot and unload sites exist."""
    for v in vehicle_types:
        who = f"VehicleType {v.id!r}"
        if v.profile >= n_profiles:
            msg = f"{who}: profile {v.profile} out of range (n_profiles={n_profiles})."
            raise IndexError(msg)
        if v.depot not in site_index:
            msg = f"{who}: depot {v.depot!r} is not a site."
            raise IndexError(msg)
        if v.start_site_id not in site_index:
            msg = f"{who}: start_site {v.start_site!r} is not a site."
            raise IndexError(msg)
        for u in v.unload_sites:
            if u not in site_index:
                msg = f"{who}: unload site {u!r} is not a site."
                raise IndexError(msg)


def _check_streams(
    stops: Sequence[Stop], vehicle_types: Sequence[VehicleType], sites: Mapping[str, Site]
) -> None:
    """Every stop's stream is carried by a vehicle type that may unload it at one of its unload
    sites (with no vehicle type at all every stop is simply unserved)."""
    if not vehicle_types:
        return
    checked: set[str] = set()
    for stop in stops:
        stream = stop.stream
        if stream in checked:
            continue
        checked.add(stream)
        carriers = [v for v in vehicle_types if v.carries(stream)]
        if not carriers:
            msg = f"Stop {stop.id!r}: no vehicle type can carry its stream {stream!r}."
            raise ValueError(msg)
        if not any(sites[u].accepts(stream) for v in carriers for u in v.unload_sites):
            names = ", ".join(repr(v.id) for v in carriers)
            msg = (
                f"Stop {stop.id!r}: no unload site of a vehicle type carrying its stream "
                f"{stream!r} ({names}) accepts it."
            )
            raise ValueError(msg)


def _unique_index(ids: Sequence[str], kind: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, x in enumerate(ids):
        if x in index:
            msg = f"{kind} {x!r}: id is not unique."
            raise ValueError(msg)
        index[x] = i
    return index
