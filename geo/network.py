"""The road network: a documented, read-only wrapper around ``networkx.MultiDiGraph``.

Graph layout (OSMnx style)
--------------------------
- graph attribute ``crs``: ``"EPSG:4326"`` (node coordinates are WGS-84 lon/lat).
- nodes: integer ids with ``x`` (lon, degrees) and ``y`` (lat, degrees).
- edges keyed ``(u, v, key)``, one per direction of travel, with

  ============== =========================================================================
  ``length``      metres (geodesic length of the segment or of ``geometry``)
  ``speed_kph``   free-flow speed, km/h
  ``travel_time`` seconds, ``length / (speed_kph / 3.6)``
  ``road_class``  one of :data:`ROAD_CLASSES` (``county``, ``village``, ``lane``, ...)
  ``oneway``      bool: the road is one-way (only ``u -> v`` exists)
  ``width_m``     carriageway width, metres
  ``max_weight_t`` gross weight limit in tonnes, ``None`` = unlimited
  ``road_id``     string id of the road the segment belongs to (shared by its segments)
  ``synthetic``   bool: generated, not surveyed (see :mod:`geo.synthetic`)
  ``geometry``    optional ``shapely.LineString`` in lon/lat from ``u`` to ``v``; absent means
                  the straight segment between the nodes
  ============== =========================================================================

Vehicle access is described by an :class:`AccessProfile`; narrow lanes (< 3.5 m) are usable
only by profiles whose ``min_road_width_m`` is below their width (small trucks).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyproj import CRS

from geo.crs import metric_crs
from geo.errors import GeoInputError

__all__ = [
    "LARGE_TRUCK",
    "NARROW_LANE_WIDTH_M",
    "ROAD_CLASSES",
    "SMALL_TRUCK",
    "AccessProfile",
    "RoadClass",
    "RoadNetwork",
]

NARROW_LANE_WIDTH_M = 3.5
"""Roads narrower than this (metres) are narrow lanes, usable by small trucks only."""


@dataclass(frozen=True)
class RoadClass:
    """Defaults for one road class: free-flow speed (km/h) and carriageway width (m)."""

    name: str
    speed_kph: float
    width_m: float


ROAD_CLASSES: dict[str, RoadClass] = {
    c.name: c
    for c in (
        RoadClass("motorway", 100.0, 15.0),  # 高速公路
        RoadClass("national", 70.0, 12.0),  # 国道
        RoadClass("provincial", 60.0, 9.0),  # 省道 (also the synthetic link towards 安庆)
        RoadClass("county", 60.0, 7.0),  # 县道 between township seats
        RoadClass("township", 50.0, 6.0),  # 乡道 / urban streets
        RoadClass("village", 40.0, 4.5),  # 村道
        RoadClass("lane", 25.0, 3.0),  # narrow lane (small trucks only)
        RoadClass("service", 20.0, 3.0),  # yards, access roads
    )
}
"""Road classes and their default speed (km/h) and width (m), used when a column is empty."""


@dataclass(frozen=True)
class AccessProfile:
    """What roads a vehicle class may use.

    An edge is usable when ``width_m >= min_road_width_m`` and (``max_weight_t`` is None or
    ``max_weight_t >= gross_weight_t``).

    Parameters
    ----------
    name
        Profile name, e.g. ``"small_truck"``.
    min_road_width_m
        Narrowest carriageway the vehicle can drive, metres.
    gross_weight_t
        Loaded gross vehicle weight, tonnes (compared with weight limits).
    """

    name: str
    min_road_width_m: float
    gross_weight_t: float

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not self.name:
            problems.append(f"name = {self.name!r}: expected a non-empty string")
        for field in ("min_road_width_m", "gross_weight_t"):
            value = getattr(self, field)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                problems.append(f"{field} = {value!r}: expected a finite number >= 0")
        if problems:
            msg = "invalid AccessProfile: " + "; ".join(problems)
            raise GeoInputError(msg, problems)

    def allows(self, width_m: float, max_weight_t: float | None) -> bool:
        """Whether a road of this width (m) and weight limit (t, None = none) is usable."""
        if width_m < self.min_road_width_m:
            return False
        return max_weight_t is None or max_weight_t >= self.gross_weight_t

    def key(self) -> str:
        """Stable text identifying the profile (used in cache keys)."""
        return f"{self.name}|{self.min_road_width_m!r}|{self.gross_weight_t!r}"


SMALL_TRUCK = AccessProfile("small_truck", min_road_width_m=2.5, gross_weight_t=4.5)
"""A village collection truck (small compactor, ≤ 4.5 t gross): uses narrow lanes."""
LARGE_TRUCK = AccessProfile(
    "large_truck", min_road_width_m=NARROW_LANE_WIDTH_M, gross_weight_t=25.0
)
"""A hook-lift transfer truck (25 t gross): no narrow lanes, respects weight limits."""


@dataclass(frozen=True)
class _Arrays:
    """Column arrays of the network (node order = sorted node ids; edge order = graph order)."""

    node_ids: np.ndarray  # int64, sorted
    lon: np.ndarray
    lat: np.ndarray
    tail: np.ndarray  # node index (into node_ids) of u
    head: np.ndarray
    length_m: np.ndarray
    travel_time_s: np.ndarray
    width_m: np.ndarray
    max_weight_t: np.ndarray  # inf = unlimited
    road_id: np.ndarray  # object (str)
    edge_keys: list[tuple[int, int, int]]


class RoadNetwork:
    """A road network: a frozen ``networkx.MultiDiGraph`` laid out as in the module docstring.

    Build it with :func:`geo.from_road_lines`, :func:`geo.from_osm_pbf` or from a graph you
    made yourself (it is validated). Every "modifying" method returns a new network.

    Parameters
    ----------
    graph
        The graph; it is copied and frozen.
    name
        Label used in messages (e.g. the source file).
    copy
        Copy the graph before freezing it (pass False only for a graph nobody else holds).
    """

    def __init__(
        self, graph: nx.MultiDiGraph, *, name: str = "road network", copy: bool = True
    ) -> None:
        if not isinstance(graph, nx.MultiDiGraph):
            msg = f"{name}: expected a networkx.MultiDiGraph, got {type(graph).__name__}"
            raise GeoInputError(msg)
        _validate_graph(graph, name)
        g = graph.copy() if copy and not nx.is_frozen(graph) else graph
        g.graph.setdefault("crs", "EPSG:4326")
        self._graph = nx.freeze(g)
        self.name = name
        self._cache: dict[object, object] = {}  # derived per-profile data (geo._profile)

    # -- basic views -------------------------------------------------------------------------
    @property
    def graph(self) -> nx.MultiDiGraph:
        """The frozen graph (read-only)."""
        return self._graph

    @property
    def number_of_nodes(self) -> int:
        """Number of nodes."""
        return self._graph.number_of_nodes()

    @property
    def number_of_edges(self) -> int:
        """Number of directed edges."""
        return self._graph.number_of_edges()

    def __repr__(self) -> str:
        return (
            f"RoadNetwork({self.name!r}, nodes={self.number_of_nodes}, "
            f"edges={self.number_of_edges})"
        )

    @cached_property
    def arrays(self) -> _Arrays:
        """Column arrays of nodes and edges (internal; used by snapping and matrices)."""
        g = self._graph
        node_ids = np.array(sorted(g.nodes), dtype=np.int64)
        lon = np.array([g.nodes[n]["x"] for n in node_ids], dtype=float)
        lat = np.array([g.nodes[n]["y"] for n in node_ids], dtype=float)
        keys = list(g.edges(keys=True))
        data = [g.edges[k] for k in keys]
        us = np.array([k[0] for k in keys], dtype=np.int64)
        vs = np.array([k[1] for k in keys], dtype=np.int64)
        return _Arrays(
            node_ids=node_ids,
            lon=lon,
            lat=lat,
            tail=np.searchsorted(node_ids, us),
            head=np.searchsorted(node_ids, vs),
            length_m=np.array([d["length"] for d in data], dtype=float),
            travel_time_s=np.array([d["travel_time"] for d in data], dtype=float),
            width_m=np.array([d["width_m"] for d in data], dtype=float),
            max_weight_t=np.array(
                [np.inf if d["max_weight_t"] is None else d["max_weight_t"] for d in data],
                dtype=float,
            ),
            road_id=np.array([str(d["road_id"]) for d in data], dtype=object),
            edge_keys=keys,
        )

    @cached_property
    def metric_crs(self) -> CRS:
        """UTM zone CRS of the network's mean node position (metres)."""
        a = self.arrays
        return metric_crs(a.lon, a.lat)

    # -- access profiles ---------------------------------------------------------------------
    def usable_mask(self, profile: AccessProfile) -> np.ndarray:
        """Boolean mask over ``arrays`` edges usable by ``profile``."""
        a = self.arrays
        return (a.width_m >= profile.min_road_width_m) & (a.max_weight_t >= profile.gross_weight_t)

    def usable_edges(self, profile: AccessProfile) -> list[tuple[int, int, int]]:
        """The ``(u, v, key)`` edges ``profile`` may use."""
        mask = self.usable_mask(profile)
        keys = self.arrays.edge_keys
        return [keys[i] for i in np.flatnonzero(mask)]

    def subgraph(self, profile: AccessProfile) -> RoadNetwork:
        """A new network with only the edges (and their end nodes) ``profile`` may use."""
        g = self._graph.edge_subgraph(self.usable_edges(profile)).copy()
        return RoadNetwork(g, name=f"{self.name} [{profile.name}]", copy=False)

    # -- what-ifs ----------------------------------------------------------------------------
    def without_roads(self, road_ids: Iterable[str]) -> RoadNetwork:
        """A new network without every segment of the given roads (a road closure).

        Raises
        ------
        GeoInputError
            If a road id is not in the network.
        """
        wanted = {str(r) for r in road_ids}
        present = set(self.arrays.road_id.tolist())
        unknown = sorted(wanted - present)
        if unknown:
            msg = f"{self.name}: road_id {', '.join(map(repr, unknown))}: not in the network"
            raise GeoInputError(msg)
        drop = [
            k
            for k, r in zip(self.arrays.edge_keys, self.arrays.road_id, strict=True)
            if r in wanted
        ]
        return self._without_edges(drop, f"{self.name} - {len(wanted)} roads")

    def without_roads_in(self, polygon: shapely.Geometry) -> RoadNetwork:
        """A new network without the segments that intersect ``polygon`` (lon/lat), e.g. a flood."""
        geoms = self.edge_geometries()
        hit = shapely.intersects(geoms, polygon)
        drop = [self.arrays.edge_keys[i] for i in np.flatnonzero(hit)]
        return self._without_edges(drop, f"{self.name} - area")

    def _without_edges(self, drop: list[tuple[int, int, int]], name: str) -> RoadNetwork:
        g = nx.MultiDiGraph(self._graph)
        g.remove_edges_from(drop)
        g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
        return RoadNetwork(g, name=name, copy=False)

    # -- geometry and export -----------------------------------------------------------------
    def edge_geometries(self) -> np.ndarray:
        """Shapely LineStrings (lon/lat) of the edges in ``arrays`` order."""
        a = self.arrays
        g = self._graph
        out = (
            shapely.linestrings(
                np.stack(
                    [
                        np.column_stack([a.lon[a.tail], a.lat[a.tail]]),
                        np.column_stack([a.lon[a.head], a.lat[a.head]]),
                    ],
                    axis=1,
                )
            )
            if len(a.tail)
            else np.array([], dtype=object)
        )
        for i, k in enumerate(a.edge_keys):
            geom = g.edges[k].get("geometry")
            if geom is not None:
                out[i] = geom
        return out

    def to_geodataframes(self) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """Nodes and edges as GeoDataFrames in EPSG:4326 (edges indexed by u, v, key)."""
        a = self.arrays
        nodes = gpd.GeoDataFrame(
            {"node_id": a.node_ids, "x": a.lon, "y": a.lat},
            geometry=shapely.points(a.lon, a.lat),
            crs="EPSG:4326",
        )
        g = self._graph
        cols = [
            "road_id",
            "road_class",
            "oneway",
            "speed_kph",
            "width_m",
            "max_weight_t",
            "length",
            "travel_time",
            "synthetic",
        ]
        rows = {c: [g.edges[k].get(c) for k in a.edge_keys] for c in cols}
        edges = gpd.GeoDataFrame(
            {
                "u": [k[0] for k in a.edge_keys],
                "v": [k[1] for k in a.edge_keys],
                "key": [k[2] for k in a.edge_keys],
                **rows,
            },
            geometry=self.edge_geometries(),
            crs="EPSG:4326",
        )
        return nodes, edges

    # -- identity ----------------------------------------------------------------------------
    def content_hash(self) -> str:
        """SHA-256 hex digest of nodes, edges and their routing attributes (stable across runs)."""
        return self._content_hash

    @cached_property
    def _content_hash(self) -> str:
        a = self.arrays
        h = hashlib.sha256(b"geo.RoadNetwork v1\0")
        h.update(a.node_ids.tobytes())
        h.update(np.round(a.lon, 7).tobytes())
        h.update(np.round(a.lat, 7).tobytes())
        order = np.lexsort(
            (
                np.array([k[2] for k in a.edge_keys], dtype=np.int64)
                if a.edge_keys
                else np.array([], dtype=np.int64),
                a.node_ids[a.head],
                a.node_ids[a.tail],
            )
        )
        h.update(a.node_ids[a.tail][order].tobytes())
        h.update(a.node_ids[a.head][order].tobytes())
        for arr in (a.length_m, a.travel_time_s, a.width_m, a.max_weight_t):
            h.update(np.round(arr[order], 3).tobytes())
        h.update("\0".join(a.road_id[order].tolist()).encode())
        return h.hexdigest()


