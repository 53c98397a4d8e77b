"""Route-aware station siting for the chain (``policy.siting: routed``).

The scenario's stations become a `sanitation.siting.SitingProblem`, and the search of
`sanitation.siting.solve_siting` prices every siting it considers with real station-day routes:

- sites: the scenario's stations; opening cost = fixed + amortised opening cost (CNY/day); forced
  open or closed as in the assignment (``policy.keep_existing_open``, status ``closed``);
  capacity and expansion modules (capacity, CNY/day and largest count per module) as in the
  assignment: every siting the search prices pays the fewest modules its loads need;
- ``policy.keep_villages_together``: the points of a village stay at one station (the search
  moves whole villages);
- customers: every point, demand = its peak kg/day; allowed = the assignment's pairs (reachable
  within ``policy.max_point_station_travel_min`` by an allowed truck);
- the design day: the planned date with the most due kg in the week's schedule under the
  estimate's assignment. Its due points are routed; a point not due that day is priced by the
  estimate (the stem per truckload, `sanitation.assignment.build`);
- ``assign_cost`` = transfer to disposal + gate fee (+ township preference) of the point's kg, and
  the estimate for the points not due on the design day; ``estimate`` = the stem-per-truckload
  collection cost of the due points;
- the oracle (`StationDayOracle`) routes a station's due points as the chain does
  (`sanitation.plan.daily.build_station_day`) with a nominal fleet that does not bind: each
  collection type, ⌈due kg ÷ its capacity⌉ trucks (at least one; a truck can reload, so this is
  more than enough) — the fleet table is not used, so the siting does not depend on it. PyVRP
  solves it with an iteration cap (same group and seed → same routes) and the verifier checks
  every solution. A point the routes leave unserved costs a dedicated truck-day of the dearest
  collection type (its fixed cost + a whole shift's hours), the same at every station, so the
  search avoids sitings that leave points out; the count is reported. The station-days a step
  of the search needs are solved at once on a process pool of every core (the search's
  ``route_batch``; the siting does not depend on the pool's width).

Not priced here (as in the assignment): a station's transfer trucks beyond the CNY per t·km of
its haul, so the hook-lift day a newly opened station needs is not seen.

Today's assignment (the estimate's siting, with its expansion modules) is the search's estimate
siting (``estimate_site_of``: the core runs no estimate model of its own) and its start; a
what-if's base plan's siting (``base_station_of``) is a second start when it is valid in the
what-if (`base_start`). Both are routed in full first, in one batch; the work budget counts the
whole sitings the search prices beyond them (`siting_evaluations`). The time budget
(`siting_seconds`) counts everything, the oracle's tables and the starts included, and the
search gets what is left of it (nothing when the starts took it all): after it the oracle
routes no new group and drops the solves still running, so the siting ends within its budget
unless routing the starts alone takes longer. The search keeps the
cheapest whole it priced, so the routed siting never costs more than either start on this
design day. The result is cached under the plan's cache folder by the content of everything it
depends on (problem, the network and places the matrices come from, due points, budgets, seed,
both starts, the search's code); the cache is read before any table is computed; a what-if
whose siting problem is the base's own gets the base's answer from the cache. The plan reuses
the oracle's tables for its own station-days' matrices (`routed_siting` returns them).
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import sanitation.siting as siting_package
from geo.matrix import default_cache_dir
from sanitation.assignment import AssignmentProblem, AssignmentSolution, evaluate
from sanitation.assignment.problem import FORCED_CLOSED, FORCED_OPEN
from sanitation.engines import solve as solve_routing
from sanitation.errors import InfeasibleError
from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import build_station_day
from sanitation.plan.executor import executor_width
from sanitation.plan.model import SitingOut
from sanitation.plan.pool import new_pool
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import RoutingSolution
from sanitation.scenario.model import Scenario
from sanitation.siting import (
    RoutedGroup,
    RouteRequest,
    SitingProblem,
    SitingResult,
    Whole,
    solve_siting,
)

logger = logging.getLogger(__name__)

SITING_TIME_SHARE = 3.0
"""Siting wall-clock budget = this × the plan's routing ``--time-limit`` (assumed) ..."""
MIN_SITING_S = 20.0
"""... at least this (s) ..."""
MAX_SITING_S = 300.0
"""... and at most this (s): issue 13 asks Wangjiang with all candidates to site in <= 5 min."""
SECONDS_PER_EVALUATION = 10.0
"""Work budget: whole sitings the search prices beyond its starts (the estimate's siting and the
base's) = ``--time-limit`` ÷ this, rounded down, so that the same inputs and seed give the same
siting whatever the machine's load; the time budget above is the cap. Set so that the work
budget ends the search before the cap on Wangjiang at the usual load (measured: docs/siting.md,
"Batched on both cores")."""
MIN_EVALUATIONS = 1
"""At least the calibrated re-proposal."""
MAX_EVALUATIONS = 12
"""At most this many: Wangjiang's wholes take 7-24 CPU s each (measured, docs/siting.md), so 12
fit within `MAX_SITING_S` on two cores (estimated)."""
ORACLE_ITERATIONS = 1000
"""PyVRP iterations per station-day routed by the oracle (assumed)."""
ORACLE_TIME_CAP_S = 30.0
"""Wall-clock cap per oracle call (s); the iteration cap normally binds first."""
ORACLE_ENGINE = "pyvrp"
CACHE_VERSION = "siting-1"


