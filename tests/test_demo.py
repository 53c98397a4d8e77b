"""``sanitation demo`` on the bundled Wangjiang scenario writes a GeoPackage, a map and facts."""

from __future__ import annotations

import json

import pyogrio
from rich.console import Console

from sanitation.cli import DEMO_SCENARIO
from sanitation.demo import run_demo


def test_demo_writes_layers_map_and_facts(tmp_path):
    out = tmp_path / "demo"
    facts = run_demo(DEMO_SCENARIO, out, console=Console(quiet=True))
    layers = {name for name, _ in pyogrio.list_layers(out / "scenario.gpkg")}
    assert {"points", "stations", "roads", "villages", "disposal_sites"} <= layers
    points = pyogrio.read_dataframe(out / "scenario.gpkg", layer="points")
    assert len(points) == facts["points"]
    assert points["synthetic"].all()
    assert (points["nearest_station_min"] > 0).all()
    assert (out / "map.png").stat().st_size > 50_000
    assert json.loads((out / "demo.json").read_text(encoding="utf-8"))["points"] == len(points)
    assert not list(tmp_path.glob(".demo-*"))  # the staging folder is gone
