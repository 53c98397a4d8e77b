"""Transfer leg: container trips to disposal sites, capacities, gate hours, shifts, lunch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sanitation.errors import InfeasibleError, VerificationError
from sanitation.transfer import (
    DisposalSite,
    TransferProblem,
    TransferStation,
    TransferTruck,
    solve,
)
from sanitation.verify.transfer import check, verify

H = 3600
# locations: 0 station A (and its depot), 1 station B, 2 plant (far, cheap fee), 3 landfill
DURATION = np.array(
    [[0, 600, 3600, 1200], [600, 0, 3000, 900], [3600, 3000, 0, 2400], [1200, 900, 2400, 0]],
    dtype=np.int64,
)
DISTANCE = DURATION * 12  # 12 m/s ≈ 43 km/h


def _truck(tid="T1", home="A", location=0, start=6 * H, end=18 * H, lunch=0):
    return TransferTruck(
        tid, home, location, start, end, 11 * H, lunch, 11 * H, 13 * H, 400.0, 3.5, 50.0
    )


def _problem(load_a=20_000, load_b=0, plant_cap=10**7, gate_close=22 * H, trucks=None):
    return TransferProblem(
        DURATION,
        DISTANCE,
        stations=(
            TransferStation("A", 0, load_a, 8000, 5 * H, 19 * H, swap_s=300),
            TransferStation("B", 1, load_b, 8000, 5 * H, 19 * H, swap_s=300),
        ),
        sites=(
            DisposalSite("PLANT", 2, plant_cap, 6 * H, gate_close, 60.0, 900),
            DisposalSite("LANDFILL", 3, 10**7, 7 * H, 18 * H, 120.0, 600),
        ),
        trucks=tuple(trucks or [_truck()]),
    )


def test_load_leaves_in_full_containers_and_verifies():
    problem = _problem()
    solution = solve(problem)
    check(problem, solution)
    loads = sorted(trip.load_kg for trip in solution.trips)
    assert loads == [4000, 8000, 8000]
    # hand-checked: a full 8 t container costs 900 CNY to the plant (fee 480 + trip 420) and
    # 1105 to the landfill (960 + 145); the 4 t rest 660 to the plant and 625 to the landfill
    sites = {(trip.load_kg, trip.site) for trip in solution.trips}
    assert sites == {(8000, "PLANT"), (4000, "LANDFILL")}
    assert solution.gate_fees_cny == pytest.approx(16 * 60.0 + 4 * 120.0)
    assert not solution.unmoved


def test_site_capacity_binds_and_the_rest_goes_to_the_backup():
    problem = _problem(plant_cap=8000)
    solution = solve(problem)
    check(problem, solution)
    by_site: dict[str, int] = {}
    for trip in solution.trips:
        by_site[trip.site] = by_site.get(trip.site, 0) + trip.load_kg
    assert by_site == {"PLANT": 8000, "LANDFILL": 12_000}


def test_capacity_short_is_infeasible_with_the_shortfall():
    problem = dataclasses.replace(
        _problem(load_a=30_000),
        sites=(DisposalSite("PLANT", 2, 20_000, 6 * H, 22 * H, 60.0, 900),),
    )
    with pytest.raises(InfeasibleError, match=r"short by 10\.0 t"):
        solve(problem)


def test_shift_binds_one_truck_leaves_load_two_trucks_move_it_all():
    # a plant trip takes 2 h 20 min: one truck on a 6:00-14:00 shift makes three
    short = _problem(load_a=40_000, trucks=[_truck(start=6 * H, end=14 * H)])
    partial = solve(short)
    check(short, partial)
    assert partial.unmoved and "shift" in partial.unmoved[0].reason
    two = _problem(
        load_a=40_000,
        trucks=[_truck(start=6 * H, end=14 * H), _truck("T2", start=6 * H, end=14 * H)],
    )
    full = solve(two)
    check(two, full)
    assert not full.unmoved
    assert len(full.trucks) == 2


def test_gate_hours_bind():
    problem = _problem(gate_close=8 * H, plant_cap=10**7)
    solution = solve(problem)
    check(problem, solution)
    for trip in solution.trips:
        site = problem.site(trip.site)
        assert site.gate_open_s <= trip.unload_start_s <= site.gate_close_s
    assert any(trip.site == "LANDFILL" for trip in solution.trips) or solution.unmoved


def test_lunch_is_taken_inside_its_window():
    problem = _problem(load_a=40_000, trucks=[_truck(lunch=1800, end=19 * H)])
    solution = solve(problem)
    check(problem, solution)
    (day,) = solution.trucks
    assert day.lunch_start_s is not None
    assert day.lunch_start_s >= 11 * H and day.lunch_start_s + 1800 <= 13 * H
    for trip in day.trips:  # no trip overlaps the lunch
        assert trip.end_s <= day.lunch_start_s or trip.arrival_s >= day.lunch_start_s + 1800


def test_trucks_help_other_stations_after_their_own():
    problem = _problem(load_a=8000, load_b=16_000)
    solution = solve(problem)
    check(problem, solution)
    assert {trip.station for trip in solution.trips} == {"A", "B"}


def test_verifier_rejects_tampered_plans():
    problem = _problem()
    good = solve(problem)
    assert verify(problem, good) == []
    day = good.trucks[0]
    first = day.trips[0]
    early = dataclasses.replace(first, end_s=first.end_s - 60)
    bad_time = dataclasses.replace(
        good, trucks=(dataclasses.replace(day, trips=(early, *day.trips[1:])),)
    )
    assert any("end_s" in v for v in verify(problem, bad_time))
    lost = dataclasses.replace(good, trucks=(dataclasses.replace(day, trips=day.trips[1:]),))
    assert any("expected its load" in v for v in verify(problem, lost))
    cheap = dataclasses.replace(good, trucks=(dataclasses.replace(day, cost_cny=1.0),))
    assert any("cost" in v for v in verify(problem, cheap))
    small_site = dataclasses.replace(
        problem, sites=(dataclasses.replace(problem.sites[0], capacity_kg=5000), problem.sites[1])
    )
    assert any("capacity" in v for v in verify(small_site, good))
    with pytest.raises(VerificationError):
        check(problem, lost)


def test_lunch_violation_is_rejected():
    problem = _problem(load_a=8000, trucks=[_truck(lunch=1800)])
    solution = solve(problem)
    day = solution.trucks[0]
    moved = dataclasses.replace(day, lunch_start_s=14 * H)
    assert any(
        "lunch" in v for v in verify(problem, dataclasses.replace(solution, trucks=(moved,)))
    )


def test_a_day_ending_before_the_lunch_window_needs_no_lunch_but_a_long_day_does():
    short = _problem(load_a=8000, trucks=[_truck(lunch=1800)])
    solution = solve(short)
    check(short, solution)
    assert solution.trucks[0].lunch_start_s is None  # back by 08:30, before 12:30
    long = _problem(load_a=40_000, trucks=[_truck(lunch=1800, end=19 * H)])
    planned = solve(long)
    (day,) = planned.trucks
    no_lunch = dataclasses.replace(day, lunch_start_s=None)
    violations = verify(long, dataclasses.replace(planned, trucks=(no_lunch,)))
    assert any("no lunch break" in v for v in violations)
