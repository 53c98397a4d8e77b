"""Capacitated location-routing (Prodhon format): ``sanitation bench lrp``.

File layout (whitespace separated, Prins, Prodhon & Wolfler Calvo 2006): number of customers
``n``; number of depots ``m``; ``m`` depot x y; ``n`` customer x y; vehicle capacity; ``m``
depot capacities; ``n`` customer demands; ``m`` depot opening costs; route fixed cost; cost flag.

Cost (the folder's README): opening costs of the depots used + the route fixed cost per route +
Σ ⌈100 × Euclidean distance⌉ per edge. Routes are reported as ``[depot_no, c1, c2, ...]`` with
depots 1..m and customers 1..n in file order. Every solution is re-checked from the instance alone
by `check_solution` (not by the solver) before it is reported.

Solver: `sanitation.siting.solve_siting` with a PyVRP CVRP per depot as the route oracle and a
PyVRP multi-depot solve of each open set as the whole router (`MatrixRouter`), one search per
core with different seeds; the cheapest checked solution is reported.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import dataclasses
import logging
import math
import multiprocessing
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from sanitation.bench import expand_paths, gap_pct, read_instance
from sanitation.lifeline import die_with_parent
from sanitation.siting import RoutePool, SitingProblem, solve_siting
from sanitation.siting.pyvrp_router import MatrixRouter

logger = logging.getLogger(__name__)

DEFAULT_ENGINE = "siting+pyvrp"
SUFFIXES = (".dat",)
POLISH_SHARE = 0.3
"""Share of each search's time kept for re-routing its best siting (assumed)."""
MAX_COORDINATE = 1e6
"""Largest |coordinate| accepted (the published files stay below 100; assumed bound)."""
MAX_QUANTITY = 10**9
"""Largest capacity, demand or cost accepted (keeps integer costs far from overflow; assumed)."""


@dataclass(frozen=True, slots=True)
class LrpInstance:
    """A parsed Prodhon instance (depots and customers in file order, 0-based here)."""

    name: str
    depot_xy: np.ndarray
    customer_xy: np.ndarray
    vehicle_capacity: int
    depot_capacity: np.ndarray
    demand: np.ndarray
    opening_cost: np.ndarray
    route_cost: int

    @property
    def n_customers(self) -> int:
        """Number of customers."""
        return int(self.demand.shape[0])

    @property
    def n_depots(self) -> int:
        """Number of candidate depots."""
        return int(self.opening_cost.shape[0])


class _Tokens:
    """The file's numbers in order, each read with the name of the field it stands for."""

    def __init__(self, path: Path) -> None:
        self.tokens = path.read_text(encoding="utf-8").split()
        self.pos = 0

    def number(self, field: str) -> float:
        if self.pos >= len(self.tokens):
            msg = f"field {field}: missing (the file ends after {len(self.tokens)} numbers)"
            raise ValueError(msg)
        token = self.tokens[self.pos]
        self.pos += 1
        try:
            value = float(token)
        except ValueError:
            msg = f"field {field}: value {token!r} is not a number"
            raise ValueError(msg) from None
        if not math.isfinite(value):
            msg = f"field {field}: value {token!r} is not finite"
            raise ValueError(msg)
        return value

    def integer(self, field: str, low: int, high: int) -> int:
        value = self.number(field)
        if value != round(value) or not low <= value <= high:
            msg = f"field {field}: value {value:g}; expected an integer in [{low}, {high}]"
            raise ValueError(msg)
        return int(value)

    def coordinate(self, field: str) -> float:
        value = self.number(field)
        if abs(value) > MAX_COORDINATE:
            msg = f"field {field}: value {value:g}; expected |x| <= {MAX_COORDINATE:g}"
            raise ValueError(msg)
        return value


