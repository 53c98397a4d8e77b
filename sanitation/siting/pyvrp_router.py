"""Route oracles on one integer cost matrix, solved with PyVRP (for benchmarks and tests).

`MatrixRouter` routes one site's customers as a CVRP (the `RouteOracle` of `solve_siting`) and,
as a `WholeRouter`, all customers from a set of open sites in one multi-depot solve. The
multi-depot solve does not know site capacities: when a site ends over capacity, its routes are
re-assigned to open sites by the capacity-respecting allocation model (each route priced at each
site by re-inserting the site at the route's cheapest edge), so every answer respects capacities
or is None. Nodes of ``cost``: sites ``0..m-1`` first, then customers ``m..m+n-1``; the matrix
need not be symmetric or Euclidean.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyvrp
from pyvrp import Client, Depot, Location, ProblemData
from pyvrp import VehicleType as PVehicleType
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

from sanitation.routing.pyvrp_engine import solve_pyvrp
from sanitation.siting._allocate import allocate
from sanitation.siting._moves import improve_routes
from sanitation.siting._pool import RoutePool
from sanitation.siting.problem import IntArray, RoutedGroup, SitingProblem, Whole

MOVES_SHARE = 0.2
"""Share of a multi-site call's time for the relocate / exchange moves (assumed)."""
SURCHARGE_ROUNDS = 5
SURCHARGE_STEP = 0.05
"""Multi-depot rounds with rising site-capacity surcharges before the repair (assumed)."""


