"""The exact engines on a `Model`: SCIP through ``pywraplp``, CP-SAT, and the two racing
(`portfolio`).

Each engine stops at its `Budget`: a work limit (CP-SAT deterministic time, SCIP nodes) with the
deadline as the hard cap, or the clock alone. Private to `sanitation.assignment`;
`sanitation.assignment.solve` documents the engines.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.linear_solver import linear_solver_pb2, pywraplp
from ortools.sat.python import cp_model
from scipy import sparse

from sanitation.assignment._model import FloatArray, Model, Plan, Result, empty_result
from sanitation.assignment._work import (
    CPSAT_DTIME_PER_S,
    Budget,
    cpsat_dtime,
    scip_nodes,
    scip_work_s,
)
from sanitation.assignment.problem import FORCED_CLOSED, FORCED_OPEN

# OR-Tools' C++ model builder (sparse arrays in, a model proto out), imported by name: its typed
# sub-package hides ``ortools.linear_solver``'s own stubs from mypy
model_builder_helper: Any = importlib.import_module(
    "ortools.linear_solver.python.model_builder_helper"
)


@dataclass
class Race:
    """Engines racing on one model in threads: the first proof (or infeasibility) stops the
    others."""

    over: threading.Event = field(default_factory=threading.Event)
    solvers: list[pywraplp.Solver | cp_model.CpSolver] = field(default_factory=list)

    def enter(self, solver: pywraplp.Solver | cp_model.CpSolver) -> bool:
        """Register a solver about to start; False when the race is already over."""
        if self.over.is_set():
            return False
        self.solvers.append(solver)
        return True

    def finish(self) -> None:
        """End the race: interrupt every registered solver."""
        self.over.set()
        for other in list(self.solvers):
            if isinstance(other, pywraplp.Solver):
                other.InterruptSolve()
            else:
                other.stop_search()


def solve_mip(
    model: Model,
    *,
    budget: Budget,
    seed: int,
    relative_gap: float,
    hint: Result | None = None,
    race: Race | None = None,
) -> Result:
    """SCIP (one thread) on the strong formulation (``x_ij <= y_i``) through pywraplp, to
    ``budget`` (work: a limit on branch-and-bound nodes, ``limits/totalnodes``)."""
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:  # pragma: no cover - every OR-Tools wheel ships SCIP
        msg = "OR-Tools backend SCIP unavailable"
        raise RuntimeError(msg)
    proto = _mip_proto(model)
    if hint is not None and hint.plan is not None:
        proto.solution_hint.var_index.extend(range(_n_vars(model)))
        proto.solution_hint.var_value.extend(_values_of(model, hint.plan).tolist())
    error = solver.LoadModelFromProto(proto)
    del proto
    if error:  # pragma: no cover - the model is built here and always valid
        raise RuntimeError(f"SCIP refused the assignment model: {error}")
    solver.SetTimeLimit(max(100, int(budget.left_s() * 1000)))
    solver.SetNumThreads(1)
    pairs = int(model.pairs.rows.size)
    settings = f"randomization/randomseedshift = {int(seed) % 2**31}\nlimits/gap = {relative_gap}\n"
    nodes = None if budget.work_s is None else scip_nodes(budget.work_s, pairs)
    if nodes is not None:
        settings += f"limits/totalnodes = {nodes}\n"
    solver.SetSolverSpecificParametersAsString(settings)
    if race is not None and not race.enter(solver):
        return empty_result("scip")
    status = solver.Solve()
    done = int(solver.nodes())
    work_s = scip_work_s(done, pairs)
    proven = status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.INFEASIBLE)
    interrupted = race is not None and race.over.is_set()
    clock = not proven and not interrupted and (nodes is None or done < nodes)
    if status == pywraplp.Solver.INFEASIBLE:
        return empty_result("scip", infeasible=True, work_s=work_s)
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return empty_result(
            "scip", solver.Objective().BestBound(), stopped_by_time=clock, work_s=work_s
        )
    response = linear_solver_pb2.MPSolutionResponse()
    solver.FillSolutionResponseProto(response)
    return Result(
        _plan_of(model, np.asarray(response.variable_value, dtype=np.float64)),
        solver.Objective().Value(),
        solver.Objective().BestBound(),
        status == pywraplp.Solver.OPTIMAL,
        False,
        "scip",
        clock,
        work_s,
    )


def _n_vars(model: Model) -> int:
    """Columns of the MIP: y (one per station), z (per expandable station), x (per pair)."""
    return int(model.usable.shape[1]) + len(model.expandable) + int(model.pairs.rows.size)


def _values_of(model: Model, plan: Plan) -> FloatArray:
    """A plan as the MIP's column values (the order of `_mip_proto`)."""
    modules = plan.modules[model.expandable].astype(np.float64)
    shares = plan.shares[model.pairs.rows, model.pairs.cols]
    return np.concatenate([plan.open.astype(np.float64), modules, shares])


