"""Fleet moves: closed stations' trucks go where they are needed; a station with narrow-lane
points keeps its last small truck; an opened station without trucks gets some, and one of a
class its points allow; an access need no station can meet is reported."""

from __future__ import annotations

from pathlib import Path

from sanitation.plan.fleet import plan_fleet
from sanitation.scenario import load_scenario

WANGJIANG = Path(__file__).parents[1] / "scenarios" / "wangjiang" / "baseline.yaml"


def _scenario():
    return load_scenario(WANGJIANG)


def _points(scenario, stations, access_class):
    """One point of ``access_class`` for each of ``stations`` (what sets their access need)."""
    point = next(p.point_id for p in scenario.points if p.access_class == access_class)
    return {s: [point] for s in stations}


def test_no_moves_when_every_open_station_has_trucks():
    scenario = _scenario()
    existing = {s.station_id for s in scenario.stations if s.status == "existing"}
    points = _points(scenario, existing, "standard")
    plan = plan_fleet(scenario, existing, dict.fromkeys(existing, 20000), points)
    assert plan.moves == ()
    assert plan.shortfalls == ()
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
    plan = plan_fleet(scenario, open_stations, loads, _points(scenario, narrow, "small"))
    assert any(t.startswith(("small", "compactor")) for t in plan.of("ST-C01"))
    assert "hooklift_8t" in plan.of("ST-C01")
    for station in existing:  # every narrow station still has a small truck
        assert plan.of(station).get("small_3t", 0) >= 1, station


def test_trucks_of_a_closed_station_all_move():
    scenario = _scenario()
    existing = {s.station_id for s in scenario.stations if s.status == "existing"}
    open_stations = existing - {"ST-101"}
    points = _points(scenario, open_stations, "standard")
    plan = plan_fleet(scenario, open_stations, dict.fromkeys(open_stations, 20000), points)
    assert "ST-101" not in plan.counts
    assert any("from ST-101" in move for move in plan.moves)
    total = sum(sum(c.values()) for c in plan.counts.values())
    assert total == sum(f.count for f in scenario.fleet)


def test_opened_station_gets_a_small_truck_from_the_one_station_that_can_spare_one():
    # every station's points need its small truck; only ST-XC has two, and the most surplus
    # (the donor of the rule of thumb) lies elsewhere: the move must still bring a small truck
    scenario = _scenario()
    existing = {s.station_id for s in scenario.stations if s.status == "existing"}
    open_stations = existing | {"ST-C01"}
    loads = dict.fromkeys(open_stations, 5000)
    loads["ST-XC"] = 200_000
    plan = plan_fleet(scenario, open_stations, loads, _points(scenario, open_stations, "small"))
    assert plan.of("ST-C01").get("small_3t", 0) == 1
    assert "1 × small_3t from ST-XC to ST-C01" in plan.moves
    assert plan.shortfalls == ()
    for station in existing:
        assert plan.of(station).get("small_3t", 0) >= 1, station


def test_access_need_no_station_can_meet_is_reported_with_its_points_and_type():
    scenario = _scenario()
    fleet = tuple(
        f.__class__(f.depot_id, f.type_id, 1)
        if f.depot_id == "D-ST-XC" and f.type_id == "small_3t"
        else f
        for f in scenario.fleet
    )
    scenario = scenario.replace(fleet=fleet)
    existing = {s.station_id for s in scenario.stations if s.status == "existing"}
    open_stations = existing | {"ST-C01"}
    small = [p.point_id for p in scenario.points if p.access_class == "small"][:3]
    points = _points(scenario, existing, "small")
    points["ST-C01"] = [
        *small[:2],
        next(p.point_id for p in scenario.points if p.access_class == "standard"),
    ]
    plan = plan_fleet(scenario, open_stations, dict.fromkeys(open_stations, 5000), points)
    assert "small_3t" not in plan.of("ST-C01")
    (shortfall,) = plan.shortfalls
    assert shortfall.station_id == "ST-C01"
    assert shortfall.missing_types == ("small_3t",)
    assert shortfall.point_ids == tuple(sorted(small[:2]))
    assert shortfall.note.startswith("ST-C01 has no small_3t: 2 point(s)")


def test_small_truck_of_a_closed_station_goes_to_the_station_that_needs_one():
    scenario = _scenario()
    existing = {s.station_id for s in scenario.stations if s.status == "existing"}
    open_stations = (existing - {"ST-101"}) | {"ST-C01"}
    points = _points(scenario, open_stations, "standard")
    points.update(_points(scenario, ["ST-C01"], "small"))
    plan = plan_fleet(scenario, open_stations, dict.fromkeys(open_stations, 5000), points)
    assert "1 × small_3t from ST-101 to ST-C01" in plan.moves
    assert plan.shortfalls == ()
