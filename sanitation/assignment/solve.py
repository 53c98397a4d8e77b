"""Solve an `AssignmentProblem` with OR-Tools: SCIP through ``pywraplp``, and CP-SAT.

Engines (``AssignmentParams.engine``):

``auto`` (default)
    Small instances (usable point-station pairs <= ``large_pairs``): single-source runs the
    ``portfolio``; multi-source runs ``mip``. Larger instances run a primal heuristic first:
    Lagrangian relaxation of the assignment constraints (`lagrangian`: a lower bound, a value per
    station and a greedy solution), then the exact model (portfolio or SCIP) restricted to the
    stations the relaxation or the greedy solution opens plus the ``max(restrict_extra, m // 10)``
    best other stations by Lagrangian value, warm-started from the greedy solution. When the
    restricted model is solved to optimality with time to spare, the set is widened by as many
    stations again and re-solved from the incumbent; once it holds every station the proof is
    global. (Measured here: the LP relaxation of the 100 x 1,000 OR-Library problems takes GLOP
    40-60 s; the Lagrangian reaches the same bound in 5-10 s, so no LP is solved.)
``portfolio``
    CP-SAT (one worker) and SCIP (one thread) race on the full model in two threads; the first
    proof stops the other; the better solution wins. Single-source only.
``mip``
    SCIP on the strong formulation (``x_ij <= y_i``).
``cpsat``
    CP-SAT alone (single-source only).

Determinism: SCIP and CP-SAT each run single-threaded with ``seed`` (CP-SAT ``num_workers=1``,
which makes its search sequential and reproducible; more workers would make it depend on thread
timing). A run that ends by proof returns the same objective every time; when two optima tie, or
when a run ends at the wall-clock time limit, the returned assignment can depend on machine load
(the portfolio keeps whichever engine's solution is better; ties go to CP-SAT).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from sanitation.assignment.lagrangian import LagrangianResult, lagrangian
from sanitation.assignment.local_search import iterated
from sanitation.assignment.problem import FORCED_CLOSED, FORCED_OPEN, AssignmentProblem
from sanitation.errors import InfeasibleError

logger = logging.getLogger(__name__)

ENGINES = ("auto", "portfolio", "mip", "cpsat")


@dataclass(frozen=True)
class AssignmentParams:
    """Solver settings.

    Parameters
    ----------
    time_limit_s
        Wall-clock limit in seconds for the whole solve.
    engine
        ``auto``, ``portfolio``, ``mip`` or ``cpsat`` (see the module docstring).
    relative_gap
        Stop when (objective - bound) / objective is at most this (0 = prove optimality).
    large_pairs
        Above this many usable point-station pairs ``auto`` starts with the Lagrangian-guided
        heuristic (see the module docstring).
    restrict_extra
        Each round of that heuristic adds ``max(restrict_extra, m // 10)`` closed stations.
    """

    time_limit_s: float = 60.0
    engine: str = "auto"
    relative_gap: float = 1e-6
    large_pairs: int = 20_000
    restrict_extra: int = 10

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            msg = f"time_limit_s must be > 0, got {self.time_limit_s}."
            raise ValueError(msg)
        if self.engine not in ENGINES:
            msg = f"engine must be one of {ENGINES}, got {self.engine!r}."
            raise ValueError(msg)
        if not 0 <= self.relative_gap < 1:
            msg = f"relative_gap must be in [0, 1), got {self.relative_gap}."
            raise ValueError(msg)
        if self.large_pairs < 0 or self.restrict_extra < 0:
            msg = "large_pairs and restrict_extra must be >= 0."
            raise ValueError(msg)


@dataclass(frozen=True)
class CostSplit:
    """Objective parts in CNY/day."""

    fixed_cny: float
    expansion_cny: float
    collection_cny: float
    transfer_cny: float
    gate_fee_cny: float
    preference_cny: float

    @property
    def total_cny(self) -> float:
        """Sum of all parts, CNY/day."""
        return (
            self.fixed_cny
            + self.expansion_cny
            + self.collection_cny
            + self.transfer_cny
            + self.gate_fee_cny
            + self.preference_cny
        )


@dataclass(frozen=True, eq=False)
class AssignmentSolution:
    """A solved assignment.

    Attributes
    ----------
    open
        ``(m,)`` bool, station open.
    modules
        ``(m,)`` expansion modules built per station.
    station_of
        ``(n,)`` index of each point's station (multi-source: the station of its largest share).
    shares
        ``(n, m)`` fraction of each point's demand per station (one 1.0 per row when
        single-source).
    load_kg, capacity_kg, utilisation
        ``(m,)`` kg/day handled, capacity including modules (kg/day) and load / capacity.
    travel_s
        ``(n,)`` travel time from each point to its station, seconds.
    cost
        The objective split, CNY/day.
    objective_cny, best_bound_cny
        CNY/day of this solution and a proven lower bound on the optimum.
    optimal
        True when the solver proved optimality (within ``relative_gap``).
    seconds
        Wall-clock seconds spent.
    solver
        Which engines produced the returned solution, e.g. ``cpsat``, ``scip``, ``greedy`` or
        ``local`` (the warm start), ``lagrangian+cpsat`` (large instances, see the module
        docstring).
    """

    open: np.ndarray
    modules: np.ndarray
    station_of: np.ndarray
    shares: np.ndarray
    load_kg: np.ndarray
    capacity_kg: np.ndarray
    utilisation: np.ndarray
    travel_s: np.ndarray
    cost: CostSplit
    objective_cny: float
    best_bound_cny: float
    optimal: bool
    seconds: float
    solver: str

    @property
    def gap_pct(self) -> float:
        """Proven gap 100 * (objective - bound) / objective in percent."""
        if self.objective_cny <= 0:
            return 0.0
        gap_cny = self.objective_cny - self.best_bound_cny
        return max(0.0, 100.0 * gap_cny / self.objective_cny)


# ---------------------------------------------------------------------- the reduced model
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class _Pairs:
    """The usable (unit, station) pairs of a model, indexed once for every engine.

    Pair ``k`` is unit ``rows[k]`` at station ``cols[k]``; ``by_unit[j]`` and ``by_station[i]``
    list the pairs of a unit and of a station.
    """

    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    by_unit: tuple[list[int], ...]
    by_station: tuple[list[int], ...]


@dataclass(frozen=True, eq=False)
class _Model:
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
    def pairs(self) -> _Pairs:
        """The usable pairs (computed on first use, then shared by every engine)."""
        u, m = self.usable.shape
        rows, cols = np.nonzero(self.usable)
        by_unit: tuple[list[int], ...] = tuple([] for _ in range(u))
        by_station: tuple[list[int], ...] = tuple([] for _ in range(m))
        for k, (j, i) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
            by_unit[j].append(k)
            by_station[i].append(k)
        return _Pairs(rows, cols, by_unit, by_station)

    def restricted(self, keep: BoolArray) -> _Model:
        """The same model with stations outside ``keep`` forced closed."""
        status = np.where(keep, self.status, FORCED_CLOSED)
        return dataclasses.replace(self, status=status, usable=self.usable & keep[None, :])


def _reduce(problem: AssignmentProblem) -> _Model:
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
    return _Model(
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


# ---------------------------------------------------------------------- infeasibility
def _ids(ids: tuple[str, ...], indices: np.ndarray, limit: int = 10) -> str:
    names = [ids[int(i)] for i in indices[:limit]]
    more = f" and {len(indices) - limit} more" if len(indices) > limit else ""
    return ", ".join(names) + more


def _components(usable: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components (units, stations) of the bipartite graph of usable pairs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    u, m = usable.shape
    rows, cols = np.nonzero(usable)
    graph = coo_matrix((np.ones(rows.size), (rows, u + cols)), shape=(u + m, u + m))
    _, labels = connected_components(graph, directed=False)
    out = []
    for label in np.unique(labels[:u]):
        units = np.flatnonzero(labels[:u] == label)
        stations = np.flatnonzero(labels[u:] == label)
        out.append((units, stations))
    return out


def check_feasible(problem: AssignmentProblem) -> None:
    """Raise `InfeasibleError` for the causes that are visible without search.

    Checks, in order: points with no usable station (travel limit, accessibility, forced
    closures); groups kept together with no station usable by all members; units larger than
    every usable station; total demand above total openable capacity per connected group of
    stations (points and stations linked by usable pairs).

    Raises
    ------
    InfeasibleError
        Naming the points or stations and the missing t/day.
    """
    model = _reduce(problem)
    usable = np.asarray(problem.usable)
    causes: list[str] = []
    orphan = np.flatnonzero(~usable.any(axis=1))
    if orphan.size:
        causes.append(
            f"{orphan.size} point(s) have no station within the travel limit and reachable by "
            f"an allowed vehicle (or all such stations are forced closed): "
            f"{_ids(problem.point_ids, orphan)}"
        )
    if problem.keep_groups_together and not orphan.size:
        lonely = [k for k in range(len(model.members)) if not model.usable[k].any()]
        if lonely:
            group = np.asarray(problem.group)
            names = sorted({str(group[model.members[k][0]]) for k in lonely})
            causes.append(
                f"{len(lonely)} village group(s) kept together have no station usable by all of "
                f"their points: group {', '.join(names[:10])}"
            )
    if causes:
        raise InfeasibleError("; ".join(causes), causes)

    max_cap = model.max_capacity_kg
    if model.single_source:
        fits = model.usable & (model.demand_kg[:, None] <= max_cap[None, :])
        too_big = np.flatnonzero(~fits.any(axis=1))
        for k in too_big[:10]:
            points = model.members[k]
            best = max_cap[model.usable[k]].max()
            causes.append(
                f"point(s) {_ids(problem.point_ids, points)} need "
                f"{model.demand_kg[k] / 1000:g} t/day in one station but the largest usable "
                f"station takes {best / 1000:g} t/day"
            )
        if causes:
            raise InfeasibleError("; ".join(causes), causes)

    for units, stations in _components(model.usable):
        need = int(model.demand_kg[units].sum())
        have = int(max_cap[stations].sum())
        if need > have:
            points = np.concatenate([model.members[k] for k in units])
            whole = len(units) == len(model.members)
            scope = "all stations" if whole else f"stations {_ids(problem.station_ids, stations)}"
            causes.append(
                f"{scope} lack {(need - have) / 1000:g} t/day of capacity: they can take at most "
                f"{have / 1000:g} t/day (with all expansion modules) but the "
                f"{len(points)} point(s) they alone can serve "
                + ("" if whole else f"({_ids(problem.point_ids, points, 5)}) ")
                + f"produce {need / 1000:g} t/day"
            )
    if causes:
        raise InfeasibleError("; ".join(causes), causes)


# ---------------------------------------------------------------------- engines
@dataclass(frozen=True, eq=False)
class _Plan:
    """Open stations, expansion modules and each unit's shares of a solution."""

    open: BoolArray  # (m,)
    modules: IntArray  # (m,)
    shares: FloatArray  # (u, m)


