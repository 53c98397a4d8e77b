"""`solve_siting`: choose sites with the routes in the loop.

1. The assignment MIP on the estimate proposes a siting (or the caller gives it:
   ``estimate_site_of``); the oracle routes each open site's customers (the estimate's siting,
   re-priced with real routes, is the first verified whole).
2. Each routed group calibrates its site: factor = routed cost / estimated cost of its customers
   (sites not yet routed take the median factor). The prices ``factor * estimate + assign_cost``
   re-price the assignment: the free MIP at these prices re-proposes a siting, routed (with a
   `WholeRouter`, its open set is also allocated and routed as in step 3).
3. A local search over the set of open sites (close one, open one, swap one for another) ranks
   the neighbours by a cheap bound (opening + each customer's cheapest calibrated price among the
   set's sites, capacity ignored), allocates the most promising ones with the MIP at the calibrated
   prices and routes them; an optional `WholeRouter` routes the set in one multi-site solve too.
   The first improving neighbour is taken.
4. At a local optimum, with few sites (`GLOBAL_SITES`) the unvisited open set of best bound
   among all subsets is routed (diversification between neighbour rounds), then boundary
   customers (whole groups, when the problem has groups) move to another open site (both sites
   re-routed), cheapest calibrated change first; the local search goes on from any improvement.
5. With a `RoutePool` (``route_pool``), every route seen is kept and a set-partitioning MIP over
   the pool recombines them (at local optima, and before the polish).
6. Optionally (``polish_share``) the time kept at the end re-routes the best siting with longer
   calls.

Every candidate is a whole solution priced by real routes (+ opening, the expansion modules its
loads need, and the assignment costs), valid (allowed pairs, capacities with modules, groups
kept together); the best is kept. Oracle answers are
cached by ``(site, frozenset(customers))``. With ``max_evaluations`` (and a deterministic oracle)
the result does not depend on timing, unless the time limit comes first.

Batching (``route_batch``, e.g. a process pool; default: the oracle, one call after another).
The groups a step needs and the cache lacks are routed in one batch: every group of a whole
(the estimate's siting and the ``initial`` wholes together), both wholes of the re-proposal
(step 2, with a whole router), and, looking ahead ``lookahead`` candidates, the wholes of the
next neighbour sets of a round (each allocated at the prices of the moment) and of the next
boundary moves. The search itself stays sequential: candidates are offered one after another
in their fixed order, the first improvement taken, and a routed group calibrates the prices
only when a candidate uses it (in that order). A look-ahead routes groups the sequential search
might never ask for (only ``oracle_calls`` grows): the siting, its costs and ``evaluations`` do
not depend on ``lookahead``, on the batch's width or on the order its groups finish in. The
polish's longer calls stay single.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from sanitation.errors import InfeasibleError
from sanitation.siting._allocate import allocate
from sanitation.siting._pool import RoutePool
from sanitation.siting.problem import (
    BoolArray,
    FloatArray,
    IntArray,
    RouteBatch,
    RoutedGroup,
    RouteOracle,
    RouteRequest,
    SitingProblem,
    SitingResult,
    Whole,
    WholeRouter,
)

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

FIRST_MIP_FLOOR_S = 5.0
"""Seconds at least for the first (estimate) MIP: a timed-out MIP is not infeasibility
(assumed; on a loaded core SCIP needs seconds for a county of 1000 points)."""

GLOBAL_SITES = 12
"""Up to this many sites, a converged local search goes on with the unvisited open sets of best
cheap bound among all subsets (2**12 bounds take milliseconds)."""

NEIGHBOURS_PER_ROUND = 4
"""Neighbour sets (by cheap bound) allocated and routed per local-search round (assumed)."""

RECOMBINE_EVERY = 0.15
"""With a route pool: a set-partitioning recombination at a local optimum at most once per this
share of the time limit, when the pool grew by POOL_GROWTH since the last one (assumed)."""
POOL_GROWTH = 1.2
RECOMBINE_MIP_SHARE = 0.05
"""Share of the time limit for one periodic recombination MIP (only with three times that left;
assumed)."""
FINAL_MIP_SHARE = 0.4
FINAL_MIP_S = 20.0
"""The recombination before the polish: this share of the polish time, at most FINAL_MIP_S
seconds (assumed; SCIP needs about 10 s for 600 routes of 100 customers on a loaded core)."""


@dataclass(frozen=True)
class Candidate:
    """A whole solution priced by real routes."""

    open: BoolArray
    site_of: IntArray
    groups: dict[int, RoutedGroup]
    opening_cost: float
    routed_cost: float
    assign_cost: float
    expansion_cost: float = 0.0

    @property
    def total(self) -> float:
        """Opening + expansion modules + routed + assignment cost."""
        return self.opening_cost + self.expansion_cost + self.routed_cost + self.assign_cost


@dataclass
class _Budget:
    deadline: float
    max_evaluations: int | None
    evaluations: int = 0

    def left_s(self) -> float:
        return self.deadline - time.perf_counter()

    def spent(self) -> str | None:
        """Why the search must stop now (None: it may go on)."""
        if self.max_evaluations is not None and self.evaluations >= self.max_evaluations:
            return "evaluations"
        if self.left_s() <= 0:
            return "time"
        return None


GroupKey = tuple[int, frozenset[int]]
Siting = tuple[IntArray, dict[int, RoutedGroup] | None]
"""A siting to price: the site of each customer, and the groups already routed (or None)."""


@dataclass
class _Evaluator:
    """Prices whole solutions with the oracle (cached, routed in batches) and keeps the
    calibration factors."""

    problem: SitingProblem
    oracle: RouteOracle
    route_time_s: float
    seed: int
    budget: _Budget
    cache: dict[GroupKey, RoutedGroup | None] = field(default_factory=dict)
    used: set[GroupKey] = field(default_factory=set)
    calls: int = 0
    factor: dict[int, float] = field(default_factory=dict)
    pool: RoutePool | None = None
    route_batch: RouteBatch | None = None

    def call_time_s(self) -> float:
        """The per-call budget, capped by the time left (unless a work budget rules)."""
        if self.budget.max_evaluations is not None:
            return self.route_time_s
        return max(0.05, min(self.route_time_s, self.budget.left_s()))

    def route(self, wanted: Iterable[tuple[int, tuple[int, ...]]]) -> None:
        """Route the groups of ``wanted`` (site, customers) the cache lacks, in one batch; the
        answers enter the cache by request (nothing is calibrated here: see `group`)."""
        requests: list[RouteRequest] = []
        seen: set[GroupKey] = set()
        for site, customers in wanted:
            key = (site, frozenset(customers))
            if key in self.cache or key in seen:
                continue
            seen.add(key)
            requests.append(RouteRequest(site, customers, self.call_time_s(), self.seed))
        if not requests:
            return
        if self.route_batch is None:
            answers: Sequence[RoutedGroup | None] = [
                self.oracle(r.site, r.customers, time_limit_s=r.time_limit_s, seed=r.seed)
                for r in requests
            ]
        else:
            answers = self.route_batch(requests)
            if len(answers) != len(requests):
                msg = f"route_batch answered {len(answers)} of {len(requests)} requests"
                raise RuntimeError(msg)
        self.calls += len(requests)
        for request, routed in zip(requests, answers, strict=True):
            self.cache[(request.site, frozenset(request.customers))] = routed

    def prefetch(self, sitings: Iterable[Siting]) -> None:
        """Route in one batch every group the given sitings need and the cache lacks."""
        self.route(need for site_of, groups in sitings for need in self.needed(site_of, groups))

    def needed(
        self, site_of: IntArray, groups: dict[int, RoutedGroup] | None
    ) -> list[tuple[int, tuple[int, ...]]]:
        """The (site, customers) of each used or fixed-open site not routed in ``groups``."""
        p = self.problem
        opened = np.zeros(p.n_sites, dtype=bool)
        opened[np.unique(site_of)] = True
        opened |= p.must_open
        out = []
        for j in (int(k) for k in np.flatnonzero(opened)):
            customers = tuple(int(i) for i in np.flatnonzero(site_of == j))
            if customers and (groups is None or groups.get(j) is None):
                out.append((j, customers))
        return out

    def group(self, site: int, customers: tuple[int, ...]) -> RoutedGroup | None:
        """The routed group (from the cache, else routed now); the first use of a group
        calibrates its site and enters its routes in the pool."""
        key = (site, frozenset(customers))
        if key not in self.cache:
            self.route([(site, customers)])
        routed = self.cache[key]
        if key not in self.used:
            self.used.add(key)
            if routed is not None and self.pool is not None:
                self.pool.add_groups({site: routed})
            if routed is not None:
                estimated = float(self.problem.estimate[list(customers), site].sum())
                if estimated > 0:
                    self.factor[site] = routed.cost / estimated
        return routed

    def candidate(
        self, site_of: IntArray, groups: dict[int, RoutedGroup] | None = None
    ) -> Candidate | None:
        """Route every used site's customers (the routes of ``groups`` where given; the
        missing groups in one batch); None when a group is not routable."""
        p = self.problem
        self.prefetch([(site_of, groups)])
        opened = np.zeros(p.n_sites, dtype=bool)
        opened[np.unique(site_of)] = True
        opened |= p.must_open
        routed: dict[int, RoutedGroup] = {}
        for j in np.flatnonzero(opened):
            customers = tuple(int(i) for i in np.flatnonzero(site_of == j))
            if not customers:
                continue
            given = None if groups is None else groups.get(int(j))
            group = given if given is not None else self.group(int(j), customers)
            if group is None:
                return None
            routed[int(j)] = group
        rows = np.arange(p.n_customers)
        return Candidate(
            open=opened,
            site_of=np.asarray(site_of, dtype=np.int64),
            groups=routed,
            opening_cost=float(p.opening_cost[opened].sum()),
            routed_cost=float(sum(g.cost for g in routed.values())),
            assign_cost=float(p.assign_cost[rows, site_of].sum()),
            expansion_cost=p.expansion_total(site_of),
        )

    def prices(self) -> FloatArray:
        """Calibrated prices: factor per site (median for sites not routed yet) x estimate."""
        p = self.problem
        default = float(np.median(list(self.factor.values()))) if self.factor else 1.0
        f = np.array([self.factor.get(j, default) for j in range(p.n_sites)])
        return np.asarray(p.estimate * f[None, :] + p.assign_cost, dtype=np.float64)


def _valid(problem: SitingProblem, site_of: IntArray) -> bool:
    """Every customer at an allowed site, no site over its capacity with every module built,
    none fixed closed, no group split."""
    site_of = np.asarray(site_of)
    rows = np.arange(problem.n_customers)
    if site_of.shape != rows.shape or np.any(site_of < 0) or np.any(site_of >= problem.n_sites):
        return False
    if not problem.allowed[rows, site_of].all():
        return False
    if np.any(problem.load(site_of) > problem.max_capacity):
        return False
    if problem.split_groups(site_of):
        return False
    return not np.any(problem.must_close[np.unique(site_of)])


def _neighbours(problem: SitingProblem, opened: BoolArray) -> list[BoolArray]:
    """Open sets one close, one open or one swap away (fixed status respected)."""
    closable = [int(j) for j in np.flatnonzero(opened & ~problem.must_open)]
    openable = [int(j) for j in np.flatnonzero(~opened & ~problem.must_close)]
    out: list[BoolArray] = []
    for j in closable:
        s = opened.copy()
        s[j] = False
        out.append(s)
    for k in openable:
        s = opened.copy()
        s[k] = True
        out.append(s)
    for j in closable:
        for k in openable:
            s = opened.copy()
            s[j] = False
            s[k] = True
            out.append(s)
    return out


def _bound(problem: SitingProblem, prices: FloatArray, opened: BoolArray) -> float:
    """Cheap score of an open set: opening + cheapest allowed price per customer (inf if a
    customer has no allowed open site or the capacity is short)."""
    if not opened.any() or int(problem.max_capacity[opened].sum()) < int(problem.demand.sum()):
        return float("inf")
    masked = np.where(problem.allowed & opened[None, :], prices, np.inf)
    best = masked.min(axis=1)
    if not np.all(np.isfinite(best)):
        return float("inf")
    return float(problem.opening_cost[opened].sum() + best.sum())


@dataclass
class _Search:
    problem: SitingProblem
    evaluator: _Evaluator
    budget: _Budget
    whole_router: WholeRouter | None
    seed: int
    best: Candidate | None = None
    visited: set[bytes] = field(default_factory=set)
    history: list[tuple[float, float]] = field(default_factory=list)
    start: float = field(default_factory=time.perf_counter)
    exhausted: bool = False
    whole_time_s: float = 1.0
    recombined_at: tuple[float, int] = (0.0, 0)
    lookahead: int = 1
    allocations: dict[tuple[bytes, bytes], tuple[BoolArray, IntArray, float] | None] = field(
        default_factory=dict
    )

    def allocation(self, opened: BoolArray) -> tuple[BoolArray, IntArray, float] | None:
        """The calibrated MIP's allocation of the open set ``opened`` at the prices of the
        moment (solved once per open set and prices)."""
        prices = self.evaluator.prices()
        key = (opened.tobytes(), hashlib.blake2b(prices.tobytes()).digest())
        if key not in self.allocations:
            self.allocations[key] = allocate(
                self.problem,
                prices,
                open_sites=opened,
                time_limit_s=self.mip_time_s(),
                seed=self.seed,
            )
        return self.allocations[key]

    def width(self) -> int:
        """Candidates routed ahead in one batch: ``lookahead``, at most the evaluations left."""
        if self.budget.max_evaluations is None:
            return max(1, self.lookahead)
        left = self.budget.max_evaluations - self.budget.evaluations
        return max(1, min(self.lookahead, left))

    def first_improving(
        self,
        items: Sequence[_T],
        ahead: Callable[[Sequence[_T]], None],
        attempt: Callable[[_T], bool],
    ) -> bool:
        """``attempt`` the items in order until one improves (True) or the budget is spent;
        before each run of `width` items, ``ahead`` routes their wholes in one batch."""
        routed_to = 0
        for k, item in enumerate(items):
            if self.budget.spent() is not None:
                return False
            if k >= routed_to:
                routed_to = k + self.width()
                ahead(items[k:routed_to])
            if attempt(item):
                return True
        return False

    def speculate(self, sets: Sequence[BoolArray]) -> None:
        """Allocate the unvisited open sets ``sets`` at the prices of the moment and route their
        wholes in one batch (the search then offers them in order)."""
        sitings: list[Siting] = []
        for opened in sets:
            if opened.tobytes() in self.visited:
                continue
            got = self.allocation(opened)
            if got is not None:
                sitings.append((got[1], None))
        self.evaluator.prefetch(sitings)

    def recombine(self, time_limit_s: float) -> bool:
        """Solve the set-partitioning MIP over the route pool (the best as its hint) and offer
        its cover: first with the best's open sites fixed (half the time), then free; True if
        it improved the best."""
        pool = self.evaluator.pool
        if pool is None or len(pool) == 0:
            return False
        self.recombined_at = (time.perf_counter(), len(pool))
        improved = False
        ends = time.perf_counter() + time_limit_s
        for fixed in (True, False):
            if self.best is None:
                break
            left = ends - time.perf_counter()
            got = pool.partition(
                self.problem,
                time_limit_s=max(0.1, left / 2 if fixed else left),
                seed=self.seed,
                hint=self.best.groups,
                open_sites=self.best.open if fixed else None,
            )
            if got is None or np.any(got[0] < 0):
                continue
            better = self.offer(self.evaluator.candidate(got[0], got[1]))
            logger.debug("siting: recombined %d routes -> %.1f (%s)", len(pool), got[2], better)
            improved |= better
        return improved

    def recombine_due(self, time_limit_s: float) -> bool:
        """Whether a periodic recombination is due (see RECOMBINE_EVERY)."""
        pool = self.evaluator.pool
        if pool is None or self.budget.max_evaluations is not None:
            return False
        when, size = self.recombined_at
        if len(pool) < POOL_GROWTH * size:
            return False
        return time.perf_counter() - max(when, self.start) >= RECOMBINE_EVERY * time_limit_s

    def offer(self, cand: Candidate | None) -> bool:
        """Keep ``cand`` if it is valid and cheaper than the best; True when it was."""
        self.budget.evaluations += 1
        logger.debug(
            "siting: whole %d priced: %s",
            self.budget.evaluations,
            "not routable" if cand is None else f"{cand.total:.1f}",
        )
        if cand is not None and self.evaluator.pool is not None:
            self.evaluator.pool.add_groups(cand.groups)
        if cand is None or not _valid(self.problem, cand.site_of):
            return False
        if self.best is not None and cand.total >= self.best.total - 1e-9:
            return False
        self.best = cand
        self.history.append((round(time.perf_counter() - self.start, 3), cand.total))
        logger.debug("siting: best %.1f (%d open)", cand.total, int(cand.open.sum()))
        return True

    def mip_time_s(self) -> float:
        return max(0.5, min(10.0, 0.1 * max(0.0, self.budget.left_s())))

    def try_set(self, opened: BoolArray) -> bool:
        """Allocate (calibrated MIP) and route the open set ``opened``; True if it improved."""
        key = opened.tobytes()
        if key in self.visited:
            return False
        self.visited.add(key)
        improved = False
        got = self.allocation(opened)
        if got is not None:
            improved = self.offer(self.evaluator.candidate(got[1]))
        if self.whole_router is not None and self.budget.spent() is None:
            whole = self.whole_router(
                tuple(int(j) for j in np.flatnonzero(opened)),
                time_limit_s=min(self.whole_time_s, max(0.05, self.budget.left_s())),
                seed=self.seed,
            )
            if whole is not None:
                improved |= self.offer(self.evaluator.candidate(whole.site_of, whole.groups))
        return improved

    def local_round(self) -> bool:
        """One round over the best's neighbours, best bound first; True if one improved."""
        if self.best is None:
            return False
        prices = self.evaluator.prices()
        scored = [
            (_bound(self.problem, prices, s), s.tobytes(), s)
            for s in _neighbours(self.problem, self.best.open)
            if s.tobytes() not in self.visited
        ]
        scored = sorted((t for t in scored if np.isfinite(t[0])), key=lambda t: (t[0], t[1]))
        picks = [s for _, _, s in scored[:NEIGHBOURS_PER_ROUND]]
        return self.first_improving(picks, self.speculate, self.try_set)

    def polish(self) -> None:
        """Re-route the best with the time left: the whole router from the best's routes, then
        each group with one longer oracle call (another seed; not cached)."""
        if self.best is None:
            return
        sites = tuple(int(j) for j, g in sorted(self.best.groups.items()) if g.routes)
        if self.whole_router is not None and self.budget.left_s() > 0.5:
            whole = self.whole_router(
                sites,
                time_limit_s=0.6 * self.budget.left_s(),
                seed=self.seed + 1,
                initial=Whole(self.best.site_of, self.best.groups),
            )
            if whole is not None:
                self.offer(self.evaluator.candidate(whole.site_of, whole.groups))
        best = self.best
        n_total = max(1, len(best.site_of))
        groups = dict(best.groups)
        for j, g in sorted(best.groups.items()):
            left = self.budget.left_s()
            if left <= 0.05:
                break
            customers = tuple(int(i) for i in np.flatnonzero(best.site_of == j))
            share = len(customers) / n_total
            routed = self.evaluator.oracle(
                j, customers, time_limit_s=max(0.05, share * left), seed=self.seed + 1
            )
            if routed is not None and routed.cost < g.cost:
                groups[j] = routed
        self.offer(self.evaluator.candidate(best.site_of, groups))

    def repropose(self) -> None:
        """Step 2: the free MIP at calibrated prices, its siting routed and offered."""
        got = allocate(
            self.problem,
            self.evaluator.prices(),
            open_sites=None,
            time_limit_s=self.mip_time_s(),
            seed=self.seed,
        )
        if got is not None and self.whole_router is None:
            # the MIP's own allocation is that of its open set (the same model restricted to
            # its optimum's sites): that set is visited with it
            self.visited.add(got[0].tobytes())
            self.offer(self.evaluator.candidate(got[1]))
        elif got is not None:
            # both wholes of the re-proposal in one batch: its open set allocated (and routed
            # by the whole router), and its own
            sitings: list[Siting] = [(got[1], None)]
            if got[0].tobytes() not in self.visited:
                fixed = self.allocation(got[0])
                if fixed is not None:
                    sitings.insert(0, (fixed[1], None))
            self.evaluator.prefetch(sitings)
            self.try_set(got[0])
            self.offer(self.evaluator.candidate(got[1]))

    def global_round(self) -> bool:
        """Route the unvisited open set of best bound among all subsets (small ``m`` only);
        True when one improved. False also when there is nothing left to try."""
        p = self.problem
        if p.n_sites > GLOBAL_SITES:
            return False
        prices = self.evaluator.prices()
        free = [j for j in range(p.n_sites) if not (p.must_open[j] or p.must_close[j])]
        best: tuple[float, BoolArray] | None = None
        for mask in range(1, 1 << len(free)):
            s = p.must_open.copy()
            for b, j in enumerate(free):
                s[j] = bool(mask >> b & 1)
            if s.tobytes() in self.visited:
                continue
            bound = _bound(p, prices, s)
            if np.isfinite(bound) and (best is None or bound < best[0]):
                best = (bound, s)
        if best is None:
            self.exhausted = True
            return False
        return self.try_set(best[1])

    def untried_neighbours(self) -> bool:
        """Whether the best has neighbour sets with a finite bound not yet routed."""
        if self.best is None:
            return False
        prices = self.evaluator.prices()
        return any(
            s.tobytes() not in self.visited and np.isfinite(_bound(self.problem, prices, s))
            for s in _neighbours(self.problem, self.best.open)
        )

    def boundary_round(self) -> bool:
        """Move one group (a single customer when ungrouped) to another open site, cheapest
        calibrated change first (modules included); True if one improved."""
        if self.best is None:
            return False
        p = self.problem
        prices = self.evaluator.prices()
        best = self.best
        load = p.load(best.site_of)
        modules_now = p.expansion_total(best.site_of)
        moves: list[tuple[float, int, int]] = []
        members = p.members()
        for g, rows in enumerate(members):
            here = int(best.site_of[rows[0]])
            demand = int(p.demand[rows].sum())
            for k in (int(j) for j in np.flatnonzero(best.open & p.allowed[rows].all(axis=0))):
                if k == here or load[k] + demand > p.max_capacity[k]:
                    continue
                site_of = best.site_of.copy()
                site_of[rows] = k
                change = float(prices[rows, k].sum() - prices[rows, here].sum())
                change += p.expansion_total(site_of) - modules_now
                moves.append((change, g, k))
        moves.sort()
        limit = max(4, 2 * p.n_sites)
        sitings = []
        for _, g, k in moves[:limit]:
            site_of = best.site_of.copy()
            site_of[members[g]] = k
            sitings.append(site_of)
        return self.first_improving(
            sitings,
            lambda batch: self.evaluator.prefetch((s, None) for s in batch),
            lambda site_of: self.offer(self.evaluator.candidate(site_of)),
        )


