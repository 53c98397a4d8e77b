"""The transfer trips (station → disposal site) of a re-planned day: recomputed from the
stations' new arrivals for the stations whose arrivals changed.

A station's arrivals are the kg its collection trucks unload there (the unload visits of the
day's routes) plus the loads towed to it (``truck_down`` with ``tow_to``); a broken-down
truck's load that is not towed never arrives. As in ``plan``, the transfer model moves a
station's day load (kg) in containers; the times of the arrivals do not enter it.

The trips' state at ``t`` follows the collection rule: a hook-lift truck that set out for a
trip before ``t`` (from its depot, its previous trip's station or the end of its lunch) makes
that trip as it was planned (*kept*); a truck whose trips are all kept is done for the day.
The stations re-planned are those whose arrivals changed, joined by every station whose
not-yet-started trips share a truck with them; their trips not kept are planned again for
their kg still to move (arrivals minus the kg the kept trips and the other trucks' trips take)
on the trucks that are free: idle ones, and those whose remaining trips were all at those
stations. Every other trip stays as it was.

The rest of the day is one `sanitation.transfer.TransferProblem` solved by the transfer
solver and checked by the transfer verifier as it stands: a truck that continues after its
kept trips gets a location of its own whose outgoing travel is its last station's and whose
incoming travel is its depot's (it sets out from where it is and goes home), a shift from when
it is free, the part of its maximum duration not yet used, no fixed cost (already paid) and no
lunch if it took it. The whole day (kept, other and new trips) is then checked again by the
transfer verifier when no closure changes the roads (with a closure, the trips before ``t``
were driven on the old roads).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sanitation.errors import VerificationError
from sanitation.plan.context import PlanningContext
from sanitation.plan.fleet import FleetPlan
from sanitation.plan.model import (
    DayOut,
    PlanDocument,
    TransferTripOut,
    TransferTruckOut,
    UnmovedOut,
)
from sanitation.plan.transfer_day import build_transfer_problem, transfer_out
from sanitation.replan.events import Event, TruckDown
from sanitation.transfer import (
    TransferProblem,
    TransferSolution,
    TransferTruck,
    Trip,
    TruckDay,
    UnmovedLoad,
    truck_day_cost,
)
from sanitation.transfer import solve as solve_transfer
from sanitation.verify.transfer import check as check_transfer


def arrivals_kg(day: DayOut, towed_kg: Mapping[str, int] | None = None) -> dict[str, int]:
    """Kg arriving at each station: its unloads in the day's routes plus ``towed_kg``."""
    out: dict[str, int] = defaultdict(int)
    for route in day.routes:
        for v in route.visits:
            if v.kind == "unload":
                out[v.id] += v.load_kg
    for station_id, kg in (towed_kg or {}).items():
        out[station_id] += kg
    return dict(out)


def towed_kg(events: Sequence[Event], loads_kg: Mapping[str, int]) -> dict[str, int]:
    """Kg towed to each station: ``loads_kg`` (vehicle -> kg on board when it broke down) of
    the trucks whose ``truck_down`` names a ``tow_to`` station."""
    out: dict[str, int] = defaultdict(int)
    for ev in events:
        if isinstance(ev, TruckDown) and ev.tow_to is not None:
            out[ev.tow_to] += loads_kg.get(ev.vehicle, 0)
    return dict(out)


def _trip(trip: TransferTripOut) -> Trip:
    return Trip(
        trip.truck_id,
        trip.station_id,
        trip.site_id,
        trip.load_kg,
        trip.arrival_s,
        trip.start_s,
        trip.unload_start_s,
        trip.end_s,
    )


def truck_day(out: TransferTruckOut) -> TruckDay:
    """A plan's hook-lift truck day as the transfer solver's `TruckDay`."""
    return TruckDay(
        out.truck_id,
        out.depot_departure_s,
        out.depot_return_s,
        tuple(_trip(t) for t in out.trips),
        out.lunch_start_s,
        out.distance_m,
        out.cost_cny,
    )


def kept_count(day: TruckDay, lunch_duration_s: int, at_s: int) -> int:
    """How many of the truck's trips it set out for before ``at_s`` (they stay as planned)."""
    n = 0
    ready = day.depot_departure_s
    for trip in day.trips:
        leave = ready
        lunch = day.lunch_start_s
        if lunch is not None and ready <= lunch < trip.arrival_s:
            leave = max(leave, lunch + lunch_duration_s)
        if leave >= at_s:
            break
        n += 1
        ready = trip.end_s
    return n


