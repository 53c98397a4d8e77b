"""Multi-compartment collection benchmark: sorted streams with compartment trucks or one
dedicated fleet per stream, on a seeded synthetic family (no public set with best-known
solutions is available offline; see ``docs/streams.md``).

Instance files are JSON (`generate` writes them, `read` checks them): node 0 is the transfer
station (depot and unload site, accepting every stream), nodes 1..n collection points with a
demand in kg per stream. Each instance is solved twice with the same engine, seed and time limit:

- ``compartments``: one fleet of trucks whose body is split into one compartment per stream
  (capacities as in the file);
- ``dedicated``: one fleet per stream, each truck's whole body (same capacity) for its stream.

Costs are CNY of the routes (fixed + per km + per hour, as the file's vehicle states); there is
no best-known solution (``bks`` and ``gap_pct`` are null). The contract's ``cost``, ``feasible``
and ``routes`` are the compartment fleet's; ``fleets`` holds both side by side. A route lists
its visits: a stop as ``"<node>:<stream>"``, an unload at the station as ``"0"`` (the final one
included); the depot is left out at both ends.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from sanitation.bench import expand_paths, read_instance
from sanitation.bench._routing import BenchSolve, solve_and_verify
from sanitation.engines import DEFAULT_ENGINE
from sanitation.routing.problem import Compartment, RoutingProblem, Site, Stop, VehicleType

SUFFIXES = (".json",)
FORMAT = "sanitation-mcvrp/1"
STATION = "station"

#: the streams of a generated instance, by count (names as in issue 18)
STREAMS = {2: ("residual", "perishable"), 3: ("residual", "perishable", "recyclable")}
#: generator: kg per point and day by stream (uniform range) and share of points producing it;
#: rural collection points of a few households to a small village (assumed)
KG_RANGE = {"residual": (30, 150), "perishable": (20, 100), "recyclable": (5, 40)}
SHARE = {"residual": 1.0, "perishable": 0.7, "recyclable": 0.4}
#: generator: side of the square county patch (m), truck and day (all assumed)
SIDE_M = 10_000
VEHICLE = {
    "capacity_kg": 1500,  # a small compactor's payload (assumed)
    "fixed_cost_cny": 200.0,
    "cost_cny_per_km": 2.0,
    "cost_cny_per_h": 40.0,
    "speed_kmh": 30.0,
    "service_s": 60,
    "unload_s": 600,
    "shift_start_s": 6 * 3600,
    "shift_end_s": 16 * 3600,
}
#: physical bounds checked when reading a file
MAX_KG = 10_000
MAX_CAPACITY_KG = 50_000
SPEED_KMH = (5.0, 120.0)
MAX_COORD_M = 1_000_000


@dataclass(frozen=True, slots=True)
class McvrpInstance:
    """A read instance: node 0 the station; demands ``(node index, stream, kg)``."""

    name: str
    streams: tuple[str, ...]
    node_ids: list[int]
    xy_m: np.ndarray
    demands: list[tuple[int, str, int]]
    compartments_kg: dict[str, int]
    vehicle: dict[str, Any]


def generate(n_points: int, n_streams: int, seed: int) -> dict[str, Any]:
    """A seeded instance (JSON-able dict): points uniform in a ``SIDE_M`` square around the
    station, kg per stream from ``KG_RANGE`` for a ``SHARE`` of the points (every point has
    some waste), compartments split in proportion to the streams' totals (in 50 kg steps, each
    at least the largest single demand of its stream)."""
    if n_streams not in STREAMS:
        msg = f"n_streams: value {n_streams}; expected one of {sorted(STREAMS)}"
        raise ValueError(msg)
    if not 1 <= n_points <= 2000:
        msg = f"n_points: value {n_points}; expected 1 to 2000"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    streams = STREAMS[n_streams]
    xy = rng.uniform(0, SIDE_M, size=(n_points, 2))
    nodes = [{"id": 0, "x_m": SIDE_M / 2, "y_m": SIDE_M / 2}]
    nodes += [
        {"id": i + 1, "x_m": round(float(x), 1), "y_m": round(float(y), 1)}
        for i, (x, y) in enumerate(xy)
    ]
    demands = []
    for i in range(n_points):
        for stream in streams:
            if stream == "residual" or rng.random() < SHARE[stream]:
                lo, hi = KG_RANGE[stream]
                kg = int(rng.integers(lo, hi + 1))
                demands.append({"node": i + 1, "stream": stream, "kg": kg})
    cap = int(VEHICLE["capacity_kg"])
    compartments = _split(cap, streams, demands)
    return {
        "format": FORMAT,
        "name": f"mcvrp-n{n_points}-s{n_streams}-seed{seed}",
        "synthetic": True,
        "generator": {"points": n_points, "streams": n_streams, "seed": seed},
        "streams": list(streams),
        "nodes": nodes,
        "demands": demands,
        "vehicle": {**VEHICLE, "compartments_kg": compartments},
    }


def _split(cap: int, streams: tuple[str, ...], demands: list[dict[str, Any]]) -> dict[str, int]:
    """Compartment capacities summing to ``cap``: proportional to the totals, 50 kg steps."""
    total = {s: sum(d["kg"] for d in demands if d["stream"] == s) for s in streams}
    peak = {s: max([d["kg"] for d in demands if d["stream"] == s], default=0) for s in streams}
    grand = max(1, sum(total.values()))
    out = {
        s: max(50 * math.ceil(peak[s] / 50), 50 * int(cap * total[s] / grand / 50)) for s in streams
    }
    largest = max(streams, key=lambda s: out[s])
    out[largest] += cap - sum(out.values())
    return out


def write_family(
    out_dir: Path, sizes: tuple[int, ...], streams: tuple[int, ...], seed: int
) -> list[Path]:
    """Write one generated instance per (size, number of streams) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in sizes:
        for k in streams:
            inst = generate(n, k, seed)
            path = out_dir / f"{inst['name']}.json"
            path.write_text(json.dumps(inst, indent=1), encoding="utf-8")
            paths.append(path)
    return paths


