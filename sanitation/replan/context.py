"""The scenario of a re-plan: the plan's scenario with the closures in force from ``t`` to the
end of the day (the timed ones are priced per leg: `sanitation.replan.closures`) and
the places the events name that the scenario lacks (reported truck positions, new urgent
places) as zero-waste points, so that every writer and matrix handles them like any point.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from sanitation.errors import ScenarioError
from sanitation.plan.context import PlanningContext
from sanitation.replan.events import Event, Position, RoadClosed, TruckDown
from sanitation.replan.state import DayState
from sanitation.scenario.boundary import read_polygons
from sanitation.scenario.model import CollectionPoint, Scenario
from sanitation.scenario.network import snap_scenario

GPS_PREFIX = "gps:"
#: the zero-waste point standing at a helping neighbour's station or depot (matrix location)
SITE_PREFIX = "site:"


def closures_in_force(events: Sequence[Event], at_s: int, end_s: int) -> list[RoadClosed]:
    """The closures that hold at some time between ``at_s`` and the shift end ``end_s``
    (a closure from later in the day is kept closed from ``t`` on: conservative)."""
    return [
        ev
        for ev in events
        if isinstance(ev, RoadClosed)
        and ev.from_s <= end_s
        and (ev.until_s is None or ev.until_s > at_s)
    ]


def is_static(closure: RoadClosed, at_s: int) -> bool:
    """A closure in force at ``at_s`` with no end: its roads are closed for the whole re-plan
    (any other closure is timed: `sanitation.replan.closures`)."""
    return closure.from_s <= at_s and closure.until_s is None


def _template(scenario: Scenario, lon: float, lat: float) -> CollectionPoint:
    """The scenario point nearest to lon/lat (its village, township and access are lent)."""
    xy = np.array([(p.lon, p.lat) for p in scenario.points])
    k = int(np.argmin(((xy - (lon, lat)) ** 2).sum(axis=1)))
    return scenario.points[k]


def _pseudo_point(
    scenario: Scenario, point_id: str, name: str, lon: float, lat: float, access: str | None
) -> CollectionPoint:
    base = _template(scenario, lon, lat)
    return dataclasses.replace(
        base,
        point_id=point_id,
        name=name,
        lon=lon,
        lat=lat,
        waste_t_per_day=0.0,
        service_s=base.service_s,
        tw_open_s=0,
        tw_close_s=86_400,
        access_class=access or base.access_class,
        synthetic=True,
    )


def _where(event: TruckDown | Position) -> tuple[float, float] | None:
    if event.lon is not None and event.lat is not None:
        return event.lon, event.lat
    return None


def event_places(
    scenario: Scenario,
    events: Sequence[Event],
    state: DayState,
    type_class: dict[str, str],
) -> tuple[list[CollectionPoint], dict[str, int]]:
    """Zero-waste points for the reported positions and the new urgent places, and the event
    index behind each (for messages)."""
    points: list[CollectionPoint] = []
    origin: dict[str, int] = {}
    for i, ev in enumerate(events):
        if isinstance(ev, Position) and ev.vehicle in state.trucks:
            where = _where(ev)
            truck = state.trucks[ev.vehicle]
            if where is not None:
                pid = f"{GPS_PREFIX}{ev.vehicle}"
                name = f"GPS {ev.vehicle} {ev.time}"
                points.append(_pseudo_point(scenario, pid, name, *where, type_class[truck.type_id]))
                origin[pid] = i
    return points, origin


def helper_places(scenario: Scenario, stations: Sequence[str]) -> list[CollectionPoint]:
    """Zero-waste points at the stations (and their depots) of helping neighbours, so that the
    matrices of another station's re-plan reach them."""
    records = {s.station_id: s for s in scenario.stations}
    depots = {d.station_id: d for d in scenario.depots}
    out = []
    for station_id in stations:
        st = records[station_id]
        out.append(
            _pseudo_point(scenario, f"{SITE_PREFIX}{station_id}", st.name, st.lon, st.lat, None)
        )
        depot = depots.get(station_id)
        if depot is not None:
            pid = f"{SITE_PREFIX}{depot.depot_id}"
            out.append(_pseudo_point(scenario, pid, depot.name, depot.lon, depot.lat, None))
    return out


