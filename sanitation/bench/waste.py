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

`generate_kim` writes seeded synthetic instances with the same rules and file format (labelled
synthetic; the family is `GENERATED_FAMILY`, written by ``benchmarks/routing_tables.py``).
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


#: the generated family: (stops, landfills, seed); 100-400 stops, 3-8 landfills
GENERATED_FAMILY = (
    (100, 3, 1),
    (150, 4, 2),
    (200, 4, 3),
    (250, 5, 4),
    (300, 6, 5),
    (350, 7, 6),
    (400, 8, 7),
)
#: stop loads (yd) and service times (s) drawn by `generate_kim`, with weights: the most frequent
#: values of the published 102_stop and 277_stop files (their shares rounded; assumed otherwise)
GEN_LOADS_YD = ((3.0, 0.1), (4.0, 0.2), (6.0, 0.2), (8.0, 0.3), (12.0, 0.1), (16.0, 0.1))
GEN_SERVICE_S = ((25, 0.35), (30, 0.15), (60, 0.15), (120, 0.25), (180, 0.1))
#: stop time windows (HHMM) with weights, the kinds seen in the published files (shares assumed)
GEN_WINDOWS = (
    ("0000", "2400", 0.70),
    ("0700", "2400", 0.10),
    ("0000", "0700", 0.08),
    ("0000", "1100", 0.04),
    ("0800", "1400", 0.04),
    ("0700", "1200", 0.04),
)
#: landfill hours (HHMM), staggered, every one closing before the depot (15:00), so the last
#: disposal of the day binds; the first `n_landfills` are used (assumed; the 804_stop file's 19
#: landfills have different hours, the published files' landfills 0000-2400)
GEN_LANDFILL_HOURS = (
    ("0500", "1300"),
    ("0600", "1430"),
    ("0400", "1130"),
    ("0900", "1400"),
    ("0600", "1230"),
    ("0700", "1330"),
    ("0500", "1200"),
    ("1000", "1430"),
)


def generate_kim(
    n_stops: int,
    n_landfills: int,
    seed: int,
    *,
    capacity_yd: float = 120.0,
    day_limit_yd: float = 10_000.0,
    area_mi: float = 20.0,
) -> KimInstance:
    """A synthetic instance with the rules of the Kim et al. files (labelled ``synthetic``).

    Stops lie in neighbourhoods (about 25 stops each, Gaussian around uniform centres, standard
    deviation 0.3 mi) in a square of ``area_mi`` miles; the depot is near the centre; the
    landfills lie on a ring around the area (2-8 mi outside it) with the staggered hours of
    `GEN_LANDFILL_HOURS` and a 1,200-1,800 s unload. Depot hours 04:00-15:00, one-hour lunch
    in 11:00-13:00, 40 mph, at most 500 stops per truck, as in the 804_stop file; loads, service
    times and windows from `GEN_LOADS_YD`, `GEN_SERVICE_S`, `GEN_WINDOWS`. The default truck
    capacity (120 yd, against about 7 yd a stop) forces several disposal trips a day; the fleet
    is unbounded (`to_problem`). Every value here is assumed, chosen to resemble the files.
    """
    if not (1 <= n_stops <= 5000 and 1 <= n_landfills <= len(GEN_LANDFILL_HOURS)):
        msg = (
            f"n_stops must be in 1..5000 and n_landfills in 1..{len(GEN_LANDFILL_HOURS)}, "
            f"got n_stops={n_stops}, n_landfills={n_landfills}."
        )
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    side = area_mi * FEET_PER_MILE
    n_hoods = max(1, round(n_stops / 25))
    centres = rng.uniform(0.1 * side, 0.9 * side, size=(n_hoods, 2))
    picks = centres[rng.integers(0, n_hoods, size=n_stops)]
    stops_xy = np.clip(picks + rng.normal(0.0, 0.3 * FEET_PER_MILE, size=(n_stops, 2)), 0, side)
    depot_xy = np.array([[side / 2, side / 2]]) + rng.normal(0.0, 0.05 * side, size=(1, 2))
    angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n_landfills) / n_landfills
    radius = side / 2 + rng.uniform(2, 8, size=n_landfills) * FEET_PER_MILE
    lf_xy = side / 2 + np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    coords = np.round(np.vstack([depot_xy, lf_xy, stops_xy]), 0)

    def draw(table: tuple[tuple[Any, ...], ...]) -> list[tuple[Any, ...]]:
        weights = np.array([row[-1] for row in table], dtype=float)
        idx = rng.choice(len(table), size=n_stops, p=weights / weights.sum())
        return [table[i] for i in idx]

    loads = [row[0] for row in draw(GEN_LOADS_YD)]
    services = [row[0] for row in draw(GEN_SERVICE_S)]
    windows = [row[:2] for row in draw(GEN_WINDOWS)]
    hours = GEN_LANDFILL_HOURS[:n_landfills]
    unload = [int(x) for x in rng.integers(20, 31, size=n_landfills) * 60]
    return KimInstance(
        name=f"synthetic-{n_stops + n_landfills + 1}_stop-l{n_landfills}-s{seed}",
        capacity_yd=capacity_yd,
        day_limit_yd=day_limit_yd,
        max_stops=500,
        lunch_s=3600,
        speed_mph=40.0,
        ids=[str(i) for i in range(len(coords))],
        coords_ft=coords,
        early_s=[hhmm_to_s("0400")]
        + [hhmm_to_s(o) for o, _ in hours]
        + [hhmm_to_s(o) for o, _ in windows],
        late_s=[hhmm_to_s("1500")]
        + [hhmm_to_s(c) for _, c in hours]
        + [hhmm_to_s(c) for _, c in windows],
        service_s=[0, *unload, *services],
        load_yd=[9999.0] * (1 + n_landfills) + loads,
        kind=[0] + [2] * n_landfills + [1] * n_stops,
    )


def s_to_hhmm(seconds: int) -> str:
    """25200 -> ``"0700"`` (seconds since midnight, whole minutes)."""
    minutes = seconds // 60
    return f"{minutes // 60:02d}{minutes % 60:02d}"


def write_kim(inst: KimInstance, path: Path) -> Path:
    """Write ``inst`` in the Kim et al. file format (readable by `read_kim`)."""
    lines = [
        f"{inst.capacity_yd:.1f}\t\t\t\t// vehicle capacity (yards), real number",
        f"{inst.day_limit_yd:.1f}\t\t\t\t// total yardage allowed for a vehicle per day, "
        "real number",
        f"{inst.max_stops}\t\t\t\t// total number of regular stops for a vehicle allowed per day",
        f"{inst.lunch_s}\t\t\t\t// lunch time duration in second, lunch time should start "
        "between 11:00am and 12:00 pm",
        f"{inst.speed_mph:g}\t\t\t\t// speed: MPH",
        "Stop_ID\tX(feet)\tY(feet)\tEarly_St_Time (HHMM)\tLate_St_Time (HHMM)\t"
        'Svice_Time(Sec)\tLoad (Yards)\t"Stop_Type(0: Depot, 1: regular stop, 2: Landfill)"',
    ]
    for i, sid in enumerate(inst.ids):
        x, y = inst.coords_ft[i]
        lines.append(
            f"{sid}   {x:.2f}   {y:.2f}  {s_to_hhmm(inst.early_s[i])} "
            f"{s_to_hhmm(inst.late_s[i])} {inst.service_s[i]}  {inst.load_yd[i]:.2f} "
            f"{inst.kind[i]}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


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