_REQUIRED_EDGE_ATTRS = (
    "length",
    "speed_kph",
    "travel_time",
    "road_class",
    "oneway",
    "width_m",
    "max_weight_t",
    "road_id",
    "synthetic",
)


def _validate_graph(graph: nx.MultiDiGraph, name: str) -> None:
    problems: list[str] = []
    for n, d in graph.nodes(data=True):
        if not isinstance(n, int | np.integer):
            problems.append(f"node {n!r}: expected an integer id")
        x, y = d.get("x"), d.get("y")
        if x is None or y is None or not (-180 <= x <= 180 and -90 <= y <= 90):
            problems.append(f"node {n!r}: x, y = {x!r}, {y!r}: expected WGS-84 lon/lat")
        if len(problems) >= 20:
            break
    for u, v, k, d in graph.edges(keys=True, data=True):
        missing = [a for a in _REQUIRED_EDGE_ATTRS if a not in d]
        if missing:
            problems.append(f"edge {(u, v, k)}: missing attributes {missing}")
        else:
            for attr in ("length", "travel_time", "speed_kph", "width_m"):
                value = d[attr]
                if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                    problems.append(
                        f"edge {(u, v, k)} road {d['road_id']!r}: {attr} = "
                        f"{value!r}: expected a finite number >= 0"
                    )
        if len(problems) >= 20:
            break
    if problems:
        msg = f"{name}: invalid road graph:\n  - " + "\n  - ".join(problems)
        raise GeoInputError(msg, problems)
