"""Road-line tables (GeoDataFrames) -> validated -> ``RoadNetwork`` (private)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo.crs import WGS84, haversine_m, lonlat_to_xy, metric_crs
from geo.errors import GeoInputError
from geo.network import ROAD_CLASSES, RoadClass, RoadNetwork

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("road_id", "road_class")
OPTIONAL_COLUMNS = ("name", "oneway", "speed_kph", "width_m", "max_weight_t", "synthetic")
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}
_MAX_LISTED = 50
_SHAPEFILE_NAMES = {"max_weight": "max_weight_t"}


def _fmt_value(value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return repr(value)


def _as_bool(value: object) -> bool | None:
    """Parse a one-way / synthetic flag; None when it is not a recognised boolean."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _road_id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def raise_problems(src: str, what: str, problems: list[str]) -> None:
    """Raise one GeoInputError listing ``problems`` (nothing when empty)."""
    if not problems:
        return
    shown = problems[:_MAX_LISTED]
    more = len(problems) - len(shown)
    msg = f"{len(problems)} problem(s) in {what} {src}:\n  - " + "\n  - ".join(shown)
    if more:
        msg += f"\n  ... and {more} more"
    raise GeoInputError(msg, problems)


def read_table(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a GeoJSON / GPKG / Shapefile, turning IO failures into GeoInputError."""
    import pyogrio.errors

    p = Path(path)
    if not p.exists():
        msg = f"{p}: file not found: expected a road-lines file (GeoJSON, GPKG or Shapefile)"
        raise GeoInputError(msg)
    if p.is_file() and p.stat().st_size == 0:
        msg = f"{p}: file is empty: expected road line features"
        raise GeoInputError(msg)
    try:
        frame = gpd.read_file(p, engine="pyogrio", layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"{p}: cannot be read as a GeoJSON/GPKG/Shapefile: {exc}"
        raise GeoInputError(msg) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or "geometry" not in frame.columns:
        msg = f"{p}: no geometry column (a plain table?); expected road line features"
        raise GeoInputError(msg)
    return frame


def validate_road_lines(
    gdf: gpd.GeoDataFrame, *, src: str, crs: CRS | str | int = "EPSG:4326"
) -> gpd.GeoDataFrame:
    """Check a road-lines table and return a clean copy in EPSG:4326 with every column set.

    Raises
    ------
    GeoInputError
        Listing every problem: file, road_id, field, value and what was expected.
    """
    declared = CRS.from_user_input(crs)
    if src.lower().endswith(".shp"):  # DBF truncates column names to 10 characters
        gdf = gdf.rename(columns={k: v for k, v in _SHAPEFILE_NAMES.items() if k in gdf.columns})
    columns = [c for c in gdf.columns if c != gdf.geometry.name] if len(gdf.columns) else []
    raise_problems(src, "road lines", _table_problems(gdf, columns, src=src, declared=declared))

    df = gdf.reset_index(drop=True)
    if df.crs is None:
        df = df.set_crs(declared)
    road_ids = [_road_id_text(v) for v in df["road_id"]]
    rows = _RowProblems(src, road_ids)
    values = _row_values(df, columns, rows)
    raise_problems(src, "road lines", rows.problems)
    clean = gpd.GeoDataFrame(
        {
            "road_id": road_ids,
            "road_class": df["road_class"].astype(str).tolist(),
            "name": df["name"].tolist() if "name" in df.columns else [None] * len(df),
            **values,
        },
        geometry=df.geometry.to_numpy(),
        crs=declared,
    )
    if not declared.equals(WGS84):
        clean = clean.to_crs(WGS84)
    _check_lonlat(clean, rows)
    raise_problems(src, "road lines", rows.problems)
    return clean


def _table_problems(
    gdf: gpd.GeoDataFrame, columns: list[str], *, src: str, declared: CRS
) -> list[str]:
    """Problems of the table as a whole: columns, emptiness, CRS."""
    problems = [
        f"{src}: missing required column {c!r}" for c in REQUIRED_COLUMNS if c not in columns
    ]
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        problems.append(
            f"{src}: unknown column(s) {', '.join(map(repr, unknown))}: expected only "
            f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)} (and geometry)"
        )
    if len(gdf) == 0:
        problems.append(f"{src}: no road features: expected at least one LineString")
    if gdf.crs is not None and not CRS.from_user_input(gdf.crs).equals(
        declared, ignore_axis_order=True
    ):
        problems.append(
            f"{src}: CRS is {CRS.from_user_input(gdf.crs).to_string()}: expected the declared "
            f"{declared.to_string()}"
        )
    return problems


class _RowProblems:
    """Problems of single roads, each naming the file, road, row, field, value and expectation."""

    def __init__(self, src: str, road_ids: list[str]) -> None:
        self.src = src
        self.road_ids = road_ids
        self.problems: list[str] = []

    def bad(self, i: int, field: str, value: object, expected: str) -> None:
        self.problems.append(
            f"{self.src}: road {self.road_ids[i]!r} (row {i + 1}): field {field!r} = "
            f"{_fmt_value(value)}: expected {expected}"
        )


_RANGED = (("speed_kph", 0.0, 150.0, "km/h"), ("width_m", 0.0, 50.0, "m"))  # (lo, hi]


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float:
    """``value`` as a float; NaN when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _row_values(
    df: gpd.GeoDataFrame, columns: list[str], rows: _RowProblems
) -> dict[str, list[Any]]:
    """Every row's checked values (class defaults where a column is absent)."""
    cols = {c: df[c].tolist() for c in columns}
    geoms = df.geometry.to_numpy()
    values: dict[str, list[Any]] = {
        c: [] for c in ("oneway", "speed_kph", "width_m", "max_weight_t", "synthetic")
    }
    for i in range(len(df)):
        cls = _check_identity(i, cols, geoms[i], rows)
        for field, lo, hi, unit in _RANGED:
            if field not in cols:
                values[field].append(getattr(cls, field) if cls else math.nan)
                continue
            value = cols[field][i]
            num = _number(value)
            if not (math.isfinite(num) and lo < num <= hi):
                hint = "; leave the column out to use class defaults" if _is_blank(value) else ""
                rows.bad(i, field, value, f"a number in ({lo:g}, {hi:g}] {unit}{hint}")
            values[field].append(num)
        values["max_weight_t"].append(_max_weight(i, cols, rows))
        for field in ("oneway", "synthetic"):
            value = cols[field][i] if field in cols else False
            flag = _as_bool(value)
            if flag is None:
                rows.bad(i, field, value, "true/false (yes/no, 1/0)")
            values[field].append(bool(flag))
    return values


def _check_identity(
    i: int, cols: dict[str, list[Any]], geom: shapely.Geometry | None, rows: _RowProblems
) -> RoadClass | None:
    """Check a row's road_id, geometry and road_class; return its class (None when unknown)."""
    rid_raw = cols["road_id"][i]
    if _is_blank(rid_raw) or not str(rid_raw).strip():
        rows.bad(i, "road_id", rid_raw, "a non-empty id")
    if geom is None or geom.is_empty:
        rows.bad(i, "geometry", None if geom is None else geom.wkt, "a LineString")
    elif geom.geom_type not in ("LineString", "MultiLineString"):
        rows.bad(i, "geometry", geom.geom_type, "a LineString or MultiLineString")
    cls_name = cols["road_class"][i]
    cls = ROAD_CLASSES.get(cls_name) if isinstance(cls_name, str) else None
    if cls is None:
        rows.bad(i, "road_class", cls_name, f"one of {', '.join(ROAD_CLASSES)}")
    return cls


def _max_weight(i: int, cols: dict[str, list[Any]], rows: _RowProblems) -> float | None:
    """A row's weight limit in t; None for none (no column, or an empty cell)."""
    if "max_weight_t" not in cols:
        return None
    value = cols["max_weight_t"][i]
    if _is_blank(value):
        return None
    num = _number(value)
    if not (math.isfinite(num) and num > 0):
        rows.bad(i, "max_weight_t", value, "a weight limit > 0 t, or empty for none")
    return num


def _check_lonlat(clean: gpd.GeoDataFrame, rows: _RowProblems) -> None:
    """Every coordinate (after reprojection) must be a WGS-84 lon/lat."""
    coords = shapely.get_coordinates(clean.geometry.to_numpy())
    bad_xy = ~(
        np.isfinite(coords).all(axis=1)
        & (np.abs(coords[:, 0]) <= 180)
        & (np.abs(coords[:, 1]) <= 90)
    )
    if not bad_xy.any():
        return
    _, idx = shapely.get_coordinates(clean.geometry.to_numpy(), return_index=True)
    seen: set[int] = set()
    for k in np.flatnonzero(bad_xy).tolist():
        i = int(idx[k])
        if i in seen:
            continue
        seen.add(i)
        rows.bad(
            i,
            "geometry",
            (float(coords[k, 0]), float(coords[k, 1])),
            "WGS-84 (lon, lat) with lon in [-180, 180] and lat in [-90, 90] (are lon/lat swapped?)",
        )


def build_network(
    roads: gpd.GeoDataFrame, *, name: str, merge_tolerance_m: float = 1.0
) -> RoadNetwork:
    """Turn a clean road-lines table (EPSG:4326) into a RoadNetwork.

    Every line vertex becomes a node; vertices closer than ``merge_tolerance_m`` are merged,
    so roads connect where they share (or nearly share) a vertex. Each consecutive vertex
    pair is one edge per allowed direction.
    """
    parts, part_row = shapely.get_parts(roads.geometry.to_numpy(), return_index=True)
    coords, vert_part = shapely.get_coordinates(parts, return_index=True)
    coords = coords[:, :2]
    n_vert = len(coords)
    crs_m = metric_crs(coords[:, 0], coords[:, 1])
    x, y = lonlat_to_xy(coords[:, 0], coords[:, 1], crs=crs_m)
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(merge_tolerance_m, output_type="ndarray")
    adj = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n_vert, n_vert)
    )
    _, label = connected_components(adj, directed=False)
    # representative vertex of each cluster: its first vertex (deterministic)
    first = np.full(label.max() + 1, n_vert, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n_vert))

    same = vert_part[:-1] == vert_part[1:]
    a = np.flatnonzero(same)
    u, v = label[a], label[a + 1]
    keep = u != v
    a, u, v = a[keep], u[keep], v[keep]
    seg_len = haversine_m(coords[a, 0], coords[a, 1], coords[a + 1, 0], coords[a + 1, 1])
    seg_row = part_row[vert_part[a]]

    g = nx.MultiDiGraph(crs="EPSG:4326")
    used = np.unique(np.concatenate([u, v]))
    g.add_nodes_from(
        (int(n), {"x": float(coords[first[n], 0]), "y": float(coords[first[n], 1])}) for n in used
    )
    rows = roads.drop(columns=roads.geometry.name).to_dict("records")
    edges = []
    for uu, vv, length, r in zip(
        u.tolist(), v.tolist(), seg_len.tolist(), seg_row.tolist(), strict=True
    ):
        row = rows[r]
        mw = row["max_weight_t"]
        attrs = {
            "length": length,
            "speed_kph": row["speed_kph"],
            "travel_time": length / (row["speed_kph"] / 3.6),
            "road_class": row["road_class"],
            "oneway": row["oneway"],
            "width_m": row["width_m"],
            "max_weight_t": None if mw is None or math.isnan(mw) else float(mw),
            "road_id": row["road_id"],
            "synthetic": row["synthetic"],
        }
        if row.get("name") is not None and not (isinstance(row["name"], float)):
            attrs["name"] = row["name"]
        edges.append((uu, vv, attrs))
        if not row["oneway"]:
            edges.append((vv, uu, dict(attrs)))
    g.add_edges_from(edges)
    logger.info(
        "%s: %d nodes, %d edges from %d lines",
        name,
        g.number_of_nodes(),
        g.number_of_edges(),
        len(roads),
    )
    return RoadNetwork(g, name=name, copy=False)


def from_table(
    data: gpd.GeoDataFrame | pd.DataFrame,
    *,
    src: str,
    crs: CRS | str | int,
    merge_tolerance_m: float,
) -> RoadNetwork:
    """Validate then build (shared by the file reader, OSM import and the generator)."""
    clean = validate_road_lines(data, src=src, crs=crs)
    return build_network(clean, name=src, merge_tolerance_m=merge_tolerance_m)
