"""KPIs of a plan per county, station and township, over all its dates.

Collection costs, km, hours and CO2 belong to the station whose trucks drove them; a township gets
each route's share in proportion to the kilograms collected from its points. Transfer-truck costs
go to stations in proportion to the kilograms each truck moved for them; gate fees to the station
whose waste paid them. An open transfer station costs its fixed, opening and expansion-module
cost per planned day (so a what-if that builds a station pays for it); a township pays its share
of its stations' transfer, gate and station costs by the kilograms collected from its points.
CO2 = diesel litres × the scenario's factor (2.68 kg CO2 per litre, the
IPCC 2006 default for diesel: 74,100 kg CO2/TJ × 43.0 TJ/Gg × 0.84 kg/L), with litres from each
vehicle type's ``fuel_l_per_100km``.

A county that sorts its waste also gets one row per stream: a route's figures shared by the
kilograms of each stream it collected; each transfer trip's km, hours, cost and gate fee on its
one stream, a truck's remaining day by its trips' hours (`_transfer_by_stream`); station costs
by the kilograms each stream unloaded at stations; a facility's gate fee on the stream unloaded
there, less on what it sends on over its capacity (on the county, no station or township); cost
per tonne; and the share diverted from waste-to-energy and landfill (kg kept by facilities,
unloaded by collection trucks or brought by transfer trips, ÷ kg collected), also on the county.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sanitation.plan.model import (
    AssignmentOut,
    DayOut,
    KpiRow,
    KpiScope,
    RouteOut,
    StationAssignmentOut,
)
from sanitation.plan.streams import unloads_by_site
from sanitation.plan.transfer_day import truck_type
from sanitation.scenario.model import Scenario, split_stop_id

CO2_NOTE = (
    "CO2 = diesel litres (km × the vehicle type's L/100 km) × {factor} kg CO2/L; 2.68 is the "
    "IPCC 2006 Guidelines default for diesel (74,100 kg CO2/TJ, NCV 43.0 TJ/Gg, density 0.84 kg/L)."
)


_Part = dict[str, float]  # a route's or a truck's figures, keyed by `_Tally` field names


@dataclass
class _Tally:
    """Sums of one scope; every name says its unit (``_cny`` money, ``_kg``, ``_km``, ``_h``)."""

    collected_kg: float = 0.0
    points_due: int = 0
    points_served: int = 0
    points_unserved: int = 0
    truck_days: float = 0.0  # collection truck-days (a township gets shares of a route)
    distance_km: float = 0.0
    driver_hours_h: float = 0.0
    fixed_cost_cny: float = 0.0
    distance_cost_cny: float = 0.0
    time_cost_cny: float = 0.0
    transfer_cost_cny: float = 0.0
    gate_fees_cny: float = 0.0
    station_cost_cny: float = 0.0
    co2_kg: float = 0.0
    unloaded_kg: float = 0.0
    unload_capacity_kg: float = 0.0
    diverted_kg: float = 0.0  # unloaded at facilities (sorted streams)
    station_kg: float = 0.0  # unloaded at stations (sorted streams)

    def add_share(self, part: _Part, share: float) -> None:
        """Add ``share`` (0..1) of every figure of ``part``."""
        for name, value in part.items():
            setattr(self, name, getattr(self, name) + value * share)


@dataclass
class _Tallies:
    county: _Tally = field(default_factory=_Tally)
    stations: defaultdict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    townships: defaultdict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    streams: defaultdict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))


def plan_kpis(
    scenario: Scenario, assignment: AssignmentOut, days: Sequence[DayOut]
) -> list[KpiRow]:
    """County, station and township KPI rows (see the module docstring)."""
    township_of = scenario.township_of_point()
    fees = {s.site_id: s.gate_fee_cny_per_t for s in scenario.disposal_sites}
    fees |= {f.facility_id: f.gate_fee_cny_per_t for f in scenario.facilities}  # sorted streams
    tallies = _Tallies()
    for day in days:
        # every due point is served on a route or listed unserved (the verifier's invariant)
        for item in day.unserved:
            for tally in (
                tallies.stations[item.station_id],
                tallies.townships[item.township_code],
                tallies.county,
            ):  # (a sorted point's streams count one each)
                tally.points_unserved += 1
                tally.points_due += 1
        for route in day.routes:
            _add_route(tallies, route, township_of)
        transfer_cny, gate_cny = _add_transfer(tallies, day, fees)
        station_cny = _add_station_costs(tallies, scenario, assignment.stations)
        shared = {
            "transfer_cost_cny": transfer_cny,
            "gate_fees_cny": gate_cny,
            "station_cost_cny": station_cny,
        }
        _share_to_townships(tallies, day.routes, township_of, shared)
        if scenario.sorted:
            _add_streams(tallies, scenario, day, shared["station_cost_cny"], fees)
    rows = _rows(scenario, assignment.stations, max(1, len(days)), tallies)
    if scenario.sorted:
        rows = _with_stream_rows(scenario, rows, tallies)
    return rows


def _add_station_costs(
    tallies: _Tallies, scenario: Scenario, stations_out: Sequence[StationAssignmentOut]
) -> dict[str, float]:
    """One day of every open station's fixed, opening and expansion-module cost (CNY)."""
    stations = {s.station_id: s for s in scenario.stations}
    out: dict[str, float] = {}
    for row in stations_out:
        if not row.open:
            continue
        s = stations[row.station_id]
        cny = s.fixed_cost_cny_per_day + s.opening_cost_cny_per_day
        cny += row.expansion_modules * s.expansion_cost_cny_per_day
        out[row.station_id] = cny
        tallies.stations[row.station_id].station_cost_cny += cny
        tallies.county.station_cost_cny += cny
    return out


