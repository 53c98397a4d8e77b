"""PyVRP engine: iterated local search with native reload depots, one profile per access class.

How the problem maps onto PyVRP (0.14; the data is built by `sanitation.routing.pyvrp_model`):

- Every stop is an optional client with a prize that grows with its priority and exceeds what
  dropping it could save, so stops are only left out when the fleet cannot serve them, lowest
  priority first. Stops that no vehicle could serve are set apart before solving, with the
  reason, by `sanitation.routing.screen` (the same screening as the OR-Tools engine's).
- Unload sites are reload depots (time window = site hours, in lunch-free time, see below;
  service = unload time); the vehicle's start depot is a separate PyVRP depot without service
  time. The end of every route is a virtual depot "final unload, then home", so each route ends
  empty. Where a site's hours cannot bind a final unload (open from the shift start until the
  latest arrival that still gets the truck home: a *safe* site), one virtual end goes through the
  cheapest safe site (distance ``min_u d(i, u) + d(u, depot)``, duration adding the unload).
  Every other site gets a PyVRP vehicle type of its own ending at "unload there, then home",
  whose end window is the site's hours shifted by the unload and the drive home (waiting at the
  end is waiting at the site), so PyVRP checks every final unload's hours. These copies of a type
  share its count round robin, or each get all of it when the count cannot bind (a truck per
  stop, e.g. the Kim benchmark's unbounded fleet). The re-timing re-chooses the final site (the
  cheapest one that is feasible; the modelled one always is).
- Access classes: one PyVRP profile per (travel profile, set of stops the vehicle type may not
  serve: its access class forbids them, or the screening found it cannot serve them even alone);
  the forbidden stops' rows and columns get a travel time longer than the horizon, so any route
  using them is infeasible.
- Sorted streams: one load dimension per stream, a vehicle type's capacity per dimension its
  compartment's; reloads and final unloads at sites accepting every stream the type carries (a
  reload empties every dimension), or, for a type without such a site, at unload chains: one
  PyVRP depot standing for a fixed sequence of sites that together take every stream (see
  `sanitation.routing.pyvrp_model`). `_convert` expands a chain visit into the unloads of its
  sites in order, leaving out a site that would take nothing on board (with the travel times of
  a road network, leaving a visit out delays no later one; if the timing still fails, the
  whole chain is tried); a final chain is the end depot's chain (or the cheapest of its safe
  chains) so expanded, else the timing's own choice. A type whose chains would be too long is
  not modelled and stops only it could serve are `UnservedReason.MIXED_UNLOAD`.
- ``max_load_per_day_kg`` (a per-vehicle daily volume limit) is not expressible with reloads in
  PyVRP (a reload empties every load dimension). It is first enforced conservatively, with
  ``k = ceil(day_limit / capacity)`` trips of at most ``day_limit // k`` each (with
  compartments each compartment's share of that, as PyVRP bounds each load dimension alone, not
  their sum); then a relaxed model (full trip capacity) is searched warm-started from that
  result, and the cheapest candidate seen whose routes respect the daily limit (the sum of
  every dimension) is kept. ``max_stops`` is not modelled
  (a route violating it is repaired by dropping stops, reported unserved as
  `UnservedReason.VEHICLE_LIMITS`).
- Search phases: if the fleet's capacity can hold every stop, PyVRP first runs with every stop
  required (a much faster search); if it has no feasible solution after a quarter of the time,
  the rest of the time goes to the prize-collecting model.
- Lunch (PyVRP has no breaks, and no per-route activity that could stand for one: a lunch
  "client" per truck would need a location at zero distance from every stop and a copy per
  vehicle). The search runs in *lunch-free time*: real time with the break cut out at the first
  moment at or after the lunch window opens (``ws``) when the truck is not serving
  (`sanitation.routing.schedule.lunch_free_window` gives each window its lunch-free image: a
  visit starting by ``ws`` keeps its time and must end by the latest break start ``ls``; a visit
  after ``ws`` follows the break, may start as early as its opening minus the break, and must
  start by its closing minus the break). The latest return and the maximum duration shrink by
  the break, the route leaves the depot by ``ls`` and does not end before ``ws``. Then, by
  induction over the visits after the break, every visit starts in real time at most one break
  later than in lunch-free time and never before it opens, so a route feasible in lunch-free
  time is feasible with the break; the scheduler always tries that break slot
  (`sanitation.routing.schedule.lunch_free_gap`), so `_convert` never drops a stop on the
  routes of a feasible search result (a drop there would be a bug; it is logged and reported as
  `UnservedReason.LUNCH_RETIMING`). A stop whose window has no lunch-free image (it lies wholly
  inside ``(ws, ws + break]``, where this rule always breaks first) is left out before the
  search as `UnservedReason.LUNCH_WINDOW`; the portfolio's OR-Tools engine places the break
  freely and may serve it. The rule is conservative where waiting would absorb the break; the
  measurements are in ``docs/routing_search.md``.
- A daily load limit that is at least the load of every stop cannot bind and is not modelled.
- Costs are integers in PyVRP: CNY are scaled by the smallest power of ten that makes the unit
  costs (nearly) integral; the reported cost is recomputed in CNY from the timed routes.
- Stopping: with ``params.work_s`` the search stops after a number of iterations derived from
  it and the number of candidate stops (`ITERATIONS_PER_S`), shared among the phases below, so a
  seeded solve is deterministic; ``time_limit_s`` stays a hard cap (``stats["stopped_by"]``
  says which one stopped it). Without ``work_s`` the clock alone stops it.
- Warm start: ``params.initial_solution`` (routes of another, similar problem) starts the first
  phase; its stops that are not candidates here, and routes of vehicle types missing here or
  beyond their count, are left out.
- Searches run through `solve_pyvrp`; a ``runner`` given to `PyVRPEngine` runs them instead of
  ``pyvrp.solve`` (`sanitation.routing.pyvrp_pair` runs two that share their best solutions).
- Search settings are PyVRP's defaults except the penalty manager's target share of feasible
  candidates (`TARGET_FEASIBLE`): the measurements are in ``docs/routing_search.md``; the other
  alternatives measured were no better, or within the seed-to-seed spread.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Literal, Protocol

import pyvrp
from pyvrp import Client, CostEvaluator, PenaltyParams, ProblemData
from pyvrp import SolveParams as PSolveParams
from pyvrp._pyvrp import Activity
from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks, IteratedLocalSearchParams
from pyvrp.Result import Result
from pyvrp.stop import MaxIterations, MultipleCriteria, StoppingCriterion

from sanitation.routing.engine import (
    STOPPED_BY_TIME,
    STOPPED_BY_WORK,
    SolveParams,
    work_iterations,
)
from sanitation.routing.problem import RoutingProblem, VehicleType
from sanitation.routing.pyvrp_model import (
    PyVRPData,
    Unload,
    build_data,
    initial_solution,
    pyvrp_unloads,
    trip_capacity,
)
from sanitation.routing.schedule import ScheduleError, Step, build_route, on_board_streams
from sanitation.routing.screen import Screening, UnservedReason, screen
from sanitation.routing.solution import Route, RoutingSolution, Unserved

logger = logging.getLogger(__name__)

#: share of the time after which the all-stops-required phase gives up if still infeasible
GIVE_UP_SHARE = 0.25
#: share of the time given to the relaxed daily-limit model (when a daily limit binds)
RELAXED_SHARE = 0.6
#: PyVRP's cost of an infeasible solution is the largest int64
INFEASIBLE_COST = 1 << 62

#: share of the time limit kept for building and converting (seconds, at most)
OVERHEAD_S = 1.0
#: share of feasible candidates PyVRP's penalty manager aims at (PyVRP's default: 0.65)
TARGET_FEASIBLE = 0.9
#: PyVRP's default cap on a penalty per unit of violation (`_params` raises it to the prizes)
PENALTY_CAP = PenaltyParams().max_penalty
#: iterations per second by number of candidate stops (measured on the project's 2-core
#: machine, see docs/routing_search.md "Work budgets"); `work_iterations` interpolates
ITERATIONS_PER_S = ((10, 3500.0), (30, 1500.0), (100, 260.0), (200, 140.0))


class SearchRunner(Protocol):
    """Runs one PyVRP search in place of ``pyvrp.solve`` (same arguments, same `Result`)."""

    def __call__(
        self,
        data: ProblemData,
        stop: StoppingCriterion,
        *,
        seed: int,
        params: PSolveParams,
        initial_solution: pyvrp.Solution | None,
    ) -> Result:
        """Search ``data`` from ``initial_solution`` (None: PyVRP builds one) until ``stop``."""
        ...


class PyVRPEngine:
    """Routing engine on PyVRP (see the module docstring for the modelling).

    Parameters
    ----------
    runner
        What runs each PyVRP search (None: ``pyvrp.solve``).
    """

    name = "pyvrp"

    def __init__(self, *, runner: SearchRunner | None = None) -> None:
        self.runner = runner

    def solve(self, problem: RoutingProblem, params: SolveParams, *, seed: int) -> RoutingSolution:
        """Solve ``problem`` within ``params.time_limit_s``; unserved stops carry a reason."""
        t0 = time.perf_counter()
        screening = screen(problem)
        unserved = {problem.stops[si].id: reason for si, reason in screening.rejected.items()}
        candidates = list(screening.candidates)
        routes: list[Route] = []
        stats: dict[str, object] = {"pyvrp_feasible": None, "stopped_by": STOPPED_BY_WORK}
        if candidates and not any(
            v.count > 0 and pyvrp_unloads(problem, v) for v in problem.vehicle_types
        ):
            for si in candidates:
                unserved[problem.stops[si].id] = UnservedReason.MIXED_UNLOAD
        elif candidates:
            mapping = build_data(problem, screening)
            for si in mapping.lunch_excluded:
                unserved[problem.stops[si].id] = UnservedReason.LUNCH_WINDOW
            for si in mapping.stream_excluded:
                unserved[problem.stops[si].id] = UnservedReason.MIXED_UNLOAD
            if mapping.client_stop:
                routes = _solve_mapped(
                    problem, mapping, screening, params, seed, t0, stats, unserved, self.runner
                )
        served = {sid for r in routes for sid in r.stop_ids}
        for stop_ in problem.stops:
            if stop_.id not in served and stop_.id not in unserved:
                unserved[stop_.id] = UnservedReason.FLEET_EXHAUSTED
        out_unserved = tuple(
            Unserved(s.id, unserved[s.id]) for s in problem.stops if s.id in unserved
        )
        cost = sum(r.cost_cny for r in routes)
        return RoutingSolution(
            routes=tuple(routes),
            unserved=out_unserved,
            cost_cny=cost,
            engine=self.name,
            seconds=time.perf_counter() - t0,
            stats=stats,
        )


def _solve_mapped(
    problem: RoutingProblem,
    mapping: PyVRPData,
    screening: Screening,
    params: SolveParams,
    seed: int,
    t0: float,
    stats: dict[str, object],
    unserved: dict[str, UnservedReason],
    runner: SearchRunner | None = None,
) -> list[Route]:
    """Search the PyVRP model and time its routes (``stats`` and ``unserved`` are filled in)."""
    elapsed = time.perf_counter() - t0
    budget = params.time_limit_s - elapsed - min(OVERHEAD_S, 0.05 * params.time_limit_s)
    limits = _Limits.of(params, len(mapping.client_stop), max(0.05, budget))
    best, phases = _search(problem, mapping, screening, limits, params, seed, runner)
    stats.update(
        pyvrp_feasible=best.is_feasible(),
        pyvrp_phases=phases,
        pyvrp_distance=best.distance(),
        stopped_by=STOPPED_BY_TIME if limits.clock_stopped else STOPPED_BY_WORK,
    )
    if limits.iterations is None and limits.cap is None:  # only the clock could stop it
        stats["stopped_by"] = STOPPED_BY_TIME
    reason = (
        UnservedReason.LUNCH_RETIMING if best.is_feasible() else UnservedReason.NOT_FOUND_IN_TIME
    )
    return _convert(problem, mapping, best, unserved, reason)


class _Deadline:
    """Stop ``seconds`` after construction (PyVRP's MaxRuntime starts its clock only after the
    initial local search, which takes seconds on large instances)."""

    def __init__(self, seconds: float, *, not_after: float | None = None) -> None:
        end = time.perf_counter() + seconds
        self.end = end if not_after is None else min(end, not_after)
        self.fired = False

    def __call__(self, best_cost: int) -> bool:
        self.fired = self.fired or time.perf_counter() >= self.end
        return self.fired


class _Limits:
    """The search's budget: a wall-clock deadline and, with a work budget, iterations."""

    def __init__(
        self, seconds: float, iterations: int | None, cap: int | None, deadline: _Deadline
    ) -> None:
        self.deadline = deadline
        self.seconds = seconds
        self.iterations = iterations
        self.cap = cap
        self._phases: list[_Deadline] = []  # deadlines of the phases `within` made

    @classmethod
    def of(cls, params: SolveParams, n_candidates: int, seconds: float) -> _Limits:
        """The limits of ``params`` for ``n_candidates`` stops within ``seconds``."""
        work = (
            work_iterations(ITERATIONS_PER_S, n_candidates, params.work_s)
            if params.work_s is not None
            else None
        )
        return cls(seconds, work, params.max_iterations, _Deadline(seconds))

    def within(self, share: float) -> _Limits:
        """The same budget with a deadline after ``share`` of the time (and not later)."""
        deadline = _Deadline(share * self.seconds, not_after=self.deadline.end)
        self._phases.append(deadline)
        return _Limits(self.seconds, self.iterations, self.cap, deadline)

    @property
    def clock_stopped(self) -> bool:
        """Whether the wall clock stopped a phase (this one or one made by `within`)."""
        return self.deadline.fired or any(d.fired for d in self._phases)

    def share(self, fraction: float, used: int = 0) -> int | None:
        """Iterations for a phase: ``fraction`` of the work budget, less ``used``."""
        if self.iterations is None:
            return None
        return max(1, int(fraction * self.iterations) - used)