@dataclass(frozen=True)
class _Result:
    plan: _Plan | None  # None when no solution was found
    objective_cny: float  # math.inf when no solution
    bound_cny: float
    optimal: bool
    infeasible: bool
    solver: str


def _empty(solver: str, bound_cny: float = -math.inf, *, infeasible: bool = False) -> _Result:
    return _Result(None, math.inf, bound_cny, False, infeasible, solver)


Registry = list[pywraplp.Solver | cp_model.CpSolver]
"""The solvers of a portfolio run, so that the first proof can interrupt the others."""


def _solve_mip(
    model: _Model,
    *,
    time_limit_s: float,
    seed: int,
    relative_gap: float,
    hint: _Result | None = None,
    stop: threading.Event | None = None,
    register: Registry | None = None,
) -> _Result:
    """SCIP (one thread) on the strong formulation (``x_ij <= y_i``) through pywraplp."""
    entered = time.perf_counter()
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:  # pragma: no cover - every OR-Tools wheel ships SCIP
        msg = "OR-Tools backend SCIP unavailable"
        raise RuntimeError(msg)
    y, z, x = _mip_model(solver, model)
    left_s = time_limit_s - (time.perf_counter() - entered)
    solver.SetTimeLimit(max(100, int(left_s * 1000)))
    solver.SetNumThreads(1)
    solver.SetSolverSpecificParametersAsString(
        f"randomization/randomseedshift = {int(seed) % 2**31}\nlimits/gap = {relative_gap}\n"
    )
    if hint is not None and hint.plan is not None:
        pairs = model.pairs
        hint_vars = list(y) + list(x)
        values = [float(v) for v in hint.plan.open]
        values += [float(v) for v in hint.plan.shares[pairs.rows, pairs.cols]]
        for i, var in z.items():
            hint_vars.append(var)
            values.append(float(hint.plan.modules[i]))
        solver.SetHint(hint_vars, values)
    if stop is not None and stop.is_set():
        return _empty("scip")
    if register is not None:
        register.append(solver)
    status = solver.Solve()
    if status == pywraplp.Solver.INFEASIBLE:
        return _empty("scip", infeasible=True)
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return _empty("scip", solver.Objective().BestBound())
    u, m = model.usable.shape
    shares = np.zeros((u, m))
    shares[model.pairs.rows, model.pairs.cols] = [var.solution_value() for var in x]
    open_ = np.array([var.solution_value() for var in y]) > 0.5
    modules = np.zeros(m)
    for i, var in z.items():
        modules[i] = var.solution_value()
    return _Result(
        _Plan(open_, np.round(modules).astype(int), shares),
        solver.Objective().Value(),
        solver.Objective().BestBound(),
        status == pywraplp.Solver.OPTIMAL,
        False,
        "scip",
    )


