"""One day's transfer leg from the scenario: stations' collected loads → container trips.

With sorted streams each stream a station received is moved on by itself: to the facilities
that take it from that station (their room what the collection trucks left of their capacity
that day), and what they have no room for to the disposal sites that accept it
(`sanitation.transfer.TransferProblem.destinations`). A facility whose collection-truck
unloads exceed its capacity sends the excess on the same way, from the facility (`overflow`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import UNREACHABLE_CAP_S, depot_index
from sanitation.plan.fleet import FleetPlan
from sanitation.plan.model import TransferTripOut, TransferTruckOut, UnmovedOut
from sanitation.scenario.model import Scenario
from sanitation.transfer import (
    DisposalSite,
    TransferProblem,
    TransferSolution,
    TransferStation,
    TransferTruck,
    Trip,
)

SWAP_S = 300  # hooking a full container and dropping the empty one, seconds


def build_transfer_problem(
    ctx: PlanningContext,
    load_kg: Mapping[str, Mapping[str, int]],
    fleet: FleetPlan,
    *,
    facility_unloads_kg: Mapping[tuple[str, str, str], int] | None = None,
) -> TransferProblem:
    """Stations with their day's collected kg per stream (``""`` unsorted), every disposal site,
    the facilities taking a stream some station received or unloaded by collection trucks that
    day (``facility_unloads_kg``: (facility, station, stream) → kg), each facility over its
    capacity as a source sending its excess on (`overflow`), the hook-lift trucks."""
    scenario = ctx.scenario
    types = {v.type_id: v for v in scenario.vehicle_types}
    transfer_types = [v for v in scenario.vehicle_types if v.role == "transfer"]
    class_id = transfer_types[0].access_class if transfer_types else ctx.classes[-1]
    places = ctx.places
    unloads = facility_unloads_kg or {}
    excess = overflow(scenario, unloads)
    homes = {home for home, _ in excess.values()}
    station_rows = [
        (i, s)
        for i, s in enumerate(scenario.stations)
        if s.station_id in load_kg or s.station_id in homes
    ]
    nodes = [int(places.stations[class_id].node_ids[i]) for i, _ in station_rows]
    stations = []
    for position, (_, station) in enumerate(station_rows):
        by_stream = {k: int(kg) for k, kg in sorted(load_kg.get(station.station_id, {}).items())}
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
    received |= {(home, k) for home, by_stream in excess.values() for k in by_stream}
    unloaded: dict[str, int] = defaultdict(int)
    for (facility_id, _, _), kg in unloads.items():
        unloaded[facility_id] += kg
    containers = {s.station_id: round(s.container_t * 1000) for s in scenario.stations}
    for index, facility in enumerate(scenario.facilities):
        fid = facility.facility_id
        if not unloaded.get(fid) and not any(
            facility.serves(s) and k in facility.streams for s, k in received
        ):
            continue
        sites.append(
            DisposalSite(
                fid,
                len(nodes),
                round(facility.capacity_t_per_day * 1000),
                facility.open_s,
                facility.close_s,
                facility.gate_fee_cny_per_t,
                facility.unload_s,
                facility.streams,
                facility.station_ids,
                facility=True,
                unloaded_kg=unloaded.get(fid, 0),
            )
        )
        nodes.append(int(places.facilities[class_id].node_ids[index]))
        if fid in excess:
            home, by_stream = excess[fid]
            stations.append(
                TransferStation(
                    fid,
                    sites[-1].location,
                    sum(by_stream.values()),
                    containers[home],
                    facility.open_s,
                    facility.close_s,
                    SWAP_S,
                    tuple(sorted(by_stream.items())),
                    facility=True,
                    home_station=home,
                )
            )
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


def overflow(
    scenario: Scenario, unloads_kg: Mapping[tuple[str, str, str], int]
) -> dict[str, tuple[str, dict[str, int]]]:
    """Each facility whose collection-truck unloads (``unloads_kg``: (facility, station, stream)
    → kg) exceed its daily capacity: its home station (the one whose trucks unloaded the most
    there; ties the first id) and its excess per stream (shared by the kg of each stream
    unloaded, largest remainders first)."""
    capacity = {f.facility_id: round(f.capacity_t_per_day * 1000) for f in scenario.facilities}
    by_station: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_stream: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (facility_id, station_id, stream), kg in unloads_kg.items():
        by_station[facility_id][station_id] += kg
        by_stream[facility_id][stream] += kg
    out = {}
    for facility_id, streams in sorted(by_stream.items()):
        total = sum(streams.values())
        over = total - capacity[facility_id]
        if over <= 0:
            continue
        share = {k: over * kg // total for k, kg in streams.items()}
        rest = over - sum(share.values())
        for k in sorted(streams, key=lambda k: (-(over * streams[k] % total), k))[:rest]:
            share[k] += 1
        stations = by_station[facility_id]
        home = min(stations, key=lambda s: (-stations[s], s))
        out[facility_id] = (home, {k: kg for k, kg in share.items() if kg > 0})
    return out


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
                        station_id=problem.station(trip.station).via,
                        site_id=trip.site,
                        load_kg=trip.load_kg,
                        stream=trip.stream,
                        facility_id=trip.station if problem.station(trip.station).facility else "",
                        distance_m=_trip_m(problem, trip) if ctx.scenario.sorted else None,
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
            date=day,
            station_id=problem.station(u.station).via,
            load_kg=u.load_kg,
            reason=u.reason,
            stream=u.stream,
            facility_id=u.station if problem.station(u.station).facility else "",
        )
        for u in solution.unmoved
    ]
    return trucks, unmoved


def _trip_m(problem: TransferProblem, trip: Trip) -> int:
    """A trip's own metres: from its source to the site and back."""
    source, site = problem.station(trip.station).location, problem.site(trip.site).location
    return int(problem.distance_m[source, site] + problem.distance_m[site, source])
