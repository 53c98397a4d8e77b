"""The state of a plan's day at the re-plan time ``t``: every truck's done visits, where it
continues from, when and with what load; the points still due; what the events add.

The rule for the done part of a day is the verifier's (`sanitation.verify.replan`, which keeps
its own copy): visits started before the truck's reference time (``t``; its breakdown; its
reported position), extended to the last stop its crew reported done; a truck driving between
visits at ``t`` is committed to the next one; stops reported skipped are not done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sanitation.errors import ScenarioError
from sanitation.plan.model import DayOut, PlanDocument, RouteOut
from sanitation.replan.events import (
    Event,
    EventProblem,
    EventsError,
    ExtraWaste,
    Position,
    RoadClosed,
    StopReport,
    TruckDown,
    UrgentPoint,
    event_problem,
)
from sanitation.routing.solution import Visit
from sanitation.scenario.model import Scenario
from sanitation.verify.replan import TruckFacts, done_count

#: id of a new place an urgent event names by lon/lat (the same place, the same id)
NEW_PLACE_PREFIX = "urgent:"


@dataclass(frozen=True)
class Truck:
    """One collection truck of the plan's day (used or not) and its state at ``t``."""

    vehicle_id: str
    station_id: str
    type_id: str
    route: RouteOut | None
    facts: TruckFacts
    n_done: int = 0

    @property
    def down(self) -> bool:
        """Reported broken down."""
        return self.facts.down_at_s is not None

    @property
    def finished(self) -> bool:
        """Its whole day was done by ``t``."""
        return self.route is not None and self.n_done == len(self.route.visits)

    @property
    def out(self) -> bool:
        """On the road at ``t`` (it left its depot and has a visit done)."""
        return self.n_done > 0 or self.facts.position_at_s is not None

    def kept(self) -> list[int]:
        """Indices of its old visits kept as they were (done, not skipped)."""
        if self.route is None:
            return []
        return [
            i
            for i, v in enumerate(self.route.visits[: self.n_done])
            if not (v.kind == "stop" and v.id in self.facts.skipped)
        ]


