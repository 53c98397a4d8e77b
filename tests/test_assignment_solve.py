"""Solver: hand-checked optima, forced statuses, village groups, expansions, infeasibility."""

import numpy as np
import pytest

from sanitation.assignment import (
    FORCED_CLOSED,
    FORCED_OPEN,
    AssignmentParams,
    AssignmentProblem,
    solve,
)
from sanitation.errors import InfeasibleError

PARAMS = AssignmentParams(time_limit_s=10)


def tiny(**changes):
    """Stations A, B (100 kg, 10 CNY) and C (300 kg, 50 CNY); four points (200 kg).

    Single-source: A+B cannot pack 60/60/50/30 into 100/100, so C alone (50 + 4 x 3 = 62) beats
    A+C and B+C (60 + 1 + 2 + 3 + 3 = 69) and A+B+C (77). Split demand: A+B at 20 + 6 = 26.
    """
    fields = {
        "point_ids": ("p1", "p2", "p3", "p4"),
        "station_ids": ("A", "B", "C"),
        "demand_kg": np.array([60, 60, 50, 30]),
        "capacity_kg": np.array([100, 100, 300]),
        "fixed_cost_cny": np.array([10.0, 10.0, 50.0]),
        "collection_cost_cny": np.array(
            [[1.0, 5.0, 3.0], [5.0, 1.0, 3.0], [2.0, 2.0, 3.0], [2.0, 2.0, 3.0]]
        ),
        "travel_s": np.array([[60, 300, 180], [300, 60, 180], [120, 120, 180], [120, 120, 180]]),
        "allowed": np.ones((4, 3), dtype=bool),
    }
    fields.update(changes)
    return AssignmentProblem(**fields)


@pytest.mark.parametrize("engine", ["auto", "portfolio", "mip", "cpsat"])
def test_single_source_optimum(engine):
    solution = solve(tiny(), AssignmentParams(time_limit_s=10, engine=engine), seed=3)
    assert solution.objective_cny == pytest.approx(62.0)
    assert solution.optimal
    assert solution.best_bound_cny == pytest.approx(62.0)
    assert solution.open.tolist() == [False, False, True]
    assert solution.station_of.tolist() == [2, 2, 2, 2]
    assert solution.load_kg.tolist() == [0, 0, 200]
    assert solution.utilisation[2] == pytest.approx(200 / 300)
    assert solution.travel_s.tolist() == [180] * 4
    assert solution.cost.fixed_cny == 50.0
    assert solution.cost.collection_cny == 12.0


def test_multi_source_optimum_splits_demand():
    solution = solve(tiny(single_source=False), PARAMS, seed=1)
    assert solution.objective_cny == pytest.approx(26.0)
    assert solution.optimal
    assert solution.open.tolist() == [True, True, False]
    np.testing.assert_allclose(solution.shares.sum(axis=1), 1.0)
    assert solution.load_kg[:2] == pytest.approx([100, 100])


def test_multi_source_rejects_cpsat():
    with pytest.raises(ValueError, match="single-source"):
        solve(tiny(single_source=False), AssignmentParams(engine="cpsat"), seed=1)


def test_forced_open_station_is_opened():
    solution = solve(tiny(status=np.array([FORCED_OPEN, 0, 0])), PARAMS, seed=1)
    assert solution.objective_cny == pytest.approx(69.0)
    assert solution.open.tolist() == [True, False, True]
    assert solution.station_of.tolist() == [0, 2, 2, 0]


def test_forced_closed_makes_packing_infeasible():
    # Without C, 200 kg fits 2 x 100 kg in total but 60/60/50/30 cannot be packed.
    with pytest.raises(InfeasibleError, match="cannot be packed"):
        solve(tiny(status=np.array([0, 0, FORCED_CLOSED])), PARAMS, seed=1)


def test_keep_village_together():
    base = {
        "point_ids": ("v1-a", "v1-b"),
        "station_ids": ("A", "B"),
        "demand_kg": np.array([50, 50]),
        "capacity_kg": np.array([100, 100]),
        "fixed_cost_cny": np.zeros(2),
        "collection_cost_cny": np.array([[1.0, 2.0], [2.0, 1.0]]),
        "travel_s": np.zeros((2, 2), dtype=int),
        "allowed": np.ones((2, 2), dtype=bool),
        "group": np.array([7, 7]),
    }
    apart = solve(AssignmentProblem(**base), PARAMS, seed=1)
    assert apart.objective_cny == pytest.approx(2.0)
    assert apart.station_of.tolist() == [0, 1]
    together = solve(AssignmentProblem(**base, keep_groups_together=True), PARAMS, seed=1)
    assert together.objective_cny == pytest.approx(3.0)
    assert together.station_of[0] == together.station_of[1]


