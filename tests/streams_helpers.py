"""Station-day problems of a scenario's week as plain JSON (to compare the chain with main's)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from sanitation.plan.assign import week_schedule
from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import build_station_day
from sanitation.routing.problem import RoutingProblem
from sanitation.scenario.load import load_scenario


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # fields at their default are left out: a field added later compares equal while unused
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.default is dataclasses.MISSING or getattr(value, f.name) != f.default
        }
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def problem_json(problem: RoutingProblem) -> dict[str, Any]:
    """Every constructor field of a routing problem as JSON values."""
    return {
        "duration_s": [m.tolist() for m in problem.duration_s],
        "distance_m": [m.tolist() for m in problem.distance_m],
        "sites": _plain(problem.sites),
        "stops": _plain(problem.stops),
        "vehicle_types": _plain(problem.vehicle_types),
        "minimise_vehicles_first": problem.minimise_vehicles_first,
        "horizon_s": problem.horizon_s,
    }


def week_problems(scenario_path: Path, station_id: str, start: dt.date) -> str:
    """The week's schedule and station-day problems with every point at ``station_id`` and the
    station's depot fleet, as canonical JSON text."""
    scenario = load_scenario(scenario_path)
    ctx = PlanningContext.build(scenario)
    station_of = {p.point_id: station_id for p in scenario.points}
    schedule = week_schedule(ctx, start, station_of, seed=1)
    depots = {d.depot_id for d in scenario.depots if d.station_id == station_id}
    fleet = {f.type_id: f.count for f in scenario.fleet if f.depot_id in depots}
    days = []
    for k in range(7):
        day = start + dt.timedelta(days=k)
        due = schedule.due_on(day)
        problem = build_station_day(ctx, station_id, due, fleet)
        days.append({"date": day.isoformat(), "due_kg": due, "problem": problem_json(problem)})
    return json.dumps(days, sort_keys=True, ensure_ascii=False)
