"""The scenario: one frozen, validated description of a county's sanitation chain.

Units: mass in tonnes (``_t``) and kilograms (``_kg``), time of day in seconds after midnight
(``_s``), durations in seconds, distances in metres, money in CNY, coordinates WGS-84 lon/lat.
A what-if is a modified copy (`Scenario.replace`), never an edit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Frequency = Literal["daily", "every_2_days", "twice_weekly", "weekly"]
StationStatus = Literal["existing", "candidate", "closed"]
DisposalKind = Literal["wte", "landfill", "export"]
VehicleRole = Literal["collection", "transfer"]
RoadSourceKind = Literal["lines", "osm", "synthetic"]
FacilityKind = Literal["perishable_treatment", "recycling_centre", "hazardous_store"]

#: between a point id and its stream in a stop id of a sorted county (``P1@perishable``); the
#: id patterns of points and streams exclude it
STREAM_SEP = "@"

FREQUENCY_VISITS_PER_WEEK: dict[str, float] = {
    "daily": 7.0,
    "every_2_days": 3.5,
    "twice_weekly": 2.0,
    "weekly": 1.0,
}


@dataclass(frozen=True)
class Township:
    """A 乡镇/街道: 9-digit statistical code, name, seat (WGS-84)."""

    code: str
    name: str
    kind: str
    seat_lon: float
    seat_lat: float
    synthetic: bool = False


@dataclass(frozen=True)
class Village:
    """A 村/社区 unit: 12-digit code; population; position (``synthetic`` when generated)."""

    code: str
    name: str
    township_code: str
    urban_rural_class: str
    population: int
    lon: float
    lat: float
    synthetic: bool


@dataclass(frozen=True)
class Stream:
    """A sorted waste stream (分类): ``frequency`` is its default collection frequency (None:
    each point's own); ``share`` is its part of a point's generation where the point does not
    give the stream's own rate; ``bin_capacity_t`` its default bin (None: the point's bin)."""

    stream_id: str
    name_zh: str
    name_en: str
    perishable: bool
    frequency: Frequency | None
    share: float
    bin_capacity_t: float | None = None


@dataclass(frozen=True)
class PointStream:
    """One stream of a point: generation (t/day, before seasonal multipliers), collection
    frequency and bin capacity (t)."""

    stream: str
    waste_t_per_day: float
    frequency: Frequency
    bin_capacity_t: float


def stop_id(point_id: str, stream: str) -> str:
    """The id of a point's collection of one stream: the point id for the single stream ``""``
    of a county that does not sort, else ``point@stream``."""
    return point_id if stream == "" else f"{point_id}{STREAM_SEP}{stream}"


def split_stop_id(value: str) -> tuple[str, str]:
    """(point id, stream) of a `stop_id`."""
    point_id, _, stream = value.partition(STREAM_SEP)
    return point_id, stream


@dataclass(frozen=True)
class CollectionPoint:
    """A 收集点: bins that households fill and collection trucks empty.

    ``waste_t_per_day`` is the generation before seasonal multipliers; ``access_class`` is the
    largest vehicle access class that may serve it (see `AccessClass`); ``station_id`` is the
    station it goes to when the scenario fixes the assignment (``policy.assignment: fixed``).
    """

    point_id: str
    name: str
    village_code: str
    lon: float
    lat: float
    waste_t_per_day: float
    bin_capacity_t: float
    frequency: Frequency
    service_s: int
    tw_open_s: int
    tw_close_s: int
    access_class: str
    priority: int
    synthetic: bool
    station_id: str | None = None
    truck_id: str | None = None
    streams: tuple[PointStream, ...] = ()

    def collections(self) -> tuple[PointStream, ...]:
        """The point's streams; a county that does not sort has the one stream ``""``."""
        if self.streams:
            return self.streams
        return (PointStream("", self.waste_t_per_day, self.frequency, self.bin_capacity_t),)


def truck_id(depot_id: str, type_id: str, number: int) -> str:
    """A collection truck as plans and territories name it: ``depot/type#n`` (n from 1)."""
    return f"{depot_id}/{type_id}#{number}"


