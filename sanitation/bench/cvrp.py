"""CVRPLIB (VRPLIB format) capacitated VRP benchmark: rounded Euclidean distances (EUC_2D).

Each instance becomes a `RoutingProblem` with one vehicle type (fleet as large as the number of
customers, one trip each: ``max_trips=1``), unloading at the depot, cost 1 per distance unit, so the
route cost is the CVRPLIB objective. Routes are reported in the file's node ids (depot left out).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sanitation.bench._routing import routing_result, solve_each
from sanitation.bench._vrplib import integer, read_euc_2d
from sanitation.routing.problem import RoutingProblem, Site, Stop, VehicleType

DEFAULT_ENGINE = "pyvrp"
SUFFIXES = (".vrp",)


@dataclass(frozen=True, slots=True)
class VrplibInstance:
    """A parsed VRPLIB CVRP instance (node ids as in the file, depot first in ``ids``)."""

    name: str
    capacity: int
    ids: list[int]
    coords: np.ndarray
    demands: list[int]
    depot_id: int


def read_vrplib(path: Path) -> VrplibInstance:
    """Parse a VRPLIB CVRP file with ``EDGE_WEIGHT_TYPE : EUC_2D`` (ValueError otherwise)."""
    nodes = read_euc_2d(path)
    return VrplibInstance(
        name=nodes.header.get("NAME", path.stem),
        capacity=integer(nodes.header, "CAPACITY"),
        ids=nodes.ids,
        coords=nodes.coords,
        demands=nodes.demand,
        depot_id=nodes.ids[0],
    )


def rounded_euclidean(coords: np.ndarray) -> np.ndarray:
    """TSPLIB EUC_2D: nearest-integer Euclidean distances."""
    diff = coords[:, None, :] - coords[None, :, :]
    return np.floor(np.sqrt((diff**2).sum(-1)) + 0.5).astype(np.int64)


def to_problem(inst: VrplibInstance) -> RoutingProblem:
    """The instance as a `RoutingProblem` (location i = ``inst.ids[i]``; cost 1 per unit)."""
    d = rounded_euclidean(inst.coords)
    stops = [Stop(str(inst.ids[i]), i, inst.demands[i]) for i in range(1, len(inst.ids))]
    horizon = int(d.sum()) + 1
    vt = VehicleType(
        "vehicle",
        count=len(stops),
        capacity_kg=inst.capacity,
        depot="depot",
        unload_sites=("depot",),
        shift_start_s=0,
        shift_end_s=horizon,
        cost_cny_per_km=1000.0,
        max_trips=1,
    )
    site = Site("depot", 0, 0, horizon, 0)
    return RoutingProblem((d,), (d,), (site,), tuple(stops), (vt,), horizon_s=horizon)


def read_bks(folder: Path) -> dict[str, float]:
    """BKS costs from ``bks.csv`` next to the instances (empty if absent)."""
    path = folder / "bks.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        return {row["instance"]: float(row["bks_cost"]) for row in csv.DictReader(fh)}


def run(
    paths: list[Path], *, time_limit_s: float, engine: str | None, seed: int
) -> list[dict[str, Any]]:
    """Solve every instance; one result dict per instance (see `sanitation.bench`)."""
    results: list[dict[str, Any]] = []
    for path, inst, bs in solve_each(
        paths,
        SUFFIXES,
        read_vrplib,
        to_problem,
        time_limit_s=time_limit_s,
        engine=engine or DEFAULT_ENGINE,
        seed=seed,
    ):
        cost = float(sum(r.distance_m for r in bs.solution.routes))
        bks = read_bks(path.parent).get(inst.name)
        results.append(routing_result(inst.name, bs, cost, bks))
    return results
