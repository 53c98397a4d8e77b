"""A what-if's week scheduled against its base's: points keep their base days where still
allowed, wherever their station now is; only new points and points whose base days no longer fit
are placed, balanced around the kept ones."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from whatif_helpers import plan_against_base

from sanitation.plan.assign import schedule_start, week_schedule
from sanitation.plan.context import PlanningContext
from sanitation.scenario import load_scenario
from sanitation.scenario.generate import generate_county
from sanitation.schedule import PATTERNS, SchedulePoint, WeekSchedule, schedule_week, visit_loads

MONDAY = dt.date(2026, 11, 23)
DT_S = 0.02  # deterministic time per point: enough for these small stations
TIME_LIMIT_S = 2.0


def _point(pid, frequency, station, kg_per_day=100, bin_kg=10_000):
    return SchedulePoint(pid, station, frequency, bin_kg, (kg_per_day,) * 7)


def _pattern(schedule: WeekSchedule, point_id: str) -> tuple[int, ...]:
    return tuple(sorted(schedule.visits[point_id]))


def _base_county() -> list[SchedulePoint]:
    kinds = ["weekly", "twice_weekly", "every_2_days", "daily"]
    s1 = [_point(f"A{i}", kinds[i % 3], "S1", 40 + 13 * i) for i in range(12)]
    s2 = [_point(f"B{i}", kinds[i % 4], "S2", 35 + 11 * i) for i in range(12)]
    return s1 + s2


def test_a_station_gaining_points_keeps_every_base_pattern_and_places_only_the_new_ones():
    base_points = _base_county()
    base = schedule_week(base_points, MONDAY, seed=1, deterministic_time_s_per_point=DT_S)
    # the what-if: S1 takes five of S2's points (a new neighbour's boundary) and three new ones
    moved = [
        SchedulePoint(p.point_id, "S1", p.frequency, p.bin_capacity_kg, p.generation_kg)
        if p.point_id in {"B0", "B1", "B2", "B5", "B6"}
        else p
        for p in base_points
    ]
    new = [
        _point(f"N{i}", f, "S1", 60 + 20 * i)
        for i, f in enumerate(["weekly", "twice_weekly", "every_2_days"])
    ]
    whatif = moved + new
    kept = schedule_week(
        whatif, MONDAY, seed=1, deterministic_time_s_per_point=DT_S, reference=base
    )
    for point in base_points:
        assert kept.visits[point.point_id] == base.visits[point.point_id], point.point_id
    for point in new:
        assert _pattern(kept, point.point_id) in PATTERNS[kept.frequency_used[point.point_id]]
    assert kept.reference is not None
    assert (kept.reference.kept, kept.reference.new, kept.reference.replaced) == (24, 3, 0)
    assert "24 points kept their base days, 3 placed" in kept.reference.note
    assert kept.station_day_kg["S1"] == tuple(
        sum(kept.visits[p.point_id].get(d, 0) for p in whatif if p.station_id == "S1")
        for d in range(7)
    )
    # the rule binds: re-balanced without the base's week, some base points change days
    fresh = schedule_week(whatif, MONDAY, seed=1, deterministic_time_s_per_point=DT_S)
    assert fresh.reference is None
    assert any(fresh.visits[p.point_id] != base.visits[p.point_id] for p in base_points)


def test_new_points_are_balanced_around_the_kept_points_loads():
    week = [_point(f"P{i}", "weekly", "S1") for i in range(7)]
    base = schedule_week(week, MONDAY, deterministic_time_s_per_point=DT_S)
    assert base.station_day_stops["S1"] == (1,) * 7
    (freed_day,) = _pattern(base, "P3")
    # P3 leaves (its village moved to another station); a new point of the same size comes in
    whatif = [p for p in week if p.point_id != "P3"] + [_point("N", "weekly", "S1")]
    schedule = schedule_week(whatif, MONDAY, deterministic_time_s_per_point=DT_S, reference=base)
    assert _pattern(schedule, "N") == (freed_day,)  # the only day the kept points leave empty
    assert schedule.station_day_kg["S1"] == (700,) * 7


def test_a_point_whose_base_frequency_no_longer_fits_its_bin_is_placed_again():
    # 100 kg/day in a 1000 kg bin: weekly (700 kg); a festival 150 kg/day overflows it (1050 kg)
    base = schedule_week([_point("P1", "weekly", "S1", 100, 1000)], MONDAY)
    festival = [_point("P1", "weekly", "S1", 150, 1000)]
    schedule = schedule_week(festival, MONDAY, reference=base)
    assert schedule.frequency_used["P1"] == "twice_weekly"
    assert _pattern(schedule, "P1") in PATTERNS["twice_weekly"]
    assert max(schedule.visits["P1"].values()) <= 1000
    assert schedule.reference is not None
    assert (schedule.reference.kept, schedule.reference.replaced) == (0, 1)


def test_a_point_whose_base_days_overflow_under_the_same_frequency_moves_to_days_that_fit():
    # twice weekly, 100 kg/day, 430 kg bin: the 4-day gap collects 400 kg on every rotation
    base = schedule_week([_point("P1", "twice_weekly", "S1", 100, 430)], MONDAY)
    pattern = _pattern(base, "P1")
    long_visit = max(base.visits["P1"], key=lambda d: base.visits["P1"][d])
    previous = pattern[pattern.index(long_visit) - 1]
    gap_days = {(previous + k) % 7 for k in range((long_visit - previous) % 7)}
    # the base's 4-day gap now yields 440 kg (> 430); a rotation whose gap spans fewer of the
    # busier days still fits
    generation = tuple(110 if d in gap_days else 100 for d in range(7))
    assert max(visit_loads(pattern, generation).values()) > 430
    point = SchedulePoint("P1", "S1", "twice_weekly", 430, generation)
    schedule = schedule_week([point], MONDAY, reference=base)
    assert schedule.frequency_used["P1"] == "twice_weekly"
    assert _pattern(schedule, "P1") != pattern
    assert max(schedule.visits["P1"].values()) <= 430
    assert schedule.reference is not None
    assert schedule.reference.replaced == 1


def test_a_reference_of_another_week_is_ignored_and_said_so():
    points = _base_county()
    base = schedule_week(points, MONDAY, deterministic_time_s_per_point=DT_S)
    tuesday = MONDAY + dt.timedelta(days=1)
    plain = schedule_week(points, tuesday, deterministic_time_s_per_point=DT_S)
    ignored = schedule_week(points, tuesday, deterministic_time_s_per_point=DT_S, reference=base)
    assert ignored.visits == plain.visits
    assert ignored.reference is not None
    assert ignored.reference.ignored is not None
    assert str(MONDAY) in ignored.reference.ignored
    assert "not used" in ignored.reference.note


#: the what-if of the shipped ``new_station.yaml`` (candidate ST-C01 forced open), with trucks of
#: its own: a generated county's stations own one small truck each and need it, so without them
#: the fleet move cannot give ST-C01 the small truck its narrow points need (a fleet shortfall,
#: which the plan reports; not what this test is about); sited by the estimate, which moves
#: points to ST-C01 (with routes, the base's siting is kept here and no point moves)
NEW_STATION = {
    "name": "new station",
    "policy": {"siting": "estimate"},
    "overrides": {
        "stations": {"ST-C01": {"status": "existing"}},
        "fleet": {"D-ST-C01-small_3t": {"count": 1}, "D-ST-C01-compactor_5t": {"count": 1}},
    },
}


def _due_and_served(document) -> tuple[set[str], set[str]]:
    served = {
        v.id for day in document.days for r in day.routes for v in r.visits if v.kind == "stop"
    }
    unserved = {u.point_id for day in document.days for u in day.unserved}
    return served | unserved, served


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """A generated county's base and its new-station what-if, planned as `compare` does."""
    # seed 5: on the code before the base's week was kept, 3 of the base's 27 points due on the
    # plan date were not due in this what-if
    county = generate_county(tmp_path_factory.mktemp("county"), n_points=30, n_stations=3, seed=5)
    base = load_scenario(county)
    whatif_path = county.with_name("new_station.yaml")
    document = {"base": county.name, **NEW_STATION}
    whatif_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    record, base_doc, whatif_doc = plan_against_base(county, whatif_path, time_limit_s=TIME_LIMIT_S)
    return base, record, base_doc, whatif_doc