def _plan_of(model: Model, values: FloatArray) -> Plan:
    """The MIP's column values (the order of `_mip_proto`) as a plan."""
    u, m = model.usable.shape
    expandable = model.expandable
    open_ = values[:m] > 0.5
    modules = np.zeros(m, dtype=int)
    modules[expandable] = np.round(values[m : m + len(expandable)]).astype(int)
    shares = np.zeros((u, m))
    shares[model.pairs.rows, model.pairs.cols] = values[m + len(expandable) :]
    return Plan(open_, modules, shares)


def _mip_proto(model: Model) -> linear_solver_pb2.MPModelProto:
    """The MIP as a proto, built from sparse arrays (no Python object per variable): columns
    y (open), z (modules), x (pair shares, integral when single-source); rows: each unit
    assigned once, each station's load within its capacity, z_i <= max_i y_i, the strong
    linking x_k <= y_i where y_i can be 0, and total open capacity >= total demand."""
    m = model.usable.shape[1]
    pairs = model.pairs
    expandable = np.asarray(model.expandable, dtype=np.intp)
    n_pairs = int(pairs.rows.size)
    y_col = np.arange(m)
    z_col = m + np.arange(expandable.size)
    x_col = m + expandable.size + np.arange(n_pairs)
    n_cols = m + expandable.size + n_pairs
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    next_row = 0

    def add(r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        nonlocal next_row
        rows.append(r + next_row)
        cols.append(c)
        vals.append(np.asarray(v, dtype=np.float64))
        lower.append(np.asarray(lo, dtype=np.float64))
        upper.append(np.asarray(hi, dtype=np.float64))
        next_row += lo.size

    units = model.demand_kg.size
    add(pairs.rows, x_col, np.ones(n_pairs), np.ones(units), np.ones(units))
    # load - capacity y - module capacity z <= 0
    module_of = np.full(m, -1)
    module_of[expandable] = np.arange(expandable.size)
    has_z = module_of >= 0
    add(
        np.concatenate([pairs.cols, y_col, y_col[has_z]]),
        np.concatenate([x_col, y_col, z_col[module_of[has_z]]]),
        np.concatenate(
            [
                model.demand_kg[pairs.rows].astype(np.float64),
                -model.capacity_kg.astype(np.float64),
                -model.module_capacity_kg[has_z].astype(np.float64),
            ]
        ),
        np.full(m, -np.inf),
        np.zeros(m),
    )
    # z_i - max_i y_i <= 0
    k = expandable.size
    add(
        np.concatenate([np.arange(k), np.arange(k)]),
        np.concatenate([z_col, expandable]),
        np.concatenate([np.ones(k), -model.module_max[expandable].astype(np.float64)]),
        np.full(k, -np.inf),
        np.zeros(k),
    )
    # x_k - y_i <= 0 where y_i can be 0 (at a forced-open station it is x_k <= 1)
    linked = np.flatnonzero(model.status[pairs.cols] != FORCED_OPEN)
    add(
        np.concatenate([np.arange(linked.size), np.arange(linked.size)]),
        np.concatenate([x_col[linked], pairs.cols[linked]]),
        np.concatenate([np.ones(linked.size), -np.ones(linked.size)]),
        np.full(linked.size, -np.inf),
        np.zeros(linked.size),
    )
    add(
        np.zeros(m, dtype=np.intp),
        y_col,
        model.max_capacity_kg.astype(np.float64),
        np.array([float(model.demand_kg.sum())]),
        np.array([np.inf]),
    )
    matrix = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(next_row, n_cols),
    )
    y_lower = (model.status == FORCED_OPEN).astype(np.float64)
    y_upper = (model.status != FORCED_CLOSED).astype(np.float64)
    objective = np.concatenate(
        [
            model.fixed_cny.astype(np.float64),
            model.module_cost_cny[expandable].astype(np.float64),
            model.cost_cny[pairs.rows, pairs.cols].astype(np.float64),
        ]
    )
    builder = model_builder_helper.ModelBuilderHelper()
    builder.fill_model_from_sparse_data(
        np.concatenate([y_lower, np.zeros(k), np.zeros(n_pairs)]),
        np.concatenate(
            [y_upper, model.module_max[expandable].astype(np.float64), np.ones(n_pairs)]
        ),
        objective,
        np.concatenate(lower),
        np.concatenate(upper),
        matrix,
    )
    integral = n_cols if model.single_source else m + k
    for column in range(integral):
        builder.set_var_integrality(column, True)
    proto: linear_solver_pb2.MPModelProto = model_builder_helper.to_mpmodel_proto(builder)
    return proto


