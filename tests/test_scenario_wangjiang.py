"""The bundled Wangjiang scenario: real facts kept, synthetic parts labelled, rebuild identical."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from sanitation.scenario import load_scenario
from sanitation.scenario.wangjiang import SCENARIO_DIR, build

BASELINE = SCENARIO_DIR / "baseline.yaml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(BASELINE)


def test_real_administrative_units_and_census_population(scenario):
    assert len(scenario.townships) == 14
    assert len(scenario.villages) == 136
    assert sum(v.population for v in scenario.villages) == 462_367
    assert all(len(v.code) == 12 and v.code.startswith("340827") for v in scenario.villages)
    assert not any(t.synthetic for t in scenario.townships)


def test_synthetic_parts_are_labelled(scenario):
    assert sum(not v.synthetic for v in scenario.villages) == 11  # the public points
    assert all(p.synthetic for p in scenario.points)
    assert all(s.synthetic for s in scenario.stations)
    assert all(d.synthetic for d in scenario.disposal_sites)
    wte = next(d for d in scenario.disposal_sites if d.kind == "wte")
    assert "assumed" in wte.location_note


def test_stations_and_capacity_cover_the_waste(scenario):
    existing = [s for s in scenario.stations if s.status == "existing"]
    assert len(existing) == 11  # one per township, the county town's 4 units share one
    assert sum(s.capacity_t_per_day for s in existing) > scenario.total_waste_t_per_day
    assert any(s.status == "candidate" for s in scenario.stations)
    assert any(p.access_class == "small" for p in scenario.points)


def test_rebuild_is_identical(tmp_path: Path):
    build(out_dir=tmp_path)
    committed = SCENARIO_DIR / "data"
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(committed, tmp_path, names, shallow=False)
    assert mismatch == [] and errors == []
