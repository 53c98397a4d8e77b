"""Holmberg, Rönnqvist & Yuan (1999) p1-p71: single-source capacitated facility location.

Format: ``m n``; ``m`` lines ``capacity fixed_cost``; ``n`` demands; then the ``m x n`` cost
matrix facility-major (for facility i the cost of assigning each customer j). Optimal values
come from ``bks_optimal.csv`` (``instance,n_facilities,n_customers,optimal_value``) next to the
``instances`` folder.
"""

from __future__ import annotations

import csv
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from sanitation.assignment import AssignmentProblem
from sanitation.bench._facility import facility_result

DEFAULT_ENGINE = "racing"  # the facility benchmarks race on the clock (docs/assignment.md)


def read_holmberg(path: Path) -> AssignmentProblem:
    """Read one Holmberg instance as a single-source `AssignmentProblem`.

    Raises
    ------
    ValueError
        If the file does not hold exactly ``2 + 2m + n + m n`` numbers.
    """
    tokens = Path(path).read_text(encoding="ascii").split()
    m, n = int(tokens[0]), int(tokens[1])
    expected = 2 + 2 * m + n + m * n
    if len(tokens) != expected:
        msg = f"{path}: expected {expected} numbers for m={m}, n={n}, found {len(tokens)}."
        raise ValueError(msg)
    values = np.asarray(tokens[2:], dtype=float)
    facilities = values[: 2 * m].reshape(m, 2)
    demand = values[2 * m : 2 * m + n]
    cost = values[2 * m + n :].reshape(m, n).T
    return AssignmentProblem(
        point_ids=tuple(f"c{j + 1}" for j in range(n)),
        station_ids=tuple(f"f{i + 1}" for i in range(m)),
        demand_kg=demand,
        capacity_kg=facilities[:, 0],
        fixed_cost_cny=facilities[:, 1],
        collection_cost_cny=cost,
        travel_s=np.zeros((n, m), dtype=np.int64),
        allowed=np.ones((n, m), dtype=bool),
        single_source=True,
    )


def _optima(folder: Path) -> dict[str, float]:
    for parent in (folder, *folder.parents):
        table = parent / "bks_optimal.csv"
        if table.exists():
            with table.open(encoding="utf-8") as handle:
                return {
                    row["instance"]: float(row["optimal_value"]) for row in csv.DictReader(handle)
                }
    return {}


def _instance_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [p for p in path.rglob("*") if p.is_file() and p.suffix in ("", ".txt")]
            found = [p for p in found if p.name[:1].lower() == "p"]
            files.extend(sorted(found, key=lambda p: (len(p.stem), p.stem)))
        else:
            files.append(path)
    return files


def run(
    paths: list[Path], *, time_limit_s: float, engine: str | None, seed: int = 1
) -> list[dict[str, Any]]:
    """Solve each Holmberg file (folders searched for files named ``p*``); one result each.

    ``time_limit_s`` covers reading the file and solving.
    """
    return [
        facility_result(
            path.stem,
            partial(read_holmberg, path),
            path=path,
            bks=_optima(path.parent).get(path.stem),
            time_limit_s=time_limit_s,
            engine=engine or DEFAULT_ENGINE,
            seed=seed,
        )
        for path in _instance_files(list(paths))
    ]
