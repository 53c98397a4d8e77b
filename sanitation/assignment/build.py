"""Build an `AssignmentProblem` from plain arrays: the collection-cost estimate lives here.

A pure function of numpy arrays so that the scenario layer (or anyone) can call it.

Collection-cost estimate (CNY/day) for point ``j`` served by station ``i``::

    trips_per_day = demand_kg[j] / truck_capacity_kg
    cost_per_trip = 2 * travel_s[j, i] / 3600 * truck_cost_cny_per_h
                  + 2 * distance_m[j, i] / 1000 * truck_cost_cny_per_km
    collection    = trips_per_day * cost_per_trip

i.e. the stem of a round trip station -> point -> station, paid once per truckload of the point's
waste (fractional trips: a truck that also serves the neighbouring points shares the stem, so
this is an amortised estimate that ranks stations by distance times tonnage; the routing step
prices the real tours). Then::

    transfer = demand_t[j] * transfer_cost_cny_per_t[i]   (station -> disposal haul)
    gate     = demand_t[j] * gate_fee_cny_per_t[i]         (disposal gate fee, may differ by site)

A pair is allowed when ``accessible[j, i]`` and ``travel_s <= max_travel_s`` and
``distance_m <= max_distance_m`` (limits optional).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sanitation.assignment.problem import AssignmentProblem, status_codes


def collection_cost_cny(
    demand_kg: np.ndarray,
    travel_s: np.ndarray,
    distance_m: np.ndarray,
    *,
    truck_capacity_kg: float,
    truck_cost_cny_per_h: float,
    truck_cost_cny_per_km: float,
) -> np.ndarray:
    """``(n, m)`` CNY/day estimate of collecting each point's demand into each station.

    See the module docstring for the formula.

    Raises
    ------
    ValueError
        If ``truck_capacity_kg`` is not positive or a cost rate is negative.
    """
    if not truck_capacity_kg > 0:
        msg = f"truck_capacity_kg must be > 0, got {truck_capacity_kg}."
        raise ValueError(msg)
    for name, value in (
        ("truck_cost_cny_per_h", truck_cost_cny_per_h),
        ("truck_cost_cny_per_km", truck_cost_cny_per_km),
    ):
        if not value >= 0:
            msg = f"{name} must be >= 0, got {value}."
            raise ValueError(msg)
    trips = np.asarray(demand_kg, dtype=float)[:, None] / float(truck_capacity_kg)
    per_trip = (
        2.0 * np.asarray(travel_s, dtype=float) / 3600.0 * truck_cost_cny_per_h
        + 2.0 * np.asarray(distance_m, dtype=float) / 1000.0 * truck_cost_cny_per_km
    )
    return trips * per_trip


def build_problem(
    *,
    point_ids: Sequence[str],
    station_ids: Sequence[str],
    demand_kg: np.ndarray,
    capacity_kg: np.ndarray,
    fixed_cost_cny: np.ndarray,
    travel_s: np.ndarray,
    distance_m: np.ndarray,
    truck_capacity_kg: float,
    truck_cost_cny_per_h: float,
    truck_cost_cny_per_km: float,
    transfer_cost_cny_per_t: np.ndarray | float = 0.0,
    gate_fee_cny_per_t: np.ndarray | float = 0.0,
    accessible: np.ndarray | None = None,
    max_travel_s: float | None = None,
    max_distance_m: float | None = None,
    status: Sequence[str] | np.ndarray | None = None,
    expansion_capacity_kg: np.ndarray | None = None,
    expansion_cost_cny: np.ndarray | None = None,
    expansion_max: np.ndarray | None = None,
    group: np.ndarray | None = None,
    township: np.ndarray | None = None,
    station_township: np.ndarray | None = None,
    township_penalty_cny_per_t: float = 0.0,
    keep_groups_together: bool = False,
) -> AssignmentProblem:
    """An `AssignmentProblem` with costs estimated from travel matrices.

    Parameters
    ----------
    demand_kg
        ``(n,)`` kg/day per point, peak factor included (rounded to integers here).
    capacity_kg, fixed_cost_cny
        ``(m,)`` station capacity kg/day and fixed (amortised) cost CNY/day.
    travel_s, distance_m
        ``(n, m)`` one-way travel time (s) and distance (m) point -> station.
    truck_capacity_kg, truck_cost_cny_per_h, truck_cost_cny_per_km
        The collection truck: payload kg, cost per hour driven and per km driven.
    transfer_cost_cny_per_t, gate_fee_cny_per_t
        Scalar or ``(m,)``: CNY per tonne hauled from the station to disposal, and the gate fee.
    accessible
        ``(n, m)`` bool, True when some allowed vehicle class can drive point <-> station.
    max_travel_s, max_distance_m
        Optional limits on the one-way point -> station trip.
    status
        ``(m,)`` names (``free`` / ``forced_open`` / ``forced_closed``) or codes.

    Returns
    -------
    AssignmentProblem
        Single-source, validated.

    Raises
    ------
    ValueError
        If an array has the wrong shape or a value is out of range (message names the field).
    """
    demand = np.asarray(demand_kg, dtype=float)
    n, m = demand.shape[0], len(station_ids)
    travel = np.asarray(travel_s, dtype=float)
    distance = np.asarray(distance_m, dtype=float)
    for name, array in (("travel_s", travel), ("distance_m", distance)):
        if array.shape != (n, m):
            msg = f"{name} must have shape {(n, m)}, got {array.shape}."
            raise ValueError(msg)
        if not np.all(np.isfinite(array)) or array.min(initial=0) < 0:
            msg = f"{name} must be finite and >= 0."
            raise ValueError(msg)
    collection = collection_cost_cny(
        demand,
        travel,
        distance,
        truck_capacity_kg=truck_capacity_kg,
        truck_cost_cny_per_h=truck_cost_cny_per_h,
        truck_cost_cny_per_km=truck_cost_cny_per_km,
    )
    tonnes = np.round(demand)[:, None] / 1000.0
    per_t = {}
    for name, value in (
        ("transfer_cost_cny_per_t", transfer_cost_cny_per_t),
        ("gate_fee_cny_per_t", gate_fee_cny_per_t),
    ):
        rate = np.broadcast_to(np.asarray(value, dtype=float), (m,))
        if not np.all(np.isfinite(rate)) or rate.min(initial=0) < 0:
            msg = f"{name} must be finite and >= 0."
            raise ValueError(msg)
        per_t[name] = tonnes * rate[None, :]
    allowed = np.ones((n, m), dtype=bool)
    if accessible is not None:
        accessible = np.asarray(accessible)
        if accessible.shape != (n, m):
            msg = f"accessible must have shape {(n, m)}, got {accessible.shape}."
            raise ValueError(msg)
        allowed &= accessible.astype(bool)
    if max_travel_s is not None:
        allowed &= travel <= max_travel_s
    if max_distance_m is not None:
        allowed &= distance <= max_distance_m
    return AssignmentProblem(
        point_ids=tuple(point_ids),
        station_ids=tuple(station_ids),
        demand_kg=np.round(demand).astype(np.int64),
        capacity_kg=capacity_kg,
        fixed_cost_cny=fixed_cost_cny,
        collection_cost_cny=collection,
        transfer_cost_cny=per_t["transfer_cost_cny_per_t"],
        gate_fee_cny=per_t["gate_fee_cny_per_t"],
        travel_s=np.round(travel).astype(np.int64),
        allowed=allowed,
        status=None if status is None else status_codes(status),
        expansion_capacity_kg=expansion_capacity_kg,
        expansion_cost_cny=expansion_cost_cny,
        expansion_max=expansion_max,
        group=group,
        township=township,
        station_township=station_township,
        township_penalty_cny_per_t=township_penalty_cny_per_t,
        single_source=True,
        keep_groups_together=keep_groups_together,
    )
