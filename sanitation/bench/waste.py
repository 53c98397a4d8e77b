"""Waste collection VRPTW with disposal trips (Kim, Kim & Sahoo 2006 instances).

Rules (from the benchmark page, see the folder README): vehicles leave the depot empty within the
depot's window, collect stops within their time windows, dump at a landfill when full and before
returning to the depot (they end empty), may dump several times, take a one-hour lunch starting
between 11:00 and 12:00 (the break lies within 11:00-13:00), never exceed the vehicle capacity
between dumps, the daily volume per vehicle, or the stops per vehicle per day. Travel is the
Manhattan distance of the feet coordinates at the file's speed (40 mph); travel seconds are rounded
up, so a plan feasible here is feasible with exact times. Objective: vehicles first, then
distance; the reported ``cost`` is the distance in miles recomputed from the coordinates.
Loads are in hundredths of a cubic yard inside the solver (exact integers).
Routes list Stop_IDs in visiting order with every landfill visit (the last one too), depot left out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sanitation.bench._routing import solve_each
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop, VehicleType

DEFAULT_ENGINE = "pyvrp"
SUFFIXES = (".txt",)
FEET_PER_MILE = 5280.0
METRES_PER_FOOT = 0.3048
LOAD_SCALE = 100
LUNCH_WINDOW_S = (11 * 3600, 13 * 3600)


@dataclass(frozen=True, slots=True)
class KimInstance:
    """A parsed Kim et al. instance; ``kind`` 0 depot, 1 stop, 2 landfill."""

    name: str
    capacity_yd: float
    day_limit_yd: float
    max_stops: int
    lunch_s: int
    speed_mph: float
    ids: list[str]
    coords_ft: np.ndarray
    early_s: list[int]
    late_s: list[int]
    service_s: list[int]
    load_yd: list[float]
    kind: list[int]


def hhmm_to_s(text: str) -> int:
    """``"0700"`` / ``"700"`` -> 25200 seconds since midnight."""
    value = int(text)
    return (value // 100 * 60 + value % 100) * 60


def read_kim(path: Path) -> KimInstance:
    """Parse a Kim et al. (2006) instance file (five header lines, a column header, stop rows)."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    head = [ln.split("//")[0].strip() for ln in lines[:5]]
    rows = [ln.split() for ln in lines[6:]]
    rows = [r for r in rows if len(r) >= 8]
    if len(rows) < 3:
        msg = f"{path}: expected stop rows after the 6 header lines."
        raise ValueError(msg)
    kinds = [int(r[7]) for r in rows]
    if kinds.count(0) != 1 or 2 not in kinds:
        msg = f"{path}: expected exactly one depot (type 0) and at least one landfill (type 2)."
        raise ValueError(msg)
    return KimInstance(
        name=path.stem,
        capacity_yd=float(head[0]),
        day_limit_yd=float(head[1]),
        max_stops=int(float(head[2])),
        lunch_s=int(float(head[3])),
        speed_mph=float(head[4]),
        ids=[r[0] for r in rows],
        coords_ft=np.array([[float(r[1]), float(r[2])] for r in rows]),
        early_s=[hhmm_to_s(r[3]) for r in rows],
        late_s=[hhmm_to_s(r[4]) for r in rows],
        service_s=[int(float(r[5])) for r in rows],
        load_yd=[float(r[6]) for r in rows],
        kind=kinds,
    )


def manhattan_ft(coords: np.ndarray) -> np.ndarray:
    """Manhattan distances in feet (float)."""
    return np.abs(coords[:, None, :] - coords[None, :, :]).sum(-1)


def to_problem(inst: KimInstance, *, vehicles: int | None = None) -> RoutingProblem:
    """The instance as a `RoutingProblem` (distance in metres, times in seconds, loads x100).

    The instance's rules limit each truck (capacity, yards per day, stops per day) but not the
    fleet, so by default the fleet never binds: one truck per stop is available, and the
    objective (vehicles first) decides how many are used.
    """
    ft = manhattan_ft(inst.coords_ft)
    distance_m = np.rint(ft * METRES_PER_FOOT).astype(np.int64)
    duration_s = np.ceil(ft / FEET_PER_MILE * 3600.0 / inst.speed_mph - 1e-9).astype(np.int64)
    depot = inst.kind.index(0)
    sites = [Site("depot", depot, inst.early_s[depot], inst.late_s[depot], 0)]
    landfills: list[str] = []
    for i, k in enumerate(inst.kind):
        if k == 2:
            sites.append(Site(inst.ids[i], i, inst.early_s[i], inst.late_s[i], inst.service_s[i]))
            landfills.append(inst.ids[i])
    stops = [
        Stop(
            inst.ids[i],
            i,
            round(inst.load_yd[i] * LOAD_SCALE),
            service_s=inst.service_s[i],
            tw_open_s=inst.early_s[i],
            tw_close_s=inst.late_s[i],
        )
        for i, k in enumerate(inst.kind)
        if k == 1
    ]
    day = round(inst.day_limit_yd * LOAD_SCALE)
    if vehicles is None:
        vehicles = len(stops)
    vt = VehicleType(
        "truck",
        count=vehicles,
        capacity_kg=round(inst.capacity_yd * LOAD_SCALE),
        depot="depot",
        unload_sites=tuple(landfills),
        shift_start_s=inst.early_s[depot],
        shift_end_s=inst.late_s[depot],
        lunch=Lunch(inst.lunch_s, *LUNCH_WINDOW_S),
        cost_cny_per_km=1.0,
        max_load_per_day_kg=day,
        max_stops=inst.max_stops,
    )
    return RoutingProblem(
        (duration_s,),
        (distance_m,),
        tuple(sites),
        tuple(stops),
        (vt,),
        minimise_vehicles_first=True,
    )


def route_miles(inst: KimInstance, route_ids: list[str]) -> float:
    """Miles of depot -> ``route_ids`` -> depot from the coordinates (exact Manhattan)."""
    index = {sid: i for i, sid in enumerate(inst.ids)}
    depot = inst.kind.index(0)
    seq = [depot, *(index[s] for s in route_ids), depot]
    c = inst.coords_ft
    feet = sum(float(np.abs(c[a] - c[b]).sum()) for a, b in itertools.pairwise(seq))
    return feet / FEET_PER_MILE


def run(
    paths: list[Path], *, time_limit_s: float, engine: str | None, seed: int
) -> list[dict[str, Any]]:
    """Solve every instance; one result dict per instance (see `sanitation.bench`)."""
    results: list[dict[str, Any]] = []
    for _path, inst, bs in solve_each(
        paths,
        SUFFIXES,
        read_kim,
        to_problem,
        time_limit_s=time_limit_s,
        engine=engine or DEFAULT_ENGINE,
        seed=seed,
    ):
        routes = [[v.id for v in r.visits] for r in bs.solution.routes]
        miles = sum(route_miles(inst, r) for r in routes)
        lunches = [r.lunch_start_s for r in bs.solution.routes]
        results.append(
            {
                "instance": inst.name,
                "cost": round(miles, 2),
                "bks": None,
                "gap_pct": None,
                "seconds": round(bs.seconds, 2),
                "feasible": bs.feasible,
                "vehicles": len(routes),
                "miles": round(miles, 2),
                "lunch_starts_s": lunches,
                "unserved": len(bs.solution.unserved),
                "violations": bs.violations[:10],
                "routes": [[int(x) for x in r] for r in routes],
            }
        )
    return results
