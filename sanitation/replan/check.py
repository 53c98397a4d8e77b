"""The events of a re-plan checked against the plan and its scenario, before anything is
solved or queued (one home for the CLI and the API): the re-plan time within the shift; every
event's times, truck, point, road and station ids and load against the plan
(`sanitation.replan.state.day_state`); every place an event gives by lon/lat (a reported
position, a breakdown, a new urgent place) within ``roads.max_snap_distance_m`` of a road its
truck may use; every closed area a valid GeoJSON (Multi)Polygon.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from geo.errors import GeoInputError
from geo.network import RoadNetwork
from geo.snap import snap_points
from sanitation.plan.model import PlanDocument
from sanitation.replan.context import closure_area, down_places, event_places, new_places
from sanitation.replan.events import Event, EventProblem, EventsError, RoadClosed, event_problem
from sanitation.replan.position import RoadSegments
from sanitation.replan.state import DayState, day_state
from sanitation.scenario.model import Scenario
from sanitation.scenario.network import access_profiles


def road_ids(scenario: Scenario, network: RoadNetwork) -> frozenset[str]:
    """The road ids an event may name: the network's and the scenario's closed ones."""
    return frozenset({*network.arrays.road_id.tolist(), *scenario.roads.closed_road_ids})


def check_events(
    doc: PlanDocument,
    scenario: Scenario,
    events: Sequence[Event],
    at_s: int,
    *,
    path: Path | str,
    network: RoadNetwork,
) -> DayState:
    """The state of the plan's day at ``at_s``, every event checked (see the module docstring);
    ``network`` is the scenario's (`sanitation.scenario.network.build_network`).

    Raises
    ------
    AtError
        ``at_s`` outside the shift.
    EventsError
        Every event that does not fit (index, field, value, what was expected).
    """
    ids = road_ids(scenario, network)
    state = day_state(doc, scenario, events, at_s, path=Path(path), road_ids=ids)
    problems = _far_from_roads(scenario, network, events, state)
    problems += [
        event_problem(i, ev, "area", str(ev.area)[:80], "expected a valid GeoJSON Polygon")
        for i, ev in enumerate(events)
        if isinstance(ev, RoadClosed) and ev.area is not None and closure_area(ev) is None
    ]
    if problems:
        raise EventsError(path, sorted(problems, key=lambda p: p.index or 0))
    return state


def _far_from_roads(
    scenario: Scenario, network: RoadNetwork, events: Sequence[Event], state: DayState
) -> list[EventProblem]:
    """The event places farther than ``roads.max_snap_distance_m`` from every road their truck
    may use (a new urgent place: the access of the scenario's nearest point; a truck's place: its
    distance to the nearest road segment, a new place's to the nearest road node)."""
    type_class = {v.type_id: v.access_class for v in scenario.vehicle_types}
    points, origin = event_places(scenario, events, state, type_class)
    down, down_origin = down_places(scenario, events, state, type_class)
    urgent, urgent_origin = new_places(scenario, state)
    origin |= down_origin | urgent_origin
    limit = scenario.roads.max_snap_distance_m
    profiles = access_profiles(scenario)
    segments: dict[str, RoadSegments] = {}
    new_ids = {p.point_id for p in urgent}
    problems = []
    for p in [*points, *down, *urgent]:
        profile = profiles[p.access_class]
        try:
            if p.point_id in new_ids:  # a new point: it is served at a road node, as every point
                snap_points(network, [p.lon], [p.lat], profile=profile, max_distance_m=limit)
                continue
            # a truck stands on a road segment (`sanitation.replan.position`)
            if p.access_class not in segments:
                segments[p.access_class] = RoadSegments(network, profile)
            place = segments[p.access_class].place(p.lon, p.lat)
            if place is None or place.off_road_m > limit:
                raise GeoInputError("off the roads")
        except GeoInputError:
            index = origin[p.point_id]
            why = f"(lat {p.lat:g}) expected a place within {limit:g} m of a road its truck may use"
            problems.append(event_problem(index, events[index], "lon", p.lon, why))
    return problems
