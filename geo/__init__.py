"""Road networks, coordinate systems and travel matrices.

`geo` never imports `sanitation` or `api`. Coordinates are WGS-84 lon/lat unless a name says
``gcj02``; lengths are metres and times are seconds.

Typical use::

    network = geo.from_road_lines("roads.gpkg")            # or from_osm_pbf / synthetic_roads
    snapped = geo.snap_points(network, lon, lat, profile=geo.SMALL_TRUCK,
                              max_distance_m=500, point_ids=ids)
    m = geo.travel_matrix(network, geo.SMALL_TRUCK, snapped.node_ids)
    m.time_s, m.distance_m                                 # int64 s and m
"""

import importlib
from typing import Any

#: public name → the module that defines it; imported on first use, so that importing
#: ``geo.errors`` (as every command does) does not pull in geopandas, scipy and pyrosm
_EXPORTS = {
    "gcj02_to_wgs84": "geo.crs",
    "haversine_m": "geo.crs",
    "lonlat_to_xy": "geo.crs",
    "metric_crs": "geo.crs",
    "wgs84_to_gcj02": "geo.crs",
    "xy_to_lonlat": "geo.crs",
    "GeoInputError": "geo.errors",
    "from_osm_pbf": "geo.graph",
    "from_road_lines": "geo.graph",
    "network_layers": "geo.io",
    "write_geopackage": "geo.io",
    "UNREACHABLE": "geo.matrix",
    "CCHEngine": "geo.matrix",
    "MatrixEngine": "geo.matrix",
    "ScipyEngine": "geo.matrix",
    "TravelMatrix": "geo.matrix",
    "route_geometry": "geo.matrix",
    "route_nodes": "geo.matrix",
    "travel_matrix": "geo.matrix",
    "unreachable_pairs": "geo.matrix",
    "LARGE_TRUCK": "geo.network",
    "ROAD_CLASSES": "geo.network",
    "SMALL_TRUCK": "geo.network",
    "AccessProfile": "geo.network",
    "RoadNetwork": "geo.network",
    "SnapResult": "geo.snap",
    "snap_points": "geo.snap",
    "grid_roads": "geo.synthetic",
    "scatter_points": "geo.synthetic",
    "synthetic_roads": "geo.synthetic",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'geo' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "LARGE_TRUCK",
    "ROAD_CLASSES",
    "SMALL_TRUCK",
    "UNREACHABLE",
    "AccessProfile",
    "CCHEngine",
    "GeoInputError",
    "MatrixEngine",
    "RoadNetwork",
    "ScipyEngine",
    "SnapResult",
    "TravelMatrix",
    "from_osm_pbf",
    "from_road_lines",
    "gcj02_to_wgs84",
    "grid_roads",
    "haversine_m",
    "lonlat_to_xy",
    "metric_crs",
    "network_layers",
    "route_geometry",
    "route_nodes",
    "scatter_points",
    "snap_points",
    "synthetic_roads",
    "travel_matrix",
    "unreachable_pairs",
    "wgs84_to_gcj02",
    "write_geopackage",
    "xy_to_lonlat",
]
