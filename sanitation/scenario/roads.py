"""Synthetic roads for generated scenarios (via `geo.synthetic`), written as a road-lines file.

Hubs are the township seats; villages, stations and inside-county disposal sites are joined by
village roads; every collection point gets a spur, a share of them narrow lanes. A point whose
spur is a lane gets ``access_class = small`` (only small trucks may serve it), so the points
table agrees with the roads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from geopandas import GeoDataFrame
from shapely.geometry.base import BaseGeometry

from geo.synthetic import synthetic_roads
from sanitation.scenario.synthesis import CountyTables

LANE_SHARE = 0.15
COORD_DECIMALS = 6


def make_synthetic_roads(
    tables: CountyTables,
    boundary: BaseGeometry,
    *,
    seed: int,
    external_points: list[tuple[float, float]],
) -> GeoDataFrame:
    """Generate road lines for ``tables`` and mark the lane-only points in ``tables.points``.

    ``external_points`` outside ``boundary`` get a provincial link (the first one only);
    those inside are joined like villages.
    """
    hubs = np.array([(t["seat_lon"], t["seat_lat"]) for t in tables.townships])
    inside = [p for p in external_points if boundary.contains(_point(p))]
    outside = [p for p in external_points if not boundary.contains(_point(p))]
    joined = [(v["lon"], v["lat"]) for v in tables.villages]
    joined += [(s["lon"], s["lat"]) for s in tables.stations]
    joined += inside
    points = np.array([(p["lon"], p["lat"]) for p in tables.points])
    roads = synthetic_roads(
        boundary,
        hubs,
        np.array(joined),
        seed=seed,
        points=points,
        external=outside[0] if outside else None,
        lane_fraction=LANE_SHARE,
    )
    lane_ends = set()
    for geometry in roads.loc[roads["road_class"] == "lane", "geometry"]:
        for lon, lat in (geometry.coords[0], geometry.coords[-1]):
            lane_ends.add((round(lon, COORD_DECIMALS), round(lat, COORD_DECIMALS)))
    for point in tables.points:
        key = (round(point["lon"], COORD_DECIMALS), round(point["lat"], COORD_DECIMALS))
        point["access_class"] = "small" if key in lane_ends else ""
    return roads


def write_roads(roads: GeoDataFrame, path: Path) -> None:
    """Write road lines as GeoJSON (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.geojson")
    roads.to_file(tmp, driver="GeoJSON")
    tmp.replace(path)


def _point(lonlat: tuple[float, float]) -> BaseGeometry:
    from shapely.geometry import Point

    return Point(lonlat)
