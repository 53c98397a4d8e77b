"""Solve an `AssignmentProblem` with OR-Tools: SCIP through ``pywraplp``, and CP-SAT.

Engines (``AssignmentParams.engine``):

``auto`` (default; deterministic)
    Small instances (usable point-station pairs <= ``large_pairs``): single-source runs CP-SAT
    after a warm start (the Lagrangian greedy solution improved by local search); multi-source
    runs ``mip``. Larger instances run a primal heuristic first: Lagrangian relaxation of the
    assignment constraints (`lagrangian`: a lower bound, a value per station and a greedy
    solution), then the exact model (CP-SAT, or SCIP when multi-source) restricted to the
    stations the relaxation or the greedy solution opens plus the ``max(restrict_extra, m //
    10)`` best other stations by Lagrangian value, warm-started from the greedy solution. When
    the restricted model is solved to optimality with budget to spare, the set is widened by as
    many stations again and re-solved from the incumbent; once it holds every station the proof
    is global. (Measured here: the LP relaxation of the 100 x 1,000 OR-Library problems takes
    GLOP 40-60 s; the Lagrangian reaches the same bound in 5-10 s, so no LP is solved.)
``racing``
    ``auto`` on the clock, with CP-SAT and SCIP racing where ``auto`` runs CP-SAT (the
    ``portfolio``): the fastest to a proof, but not deterministic. The facility benchmarks' engine.
``portfolio``
    CP-SAT (one worker) and SCIP (one thread) race on the full model in two threads; the first
    proof stops the other; the better solution wins. Which engine's solution is returned (when
    optima tie), and where a run cut by the limit stands, depend on timing. Single-source only.
``mip``
    SCIP on the strong formulation (``x_ij <= y_i``).
``cpsat``
    CP-SAT alone (single-source only).

Determinism: ``auto``, ``mip`` and ``cpsat`` stop on work, not on the clock. The budget is
``work_s`` reference seconds (default `DEFAULT_WORK_SHARE` x ``time_limit_s``), shared among
the phases as the seconds were before; each phase turns its share into a deterministic limit with
a rate measured on the project's machine (`_work`: CP-SAT ``max_deterministic_time``, SCIP
``limits/totalnodes``, Lagrangian iterations and local-search work by size). CP-SAT runs one
worker (a sequential search) and SCIP one thread, both seeded, so the same problem, parameters
and seed give the same assignment whatever the machine's load, unless ``time_limit_s``, the hard
cap, ends a phase first: the solution then says ``stopped_by_time``.

Why CP-SAT alone and not a canonical race (measured, ``docs/assignment.md``): a race can be made
canonical only if each engine ends on work, but SCIP has no deterministic time and its node count
does not bound its root node (Holmberg p57, p62 and Wangjiang with closable stations spend all of
6 s at the root, 1 node), so SCIP would end on the clock exactly where the answer is in doubt.
CP-SAT's deterministic time does bound it; one worker rather than ``interleave_search`` (also
deterministic) because two interleaved workers were no better on p30, p57 and Wangjiang in 10 s.
SCIP stays the engine of multi-source problems (deterministic when it ends by a proof or its node
limit, which is where those problems end on the benchmarks).

Layout: the model the engines share (units, stations, usable pairs indexed once) is in
``_model.py``; the work budgets and rates in ``_work.py``; the SCIP and CP-SAT models and their
race in ``_exact.py``; this module holds the parameters, the solution, the feasibility check,
the heuristics and the entry point.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from sanitation.assignment._exact import combine, portfolio, solve_cpsat, solve_mip
from sanitation.assignment._model import Model, Plan, Result, empty_result, reduce_problem
from sanitation.assignment._work import Budget, lagrangian_iterations, local_search_cells
from sanitation.assignment.lagrangian import LagrangianResult, lagrangian
from sanitation.assignment.local_search import iterated
from sanitation.assignment.problem import FORCED_CLOSED, FORCED_OPEN, AssignmentProblem
from sanitation.errors import InfeasibleError

logger = logging.getLogger(__name__)

MAX_LAGRANGIAN_ITERATIONS = 2000

ENGINES = ("auto", "racing", "portfolio", "mip", "cpsat")
#: the engines that race on the clock (not deterministic)
CLOCK_ENGINES = ("racing", "portfolio")
#: the work budget when ``AssignmentParams.work_s`` is not given, as a share of the time limit
#: (docs/assignment.md: measured so that the work fits the limit under the machine's usual load)
DEFAULT_WORK_SHARE = 0.5
#: the largest work budget accepted (reference seconds: a day)
MAX_WORK_S = 86_400.0


@dataclass(frozen=True)
class AssignmentParams:
    """Solver settings.

    Parameters
    ----------
    time_limit_s
        Wall-clock limit in seconds for the whole solve: the hard cap.
    engine
        ``auto``, ``racing``, ``portfolio``, ``mip`` or ``cpsat`` (see the module docstring).
    relative_gap
        Stop when (objective - bound) / objective is at most this (0 = prove optimality).
    large_pairs
        Above this many usable point-station pairs ``auto`` starts with the Lagrangian-guided
        heuristic (see the module docstring).
    restrict_extra
        Each round of that heuristic adds ``max(restrict_extra, m // 10)`` closed stations.
    work_s
        Deterministic work budget of the whole solve in reference seconds (about the seconds it
        takes on an idle core of the project's machine); None: `DEFAULT_WORK_SHARE` x
        ``time_limit_s``. Ignored by ``racing`` and ``portfolio``, which race on the clock.
    """

    time_limit_s: float = 60.0
    engine: str = "auto"
    relative_gap: float = 1e-6
    large_pairs: int = 20_000
    restrict_extra: int = 10
    work_s: float | None = None

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
        if self.work_s is not None and not 0 < self.work_s <= MAX_WORK_S:
            msg = f"work_s must be in (0, {MAX_WORK_S:g}] or None, got {self.work_s}."
            raise ValueError(msg)

    @property
    def work(self) -> float | None:
        """The work budget in reference seconds (None: the clock alone, `CLOCK_ENGINES`)."""
        if self.engine in CLOCK_ENGINES:
            return None
        return self.work_s if self.work_s is not None else DEFAULT_WORK_SHARE * self.time_limit_s


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
    stopped_by_time
        True when the wall clock, not the work budget, ended a search the solution rests on:
        another run (on a faster or idler machine) may then return another assignment. False
        means the same problem, parameters and seed give this solution again.
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
    stopped_by_time: bool = False

    @property
    def gap_pct(self) -> float:
        """Proven gap 100 * (objective - bound) / objective in percent."""
        if self.objective_cny <= 0:
            return 0.0
        gap_cny = self.objective_cny - self.best_bound_cny
        return max(0.0, 100.0 * gap_cny / self.objective_cny)


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
    model = reduce_problem(problem)
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


def _relax(model: Model, budget: Budget) -> tuple[LagrangianResult, Result | None]:
    """Lagrangian relaxation and its greedy primal solution as a `Result` (None if none)."""
    u, m = model.usable.shape
    iterations = MAX_LAGRANGIAN_ITERATIONS
    if budget.work_s is not None:
        iterations = min(iterations, lagrangian_iterations(budget.work_s, u * m))
    relaxation = lagrangian(
        model.cost_cny,
        model.usable,
        model.demand_kg,
        model.max_capacity_kg,
        model.fixed_cny,
        model.status,
        single_source=model.single_source,
        bound_valid=not bool((model.module_max > 0).any()),
        time_limit_s=budget.left_s(),
        max_iterations=iterations,
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
    plan = Plan(open_, modules, relaxation.primal_shares)
    clock = relaxation.stopped_by_time
    return relaxation, Result(plan, cost, -math.inf, False, False, "greedy", clock)


def _bound(relaxation: LagrangianResult) -> Result:
    """The relaxation's bound as a result without a plan."""
    return empty_result("lagrangian", relaxation.bound, stopped_by_time=relaxation.stopped_by_time)


def _improve_by_local_search(
    model: Model, hint: Result | None, budget: Budget, seed: int
) -> Result | None:
    """The hint improved by iterated local search (`local_search.iterated`), or the hint itself
    when that finds nothing better; single-source models without expansion modules only."""
    if hint is None or hint.plan is None or not model.single_source:
        return hint
    if (model.module_max > 0).any():
        return hint
    u, m = model.usable.shape
    cells = None if budget.work_s is None else local_search_cells(budget.work_s)
    station, value, clock = iterated(
        model.cost_cny,
        model.usable,
        model.demand_kg,
        model.capacity_kg,
        model.fixed_cny,
        model.status,
        hint.plan.shares.argmax(axis=1),
        time_limit_s=budget.left_s(),
        seed=seed,
        max_cells=cells,
    )
    clock = clock or hint.stopped_by_time
    if value >= hint.objective_cny:
        return dataclasses.replace(hint, stopped_by_time=clock)
    shares = np.zeros((u, m))
    shares[np.arange(u), station] = 1.0
    open_ = (shares.sum(axis=0) > 0) | (model.status == FORCED_OPEN)
    plan = Plan(open_, np.zeros(m, dtype=int), shares)
    return Result(plan, value, -math.inf, False, False, "local", clock)


def _guided(model: Model, *, budget: Budget, seed: int, params: AssignmentParams) -> Result:
    """Large instances: Lagrangian relaxation (bound, station values, greedy primal), then the
    exact model restricted to the stations the relaxation or the greedy solution opens plus the
    ``extra`` most attractive other stations, warm-started from the greedy solution; widened
    while at least 30 % of the budget (work, or with the clock alone time) is left."""
    total_s = budget.left_s()
    work = budget.work_s if budget.work_s is not None else total_s
    m = model.usable.shape[1]
    relax_s, local_s = min(0.25 * work, 15.0), min(0.1 * work, 10.0)
    relaxation, hint = _relax(model, budget.part(relax_s, clock_s=relax_s))
    hint = _improve_by_local_search(model, hint, budget.part(local_s, clock_s=local_s), seed)
    used_s = relax_s + local_s
    keep = relaxation.opened | (model.status == FORCED_OPEN)
    results: list[Result] = [_bound(relaxation)]
    if hint is not None and hint.plan is not None:
        keep |= hint.plan.open
        results.append(hint)
    extra = max(params.restrict_extra, m // 10)
    openable = model.status != FORCED_CLOSED
    order = np.argsort(relaxation.value, kind="stable")
    order = order[openable[order]]
    rounds = 0
    while True:
        closed = order[~keep[order]]
        keep[closed[:extra]] = True
        rounds += 1
        logger.info(
            "Lagrangian bound %.3f after %d iterations; incumbent %.3f; round %d restricted "
            "to %d of %d stations",
            relaxation.bound,
            relaxation.iterations,
            min((r.objective_cny for r in results), default=math.inf),
            rounds,
            int(keep.sum()),
            m,
        )
        part = budget.part(work - used_s, clock_s=budget.left_s())
        restricted = _finish(
            model.restricted(keep), budget=part, seed=seed, params=params, hint=hint
        )
        used_s += restricted.work_s
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
        # A restricted optimum leaves budget: widen the set and re-solve from the incumbent.
        if whole or not restricted.optimal or hint is None:
            break
        gap_cny = hint.objective_cny - relaxation.bound
        if gap_cny <= params.relative_gap * abs(hint.objective_cny):
            break
        if budget.work_s is None and budget.left_s() < 0.3 * total_s:
            break
        if budget.work_s is not None and work - used_s < 0.3 * work:
            break
        if budget.left_s() <= 0:  # the hard cap: the next round would have run
            results.append(empty_result("clock", stopped_by_time=True))
            break
    return combine(results)


def _finish(
    model: Model, *, budget: Budget, seed: int, params: AssignmentParams, hint: Result | None
) -> Result:
    if model.single_source and params.engine in CLOCK_ENGINES:
        engine = portfolio
    elif model.single_source and params.engine in ("auto", "cpsat"):
        engine = solve_cpsat
    else:
        engine = solve_mip
    return engine(model, budget=budget, seed=seed, relative_gap=params.relative_gap, hint=hint)


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
    budget = Budget(params.work, start + params.time_limit_s - min(1.0, 0.02 * params.time_limit_s))
    check_feasible(problem)
    model = reduce_problem(problem)
    if not model.single_source and params.engine in ("portfolio", "cpsat"):
        msg = f"engine {params.engine!r} needs a single-source problem; use 'mip' or 'auto'."
        raise ValueError(msg)
    pairs = int(model.usable.sum())
    if params.engine in ("auto", "racing") and pairs > params.large_pairs:
        result = _guided(model, budget=budget, seed=seed, params=params)
    elif params.engine in ("auto", "racing") and model.single_source:
        result = _warm_started(model, budget=budget, seed=seed, params=params)
    else:
        result = _finish(model, budget=budget, seed=seed, params=params, hint=None)
    if result.plan is None:
        if result.infeasible:
            msg = (
                "no assignment fits the station capacities: every point has a usable station "
                "and total capacity suffices, but the points' loads cannot be packed into the "
                "stations (single sourcing); add capacity or relax travel limits"
            )
            raise InfeasibleError(msg)
        msg = (
            f"no feasible assignment found within the time limit ({params.time_limit_s:g} s) "
            "and work budget; raise the limit"
        )
        raise RuntimeError(msg)
    return _solution(problem, model, result.plan, result, time.perf_counter() - start)


def _warm_started(model: Model, *, budget: Budget, seed: int, params: AssignmentParams) -> Result:
    """Small single-source instances: the Lagrangian greedy solution improved by local search
    warm-starts the exact engines, which get the rest of the budget."""
    work = budget.work_s if budget.work_s is not None else params.time_limit_s
    relax_s, local_s = min(0.03 * work, 1.0), min(0.1 * work, 3.0)
    relaxation, hint = _relax(model, budget.part(relax_s, clock_s=relax_s))
    hint = _improve_by_local_search(model, hint, budget.part(local_s, clock_s=local_s), seed)
    exact = budget.part(work - relax_s - local_s, clock_s=budget.left_s())
    result = _finish(model, budget=exact, seed=seed, params=params, hint=hint)
    return combine([result, _bound(relaxation), *([hint] if hint is not None else [])])


def _solution(
    problem: AssignmentProblem, model: Model, plan: Plan, result: Result, seconds: float
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
        stopped_by_time=result.stopped_by_time,
    )


def evaluate(
    problem: AssignmentProblem,
    station_of: np.ndarray,
    *,
    bound_cny: float,
    solver: str,
    seconds: float = 0.0,
) -> AssignmentSolution:
    """The single-source solution that sends point ``j`` to station ``station_of[j]``.

    Priced as `solve` prices its own: forced-open stations open, the fewest expansion modules
    that hold each station's load, the cost split of the problem's matrices. ``bound_cny`` is a
    known lower bound on the optimum (e.g. from an earlier `solve`).

    Raises
    ------
    ValueError
        If a point goes to a station it may not use, a group kept together is split, or a
        station's load exceeds its capacity with every expansion module built (the message
        names them).
    """
    station_of = np.asarray(station_of, dtype=np.int64)
    n, m = problem.num_points, problem.num_stations
    if station_of.shape != (n,) or station_of.min(initial=0) < 0 or station_of.max(initial=0) >= m:
        msg = f"station_of must hold {n} station indices in 0..{m - 1}."
        raise ValueError(msg)
    rows = np.arange(n)
    bad = np.flatnonzero(~problem.usable[rows, station_of])
    if bad.size:
        j = int(bad[0])
        msg = f"point {problem.point_ids[j]!r} may not use {problem.station_ids[station_of[j]]!r}."
        raise ValueError(msg)
    model = reduce_problem(problem)
    load = np.bincount(station_of, weights=problem.demand_kg, minlength=m)
    most = model.capacity_kg + model.module_max * model.module_capacity_kg
    over = np.flatnonzero(load > most)
    if over.size:
        i = int(over[0])
        msg = f"station {problem.station_ids[i]!r} gets {load[i]:.0f} kg/day > {most[i]} kg/day."
        raise ValueError(msg)
    unit_station = np.array([station_of[int(members[0])] for members in model.members])
    split = [
        k for k, members in enumerate(model.members) if np.unique(station_of[members]).size > 1
    ]
    if split:
        first = int(model.members[split[0]][0])
        msg = f"the group of point {problem.point_ids[first]!r} is split over stations."
        raise ValueError(msg)
    shares = np.zeros((len(model.members), m))
    shares[np.arange(len(model.members)), unit_station] = 1.0
    open_ = (np.asarray(problem.status) == FORCED_OPEN) | (load > 0)
    plan = Plan(open=open_, modules=np.zeros(m, dtype=np.int64), shares=shares)
    result = Result(plan, math.inf, bound_cny, False, False, solver)
    return _solution(problem, model, plan, result, seconds)
