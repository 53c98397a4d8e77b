"""``sanitation generate``: valid synthetic counties of the requested size."""

from __future__ import annotations

import pytest

from sanitation.errors import ScenarioError
from sanitation.scenario import load_scenario
from sanitation.scenario.generate import generate_county


def test_generated_county_is_valid_and_sized(tmp_path):
    path = generate_county(tmp_path / "c", n_points=120, n_stations=3, seed=5)
    scenario = load_scenario(path)
    assert len(scenario.points) == 120
    assert sum(s.status == "existing" for s in scenario.stations) == 3
    assert all(p.synthetic for p in scenario.points)
    assert scenario.roads.path is not None and scenario.roads.path.is_file()


def test_generation_is_seeded(tmp_path):
    a = generate_county(tmp_path / "a", n_points=60, n_stations=2, seed=9)
    b = generate_county(tmp_path / "b", n_points=60, n_stations=2, seed=9)
    c = generate_county(tmp_path / "c", n_points=60, n_stations=2, seed=10)
    read = lambda p: (p.parent / "data" / "points.csv").read_text(encoding="utf-8")  # noqa: E731
    assert read(a) == read(b)
    assert read(a) != read(c)


@pytest.mark.parametrize(("points", "stations"), [(0, 1), (20001, 5), (10, 9)])
def test_bad_sizes_are_rejected(tmp_path, points, stations):
    with pytest.raises(ScenarioError):
        generate_county(tmp_path, n_points=points, n_stations=stations, seed=1)
