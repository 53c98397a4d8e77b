"""The chain on the tiny scenario: every due point served or unserved with a reason, verified
routes and transfer, consistent KPIs, weeks, fixed assignments, closures and infeasibility."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
from pathlib import Path

import pytest

from sanitation.errors import InfeasibleError
from sanitation.plan import plan_days, week_dates
from sanitation.scenario import load_scenario

TINY = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"
FRIDAY = dt.date(2026, 11, 27)


def _plan(scenario, dates, **kwargs):
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        return plan_days(
            scenario, dates, engine="pyvrp", time_limit_s=1, executor=pool, workers=1, **kwargs
        )


@pytest.fixture(scope="module")
def day_plan():
    return _plan(load_scenario(TINY), [FRIDAY])


def test_every_due_point_is_served_or_listed_with_a_reason(day_plan):
    (day,) = day_plan.days
    served = {v.id for r in day.routes for v in r.visits if v.kind == "stop"}
    unserved = {u.point_id for u in day.unserved}
    assert not served & unserved
    station_day = day.stations[0]
    assert len(served) + len(unserved) == station_day.points_due
    assert all(u.reason for u in day.unserved)
    assert {"P1", "P3", "P4"} <= served | unserved  # the daily points


def test_routes_end_with_an_unload_and_transfer_moves_what_was_collected(day_plan):
    (day,) = day_plan.days
    for route in day.routes:
        assert route.visits[-1].kind == "unload"
        assert route.visits[-1].load_after_kg == 0
    collected = sum(r.collected_kg for r in day.routes)
    moved = sum(t.load_kg for truck in day.transfer_trucks for t in truck.trips)
    unmoved = sum(u.load_kg for u in day.unmoved)
    assert moved + unmoved == collected
    assert day.gate_fees_cny > 0


def test_county_kpis_add_up(day_plan):
    county = next(k for k in day_plan.kpis if k.scope == "county")
    (day,) = day_plan.days
    assert county.collected_t == pytest.approx(sum(r.collected_kg for r in day.routes) / 1000)
    parts = (
        county.fixed_cost_cny
        + county.distance_cost_cny
        + county.time_cost_cny
        + county.transfer_cost_cny
        + county.gate_fees_cny
        + county.station_cost_cny
    )
    assert county.total_cost_cny == pytest.approx(parts, abs=0.05)
    stations = [k for k in day_plan.kpis if k.scope == "station"]
    assert sum(k.collected_t for k in stations) == pytest.approx(county.collected_t)
    townships = [k for k in day_plan.kpis if k.scope == "township"]
    assert sum(k.collected_t for k in townships) == pytest.approx(county.collected_t)
    for name in ("station_cost_cny", "transfer_cost_cny", "gate_fees_cny"):
        assert sum(getattr(k, name) for k in townships) == pytest.approx(
            getattr(county, name), abs=0.05
        ), name


@pytest.fixture(scope="module")
def default_engine_plan():
    """The day planned as `sanitation plan` does: the default engine, its own process pool."""
    return plan_days(load_scenario(TINY), [FRIDAY], time_limit_s=2)


@pytest.mark.parametrize("plan_name", ["day_plan", "default_engine_plan"])
def test_open_stations_cost_their_fixed_opening_and_module_cost_per_day(plan_name, request):
    """A plan pays for the transfer stations it keeps open (so building one shows its cost)."""
    day_plan = request.getfixturevalue(plan_name)
    scenario = load_scenario(TINY)
    by_id = {s.station_id: s for s in scenario.stations}
    expected = {
        row.station_id: by_id[row.station_id].fixed_cost_cny_per_day
        + by_id[row.station_id].opening_cost_cny_per_day
        + row.expansion_modules * by_id[row.station_id].expansion_cost_cny_per_day
        for row in day_plan.assignment.stations
        if row.open
    }
    assert sum(expected.values()) > 0
    county = next(k for k in day_plan.kpis if k.scope == "county")
    assert county.station_cost_cny == pytest.approx(sum(expected.values()), abs=0.01)
    for row in day_plan.kpis:
        if row.scope == "station":
            assert row.station_cost_cny == pytest.approx(expected.get(row.id, 0.0), abs=0.01)
    parts = county.total_cost_cny - county.station_cost_cny
    assert parts == pytest.approx(
        county.fixed_cost_cny
        + county.distance_cost_cny
        + county.time_cost_cny
        + county.transfer_cost_cny
        + county.gate_fees_cny,
        abs=0.05,
    )
    assert county.co2_kg > 0


def test_week_plan_visits_each_point_by_its_frequency():
    plan = _plan(load_scenario(TINY), week_dates(dt.date(2026, 11, 23)))
    assert len(plan.days) == 7
    visits: dict[str, int] = {}
    for day in plan.days:
        for route in day.routes:
            for visit in route.visits:
                if visit.kind == "stop":
                    visits[visit.id] = visits.get(visit.id, 0) + 1
    assert visits["P1"] == 7  # daily
    assert visits["P2"] == 4  # every 2 days: four visits a week
    # P5 is declared twice weekly, but 4 days of 0.5 t would overflow its 1.0 t bin
    (change,) = [c for c in plan.frequency_changes if c.point_id == "P5"]
    assert (change.declared, change.used) == ("twice_weekly", "every_2_days")
    assert visits["P5"] == 4


def test_fixed_assignment_is_used(tmp_path):
    points = (TINY.parent / "points.csv").read_text(encoding="utf-8").splitlines()
    fixed = [points[0] + ",station_id"] + [line + ",S1" for line in points[1:]]
    (tmp_path / "points.csv").write_text("\n".join(fixed) + "\n", encoding="utf-8")
    overlay = tmp_path / "fixed.yaml"
    overlay.write_text(
        f"base: {TINY}\ndata: {{points: points.csv}}\npolicy: {{assignment: fixed}}\n",
        encoding="utf-8",
    )
    plan = _plan(load_scenario(overlay), [FRIDAY])
    assert plan.assignment.mode == "fixed"
    assert {p.station_id for p in plan.assignment.points} == {"S1"}


def test_closure_that_cuts_a_point_off_reports_it_unserved(tmp_path):
    overlay = tmp_path / "closure.yaml"
    overlay.write_text(
        f"base: {TINY}\nroads: {{closed_road_ids: [LANE1]}}\n"
        "overrides: {points: {P2: {frequency: daily}}}\n",
        encoding="utf-8",
    )
    plan = _plan(load_scenario(overlay), [FRIDAY])
    (day,) = plan.days
    (p2,) = [u for u in day.unserved if u.point_id == "P2"]
    assert "cut off by the road closures" in p2.reason
    assert any("cut off" in note for note in plan.notes)


def test_capacity_shortfall_is_infeasible_and_names_the_cause(tmp_path):
    overlay = tmp_path / "small.yaml"
    overlay.write_text(
        f"base: {TINY}\noverrides:\n  stations:\n    S1: {{capacity_t_per_day: 0.5, "
        "max_expansions: 0}\n    S2: {status: closed}\n",
        encoding="utf-8",
    )
    with pytest.raises(InfeasibleError) as caught:
        _plan(load_scenario(overlay), [FRIDAY])
    text = "\n".join(caught.value.causes)
    assert "P4" in text
    assert "0.5 t/day" in text