@dataclass
class DayState:
    """The plan's day at ``t``: trucks, due points (kg) per station, what the events add."""

    at_s: int
    trucks: dict[str, Truck]
    #: station -> point id -> kg still due after t (not done, not skipped)
    due: dict[str, dict[str, int]]
    #: point id -> latest service start (s) of an urgent point
    deadline_s: dict[str, int] = field(default_factory=dict)
    #: points asked for again after they were done
    reopened: set[str] = field(default_factory=set)
    #: point id -> why it is not served after t (reported skipped)
    skipped: dict[str, str] = field(default_factory=dict)
    #: stations whose day the events change
    affected: set[str] = field(default_factory=set)
    #: new places (urgent points at lon/lat): id -> (event index, event)
    new_places: dict[str, tuple[int, UrgentPoint]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: point id -> its territory's truck, of a plan made under ``policy.consistency: territory``
    territory_truck_of: dict[str, str] = field(default_factory=dict)


def visit_of(v: object) -> Visit:
    """A plan visit (`VisitOut`) as a routing `Visit` (location unknown here: -1 is not used)."""
    return Visit(
        kind=v.kind,  # type: ignore[attr-defined]
        id=v.id,  # type: ignore[attr-defined]
        location=0,
        arrival_s=v.arrival_s,  # type: ignore[attr-defined]
        start_s=v.start_s,  # type: ignore[attr-defined]
        departure_s=v.departure_s,  # type: ignore[attr-defined]
        load_after_kg=v.load_after_kg,  # type: ignore[attr-defined]
    )


def station_trucks(doc: PlanDocument, scenario: Scenario) -> dict[str, tuple[str, str]]:
    """Every collection truck of the plan: vehicle id -> (station id, type id)."""
    if doc.fleet is None:
        msg = (
            f"plan {doc.scenario!r}: it has no fleet report (made before it existed); expected a "
            "plan made by this version: plan it again"
        )
        raise ScenarioError(msg)
    roles = {v.type_id: v.role for v in scenario.vehicle_types}
    depot_of = {d.station_id: d.depot_id for d in scenario.depots}
    out: dict[str, tuple[str, str]] = {}
    for row in doc.fleet.rows:
        if row.scope != "station" or roles.get(row.type_id) != "collection":
            continue
        depot_id = depot_of.get(row.station_id, row.station_id)
        for n in range(1, row.working + 1):
            out[f"{depot_id}/{row.type_id}#{n}"] = (row.station_id, row.type_id)
    return out


def _check_plan_matches(doc: PlanDocument, scenario: Scenario) -> None:
    """Every point, station and truck type of the plan's day is in the scenario.

    Raises
    ------
    ScenarioError
        Naming the first ids the scenario lacks (it changed since the plan was made).
    """
    points = {p.point_id for p in scenario.points}
    stations = {s.station_id for s in scenario.stations}
    types = {v.type_id for v in scenario.vehicle_types}
    day = doc.days[0]
    missing = sorted(
        {v.id for r in day.routes for v in r.visits if v.kind == "stop"} - points
        | {v.id for r in day.routes for v in r.visits if v.kind == "unload"} - stations
        | {r.vehicle_type for r in day.routes} - types
        | {u.point_id for u in day.unserved} - points
    )
    if missing:
        msg = (
            f"plan {doc.scenario!r}: ids {', '.join(missing[:5])} are not in its scenario "
            f"{doc.scenario_path}; expected the scenario the plan was made from (changed since?)"
        )
        raise ScenarioError(msg)


def shift_bounds(scenario: Scenario) -> tuple[int, int]:
    """The first and last time of the collection day: earliest shift start, latest shift end."""
    types = [v for v in scenario.vehicle_types if v.role == "collection"]
    return min(v.shift_start_s for v in types), max(v.shift_end_s for v in types)


class AtError(ScenarioError):
    """The re-plan time ``--at`` (the API's ``at``) is outside the collection shift."""

    def __init__(self, value: str, why: str) -> None:
        super().__init__(f"--at: value {value}; {why}")
        self.value, self.why = value, why


def check_at(scenario: Scenario, at_s: int) -> None:
    """``at_s`` lies within the collection shift (`shift_bounds`).

    Raises
    ------
    AtError
        Naming the value and the shift.
    """
    lo, hi = shift_bounds(scenario)
    if not lo <= at_s <= hi:
        raise AtError(_hm(at_s), f"expected a time within the shift {_hm(lo)}-{_hm(hi)}")


class _Checker:
    """Checks events against the plan; collects every problem."""

    def __init__(self, at_s: int, bounds: tuple[int, int]) -> None:
        self.at_s, self.bounds = at_s, bounds
        self.problems: list[EventProblem] = []

    def bad(self, index: int, event: Event, name: str, value: object, why: str) -> None:
        self.problems.append(event_problem(index, event, name, value, why))

    def time(self, index: int, event: Event, name: str, value_s: int, text: str) -> None:
        lo, hi = self.bounds
        if not lo <= value_s <= hi:
            self.bad(
                index, event, name, text, f"expected a time within the shift {_hm(lo)}-{_hm(hi)}"
            )
        elif name == "time" and value_s > self.at_s:
            self.bad(
                index, event, name, text, f"expected a time at or before --at {_hm(self.at_s)}"
            )


def _hm(s: int) -> str:
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def day_state(
    doc: PlanDocument,
    scenario: Scenario,
    events: Sequence[Event],
    at_s: int,
    *,
    path: Path,
    road_ids: frozenset[str],
) -> DayState:
    """The plan's (one) day at ``at_s`` with the events applied.

    Raises
    ------
    AtError
        ``at_s`` outside the shift.
    EventsError
        Every event that does not fit the plan: a time outside the shift or after ``at_s``,
        an unknown truck, point, road or station, a load above the truck's capacity.
    ScenarioError
        The plan has no fleet report or names ids its scenario lacks.
    """
    day = doc.days[0]
    fleet = station_trucks(doc, scenario)
    check_at(scenario, at_s)
    check = _Checker(at_s, shift_bounds(scenario))
    routes = {r.vehicle_id: r for r in day.routes}
    _check_plan_matches(doc, scenario)
    capacity = {v.type_id: round(v.capacity_t * 1000) for v in scenario.vehicle_types}
    points = {p.point_id for p in scenario.points}
    stations = {s.station_id for s in doc.assignment.stations if s.open}
    reports = _truck_reports(events, check, fleet, routes, points, capacity, stations, road_ids)
    if check.problems:
        raise EventsError(path, check.problems)
    trucks: dict[str, Truck] = {}
    for vehicle_id, (station_id, type_id) in sorted(fleet.items()):
        route = routes.get(vehicle_id)
        facts = TruckFacts(
            vehicle=vehicle_id,
            old_visits=tuple(visit_of(v) for v in route.visits) if route else (),
            old_departure_s=route.depot_departure_s if route else None,
        )
        facts = dataclasses.replace(facts, **reports.get(vehicle_id, {}))
        n_done = done_count(facts, at_s) if route else 0
        trucks[vehicle_id] = Truck(vehicle_id, station_id, type_id, route, facts, n_done)
    station_of = {p.point_id: p.station_id for p in doc.assignment.points}
    return _due_after(day, trucks, events, at_s, station_of)


def _truck_reports(
    events: Sequence[Event],
    check: _Checker,
    fleet: Mapping[str, tuple[str, str]],
    routes: Mapping[str, RouteOut],
    points: set[str],
    capacity: Mapping[str, int],
    stations: set[str],
    road_ids: frozenset[str],
) -> dict[str, dict[str, Any]]:
    """Per truck: the `TruckFacts` fields the events give (and every misfit recorded)."""
    out: dict[str, dict[str, Any]] = {}
    truck_of_point = {
        v.id: r.vehicle_id for r in routes.values() for v in r.visits if v.kind == "stop"
    }
    for i, ev in enumerate(events):
        if isinstance(ev, TruckDown | Position):
            check.time(i, ev, "time", ev.time_s, ev.time)
            if ev.vehicle not in fleet:
                check.bad(i, ev, "vehicle", ev.vehicle, "expected a vehicle_id of the plan")
                continue
            cap = capacity[fleet[ev.vehicle][1]]
            if ev.load_kg is not None and ev.load_kg > cap:
                check.bad(i, ev, "load_kg", ev.load_kg, f"expected at most the capacity {cap} kg")
            facts = out.setdefault(ev.vehicle, {})
            if isinstance(ev, TruckDown):
                if ev.point is not None and ev.point not in points:
                    check.bad(i, ev, "point", ev.point, "expected a point_id of the scenario")
                if ev.tow_to is not None and ev.tow_to not in stations:
                    check.bad(i, ev, "tow_to", ev.tow_to, "expected a station open in the plan")
                facts["down_at_s"] = ev.time_s
            else:
                facts["position_at_s"] = ev.time_s
                facts["position_load_kg"] = ev.load_kg
        elif isinstance(ev, StopReport):
            check.time(i, ev, "time", ev.time_s, ev.time)
            if ev.point not in truck_of_point:
                check.bad(i, ev, "point", ev.point, "expected a point on a route of the plan's day")
                continue
            facts = out.setdefault(truck_of_point[ev.point], {})
            key = "done_reported" if ev.type == "stop_done" else "skipped"
            previous = facts.get(key, frozenset())
            facts[key] = (
                frozenset({*previous, ev.point}) if isinstance(previous, frozenset) else previous
            )
        elif isinstance(ev, ExtraWaste | UrgentPoint):
            if ev.point is not None and ev.point not in points:
                check.bad(i, ev, "point", ev.point, "expected a point_id of the scenario")
            if isinstance(ev, UrgentPoint):
                _check_urgent(i, ev, check)
        elif isinstance(ev, RoadClosed):
            _check_road(i, ev, check, road_ids)
    return out


def _check_urgent(i: int, ev: UrgentPoint, check: _Checker) -> None:
    if ev.point is None and (ev.lon is None or ev.lat is None):
        check.bad(i, ev, "point", None, "expected a point id, or lon and lat of a new place")
    if ev.deadline_s <= check.at_s:
        check.bad(i, ev, "deadline", ev.deadline, f"expected a time after --at {_hm(check.at_s)}")
    check.time(i, ev, "deadline", ev.deadline_s, ev.deadline)


def _check_road(i: int, ev: RoadClosed, check: _Checker, road_ids: frozenset[str]) -> None:
    unknown = [r for r in ev.roads if r not in road_ids]
    if unknown:
        check.bad(i, ev, "roads", ", ".join(unknown[:5]), "expected road_id values of the scenario")
    if not ev.roads and ev.area is None:
        check.bad(i, ev, "roads", [], "expected road ids or an area")
    check.time(i, ev, "from", ev.from_s, ev.from_)
    if ev.until_s is not None and ev.until_s <= ev.from_s:
        check.bad(i, ev, "until", ev.until, f"expected a time after from {ev.from_}")


def _due_after(
    day: DayOut,
    trucks: dict[str, Truck],
    events: Sequence[Event],
    at_s: int,
    assignment: Mapping[str, str],
) -> DayState:
    """The points still due per station after ``t``, with the events' additions."""
    point_station: dict[str, str] = {}
    due: dict[str, dict[str, int]] = {s.station_id: {} for s in day.stations}
    done: set[str] = set()
    state = DayState(at_s, trucks, due)
    for t in trucks.values():
        if t.route is None:
            continue
        kept = set(t.kept())
        for i, v in enumerate(t.route.visits):
            if v.kind != "stop":
                continue
            point_station[v.id] = t.station_id
            if i in kept:
                done.add(v.id)
            elif v.id in t.facts.skipped:
                state.skipped[v.id] = "skipped by the crew (reported)"
            else:
                due[t.station_id][v.id] = v.load_kg
        if t.down or t.facts.position_at_s is not None or t.facts.skipped or t.facts.done_reported:
            state.affected.add(t.station_id)
    for u in day.unserved:
        point_station.setdefault(u.point_id, u.station_id)
    for i, ev in enumerate(events):
        if isinstance(ev, RoadClosed):
            continue
        if isinstance(ev, ExtraWaste | UrgentPoint):
            _add_waste(state, i, ev, point_station, assignment, done)
    return state


def _add_waste(
    state: DayState,
    index: int,
    ev: ExtraWaste | UrgentPoint,
    point_station: Mapping[str, str],
    assignment: Mapping[str, str],
    done: set[str],
) -> None:
    """An overflow or extra waste: the point is due (again) with the kg the event gives."""
    if ev.point is None:  # a new place: its station is found once it is placed
        key = f"{NEW_PLACE_PREFIX}{ev.lon:.5f},{ev.lat:.5f}"
        state.new_places[key] = (index, ev)
        return
    station = point_station.get(ev.point) or assignment.get(ev.point)
    if station is None:
        state.notes.append(f"event {index}: point {ev.point} has no station in this plan; left out")
        return
    state.affected.add(station)
    due = state.due.setdefault(station, {})
    if ev.point in done:
        state.reopened.add(ev.point)
        due[ev.point] = due.get(ev.point, 0) + ev.kg
    elif isinstance(ev, ExtraWaste):
        due[ev.point] = due.get(ev.point, 0) + ev.kg
    else:
        due[ev.point] = max(due.get(ev.point, 0), ev.kg)
    if isinstance(ev, UrgentPoint):
        state.deadline_s[ev.point] = min(state.deadline_s.get(ev.point, 86_400), ev.deadline_s)
