"""The plan document: what `sanitation plan` produces (``plan.json``; JSON Schema exported from
these models as ``plan.schema.json``).

Units: mass kg (``_kg``) or tonnes (``_t``), distance metres (``_m``) or km (``_km``), times of day
seconds after midnight (``_s``) with an ``HH:MM`` copy for people, durations seconds or hours
(``_h``), money CNY (``_cny``), CO2 kg, coordinates WGS-84 lon/lat.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _empty(value: object) -> bool:
    """Leave a sorted-stream field out of the output while empty: the plan of a county that
    does not sort reads as it did before streams."""
    return value is None or value in ("", [], {})


class CompartmentOut(_Model):
    """One compartment of a collection truck (sorted streams) and what it collected."""

    stream: str
    capacity_kg: int
    collected_kg: int = Field(description="kg of this stream collected over the route")


class VisitOut(_Model):
    """One visit of a collection route: a point emptied or an unload at the station (or, with
    sorted streams, at a facility that accepts them)."""

    order: int = Field(description="1-based position in the route")
    kind: Literal["stop", "unload"]
    id: str = Field(description="point_id, or the station_id of the unload site")
    name: str
    lon: float
    lat: float
    arrival_s: int
    start_s: int
    departure_s: int
    arrival: str = Field(description="arrival time HH:MM")
    load_kg: int = Field(description="kg picked up at a stop, or kg unloaded at an unload visit")
    load_after_kg: int = Field(description="kg on the truck after the visit")
    stream: str = Field(
        default="", exclude_if=_empty, description="sorted streams: the stream collected here"
    )
    load_after_by_stream_kg: dict[str, int] = Field(
        default_factory=dict,
        exclude_if=_empty,
        description="sorted streams: kg in each compartment after the visit (an unload empties "
        "the compartments of the streams its site accepts)",
    )


class RouteOut(_Model):
    """The day of one collection truck."""

    route_id: str
    date: dt.date
    station_id: str
    depot_id: str
    vehicle_id: str = Field(description="depot/type#n, stable within the depot's fleet")
    vehicle_type: str
    vehicle_type_name: str
    capacity_kg: int
    depot_departure_s: int
    depot_return_s: int
    lunch_start_s: int | None
    distance_m: int
    duration_s: int
    collected_kg: int
    n_stops: int
    n_unloads: int
    fixed_cost_cny: float
    distance_cost_cny: float
    time_cost_cny: float
    cost_cny: float
    fuel_l: float
    co2_kg: float
    visits: list[VisitOut]
    compartments: list[CompartmentOut] = Field(
        default_factory=list, exclude_if=_empty, description="sorted streams: the compartments"
    )


class UnservedOut(_Model):
    """A due point that is not collected on a day, and why."""

    date: dt.date
    point_id: str
    name: str
    station_id: str
    township_code: str
    load_kg: int
    reason: str
    stream: str = Field(
        default="", exclude_if=_empty, description="sorted streams: the stream left uncollected"
    )


class StationDayOut(_Model):
    """One station's collection day."""

    date: dt.date
    station_id: str
    points_due: int
    points_served: int
    due_kg: int
    collected_kg: int
    trucks_available: int
    trucks_used: int
    engine: str
    solve_seconds: float
    cost_cny: float
    basis: Literal["solved", "reused", "warm_started", "base_kept"] = Field(
        default="solved",
        description="where the routes come from: solved afresh; a what-if's station-day "
        "reusing its baseline's routes (unchanged, or only unused choices removed); searched "
        "from them (warm_started); or the baseline's routes kept as no worse (base_kept)",
    )


class TransferTripOut(_Model):
    """One container from a station to a disposal site or, with sorted streams, a facility
    that takes its stream (and the empty one back)."""

    truck_id: str
    station_id: str = Field(
        description="the station the container leaves from; a facility's excess: its home "
        "station (whose hook-lift trucks are its own)"
    )
    site_id: str = Field(description="disposal site_id, or the facility_id of a sorted stream's")
    load_kg: int
    stream: str = Field(
        default="", exclude_if=_empty, description="sorted streams: the one stream carried"
    )
    facility_id: str = Field(
        default="",
        exclude_if=_empty,
        description="sorted streams: the facility over its day's capacity whose excess this "
        "container carries on (the trip starts and ends there)",
    )
    distance_m: int | None = Field(
        default=None,
        exclude_if=_empty,
        description="sorted streams: the trip's own metres (from where the container is hooked "
        "to the site and back), which its stream's KPIs carry",
    )
    arrival_s: int
    start_s: int
    unload_start_s: int
    end_s: int


