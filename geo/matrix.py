"""Travel-time and distance matrices between sets of network nodes, per access profile.

Units: ``time_s`` integer seconds, ``distance_m`` integer metres. The distance of a pair is
the **length of the fastest path** (the path that minimises travel time), not the shortest
possible distance; of equally fast paths the shortest counts. Unreachable pairs
hold :data:`UNREACHABLE` in both matrices (list them with :meth:`TravelMatrix.unreachable`).
Edge times are rounded to whole milliseconds before summing, so both engines agree exactly.

Matrices are built only for the node sets asked for (a solver's subset), never dense over
all points. Results are cached on disk as ``.npz`` keyed by a SHA-256 of the network content,
the access profile and the node lists (directory: the ``cache_dir`` argument, else
``$SANITATION_CACHE_DIR``, else ``~/.cache/sanitation``).

Engines (a :class:`MatrixEngine` protocol, two implementations)
---------------------------------------------------------------
:class:`CCHEngine` (default)
    Customizable contraction hierarchies from RoutingKit (``routingkit_cch``): one hierarchy
    per network (inertial nested-dissection node order, cached on disk by topology, then the
    contraction), one customisation per access profile (arcs it may not use get infinite
    weight), then a one-to-many sweep per source against the pinned targets.
:class:`ScipyEngine`
    One ``scipy.sparse.csgraph.dijkstra`` per source (compiled, single-threaded).

Measured on this shared 2-core machine, on a jittered 162 x 162 grid (26,244 nodes, ~103,000
directed edges; a grid is a hard case for hierarchies), 1,000 x 1,000 travel times, quiet
moments: CCH preprocessing ≈ 0.4 s (order 0.25 s, contraction 0.04 s, customisation 0.05 s),
query ≈ 0.8-1.0 s CPU; scipy Dijkstra ≈ 3.3 ms per source (≈ 3.3 s); pandana (its own CH)
7.7 s preprocessing and ≈ 2 s per 100,000 pairs (≈ 20 s for 10^6 pairs); rustworkx
``dijkstra_shortest_path_lengths`` ≈ 9 ms per source (Python weight callback, GIL-bound);
the networkx loop of ``benchmarks/matrix.py`` ≈ 125 ms CPU per source (> 100x the CCH
query in CPU time). CCH is the only option meeting the ≤ 3 s target with margin, and its
weight-independent preprocessing is shared by all profiles and re-customised cheaply for
what-ifs, hence the default. (The binding holds the GIL, so threads do not help; the query
is single-threaded.)

Distances: a CCH sweep sums one metric only, and routingkit's 32-bit weights leave no room to
carry length in a lexicographic weight (unpacking each pair's path costs ≈ 100 µs, too slow
for 10^5+ pairs). So with ``distances=True`` both matrices come from one scipy Dijkstra per
source on the lexicographic weight ``time_ms * 2^26 + length_dm`` (exact integers in float64):
the fastest path, the shortest of equally fast ones, both totals decoded from one sum
(``TravelMatrix.engine`` is then ``"tree"``). Where exactness cannot be guaranteed (paths
over ~37 h) it falls back to time-only trees with lengths summed by pointer jumping.
Times-only requests (``distances=False``) use the engine (CCH by default) and are several
times faster.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo._profile import ProfileGraph, Topology, profile_graph
from geo.crs import haversine_m
from geo.errors import GeoInputError
from geo.network import AccessProfile, RoadNetwork

if TYPE_CHECKING:  # imported when used: without routingkit_cch the scipy engine still works
    import routingkit_cch as rk

__all__ = [
    "UNREACHABLE",
    "CCHEngine",
    "MatrixEngine",
    "ScipyEngine",
    "TravelMatrix",
    "default_cache_dir",
    "route_geometry",
    "route_nodes",
    "travel_matrix",
    "unreachable_pairs",
]

logger = logging.getLogger(__name__)

UNREACHABLE = 2**31 - 1
"""Sentinel in ``time_s`` and ``distance_m`` for a pair with no usable path (≈ 68 years)."""

_CACHE_VERSION = "geo.matrix v1"
_CCH_INF = 2**31 - 1  # RoutingKit's inf_weight: an arc the profile may not use
_CHUNK = 128  # sources per Dijkstra batch (bounds memory: chunk x nodes)
_TREE_CELLS = 4_000_000  # max chunk x nodes cells per shortest-path-tree batch (~32 MB each)


def default_cache_dir() -> Path:
    """``$SANITATION_CACHE_DIR`` if set, else ``~/.cache/sanitation``."""
    env = os.environ.get("SANITATION_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "sanitation"


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Travel times and fastest-path distances from ``from_nodes`` to ``to_nodes``.

    Attributes
    ----------
    time_s
        ``(len(from_nodes), len(to_nodes))`` int64 seconds; :data:`UNREACHABLE` if no path.
    distance_m
        Same shape, int64 metres along the fastest path, or None if not requested.
    from_nodes, to_nodes
        Network node ids (int64) of the rows and columns.
    profile
        Name of the access profile.
    """

    time_s: np.ndarray
    distance_m: np.ndarray | None
    from_nodes: np.ndarray
    to_nodes: np.ndarray
    profile: str
    engine: str = field(default="")

    def __post_init__(self) -> None:
        for arr in (self.time_s, self.distance_m, self.from_nodes, self.to_nodes):
            if arr is not None:
                arr.setflags(write=False)

    def unreachable(self) -> list[tuple[int, int]]:
        """``(row, column)`` index pairs with no usable path."""
        rows, cols = np.nonzero(self.time_s == UNREACHABLE)
        return list(zip(rows.tolist(), cols.tolist(), strict=True))

    def unreachable_nodes(self) -> list[tuple[int, int]]:
        """``(from_node, to_node)`` node-id pairs with no usable path."""
        return [(int(self.from_nodes[i]), int(self.to_nodes[j])) for i, j in self.unreachable()]