def read_prodhon(path: Path) -> LrpInstance:
    """Parse a Prodhon-format LRP file (ValueError naming the field on bad content)."""
    tok = _Tokens(path)
    n = tok.integer("number of customers", 1, 100_000)
    m = tok.integer("number of depots", 1, 10_000)
    depot_xy = np.array(
        [[tok.coordinate(f"depot {j + 1} {a}") for a in "xy"] for j in range(m)], dtype=float
    )
    cust_xy = np.array(
        [[tok.coordinate(f"customer {i + 1} {a}") for a in "xy"] for i in range(n)], dtype=float
    )
    q = tok.integer("vehicle capacity", 1, MAX_QUANTITY)
    cap = np.array([tok.integer(f"depot {j + 1} capacity", 0, MAX_QUANTITY) for j in range(m)])
    dem = np.array([tok.integer(f"customer {i + 1} demand", 0, q) for i in range(n)])
    opening = np.array(
        [tok.integer(f"depot {j + 1} opening cost", 0, MAX_QUANTITY) for j in range(m)]
    )
    route = tok.integer("route fixed cost", 0, MAX_QUANTITY)
    flag = tok.integer("cost flag", 0, 1)
    if flag != 0:
        msg = "field cost flag: value 1 (real costs); only 0 (integer costs, ⌈100·d⌉) is supported"
        raise ValueError(msg)
    if tok.pos != len(tok.tokens):
        msg = (
            f"field end of file: {len(tok.tokens) - tok.pos} numbers left over after the cost flag"
        )
        raise ValueError(msg)
    if int(cap.sum()) < int(dem.sum()):
        msg = f"field depot capacities: total {int(cap.sum())} < total demand {int(dem.sum())}"
        raise ValueError(msg)
    return LrpInstance(path.stem, depot_xy, cust_xy, q, cap, dem, opening, route)


def edge_cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """⌈100 × Euclidean distance⌉ between the rows of ``a`` and ``b`` (integer cost units).

    Integer coordinates make 100·d an integer only when d is one, and then it is exact in
    floating point; the small tolerance only guards against noise below 1e-9.
    """
    diff = a[:, None, :] - b[None, :, :]
    return np.ceil(100.0 * np.sqrt((diff**2).sum(-1)) - 1e-9).astype(np.int64)


def generate_instance(
    *, n: int, m: int, vehicle_capacity: int, clustered: bool, seed: int
) -> LrpInstance:
    """A synthetic instance in the spirit of Prodhon's (labelled ``synthetic-...``).

    Integer coordinates in [0, 50]² (uniform, or around 3-6 cluster centres with a standard
    deviation of 4), demands 11..20, depot capacities multiples of the vehicle capacity that bind
    (each depot holds 15-50 % of the total demand, all together at least 1.3 times it), opening
    costs 300-600 × n. These ranges follow the published files loosely; they are assumed.
    """
    if not (1 <= n <= 10_000 and 1 <= m <= 100):
        msg = f"n must be in 1..10000 and m in 1..100, got n={n}, m={m}."
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    if clustered:
        centres = rng.uniform(5, 45, size=(int(rng.integers(3, 7)), 2))
        picks = centres[rng.integers(0, len(centres), size=n)]
        cust = np.clip(np.round(picks + rng.normal(0, 4, size=(n, 2))), 0, 50)
    else:
        cust = rng.integers(0, 51, size=(n, 2)).astype(float)
    depots = rng.integers(0, 51, size=(m, 2)).astype(float)
    demand = rng.integers(11, 21, size=n)
    total = int(demand.sum())
    share = rng.uniform(0.15, 0.5, size=m) if m > 5 else rng.uniform(0.3, 0.5, size=m)
    cap = vehicle_capacity * np.ceil(share * total / vehicle_capacity).astype(np.int64)
    while int(cap.sum()) < 1.3 * total:
        cap[int(rng.integers(0, m))] += vehicle_capacity
    opening = np.round(rng.uniform(300, 600, size=m) * n).astype(np.int64)
    kind = "c" if clustered else "u"
    name = f"synthetic-{n}-{m}-{vehicle_capacity}{kind}-s{seed}"
    return LrpInstance(name, depots, cust, vehicle_capacity, cap, demand, opening, 1000)


