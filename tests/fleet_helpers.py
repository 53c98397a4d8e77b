"""Small generated counties for the fleet tests: tables edited in place, a fixed assignment."""

from __future__ import annotations

import concurrent.futures as cf
import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from geo.crs import haversine_m
from sanitation.plan import plan_days
from sanitation.scenario.generate import generate_county

DAY = dt.date(2026, 11, 27)


def edit_table(path: Path, edit: Callable[[dict[str, str]], None], *, add: str = "") -> None:
    """Rewrite a CSV table, ``edit`` changing each row in place (``add``: a new column)."""
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0]) + ([add] if add and add not in rows[0] else [])
    for row in rows:
        if add:
            row.setdefault(add, "")
        edit(row)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def fixed_county(out: Path, *, n_points: int = 36, n_stations: int = 3, seed: int = 5) -> Path:
    """A generated county, every point daily and fixed to its nearest station (candidates
    included, opened: ``existing``), the scenario YAML returned."""
    path = generate_county(out, n_points=n_points, n_stations=n_stations, seed=seed)
    data = out / "data"
    with (data / "stations.csv").open(encoding="utf-8") as handle:
        stations = [
            (s["station_id"], float(s["lon"]), float(s["lat"])) for s in csv.DictReader(handle)
        ]

    def point(row: dict[str, str]) -> None:
        lon, lat = float(row["lon"]), float(row["lat"])
        row["station_id"] = min(stations, key=lambda s: float(haversine_m(lon, lat, s[1], s[2])))[0]
        row["frequency"] = "daily"

    edit_table(data / "points.csv", point, add="station_id")
    edit_table(data / "stations.csv", lambda row: row.update(status="existing"))
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["policy"] = {"assignment": "fixed"}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def set_fleet(data: Path, counts: dict[tuple[str, str], int]) -> None:
    """Fleet counts by (station id, type id); other entries unchanged."""

    def edit(row: dict[str, str]) -> None:
        key = (row["depot_id"].removeprefix("D-"), row["type_id"])
        if key in counts:
            row["count"] = str(counts[key])

    edit_table(data / "fleet.csv", edit)


def plan(scenario: Any, **kwargs: Any) -> Any:
    """A plan of ``dates`` (default: `DAY`) with PyVRP in this process (short limit, seeded)."""
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        return plan_days(
            scenario,
            kwargs.pop("dates", [DAY]),
            engine="pyvrp",
            time_limit_s=kwargs.pop("time_limit_s", 2),
            executor=pool,
            workers=1,
            **kwargs,
        )
