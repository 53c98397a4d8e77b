"""The VRPLIB text format shared by the CVRP and VRPTW readers: ``KEY : value`` header lines,
then ``*_SECTION`` blocks of whitespace-separated rows, optionally ending with ``EOF``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


def read_sections(path: Path) -> tuple[dict[str, str], dict[str, list[list[str]]]]:
    """The header (keys upper-cased) and each section's rows (split on whitespace).

    Raises
    ------
    ValueError
        A row before any section that is not a ``KEY : value`` line.
    """
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    section: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if line.endswith("_SECTION"):
            section = line.upper()
            sections.setdefault(section, [])
            continue
        if section is None:
            key, colon, value = line.partition(":")
            if not colon:
                msg = f"line {number}: {line[:60]!r} is neither 'KEY : value' nor a section"
                raise ValueError(msg)
            header[key.strip().upper()] = value.strip()
            continue
        sections[section].append(line.split())
    return header, sections


def integer(header: dict[str, str], key: str) -> int:
    """The header's ``key`` as an integer (ValueError naming the key and value)."""
    if key not in header:
        msg = f"header {key} missing"
        raise ValueError(msg)
    try:
        return int(header[key])
    except ValueError:
        msg = f"header {key}: {header[key]!r} is not an integer"
        raise ValueError(msg) from None


def numbers(values: list[str], where: str) -> list[float]:
    """``values`` as numbers (ValueError naming ``where`` and the value)."""
    try:
        return [float(v) for v in values]
    except ValueError:
        msg = f"{where}: {' '.join(values)!r} is not numeric"
        raise ValueError(msg) from None


def numbered(rows: list[list[str]], section: str, width: int) -> dict[int, list[str]]:
    """``{node id: the row's other fields}`` of a section whose rows are ``id v1 .. v<width>``.

    Raises
    ------
    ValueError
        A row of another width, or a node id given twice.
    """
    out: dict[int, list[str]] = {}
    for row in rows:
        if len(row) != width + 1:
            msg = f"{section}: row {' '.join(row)!r} has {len(row)} fields, expected {width + 1}"
            raise ValueError(msg)
        node = int(numbers(row[:1], section)[0])
        if node in out:
            msg = f"{section}: node {node} given twice"
            raise ValueError(msg)
        out[node] = row[1:]
    return out


def depot_ids(rows: list[list[str]]) -> list[int]:
    """The DEPOT_SECTION's node ids (the list ends at ``-1``)."""
    ids: list[int] = []
    for row in rows:
        for field in row:
            if int(field) < 0:
                return ids
            ids.append(int(field))
    return ids


@dataclass(frozen=True, slots=True)
class Nodes:
    """A VRPLIB file's header, sections and nodes (``ids`` as in the file, depot first)."""

    header: dict[str, str]
    sections: dict[str, list[list[str]]]
    ids: list[int]
    coords: np.ndarray
    demand: list[int]

    def column(self, section: str, width: int) -> dict[int, list[str]]:
        """A further section by node id, every node given (ValueError otherwise)."""
        rows = numbered(self.sections.get(section, []), section, width)
        if set(rows) != set(self.ids):
            msg = f"{section}: expected nodes 1..{len(self.ids)}, got {len(rows)} rows"
            raise ValueError(msg)
        return rows


def read_euc_2d(path: Path) -> Nodes:
    """A VRPLIB file with ``EDGE_WEIGHT_TYPE : EUC_2D``: nodes 1..DIMENSION, their coordinates and
    demands, one depot (ValueError otherwise)."""
    header, sections = read_sections(path)
    if header.get("EDGE_WEIGHT_TYPE", "EUC_2D") != "EUC_2D":
        msg = f"EDGE_WEIGHT_TYPE {header['EDGE_WEIGHT_TYPE']!r} not supported (EUC_2D)"
        raise ValueError(msg)
    dimension = integer(header, "DIMENSION")
    nodes = set(range(1, dimension + 1))
    coords = numbered(sections.get("NODE_COORD_SECTION", []), "NODE_COORD_SECTION", 2)
    demand = numbered(sections.get("DEMAND_SECTION", []), "DEMAND_SECTION", 1)
    for section, rows in (("NODE_COORD_SECTION", coords), ("DEMAND_SECTION", demand)):
        if set(rows) != nodes:
            msg = f"{section}: expected nodes 1..{dimension}, got {len(rows)} rows"
            raise ValueError(msg)
    depots = depot_ids(sections.get("DEPOT_SECTION", []))
    if len(depots) != 1 or depots[0] not in nodes:
        msg = f"DEPOT_SECTION: expected one depot among the nodes, got {depots}"
        raise ValueError(msg)
    ids = [depots[0], *sorted(nodes - {depots[0]})]
    return Nodes(
        header,
        sections,
        ids,
        np.array([numbers(coords[i], f"NODE_COORD_SECTION node {i}") for i in ids]),
        [int(numbers(demand[i], f"DEMAND_SECTION node {i}")[0]) for i in ids],
    )