def _number(obj: dict[str, Any], key: str, lo: float, hi: float, where: str) -> float:
    value = obj.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not lo <= value <= hi:
        msg = f"{where}: field {key!r}: value {value!r}; expected a number in [{lo:g}, {hi:g}]"
        raise ValueError(msg)
    return float(value)


def read(path: Path) -> McvrpInstance:
    """Parse and check an instance file (ValueError naming the record, field and value)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        msg = f"field 'format': expected {FORMAT!r}"
        raise ValueError(msg)
    streams = raw.get("streams")
    if (
        not isinstance(streams, list)
        or not streams
        or not all(isinstance(s, str) and s for s in streams)
    ):
        msg = "field 'streams': expected a list of stream names"
        raise ValueError(msg)
    nodes = raw.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        msg = "field 'nodes': expected a list of nodes, the station first"
        raise ValueError(msg)
    ids: list[int] = []
    xy: list[tuple[float, float]] = []
    for k, node in enumerate(nodes):
        where = f"nodes[{k}]"
        if not isinstance(node, dict) or not isinstance(node.get("id"), int):
            msg = f"{where}: field 'id': expected an integer"
            raise ValueError(msg)
        ids.append(node["id"])
        xy.append(
            (
                _number(node, "x_m", -MAX_COORD_M, MAX_COORD_M, where),
                _number(node, "y_m", -MAX_COORD_M, MAX_COORD_M, where),
            )
        )
    if len(set(ids)) != len(ids):
        msg = "field 'nodes': node ids are not unique"
        raise ValueError(msg)
    index = {nid: k for k, nid in enumerate(ids)}
    demands: list[tuple[int, str, int]] = []
    for k, d in enumerate(raw.get("demands") or []):
        where = f"demands[{k}]"
        if not isinstance(d, dict) or d.get("node") not in index or index[d["node"]] == 0:
            value = d.get("node") if isinstance(d, dict) else d
            msg = f"{where}: field 'node': value {value!r}; expected a point id"
            raise ValueError(msg)
        if d.get("stream") not in streams:
            msg = f"{where}: field 'stream': value {d.get('stream')!r}; expected one of {streams}"
            raise ValueError(msg)
        demands.append((index[d["node"]], d["stream"], int(_number(d, "kg", 0, MAX_KG, where))))
    vehicle = raw.get("vehicle")
    if not isinstance(vehicle, dict):
        msg = "field 'vehicle': expected an object"
        raise ValueError(msg)
    _check_vehicle(vehicle, streams)
    return McvrpInstance(
        name=str(raw.get("name") or path.stem),
        streams=tuple(streams),
        node_ids=ids,
        xy_m=np.asarray(xy, dtype=float),
        demands=demands,
        compartments_kg={s: int(vehicle["compartments_kg"][s]) for s in streams},
        vehicle=vehicle,
    )


def _check_vehicle(vehicle: dict[str, Any], streams: list[str]) -> None:
    cap = _number(vehicle, "capacity_kg", 1, MAX_CAPACITY_KG, "vehicle")
    _number(vehicle, "speed_kmh", *SPEED_KMH, "vehicle")
    for key in ("fixed_cost_cny", "cost_cny_per_km", "cost_cny_per_h"):
        _number(vehicle, key, 0, 1e6, "vehicle")
    for key in ("service_s", "unload_s"):
        _number(vehicle, key, 0, 7200, "vehicle")
    for key in ("shift_start_s", "shift_end_s"):
        _number(vehicle, key, 0, 86_400, "vehicle")
    comp = vehicle.get("compartments_kg")
    if not isinstance(comp, dict) or sorted(comp) != sorted(streams):
        msg = f"vehicle: field 'compartments_kg': expected one capacity per stream {streams}"
        raise ValueError(msg)
    for s in streams:
        _number(comp, s, 1, MAX_CAPACITY_KG, "vehicle.compartments_kg")
    if sum(comp.values()) != cap:
        msg = f"vehicle: field 'compartments_kg': sum {sum(comp.values())} != capacity_kg {cap:g}"
        raise ValueError(msg)


def to_problem(inst: McvrpInstance, *, dedicated: bool) -> RoutingProblem:
    """The instance with compartment trucks, or with one dedicated fleet per stream.

    Straight-line distances (m, rounded), durations at the vehicle's speed; each fleet has one
    truck per stop it may serve (the count cannot bind; fixed costs keep fleets small).
    """
    v = inst.vehicle
    diff = inst.xy_m[:, None, :] - inst.xy_m[None, :, :]
    dist = np.rint(np.sqrt((diff**2).sum(-1))).astype(np.int64)
    dur = np.rint(dist / (float(v["speed_kmh"]) / 3.6)).astype(np.int64)
    stops = [
        Stop(
            f"{inst.node_ids[node]}:{stream}",
            node,
            kg,
            service_s=int(v["service_s"]),
            stream=stream,
        )
        for node, stream, kg in inst.demands
    ]
    common: dict[str, Any] = {
        "depot": STATION,
        "unload_sites": (STATION,),
        "capacity_kg": int(v["capacity_kg"]),
        "shift_start_s": int(v["shift_start_s"]),
        "shift_end_s": int(v["shift_end_s"]),
        "fixed_cost_cny": float(v["fixed_cost_cny"]),
        "cost_cny_per_km": float(v["cost_cny_per_km"]),
        "cost_cny_per_h": float(v["cost_cny_per_h"]),
    }
    if dedicated:
        fleets = [
            VehicleType(
                f"dedicated:{s}",
                count=max(1, sum(1 for st in stops if st.stream == s)),
                compartments=(Compartment(s, int(v["capacity_kg"])),),
                **common,
            )
            for s in inst.streams
        ]
    else:
        comps = tuple(Compartment(s, inst.compartments_kg[s]) for s in inst.streams)
        fleets = [
            VehicleType("compartments", count=max(1, len(stops)), compartments=comps, **common)
        ]
    site = Site(STATION, 0, unload_s=int(v["unload_s"]))
    return RoutingProblem((dur,), (dist,), (site,), tuple(stops), tuple(fleets))


def _summary(bs: BenchSolve) -> dict[str, Any]:
    sol = bs.solution
    return {
        "cost_cny": round(sol.cost_cny, 2),
        "km": round(sol.distance_m / 1000.0, 3),
        "vehicles": sol.n_vehicles,
        "unserved": len(sol.unserved),
        "verified": not bs.violations,
        "seconds": round(bs.seconds, 2),
        "routes": [
            ["0" if visit.kind == "unload" else visit.id for visit in r.visits] for r in sol.routes
        ],
    }


def run(
    paths: list[Path], *, time_limit_s: float, engine: str | None, seed: int
) -> list[dict[str, Any]]:
    """Solve every instance with both fleets; one result per instance (see the module)."""
    results: list[dict[str, Any]] = []
    name_engine = engine or DEFAULT_ENGINE
    for path in expand_paths(paths, SUFFIXES):
        inst = read_instance(path, partial(read, path))
        fleets: dict[str, BenchSolve] = {}
        for label, dedicated in (("compartments", False), ("dedicated", True)):
            problem = read_instance(path, partial(to_problem, inst, dedicated=dedicated))
            fleets[label] = solve_and_verify(
                problem,
                time_limit_s=time_limit_s,
                engine=name_engine,
                seed=seed,
                name=f"{inst.name}/{label}",
            )
        main = fleets["compartments"]
        summaries = {label: _summary(bs) for label, bs in fleets.items()}
        results.append(
            {
                "instance": inst.name,
                "cost": summaries["compartments"]["cost_cny"],
                "bks": None,
                "gap_pct": None,
                "seconds": round(sum(bs.seconds for bs in fleets.values()), 2),
                "feasible": main.feasible,
                "routes": summaries["compartments"]["routes"],
                "fleets": summaries,
            }
        )
    return results