def _mip_model(
    solver: pywraplp.Solver, model: _Model
) -> tuple[list[Any], dict[int, Any], list[Any]]:
    """Variables y (open), z (modules), x (pair shares), constraints and objective in ``solver``.

    Shares are integral when single-source. Returns ``(y, z, x)``.
    """
    m = model.usable.shape[1]
    pairs = model.pairs
    y = [
        solver.IntVar(
            1.0 if model.status[i] == FORCED_OPEN else 0.0,
            0.0 if model.status[i] == FORCED_CLOSED else 1.0,
            f"y{i}",
        )
        for i in range(m)
    ]
    z = {i: solver.IntVar(0, float(model.module_max[i]), f"z{i}") for i in model.expandable}
    new_x = solver.IntVar if model.single_source else solver.NumVar
    x = [new_x(0, 1, "") for _ in range(pairs.rows.size)]
    for ks in pairs.by_unit:
        solver.Add(solver.Sum([x[k] for k in ks]) == 1)
    for i, ks in enumerate(pairs.by_station):
        load = solver.Sum([float(model.demand_kg[pairs.rows[k]]) * x[k] for k in ks])
        capacity = float(model.capacity_kg[i]) * y[i]
        if i in z:
            capacity = capacity + float(model.module_capacity_kg[i]) * z[i]
            solver.Add(z[i] <= float(model.module_max[i]) * y[i])
        solver.Add(load <= capacity)
    for k in range(pairs.rows.size):
        solver.Add(x[k] <= y[pairs.cols[k]])
    total = float(model.demand_kg.sum())
    solver.Add(solver.Sum([float(model.max_capacity_kg[i]) * y[i] for i in range(m)]) >= total)
    objective = solver.Sum([float(model.fixed_cny[i]) * y[i] for i in range(m)])
    objective += solver.Sum([float(model.module_cost_cny[i]) * z[i] for i in z])
    costs = model.cost_cny[pairs.rows, pairs.cols]
    objective += solver.Sum([float(costs[k]) * x[k] for k in range(pairs.rows.size)])
    solver.Minimize(objective)
    return y, z, x


