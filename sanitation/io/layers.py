"""Scenario records as GeoDataFrames (EPSG:4326), one per layer, for GeoPackage and maps.

Every layer keeps the ``synthetic`` column so nothing generated is mistaken for real data.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import geopandas as gpd
from shapely.geometry import Point

from sanitation.scenario.model import Scenario


def _frame(records: tuple[Any, ...], lon: str = "lon", lat: str = "lat") -> gpd.GeoDataFrame:
    rows = [dataclasses.asdict(r) for r in records]
    geometry = [Point(row[lon], row[lat]) for row in rows]
    return gpd.GeoDataFrame(rows, geometry=geometry, crs="EPSG:4326")


def scenario_layers(scenario: Scenario) -> dict[str, gpd.GeoDataFrame]:
    """Layers ``townships``, ``villages``, ``points``, ``stations``, ``disposal_sites``, ``depots``.

    Times of day are seconds after midnight (``_s``); waste in t/day; capacities in t/day.
    """
    township_of = scenario.township_of_point()
    points = _frame(scenario.points)
    points["township_code"] = points["point_id"].map(township_of)
    return {
        "townships": _frame(scenario.townships, "seat_lon", "seat_lat"),
        "villages": _frame(scenario.villages),
        "points": points,
        "stations": _frame(scenario.stations),
        "disposal_sites": _frame(scenario.disposal_sites),
        "depots": _frame(scenario.depots),
    }
