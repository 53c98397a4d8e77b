"""Travel matrices agree with networkx, respect access and closures, and are cached."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import geo.matrix as geo_matrix
from geo import (
    LARGE_TRUCK,
    SMALL_TRUCK,
    UNREACHABLE,
    CCHEngine,
    GeoInputError,
    MatrixEngine,
    ScipyEngine,
    from_road_lines,
    route_geometry,
    route_nodes,
    travel_matrix,
    unreachable_pairs,
)
from geo.crs import haversine_m
from geo.matrix import default_cache_dir
from geo.synthetic import grid_roads

DATA = Path(__file__).parent / "data" / "geo"
P = {
    "A": (116.60, 30.10),
    "B": (116.62, 30.10),
    "C": (116.64, 30.10),
    "D": (116.62, 30.12),
    "E": (116.64, 30.12),
    "F": (116.62, 30.13),
    "G": (116.60, 30.12),
    "H": (116.66, 30.11),
}


@pytest.fixture(scope="module")
def tiny():
    return from_road_lines(DATA / "tiny_roads.geojson")


@pytest.fixture(scope="module")
def grid():
    return from_road_lines(grid_roads(rows=25, cols=25, seed=11, oneway_fraction=0.1))


def node(network, name):
    a = network.arrays
    lon, lat = P[name]
    return int(a.node_ids[np.argmin(np.hypot(a.lon - lon, a.lat - lat))])


def _networkx_reference(network, profile, nodes):
    graph = network.subgraph(profile).graph
    times = np.full((len(nodes), len(nodes)), np.inf)
    lengths = np.full((len(nodes), len(nodes)), np.inf)
    for i, s in enumerate(nodes):
        if s not in graph:
            continue
        t, paths = nx.single_source_dijkstra(graph, s, weight="travel_time")
        for j, target in enumerate(nodes):
            if target in t:
                times[i, j] = t[target]
                path = paths[target]
                lengths[i, j] = sum(
                    min(graph[u][v].values(), key=lambda d: d["travel_time"])["length"]
                    for u, v in itertools.pairwise(path)
                )
    return times, lengths


@pytest.mark.parametrize("engine", [CCHEngine(cache_dir=False), ScipyEngine()])
@pytest.mark.parametrize("profile", [SMALL_TRUCK, LARGE_TRUCK])
def test_engines_agree_with_networkx(grid, engine, profile):
    rng = np.random.default_rng(5)
    nodes = rng.choice(grid.arrays.node_ids, size=40, replace=False).tolist()
    m = travel_matrix(grid, profile, nodes, distances=False, engine=engine, cache_dir=False)
    assert m.engine == engine.name and m.distance_m is None
    times, _ = _networkx_reference(grid, profile, nodes)
    reach = np.isfinite(times)
    assert reach.mean() > 0.8
    np.testing.assert_array_equal(m.time_s == UNREACHABLE, ~reach)
    assert np.abs(m.time_s[reach] - times[reach]).max() <= 1
    assert m.time_s.dtype == np.int64
    assert np.all(np.diag(m.time_s) == 0)


@pytest.mark.parametrize("profile", [SMALL_TRUCK, LARGE_TRUCK])
def test_fastest_path_distances_agree_with_networkx(grid, profile):
    rng = np.random.default_rng(6)
    nodes = rng.choice(grid.arrays.node_ids, size=40, replace=False).tolist()
    m = travel_matrix(grid, profile, nodes, cache_dir=False)
    assert m.engine == "tree"
    times, lengths = _networkx_reference(grid, profile, nodes)
    reach = np.isfinite(times)
    np.testing.assert_array_equal(m.time_s == UNREACHABLE, ~reach)
    np.testing.assert_array_equal(m.distance_m == UNREACHABLE, ~reach)
    assert np.abs(m.time_s[reach] - times[reach]).max() <= 1
    # grid speeds vary per road, so fastest paths are unique: lengths match networkx's path
    assert np.abs(m.distance_m[reach] - lengths[reach]).max() <= 1
    assert m.distance_m.dtype == np.int64


@pytest.mark.parametrize("profile", [SMALL_TRUCK, LARGE_TRUCK])
def test_a_tall_matrix_from_trees_grown_backwards_equals_the_forward_one(
    grid, profile, monkeypatch
):
    """Many sources to few targets: one tree per target on the reversed graph (one-way roads
    included) gives exactly the times and lengths of one tree per source."""
    grown = []
    backward = geo_matrix._backward_lex_lengths

    def spy(*args, **kwargs):
        grown.append(backward(*args, **kwargs) is not None)
        return backward(*args, **kwargs)

    monkeypatch.setattr(geo_matrix, "_backward_lex_lengths", spy)
    rng = np.random.default_rng(7)
    ids = grid.arrays.node_ids
    sources = rng.choice(ids, size=60, replace=False)
    targets = rng.choice(ids, size=5, replace=False)
    tall = travel_matrix(grid, profile, sources, targets, cache_dir=False)
    assert grown == [True]
    forward = [travel_matrix(grid, profile, [s], targets, cache_dir=False) for s in sources]
    np.testing.assert_array_equal(tall.time_s, np.vstack([m.time_s for m in forward]))
    np.testing.assert_array_equal(tall.distance_m, np.vstack([m.distance_m for m in forward]))
    wide = travel_matrix(grid, profile, targets, sources, cache_dir=False)
    assert not np.array_equal(tall.time_s, wide.time_s.T)  # the one-way roads show


def test_engines_satisfy_the_protocol():
    assert isinstance(CCHEngine(cache_dir=False), MatrixEngine)
    assert isinstance(ScipyEngine(), MatrixEngine)


def test_rectangular_matrix_with_duplicates_and_times_only(grid):
    ids = grid.arrays.node_ids
    rows, cols = [ids[3], ids[3], ids[50]], [ids[7], ids[100]]
    m = travel_matrix(grid, SMALL_TRUCK, rows, cols, distances=False, cache_dir=False)
    assert m.time_s.shape == (3, 2) and m.distance_m is None
    np.testing.assert_array_equal(m.time_s[0], m.time_s[1])
    full = travel_matrix(grid, SMALL_TRUCK, rows, cols, engine=ScipyEngine(), cache_dir=False)
    np.testing.assert_array_equal(m.time_s, full.time_s)


def test_narrow_lane_point_unreachable_for_large_truck_only(tiny):
    nodes = [node(tiny, "A"), node(tiny, "F"), node(tiny, "G")]
    small = travel_matrix(tiny, SMALL_TRUCK, nodes, cache_dir=False)
    large = travel_matrix(tiny, LARGE_TRUCK, nodes, cache_dir=False)
    assert small.unreachable() == []
    assert (small.time_s[0, 1:] > 0).all()
    # F is on the 3 m lane, G behind the 10 t bridge: neither for a 25 t, 3.5 m truck
    assert sorted(large.unreachable()) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    assert large.distance_m[0, 1] == UNREACHABLE
    assert (nodes[0], nodes[1]) in unreachable_pairs(large)


def test_road_closure_changes_travel_time(tiny):
    b, d = node(tiny, "B"), node(tiny, "D")
    before = travel_matrix(tiny, LARGE_TRUCK, [b], [d], cache_dir=False)
    closed = tiny.without_roads(["R2"])
    after = travel_matrix(closed, LARGE_TRUCK, [b], [d], cache_dir=False)
    assert before.time_s[0, 0] == pytest.approx(2224 / (40 / 3.6), abs=15)  # R2 at 40 km/h
    # detour B-C-E-D: 0.02° lon + 0.02° lat, county 60 km/h then village 40 km/h
    assert after.time_s[0, 0] > before.time_s[0, 0] + 60
    assert after.distance_m[0, 0] > 1.8 * before.distance_m[0, 0]


def test_one_way_roads_make_the_matrix_asymmetric(tiny):
    e, h, c = node(tiny, "E"), node(tiny, "H"), node(tiny, "C")
    m = travel_matrix(tiny, SMALL_TRUCK, [e, h, c], cache_dir=False)
    assert m.time_s[0, 1] < m.time_s[1, 0]  # E->H direct; H->E via C
    assert m.time_s[1, 2] < m.time_s[2, 1]  # H->C direct; C->H via E


def test_disk_cache_and_cch_order_cache(tiny, tmp_path):
    nodes = [node(tiny, k) for k in "ABCDE"]
    first = travel_matrix(tiny, SMALL_TRUCK, nodes, cache_dir=tmp_path)
    assert first.engine == "tree"
    assert len(list(tmp_path.glob("matrix-*.npz"))) == 1
    times = travel_matrix(tiny, SMALL_TRUCK, nodes, distances=False, cache_dir=tmp_path)
    assert times.engine == "cch"
    np.testing.assert_array_equal(first.time_s, times.time_s)
    assert len(list(tmp_path.glob("cch-order-*.npy"))) == 1
    second = travel_matrix(tiny, SMALL_TRUCK, nodes, cache_dir=tmp_path)
    assert second.engine == "cache"
    np.testing.assert_array_equal(first.time_s, second.time_s)
    np.testing.assert_array_equal(first.distance_m, second.distance_m)
    travel_matrix(tiny, LARGE_TRUCK, nodes, cache_dir=tmp_path)
    travel_matrix(tiny.without_roads(["R4"]), SMALL_TRUCK, nodes, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("matrix-*.npz"))) == 4
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="read-only"):
        second.time_s[0, 0] = 1


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SANITATION_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SANITATION_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "sanitation"


def test_unknown_node_is_named(tiny):
    with pytest.raises(GeoInputError, match="from node id\\(s\\) 999999: not in the network"):
        travel_matrix(tiny, SMALL_TRUCK, [999999], cache_dir=False)


def test_route_geometry_follows_the_roads(tiny):
    a, e = node(tiny, "A"), node(tiny, "E")
    nodes = route_nodes(tiny, LARGE_TRUCK, a, e)
    assert nodes[0] == a and nodes[-1] == e
    line = route_geometry(tiny, LARGE_TRUCK, a, e)
    coords = np.asarray(line.coords)
    assert tuple(coords[0]) == pytest.approx(P["A"]) and tuple(coords[-1]) == pytest.approx(P["E"])
    length = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1]).sum()
    m = travel_matrix(tiny, LARGE_TRUCK, [a], [e], cache_dir=False)
    assert length == pytest.approx(m.distance_m[0, 0], abs=2)
    with pytest.raises(GeoInputError, match="no road path usable by 'large_truck'"):
        route_geometry(tiny, LARGE_TRUCK, a, node(tiny, "F"))
    assert route_geometry(tiny, LARGE_TRUCK, a, a).length == 0


def test_a_route_is_the_matrixs_fastest_path_found_within_bounds(grid, monkeypatch):
    """`route_nodes` takes the fastest path, the shortest of equally fast ones: its time and
    length are the matrix's, for legs short (a bounded search) and across the grid (bounds
    doubled until reached)."""
    from geo._profile import profile_graph

    limits: list[float] = []
    dijkstra = geo_matrix.dijkstra

    def recording(*args, **kwargs):
        limits.append(kwargs.get("limit", np.inf))
        return dijkstra(*args, **kwargs)

    monkeypatch.setattr(geo_matrix, "dijkstra", recording)
    ids = grid.arrays.node_ids
    rng = np.random.default_rng(5)
    pairs = [(int(ids[i]), int(ids[j])) for i, j in rng.integers(0, len(ids), (25, 2))]
    pairs += [(int(ids[0]), int(ids[-1])), (int(ids[7]), int(ids[8]))]
    pg = profile_graph(grid, LARGE_TRUCK)
    sources, targets = [a for a, _ in pairs], [b for _, b in pairs]
    m = travel_matrix(grid, LARGE_TRUCK, sources, targets, cache_dir=False)
    for k, (a, b) in enumerate(pairs):
        if m.time_s[k, k] == UNREACHABLE:
            continue
        pos = np.searchsorted(ids, route_nodes(grid, LARGE_TRUCK, a, b))
        arcs = pg.edge_of(pos[:-1], pos[1:])
        assert round(pg.time_ms[arcs].sum() / 1000) == m.time_s[k, k]
        length_dm = np.rint(pg.length_m[arcs] * 10).sum()  # as the matrix sums lengths
        assert np.rint(length_dm / 10) == m.distance_m[k, k]
    assert any(np.isfinite(limit) for limit in limits)  # short legs: a bounded search


@pytest.mark.parametrize(
    "lex_bits",
    [2, 60],  # 2: the length field is too narrow; 60: the weights' sums would not be exact
    ids=["length-field-too-narrow", "sums-not-exact"],
)
def test_pointer_jumping_fallback_gives_the_same_distances(grid, monkeypatch, lex_bits):
    from geo import matrix
    from geo._profile import profile_graph

    fallbacks: list[int] = []
    tree_lengths = matrix._tree_lengths

    def counted(graph, chunk, targets):
        fallbacks.append(len(chunk))
        return tree_lengths(graph, chunk, targets)

    monkeypatch.setattr(matrix, "_tree_lengths", counted)
    pg = profile_graph(grid, SMALL_TRUCK)
    idx = np.arange(0, grid.number_of_nodes, 7)
    t_lex, l_lex = matrix._fastest_path_lengths(pg, idx, idx)
    assert fallbacks == []  # the lexicographic weights, exact here
    t_jump, l_jump = matrix._fastest_path_lengths(pg, idx, idx, lex_bits=lex_bits)
    assert sum(fallbacks) == len(idx)  # every source went through the pointer-jumping trees
    assert np.isfinite(l_jump).sum() > len(idx) and np.nanmax(l_jump[np.isfinite(l_jump)]) > 1e4
    np.testing.assert_array_equal(t_lex, t_jump)
    np.testing.assert_allclose(l_lex, l_jump, atol=1.0)  # edge lengths rounded to dm


def test_one_hierarchy_serves_every_profile(tiny):
    engine = CCHEngine(cache_dir=False)
    nodes = [node(tiny, k) for k in "ABCDEFGH"]
    small = travel_matrix(tiny, SMALL_TRUCK, nodes, distances=False, engine=engine, cache_dir=False)
    large = travel_matrix(tiny, LARGE_TRUCK, nodes, distances=False, engine=engine, cache_dir=False)
    assert len(engine._cchs) == 1 and len(engine._metrics) == 2
    for profile, m in ((SMALL_TRUCK, small), (LARGE_TRUCK, large)):
        ref = travel_matrix(tiny, profile, nodes, cache_dir=False)  # shortest-path trees
        np.testing.assert_array_equal(m.time_s, ref.time_s)
    assert small.unreachable() == []
    assert len(large.unreachable()) == 2 * 2 * 6 + 2  # F and G cut off (arcs at infinity)