@dataclass(frozen=True)
class TransferReplan:
    """The re-planned day's transfer: truck days, unmoved loads, the stations re-planned and
    their kg (old arrivals, new arrivals)."""

    trucks: list[TransferTruckOut]
    unmoved: list[UnmovedOut]
    gate_fees_cny: float
    truck_cost_cny: float
    stations: dict[str, tuple[int, int]]


def _fleet(doc: PlanDocument) -> FleetPlan:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in doc.fleet.rows if doc.fleet is not None else ():
        if row.scope == "station" and row.role == "transfer" and row.working > 0:
            counts[row.station_id][row.type_id] = row.working
    return FleetPlan(counts, ())


def _replanned(
    changed: set[str], future: Mapping[str, Sequence[Trip]]
) -> tuple[set[str], set[str]]:
    """The stations re-planned (``changed`` and every station sharing a truck's not-kept trips
    with them) and the trucks whose not-kept trips are theirs."""
    stations = set(changed)
    trucks: set[str] = set()
    grew = True
    while grew:
        grew = False
        for truck, trips in future.items():
            at = {t.station for t in trips}
            if truck not in trucks and at & stations:
                trucks.add(truck)
                grew = bool(at - stations) or grew
                stations |= at
    return stations, trucks


@dataclass
class _Split:
    """The old day split at ``t``: per truck its day, kept trips and the trips not kept."""

    days: dict[str, TruckDay]
    kept: dict[str, tuple[Trip, ...]]
    future: dict[str, tuple[Trip, ...]]


def _split(problem: TransferProblem, old: DayOut, at_s: int) -> _Split:
    lunch = {t.id: t.lunch_duration_s for t in problem.trucks}
    days = {o.truck_id: truck_day(o) for o in old.transfer_trucks}
    kept, future = {}, {}
    for truck, day in days.items():
        n = kept_count(day, lunch.get(truck, 0), at_s)
        kept[truck], future[truck] = day.trips[:n], day.trips[n:]
    return _Split(days, kept, future)


def _walk_m(problem: TransferProblem, truck: TransferTruck, trips: Sequence[Trip]) -> int:
    """Metres from the depot through ``trips`` (back at the last trip's station)."""
    d = problem.distance_m
    where, total = truck.location, 0
    for trip in trips:
        st, site = problem.station(trip.station).location, problem.site(trip.site).location
        total += int(d[where, st] + d[st, site] + d[site, st])
        where = st
    return total


@dataclass(frozen=True)
class _Continuing:
    """A truck going on after its kept trips: free from ``clock_s``, lunch taken or not; from
    its last station, or (``day``: it made its whole day) from its depot after its return."""

    truck: TransferTruck
    kept: tuple[Trip, ...]
    departure_s: int
    clock_s: int
    lunch_start_s: int | None
    lunch_taken: bool
    day: TruckDay | None = None


def _continuing(
    truck: TransferTruck, day: TruckDay, kept: tuple[Trip, ...], at_s: int
) -> _Continuing:
    clock = max(kept[-1].end_s, at_s)
    lunch = day.lunch_start_s
    taken = lunch is not None and lunch < clock
    if taken and lunch is not None:
        clock = max(clock, lunch + truck.lunch_duration_s)
    return _Continuing(truck, kept, day.depot_departure_s, clock, lunch, taken)


def _second_tour(truck: TransferTruck, day: TruckDay, at_s: int) -> _Continuing:
    """A truck that made its whole day goes out again from its depot (after its return)."""
    clock = max(day.depot_return_s, at_s)
    taken = day.lunch_start_s is not None
    return _Continuing(
        truck, day.trips, day.depot_departure_s, clock, day.lunch_start_s, taken, day
    )


def _rest_problem(
    full: TransferProblem,
    remaining_kg: Mapping[str, int],
    staying_at_site_kg: Mapping[str, int],
    fresh: Sequence[TransferTruck],
    going_on: Sequence[_Continuing],
    at_s: int,
) -> TransferProblem:
    """The rest of the day as a transfer problem (see the module docstring)."""
    n = full.duration_s.shape[0]
    src, dst = list(range(n)), list(range(n))
    trucks = []
    for truck in fresh:
        start = max(truck.shift_start_s, at_s)
        if start < truck.shift_end_s:
            trucks.append(dataclasses.replace(truck, shift_start_s=start))
    for c in going_on:
        left_s = c.truck.max_duration_s - (c.clock_s - c.departure_s)
        if left_s <= 0 or c.clock_s >= c.truck.shift_end_s:
            continue
        location = c.truck.location
        if c.day is None:
            src.append(full.station(c.kept[-1].station).location)
            dst.append(c.truck.location)
            location = len(src) - 1
        trucks.append(
            dataclasses.replace(
                c.truck,
                location=location,
                shift_start_s=c.clock_s,
                max_duration_s=left_s,
                lunch_duration_s=0 if c.lunch_taken else c.truck.lunch_duration_s,
                fixed_cost_cny=0.0,
            )
        )
    rows, cols = np.array(src), np.array(dst)
    return TransferProblem(
        duration_s=full.duration_s[np.ix_(rows, cols)],
        distance_m=full.distance_m[np.ix_(rows, cols)],
        stations=tuple(
            dataclasses.replace(s, load_kg=remaining_kg.get(s.id, 0)) for s in full.stations
        ),
        sites=tuple(
            dataclasses.replace(
                s, capacity_kg=max(0, s.capacity_kg - staying_at_site_kg.get(s.id, 0))
            )
            for s in full.sites
        ),
        trucks=tuple(trucks),
    )