class _StopCallback(cp_model.CpSolverSolutionCallback):
    """Stops CP-SAT when another engine has proven optimality."""

    def __init__(self, stop: threading.Event | None) -> None:
        super().__init__()
        self._stop = stop

    def on_solution_callback(self) -> None:
        if self._stop is not None and self._stop.is_set():
            self.stop_search()


def _integer_units_per_cny(model: _Model) -> float:
    """1 when every cost is a whole CNY, else 100 (fen): CP-SAT needs integer coefficients."""
    values = np.concatenate([model.cost_cny[model.usable], model.fixed_cny, model.module_cost_cny])
    if np.all(values == np.round(values)):
        return 1.0
    return 100.0


def _solve_cpsat(
    model: _Model,
    *,
    time_limit_s: float,
    seed: int,
    relative_gap: float,
    hint: _Result | None = None,
    stop: threading.Event | None = None,
    register: Registry | None = None,
) -> _Result:
    """Single-source model in CP-SAT (one worker)."""
    entered = time.perf_counter()
    scale = _integer_units_per_cny(model)
    cp, y, z, x = _cpsat_model(model, scale)
    if hint is not None and hint.plan is not None:
        for i in range(len(y)):
            cp.add_hint(y[i], bool(hint.plan.open[i]))
        for i, var in z.items():
            cp.add_hint(var, int(hint.plan.modules[i]))
        hinted = hint.plan.shares[model.pairs.rows, model.pairs.cols] > 0.5
        for k in range(len(x)):
            cp.add_hint(x[k], bool(hinted[k]))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit_s - (time.perf_counter() - entered))
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed) % 2**31
    solver.parameters.relative_gap_limit = relative_gap
    if stop is not None and stop.is_set():
        return _empty("cpsat")
    if register is not None:
        register.append(solver)
    status = solver.solve(cp, _StopCallback(stop))
    if status == cp_model.INFEASIBLE:
        return _empty("cpsat", infeasible=True)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _empty("cpsat", solver.best_objective_bound / scale)
    u, m = model.usable.shape
    shares = np.zeros((u, m))
    shares[model.pairs.rows, model.pairs.cols] = [solver.value(var) for var in x]
    open_ = np.array([bool(solver.value(var)) for var in y])
    modules = np.zeros(m, dtype=int)
    for i, var in z.items():
        modules[i] = solver.value(var)
    value = float((model.fixed_cny * open_).sum() + (model.module_cost_cny * modules).sum())
    value += float((model.cost_cny * shares).sum())
    bound = solver.best_objective_bound / scale
    if scale != 1.0:  # rounding to fen can shift the bound by at most half a fen per term
        bound -= 0.5 * (m + len(z) + u) / scale
    optimal = status == cp_model.OPTIMAL
    return _Result(_Plan(open_, modules, shares), value, bound, optimal, False, "cpsat")


