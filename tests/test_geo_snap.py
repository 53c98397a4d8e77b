"""Snapping points to nodes a vehicle class may use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geo import LARGE_TRUCK, SMALL_TRUCK, GeoInputError, from_road_lines, snap_points
from geo.crs import haversine_m

DATA = Path(__file__).parent / "data" / "geo"
F = (116.62, 30.13)  # end of the 3 m lane R5
D = (116.62, 30.12)


@pytest.fixture(scope="module")
def tiny():
    return from_road_lines(DATA / "tiny_roads.geojson")


def _node_at(network, lon, lat):
    a = network.arrays
    return int(a.node_ids[np.argmin(np.hypot(a.lon - lon, a.lat - lat))])


def test_points_snap_to_the_nearest_node_with_distance(tiny):
    res = snap_points(tiny, [116.6201, 116.6401], [30.1001, 30.1199], profile=SMALL_TRUCK)
    assert res.node_ids.tolist() == [_node_at(tiny, 116.62, 30.10), _node_at(tiny, 116.64, 30.12)]
    expected = haversine_m(
        [116.6201, 116.6401], [30.1001, 30.1199], [116.62, 116.64], [30.10, 30.12]
    )
    np.testing.assert_allclose(res.distance_m, expected, rtol=5e-3)


def test_lane_end_is_a_node_for_small_trucks_only(tiny):
    small = snap_points(tiny, [F[0]], [F[1]], profile=SMALL_TRUCK)
    large = snap_points(tiny, [F[0]], [F[1]], profile=LARGE_TRUCK)
    assert small.node_ids[0] == _node_at(tiny, *F) and small.distance_m[0] < 1
    assert large.node_ids[0] == _node_at(tiny, *D)
    assert large.distance_m[0] == pytest.approx(1112, rel=0.01)


def test_points_too_far_are_named_with_their_distance(tiny):
    with pytest.raises(GeoInputError) as caught:
        snap_points(
            tiny,
            [F[0], 116.62],
            [F[1], 30.10],
            profile=LARGE_TRUCK,
            max_distance_m=300,
            point_ids=["P-lane", "P-ok"],
            source="points.csv",
        )
    (problem,) = caught.value.problems
    assert "points.csv: point 'P-lane' at (116.620000, 30.130000)" in problem
    assert "1112 m from the nearest road usable by 'large_truck'" in problem
    assert "expected at most 300 m" in problem


def test_bad_coordinates_are_rejected(tiny):
    with pytest.raises(GeoInputError, match=r"point 'X': .* expected WGS-84"):
        snap_points(tiny, [30.1], [116.6], profile=SMALL_TRUCK, point_ids=["X"])
    with pytest.raises(GeoInputError, match="same length"):
        snap_points(tiny, [116.6, 116.7], [30.1, 30.1], profile=SMALL_TRUCK, point_ids=["X"])


def test_main_component_excludes_dead_ends_of_one_way_roads():
    import geopandas as gpd
    from shapely.geometry import LineString

    roads = gpd.GeoDataFrame(
        {
            "road_id": ["loop1", "loop2", "out"],
            "road_class": ["village"] * 3,
            "oneway": [False, False, True],
        },
        geometry=[
            LineString([(116.60, 30.10), (116.61, 30.10)]),
            LineString([(116.61, 30.10), (116.61, 30.11)]),
            LineString([(116.61, 30.11), (116.62, 30.12)]),
        ],  # one-way dead end
        crs="EPSG:4326",
    )
    net = from_road_lines(roads)
    end = snap_points(net, [116.62], [30.12], profile=SMALL_TRUCK)
    assert end.node_ids[0] == _node_at(net, 116.61, 30.11)
    anywhere = snap_points(net, [116.62], [30.12], profile=SMALL_TRUCK, main_component=False)
    assert anywhere.node_ids[0] == _node_at(net, 116.62, 30.12)
