"""Transfer leg: a truck whose first trip cannot end before the latest lunch start.

The generated 20,000-point county sends containers on round trips of 8-9 h to a plant outside
the county; its busy stations borrow other stations' idle trucks. A truck whose first trip would
end after the latest lunch start takes its break before that trip, and the break starts its
day: the verifier looks for the break between the depot departure and the first trip.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sanitation.transfer import DisposalSite, TransferProblem, TransferStation, TransferTruck, solve
from sanitation.transfer.solve import FLEET_FULL, NO_TRUCK
from sanitation.verify.transfer import check, verify

H = 3600
# the generated county's hook-lift shift and lunch (sanitation.scenario.synthesis.VEHICLE_TYPES)
SHIFT_START_S, SHIFT_END_S, MAX_DURATION_S = 7 * H, 19 * H, 10 * H
LUNCH_S, WINDOW_START_S, WINDOW_END_S = 2700, 41_400, 48_600  # 45 min in 11:30-13:30
LATEST_LUNCH_S = WINDOW_END_S - LUNCH_S  # 12:45
SWAP_S, UNLOAD_S = 300, 900
# locations: 0 busy station A (and its depot), 1 station B's depot (30 min from A), 2 the plant
PLANT_ONE_WAY_S = 9600  # 2 h 40 min: a round trip from A takes 5 h 40 min with swap and unload
DURATION = np.array(
    [[0, 1800, PLANT_ONE_WAY_S], [1800, 0, 9000], [PLANT_ONE_WAY_S, 9000, 0]], dtype=np.int64
)
DISTANCE = DURATION * 12


def _truck(truck_id: str, home: str, location: int) -> TransferTruck:
    return TransferTruck(
        truck_id,
        home,
        location,
        SHIFT_START_S,
        SHIFT_END_S,
        MAX_DURATION_S,
        LUNCH_S,
        WINDOW_START_S,
        WINDOW_END_S,
        420.0,
        3.5,
        50.0,
    )


def _busy_station(containers: int = 3) -> TransferProblem:
    """Station A with ``containers`` full 8 t containers and one truck; B idle with one truck."""
    return TransferProblem(
        DURATION,
        DISTANCE,
        stations=(
            TransferStation("A", 0, containers * 8000, 8000, 5 * H, 19 * H, swap_s=SWAP_S),
            TransferStation("B", 1, 0, 8000, 5 * H, 19 * H, swap_s=SWAP_S),
        ),
        sites=(DisposalSite("PLANT", 2, 10**7, 6 * H, 22 * H, 85.0, UNLOAD_S),),
        trucks=(_truck("A#1", "A", 0), _truck("B#1", "B", 1)),
    )


def test_a_borrowed_truck_whose_first_trip_crosses_lunch_starts_its_day_with_the_break():
    problem = _busy_station()
    solution = solve(problem)
    check(problem, solution)  # main's scheduler: "trip 1: lunch at 41400 s overlaps ..."
    days = {day.truck: day for day in solution.trucks}
    # A's own truck: 07:00-12:40 to the plant and back home before the latest lunch start (no
    # break owed); a second trip would break first and be back only at 19:05, after its shift
    (own_trip,) = days["A#1"].trips
    assert own_trip.end_s == SHIFT_START_S + 2 * PLANT_ONE_WAY_S + SWAP_S + UNLOAD_S
    assert own_trip.end_s <= LATEST_LUNCH_S
    assert days["A#1"].lunch_start_s is None
    # B's truck would reach A at 07:30 and be back at 13:10, after the latest lunch start:
    # it takes the break first, and the break opens its day
    borrowed = days["B#1"]
    (trip,) = borrowed.trips
    assert borrowed.lunch_start_s == WINDOW_START_S == borrowed.depot_departure_s
    assert trip.arrival_s == WINDOW_START_S + LUNCH_S + 1800  # then the 30 min drive to A
    assert borrowed.depot_return_s <= SHIFT_END_S
    # the third container fits no truck's shift now (A's truck alone could have made it)
    assert [(u.station, u.load_kg, u.reason) for u in solution.unmoved] == [("A", 8000, FLEET_FULL)]


def test_the_verifier_rejects_a_break_before_the_depot_departure():
    problem = _busy_station()
    solution = solve(problem)
    borrowed = next(day for day in solution.trucks if day.truck == "B#1")
    # main's plan: the break before departing, the day starting when it ends
    late = dataclasses.replace(borrowed, depot_departure_s=WINDOW_START_S + LUNCH_S)
    tampered = dataclasses.replace(
        solution,
        trucks=tuple(late if day.truck == "B#1" else day for day in solution.trucks),
    )
    violations = verify(problem, tampered)
    expected = "truck 'B#1' of station 'B' trip 1 (station 'A'): lunch at 41400 s overlaps"
    assert any(v.startswith(expected) for v in violations)


def test_every_truck_of_a_far_station_takes_lunch_first_and_the_plan_verifies():
    # a station 3 h from the plant (the 20,000-point county has stations up to 4 h 15 min from
    # it): each round trip takes 6 h 20 min, so every truck breaks first and makes one trip
    far = DURATION.copy()
    far[0, 2] = far[2, 0] = 3 * H
    problem = dataclasses.replace(
        _busy_station(containers=5),
        duration_s=far,
        distance_m=far * 12,
        trucks=tuple(_truck(f"A#{n}", "A", 0) for n in range(1, 4)),
    )
    solution = solve(problem)
    check(problem, solution)
    assert len(solution.trucks) == 3
    for day in solution.trucks:
        (trip,) = day.trips
        assert day.depot_departure_s == day.lunch_start_s == WINDOW_START_S
        assert trip.start_s == WINDOW_START_S + LUNCH_S
        assert day.depot_return_s - day.depot_departure_s <= MAX_DURATION_S
    assert [(u.load_kg, u.reason) for u in solution.unmoved] == [(2 * 8000, FLEET_FULL)]


def test_a_trip_no_truck_can_make_even_alone_says_so():
    # 4 h each way: 8 h 20 min from 07:00 would end after the latest lunch start, and from the
    # break's end (12:15) after the 19:00 end of the shift; trips are not split by the break
    far = DURATION.copy()
    far[0, 2] = far[2, 0] = 4 * H
    problem = dataclasses.replace(_busy_station(), duration_s=far, distance_m=far * 12)
    solution = solve(problem)
    check(problem, solution)
    assert not solution.trucks
    assert [(u.station, u.load_kg, u.reason) for u in solution.unmoved] == [
        ("A", 3 * 8000, NO_TRUCK)
    ]