def _cpsat_model(
    model: _Model, scale: float
) -> tuple[
    cp_model.CpModel, list[cp_model.IntVar], dict[int, cp_model.IntVar], list[cp_model.IntVar]
]:
    """The single-source model, costs in units of ``1 / scale`` CNY; returns ``(cp, y, z, x)``."""
    m = model.usable.shape[1]
    pairs = model.pairs
    cp = cp_model.CpModel()
    y = []
    for i in range(m):
        var = cp.new_bool_var(f"y{i}")
        if model.status[i] == FORCED_OPEN:
            cp.add(var == 1)
        elif model.status[i] == FORCED_CLOSED:
            cp.add(var == 0)
        y.append(var)
    z = {}
    for i in model.expandable:
        z[i] = cp.new_int_var(0, int(model.module_max[i]), f"z{i}")
        cp.add(z[i] <= int(model.module_max[i]) * y[i])
    x = [cp.new_bool_var("") for _ in range(pairs.rows.size)]
    for k, i in enumerate(pairs.cols.tolist()):
        cp.add_implication(x[k], y[i])
    for ks in pairs.by_unit:
        cp.add_exactly_one([x[k] for k in ks])
    for i, ks in enumerate(pairs.by_station):
        load = sum(int(model.demand_kg[pairs.rows[k]]) * x[k] for k in ks)
        capacity = int(model.capacity_kg[i]) * y[i]
        if i in z:
            capacity += int(model.module_capacity_kg[i]) * z[i]
        cp.add(load <= capacity)
    total = int(model.demand_kg.sum())
    cp.add(sum(int(model.max_capacity_kg[i]) * y[i] for i in range(m)) >= total)
    costs = np.round(model.cost_cny[pairs.rows, pairs.cols] * scale).astype(np.int64)
    fixed = np.round(model.fixed_cny * scale).astype(np.int64)
    objective = sum(int(fixed[i]) * y[i] for i in range(m))
    objective += sum(round(model.module_cost_cny[i] * scale) * z[i] for i in z)
    objective += sum(int(costs[k]) * x[k] for k in range(pairs.rows.size))
    cp.minimize(objective)
    return cp, y, z, x


