"""Road-lines and OSM readers: good files build the network, each bad file names its problem."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyrosm
import pytest
from shapely.geometry import LineString, box

from geo import GeoInputError, from_osm_pbf, from_road_lines
from geo.network import ROAD_CLASSES

DATA = Path(__file__).parent / "data" / "geo"
TINY = DATA / "tiny_roads.geojson"


def _edges(network, road_id):
    return [(u, v, d) for u, v, d in network.graph.edges(data=True) if d["road_id"] == road_id]


def test_tiny_roads_build_with_class_defaults_and_one_ways():
    net = from_road_lines(TINY)
    assert (net.number_of_nodes, net.number_of_edges) == (8, 16)
    (_, _, lane), _ = _edges(net, "R5")
    assert lane["width_m"] == ROAD_CLASSES["lane"].width_m
    assert lane["speed_kph"] == ROAD_CLASSES["lane"].speed_kph
    assert lane["travel_time"] == pytest.approx(lane["length"] / (25 / 3.6))
    assert lane["length"] == pytest.approx(1112, rel=0.01)  # 0.01° of latitude
    assert lane["name"] == "小巷"
    assert all(d["max_weight_t"] == 10.0 for _, _, d in _edges(net, "R6"))
    assert all(d["max_weight_t"] is None for _, _, d in _edges(net, "R1"))
    assert len(_edges(net, "R7")) == 1  # one-way: only the digitised direction
    assert len(_edges(net, "R1")) == 4  # two segments, both directions


@pytest.mark.parametrize("name", ["tiny_roads.gpkg", "tiny_roads.shp"])
def test_geopackage_and_shapefile_give_the_same_network(name):
    assert from_road_lines(DATA / name).content_hash() == from_road_lines(TINY).content_hash()


def test_geodataframe_input_and_declared_projected_crs():
    gdf = gpd.read_file(TINY).to_crs(32650)
    net = from_road_lines(gdf, crs="EPSG:32650")
    assert net.content_hash() == from_road_lines(TINY).content_hash()


def test_vertices_within_tolerance_are_merged():
    gdf = gpd.GeoDataFrame(
        {"road_id": ["a", "b"], "road_class": ["village", "village"]},
        geometry=[
            LineString([(116.60, 30.10), (116.61, 30.10)]),
            LineString([(116.610005, 30.10), (116.62, 30.10)]),  # 0.5 m from a's end
        ],
        crs="EPSG:4326",
    )
    assert from_road_lines(gdf).number_of_nodes == 3
    assert from_road_lines(gdf, merge_tolerance_m=0.1).number_of_nodes == 4


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing.geojson", ["missing.geojson: file not found"]),
        ("bad_empty.geojson", ["bad_empty.geojson: file is empty"]),
        ("bad_not_geojson.geojson", ["bad_not_geojson.geojson: cannot be read"]),
        ("bad_no_features.geojson", ["no road features: expected at least one LineString"]),
        ("bad_missing_columns.geojson", ["missing required column 'road_class'"]),
        (
            "bad_unknown_columns.geojson",
            ["unknown column(s) 'speed', 'widht': expected only road_id, road_class"],
        ),
        (
            "bad_values.geojson",
            [
                "road 'V1' (row 1): field 'speed_kph' = NaN: expected a number in (0, 150] km/h",
                "road 'V2' (row 2): field 'width_m' = -3.0: expected a number in (0, 50] m",
                "road 'V3' (row 3): field 'road_class' = 'highway': expected one of motorway",
                "road 'V3' (row 3): field 'oneway' = 'maybe': expected true/false",
                "road 'V4' (row 4): field 'max_weight_t' = -5.0: expected a weight limit > 0 t",
            ],
        ),
        (
            "bad_geometry.geojson",
            [
                "road 'P1' (row 1): field 'geometry' = 'Point': expected a LineString",
                "road 'P2' (row 2): field 'geometry' = 'Polygon': expected a LineString",
            ],
        ),
        (
            "bad_swapped_lonlat.geojson",
            ["road 'S1' (row 1): field 'geometry' = (30.1, 116.6)", "lon/lat swapped"],
        ),
        ("bad_wrong_crs.gpkg", ["CRS is EPSG:32650: expected the declared EPSG:4326"]),
    ],
)
def test_each_bad_file_gets_a_message_naming_file_record_field_value(name, expected):
    with pytest.raises(GeoInputError) as caught:
        from_road_lines(DATA / name)
    message = str(caught.value)
    assert name in message
    for piece in expected:
        assert piece in message
    if len(expected) > 1 and "swapped" not in expected[-1]:
        assert len(caught.value.problems) == len(expected)  # all collected, raised once


def test_several_problems_are_collected_into_one_error():
    gdf = gpd.GeoDataFrame(
        {"road_id": ["x", "y"], "road_class": ["village", "nope"], "speed_kph": [-1.0, 30.0]},
        geometry=[LineString([(116.6, 30.1), (116.7, 30.1)])] * 2,
        crs="EPSG:4326",
    )
    with pytest.raises(GeoInputError) as caught:
        from_road_lines(gdf, name="roads.gpkg")
    assert len(caught.value.problems) == 2
    assert "roads.gpkg: road 'x' (row 1): field 'speed_kph' = -1.0" in caught.value.problems[0]
    assert "road 'y' (row 2): field 'road_class' = 'nope'" in caught.value.problems[1]


HELSINKI = Path(pyrosm.get_data("helsinki_pbf"))


def test_osm_import_of_the_helsinki_extract():
    net = from_osm_pbf(HELSINKI)
    assert net.number_of_nodes > 1000
    assert net.number_of_edges > 2000
    _, edges = net.to_geodataframes()
    assert {"provincial", "county", "village"} <= set(edges["road_class"])
    assert edges["oneway"].any()
    assert (edges["speed_kph"] > 0).all() and (edges["length"] > 0).all()
    assert edges["road_id"].str.startswith("osm:").all()
    # maxspeed tags win over class defaults (Helsinki streets are often 30 or 40 km/h)
    assert set(np.round(edges["speed_kph"]).astype(int)) & {30, 40}
    # the one-way street Erottajankatu (way 4236349) is only drivable one way
    ways = edges[edges["road_id"] == "osm:4236349"]
    assert len(ways) >= 1 and ways["oneway"].all()


def test_osm_import_is_clipped_to_the_boundary():
    area = box(24.940, 60.165, 24.950, 60.172)
    net = from_osm_pbf(HELSINKI, boundary=area)
    full = from_osm_pbf(HELSINKI)
    assert 100 < net.number_of_edges < full.number_of_edges
    a = net.arrays
    assert ((a.lon >= 24.940) & (a.lon <= 24.950) & (a.lat >= 60.165) & (a.lat <= 60.172)).all()


def test_osm_missing_file_and_empty_boundary():
    with pytest.raises(GeoInputError, match=r"nope\.osm\.pbf: file not found"):
        from_osm_pbf(DATA / "nope.osm.pbf")
    with pytest.raises(GeoInputError, match="no drivable roads"):
        from_osm_pbf(HELSINKI, boundary=box(24.0, 60.0, 24.0001, 60.0001))


def test_travel_time_is_length_over_speed_everywhere():
    net = from_road_lines(TINY)
    for _, _, d in net.graph.edges(data=True):
        assert math.isclose(d["travel_time"], d["length"] * 3.6 / d["speed_kph"])