@dataclass(frozen=True)
class MatrixRouter:
    """PyVRP routing of customers from sites on an integer cost matrix.

    Parameters
    ----------
    cost
        ``(m + n, m + n)`` integer edge costs, sites first.
    demand
        ``(n,)`` integer customer demands.
    vehicle_capacity
        Integer capacity of one vehicle (every route).
    route_fixed_cost
        Integer cost of each route.
    site_capacity
        ``(m,)`` integer capacity of each site (used by the multi-site solve).
    allowed
        ``(n, m)`` bool, site may serve customer.
    iterations_per_customer
        PyVRP iterations per customer of a solve (the work budget that makes results
        reproducible); the time limit of each call caps it.
    """

    cost: IntArray
    demand: IntArray
    vehicle_capacity: int
    route_fixed_cost: int
    site_capacity: IntArray
    allowed: np.ndarray
    iterations_per_customer: int = 200
    pool: RoutePool | None = None
    """Optional: every route of every feasible solve enters it."""

    @cached_property
    def symmetric(self) -> bool:
        """Whether ``cost`` is symmetric (then one direction of a cycle suffices)."""
        return bool(np.array_equal(self.cost, self.cost.T))

    @property
    def n_sites(self) -> int:
        """Number of sites ``m``."""
        return int(self.site_capacity.shape[0])

    def route_cost(self, site: int, route: tuple[int, ...]) -> int:
        """Fixed cost + edge costs of ``site -> route... -> site`` (customer indices)."""
        m = self.n_sites
        nodes = [site, *(m + c for c in route), site]
        edges = sum(int(self.cost[a, b]) for a, b in itertools.pairwise(nodes))
        return self.route_fixed_cost + edges

    def _solve(
        self,
        sites: tuple[int, ...],
        customers: tuple[int, ...],
        time_limit_s: float,
        seed: int,
        initial: list[tuple[int, tuple[int, ...]]] | None = None,
        surcharge: np.ndarray | None = None,
    ) -> list[tuple[int, tuple[int, ...]]] | None:
        """PyVRP on ``customers`` from depots ``sites`` (optionally from the (site, route) pairs
        ``initial``); (site, route) pairs or None."""
        m = self.n_sites
        nodes = np.array([*sites, *(m + c for c in customers)], dtype=np.int64)
        dist = np.ascontiguousarray(self.cost[np.ix_(nodes, nodes)], dtype=np.int64)
        locations = [Location(0, 0) for _ in nodes]
        depots = [Depot(k) for k in range(len(sites))]
        clients = [
            Client(len(sites) + k, delivery=[int(self.demand[c])]) for k, c in enumerate(customers)
        ]
        matrices = [dist]
        profiles = [0] * len(sites)
        sub_allowed = self.allowed[np.ix_(list(customers), list(sites))]
        charged = surcharge is not None and bool(np.any(surcharge > 0))
        if not sub_allowed.all() or charged:
            big = int(dist.max(initial=0)) * 4 + 1
            # half a customer's surcharge on each edge into and out of it: a route pays
            # surcharge x its load (the Lagrangian price of its depot's capacity)
            half = np.concatenate([np.zeros(len(sites)), self.demand[list(customers)] / 2.0])
            for d in range(len(sites)):
                mat = dist.copy()
                if charged and surcharge is not None and surcharge[d] > 0:
                    mat = mat + np.rint(surcharge[d] * (half[:, None] + half[None, :])).astype(
                        np.int64
                    )
                    np.fill_diagonal(mat, 0)
                forbidden = np.flatnonzero(~sub_allowed[:, d]) + len(sites)
                mat[forbidden, :] = big
                mat[:, forbidden] = big
                mat[forbidden, forbidden] = 0
                profiles[d] = len(matrices)
                matrices.append(mat)
        vehicle_types = [
            PVehicleType(
                num_available=len(customers),
                capacity=[self.vehicle_capacity],
                start_depot=d,
                end_depot=d,
                fixed_cost=self.route_fixed_cost,
                profile=profiles[d],
            )
            for d in range(len(sites))
        ]
        zeros = [np.zeros_like(mat) for mat in matrices]
        data = ProblemData(locations, clients, depots, vehicle_types, matrices, zeros)  # type: ignore[arg-type]
        stop = MultipleCriteria(
            [
                MaxIterations(max(50, self.iterations_per_customer * len(customers))),
                MaxRuntime(max(0.01, time_limit_s)),
            ]
        )
        start = None
        if initial is not None:
            position = {c: k for k, c in enumerate(customers)}
            depot_of = {site: d for d, site in enumerate(sites)}
            start = pyvrp.Solution(
                data,
                [
                    pyvrp.Route(data, [position[c] for c in r], depot_of[site])
                    for site, r in initial
                    if site in depot_of and r
                ],
            )
        result = solve_pyvrp(data, stop, seed=seed, initial_solution=start, warnings_as="ignore")
        if not result.best.is_feasible():
            return None
        out: list[tuple[int, tuple[int, ...]]] = []
        for route in result.best.routes():
            visits = tuple(customers[a.idx] for a in route.schedule() if a.is_client())
            out.append((sites[route.vehicle_type()], visits))
            if self.pool is not None:
                self.pool.add(sites[route.vehicle_type()], visits)
        return out

    def __call__(
        self, site: int, customers: tuple[int, ...], *, time_limit_s: float, seed: int
    ) -> RoutedGroup | None:
        """The `RouteOracle`: a CVRP of ``customers`` from ``site``."""
        if not self.allowed[list(customers), site].all():
            return None
        routes = self._solve((site,), customers, time_limit_s, seed)
        if routes is None:
            return None
        cost = sum(self.route_cost(site, r) for _, r in routes)
        return RoutedGroup(float(cost), tuple(r for _, r in routes))

    def whole(
        self,
        open_sites: tuple[int, ...],
        *,
        time_limit_s: float,
        seed: int,
        initial: Whole | None = None,
    ) -> Whole | None:
        """The `WholeRouter`: a multi-depot solve of every customer from ``open_sites``.

        Site capacities are priced in: while a round's solution overloads a site, that site's
        surcharge per unit of load rises (by SURCHARGE_STEP x the mean routed cost per unit x
        the overload in mean demands) and the next short round starts from the last solution;
        once one fits (or after SURCHARGE_ROUNDS), one long round from it. The cheapest
        capacity-feasible round is kept; if none was, the last round's routes are re-assigned
        to sites within their capacities (`_reassign`). Then relocate / exchange moves and a
        CVRP per site (allocation kept) polish it.
        """
        n = int(self.demand.shape[0])
        start = None
        if initial is not None:
            start = [(j, r) for j, g in initial.groups.items() for r in g.routes]
        sites = tuple(open_sites)
        surcharge = np.zeros(len(sites))
        best: tuple[float, list[tuple[int, tuple[int, ...]]]] | None = None
        routes: list[tuple[int, tuple[int, ...]]] | None = None
        mean_q = max(1.0, float(self.demand.mean()))
        solve_s = (1.0 - 2 * MOVES_SHARE) * time_limit_s
        ends = time.perf_counter() + solve_s
        # short rounds until the surcharges make the solution fit, then one long round
        for k in range(SURCHARGE_ROUNDS + 1):
            last = k == SURCHARGE_ROUNDS or best is not None
            left = ends - time.perf_counter()
            share = left if last else solve_s / (2 * SURCHARGE_ROUNDS)
            routes = self._solve(sites, tuple(range(n)), max(0.05, share), seed, start, surcharge)
            if routes is None:
                return None
            load = np.zeros(self.n_sites, dtype=np.int64)
            for site, r in routes:
                load[site] += int(self.demand[list(r)].sum())
            cost = float(sum(self.route_cost(site, r) for site, r in routes))
            over = np.array([load[j] - self.site_capacity[j] for j in sites], dtype=float)
            if not np.any(over > 0) and (best is None or cost < best[0]):
                best = (cost, routes)
            if last:
                break
            if np.any(over > 0):
                unit = cost / max(1.0, float(self.demand.sum()))
                surcharge += np.where(over > 0, SURCHARGE_STEP * unit * over / mean_q, 0.0)
            start = routes
        found = best[1] if best is not None else None
        if found is None and routes is not None:
            found = self._reassign(sites, [r for _, r in routes], time_limit_s, seed)
        options = [self.improve(found, MOVES_SHARE * time_limit_s)] if found is not None else []
        if initial is not None:
            mine = [(j, r) for j, g in initial.groups.items() for r in g.routes]
            options.append(self.improve(mine, MOVES_SHARE * time_limit_s))
        if not options:
            return None
        chosen = min(options, key=self.total)
        return self._as_whole(self._reroute(chosen, MOVES_SHARE * time_limit_s, seed))

    def _reroute(
        self, routes: list[tuple[int, tuple[int, ...]]], time_limit_s: float, seed: int
    ) -> list[tuple[int, tuple[int, ...]]]:
        """Each site's customers re-routed alone (a CVRP, allocation kept) where cheaper."""
        n = max(1, int(self.demand.shape[0]))
        out: list[tuple[int, tuple[int, ...]]] = []
        for site in sorted({j for j, _ in routes}):
            mine = [r for j, r in routes if j == site]
            customers = tuple(sorted(c for r in mine for c in r))
            group = self(site, customers, time_limit_s=time_limit_s * len(customers) / n, seed=seed)
            if group is not None and group.cost < sum(self.route_cost(site, r) for r in mine):
                mine = list(group.routes)
            out += [(site, r) for r in mine]
        return out

    def total(self, routes: list[tuple[int, tuple[int, ...]]]) -> int:
        """Route costs (fixed + edges) of (site, route) pairs; opening costs excluded."""
        return sum(self.route_cost(site, r) for site, r in routes)

    def improve(
        self, routes: list[tuple[int, tuple[int, ...]]], time_limit_s: float
    ) -> list[tuple[int, tuple[int, ...]]]:
        """Relocate / exchange customers between routes and sites (`improve_routes`)."""
        out = improve_routes(
            routes,
            cost=self.cost,
            demand=self.demand,
            vehicle_capacity=self.vehicle_capacity,
            route_fixed_cost=self.route_fixed_cost,
            site_capacity=self.site_capacity,
            allowed=self.allowed,
            time_limit_s=time_limit_s,
        )
        if self.pool is not None:
            for site, r in out:
                self.pool.add(site, r)
        return out

    def _as_whole(self, routes: list[tuple[int, tuple[int, ...]]]) -> Whole:
        site_of = np.full(int(self.demand.shape[0]), -1, dtype=np.int64)
        per_site: dict[int, list[tuple[int, ...]]] = {}
        for site, r in routes:
            site_of[list(r)] = site
            per_site.setdefault(site, []).append(r)
        groups = {
            s: RoutedGroup(float(sum(self.route_cost(s, r) for r in rs)), tuple(rs))
            for s, rs in per_site.items()
        }
        return Whole(site_of, groups)

    def rotated(self, site: int, route: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        """The cost and visiting order of the cycle ``route`` re-opened at ``site``'s cheapest
        insertion (both directions tried when the matrix is asymmetric)."""
        if not route:
            msg = "a route must visit at least one customer."
            raise ValueError(msg)
        best: tuple[int, tuple[int, ...]] | None = None
        orders = (route,) if self.symmetric else (route, tuple(reversed(route)))
        for order in orders:
            nodes = self.n_sites + np.asarray(order, dtype=np.int64)
            after = np.roll(nodes, -1)
            cycle = int(self.cost[nodes, after].sum())
            # open the cycle between nodes[i] and after[i]: site -> after[i] ... nodes[i] -> site
            totals = (
                cycle - self.cost[nodes, after] + self.cost[site, after] + self.cost[nodes, site]
            )
            i = int(np.argmin(totals))
            cost = self.route_fixed_cost + int(totals[i])
            if best is None or cost < best[0]:
                best = (cost, order[i + 1 :] + order[: i + 1])
        if best is None:  # pragma: no cover - orders is never empty
            msg = "no order"
            raise ValueError(msg)
        return best

    def _reassign(
        self,
        open_sites: tuple[int, ...],
        routes: list[tuple[int, ...]],
        time_limit_s: float,
        seed: int,
    ) -> list[tuple[int, tuple[int, ...]]] | None:
        """Routes re-assigned to open sites within their capacities (allocation MIP)."""
        m = self.n_sites
        opened = np.zeros(m, dtype=bool)
        opened[list(open_sites)] = True
        price = np.zeros((len(routes), m))
        allowed = np.zeros((len(routes), m), dtype=bool)
        orders: dict[tuple[int, int], tuple[int, ...]] = {}
        for q, r in enumerate(routes):
            for j in open_sites:
                if self.allowed[list(r), j].all():
                    c, order = self.rotated(j, r)
                    price[q, j], allowed[q, j] = c, True
                    orders[(q, j)] = order
        problem = SitingProblem(
            opening_cost=np.zeros(m),
            capacity=self.site_capacity,
            demand=np.array([int(self.demand[list(r)].sum()) for r in routes]),
            allowed=allowed,
            assign_cost=np.zeros((len(routes), m)),
            estimate=price,
        )
        got = allocate(problem, price, open_sites=opened, time_limit_s=time_limit_s, seed=seed)
        if got is None:
            return None
        return [(int(j), orders[(q, int(j))]) for q, j in enumerate(got[1])]
