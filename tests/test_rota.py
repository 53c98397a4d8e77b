"""Which truck drives which route: with balance on and no territories a station's routes are
handed to its trucks so that their weeks even out (`sanitation.plan.rota`), and under ``soft``
a free day's routes go to the trucks whose territories they cover; the routes themselves stay
as solved and every renumbered day passes the verifier."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import numpy as np
import pytest

from sanitation.plan import plan_days, week_dates
from sanitation.plan.consistency import aligned, off_territory_visits, pull_home
from sanitation.plan.daily import StationDayResult
from sanitation.plan.rota import _rota, balance_week, week_truck_hours
from sanitation.routing.problem import RoutingProblem, Site, Stop, VehicleType
from sanitation.routing.schedule import build_route
from sanitation.routing.solution import RoutingSolution
from sanitation.scenario import load_scenario
from sanitation.territory import Territories
from tests.territory_helpers import TINY

MONDAY = dt.date(2026, 11, 23)


def _day(trucks: int) -> RoutingProblem:
    """A depot, a station and two stops 1 h apart: a long stop (5 h) and a short one (1 h)."""
    duration = np.full((4, 4), 3600, dtype=np.int64)
    np.fill_diagonal(duration, 0)
    stops = (Stop("LONG", 2, 100, service_s=5 * 3600), Stop("SHORT", 3, 100, service_s=3600))
    truck = VehicleType(
        "truck", trucks, 10_000, "depot", ("station",), shift_start_s=0, shift_end_s=12 * 3600
    )
    return RoutingProblem(
        duration_s=duration,
        distance_m=duration,
        sites=(Site("depot", 0), Site("station", 1)),
        stops=stops,
        vehicle_types=(truck,),
    )


def _solved(problem: RoutingProblem) -> RoutingSolution:
    """The long stop on truck 0 and the short one on truck 1, as a solver numbers them."""
    routes = (
        build_route(problem, "truck", 0, [("stop", "LONG")]),
        build_route(problem, "truck", 1, [("stop", "SHORT")]),
    )
    return RoutingSolution(routes, (), sum(r.cost_cny for r in routes), "test", 0.0)


def test_the_long_route_goes_round_the_trucks_and_their_weeks_even_out():
    days = [MONDAY + dt.timedelta(days=k) for k in range(4)]
    problems = {(d, "S"): _day(2) for d in days}
    results = {
        key: StationDayResult("S", key[0], _solved(p), 0.0) for key, p in problems.items()
    }
    before = {key: r.solution for key, r in results.items()}
    week = {0: 0, 1: 0}
    for solution in before.values():
        for route in solution.routes:
            week[route.vehicle_index] += route.duration_s
    assert week[0] == 2 * week[1]  # as solved, truck #1 (index 0) has the long route every day
    assert balance_week(results, problems) == 4  # two days swap their trucks
    week = {0: 0, 1: 0}
    for key, result in results.items():
        assert [r.stop_ids for r in result.solution.routes] == [
            r.stop_ids for r in before[key].routes
        ]  # the same routes
        assert result.solution.cost_cny == before[key].cost_cny
        for route in result.solution.routes:
            week[route.vehicle_index] += route.duration_s
    assert week[0] == week[1]


def test_a_route_a_day_goes_to_the_truck_with_the_fewest_hours():
    """Three trucks, one route a day: each truck gets one of three days, not truck #1 all."""
    problem = _day(3)
    route = build_route(problem, "truck", 0, [("stop", "LONG"), ("stop", "SHORT")])
    new = _rota([(3, [route]), (3, [route]), (3, [route])])
    assert sorted(new.values()) == [0, 1, 2]


def test_a_day_with_fewer_trucks_uses_only_those():
    problem = _day(2)
    route = build_route(problem, "truck", 0, [("stop", "LONG")])
    new = _rota([(2, [route]), (1, [route])])
    assert new == {(0, 0): 0, (1, 0): 0}  # day 2 has only truck 0


def test_a_week_plan_with_balance_spreads_a_type_over_its_trucks(tmp_path):
    """The tiny week with two small trucks: with balance on, both drive (the solver alone
    numbers its one small route of a day #1), and the plan reports the trucks' week ratio."""
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    fleet = (folder / "fleet.csv").read_text(encoding="utf-8")
    (folder / "fleet.csv").write_text(fleet.replace("small_3t,1", "small_3t,2"), "utf-8")
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    (folder / "scenario.yaml").write_text(text + "policy:\n  balance_max_ratio: 3\n", "utf-8")
    doc = plan_days(load_scenario(folder / "scenario.yaml"), week_dates(MONDAY), time_limit_s=2)
    small = {r.vehicle_id for day in doc.days for r in day.routes if r.vehicle_type == "small_3t"}
    assert small == {"D1/small_3t#1", "D1/small_3t#2"}
    assert doc.consistency is not None and doc.consistency.week_rota_routes >= 1
    hours = week_truck_hours(doc.days)["S1"]
    ratio = max(hours.values()) / min(hours.values())
    assert doc.consistency.max_week_truck_ratio == round(ratio, 3)


def test_a_free_day_under_soft_puts_each_route_on_the_truck_whose_territory_it_covers():
    """The solver numbers the long stop's route truck #1, but it is truck #2's territory: the
    free day handed to the trucks (`aligned`) has every visit on territory, same routes."""
    problem = _day(2)
    solved = _solved(problem)
    territories = Territories(
        "S", {"LONG": "D/truck#2", "SHORT": "D/truck#1"}, {}, {}, {}, None, True, 1
    )
    assert off_territory_visits(solved, territories, "D") == 2
    out = aligned(problem, solved, territories, "D")
    assert off_territory_visits(out, territories, "D") == 0
    assert [r.stop_ids for r in out.routes] == [r.stop_ids for r in solved.routes]


def _apart(shift_end_h: int) -> RoutingProblem:
    """As `_day`, but LONG and SHORT 200 km apart by road (1 h by the matrix's clock) and
    2 CNY/km: one truck for both drives 400 km more than two."""
    problem = _day(2)
    distance = np.full((4, 4), 10_000, dtype=np.int64)
    np.fill_diagonal(distance, 0)
    distance[2, 3] = distance[3, 2] = 200_000
    truck = dataclasses.replace(
        problem.vehicle_types[0], cost_cny_per_km=2.0, shift_end_s=shift_end_h * 3600
    )
    return problem.replace(distance_m=(distance,), vehicle_types=(truck,))


@pytest.mark.parametrize(
    ("penalty", "shift_end_h", "moved"),
    [(500, 12, True), (300, 12, False), (500, 9, False)],
)
def test_soft_moves_a_visit_onto_its_territorys_truck_only_below_the_penalty(
    penalty, shift_end_h, moved
):
    """SHORT belongs to truck #1's territory but rides on #2: moving it onto #1's route drops
    route #2 but drives 230 km against 2 x 30, +340 CNY at 2 CNY/km (hours cost nothing):
    moved at a 500 CNY penalty, not at 300, and never when the day no longer fits the shift."""
    problem = _apart(shift_end_h)
    solved = _solved(problem)
    territories = Territories(
        "S", {"LONG": "D/truck#1", "SHORT": "D/truck#1"}, {}, {}, {}, None, True, 1
    )
    out = pull_home(problem, solved, territories, "D", penalty)
    assert off_territory_visits(out, territories, "D") == (0 if moved else 1)
    if moved:
        assert [sorted(r.stop_ids) for r in out.routes] == [["LONG", "SHORT"]]
        assert out.cost_cny - solved.cost_cny == pytest.approx(340, abs=1)
