"""Route-pool recombination: a set-partitioning MIP over every route the search has seen.

Each route the search meets (a site, its visiting order, its cost) enters the pool once per
``(site, customer set)``, the cheapest order kept. `RoutePool.partition` then chooses routes that
cover every customer exactly once, opens the sites they use (opening costs, fixed status), and
keeps each open site within its capacity (with every expansion module; the modules' cost and
the problem's groups are left to the search, which prices and checks every cover): a solution
that mixes routes from different candidates, which no single move reaches (the ILP phase of
route-pool matheuristics for the location-routing problem, e.g. Contardo, Cordeau & Gendron
2014, GRASP + ILP). SCIP through OR-Tools' ``pywraplp``, one thread, the current best as a hint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

from sanitation.siting.problem import BoolArray, IntArray, RoutedGroup, SitingProblem

logger = logging.getLogger(__name__)

RouteCost = Callable[[int, tuple[int, ...]], float]
"""Cost of one route (``site``, customer indices in visiting order), fixed cost included."""
Reopen = Callable[[int, tuple[int, ...]], tuple[float, tuple[int, ...]]]
"""The cost and order of a route's customer cycle opened at another site (cheapest insertion)."""

REOPEN_SLACK = 0.25
"""A route re-opened at another site enters the pool when it costs at most this share more than
at its own site (assumed: farther re-openings are never chosen and only slow the MIP)."""