def write_prodhon(inst: LrpInstance, path: Path) -> Path:
    """Write ``inst`` in the Prodhon format (readable by `read_prodhon`)."""
    lines = [str(inst.n_customers), str(inst.n_depots), ""]
    lines += [f"{x:g}\t{y:g}" for x, y in inst.depot_xy]
    lines.append("")
    lines += [f"{x:g}\t{y:g}" for x, y in inst.customer_xy]
    lines += ["", str(inst.vehicle_capacity), ""]
    lines += [str(int(c)) for c in inst.depot_capacity]
    lines.append("")
    lines += [str(int(d)) for d in inst.demand]
    lines.append("")
    lines += [str(int(o)) for o in inst.opening_cost]
    lines += ["", str(inst.route_cost), "", "0", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- the independent checker
@dataclass(frozen=True)
class Check:
    """The checker's verdict: cost recomputed from the instance and every violation found."""

    cost: int
    violations: list[str]

    @property
    def feasible(self) -> bool:
        """No violation."""
        return not self.violations


def check_solution(inst: LrpInstance, routes: list[list[int]]) -> Check:
    """Re-check ``routes`` (each ``[depot_no, c1, ...]``, 1-based file numbers) from the file.

    Each customer exactly once, vehicle capacity per route, depot capacity per open depot; the
    cost (opening costs of depots used + route cost per route + ⌈100·d⌉ per edge) recomputed.
    """
    problems: list[str] = []
    seen = np.zeros(inst.n_customers, dtype=np.int64)
    load = np.zeros(inst.n_depots, dtype=np.int64)
    used: set[int] = set()
    cost = 0
    for k, route in enumerate(routes, start=1):
        if len(route) < 2 or not 1 <= route[0] <= inst.n_depots:
            problems.append(f"route {k}: expected [depot 1..{inst.n_depots}, customers...]")
            continue
        depot, customers = route[0] - 1, route[1:]
        if any(not 1 <= c <= inst.n_customers for c in customers):
            problems.append(f"route {k}: a customer number outside 1..{inst.n_customers}")
            continue
        idx = [c - 1 for c in customers]
        np.add.at(seen, idx, 1)
        route_load = int(inst.demand[idx].sum())
        if route_load > inst.vehicle_capacity:
            problems.append(
                f"route {k}: load {route_load} > vehicle capacity {inst.vehicle_capacity}"
            )
        load[depot] += route_load
        used.add(depot)
        points = np.vstack([inst.depot_xy[depot], inst.customer_xy[idx], inst.depot_xy[depot]])
        legs = [
            int(edge_cost(points[t : t + 1], points[t + 1 : t + 2])[0, 0])
            for t in range(len(points) - 1)
        ]
        cost += inst.route_cost + sum(legs)
    for i in np.flatnonzero(seen != 1):
        problems.append(f"customer {i + 1}: served {int(seen[i])} times (expected once)")
    for j in sorted(used):
        if load[j] > inst.depot_capacity[j]:
            problems.append(
                f"depot {j + 1}: load {int(load[j])} > capacity {int(inst.depot_capacity[j])}"
            )
    cost += int(sum(int(inst.opening_cost[j]) for j in used))
    return Check(cost, problems)


# ---------------------------------------------------------------------- the solver
def siting_problem(inst: LrpInstance) -> tuple[SitingProblem, MatrixRouter]:
    """The instance as a `SitingProblem` and its PyVRP router.

    The estimate of a customer's routing cost at a depot is the stem of its share of round trips:
    (2 × edge cost depot-customer + route cost) × demand / vehicle capacity, the project's
    round-trip-per-truckload estimate.
    """
    xy = np.vstack([inst.depot_xy, inst.customer_xy])
    cost = edge_cost(xy, xy)
    m = inst.n_depots
    stem = cost[m:, :m].astype(float)
    share = (inst.demand / inst.vehicle_capacity)[:, None]
    estimate = (2.0 * stem + inst.route_cost) * share
    problem = SitingProblem(
        opening_cost=inst.opening_cost.astype(float),
        capacity=inst.depot_capacity,
        demand=inst.demand,
        allowed=np.ones((inst.n_customers, m), dtype=bool),
        assign_cost=np.zeros((inst.n_customers, m)),
        estimate=estimate,
    )
    router = MatrixRouter(
        cost=cost,
        demand=inst.demand,
        vehicle_capacity=inst.vehicle_capacity,
        route_fixed_cost=inst.route_cost,
        site_capacity=inst.depot_capacity,
        allowed=problem.allowed,
    )
    return problem, router


def solve_instance(
    inst: LrpInstance, *, time_limit_s: float, seed: int, max_evaluations: int | None = None
) -> tuple[float, list[list[int]], dict[str, Any]]:
    """One search: (cost, routes ``[depot_no, c1, ...]``, statistics)."""
    problem, router = siting_problem(inst)
    router = dataclasses.replace(router, pool=RoutePool(router.route_cost, problem, router.rotated))
    route_time = max(0.2, time_limit_s / 40)
    whole_time = max(0.5, time_limit_s / 10)
    result = solve_siting(
        problem,
        router,
        time_limit_s=time_limit_s,
        seed=seed,
        max_evaluations=max_evaluations,
        route_time_s=route_time,
        whole_router=router.whole,
        polish_share=POLISH_SHARE,
        whole_time_s=whole_time,
        route_pool=router.pool,
    )
    routes = [
        [site + 1, *(c + 1 for c in r)]
        for site, group in sorted(result.groups.items())
        for r in group.routes
    ]
    stats = {
        "open_depots": [int(j) + 1 for j in np.flatnonzero(result.open)],
        "estimate_routed_cost": result.estimate_routed_total,
        "oracle_calls": result.oracle_calls,
        "evaluations": result.evaluations,
        "stopped_by": result.stopped_by,
        "seed": seed,
    }
    return result.total_cost, routes, stats


def _pool_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def solve_parallel(
    inst: LrpInstance, *, time_limit_s: float, seed: int, workers: int | None = None
) -> tuple[float, list[list[int]], dict[str, Any]]:
    """``workers`` searches (default: one per core) with seeds ``seed, seed + 1, ...``; the
    cheapest by the checker's cost among the feasible ones."""
    workers = workers or max(1, os.cpu_count() or 1)
    limit = max(0.5, time_limit_s - 3.0)  # pool start-up, reading and the checks
    if workers == 1:
        return solve_instance(inst, time_limit_s=limit, seed=seed)
    with cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context(), initializer=die_with_parent
    ) as pool:
        futures = [
            pool.submit(solve_instance, inst, time_limit_s=limit, seed=seed + k)
            for k in range(workers)
        ]
        outcomes = [f.result() for f in futures]
    checked = [
        (check_solution(inst, routes), cost, routes, stats) for cost, routes, stats in outcomes
    ]
    checked.sort(key=lambda t: (not t[0].feasible, t[0].cost))
    best = checked[0]
    return best[1], best[2], best[3]


