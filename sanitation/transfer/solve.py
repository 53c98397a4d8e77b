"""Transfer-leg solver: split containers over disposal sites (CP-SAT), then list-schedule trips."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from sanitation.errors import InfeasibleError
from sanitation.transfer.problem import (
    DisposalSite,
    TransferProblem,
    TransferSolution,
    TransferStation,
    TransferTruck,
    Trip,
    TruckDay,
    UnmovedLoad,
    truck_day_cost,
)


def _containers(load_kg: int, container_kg: int) -> list[int]:
    """Container loads (kg): full ones, then the rest."""
    full, rest = divmod(load_kg, container_kg)
    return [container_kg] * full + ([rest] if rest else [])


def _check_destinations(problem: TransferProblem) -> None:
    """Every stream a source (station, or facility over capacity) holds has somewhere to go,
    and each stream fits the room of the sites that take it (and the day's load all sites).

    Raises
    ------
    InfeasibleError
        Naming each source and stream with nowhere to go, or the capacity short and its sites.
    """
    nowhere = [
        f"{station.what}: no disposal site or facility takes its stream {stream!r} "
        f"({kg / 1000:.1f} t today)"
        for station in problem.stations
        for stream, kg in station.loads().items()
        if not problem.destinations(station.id, stream)
    ]
    if nowhere:
        msg = f"{len(nowhere)} stream(s) of stations or facilities have nowhere to go: {nowhere[0]}"
        raise InfeasibleError(msg, [msg, *nowhere])
    total = sum(s.load_kg for s in problem.stations)
    capacity = sum(s.room_kg for s in problem.sites)
    if total > capacity:
        msg = (
            f"disposal capacity short by {(total - capacity) / 1000:.1f} t today: stations send "
            f"{total / 1000:.1f} t, sites {', '.join(s.id for s in problem.sites)} take "
            f"{capacity / 1000:.1f} t"
        )
        raise InfeasibleError(msg)
    sent: dict[str, int] = {}
    senders: dict[str, list[str]] = {}
    taking: dict[str, set[str]] = {}
    for station in problem.stations:
        for stream, kg in station.loads().items():
            sent[stream] = sent.get(stream, 0) + kg
            senders.setdefault(stream, []).append(station.what)
            taking.setdefault(stream, set()).update(
                site.id for site in problem.destinations(station.id, stream)
            )
    for stream, kg in sorted(sent.items()):
        room = sum(problem.site(site_id).room_kg for site_id in taking[stream])
        if kg > room:
            msg = (
                f"capacity for stream {stream!r} short by {(kg - room) / 1000:.1f} t today: "
                f"{', '.join(senders[stream])} send {kg / 1000:.1f} t, sites "
                f"{', '.join(sorted(taking[stream]))} take {room / 1000:.1f} t"
            )
            raise InfeasibleError(msg)


def _solved(solver: cp_model.CpSolver, model: cp_model.CpModel) -> None:
    """Solve ``model``; raise `InfeasibleError` when no split exists."""
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        msg = f"no split of the day's load over the disposal sites ({solver.status_name(status)})"
        raise InfeasibleError(msg)


def split_to_sites(
    problem: TransferProblem, *, seed: int = 1
) -> dict[tuple[str, str, str], list[int]]:
    """(source, stream, site) → container loads (kg), cheapest within the sites' room; each
    source's stream goes only to its `TransferProblem.destinations`, and first as much as
    possible to its `TransferProblem.preferred` facilities (a first solve minimises the kg sent
    past them, a second the cost with that kg fixed).

    Raises
    ------
    InfeasibleError
        When a source's stream has nowhere to go, or the sites' room is below the day's load
        (names both).
    """
    _check_destinations(problem)
    reference = max(problem.trucks, key=lambda t: t.cost_cny_per_km, default=None)
    km_cost_cny = reference.cost_cny_per_km if reference else 0.0
    hour_cost_cny = reference.cost_cny_per_h if reference else 0.0
    model = cp_model.CpModel()
    kg: dict[tuple[str, str, str], cp_model.IntVar] = {}
    trips: dict[tuple[str, str, str], cp_model.IntVar] = {}
    objective = []
    past_facilities = []  # kg of a sorted stream sent to disposal though facilities take it
    for station in problem.stations:
        for stream, load_kg in station.loads().items():
            n_max = math.ceil(load_kg / station.container_kg)
            sites = problem.destinations(station.id, stream)
            preferred = problem.preferred(station.id, stream)
            for site in sites:
                key = (station.id, stream, site.id)
                kg[key] = model.new_int_var(0, load_kg, f"kg{key}")
                trips[key] = model.new_int_var(0, n_max, f"trips{key}")
                model.add(trips[key] * station.container_kg >= kg[key])
                if preferred and site.id not in preferred:
                    past_facilities.append(kg[key])
                round_m = (
                    problem.distance_m[station.location, site.location]
                    + problem.distance_m[site.location, station.location]
                )
                round_s = (
                    problem.duration_s[station.location, site.location]
                    + problem.duration_s[site.location, station.location]
                    + site.unload_s
                    + station.swap_s
                )
                trip_cost_cny = km_cost_cny * round_m / 1000.0 + hour_cost_cny * round_s / 3600.0
                # integer objective in units of 1e-4 CNY: a fee of F CNY/t is F/1000 CNY per kg
                objective.append(round(site.gate_fee_cny_per_t * 10) * kg[key])
                objective.append(round(trip_cost_cny * 10_000) * trips[key])
            model.add(sum(kg[(station.id, stream, s.id)] for s in sites) == load_kg)
    for site in problem.sites:
        into = [var for key, var in kg.items() if key[2] == site.id]
        if into:
            model.add(sum(into) <= site.room_kg)
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = 5.0
    if past_facilities:
        model.minimize(sum(past_facilities))
        _solved(solver, model)
        model.add(sum(past_facilities) <= round(solver.objective_value))
    model.minimize(sum(objective))
    _solved(solver, model)
    plan: dict[tuple[str, str, str], list[int]] = {}
    for key, var in kg.items():
        amount = solver.value(var)
        if amount:
            plan[key] = _containers(amount, problem.station(key[0]).container_kg)
    return plan


@dataclass
class _TruckState:
    truck: TransferTruck
    position: int
    clock: int
    departure: int | None = None
    lunch: int | None = None
    trips: list[Trip] = field(default_factory=list)
    distance: int = 0


def _latest_lunch_s(truck: TransferTruck) -> int:
    """Latest start of the truck's break (s since midnight)."""
    return truck.lunch_window_end_s - truck.lunch_duration_s


def _lunch_after(truck: TransferTruck, clock: int) -> int | None:
    """Start of a break taken where the truck stands at ``clock`` (s), or None if it no longer
    fits in the window. The transfer rule (the verifier keeps its own copy): the break starts at
    or after the truck's last departure-ready time and the truck moves on only after it."""
    lunch = max(clock, truck.lunch_window_start_s)
    return lunch if lunch <= _latest_lunch_s(truck) else None


def _try_trip(
    problem: TransferProblem,
    state: _TruckState,
    station: TransferStation,
    site: DisposalSite,
    load: int,
    stream: str = "",
) -> tuple[Trip, int, int | None, int, int] | None:
    """Timing of one more trip for this truck (trip, end clock, lunch start, distance, depot
    departure), or None.

    A truck still owing its break takes it before the trip when the trip could not end by the
    latest lunch start. Before a truck's first trip that break starts its day: the depot
    departure is the break's start, so the break lies inside the day (between departure and the
    first trip), where the verifier looks for it.
    """
    truck = state.truck
    d, t = problem.distance_m, problem.duration_s
    clock = max(state.clock, truck.shift_start_s)
    lunch = state.lunch
    to_station = int(t[state.position, station.location])
    leg = int(t[station.location, site.location])
    back = int(t[site.location, station.location])

    def timeline(start_clock: int) -> tuple[int, int, int, int]:
        arrival = start_clock + to_station
        start = max(arrival, station.open_s)
        at_site = start + station.swap_s + leg
        unload = max(at_site, site.gate_open_s)
        end = unload + site.unload_s + back
        return arrival, start, unload, end

    departure = clock
    arrival, start, unload, end = timeline(clock)
    owes_lunch = truck.lunch_duration_s > 0 and lunch is None
    if owes_lunch and end > _latest_lunch_s(truck):
        # no room to finish this trip before the latest lunch: take lunch first
        lunch = _lunch_after(truck, clock)
        if lunch is None:
            return None
        departure = lunch
        arrival, start, unload, end = timeline(lunch + truck.lunch_duration_s)
    if start > station.close_s or unload > site.gate_close_s:
        return None
    first_departure = state.departure if state.departure is not None else departure
    home = int(t[station.location, truck.location])
    finish = end + home
    if truck.lunch_duration_s > 0 and lunch is None and finish > _latest_lunch_s(truck):
        # the day reaches past the latest lunch start: lunch must still fit after this trip
        lunch_after = _lunch_after(truck, end)
        if lunch_after is None:
            return None
        finish = max(finish, lunch_after + truck.lunch_duration_s + home)
    if finish > truck.shift_end_s or finish - first_departure > truck.max_duration_s:
        return None
    distance = int(
        d[state.position, station.location]
        + d[station.location, site.location]
        + d[site.location, station.location]
    )
    trip = Trip(truck.id, station.id, site.id, load, arrival, start, unload, end, stream)
    return trip, end, lunch, distance, first_departure


FLEET_FULL = (
    "every hook-lift truck that could make this trip has its day full (shift, maximum "
    "duration); more trucks, or a nearer disposal site, would move it"
)
NO_TRUCK = (
    "no hook-lift truck can make this trip even on a day of its own: the round trip does not "
    "fit its shift, maximum duration, lunch window and the disposal gate hours"
)


def _unmoved_reason(
    problem: TransferProblem, station: TransferStation, site: DisposalSite, load: int
) -> str:
    """Why a container no truck took stays: the trucks are busy, or no truck could make it."""
    for truck in problem.trucks:
        idle = _TruckState(truck, truck.location, truck.shift_start_s)
        if _try_trip(problem, idle, station, site, load) is not None:
            return FLEET_FULL
    return NO_TRUCK


def solve(problem: TransferProblem, *, seed: int = 1) -> TransferSolution:
    """Split the day's load over the sites, then schedule the trips on the trucks."""
    plan = split_to_sites(problem, seed=seed)
    states = {
        truck.id: _TruckState(truck, truck.location, truck.shift_start_s)
        for truck in problem.trucks
    }
    jobs = [
        (station_id, site_id, load, stream)
        for (station_id, stream, site_id), loads in sorted(plan.items())
        for load in loads
    ]

    def trip_length(job: tuple[str, str, int, str]) -> int:
        station, site = problem.station(job[0]), problem.site(job[1])
        return int(
            problem.duration_s[station.location, site.location]
            + problem.duration_s[site.location, station.location]
        )

    jobs.sort(key=lambda job: (-trip_length(job), job))
    unmoved: dict[tuple[str, str, str], int] = {}
    for station_id, site_id, load, stream in jobs:
        station, site = problem.station(station_id), problem.site(site_id)
        best = None
        for state in states.values():
            timing = _try_trip(problem, state, station, site, load, stream)
            if timing is None:
                continue
            own = state.truck.home_station == station.via
            used = 1 if state.trips else 0
            key = (not own, timing[1], -used, state.truck.id)
            if best is None or key < best[0]:
                best = (key, state, timing)
        if best is None:
            reason = _unmoved_reason(problem, station, site, load)
            where = (station_id, stream, reason)
            unmoved[where] = unmoved.get(where, 0) + load
            continue
        _, state, (trip, end, lunch, distance, departure) = best
        state.departure = departure
        state.trips.append(trip)
        state.clock, state.lunch, state.position = end, lunch, station.location
        state.distance += distance
    days = []
    truck_cost_cny = 0.0
    for state in states.values():
        if not state.trips:
            continue
        truck = state.truck
        home = int(problem.duration_s[state.position, truck.location])
        lunch = state.lunch
        back = state.clock + home
        if truck.lunch_duration_s > 0 and lunch is None and back > _latest_lunch_s(truck):
            lunch = _lunch_after(truck, state.clock)  # fits: checked with the last trip
        if lunch is not None and lunch >= state.clock:
            back = max(back, lunch + truck.lunch_duration_s + home)
        distance = state.distance + int(problem.distance_m[state.position, truck.location])
        if state.departure is None:  # pragma: no cover - set with the first trip
            msg = f"transfer truck {truck.id!r} has trips but no depot departure"
            raise RuntimeError(msg)
        cost_cny = truck_day_cost(truck, distance, back - state.departure)
        truck_cost_cny += cost_cny
        days.append(
            TruckDay(truck.id, state.departure, back, tuple(state.trips), lunch, distance, cost_cny)
        )
    gate_fees_cny = sum(
        trip.load_kg / 1000.0 * problem.site(trip.site).gate_fee_cny_per_t
        for day in days
        for trip in day.trips
    )
    return TransferSolution(
        trucks=tuple(days),
        unmoved=tuple(
            UnmovedLoad(s, kg, reason, stream)
            for (s, stream, reason), kg in sorted(unmoved.items())
        ),
        gate_fees_cny=round(gate_fees_cny, 2),
        truck_cost_cny=round(truck_cost_cny, 2),
        stats={"trips": float(sum(len(d.trips) for d in days))},
    )
