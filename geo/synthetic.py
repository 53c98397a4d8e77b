"""Deterministic synthetic road networks (seeded), labelled ``synthetic=True``.

No public road data exists for 望江 (see the data README), so the demo county's roads are
generated. Both generators return a road-lines GeoDataFrame (EPSG:4326) with the columns of
:func:`geo.from_road_lines`, so generated roads go through the same validation and builder::

    roads = synthetic_roads(boundary, hubs, villages, points=collection_points, seed=7,
                            external=(117.047, 30.514))
    network = from_road_lines(roads, name="synthetic roads")

:func:`synthetic_roads` makes a plausible rural county: county roads (60 km/h, 7 m) joining
the hubs along a Delaunay minimum spanning tree plus some extra Delaunay edges; village roads
(40 km/h, 4.5 m) attaching every village to the nearest county-road vertex or an earlier
(closer-to-a-hub) village; spurs to the extra ``points``, a share of them narrow lanes
(25 km/h, 3.0 m, some with a weight limit); and an optional provincial link (60 km/h, 9 m) to an
outside point such as a disposal site towards 安庆. All roads are two-way, so the network is
strongly connected for small trucks, and for large trucks once the lane spurs are removed.

:func:`grid_roads` makes a large jittered grid (for scale tests and benchmarks: a 162 × 162
grid has over 100,000 directed edges).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from geopandas import GeoDataFrame
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from geo.crs import lonlat_to_xy, metric_crs, xy_to_lonlat
from geo.errors import GeoInputError
from geo.network import ROAD_CLASSES

__all__ = ["grid_roads", "scatter_points", "synthetic_roads"]


def _points(name: str, value: npt.ArrayLike | None) -> np.ndarray:
    arr = np.zeros((0, 2)) if value is None else np.asarray(value, dtype=float)
    if arr.size == 0:
        return np.zeros((0, 2))
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        msg = f"{name}: expected an (n, 2) array of finite lon/lat, got shape {arr.shape}"
        raise GeoInputError(msg)
    if (np.abs(arr[:, 0]) > 180).any() or (np.abs(arr[:, 1]) > 90).any():
        msg = f"{name}: coordinates outside lon/lat range (are lon/lat swapped?)"
        raise GeoInputError(msg)
    return arr


def _wiggly(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *, spacing_m: float, jitter_m: float
) -> np.ndarray:
    """Vertices (metres) of a road from a to b: straight with a smooth random sideways bend."""
    length = float(np.hypot(*(b - a)))
    n_seg = max(1, round(length / spacing_m))
    t = np.linspace(0.0, 1.0, n_seg + 1)
    pts = a + np.outer(t, b - a)
    if n_seg > 1 and length > 0:
        normal = np.array([-(b - a)[1], (b - a)[0]]) / length
        amp = rng.uniform(-1.0, 1.0) * min(jitter_m, 0.15 * length)
        wobble = rng.uniform(-0.3, 0.3, size=n_seg + 1) * min(jitter_m, 0.05 * length)
        offset = amp * np.sin(np.pi * t) + wobble
        offset[0] = offset[-1] = 0.0
        pts = pts + np.outer(offset, normal)
    return pts


class _Builder:
    def __init__(self, crs: CRS, rng: np.random.Generator, spacing_m: float, jitter_m: float):
        self.crs = crs
        self.rng = rng
        self.spacing_m = spacing_m
        self.jitter_m = jitter_m
        self.rows: list[dict] = []
        self.counters: dict[str, int] = {}

    def add(
        self,
        prefix: str,
        road_class: str,
        a: np.ndarray,
        b: np.ndarray,
        *,
        max_weight_t: float | None = None,
        straight: bool = False,
    ) -> np.ndarray:
        pts = (
            np.vstack([a, b])
            if straight
            else _wiggly(a, b, self.rng, spacing_m=self.spacing_m, jitter_m=self.jitter_m)
        )
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        rc = ROAD_CLASSES[road_class]
        lon, lat = xy_to_lonlat(pts[:, 0], pts[:, 1], crs=self.crs)
        self.rows.append(
            {
                "road_id": f"{prefix}{self.counters[prefix]:04d}",
                "road_class": road_class,
                "oneway": False,
                "speed_kph": rc.speed_kph,
                "width_m": rc.width_m,
                "max_weight_t": np.nan if max_weight_t is None else float(max_weight_t),
                "synthetic": True,
                "geometry": shapely.LineString(np.column_stack([lon, lat])),
            }
        )
        return pts

    def frame(self) -> GeoDataFrame:
        cols = [
            "road_id",
            "road_class",
            "oneway",
            "speed_kph",
            "width_m",
            "max_weight_t",
            "synthetic",
            "geometry",
        ]
        data = {c: [r[c] for r in self.rows] for c in cols}
        geometry = data.pop("geometry")
        return GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")


def synthetic_roads(
    boundary: shapely.Geometry,
    hubs: npt.ArrayLike,
    villages: npt.ArrayLike,
    *,
    seed: int,
    points: npt.ArrayLike | None = None,
    external: tuple[float, float] | None = None,
    extra_county_fraction: float = 0.5,
    village_loop_fraction: float = 0.15,
    lane_fraction: float = 0.25,
    weight_limited_lane_fraction: float = 0.3,
    lane_weight_limit_t: float = 10.0,
    vertex_spacing_m: float = 800.0,
    jitter_m: float = 300.0,
) -> GeoDataFrame:
    """Generate a plausible rural road network joining hubs, villages and points.

    Parameters
    ----------
    boundary
        County polygon (lon/lat); extra (non-tree) county roads leaving it are dropped.
    hubs
        ``(n, 2)`` lon/lat of township seats (joined by county roads).
    villages
        ``(m, 2)`` lon/lat of village centres (joined by village roads, 4.5 m wide).
    seed
        Random seed; the same inputs and seed give the same roads.
    points
        Optional ``(k, 2)`` lon/lat (e.g. collection points) each joined by a spur to the
        nearest road vertex; a ``lane_fraction`` share of spurs are narrow lanes (3.0 m).
    external
        Optional lon/lat outside the county (e.g. a disposal site) joined to the nearest hub by a
        provincial road.
    extra_county_fraction
        Share of the non-tree Delaunay edges between hubs that become county roads.
    village_loop_fraction
        Share of villages given a second village road (loops).
    lane_fraction, weight_limited_lane_fraction, lane_weight_limit_t
        Share of point spurs that are lanes; share of lanes with a weight limit; that limit (t).
    vertex_spacing_m, jitter_m
        Spacing of intermediate vertices and the size of the sideways bends, metres.

    Returns
    -------
    geopandas.GeoDataFrame
        Road lines in EPSG:4326: road_id, road_class, oneway, speed_kph, width_m,
        max_weight_t (NaN = none), synthetic (True), geometry.
    """
    hub_ll = _points("hubs", hubs)
    vil_ll = _points("villages", villages)
    pt_ll = _points("points", points)
    if len(hub_ll) == 0:
        msg = "hubs: expected at least one hub point"
        raise GeoInputError(msg)
    crs = metric_crs(hub_ll[:, 0], hub_ll[:, 1])
    rng = np.random.default_rng(seed)
    b = _Builder(crs, rng, vertex_spacing_m, jitter_m)
    hub_xy, vil_xy, pt_xy = _project(hub_ll, crs), _project(vil_ll, crs), _project(pt_ll, crs)
    boundary_m = None
    if boundary is not None and not boundary.is_empty:
        boundary_m = shapely.buffer(
            shapely.transform(
                boundary, lambda c: np.column_stack(lonlat_to_xy(c[:, 0], c[:, 1], crs=crs))
            ),
            500.0,
        )

    # 1. county roads: Delaunay MST + some extra Delaunay edges
    vertices: list[np.ndarray] = [hub_xy]
    for i, j in _county_pairs(hub_xy, rng, extra_county_fraction, boundary_m):
        vertices.append(b.add("C", "county", hub_xy[i], hub_xy[j]))

    # 2. external provincial link
    if external is not None:
        ext_xy = _project(_points("external", [external]), crs)[0]
        k = int(np.argmin(np.hypot(*(hub_xy - ext_xy).T)))
        vertices.append(b.add("X", "provincial", hub_xy[k], ext_xy))

    # 3. village roads (a connected tree, some loops)
    if len(vil_xy):
        _village_roads(b, vertices, hub_xy, vil_xy, rng, village_loop_fraction)

    # 4. spurs to points: lanes (some weight-limited) or village roads
    if len(pt_xy):
        all_xy = np.vstack(vertices + ([vil_xy] if len(vil_xy) else []))
        d, idx = cKDTree(all_xy).query(pt_xy)
        for p in range(len(pt_xy)):
            is_lane = rng.random() < lane_fraction
            limited = rng.random() < weight_limited_lane_fraction
            if d[p] <= 1.0:
                continue
            if is_lane:
                b.add(
                    "L",
                    "lane",
                    all_xy[idx[p]],
                    pt_xy[p],
                    max_weight_t=lane_weight_limit_t if limited else None,
                    straight=True,
                )
            else:
                b.add("V", "village", all_xy[idx[p]], pt_xy[p], straight=True)
    return b.frame()


def _project(ll: np.ndarray, crs: CRS) -> np.ndarray:
    """``(n, 2)`` lon/lat to metres in ``crs``."""
    if len(ll) == 0:
        return np.zeros((0, 2))
    x, y = lonlat_to_xy(ll[:, 0], ll[:, 1], crs=crs)
    return np.column_stack([x, y])


def _county_pairs(
    hub_xy: np.ndarray,
    rng: np.random.Generator,
    extra_fraction: float,
    boundary_m: shapely.Geometry | None,
) -> list[tuple[int, int]]:
    """Hub pairs joined by county roads: the Delaunay MST plus a share of the short extra
    Delaunay edges that stay inside the (buffered) boundary."""
    if len(hub_xy) == 2:
        return [(0, 1)]
    if len(hub_xy) < 3:
        return []
    pairs: list[tuple[int, int]] = []
    tri = Delaunay(hub_xy)
    cand = set()
    for s in tri.simplices:
        for i, j in ((s[0], s[1]), (s[1], s[2]), (s[0], s[2])):
            cand.add((min(i, j), max(i, j)))
    cand_l = sorted(cand)
    lengths = np.array([np.hypot(*(hub_xy[i] - hub_xy[j])) for i, j in cand_l])
    n = len(hub_xy)
    w = coo_matrix((lengths + 1e-9, ([i for i, _ in cand_l], [j for _, j in cand_l])), shape=(n, n))
    mst = minimum_spanning_tree(w).tocoo()
    tree = {(min(i, j), max(i, j)) for i, j in zip(mst.row, mst.col, strict=True)}
    cutoff = 1.5 * max(lengths[[cand_l.index(e) for e in tree]]) if tree else 0.0
    for e, length in zip(cand_l, lengths, strict=True):
        if e in tree:
            pairs.append(e)
        elif length <= cutoff and rng.random() < extra_fraction:
            line = shapely.LineString([hub_xy[e[0]], hub_xy[e[1]]])
            if boundary_m is None or shapely.within(line, boundary_m):
                pairs.append(e)
    return pairs


def _village_roads(
    b: _Builder,
    vertices: list[np.ndarray],
    hub_xy: np.ndarray,
    vil_xy: np.ndarray,
    rng: np.random.Generator,
    loop_fraction: float,
) -> None:
    """Villages closer to a hub first; each joins the nearest county-road vertex or the nearest
    village already joined (so the roads form a connected tree); some get a second road."""
    road_xy = np.vstack(vertices)
    road_tree = cKDTree(road_xy)
    d_hub, _ = cKDTree(hub_xy).query(vil_xy)
    order = np.argsort(d_hub, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    vil_tree = cKDTree(vil_xy)
    k = min(len(vil_xy), 9)
    for v in order:
        d_road, i_road = road_tree.query(vil_xy[v])
        dists, idx = vil_tree.query(vil_xy[v], k=k)
        dists, idx = np.atleast_1d(dists), np.atleast_1d(idx)
        earlier = [(d, j) for d, j in zip(dists, idx, strict=True) if rank[j] < rank[v]]
        target = road_xy[i_road]
        best = d_road
        if earlier and earlier[0][0] < d_road:
            best, target = earlier[0][0], vil_xy[earlier[0][1]]
        if best > 1.0:
            vertices.append(b.add("V", "village", target, vil_xy[v]))
        if len(earlier) > 1 and rng.random() < loop_fraction:
            d2, j2 = earlier[1]
            if d2 < 2.5 * max(best, 1.0):
                vertices.append(b.add("V", "village", vil_xy[j2], vil_xy[v]))


def grid_roads(
    *,
    rows: int,
    cols: int,
    seed: int,
    spacing_m: float = 400.0,
    origin: tuple[float, float] = (116.55, 30.10),
    county_every: int = 10,
    lane_fraction: float = 0.05,
    oneway_fraction: float = 0.02,
    jitter_fraction: float = 0.2,
) -> GeoDataFrame:
    """Generate a large jittered grid of roads (one 2-vertex line per grid edge).

    Every ``county_every``-th row and column is a county road; the rest are village roads, a
    ``lane_fraction`` share of which are narrow lanes and a ``oneway_fraction`` share one-way.
    Speeds vary by up to −15 % per road (seeded) to avoid ties. Directed edge count is about
    ``4 * rows * cols`` (``rows = cols = 162`` gives over 100,000).

    Parameters
    ----------
    rows, cols
        Grid size in nodes.
    seed
        Random seed.
    spacing_m
        Grid spacing, metres.
    origin
        lon/lat of the south-west corner.
    county_every, lane_fraction, oneway_fraction, jitter_fraction
        Road mix and node jitter (share of the spacing).

    Returns
    -------
    geopandas.GeoDataFrame
        Road lines as in :func:`synthetic_roads`.
    """
    if rows < 2 or cols < 2:
        msg = f"rows, cols = {rows}, {cols}: expected at least 2 x 2"
        raise GeoInputError(msg)
    rng = np.random.default_rng(seed)
    crs = metric_crs(*origin)
    ox, oy = lonlat_to_xy(origin[0], origin[1], crs=crs)
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    x = ox + c * spacing_m + rng.uniform(-1, 1, r.shape) * jitter_fraction * spacing_m
    y = oy + r * spacing_m + rng.uniform(-1, 1, r.shape) * jitter_fraction * spacing_m
    lon, lat = xy_to_lonlat(x, y, crs=crs)
    ids = np.arange(rows * cols).reshape(rows, cols)
    # horizontal edges (row fixed) then vertical edges (column fixed)
    h_a, h_b = ids[:, :-1].ravel(), ids[:, 1:].ravel()
    v_a, v_b = ids[:-1, :].ravel(), ids[1:, :].ravel()
    a = np.concatenate([h_a, v_a])
    bb = np.concatenate([h_b, v_b])
    line_no = np.concatenate([(h_a // cols), (v_a % cols)])
    county = line_no % county_every == 0
    n = len(a)
    draw = rng.random(n)
    lane = ~county & (draw < lane_fraction)
    oneway = ~county & ~lane & (rng.random(n) < oneway_fraction)
    factor = np.round(rng.uniform(0.85, 1.0, n), 3)
    classes = np.where(county, "county", np.where(lane, "lane", "village"))
    speed = np.array([ROAD_CLASSES[k].speed_kph for k in classes]) * factor
    width = np.array([ROAD_CLASSES[k].width_m for k in classes])
    flat_lon, flat_lat = lon.ravel(), lat.ravel()
    coords = np.stack(
        [
            np.column_stack([flat_lon[a], flat_lat[a]]),
            np.column_stack([flat_lon[bb], flat_lat[bb]]),
        ],
        axis=1,
    )
    prefix = np.where(county, "C", np.where(lane, "L", "V"))
    return GeoDataFrame(
        {
            "road_id": [f"G{p}{i:06d}" for i, p in enumerate(prefix)],
            "road_class": classes,
            "oneway": oneway,
            "speed_kph": np.round(speed, 2),
            "width_m": width,
            "max_weight_t": np.full(n, np.nan),
            "synthetic": np.ones(n, dtype=bool),
        },
        geometry=shapely.linestrings(coords),
        crs="EPSG:4326",
    )


def scatter_points(
    boundary: shapely.Geometry,
    centers: npt.ArrayLike,
    counts: npt.ArrayLike,
    *,
    seed: int,
    spread_m: float = 2500.0,
    min_separation_m: float = 0.0,
) -> np.ndarray:
    """Scatter points around centres, inside a boundary (seeded rejection sampling).

    Parameters
    ----------
    boundary
        Polygon (lon/lat) every point must fall in.
    centers
        ``(n, 2)`` lon/lat centres (e.g. township seats).
    counts
        How many points to place around each centre.
    seed
        Random seed.
    spread_m
        Standard deviation of the normal offset, metres.
    min_separation_m
        Reject a draw closer than this to a point already placed.

    Returns
    -------
    numpy.ndarray
        ``(sum(counts), 2)`` lon/lat, grouped by centre in input order.
    """
    c_ll = _points("centers", centers)
    counts_a = np.asarray(counts, dtype=np.int64)
    if counts_a.shape != (len(c_ll),) or (counts_a < 0).any():
        msg = f"counts: expected {len(c_ll)} non-negative integers, got {counts_a.tolist()}"
        raise GeoInputError(msg)
    crs = metric_crs(c_ll[:, 0], c_ll[:, 1])
    rng = np.random.default_rng(seed)
    cx, cy = lonlat_to_xy(c_ll[:, 0], c_ll[:, 1], crs=crs)
    poly_m = shapely.transform(
        boundary, lambda c: np.column_stack(lonlat_to_xy(c[:, 0], c[:, 1], crs=crs))
    )
    shapely.prepare(poly_m)
    placed: list[tuple[float, float]] = []
    for i, k in enumerate(counts_a.tolist()):
        got = 0
        scale = spread_m
        tries = 0
        while got < k:
            tries += 1
            if tries % 200 == 0:
                scale *= 0.7  # a centre near the edge: tighten
            px, py = cx[i] + rng.normal(0, scale), cy[i] + rng.normal(0, scale)
            if not shapely.contains_xy(poly_m, px, py):
                if tries > 5000:
                    msg = f"centers[{i}]: cannot place points inside the boundary around it"
                    raise GeoInputError(msg)
                continue
            if min_separation_m > 0 and placed:
                arr = np.asarray(placed)
                if np.min(np.hypot(arr[:, 0] - px, arr[:, 1] - py)) < min_separation_m:
                    continue
            placed.append((px, py))
            got += 1
    if not placed:
        return np.zeros((0, 2))
    arr = np.asarray(placed)
    lon, lat = xy_to_lonlat(arr[:, 0], arr[:, 1], crs=crs)
    return np.column_stack([lon, lat])
