"""Request and response models of the API (``XCreate`` in, ``XPublic`` out).

Units: mass in tonnes (``_t``) or kilograms (``_kg``); times of day in seconds after midnight
(``_s``) with an ``HH:MM`` copy; durations in seconds (``_s``); distances in metres (``_m``) or
kilometres (``_km``); money in CNY (``_cny``); coordinates WGS-84 longitude/latitude in degrees.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    model_validator,
)

# sorted-stream fields are left out while empty (``_empty``): a county that does not sort is
# answered as before streams
from sanitation.plan.model import KpiRow, RouteOut, UnservedOut, _empty

Engine = Literal["portfolio", "pyvrp", "ortools"]
MAX_ID = 2**31 - 1


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


UtcTime = Annotated[dt.datetime, AfterValidator(_utc)]
JobState = Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]


def _bad_value(value: Any, path: str) -> str | None:
    """The first text that is not valid Unicode or number that is not finite, named by path."""
    if isinstance(value, str):
        if any(0xD800 <= ord(c) < 0xE000 for c in value):
            return f"{path}: text is not valid Unicode (unpaired surrogate)"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return f"{path}: value {value}; expected a finite number"
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found = _bad_value(key, where) or _bad_value(item, where)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _bad_value(item, f"{path}[{index}]")
            if found:
                return found
    return None


class _In(BaseModel):
    """Request bodies: unknown keys, text that is not valid Unicode and numbers that are not
    finite (NaN, Infinity: JSON extensions Python's parser accepts) are refused, named by path."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _valid_values(cls, data: Any) -> Any:
        checked = data
        if isinstance(data, dict):  # a float field itself: pydantic refuses it with its loc
            checked = {k: v for k, v in data.items() if not isinstance(v, float)}
        found = _bad_value(checked, "")
        if found:
            raise ValueError(found)
        return data


class ErrorPublic(BaseModel):
    """Every 4xx answer: ``detail`` names the field; ``problems``/``causes`` list the rest."""

    detail: Any = Field(description="message naming the field, or FastAPI's list of field errors")
    problems: list[str] | None = Field(default=None, description="every input problem found")
    causes: list[str] | None = Field(default=None, description="binding constraints (infeasible)")


class HealthPublic(BaseModel):
    """Service health (no key needed)."""

    status: Literal["ok"]
    database: str = Field(description="database dialect in use")
    workers: int = Field(description="plan worker processes")
    version: str


# -- scenarios ---------------------------------------------------------------------------------
class ScenarioJsonCreate(_In):
    """A scenario as JSON: the YAML text and its data files (paths relative to the YAML)."""

    name: str | None = Field(default=None, max_length=200, description="display name")
    yaml: str = Field(min_length=1, max_length=1_000_000, description="the scenario YAML text")
    files: dict[str, str] = Field(
        default_factory=dict, description="text data files (CSV, GeoJSON) by relative path"
    )
    files_base64: dict[str, str] = Field(
        default_factory=dict, description="binary data files (XLSX, GPKG, PBF), base64"
    )


class WhatIfCreate(_In):
    """A what-if derived from a stored scenario: only what changes (see README "What-ifs")."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    date: dt.date | None = Field(default=None, description="plan date of the what-if")
    overrides: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict,
        description="edits by table, record id and column, e.g. "
        '{"stations": {"S1": {"status": "closed"}}}; values in the column\'s unit',
    )
    closed_road_ids: list[str] = Field(
        default_factory=list, description="road ids closed in addition to the parent's"
    )
    seasonal_multipliers: list[dict[str, Any]] | None = Field(
        default=None, description="replaces the parent's list (name, start, end, multiplier)"
    )
    policy: dict[str, Any] | None = Field(default=None, description="policy keys that change")
    costs: dict[str, Any] | None = Field(default=None, description="cost keys that change, CNY")


class TownshipRef(BaseModel):
    """A township: code and name."""

    code: str
    name: str


class StationRef(BaseModel):
    """A transfer station of a scenario."""

    station_id: str
    name: str
    status: str = Field(description="existing / candidate / closed")


class ScenarioPublic(BaseModel):
    """A stored scenario."""

    id: int
    name: str
    description: str
    kind: Literal["upload", "whatif"] = Field(description="uploaded, or derived with overrides")
    parent_id: int | None
    plan_date: dt.date
    created_at: UtcTime
    townships: list[TownshipRef]
    stations: list[StationRef]
    n_villages: int
    n_points: int
    n_vehicles: int = Field(description="collection and transfer trucks in the fleet")
    waste_t_per_day: float = Field(description="generation before seasonal factors, t/day")
    closed_road_ids: list[str]
    notes: list[str]


# -- plans and jobs ----------------------------------------------------------------------------
class PlanCreate(_In):
    """Start a plan job for one day (``date``), a week (``week``) or the scenario's date."""

    date: dt.date | None = Field(default=None, description="plan this day")
    week: dt.date | None = Field(default=None, description="plan seven days from this day")
    engine: Engine = "portfolio"
    time_limit_s: float = Field(default=30.0, ge=1, le=3600, description="routing budget, s")
    seed: int = Field(default=1, ge=0, le=2**31 - 1)
    use_incidents: bool = Field(
        default=True,
        description="plan with the scenario's open incidents (closures, urgent visits)",
    )


class JobAccepted(BaseModel):
    """A queued plan job."""

    job_id: int
    plan_id: int
    state: JobState
    status_url: str


class JobPublic(BaseModel):
    """A plan job: state and progress (``stage``: network, assignment, routing, transfer,
    outputs; ``done``/``total`` within the stage)."""

    id: int
    plan_id: int
    state: JobState
    stage: str
    detail: str
    done: int
    total: int
    attempts: int = Field(description="times a worker started the job")
    interruptions: int = Field(description="service restarts while the job was running")
    error: str | None = Field(description="why the job failed or was interrupted")
    problems: list[str]
    created_at: UtcTime
    started_at: UtcTime | None
    finished_at: UtcTime | None


class IncidentUse(BaseModel):
    """An incident a plan took into account."""

    id: int
    kind: str
    point_id: str | None
    road_ids: list[str]


class PlanPublic(BaseModel):
    """A plan: request, status, county KPIs and the files that can be downloaded."""

    id: int
    scenario_id: int
    status: JobState
    dates: list[dt.date]
    engine: str
    time_limit_s: float = Field(description="routing budget, s")
    seed: int
    incidents_used: list[IncidentUse]
    county_kpis: dict[str, Any] = Field(description="county KpiRow (units in field names)")
    error: str | None
    problems: list[str]
    files: list[str] = Field(description="names for GET /plans/{id}/files/{name}")
    created_at: UtcTime
    finished_at: UtcTime | None
    root_plan_id: int | None = Field(
        default=None, description="a re-planned version: the plan it is a version of"
    )
    version: int = Field(default=0, description="0: as planned; n: the n-th re-plan")
    parent_plan_id: int | None = Field(
        default=None,
        description="a re-planned version: the plan id of the version it was re-planned from",
    )
    based_on_version: int | None = Field(
        default=None, description="a re-planned version: the number of that version"
    )


class StreamRef(BaseModel):
    """A sorted waste stream (分类) of the scenario: its id and names."""

    id: str
    name_zh: str
    name_en: str


class RoutesPublic(BaseModel):
    """Collection routes of a plan, filtered (stops in order with arrival times and loads;
    sorted streams: each stop's ``stream``, each visit's compartment loads, each route's
    ``compartments``)."""

    plan_id: int
    dates: list[dt.date]
    routes: list[RouteOut]
    unserved: list[UnservedOut]
    streams: list[StreamRef] = Field(
        default_factory=list, exclude_if=_empty, description="sorted streams: the names"
    )


class CompareRow(BaseModel):
    """One plan's county KPIs and deltas against the first plan (same units)."""

    plan_id: int
    scenario_id: int
    scenario: str
    dates: list[dt.date]
    kpis: KpiRow
    delta: dict[str, float] = Field(description="KPI − first plan's KPI, per numeric field")
    delta_pct: dict[str, float | None] = Field(description="delta ÷ first plan's KPI × 100")
    streams: list[StreamRef] = Field(
        default_factory=list, exclude_if=_empty, description="sorted streams: the names"
    )
    stream_kpis: list[KpiRow] = Field(
        default_factory=list,
        exclude_if=_empty,
        description="sorted streams: the plan's KPI rows of scope stream, one per stream (same "
        "units as ``kpis``; ``id`` the stream, ``cost_cny_per_t``, ``diverted_share``)",
    )


class ComparePublic(BaseModel):
    """A side-by-side KPI table (first plan = base)."""

    base_plan_id: int
    rows: list[CompareRow]


# -- townships ---------------------------------------------------------------------------------
class StreamDays(BaseModel):
    """One sorted stream of a point: its collection days in the plan."""

    stream: str
    frequency: str = Field(description="declared collection frequency of the stream")
    collection_days: list[dt.date] = Field(description="plan dates on which it is collected")
    weekdays: list[int] = Field(
        description="ISO weekdays (1 = Monday … 7 = Sunday) of ``collection_days``"
    )
    unserved_days: list[dt.date] = Field(description="plan dates it was due but not collected")


class PointDays(BaseModel):
    """A collection point of the township with its collection days in the plan."""

    point_id: str
    name: str
    village_code: str
    village: str
    lon: float
    lat: float
    frequency: str = Field(description="declared collection frequency")
    waste_t_per_day: float = Field(description="generation before seasonal factors, t/day")
    station_id: str | None = Field(description="station the plan assigns it to")
    collection_days: list[dt.date] = Field(description="plan dates on which it is collected")
    unserved_days: list[dt.date] = Field(description="plan dates it was due but not collected")
    streams: list[StreamDays] = Field(
        default_factory=list,
        exclude_if=_empty,
        description="sorted streams: each stream's collection days (the point's own "
        "``collection_days`` are the days any of them is collected)",
    )


class ServiceVisit(BaseModel):
    """A visit of the day at a point of the township."""

    point_id: str
    name: str
    route_id: str
    vehicle_id: str
    station_id: str
    arrival_s: int = Field(description="arrival, seconds after midnight")
    arrival: str = Field(description="arrival HH:MM")
    load_kg: int = Field(description="kg picked up")
    stream: str = Field(
        default="", exclude_if=_empty, description="sorted streams: the stream collected"
    )


class TownshipSummary(BaseModel):
    """What a township coordinator sees: points, collection days, the day's service."""

    code: str
    name: str
    scenario_id: int
    plan_id: int | None = Field(description="the plan summarised (None: no finished plan yet)")
    dates: list[dt.date]
    date: dt.date | None = Field(description="the day of ``service`` and ``unserved``")
    stations: list[StationRef] = Field(description="stations serving the township's points")
    points: list[PointDays]
    service: list[ServiceVisit]
    unserved: list[UnservedOut] = Field(
        description="due points not collected that day, and why (``point_id`` the point's, "
        "sorted streams: ``stream`` the one left)"
    )
    kpis: KpiRow | None
    open_incidents: list[int]
    streams: list[StreamRef] = Field(
        default_factory=list, exclude_if=_empty, description="sorted streams: the names"
    )


# -- incidents ---------------------------------------------------------------------------------
class IncidentCreate(_In):
    """Report an overflowing point (``point_id``) or a blocked road (``lon``/``lat``)."""

    kind: Literal["overflow", "blocked_road"]
    scenario_id: int = Field(
        ge=1, le=MAX_ID, description="scenario whose next plan uses the report"
    )
    point_id: str | None = Field(default=None, max_length=100, description="overflow: the point")
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS-84 longitude, °")
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS-84 latitude, °")
    township_code: str | None = Field(
        default=None,
        pattern=r"^\d{9}$",
        description="blocked road: the township the location lies in (default: found from it)",
    )
    note: str = Field(default="", max_length=2000)


class IncidentUpdate(_In):
    """Dismiss an open incident (dispatchers, planners)."""

    status: Literal["open", "dismissed"]


#: incident kinds and the event of a day's re-plan each becomes (`api.replan.incident_events`);
#: a kind not here has no event meaning: the dispatcher's page says so, a re-plan refuses it
INCIDENT_EVENTS: dict[str, str] = {"overflow": "urgent_point", "blocked_road": "road_closed"}
NO_INCIDENT_EVENT = (
    "no event of the day's re-plan stands for this kind of report (events: truck_down, "
    "road_closed, urgent_point, extra_waste, position, stop_done, stop_skipped)"
)


class IncidentPublic(BaseModel):
    """A reported incident; ``plan_id`` is the plan that used it; ``replan_event`` the type of
    the re-plan event it becomes (None: its kind has none, ``no_event_why`` says so)."""

    id: int
    kind: str
    scenario_id: int
    township_code: str
    point_id: str | None
    lon: float | None = Field(description="WGS-84 longitude, °")
    lat: float | None = Field(description="WGS-84 latitude, °")
    road_ids: list[str] = Field(description="roads closed for the next plan (blocked roads)")
    note: str
    status: Literal["open", "used", "dismissed"]
    plan_id: int | None
    created_at: UtcTime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def replan_event(self) -> str | None:
        """The type of the re-plan event this incident becomes (None: none)."""
        return INCIDENT_EVENTS.get(self.kind)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def no_event_why(self) -> str | None:
        """Why this incident becomes no re-plan event (None: it becomes one)."""
        return None if self.kind in INCIDENT_EVENTS else NO_INCIDENT_EVENT


# -- re-planning (issue 16) --------------------------------------------------------------------
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class ReplanCreate(_In):
    """Re-plan the rest of a plan's day from ``at`` with what happened (events), as a job.

    ``events`` is the list of `sanitation replan`'s events file (docs/replan.md); they are
    checked (form, ranges, ids, shift hours, capacities) before the job is queued.
    ``incident_ids`` adds open incidents of the plan's scenario as events (overflow: an urgent
    point; blocked road: its roads closed from ``at``). ``day`` picks the day of a plan of
    several days (a week): its date or number (1 = the first date); only that day changes.
    """

    at: str = Field(pattern=HHMM, description="re-plan time HH:MM on the plan's date")
    day: str | None = Field(
        default=None,
        max_length=10,
        description="the day of a plan of several days: YYYY-MM-DD or its number (1 = first)",
    )
    events: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)
    incident_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=1000
    )
    base_version: int | None = Field(
        default=None, ge=0, le=10_000, description="re-plan this version (default: the newest)"
    )
    help_from_neighbours: bool = False
    engine: Engine = "portfolio"
    time_limit_s: float = Field(
        default=10.0,
        ge=1,
        le=3600,
        description="routing budget of the re-plan, s, shared by the re-planned stations",
    )
    seed: int = Field(default=1, ge=0, le=2**31 - 1)


class VersionPublic(BaseModel):
    """A version of a plan: 0 is the plan as planned, n the n-th re-plan (its own plan id, whose
    routes, sheets and files are served like any plan's)."""

    version: int
    plan_id: int = Field(description="the version's own plan id (GET /plans/{plan_id}/routes)")
    based_on_version: int | None
    status: JobState
    at: str | None = Field(description="re-plan time HH:MM")
    events: list[dict[str, Any]]
    created_at: UtcTime
    finished_at: UtcTime | None
    error: str | None
    diff_summary: dict[str, Any] = Field(
        description="stops moved / new / dropped, share unchanged, changed trucks, cost CNY"
    )