def _add_route(tallies: _Tallies, route: RouteOut, township_of: dict[str, str]) -> None:
    """A collection route: all of it to its station and the county, by kg to townships."""
    part = _route_part(route)
    station = tallies.stations[route.station_id]
    tallies.county.add_share(part, 1.0)
    station.add_share(part, 1.0)
    by_township: dict[str, float] = defaultdict(float)
    for visit in route.visits:
        if visit.kind == "stop":
            code = township_of[split_stop_id(visit.id)[0]]
            by_township[code] += visit.load_kg
            for tally in (tallies.townships[code], station, tallies.county):
                tally.points_due += 1
                tally.points_served += 1
    total_kg = sum(by_township.values()) or 1.0
    for code, kg in by_township.items():
        tallies.townships[code].add_share(part, kg / total_kg)


def _route_part(route: RouteOut) -> _Part:
    """A collection route's figures."""
    return {
        "truck_days": 1.0,
        "distance_km": route.distance_m / 1000,
        "driver_hours_h": route.duration_s / 3600,
        "fixed_cost_cny": route.fixed_cost_cny,
        "distance_cost_cny": route.distance_cost_cny,
        "time_cost_cny": route.time_cost_cny,
        "co2_kg": route.co2_kg,
        "collected_kg": float(route.collected_kg),
        "unloaded_kg": float(route.collected_kg),
        "unload_capacity_kg": float(route.n_unloads * route.capacity_kg),
    }


