"""Build a :class:`~geo.network.RoadNetwork` from road lines, an OSM extract or a generator.

Road-lines format (GeoJSON, GeoPackage or Shapefile; one feature per road or road piece)
----------------------------------------------------------------------------------------
================ ======== ====================================================================
column           required meaning
================ ======== ====================================================================
``road_id``      yes      road id (text); the segments of one road share it (used by closures)
``road_class``   yes      one of :data:`geo.network.ROAD_CLASSES`
``geometry``     yes      LineString or MultiLineString in the declared CRS
``oneway``       no       true/false (yes/no, 1/0); true = drivable only in digitised order
``speed_kph``    no       free-flow speed, km/h (absent column: the class default)
``width_m``      no       carriageway width, metres (absent column: the class default)
``max_weight_t`` no       weight limit, tonnes; empty = unlimited
``name``         no       road name (kept on the edges)
``synthetic``    no       true for generated roads
================ ======== ====================================================================
Any other column is an error (it is probably a misspelling).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import CRS

from geo import _osm, _road_lines
from geo.network import RoadNetwork

__all__ = ["from_osm_pbf", "from_road_lines"]


def from_road_lines(
    source: str | Path | gpd.GeoDataFrame,
    *,
    crs: CRS | str | int = "EPSG:4326",
    layer: str | None = None,
    merge_tolerance_m: float = 1.0,
    name: str | None = None,
) -> RoadNetwork:
    """Read road lines into a RoadNetwork.

    Line vertices become nodes; vertices within ``merge_tolerance_m`` metres are merged, so
    roads meet where they share a vertex (a crossing without a shared vertex is a bridge).

    Parameters
    ----------
    source
        Path to a GeoJSON / GPKG / Shapefile, or a GeoDataFrame with the columns above.
    crs
        The CRS the data is declared to be in; a file in another CRS is an error.
    layer
        GeoPackage layer name (default: the first layer).
    merge_tolerance_m
        Vertices closer than this (metres) become one node.
    name
        Label for messages (default: the path, or ``"<GeoDataFrame>"``).

    Returns
    -------
    RoadNetwork

    Raises
    ------
    GeoInputError
        Missing/unreadable/empty file, missing or unknown columns, bad values, wrong CRS,
        non-line geometries: every problem found, each naming file, road_id, field and value.
    """
    if isinstance(source, gpd.GeoDataFrame):
        data = source
        src = name or "<GeoDataFrame>"
    else:
        src = name or str(source)
        data = _road_lines.read_table(source, layer)
    return _road_lines.from_table(data, src=src, crs=crs, merge_tolerance_m=merge_tolerance_m)


def from_osm_pbf(
    path: str | Path,
    *,
    boundary: shapely.Geometry | None = None,
    merge_tolerance_m: float = 0.5,
) -> RoadNetwork:
    """Import the drivable roads of an OpenStreetMap PBF extract (via pyrosm).

    OSM ``highway`` tags map to road classes, whose defaults give speed and width:

    ========================================================= ============ ======== =====
    ``highway``                                               class        km/h     m
    ========================================================= ============ ======== =====
    motorway, motorway_link                                   motorway     100      15
    trunk, trunk_link                                         national     70       12
    primary, primary_link                                     provincial   60       9
    secondary, secondary_link                                 county       60       7
    tertiary, tertiary_link                                   township     50       6
    unclassified, residential, living_street, road            village      40       4.5
    service                                                   service      20       3
    track                                                     lane         25       3
    ========================================================= ============ ======== =====

    Tags win over defaults when they parse: ``maxspeed`` (km/h, or mph), ``width`` (m),
    ``maxweight`` (t) becomes ``max_weight_t``. ``oneway=yes/true/1`` (and motorways) are
    one-way; ``oneway=-1`` is reversed. Other highway values (paths, cycleways) are dropped.

    Parameters
    ----------
    path
        The ``.osm.pbf`` file.
    boundary
        Polygon (lon/lat) to clip to: only segments lying within it are kept.
    merge_tolerance_m
        As in :func:`from_road_lines`.

    Raises
    ------
    GeoInputError
        Missing file, or no drivable road inside the boundary.
    """
    roads = _osm.read_osm_roads(path, boundary=boundary)
    return _road_lines.from_table(
        roads, src=str(path), crs="EPSG:4326", merge_tolerance_m=merge_tolerance_m
    )
