"""Solomon VRPTW benchmark, distance objective in the DIMACS / CVRPLIB convention.

Distances and travel times are Euclidean truncated to one decimal, ``floor(10 d) / 10``; inside
the solver every time and distance is multiplied by 10 so they stay exact integers (and the
route cost is ten times the published one: reported costs are divided back). Service must start
by the due date; the fleet is at most the file's vehicle number; cost = total distance.
Routes are reported by the CUST NO. column (depot 0 left out).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sanitation.bench._routing import routing_result, solve_each
from sanitation.routing.problem import RoutingProblem, Site, Stop, VehicleType

DEFAULT_ENGINE = "pyvrp"
SUFFIXES = (".txt",)
SCALE = 10


@dataclass(frozen=True, slots=True)
class SolomonInstance:
    """A parsed Solomon file; row 0 is the depot."""

    name: str
    vehicles: int
    capacity: int
    ids: list[int]
    coords: np.ndarray
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]


def read_solomon(path: Path) -> SolomonInstance:
    """Parse a Solomon text file (name, VEHICLE block, CUSTOMER table)."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    name = lines[0]
    rows: list[list[float]] = []
    vehicles = capacity = -1
    i = 0
    while i < len(lines):
        if lines[i].upper().startswith("NUMBER"):
            vehicles, capacity = (int(x) for x in lines[i + 1].split()[:2])
            i += 2
            continue
        parts = lines[i].split()
        if len(parts) == 7 and all(_is_number(p) for p in parts):
            rows.append([float(p) for p in parts])
        i += 1
    if vehicles < 0 or not rows:
        msg = f"{path}: not a Solomon instance (no VEHICLE block or CUSTOMER rows)."
        raise ValueError(msg)
    arr = np.array(rows)
    return SolomonInstance(
        name=name,
        vehicles=vehicles,
        capacity=capacity,
        ids=[int(x) for x in arr[:, 0]],
        coords=arr[:, 1:3],
        demand=[int(x) for x in arr[:, 3]],
        ready=[int(x) for x in arr[:, 4]],
        due=[int(x) for x in arr[:, 5]],
        service=[int(x) for x in arr[:, 6]],
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def truncated_distances(coords: np.ndarray) -> np.ndarray:
    """``floor(10 * euclidean)`` as exact integers (DIMACS convention, x10)."""
    n = len(coords)
    out = np.zeros((n, n), dtype=np.int64)
    integral = np.all(coords == np.round(coords))
    for a in range(n):
        for b in range(n):
            dx = float(coords[a, 0] - coords[b, 0])
            dy = float(coords[a, 1] - coords[b, 1])
            if integral:
                out[a, b] = math.isqrt(round(SCALE * SCALE * (dx * dx + dy * dy)))
            else:
                out[a, b] = math.floor(SCALE * math.hypot(dx, dy))
    return out


def to_problem(inst: SolomonInstance) -> RoutingProblem:
    """The instance as a `RoutingProblem` (times and distances x10, cost 1 per 0.1 unit)."""
    d = truncated_distances(inst.coords)
    horizon = inst.due[0] * SCALE
    stops = [
        Stop(
            str(inst.ids[i]),
            i,
            inst.demand[i],
            service_s=inst.service[i] * SCALE,
            tw_open_s=inst.ready[i] * SCALE,
            tw_close_s=inst.due[i] * SCALE,
        )
        for i in range(1, len(inst.ids))
    ]
    vt = VehicleType(
        "vehicle",
        count=inst.vehicles,
        capacity_kg=inst.capacity,
        depot="depot",
        unload_sites=("depot",),
        shift_start_s=inst.ready[0] * SCALE,
        shift_end_s=horizon,
        cost_cny_per_km=1000.0,
        max_trips=1,
    )
    site = Site("depot", 0, 0, horizon, 0)
    return RoutingProblem((d,), (d,), (site,), tuple(stops), (vt,), horizon_s=horizon)


def read_bks(folder: Path) -> dict[str, float]:
    """Distance BKS (DIMACS) from ``bks_distance_dimacs.csv`` in the folder or its parent."""
    for path in (folder / "bks_distance_dimacs.csv", folder.parent / "bks_distance_dimacs.csv"):
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                return {r["instance"]: float(r["bks_distance_dimacs"]) for r in csv.DictReader(fh)}
    return {}


def run(
    paths: list[Path], *, time_limit_s: float, engine: str | None, seed: int
) -> list[dict[str, Any]]:
    """Solve every instance; one result dict per instance (see `sanitation.bench`)."""
    results: list[dict[str, Any]] = []
    for path, inst, bs in solve_each(
        paths,
        SUFFIXES,
        read_solomon,
        to_problem,
        time_limit_s=time_limit_s,
        engine=engine or DEFAULT_ENGINE,
        seed=seed,
    ):
        cost = round(sum(r.distance_m for r in bs.solution.routes) / SCALE, 1)
        bks = read_bks(path.parent).get(inst.name)
        results.append(routing_result(inst.name, bs, cost, bks))
    return results
