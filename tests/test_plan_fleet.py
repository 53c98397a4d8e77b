"""Fleet moves: closed stations' trucks go where they are needed; a station with narrow-lane
points keeps its last small truck; an opened station without trucks gets some."""

from __future__ import annotations

from pathlib import Path

from sanitation.plan.fleet import plan_fleet
from sanitation.scenario import load_scenario

WANGJIANG = Path(__file__).parents[1] / "scenarios" / "wangjiang" / "baseline.yaml"


def _scenario():
    return load_scenario(WANGJIANG)


def test_no_moves_when_every_open_station_has_trucks():
    scenario = _scenario()
    existing = {s.station_id for s in scenario.stations if s.status == "existing"}
    plan = plan_fleet(scenario, existing, dict.fromkeys(existing, 20000), set())
    assert plan.moves == ()
    assert sum(sum(c.values()) for c in plan.counts.values()) == sum(
        f.count for f in scenario.fleet
    )


def test_opened_station_gets_trucks_without_stripping_a_narrow_station_of_its_small_truck():
    scenario = _scenario()
    existing = {s.station_id for s in scenario.stations if s.status == "existing"}
    open_stations = existing | {"ST-C01"}
    narrow = set(existing) | {"ST-C01"}
    loads = dict.fromkeys(open_stations, 5000)
    loads["ST-XC"] = 200_000  # the county town needs all its trucks: donors are townships
    plan = plan_fleet(scenario, open_stations, loads, narrow)
    assert any(t.startswith(("small", "compactor")) for t in plan.of("ST-C01"))
    assert "hooklift_8t" in plan.of("ST-C01")
    for station in existing:  # every narrow station still has a small truck
        assert plan.of(station).get("small_3t", 0) >= 1, station


def test_trucks_of_a_closed_station_all_move():
    scenario = _scenario()
    existing = {s.station_id for s in scenario.stations if s.status == "existing"}
    open_stations = existing - {"ST-101"}
    plan = plan_fleet(scenario, open_stations, dict.fromkeys(open_stations, 20000), set())
    assert "ST-101" not in plan.counts
    assert any("from ST-101" in move for move in plan.moves)
    total = sum(sum(c.values()) for c in plan.counts.values())
    assert total == sum(f.count for f in scenario.fleet)
