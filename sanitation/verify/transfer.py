"""Independent checker of a transfer plan (never imports the transfer solver's internals).

Checks every trip's timing against the travel matrix, station hours, gate hours, shifts,
maximum duration and lunch; that each trip's one stream may go from its source to its site
(`TransferProblem.destinations`: the site accepts the stream and serves the station); that each
site's daily capacity holds over all its streams (for a facility: its collection trucks'
unloads + transfers in - its excess sent on); that a facility over capacity sends on only
streams it accepts and no more than it was unloaded; that every source's load of each stream is
moved or reported unmoved; and recomputes distances, costs and gate fees.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sanitation.errors import VerificationError
from sanitation.transfer.problem import (
    DisposalSite,
    TransferProblem,
    TransferSolution,
    TransferStation,
    TransferTruck,
    Trip,
    TruckDay,
    truck_day_cost,
)

COST_TOLERANCE = 0.01  # CNY


@dataclass
class _Tally:
    """What the checked trips add up to: kg moved per (station, stream) and received per site,
    CNY."""

    moved_kg: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    at_site_kg: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gate_fees_cny: float = 0.0
    truck_cost_cny: float = 0.0


@dataclass
class _Walk:
    """A truck's position while its day is replayed: matrix location, clock (s), metres."""

    position: int
    clock: int
    distance_m: int = 0
    lunch_taken: bool = False


def verify(problem: TransferProblem, solution: TransferSolution) -> list[str]:
    """Every violation found, one line each naming truck, trip, field and value."""
    problems: list[str] = []
    trucks = {x.id: x for x in problem.trucks}
    tally = _Tally()
    seen: set[str] = set()
    for day in solution.trucks:
        truck = trucks.get(day.truck)
        if truck is None:
            problems.append(f"truck {day.truck!r}: not a truck of the problem")
            continue
        who = _who(truck)
        if day.truck in seen:
            problems.append(f"{who}: has two days in the plan")
        seen.add(day.truck)
        if not day.trips:
            problems.append(f"{who}: used without trips")
            continue
        problems.extend(_check_day(problem, truck, day, tally))
    problems.extend(_check_sites(problem, solution, tally))
    problems.extend(_check_loads(problem, solution, tally))
    fees_cny = solution.gate_fees_cny
    if abs(tally.gate_fees_cny - fees_cny) > COST_TOLERANCE * max(1, len(solution.trips)):
        problems.append(f"gate_fees {fees_cny:.2f} CNY; recomputed {tally.gate_fees_cny:.2f}")
    trucks_cny = solution.truck_cost_cny
    if abs(tally.truck_cost_cny - trucks_cny) > COST_TOLERANCE * max(1, len(solution.trucks)):
        problems.append(f"truck_cost {trucks_cny:.2f} CNY; recomputed {tally.truck_cost_cny:.2f}")
    return problems


def _check_sites(problem: TransferProblem, solution: TransferSolution, tally: _Tally) -> list[str]:
    """Each site's day within its capacity: what collection trucks unloaded there, plus what
    transfer trips bring, less what it sends on as a facility over capacity (moved or reported
    unmoved); a facility sends on no more than it was unloaded, and only streams it accepts."""
    problems = []
    sent: dict[str, int] = defaultdict(int)
    for key, kg in tally.moved_kg.items():
        sent[key[0]] += kg
    for item in solution.unmoved:
        sent[item.station] += item.load_kg
    sources = {s.id: s for s in problem.stations if s.facility}
    for source in sources.values():
        site = next((x for x in problem.sites if x.id == source.id and x.facility), None)
        if site is None:
            problems.append(f"{source.what}: sends its excess on but is no facility of the problem")
            continue
        if source.load_kg > site.unloaded_kg:
            problems.append(
                f"{source.what}: sends on {source.load_kg} kg; collection trucks unloaded "
                f"{site.unloaded_kg} kg there"
            )
        refused = sorted(
            k for k in source.loads() if site.streams is not None and k not in site.streams
        )
        if refused:
            problems.append(
                f"{source.what}: sends on stream {refused[0]!r}, which it does not accept"
            )
    for site in problem.sites:
        received = tally.at_site_kg.get(site.id, 0)
        out = sent.get(site.id, 0) if site.id in sources else 0
        if not site.unloaded_kg and not out:
            if received > site.capacity_kg:
                problems.append(
                    f"site {site.id!r}: receives {received} kg; capacity {site.capacity_kg} kg"
                )
            continue
        kept = site.unloaded_kg + received - out
        if kept > site.capacity_kg:
            problems.append(
                f"site {site.id!r}: {site.unloaded_kg} kg unloaded by collection trucks + "
                f"{received} kg by transfer - {out} kg sent on = {kept} kg; capacity "
                f"{site.capacity_kg} kg"
            )
    return problems


