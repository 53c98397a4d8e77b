"""The scenario's road network: build it (with closures), snap its places, check reachability.

Checks that need the roads (exit code 2 through `ScenarioError`): collection points farther than
``roads.max_snap_distance_m`` from any road a truck allowed there may use, and stations, depots
or disposal sites that no truck of the fleet can reach. Snapping goes to the largest strongly
connected part of each access class's roads, so a snapped place can reach every other one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geo.errors import GeoInputError
from geo.graph import from_osm_pbf, from_road_lines
from geo.network import AccessProfile, RoadNetwork
from geo.snap import SnapResult, snap_points
from sanitation.errors import ScenarioError
from sanitation.scenario.model import Scenario


def access_profiles(scenario: Scenario) -> dict[str, AccessProfile]:
    """One `geo` access profile per access class of the scenario."""
    return {
        a.class_id: AccessProfile(a.class_id, a.min_road_width_m, a.gross_weight_t)
        for a in scenario.access_classes
    }


def _boundary(path: Path | None):
    if path is None:
        return None
    import geopandas as gpd

    return gpd.read_file(path).to_crs("EPSG:4326").union_all()


def build_network(scenario: Scenario) -> RoadNetwork:
    """The road network of the scenario, with its closed roads and closed areas removed.

    Raises
    ------
    ScenarioError
        Unreadable roads, or a closed road id that is not in the network.
    """
    roads = scenario.roads
    try:
        if roads.kind == "osm":
            assert roads.path is not None
            network = from_osm_pbf(roads.path, boundary=_boundary(scenario.boundary_path))
        else:
            assert roads.path is not None
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
        area = _boundary(roads.closed_areas_path)
        network = network.without_roads_in(area)
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


def snap_scenario(scenario: Scenario, network: RoadNetwork) -> SnappedPlaces:
    """Snap points, stations, depots and disposal sites for every access class."""
    profiles = access_profiles(scenario)

    def snap(records: tuple, lon: str = "lon", lat: str = "lat") -> dict[str, SnapResult]:
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
    )


def check_network(scenario: Scenario, places: SnappedPlaces) -> None:
    """Every point near a road some allowed truck may use; every site reachable by the fleet.

    Raises
    ------
    ScenarioError
        Listing every point too far from a usable road and every unreachable site.
    """
    point_problems, site_problems = network_problems(scenario, places)
    problems = [*point_problems.values(), *(message for _, _, message in site_problems)]
    if problems:
        raise ScenarioError(f"{len(problems)} place(s) off the usable roads", problems)


def network_problems(
    scenario: Scenario, places: SnappedPlaces
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Points too far from a usable road (point id → message) and unreachable sites
    (table, id, message)."""
    limit = scenario.roads.max_snap_distance_m
    classes = [a.class_id for a in scenario.access_classes]
    types = {v.type_id: v for v in scenario.vehicle_types}
    fleet_classes = {types[f.type_id].access_class for f in scenario.fleet if f.count > 0}
    collection = {
        types[f.type_id].access_class
        for f in scenario.fleet
        if f.count > 0 and types[f.type_id].role == "collection"
    }
    transfer = {
        types[f.type_id].access_class
        for f in scenario.fleet
        if f.count > 0 and types[f.type_id].role == "transfer"
    }
    files = scenario.table_paths
    point_problems: dict[str, str] = {}
    problems: list[tuple[str, str, str]] = []
    for index, point in enumerate(scenario.points):
        rank = classes.index(point.access_class)
        allowed = [c for c in classes[: rank + 1] if c in collection] or classes[: rank + 1]
        best = min(float(places.points[c].distance_m[index]) for c in allowed)
        if best > limit:
            point_problems[point.point_id] = (
                f"{files.get('points', 'points')}: record {point.point_id!r}, fields 'lon'/'lat': "
                f"({point.lon}, {point.lat}) is {_km(best)} from the nearest road usable by "
                f"{' or '.join(repr(c) for c in allowed)} trucks; expected at most {limit:g} m "
                "(roads.max_snap_distance_m)"
            )

    def sites(
        records: tuple, snapped: dict[str, SnapResult], id_field: str, table: str, usable: set[str]
    ) -> None:
        usable = usable or fleet_classes or set(classes)
        for index, record in enumerate(records):
            if getattr(record, "status", "") == "closed":
                continue
            distances = {c: float(snapped[c].distance_m[index]) for c in usable}
            if min(distances.values()) > limit:
                nearest = ", ".join(f"{c}: {_km(d)}" for c, d in sorted(distances.items()))
                ident = getattr(record, id_field)
                problems.append(
                    (
                        table,
                        ident,
                        f"{files.get(table, table)}: record {ident!r}, fields 'lon'/'lat': no "
                        f"truck of the fleet can reach it (nearest usable road {nearest}); "
                        f"expected a road within {limit:g} m connected to the network",
                    )
                )

    sites(scenario.stations, places.stations, "station_id", "stations", collection)
    sites(scenario.depots, places.depots, "depot_id", "depots", fleet_classes)
    sites(scenario.disposal_sites, places.disposal_sites, "site_id", "disposal_sites", transfer)
    return point_problems, problems


def _km(metres: float) -> str:
    if not np.isfinite(metres):
        return "no usable road at all"
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"
