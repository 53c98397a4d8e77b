"""OR-Tools routing engine: the collection problem as a ``pywrapcp.RoutingModel``.

Stops that no vehicle could serve are set apart first, with the reason, by
`sanitation.routing.screen` (the same screening as the PyVRP engine's). The model is built by
`sanitation.routing.ortools_model` (nodes are depots, stops, unload-site copies and merged final
unloads):

- **Cost.** Arc cost per vehicle = ``cost_cny_per_km`` x distance of the vehicle's profile; the
  ``cost_cny_per_h`` is a span cost on the time dimension (route hours run from depot departure to
  depot return, waiting and lunch included); ``fixed_cost_cny`` (+ ``vehicle_weight`` when
  ``minimise_vehicles_first``) is the vehicle's fixed cost. Money is scaled to integers by one
  power of ten (`ortools_model.cny_scale_within_int64`), the largest that cannot overflow.
- **Reloads.** Each unload site a vehicle type may use gets ``K`` optional copies (disjunction,
  penalty 0; ``K`` from the total load over the smallest capacity, see
  `ortools_model._n_copies`). There is one load dimension per waste stream of the stops
  (one in a county that does not sort; each vehicle's capacity in it is its compartment's for
  that stream, and a stream it cannot carry is ruled out by the screening's allowed vehicles).
  A load dimension has unary transit ``load_kg`` at stops of its stream and ``-C`` at an unload
  copy of a site accepting the stream (``C`` = the largest capacity of the types allowed there;
  0 with zero slack where the site refuses it, so that compartment keeps its load), with slack
  in ``[0, C]`` at copies and slack fixed to 0 everywhere else. After a copy the cumul is
  ``cumul + slack - C``; the solver may pick ``slack = C - cumul`` so the load drops to 0, and any
  other choice only over-estimates the load, so ``cumul <= capacity`` at every node is exactly
  "never above capacity between unloads".
- **Ending empty.** A route's *end node* is a final unload at one of the type's unload sites (a
  merged final unload): the last unload after the last stop is structural. The constant tail
  (``unload_s`` + drive home) is added to the fixed cost and taken off the span and shift
  limits. Vehicle ``k`` of a type ends at the type's ``k``-th site (round robin over the sites
  accepting the most of the type's streams, ordered by expected finishing time); a stream the
  final site refuses must arrive there empty (its load cumul at the end is 0), so an earlier
  unload at a site accepting it empties it; after the search each route's final site is
  re-chosen, and redundant unloads dropped, by `sanitation.routing.schedule.build_route` when
  that is not dearer (`_clean_unloads`).
- **Time.** Per-profile transit = service (or ``unload_s``) at the origin + travel; slack =
  waiting (and lunch). Stops: cumul (= service start) within the time window; copies and merged
  ends: within the site's hours; start/end within the shift; span <= ``max_duration_s``.
- **Lunch.** One ``FixedDurationIntervalVar`` per vehicle, start in ``[window_start_s,
  window_end_s - duration_s]``, given to ``SetBreakIntervalsOfVehicle`` with the service time of
  each node as its visit (a break never overlaps a service or an unload; it may interrupt a
  drive, which the verifier's "parks on the way" rule accepts). To keep the break on the route
  rather than before departure or after the end, the depot departure is bounded above by
  ``window_start_s + duration_s - 1`` and the final unload below by the latest lunch start + 1
  (cumul bounds, which the local-search filters understand; a generic constraint made the search
  about 20x slower). Vehicles whose shift cannot meet these bounds are left out.
- **Access classes** by restricting each stop's vehicle variable to the allowed vehicles
  (``SetAllowedVehiclesForIndex`` has a broken SWIG binding in 9.15). **Optional stops** by
  disjunctions with ``problem.unserved_penalty`` (priority-linear, above any route cost), so
  the lowest priorities are dropped first. Optional limits ``max_trips``, ``max_stops``,
  ``max_load_per_day_kg`` are counting dimensions.

Search settings were chosen by measurement (see ``docs/routing_search.md``): by default one run
of ``SAVINGS`` + iterated local search (SISR ruin and recreate); on days with reloads the time is
split 65/35 between that and a run of guided local search started from our own multi-trip
construction (`sanitation.routing.ortools_construct`), and the better plan is kept. OR-Tools'
insertion heuristics add one node at a time and never open a reload trip, so on reload-bound days
they may leave stops out that the construction serves. ``params.options`` may force one run:
``first_solution``, ``metaheuristic`` (OR-Tools enum names or ``ITERATED_LOCAL_SEARCH``),
``construct`` (True/False/"auto").

OR-Tools' local search has no random seed: a run stopped by a solution limit is deterministic;
a run stopped by the time limit depends on machine speed. With ``params.work_s`` each run's
solution limit is its share of an iteration count derived from the work budget and the number
of candidate stops (`ITERATIONS_PER_S`), ``max_iterations`` (if given) caps it, and the time
limit stays a hard cap (``stats["stopped_by"]`` is ``"time_limit"`` when a run ran out of
time). OR-Tools also gives each large-neighbourhood move's re-insertion its own wall-clock limit
(``lns_time_limit``, 100 ms by default), which cuts those moves on a slow or shared core
without any sign in the result; a run with a solution limit sets it to the run's own time limit,
so that only the solution limit, or the run's clock (noted), stops a search step.
``seed`` is accepted for the engine interface and recorded in ``stats``.

``params.initial_solution`` (routes of a similar problem, e.g. a baseline's) replaces the
default runs by one guided local search started from those routes
(``ReadAssignmentFromRoutes`` + ``SolveFromAssignmentWithParameters``), stops and vehicles the
model lacks left out; if OR-Tools rejects them, the default runs are made.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from sanitation.routing.engine import (
    STOPPED_BY_TIME,
    STOPPED_BY_WORK,
    SolveParams,
    work_iterations,
)
from sanitation.routing.ortools_construct import initial_routes, warm_routes
from sanitation.routing.ortools_model import ModelLayout
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.schedule import ScheduleError, build_route
from sanitation.routing.screen import UnservedReason, screen
from sanitation.routing.solution import Route, RoutingSolution, Unserved

logger = logging.getLogger(__name__)

DEFAULT_FIRST_SOLUTION = "SAVINGS"
DEFAULT_METAHEURISTIC = "ITERATED_LOCAL_SEARCH"

#: share of a run's time given to the OR-Tools search (the rest covers its overrun)
TIME_SAFETY = 0.96
#: solutions per second by number of candidate stops (measured on the project's 2-core machine,
#: see docs/routing_search.md "Work budgets"); `work_iterations` interpolates
ITERATIONS_PER_S = ((10, 30.0), (30, 30.0), (100, 8.0), (200, 4.0))
#: a run that used this share of its time is taken as stopped by the clock
CLOCK_STOP_SHARE = 0.9
WARM_START = "WARM_START"


def _clean_unloads(problem: RoutingProblem, route: Route) -> Route:
    """The route without redundant unloads and with the cheapest final site, if that is cheaper.

    An unload with no stop since the previous one (or since the depot) is redundant: the model
    charges almost nothing for it when time has no price. The model also fixes each vehicle's
    final site (its end node). The cleaned sequence is re-timed by
    `sanitation.routing.schedule.build_route`, trying every allowed final site; the result is
    kept only if it is feasible and not dearer.
    """
    vt = problem.vehicle_type(route.vehicle_type)
    seq: list[tuple[str, str]] = []
    for v in route.visits[:-1]:
        if v.kind == "unload" and (not seq or _covered(problem, seq[-1], v.id)):
            continue
        seq.append((v.kind, v.id))
    while seq and seq[-1][0] == "unload":
        seq.pop()
    cleaned = len(seq) + 1 < len(route.visits)
    if not cleaned and len(vt.unload_sites) < 2:
        return route
    try:
        other = build_route(problem, vt, route.vehicle_index, seq, final_unload=True)
    except ScheduleError:
        return route
    return other if other.cost_cny <= route.cost_cny + 1e-9 else route


def _covered(problem: RoutingProblem, prev: tuple[str, str], site_id: str) -> bool:
    """Whether an unload at ``site_id`` right after step ``prev`` is redundant: ``prev`` is an
    unload at a site accepting every stream this one accepts."""
    if prev[0] != "unload":
        return False
    before, here = problem.site(prev[1]).streams, problem.site(site_id).streams
    return before is None or (here is not None and here <= before)


def _enum(enum_type: Any, name: str, what: str) -> int:
    try:
        return int(getattr(enum_type, name))
    except AttributeError:
        msg = f"OR-Tools engine: unknown {what} {name!r}."
        raise ValueError(msg) from None


def _configure_ils(search: Any, opts: dict[str, Any]) -> None:
    """Iterated local search: SISR ruin (string removals) and recreate, greedy descent inside."""
    search.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    rr = search.iterated_local_search_parameters.ruin_recreate_parameters
    del rr.ruin_strategies[:]
    sisr = rr.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = int(opts.get("sisr_max_sequence", 10))
    sisr.avg_num_removed_visits = int(opts.get("sisr_avg_removed", 10))
    sisr.bypass_factor = 0.01
    if opts.get("ils_acceptance", "greedy") == "annealing":
        sa = search.iterated_local_search_parameters.reference_solution_acceptance_strategy
        sa.simulated_annealing.cooling_schedule_strategy = 1
        sa.simulated_annealing.automatic_temperatures = True


class OrToolsEngine:
    """The OR-Tools routing engine (see the module docstring for the model).

    ``params.options`` may set ``first_solution`` and ``metaheuristic`` (OR-Tools enum names,
    or ``ITERATED_LOCAL_SEARCH``) for a single run, ``construct`` (True/False/"auto": start from
    the multi-trip construction), ``construct_share`` (its share of the time, default 0.25),
    ``gls_lambda`` (guided local search lambda), ``sisr_avg_removed`` / ``sisr_max_sequence``
    (ruin size) and ``log_search`` (bool).
    """

    name = "ortools"

    def solve(
        self, problem: RoutingProblem, params: SolveParams, *, seed: int = 1
    ) -> RoutingSolution:
        """Solve ``problem`` within ``params.time_limit_s``; unserved stops carry a reason.

        Parameters
        ----------
        problem
            The station-day to route.
        params
            Time limit (s), optional ``max_iterations`` (OR-Tools solution limit) and options.
        seed
            Recorded only: OR-Tools' routing search is not randomised.

        Returns
        -------
        RoutingSolution
            Routes, unserved stops with reasons, route cost (CNY) and search statistics.
        """
        t0 = time.perf_counter()
        screening = screen(problem)
        candidates = list(screening.candidates)
        allowed = {si: list(types) for si, types in screening.vehicle_types.items()}
        reasons: dict[int, UnservedReason] = dict(screening.rejected)
        layout = ModelLayout(problem, candidates, allowed)
        if not layout.vehicles or not candidates:
            for si in candidates:
                reasons[si] = UnservedReason.NO_USABLE_VEHICLE
            return RoutingSolution(
                routes=(),
                unserved=tuple(
                    Unserved(problem.stops[si].id, reasons[si]) for si in sorted(reasons)
                ),
                cost_cny=0.0,
                engine=self.name,
                seconds=time.perf_counter() - t0,
                stats={"seed": seed, "nodes": len(layout.nodes)},
            )
        opts = dict(params.options)
        if params.initial_solution is not None:
            opts["warm_start"] = params.initial_solution
        plan = _plan(opts, bool(layout.copy_nodes))
        work = (
            work_iterations(ITERATIONS_PER_S, len(candidates), params.work_s)
            if params.work_s is not None
            else None
        )
        runs: list[tuple[float, list[Route], list[int], dict[str, Any]]] = []
        run_stats: list[dict[str, Any]] = []
        k = 0
        lifted = False
        extra_run = -1
        while k < len(plan):
            first, meta, construct, share = plan[k]
            left = params.time_limit_s - (time.perf_counter() - t0)
            budget = left if k == len(plan) - 1 else share * params.time_limit_s
            if lifted and k == extra_run:  # the run added on lifting the caps gets a minimum
                budget = max(budget, share * params.time_limit_s)
            limits = [n for n in (params.max_iterations, work and max(1, int(share * work))) if n]
            routes, dropped, stats = _search_once(
                layout, first, meta, construct, max(0.05, budget), min(limits, default=None), opts
            )
            if stats.pop("warm_rejected", False) and len(plan) == 1:
                plan.extend(_plan({**opts, "warm_start": None}, bool(layout.copy_nodes)))
            logger.info("OR-Tools run %d (%s + %s): %s", k, first, meta, stats)
            run_stats.append(stats)
            k += 1
            if routes is None:
                continue
            value = sum(r.cost_cny for r in routes)
            value += problem.vehicle_weight * len(routes)
            value += sum(problem.unserved_penalty(problem.stops[si]) for si in dropped)
            runs.append((value, routes, dropped, stats))
            if stats.pop("cap_reached", False) and not layout.full:
                lifted = True
                extra_run = len(plan) if k == len(plan) else -1
                layout, plan, opts = _lifted(problem, candidates, allowed, plan, k, routes, opts)
        unlimited = work is None and params.max_iterations is None  # only the clock stops it
        clock = unlimited or any(r.get("stopped_by") == STOPPED_BY_TIME for r in run_stats)
        stats_all: dict[str, Any] = {
            "seed": seed,
            "runs": run_stats,
            "stopped_by": STOPPED_BY_TIME if clock else STOPPED_BY_WORK,
            "caps_lifted": lifted,
        }
        if not runs:
            logger.warning("OR-Tools found no solution within %.1f s", params.time_limit_s)
            best_routes: list[Route] = []
            for si in candidates:
                reasons[si] = UnservedReason.NOT_FOUND_IN_TIME
        else:
            best = min(runs, key=lambda r: r[0])
            best_routes = best[1]
            # the best run's own details, under the stop of the whole solve (any run's clock)
            stats_all.update({**best[3], "stopped_by": stats_all["stopped_by"]})
            for si in best[2]:
                reasons[si] = UnservedReason.FLEET_EXHAUSTED
        unserved = tuple(Unserved(problem.stops[si].id, reasons[si]) for si in sorted(reasons))
        return RoutingSolution(
            routes=tuple(best_routes),
            unserved=unserved,
            cost_cny=sum(r.cost_cny for r in best_routes),
            engine=self.name,
            seconds=time.perf_counter() - t0,
            stats=stats_all,
        )


#: share of the time limit a re-solve with lifted caps gets at least (when no run is left)
LIFT_SHARE = 0.1


def _lifted(
    problem: RoutingProblem,
    candidates: list[int],
    allowed: dict[int, list[int]],
    plan: list[tuple[str, str, bool, float]],
    done: int,
    routes: list[Route],
    opts: dict[str, Any],
) -> tuple[ModelLayout, list[tuple[str, str, bool, float]], dict[str, Any]]:
    """The full layout (no estimated count), the plan and options to go on with: the plan's
    remaining runs, or with none left one more run warm-started from ``routes``."""
    logger.info("OR-Tools: stops left out with a fleet or unload-copy cap reached; lifting it")
    layout = ModelLayout(problem, candidates, allowed, full=True)
    if done < len(plan):
        return layout, plan, opts
    start = RoutingSolution(tuple(routes), (), sum(r.cost_cny for r in routes), "ortools", 0.0)
    return (
        layout,
        [*plan, (WARM_START, "GUIDED_LOCAL_SEARCH", False, LIFT_SHARE)],
        {**opts, "warm_start": start},
    )


def _plan(opts: dict[str, Any], reloads: bool) -> list[tuple[str, str, bool, float]]:
    """The runs (first solution, metaheuristic, construct?, share of the time) to make.

    Explicit ``first_solution``/``metaheuristic`` options give one run. By default
    (measured, see ``docs/routing_search.md``): SAVINGS + iterated local search; on days with
    reloads (unload copies) first 35 % of the time for our own multi-trip construction +
    guided local search, then the rest for it, the better result kept.
    """
    if opts.get("warm_start") is not None:
        return [(WARM_START, "GUIDED_LOCAL_SEARCH", False, 1.0)]
    if "first_solution" in opts or "metaheuristic" in opts:
        first = str(opts.get("first_solution", DEFAULT_FIRST_SOLUTION))
        meta = str(opts.get("metaheuristic", DEFAULT_METAHEURISTIC))
        construct = opts.get("construct", "auto")
        auto = construct == "auto" and reloads and meta != "ITERATED_LOCAL_SEARCH"
        return [(first, meta, construct is True or auto, 1.0)]
    if not reloads:
        return [(DEFAULT_FIRST_SOLUTION, DEFAULT_METAHEURISTIC, False, 1.0)]
    # the construction + GLS run settles within seconds (same plan at 30 s and 60 s on Kim's
    # 102/277-stop days), the ILS run keeps improving: most of the time goes to the ILS. The
    # construction runs first: it always yields a plan, while SAVINGS on a large day may not
    # finish its first solution in time (seen at 1,000 stops on a loaded machine)
    return [
        (DEFAULT_FIRST_SOLUTION, "GUIDED_LOCAL_SEARCH", True, 0.35),
        (DEFAULT_FIRST_SOLUTION, DEFAULT_METAHEURISTIC, False, 0.65),
    ]


def _search_once(
    layout: ModelLayout,
    first: str,
    meta: str,
    construct: bool,
    time_limit_s: float,
    max_iterations: int | None,
    opts: dict[str, Any],
) -> tuple[list[Route] | None, list[int], dict[str, Any]]:
    """One OR-Tools search on a fresh model: (routes or None, dropped stop indices, stats)."""
    t0 = time.perf_counter()
    problem = layout.problem
    model = layout.build()  # a fresh model per run (a model is closed for one set of parameters)
    manager, routing = model.manager, model.routing
    search = pywrapcp.DefaultRoutingSearchParameters()
    warm = first == WARM_START
    search.first_solution_strategy = _enum(
        routing_enums_pb2.FirstSolutionStrategy,
        DEFAULT_FIRST_SOLUTION if warm else first,
        "first_solution",
    )
    use_ils = meta == "ITERATED_LOCAL_SEARCH"
    if use_ils:
        _configure_ils(search, opts)
    else:
        search.local_search_metaheuristic = _enum(
            routing_enums_pb2.LocalSearchMetaheuristic, meta, "metaheuristic"
        )
    if "gls_lambda" in opts:
        search.guided_local_search_lambda_coefficient = float(opts["gls_lambda"])
    search.log_search = bool(opts.get("log_search", False))
    if max_iterations is not None:
        search.solution_limit = max_iterations
        # no hidden wall clock inside a work-budgeted run (module docstring)
        search.lns_time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    stats: dict[str, Any] = {
        "first_solution": "CONSTRUCTION" if construct else first,
        "metaheuristic": meta,
        "nodes": len(layout.nodes),
        "unload_copies": {k: len(v) for k, v in layout.copy_nodes.items()},
        "cost_scale": layout.cny_scale,
    }
    start: pywrapcp.Assignment | None = None
    clock = False
    if warm:
        start = routing.ReadAssignmentFromRoutes(warm_routes(model, opts["warm_start"]), True)
        stats["first_solution"] = WARM_START
        if start is None:
            logger.info("OR-Tools rejected the warm-start routes; making the default runs")
            return None, [], {**stats, "warm_rejected": True, "stopped_by": STOPPED_BY_WORK}
    if construct:
        share = float(opts.get("construct_share", 0.25))
        deadline = time.perf_counter() + share * time_limit_s
        routes0 = initial_routes(model, deadline)
        clock = time.perf_counter() > deadline
        start = routing.ReadAssignmentFromRoutes(routes0, True)
        stats["construct_stops"] = sum(
            1 for r in routes0 for i in r if layout.nodes.kind[manager.IndexToNode(i)] == "stop"
        )
        if start is None:
            logger.warning("OR-Tools rejected the constructed routes; using its own start")
    # OR-Tools overruns its limit by a few percent on large models (a move in progress ends)
    left = max(0.05, TIME_SAFETY * time_limit_s - (time.perf_counter() - t0))
    search.time_limit.FromMilliseconds(max(1, int(left * 1000)))
    if start is not None:
        if use_ils:  # OR-Tools' ILS cannot start from a given solution: GLS from it instead
            search.local_search_metaheuristic = (
                routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
            )
            stats["metaheuristic"] = "GUIDED_LOCAL_SEARCH"
        assignment = routing.SolveFromAssignmentWithParameters(start, search)
    elif use_ils:
        assignment = routing.SolveWithIteratedLocalSearch(search)
    else:
        assignment = routing.SolveWithParameters(search)
    stats["status"] = int(routing.status())
    seconds = time.perf_counter() - t0
    stats["seconds"] = round(seconds, 2)
    clock = clock or max_iterations is None or seconds >= CLOCK_STOP_SHARE * time_limit_s
    stats["stopped_by"] = STOPPED_BY_TIME if clock else STOPPED_BY_WORK
    if assignment is None:
        return None, [], stats
    stats["objective_scaled"] = assignment.ObjectiveValue()
    # a vehicle that only visits unload copies is not used (the verifier demands a stop)
    routes = [_clean_unloads(problem, r) for r in model.routes(assignment) if r.stop_ids]
    dropped = model.dropped_stops(assignment)
    by_site = model.copies_used(assignment)
    stats["unload_copies_used"] = sum(by_site.values())
    stats["cap_reached"] = bool(dropped) and layout.cap_reached(routes, by_site)
    return routes, dropped, stats


__all__ = ["OrToolsEngine"]