def test_expansion_module_bought_when_cheaper():
    problem = AssignmentProblem(
        point_ids=("p1", "p2"),
        station_ids=("A", "B"),
        demand_kg=np.array([60, 30]),
        capacity_kg=np.array([50, 100]),
        fixed_cost_cny=np.array([10.0, 100.0]),
        collection_cost_cny=np.ones((2, 2)),
        travel_s=np.zeros((2, 2), dtype=int),
        allowed=np.ones((2, 2), dtype=bool),
        expansion_capacity_kg=np.array([50, 0]),
        expansion_cost_cny=np.array([5.0, 0.0]),
        expansion_max=np.array([1, 0]),
    )
    for engine in ("mip", "cpsat"):
        solution = solve(problem, AssignmentParams(time_limit_s=10, engine=engine), seed=1)
        assert solution.objective_cny == pytest.approx(17.0)
        assert solution.modules.tolist() == [1, 0]
        assert solution.capacity_kg.tolist() == [100, 100]
        assert solution.cost.expansion_cny == 5.0


def test_township_preference_moves_a_point():
    problem = AssignmentProblem(
        point_ids=("p1",),
        station_ids=("A", "B"),
        demand_kg=np.array([2000]),
        capacity_kg=np.array([5000, 5000]),
        fixed_cost_cny=np.zeros(2),
        collection_cost_cny=np.array([[10.0, 12.0]]),
        travel_s=np.zeros((1, 2), dtype=int),
        allowed=np.ones((1, 2), dtype=bool),
        township=np.array([2]),
        station_township=np.array([1, 2]),
        township_penalty_cny_per_t=1.5,
    )
    # 2 t x 1.5 CNY/t = 3 CNY/day for leaving the township: B (12) beats A (10 + 3).
    solution = solve(problem, PARAMS, seed=1)
    assert solution.station_of.tolist() == [1]
    assert solution.cost.preference_cny == 0.0
    assert solve(problem.replace(township_penalty_cny_per_t=0.5), PARAMS, seed=1).station_of[0] == 0


def test_point_without_station_is_named():
    allowed = np.ones((4, 3), dtype=bool)
    allowed[2] = [False, False, True]
    allowed[3] = False
    with pytest.raises(InfeasibleError, match=r"1 point\(s\) have no station .*: p4") as info:
        solve(tiny(allowed=allowed), PARAMS, seed=1)
    assert len(info.value.causes) == 1
    # Forcing C closed also strands p3.
    with pytest.raises(InfeasibleError, match="p3, p4"):
        solve(tiny(allowed=allowed, status=np.array([0, 0, FORCED_CLOSED])), PARAMS, seed=1)


def test_group_without_common_station_is_named():
    allowed = np.ones((4, 3), dtype=bool)
    allowed[0] = [True, False, False]
    allowed[1] = [False, True, False]
    problem = tiny(allowed=allowed, group=np.array([1, 1, 2, 3]), keep_groups_together=True)
    with pytest.raises(InfeasibleError, match="no station usable by all of their points: group 1"):
        solve(problem, PARAMS, seed=1)


def test_point_larger_than_any_station_is_named():
    with pytest.raises(InfeasibleError, match=r"p2 need 0\.4 t/day .* takes 0\.3 t/day"):
        solve(tiny(demand_kg=np.array([60, 400, 50, 30])), PARAMS, seed=1)


def test_capacity_shortfall_is_named_per_station_group():
    # Two separate areas: {p1, p2} only reach A and B (2 x 100 kg) but make 250 kg.
    allowed = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=bool)
    problem = tiny(allowed=allowed, demand_kg=np.array([90, 160, 50, 30]))
    problem = problem.replace(capacity_kg=np.array([100, 100, 300]), single_source=False)
    with pytest.raises(InfeasibleError, match=r"stations A, B lack 0\.05 t/day") as info:
        solve(problem, PARAMS, seed=1)
    assert "p1, p2" in str(info.value)
    assert "C" not in str(info.value).split("lack")[0]


def test_total_capacity_shortfall():
    problem = tiny(single_source=False, demand_kg=np.array([200, 200, 100, 20]))
    with pytest.raises(InfeasibleError, match=r"all stations lack 0\.02 t/day"):
        solve(problem, PARAMS, seed=1)


def test_same_seed_same_solution():
    first = solve(tiny(), AssignmentParams(time_limit_s=10, engine="cpsat"), seed=5)
    second = solve(tiny(), AssignmentParams(time_limit_s=10, engine="cpsat"), seed=5)
    assert first.station_of.tolist() == second.station_of.tolist()
    assert first.objective_cny == second.objective_cny


def test_params_are_validated():
    with pytest.raises(ValueError, match="engine"):
        AssignmentParams(engine="gurobi")
    with pytest.raises(ValueError, match="time_limit_s"):
        AssignmentParams(time_limit_s=0)


@pytest.mark.parametrize(("single_source", "optimum"), [(True, 62.0), (False, 26.0)])
def test_large_instance_path_on_a_small_instance(single_source, optimum):
    # large_pairs=0 sends even the tiny instance through the Lagrangian-guided restriction;
    # the restricted set widens until it holds every station, which makes the proof global.
    params = AssignmentParams(time_limit_s=20, large_pairs=0, restrict_extra=1)
    solution = solve(tiny(single_source=single_source), params, seed=1)
    assert solution.objective_cny == pytest.approx(optimum)
    assert solution.optimal
    assert solution.solver in {"greedy", "lagrangian+scip", "lagrangian+cpsat"}
