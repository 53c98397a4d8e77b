"""Sorted streams in the chain: the facilities a station-day's trucks may unload at, their
compartments, each stream's loads along a route, and the per-stream site capacity check.

A county that does not sort has none of this: its station-day problems are built exactly as
before (one body per truck, the station its only unload site).

The chain per stream (documented in docs/streams.md): collection trucks unload each stream at
the station (if it accepts it) or at a facility that accepts it; each stream a station receives
goes on by itself (`sanitation.plan.transfer_day`): to a facility taking it from that station,
else to a disposal site accepting it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from sanitation.errors import InfeasibleError
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import RouteOut
from sanitation.routing.problem import Compartment, RoutingProblem
from sanitation.routing.solution import Route, Visit
from sanitation.scenario.model import FacilityRecord, Scenario, VehicleTypeRecord

#: "no path" inside solvers, as `sanitation.plan.daily.UNREACHABLE_CAP_S`
UNREACHABLE_CAP_S = 10**7


def day_facilities(scenario: Scenario, station_id: str, streams: set[str]) -> list[FacilityRecord]:
    """The facilities serving ``station_id``'s trucks that accept any of ``streams`` (its
    station-day's due streams)."""
    return [f for f in scenario.facilities if f.serves(station_id) and f.streams & streams]