def _params(
    data: ProblemData, callbacks: IteratedLocalSearchCallbacks | None = None
) -> PSolveParams:
    """PyVRP's settings for ``data`` with this engine's penalty target and cap (and optional
    search callbacks).

    The cap on a unit of violation (a kg over capacity, a second of time warp) is at least the
    largest prize, so that the penalty manager can always make serving a stop by breaking a
    constraint dearer than dropping it: with PyVRP's default cap (1e5, far below the prizes)
    a prize-collecting search whose fleet is short never turns feasible, and its best
    infeasible routes lose stops to the re-timing instead of to the search's choice. PyVRP
    starts the penalties half-way up to the cap, so a prize-collecting search starts close to
    feasible-only and lowers its penalties while it finds feasible candidates.
    """
    ils = (
        IteratedLocalSearchParams()
        if callbacks is None
        else IteratedLocalSearchParams(callbacks=callbacks)
    )
    cap = max(PENALTY_CAP, max((c.prize for c in data.clients() if not c.required), default=0))
    penalty = PenaltyParams(target_feasible=TARGET_FEASIBLE, max_penalty=float(cap))
    return PSolveParams(ils=ils, penalty=penalty)


def solve_pyvrp(
    data: ProblemData,
    stop: StoppingCriterion,
    *,
    seed: int,
    params: PSolveParams | None = None,
    initial_solution: pyvrp.Solution | None = None,
    warnings_as: Literal["log", "ignore"] = "log",
    runner: SearchRunner | None = None,
) -> Result:
    """``pyvrp.solve`` of ``data`` until ``stop``, without statistics or display: the one call
    shape of PyVRP in the project.

    Parameters
    ----------
    params
        PyVRP's search settings (None: PyVRP's defaults; this engine passes `_params`).
    initial_solution
        Where the search starts (None: PyVRP builds one).
    warnings_as
        ``"log"``: PyVRP's warnings become log records (they are advice, not errors);
        ``"ignore"``: they are dropped (e.g. the siting's many small solves).
    runner
        Runs the search instead of ``pyvrp.solve`` (None: ``pyvrp.solve``).
    """
    settings = params if params is not None else PSolveParams()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always" if warnings_as == "log" else "ignore")
        if runner is not None:
            result = runner(
                data, stop, seed=seed, params=settings, initial_solution=initial_solution
            )
        else:
            result = pyvrp.solve(
                data,
                stop=stop,
                seed=seed,
                collect_stats=False,
                display=False,
                params=settings,
                initial_solution=initial_solution,
            )
    for w in caught:
        logger.info("pyvrp: %s", str(w.message).strip().splitlines()[0])
    return result


