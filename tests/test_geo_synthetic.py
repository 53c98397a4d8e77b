"""Synthetic road generators: deterministic, connected, realistic mix, through the same reader."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import LARGE_TRUCK, SMALL_TRUCK, GeoInputError, from_road_lines
from geo.synthetic import grid_roads, scatter_points, synthetic_roads

DATA = Path(__file__).parent / "data" / "geo"
ANQING = (117.04723, 30.51365)


@pytest.fixture(scope="module")
def county():
    boundary = gpd.read_file(DATA / "county_boundary_wgs84.geojson").geometry.iloc[0]
    towns = pd.read_csv(DATA / "township_points_2023.csv")
    hubs = towns[["lon_wgs84", "lat_wgs84"]].to_numpy()
    villages = scatter_points(boundary, hubs, towns["village_units_2023"], seed=1)
    points = scatter_points(
        boundary, villages[::4], np.full(len(villages[::4]), 2), seed=2, spread_m=600
    )
    return boundary, hubs, villages, points


def _roads(county, seed=7):
    boundary, hubs, villages, points = county
    return synthetic_roads(boundary, hubs, villages, points=points, seed=seed, external=ANQING)


def test_scatter_points_stay_inside_and_are_seeded(county):
    boundary, hubs, villages, _ = county
    assert len(villages) == 136
    assert shapely.contains_xy(boundary, villages[:, 0], villages[:, 1]).all()
    again = scatter_points(boundary, hubs, [10] * len(hubs), seed=1)
    np.testing.assert_array_equal(again, scatter_points(boundary, hubs, [10] * len(hubs), seed=1))


def test_synthetic_roads_are_deterministic(county):
    a, b, c = _roads(county), _roads(county), _roads(county, seed=8)
    assert a.equals(b)
    assert not a.equals(c)


def test_synthetic_county_network_is_plausible_and_connected(county):
    roads = _roads(county)
    assert roads["synthetic"].all()
    counts = roads["road_class"].value_counts()
    assert counts["county"] >= len(county[1]) - 1  # at least a spanning tree of the hubs
    assert counts["village"] >= 136
    assert counts["lane"] > 0 and counts["provincial"] == 1
    assert roads.loc[roads["road_class"] == "lane", "max_weight_t"].notna().any()
    net = from_road_lines(roads)
    assert nx.is_strongly_connected(net.subgraph(SMALL_TRUCK).graph)
    assert nx.is_strongly_connected(net.subgraph(LARGE_TRUCK).graph)
    # the external link reaches the Anqing point
    a = net.arrays
    assert np.min(np.hypot(a.lon - ANQING[0], a.lat - ANQING[1])) < 1e-6
    # every village sits on a road usable by a large truck
    large = net.subgraph(LARGE_TRUCK).arrays
    villages = county[2]
    d = np.min(
        np.hypot(large.lon[None, :] - villages[:, :1], large.lat[None, :] - villages[:, 1:]), axis=1
    )
    assert d.max() < 1e-6


def test_grid_roads_size_and_connectivity():
    roads = grid_roads(rows=20, cols=30, seed=4)
    assert len(roads) == 20 * 29 + 19 * 30
    net = from_road_lines(roads)
    assert net.number_of_edges == 2 * len(roads) - roads["oneway"].sum()
    assert nx.is_strongly_connected(net.graph)
    assert set(roads["road_class"]) == {"county", "village", "lane"}
    assert grid_roads(rows=20, cols=30, seed=4).equals(roads)


def test_generator_input_errors():
    with pytest.raises(GeoInputError, match="hubs: expected at least one hub"):
        synthetic_roads(shapely.box(0, 0, 1, 1), [], [], seed=1)
    with pytest.raises(GeoInputError, match="swapped"):
        synthetic_roads(shapely.box(0, 0, 1, 1), [[30.1, 116.6]], [], seed=1)
    with pytest.raises(GeoInputError, match="at least 2 x 2"):
        grid_roads(rows=1, cols=5, seed=1)