class TransferTruckOut(_Model):
    """The day of one hook-lift truck."""

    date: dt.date
    truck_id: str
    home_station: str
    depot_departure_s: int
    depot_return_s: int
    lunch_start_s: int | None
    distance_m: int
    cost_cny: float
    fuel_l: float
    co2_kg: float
    trips: list[TransferTripOut]


class UnmovedOut(_Model):
    """Waste left at a station at the end of a day, and why."""

    date: dt.date
    station_id: str
    load_kg: int
    reason: str
    stream: str = Field(
        default="", exclude_if=_empty, description="sorted streams: the stream left"
    )
    facility_id: str = Field(
        default="",
        exclude_if=_empty,
        description="sorted streams: left at this facility over its capacity (station_id its "
        "home station)",
    )


class DayOut(_Model):
    """Everything planned for one date."""

    date: dt.date
    routes: list[RouteOut]
    unserved: list[UnservedOut]
    stations: list[StationDayOut]
    transfer_trucks: list[TransferTruckOut]
    unmoved: list[UnmovedOut]
    gate_fees_cny: float
    transfer_cost_cny: float


class PointAssignmentOut(_Model):
    """A point's station and the one-way travel time to it."""

    point_id: str
    station_id: str
    travel_s: int


class StationAssignmentOut(_Model):
    """A station's siting decision and expected load."""

    station_id: str
    name: str
    status: str = Field(description="existing / candidate / closed, as in the scenario")
    open: bool
    expansion_modules: int
    load_t_per_day: float = Field(description="assigned generation × seasonal peak factor")
    capacity_t_per_day: float = Field(description="including expansion modules")
    utilisation: float


class SitingOut(_Model):
    """How the stations were chosen, and the chosen siting priced with real routes against the
    siting the assignment's estimate alone chooses (`sanitation.plan.siting`).

    Routed costs (CNY/day) = stations' fixed and opening costs + expansion modules + the
    design day's collection routes (a penalty per point they leave unserved) + the estimate for
    the points not due that day + transfer + gate fees (+ township preference).
    """

    mode: Literal["routed", "estimate"]
    reason: str = Field(description="why this mode: the policy, or no siting choice")
    design_date: dt.date | None = Field(
        default=None, description="the day whose due points are routed (the busiest planned)"
    )
    points_routed: int = Field(default=0, description="due points of the design day")
    routed_cost_cny_per_day: float | None = Field(
        default=None, description="the chosen siting, priced with routes"
    )
    estimate_routed_cost_cny_per_day: float | None = Field(
        default=None, description="the estimate's siting, re-priced with routes"
    )
    estimate_cost_cny_per_day: float | None = Field(
        default=None, description="the estimate's siting as the estimate prices it"
    )
    saving_cny_per_day: float | None = Field(
        default=None, description="estimate_routed_cost - routed_cost (>= 0)"
    )
    stations_open: list[str] = Field(default_factory=list)
    estimate_stations_open: list[str] = Field(default_factory=list)
    points_moved: int = Field(default=0, description="points whose station differs")
    unserved_points: int = Field(
        default=0, description="design-day points the chosen siting's routes leave unserved"
    )
    estimate_unserved_points: int = Field(default=0)
    base_start: bool = Field(
        default=False,
        description="a what-if: its base plan's siting was one of the search's starts",
    )
    base_start_note: str = Field(
        default="", description="a what-if: why its base plan's siting was no valid start"
    )
    base_routed_cost_cny_per_day: float | None = Field(
        default=None,
        description="a what-if: its base plan's siting priced with routes here (>= routed_cost)",
    )
    oracle_calls: int = Field(default=0, description="station-day routing solves")
    evaluations: int = Field(default=0, description="whole sitings priced with routes")
    stopped_by: str = ""
    seconds: float = 0.0
    cached: bool = Field(
        default=False, description="taken from the cache of an identical siting problem"
    )


