"""Which trucks work from which station on the planned days.

Trucks belong to depots, and a depot to a station (``depots.station_id``; a depot without one
belongs to the nearest station). When the assignment closes a station, or opens one that has no
trucks of a role, trucks move:

1. every truck of a station that is not open goes to the open station with the largest deficit
   (needed − available), nearest first;
2. an open station still without a truck of a role gets trucks, one at a time, from the station
   with the largest surplus.

Need per station and role: collection ⌈load ÷ (mean truck capacity × 2.5 loads a day)⌉, at least
one; transfer ⌈load ÷ (container × 4 trips a day)⌉, at least one. A station with narrow-lane
points receives a small truck first and never gives away its last one. Every move is reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from geo.crs import haversine_m
from sanitation.scenario.model import Scenario

LOADS_PER_DAY = 2.5
TRANSFER_TRIPS_PER_DAY = 4


@dataclass(frozen=True)
class FleetPlan:
    """Trucks per open station and type, and the moves made to get there."""

    counts: Mapping[str, Mapping[str, int]]
    moves: tuple[str, ...]

    def of(self, station_id: str) -> dict[str, int]:
        """type_id → trucks working from ``station_id``."""
        return dict(self.counts.get(station_id, {}))


def _home_station(scenario: Scenario, depot_id: str) -> str:
    depot = next(d for d in scenario.depots if d.depot_id == depot_id)
    if depot.station_id is not None:
        return depot.station_id
    nearest = min(
        scenario.stations,
        key=lambda s: float(haversine_m(depot.lon, depot.lat, s.lon, s.lat)),
    )
    return nearest.station_id


def plan_fleet(
    scenario: Scenario,
    open_stations: set[str],
    load_kg: Mapping[str, float],
    narrow_stations: set[str],
) -> FleetPlan:
    """Trucks per open station (see the module docstring)."""
    fleet = _Fleet(scenario, open_stations, load_kg, narrow_stations)
    for role in ("collection", "transfer"):
        targets = sorted(open_stations)
        for source in sorted(set(fleet.counts) - open_stations):
            fleet.empty_closed(source, targets, role)
        for target in targets:
            fleet.supply(target, targets, role)
    return FleetPlan(
        counts={s: {t: c for t, c in fleet.counts[s].items() if c > 0} for s in open_stations},
        moves=tuple(_merge_moves(fleet.moves)),
    )


class _Fleet:
    """The trucks of every station while `plan_fleet` moves them (one truck per move)."""

    def __init__(
        self,
        scenario: Scenario,
        open_stations: set[str],
        load_kg: Mapping[str, float],
        narrow_stations: set[str],
    ) -> None:
        self.scenario = scenario
        self.open_stations = open_stations
        self.load_kg = load_kg
        self.narrow_stations = narrow_stations
        self.types = {v.type_id: v for v in scenario.vehicle_types}
        self.counts: dict[str, dict[str, int]] = {s.station_id: {} for s in scenario.stations}
        for entry in scenario.fleet:
            if entry.count > 0:
                home = self.counts[_home_station(scenario, entry.depot_id)]
                home[entry.type_id] = home.get(entry.type_id, 0) + entry.count
        self.position = {s.station_id: (s.lon, s.lat) for s in scenario.stations}
        self.smallest = scenario.access_classes[0].class_id
        self.moves: list[str] = []

    def empty_closed(self, source: str, targets: list[str], role: str) -> None:
        """Every truck of ``role`` of a station that is not open goes to the open station with
        the largest deficit, nearest first."""
        while self.role_count(source, role) > 0 and targets:
            target = min(
                targets,
                key=lambda t: (
                    -(self.need(t, role) - self.role_count(t, role)),
                    self.distance_m(source, t),
                ),
            )
            self.move(source, target, role)

    def supply(self, target: str, targets: list[str], role: str) -> None:
        """An open station without a truck of ``role`` that it needs gets trucks, one at a time,
        from the station with the largest surplus."""
        while self.role_count(target, role) == 0 and self.need(target, role) > 0:
            donors = [s for s in targets if s != target and self.role_count(s, role) > 1]
            if not donors:
                return
            donor = max(
                donors,
                key=lambda s: (
                    self.role_count(s, role) - self.need(s, role),
                    -self.distance_m(s, target),
                ),
            )
            if not self.move(donor, target, role):
                return

    def role_count(self, station: str, role: str) -> int:
        return sum(c for t, c in self.counts[station].items() if self.types[t].role == role)

    def need(self, station: str, role: str) -> int:
        load = self.load_kg.get(station, 0.0)
        if role == "collection":
            caps = [v.capacity_t * 1000 for v in self.types.values() if v.role == role]
            per_truck = (sum(caps) / len(caps)) * LOADS_PER_DAY if caps else 1.0
        else:
            per_truck = (
                next(s.container_t for s in self.scenario.stations if s.station_id == station)
                * 1000
                * TRANSFER_TRIPS_PER_DAY
            )
        return max(1, math.ceil(load / per_truck)) if load > 0 else 0

    def distance_m(self, a: str, b: str) -> float:
        return float(haversine_m(*self.position[a], *self.position[b]))

    def _is_small(self, type_id: str) -> bool:
        return self.types[type_id].access_class == self.smallest

    def small_trucks(self, station: str, role: str) -> int:
        return sum(
            c
            for t, c in self.counts[station].items()
            if self.types[t].role == role and self._is_small(t)
        )

    def can_give(self, source: str, type_id: str, role: str) -> bool:
        """An open station with narrow-lane points keeps its last small truck."""
        if self.counts[source][type_id] <= 0 or self.types[type_id].role != role:
            return False
        keeps_small = source in self.open_stations and source in self.narrow_stations
        return not (
            keeps_small and self._is_small(type_id) and self.small_trucks(source, role) <= 1
        )

    def move(self, source: str, target: str, role: str) -> bool:
        """Move one truck of ``role`` (small first where the target needs one); False if none."""
        candidates = [t for t in self.counts[source] if self.can_give(source, t, role)]
        if not candidates:
            return False
        small_first = target in self.narrow_stations and not any(
            self._is_small(t)
            for t, c in self.counts[target].items()
            if c > 0 and self.types[t].role == role
        )

        def preference(type_id: str) -> tuple[bool, int]:
            is_small = self._is_small(type_id)
            return (not is_small if small_first else False, -self.counts[source][type_id])

        type_id = min(sorted(candidates), key=preference)
        self.counts[source][type_id] -= 1
        self.counts[target][type_id] = self.counts[target].get(type_id, 0) + 1
        self.moves.append(f"1 × {type_id} from {source} to {target}")
        return True


def _merge_moves(moves: list[str]) -> list[str]:
    """'1 × a from X to Y' repeated → 'n × a from X to Y', first-seen order."""
    tally: dict[str, int] = {}
    for text in moves:
        key = text.removeprefix("1 × ")
        tally[key] = tally.get(key, 0) + 1
    return [f"{n} × {key}" for key, n in tally.items()]
