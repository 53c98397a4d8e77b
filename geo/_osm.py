"""OpenStreetMap PBF -> road-lines table (private; pyrosm)."""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import GeoInputError
from geo.network import ROAD_CLASSES

# OSM highway tag -> road class (speed and width defaults come from ROAD_CLASSES):
#   motorway(_link)            -> motorway    100 km/h, 15 m
#   trunk(_link)               -> national     70 km/h, 12 m
#   primary(_link)             -> provincial   60 km/h,  9 m
#   secondary(_link)           -> county       60 km/h,  7 m
#   tertiary(_link)            -> township     50 km/h,  6 m
#   unclassified, residential,
#   living_street, road        -> village      40 km/h,  4.5 m
#   service                    -> service      20 km/h,  3 m
#   track                      -> lane         25 km/h,  3 m
HIGHWAY: dict[str, str] = {
    "motorway": "motorway",
    "motorway_link": "motorway",
    "trunk": "national",
    "trunk_link": "national",
    "primary": "provincial",
    "primary_link": "provincial",
    "secondary": "county",
    "secondary_link": "county",
    "tertiary": "township",
    "tertiary_link": "township",
    "unclassified": "village",
    "residential": "village",
    "living_street": "village",
    "road": "village",
    "service": "service",
    "track": "lane",
}
_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z ]*)$")


def _number(value: object, *, mph_ok: bool = False) -> float | None:
    if not isinstance(value, str):
        return None
    m = _NUMBER.match(value.strip().lower())
    if not m:
        return None
    num = float(m.group(1))
    unit = m.group(2).strip()
    if mph_ok and unit == "mph":
        return num * 1.609344
    if unit in ("", "m", "t", "km/h", "kmh", "kph"):
        return num if num > 0 else None
    return None


def read_osm_roads(path: str | Path, *, boundary: shapely.Geometry | None) -> gpd.GeoDataFrame:
    """Drivable OSM ways as a road-lines table (one row per OSM segment), clipped to boundary."""
    import pyrosm
    from pyrosm.exceptions import InvalidOSMFileError

    p = Path(path)
    if not p.exists():
        msg = f"{p}: file not found: expected an OpenStreetMap .osm.pbf extract"
        raise GeoInputError(msg)
    bbox = list(boundary.bounds) if boundary is not None else None
    try:
        osm = pyrosm.OSM(str(p), bounding_box=bbox)
        with warnings.catch_warnings():
            # an empty area is reported below as a GeoInputError naming the file
            warnings.filterwarnings("ignore", "Could not find any edges", UserWarning)
            edges = osm.get_network(network_type="driving")
    except (InvalidOSMFileError, OSError, ValueError, EOFError) as exc:
        msg = f"{p}: not a readable OpenStreetMap .osm.pbf extract ({str(exc)[:200]})"
        raise GeoInputError(msg) from None
    if edges is None or len(edges) == 0:
        msg = f"{p}: no drivable roads{' inside the boundary' if boundary is not None else ''}"
        raise GeoInputError(msg)
    edges = edges[edges["highway"].isin(list(HIGHWAY))].reset_index(drop=True)
    if boundary is not None:
        edges = edges[shapely.covered_by(edges.geometry.to_numpy(), boundary)]
        edges = edges.reset_index(drop=True)
    if len(edges) == 0:
        msg = f"{p}: no drivable roads inside the boundary"
        raise GeoInputError(msg)
    classes = [HIGHWAY[h] for h in edges["highway"]]
    speed = []
    width = []
    maxweight = []
    oneway = []
    geoms = edges.geometry.to_numpy().copy()
    tags_col = edges["tags"] if "tags" in edges.columns else [None] * len(edges)
    for i, (cls, ms, wd, ow, tags) in enumerate(
        zip(
            classes,
            edges.get("maxspeed", [None] * len(edges)),
            edges.get("width", [None] * len(edges)),
            edges["oneway"],
            tags_col,
            strict=True,
        )
    ):
        rc = ROAD_CLASSES[cls]
        s = _number(ms, mph_ok=True)
        speed.append(s if s is not None and s <= 150 else rc.speed_kph)
        w = _number(wd)
        width.append(w if w is not None and w <= 50 else rc.width_m)
        extra = json.loads(tags) if isinstance(tags, str) else {}
        mw = _number(extra.get("maxweight")) if isinstance(extra, dict) else None
        maxweight.append(mw if mw is not None and math.isfinite(mw) else np.nan)
        ow_s = str(ow).strip().lower() if isinstance(ow, str) else ""
        if ow_s == "-1":
            geoms[i] = shapely.reverse(geoms[i])
            oneway.append(True)
        else:
            oneway.append(ow_s in ("yes", "true", "1") or cls == "motorway")
    names = edges["name"].where(edges["name"].notna(), None) if "name" in edges.columns else None
    return gpd.GeoDataFrame(
        {
            "road_id": [f"osm:{int(i)}" for i in edges["id"]],
            "road_class": classes,
            "name": names.tolist() if names is not None else [None] * len(edges),
            "oneway": oneway,
            "speed_kph": speed,
            "width_m": width,
            "max_weight_t": maxweight,
            "synthetic": False,
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
