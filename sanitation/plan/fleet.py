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
    types = {v.type_id: v for v in scenario.vehicle_types}
    counts: dict[str, dict[str, int]] = {s.station_id: {} for s in scenario.stations}
    for entry in scenario.fleet:
        if entry.count > 0:
            home = _home_station(scenario, entry.depot_id)
            counts[home][entry.type_id] = counts[home].get(entry.type_id, 0) + entry.count
    position = {s.station_id: (s.lon, s.lat) for s in scenario.stations}
    moves: list[str] = []

    def role_count(station: str, role: str) -> int:
        return sum(c for t, c in counts[station].items() if types[t].role == role)

    def need(station: str, role: str) -> int:
        load = load_kg.get(station, 0.0)
        if role == "collection":
            caps = [v.capacity_t * 1000 for v in types.values() if v.role == role]
            per_truck = (sum(caps) / len(caps)) * LOADS_PER_DAY if caps else 1.0
        else:
            per_truck = (
                next(s.container_t for s in scenario.stations if s.station_id == station)
                * 1000
                * TRANSFER_TRIPS_PER_DAY
            )
        return max(1, math.ceil(load / per_truck)) if load > 0 else 0

    def distance(a: str, b: str) -> float:
        return float(haversine_m(*position[a], *position[b]))

    smallest = scenario.access_classes[0].class_id

    def small_trucks(station: str, role: str) -> int:
        return sum(
            c
            for t, c in counts[station].items()
            if types[t].role == role and types[t].access_class == smallest
        )

    def can_give(source: str, type_id: str, role: str) -> bool:
        """An open station with narrow-lane points keeps its last small truck."""
        if counts[source][type_id] <= 0 or types[type_id].role != role:
            return False
        keeps_small = source in open_stations and source in narrow_stations
        return not (
            keeps_small
            and types[type_id].access_class == smallest
            and small_trucks(source, role) <= 1
        )

    def move(source: str, target: str, role: str) -> bool:
        candidates = [t for t in counts[source] if can_give(source, t, role)]
        if not candidates:
            return False
        small_first = target in narrow_stations and not any(
            types[t].access_class == scenario.access_classes[0].class_id
            for t, c in counts[target].items()
            if c > 0 and types[t].role == role
        )

        def preference(type_id: str) -> tuple[bool, int]:
            is_small = types[type_id].access_class == smallest
            return (not is_small if small_first else False, -counts[source][type_id])

        type_id = min(sorted(candidates), key=preference)
        counts[source][type_id] -= 1
        counts[target][type_id] = counts[target].get(type_id, 0) + 1
        moves.append(f"1 × {type_id} from {source} to {target}")
        return True

    for role in ("collection", "transfer"):
        targets = sorted(open_stations)
        for source in sorted(set(counts) - open_stations):
            while role_count(source, role) > 0 and targets:
                target = min(
                    targets,
                    key=lambda t: (-(need(t, role) - role_count(t, role)), distance(source, t)),
                )
                move(source, target, role)
        for target in targets:
            while role_count(target, role) == 0 and need(target, role) > 0:
                donors = [s for s in targets if s != target and role_count(s, role) > 1]
                if not donors:
                    break
                donor = max(
                    donors,
                    key=lambda s: (role_count(s, role) - need(s, role), -distance(s, target)),
                )
                if not move(donor, target, role):
                    break
    merged = _merge_moves(moves)
    return FleetPlan(
        counts={s: {t: c for t, c in counts[s].items() if c > 0} for s in open_stations},
        moves=tuple(merged),
    )


def _merge_moves(moves: list[str]) -> list[str]:
    """'1 × a from X to Y' repeated → 'n × a from X to Y', first-seen order."""
    tally: dict[str, int] = {}
    for text in moves:
        key = text.removeprefix("1 × ")
        tally[key] = tally.get(key, 0) + 1
    return [f"{n} × {key}" for key, n in tally.items()]