class _GiveUpIfInfeasible:
    """Stop once ``after_s`` have passed (or, if given, ``after_iterations`` iterations) without
    any feasible solution."""

    def __init__(self, after_s: float, after_iterations: int | None) -> None:
        self._after = after_s
        self._after_iterations = after_iterations
        self._start = time.perf_counter()
        self._calls = 0

    def __call__(self, best_cost: int) -> bool:
        self._calls += 1
        if best_cost < INFEASIBLE_COST:
            return False
        if self._after_iterations is not None:
            return self._calls > self._after_iterations
        return time.perf_counter() - self._start > self._after


def _stop(
    limits: _Limits, iterations: int | None, give_up: _GiveUpIfInfeasible | None
) -> StoppingCriterion:
    """Stop at the deadline, after ``iterations`` (and the cap), or on giving up."""
    crits: list[StoppingCriterion] = [limits.deadline]
    caps = [n for n in (iterations, limits.cap) if n is not None]
    if caps:
        crits.append(MaxIterations(min(caps)))
    if give_up is not None:
        crits.append(give_up)
    return crits[0] if len(crits) == 1 else MultipleCriteria(crits)


def _search(
    problem: RoutingProblem,
    mapping: PyVRPData,
    screening: Screening,
    limits: _Limits,
    params: SolveParams,
    seed: int,
    runner: SearchRunner | None = None,
) -> tuple[pyvrp.Solution, list[str]]:
    """Run the PyVRP phases within ``budget`` seconds; return the best admissible solution.

    Phase 1: every stop required (a much faster search) when the fleet could plausibly serve
    them all, giving up after a share of the time if nothing feasible shows up; otherwise
    phase 2: stops optional with priority prizes. If a daily load limit had to be modelled by
    smaller trips, part of the time goes to a relaxed model (full trip capacity) warm-started
    from the result, keeping the best candidate seen that respects the daily limit.
    """
    phases: list[str] = []
    relaxed = (
        build_data(problem, screening, relax_day_limit=True)
        if _day_limit_binds(problem, mapping.client_stop)
        else None
    )
    first_share = 1.0 - RELAXED_SHARE if relaxed is not None else 1.0
    first = limits.within(first_share) if relaxed is not None else limits
    warm = params.initial_solution

    def start(data: ProblemData) -> pyvrp.Solution | None:
        return None if warm is None else initial_solution(problem, mapping, data, warm)

    best: pyvrp.Solution | None = None
    required = False
    used = 0
    if _fleet_may_suffice(problem, mapping.client_stop):
        data = mapping.data.replace(clients=[_with_required(c) for c in mapping.data.clients()])
        give_up = _GiveUpIfInfeasible(GIVE_UP_SHARE * limits.seconds, limits.share(GIVE_UP_SHARE))
        res = solve_pyvrp(
            data,
            _stop(first, first.share(first_share), give_up),
            seed=seed,
            params=_params(data),
            initial_solution=start(data),
            runner=runner,
        )
        used = res.num_iterations
        phases.append(f"required:{res.num_iterations}")
        if res.best.is_feasible():
            best, required = res.best, True
    if best is None:
        res = solve_pyvrp(
            mapping.data,
            _stop(first, first.share(first_share, used), None),
            seed=seed,
            params=_params(mapping.data),
            initial_solution=start(mapping.data),
            runner=runner,
        )
        phases.append(f"optional:{res.num_iterations}")
        best = res.best
    if relaxed is None:
        return best, phases

    data = relaxed.data
    if required:
        data = data.replace(clients=[_with_required(c) for c in data.clients()])
    day_limits = [problem.vehicle_types[i].max_load_per_day_kg for i in relaxed.vt_index]
    tracker = _DayLimitTracker(day_limits)
    init = _transfer(best, data) if best.is_feasible() else None
    res = solve_pyvrp(
        data,
        _stop(limits, limits.share(RELAXED_SHARE), None),
        seed=seed + 1,
        params=_params(data, tracker),
        initial_solution=init,
        runner=runner,
    )
    phases.append(f"relaxed-day-limit:{res.num_iterations}")
    zero = CostEvaluator([0], 0, 0)
    if tracker.best is not None and (
        not best.is_feasible() or zero.cost(tracker.best) < zero.cost(best)
    ):
        phases.append("relaxed-day-limit won")
        return _transfer(tracker.best, mapping.data), phases
    return best, phases