@runtime_checkable
class MatrixEngine(Protocol):
    """Computes travel times (ms) between node indices of a ProfileGraph."""

    name: str

    def times_ms(
        self,
        graph: ProfileGraph,
        sources: np.ndarray,
        targets: np.ndarray,
        *,
        lat: np.ndarray,
        lon: np.ndarray,
    ) -> np.ndarray:
        """``(len(sources), len(targets))`` float array of ms; ``inf`` where unreachable.

        ``sources``/``targets`` are node indices; ``lat``/``lon`` are every node's position
        (degrees), for engines that order nodes geometrically.
        """
        ...


class ScipyEngine:
    """Dijkstra per source with ``scipy.sparse.csgraph.dijkstra`` (compiled)."""

    name = "scipy"

    def times_ms(
        self,
        graph: ProfileGraph,
        sources: np.ndarray,
        targets: np.ndarray,
        *,
        lat: np.ndarray,
        lon: np.ndarray,
    ) -> np.ndarray:
        del lat, lon
        out = np.empty((len(sources), len(targets)), dtype=float)
        uniq, inverse = np.unique(sources, return_inverse=True)
        for start in range(0, len(uniq), _CHUNK):
            chunk = uniq[start : start + _CHUNK]
            dist = dijkstra(graph.csr, directed=True, indices=chunk)
            rows = np.flatnonzero((inverse >= start) & (inverse < start + len(chunk)))
            out[rows] = dist[inverse[rows] - start][:, targets]
        return out


