"""Fair weeks per truck (the week half of ``policy.balance_max_ratio``): which truck of a type
drives which of a station-day's routes.

Trucks of one type at one depot are interchangeable on a day, so the solver's vehicle numbers
carry no meaning from one day to the next: left alone, truck #1 drives a route every day and
#3 only on the busiest. With balance on and no territories, each station's routes of each type
are handed out day by day, longest first, to the truck of that type with the fewest hours so
far that week (longest processing time first, Graham 1969, "Bounds on multiprocessing timing
anomalies", SIAM J. Appl. Math. 17(2)). Only the numbers change: every route, its cost and the
day's plan stay as solved. Under territories each truck's week is its territory's, balanced
when the territories are built (`sanitation.territory`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping

from sanitation.plan.daily import StationDayResult
from sanitation.plan.model import DayOut
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import Route
from sanitation.verify.routing import check

Key = tuple[dt.date, str]


def week_truck_hours(days: Iterable[DayOut]) -> dict[str, dict[str, float]]:
    """Station → truck (``vehicle_id``) → working hours over the days (routes that serve a
    point; trucks that never work are absent)."""
    hours: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for day in days:
        for route in day.routes:
            if route.n_stops:
                hours[route.station_id][route.vehicle_id] += route.duration_s / 3600
    return {s: dict(t) for s, t in hours.items()}


def week_truck_ratio(days: Iterable[DayOut]) -> float:
    """The largest, over stations, of the longest ÷ shortest week of the station's trucks that
    worked (1.0 with fewer than two)."""
    worst = 1.0
    for trucks in week_truck_hours(days).values():
        hours = list(trucks.values())
        if len(hours) >= 2 and min(hours) > 0:
            worst = max(worst, max(hours) / min(hours))
    return worst


def _rota(days: list[tuple[int, list[Route]]]) -> dict[tuple[int, int], int]:
    """(day number, old vehicle index) → new index, for one station's routes of one type:
    ``days`` gives each day's truck count and routes in date order."""
    worked: dict[int, float] = defaultdict(float)
    new: dict[tuple[int, int], int] = {}
    for day, (count, routes) in enumerate(days):
        free = set(range(count))
        for route in sorted(routes, key=lambda r: (-r.duration_s, r.vehicle_index)):
            truck = min(free, key=lambda k: (worked[k], k))
            free.discard(truck)
            worked[truck] += route.duration_s
            new[(day, route.vehicle_index)] = truck
    return new


def balance_week(
    results: dict[Key, StationDayResult], problems: Mapping[Key, RoutingProblem]
) -> int:
    """Renumber each station's trucks per type over the week (module docstring); ``results``
    is updated in place, each renumbered day re-verified. Returns the routes that changed
    truck."""
    by_station: dict[str, list[Key]] = defaultdict(list)
    for key in sorted(results):
        by_station[key[1]].append(key)
    changed = 0
    for keys in by_station.values():
        type_ids = sorted({v.id for key in keys for v in problems[key].vehicle_types})
        new_index: dict[Key, dict[tuple[str, int], int]] = defaultdict(dict)
        for type_id in type_ids:
            days = []
            for key in keys:
                types = {v.id: v.count for v in problems[key].vehicle_types}
                of_type = [r for r in results[key].solution.routes if r.vehicle_type == type_id]
                days.append((types.get(type_id, 0), of_type))
            for (day, old), new in _rota(days).items():
                new_index[keys[day]][(type_id, old)] = new
        for key, index in new_index.items():
            solution = results[key].solution
            routes = tuple(
                dataclasses.replace(r, vehicle_index=index[(r.vehicle_type, r.vehicle_index)])
                for r in solution.routes
            )
            pairs = zip(routes, solution.routes, strict=True)
            moved = sum(a.vehicle_index != b.vehicle_index for a, b in pairs)
            if not moved:
                continue
            renumbered = dataclasses.replace(solution, routes=routes)
            check(problems[key], renumbered)
            results[key] = dataclasses.replace(results[key], solution=renumbered)
            changed += moved
    return changed