class _DayLimitTracker(IteratedLocalSearchCallbacks):
    """Remembers the cheapest feasible solution seen whose routes respect the daily limits."""

    def __init__(self, limits: list[int | None]) -> None:
        self.limits = limits
        self.best: pyvrp.Solution | None = None
        self.best_cost = INFEASIBLE_COST

    def _consider(self, sol: pyvrp.Solution, cost_evaluator: CostEvaluator) -> None:
        cost = cost_evaluator.cost(sol)
        if cost >= self.best_cost:
            return
        for route in sol.routes():
            limit = self.limits[route.vehicle_type()]
            if limit is not None and sum(route.pickup()) > limit:
                return
        self.best, self.best_cost = sol, cost

    def on_iteration(
        self,
        current: pyvrp.Solution,
        candidate: pyvrp.Solution,
        best: pyvrp.Solution,
        cost_evaluator: CostEvaluator,
    ) -> None:
        """Check the candidate and the search's best."""
        self._consider(candidate, cost_evaluator)
        self._consider(best, cost_evaluator)


def _transfer(sol: pyvrp.Solution, data: ProblemData) -> pyvrp.Solution:
    """The same visits as a solution of ``data`` (same clients/depots, other capacities)."""
    routes = [
        pyvrp.Route(
            data,
            [Activity(a.type, a.idx) for a in list(r.schedule())[1:-1]],
            r.vehicle_type(),
        )
        for r in sol.routes()
    ]
    return pyvrp.Solution(data, routes)


