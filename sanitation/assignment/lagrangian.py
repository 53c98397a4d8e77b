"""Lagrangian relaxation of the assignment constraints: a lower bound and a primal guide.

Relaxing ``sum_i x_ij = 1`` with multipliers ``lambda_j`` splits the problem by station: station
``i`` is worth ``v_i = f_i + min {sum_j (c_ij - lambda_j) x_ij : sum_j d_j x_ij <= s_i,
0 <= x_ij <= 1}`` (a continuous knapsack, solved greedily by cost per kg). The stations are then
chosen by the LP relaxation of ``min sum_i v_i y_i`` subject to ``sum_i s_i y_i >= total demand``
(the aggregate capacity cut), which keeps the bound valid and at least as strong as the LP
relaxation of the strong formulation. Subgradient steps (Polyak, target = best primal cost) update
``lambda``; a greedy assignment to the stations the relaxation opens gives primal solutions.

With expansion modules the stations are taken at full expansion and the bound is not reported.

It stops after ``max_iterations`` (deterministic) or at ``time_limit_s`` (the hard cap; the
result then says ``stopped_by_time``), whichever comes first, or on convergence.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from sanitation.assignment.problem import FORCED_CLOSED, FORCED_OPEN


@dataclass(frozen=True)
class LagrangianResult:
    """Best bound (``-inf`` when not valid), station values at the best multipliers, best primal."""

    bound: float
    value: np.ndarray  # (m,) v_i at the best multipliers
    opened: np.ndarray  # (m,) bool, stations the best relaxation opens
    primal_open: np.ndarray | None  # (m,) bool
    primal_shares: np.ndarray | None  # (u, m)
    primal_cost: float
    iterations: int
    stopped_by_time: bool = False


def _station_values(
    cost_t: np.ndarray,
    usable_t: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    lam: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Continuous knapsack per station. Returns g (m,) and x (m, u)."""
    reduced = cost_t - lam[None, :]
    take = usable_t & (reduced < 0)
    safe_d = np.maximum(demand, 1e-9)
    ratio = np.where(take, reduced / safe_d[None, :], np.inf)
    order = np.argsort(ratio, axis=1, kind="stable")
    d_sorted = np.where(np.take_along_axis(take, order, axis=1), demand[order], 0.0)
    before = np.cumsum(d_sorted, axis=1) - d_sorted
    room = capacity[:, None] - before
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(
            d_sorted > 0, np.clip(room / np.where(d_sorted > 0, d_sorted, 1), 0, 1), 1.0
        )
    frac = np.where(np.take_along_axis(take, order, axis=1), frac, 0.0)
    x = np.zeros_like(frac)
    np.put_along_axis(x, order, frac, axis=1)
    g = (x * np.where(take, reduced, 0.0)).sum(axis=1)
    return g, x


def _choose(
    value: np.ndarray, capacity: np.ndarray, status: np.ndarray, total: float
) -> np.ndarray:
    """LP of min sum v_i y_i s.t. sum s_i y_i >= total, forced statuses; y in [0, 1]."""
    y = np.zeros(value.shape[0])
    free = status == 0
    y[status == FORCED_OPEN] = 1.0
    y[free & (value < 0)] = 1.0
    short = total - float((capacity * y).sum())
    if short > 1e-9:
        candidates = np.flatnonzero(free & (y == 0) & (capacity > 0))
        order = candidates[np.argsort(value[candidates] / capacity[candidates], kind="stable")]
        for i in order:
            part = min(1.0, short / capacity[i])
            y[i] = part
            short -= part * capacity[i]
            if short <= 1e-9:
                break
    return y


