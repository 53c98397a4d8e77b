"""Capacity-respecting allocation with given prices: the project's facility-location MIP.

`allocate` hands the prices to `sanitation.assignment` (single source, site capacities and
expansion modules, the sites' fixed status, groups kept together) and returns the open sites and
the site of each customer, or None when no allocation fits.

Large counties: each customer (or group) is offered only its `KEEP_SITES` cheapest usable sites
by price, so that the MIP has ``customers × KEEP_SITES`` columns rather than one per site (on a
20,000-point county with 40 sites SCIP needed about 4 GB on the full model). Where the answer
puts a customer at the dearest site it was offered, or nothing fits, the cut may bind: the
allocation is solved again with twice as many sites each, up to all of them.
"""

from __future__ import annotations

import numpy as np

from sanitation.assignment import AssignmentParams, AssignmentProblem, solve
from sanitation.assignment.problem import FORCED_CLOSED, FORCED_OPEN, FREE
from sanitation.errors import InfeasibleError
from sanitation.siting.problem import BoolArray, FloatArray, IntArray, SitingProblem

#: sites offered to each customer (group) at first: its cheapest by price (assumed; a county
#: point's station is nearly always among its few nearest, and a binding cut widens it)
KEEP_SITES = 8


def allocate(
    problem: SitingProblem,
    prices: FloatArray,
    *,
    open_sites: BoolArray | None,
    time_limit_s: float,
    seed: int,
    timeout_is_error: bool = False,
) -> tuple[BoolArray, IntArray, float] | None:
    """Open sites, site of each customer and objective minimising opening + expansion modules
    + ``prices``.

    With ``open_sites`` the sites open are exactly those (the others closed); otherwise the model
    chooses within ``fixed_open`` / ``fixed_closed`` and the open sites are those used plus the
    fixed open ones. None when nothing fits the capacities, or when the MIP found nothing in its
    time (with ``timeout_is_error``: RuntimeError then, None only for a proven infeasible model).
    """
    m = problem.n_sites
    if open_sites is None:
        status = np.full(m, FREE)
        status[problem.must_open] = FORCED_OPEN
        status[problem.must_close] = FORCED_CLOSED
    else:
        status = np.where(open_sites, FORCED_OPEN, FORCED_CLOSED)
        usable = problem.allowed & open_sites[None, :]
        if not usable.any(axis=1).all():
            return None
        if int(problem.max_capacity[open_sites].sum()) < int(problem.demand.sum()):
            return None
    usable = problem.allowed if open_sites is None else problem.allowed & open_sites[None, :]
    keep = KEEP_SITES
    while True:
        offered = _cheapest(problem, prices, usable, keep)
        got = _allocate_offered(
            problem, prices, offered, status, open_sites, time_limit_s, seed, timeout_is_error
        )
        if keep >= problem.n_sites or not _cut_may_bind(problem, prices, usable, offered, got):
            return got
        keep *= 2


def _cheapest(
    problem: SitingProblem, prices: FloatArray, usable: BoolArray, keep: int
) -> BoolArray:
    """``usable`` cut to each customer's ``keep`` cheapest usable sites (a group's by the sum of
    its customers' prices, the same sites for all of them)."""
    if keep >= problem.n_sites:
        return usable
    groups = problem.group if problem.group is not None else np.arange(problem.n_customers)
    _, unit = np.unique(groups, return_inverse=True)
    unit_price = np.zeros((int(unit.max()) + 1, problem.n_sites))
    np.add.at(unit_price, unit, np.where(usable, prices, 0.0))
    unit_usable = np.zeros(unit_price.shape, dtype=bool)
    np.logical_or.at(unit_usable, unit, usable)
    ranked = np.where(unit_usable, unit_price, np.inf)
    order = np.argsort(ranked, axis=1, kind="stable")[:, :keep]
    offered = np.zeros(unit_price.shape, dtype=bool)
    np.put_along_axis(offered, order, True, axis=1)
    return usable & offered[unit]


def _cut_may_bind(
    problem: SitingProblem,
    prices: FloatArray,
    usable: BoolArray,
    offered: BoolArray,
    got: tuple[BoolArray, IntArray, float] | None,
) -> bool:
    """Whether the cut to ``offered`` may have changed the answer: something was cut and either
    nothing fitted, or a customer with sites cut off ended at the dearest site it was offered."""
    cut = (usable & ~offered).any(axis=1)
    if not cut.any():
        return False
    if got is None:
        return True
    rows = np.arange(problem.n_customers)
    dearest = np.where(offered, prices, -np.inf).max(axis=1)
    return bool((cut & (prices[rows, got[1]] >= dearest)).any())


def _allocate_offered(
    problem: SitingProblem,
    prices: FloatArray,
    allowed: BoolArray,
    status: IntArray,
    open_sites: BoolArray | None,
    time_limit_s: float,
    seed: int,
    timeout_is_error: bool,
) -> tuple[BoolArray, IntArray, float] | None:
    """`allocate` with each customer allowed only at its ``allowed`` sites."""
    m = problem.n_sites
    n = problem.n_customers
    assignment = AssignmentProblem(
        point_ids=tuple(problem.customer_name(i) for i in range(n)),
        station_ids=tuple(problem.site_name(j) for j in range(m)),
        demand_kg=problem.demand,
        capacity_kg=problem.capacity,
        fixed_cost_cny=problem.opening_cost,
        collection_cost_cny=np.maximum(prices, 0.0),
        travel_s=np.zeros((n, m), dtype=np.int64),
        allowed=allowed,
        status=status,
        expansion_capacity_kg=problem.expansion_capacity,
        expansion_cost_cny=problem.expansion_cost,
        expansion_max=problem.expansion_max,
        group=problem.group,
        keep_groups_together=problem.group is not None,
    )
    params = AssignmentParams(time_limit_s=max(0.2, time_limit_s), engine="mip", relative_gap=1e-5)
    try:
        solution = solve(assignment, params, seed=seed)
    except InfeasibleError:
        return None
    except RuntimeError:
        if timeout_is_error:
            raise
        return None
    site_of = np.asarray(solution.station_of, dtype=np.int64)
    # open = used or fixed open (a free site the model left open without customers is not)
    opened = np.zeros(m, dtype=bool)
    opened[np.unique(site_of)] = True
    opened |= problem.must_open if open_sites is None else open_sites
    rows = np.arange(n)
    objective = float(problem.opening_cost[opened].sum() + prices[rows, site_of].sum())
    return opened, site_of, objective + problem.expansion_total(site_of)