def _add_transfer(
    tallies: _Tallies, day: DayOut, fees: dict[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    """A day's transfer trucks and gate fees; returns CNY per station (transfer, gate)."""
    transfer_cny: dict[str, float] = defaultdict(float)
    gate_cny: dict[str, float] = defaultdict(float)
    for truck in day.transfer_trucks:
        hours = (truck.depot_return_s - truck.depot_departure_s) / 3600
        part: _Part = {
            "distance_km": truck.distance_m / 1000,
            "driver_hours_h": hours,
            "co2_kg": truck.co2_kg,
        }
        tallies.county.add_share(part, 1.0)
        tallies.county.transfer_cost_cny += truck.cost_cny
        truck_kg = sum(t.load_kg for t in truck.trips) or 1
        for trip in truck.trips:
            share = trip.load_kg / truck_kg
            tallies.stations[trip.station_id].add_share(part, share)
            transfer_cny[trip.station_id] += truck.cost_cny * share
            gate_cny[trip.station_id] += trip.load_kg / 1000 * fees[trip.site_id]
    for station_id in sorted(set(transfer_cny) | set(gate_cny)):
        station = tallies.stations[station_id]
        station.transfer_cost_cny += transfer_cny[station_id]
        station.gate_fees_cny += gate_cny[station_id]
        tallies.county.gate_fees_cny += gate_cny[station_id]
    return transfer_cny, gate_cny


def _share_to_townships(
    tallies: _Tallies,
    routes: Iterable[RouteOut],
    township_of: dict[str, str],
    shared: dict[str, dict[str, float]],
) -> None:
    """A township pays its share (by kg collected) of its stations' costs in ``shared``
    (`_Tally` field -> CNY per station)."""
    township_station_kg: dict[tuple[str, str], float] = defaultdict(float)
    station_day_kg: dict[str, float] = defaultdict(float)
    for route in routes:
        for visit in route.visits:
            if visit.kind == "stop":
                code = township_of[split_stop_id(visit.id)[0]]
                township_station_kg[(code, route.station_id)] += visit.load_kg
                station_day_kg[route.station_id] += visit.load_kg
    for (code, station_id), kg in township_station_kg.items():
        share = kg / station_day_kg[station_id]
        tally = tallies.townships[code]
        for name, by_station in shared.items():
            setattr(tally, name, getattr(tally, name) + by_station.get(station_id, 0.0) * share)


def _add_streams(
    tallies: _Tallies,
    scenario: Scenario,
    day: DayOut,
    station_cny: dict[str, float],
    fees: dict[str, float],
) -> None:
    """A day's routes split by stream (kg), its unloads at stations and facilities per stream,
    its transfer trips by their streams (`_transfer_by_stream`), and the stations' own costs
    (``station_cny``) by the kg each stream unloaded there."""
    facility_fees = {f.facility_id: f.gate_fee_cny_per_t for f in scenario.facilities}
    at_station: dict[tuple[str, str], float] = defaultdict(float)  # (station, stream) → kg
    for item in day.unserved:
        tallies.streams[item.stream].points_due += 1
        tallies.streams[item.stream].points_unserved += 1
    for route in day.routes:
        by_stream: dict[str, float] = defaultdict(float)
        for visit in route.visits:
            if visit.kind == "stop":
                by_stream[visit.stream] += visit.load_kg
                tally = tallies.streams[visit.stream]
                tally.points_due += 1
                tally.points_served += 1
        for (site_id, stream), dropped in unloads_by_site([route]).items():
            if site_id in facility_fees:
                cny = dropped / 1000 * facility_fees[site_id]
                for tally in (tallies.streams[stream], tallies.county):
                    tally.diverted_kg += dropped
                    tally.gate_fees_cny += cny
            else:
                at_station[(site_id, stream)] += dropped
        total = sum(by_stream.values()) or 1.0
        part = _route_part(route)
        for stream, stream_kg in by_stream.items():
            tallies.streams[stream].add_share(part, stream_kg / total)
    _add_diverted_transfer(tallies, day, facility_fees)
    for stream, part in _transfer_by_stream(scenario, day, fees).items():
        tallies.streams[stream].add_share(part, 1.0)
    station_kg: dict[str, float] = defaultdict(float)
    for (station_id, _), unloaded in at_station.items():
        station_kg[station_id] += unloaded
    for (station_id, stream), unloaded in at_station.items():
        share = unloaded / station_kg[station_id]
        tallies.streams[stream].station_cost_cny += station_cny.get(station_id, 0.0) * share


def _add_diverted_transfer(tallies: _Tallies, day: DayOut, facility_fees: dict[str, float]) -> None:
    """The kg of each stream the transfer trucks took on to facilities (diverted like a
    collection truck's unload there; the gate fee is the trip's). A facility's excess sent on
    leaves it: not diverted, and the facility's gate fee is not paid on it."""
    for truck in day.transfer_trucks:
        for trip in truck.trips:
            for tally in (tallies.streams[trip.stream], tallies.county):
                if trip.site_id in facility_fees:
                    tally.diverted_kg += trip.load_kg
                if trip.facility_id:
                    tally.diverted_kg -= trip.load_kg
                    tally.gate_fees_cny -= trip.load_kg / 1000 * facility_fees[trip.facility_id]


def _transfer_by_stream(
    scenario: Scenario, day: DayOut, fees: dict[str, float]
) -> dict[str, _Part]:
    """Per stream, the day's transfer figures from the trips that carried it (one stream each).

    A trip's own: its km (``distance_m``, hook to site and back), its hours (hook to back),
    their cost at its truck type's CNY/km and CNY/h, the CO2 of its km, and its site's gate fee
    on its kg. The rest of a truck's day (fixed cost, positioning and return legs, waiting,
    lunch) goes to its trips' streams by the trips' own hours (equal shares if none).
    """
    rates = {v.type_id: (v.cost_per_km_cny, v.cost_per_hour_cny) for v in scenario.vehicle_types}
    parts: dict[str, _Part] = defaultdict(lambda: defaultdict(float))
    for truck in day.transfer_trucks:
        per_km, per_h = rates[truck_type(truck.truck_id)]
        km = truck.distance_m / 1000
        hours = (truck.depot_return_s - truck.depot_departure_s) / 3600
        own = [
            (trip, (trip.distance_m or 0) / 1000, (trip.end_s - trip.start_s) / 3600)
            for trip in truck.trips
        ]
        own_cny = [per_km * trip_km + per_h * trip_h for _, trip_km, trip_h in own]
        rest_km = km - sum(trip_km for _, trip_km, _ in own)
        rest_h = hours - sum(trip_h for _, _, trip_h in own)
        rest_cny = truck.cost_cny - sum(own_cny)
        own_h = sum(trip_h for _, _, trip_h in own)
        for (trip, trip_km, trip_h), cny in zip(own, own_cny, strict=True):
            share = trip_h / own_h if own_h else 1 / len(own)
            part = parts[trip.stream]
            part["distance_km"] += trip_km + rest_km * share
            part["driver_hours_h"] += trip_h + rest_h * share
            part["transfer_cost_cny"] += cny + rest_cny * share
            part["co2_kg"] += truck.co2_kg * ((trip_km + rest_km * share) / km if km else share)
            part["gate_fees_cny"] += trip.load_kg / 1000 * fees[trip.site_id]
    return parts


def _with_stream_rows(scenario: Scenario, rows: list[KpiRow], tallies: _Tallies) -> list[KpiRow]:
    """The county row with its cost per tonne and diverted share, then one row per stream."""
    county = rows[0]  # its gate fees include the facilities' (no station's or township's)
    collected_t = tallies.county.collected_kg / 1000
    county = county.model_copy(
        update={
            "cost_cny_per_t": round(county.total_cost_cny / collected_t, 2)
            if collected_t
            else None,
            "diverted_share": round(tallies.county.diverted_kg / tallies.county.collected_kg, 4)
            if tallies.county.collected_kg
            else None,
        }
    )
    out = [county, *rows[1:]]
    for stream in scenario.streams:
        tally = tallies.streams[stream.stream_id]
        row = _row("stream", stream.stream_id, stream.name_zh, tally)
        tonnes = tally.collected_kg / 1000
        out.append(
            row.model_copy(
                update={
                    "cost_cny_per_t": round(row.total_cost_cny / tonnes, 2) if tonnes else None,
                    "diverted_share": round(tally.diverted_kg / tally.collected_kg, 4)
                    if tally.collected_kg
                    else None,
                }
            )
        )
    return out


def _rows(
    scenario: Scenario,
    stations_out: Sequence[StationAssignmentOut],
    n_days: int,
    tallies: _Tallies,
) -> list[KpiRow]:
    capacity = {s.station_id: s.capacity_t_per_day for s in stations_out}
    names = {s.station_id: s.name for s in scenario.stations}
    township_names = {t.code: t.name for t in scenario.townships}
    rows = [_row("county", "county", scenario.name, tallies.county)]
    for station_id in sorted(tallies.stations):
        tally = tallies.stations[station_id]
        utilisation = None
        if capacity.get(station_id):
            utilisation = round(tally.collected_kg / 1000 / n_days / capacity[station_id], 4)
        name = names.get(station_id, station_id)
        rows.append(_row("station", station_id, name, tally, utilisation=utilisation))
    for code in sorted(tallies.townships):
        name = township_names.get(code, code)
        rows.append(_row("township", code, name, tallies.townships[code]))
    return rows


def _row(
    scope: KpiScope, ident: str, name: str, t: _Tally, utilisation: float | None = None
) -> KpiRow:
    total_cny = (
        t.fixed_cost_cny
        + t.distance_cost_cny
        + t.time_cost_cny
        + t.transfer_cost_cny
        + t.gate_fees_cny
        + t.station_cost_cny
    )
    return KpiRow(
        scope=scope,
        id=ident,
        name=name,
        collected_t=round(t.collected_kg / 1000, 3),
        points_due=t.points_due,
        points_served=t.points_served,
        points_unserved=t.points_unserved,
        trucks_used=round(t.truck_days),
        distance_km=round(t.distance_km, 2),
        driver_hours_h=round(t.driver_hours_h, 2),
        fixed_cost_cny=round(t.fixed_cost_cny, 2),
        distance_cost_cny=round(t.distance_cost_cny, 2),
        time_cost_cny=round(t.time_cost_cny, 2),
        transfer_cost_cny=round(t.transfer_cost_cny, 2),
        gate_fees_cny=round(t.gate_fees_cny, 2),
        station_cost_cny=round(t.station_cost_cny, 2),
        total_cost_cny=round(total_cny, 2),
        co2_kg=round(t.co2_kg, 2),
        station_utilisation=utilisation,
        truck_capacity_share=(
            round(t.unloaded_kg / t.unload_capacity_kg, 4) if t.unload_capacity_kg else None
        ),
    )
