"""Sorted streams in the chain: the facilities a station-day's trucks may unload at, their
compartments, each stream's loads along a route, and the per-stream site capacity check.

A county that does not sort has none of this: its station-day problems are built exactly as
before (one body per truck, the station its only unload site).

First step of the chain per stream (documented in docs/streams.md): collection trucks
unload each stream at the station (if it accepts it) or at a facility that accepts it; what the
stations receive goes on by the existing transfer chain to disposal, whatever its stream.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from sanitation.errors import InfeasibleError
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import RouteOut
from sanitation.routing.problem import Compartment, RoutingProblem
from sanitation.routing.solution import Visit
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


def unloaded_at_stations(routes: Sequence[RouteOut], scenario: Scenario) -> int:
    """kg the routes unloaded anywhere but at a facility: what the transfer moves on (all they
    collected, in a county that does not sort)."""
    facilities = {f.facility_id for f in scenario.facilities}
    return sum(
        v.load_kg for r in routes for v in r.visits if v.kind == "unload" and v.id not in facilities
    )
