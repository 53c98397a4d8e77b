"""One station's collection day as a `RoutingProblem`, and its solution in the plan's terms.

Locations: 0 = the depot where the station's trucks park, 1 = the station (the unload site), then
the due points. One matrix pair per access class (smallest truck first); a point may be served
by trucks of its access class and the smaller ones.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sanitation.engines import solve as solve_routing
from sanitation.errors import VerificationError
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import CompartmentOut, RouteOut, UnservedOut, VisitOut
from sanitation.plan.streams import compartments, day_facilities, stream_loads, with_facilities
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop, VehicleType
from sanitation.routing.solution import RoutingSolution, Visit
from sanitation.scenario.model import (
    FacilityRecord,
    TransferStationRecord,
    VehicleTypeRecord,
    split_stop_id,
    truck_id,
)
from sanitation.verify.routing import check

DEPOT = "depot"
TRUCK_SEP = "#"  # a routing vehicle type of one truck is ``type#n`` (`truck_type_id`)
UNREACHABLE_CAP_S = 10**7  # stands in for "no path" inside solvers (far above any shift)


@dataclass(frozen=True)
class StationDay:
    """Input of one routing task (picklable: it crosses to worker processes)."""

    station_id: str
    date: dt.date
    problem: RoutingProblem
    engine: str
    params: SolveParams
    seed: int


@dataclass(frozen=True)
class StationDayResult:
    """A verified routing solution for one station-day."""

    station_id: str
    date: dt.date
    solution: RoutingSolution
    seconds: float


def solve_station_day(
    task: StationDay, portfolio_executor: cf.Executor | None = None
) -> StationDayResult:
    """Solve and verify one station-day (raises `VerificationError` on any violation).

    With the portfolio engine, ``portfolio_executor`` (if given) runs its engines, so one warm
    pool serves every station-day instead of a new pool per solve.
    """
    started = time.perf_counter()
    try:
        solution = solve_routing(
            task.problem,
            task.params,
            seed=task.seed,
            engine=task.engine,
            executor=portfolio_executor,
        )
        if not task.params.verify:  # solve_routing verified it otherwise
            check(task.problem, solution)
    except VerificationError as error:
        error.add_context(f"station {task.station_id!r} on {task.date}", stage="routing")
        raise
    return StationDayResult(task.station_id, task.date, solution, time.perf_counter() - started)


def depot_index(ctx: PlanningContext, station_id: str) -> int | None:
    """Index of the depot of ``station_id`` in the scenario's depots (None: park at the station)."""
    for index, depot in enumerate(ctx.scenario.depots):
        if depot.station_id == station_id:
            return index
    return None


def station_day_nodes(
    ctx: PlanningContext, station_id: str, point_ids: Sequence[str]
) -> list[np.ndarray]:
    """Per access class, the road nodes of a station-day's locations: depot (0; the station
    when it has none), station (1) and ``point_ids`` (2, ...)."""
    scenario = ctx.scenario
    station_idx = next(i for i, s in enumerate(scenario.stations) if s.station_id == station_id)
    depot_idx = depot_index(ctx, station_id)
    point_index = {p.point_id: i for i, p in enumerate(scenario.points)}
    places = ctx.places
    out = []
    for class_id in ctx.classes:
        station_node = places.stations[class_id].node_ids[station_idx]
        depot_node = (
            places.depots[class_id].node_ids[depot_idx] if depot_idx is not None else station_node
        )
        points = places.points[class_id].node_ids[[point_index[p] for p in point_ids]]
        out.append(np.concatenate([[depot_node, station_node], points]).astype(np.int64))
    return out