def _portfolio(
    model: _Model,
    *,
    time_limit_s: float,
    seed: int,
    relative_gap: float,
    hint: _Result | None = None,
) -> _Result:
    """CP-SAT and SCIP in two threads; the first proof stops the other."""
    stop = threading.Event()
    results: dict[str, _Result] = {}
    solvers: Registry = []
    _ = model.pairs  # index the pairs once, before both engines use them

    def run(name: str) -> None:
        if name == "cpsat":
            result = _solve_cpsat(
                model,
                time_limit_s=time_limit_s,
                seed=seed,
                relative_gap=relative_gap,
                hint=hint,
                stop=stop,
                register=solvers,
            )
        else:
            result = _solve_mip(
                model,
                time_limit_s=time_limit_s,
                seed=seed,
                relative_gap=relative_gap,
                hint=hint,
                stop=stop,
                register=solvers,
            )
        results[name] = result
        if result.optimal or result.infeasible:
            stop.set()
            for other in list(solvers):
                if isinstance(other, pywraplp.Solver):
                    other.InterruptSolve()
                else:
                    other.stop_search()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("cpsat", "scip")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _combine(list(results.values()))


def _combine(results: list[_Result]) -> _Result:
    """Best solution, best bound, proof from any of the runs."""
    solved = [r for r in results if r.plan is not None]
    bound = max((r.bound_cny for r in results), default=-math.inf)
    if not solved:
        infeasible = any(r.infeasible for r in results)
        return _empty("+".join(r.solver for r in results), bound, infeasible=infeasible)
    best = min(solved, key=lambda r: (r.objective_cny, r.solver != "cpsat"))
    optimal = best.optimal or any(
        r.optimal for r in results if r.objective_cny >= best.objective_cny - 1e-6
    )
    bound = min(max(bound, best.bound_cny), best.objective_cny)
    if best.objective_cny - bound <= 1e-6 * max(1.0, abs(best.objective_cny)):
        optimal = True
    return dataclasses.replace(best, bound_cny=bound, optimal=optimal)


def _relax(model: _Model, time_limit_s: float) -> tuple[LagrangianResult, _Result | None]:
    """Lagrangian relaxation and its greedy primal solution as a `_Result` (None if none)."""
    m = model.usable.shape[1]
    relaxation = lagrangian(
        model.cost_cny,
        model.usable,
        model.demand_kg,
        model.max_capacity_kg,
        model.fixed_cny,
        model.status,
        single_source=model.single_source,
        bound_valid=not bool((model.module_max > 0).any()),
        time_limit_s=time_limit_s,
    )
    if relaxation.primal_open is None or relaxation.primal_shares is None:
        return relaxation, None
    open_ = relaxation.primal_open | (model.status == FORCED_OPEN)
    modules = np.zeros(m, dtype=int)
    load = (relaxation.primal_shares * model.demand_kg[:, None]).sum(axis=0)
    over = np.maximum(load - model.capacity_kg, 0)
    with_modules = model.module_capacity_kg > 0
    modules[with_modules] = np.ceil(over[with_modules] / model.module_capacity_kg[with_modules])
    cost = float(
        (model.cost_cny * relaxation.primal_shares).sum()
        + model.fixed_cny[open_].sum()
        + (model.module_cost_cny * modules).sum()
    )
    plan = _Plan(open_, modules, relaxation.primal_shares)
    return relaxation, _Result(plan, cost, -math.inf, False, False, "greedy")


def _improve_by_local_search(
    model: _Model, hint: _Result | None, time_limit_s: float, seed: int
) -> _Result | None:
    """The hint improved by iterated local search (`local_search.iterated`), or the hint itself
    when that finds nothing better; single-source models without expansion modules only."""
    if hint is None or hint.plan is None or not model.single_source:
        return hint
    if (model.module_max > 0).any():
        return hint
    station = hint.plan.shares.argmax(axis=1)
    station, value = iterated(
        model.cost_cny,
        model.usable,
        model.demand_kg,
        model.capacity_kg,
        model.fixed_cny,
        model.status,
        station,
        time_limit_s=time_limit_s,
        seed=seed,
    )
    u, m = model.usable.shape
    shares = np.zeros((u, m))
    shares[np.arange(u), station] = 1.0
    open_ = (shares.sum(axis=0) > 0) | (model.status == FORCED_OPEN)
    if value >= hint.objective_cny:
        return hint
    plan = _Plan(open_, np.zeros(m, dtype=int), shares)
    return _Result(plan, value, -math.inf, False, False, "local")


