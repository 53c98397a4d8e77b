"""The assignment model the exact engines and heuristics share: units to assign (points, or
whole village groups kept together), stations, and the usable pairs indexed once.

Units: kg/day, CNY/day. Private to `sanitation.assignment`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sanitation.assignment.problem import FORCED_CLOSED, AssignmentProblem

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Pairs:
    """The usable (unit, station) pairs of a model, indexed once for every engine.

    Pair ``k`` is unit ``rows[k]`` at station ``cols[k]``; ``by_unit[j]`` and ``by_station[i]``
    list the pairs of a unit and of a station.
    """

    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    by_unit: tuple[list[int], ...]
    by_station: tuple[list[int], ...]


@dataclass(frozen=True, eq=False)
class Model:
    """Units to assign (points, or whole groups when kept together) and the stations."""

    demand_kg: IntArray  # (u,) kg/day
    cost_cny: FloatArray  # (u, m) CNY/day, full demand
    usable: BoolArray  # (u, m)
    members: tuple[IntArray, ...]  # point indices of each unit
    capacity_kg: IntArray  # (m,) kg/day
    fixed_cny: FloatArray  # (m,) CNY/day
    status: IntArray  # (m,) FORCED_OPEN / FORCED_CLOSED / free
    module_capacity_kg: IntArray  # (m,) kg/day per expansion module
    module_cost_cny: FloatArray  # (m,) CNY/day per expansion module
    module_max: IntArray  # (m,)
    single_source: bool

    @property
    def max_capacity_kg(self) -> IntArray:
        """Capacity with every expansion module, 0 when forced closed (kg/day)."""
        cap = self.capacity_kg + self.module_capacity_kg * self.module_max
        return np.where(self.status == FORCED_CLOSED, 0, cap)

    @property
    def expandable(self) -> list[int]:
        """Stations that may get expansion modules."""
        return np.flatnonzero((self.module_max > 0) & (self.status != FORCED_CLOSED)).tolist()

    @functools.cached_property
    def pairs(self) -> Pairs:
        """The usable pairs (computed on first use, then shared by every engine)."""
        u, m = self.usable.shape
        rows, cols = np.nonzero(self.usable)
        by_unit: tuple[list[int], ...] = tuple([] for _ in range(u))
        by_station: tuple[list[int], ...] = tuple([] for _ in range(m))
        for k, (j, i) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
            by_unit[j].append(k)
            by_station[i].append(k)
        return Pairs(rows, cols, by_unit, by_station)

    def restricted(self, keep: BoolArray) -> Model:
        """The same model with stations outside ``keep`` forced closed."""
        status = np.where(keep, self.status, FORCED_CLOSED)
        return dataclasses.replace(self, status=status, usable=self.usable & keep[None, :])


def reduce_problem(problem: AssignmentProblem) -> Model:
    """The model of a problem: one unit per point, or per group when kept together."""
    cost = np.asarray(problem.assign_cost_cny)
    usable = np.asarray(problem.usable)
    demand = np.asarray(problem.demand_kg)
    if problem.keep_groups_together:
        _, inverse = np.unique(np.asarray(problem.group), return_inverse=True)
        members = tuple(np.flatnonzero(inverse == g) for g in range(inverse.max() + 1))
        demand = np.array([demand[idx].sum() for idx in members], dtype=np.int64)
        cost = np.array([cost[idx].sum(axis=0) for idx in members])
        usable = np.array([usable[idx].all(axis=0) for idx in members])
    else:
        members = tuple(np.array([j]) for j in range(problem.num_points))
    return Model(
        demand_kg=demand,
        cost_cny=cost,
        usable=usable,
        members=members,
        capacity_kg=np.asarray(problem.capacity_kg),
        fixed_cny=np.asarray(problem.fixed_cost_cny),
        status=np.asarray(problem.status),
        module_capacity_kg=np.asarray(problem.expansion_capacity_kg),
        module_cost_cny=np.asarray(problem.expansion_cost_cny),
        module_max=np.asarray(problem.expansion_max),
        single_source=problem.single_source,
    )


@dataclass(frozen=True, eq=False)
class Plan:
    """Open stations, expansion modules and each unit's shares of a solution."""

    open: BoolArray  # (m,)
    modules: IntArray  # (m,)
    shares: FloatArray  # (u, m)


@dataclass(frozen=True)
class Result:
    """What an engine or heuristic returns: a plan (if any), its CNY/day, a proven lower bound,
    whether it is proven optimal or the model infeasible, which engine produced it, whether the
    wall clock (not its work budget) stopped a run it rests on, and the work it did (reference
    seconds, see `sanitation.assignment._work`)."""

    plan: Plan | None  # None when no solution was found
    objective_cny: float  # math.inf when no solution
    bound_cny: float
    optimal: bool
    infeasible: bool
    solver: str
    stopped_by_time: bool = False
    work_s: float = 0.0


def empty_result(
    solver: str,
    bound_cny: float = -math.inf,
    *,
    infeasible: bool = False,
    stopped_by_time: bool = False,
    work_s: float = 0.0,
) -> Result:
    """A result without a plan (none found, or the model is infeasible)."""
    return Result(None, math.inf, bound_cny, False, infeasible, solver, stopped_by_time, work_s)
