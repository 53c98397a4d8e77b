"""Transfer-leg problem and solution types (kg, s, m integers; CNY). See `sanitation.transfer`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class TransferStation:
    """A station's day: kg to move, container size (kg), matrix location, hours, swap time (s).

    ``stream_kg``: with sorted streams, the kg of each stream received (stream, kg), summing to
    ``load_kg``; empty: the whole load is the one stream ``""`` of a county that does not sort.

    ``facility``: the record is a facility over its day's capacity sending its excess on (its
    ``id`` is the facility's, ``location`` and hours the facility's); ``home_station`` then names
    the station whose hook-lift trucks are its own and whose serving facilities it may use.
    """

    id: str
    location: int
    load_kg: int
    container_kg: int
    open_s: int
    close_s: int
    swap_s: int = 300
    stream_kg: tuple[tuple[str, int], ...] = ()
    facility: bool = False
    home_station: str = ""

    @property
    def via(self) -> str:
        """The station whose trucks are this source's own: itself, or a facility's home."""
        return self.home_station or self.id

    @property
    def what(self) -> str:
        """How messages name it: ``station 'S1'`` or ``facility 'F1'``."""
        return f"{'facility' if self.facility else 'station'} {self.id!r}"

    def loads(self) -> dict[str, int]:
        """kg to move per stream (streams with none left out)."""
        pairs = self.stream_kg or (("", self.load_kg),)
        return {stream: kg for stream, kg in pairs if kg > 0}


@dataclass(frozen=True)
class DisposalSite:
    """A destination: capacity today (kg, over all its streams), gate hours, fee (CNY/t),
    unload time (s).

    ``streams``: the streams it accepts (None: every one); ``station_ids``: the stations that may
    send to it (None: every one); ``facility``: a treatment or storage site of sorted streams
    (composting, recycling, hazardous store) rather than waste-to-energy or landfill;
    ``unloaded_kg``: what collection trucks unloaded there today, before any transfer (its
    excess over ``capacity_kg`` leaves as a facility `TransferStation`).
    """

    id: str
    location: int
    capacity_kg: int
    gate_open_s: int
    gate_close_s: int
    gate_fee_cny_per_t: float
    unload_s: int
    streams: frozenset[str] | None = None
    station_ids: frozenset[str] | None = None
    facility: bool = False
    unloaded_kg: int = 0

    @property
    def room_kg(self) -> int:
        """What transfer trucks may still bring today: capacity less the direct unloads."""
        return max(0, self.capacity_kg - self.unloaded_kg)

    def takes(self, station_id: str, stream: str) -> bool:
        """Whether ``station_id`` may send ``stream`` here."""
        return (self.streams is None or stream in self.streams) and (
            self.station_ids is None or station_id in self.station_ids
        )


@dataclass(frozen=True)
class TransferTruck:
    """One hook-lift truck based at ``home_station`` (its depot is at ``location``).

    Times of day and durations in s; costs in CNY per day used, per km and per hour.
    """

    id: str
    home_station: str
    location: int
    shift_start_s: int
    shift_end_s: int
    max_duration_s: int
    lunch_duration_s: int
    lunch_window_start_s: int
    lunch_window_end_s: int
    fixed_cost_cny: float
    cost_cny_per_km: float
    cost_cny_per_h: float


@dataclass(frozen=True, eq=False)
class TransferProblem:
    """All stations, sites and trucks of a day; ``duration_s``/``distance_m`` are square int
    matrices over the locations the records name."""

    duration_s: NDArray[np.int64]
    distance_m: NDArray[np.int64]
    stations: tuple[TransferStation, ...]
    sites: tuple[DisposalSite, ...]
    trucks: tuple[TransferTruck, ...]

    def __post_init__(self) -> None:
        n = self.duration_s.shape[0]
        if self.duration_s.shape != (n, n) or self.distance_m.shape != (n, n):
            msg = "TransferProblem: duration_s and distance_m must be square and equal in shape."
            raise ValueError(msg)
        records: tuple[TransferStation | DisposalSite | TransferTruck, ...]
        records = (*self.stations, *self.sites, *self.trucks)
        for record in records:
            if not 0 <= record.location < n:
                kind = type(record).__name__
                msg = f"{kind} {record.id!r}: location {record.location} out of range."
                raise IndexError(msg)
        for station in self.stations:
            if station.container_kg <= 0 or station.load_kg < 0:
                msg = f"TransferStation {station.id!r}: container_kg must be > 0, load_kg >= 0."
                raise ValueError(msg)
        if not self.sites:
            msg = "TransferProblem: at least one disposal site is needed."
            raise ValueError(msg)
        for station in self.stations:
            if station.stream_kg and sum(kg for _, kg in station.stream_kg) != station.load_kg:
                msg = f"TransferStation {station.id!r}: stream_kg must sum to load_kg."
                raise ValueError(msg)
        station_ids = {s.id for s in self.stations}
        for station in self.stations:
            if station.facility and station.home_station not in station_ids:
                msg = (
                    f"TransferStation {station.id!r}: home_station {station.home_station!r} "
                    "unknown."
                )
                raise IndexError(msg)
        for truck in self.trucks:
            if truck.home_station not in station_ids:
                msg = f"TransferTruck {truck.id!r}: home_station {truck.home_station!r} unknown."
                raise IndexError(msg)

    def destinations(self, station_id: str, stream: str) -> tuple[DisposalSite, ...]:
        """Where the source ``station_id`` (a station, or a facility sending its excess on) may
        send ``stream``: the facilities that take it from the source's station (`preferred`),
        then the disposal sites that take it; never the source itself; empty: nowhere."""
        source = self.station(station_id)
        taking = [s for s in self.sites if s.id != source.id and s.takes(source.via, stream)]
        return tuple(s for s in taking if s.facility) + tuple(s for s in taking if not s.facility)

    def preferred(self, station_id: str, stream: str) -> frozenset[str]:
        """The ids of the facilities among `destinations`: while they have room, a sorted stream
        goes only there (sorted waste stays sorted); disposal takes what they cannot."""
        return frozenset(s.id for s in self.destinations(station_id, stream) if s.facility)

    def station(self, station_id: str) -> TransferStation:
        """The station with this id."""
        return next(s for s in self.stations if s.id == station_id)

    def site(self, site_id: str) -> DisposalSite:
        """The site with this id."""
        return next(s for s in self.sites if s.id == site_id)

    def truck(self, truck_id: str) -> TransferTruck:
        """The truck with this id."""
        return next(t for t in self.trucks if t.id == truck_id)


@dataclass(frozen=True)
class Trip:
    """One container: hooked at ``station`` at ``start_s`` (after arriving at ``arrival_s``),
    unloaded at ``site`` from ``unload_start_s``, empty container back at ``end_s``.

    A container holds one ``stream`` (``""`` unsorted): a trip never mixes streams, while a
    truck's trips of one day may carry different streams.
    """

    truck: str
    station: str
    site: str
    load_kg: int
    arrival_s: int
    start_s: int
    unload_start_s: int
    end_s: int
    stream: str = ""


@dataclass(frozen=True)
class TruckDay:
    """A truck's day: trips in order, lunch, depot departure and return, distance and cost."""

    truck: str
    depot_departure_s: int
    depot_return_s: int
    trips: tuple[Trip, ...]
    lunch_start_s: int | None
    distance_m: int
    cost_cny: float


@dataclass(frozen=True)
class UnmovedLoad:
    """Waste left at a station today (of ``stream``, ``""`` unsorted), and why."""

    station: str
    load_kg: int
    reason: str
    stream: str = ""


@dataclass(frozen=True)
class TransferSolution:
    """The day's transfer plan."""

    trucks: tuple[TruckDay, ...]
    unmoved: tuple[UnmovedLoad, ...]
    gate_fees_cny: float
    truck_cost_cny: float
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def cost_cny(self) -> float:
        """Total CNY: trucks + gate fees."""
        return self.truck_cost_cny + self.gate_fees_cny

    @property
    def trips(self) -> list[Trip]:
        """All trips of all trucks."""
        return [trip for day in self.trucks for trip in day.trips]


def truck_day_cost(truck: TransferTruck, distance_m: int, duration_s: int) -> float:
    """CNY for a used truck: fixed + per km + per hour (depot departure to return)."""
    return (
        truck.fixed_cost_cny
        + truck.cost_cny_per_km * distance_m / 1000.0
        + truck.cost_cny_per_h * duration_s / 3600.0
    )