def read_bks(path: Path) -> dict[str, float]:
    """BKS costs from ``bks.csv`` beside the instance file or one folder up (empty if none)."""
    for folder in (path.parent, path.parent.parent):
        csv_path = folder / "bks.csv"
        if csv_path.exists():
            with csv_path.open(encoding="utf-8") as fh:
                return {row["instance"]: float(row["bks_cost"]) for row in csv.DictReader(fh)}
    return {}


def run(
    paths: list[Path], *, time_limit_s: float, engine: str | None, seed: int
) -> list[dict[str, Any]]:
    """Solve every instance; one result dict per instance (see `sanitation.bench`)."""
    results: list[dict[str, Any]] = []
    for path in expand_paths(paths, SUFFIXES):
        start = time.perf_counter()
        inst = read_instance(path, partial(read_prodhon, path))
        _, routes, stats = solve_parallel(inst, time_limit_s=time_limit_s, seed=seed)
        check = check_solution(inst, routes)
        seconds = time.perf_counter() - start
        bks = read_bks(path).get(inst.name)
        for v in check.violations[:5]:
            logger.error("%s: checker: %s", inst.name, v)
        results.append(
            {
                "instance": inst.name,
                "cost": check.cost,
                "bks": bks,
                "gap_pct": gap_pct(check.cost, bks) if check.feasible else None,
                "seconds": round(seconds, 2),
                "feasible": check.feasible,
                "violations": check.violations[:10],
                "vehicles": len(routes),
                **stats,
                "routes": routes,
            }
        )
    return results
