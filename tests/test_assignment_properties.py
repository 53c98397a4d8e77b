"""Property tests on small random instances, checked against brute-force enumeration."""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanitation.assignment import (
    FORCED_CLOSED,
    FORCED_OPEN,
    AssignmentParams,
    AssignmentProblem,
    solve,
)
from sanitation.errors import InfeasibleError

PARAMS = AssignmentParams(time_limit_s=10)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    allowed = rng.random((n, m)) < 0.9
    return AssignmentProblem(
        point_ids=tuple(f"p{j}" for j in range(n)),
        station_ids=tuple(f"s{i}" for i in range(m)),
        demand_kg=rng.integers(1, 60, n),
        capacity_kg=rng.integers(20, 200, m),
        fixed_cost_cny=rng.integers(0, 40, m).astype(float),
        collection_cost_cny=rng.integers(0, 30, (n, m)).astype(float),
        travel_s=rng.integers(0, 3600, (n, m)),
        allowed=allowed,
        status=rng.choice([0, 0, 0, FORCED_OPEN, FORCED_CLOSED], m),
        group=rng.integers(0, 3, n),
        keep_groups_together=bool(draw(st.booleans())),
    )


def brute_force(problem):
    """Cheapest single-source assignment by enumeration, or None if none exists."""
    n, m = problem.num_points, problem.num_stations
    best = None
    for choice in itertools.product(range(m), repeat=n):
        station = np.array(choice)
        if not problem.usable[np.arange(n), station].all():
            continue
        if problem.keep_groups_together and any(
            len(set(station[problem.group == g])) > 1 for g in np.unique(problem.group)
        ):
            continue
        load = np.bincount(station, weights=problem.demand_kg, minlength=m)
        if np.any(load > problem.capacity_kg):
            continue
        open_ = (load > 0) | (problem.status == FORCED_OPEN)
        open_[station] = True  # zero-demand points still use an open station
        cost = problem.fixed_cost_cny[open_].sum()
        cost += problem.assign_cost_cny[np.arange(n), station].sum()
        best = cost if best is None else min(best, cost)
    return best


def check(problem, solution):
    n = problem.num_points
    # single sourcing: exactly one station per point, with its whole demand
    assert (solution.shares > 0).sum(axis=1).tolist() == [1] * n
    np.testing.assert_allclose(solution.shares.sum(axis=1), 1.0)
    assert problem.usable[np.arange(n), solution.station_of].all()
    load = np.bincount(solution.station_of, weights=problem.demand_kg, minlength=len(solution.open))
    np.testing.assert_allclose(solution.load_kg, load)
    assert np.all(load <= solution.capacity_kg)
    assert solution.open[solution.station_of].all()
    # forced statuses honoured
    assert solution.open[problem.status == FORCED_OPEN].all()
    assert not solution.open[problem.status == FORCED_CLOSED].any()
    if problem.keep_groups_together:
        for g in np.unique(problem.group):
            assert len(set(solution.station_of[problem.group == g].tolist())) == 1


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from(["auto", "portfolio", "mip", "cpsat"]))
def test_solution_is_feasible_and_optimal(problem, engine):
    expected = brute_force(problem)
    params = AssignmentParams(time_limit_s=10, engine=engine)
    if expected is None:
        with pytest.raises(InfeasibleError):
            solve(problem, params, seed=1)
        return
    solution = solve(problem, params, seed=1)
    check(problem, solution)
    assert solution.optimal
    assert solution.objective_cny == pytest.approx(expected)


@settings(max_examples=10, deadline=None)
@given(problems(), st.data())
def test_forcing_a_station_is_honoured(problem, data):
    station = data.draw(st.integers(0, problem.num_stations - 1))
    status = problem.status.copy()
    status[station] = data.draw(st.sampled_from([FORCED_OPEN, FORCED_CLOSED]))
    forced = problem.replace(status=status)
    try:
        solution = solve(forced, PARAMS, seed=2)
    except InfeasibleError:
        assert brute_force(forced) is None
        return
    check(forced, solution)
    assert solution.open[station] == (status[station] == FORCED_OPEN)