def _day_limit_binds(problem: RoutingProblem, stops: list[int]) -> bool:
    total = sum(problem.stops[i].load_kg for i in stops)
    return any(
        v.count > 0
        and trip_capacity(v, total_kg=total)[0] < min(v.capacity_kg, v.max_load_per_day_kg or 0)
        for v in problem.vehicle_types
    )


def _with_required(c: Client) -> Client:
    return Client(
        c.location,
        delivery=c.delivery,
        pickup=c.pickup,
        service_duration=c.service_duration,
        tw_early=c.tw_early,
        tw_late=c.tw_late,
        required=True,
        name=c.name,
    )


def _fleet_may_suffice(problem: RoutingProblem, candidates: list[int]) -> bool:
    """Whether all candidate stops can be served as far as a load count can tell."""
    total = sum(problem.stops[i].load_kg for i in candidates)
    room = 0
    for v in problem.vehicle_types:
        cap, trips = trip_capacity(v, total_kg=total)
        if trips is None:
            return True
        room += v.count * cap * trips
    return total <= room


#: a visit of a PyVRP route: ("stop", (stop_id,)) or ("unload", the sites of its depot)
_Group = tuple[str, Unload]


def _convert(
    problem: RoutingProblem,
    mapping: PyVRPData,
    best: pyvrp.Solution,
    unserved: dict[str, UnservedReason],
    reason: UnservedReason,
) -> list[Route]:
    routes: list[Route] = []
    used: dict[int, int] = {}
    for proute in best.routes():
        k = proute.vehicle_type()
        vt = problem.vehicle_types[mapping.vt_index[k]]
        groups: list[_Group] = []
        schedule = list(proute.schedule())
        for act in schedule[1:-1]:
            if act.is_client():
                groups.append(("stop", (problem.stops[mapping.client_stop[act.idx]].id,)))
            else:
                sites = mapping.depot_sites[act.idx]
                if sites and (not groups or groups[-1][0] != "unload"):
                    groups.append(("unload", sites))
        ti = mapping.vt_index[k]
        n = used.get(ti, 0)
        route = _timed(problem, vt, n, groups, mapping.final_chains[k], unserved, reason)
        if route is not None:
            routes.append(route)
            used[ti] = n + 1
    return routes


