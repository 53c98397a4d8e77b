"""Weekly collection schedule: frequencies, bins that never overflow, balanced stations."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sanitation.errors import InfeasibleError
from sanitation.schedule import PATTERNS, SchedulePoint, schedule_week, visit_loads, week_start

MONDAY = dt.date(2026, 11, 23)


def _point(pid, frequency, kg_per_day=100, bin_kg=10_000, station="S1"):
    return SchedulePoint(pid, station, frequency, bin_kg, (kg_per_day,) * 7)


def test_visit_collects_the_waste_since_the_previous_visit():
    generation = (10, 20, 30, 40, 50, 60, 70)
    # visits Monday and Thursday: Monday's visit collects Thu..Sun of the previous cycle
    assert visit_loads((0, 3), generation) == {0: 40 + 50 + 60 + 70, 3: 10 + 20 + 30}
    assert visit_loads(tuple(range(7)), generation)[2] == 20  # daily: yesterday's waste


def test_patterns_match_frequencies():
    assert all(len(p) == 4 for p in PATTERNS["every_2_days"])
    assert all(len(p) == 2 for p in PATTERNS["twice_weekly"])
    assert len(PATTERNS["weekly"]) == 7


def test_weekly_points_of_one_station_spread_over_the_week():
    points = [_point(f"P{i}", "weekly") for i in range(7)]
    schedule = schedule_week(points, MONDAY)
    assert schedule.station_day_stops["S1"] == (1,) * 7
    assert schedule.station_day_kg["S1"] == (700,) * 7
    assert schedule.optimal


def test_bin_too_small_for_weekly_raises_the_frequency():
    # 100 kg/day: weekly needs a 700 kg bin; twice weekly needs 400 kg
    schedule = schedule_week([_point("P1", "weekly", bin_kg=450)], MONDAY)
    assert schedule.frequency_used["P1"] == "twice_weekly"
    (change,) = schedule.changes
    assert (change.declared, change.used) == ("weekly", "twice_weekly")
    assert max(schedule.visits["P1"].values()) <= 450


def test_bin_smaller_than_one_day_is_infeasible_and_named():
    with pytest.raises(InfeasibleError) as caught:
        schedule_week([_point("P9", "daily", kg_per_day=300, bin_kg=200)], MONDAY)
    assert "'P9'" in "\n".join(caught.value.causes)


def test_seasonal_generation_raises_the_visit_loads():
    base = SchedulePoint("P1", "S1", "daily", 10_000, (100,) * 7)
    festival = SchedulePoint("P1", "S1", "daily", 10_000, (100, 100, 100, 140, 140, 140, 140))
    assert sum(schedule_week([festival], MONDAY).visits["P1"].values()) == 860
    assert sum(schedule_week([base], MONDAY).visits["P1"].values()) == 700


def test_due_on_a_date_and_week_start():
    schedule = schedule_week([_point("P1", "daily")], MONDAY)
    assert week_start(dt.date(2026, 11, 27)) == MONDAY
    assert schedule.due_on(dt.date(2026, 11, 27)) == {"P1": 100}
    with pytest.raises(ValueError, match="not in the week"):
        schedule.due_on(dt.date(2026, 12, 1))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(PATTERNS)),
            st.integers(min_value=10, max_value=400),
            st.integers(min_value=400, max_value=3000),
            st.sampled_from(["S1", "S2"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_every_visit_fits_its_bin_and_the_week_collects_all_waste(rows):
    points = [
        SchedulePoint(f"P{i}", station, freq, bin_kg, (kg,) * 7)
        for i, (freq, kg, bin_kg, station) in enumerate(rows)
    ]
    schedule = schedule_week(points, MONDAY, deterministic_time_s_per_point=0.1)
    for point in points:
        loads = schedule.visits[point.point_id]
        assert max(loads.values()) <= point.bin_capacity_kg
        assert sum(loads.values()) == sum(point.generation_kg)  # nothing lost, nothing doubled
        used = schedule.frequency_used[point.point_id]
        assert tuple(sorted(loads)) in PATTERNS[used]


def test_schedule_is_deterministic_under_a_seed():
    points = [
        _point(f"P{i}", f, kg_per_day=50 + 7 * i)
        for i, f in enumerate(["weekly", "twice_weekly", "every_2_days"] * 8)
    ]
    a = schedule_week(points, MONDAY, seed=3, deterministic_time_s_per_point=0.02)
    b = schedule_week(points, MONDAY, seed=3, deterministic_time_s_per_point=0.02)
    assert a.visits == b.visits


def test_greedy_start_is_used_when_the_search_has_no_time():
    points = [_point(f"P{i}", "weekly", kg_per_day=10 + i) for i in range(50)]
    schedule = schedule_week(points, MONDAY, deterministic_time_s_per_point=1e-12)
    assert schedule.stats["greedy"] == 1.0
    assert sorted(schedule.station_day_stops["S1"]) == [7, 7, 7, 7, 7, 7, 8]  # still balanced
    for point in points:
        assert tuple(sorted(schedule.visits[point.point_id])) in PATTERNS["weekly"]


def test_a_change_at_one_station_leaves_the_other_stations_days_as_they_were():
    def county(extra_at_s2: int) -> list[SchedulePoint]:
        s1 = [
            _point(f"A{i}", f, kg_per_day=40 + 13 * i, station="S1")
            for i, f in enumerate(["weekly", "twice_weekly", "every_2_days"] * 10)
        ]
        s2 = [
            _point(f"B{i}", "twice_weekly", kg_per_day=30 + 11 * i, station="S2")
            for i in range(12 + extra_at_s2)
        ]
        return s1 + s2  # a what-if that adds points at S2 only (a new village, a moved point)

    base = schedule_week(county(0), MONDAY, seed=1, deterministic_time_s_per_point=0.02)
    changed = schedule_week(county(5), MONDAY, seed=1, deterministic_time_s_per_point=0.02)
    assert {p: v for p, v in changed.visits.items() if p.startswith("A")} == {
        p: v for p, v in base.visits.items() if p.startswith("A")
    }
    assert changed.station_day_kg["S1"] == base.station_day_kg["S1"]
    assert changed.station_day_kg["S2"] != base.station_day_kg["S2"]


def test_a_memo_of_stations_solves_only_the_changed_station_and_gives_the_same_week(
    schedule_solves,
):
    """The plan's week after its design day's (`schedule_week`'s ``memo``): the stations whose
    points did not change are not solved again, and the week equals one scheduled afresh."""

    def county(moved: int) -> list[SchedulePoint]:
        s1 = [
            _point(f"A{i}", f, kg_per_day=40 + 13 * i, station="S1")
            for i, f in enumerate(["weekly", "twice_weekly", "every_2_days"] * 6)
        ]
        s2 = [
            _point(f"B{i}", "twice_weekly", kg_per_day=30 + 11 * i, station="S2") for i in range(10)
        ]
        s3 = [_point(f"C{i}", "weekly", kg_per_day=20 + 9 * i, station="S3") for i in range(8)]
        # the siting moves the last ``moved`` points of S2 to S3
        moved_points = [
            SchedulePoint(p.point_id, "S3", p.frequency, p.bin_capacity_kg, p.generation_kg)
            for p in s2[len(s2) - moved :]
        ]
        return s1 + s2[: len(s2) - moved] + s3 + moved_points

    solved = schedule_solves
    memo: dict = {}
    design = schedule_week(
        county(0), MONDAY, seed=1, deterministic_time_s_per_point=0.02, memo=memo
    )
    assert solved == ["S1", "S2", "S3"]
    solved.clear()
    again = schedule_week(county(0), MONDAY, seed=1, deterministic_time_s_per_point=0.02, memo=memo)
    assert solved == []
    assert again == design
    plan = schedule_week(county(3), MONDAY, seed=1, deterministic_time_s_per_point=0.02, memo=memo)
    assert solved == ["S2", "S3"]  # S1's points did not move: its week comes from the memo
    solved.clear()
    fresh = schedule_week(county(3), MONDAY, seed=1, deterministic_time_s_per_point=0.02)
    assert solved == ["S1", "S2", "S3"]
    assert (plan.visits, plan.station_day_kg, plan.station_day_stops, plan.changes) == (
        fresh.visits,
        fresh.station_day_kg,
        fresh.station_day_stops,
        fresh.changes,
    )
    assert plan.optimal == fresh.optimal