def split_truck_id(value: str) -> tuple[str, str, int]:
    """(depot id, type id, number) of a ``depot/type#n`` truck id (ValueError if not one)."""
    depot_id, _, rest = value.partition("/")
    type_id, _, number = rest.rpartition("#")
    if not depot_id or not type_id or not number.isdigit():
        msg = f"not a truck id depot/type#n: {value!r}"
        raise ValueError(msg)
    return depot_id, type_id, int(number)


@dataclass(frozen=True)
class TransferStationRecord:
    """A 转运站 as the scenario declares it. Costs in CNY/day (opening cost amortised per day);
    capacity in t/day. (A station's day in the transfer solver is `sanitation.transfer.
    TransferStation`, in kg.)"""

    station_id: str
    name: str
    township_code: str
    lon: float
    lat: float
    status: StationStatus
    capacity_t_per_day: float
    fixed_cost_cny_per_day: float
    opening_cost_cny_per_day: float
    open_s: int
    close_s: int
    unload_s: int
    expansion_module_t_per_day: float
    expansion_cost_cny_per_day: float
    max_expansions: int
    container_t: float
    synthetic: bool
    streams: frozenset[str] | None = None  # streams trucks may unload here (None: every one)


@dataclass(frozen=True)
class DisposalSiteRecord:
    """A disposal site as the scenario declares it: waste-to-energy plant, landfill or
    out-of-county export. Capacity in t/day, gate fee in CNY/t. (The transfer solver's view is
    `sanitation.transfer.DisposalSite`, in kg.)"""

    site_id: str
    name: str
    kind: DisposalKind
    lon: float
    lat: float
    capacity_t_per_day: float
    gate_open_s: int
    gate_close_s: int
    gate_fee_cny_per_t: float
    unload_s: int
    location_note: str
    synthetic: bool
    streams: frozenset[str] | None = None  # streams it accepts (None: every one)


@dataclass(frozen=True)
class FacilityRecord:
    """A treatment or storage site of sorted streams that collection trucks unload at directly:
    a perishable-waste treatment facility (composting/digestion), a recycling centre or a
    hazardous-waste store. Capacity in t/day over its streams; gate fee in CNY/t."""

    facility_id: str
    name: str
    kind: FacilityKind
    lon: float
    lat: float
    streams: frozenset[str]
    capacity_t_per_day: float
    open_s: int
    close_s: int
    unload_s: int
    gate_fee_cny_per_t: float
    synthetic: bool
    station_ids: frozenset[str] | None = None  # whose trucks unload here (None: every station's)

    def serves(self, station_id: str) -> bool:
        """Whether the trucks of ``station_id`` may unload here."""
        return self.station_ids is None or station_id in self.station_ids


@dataclass(frozen=True)
class Depot:
    """Where trucks park overnight (often at a transfer station)."""

    depot_id: str
    name: str
    lon: float
    lat: float
    station_id: str | None
    synthetic: bool


@dataclass(frozen=True)
class VehicleTypeRecord:
    """A kind of truck as the scenario declares it. Capacity in t; costs in CNY; shift and
    lunch as times of day (s). (The routing solver's fleet entry is
    `sanitation.routing.problem.VehicleType`, in kg.)"""

    type_id: str
    name: str
    role: VehicleRole
    capacity_t: float
    access_class: str
    fixed_cost_cny_per_day: float
    cost_per_km_cny: float
    cost_per_hour_cny: float
    shift_start_s: int
    shift_end_s: int
    max_duration_s: int
    lunch_duration_s: int
    lunch_window_start_s: int
    lunch_window_end_s: int
    fuel_l_per_100km: float
    # sorted streams: (stream, capacity t) per compartment, summing to capacity_t; a truck
    # dedicated to one stream has one; empty: one body for the single stream of a county
    # that does not sort
    compartments: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class FleetEntry:
    """``count`` trucks of ``type_id`` based at ``depot_id``."""

    depot_id: str
    type_id: str
    count: int