def station_matrices(
    ctx: PlanningContext, station_id: str, point_ids: list[str]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Travel times (s) and distances (m) per access class over depot (0), station (1) and
    ``point_ids`` (2, ...), "no path" capped at `UNREACHABLE_CAP_S` (and 30 m/s of it)."""
    durations, distances = [], []
    for class_id, nodes in zip(
        ctx.classes, station_day_nodes(ctx, station_id, point_ids), strict=True
    ):
        time_s, dist_m = ctx.matrix(class_id, nodes, nodes)
        durations.append(np.minimum(time_s, UNREACHABLE_CAP_S).astype(np.int64))
        distances.append(np.minimum(dist_m, UNREACHABLE_CAP_S * 30).astype(np.int64))
    return durations, distances


def build_station_day(
    ctx: PlanningContext,
    station_id: str,
    due_kg: Mapping[str, int],
    fleet: Mapping[str, int],
) -> RoutingProblem:
    """The routing problem of one station-day (``due_kg``: stop id → kg, a stop id being the
    point id, or ``point@stream`` when the county sorts; ``fleet``: type → n).

    With sorted streams each (point, stream) due is a stop of that stream at the point's
    location; the trucks have their compartments and may unload at the station (if it accepts
    one of their streams) and at every facility accepting one (locations after the points).
    """
    scenario = ctx.scenario
    station_idx = next(i for i, s in enumerate(scenario.stations) if s.station_id == station_id)
    station = scenario.stations[station_idx]
    point_index = {p.point_id: i for i, p in enumerate(scenario.points)}
    keys = sorted(due_kg)
    point_ids = sorted({split_stop_id(key)[0] for key in keys})
    location = {pid: 2 + offset for offset, pid in enumerate(point_ids)}
    classes = ctx.classes
    durations, distances = station_matrices(ctx, station_id, point_ids)
    facilities = day_facilities(scenario, station_id, {split_stop_id(key)[1] for key in keys})
    if facilities:
        nodes = station_day_nodes(ctx, station_id, point_ids)
        durations, distances = with_facilities(ctx, nodes, facilities, durations, distances)
    types = {v.type_id: v for v in scenario.vehicle_types}
    vehicle_types = [
        _vehicle_type(ctx, types[type_id], count, station, facilities)
        for type_id, count in sorted(fleet.items())
        if types[type_id].role == "collection" and count > 0
    ]
    stops = []
    for key in keys:
        point_id, stream = split_stop_id(key)
        point = scenario.points[point_index[point_id]]
        rank = classes.index(point.access_class)
        allowed = frozenset(
            v.id
            for v in vehicle_types
            if classes.index(types[v.id].access_class) <= rank and v.capacity_for_kg(stream) > 0
        )
        stops.append(
            Stop(
                id=key,
                location=location[point_id],
                load_kg=int(due_kg[key]),
                service_s=point.service_s,
                tw_open_s=point.tw_open_s,
                tw_close_s=point.tw_close_s,
                priority=point.priority,
                allowed_vehicle_types=allowed,
                stream=stream,
            )
        )
    sites = (
        Site(DEPOT, 0),
        Site(
            station_id,
            1,
            station.open_s,
            station.close_s,
            station.unload_s,
            streams=station.streams,
        ),
        *(
            Site(f.facility_id, 2 + len(point_ids) + i, f.open_s, f.close_s, f.unload_s, f.streams)
            for i, f in enumerate(facilities)
        ),
    )
    return RoutingProblem(
        duration_s=tuple(durations),
        distance_m=tuple(distances),
        sites=sites,
        stops=tuple(stops),
        vehicle_types=tuple(vehicle_types),
    )


def _vehicle_type(
    ctx: PlanningContext,
    vtype: VehicleTypeRecord,
    count: int,
    station: TransferStationRecord,
    facilities: Sequence[FacilityRecord],
) -> VehicleType:
    """A collection truck type of a station-day: its compartments (sorted streams) and the
    sites that accept what it carries (the station alone for a county that does not sort)."""
    lunch = (
        Lunch(vtype.lunch_duration_s, vtype.lunch_window_start_s, vtype.lunch_window_end_s)
        if vtype.lunch_duration_s > 0
        else None
    )
    capacity_kg = round(vtype.capacity_t * 1000)
    parts = compartments(vtype, capacity_kg)
    carried = {c.stream for c in parts} or {""}
    unload_sites = tuple(
        [station.station_id] if station.streams is None or station.streams & carried else []
    ) + tuple(f.facility_id for f in facilities if f.streams & carried)
    return VehicleType(
        id=vtype.type_id,
        count=count,
        capacity_kg=capacity_kg,
        depot=DEPOT,
        unload_sites=unload_sites or (station.station_id,),
        profile=ctx.classes.index(vtype.access_class),
        shift_start_s=vtype.shift_start_s,
        shift_end_s=vtype.shift_end_s,
        max_duration_s=vtype.max_duration_s,
        lunch=lunch,
        fixed_cost_cny=vtype.fixed_cost_cny_per_day,
        cost_cny_per_km=vtype.cost_per_km_cny,
        cost_cny_per_h=vtype.cost_per_hour_cny,
        compartments=parts,
    )


def truck_type_id(type_id: str, number: int) -> str:
    """The routing vehicle type of one truck, ``type#n`` (n from 1; type ids never hold ``#``),
    as territories give each truck its own (`sanitation.plan.consistency.restrict`)."""
    return f"{type_id}{TRUCK_SEP}{number}"


def split_truck_type(vehicle_type: str, vehicle_index: int) -> tuple[str, int]:
    """(scenario type id, 0-based truck index) of a routing vehicle type and index."""
    base, sep, number = vehicle_type.rpartition(TRUCK_SEP)
    if sep and number.isdigit():
        return base, int(number) - 1
    return vehicle_type, vehicle_index


def hhmm(seconds: int) -> str:
    """Seconds after midnight as HH:MM."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def visit_out(visit: Visit, order: int, name: str, lon: float, lat: float, picked: int) -> VisitOut:
    """A routing visit as a plan visit (``picked``: kg picked up, or unloaded at an unload)."""
    return VisitOut(
        order=order,
        kind=visit.kind,
        id=visit.id,
        name=name,
        lon=lon,
        lat=lat,
        arrival_s=visit.arrival_s,
        start_s=visit.start_s,
        departure_s=visit.departure_s,
        arrival=hhmm(visit.arrival_s),
        load_kg=picked,
        load_after_kg=visit.load_after_kg,
    )


def route_figures(
    vtype: VehicleTypeRecord, distance_m: int, duration_s: int, co2_kg_per_l: float
) -> dict[str, float]:
    """Fixed, distance and time cost (CNY), fuel (l) and CO2 (kg) of one truck-day, rounded as
    ``plan.json`` gives them."""
    fuel = distance_m / 1000 * vtype.fuel_l_per_100km / 100
    return {
        "fixed_cost_cny": round(vtype.fixed_cost_cny_per_day, 2),
        "distance_cost_cny": round(vtype.cost_per_km_cny * distance_m / 1000, 2),
        "time_cost_cny": round(vtype.cost_per_hour_cny * duration_s / 3600, 2),
        "fuel_l": round(fuel, 2),
        "co2_kg": round(fuel * co2_kg_per_l, 2),
    }


def routes_out(
    ctx: PlanningContext,
    station_id: str,
    day: dt.date,
    problem: RoutingProblem,
    solution: RoutingSolution,
) -> tuple[list[RouteOut], list[UnservedOut]]:
    """The plan's routes and unserved points of one solved station-day."""
    scenario = ctx.scenario
    points = {p.point_id: p for p in scenario.points}
    station = next(s for s in scenario.stations if s.station_id == station_id)
    types = {v.type_id: v for v in scenario.vehicle_types}
    township_of = scenario.township_of_point()
    depot_idx = depot_index(ctx, station_id)
    depot_id = scenario.depots[depot_idx].depot_id if depot_idx is not None else station_id
    co2_factor = scenario.costs.co2_kg_per_l_diesel
    places = {f.facility_id: (f.name, f.lon, f.lat) for f in scenario.facilities}
    places[station_id] = (station.name, station.lon, station.lat)
    routes = []
    for number, route in enumerate(solution.routes, start=1):
        type_id, truck_index = split_truck_type(route.vehicle_type, route.vehicle_index)
        vtype = types[type_id]
        visits, carried = [], 0
        loads = stream_loads(problem, route.visits) if scenario.sorted else None
        for order, visit in enumerate(route.visits, start=1):
            if visit.kind == "stop":
                point = points[split_stop_id(visit.id)[0]]
                picked = problem.stop(visit.id).load_kg
                name, lon, lat = point.name, point.lon, point.lat
            else:
                picked = carried - visit.load_after_kg  # unsorted: all of it
                name, lon, lat = places.get(visit.id, places[station_id])
            carried = visit.load_after_kg
            out = visit_out(visit, order, name, lon, lat, picked)
            if loads is not None:
                stream = split_stop_id(visit.id)[1] if visit.kind == "stop" else ""
                out = out.model_copy(
                    update={"stream": stream, "load_after_by_stream_kg": loads[order - 1]}
                )
            visits.append(out)
        money = route_figures(vtype, route.distance_m, route.duration_s, co2_factor)
        routes.append(
            RouteOut(
                route_id=f"{day.isoformat()}/{station_id}/{number}",
                date=day,
                station_id=station_id,
                depot_id=depot_id,
                vehicle_id=truck_id(depot_id, type_id, truck_index + 1),
                vehicle_type=type_id,
                vehicle_type_name=vtype.name,
                capacity_kg=round(vtype.capacity_t * 1000),
                depot_departure_s=route.depot_departure_s,
                depot_return_s=route.depot_return_s,
                lunch_start_s=route.lunch_start_s,
                distance_m=route.distance_m,
                duration_s=route.duration_s,
                collected_kg=sum(v.load_kg for v in visits if v.kind == "stop"),
                n_stops=sum(v.kind == "stop" for v in visits),
                n_unloads=sum(v.kind == "unload" for v in visits),
                **money,
                cost_cny=round(route.cost_cny, 2),
                visits=visits,
                compartments=_compartments_out(problem, route.vehicle_type, visits),
            )
        )
    unserved = [
        UnservedOut(
            date=day,
            point_id=item.stop_id,
            name=points[split_stop_id(item.stop_id)[0]].name,
            station_id=station_id,
            township_code=township_of[split_stop_id(item.stop_id)[0]],
            load_kg=problem.stop(item.stop_id).load_kg,
            reason=item.reason,
            stream=problem.stop(item.stop_id).stream,
        )
        for item in solution.unserved
    ]
    return routes, unserved


def _compartments_out(
    problem: RoutingProblem, vehicle_type: str, visits: Sequence[VisitOut]
) -> list[CompartmentOut]:
    """The compartments of a route's truck and the kg each collected (none unsorted)."""
    return [
        CompartmentOut(
            stream=c.stream,
            capacity_kg=c.capacity_kg,
            collected_kg=sum(
                v.load_kg for v in visits if v.kind == "stop" and v.stream == c.stream
            ),
        )
        for c in problem.vehicle_type(vehicle_type).compartments
    ]