def _default_route_time(problem: SitingProblem, time_limit_s: float) -> float:
    """Seconds per oracle call when not given: about 1/(4 m + 8) of the limit (assumed)."""
    return max(0.05, time_limit_s / (4 * problem.n_sites + 8))


def solve_siting(
    problem: SitingProblem,
    oracle: RouteOracle,
    *,
    time_limit_s: float,
    seed: int = 1,
    max_evaluations: int | None = None,
    route_time_s: float | None = None,
    whole_router: WholeRouter | None = None,
    initial: list[Whole] | None = None,
    estimate_site_of: IntArray | None = None,
    polish_share: float = 0.0,
    whole_time_s: float | None = None,
    route_pool: RoutePool | None = None,
    route_batch: RouteBatch | None = None,
    lookahead: int = 1,
) -> SitingResult:
    """Open sites and allocate customers with real routes in the loop (see the module docstring).

    Parameters
    ----------
    problem
        The siting problem.
    oracle
        Routes one site's customers (cached here by site and customer set).
    time_limit_s
        Wall-clock limit of the search; with ``max_evaluations`` too, whichever comes first
        stops it (``stopped_by`` says which: only an "evaluations" or "converged" stop is
        reproducible).
    seed
        Passed to the MIP and to every oracle call.
    max_evaluations
        Stop after this many whole candidates (a work budget: deterministic results).
    route_time_s
        Time budget handed to each oracle call (default: a share of ``time_limit_s``).
    whole_router
        Optional multi-site router, tried on every open set the search allocates.
    initial
        Optional whole solutions to start from (e.g. a baseline plan's siting); their groups
        may be partial (the missing ones are routed here). An invalid one is skipped (its
        ``initial_totals`` entry is None).
    estimate_site_of
        Optional ``(n,)`` site of each customer that the caller's estimate chose (e.g. its own
        assignment model): it replaces the first MIP (none runs), the search starts from it and
        ``estimate_*`` describe it. It must be valid (ValueError otherwise).
    whole_time_s
        Time budget of each whole-router call (default: 3 x ``route_time_s``).
    polish_share
        Share of ``time_limit_s`` kept for re-routing the best siting at the end with longer
        oracle (and whole-router) calls; only without ``max_evaluations``.
    route_pool
        Optional pool of routes (costs additive: a group's cost is the sum of its routes'):
        every route seen enters it and a set-partitioning MIP over it recombines them at local
        optima and before the polish (only without ``max_evaluations``). The caller may feed it
        too (e.g. the router with every route it finds).
    route_batch
        Optional batch form of ``oracle`` (e.g. on a process pool): the groups the search needs
        at once are routed through it (see the module docstring); the polish's calls stay
        single. Default: ``oracle``, one call after another.
    lookahead
        Candidates (neighbour sets, boundary moves) whose wholes are routed in one batch ahead
        of the sequential search, e.g. the batch's width (>= 1; the result does not depend on
        it, see the module docstring).

    Raises
    ------
    InfeasibleError
        When the capacities admit no allocation (proven), or no siting found is routable.
    ValueError
        When ``estimate_site_of`` is not a valid siting (a customer at a site not allowed or
        fixed closed, a site over its capacity with every module, a group split).
    RuntimeError
        When the first MIP finds no allocation in its time and no valid ``initial`` siting
        is given to start from.
    """
    if lookahead < 1:
        msg = f"lookahead must be >= 1, got {lookahead}."
        raise ValueError(msg)
    start = time.perf_counter()
    polish_s = polish_share * time_limit_s
    budget = _Budget(start + time_limit_s - polish_s, max_evaluations)
    route_time = route_time_s or _default_route_time(problem, time_limit_s)
    evaluator = _Evaluator(problem, oracle, route_time, seed, budget, route_batch=route_batch)
    if max_evaluations is None:
        evaluator.pool = route_pool
    search = _Search(problem, evaluator, budget, whole_router, seed, start=start)
    search.whole_time_s = whole_time_s or 3.0 * route_time
    search.lookahead = lookahead
    est_open, est_site_of, est_objective = _estimate(problem, search, initial, estimate_site_of)
    search.visited.add(est_open.tobytes())
    starts = [(np.asarray(w.site_of, dtype=np.int64), w.groups) for w in initial or []]
    evaluator.prefetch([(est_site_of, None), *(w for w in starts if _valid(problem, w[0]))])
    est_cand = evaluator.candidate(est_site_of)
    search.offer(est_cand)
    initial_totals: list[float | None] = []
    for whole in initial or []:
        cand = None
        if _valid(problem, whole.site_of):
            cand = evaluator.candidate(np.asarray(whole.site_of, dtype=np.int64), whole.groups)
        search.offer(cand)
        initial_totals.append(None if cand is None else cand.total)
    if whole_router is not None:
        search.visited.discard(est_open.tobytes())
        search.try_set(est_open)
    stopped = _run(search, seed, time_limit_s)
    if polish_s > 0 and max_evaluations is None:
        budget.deadline = start + time_limit_s
        search.recombine(min(FINAL_MIP_S, FINAL_MIP_SHARE * budget.left_s()))
        search.polish()
    best = search.best
    if best is None:
        msg = "no siting found whose groups the route oracle can route"
        raise InfeasibleError(msg)
    return SitingResult(
        open=best.open,
        site_of=best.site_of,
        groups=best.groups,
        opening_cost=best.opening_cost,
        routed_cost=best.routed_cost,
        assign_cost=best.assign_cost,
        expansion_cost=best.expansion_cost,
        modules=problem.modules(best.site_of),
        initial_totals=tuple(initial_totals),
        estimate_open=est_open,
        estimate_site_of=est_site_of,
        estimate_objective=est_objective,
        estimate_routed_total=est_cand.total if est_cand is not None else float("inf"),
        oracle_calls=evaluator.calls,
        evaluations=budget.evaluations,
        seconds=time.perf_counter() - start,
        stopped_by=stopped,
        history=tuple(search.history),
    )


