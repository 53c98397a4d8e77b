"""Road-dependent scenario checks: points off the roads, unreachable stations, closures."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanitation.errors import ScenarioError
from sanitation.scenario import load_scenario
from sanitation.scenario.network import (
    build_network,
    check_network,
    network_problems,
    snap_scenario,
)

DATA = Path(__file__).parent / "data" / "scenario"
TINY = DATA / "tiny" / "scenario.yaml"


def _check(path: Path) -> None:
    scenario = load_scenario(path)
    check_network(scenario, snap_scenario(scenario, build_network(scenario)))


def test_tiny_scenario_passes_the_road_checks():
    _check(TINY)


def test_point_far_from_any_usable_road_is_named():
    with pytest.raises(ScenarioError) as caught:
        _check(DATA / "bad" / "far_from_road.yaml")
    (problem,) = caught.value.problems
    assert "points_far_from_road.csv" in problem
    assert "'P1'" in problem
    assert "1.3 km" in problem
    assert "at most 300 m" in problem


def test_station_that_no_truck_can_reach_is_named():
    # S3 sits at the end of a 2 m track with a 3 t limit: neither class may use it
    with pytest.raises(ScenarioError) as caught:
        _check(DATA / "bad" / "unreachable_station.yaml")
    (problem,) = caught.value.problems
    assert "stations_unreachable.csv" in problem
    assert "'S3'" in problem
    assert "no truck of the fleet can reach it" in problem


def test_lane_point_reachable_by_small_trucks_only():
    scenario = load_scenario(TINY)
    places = snap_scenario(scenario, build_network(scenario))
    p2 = [p.point_id for p in scenario.points].index("P2")
    assert places.points["small"].distance_m[p2] < 20  # the lane end
    assert places.points["standard"].distance_m[p2] > 300  # lane is 3.0 m: not for 5 t trucks


def test_closed_road_changes_the_network(tmp_path):
    overlay = tmp_path / "closure.yaml"
    overlay.write_text(f"base: {TINY}\nroads:\n  closed_road_ids: [LANE1]\n", encoding="utf-8")
    scenario = load_scenario(overlay)
    network = build_network(scenario)
    assert "LANE1" not in {d["road_id"] for _, _, d in network.graph.edges(data=True)}
    with pytest.raises(ScenarioError) as caught:
        check_network(scenario, snap_scenario(scenario, network))
    assert "'P2'" in caught.value.problems[0]


def test_unknown_closed_road_id_is_rejected(tmp_path):
    overlay = tmp_path / "closure.yaml"
    overlay.write_text(f"base: {TINY}\nroads:\n  closed_road_ids: [NOPE7]\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        build_network(load_scenario(overlay))
    assert "NOPE7" in str(caught.value)
    assert "closed_road_ids" in str(caught.value)


def test_network_problems_name_the_table_and_record_apart_from_the_message():
    scenario = load_scenario(DATA / "bad" / "unreachable_station.yaml")
    places = snap_scenario(scenario, build_network(scenario))
    (problem,) = network_problems(scenario, places)
    assert (problem.table, problem.place_id) == ("stations", "S3")
    assert problem.source.endswith("stations_unreachable.csv")
    assert problem.message == f"{problem.source}: {problem.detail}"
    assert problem.detail.startswith("record 'S3', fields 'lon'/'lat'")
