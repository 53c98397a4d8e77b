"""The territory problem of one station over the planned week: immutable, validated.

Locations: 0 = the depot where the station's trucks park, 1 = the station (unload site), then
the station's points in ``point_ids`` order. One travel-time matrix (s) per access profile,
profile 0 the smallest truck's (it may use every road a larger one may). Days are the planned
dates' indices; ``visits_kg[i][d]`` is what point ``i`` gives on day ``d`` (0 = not due).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

IntMatrix = NDArray[np.int64]
#: travel times at or above this (s) mean "no usable path" (the routing problems' cap)
NO_PATH_S = 10**7


class ChangeReason(StrEnum):
    """Why a point left its baseline territory's truck."""

    TRUCK_REMOVED = "truck removed"  # the truck does not work at the point's station
    STATION_CHANGED = "station changed"  # the point is served from another station
    ACCESS = "access"  # the truck may no longer reach the point (access class, roads)
    OVER_SHIFT = "over the shift"  # the truck's kept points no longer fit its day
    FIXED = "fixed in the scenario"  # points.truck_id or the territory layer names another
    REBUILT = "territories re-built"  # no split of the station kept its territories


def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Truck:
    """One collection truck of the station.

    Parameters
    ----------
    truck_id
        ``depot/type#n`` as plans name it (`sanitation.scenario.model.truck_id`).
    type_id
        Its vehicle type.
    profile
        Index of its access profile (travel matrix); it may serve points whose ``access_rank``
        is at least this.
    capacity_kg
        Load between unloads (kg).
    limit_s
        Longest working route of a day (s): min(max duration, shift length).
    """

    truck_id: str
    type_id: str
    profile: int
    capacity_kg: int
    limit_s: int

    def __post_init__(self) -> None:
        who = f"Truck {self.truck_id!r}"
        _require(self.profile >= 0, f"{who}: profile must be >= 0.")
        _require(self.capacity_kg > 0, f"{who}: capacity_kg must be > 0.")
        _require(0 < self.limit_s <= 86_400, f"{who}: limit_s must be in (0, 86400].")


@dataclass(frozen=True, eq=False)
class TerritoryProblem:
    """A station's points, their visits over the week and its trucks.

    Parameters
    ----------
    station_id
        The station.
    point_ids
        Its points (every point it serves over the week, due or not).
    service_s
        Service time per visit (s), per point.
    access_rank
        Largest access profile that may serve each point.
    visits_kg
        Per point, kg due on each day of the week (0 = no visit that day).
    duration_s
        Travel times (s), one square matrix per profile over depot, station, points.
    unload_s
        Time of one unload at the station (s).
    trucks
        The station's collection trucks.
    fixed
        Point id → truck id the scenario fixes (``points.truck_id`` or a territory layer).
    kept
        Point id → truck id of a baseline's territories (a what-if planned against a base):
        kept where that truck is here, may serve the point and its kept points' estimated
        work fits its day; the others are re-assigned. ``fixed`` wins where both name a point.

    Raises
    ------
    ValueError
        Inconsistent data (the message names the field).
    """

    station_id: str
    point_ids: tuple[str, ...]
    service_s: tuple[int, ...]
    access_rank: tuple[int, ...]
    visits_kg: tuple[tuple[int, ...], ...]
    duration_s: tuple[IntMatrix, ...]
    unload_s: int
    trucks: tuple[Truck, ...]
    fixed: Mapping[str, str] = field(default_factory=dict)
    kept: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        who = f"TerritoryProblem {self.station_id!r}"
        n = len(self.point_ids)
        _require(len(set(self.point_ids)) == n, f"{who}: point_ids must be unique.")
        for name in ("service_s", "access_rank", "visits_kg"):
            _require(len(getattr(self, name)) == n, f"{who}: {name} needs one entry per point.")
        days = {len(v) for v in self.visits_kg}
        _require(len(days) <= 1 and days <= set(range(1, 8)), f"{who}: 1-7 days per point.")
        _require(all(s >= 0 for s in self.service_s), f"{who}: service_s must be >= 0.")
        _require(
            all(kg >= 0 for v in self.visits_kg for kg in v), f"{who}: visits_kg must be >= 0."
        )
        _require(self.unload_s >= 0, f"{who}: unload_s must be >= 0.")
        matrices = tuple(np.asarray(m, dtype=np.int64) for m in self.duration_s)
        _require(len(matrices) >= 1, f"{who}: duration_s needs at least one profile.")
        for m in matrices:
            _require(m.shape == (n + 2, n + 2), f"{who}: duration_s must be {n + 2}x{n + 2}.")
            _require(bool((m >= 0).all()), f"{who}: duration_s must be >= 0.")
            m.setflags(write=False)
        object.__setattr__(self, "duration_s", matrices)
        ids = [t.truck_id for t in self.trucks]
        _require(len(set(ids)) == len(ids), f"{who}: truck ids must be unique.")
        for truck in self.trucks:
            _require(truck.profile < len(matrices), f"{who}: {truck.truck_id} profile unknown.")
        known = set(self.point_ids)
        for point_id, truck_id in self.fixed.items():
            _require(point_id in known, f"{who}: fixed names unknown point {point_id!r}.")
            _require(bool(truck_id), f"{who}: fixed point {point_id!r} has no truck.")
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))
        for point_id, truck_id in self.kept.items():
            _require(point_id in known, f"{who}: kept names unknown point {point_id!r}.")
            _require(bool(truck_id), f"{who}: kept point {point_id!r} has no truck.")
        object.__setattr__(self, "kept", MappingProxyType(dict(self.kept)))

    @property
    def n_days(self) -> int:
        """Days of the week planned."""
        return len(self.visits_kg[0]) if self.visits_kg else 0

    def may_serve(self, truck: Truck, point: int) -> bool:
        """Whether ``truck`` may serve point index ``point``: its access class allows it and
        roads lead from the depot to the point, to the station and back."""
        m = self.duration_s[truck.profile]
        loc = point + 2
        return truck.profile <= self.access_rank[point] and bool(
            max(m[0, loc], m[loc, 1], m[1, loc], m[loc, 0]) < NO_PATH_S
        )


@dataclass(frozen=True)
class Territories:
    """Which truck serves each point of a station over the week, and the estimated work.

    ``truck_of``: point id → truck id (points no truck may serve are absent: ``orphans``);
    ``week_hours``/``day_hours``: estimated working hours per truck over the week and per day;
    ``moved``: fixed points whose truck does not work here or may not serve them (reassigned);
    ``changed``: kept points (`TerritoryProblem.kept`) now on another truck → why
    (`ChangeReason`); ``detached``: truck → the points of its territory apart from the piece
    that holds its centre along road neighbours (`sanitation.territory.contiguity`; empty:
    contiguous); ``contiguity``: False when no split contiguous along roads fitted and the
    territories were built without it.
    """

    station_id: str
    truck_of: Mapping[str, str]
    week_hours: Mapping[str, float]
    day_hours: Mapping[str, tuple[float, ...]]
    seeds: Mapping[str, str]
    band: float | None
    optimal: bool
    rounds: int
    orphans: tuple[str, ...] = ()
    moved: tuple[str, ...] = ()
    changed: Mapping[str, str] = field(default_factory=dict)
    detached: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    contiguity: bool = True

    def points_of(self, truck_id: str) -> list[str]:
        """The points of ``truck_id``'s territory, sorted."""
        return sorted(p for p, t in self.truck_of.items() if t == truck_id)