class AssignmentOut(_Model):
    """The station siting and point-to-station assignment."""

    mode: Literal["optimised", "fixed"]
    solver: str
    objective_cny_per_day: float
    best_bound_cny_per_day: float
    optimal: bool
    seconds: float
    stopped_by_time: bool = Field(
        default=False, description="the wall-clock cap, not the work budget, ended the solve"
    )
    cost_split_cny_per_day: dict[str, float]
    stations: list[StationAssignmentOut]
    points: list[PointAssignmentOut]
    siting: SitingOut | None = Field(
        default=None, description="route-aware siting vs the estimate (optimised mode)"
    )


class FrequencyChangeOut(_Model):
    """A point visited more often than declared so that its bin never overflows."""

    point_id: str
    declared: str
    used: str
    reason: str


KpiScope = Literal["county", "station", "township", "stream"]


class KpiRow(_Model):
    """KPIs of one scope (county, a station, a township or, sorted, a stream) over the planned
    dates."""

    scope: KpiScope
    id: str
    name: str
    collected_t: float
    points_due: int
    points_served: int
    points_unserved: int
    trucks_used: int = Field(description="collection truck-days")
    distance_km: float
    driver_hours_h: float
    fixed_cost_cny: float
    distance_cost_cny: float
    time_cost_cny: float
    transfer_cost_cny: float
    gate_fees_cny: float
    station_cost_cny: float = Field(
        default=0.0,
        description="open transfer stations' fixed + opening + expansion-module cost over the "
        "planned dates (a township: its share by kg collected)",
    )
    total_cost_cny: float
    co2_kg: float
    station_utilisation: float | None = Field(
        default=None, description="collected t/day ÷ capacity t/day (stations)"
    )
    truck_capacity_share: float | None = Field(
        default=None, description="mean load per unload ÷ truck capacity"
    )
    cost_cny_per_t: float | None = Field(
        default=None, exclude_if=_empty, description="sorted streams: total cost ÷ tonnes"
    )
    diverted_share: float | None = Field(
        default=None,
        exclude_if=_empty,
        description="sorted streams: share of the tonnes collected that went to a treatment "
        "facility, recycling centre or store instead of waste-to-energy or landfill",
    )


class FleetRowOut(_Model):
    """Trucks of one type at one station (``scope`` station) or in the county (``county``, the
    sum over stations), over the planned dates."""

    scope: Literal["station", "county"]
    station_id: str = Field(description="the station, or 'county'")
    type_id: str
    role: Literal["collection", "transfer"]
    owned: int = Field(description="trucks the scenario gives the station (through its depots)")
    working: int = Field(
        description="trucks working from the station in this plan: after the moves, or with "
        "policy.fleet minimise the smallest fleet found"
    )
    needed: int = Field(
        description="trucks used on the peak day (distinct vehicles; county: the sum of the "
        "stations' peaks)"
    )
    peak_date: dt.date | None = Field(
        description="the first date with that many (None: unused, or a county row)"
    )
    truck_days: int = Field(description="truck-days used over the planned dates")


class FleetShortfallOut(_Model):
    """An open station without any collection truck its narrowest points allow."""

    station_id: str
    missing_types: list[str] = Field(description="any one of these types would serve them")
    point_ids: list[str] = Field(description="the points no truck of the station may serve")


class FleetSearchOut(_Model):
    """The ``policy.fleet: minimise`` search: what it tried within its work budget."""

    budget_s: float = Field(description="work budget, reference seconds of solver work")
    seconds: float
    removals_tried: int = Field(description="one truck fewer at a station, re-solved")
    removals_kept: int = Field(description="... that still served every point")
    station_days_solved: int
    complete: bool = Field(
        description="every station and type was tried down to one truck fewer than its minimum"
    )
    untried: list[str] = Field(description="station/type pairs the budget left untried")
    stopped_by_time: bool = Field(
        default=False, description="the wall-clock cap, not the work budget, ended the search"
    )


class FleetOut(_Model):
    """The fleet of the plan: per station and type, trucks needed (peak day) vs owned vs working;
    the moves between stations; access needs no move could meet; the minimise search."""

    policy: Literal["owned", "minimise"]
    rows: list[FleetRowOut]
    moves: list[str]
    shortfalls: list[FleetShortfallOut]
    search: FleetSearchOut | None = None


