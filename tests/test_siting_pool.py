"""Route-pool recombination (`sanitation.siting.RoutePool.partition`): a set-partitioning MIP."""

from __future__ import annotations

import itertools

import numpy as np

from sanitation.siting import RoutePool, SitingProblem

SITE_X = np.array([0.0, 10.0])  # A, B on a line
CUSTOMER_X = np.array([1.0, 2.0, 3.0, 9.0])
FIXED = 10.0


def line_cost(site: int, route: tuple[int, ...]) -> float:
    """Fixed cost + the tour from the site along the line and back."""
    xs = [SITE_X[site], *CUSTOMER_X[list(route)]]
    return FIXED + 2.0 * (max(xs) - min(xs))


def _problem(capacity_a: int) -> SitingProblem:
    return SitingProblem(
        opening_cost=np.array([0.0, 5.0]),
        capacity=np.array([capacity_a, 4]),
        demand=np.ones(4, dtype=int),
        allowed=np.ones((4, 2), dtype=bool),
        assign_cost=np.zeros((4, 2)),
        estimate=np.zeros((4, 2)),
    )


POOL = [
    (0, (0, 1, 2, 3)),
    (0, (0, 1, 2)),
    (0, (0, 1)),
    (0, (2,)),
    (0, (3,)),
    (1, (3, 2)),
    (1, (3,)),
    (1, (2,)),
    (1, (3, 2, 1, 0)),
]


def _brute_force(problem: SitingProblem) -> float:
    """Cheapest exact partition of the customers by POOL routes within the site capacities."""
    best = float("inf")
    for k in range(1, len(POOL) + 1):
        for combo in itertools.combinations(POOL, k):
            seen = sorted(c for _, r in combo for c in r)
            if seen != [0, 1, 2, 3]:
                continue
            load = np.zeros(2)
            for j, r in combo:
                load[j] += len(r)
            if np.any(load > problem.capacity):
                continue
            used = {j for j, _ in combo}
            cost = sum(line_cost(j, r) for j, r in combo)
            best = min(best, cost + sum(problem.opening_cost[j] for j in used))
    return best


def _solve(problem: SitingProblem):
    pool = RoutePool(line_cost)
    for site, route in POOL:
        pool.add(site, route)
    return pool.partition(problem, time_limit_s=5.0, seed=1)


def test_partition_picks_cheapest_cover_within_site_capacity():
    free = _solve(_problem(capacity_a=4))
    assert free is not None
    # without a binding capacity: everything from A on one route (28)
    assert free[2] == 28.0
    assert list(free[0]) == [0, 0, 0, 0]
    tight = _problem(capacity_a=2)
    got = _solve(tight)
    assert got is not None
    site_of, groups, value = got
    assert value == _brute_force(tight)
    assert value > 28.0
    load = np.bincount(site_of, minlength=2)
    assert np.all(load <= tight.capacity)
    covered = sorted(c for g in groups.values() for r in g.routes for c in r)
    assert covered == [0, 1, 2, 3]
    opened = sorted(groups)
    total = sum(g.cost for g in groups.values()) + tight.opening_cost[opened].sum()
    assert total == value


def test_partition_respects_fixed_closed():
    problem = SitingProblem(
        opening_cost=np.array([0.0, 5.0]),
        capacity=np.array([4, 4]),
        demand=np.ones(4, dtype=int),
        allowed=np.ones((4, 2), dtype=bool),
        assign_cost=np.zeros((4, 2)),
        estimate=np.zeros((4, 2)),
        fixed_closed=np.array([True, False]),
    )
    got = _solve(problem)
    assert got is not None
    assert set(got[0].tolist()) == {1}
    assert got[2] == line_cost(1, (3, 2, 1, 0)) + 5.0


def test_overlapping_routes_keep_each_customer_once():
    pool = RoutePool(line_cost)
    pool.add(0, (0, 1))
    pool.add(0, (1, 2, 3))
    # the cover counts customer 1 twice in A's load (a safe over-estimate): room for 5
    got = pool.partition(_problem(capacity_a=5), time_limit_s=5.0, seed=1)
    assert got is not None
    _, groups, _ = got
    routes = [r for g in groups.values() for r in g.routes]
    assert sorted(c for r in routes for c in r) == [0, 1, 2, 3]
    assert groups[0].cost == sum(line_cost(0, r) for r in routes)


def test_partition_with_open_sites_fixed():
    pool = RoutePool(line_cost)
    for site, route in POOL:
        pool.add(site, route)
    only_b = np.array([False, True])
    got = pool.partition(_problem(capacity_a=4), time_limit_s=5.0, seed=1, open_sites=only_b)
    assert got is not None
    assert set(got[0].tolist()) == {1}
    # B opened (5) although A alone is cheaper (28)
    assert got[2] == line_cost(1, (3, 2, 1, 0)) + 5.0