def siting_mode(scenario: Scenario) -> tuple[str, str]:
    """``routed`` or ``estimate`` for an optimised assignment, and why."""
    policy = scenario.policy
    if policy.siting == "estimate":
        return "estimate", "policy.siting is estimate"
    free = [
        s.station_id
        for s in scenario.stations
        if s.status == "candidate" or (s.status == "existing" and not policy.keep_existing_open)
    ]
    if not free:
        return "estimate", "no siting choice: no candidate station, existing ones kept open"
    return "routed", f"stations to choose: {', '.join(free)}"


def whatif_siting_mode(
    scenario: Scenario,
    problem: AssignmentProblem,
    estimate: AssignmentSolution,
    base_station_of: Mapping[str, str] | None,
) -> tuple[str, str]:
    """`siting_mode`, except that a what-if with no station to choose is ``starts`` when its base
    plan's siting is valid here and differs from the estimate's: both are priced with routes and
    the cheaper kept (no search), so the base's routed siting is not dropped for the estimate's
    (unless ``policy.siting`` is ``estimate``)."""
    mode, reason = siting_mode(scenario)
    if mode == "routed" or scenario.policy.siting == "estimate" or base_station_of is None:
        return mode, reason
    costs_unused = np.zeros(problem.num_points, dtype=bool)
    estimate_of = np.asarray(estimate.station_of, dtype=np.int64)
    base_of, _ = base_start(siting_problem(problem, costs_unused), estimate_of, base_station_of)
    if base_of is None or np.array_equal(base_of, estimate_of):
        return mode, reason
    return "starts", (
        "no station to choose, but the base plan's siting differs from the estimate's: the "
        "cheaper of the two with routes"
    )


def siting_seconds(time_limit_s: float) -> float:
    """The siting's wall-clock budget for a plan's routing ``time_limit_s``."""
    return min(MAX_SITING_S, max(MIN_SITING_S, SITING_TIME_SHARE * time_limit_s))


def siting_evaluations(time_limit_s: float) -> int:
    """The siting's work budget for a plan's ``time_limit_s``: whole sitings its search prices
    beyond the starts."""
    wanted = math.floor(time_limit_s / SECONDS_PER_EVALUATION)
    return min(MAX_EVALUATIONS, max(MIN_EVALUATIONS, wanted))


def siting_problem(problem: AssignmentProblem, routed: np.ndarray) -> SitingProblem:
    """The assignment's stations and points as a `SitingProblem` (``routed``: points due on the
    design day; see the module docstring)."""
    routed = np.asarray(routed, dtype=bool)
    collection = np.asarray(problem.collection_cost_cny)
    others = (
        np.asarray(problem.transfer_cost_cny)
        + np.asarray(problem.gate_fee_cny)
        + np.asarray(problem.preference_cost_cny)
    )
    status = np.asarray(problem.status)
    return SitingProblem(
        opening_cost=np.asarray(problem.fixed_cost_cny),
        capacity=np.asarray(problem.capacity_kg),
        expansion_capacity=np.asarray(problem.expansion_capacity_kg),
        expansion_cost=np.asarray(problem.expansion_cost_cny),
        expansion_max=np.asarray(problem.expansion_max),
        group=np.asarray(problem.group) if problem.keep_groups_together else None,
        demand=np.asarray(problem.demand_kg),
        allowed=np.asarray(problem.allowed),
        assign_cost=others + np.where(routed[:, None], 0.0, collection),
        estimate=np.where(routed[:, None], collection, 0.0),
        fixed_open=status == FORCED_OPEN,
        fixed_closed=status == FORCED_CLOSED,
        site_ids=problem.station_ids,
        customer_ids=problem.point_ids,
    )


