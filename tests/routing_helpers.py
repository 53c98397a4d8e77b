"""Tiny routing instances shared by the engine tests: points on a line, one truck type."""

from __future__ import annotations

import numpy as np

from sanitation.routing.problem import VehicleType

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
