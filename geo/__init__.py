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

from geo.crs import (
    gcj02_to_wgs84,
    haversine_m,
    lonlat_to_xy,
    metric_crs,
    wgs84_to_gcj02,
    xy_to_lonlat,
)
from geo.errors import GeoInputError
from geo.graph import from_osm_pbf, from_road_lines
from geo.io import network_layers, write_geopackage
from geo.matrix import (
    UNREACHABLE,
    CCHEngine,
    MatrixEngine,
    ScipyEngine,
    TravelMatrix,
    route_geometry,
    route_nodes,
    travel_matrix,
    unreachable_pairs,
)
from geo.network import (
    LARGE_TRUCK,
    ROAD_CLASSES,
    SMALL_TRUCK,
    AccessProfile,
    RoadNetwork,
)
from geo.snap import SnapResult, snap_points
from geo.synthetic import grid_roads, scatter_points, synthetic_roads

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
