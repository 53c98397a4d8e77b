"""Sorted streams in the weekly schedule: visit days per point and stream, perishable daily,
no stream's bin overflowing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sanitation.errors import InfeasibleError
from sanitation.plan.assign import week_schedule
from sanitation.plan.context import PlanningContext
from sanitation.scenario.load import load_scenario
from sanitation.scenario.model import split_stop_id
from sanitation.schedule import SchedulePoint, schedule_week

SORTED = Path(__file__).parent / "data" / "scenario" / "sorted" / "scenario.yaml"
MONDAY = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def sorted_week():
    scenario = load_scenario(SORTED)
    ctx = PlanningContext.build(scenario)
    station_of = {p.point_id: "S1" for p in scenario.points}
    return scenario, week_schedule(ctx, MONDAY, station_of, seed=1)


def test_each_point_and_stream_has_its_own_visit_days(sorted_week):
    scenario, week = sorted_week
    expected = {f"{p.point_id}@{s.stream}" for p in scenario.points for s in p.streams}
    assert set(week.visits) == expected
    # perishable daily by default; residual at the point's own frequency; recyclables weekly
    for point in scenario.points:
        assert sorted(week.visits[f"{point.point_id}@perishable"]) == list(range(7))
    assert len(week.visits["P5@residual"]) == 2  # twice_weekly
    assert len(week.visits["P4@recyclable"]) == 1  # the stream's weekly default
    assert len(week.visits["P3@recyclable"]) == 2  # the point's own twice_weekly
    due = week.due_on(MONDAY)
    assert {split_stop_id(k)[1] for k in due} >= {"residual", "perishable"}


def test_no_stream_bin_overflows(sorted_week):
    scenario, week = sorted_week
    bins = {
        f"{p.point_id}@{s.stream}": round(s.bin_capacity_t * 1000)
        for p in scenario.points
        for s in p.streams
    }
    for key, loads in week.visits.items():
        assert max(loads.values()) <= bins[key], key


def test_a_small_stream_bin_raises_that_stream_alone():
    # 60 kg/day of recyclables: a weekly visit would hold 420 kg, above the 300 kg bin; the
    # residual bin of the same point holds the week
    recyclable = SchedulePoint("P1@recyclable", "S1", "weekly", 300, (60,) * 7, "recyclable")
    residual = SchedulePoint("P1@residual", "S1", "weekly", 1_000, (100,) * 7, "residual")
    week = schedule_week([recyclable, residual], MONDAY)
    assert week.frequency_used == {"P1@recyclable": "twice_weekly", "P1@residual": "weekly"}
    assert [c.point_id for c in week.changes] == ["P1@recyclable"]
    assert max(week.visits["P1@recyclable"].values()) <= 300


def test_a_stream_bin_smaller_than_a_day_is_infeasible_naming_the_stream():
    perishable = SchedulePoint("P1@perishable", "S1", "daily", 100, (150,) * 7, "perishable")
    with pytest.raises(InfeasibleError) as caught:
        schedule_week([perishable], MONDAY)
    assert "point 'P1@perishable': 150 kg/day exceeds its 'perishable' bin of 100 kg" in str(
        caught.value.causes
    )
