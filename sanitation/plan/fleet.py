"""Which trucks work from which station on the planned days.

Trucks belong to depots, and a depot to a station (``depots.station_id``; a depot without one
belongs to the nearest station). A point may be served by trucks of its access class and the
smaller ones, so an open station needs at least one collection truck of a class no larger than
the smallest class among its points (its *access need*). When the assignment closes a station,
or opens one that lacks trucks, trucks move, one at a time:

1. an open station whose access need is unmet gets a truck that meets it: from a station that is
   not open first, else from the open station with the largest surplus (needed − available),
   nearest first; a donor never gives a truck its own points need;
2. every other truck of a station that is not open goes to the open station with the largest
   deficit, nearest first;
3. an open station still without a truck of a role gets trucks from the station with the
   largest surplus.

Need per station and role (a rule of thumb for where spare trucks go; the routed plan's own need
is in the fleet report, `sanitation.plan.fleet_report`): collection ⌈load ÷ (mean truck capacity ×
2.5 loads a day)⌉, transfer ⌈load ÷ (container × 4 trips a day)⌉, at least one each. Every move
is reported; an access need no move can meet is reported as an `AccessShortfall` (the points
that no truck of the station may serve, and the types that could).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from geo.crs import haversine_m
from sanitation.plan.model import UnservedOut
from sanitation.routing.screen import UnservedReason
from sanitation.scenario.model import Scenario

LOADS_PER_DAY = 2.5  # assumed: collection loads a truck unloads per day (rule of thumb)
TRANSFER_TRIPS_PER_DAY = 4  # assumed: container trips a hook-lift truck makes per day


@dataclass(frozen=True)
class AccessShortfall:
    """An open station without any collection truck its narrowest points allow."""

    station_id: str
    missing_types: tuple[str, ...]  # any one of these would do
    point_ids: tuple[str, ...]  # the points no truck of the station may serve

    @property
    def note(self) -> str:
        """``"ST-C01 has no small_3t: points P1, P2 need it ..."`` (plan notes)."""
        return (
            f"{self.station_id} has no {' or '.join(self.missing_types)}: "
            f"{len(self.point_ids)} point(s) {', '.join(self.point_ids)} need it "
            "and no station can spare one"
        )


@dataclass(frozen=True)
class FleetPlan:
    """Trucks per open station and type (``counts``), the scenario's own (``owned``, every
    station), the moves made and the access needs no move could meet."""

    counts: Mapping[str, Mapping[str, int]]
    moves: tuple[str, ...]
    owned: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    shortfalls: tuple[AccessShortfall, ...] = ()

    def of(self, station_id: str) -> dict[str, int]:
        """type_id → trucks working from ``station_id``."""
        return dict(self.counts.get(station_id, {}))

    def with_counts(self, station_id: str, counts: Mapping[str, int]) -> FleetPlan:
        """A copy with ``station_id``'s trucks replaced by ``counts`` (type → n)."""
        changed = {s: dict(c) for s, c in self.counts.items()}
        changed[station_id] = {t: n for t, n in counts.items() if n > 0}
        return FleetPlan(changed, self.moves, self.owned, self.shortfalls)

    def explain(self, unserved: Iterable[UnservedOut]) -> list[UnservedOut]:
        """``unserved`` with the missing truck type named where a shortfall is the cause."""
        missing = {
            (s.station_id, p): " or ".join(s.missing_types)
            for s in self.shortfalls
            for p in s.point_ids
        }
        out = []
        for item in unserved:
            types = missing.get((item.station_id, item.point_id))
            if types is not None and item.reason == UnservedReason.NO_VEHICLE_TYPE.value:
                reason = f"{item.reason}: {item.station_id} has no {types}"
                out.append(item.model_copy(update={"reason": reason}))
            else:
                out.append(item)
        return out


def home_station(scenario: Scenario, depot_id: str) -> str:
    """The station whose trucks park at ``depot_id`` (the nearest one for a depot without)."""
    depot = next(d for d in scenario.depots if d.depot_id == depot_id)
    if depot.station_id is not None:
        return depot.station_id
    nearest = min(
        scenario.stations,
        key=lambda s: float(haversine_m(depot.lon, depot.lat, s.lon, s.lat)),
    )
    return nearest.station_id


def owned_fleet(scenario: Scenario) -> dict[str, dict[str, int]]:
    """station → type → trucks the scenario gives it (through its depots)."""
    owned: dict[str, dict[str, int]] = {s.station_id: {} for s in scenario.stations}
    for entry in scenario.fleet:
        if entry.count > 0:
            home = owned[home_station(scenario, entry.depot_id)]
            home[entry.type_id] = home.get(entry.type_id, 0) + entry.count
    return owned


