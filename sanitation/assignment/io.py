"""``assignment.json``: the solved assignment for planners and the rest of the chain.

Units are stated in every field name: tonnes/day (``_t_per_day``), seconds, CNY/day.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from sanitation.assignment.problem import STATUS_NAMES, AssignmentProblem
from sanitation.assignment.solve import AssignmentSolution

SCHEMA_VERSION = 1


def assignment_dict(problem: AssignmentProblem, solution: AssignmentSolution) -> dict[str, Any]:
    """The JSON-ready document of a solution.

    Returns
    -------
    dict
        ``summary`` (objective, bound, optimality, solver, seconds, cost split in CNY/day),
        ``stations`` (every station: open, modules, load, capacity, utilisation) and ``points``
        (every point: its station, share when split, travel time).
    """
    cost = solution.cost
    summary = {
        "objective_cny_per_day": round(solution.objective, 2),
        "best_bound_cny_per_day": round(solution.best_bound, 2),
        "gap_pct": round(solution.gap_pct, 4),
        "proven_optimal": bool(solution.optimal),
        "solver": solution.solver,
        "seconds": round(solution.seconds, 3),
        "open_stations": int(solution.open.sum()),
        "total_demand_t_per_day": round(float(problem.demand_kg.sum()) / 1000.0, 3),
        "cost_cny_per_day": {
            "fixed": round(cost.fixed_cny, 2),
            "expansion": round(cost.expansion_cny, 2),
            "collection": round(cost.collection_cny, 2),
            "transfer": round(cost.transfer_cny, 2),
            "gate_fee": round(cost.gate_fee_cny, 2),
            "township_preference": round(cost.preference_cny, 2),
            "total": round(cost.total_cny, 2),
        },
    }
    stations = []
    for i, station in enumerate(problem.station_ids):
        stations.append(
            {
                "id": station,
                "status": STATUS_NAMES[int(problem.status[i])],
                "open": bool(solution.open[i]),
                "expansion_modules": int(solution.modules[i]),
                "capacity_t_per_day": round(float(solution.capacity_kg[i]) / 1000.0, 3),
                "load_t_per_day": round(float(solution.load_kg[i]) / 1000.0, 3),
                "utilisation": round(float(solution.utilisation[i]), 4),
                "points": int(np.count_nonzero(solution.shares[:, i] > 0)),
            }
        )
    points = []
    for j, point in enumerate(problem.point_ids):
        i = int(solution.station_of[j])
        record: dict[str, Any] = {
            "id": point,
            "station": problem.station_ids[i],
            "demand_t_per_day": round(float(problem.demand_kg[j]) / 1000.0, 3),
            "travel_s": int(solution.travel_s[j]),
        }
        if not problem.single_source:
            split = np.flatnonzero(solution.shares[j] > 0)
            record["shares"] = {
                problem.station_ids[int(k)]: round(float(solution.shares[j, k]), 6) for k in split
            }
        points.append(record)
    return {
        "schema_version": SCHEMA_VERSION,
        "units": {"mass": "t/day", "time": "s", "money": "CNY/day"},
        "summary": summary,
        "stations": stations,
        "points": points,
    }


def write_assignment(
    path: str | os.PathLike[str], problem: AssignmentProblem, solution: AssignmentSolution
) -> Path:
    """Write ``assignment.json`` atomically (temporary file in the same folder, then rename).

    Returns
    -------
    Path
        The written file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(assignment_dict(problem, solution), ensure_ascii=False, indent=1)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
