"""Independent checker of a transfer plan (never imports the transfer solver's internals).

Checks every trip's timing against the travel matrix, station hours, gate hours, shifts,
maximum duration and lunch; that each site's daily capacity holds; that every station's load is
moved or reported unmoved; and recomputes distances, costs and gate fees.
"""

from __future__ import annotations

from collections import defaultdict

from sanitation.errors import VerificationError
from sanitation.transfer.problem import TransferProblem, TransferSolution, truck_day_cost

COST_TOLERANCE = 0.01  # CNY


def verify(problem: TransferProblem, solution: TransferSolution) -> list[str]:
    """Every violation found, one line each naming truck, trip, field and value."""
    problems: list[str] = []
    t, d = problem.duration_s, problem.distance_m
    stations = {s.id: s for s in problem.stations}
    sites = {s.id: s for s in problem.sites}
    trucks = {x.id: x for x in problem.trucks}
    moved: dict[str, int] = defaultdict(int)
    at_site: dict[str, int] = defaultdict(int)
    gate_fees = 0.0
    truck_cost = 0.0
    seen: set[str] = set()
    for day in solution.trucks:
        who = f"truck {day.truck!r}"
        truck = trucks.get(day.truck)
        if truck is None:
            problems.append(f"{who}: not a truck of the problem")
            continue
        if day.truck in seen:
            problems.append(f"{who}: has two days in the plan")
        seen.add(day.truck)
        if not day.trips:
            problems.append(f"{who}: used without trips")
            continue
        position, clock, distance = truck.location, day.depot_departure_s, 0
        lunch_taken = False
        lunch_end = (
            None if day.lunch_start_s is None else day.lunch_start_s + truck.lunch_duration_s
        )
        for index, trip in enumerate(day.trips):
            where = f"{who} trip {index + 1}"
            station, site = stations.get(trip.station), sites.get(trip.site)
            if station is None or site is None:
                problems.append(f"{where}: unknown station {trip.station!r} or site {trip.site!r}")
                break
            if trip.truck != day.truck:
                problems.append(f"{where}: truck field {trip.truck!r} differs")
            ready = clock
            if (
                lunch_end is not None
                and not lunch_taken
                and day.lunch_start_s is not None
                and (day.lunch_start_s <= trip.arrival_s - int(t[position, station.location]))
            ):
                if day.lunch_start_s < clock:
                    problems.append(
                        f"{where}: lunch at {day.lunch_start_s} s overlaps the previous trip"
                    )
                ready = max(clock, lunch_end)
                lunch_taken = True
            expected_arrival = ready + int(t[position, station.location])
            if trip.arrival_s < expected_arrival:
                problems.append(
                    f"{where}: arrival_s {trip.arrival_s} before {expected_arrival} (travel time)"
                )
            if trip.start_s < max(trip.arrival_s, station.open_s) or trip.start_s > station.close_s:
                problems.append(
                    f"{where}: start_s {trip.start_s} outside station {station.id!r} hours "
                    f"[{station.open_s}, {station.close_s}] or before arrival"
                )
            earliest_unload = (
                trip.start_s + station.swap_s + int(t[station.location, site.location])
            )
            if trip.unload_start_s < earliest_unload:
                problems.append(
                    f"{where}: unload_start_s {trip.unload_start_s} before {earliest_unload}"
                )
            if not site.gate_open_s <= trip.unload_start_s <= site.gate_close_s:
                problems.append(
                    f"{where}: unload_start_s {trip.unload_start_s} outside gate hours of "
                    f"{site.id!r} [{site.gate_open_s}, {site.gate_close_s}]"
                )
            expected_end = (
                trip.unload_start_s + site.unload_s + int(t[site.location, station.location])
            )
            if trip.end_s != expected_end:
                problems.append(f"{where}: end_s {trip.end_s}; expected {expected_end}")
            if not 0 < trip.load_kg <= station.container_kg:
                problems.append(
                    f"{where}: load_kg {trip.load_kg}; expected 1..{station.container_kg} kg"
                )
            distance += int(
                d[position, station.location]
                + d[station.location, site.location]
                + d[site.location, station.location]
            )
            moved[station.id] += trip.load_kg
            at_site[site.id] += trip.load_kg
            gate_fees += trip.load_kg / 1000.0 * site.gate_fee_cny_per_t
            position, clock = station.location, trip.end_s
        ready = clock
        latest_lunch = truck.lunch_window_end_s - truck.lunch_duration_s
        if truck.lunch_duration_s > 0:
            if day.lunch_start_s is None:
                if day.depot_return_s > latest_lunch:
                    problems.append(
                        f"{who}: no lunch break on a day ending at {day.depot_return_s} s, after "
                        f"the latest lunch start {latest_lunch} s"
                    )
            else:
                if not (
                    truck.lunch_window_start_s <= day.lunch_start_s
                    and lunch_end is not None
                    and lunch_end <= truck.lunch_window_end_s
                ):
                    problems.append(
                        f"{who}: lunch_start_s {day.lunch_start_s} outside the window "
                        f"[{truck.lunch_window_start_s}, {truck.lunch_window_end_s}]"
                    )
                if not lunch_taken:
                    if day.lunch_start_s < clock:
                        problems.append(f"{who}: lunch at {day.lunch_start_s} s overlaps a trip")
                    assert lunch_end is not None
                    ready = max(clock, lunch_end)
        distance += int(d[position, truck.location])
        expected_return = ready + int(t[position, truck.location])
        if day.depot_return_s < expected_return:
            problems.append(f"{who}: depot_return_s {day.depot_return_s} before {expected_return}")
        if day.depot_departure_s < truck.shift_start_s or day.depot_return_s > truck.shift_end_s:
            problems.append(
                f"{who}: day [{day.depot_departure_s}, {day.depot_return_s}] outside the shift "
                f"[{truck.shift_start_s}, {truck.shift_end_s}]"
            )
        if day.depot_return_s - day.depot_departure_s > truck.max_duration_s:
            problems.append(
                f"{who}: duration {day.depot_return_s - day.depot_departure_s} s above "
                f"max_duration_s {truck.max_duration_s}"
            )
        if distance != day.distance_m:
            problems.append(f"{who}: distance_m {day.distance_m}; recomputed {distance}")
        cost = truck_day_cost(truck, distance, day.depot_return_s - day.depot_departure_s)
        truck_cost += cost
        if abs(cost - day.cost) > COST_TOLERANCE:
            problems.append(f"{who}: cost {day.cost:.2f} CNY; recomputed {cost:.2f}")
    for site_id, kg in at_site.items():
        if kg > sites[site_id].capacity_kg:
            problems.append(
                f"site {site_id!r}: receives {kg} kg; capacity {sites[site_id].capacity_kg} kg"
            )
    unmoved = defaultdict(int)
    for item in solution.unmoved:
        unmoved[item.station] += item.load_kg
        if not item.reason:
            problems.append(f"station {item.station!r}: unmoved load without a reason")
    for station in problem.stations:
        if moved[station.id] + unmoved[station.id] != station.load_kg:
            problems.append(
                f"station {station.id!r}: moved {moved[station.id]} kg + unmoved "
                f"{unmoved[station.id]} kg; expected its load {station.load_kg} kg"
            )
    if abs(gate_fees - solution.gate_fees) > COST_TOLERANCE * max(1, len(solution.trips)):
        problems.append(f"gate_fees {solution.gate_fees:.2f} CNY; recomputed {gate_fees:.2f}")
    if abs(truck_cost - solution.truck_cost) > COST_TOLERANCE * max(1, len(solution.trucks)):
        problems.append(f"truck_cost {solution.truck_cost:.2f} CNY; recomputed {truck_cost:.2f}")
    return problems


def check(problem: TransferProblem, solution: TransferSolution) -> None:
    """Raise `VerificationError` listing every violation, if any."""
    violations = verify(problem, solution)
    if violations:
        msg = f"transfer plan violates {len(violations)} constraint(s): {violations[0]}"
        raise VerificationError(msg, violations)
