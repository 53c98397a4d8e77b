"""Tiny routing instances shared by the engine tests: points on a line, one truck type; twelve
points in a square."""

from __future__ import annotations

import numpy as np

from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop, VehicleType

S_PER_KM = 60


def line_matrices(positions_km: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Travel matrices (s, m) of points on a line, 1 km per minute."""
    pos = np.asarray(positions_km, dtype=float)
    km = np.abs(pos[:, None] - pos[None, :])
    return (km * S_PER_KM).round().astype(np.int64), (km * 1000).round().astype(np.int64)


def truck(**kw: object) -> VehicleType:
    """A 100 kg truck based and unloading at site ``st``, 1 CNY/km; ``kw`` overrides fields."""
    base: dict[str, object] = {
        "id": "truck",
        "count": 1,
        "capacity_kg": 100,
        "depot": "st",
        "unload_sites": ("st",),
        "shift_start_s": 0,
        "shift_end_s": 20_000,
        "cost_cny_per_km": 1.0,
    }
    base.update(kw)
    return VehicleType(**base)  # type: ignore[arg-type]


def twelve_points(lunch: Lunch | None = None) -> RoutingProblem:
    """Twelve points in an 8 km square, three trucks, a station with a 5 min unload."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 8000, size=(13, 2))
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(-1)).astype(np.int64)
    dur = (dist // 8).astype(np.int64)  # about 30 km/h
    stops = [
        Stop(f"P{i}", i, int(rng.integers(100, 600)), service_s=120, priority=1 + i % 2)
        for i in range(1, 13)
    ]
    day = {"shift_start_s": 6 * 3600, "shift_end_s": 16 * 3600, "lunch": lunch}
    costs = {"fixed_cost_cny": 100.0, "cost_cny_per_km": 2.0, "cost_cny_per_h": 40.0}
    vt = truck(count=3, capacity_kg=1500, **day, **costs)
    return RoutingProblem(dur, dist, [Site("st", 0, unload_s=300)], stops, [vt])
