"""Scale check: one generated station-day with 1,000 collection points, solved and verified.

Builds a random (seeded) station: points within ~15 km of the transfer station, road distance =
1.3 x straight line, 30 km/h for big trucks and 25 km/h for small ones (their own profile),
loads 50-300 kg, 10 % of the points in narrow lanes (small trucks only), 5 % with a morning
window (markets), priorities 1-3; trucks unload at the station as often as needed, take a
one-hour lunch between 11:00 and 13:00, shifts 06:00-16:00. Reports the wall-clock time of the
whole solve (model build, search, conversion) and of the verification.

    .venv/bin/python benchmarks/routing_scale.py [--points 1000] [--time-limit 58] [--engine pyvrp]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sanitation.engines import get_engine
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop, VehicleType
from sanitation.verify.routing import verify

H = 3600


def build(n_points: int, seed: int) -> RoutingProblem:
    """A random station-day with ``n_points`` due points (location 0 = station)."""
    rng = np.random.default_rng(seed)
    r = 15_000 * np.sqrt(rng.uniform(0, 1, n_points))
    a = rng.uniform(0, 2 * np.pi, n_points)
    xy = np.vstack([[0.0, 0.0], np.c_[r * np.cos(a), r * np.sin(a)]])
    straight = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    dist = np.rint(1.3 * straight).astype(np.int64)
    dur_big = np.rint(dist / (30 / 3.6)).astype(np.int64)
    dur_small = np.rint(dist / (25 / 3.6)).astype(np.int64)
    stops = []
    for i in range(1, n_points + 1):
        narrow = rng.uniform() < 0.10
        market = rng.uniform() < 0.05
        stops.append(
            Stop(
                f"P{i:04d}",
                i,
                int(rng.integers(50, 301)),
                service_s=int(rng.integers(60, 181)),
                tw_open_s=6 * H if market else 0,
                tw_close_s=10 * H if market else 24 * H,
                priority=int(rng.integers(1, 4)),
                allowed_vehicle_types=frozenset({"small"}) if narrow else None,
            )
        )
    lunch = Lunch(H, 11 * H, 13 * H)
    common = {
        "depot": "station",
        "unload_sites": ("station",),
        "shift_start_s": 6 * H,
        "shift_end_s": 16 * H,
        "lunch": lunch,
    }
    big = VehicleType(
        "big",
        count=10,
        capacity_kg=5000,
        profile=0,
        fixed_cost_cny=300.0,
        cost_cny_per_km=4.0,
        cost_cny_per_h=45.0,
        **common,  # type: ignore[arg-type]
    )
    small = VehicleType(
        "small",
        count=6,
        capacity_kg=1500,
        profile=1,
        fixed_cost_cny=180.0,
        cost_cny_per_km=2.5,
        cost_cny_per_h=40.0,
        **common,  # type: ignore[arg-type]
    )
    station = Site("station", 0, 5 * H, 18 * H, 900)
    return RoutingProblem([dur_big, dur_small], [dist, dist], [station], stops, [big, small])


def main() -> None:
    """Build, solve, verify, print a JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--time-limit", type=float, default=58.0)
    ap.add_argument("--engine", default="pyvrp")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="also write the summary here")
    args = ap.parse_args()
    t0 = time.perf_counter()
    problem = build(args.points, args.seed)
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    sol = get_engine(args.engine).solve(
        problem, SolveParams(time_limit_s=args.time_limit, verify=False), seed=args.seed
    )
    t_solve = time.perf_counter() - t1
    t2 = time.perf_counter()
    violations = verify(problem, sol)
    t_verify = time.perf_counter() - t2
    summary = {
        "points": args.points,
        "engine": args.engine,
        "time_limit_s": args.time_limit,
        "build_s": round(t_build, 2),
        "solve_s": round(t_solve, 2),
        "verify_s": round(t_verify, 2),
        "total_s": round(time.perf_counter() - t0, 2),
        "verified": not violations,
        "violations": violations[:5],
        "routes": len(sol.routes),
        "unloads": sum(r.n_unloads for r in sol.routes),
        "unserved": len(sol.unserved),
        "unserved_reasons": sorted({u.reason for u in sol.unserved}),
        "cost_cny": round(sol.cost_cny, 2),
        "distance_km": round(sol.distance_m / 1000, 1),
        "stats": sol.stats,
    }
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