def test_the_new_station_what_if_serves_every_point_the_base_serves(planned):
    _, _, base_doc, whatif_doc = planned
    moved = {p.point_id for p in whatif_doc.assignment.points if p.station_id == "ST-C01"}
    assert moved  # the new station took points from its neighbours
    base_due, base_served = _due_and_served(base_doc)
    whatif_due, whatif_served = _due_and_served(whatif_doc)
    assert base_due <= whatif_due
    assert base_served <= whatif_served
    note = "weekly schedule: 30 points kept their base days, 0 placed"
    assert any(n.startswith(note) for n in whatif_doc.notes)


def test_the_base_schedule_without_a_reference_is_the_plain_balanced_week(planned):
    base, record, base_doc, _ = planned
    assert record.schedule is not None
    assert record.schedule.reference is None
    assert not any(n.startswith("weekly schedule") for n in base_doc.notes)
    ctx = PlanningContext.build(base)
    start = schedule_start([base.plan_date])
    plain = week_schedule(ctx, start, record.station_of, seed=1)
    assert record.schedule.visits == plain.visits
    # a what-if that changes nothing keeps the base's week exactly
    same = week_schedule(ctx, start, record.station_of, seed=1, reference=record.schedule)
    assert same.visits == plain.visits
    assert same.station_day_kg == plain.station_day_kg
