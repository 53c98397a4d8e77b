"""The county boundary a scenario names: an empty file, one without features or one nowhere near
the points is exit 2 naming the file; a point farther outside than the margin is exit 2 naming
the point and its distance, one within the margin passes (through ``validate`` and ``plan``)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from cli_helpers import run_cli

from sanitation.scenario.boundary import OUTSIDE_BOUNDARY_MARGIN_M

TINY = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"


def _box(lon_min: float, lat_min: float, lon_max: float, lat_max: float) -> str:
    ring = [
        [lon_min, lat_min],
        [lon_max, lat_min],
        [lon_max, lat_max],
        [lon_min, lat_max],
        [lon_min, lat_min],
    ]
    feature = {
        "type": "Feature",
        "properties": {"name": "county"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]})


def _scenario(tmp_path: Path, boundary_text: str) -> tuple[Path, Path]:
    boundary = tmp_path / "county.geojson"
    boundary.write_text(boundary_text, encoding="utf-8")
    overlay = tmp_path / "scenario.yaml"
    overlay.write_text(f"base: {TINY}\nboundary: county.geojson\n", encoding="utf-8")
    return overlay, boundary


# The tiny scenario's points lie at 116.695..116.745 E, 30.125..30.140 N; P4 is the eastmost.
CASES = {
    "empty file": ("", "file is empty"),
    "no features": ('{"type": "FeatureCollection", "features": []}', "no features"),
    "a line, not a polygon": (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "LineString", "coordinates": [[116.6, 30.1], [116.8, 30.2]]}}]}',
        "LineString",
    ),
    "another county": (_box(118.0, 31.0, 118.2, 31.2), "nowhere near the collection points"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_boundary_file_is_exit_2_naming_it(tmp_path, monkeypatch, case):
    text, expected = CASES[case]
    scenario, boundary = _scenario(tmp_path, text)
    result = run_cli(["validate", str(scenario)], monkeypatch)
    assert result.code == 2, result.message
    assert not result.traceback
    assert str(boundary) in result.stderr
    assert expected in result.stderr


def test_bad_boundary_stops_plan_too(tmp_path, monkeypatch):
    scenario, boundary = _scenario(tmp_path, _box(118.0, 31.0, 118.2, 31.2))
    result = run_cli(["plan", str(scenario), "--out", str(tmp_path / "out")], monkeypatch)
    assert result.code == 2, result.message
    assert str(boundary) in result.stderr
    assert not (tmp_path / "out").exists()


P4_LON, P4_LAT = 116.745, 30.1351  # the eastmost point
M_PER_DEGREE_LON = 111_320 * math.cos(math.radians(P4_LAT))


def _east_edge(outside_m: float) -> float:
    """The longitude of a boundary edge ``outside_m`` metres west of P4."""
    return P4_LON - outside_m / M_PER_DEGREE_LON


def test_point_beyond_the_margin_is_named_with_its_distance(tmp_path, monkeypatch):
    outside_m = OUTSIDE_BOUNDARY_MARGIN_M + 900
    scenario, _ = _scenario(tmp_path, _box(116.69, 30.12, _east_edge(outside_m), 30.145))
    result = run_cli(["validate", str(scenario)], monkeypatch)
    assert result.code == 2, result.message
    found = re.search(r"'P4', fields 'lon'/'lat': .* is ([0-9.]+) km outside", result.stderr)
    assert found, result.stderr
    assert float(found.group(1)) == pytest.approx(outside_m / 1000, abs=0.11)
    for inside in ("'P1'", "'P2'", "'P3'"):
        assert inside not in result.stderr


def test_point_within_the_margin_passes(tmp_path, monkeypatch):
    edge = _east_edge(OUTSIDE_BOUNDARY_MARGIN_M - 600)
    scenario, _ = _scenario(tmp_path, _box(116.69, 30.12, edge, 30.145))
    result = run_cli(["validate", str(scenario)], monkeypatch)
    assert result.code == 0, result.message
