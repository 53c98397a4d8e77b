"""VRPTW benchmark (Solomon text files and VRPLIB ``TYPE : VRPTW`` files such as the
Gehring–Homberger 1000-customer set), distance objective in the DIMACS / CVRPLIB convention.

Distances and travel times are Euclidean truncated to one decimal, ``floor(10 d) / 10``; inside
the solver every time and distance is multiplied by 10 so they stay exact integers (and the
route cost is ten times the published one: reported costs are divided back). Service must start
by the due date; the fleet is at most the file's vehicle number; cost = total distance.
Routes are reported by the CUST NO. column of a Solomon file and by the NODE_COORD_SECTION
numbers of a VRPLIB file (depot 1, customers from 2; CVRPLIB's ``.sol`` files number customers
from 1, one less); the depot is left out. ``SERVICE_TIME``
in a VRPLIB header applies to the clients, not the depot.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sanitation.bench._routing import routing_result, solve_each
from sanitation.bench._vrplib import integer, numbered, numbers, read_euc_2d
from sanitation.routing.problem import RoutingProblem, Site, Stop, VehicleType

DEFAULT_ENGINE = "pyvrp"
SUFFIXES = (".txt", ".vrp")
SCALE = 10


@dataclass(frozen=True, slots=True)
class VrptwInstance:
    """A parsed VRPTW file; row 0 is the depot."""

    name: str
    vehicles: int
    capacity: int
    ids: list[int]
    coords: np.ndarray
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]


def read_solomon(path: Path) -> VrptwInstance:
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
    return VrptwInstance(
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


def read_vrplib_vrptw(path: Path) -> VrptwInstance:
    """Parse a VRPLIB VRPTW file (EUC_2D, one depot, ``TIME_WINDOW_SECTION``)."""
    nodes = read_euc_2d(path)
    windows = {
        i: numbers(row, f"TIME_WINDOW_SECTION node {i}")
        for i, row in nodes.column("TIME_WINDOW_SECTION", 2).items()
    }
    service = {
        i: numbers(row, f"SERVICE_TIME_SECTION node {i}")[0]
        for i, row in numbered(
            nodes.sections.get("SERVICE_TIME_SECTION", []), "SERVICE_TIME_SECTION", 1
        ).items()
    }
    depot = nodes.ids[0]
    flat_service = numbers([nodes.header.get("SERVICE_TIME", "0")], "header SERVICE_TIME")[0]
    vehicles = integer(nodes.header, "VEHICLES") if "VEHICLES" in nodes.header else None
    return VrptwInstance(
        name=nodes.header.get("NAME", path.stem),
        vehicles=vehicles if vehicles is not None else len(nodes.ids) - 1,
        capacity=integer(nodes.header, "CAPACITY"),
        ids=nodes.ids,
        coords=nodes.coords,
        demand=nodes.demand,
        ready=[int(windows[i][0]) for i in nodes.ids],
        due=[int(windows[i][1]) for i in nodes.ids],
        service=[int(service.get(i, 0.0 if i == depot else flat_service)) for i in nodes.ids],
    )


def read_vrptw(path: Path) -> VrptwInstance:
    """A VRPLIB file (its first line is ``KEY : value``) or else a Solomon text file."""
    with path.open(encoding="utf-8") as fh:
        first = next((line for line in fh if line.strip()), "")
    if ":" in first:
        return read_vrplib_vrptw(path)
    return read_solomon(path)


def truncated_distances(coords: np.ndarray) -> np.ndarray:
    """``floor(10 * euclidean)`` as exact integers (DIMACS convention, x10)."""
    diff = coords[:, None, :] - coords[None, :, :]
    if np.all(coords == np.round(coords)):  # exact: integer square roots of integers
        squared = (SCALE * SCALE * (diff**2).sum(-1)).round().astype(np.int64)
        root = np.floor(np.sqrt(squared)).astype(np.int64)
        root -= root * root > squared  # float sqrt may round up across a square
        root += (root + 1) * (root + 1) <= squared
        return root
    return np.floor(SCALE * np.sqrt((diff**2).sum(-1))).astype(np.int64)


def to_problem(inst: VrptwInstance) -> RoutingProblem:
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
        read_vrptw,
        to_problem,
        time_limit_s=time_limit_s,
        engine=engine or DEFAULT_ENGINE,
        seed=seed,
    ):
        cost = round(sum(r.distance_m for r in bs.solution.routes) / SCALE, 1)
        bks = read_bks(path.parent).get(inst.name)
        results.append(routing_result(inst.name, bs, cost, bks))
    return results
