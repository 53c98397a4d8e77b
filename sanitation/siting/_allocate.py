"""Capacity-respecting allocation with given prices: the project's facility-location MIP.

`allocate` hands the prices to `sanitation.assignment` (single source, site capacities and
expansion modules, the sites' fixed status, groups kept together) and returns the open sites and
the site of each customer, or None when no allocation fits.
"""

from __future__ import annotations

import numpy as np

from sanitation.assignment import AssignmentParams, AssignmentProblem, solve
from sanitation.assignment.problem import FORCED_CLOSED, FORCED_OPEN, FREE
from sanitation.errors import InfeasibleError
from sanitation.siting.problem import BoolArray, FloatArray, IntArray, SitingProblem


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
    n = problem.n_customers
    assignment = AssignmentProblem(
        point_ids=tuple(problem.customer_name(i) for i in range(n)),
        station_ids=tuple(problem.site_name(j) for j in range(m)),
        demand_kg=problem.demand,
        capacity_kg=problem.capacity,
        fixed_cost_cny=problem.opening_cost,
        collection_cost_cny=np.maximum(prices, 0.0),
        travel_s=np.zeros((n, m), dtype=np.int64),
        allowed=problem.allowed,
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
