"""Customer moves between routes and sites on a cost matrix: relocate and exchange.

Routes are ``(site, [customers...])`` pairs; nodes of ``cost``: sites ``0..m-1``, then customers
``m..m+n-1``. A move is applied only when it lowers the true cost (edges + route fixed costs) and
keeps every route within the vehicle capacity and every site within its capacity.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

Route = tuple[int, list[int]]


@dataclass
class _State:
    cost: np.ndarray
    m: int
    demand: np.ndarray
    vehicle_capacity: int
    route_fixed_cost: int
    site_capacity: np.ndarray
    allowed: np.ndarray
    routes: list[Route]

    def node(self, route: Route, pos: int) -> int:
        """The node at ``pos`` of ``route`` (-1 and len: its site)."""
        site, seq = route
        return site if pos < 0 or pos >= len(seq) else self.m + seq[pos]

    def load(self, k: int) -> int:
        return int(self.demand[self.routes[k][1]].sum())

    def site_load(self) -> np.ndarray:
        load = np.zeros(len(self.site_capacity), dtype=np.int64)
        for k, (site, _) in enumerate(self.routes):
            load[site] += self.load(k)
        return load

    def removal(self, k: int, pos: int) -> int:
        """Cost saved by taking the customer at ``pos`` out of route ``k``."""
        route = self.routes[k]
        c, a, b = self.node(route, pos), self.node(route, pos - 1), self.node(route, pos + 1)
        if len(route[1]) == 1:
            return self.route_fixed_cost + int(self.cost[a, c] + self.cost[c, b])
        return int(self.cost[a, c] + self.cost[c, b] - self.cost[a, b])

    def best_insertion(self, customer: int, site: int, skip: int) -> tuple[int, int, int]:
        """(delta, route, position) of the cheapest insertion at ``site`` (route -1: a new
        route), routes other than ``skip`` with room."""
        c = self.m + customer
        q = int(self.demand[customer])
        best = (self.route_fixed_cost + int(self.cost[site, c] + self.cost[c, site]), -1, 0)
        for k, route in enumerate(self.routes):
            if route[0] != site or k == skip or self.load(k) + q > self.vehicle_capacity:
                continue
            nodes = [site, *(self.m + x for x in route[1]), site]
            u = np.array(nodes[:-1])
            v = np.array(nodes[1:])
            deltas = self.cost[u, c] + self.cost[c, v] - self.cost[u, v]
            p = int(np.argmin(deltas))
            if int(deltas[p]) < best[0]:
                best = (int(deltas[p]), k, p)
        return best


def _relocate_pass(s: _State, deadline: float) -> bool:
    """Move single customers to their best place at any open site; True if one moved."""
    opened = sorted({site for site, _ in s.routes})
    improved = False
    for k in range(len(s.routes)):
        pos = 0
        while pos < len(s.routes[k][1]):
            if time.perf_counter() > deadline:
                return improved
            customer = s.routes[k][1][pos]
            here = s.routes[k][0]
            saving = s.removal(k, pos)
            slack = s.site_capacity - s.site_load()
            best: tuple[int, int, int, int] | None = None
            for site in opened:
                if not s.allowed[customer, site]:
                    continue
                if site != here and slack[site] < s.demand[customer]:
                    continue
                delta, r, p = s.best_insertion(customer, site, k)
                if delta - saving < (0 if best is None else best[0]):
                    best = (delta - saving, site, r, p)
            if best is None or best[0] >= 0:
                pos += 1
                continue
            _, site, r, p = best
            s.routes[k][1].pop(pos)
            if r < 0:
                s.routes.append((site, [customer]))
            else:
                s.routes[r][1].insert(p, customer)
            improved = True
    s.routes[:] = [r for r in s.routes if r[1]]
    return improved


def _exchange_pass(s: _State, deadline: float) -> bool:
    """Swap two customers of routes at different sites in place; True if one swapped."""
    improved = False
    for k1 in range(len(s.routes)):
        for k2 in range(k1 + 1, len(s.routes)):
            if time.perf_counter() > deadline:
                return improved
            r1, r2 = s.routes[k1], s.routes[k2]
            if r1[0] == r2[0]:
                continue
            improved |= _exchange_routes(s, k1, k2)
    return improved


def _exchange_routes(s: _State, k1: int, k2: int) -> bool:
    r1, r2 = s.routes[k1], s.routes[k2]
    l1, l2 = s.load(k1), s.load(k2)
    site_load = s.site_load()
    for p1 in range(len(r1[1])):
        for p2 in range(len(r2[1])):
            a, b = r1[1][p1], r2[1][p2]
            qa, qb = int(s.demand[a]), int(s.demand[b])
            if l1 - qa + qb > s.vehicle_capacity or l2 - qb + qa > s.vehicle_capacity:
                continue
            if site_load[r1[0]] - qa + qb > s.site_capacity[r1[0]]:
                continue
            if site_load[r2[0]] - qb + qa > s.site_capacity[r2[0]]:
                continue
            if not (s.allowed[b, r1[0]] and s.allowed[a, r2[0]]):
                continue
            u1, v1 = s.node(r1, p1 - 1), s.node(r1, p1 + 1)
            u2, v2 = s.node(r2, p2 - 1), s.node(r2, p2 + 1)
            na, nb = s.m + a, s.m + b
            c = s.cost
            delta = (
                c[u1, nb]
                + c[nb, v1]
                - c[u1, na]
                - c[na, v1]
                + c[u2, na]
                + c[na, v2]
                - c[u2, nb]
                - c[nb, v2]
            )
            if delta < 0:
                r1[1][p1], r2[1][p2] = b, a
                return True
    return False


def improve_routes(
    routes: list[tuple[int, tuple[int, ...]]],
    *,
    cost: np.ndarray,
    demand: np.ndarray,
    vehicle_capacity: int,
    route_fixed_cost: int,
    site_capacity: np.ndarray,
    allowed: np.ndarray,
    time_limit_s: float,
) -> list[tuple[int, tuple[int, ...]]]:
    """Relocate and exchange customers (see the module docstring) until neither improves or
    the time is up; the improved routes."""
    state = _State(
        cost,
        len(site_capacity),
        demand,
        vehicle_capacity,
        route_fixed_cost,
        site_capacity,
        allowed,
        [(site, list(r)) for site, r in routes],
    )
    deadline = time.perf_counter() + time_limit_s
    while time.perf_counter() < deadline:
        moved = _relocate_pass(state, deadline)
        moved |= _exchange_pass(state, deadline)
        if not moved:
            break
    return [(site, tuple(r)) for site, r in state.routes if r]