class CCHEngine:
    """Customizable contraction hierarchies (``routingkit_cch``), see the module docstring.

    Parameters
    ----------
    cache_dir
        Where the node order is cached (default :func:`default_cache_dir`); ``False`` for no
        disk cache.
    """

    name = "cch"

    def __init__(self, *, cache_dir: str | Path | bool | None = None) -> None:
        self._cache_dir = cache_dir
        self._metrics: dict[str, rk.CCHMetric] = {}
        self._cchs: dict[str, rk.CCH] = {}

    def _order(self, topo: Topology, lat: np.ndarray, lon: np.ndarray) -> list[int]:
        import routingkit_cch as rk

        path = None
        if self._cache_dir is not False:
            base = (
                default_cache_dir()
                if self._cache_dir in (None, True)
                else Path(str(self._cache_dir))
            )
            path = base / f"cch-order-{topo.key[:32]}.npy"
            if path.exists():
                try:
                    order = np.load(path)
                    if order.shape == (topo.n,):
                        return order.tolist()
                except (OSError, ValueError):
                    logger.warning("ignoring unreadable CCH order cache %s", path)
        order = rk.compute_order_inertial(
            topo.n, topo.tail.tolist(), topo.head.tolist(), lat.tolist(), lon.tolist()
        )
        if path is not None:
            buf = io.BytesIO()
            np.save(buf, np.asarray(order, dtype=np.int64))
            _atomic_write(path, buf.getvalue())
        return order

    def prepare(self, graph: ProfileGraph, *, lat: np.ndarray, lon: np.ndarray) -> rk.CCHMetric:
        """Build (or fetch) the network's CCH and its customisation for ``graph``'s profile.

        The hierarchy (node order + contraction) depends only on the network's topology and
        is shared by all profiles; each profile costs one customisation, with infinite
        weight on the arcs it may not use.
        """
        import routingkit_cch as rk

        metric = self._metrics.get(graph.key)
        if metric is not None:
            return metric
        topo = graph.topology
        cch = self._cchs.get(topo.key)
        if cch is None:
            order = self._order(topo, lat, lon)
            cch = rk.CCH(order, topo.tail.tolist(), topo.head.tolist(), False)
            self._cchs[topo.key] = cch
        weights = np.full(len(topo.tail), _CCH_INF, dtype=np.int64)
        weights[graph.topo_index] = np.minimum(graph.time_ms, _CCH_INF - 1)
        metric = rk.CCHMetric(cch, weights.tolist())
        self._metrics[graph.key] = metric
        return metric

    def times_ms(
        self,
        graph: ProfileGraph,
        sources: np.ndarray,
        targets: np.ndarray,
        *,
        lat: np.ndarray,
        lon: np.ndarray,
    ) -> np.ndarray:
        import routingkit_cch as rk

        out = np.full((len(sources), len(targets)), np.inf)
        if len(graph.tail) == 0 or len(sources) == 0 or len(targets) == 0:
            same = sources[:, None] == targets[None, :]
            out[same] = 0.0
            return out
        metric = self.prepare(graph, lat=lat, lon=lon)
        sweep = rk.CCHOneToMany(metric, targets.tolist())
        try:
            for i, s in enumerate(sources.tolist()):
                row = sweep.distances_from(s)
                out[i] = np.array(row, dtype=float)  # None -> nan
        finally:
            del sweep
        out[np.isnan(out)] = np.inf
        return out


def unreachable_pairs(matrix: TravelMatrix) -> list[tuple[int, int]]:
    """``(from_node, to_node)`` node-id pairs of ``matrix`` with no usable path."""
    return matrix.unreachable_nodes()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_LEX_BITS = 26  # length field of the lexicographic weight, decimetres (2^26 dm = 6,710 km)
_EXACT = 2.0**53  # float64 sums of integers are exact below this