#: sites whose station-days tabulate a due point's matrix entries: its cheapest allowed ones by
#: the estimate (assumed; a group with a point beyond them gets its matrix computed when routed)
TABLE_SITES = 4
#: sources of one matrix request while tabulating (bounds the int64 rows held at once)
TABLE_CHUNK = 512


@dataclass
class _TableContext(PlanningContext):
    """A `PlanningContext` whose matrices are cut from tables computed once per class: one per
    site, over the depots, the stations and the due points near it (int32 s and m)."""

    tables: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def matrix(
        self, class_id: str, from_nodes: np.ndarray, to_nodes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Travel time (s) and distance (m), cut from the table holding most of the nodes asked
        for; the rows and columns of nodes it lacks are computed (all of it when it holds
        half of them or fewer: computing the rest would cost about as much). The same values
        as computed afresh (each entry is the unique least sum of its pair)."""
        from_nodes = np.asarray(from_nodes, dtype=np.int64)
        to_nodes = np.asarray(to_nodes, dtype=np.int64)
        best: tuple[int, int] | None = None  # (nodes held, table index)
        blocks = self.tables.get(class_id, [])
        for index, (nodes, _, _) in enumerate(blocks):
            held = int(np.isin(from_nodes, nodes).sum() + np.isin(to_nodes, nodes).sum())
            if best is None or held > best[0]:
                best = (held, index)
            if held == from_nodes.size + to_nodes.size:
                break
        if best is None or 2 * best[0] <= from_nodes.size + to_nodes.size:
            return super().matrix(class_id, from_nodes, to_nodes)
        nodes, *table = blocks[best[1]]
        rows, has_row = _positions(nodes, from_nodes)
        cols, has_col = _positions(nodes, to_nodes)
        cut = np.ix_(rows[has_row], cols[has_col])
        out = []
        for part in table:
            full = np.empty((from_nodes.size, to_nodes.size), dtype=np.int64)
            full[np.ix_(has_row, has_col)] = part[cut]
            out.append(full)
        time_s, dist_m = out
        if not has_row.all():  # rows of the sources the table lacks, to every target
            missing = ~has_row
            times, dists = super().matrix(class_id, from_nodes[missing], to_nodes)
            time_s[missing], dist_m[missing] = times, dists
        if not has_col.all() and has_row.any():  # the targets it lacks, from the sources it holds
            missing = ~has_col
            times, dists = super().matrix(class_id, from_nodes[has_row], to_nodes[missing])
            time_s[np.ix_(has_row, missing)] = times
            dist_m[np.ix_(has_row, missing)] = dists
        return time_s, dist_m


def _positions(nodes: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index in sorted ``nodes`` of each of ``wanted`` and whether it is there."""
    at = np.minimum(np.searchsorted(nodes, wanted), len(nodes) - 1)
    return at, nodes[at] == wanted


def _table_context(
    ctx: PlanningContext, due_points: np.ndarray, near: np.ndarray | None = None
) -> _TableContext:
    """Tables of every depot and station and the due points, per access class: one table per
    site of the points ``near`` it (``(n_points, n_stations)`` bool; None: one table of them
    all). Each source's row is computed once, ``TABLE_CHUNK`` sources at a time."""
    tables: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for class_id in ctx.classes:
        places = ctx.places
        fixed = np.concatenate(
            [places.depots[class_id].node_ids, places.stations[class_id].node_ids]
        ).astype(np.int64)
        point_nodes = places.points[class_id].node_ids.astype(np.int64)
        if near is None:
            groups = [due_points]
        else:
            groups = [due_points[near[due_points, site]] for site in range(near.shape[1])]
        blocks = [np.unique(np.concatenate([fixed, point_nodes[rows]])) for rows in groups]
        every = np.unique(np.concatenate(blocks))
        time_blocks = [np.empty((b.size, b.size), dtype=np.int32) for b in blocks]
        dist_blocks = [np.empty((b.size, b.size), dtype=np.int32) for b in blocks]
        for first in range(0, every.size, TABLE_CHUNK):
            sources = every[first : first + TABLE_CHUNK]
            time_s, dist_m = ctx.matrix(class_id, sources, every)
            for block, times, dists in zip(blocks, time_blocks, dist_blocks, strict=True):
                here = np.isin(sources, block)
                if not here.any():
                    continue
                rows = np.searchsorted(block, sources[here])
                cols = np.searchsorted(every, block)
                times[rows] = time_s[np.ix_(here, cols)]
                dists[rows] = dist_m[np.ix_(here, cols)]
        tables[class_id] = list(zip(blocks, time_blocks, dist_blocks, strict=True))
    return _TableContext(
        ctx.scenario, ctx.places, ctx.cache_dir, ctx.cut_off, ctx.lost_sites, tables
    )


def near_sites(problem: AssignmentProblem, count: int = TABLE_SITES) -> np.ndarray:
    """``(n, m)`` bool: each point's ``count`` cheapest allowed stations by collection cost."""
    cost = np.where(problem.allowed, np.asarray(problem.collection_cost_cny), np.inf)
    order = np.argsort(cost, axis=1, kind="stable")[:, :count]
    near = np.zeros(cost.shape, dtype=bool)
    np.put_along_axis(near, order, True, axis=1)
    return near & np.asarray(problem.allowed)


def unserved_penalty_cny(scenario: Scenario) -> float:
    """CNY a routed point left unserved costs: a truck-day of the dearest collection type."""
    return max(
        v.fixed_cost_cny_per_day + v.cost_per_hour_cny * (v.shift_end_s - v.shift_start_s) / 3600
        for v in scenario.vehicle_types
        if v.role == "collection"
    )


class StationDayOracle:
    """Routes a station's points of the design day (a `sanitation.siting.RouteOracle`; `batch`
    is its `sanitation.siting.RouteBatch`).

    ``customers`` are indices of the scenario's points; those not due on the design day are not
    routed (their cost is in the siting problem's ``assign_cost``). Answers are memoised by
    station and due set; ``solves`` counts the routing solves made. The solves of a batch run at
    once on ``executor`` (e.g. a process pool; None: here, one after another); each is built
    here and its answer kept by request, so the answers do not depend on the order the solves
    finish in. After ``deadline`` (a `time.perf_counter` value) a group not routed yet is
    refused (None, counted in ``refused``), and so is a solve of a batch not finished by then:
    the search ends with what it has, and the siting's time budget is a hard cap. Matrices
    come from tables computed once (`_table_context`): per site over the points ``near`` it
    (`near_sites`; None: one table of every due point).
    """

    def __init__(
        self,
        ctx: PlanningContext,
        due_kg: Mapping[str, int],
        *,
        near: np.ndarray | None = None,
        iterations: int = ORACLE_ITERATIONS,
        engine: str = ORACLE_ENGINE,
        executor: cf.Executor | None = None,
    ) -> None:
        scenario = ctx.scenario
        self.point_ids = [p.point_id for p in scenario.points]
        self.index = {pid: i for i, pid in enumerate(self.point_ids)}
        self.station_ids = [s.station_id for s in scenario.stations]
        self.due_kg = dict(due_kg)
        self.due_rows = np.array(sorted(self.index[p] for p in self.due_kg), dtype=np.int64)
        self.near = near
        self.plan_ctx = ctx
        self._tables: _TableContext | None = None
        self.collection_types = [v for v in scenario.vehicle_types if v.role == "collection"]
        self.penalty_cny = unserved_penalty_cny(scenario)
        self.iterations = iterations
        self.engine = engine
        self.memo: dict[tuple[int, frozenset[str]], RoutedGroup] = {}
        self.solves = 0
        self.deadline: float | None = None
        self.refused = 0
        self.executor = executor

    @property
    def tables(self) -> _TableContext | None:
        """The oracle's matrix context if its tables were computed, else None."""
        return self._tables

    @property
    def ctx(self) -> _TableContext:
        """The context the oracle's matrices come from, its tables computed on first use."""
        if self._tables is None:
            self._tables = _table_context(self.plan_ctx, self.due_rows, self.near)
        return self._tables

    def due_of(self, customers: Sequence[int]) -> dict[str, int]:
        """The design-day due kg of the given points (those due)."""
        return {
            pid: self.due_kg[pid] for i in customers if (pid := self.point_ids[i]) in self.due_kg
        }

    def problem(self, site: int, due: Mapping[str, int]) -> RoutingProblem:
        """The station-day routing problem of ``due`` at station ``site``, nominal fleet."""
        total_kg = sum(due.values())
        fleet = {
            v.type_id: max(1, math.ceil(total_kg / (v.capacity_t * 1000)))
            for v in self.collection_types
        }
        return build_station_day(self.ctx, self.station_ids[site], due, fleet)

    def __call__(
        self, site: int, customers: tuple[int, ...], *, time_limit_s: float, seed: int
    ) -> RoutedGroup | None:
        """Routed cost (CNY/day, unserved points penalised) and routes of ``customers``."""
        return self.batch([RouteRequest(site, customers, time_limit_s, seed)])[0]

    def batch(self, requests: Sequence[RouteRequest]) -> list[RoutedGroup | None]:
        """`__call__` of each request, in request order; the solves not memoised run at once."""
        keys = []
        jobs: dict[tuple[int, frozenset[str]], tuple[RoutingProblem, SolveParams, int]] = {}
        for request in requests:
            due = self.due_of(request.customers)
            key = (request.site, frozenset(due))
            keys.append(key)
            if not due or key in self.memo or key in jobs:
                continue
            if self.deadline is not None and time.perf_counter() > self.deadline:
                self.refused += 1  # out of time: the search may only use groups routed so far
                continue
            params = SolveParams(
                time_limit_s=max(0.1, min(request.time_limit_s, ORACLE_TIME_CAP_S)),
                max_iterations=self.iterations,
            )
            jobs[key] = (self.problem(request.site, due), params, request.seed)
        began = time.perf_counter()
        solutions = self._solve(list(jobs.values()))
        if jobs:
            logger.debug(
                "siting oracle: %d of %d groups solved in %.1f s",
                len(jobs),
                len(requests),
                time.perf_counter() - began,
            )
        for key, solution in zip(jobs, solutions, strict=True):
            if solution is None:  # cut by the deadline
                self.refused += 1
                continue
            self.solves += 1
            routes = tuple(
                tuple(self.index[stop] for stop in route.stop_ids) for route in solution.routes
            )
            cost = solution.cost_cny + self.penalty_cny * len(solution.unserved)
            self.memo[key] = RoutedGroup(cost=cost, routes=routes)
        return [self.memo.get(key) if key[1] else RoutedGroup(0.0, ()) for key in keys]

    def _solve(
        self, jobs: Sequence[tuple[RoutingProblem, SolveParams, int]]
    ) -> list[RoutingSolution | None]:
        """The verified solutions of ``jobs`` (problem, parameters, seed), in their order; on the
        executor, None for a solve not finished by ``deadline`` (cancelled if not started)."""
        if self.executor is None or len(jobs) < 2:
            return [
                solve_routing(p, params, seed=seed, engine=self.engine) for p, params, seed in jobs
            ]
        # the largest first (the batch ends sooner); collected in the jobs' order
        order = sorted(range(len(jobs)), key=lambda k: (-len(jobs[k][0].stops), k))
        futures = {
            k: self.executor.submit(
                solve_routing, jobs[k][0], jobs[k][1], seed=jobs[k][2], engine=self.engine
            )
            for k in order
        }
        solutions: list[RoutingSolution | None] = []
        for k in range(len(jobs)):
            left = None if self.deadline is None else self.deadline - time.perf_counter()
            try:
                solutions.append(futures[k].result(timeout=None if left is None else max(0, left)))
            except cf.TimeoutError:
                futures[k].cancel()
                solutions.append(None)
        return solutions

    def fingerprint(self) -> bytes:
        """Digest of everything the oracle's answers depend on (its tables by what they are
        computed from, so that a cached siting does not compute them)."""
        digest = hashlib.sha256()
        scenario = self.plan_ctx.scenario
        due_points = [p for p in scenario.points if p.point_id in self.due_kg]
        for item in (
            sorted(self.due_kg.items()),
            scenario.stations,
            scenario.depots,
            scenario.vehicle_types,
            due_points,
            self.iterations,
            self.engine,
        ):
            digest.update(repr(item).encode())
        places = self.plan_ctx.places
        digest.update(places.network.content_hash().encode())
        for class_id in self.plan_ctx.classes:
            digest.update(places.profiles[class_id].key().encode())
            for snapped in (places.depots, places.stations, places.points):
                digest.update(np.ascontiguousarray(snapped[class_id].node_ids).tobytes())
        digest.update(self.due_rows.tobytes())
        near = b"-" if self.near is None else np.ascontiguousarray(self.near).tobytes()
        digest.update(near)
        return digest.digest()


def _unserved_points(oracle: StationDayOracle, station_of: np.ndarray, *, seed: int) -> int:
    """Design-day points the routes of ``station_of`` leave unserved (groups from the memo)."""
    unserved = 0
    for site in np.unique(station_of):
        customers = tuple(int(i) for i in np.flatnonzero(station_of == site))
        group = oracle(int(site), customers, time_limit_s=ORACLE_TIME_CAP_S, seed=seed)
        if group is not None:
            unserved += len(oracle.due_of(customers)) - sum(len(r) for r in group.routes)
    return unserved


def base_start(
    siting: SitingProblem,
    estimate_of: np.ndarray,
    base_station_of: Mapping[str, str] | None,
) -> tuple[np.ndarray | None, str]:
    """The base plan's siting as station indices of this problem, or None and why it is not a
    valid start: a point's base station is missing here, closed or not allowed for it, a
    station's load exceeds its capacity with every module, or a village is split. Points new in
    this problem take their station in ``estimate_of``."""
    if base_station_of is None:
        return None, ""
    ids = siting.site_ids or ()
    index = {sid: j for j, sid in enumerate(ids)}
    site_of = np.asarray(estimate_of, dtype=np.int64).copy()
    for i in range(siting.n_customers):
        station = base_station_of.get(siting.customer_name(i))
        if station is None:
            continue
        j = index.get(station)
        point = siting.customer_name(i)
        if j is None:
            return None, f"point {point}'s base station {station} is not in this scenario"
        if siting.must_close[j] or not siting.allowed[i, j]:
            return None, f"point {point} may not use its base station {station} here"
        site_of[i] = j
    over = np.flatnonzero(siting.load(site_of) > siting.max_capacity)
    if over.size:
        return None, f"station {ids[int(over[0])]} cannot hold its base load here"
    if siting.split_groups(site_of):
        return None, "the base siting splits a village kept together here"
    return site_of, ""


def _cache_path(ctx: PlanningContext, key: str) -> Path:
    root = ctx.cache_dir if ctx.cache_dir is not None else default_cache_dir()
    return Path(root) / "siting" / f"{key}.json"


def _code_digest() -> bytes:
    """Digest of the search's and this module's source, so a changed method is not served an
    old answer from the cache."""
    digest = hashlib.sha256()
    for path in [*sorted(Path(siting_package.__file__).parent.glob("*.py")), Path(__file__)]:
        digest.update(path.read_bytes())
    return digest.digest()


def _cache_key(siting: SitingProblem, oracle: StationDayOracle, *parts: object) -> str:
    digest = hashlib.sha256(CACHE_VERSION.encode())
    digest.update(_code_digest())
    names = ("opening_cost", "capacity", "demand", "allowed", "assign_cost", "estimate")
    extra = ("expansion_capacity", "expansion_cost", "expansion_max", "group")
    for name in (*names, *extra):
        value = getattr(siting, name)
        digest.update(b"-" if value is None else np.ascontiguousarray(value).tobytes())
    digest.update(np.ascontiguousarray(siting.fixed_open).tobytes())
    digest.update(np.ascontiguousarray(siting.fixed_closed).tobytes())
    digest.update(oracle.fingerprint())
    digest.update(repr(parts).encode())
    return digest.hexdigest()[:32]


def _read_cache(path: Path, n: int) -> tuple[np.ndarray, SitingOut] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        station_of = np.asarray(data["station_of"], dtype=np.int64)
        report = SitingOut.model_validate(data["report"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if station_of.shape != (n,):
        return None
    return station_of, report


def _write_cache(path: Path, station_of: np.ndarray, report: SitingOut) -> None:
    text = json.dumps({"station_of": station_of.tolist(), "report": report.model_dump(mode="json")})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as error:  # a read-only cache only costs the next plan the search
        logger.warning("siting cache not written (%s): %s", path, error)


def routed_siting(
    ctx: PlanningContext,
    problem: AssignmentProblem,
    estimate: AssignmentSolution,
    due_kg: Mapping[str, int],
    design_date: dt.date,
    *,
    reason: str,
    time_limit_s: float,
    seed: int,
    base_station_of: Mapping[str, str] | None = None,
    search: bool = True,
    executor: cf.Executor | None = None,
) -> tuple[AssignmentSolution, SitingOut, PlanningContext | None]:
    """Stations chosen with real routes, starting from ``estimate`` (today's assignment) and, in
    a what-if, from its base plan's siting ``base_station_of`` (point id → station id) when that
    is valid here (`base_start`).

    ``due_kg``: the design day's due points (point id → kg); ``time_limit_s``: the plan's
    routing time limit (the siting's budgets derive from it, see `siting_seconds` and
    `siting_evaluations`); without ``search`` only the two starts are priced and the cheaper
    kept. The station-day solves run on ``executor`` (default: a process pool of every core,
    made here when the answer is not in the cache), as many looked ahead as it runs at once.
    The siting's wall-clock budget (`siting_seconds`) counts everything from here: the
    oracle's tables, both starts and the search, which gets what the rest left (the starts are
    routed in full even past it: the search needs their prices). Returns the chosen assignment, the
    plan's report of it and the oracle's matrix context (None from the cache), whose tables
    the plan's station-days reuse.
    """
    started = time.perf_counter()
    routed = np.array([pid in due_kg for pid in problem.point_ids])
    siting = siting_problem(problem, routed)
    oracle = StationDayOracle(ctx, due_kg, near=near_sites(problem), executor=executor)
    budget_s = siting_seconds(time_limit_s)
    start_of = np.asarray(estimate.station_of, dtype=np.int64)
    base_of, base_note = base_start(siting, start_of, base_station_of)
    starts = 1 if base_of is None else 2
    evaluations = starts + (siting_evaluations(time_limit_s) if search else 0)
    parts = (start_of.tolist(), seed, budget_s, evaluations)
    plain = _cache_key(siting, oracle, *parts)
    key = plain if base_of is None else _cache_key(siting, oracle, *parts, base_of.tolist())
    cached = _read_cache(_cache_path(ctx, key), problem.num_points)
    if cached is None and base_of is not None:
        # the base's own siting problem (e.g. a what-if of trucks only): the base's answer
        same = _read_cache(_cache_path(ctx, plain), problem.num_points)
        if same is not None and np.array_equal(same[0], base_of):
            cached = (
                same[0],
                same[1].model_copy(
                    update={
                        "base_start": True,
                        "base_routed_cost_cny_per_day": same[1].routed_cost_cny_per_day,
                    }
                ),
            )
    if cached is not None:
        station_of, report = cached
        chosen = evaluate(
            problem, station_of, bound_cny=estimate.best_bound_cny, solver=report_solver(estimate)
        )
        return chosen, report.model_copy(update={"cached": True}), None

    pool = executor or new_pool(False, siting_workers())
    oracle.executor = pool
    try:
        # both starts routed in full, in one batch (the search needs their prices): the budget
        # counts them and the tables, and the search gets what is left of it, if anything
        oracle.batch([r for start in (start_of, base_of) for r in _requests(start, seed=seed)])
        oracle.deadline = started + budget_s
        result, failure = _search(
            siting,
            oracle,
            start_of,
            base_of,
            evaluations,
            time_limit_s=max(0.0, oracle.deadline - time.perf_counter()),
            seed=seed,
            lookahead=siting_workers() if executor is None else executor_width(executor),
        )
    finally:
        oracle.executor = executor
        if pool is not executor:  # not waiting for solves the deadline cut
            pool.shutdown(wait=False, cancel_futures=True)
    if result is None:
        station_of = start_of
        found = {"stopped_by": failure, "evaluations": 0}
    else:
        station_of = np.asarray(result.site_of, dtype=np.int64)
        found = {
            "routed_cost_cny_per_day": round(result.total_cost, 2),
            "estimate_routed_cost_cny_per_day": round(result.estimate_routed_total, 2),
            "saving_cny_per_day": round(result.estimate_routed_total - result.total_cost, 2),
            "base_routed_cost_cny_per_day": _rounded(result.initial_totals),
            "evaluations": result.evaluations,
            "stopped_by": "time" if oracle.refused else result.stopped_by,
        }
    chosen = evaluate(
        problem, station_of, bound_cny=estimate.best_bound_cny, solver=report_solver(estimate)
    )
    ids = problem.station_ids
    report = SitingOut(
        mode="routed",
        reason=reason,
        design_date=design_date,
        points_routed=len(due_kg),
        estimate_cost_cny_per_day=round(estimate.objective_cny, 2),
        stations_open=[ids[i] for i in np.flatnonzero(chosen.open)],
        estimate_stations_open=[ids[i] for i in np.flatnonzero(estimate.open)],
        points_moved=int((station_of != start_of).sum()),
        # from the groups routed (none after the deadline)
        unserved_points=_unserved_points(oracle, station_of, seed=seed),
        estimate_unserved_points=_unserved_points(oracle, start_of, seed=seed),
        base_start=base_of is not None,
        base_start_note=base_note,
        oracle_calls=oracle.solves,
        seconds=round(time.perf_counter() - started, 2),
        **found,
    )
    if result is not None:
        _write_cache(_cache_path(ctx, key), station_of, report)
    return chosen, report, oracle.tables


def siting_workers() -> int:
    """Parallel station-day solves of the siting: every core."""
    return max(1, os.cpu_count() or 1)


def _requests(station_of: np.ndarray | None, *, seed: int) -> list[RouteRequest]:
    """One oracle request per station of ``station_of`` (none for None)."""
    if station_of is None:
        return []
    return [
        RouteRequest(
            int(j), tuple(int(i) for i in np.flatnonzero(station_of == j)), ORACLE_TIME_CAP_S, seed
        )
        for j in np.unique(station_of)
    ]


def _search(
    siting: SitingProblem,
    oracle: StationDayOracle,
    start_of: np.ndarray,
    base_of: np.ndarray | None,
    evaluations: int,
    *,
    time_limit_s: float,
    seed: int,
    lookahead: int,
) -> tuple[SitingResult | None, str]:
    """`solve_siting` from the estimate's siting (and the base start), its station-days routed
    in batches on the oracle's executor (``lookahead`` candidates at once); the result, or None
    and why the search failed."""
    try:
        result = solve_siting(
            siting,
            oracle,
            time_limit_s=time_limit_s,
            seed=seed,
            max_evaluations=evaluations,
            route_time_s=ORACLE_TIME_CAP_S,
            estimate_site_of=start_of,
            initial=[] if base_of is None else [Whole(site_of=base_of, groups={})],
            route_batch=oracle.batch,
            lookahead=lookahead,
        )
    except (InfeasibleError, ValueError) as error:  # not expected: both starts are routed
        logger.warning("route-aware siting kept the estimate's siting: %s", error)
        return None, f"search failed ({error}); estimate kept"
    return result, ""


def _rounded(totals: tuple[float | None, ...]) -> float | None:
    """The base start's routed total (the only ``initial`` whole), rounded; None without one."""
    return round(totals[0], 2) if totals and totals[0] is not None else None


def report_solver(estimate: AssignmentSolution) -> str:
    """The assignment's ``solver`` text for a routed siting that started from ``estimate``."""
    return f"routed siting ({ORACLE_ENGINE} station-days) from {estimate.solver}"


__all__ = [
    "StationDayOracle",
    "routed_siting",
    "siting_evaluations",
    "siting_mode",
    "siting_note",
    "siting_problem",
    "siting_seconds",
    "whatif_siting_mode",
]


def siting_note(report: SitingOut | None) -> str | None:
    """The plan-notes line on how the stations were chosen (None: nothing to say); its time and
    whether it came from the cache are in the report only, so a re-run's notes are the same."""
    if report is None or report.mode == "estimate":
        return None if report is None else f"stations sited by the estimate alone ({report.reason})"
    if report.routed_cost_cny_per_day is None or report.estimate_routed_cost_cny_per_day is None:
        return f"the route-aware siting failed ({report.stopped_by})"
    note = (
        f"stations sited with routes (design day {report.design_date}, {report.points_routed} "
        f"due points routed): {report.routed_cost_cny_per_day:,.0f} CNY/day against "
        f"{report.estimate_routed_cost_cny_per_day:,.0f} for the estimate's siting re-priced "
        f"with routes (saving {report.saving_cny_per_day:,.0f}; the estimate itself says "
        f"{report.estimate_cost_cny_per_day:,.0f}); {report.points_moved} point(s) moved, "
        f"{report.oracle_calls} station-day solves"
    )
    if report.base_start and report.base_routed_cost_cny_per_day is not None:
        note += (
            f"; the base plan's siting was a start ({report.base_routed_cost_cny_per_day:,.0f} "
            "CNY/day here)"
        )
    elif report.base_start_note:
        note += f"; the base plan's siting was no start ({report.base_start_note})"
    if report.stopped_by == "time":
        note += "; the search was cut by its time budget, so another run may site differently"
    return note
