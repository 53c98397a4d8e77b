"""RoadNetwork, access profiles, closures and the content hash."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from shapely.geometry import box

from geo import LARGE_TRUCK, SMALL_TRUCK, AccessProfile, GeoInputError, RoadNetwork, from_road_lines

DATA = Path(__file__).parent / "data" / "geo"


@pytest.fixture(scope="module")
def tiny() -> RoadNetwork:
    return from_road_lines(DATA / "tiny_roads.geojson")


def _roads(network) -> set[str]:
    return {d["road_id"] for _, _, d in network.graph.edges(data=True)}


def test_access_profile_rules():
    assert SMALL_TRUCK.allows(3.0, None)
    assert not LARGE_TRUCK.allows(3.0, None)  # narrow lane < 3.5 m
    assert LARGE_TRUCK.allows(4.5, None)
    assert not LARGE_TRUCK.allows(7.0, 10.0)  # 25 t truck, 10 t bridge
    assert SMALL_TRUCK.allows(4.5, 10.0)
    with pytest.raises(GeoInputError, match="min_road_width_m = -1"):
        AccessProfile("x", -1, 5)
    with pytest.raises(GeoInputError, match="name = ''"):
        AccessProfile("", 3, 5)


def test_usable_edges_per_profile(tiny):
    assert _roads(tiny.subgraph(SMALL_TRUCK)) == _roads(tiny)
    large = tiny.subgraph(LARGE_TRUCK)
    assert _roads(large) == _roads(tiny) - {"R5", "R6"}  # the lane and the 10 t road
    assert len(tiny.usable_edges(LARGE_TRUCK)) == large.number_of_edges == 12


def test_without_roads_is_a_new_network(tiny):
    closed = tiny.without_roads(["R2"])
    assert "R2" not in _roads(closed)
    assert "R2" in _roads(tiny)
    assert closed.content_hash() != tiny.content_hash()
    with pytest.raises(GeoInputError, match="road_id 'NOPE': not in the network"):
        tiny.without_roads(["NOPE"])


def test_without_roads_in_polygon_drops_the_segments_crossing_it(tiny):
    flood = box(116.615, 30.105, 116.625, 30.115)  # straddles R2 (B-D) only
    closed = tiny.without_roads_in(flood)
    assert _roads(tiny) - _roads(closed) == {"R2"}


def test_content_hash_is_stable_and_sensitive(tiny):
    again = from_road_lines(DATA / "tiny_roads.geojson")
    assert again.content_hash() == tiny.content_hash()
    assert len(tiny.content_hash()) == 64
    g = nx.MultiDiGraph(tiny.graph)
    u, v, k = next(iter(g.edges(keys=True)))
    g.edges[u, v, k]["travel_time"] += 5
    assert RoadNetwork(g).content_hash() != tiny.content_hash()


def test_graph_is_frozen_and_validated(tiny):
    with pytest.raises(nx.NetworkXError):
        tiny.graph.add_edge(0, 1)
    g = nx.MultiDiGraph()
    g.add_node(1, x=116.6, y=30.1)
    g.add_node(2, x=116.7, y=130.1)
    g.add_edge(1, 2, length=10.0)
    with pytest.raises(GeoInputError) as caught:
        RoadNetwork(g, name="hand-made")
    assert "hand-made" in str(caught.value)
    assert any("expected WGS-84 lon/lat" in p for p in caught.value.problems)
    assert any("missing attributes" in p for p in caught.value.problems)


def test_geodataframes_export(tiny):
    nodes, edges = tiny.to_geodataframes()
    assert len(nodes) == 8 and len(edges) == 16
    assert edges.crs.to_epsg() == 4326
    assert {"road_id", "length", "travel_time", "width_m", "max_weight_t"} <= set(edges.columns)