def _joined(full: TransferProblem, c: _Continuing, kept_m: int, rest: TruckDay | None) -> TruckDay:
    """A continuing truck's whole day: its kept trips (``kept_m`` metres), then its rest (or
    straight home; a second tour: its day, then the rest)."""
    last = full.station(c.kept[-1].station).location
    if c.day is not None and rest is None:
        return c.day
    if rest is not None:
        lunch = c.lunch_start_s if c.lunch_taken else rest.lunch_start_s
        distance, ret = kept_m + rest.distance_m, rest.depot_return_s
        trips = (*c.kept, *rest.trips)
    else:
        lunch = c.lunch_start_s  # taken, or planned after the kept trips: it still fits
        ready = c.kept[-1].end_s
        if lunch is not None and lunch >= ready:
            ready = lunch + c.truck.lunch_duration_s
        distance = kept_m + int(full.distance_m[last, c.truck.location])
        ret = ready + int(full.duration_s[last, c.truck.location])
        trips = c.kept
    cost = truck_day_cost(c.truck, distance, ret - c.departure_s)
    return TruckDay(c.truck.id, c.departure_s, ret, trips, lunch, distance, cost)


def _fill_kept(
    problem: TransferProblem,
    split: _Split,
    moving: set[str],
    replanned: set[str],
    new_kg: Mapping[str, int],
) -> dict[str, int]:
    """Give the trips that stay at the re-planned stations the stations' new arrivals, in the
    order they were made, each up to its planned load (a trip left with nothing is dropped);
    ``split`` is updated. Returns the kg each re-planned station still has to move."""
    budget = {s: new_kg.get(s, 0) for s in replanned}
    staying = sorted(
        (trip.start_s, truck, i, trip)
        for truck, day in split.days.items()
        for i, trip in enumerate(split.kept[truck] if truck in moving else day.trips)
        if trip.station in budget
    )
    load: dict[tuple[str, int], int] = {}
    for _, truck, i, trip in staying:
        load[(truck, i)] = min(trip.load_kg, budget[trip.station])
        budget[trip.station] -= load[(truck, i)]
    for truck in {truck for _, truck, _, _ in staying}:
        day = split.days[truck]
        old = split.kept[truck] if truck in moving else day.trips
        trips = tuple(
            dataclasses.replace(t, load_kg=load.get((truck, i), t.load_kg))
            for i, t in enumerate(old)
            if load.get((truck, i), t.load_kg) > 0
        )
        if truck in moving:
            split.kept[truck] = trips
        elif not trips:
            del split.days[truck]
        elif len(trips) < len(old):
            split.days[truck] = _shortened(problem, day, trips)
        else:
            split.days[truck] = dataclasses.replace(day, trips=trips)
    return budget


def _shortened(problem: TransferProblem, day: TruckDay, trips: tuple[Trip, ...]) -> TruckDay:
    """A truck day without the trips dropped (times as planned; metres and CNY again)."""
    truck = problem.truck(day.truck)
    last = problem.station(trips[-1].station).location
    distance = _walk_m(problem, truck, trips) + int(problem.distance_m[last, truck.location])
    cost = truck_day_cost(truck, distance, day.depot_return_s - day.depot_departure_s)
    return dataclasses.replace(day, trips=trips, distance_m=distance, cost_cny=cost)


def _check(problem: TransferProblem, solution: TransferSolution, where: str) -> None:
    """The transfer verifier's check, its error saying where."""
    try:
        check_transfer(problem, solution)
    except VerificationError as error:
        error.add_context(where, stage="transfer")
        raise