def _unload_steps(
    problem: RoutingProblem, vt: VehicleType, steps: list[Step], sites: Unload, *, lean: bool
) -> list[Step]:
    """The unload visits of ``sites`` after ``steps``; ``lean``: a chain's sites that would take
    nothing on board are left out."""
    if not lean or len(sites) == 1:
        return [("unload", u) for u in sites]
    left = on_board_streams(problem, vt, steps)
    out: list[Step] = []
    for u in sites:
        taken = {st for st in left if problem.site(u).accepts(st)}
        if taken:
            out.append(("unload", u))
            left -= taken
    return out


def _expand(
    problem: RoutingProblem, vt: VehicleType, groups: list[_Group], *, lean: bool
) -> tuple[list[Step], list[int]]:
    """The visit sequence of ``groups`` and the group each visit comes from."""
    steps: list[Step] = []
    origin: list[int] = []
    for g, (kind, ids) in enumerate(groups):
        part = (
            [("stop", ids[0])]
            if kind == "stop"
            else _unload_steps(problem, vt, steps, ids, lean=lean)
        )
        steps += part
        origin += [g] * len(part)
    return steps, origin


def _build_with_final(
    problem: RoutingProblem,
    vt: VehicleType,
    index: int,
    steps: list[Step],
    finals: list[Unload],
    *,
    lean: bool,
) -> Route:
    """``steps`` timed with the cheapest feasible of the ``finals`` chains appended (none given,
    or none feasible: the final unload `build_route` chooses)."""
    best: Route | None = None
    for chain in finals:
        tail = _unload_steps(problem, vt, steps, chain, lean=lean)
        try:
            r = build_route(problem, vt, index, [*steps, *tail])
        except ScheduleError:
            continue
        if best is None or r.cost_cny < best.cost_cny:
            best = r
    return best if best is not None else build_route(problem, vt, index, steps)


