"""One day's transfer leg from the scenario: stations' collected loads → container trips.

With sorted streams each stream a station received is moved on by itself: to the facilities
that take it from that station (their capacity what the collection trucks left of it that
day), else to the disposal sites that accept it (`sanitation.transfer.TransferProblem.
destinations`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np

from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import UNREACHABLE_CAP_S, depot_index
from sanitation.plan.fleet import FleetPlan
from sanitation.plan.model import TransferTripOut, TransferTruckOut, UnmovedOut
from sanitation.transfer import (
    DisposalSite,
    TransferProblem,
    TransferSolution,
    TransferStation,
    TransferTruck,
)

SWAP_S = 300  # hooking a full container and dropping the empty one, seconds


def build_transfer_problem(
    ctx: PlanningContext,
    load_kg: Mapping[str, Mapping[str, int]],
    fleet: FleetPlan,
    *,
    facility_used_kg: Mapping[str, int] | None = None,
) -> TransferProblem:
    """Stations with their day's collected kg per stream (``""`` unsorted), every disposal site,
    the facilities taking a stream some station received (capacity less
    ``facility_used_kg``, what the collection trucks unloaded there that day), the hook-lift
    trucks."""
    scenario = ctx.scenario
    types = {v.type_id: v for v in scenario.vehicle_types}
    transfer_types = [v for v in scenario.vehicle_types if v.role == "transfer"]
    class_id = transfer_types[0].access_class if transfer_types else ctx.classes[-1]
    places = ctx.places
    station_rows = [(i, s) for i, s in enumerate(scenario.stations) if s.station_id in load_kg]
    nodes = [int(places.stations[class_id].node_ids[i]) for i, _ in station_rows]
    stations = []
    for position, (_, station) in enumerate(station_rows):
        by_stream = {k: int(kg) for k, kg in sorted(load_kg[station.station_id].items())}
        stations.append(
            TransferStation(
                station.station_id,
                position,
                sum(by_stream.values()),
                round(station.container_t * 1000),
                station.open_s,
                station.close_s,
                SWAP_S,
                tuple(by_stream.items()) if set(by_stream) - {""} else (),
            )
        )
    sites = []
    for index, site in enumerate(scenario.disposal_sites):
        if site.site_id in ctx.lost_sites:
            continue
        sites.append(
            DisposalSite(
                site.site_id,
                len(nodes),
                round(site.capacity_t_per_day * 1000),
                site.gate_open_s,
                site.gate_close_s,
                site.gate_fee_cny_per_t,
                site.unload_s,
                site.streams,
            )
        )
        nodes.append(int(places.disposal_sites[class_id].node_ids[index]))
    received = {(s, k) for s, kinds in load_kg.items() for k, kg in kinds.items() if kg > 0}
    used = facility_used_kg or {}
    for index, facility in enumerate(scenario.facilities):
        if not any(facility.serves(s) and k in facility.streams for s, k in received):
            continue
        capacity_kg = round(facility.capacity_t_per_day * 1000)
        sites.append(
            DisposalSite(
                facility.facility_id,
                len(nodes),
                max(0, capacity_kg - used.get(facility.facility_id, 0)),
                facility.open_s,
                facility.close_s,
                facility.gate_fee_cny_per_t,
                facility.unload_s,
                facility.streams,
                facility.station_ids,
                facility=True,
            )
        )
        nodes.append(int(places.facilities[class_id].node_ids[index]))
    trucks = []
    for station_index, station in station_rows:
        depot = depot_index(ctx, station.station_id)
        depot_node = int(
            places.depots[class_id].node_ids[depot]
            if depot is not None
            else places.stations[class_id].node_ids[station_index]
        )
        location = len(nodes)
        nodes.append(depot_node)
        for type_id, count in sorted(fleet.of(station.station_id).items()):
            vtype = types[type_id]
            if vtype.role != "transfer":
                continue
            for number in range(count):
                trucks.append(
                    TransferTruck(
                        f"{station.station_id}/{type_id}#{number + 1}",
                        station.station_id,
                        location,
                        vtype.shift_start_s,
                        vtype.shift_end_s,
                        vtype.max_duration_s,
                        vtype.lunch_duration_s,
                        vtype.lunch_window_start_s,
                        vtype.lunch_window_end_s,
                        vtype.fixed_cost_cny_per_day,
                        vtype.cost_per_km_cny,
                        vtype.cost_per_hour_cny,
                    )
                )
    node_array = np.array(nodes, dtype=np.int64)
    time_s, dist_m = ctx.matrix(class_id, node_array, node_array)
    return TransferProblem(
        duration_s=np.minimum(time_s, UNREACHABLE_CAP_S).astype(np.int64),
        distance_m=np.minimum(dist_m, UNREACHABLE_CAP_S * 30).astype(np.int64),
        stations=tuple(stations),
        sites=tuple(sites),
        trucks=tuple(trucks),
    )


def truck_type(truck_id: str) -> str:
    """The vehicle type of a hook-lift truck id (``station/type#n``)."""
    return truck_id.split("/", 1)[1].split("#", 1)[0]


def transfer_out(
    ctx: PlanningContext, day: dt.date, problem: TransferProblem, solution: TransferSolution
) -> tuple[list[TransferTruckOut], list[UnmovedOut]]:
    """The plan's view of a day's transfer solution."""
    types = {v.type_id: v for v in ctx.scenario.vehicle_types}
    co2_factor = ctx.scenario.costs.co2_kg_per_l_diesel
    trucks = []
    for truck_day in solution.trucks:
        type_id = truck_type(truck_day.truck)
        fuel = truck_day.distance_m / 1000 * types[type_id].fuel_l_per_100km / 100
        trucks.append(
            TransferTruckOut(
                date=day,
                truck_id=truck_day.truck,
                home_station=problem.truck(truck_day.truck).home_station,
                depot_departure_s=truck_day.depot_departure_s,
                depot_return_s=truck_day.depot_return_s,
                lunch_start_s=truck_day.lunch_start_s,
                distance_m=truck_day.distance_m,
                cost_cny=round(truck_day.cost_cny, 2),
                fuel_l=round(fuel, 2),
                co2_kg=round(fuel * co2_factor, 2),
                trips=[
                    TransferTripOut(
                        truck_id=trip.truck,
                        station_id=trip.station,
                        site_id=trip.site,
                        load_kg=trip.load_kg,
                        stream=trip.stream,
                        arrival_s=trip.arrival_s,
                        start_s=trip.start_s,
                        unload_start_s=trip.unload_start_s,
                        end_s=trip.end_s,
                    )
                    for trip in truck_day.trips
                ],
            )
        )
    unmoved = [
        UnmovedOut(
            date=day, station_id=u.station, load_kg=u.load_kg, reason=u.reason, stream=u.stream
        )
        for u in solution.unmoved
    ]
    return trucks, unmoved