def _estimate(
    problem: SitingProblem,
    search: _Search,
    initial: list[Whole] | None,
    estimate_site_of: IntArray | None,
) -> tuple[BoolArray, IntArray, float]:
    """The estimate's siting: the caller's, else the first MIP's at the estimate's prices (or,
    when that MIP finds nothing in its time, the first valid ``initial`` siting)."""
    prices0 = problem.estimate + problem.assign_cost
    if estimate_site_of is not None:
        site_of = np.asarray(estimate_site_of, dtype=np.int64)
        if not _valid(problem, site_of):
            msg = "estimate_site_of is not a valid siting (allowed pairs, capacities, groups)."
            raise ValueError(msg)
        return _proposal_of(problem, prices0, site_of)
    try:
        proposal = allocate(
            problem,
            prices0,
            open_sites=None,
            time_limit_s=max(FIRST_MIP_FLOOR_S, search.mip_time_s()),
            seed=search.seed,
            timeout_is_error=True,
        )
    except RuntimeError:
        # the MIP found nothing in its time (not infeasibility): start from a given siting
        proposal = _initial_proposal(problem, prices0, initial)
        if proposal is None:
            raise
    if proposal is None:
        msg = "no allocation of the customers fits the site capacities (or allowed pairs)"
        raise InfeasibleError(msg)
    return proposal


