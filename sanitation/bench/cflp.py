"""OR-Library ``cap*`` instances (Beasley 1988): multi-source capacitated facility location.

Format: ``m n``; ``m`` lines ``capacity fixed_cost`` (capa/b/c have the literal word
``capacity``, replaced by a value from ``capopt.csv``); then per customer its demand and the ``m``
costs of serving all of its demand from each facility. Customers may split their demand.
Optimal values come from ``capopt.csv`` next to the ``instances`` folder (one row per problem:
``instance,data_file,capacity_override,optimal_value``).
"""

from __future__ import annotations

import csv
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from sanitation.assignment import AssignmentProblem
from sanitation.bench import expand_paths
from sanitation.bench._facility import facility_result

DEFAULT_ENGINE = "racing"  # the facility benchmarks race on the clock (docs/assignment.md)


def read_cap(path: Path, capacity: float | None = None) -> AssignmentProblem:
    """Read one OR-Library ``cap`` file as a multi-source `AssignmentProblem`.

    Parameters
    ----------
    path
        The instance file.
    capacity
        The value that replaces the word ``capacity`` (capa/b/c); ignored when numeric.

    Raises
    ------
    ValueError
        If the file is malformed or needs a capacity value that was not given.
    """
    tokens = Path(path).read_text(encoding="ascii").split()
    m, n = int(tokens[0]), int(tokens[1])
    expected = 2 + 2 * m + n * (1 + m)
    if len(tokens) != expected:
        msg = f"{path}: expected {expected} numbers for m={m}, n={n}, found {len(tokens)}."
        raise ValueError(msg)
    caps, fixed = [], []
    for i in range(m):
        word, fixed_text = tokens[2 + 2 * i], tokens[3 + 2 * i]
        if word.lower() == "capacity":
            if capacity is None:
                msg = f"{path}: facility capacities are the word 'capacity'; pass capacity=."
                raise ValueError(msg)
            caps.append(float(capacity))
        else:
            caps.append(float(word))
        fixed.append(float(fixed_text))
    body = np.asarray(tokens[2 + 2 * m :], dtype=float).reshape(n, 1 + m)
    demand, cost = body[:, 0], body[:, 1:]
    return AssignmentProblem(
        point_ids=tuple(f"c{j + 1}" for j in range(n)),
        station_ids=tuple(f"f{i + 1}" for i in range(m)),
        demand_kg=demand,
        capacity_kg=np.asarray(caps),
        fixed_cost_cny=np.asarray(fixed),
        collection_cost_cny=cost,
        travel_s=np.zeros((n, m), dtype=np.int64),
        allowed=np.ones((n, m), dtype=bool),
        single_source=False,
    )


_Optimum = tuple[str, float | None, float | None]  # (problem name, capacity override, optimum)


def _optima(folder: Path) -> dict[str, list[_Optimum]]:
    """file name -> [(problem name, capacity override, optimum)] from the nearest capopt.csv."""
    for parent in (folder, *folder.parents):
        table = parent / "capopt.csv"
        if table.exists():
            rows: dict[str, list[_Optimum]] = {}
            with table.open(encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    cap = row["capacity_override"].strip()
                    rows.setdefault(Path(row["data_file"]).name, []).append(
                        (row["instance"], float(cap) if cap else None, float(row["optimal_value"]))
                    )
            return rows
    return {}


def run(
    paths: list[Path], *, time_limit_s: float, engine: str | None, seed: int = 1
) -> list[dict[str, Any]]:
    """Solve each problem of the given ``cap`` files; one result per problem.

    ``time_limit_s`` covers reading the file and solving.

    A file with ``capacity`` words yields one problem per ``capopt.csv`` row naming it.
    """
    results = []
    for path in expand_paths(list(paths), (".txt",)):
        unknown: list[_Optimum] = [(path.stem, None, None)]
        optima = _optima(path.parent).get(path.name) or unknown
        for name, capacity, bks in optima:
            results.append(
                facility_result(
                    name,
                    partial(read_cap, path, capacity),
                    path=path,
                    bks=bks,
                    time_limit_s=time_limit_s,
                    engine=engine or DEFAULT_ENGINE,
                    seed=seed,
                )
            )
    return results