def plan_fleet(
    scenario: Scenario,
    open_stations: set[str],
    load_kg: Mapping[str, float],
    station_points: Mapping[str, Sequence[str]],
) -> FleetPlan:
    """Trucks per open station (see the module docstring).

    Parameters
    ----------
    load_kg
        Expected kg per day per station.
    station_points
        The point ids each open station serves (their access classes set its access need).
    """
    fleet = _Fleet(scenario, open_stations, load_kg, station_points)
    targets = sorted(open_stations)
    for target in targets:
        fleet.meet_access_need(target, targets)
    for role in ("collection", "transfer"):
        for source in sorted(set(fleet.counts) - open_stations):
            fleet.empty_closed(source, targets, role)
        for target in targets:
            fleet.supply(target, targets, role)
    return FleetPlan(
        counts={s: {t: c for t, c in fleet.counts[s].items() if c > 0} for s in open_stations},
        moves=tuple(_merge_moves(fleet.moves)),
        owned=owned_fleet(scenario),
        shortfalls=tuple(fleet.shortfalls(s) for s in targets if not fleet.covered(s)),
    )


class _Fleet:
    """The trucks of every station while `plan_fleet` moves them (one truck per move)."""

    def __init__(
        self,
        scenario: Scenario,
        open_stations: set[str],
        load_kg: Mapping[str, float],
        station_points: Mapping[str, Sequence[str]],
    ) -> None:
        self.scenario = scenario
        self.open_stations = open_stations
        self.load_kg = load_kg
        self.types = {v.type_id: v for v in scenario.vehicle_types}
        self.counts = owned_fleet(scenario)
        self.position = {s.station_id: (s.lon, s.lat) for s in scenario.stations}
        self.rank = {a.class_id: i for i, a in enumerate(scenario.access_classes)}
        point_rank = {p.point_id: self.rank[p.access_class] for p in scenario.points}
        self.points = {s: sorted(ids) for s, ids in station_points.items() if s in open_stations}
        # station → the largest truck class rank all its points allow (None: no points)
        self.need_rank = {
            s: min(point_rank[p] for p in ids) for s, ids in self.points.items() if ids
        }
        self.point_rank = point_rank
        self.moves: list[str] = []

    # -- access needs ----------------------------------------------------------------------
    def type_rank(self, type_id: str) -> int:
        return self.rank[self.types[type_id].access_class]

    def meets(self, station: str, type_id: str) -> bool:
        """Whether a truck of ``type_id`` meets ``station``'s access need."""
        need = self.need_rank.get(station)
        vtype = self.types[type_id]
        return need is not None and vtype.role == "collection" and self.type_rank(type_id) <= need

    def covered(self, station: str) -> bool:
        """Whether ``station`` has no access need or a truck that meets it."""
        if station not in self.need_rank:
            return True
        return any(c > 0 and self.meets(station, t) for t, c in self.counts[station].items())

    def meet_access_need(self, target: str, targets: list[str]) -> None:
        """Give ``target`` a truck that meets its access need, if it lacks one and one can move:
        from a station that is not open first, then from the open one with the largest surplus."""
        if self.covered(target):
            return
        donors = [
            (source in self.open_stations, source)
            for source, counts in self.counts.items()
            if source != target
            and any(
                self.meets(target, t) and self.can_give(source, t, "collection") for t in counts
            )
        ]
        if not donors:
            return
        donor = min(
            donors,
            key=lambda d: (
                d[0],
                -(self.role_count(d[1], "collection") - self.need(d[1], "collection")),
                self.distance_m(d[1], target),
                d[1],
            ),
        )[1]
        self.move(donor, target, "collection")

    def shortfalls(self, station: str) -> AccessShortfall:
        """The access need of ``station`` that no move met."""
        present = [
            self.type_rank(t)
            for t, c in self.counts[station].items()
            if c > 0 and self.types[t].role == "collection"
        ]
        smallest_present = min(present, default=len(self.rank))
        stranded = tuple(p for p in self.points[station] if self.point_rank[p] < smallest_present)
        missing = tuple(sorted(t for t in self.types if self.meets(station, t)))
        return AccessShortfall(station, missing, stranded)

    # -- roles -----------------------------------------------------------------------------
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
            donors = [
                s
                for s in targets
                if s != target
                and self.role_count(s, role) > 1
                and any(self.can_give(s, t, role) for t in self.counts[s])
            ]
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

    def can_give(self, source: str, type_id: str, role: str) -> bool:
        """A truck of ``type_id`` may leave ``source`` unless it is the last one there that
        meets the access need of an open ``source``."""
        if self.counts[source].get(type_id, 0) <= 0 or self.types[type_id].role != role:
            return False
        if source not in self.open_stations or not self.meets(source, type_id):
            return True
        meeting = sum(c for t, c in self.counts[source].items() if self.meets(source, t))
        return meeting > 1

    def move(self, source: str, target: str, role: str) -> bool:
        """Move one truck of ``role`` (one that meets the target's unmet access need first, else
        the donor's most numerous type); False if none may move."""
        candidates = [t for t in self.counts[source] if self.can_give(source, t, role)]
        if not candidates:
            return False
        wants_access = not self.covered(target)

        def preference(type_id: str) -> tuple[bool, int]:
            meets = self.meets(target, type_id)
            return (wants_access and not meets, -self.counts[source][type_id])

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
