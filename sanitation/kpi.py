"""KPIs of a plan per county, station and township, over all its dates.

Collection costs, km, hours and CO2 belong to the station whose trucks drove them; a township gets
each route's share in proportion to the kilograms collected from its points. Transfer-truck costs
go to stations in proportion to the kilograms each truck moved for them; gate fees to the station
whose waste paid them. CO2 = diesel litres × the scenario's factor (2.68 kg CO2 per litre, the
IPCC 2006 default for diesel: 74,100 kg CO2/TJ × 43.0 TJ/Gg × 0.84 kg/L), with litres from each
vehicle type's ``fuel_l_per_100km``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sanitation.plan.model import AssignmentOut, DayOut, KpiRow
from sanitation.scenario.model import Scenario

CO2_NOTE = (
    "CO2 = diesel litres (km × the vehicle type's L/100 km) × {factor} kg CO2/L; 2.68 is the "
    "IPCC 2006 Guidelines default for diesel (74,100 kg CO2/TJ, NCV 43.0 TJ/Gg, density 0.84 kg/L)."
)


class _Tally:
    def __init__(self) -> None:
        self.kg = 0.0
        self.due = 0
        self.served = 0
        self.unserved = 0
        self.trucks = 0.0
        self.km = 0.0
        self.hours = 0.0
        self.fixed = 0.0
        self.distance = 0.0
        self.time = 0.0
        self.transfer = 0.0
        self.gate = 0.0
        self.co2 = 0.0
        self.unloaded = 0.0
        self.unload_capacity = 0.0

    def add_share(self, other: dict[str, float], share: float) -> None:
        for key, value in other.items():
            setattr(self, key, getattr(self, key) + value * share)


def plan_kpis(
    scenario: Scenario, assignment: AssignmentOut, days: Sequence[DayOut]
) -> list[KpiRow]:
    """County, station and township KPI rows (see the module docstring)."""
    township_of = scenario.township_of_point()
    county = _Tally()
    stations: dict[str, _Tally] = defaultdict(_Tally)
    townships: dict[str, _Tally] = defaultdict(_Tally)
    for day in days:
        # every due point is served on a route or listed unserved (the verifier's invariant)
        for item in day.unserved:
            for tally in (stations[item.station_id], townships[item.township_code], county):
                tally.unserved += 1
                tally.due += 1
        for route in day.routes:
            part = {
                "trucks": 1.0,
                "km": route.distance_m / 1000,
                "hours": route.duration_s / 3600,
                "fixed": route.fixed_cost_cny,
                "distance": route.distance_cost_cny,
                "time": route.time_cost_cny,
                "co2": route.co2_kg,
                "kg": float(route.collected_kg),
                "unloaded": float(route.collected_kg),
                "unload_capacity": float(route.n_unloads * route.capacity_kg),
            }
            county.add_share(part, 1.0)
            stations[route.station_id].add_share(part, 1.0)
            by_township: dict[str, float] = defaultdict(float)
            for visit in route.visits:
                if visit.kind == "stop":
                    by_township[township_of[visit.id]] += visit.load_kg
                    for tally in (
                        townships[township_of[visit.id]],
                        stations[route.station_id],
                        county,
                    ):
                        tally.due += 1
                        tally.served += 1
            total = sum(by_township.values()) or 1.0
            for code, kg in by_township.items():
                townships[code].add_share(part, kg / total)
        fees = {s.site_id: s.gate_fee_cny_per_t for s in scenario.disposal_sites}
        day_transfer: dict[str, float] = defaultdict(float)
        day_gate: dict[str, float] = defaultdict(float)
        for truck in day.transfer_trucks:
            hours = (truck.depot_return_s - truck.depot_departure_s) / 3600
            part = {"km": truck.distance_m / 1000, "hours": hours, "co2": truck.co2_kg}
            county.add_share(part, 1.0)
            county.transfer += truck.cost_cny
            truck_kg = sum(t.load_kg for t in truck.trips) or 1
            for trip in truck.trips:
                share = trip.load_kg / truck_kg
                stations[trip.station_id].add_share(part, share)
                day_transfer[trip.station_id] += truck.cost_cny * share
                day_gate[trip.station_id] += trip.load_kg / 1000 * fees[trip.site_id]
        for station_id in set(day_transfer) | set(day_gate):
            stations[station_id].transfer += day_transfer[station_id]
            stations[station_id].gate += day_gate[station_id]
            county.gate += day_gate[station_id]
        # a township pays its share (by kg collected) of its stations' transfer and gate fees
        township_station_kg: dict[tuple[str, str], float] = defaultdict(float)
        station_day_kg: dict[str, float] = defaultdict(float)
        for route in day.routes:
            for visit in route.visits:
                if visit.kind == "stop":
                    township_station_kg[(township_of[visit.id], route.station_id)] += visit.load_kg
                    station_day_kg[route.station_id] += visit.load_kg
        for (code, station_id), kg in township_station_kg.items():
            share = kg / station_day_kg[station_id]
            townships[code].transfer += day_transfer[station_id] * share
            townships[code].gate += day_gate[station_id] * share
    capacity = {s.station_id: s.capacity_t_per_day for s in assignment.stations}
    n_days = max(1, len(days))
    names = {s.station_id: s.name for s in scenario.stations}
    township_names = {t.code: t.name for t in scenario.townships}
    rows = [_row("county", "county", scenario.name, county)]
    for station_id in sorted(stations):
        util = None
        if capacity.get(station_id):
            util = round(stations[station_id].kg / 1000 / n_days / capacity[station_id], 4)
        rows.append(
            _row(
                "station",
                station_id,
                names.get(station_id, station_id),
                stations[station_id],
                utilisation=util,
            )
        )
    for code in sorted(townships):
        rows.append(_row("township", code, township_names.get(code, code), townships[code]))
    return rows


def _row(scope: str, ident: str, name: str, t: _Tally, utilisation: float | None = None) -> KpiRow:
    total = t.fixed + t.distance + t.time + t.transfer + t.gate
    return KpiRow(
        scope=scope,  # type: ignore[arg-type]
        id=ident,
        name=name,
        collected_t=round(t.kg / 1000, 3),
        points_due=round(t.due),
        points_served=round(t.served),
        points_unserved=round(t.unserved),
        trucks_used=round(t.trucks),
        distance_km=round(t.km, 2),
        driver_hours_h=round(t.hours, 2),
        fixed_cost_cny=round(t.fixed, 2),
        distance_cost_cny=round(t.distance, 2),
        time_cost_cny=round(t.time, 2),
        transfer_cost_cny=round(t.transfer, 2),
        gate_fees_cny=round(t.gate, 2),
        total_cost_cny=round(total, 2),
        co2_kg=round(t.co2, 2),
        station_utilisation=utilisation,
        truck_capacity_share=(
            round(t.unloaded / t.unload_capacity, 4) if t.unload_capacity else None
        ),
    )
