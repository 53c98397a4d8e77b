"""AssignmentProblem validation and the build_problem cost estimate."""

import numpy as np
import pytest

from sanitation.assignment import (
    FORCED_CLOSED,
    FORCED_OPEN,
    AssignmentProblem,
    build_problem,
    collection_cost_cny,
    status_codes,
)


def _problem(**changes):
    fields = {
        "point_ids": ("p1", "p2"),
        "station_ids": ("A", "B"),
        "demand_kg": np.array([100, 200]),
        "capacity_kg": np.array([500, 500]),
        "fixed_cost_cny": np.array([10.0, 20.0]),
        "collection_cost_cny": np.ones((2, 2)),
        "travel_s": np.zeros((2, 2), dtype=int),
        "allowed": np.ones((2, 2), dtype=bool),
    }
    fields.update(changes)
    return AssignmentProblem(**fields)


def test_valid_problem_is_read_only():
    problem = _problem()
    assert problem.num_points == 2
    assert problem.num_stations == 2
    with pytest.raises(ValueError, match="read-only"):
        problem.demand_kg[0] = 5
    np.testing.assert_array_equal(problem.assign_cost_cny, np.ones((2, 2)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"demand_kg": np.array([1, 2, 3])}, "demand_kg must have shape"),
        ({"demand_kg": np.array([1.5, 2])}, "demand_kg must hold integers"),
        ({"demand_kg": np.array([-1, 2])}, "demand_kg must be >= 0"),
        ({"capacity_kg": np.array([1, -5])}, "capacity_kg must be >= 0"),
        ({"fixed_cost_cny": np.array([np.nan, 1.0])}, "fixed_cost_cny must be finite"),
        ({"collection_cost_cny": -np.ones((2, 2))}, "collection_cost_cny must be >= 0"),
        ({"allowed": np.ones((2, 2))}, "allowed must be a boolean array"),
        ({"status": np.array([0, 7])}, "status of station 'B'"),
        ({"point_ids": ("p1", "p1")}, "point_ids must be unique"),
        ({"station_ids": ()}, "station_ids must not be empty"),
        ({"expansion_max": np.array([1, 0])}, "expansion_capacity_kg of station 'A'"),
        ({"township": np.array([0, 1])}, "township and station_township"),
        ({"single_source": False, "keep_groups_together": True}, "keep_groups_together"),
    ],
)
def test_validation_names_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        _problem(**changes)


def test_replace_makes_a_validated_copy():
    problem = _problem()
    closed = problem.replace(status=np.array([FORCED_CLOSED, FORCED_OPEN]))
    assert problem.status.tolist() == [0, 0]
    assert closed.status.tolist() == [FORCED_CLOSED, FORCED_OPEN]
    assert not closed.usable[:, 0].any()
    with pytest.raises(ValueError, match="capacity_kg"):
        problem.replace(capacity_kg=np.array([1]))


def test_township_preference_cost_per_tonne():
    problem = _problem(
        township=np.array([0, 1]),
        station_township=np.array([0, 0]),
        township_penalty_cny_per_t=50.0,
    )
    # p2 (0.2 t) outside its township at both stations; p1 at home in both.
    np.testing.assert_allclose(problem.preference_cost_cny, [[0, 0], [10.0, 10.0]])


def test_status_codes_from_names():
    assert status_codes(["free", "forced_open", "forced_closed"]).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"status\[1\]"):
        status_codes(["free", "open"])


def test_collection_cost_formula():
    # 3 t/day, 6 t truck -> 0.5 trips/day; a trip is 2 x (1800 s, 10 km):
    # 2 x 0.5 h x 120 CNY/h + 2 x 10 km x 3 CNY/km = 180 CNY per trip -> 90 CNY/day.
    cost = collection_cost_cny(
        np.array([3000]),
        np.array([[1800]]),
        np.array([[10_000]]),
        truck_capacity_kg=6000,
        truck_cost_cny_per_h=120,
        truck_cost_cny_per_km=3,
    )
    np.testing.assert_allclose(cost, [[90.0]])


def test_build_problem_costs_and_mask():
    problem = build_problem(
        point_ids=["p1", "p2"],
        station_ids=["A", "B"],
        demand_kg=np.array([3000, 1000]),
        capacity_kg=np.array([10_000, 10_000]),
        fixed_cost_cny=np.array([100.0, 200.0]),
        travel_s=np.array([[1800, 4000], [600, 600]]),
        distance_m=np.array([[10_000, 40_000], [5_000, 5_000]]),
        truck_capacity_kg=6000,
        truck_cost_cny_per_h=120,
        truck_cost_cny_per_km=3,
        transfer_cost_cny_per_t=np.array([20.0, 30.0]),
        gate_fee_cny_per_t=100.0,
        accessible=np.array([[True, True], [True, False]]),
        max_travel_s=3600,
        status=["forced_open", "free"],
    )
    assert problem.allowed.tolist() == [[True, False], [True, False]]
    assert problem.collection_cost_cny[0, 0] == pytest.approx(90.0)
    assert problem.transfer_cost_cny[0].tolist() == pytest.approx([60.0, 90.0])
    assert problem.gate_fee_cny[1].tolist() == pytest.approx([100.0, 100.0])
    assert problem.assign_cost_cny[0, 0] == pytest.approx(90.0 + 60.0 + 300.0)
    assert problem.status.tolist() == [FORCED_OPEN, 0]


def test_build_problem_rejects_bad_truck():
    with pytest.raises(ValueError, match="truck_capacity_kg"):
        collection_cost_cny(
            np.array([1]),
            np.zeros((1, 1)),
            np.zeros((1, 1)),
            truck_capacity_kg=0,
            truck_cost_cny_per_h=1,
            truck_cost_cny_per_km=1,
        )
