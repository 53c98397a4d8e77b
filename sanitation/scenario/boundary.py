"""Polygon files of a scenario (the county ``boundary``, ``roads.closed_areas``) and the check of
the collection points against the county boundary.

A boundary file must hold polygons, and the county's collection points must lie in it: a point
farther than `OUTSIDE_BOUNDARY_MARGIN_M` outside is an error naming the point and its distance,
and a boundary that no point lies in or near is an error naming the file (another county's
outline, or coordinates in the wrong CRS).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import lonlat_to_xy, metric_crs
from sanitation.errors import ScenarioError
from sanitation.scenario.model import CollectionPoint

#: How far (metres) a collection point may lie outside the county boundary before it is an
#: error. Assumed: it covers the GCJ-02 offset of coordinates taken from Chinese web maps without
#: conversion (at most ~0.7 km) and the generalisation of public county outlines (some hundred
#: metres), and stays below the spacing of villages (a few km), so a point beyond it lies in the
#: neighbouring county or has a wrong coordinate. An error, not a warning: the plan would send
#: trucks to a place the county does not serve, and the fix (the coordinate, or a boundary that
#: includes an area served by agreement) is the planner's.
OUTSIDE_BOUNDARY_MARGIN_M = 2_000.0


def read_polygons(path: Path, field: str, scenario: Path) -> BaseGeometry:
    """The union of a polygon file's shapes in WGS-84.

    Raises
    ------
    ScenarioError
        When the file is empty, not a readable spatial file, holds no polygon, or its shapes
        cannot be used (``field`` of ``scenario`` names it).
    """
    import geopandas as gpd
    import pyogrio.errors
    from pyproj.exceptions import CRSError

    where = f"(named by {scenario} {field!r})"
    expected = "expected GeoJSON/GPKG Polygon or MultiPolygon features"
    if path.is_file() and path.stat().st_size == 0:
        msg = f"{path}: file is empty {where}; {expected}"
        raise ScenarioError(msg)
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as error:
        msg = f"{path}: not a readable spatial file {where}: {error}; expected polygons"
        raise ScenarioError(msg) from None
    geometry = (
        frame.geometry if isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame else None
    )
    kinds = set(geometry.geom_type.dropna()) if geometry is not None else set()
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        found = ", ".join(sorted(kinds)) or "no features with a geometry"
        msg = f"{path}: {found} {where}; {expected}"
        raise ScenarioError(msg)
    try:
        shape: BaseGeometry = shapely.make_valid(
            (frame if frame.crs else frame.set_crs("EPSG:4326")).to_crs("EPSG:4326").union_all()
        )
    except CRSError as error:
        msg = f"{path}: coordinate reference system cannot be used {where}: {error}"
        raise ScenarioError(msg) from None
    if shape.is_empty or shape.area <= 0:
        msg = f"{path}: the polygons have no area {where}; {expected}"
        raise ScenarioError(msg)
    return shape


def boundary_problems(
    path: Path, scenario: Path, points: Sequence[CollectionPoint], points_file: Path
) -> list[str]:
    """What is wrong with the county boundary ``path`` for these points (empty: nothing).

    One problem naming the file when it is unusable or when no point lies within
    `OUTSIDE_BOUNDARY_MARGIN_M` of it; otherwise one problem per point farther outside.
    """
    try:
        county = read_polygons(path, "boundary", scenario)
    except ScenarioError as error:
        return [str(error)]
    if not points:
        return []
    lon = np.array([p.lon for p in points], dtype=float)
    lat = np.array([p.lat for p in points], dtype=float)
    crs = metric_crs(lon, lat)
    x, y = lonlat_to_xy(lon, lat, crs=crs)
    county_m = shapely.transform(
        county, lambda c: np.column_stack(lonlat_to_xy(c[:, 0], c[:, 1], crs=crs))
    )
    outside_m = shapely.distance(county_m, shapely.points(x, y))
    margin = OUTSIDE_BOUNDARY_MARGIN_M
    if not (outside_m <= margin).any():
        nearest = int(np.argmin(outside_m))
        return [
            f"{path}: the boundary lies nowhere near the collection points (named by "
            f"{scenario} 'boundary'): none of the {len(points)} points of {points_file} is "
            f"within {margin / 1000:g} km of it (nearest: {points[nearest].point_id!r}, "
            f"{outside_m[nearest] / 1000:.1f} km outside); expected the outline of this county "
            "in WGS-84 lon/lat (or the file's declared CRS)"
        ]
    return [
        f"{points_file}: record {points[i].point_id!r}, fields 'lon'/'lat': "
        f"({points[i].lon}, {points[i].lat}) is {outside_m[i] / 1000:.1f} km outside the county "
        f"boundary {path}; expected inside it or within {margin / 1000:g} km "
        "(fix the coordinates, or the boundary if the county serves the place)"
        for i in np.flatnonzero(outside_m > margin).tolist()
    ]
