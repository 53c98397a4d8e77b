"""The scenario's road network: build it (with closures), snap its places, check reachability.

Checks that need the roads (exit code 2 through `ScenarioError`): collection points farther than
``roads.max_snap_distance_m`` from any road a truck allowed there may use, and stations, depots
or disposal sites that no truck of the fleet can reach. Snapping goes to the largest strongly
connected part of each access class's roads, so a snapped place can reach every other one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoInputError
from geo.graph import from_osm_pbf, from_road_lines
from geo.network import AccessProfile, RoadNetwork
from geo.snap import SnapResult, snap_points
from sanitation.errors import ScenarioError
from sanitation.scenario.boundary import read_polygons
from sanitation.scenario.model import Scenario


def access_profiles(scenario: Scenario) -> dict[str, AccessProfile]:
    """One `geo` access profile per access class of the scenario."""
    return {
        a.class_id: AccessProfile(a.class_id, a.min_road_width_m, a.gross_weight_t)
        for a in scenario.access_classes
    }


def _polygons(path: Path | None, field: str, scenario: Path) -> BaseGeometry | None:
    """`read_polygons` of ``path``, None without a file."""
    return None if path is None else read_polygons(path, field, scenario)


def build_network(scenario: Scenario) -> RoadNetwork:
    """The road network of the scenario, with its closed roads and closed areas removed.

    Raises
    ------
    ScenarioError
        Unreadable roads, or a closed road id that is not in the network.
    """
    roads = scenario.roads
    if roads.path is None:  # the loader resolves a path for every kind of road source
        msg = f"{scenario.source_path}: field 'roads.path': no road file; expected a path"
        raise ScenarioError(msg)
    try:
        if roads.kind == "osm":
            boundary = _polygons(scenario.boundary_path, "boundary", scenario.source_path)
            network = from_osm_pbf(roads.path, boundary=boundary)
        else:
            network = from_road_lines(roads.path)
    except GeoInputError as error:
        raise ScenarioError(str(error).splitlines()[0], error.problems) from None
    if roads.closed_road_ids:
        known = {str(d.get("road_id")) for _, _, d in network.graph.edges(data=True)}
        unknown = [r for r in roads.closed_road_ids if r not in known]
        if unknown:
            msg = (
                f"{scenario.source_path}: field 'roads.closed_road_ids': value(s) "
                f"{', '.join(unknown)}; expected road_id values of {roads.path}"
            )
            raise ScenarioError(msg)
        network = network.without_roads(roads.closed_road_ids)
    if roads.closed_areas_path is not None:
        area = read_polygons(roads.closed_areas_path, "roads.closed_areas", scenario.source_path)
        network = network.without_roads_in(area)
    if network.number_of_edges == 0:
        msg = (
            f"{scenario.source_path}: fields 'roads.closed_road_ids'/'roads.closed_areas': "
            f"they close every road of {roads.path}; expected at least one road left open"
        )
        raise ScenarioError(msg)
    return network


@dataclass(frozen=True)
class SnappedPlaces:
    """Snapped network nodes of the scenario's places, per access class.

    ``points[class_id]`` is None for a class not allowed at any point; distances in metres.
    """

    network: RoadNetwork
    profiles: dict[str, AccessProfile]
    points: dict[str, SnapResult]
    stations: dict[str, SnapResult]
    depots: dict[str, SnapResult]
    disposal_sites: dict[str, SnapResult]
    facilities: dict[str, SnapResult] = field(default_factory=dict)  # sorted streams' sites


def snap_scenario(scenario: Scenario, network: RoadNetwork) -> SnappedPlaces:
    """Snap points, stations, depots, disposal sites and facilities for every access class."""
    profiles = access_profiles(scenario)

    def snap(records: Sequence[Any], lon: str = "lon", lat: str = "lat") -> dict[str, SnapResult]:
        xs = np.array([getattr(r, lon) for r in records], dtype=float)
        ys = np.array([getattr(r, lat) for r in records], dtype=float)
        out = {}
        for class_id, profile in profiles.items():
            try:
                out[class_id] = snap_points(network, xs, ys, profile=profile)
            except GeoInputError:  # no road at all for this class: every place unreachable
                out[class_id] = SnapResult(
                    np.full(len(records), -1, dtype=np.int64), np.full(len(records), np.inf)
                )
        return out

    return SnappedPlaces(
        network=network,
        profiles=profiles,
        points=snap(scenario.points),
        stations=snap(scenario.stations),
        depots=snap(scenario.depots),
        disposal_sites=snap(scenario.disposal_sites),
        facilities=snap(scenario.facilities) if scenario.facilities else {},
    )


PlaceTable = Literal["points", "stations", "depots", "disposal_sites", "facilities"]


@dataclass(frozen=True)
class PlaceProblem:
    """A place the usable roads do not serve.

    ``table`` and ``place_id`` say which record; ``source`` is its file (or table name) and
    ``detail`` what is wrong, so that ``message`` reads ``"<source>: <detail>"``.
    """

    table: PlaceTable
    place_id: str
    source: str
    detail: str

    @property
    def message(self) -> str:
        """The report line: file, record, fields, value and what was expected."""
        return f"{self.source}: {self.detail}"


def check_network(scenario: Scenario, places: SnappedPlaces) -> None:
    """Every point near a road some allowed truck may use; every site reachable by the fleet.

    Raises
    ------
    ScenarioError
        Listing every point too far from a usable road and every unreachable site.
    """
    problems = [problem.message for problem in network_problems(scenario, places)]
    if problems:
        raise ScenarioError(f"{len(problems)} place(s) off the usable roads", problems)


def network_problems(scenario: Scenario, places: SnappedPlaces) -> list[PlaceProblem]:
    """Points too far from a usable road, then stations, depots and disposal sites that no
    truck of the fleet can reach (closed stations are skipped)."""
    limit = scenario.roads.max_snap_distance_m
    classes = [a.class_id for a in scenario.access_classes]
    types = {v.type_id: v for v in scenario.vehicle_types}
    active = [types[f.type_id] for f in scenario.fleet if f.count > 0]
    fleet_classes = {v.access_class for v in active}
    collection = {v.access_class for v in active if v.role == "collection"}
    transfer = {v.access_class for v in active if v.role == "transfer"}
    files = scenario.table_paths
    problems: list[PlaceProblem] = []
    for index, point in enumerate(scenario.points):
        rank = classes.index(point.access_class)
        allowed = [c for c in classes[: rank + 1] if c in collection] or classes[: rank + 1]
        best = min(float(places.points[c].distance_m[index]) for c in allowed)
        if best > limit:
            problems.append(
                PlaceProblem(
                    "points",
                    point.point_id,
                    str(files.get("points", "points")),
                    f"record {point.point_id!r}, fields 'lon'/'lat': ({point.lon}, {point.lat}) "
                    f"is {_km(best)} from the nearest road usable by "
                    f"{' or '.join(repr(c) for c in allowed)} trucks; expected at most "
                    f"{limit:g} m (roads.max_snap_distance_m)",
                )
            )
    sites: list[tuple[PlaceTable, Sequence[Any], dict[str, SnapResult], str, set[str]]] = [
        ("stations", scenario.stations, places.stations, "station_id", collection),
        ("depots", scenario.depots, places.depots, "depot_id", fleet_classes),
        ("disposal_sites", scenario.disposal_sites, places.disposal_sites, "site_id", transfer),
        ("facilities", scenario.facilities, places.facilities, "facility_id", collection),
    ]
    for table, records, snapped, id_field, wanted in sites:
        usable = wanted or fleet_classes or set(classes)
        for index, record in enumerate(records):
            if getattr(record, "status", "") == "closed":
                continue
            distances = {c: float(snapped[c].distance_m[index]) for c in usable}
            if min(distances.values()) > limit:
                nearest = ", ".join(f"{c}: {_km(d)}" for c, d in sorted(distances.items()))
                ident = getattr(record, id_field)
                problems.append(
                    PlaceProblem(
                        table,
                        ident,
                        str(files.get(table, table)),
                        f"record {ident!r}, fields 'lon'/'lat': no truck of the fleet can "
                        f"reach it (nearest usable road {nearest}); expected a road within "
                        f"{limit:g} m connected to the network",
                    )
                )
    return problems


def _km(metres: float) -> str:
    if not np.isfinite(metres):
        return "no usable road at all"
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"