class _StopCallback(cp_model.CpSolverSolutionCallback):
    """Stops CP-SAT when another engine has proven optimality."""

    def __init__(self, race: Race | None) -> None:
        super().__init__()
        self._race = race

    def on_solution_callback(self) -> None:
        if self._race is not None and self._race.over.is_set():
            self.stop_search()


def _integer_units_per_cny(model: Model) -> float:
    """1 when every cost is a whole CNY, else 100 (fen): CP-SAT needs integer coefficients."""
    values = np.concatenate([model.cost_cny[model.usable], model.fixed_cny, model.module_cost_cny])
    if np.all(values == np.round(values)):
        return 1.0
    return 100.0


def solve_cpsat(
    model: Model,
    *,
    budget: Budget,
    seed: int,
    relative_gap: float,
    hint: Result | None = None,
    race: Race | None = None,
) -> Result:
    """Single-source model in CP-SAT (one worker: a sequential, reproducible search), to
    ``budget`` (work: ``max_deterministic_time``)."""
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
    solver.parameters.max_time_in_seconds = max(0.1, budget.left_s())
    dtime = None if budget.work_s is None else cpsat_dtime(budget.work_s)
    if dtime is not None:
        solver.parameters.max_deterministic_time = dtime
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed) % 2**31
    solver.parameters.relative_gap_limit = relative_gap
    if race is not None and not race.enter(solver):
        return empty_result("cpsat")
    status = solver.solve(cp, _StopCallback(race)) if race is not None else solver.solve(cp)
    used = float(solver.response_proto.deterministic_time)
    work_s = used / CPSAT_DTIME_PER_S
    proven = status in (cp_model.OPTIMAL, cp_model.INFEASIBLE)
    interrupted = race is not None and race.over.is_set()
    clock = not proven and not interrupted and (dtime is None or used < 0.999 * dtime)
    if status == cp_model.INFEASIBLE:
        return empty_result("cpsat", infeasible=True, work_s=work_s)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound_cny = solver.best_objective_bound / scale
        return empty_result("cpsat", bound_cny, stopped_by_time=clock, work_s=work_s)
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
    plan = Plan(open_, modules, shares)
    return Result(plan, value, bound, optimal, False, "cpsat", clock, work_s)


def _cpsat_model(
    model: Model, scale: float
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


def portfolio(
    model: Model,
    *,
    budget: Budget,
    seed: int,
    relative_gap: float,
    hint: Result | None = None,
) -> Result:
    """CP-SAT and SCIP racing in two threads; the first proof stops the other. Which engine's
    solution wins can depend on their timing."""
    race = Race()
    results: dict[str, Result] = {}
    _ = model.pairs  # index the pairs once, before both engines use them
    engines = {"cpsat": solve_cpsat, "scip": solve_mip}

    def run(name: str) -> None:
        result = engines[name](
            model, budget=budget, seed=seed, relative_gap=relative_gap, hint=hint, race=race
        )
        results[name] = result
        if result.optimal or result.infeasible:
            race.finish()

    _run_threads(run)
    best = combine(list(results.values()))
    # the race's outcome depends on timing unless it ended by a proof
    return dataclasses.replace(best, stopped_by_time=not (best.optimal or best.infeasible))


def _run_threads(run: Callable[[str], None]) -> None:
    """``run("cpsat")`` and ``run("scip")`` in two threads, until both return."""
    threads = [threading.Thread(target=run, args=(name,)) for name in ("cpsat", "scip")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def combine(results: list[Result]) -> Result:
    """Best solution, best bound, proof from any of the runs."""
    solved = [r for r in results if r.plan is not None]
    bound = max((r.bound_cny for r in results), default=-math.inf)
    if not solved:
        infeasible = any(r.infeasible for r in results)
        return empty_result(
            "+".join(r.solver for r in results),
            bound,
            infeasible=infeasible,
            stopped_by_time=any(r.stopped_by_time for r in results),
            work_s=sum(r.work_s for r in results),
        )
    best = min(solved, key=lambda r: (r.objective_cny, r.solver != "cpsat"))
    optimal = best.optimal or any(
        r.optimal for r in results if r.objective_cny >= best.objective_cny - 1e-6
    )
    bound = min(max(bound, best.bound_cny), best.objective_cny)
    if best.objective_cny - bound <= 1e-6 * max(1.0, abs(best.objective_cny)):
        optimal = True
    return dataclasses.replace(
        best,
        bound_cny=bound,
        optimal=optimal,
        stopped_by_time=any(r.stopped_by_time for r in results),
        work_s=sum(r.work_s for r in results),
    )