class TerritoryOut(_Model):
    """One truck's territory over the planned week (定人定车定线)."""

    truck_id: str = Field(description="depot/type#n, as the routes' vehicle_id")
    station_id: str
    type_id: str
    point_ids: list[str]
    village_codes: list[str] = Field(description="the villages its points lie in, sorted")
    centre_point_id: str | None = Field(description="the territory's centre (p-median)")
    estimated_week_h: float = Field(description="estimated working hours over the week")
    estimated_day_h: list[float] = Field(description="estimated working hours per planned day")
    contiguous: bool | None = Field(
        None,
        description="its points form one piece along road neighbours (None: not recorded)",
    )
    detached_point_ids: list[str] = Field(
        default_factory=list,
        description="its points apart from the piece that holds its centre (fixed or kept "
        "points, or territories built without contiguity)",
    )


class TruckChangeOut(_Model):
    """A point a what-if's territories moved off its base plan's territory truck."""

    point_id: str
    base_truck_id: str = Field(description="its truck in the base plan's territories")
    truck_id: str | None = Field(description="its truck now (None: no truck may serve it)")
    reason: Literal[
        "truck removed",
        "station changed",
        "access",
        "over the shift",
        "fixed in the scenario",
        "territories re-built",
    ]


class ConsistencyOut(_Model):
    """Route consistency and balance of the plan (``policy.consistency``, ``policy.balance``)."""

    policy: Literal["none", "territory", "soft"]
    balance_max_ratio: float | None = Field(
        description="longest ÷ shortest working route (h) a station-day may have; None = off"
    )
    territories: list[TerritoryOut]
    reassigned_point_ids: list[str] = Field(
        description="points whose fixed truck does not work at their station in this plan or "
        "may not serve them: they were given another territory"
    )
    truck_changes: list[TruckChangeOut] = Field(
        default_factory=list,
        description="a what-if: points whose truck differs from their base plan's territory's",
    )
    visits: int = Field(description="point-visits of the plan")
    visits_on_territory: int = Field(description="... made by the point's territory's truck")
    share_on_territory: float | None
    arrival_spread_median_min: float | None = Field(
        description="median over points visited more than once of (latest - earliest arrival)"
    )
    max_route_ratio: float = Field(description="largest longest ÷ shortest route of a day")
    max_week_truck_ratio: float = Field(
        1.0,
        description="largest, over stations, longest ÷ shortest week (working h) of the "
        "station's trucks that worked",
    )
    week_rota_routes: int = Field(
        0,
        description="routes handed to another truck of their type to even the trucks' weeks "
        "(balance on, no territories)",
    )
    fixed_line_station_days: int = Field(
        0, description="territorial station-days routed on their trucks' fixed lines (定线)"
    )
    fixed_line_tried: int = Field(0, description="... of the territorial station-days")
    timetable_station_days: int = Field(
        0, description="fixed-line station-days also held to their points' timetable (定时)"
    )
    balance_tried: int = Field(0, description="station-days re-solved to meet the ratio")
    balance_met: int = Field(0, description="... that met it")
    balance_not_met: list[str] = Field(default_factory=list, description="date station")
    cost_without_balance_cny: float | None = Field(
        None, description="routing cost of the plan before balancing"
    )
    cost_with_balance_cny: float | None = Field(None, description="... after balancing")


class PlanDocument(_Model):
    """The whole plan: assignment, schedule facts, every day's routes and transfer, KPIs."""

    schema_version: str = SCHEMA_VERSION
    scenario: str
    scenario_path: str
    created_at: dt.datetime
    dates: list[dt.date]
    engine: str
    time_limit_s: float
    seed: int
    notes: list[str]
    assignment: AssignmentOut
    frequency_changes: list[FrequencyChangeOut]
    days: list[DayOut]
    kpis: list[KpiRow]
    co2_factor_note: str
    fleet: FleetOut | None = Field(
        default=None, description="the fleet report (None only in plans made before it existed)"
    )
    consistency: ConsistencyOut | None = Field(
        default=None,
        description="territories, consistency and balance (None: policy.consistency none and "
        "no balance)",
    )