@dataclass
class RoutePool:
    """Distinct routes by ``(site, customer set)``, the cheapest visiting order of each."""

    route_cost: RouteCost
    problem: SitingProblem | None = None
    reopen: Reopen | None = None
    routes: dict[tuple[int, frozenset[int]], tuple[float, tuple[int, ...]]] = field(
        default_factory=dict
    )

    def __len__(self) -> int:
        return len(self.routes)

    def add(self, site: int, route: tuple[int, ...]) -> None:
        """Enter one route (an empty one is ignored); with ``reopen`` and ``problem``, also its
        customer cycle opened at every other allowed site within REOPEN_SLACK."""
        if not route:
            return
        key = (int(site), frozenset(route))
        known = self.routes.get(key)
        if known is not None and known[1] == route:
            return
        cost = float(self.route_cost(int(site), tuple(route)))
        if known is None or cost < known[0]:
            self.routes[key] = (cost, tuple(route))
        if known is None and self.reopen is not None and self.problem is not None:
            self._reopened(int(site), tuple(route), cost)

    def _reopened(self, site: int, route: tuple[int, ...], cost: float) -> None:
        problem = self.problem
        if problem is None or self.reopen is None:
            return
        members = frozenset(route)
        usable = problem.allowed[list(route)].all(axis=0) & ~problem.must_close
        for j in (int(k) for k in np.flatnonzero(usable)):
            if j == site or (j, members) in self.routes:
                continue
            other, order = self.reopen(j, route)
            if other <= (1.0 + REOPEN_SLACK) * cost:
                self.routes[(j, members)] = (float(other), order)

    def add_groups(self, groups: dict[int, RoutedGroup]) -> None:
        """Enter every route of routed groups (site -> group)."""
        for site, group in groups.items():
            for route in group.routes:
                self.add(site, route)

    def partition(
        self,
        problem: SitingProblem,
        *,
        time_limit_s: float,
        seed: int,
        hint: dict[int, RoutedGroup] | None = None,
        open_sites: BoolArray | None = None,
    ) -> tuple[IntArray, dict[int, RoutedGroup], float] | None:
        """The cheapest cover of the customers by pooled routes within the site capacities and
        fixed status, each customer then kept on one route: (site of each customer, groups,
        the MIP's objective = opening + routes + assignment costs), or None when the solver
        finds none in its time. With ``open_sites``, exactly those sites are open (a smaller
        model with a tighter relaxation)."""
        keys = [k for k in self.routes if _usable(problem, k, open_sites)]
        if not keys:
            return None
        solver = pywraplp.Solver.CreateSolver("SCIP")
        if solver is None:  # pragma: no cover - every OR-Tools wheel ships SCIP
            return None
        m, n = problem.n_sites, problem.n_customers
        y = [solver.BoolVar(f"y{j}") for j in range(m)]
        x = [solver.BoolVar(f"x{r}") for r in range(len(keys))]
        covers: list[list[int]] = [[] for _ in range(n)]
        at_site: list[list[int]] = [[] for _ in range(m)]
        objective = solver.Objective()
        for r, (site, members) in enumerate(keys):
            cost = self.routes[(site, members)][0]
            cost += float(problem.assign_cost[list(members), site].sum())
            objective.SetCoefficient(x[r], cost)
            solver.Add(x[r] <= y[site])
            at_site[site].append(r)
            for i in members:
                covers[i].append(r)
        if any(not rs for rs in covers):
            return None
        for i in range(n):
            # a cover, not a partition: a customer on two chosen routes is then kept on one
            # (`_solution`); this lets routes that overlap combine
            solver.Add(sum(x[r] for r in covers[i]) >= 1)
        for j in range(m):
            objective.SetCoefficient(y[j], float(problem.opening_cost[j]))
            load = sum(int(problem.demand[list(keys[r][1])].sum()) * x[r] for r in at_site[j])
            solver.Add(load <= int(problem.max_capacity[j]) * y[j])
            if open_sites is not None:
                solver.Add(y[j] == int(bool(open_sites[j])))
            if problem.must_open[j]:
                solver.Add(y[j] == 1)
            if problem.must_close[j]:
                solver.Add(y[j] == 0)
        objective.SetMinimization()
        if hint:
            _set_hint(solver, keys, x, y, hint)
        solver.SetTimeLimit(max(100, int(time_limit_s * 1000)))
        solver.SetNumThreads(1)
        solver.SetSolverSpecificParametersAsString(
            f"randomization/randomseedshift = {int(seed) % 2**31}\n"
        )
        status = solver.Solve()
        logger.debug(
            "pool: %d routes, status %d, objective %.1f, bound %.1f",
            len(keys),
            status,
            solver.Objective().Value(),
            solver.Objective().BestBound(),
        )
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            return None
        chosen = [keys[r] for r in range(len(keys)) if x[r].solution_value() > 0.5]
        return self._solution(problem, chosen, solver.Objective().Value())

    def _solution(
        self,
        problem: SitingProblem,
        chosen: list[tuple[int, frozenset[int]]],
        value: float,
    ) -> tuple[IntArray, dict[int, RoutedGroup], float]:
        """The chosen routes with each customer kept once: on the route that loses most by
        dropping it (the others skip it)."""
        routes = [(key[0], list(self.routes[key][1])) for key in chosen]
        holders: dict[int, list[int]] = {}
        for k, (_, route) in enumerate(routes):
            for i in route:
                holders.setdefault(i, []).append(k)
        for i, ks in sorted(holders.items()):
            if len(ks) < 2:
                continue
            saving = []
            for k in ks:
                site, route = routes[k]
                rest = tuple(c for c in route if c != i)
                after = float(self.route_cost(site, rest)) if rest else 0.0
                saving.append(float(self.route_cost(site, tuple(route))) - after)
            keep = ks[int(np.argmin(saving))]
            for k in ks:
                if k != keep:
                    routes[k][1].remove(i)
        site_of = np.full(problem.n_customers, -1, dtype=np.int64)
        per_site: dict[int, list[tuple[int, ...]]] = {}
        for site, route in routes:
            if route:
                site_of[route] = site
                per_site.setdefault(site, []).append(tuple(route))
        groups = {
            site: RoutedGroup(float(sum(self.route_cost(site, r) for r in rs)), tuple(rs))
            for site, rs in per_site.items()
        }
        return site_of, groups, float(value)


def _usable(
    problem: SitingProblem, key: tuple[int, frozenset[int]], open_sites: BoolArray | None
) -> bool:
    site, members = key
    return (
        0 <= site < problem.n_sites
        and not problem.must_close[site]
        and (open_sites is None or bool(open_sites[site]))
        and bool(problem.allowed[list(members), site].all())
    )


def _set_hint(
    solver: pywraplp.Solver,
    keys: list[tuple[int, frozenset[int]]],
    x: list[pywraplp.Variable],
    y: list[pywraplp.Variable],
    hint: dict[int, RoutedGroup],
) -> None:
    """The routes of ``hint`` (those in the pool) as SCIP's starting solution."""
    wanted = {(site, frozenset(r)) for site, g in hint.items() for r in g.routes if r}
    values = [1.0 if k in wanted else 0.0 for k in keys]
    used = {site for site, g in hint.items() if g.routes}
    solver.SetHint(x + y, values + [1.0 if j in used else 0.0 for j in range(len(y))])