def _check_loads(problem: TransferProblem, solution: TransferSolution, tally: _Tally) -> list[str]:
    """Every station's load of each stream moved or reported unmoved (with a reason)."""
    problems = []
    unmoved: dict[tuple[str, str], int] = defaultdict(int)
    for item in solution.unmoved:
        unmoved[(item.station, item.stream)] += item.load_kg
        if not item.reason:
            problems.append(f"station {item.station!r}: unmoved load without a reason")
    received = {(s.id, stream): kg for s in problem.stations for stream, kg in s.loads().items()}
    names = {s.id: s.what for s in problem.stations}
    for key in sorted({*received, *tally.moved_kg, *unmoved}):
        station_id, stream = key
        moved, left, load = tally.moved_kg.get(key, 0), unmoved.get(key, 0), received.get(key, 0)
        if moved + left != load:
            of = f" of stream {stream!r}" if stream else ""
            who = names.get(station_id, f"station {station_id!r}")
            problems.append(
                f"{who}: moved {moved} kg + unmoved {left} kg{of}; expected its load {load} kg"
            )
    return problems


def _who(truck: TransferTruck) -> str:
    """How a violation names a truck: its id and home station."""
    return f"truck {truck.id!r} of station {truck.home_station!r}"


def _check_day(
    problem: TransferProblem, truck: TransferTruck, day: TruckDay, tally: _Tally
) -> list[str]:
    """A used truck's day: its trips in order, lunch, return, shift, distance and cost."""
    problems: list[str] = []
    who = _who(truck)
    t, d = problem.duration_s, problem.distance_m
    stations = {s.id: s for s in problem.stations}
    sites = {s.id: s for s in problem.sites}
    walk = _Walk(truck.location, day.depot_departure_s)
    for index, trip in enumerate(day.trips):
        where = f"{who} trip {index + 1} (station {trip.station!r})"
        station, site = stations.get(trip.station), sites.get(trip.site)
        if station is None or site is None:
            problems.append(f"{where}: unknown station {trip.station!r} or site {trip.site!r}")
            break
        problems.extend(_check_trip(problem, truck, day, walk, where, trip, station, site))
        if site not in problem.destinations(station.id, trip.stream):
            problems.append(
                f"{where}: site {site.id!r} does not take stream {trip.stream!r} from station "
                f"{station.id!r}"
            )
        tally.moved_kg[(station.id, trip.stream)] += trip.load_kg
        tally.at_site_kg[site.id] += trip.load_kg
        tally.gate_fees_cny += trip.load_kg / 1000.0 * site.gate_fee_cny_per_t
    ready = walk.clock
    if truck.lunch_duration_s > 0:
        problems.extend(_check_lunch(truck, day, walk))
        if day.lunch_start_s is not None and not walk.lunch_taken:
            ready = max(walk.clock, day.lunch_start_s + truck.lunch_duration_s)
    distance = walk.distance_m + int(d[walk.position, truck.location])
    expected_return = ready + int(t[walk.position, truck.location])
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
    cost_cny = truck_day_cost(truck, distance, day.depot_return_s - day.depot_departure_s)
    tally.truck_cost_cny += cost_cny
    if abs(cost_cny - day.cost_cny) > COST_TOLERANCE:
        problems.append(f"{who}: cost {day.cost_cny:.2f} CNY; recomputed {cost_cny:.2f}")
    return problems