def _proposal_of(
    problem: SitingProblem, prices: FloatArray, site_of: IntArray
) -> tuple[BoolArray, IntArray, float]:
    """Open sites (used or fixed open) of ``site_of`` and its cost at ``prices`` (+ modules)."""
    rows = np.arange(problem.n_customers)
    opened = problem.must_open.copy()
    opened[np.unique(site_of)] = True
    objective = float(problem.opening_cost[opened].sum() + prices[rows, site_of].sum())
    return opened, site_of, objective + problem.expansion_total(site_of)


def _initial_proposal(
    problem: SitingProblem, prices: FloatArray, initial: list[Whole] | None
) -> tuple[BoolArray, IntArray, float] | None:
    """The first valid ``initial`` siting as the proposal (open sites, site of each customer,
    its cost at ``prices``), or None."""
    for whole in initial or []:
        site_of = np.asarray(whole.site_of, dtype=np.int64)
        if _valid(problem, site_of):
            return _proposal_of(problem, prices, site_of)
    return None


def _run(search: _Search, seed: int, time_limit_s: float) -> str:
    """Steps 2-4 of the module docstring until converged or out of budget; why it stopped."""
    budget = search.budget
    if budget.spent() is None:
        search.repropose()
    boundary_tried: set[bytes] = set()
    while True:
        reason = budget.spent()
        if reason is not None:
            return reason
        if search.local_round():
            continue
        mip_s = RECOMBINE_MIP_SHARE * time_limit_s
        if (
            budget.left_s() > 3 * mip_s
            and search.recombine_due(time_limit_s)
            and search.recombine(mip_s)
        ):
            continue
        if search.problem.n_sites <= GLOBAL_SITES and search.global_round():
            # diversification: the unvisited open set of best bound, between neighbour rounds
            continue
        best = search.best
        if best is not None and best.site_of.tobytes() not in boundary_tried:
            boundary_tried.add(best.site_of.tobytes())
            if search.boundary_round():
                continue
        if search.untried_neighbours():
            continue
        if search.global_round():
            continue
        if search.exhausted or search.problem.n_sites > GLOBAL_SITES:
            reason = budget.spent()
            return reason if reason is not None else "converged"
