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
import warnings
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp import Client, Depot, Location, ProblemData
from pyvrp import VehicleType as PVehicleType
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

from sanitation.siting._allocate import allocate
from sanitation.siting.problem import IntArray, RoutedGroup, SitingProblem, Whole


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
        self, sites: tuple[int, ...], customers: tuple[int, ...], time_limit_s: float, seed: int
    ) -> list[tuple[int, tuple[int, ...]]] | None:
        """PyVRP on ``customers`` from depots ``sites``; (site, route) pairs or None."""
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
        if not sub_allowed.all():
            big = int(dist.max(initial=0)) * 4 + 1
            for d in range(len(sites)):
                forbidden = np.flatnonzero(~sub_allowed[:, d]) + len(sites)
                mat = dist.copy()
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = pyvrp.solve(data, stop=stop, seed=seed, collect_stats=False, display=False)
        if not result.best.is_feasible():
            return None
        out: list[tuple[int, tuple[int, ...]]] = []
        for route in result.best.routes():
            visits = tuple(customers[a.idx] for a in route.schedule() if a.is_client())
            out.append((sites[route.vehicle_type()], visits))
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

    def whole(self, open_sites: tuple[int, ...], *, time_limit_s: float, seed: int) -> Whole | None:
        """The `WholeRouter`: a multi-depot solve of every customer from ``open_sites``."""
        n = int(self.demand.shape[0])
        routes = self._solve(open_sites, tuple(range(n)), time_limit_s, seed)
        if routes is None:
            return None
        load = np.zeros(self.n_sites, dtype=np.int64)
        for site, r in routes:
            load[site] += int(self.demand[list(r)].sum())
        if np.any(load > self.site_capacity):
            repaired = self._reassign(open_sites, [r for _, r in routes], time_limit_s, seed)
            if repaired is None:
                return None
            routes = repaired
        return self._as_whole(routes)

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
        best: tuple[int, tuple[int, ...]] | None = None
        k = len(route)
        for order in (route, tuple(reversed(route))):
            for i in range(k):
                r = order[i:] + order[:i]
                c = self.route_cost(site, r)
                if best is None or c < best[0]:
                    best = (c, r)
        if best is None:
            msg = "a route must visit at least one customer."
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
