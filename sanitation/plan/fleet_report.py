"""The fleet report of a routed plan: per station and vehicle type, trucks needed (the peak day's
distinct vehicles used), owned (the scenario's, through the station's depots) and working (after
the moves, or the smallest fleet of ``policy.fleet: minimise``), with county totals.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sanitation.plan.fleet import FleetPlan
from sanitation.plan.model import (
    DayOut,
    FleetOut,
    FleetRowOut,
    FleetSearchOut,
    FleetShortfallOut,
)
from sanitation.plan.transfer_day import truck_type
from sanitation.scenario.model import Scenario

_Key = tuple[str, str]  # (station id, type id)


def used_per_day(days: Sequence[DayOut]) -> dict[_Key, dict[dt.date, int]]:
    """(station, type) → date → distinct trucks used (collection routes and hook-lift days)."""
    used: dict[_Key, dict[dt.date, set[str]]] = defaultdict(lambda: defaultdict(set))
    for day in days:
        for route in day.routes:
            used[(route.station_id, route.vehicle_type)][day.date].add(route.vehicle_id)
        for truck in day.transfer_trucks:
            used[(truck.home_station, truck_type(truck.truck_id))][day.date].add(truck.truck_id)
    return {key: {d: len(v) for d, v in by_day.items()} for key, by_day in used.items()}


def fleet_report(
    scenario: Scenario,
    fleet: FleetPlan,
    days: Sequence[DayOut],
    *,
    search: FleetSearchOut | None = None,
) -> FleetOut:
    """The `FleetOut` of a plan (see the module docstring)."""
    roles = {v.type_id: v.role for v in scenario.vehicle_types}
    used = used_per_day(days)
    keys: set[_Key] = set(used)
    for station_id, counts in (*fleet.owned.items(), *fleet.counts.items()):
        keys.update((station_id, t) for t, n in counts.items() if n > 0)
    rows = []
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for station_id, type_id in sorted(keys):
        by_day = used.get((station_id, type_id), {})
        needed = max(by_day.values(), default=0)
        row = FleetRowOut(
            scope="station",
            station_id=station_id,
            type_id=type_id,
            role=roles[type_id],
            owned=fleet.owned.get(station_id, {}).get(type_id, 0),
            working=fleet.counts.get(station_id, {}).get(type_id, 0),
            needed=needed,
            peak_date=min((d for d, n in by_day.items() if n == needed), default=None)
            if needed
            else None,
            truck_days=sum(by_day.values()),
        )
        rows.append(row)
        total = totals[type_id]
        for index, value in enumerate((row.owned, row.working, row.needed, row.truck_days)):
            total[index] += value
    for type_id, (owned, working, needed, truck_days) in sorted(totals.items()):
        rows.append(
            FleetRowOut(
                scope="county",
                station_id="county",
                type_id=type_id,
                role=roles[type_id],
                owned=owned,
                working=working,
                needed=needed,
                peak_date=None,
                truck_days=truck_days,
            )
        )
    return FleetOut(
        policy=scenario.policy.fleet,
        rows=rows,
        moves=list(fleet.moves),
        shortfalls=[
            FleetShortfallOut(
                station_id=s.station_id,
                missing_types=list(s.missing_types),
                point_ids=list(s.point_ids),
            )
            for s in fleet.shortfalls
        ],
        search=search,
    )