def down_places(
    scenario: Scenario, events: Sequence[Event], state: DayState, type_class: dict[str, str]
) -> tuple[list[CollectionPoint], dict[str, int]]:
    """Where trucks broke down (lon/lat given): checked against the roads, never routed."""
    points: list[CollectionPoint] = []
    origin: dict[str, int] = {}
    for i, ev in enumerate(events):
        if isinstance(ev, TruckDown) and ev.vehicle in state.trucks:
            where = _where(ev)
            if where is not None:
                pid = f"down:{ev.vehicle}"
                access = type_class[state.trucks[ev.vehicle].type_id]
                points.append(_pseudo_point(scenario, pid, pid, *where, access))
                origin[pid] = i
    return points, origin


def new_places(scenario: Scenario, state: DayState) -> tuple[list[CollectionPoint], dict[str, int]]:
    """The new urgent places as zero-waste points (their kg is due through the state)."""
    points: list[CollectionPoint] = []
    origin: dict[str, int] = {}
    for key, (i, urgent) in state.new_places.items():
        if urgent.lon is None or urgent.lat is None:
            continue
        name = urgent.name or f"urgent point {i}"
        points.append(_pseudo_point(scenario, key, name, urgent.lon, urgent.lat, None))
        origin[key] = i
    return points, origin


def closure_area(event: RoadClosed) -> BaseGeometry | None:
    """The closed area of a closure event as a valid (Multi)Polygon; None when it has no area
    or its area is not a valid GeoJSON (Multi)Polygon (`sanitation.replan.check` refuses
    those)."""
    if event.area is None:
        return None
    try:
        geom = shape(event.area)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException):
        return None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
        return None
    return geom


def _areas_file(
    scenario: Scenario, closures: Sequence[RoadClosed], folder: Path, path: Path
) -> Path | None:
    """A GeoJSON file of every closed area (the scenario's and the events'), or None."""
    shapes = []
    if scenario.roads.closed_areas_path is not None:
        shapes.append(
            read_polygons(
                scenario.roads.closed_areas_path, "roads.closed_areas", scenario.source_path
            )
        )
    for ev in closures:
        if ev.area is None:
            continue
        geom = closure_area(ev)
        if geom is None:  # `sanitation.replan.check` refused it before the re-plan began
            msg = f"{path}: a closure's area is no valid GeoJSON Polygon"
            raise ScenarioError(msg)
        shapes.append(geom)
    if not shapes:
        return None
    features = [{"type": "Feature", "properties": {}, "geometry": mapping(g)} for g in shapes]
    out = folder / "closed_areas.geojson"
    out.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return out


def replan_context(
    base: PlanningContext,
    events: Sequence[Event],
    state: DayState,
    *,
    end_s: int,
    work_dir: Path,
    path: Path,
    helpers: Sequence[str] = (),
) -> tuple[PlanningContext, list[str]]:
    """The context of the re-plan and the ids of the event places added as points (with the
    stations and depots of the helping neighbours ``helpers``)."""
    scenario = base.scenario
    type_class = {v.type_id: v.access_class for v in scenario.vehicle_types}
    extra = event_places(scenario, events, state, type_class)[0]
    extra += helper_places(scenario, helpers)
    extra += new_places(scenario, state)[0]
    closures = [c for c in closures_in_force(events, state.at_s, end_s) if is_static(c, state.at_s)]
    new = scenario.replace(points=(*scenario.points, *extra))
    if not closures:
        places = snap_scenario(new, base.places.network)
        ctx = PlanningContext(
            new, places, base.cache_dir, dict(base.cut_off), dict(base.lost_sites)
        )
        return ctx, [p.point_id for p in extra]
    roads = scenario.roads
    closed = tuple(
        dict.fromkeys([*roads.closed_road_ids, *(r for ev in closures for r in ev.roads)])
    )
    areas = _areas_file(scenario, closures, work_dir, path)
    new = new.replace(
        roads=dataclasses.replace(roads, closed_road_ids=closed, closed_areas_path=areas)
    )
    return PlanningContext.build(new, cache_dir=base.cache_dir), [p.point_id for p in extra]


@dataclass
class NodeRecorder(PlanningContext):
    """A planning context that remembers the nodes of each class's first matrix (the locations
    of the one problem built with it)."""

    nodes: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, ctx: PlanningContext) -> NodeRecorder:
        """A recorder over ``ctx``."""
        return cls(ctx.scenario, ctx.places, ctx.cache_dir, ctx.cut_off, ctx.lost_sites)

    def matrix(
        self, class_id: str, from_nodes: np.ndarray, to_nodes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """As `PlanningContext.matrix`, the nodes remembered."""
        self.nodes.setdefault(class_id, np.asarray(from_nodes, dtype=np.int64))
        return super().matrix(class_id, from_nodes, to_nodes)