def greedy_assign(
    cost: np.ndarray,
    usable: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    fixed: np.ndarray,
    open_: np.ndarray,
    *,
    single_source: bool,
) -> tuple[np.ndarray, float] | None:
    """Assign units by largest regret to their cheapest open station with room.

    Returns ``(shares (u, m), cost)`` or None when a unit does not fit.
    """
    u, m = cost.shape
    allowed = usable & open_[None, :]
    big = np.where(allowed, cost, np.inf)
    if not np.all(np.isfinite(big.min(axis=1))):
        return None
    sorted_costs = np.sort(big, axis=1)
    second = sorted_costs[:, 1] if m > 1 else sorted_costs[:, 0]
    regret = np.where(np.isfinite(second), second - sorted_costs[:, 0], 1e18)
    order = np.lexsort((-demand, -regret))
    room = capacity.astype(float) * open_
    shares = np.zeros((u, m))
    for j in order:
        need = float(demand[j])
        left = 1.0
        for i in np.argsort(big[j], kind="stable"):
            if not np.isfinite(big[j, i]):
                return None
            if single_source:
                if room[i] >= need:
                    shares[j, i] = 1.0
                    room[i] -= need
                    left = 0.0
                    break
                continue
            if room[i] <= 0:
                continue
            part = 1.0 if need == 0 else min(left, room[i] / need)
            shares[j, i] += part
            room[i] -= part * need
            left -= part
            if left <= 1e-12:
                break
        if left > 1e-9:
            return None
    used = shares.sum(axis=0) > 0
    total = float((cost * shares).sum() + fixed[used].sum())
    return shares, total


def lagrangian(
    cost: np.ndarray,
    usable: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    fixed: np.ndarray,
    status: np.ndarray,
    *,
    single_source: bool,
    bound_valid: bool,
    time_limit_s: float,
    max_iterations: int = 2000,
) -> LagrangianResult:
    """Subgradient optimisation of the Lagrangian dual (see the module docstring): at most
    ``max_iterations``, stopped at ``time_limit_s`` seconds."""
    start = time.perf_counter()
    demand = demand.astype(float)
    capacity = np.where(status == FORCED_CLOSED, 0, capacity).astype(float)
    usable = usable & (capacity > 0)[None, :]
    cost_t, usable_t = cost.T, usable.T
    total = float(demand.sum())
    masked = np.where(usable, cost, np.inf)
    lam = masked.min(axis=1)
    best_bound, best_lam = -math.inf, lam.copy()
    best_primal: tuple[np.ndarray, np.ndarray, float] | None = None
    theta, stall, iterations = 2.0, 0, 0
    target = None
    clock = False
    for iterations in range(1, max_iterations + 1):
        g, x = _station_values(cost_t, usable_t, demand, capacity, lam)
        value = fixed + g
        y = _choose(value, capacity, status, total)
        bound = float(lam.sum() + (value * y).sum())
        if bound > best_bound + 1e-9 * max(1.0, abs(bound)):
            best_bound, best_lam, stall = bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
        if iterations % 10 == 1 or best_primal is None:
            opened = (y > 0.5) | (status == FORCED_OPEN)
            if float(capacity[opened].sum()) < total:
                opened = y > 0
            found = greedy_assign(
                cost, usable, demand, capacity, fixed, opened, single_source=single_source
            )
            if found is not None and (best_primal is None or found[1] < best_primal[2]):
                best_primal = (found[0].sum(axis=0) > 0, found[0], found[1])
        target = best_primal[2] if best_primal is not None else abs(best_bound) * 1.05 + 1.0
        subgradient = 1.0 - (x * y[:, None]).sum(axis=0)
        norm = float((subgradient**2).sum())
        if norm < 1e-12 or target - bound <= 1e-7 * max(1.0, abs(target)):
            break
        lam = lam + theta * (target - bound) / norm * subgradient
        if theta < 1e-4:
            break
        if time.perf_counter() - start > time_limit_s:
            clock = iterations < max_iterations
            break
    g, _ = _station_values(cost_t, usable_t, demand, capacity, best_lam)
    value = fixed + g
    opened = _choose(value, capacity, status, total) > 0
    return LagrangianResult(
        bound=best_bound if bound_valid else -math.inf,
        value=value,
        opened=opened,
        primal_open=None if best_primal is None else best_primal[0],
        primal_shares=None if best_primal is None else best_primal[1],
        primal_cost=math.inf if best_primal is None else best_primal[2],
        iterations=iterations,
        stopped_by_time=clock,
    )
