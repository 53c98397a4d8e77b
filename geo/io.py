"""Write GeoDataFrames as layers of one GeoPackage, atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd

from geo.errors import GeoInputError
from geo.network import RoadNetwork

__all__ = ["network_layers", "write_geopackage"]


def write_geopackage(path: str | Path, layers: Mapping[str, gpd.GeoDataFrame]) -> Path:
    """Write each GeoDataFrame as a layer of a GeoPackage, replacing the file atomically.

    The file is written next to ``path`` under a temporary name and renamed into place, so
    readers never see a half-written package.

    Parameters
    ----------
    path
        Target ``.gpkg`` path (its directory is created if needed).
    layers
        Layer name -> GeoDataFrame (each must have a CRS; use EPSG:4326 lon/lat).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    GeoInputError
        No layers, a layer without CRS, or a layer name used twice (case-insensitively).
    """
    target = Path(path)
    problems = []
    if not layers:
        problems.append(f"{target}: no layers to write")
    seen: set[str] = set()
    for name, gdf in layers.items():
        if name.lower() in seen:
            problems.append(f"{target}: layer {name!r}: duplicate name (GeoPackage ignores case)")
        seen.add(name.lower())
        if not isinstance(gdf, gpd.GeoDataFrame):
            problems.append(f"{target}: layer {name!r}: expected a GeoDataFrame")
        elif gdf.crs is None:
            problems.append(f"{target}: layer {name!r}: has no CRS: expected EPSG:4326")
    if problems:
        msg = "cannot write GeoPackage:\n  - " + "\n  - ".join(problems)
        raise GeoInputError(msg, problems)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".gpkg")
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # let GDAL create a fresh package
    try:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def network_layers(network: RoadNetwork) -> dict[str, gpd.GeoDataFrame]:
    """``{"road_nodes": ..., "road_edges": ...}`` layers for :func:`write_geopackage`."""
    nodes, edges = network.to_geodataframes()
    return {"road_nodes": nodes, "road_edges": edges}
