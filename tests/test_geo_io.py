"""Atomic GeoPackage writer."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from geo import GeoInputError, from_road_lines, network_layers, write_geopackage

DATA = Path(__file__).parent / "data" / "geo"


def test_layers_are_written_and_replace_the_old_file(tmp_path):
    net = from_road_lines(DATA / "tiny_roads.geojson")
    points = gpd.GeoDataFrame(
        {"point_id": ["P1", "P2"], "名称": ["东村", "西村"]},
        geometry=[Point(116.6, 30.1), Point(116.7, 30.2)],
        crs="EPSG:4326",
    )
    target = tmp_path / "out" / "plan.gpkg"
    write_geopackage(target, {"points": points, **network_layers(net)})
    assert sorted(pyogrio.list_layers(target)[:, 0]) == ["points", "road_edges", "road_nodes"]
    back = gpd.read_file(target, layer="points")
    assert back["名称"].tolist() == ["东村", "西村"]
    assert len(gpd.read_file(target, layer="road_edges")) == 16
    write_geopackage(target, {"points": points.iloc[:1]})
    assert pyogrio.list_layers(target)[:, 0].tolist() == ["points"]
    assert [p.name for p in target.parent.iterdir()] == ["plan.gpkg"]  # no temporary left


def test_bad_layers_are_rejected(tmp_path):
    no_crs = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)])
    with pytest.raises(GeoInputError) as caught:
        write_geopackage(tmp_path / "x.gpkg", {"pts": no_crs, "PTS": no_crs})
    assert "layer 'pts': has no CRS" in str(caught.value)
    assert "layer 'PTS': duplicate name" in str(caught.value)
    with pytest.raises(GeoInputError, match="no layers"):
        write_geopackage(tmp_path / "x.gpkg", {})
    assert not (tmp_path / "x.gpkg").exists()
