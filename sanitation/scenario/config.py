"""The scenario YAML: its keys, units and defaults (pydantic, unknown keys rejected).

A scenario may name ``base:`` (a path relative to itself) and give only the keys it changes;
mappings merge key by key, everything else replaces. ``overrides:`` then edits records of the
base's tables by id (``stations: {ST-01: {status: closed}}``). Every number has a stated
physical range (``gt``/``ge``/``le``, said in the error message), like the table columns in
`sanitation.scenario.specs`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Planning dates (the scenario's ``date``, seasons, ``--date``/``--week``) lie in this range.
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataFiles(_Strict):
    """Paths of the data tables, relative to the YAML file that names them."""

    townships: str
    villages: str
    points: str
    stations: str
    disposal_sites: str
    depots: str
    vehicle_types: str
    fleet: str
    # optional territory layer (point_id, truck_id): it overrides points.truck_id
    territories: str | None = None
    # sorted streams (``streams:``): a point's own rate, frequency and bin per stream
    point_streams: str | None = None
    # sorted streams: perishable-treatment facilities, recycling centres, hazardous stores
    facilities: str | None = None


class RoadsConfig(_Strict):
    """Road network source; ``max_snap_distance_m``: farthest a point may lie from a usable road."""

    source: Literal["lines", "osm", "synthetic"] = "lines"
    path: str | None = None
    max_snap_distance_m: float = Field(500.0, gt=0, le=100_000)
    closed_road_ids: list[str] = Field(default_factory=list)
    closed_areas: str | None = None


class AccessClassConfig(_Strict):
    """A vehicle access class (listed from the smallest truck to the largest)."""

    id: str
    min_road_width_m: float = Field(ge=0, le=100)
    gross_weight_t: float = Field(gt=0, le=1_000)


class SeasonalConfig(_Strict):
    """A waste multiplier over a date range, for some or all townships."""

    name: str
    start: dt.date = Field(ge=EARLIEST_DATE, le=LATEST_DATE)
    end: dt.date = Field(ge=EARLIEST_DATE, le=LATEST_DATE)
    multiplier: float = Field(gt=0, le=100)
    townships: list[str] = Field(default_factory=list)


STREAM_ID = r"[A-Za-z0-9_.\-]+"  # as record ids, without the stop-id separator ``@``
Frequency = Literal["daily", "every_2_days", "twice_weekly", "weekly"]


class StreamConfig(_Strict):
    """A sorted waste stream (分类收运). ``frequency``: its default collection frequency (None:
    daily for a perishable stream, GB/T 51435's at-least-daily rule for 易腐垃圾; else each
    point's own); ``share``: its part of each point's generation where ``point_streams`` gives
    no rate of the point's own; ``bin_capacity_t``: its default bin (None: the point's)."""

    id: str = Field(pattern=STREAM_ID, min_length=1, max_length=40)
    name_zh: str = Field(min_length=1, max_length=40)
    name_en: str = Field(min_length=1, max_length=60)
    perishable: bool = False
    frequency: Frequency | None = None
    share: float = Field(gt=0, le=1)
    bin_capacity_t: float | None = Field(None, gt=0, le=1_000)


class CostsConfig(_Strict):
    """Cost parameters (CNY)."""

    transfer_cost_cny_per_t_km: float = Field(0.6, ge=0, le=10_000)
    driver_cost_cny_per_hour: float = Field(35.0, ge=0, le=100_000)
    co2_kg_per_l_diesel: float = Field(2.68, ge=0, le=10)


class PolicyConfig(_Strict):
    """Assignment, siting and fleet policy (``fleet``: ``owned`` plans with the scenario's trucks,
    ``minimise`` also finds the smallest fleet per station and type that serves every point the
    owned fleet serves, `sanitation.plan.fleet_size`)."""

    max_point_station_travel_min: float = Field(60.0, gt=0, le=1_440)
    keep_villages_together: bool = False
    township_preference_cny_per_t: float = Field(0.0, ge=0, le=100_000)
    keep_existing_open: bool = True
    assignment: Literal["optimise", "fixed"] = "optimise"
    fleet: Literal["owned", "minimise"] = "owned"
    # how stations are chosen when there is a choice (candidates, or closable existing stations):
    # with real routes in the loop, or by the assignment's estimate alone (sanitation.plan.siting)
    siting: Literal["routed", "estimate"] = "routed"
    # 定人定车定线 (sanitation.territory): each point has one truck over the week; ``territory``
    # routes every truck only in its own territory, ``soft`` pays ``consistency_penalty_cny``
    # per point-visit by another truck of the station, ``none`` ignores territories
    consistency: Literal["none", "territory", "soft"] = "none"
    consistency_penalty_cny: float = Field(50.0, ge=0, le=10_000)  # assumed default
    # longest ÷ shortest working route (h) of a station-day; None = cost only
    balance_max_ratio: float | None = Field(None, ge=1.0, le=10.0)


class ScenarioConfig(_Strict):
    """The whole YAML document after ``base:`` merging."""

    name: str
    description: str = ""
    crs: str = "EPSG:4326"
    date: dt.date = Field(ge=EARLIEST_DATE, le=LATEST_DATE)
    boundary: str | None = None
    default_kg_per_person_day: float = Field(0.8, gt=0, le=10)
    data: DataFiles
    roads: RoadsConfig
    access_classes: list[AccessClassConfig] = Field(min_length=1)
    seasonal_multipliers: list[SeasonalConfig] = Field(default_factory=list)
    costs: CostsConfig = Field(default_factory=CostsConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    notes: list[str] = Field(default_factory=list)
    # sorted streams; none: the one stream of a county that does not sort
    streams: list[StreamConfig] = Field(default_factory=list, max_length=20)
    overrides: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