def _guided(model: _Model, *, deadline: float, seed: int, params: AssignmentParams) -> _Result:
    """Large instances: Lagrangian relaxation (bound, station values, greedy primal), then the
    exact model restricted to the stations the relaxation or the greedy solution opens plus the
    ``extra`` most attractive other stations, warm-started from the greedy solution."""
    start = time.perf_counter()
    m = model.usable.shape[1]
    relaxation, hint = _relax(model, min(0.25 * (deadline - start), 15.0))
    hint = _improve_by_local_search(model, hint, min(0.1 * (deadline - start), 10.0), seed)
    keep = relaxation.opened | (model.status == FORCED_OPEN)
    results: list[_Result] = []
    if hint is not None and hint.plan is not None:
        keep |= hint.plan.open
        results.append(hint)
    extra = max(params.restrict_extra, m // 10)
    openable = model.status != FORCED_CLOSED
    order = np.argsort(relaxation.value, kind="stable")
    order = order[openable[order]]
    total_time = deadline - start
    rounds = 0
    while True:
        closed = order[~keep[order]]
        keep[closed[:extra]] = True
        rounds += 1
        logger.info(
            "Lagrangian bound %.3f after %d iterations (%.1f s); incumbent %.3f; round %d "
            "restricted to %d of %d stations",
            relaxation.bound,
            relaxation.iterations,
            time.perf_counter() - start,
            min((r.objective_cny for r in results), default=math.inf),
            rounds,
            int(keep.sum()),
            m,
        )
        restricted = _finish(
            model.restricted(keep), deadline=deadline, seed=seed, params=params, hint=hint
        )
        whole = bool(keep[openable].all())
        results.append(
            dataclasses.replace(
                restricted,
                optimal=restricted.optimal and whole,
                bound_cny=restricted.bound_cny if whole else -math.inf,
                solver="lagrangian+" + restricted.solver,
            )
        )
        better = hint is None or restricted.objective_cny < hint.objective_cny
        if restricted.plan is not None and better:
            hint = restricted
        # A restricted optimum leaves time: widen the set and re-solve from the incumbent.
        if whole or not restricted.optimal or hint is None:
            break
        gap_cny = hint.objective_cny - relaxation.bound
        if gap_cny <= params.relative_gap * abs(hint.objective_cny):
            break
        if deadline - time.perf_counter() < 0.3 * total_time:
            break
    results.append(_empty("lagrangian", relaxation.bound))
    return _combine(results)


def _finish(
    model: _Model, *, deadline: float, seed: int, params: AssignmentParams, hint: _Result | None
) -> _Result:
    remaining = max(0.5, deadline - time.perf_counter())
    if model.single_source and params.engine in ("auto", "portfolio"):
        return _portfolio(
            model, time_limit_s=remaining, seed=seed, relative_gap=params.relative_gap, hint=hint
        )
    if params.engine == "cpsat":
        return _solve_cpsat(
            model, time_limit_s=remaining, seed=seed, relative_gap=params.relative_gap, hint=hint
        )
    return _solve_mip(
        model, time_limit_s=remaining, seed=seed, relative_gap=params.relative_gap, hint=hint
    )


# ---------------------------------------------------------------------- public entry point
def solve(
    problem: AssignmentProblem, params: AssignmentParams | None = None, *, seed: int = 1
) -> AssignmentSolution:
    """Open stations, size expansions and assign every point to a station at least cost.

    Parameters
    ----------
    problem
        The validated problem.
    params
        Engine and limits; defaults to `AssignmentParams()`.
    seed
        Random seed of both solvers.

    Returns
    -------
    AssignmentSolution

    Raises
    ------
    InfeasibleError
        If no assignment exists; the message names the points without a usable station or
        the stations short of capacity (and by how many t/day).
    RuntimeError
        If the time limit ends before any feasible assignment was found.
    """
    params = params or AssignmentParams()
    start = time.perf_counter()
    # keep up to 2 % (at most 1 s) of the limit for building models and the solution
    deadline = start + params.time_limit_s - min(1.0, 0.02 * params.time_limit_s)
    check_feasible(problem)
    model = _reduce(problem)
    if not model.single_source and params.engine in ("portfolio", "cpsat"):
        msg = f"engine {params.engine!r} needs a single-source problem; use 'mip' or 'auto'."
        raise ValueError(msg)
    pairs = int(model.usable.sum())
    if params.engine == "auto" and pairs > params.large_pairs:
        result = _guided(model, deadline=deadline, seed=seed, params=params)
    elif params.engine == "auto" and model.single_source:
        # warm start: Lagrangian greedy solution improved by local search
        relaxation, hint = _relax(model, min(0.03 * params.time_limit_s, 1.0))
        hint = _improve_by_local_search(model, hint, min(0.1 * params.time_limit_s, 3.0), seed)
        result = _finish(model, deadline=deadline, seed=seed, params=params, hint=hint)
        warm = [_empty("lagrangian", relaxation.bound), *([hint] if hint is not None else [])]
        result = _combine([result, *warm])
    else:
        result = _finish(model, deadline=deadline, seed=seed, params=params, hint=None)
    if result.plan is None:
        if result.infeasible:
            msg = (
                "no assignment fits the station capacities: every point has a usable station "
                "and total capacity suffices, but the points' loads cannot be packed into the "
                "stations (single sourcing); add capacity or relax travel limits"
            )
            raise InfeasibleError(msg)
        msg = f"no feasible assignment found within {params.time_limit_s:g} s; raise the limit"
        raise RuntimeError(msg)
    return _solution(problem, model, result.plan, result, time.perf_counter() - start)


def _solution(
    problem: AssignmentProblem, model: _Model, plan: _Plan, result: _Result, seconds: float
) -> AssignmentSolution:
    n, m = problem.num_points, problem.num_stations
    unit_shares = np.where(plan.shares > 1e-9, plan.shares, 0.0)
    unit_shares = unit_shares / unit_shares.sum(axis=1, keepdims=True)
    shares = np.zeros((n, m))
    for k, points in enumerate(model.members):
        shares[points] = unit_shares[k]
    if problem.single_source:
        station_of = shares.argmax(axis=1)
        shares = np.zeros((n, m))
        shares[np.arange(n), station_of] = 1.0
    else:
        station_of = shares.argmax(axis=1)
    demand = problem.demand_kg.astype(float)
    load = (shares * demand[:, None]).sum(axis=0)
    open_ = np.asarray(plan.open, dtype=bool) | (load > 0)
    modules = np.where(open_, np.round(plan.modules).astype(np.int64), 0)
    need = np.ceil(
        np.maximum(load - model.capacity_kg, 0) / np.maximum(model.module_capacity_kg, 1) - 1e-9
    ).astype(np.int64)
    modules = np.minimum(np.maximum(modules, need), model.module_max)
    capacity = model.capacity_kg + modules * model.module_capacity_kg
    utilisation = np.divide(load, capacity, out=np.zeros(m), where=capacity > 0)
    split = CostSplit(
        fixed_cny=float(problem.fixed_cost_cny[open_].sum()),
        expansion_cny=float((modules * model.module_cost_cny).sum()),
        collection_cny=float((shares * problem.collection_cost_cny).sum()),
        transfer_cny=float((shares * np.asarray(problem.transfer_cost_cny)).sum()),
        gate_fee_cny=float((shares * np.asarray(problem.gate_fee_cny)).sum()),
        preference_cny=float((shares * problem.preference_cost_cny).sum()),
    )
    objective = split.total_cny
    bound = min(result.bound_cny, objective)
    optimal = bool(result.optimal) or objective - bound <= 1e-6 * max(1.0, abs(objective))
    return AssignmentSolution(
        open=open_,
        modules=modules,
        station_of=station_of.astype(np.int64),
        shares=shares,
        load_kg=load,
        capacity_kg=capacity,
        utilisation=utilisation,
        travel_s=problem.travel_s[np.arange(n), station_of].astype(np.int64),
        cost=split,
        objective_cny=objective,
        best_bound_cny=bound,
        optimal=optimal,
        seconds=seconds,
        solver=result.solver,
    )