def _kg_by(trips: Sequence[Trip], key: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for trip in trips:
        out[getattr(trip, key)] += trip.load_kg
    return out


def replan_transfer(
    base_ctx: PlanningContext,
    ctx: PlanningContext,
    doc: PlanDocument,
    new_day: DayOut,
    towed: Mapping[str, int],
    at_s: int,
    *,
    roads_changed: bool,
    seed: int,
) -> TransferReplan | None:
    """The transfer of ``new_day`` (the re-planned day of ``doc``) from ``at_s`` on, or None
    when no station's arrivals changed (the old trips stand). ``ctx`` is the re-plan's
    context (its roads after ``t``), ``base_ctx`` the plan's; ``roads_changed``: closures
    are in force.

    Raises
    ------
    VerificationError
        The transfer verifier rejects the rest of the day or the whole day.
    InfeasibleError
        The disposal sites cannot take what is still to move.
    """
    old_day = doc.days[0]
    old_kg, new_kg = arrivals_kg(old_day), arrivals_kg(new_day, towed)
    changed = {s for s in {*old_kg, *new_kg} if old_kg.get(s, 0) != new_kg.get(s, 0)}
    if not changed:
        return None
    stations = {*new_kg, *old_kg, *(t.home_station for t in old_day.transfer_trucks)}
    stations |= {trip.station_id for t in old_day.transfer_trucks for trip in t.trips}
    fleet = _fleet(doc)
    full = build_transfer_problem(ctx, {s: {} for s in stations}, fleet)
    old_full = (
        build_transfer_problem(base_ctx, {s: {} for s in stations}, fleet)
        if roads_changed
        else full
    )
    split = _split(full, old_day, at_s)
    replanned, moving = _replanned(changed, split.future)
    remaining = _fill_kept(old_full, split, moving, replanned, new_kg)
    staying = [
        trip
        for truck, day in split.days.items()
        for trip in (split.kept[truck] if truck in moving else day.trips)
    ]
    at_station, at_site = _kg_by(staying, "station"), _kg_by(staying, "site")
    fresh, going_on = [], []
    for truck in full.trucks:
        day = split.days.get(truck.id)
        if day is None or (truck.id in moving and not split.kept[truck.id]):
            fresh.append(truck)
        elif truck.id in moving:
            going_on.append(_continuing(truck, day, split.kept[truck.id], at_s))
        elif not split.future[truck.id]:
            going_on.append(_second_tour(truck, day, at_s))
    rest = _rest_problem(full, remaining, at_site, fresh, going_on, at_s)
    rest_solution = solve_transfer(rest, seed=seed)
    _check(rest, rest_solution, f"transfer trips after the re-plan time {at_s} s")
    rest_days = {d.truck: d for d in rest_solution.trucks}
    continuing = {c.truck.id: c for c in going_on}
    days = []
    for truck in full.trucks:
        if truck.id in continuing:
            c = continuing[truck.id]
            kept_m = c.day.distance_m if c.day else _walk_m(old_full, truck, c.kept)
            days.append(_joined(full, c, kept_m, rest_days.get(truck.id)))
        elif truck.id in rest_days:
            days.append(rest_days[truck.id])
        elif truck.id in split.days and truck.id not in moving:
            days.append(split.days[truck.id])
    unmoved = [
        UnmovedLoad(u.station_id, u.load_kg, u.reason)
        for u in old_day.unmoved
        if u.station_id not in replanned
    ]
    unmoved += list(rest_solution.unmoved)
    fees = {s.id: s.gate_fee_cny_per_t for s in old_full.sites}
    whole = TransferSolution(
        trucks=tuple(days),
        unmoved=tuple(unmoved),
        gate_fees_cny=round(sum(t.load_kg / 1000 * fees[t.site] for d in days for t in d.trips), 2),
        truck_cost_cny=round(sum(d.cost_cny for d in days), 2),
    )
    second_tours = any(c.day is not None and c.truck.id in rest_days for c in going_on)
    if not roads_changed and not second_tours:
        left: dict[str, int] = defaultdict(int)
        for u in unmoved:
            left[u.station] += u.load_kg
        loads = {
            s: at_station.get(s, 0) + (remaining[s] if s in replanned else left.get(s, 0))
            for s in stations
        }
        check_whole = dataclasses.replace(
            full, stations=tuple(dataclasses.replace(s, load_kg=loads[s.id]) for s in full.stations)
        )
        _check(check_whole, whole, "the re-planned day's transfer trips")
    trucks_out, unmoved_out = transfer_out(ctx, new_day.date, full, whole)
    return TransferReplan(
        trucks_out,
        unmoved_out,
        whole.gate_fees_cny,
        whole.truck_cost_cny,
        {s: (old_kg.get(s, 0), new_kg.get(s, 0)) for s in sorted(replanned)},
    )
