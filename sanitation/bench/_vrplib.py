"""The VRPLIB text format shared by the CVRP and VRPTW readers: ``KEY : value`` header lines,
then ``*_SECTION`` blocks of whitespace-separated rows, optionally ending with ``EOF``."""

from __future__ import annotations

from pathlib import Path


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
        node = int(row[0])
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