def with_facilities(
    ctx: PlanningContext,
    nodes: Sequence[np.ndarray],
    facilities: Sequence[FacilityRecord],
    durations: list[np.ndarray],
    distances: list[np.ndarray],
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The station-day matrices over ``nodes`` (per access class, from
    `sanitation.plan.daily.station_day_nodes`) extended by ``facilities`` (locations after the
    points), "no path" capped as the station's."""
    if not facilities:
        return durations, distances
    places = ctx.places
    facility_index = {f.facility_id: i for i, f in enumerate(ctx.scenario.facilities)}
    out_t, out_d = [], []
    for p, (class_id, base) in enumerate(zip(ctx.classes, nodes, strict=True)):
        extra = (
            places.facilities[class_id]
            .node_ids[[facility_index[f.facility_id] for f in facilities]]
            .astype(np.int64)
        )
        every = np.concatenate([base, extra])
        to_t, to_d = ctx.matrix(class_id, base, extra)
        from_t, from_d = ctx.matrix(class_id, extra, every)
        time_s = np.block([[durations[p], _cap(to_t)], [_cap(from_t)]])
        dist_m = np.block([[distances[p], _cap(to_d, 30)], [_cap(from_d, 30)]])
        out_t.append(time_s.astype(np.int64))
        out_d.append(dist_m.astype(np.int64))
    return out_t, out_d


def _cap(matrix: np.ndarray, factor: int = 1) -> np.ndarray:
    return np.minimum(matrix, UNREACHABLE_CAP_S * factor).astype(np.int64)


def compartments(vtype: VehicleTypeRecord, capacity_kg: int) -> tuple[Compartment, ...]:
    """A truck type's compartments in kg (rounded; the last takes the rest, so that they sum
    to ``capacity_kg``); none for a county that does not sort."""
    if not vtype.compartments:
        return ()
    kg = [round(t * 1000) for _, t in vtype.compartments]
    kg[-1] = capacity_kg - sum(kg[:-1])
    return tuple(
        Compartment(stream, k) for (stream, _), k in zip(vtype.compartments, kg, strict=True)
    )


def stream_loads(problem: RoutingProblem, visits: Sequence[Visit]) -> list[dict[str, int]]:
    """kg of each stream on the truck after each visit: a stop adds its stream's load; an
    unload empties the compartments of the streams its site accepts."""
    on_board: dict[str, int] = defaultdict(int)
    out = []
    for visit in visits:
        if visit.kind == "stop":
            stop = problem.stop(visit.id)
            on_board[stop.stream] += stop.load_kg
        else:
            site = problem.site(visit.id)
            for stream in list(on_board):
                if site.accepts(stream):
                    on_board[stream] = 0
        out.append(dict(sorted(on_board.items())))
    return out


def check_stream_capacity(scenario: Scenario) -> None:
    """Each stream that no station accepts fits the daily capacity of the facilities that
    accept it (generation before seasonal multipliers).

    Raises
    ------
    InfeasibleError
        Naming each such stream, its t/day and the facilities with their capacities.
    """
    causes = []
    for stream in scenario.streams:
        s = stream.stream_id
        if any(
            st.status != "closed" and (st.streams is None or s in st.streams)
            for st in scenario.stations
        ):
            continue
        generated = sum(
            part.waste_t_per_day for p in scenario.points for part in p.streams if part.stream == s
        )
        sites = [f for f in scenario.facilities if s in f.streams]
        capacity = sum(f.capacity_t_per_day for f in sites)
        if generated > capacity:
            named = ", ".join(f"{f.facility_id} {f.capacity_t_per_day:g} t/day" for f in sites)
            causes.append(
                f"stream {s!r}: {generated:.2f} t/day generated, but the sites accepting it "
                f"({named}) take {capacity:g} t/day; expected more capacity for it"
            )
    if causes:
        msg = f"{len(causes)} stream(s) exceed the capacity of the sites accepting them"
        raise InfeasibleError(msg, [msg, *causes])


def check_transfer_destinations(scenario: Scenario) -> None:
    """Each stream an open or candidate station accepts can go on from it: a facility serving
    the station or a disposal site accepts it.

    Raises
    ------
    InfeasibleError
        Naming each such station and stream.
    """
    causes = []
    for station in scenario.stations:
        if station.status == "closed":
            continue
        for stream in scenario.streams:
            s = stream.stream_id
            if station.streams is not None and s not in station.streams:
                continue
            if any(f.serves(station.station_id) and s in f.streams for f in scenario.facilities):
                continue
            if any(d.streams is None or s in d.streams for d in scenario.disposal_sites):
                continue
            causes.append(
                f"station {station.station_id!r}: accepts stream {s!r}, but no disposal site "
                "and no facility serving it takes that stream on; expected one"
            )
    if causes:
        msg = f"{len(causes)} station stream(s) have nowhere to go on to: {causes[0]}"
        raise InfeasibleError(msg, [msg, *causes])


def unloads_by_site(routes: Sequence[RouteOut]) -> dict[tuple[str, str], int]:
    """kg the routes unloaded per (site id, stream); stream ``""`` in a county that does not
    sort (its visits carry no per-stream loads)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for route in routes:
        before: dict[str, int] = {}
        for visit in route.visits:
            if visit.kind == "unload":
                if not visit.load_after_by_stream_kg and visit.load_kg:
                    out[(visit.id, "")] += visit.load_kg
                for stream, kg in before.items():
                    dropped = kg - visit.load_after_by_stream_kg.get(stream, 0)
                    if dropped > 0:
                        out[(visit.id, stream)] += dropped
            before = visit.load_after_by_stream_kg
    return dict(out)


def received_by_stream(routes: Sequence[RouteOut], scenario: Scenario) -> dict[str, int]:
    """kg per stream the routes unloaded anywhere but at a facility: what the transfer moves on
    (all they collected, as stream ``""``, in a county that does not sort)."""
    facilities = {f.facility_id for f in scenario.facilities}
    out: dict[str, int] = defaultdict(int)
    for (site, stream), kg in unloads_by_site(routes).items():
        if site not in facilities:
            out[stream] += kg
    return dict(out)


def received_in_solution(
    problem: RoutingProblem, routes: Sequence[Route], facilities: set[str]
) -> dict[str, int]:
    """As `received_by_stream`, from a station-day's solved routes (before they become the
    plan's `RouteOut`): kg per stream unloaded at sites other than ``facilities``."""
    out: dict[str, int] = defaultdict(int)
    for route in routes:
        before: dict[str, int] = {}
        for visit, after in zip(route.visits, stream_loads(problem, route.visits), strict=True):
            if visit.kind == "unload" and visit.id not in facilities:
                for stream, kg in before.items():
                    if kg > after.get(stream, 0):
                        out[stream] += kg - after.get(stream, 0)
            before = after
    return dict(out)


def unloaded_at_stations(routes: Sequence[RouteOut], scenario: Scenario) -> int:
    """kg the routes unloaded anywhere but at a facility (see `received_by_stream`)."""
    return sum(received_by_stream(routes, scenario).values())