def _fastest_path_lengths(
    graph: ProfileGraph, sources: np.ndarray, targets: np.ndarray, *, lex_bits: int = _LEX_BITS
) -> tuple[np.ndarray, np.ndarray]:
    """Times (ms) and fastest-path lengths (m); inf where unreachable.

    One Dijkstra per source on the lexicographic weight ``time_ms * 2**lex_bits + length_dm``
    (exact integers in float64): it finds the fastest path, the shortest of equally fast
    ones, and both totals decode from one sum. A chunk whose sums could lose exactness
    (paths over ~37 h, or longer than ``2**lex_bits`` dm) falls back to plain time trees
    whose lengths are summed by pointer jumping.
    """
    if len(targets) * 2 < len(sources):  # tall: one tree per target on the reversed graph
        backward = _backward_lex_lengths(graph, sources, targets, lex_bits=lex_bits)
        if backward is not None:
            return backward
    times = np.empty((len(sources), len(targets)))
    lengths = np.empty((len(sources), len(targets)))
    n = graph.n
    scale = float(2**lex_bits)
    length_dm = np.rint(graph.length_m * 10.0)
    v_max = float(np.max(length_dm / graph.time_ms)) if len(length_dm) else 0.0  # dm per ms
    max_w = float(np.max(graph.time_ms)) * scale + float(np.max(length_dm, initial=0.0))
    lex = None
    if max_w < _EXACT:
        lex = csr_matrix(
            (graph.time_ms * scale + length_dm, (graph.tail, graph.head)), shape=(n, n)
        )
    step = int(np.clip(_TREE_CELLS // max(n, 1), 8, _CHUNK))
    for start in range(0, len(sources), step):
        chunk = sources[start : start + step]
        k = len(chunk)
        if lex is not None:
            dist = dijkstra(lex, directed=True, indices=chunk)
            finite = np.isfinite(dist)
            top = float(dist[finite].max(initial=0.0))
            t_ms = np.floor(dist / scale)
            if top + max_w < _EXACT and float(t_ms[finite].max(initial=0.0)) * v_max < scale:
                t_sel = t_ms[:, targets]
                ok = np.isfinite(t_sel)
                ln = np.full(t_sel.shape, np.inf)
                ln[ok] = (dist[:, targets][ok] - t_sel[ok] * scale) / 10.0
                times[start : start + k] = t_sel
                lengths[start : start + k] = ln
                continue
            logger.debug("lexicographic weights not exact here: pointer jumping instead")
        times[start : start + k], lengths[start : start + k] = _tree_lengths(graph, chunk, targets)
    return times, lengths


def _backward_lex_lengths(
    graph: ProfileGraph, sources: np.ndarray, targets: np.ndarray, *, lex_bits: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """`_fastest_path_lengths` from one lexicographic tree per *target* on the reversed graph
    (the same minimum sums, so the same times and lengths); None where the sums could lose
    exactness (the caller then grows trees from the sources)."""
    n = graph.n
    scale = float(2**lex_bits)
    length_dm = np.rint(graph.length_m * 10.0)
    if not len(length_dm):
        return None
    v_max = float(np.max(length_dm / graph.time_ms))
    max_w = float(np.max(graph.time_ms)) * scale + float(np.max(length_dm))
    if max_w >= _EXACT:
        return None
    reverse = csr_matrix(
        (graph.time_ms * scale + length_dm, (graph.head, graph.tail)), shape=(n, n)
    )
    times = np.empty((len(sources), len(targets)))
    lengths = np.empty((len(sources), len(targets)))
    step = int(np.clip(_TREE_CELLS // max(n, 1), 8, _CHUNK))
    for start in range(0, len(targets), step):
        chunk = targets[start : start + step]
        dist = dijkstra(reverse, directed=True, indices=chunk)  # row k: every node -> chunk[k]
        finite = np.isfinite(dist)
        t_ms = np.floor(dist / scale)
        top = float(dist[finite].max(initial=0.0))
        if top + max_w >= _EXACT or float(t_ms[finite].max(initial=0.0)) * v_max >= scale:
            return None
        t_sel = t_ms[:, sources].T
        d_sel = dist[:, sources].T
        ok = np.isfinite(t_sel)
        ln = np.full(t_sel.shape, np.inf)
        ln[ok] = (d_sel[ok] - t_sel[ok] * scale) / 10.0
        times[:, start : start + len(chunk)] = t_sel
        lengths[:, start : start + len(chunk)] = ln
    return times, lengths


def _tree_lengths(
    graph: ProfileGraph, chunk: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Time-only shortest-path trees; lengths summed up the tree by pointer jumping."""
    n = graph.n
    dist, pred = dijkstra(graph.csr, directed=True, indices=chunk, return_predecessors=True)
    k = len(chunk)
    rows = np.arange(k)[:, None]
    nodes = np.broadcast_to(np.arange(n), (k, n))
    root = pred < 0
    parent = np.where(root, nodes, pred).astype(np.int64)
    d = np.zeros((k, n))
    tree = ~root
    d[tree] = graph.length_m[graph.edge_of(parent[tree], nodes[tree])]
    while True:
        grand = parent[rows, parent]
        if np.array_equal(grand, parent):
            break
        d = d + d[rows, parent]
        parent = grand
    ln = d[:, targets]
    ln[~np.isfinite(dist[:, targets])] = np.inf
    return dist[:, targets], ln


def _node_index(network: RoadNetwork, nodes: npt.ArrayLike, what: str) -> np.ndarray:
    ids = np.atleast_1d(np.asarray(nodes, dtype=np.int64))
    node_ids = network.arrays.node_ids
    pos = np.searchsorted(node_ids, ids)
    pos_c = np.minimum(pos, len(node_ids) - 1)
    bad = ids[node_ids[pos_c] != ids] if len(node_ids) else ids
    if len(bad):
        shown = ", ".join(str(b) for b in bad[:10].tolist())
        msg = f"{network.name}: {what} node id(s) {shown}: not in the network"
        raise GeoInputError(msg)
    return pos_c.astype(np.int64)


def _to_int(values: np.ndarray, scale: float) -> np.ndarray:
    out = np.full(values.shape, UNREACHABLE, dtype=np.int64)
    ok = np.isfinite(values)
    out[ok] = np.minimum(np.rint(values[ok] * scale), UNREACHABLE - 1).astype(np.int64)
    return out


def travel_matrix(
    network: RoadNetwork,
    profile: AccessProfile,
    from_nodes: npt.ArrayLike,
    to_nodes: npt.ArrayLike | None = None,
    *,
    distances: bool = True,
    engine: MatrixEngine | None = None,
    cache_dir: str | Path | bool | None = None,
) -> TravelMatrix:
    """Travel times (s) and fastest-path distances (m) between node sets, for one profile.

    Parameters
    ----------
    network
        The road network.
    profile
        Vehicle access profile (only its usable roads are used).
    from_nodes, to_nodes
        Network node ids of the rows and columns (``to_nodes`` defaults to ``from_nodes``),
        e.g. from :func:`geo.snap_points`. Duplicates are allowed.
    distances
        Also compute ``distance_m``; both matrices then come from one shortest-path tree per
        source (scipy Dijkstra), not from ``engine`` (see the module docstring).
    engine
        A :class:`MatrixEngine` (default: a :class:`CCHEngine` sharing ``cache_dir``).
    cache_dir
        Disk cache directory; None = :func:`default_cache_dir`, False = no disk cache.

    Returns
    -------
    TravelMatrix

    Raises
    ------
    GeoInputError
        A node id that is not in the network.
    """
    src = _node_index(network, from_nodes, "from")
    dst = src if to_nodes is None else _node_index(network, to_nodes, "to")
    a = network.arrays
    pg = profile_graph(network, profile)
    cache_path = None
    if cache_dir is not False:
        base = default_cache_dir() if cache_dir in (None, True) else Path(str(cache_dir))
        h = hashlib.sha256(_CACHE_VERSION.encode())
        h.update(pg.key.encode())
        h.update(a.node_ids[src].tobytes())
        h.update(b"|")
        h.update(a.node_ids[dst].tobytes())
        h.update(b"d" if distances else b"t")
        cache_path = base / f"matrix-{h.hexdigest()[:40]}.npz"
        if cache_path.exists():
            try:
                with np.load(cache_path) as z:
                    time_s = z["time_s"]
                    dist_m = z["distance_m"] if distances else None
                if time_s.shape == (len(src), len(dst)):
                    logger.debug("matrix cache hit %s", cache_path)
                    return TravelMatrix(
                        time_s,
                        dist_m,
                        a.node_ids[src].copy(),
                        a.node_ids[dst].copy(),
                        profile.name,
                        "cache",
                    )
            except (OSError, ValueError, KeyError):
                logger.warning("ignoring unreadable matrix cache %s", cache_path)
    if engine is None:
        engine = CCHEngine(cache_dir=cache_dir)
    if distances:
        # the shortest-path trees give the times too (identical integer-ms sums), so the
        # engine's sweep would be redundant work here
        t_ms, l_m = _fastest_path_lengths(pg, src, dst)
        dist_m = _to_int(l_m, 1.0)
        engine_name = "tree"
    else:
        t_ms = engine.times_ms(pg, src, dst, lat=a.lat, lon=a.lon)
        dist_m = None
        engine_name = engine.name
    time_s = _to_int(t_ms, 1e-3)
    if dist_m is not None:
        dist_m[time_s == UNREACHABLE] = UNREACHABLE
    if cache_path is not None:
        buf = io.BytesIO()
        if dist_m is None:
            np.savez(buf, time_s=time_s)
        else:
            np.savez(buf, time_s=time_s, distance_m=dist_m)
        _atomic_write(cache_path, buf.getvalue())
    return TravelMatrix(
        time_s, dist_m, a.node_ids[src].copy(), a.node_ids[dst].copy(), profile.name, engine_name
    )


def route_nodes(
    network: RoadNetwork, profile: AccessProfile, from_node: int, to_node: int
) -> list[int]:
    """Node ids along the fastest path usable by ``profile`` (both ends included): of equally
    fast paths the shortest, as :func:`travel_matrix` measures its ``distance_m``.

    The search grows from ``from_node`` only as far as it must: up to a time bound from the
    straight line at the profile's top speed, doubled until ``to_node`` is reached (a short
    leg of a large network settles a few of its nodes, not all of them).

    Raises
    ------
    GeoInputError
        Unknown node, or no usable path.
    """
    pg = profile_graph(network, profile)
    s = int(_node_index(network, [from_node], "from")[0])
    t = int(_node_index(network, [to_node], "to")[0])
    pred = _bounded_tree(network, pg, s, t)
    if pred is None:
        msg = (
            f"{network.name}: no road path usable by {profile.name!r} from node "
            f"{from_node} to node {to_node}"
        )
        raise GeoInputError(msg)
    path = [t]
    while path[-1] != s:
        path.append(int(pred[path[-1]]))
    ids = network.arrays.node_ids
    return [int(ids[i]) for i in reversed(path)]


@dataclass(frozen=True)
class _LexGraph:
    """A profile's graph weighted ``time_ms * 2**_LEX_BITS + length_dm`` and its top speed."""

    csr: csr_matrix
    dm_per_ms: float  # the fastest arc's length per time (dm/ms): bounds time by distance


def _lex_graph(network: RoadNetwork, pg: ProfileGraph) -> _LexGraph | None:
    """The (cached) lexicographic graph of ``pg``, None when its weights are not exact."""
    key = ("lex_graph", pg.key)
    cached = network._cache.get(key)
    if isinstance(cached, _LexGraph) or (key in network._cache and cached is None):
        return cached
    scale = float(2**_LEX_BITS)
    length_dm = np.rint(pg.length_m * 10.0)
    lex = None
    if len(length_dm) and float(np.max(pg.time_ms)) * scale + float(np.max(length_dm)) < _EXACT:
        csr = csr_matrix((pg.time_ms * scale + length_dm, (pg.tail, pg.head)), shape=(pg.n, pg.n))
        lex = _LexGraph(csr, float(np.max(length_dm / pg.time_ms)))
    network._cache[key] = lex
    return lex


_FIRST_BOUND_MS = 60_000.0  # the first time bound of a path search at least (1 min; assumed)


def _bounded_tree(network: RoadNetwork, pg: ProfileGraph, s: int, t: int) -> np.ndarray | None:
    """Predecessors of a lexicographic shortest-path tree from node index ``s`` that reaches
    ``t`` (grown within doubling time bounds), or None when ``t`` is unreachable. Without
    exact lexicographic weights: one time-only tree over the whole network."""
    lex = _lex_graph(network, pg)
    if lex is not None:
        a = network.arrays
        straight_dm = 10.0 * float(haversine_m(a.lon[s], a.lat[s], a.lon[t], a.lat[t]))
        bound_ms = max(_FIRST_BOUND_MS, 2.0 * straight_dm / max(lex.dm_per_ms, 1e-9))
        scale = float(2**_LEX_BITS)
        while True:
            limit = (bound_ms + 1.0) * scale
            whole = limit >= _EXACT
            dist, pred = dijkstra(
                lex.csr,
                directed=True,
                indices=s,
                return_predecessors=True,
                limit=np.inf if whole else limit,
            )
            if np.isfinite(dist[t]):
                if float(dist[t]) < _EXACT and np.floor(dist[t] / scale) * lex.dm_per_ms < scale:
                    return pred
                break  # a path too long for exact sums (over ~37 h): a time-only tree
            if whole:
                return None
            bound_ms *= 2.0
    dist, pred = dijkstra(pg.csr, directed=True, indices=s, return_predecessors=True)
    return pred if np.isfinite(dist[t]) else None


def route_geometry(
    network: RoadNetwork, profile: AccessProfile, from_node: int, to_node: int
) -> shapely.LineString:
    """The fastest path usable by ``profile`` as a lon/lat LineString along the roads.

    Raises
    ------
    GeoInputError
        Unknown node, or no usable path.
    """
    nodes = route_nodes(network, profile, from_node, to_node)
    a = network.arrays
    g = network.graph
    pos = np.searchsorted(a.node_ids, nodes)
    if len(nodes) == 1:
        p = (a.lon[pos[0]], a.lat[pos[0]])
        return shapely.LineString([p, p])
    pg = profile_graph(network, profile)
    edges = pg.edge[pg.edge_of(pos[:-1], pos[1:])]
    coords: list[tuple[float, float]] = [(a.lon[pos[0]], a.lat[pos[0]])]
    for i, e in enumerate(edges.tolist()):
        geom = g.edges[a.edge_keys[e]].get("geometry")
        if geom is not None:
            coords.extend(list(geom.coords)[1:])
        else:
            coords.append((a.lon[pos[i + 1]], a.lat[pos[i + 1]]))
    return shapely.LineString(coords)