def _time_groups(
    problem: RoutingProblem,
    vt: VehicleType,
    index: int,
    groups: list[_Group],
    finals: list[Unload],
) -> Route:
    """Time ``groups`` (chains expanded lean, then whole); a `ScheduleError` names the group."""
    chains = bool(finals) or any(len(ids) > 1 for kind, ids in groups if kind == "unload")
    first: ScheduleError | None = None
    for lean in (True, False) if chains else (True,):
        steps, origin = _expand(problem, vt, groups, lean=lean)
        try:
            return _build_with_final(problem, vt, index, steps, finals, lean=lean)
        except ScheduleError as e:
            if first is None:
                pos = origin[e.position] if 0 <= e.position < len(origin) else len(groups) - 1
                first = ScheduleError(str(e), pos, limit=e.limit)
    assert first is not None
    raise first


def _timed(
    problem: RoutingProblem,
    vt: VehicleType,
    index: int,
    groups: list[_Group],
    finals: list[Unload],
    unserved: dict[str, UnservedReason],
    reason: UnservedReason,
) -> Route | None:
    """Time the route; drop stops (reported unserved) until a feasible timing exists.

    A stop dropped because the route breaks a vehicle limit PyVRP does not model (``max_stops``)
    or only approximates is reported as `UnservedReason.VEHICLE_LIMITS`, any other with
    ``reason``.
    """
    while any(kind == "stop" for kind, _ in groups):
        try:
            return _time_groups(problem, vt, index, groups, finals)
        except ScheduleError as e:
            pos = e.position if 0 <= e.position < len(groups) else len(groups) - 1
            while pos >= 0 and groups[pos][0] != "stop":
                pos -= 1
            if pos < 0:
                pos = max(i for i, (kind, _) in enumerate(groups) if kind == "stop")
            stop_id = groups[pos][1][0]
            logger.warning("pyvrp route %s#%d: %s; dropping %s", vt.id, index, e, stop_id)
            unserved[stop_id] = UnservedReason.VEHICLE_LIMITS if e.limit else reason
            del groups[pos]
            # collapse consecutive unloads left behind
            groups = [
                g
                for j, g in enumerate(groups)
                if not (g[0] == "unload" and j > 0 and groups[j - 1][0] == "unload")
            ]
            if groups and groups[0][0] == "unload":
                groups = groups[1:]
    return None