def _check_lunch(truck: TransferTruck, day: TruckDay, walk: _Walk) -> list[str]:
    """Lunch taken when the day reaches past the latest lunch start, inside its window."""
    who = _who(truck)
    latest_lunch = truck.lunch_window_end_s - truck.lunch_duration_s
    if day.lunch_start_s is None:
        if day.depot_return_s > latest_lunch:
            return [
                f"{who}: no lunch break on a day ending at {day.depot_return_s} s, after "
                f"the latest lunch start {latest_lunch} s"
            ]
        return []
    problems = []
    lunch_end = day.lunch_start_s + truck.lunch_duration_s
    if not truck.lunch_window_start_s <= day.lunch_start_s or lunch_end > truck.lunch_window_end_s:
        problems.append(
            f"{who}: lunch_start_s {day.lunch_start_s} outside the window "
            f"[{truck.lunch_window_start_s}, {truck.lunch_window_end_s}]"
        )
    if not walk.lunch_taken and day.lunch_start_s < walk.clock:
        problems.append(f"{who}: lunch at {day.lunch_start_s} s overlaps a trip")
    return problems


def _check_trip(
    problem: TransferProblem,
    truck: TransferTruck,
    day: TruckDay,
    walk: _Walk,
    where: str,
    trip: Trip,
    station: TransferStation,
    site: DisposalSite,
) -> list[str]:
    """One trip's timing and load; advances ``walk`` past it (and past lunch, if before it)."""
    problems = []
    t, d = problem.duration_s, problem.distance_m
    if trip.truck != day.truck:
        problems.append(f"{where}: truck field {trip.truck!r} differs")
    ready = walk.clock
    to_station = int(t[walk.position, station.location])
    lunch = day.lunch_start_s
    if lunch is not None and not walk.lunch_taken and lunch <= trip.arrival_s - to_station:
        if lunch < walk.clock:
            problems.append(f"{where}: lunch at {lunch} s overlaps the previous trip")
        ready = max(walk.clock, lunch + truck.lunch_duration_s)
        walk.lunch_taken = True
    expected_arrival = ready + to_station
    if trip.arrival_s < expected_arrival:
        problems.append(
            f"{where}: arrival_s {trip.arrival_s} before {expected_arrival} (travel time)"
        )
    if trip.start_s < max(trip.arrival_s, station.open_s) or trip.start_s > station.close_s:
        problems.append(
            f"{where}: start_s {trip.start_s} outside station {station.id!r} hours "
            f"[{station.open_s}, {station.close_s}] or before arrival"
        )
    earliest_unload = trip.start_s + station.swap_s + int(t[station.location, site.location])
    if trip.unload_start_s < earliest_unload:
        problems.append(f"{where}: unload_start_s {trip.unload_start_s} before {earliest_unload}")
    if not site.gate_open_s <= trip.unload_start_s <= site.gate_close_s:
        problems.append(
            f"{where}: unload_start_s {trip.unload_start_s} outside gate hours of "
            f"{site.id!r} [{site.gate_open_s}, {site.gate_close_s}]"
        )
    expected_end = trip.unload_start_s + site.unload_s + int(t[site.location, station.location])
    if trip.end_s != expected_end:
        problems.append(f"{where}: end_s {trip.end_s}; expected {expected_end}")
    if not 0 < trip.load_kg <= station.container_kg:
        problems.append(f"{where}: load_kg {trip.load_kg}; expected 1..{station.container_kg} kg")
    walk.distance_m += int(
        d[walk.position, station.location]
        + d[station.location, site.location]
        + d[site.location, station.location]
    )
    walk.position, walk.clock = station.location, trip.end_s
    return problems


def check(problem: TransferProblem, solution: TransferSolution) -> None:
    """Raise `VerificationError` listing every violation, if any."""
    violations = verify(problem, solution)
    if violations:
        msg = f"transfer plan violates {len(violations)} constraint(s): {violations[0]}"
        raise VerificationError(msg, violations, stage="transfer")