@dataclass(frozen=True)
class AccessClass:
    """A vehicle access class: the roads a truck of the class may use.

    Classes are ordered from the smallest truck to the largest; a road is usable when its width
    is at least ``min_road_width_m`` and its weight limit (if any) at least ``gross_weight_t``.
    """

    class_id: str
    min_road_width_m: float
    gross_weight_t: float


@dataclass(frozen=True)
class SeasonalMultiplier:
    """Waste generation × ``multiplier`` from ``start`` to ``end`` (inclusive).

    ``townships`` empty means every township.
    """

    name: str
    start: dt.date
    end: dt.date
    multiplier: float
    townships: tuple[str, ...] = ()

    def applies(self, day: dt.date, township_code: str) -> bool:
        """Whether this multiplier applies to a township on a day."""
        in_range = self.start <= day <= self.end
        return in_range and (not self.townships or township_code in self.townships)


@dataclass(frozen=True)
class RoadSource:
    """Where the road network comes from and how points snap to it."""

    kind: RoadSourceKind
    path: Path | None
    max_snap_distance_m: float
    closed_road_ids: tuple[str, ...] = ()
    closed_areas_path: Path | None = None


@dataclass(frozen=True)
class Costs:
    """Cost parameters in CNY."""

    transfer_cost_cny_per_t_km: float
    driver_cost_cny_per_hour: float
    co2_kg_per_l_diesel: float


@dataclass(frozen=True)
class Policy:
    """Planning policy for the assignment, the fleet, route consistency and workload balance
    (see `sanitation.scenario.config`)."""

    max_point_station_travel_s: int
    keep_villages_together: bool
    township_preference_cny_per_t: float
    keep_existing_open: bool = True
    assignment: Literal["optimise", "fixed"] = "optimise"
    fleet: Literal["owned", "minimise"] = "owned"
    siting: Literal["routed", "estimate"] = "routed"
    consistency: Literal["none", "territory", "soft"] = "none"
    consistency_penalty_cny: float = 50.0
    balance_max_ratio: float | None = None


@dataclass(frozen=True)
class Scenario:
    """One county scenario, every cross-reference checked (see `sanitation.scenario.load`)."""

    name: str
    description: str
    source_path: Path
    plan_date: dt.date
    townships: tuple[Township, ...]
    villages: tuple[Village, ...]
    points: tuple[CollectionPoint, ...]
    stations: tuple[TransferStationRecord, ...]
    disposal_sites: tuple[DisposalSiteRecord, ...]
    depots: tuple[Depot, ...]
    vehicle_types: tuple[VehicleTypeRecord, ...]
    fleet: tuple[FleetEntry, ...]
    access_classes: tuple[AccessClass, ...]
    seasonal_multipliers: tuple[SeasonalMultiplier, ...]
    roads: RoadSource
    costs: Costs
    policy: Policy
    default_kg_per_person_day: float
    boundary_path: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    table_paths: dict[str, Path] = field(default_factory=dict)
    streams: tuple[Stream, ...] = ()
    facilities: tuple[FacilityRecord, ...] = ()

    def replace(self, **changes: Any) -> Scenario:
        """A modified copy (what-ifs never edit a scenario in place)."""
        return dataclasses.replace(self, **changes)

    # Lookups -------------------------------------------------------------------------------
    def township_of_point(self) -> dict[str, str]:
        """Point id → township code."""
        village_township = {v.code: v.township_code for v in self.villages}
        return {p.point_id: village_township[p.village_code] for p in self.points}

    def waste_multiplier(self, day: dt.date, township_code: str) -> float:
        """Product of the seasonal multipliers applying to a township on a day."""
        factor = 1.0
        for seasonal in self.seasonal_multipliers:
            if seasonal.applies(day, township_code):
                factor *= seasonal.multiplier
        return factor

    @property
    def sorted(self) -> bool:
        """Whether the county sorts its waste into declared streams."""
        return bool(self.streams)

    @property
    def total_waste_t_per_day(self) -> float:
        """Total generation before seasonal multipliers (t/day)."""
        return sum(p.waste_t_per_day for p in self.points)
