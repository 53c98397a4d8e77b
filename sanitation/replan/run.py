"""``sanitation replan``: read a plan folder, apply the events at ``t``, re-plan the affected
stations, verify, and write the new version (the outputs of ``plan`` plus ``diff.json`` /
``diff.md``) to another folder; the old plan is never touched.

The plan folder holds ``plan.json`` (one day, or several: then one of them, ``--day``, is
re-planned and the others are kept as they were), whose ``scenario_path`` names the scenario it
was planned from; the scenario is loaded again and every station's day rebuilt from the plan
(its due points and loads, its trucks). Stations the events touch are re-planned
(`sanitation.replan.solve`); a road closure re-plans every station with points still due; the
others keep their routes. Timed road closures are priced per leg (`sanitation.replan.closures`).
The transfer trips of the stations whose arrivals changed are planned
again from ``t`` (`sanitation.replan.transfer`).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from sanitation.errors import ScenarioError, VerificationError
from sanitation.io.plan_files import write_plan_outputs
from sanitation.io.plan_folder import PLAN_MARKERS, check_out_folder, replace_folder
from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import hhmm, route_figures, visit_out
from sanitation.plan.kpi import plan_kpis
from sanitation.plan.model import (
    DayOut,
    PlanDocument,
    RouteOut,
    StationDayOut,
    UnservedOut,
    VisitOut,
)
from sanitation.plan.pool import new_pool
from sanitation.plan.run import MIN_STATION_SECONDS
from sanitation.replan.check import check_events
from sanitation.replan.closures import LegPricing, TimedRoads, solve_timed
from sanitation.replan.context import (
    GPS_PREFIX,
    NodeRecorder,
    closures_in_force,
    is_static,
    replan_context,
)
from sanitation.replan.diff import Diff, day_diff, write_diff
from sanitation.replan.events import Event, RoadClosed, TruckDown, read_events
from sanitation.replan.solve import StationReplan, replan_station, station_problem
from sanitation.replan.state import (
    NEW_PLACE_PREFIX,
    DayState,
    Truck,
    shift_bounds,
    visit_of,
)
from sanitation.replan.territory import check as check_territory
from sanitation.replan.territory import not_working, territory_truck_of
from sanitation.replan.transfer import replan_transfer, towed_kg
from sanitation.routing.solution import Route, Visit
from sanitation.scenario import load_scenario
from sanitation.scenario.model import CollectionPoint, Scenario
from sanitation.verify.closures import RoadsClaim, verify_closures
from sanitation.verify.replan import ReplanClaim, verify_replan

NO_TRUCK_LEFT = "no truck left at the station (broken down or done for the day)"
ROAD_CLOSED = "cut off by a road closure reported during the day"


@dataclasses.dataclass(frozen=True)
class ReplanResult:
    """The new version of the plan, its diff and the files written."""

    document: PlanDocument
    diff: Diff
    written: list[Path]
    stations: dict[str, StationReplan]


def read_plan(plan_dir: Path) -> tuple[PlanDocument, Scenario]:
    """The plan of a plan folder (one day or several) and the scenario it was planned from.

    Raises
    ------
    ScenarioError
        No ``plan.json``, an unreadable one, or a missing scenario.
    """
    path = plan_dir / "plan.json"
    if not path.is_file():
        msg = f"{plan_dir}: no plan.json; expected a folder written by `sanitation plan`"
        raise ScenarioError(msg)
    try:
        doc = PlanDocument.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValidationError) as error:
        msg = f"{path}: not a plan of this version ({str(error).splitlines()[0]})"
        raise ScenarioError(msg) from None
    scenario_path = Path(doc.scenario_path)
    if not scenario_path.is_file():
        msg = (
            f"{path}: field 'scenario_path' = {doc.scenario_path!r}: no such file; expected the "
            "scenario the plan was made from"
        )
        raise ScenarioError(msg)
    scenario = load_scenario(scenario_path)
    if scenario.sorted:
        msg = (
            f"{scenario_path}: field 'streams': re-planning a county that sorts its waste is not "
            "supported yet (the load of each compartment of a truck on the road is not "
            "tracked); plan the day again with `sanitation plan`"
        )
        raise ScenarioError(msg)
    return doc, with_new_places(scenario, plan_dir)


class DayError(ScenarioError):
    """The day to re-plan (``--day``, the API's ``day``) is missing or not one of the plan's."""

    def __init__(self, value: str | None, why: str) -> None:
        shown = "missing" if value is None else f"value {value!r}"
        super().__init__(f"--day: {shown}; {why}")
        self.value, self.why = value, why


def day_index(doc: PlanDocument, day: str | None) -> int:
    """The position in ``doc.days`` of ``day``: a date ``YYYY-MM-DD`` of the plan or its day
    number (1 = the first date); None for a one-day plan.

    Raises
    ------
    DayError
        ``day`` is not one of the plan's days, or is missing for a plan of several days.
    """
    dates = [d.date for d in doc.days]
    why = (
        f"expected one of the plan's dates {', '.join(d.isoformat() for d in dates)} or a day "
        f"number 1-{len(dates)}"
    )
    if day is None:
        if len(dates) == 1:
            return 0
        raise DayError(None, f"the plan has {len(dates)} days; {why}")
    if day.isdigit() and 1 <= int(day) <= len(dates):
        return int(day) - 1
    try:
        return dates.index(dt.date.fromisoformat(day))
    except ValueError:
        raise DayError(day, why) from None


def plan_day(
    doc: PlanDocument, scenario: Scenario, day: str | None
) -> tuple[PlanDocument, Scenario, int]:
    """The one-day plan of ``day`` (`day_index`) of ``doc``, its scenario on that date and
    the day's position."""
    k = day_index(doc, day)
    if len(doc.days) == 1:
        return doc, scenario, 0
    one = doc.days[k]
    sub = doc.model_copy(update={"days": [one], "dates": [one.date]})
    return sub, scenario.replace(plan_date=one.date), k


#: the new places (urgent points at lon/lat) a re-plan added, kept beside its plan.json so
#: that a re-plan of the re-plan finds them (a plan folder without it has none)
PLACES_FILE = "replan_places.json"


def with_new_places(scenario: Scenario, plan_dir: Path) -> Scenario:
    """``scenario`` with the new places of an earlier re-plan in ``plan_dir`` (if any)."""
    path = plan_dir / PLACES_FILE
    if not path.is_file():
        return scenario
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        known = {p.point_id for p in scenario.points}
        extra = [CollectionPoint(**row) for row in rows if row["point_id"] not in known]
    except (OSError, ValueError, TypeError, KeyError) as error:
        msg = f"{path}: not a list of places of this version ({error})"
        raise ScenarioError(msg) from None
    return scenario.replace(points=(*scenario.points, *extra))


def write_new_places(ctx: PlanningContext, days: Sequence[DayOut], folder: Path) -> Path:
    """The plan's visited points that are new places (see `PLACES_FILE`)."""
    visited = {v.id for day in days for r in day.routes for v in r.visits if v.kind == "stop"}
    rows = [
        dataclasses.asdict(p)
        for p in ctx.scenario.points
        if p.point_id.startswith(NEW_PLACE_PREFIX) and p.point_id in visited
    ]
    path = folder / PLACES_FILE
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _nearest_station(ctx: PlanningContext, day: DayOut, lon: float, lat: float) -> str:
    planned = {s.station_id for s in day.stations}
    stations = [s for s in ctx.scenario.stations if s.station_id in planned]
    return min(stations, key=lambda s: (s.lon - lon) ** 2 + (s.lat - lat) ** 2).station_id


def _place_new(state: DayState, ctx: PlanningContext, day: DayOut) -> None:
    """New urgent places join the nearest planned station's due points."""
    for key, (_, urgent) in state.new_places.items():
        if urgent.lon is None or urgent.lat is None:
            continue
        station = _nearest_station(ctx, day, urgent.lon, urgent.lat)
        state.due.setdefault(station, {})[key] = urgent.kg
        state.deadline_s[key] = urgent.deadline_s
        state.affected.add(station)


def _visit_out(
    ctx: PlanningContext, station_id: str, v: Visit, order: int, picked: int
) -> VisitOut:
    """A routing visit after ``t`` as a plan visit (names and lon/lat from the scenario)."""
    scenario = ctx.scenario
    if v.kind == "stop":
        point = next(p for p in scenario.points if p.point_id == v.id)
        return visit_out(v, order, point.name, point.lon, point.lat, picked)
    station = next(s for s in scenario.stations if s.station_id == station_id)
    return visit_out(v, order, station.name, station.lon, station.lat, picked)


def _kept_distance(ctx: PlanningContext, truck: Truck, kept: list[int]) -> int:
    """Metres driven through the kept visits, on the roads of the old plan (as planned)."""
    route = truck.route
    if route is None or not kept:
        return 0
    vtype = next(v for v in ctx.scenario.vehicle_types if v.type_id == truck.type_id)
    places = ctx.places
    cls = vtype.access_class
    point_index = {p.point_id: i for i, p in enumerate(ctx.scenario.points)}
    station_index = {s.station_id: i for i, s in enumerate(ctx.scenario.stations)}
    depot_index = {d.depot_id: i for i, d in enumerate(ctx.scenario.depots)}
    if route.depot_id in depot_index:
        nodes = [int(places.depots[cls].node_ids[depot_index[route.depot_id]])]
    else:
        nodes = [int(places.stations[cls].node_ids[station_index[route.depot_id]])]
    for i in range(kept[-1] + 1):
        v = route.visits[i]
        if v.kind == "stop":
            nodes.append(int(places.points[cls].node_ids[point_index[v.id]]))
        else:
            nodes.append(int(places.stations[cls].node_ids[station_index[v.id]]))
    arr = np.asarray(nodes, dtype=np.int64)
    _, dist = ctx.matrix(cls, arr, arr)
    return int(sum(int(dist[a, a + 1]) for a in range(len(nodes) - 1)))


def _lunch(old: RouteOut | None, after: Route | None, until_s: int) -> int | None:
    """The lunch start of the combined day: after ``t`` if taken then, else the old one if it
    began before the truck continued (or broke down)."""
    if after is not None and after.lunch_start_s is not None:
        return after.lunch_start_s
    if old is not None and old.lunch_start_s is not None and old.lunch_start_s < until_s:
        return old.lunch_start_s
    return None


def combined_route(
    base_ctx: PlanningContext,
    ctx: PlanningContext,
    truck: Truck,
    after: Route | None,
    initial_kg: int,
    number: int,
) -> RouteOut | None:
    """The truck's day: its kept visits as they were, then its route after ``t``."""
    old = truck.route
    kept = truck.kept()
    if not kept and after is None:
        return None
    vtype = next(v for v in ctx.scenario.vehicle_types if v.type_id == truck.type_id)
    visits: list[VisitOut] = []
    if old is not None:
        visits = [old.visits[i].model_copy(update={"order": n}) for n, i in enumerate(kept, 1)]
    carried = initial_kg
    for v in after.visits if after is not None else ():
        picked = v.load_after_kg - carried if v.kind == "stop" else carried
        visits.append(_visit_out(ctx, truck.station_id, v, len(visits) + 1, picked))
        carried = v.load_after_kg
    if old is not None and kept:
        departure = old.depot_departure_s
    else:
        departure = after.depot_departure_s if after is not None else 0
    if after is not None:
        ret = after.depot_return_s
    elif truck.down:
        ret = int(truck.facts.down_at_s or 0)
    else:
        ret = old.depot_return_s if old is not None else departure
    distance = _kept_distance(base_ctx, truck, kept) + (after.distance_m if after else 0)
    until = after.depot_departure_s if after is not None else ret
    duration = max(0, ret - departure)
    money = route_figures(vtype, distance, duration, ctx.scenario.costs.co2_kg_per_l_diesel)
    total = money["fixed_cost_cny"] + money["distance_cost_cny"] + money["time_cost_cny"]
    depot_id = old.depot_id if old is not None else truck.vehicle_id.split("/", 1)[0]
    return RouteOut(
        route_id=f"{(old.date if old else ctx.scenario.plan_date).isoformat()}/"
        f"{truck.station_id}/{number}",
        date=old.date if old is not None else ctx.scenario.plan_date,
        station_id=truck.station_id,
        depot_id=depot_id,
        vehicle_id=truck.vehicle_id,
        vehicle_type=truck.type_id,
        vehicle_type_name=vtype.name,
        capacity_kg=round(vtype.capacity_t * 1000),
        depot_departure_s=departure,
        depot_return_s=ret,
        lunch_start_s=_lunch(old, after, until),
        distance_m=distance,
        duration_s=duration,
        collected_kg=sum(v.load_kg for v in visits if v.kind == "stop"),
        n_stops=sum(v.kind == "stop" for v in visits),
        n_unloads=sum(v.kind == "unload" for v in visits),
        **money,
        cost_cny=round(total, 2),
        visits=visits,
    )


def _down_loads(events: Sequence[Event], state: DayState) -> dict[str, int]:
    """Kg on board of each broken-down truck: as reported, else as planned at its last visit
    done."""
    out = {}
    for ev in events:
        if not isinstance(ev, TruckDown):
            continue
        truck = state.trucks[ev.vehicle]
        load = ev.load_kg
        if load is None and truck.route is not None:
            kept = truck.kept()
            load = truck.route.visits[kept[-1]].load_after_kg if kept else 0
        out[ev.vehicle] = load or 0
    return out


def _lost_loads(events: Sequence[Event], loads_kg: dict[str, int]) -> list[str]:
    """What each broken-down truck had on board: lost to the plan, or towed to a station."""
    out = []
    for ev in events:
        if isinstance(ev, TruckDown):
            where = f"towed to {ev.tow_to}" if ev.tow_to else "lost to the plan (not unloaded)"
            load = loads_kg[ev.vehicle]
            out.append(f"{ev.vehicle} broke down at {ev.time} with {load} kg on board: {where}")
    return out


def _with_transfer(
    base_ctx: PlanningContext,
    ctx: PlanningContext,
    doc: PlanDocument,
    new_day: DayOut,
    towed: dict[str, int],
    at_s: int,
    *,
    roads_changed: bool,
    seed: int,
) -> tuple[DayOut, str]:
    """``new_day`` with its transfer trips re-planned (`sanitation.replan.transfer`) and a note
    saying which stations' trips were."""
    transfer = replan_transfer(
        base_ctx, ctx, doc, new_day, towed, at_s, roads_changed=roads_changed, seed=seed
    )
    if transfer is None:
        return new_day, "transfer trips as planned (no station's arrivals changed)"
    day = new_day.model_copy(
        update={
            "transfer_trucks": transfer.trucks,
            "unmoved": transfer.unmoved,
            "gate_fees_cny": transfer.gate_fees_cny,
            "transfer_cost_cny": transfer.truck_cost_cny,
        }
    )
    kg = ", ".join(f"{s} {old} → {new} kg" for s, (old, new) in transfer.stations.items())
    return day, f"transfer trips re-planned from the re-plan time for stations {kg}"


def _station_unserved(
    ctx: PlanningContext,
    day: DayOut,
    station_id: str,
    state: DayState,
    rep: StationReplan | None,
    no_truck: bool,
) -> list[UnservedOut]:
    township_of = ctx.scenario.township_of_point()
    names = {p.point_id: p.name for p in ctx.scenario.points}
    reasons: dict[str, tuple[str, int]] = {}
    due = state.due.get(station_id, {})
    for pid, kg in due.items():
        if pid in ctx.cut_off:
            reasons[pid] = (ROAD_CLOSED, kg)
    if rep is not None:
        for u in rep.solution.unserved:
            if u.stop_id in due:
                why = NO_TRUCK_LEFT if no_truck else str(u.reason)
                reasons[u.stop_id] = (why, rep.problem.stop(u.stop_id).load_kg)
    old_loads = {
        v.id: v.load_kg
        for r in day.routes
        if r.station_id == station_id
        for v in r.visits
        if v.kind == "stop"
    }
    for pid, why in state.skipped.items():
        if pid in old_loads:
            reasons[pid] = (why, old_loads[pid])
    for old in day.unserved:
        if old.station_id == station_id and old.point_id not in reasons and old.point_id not in due:
            reasons[old.point_id] = (old.reason, old.load_kg)
    return [
        UnservedOut(
            date=day.date,
            point_id=pid,
            name=names[pid],
            station_id=station_id,
            township_code=township_of[pid],
            load_kg=kg,
            reason=why,
        )
        for pid, (why, kg) in sorted(reasons.items())
    ]


def _verify(
    rep: StationReplan,
    trucks: Sequence[Truck],
    state: DayState,
    station_id: str,
    roads: RoadsClaim | None,
) -> None:
    facts = []
    for t in trucks:
        f = t.facts
        if f.position_at_s is not None:
            f = dataclasses.replace(f, position_location=rep.places[f"{GPS_PREFIX}{t.vehicle_id}"])
        facts.append(f)
    kept = {
        t.vehicle_id: tuple(visit_of(t.route.visits[i]) for i in t.kept())
        for t in trucks
        if t.route is not None
    }
    claim = ReplanClaim(
        state.at_s, rep.problem, rep.solution, kept, rep.places, frozenset(state.reopened)
    )
    errors = verify_replan(facts, claim)
    if roads is not None:
        errors += verify_closures(rep.problem, rep.solution, roads)
    if errors:
        msg = f"the re-plan of station {station_id} violates {len(errors)} rule(s): {errors[0]}"
        raise VerificationError(msg, errors, stage="replan")


def station_groups(
    scenario: Scenario, day: DayOut, affected: set[str], trucks: Sequence[Truck], *, help: bool
) -> list[list[str]]:
    """The stations re-planned together, the affected one first: each alone, or with
    ``help`` joined by its nearest station of the day that has a truck able to work (groups
    that meet are merged)."""
    if not help:
        return [[s] for s in sorted(affected)]
    able = {t.station_id for t in trucks if not t.down and not t.finished}
    where = {s.station_id: (s.lon, s.lat) for s in scenario.stations}
    planned = sorted({s.station_id for s in day.stations} & able)
    groups: list[set[str]] = []
    for station in sorted(affected):
        others = [s for s in planned if s != station]
        group = {station}
        if others:
            x, y = where[station]
            group.add(min(others, key=lambda s: (where[s][0] - x) ** 2 + (where[s][1] - y) ** 2))
        for g in [g for g in groups if g & group]:
            group |= g
            groups.remove(g)
        groups.append(group)
    return [sorted(g, key=lambda s: (s not in affected, s)) for g in groups]


@dataclasses.dataclass
class _DayParts:
    routes: list[RouteOut]
    unserved: list[UnservedOut]
    stations: list[StationDayOut]


def _replan_group(
    base_ctx: PlanningContext,
    ctx: PlanningContext,
    day: DayOut,
    state: DayState,
    group: list[str],
    parts: _DayParts,
    *,
    engine: str,
    time_limit_s: float,
    seed: int,
    roads: TimedRoads | None,
    executor: cf.Executor | None,
) -> StationReplan:
    """Re-plan one group of stations, verify it and add its routes, unserved and station days
    (with timed closures ``roads``, its legs priced by `sanitation.replan.closures`)."""
    mine = [t for t in state.trucks.values() if t.station_id in group]
    able = [t for t in mine if not t.down and not t.finished]
    label = "+".join(group)
    claim = None
    recorder = NodeRecorder.of(ctx)
    problem, places, starts = station_problem(recorder, group, state, able)
    if roads is None:
        rep = replan_station(
            problem,
            places,
            label,
            able,
            engine=engine,
            time_limit_s=time_limit_s,
            seed=seed,
            executor=executor,
        )
    else:
        pricing = LegPricing.build(
            problem,
            roads,
            [ctx.places.profiles[c] for c in ctx.classes],
            [recorder.nodes[c] for c in ctx.classes],
            ctx.cache_dir,
            starts,
        )
        rep, claim = solve_timed(
            pricing,
            places,
            label,
            able,
            engine=engine,
            time_limit_s=time_limit_s,
            seed=seed,
            executor=executor,
        )
    _verify(rep, mine, state, label, claim)
    after = {r.vehicle_type: r for r in rep.solution.routes}
    for station_id in group:
        station_routes: list[RouteOut] = []
        for t in mine:
            if t.station_id != station_id:
                continue
            initial = problem.vehicle_type(t.vehicle_id).initial_load_kg if t in able else 0
            route = combined_route(
                base_ctx, ctx, t, after.get(t.vehicle_id), initial, len(station_routes) + 1
            )
            if route is not None:
                station_routes.append(route)
        parts.routes.extend(station_routes)
        lost = _station_unserved(ctx, day, station_id, state, rep, not able)
        parts.unserved.extend(lost)
        n_trucks = sum(1 for t in mine if t.station_id == station_id)
        parts.stations.append(_station_day(day, station_id, station_routes, lost, rep, n_trucks))
    return rep


def group_budgets(groups: Sequence[list[str]], state: DayState, time_limit_s: float) -> list[float]:
    """Each group's share (s) of the re-plan's routing budget, as `plan` shares its own: in
    proportion to the stops still due, at least `MIN_STATION_SECONDS` each."""
    due = [sum(len(state.due.get(s, {})) for s in group) for group in groups]
    total = sum(due) or 1
    return [max(MIN_STATION_SECONDS, time_limit_s * n / total) for n in due]


def replan_day(
    doc: PlanDocument,
    scenario: Scenario,
    events: Sequence[Event],
    at_s: int,
    *,
    events_path: Path,
    work_dir: Path,
    engine: str,
    time_limit_s: float,
    seed: int,
    help_from_neighbours: bool = False,
) -> tuple[PlanDocument, PlanningContext, DayOut, dict[str, StationReplan], list[str]]:
    """The new version of a one-day plan from ``at_s`` (see the module docstring)."""
    base_ctx = PlanningContext.build(scenario)
    state = check_events(
        doc, scenario, events, at_s, path=events_path, network=base_ctx.places.network
    )
    state.territory_truck_of = territory_truck_of(doc)
    end_s = shift_bounds(scenario)[1]
    day = doc.days[0]
    _place_new(state, base_ctx, day)
    affected = set(state.affected)
    if closures_in_force(events, at_s, end_s):
        affected |= {s for s, due in state.due.items() if due}
    groups = station_groups(
        scenario, day, affected, list(state.trucks.values()), help=help_from_neighbours
    )
    ctx, _ = replan_context(
        base_ctx,
        events,
        state,
        end_s=end_s,
        work_dir=work_dir,
        path=events_path,
        helpers=[s for g in groups for s in g[1:]],
    )
    timed = [c for c in closures_in_force(events, at_s, end_s) if not is_static(c, at_s)]
    roads = TimedRoads.build(ctx.places.network, timed) if timed else None
    replanned = {s for g in groups for s in g}
    parts = _DayParts(
        [r for r in day.routes if r.station_id not in replanned],
        [u for u in day.unserved if u.station_id not in replanned],
        [s for s in day.stations if s.station_id not in replanned],
    )
    reps: dict[str, StationReplan] = {}
    # one warm pool for every group's portfolio: a new pool per solve would start (and import
    # into) two new worker processes each time
    pool = new_pool(True, 2) if engine == "portfolio" and groups else None
    try:
        for group, group_limit_s in zip(
            groups, group_budgets(groups, state, time_limit_s), strict=True
        ):
            rep = _replan_group(
                base_ctx,
                ctx,
                day,
                state,
                group,
                parts,
                engine=engine,
                time_limit_s=group_limit_s,
                seed=seed,
                roads=roads,
                executor=pool,
            )
            reps.update(dict.fromkeys(group, rep))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    new_day = day.model_copy(
        update={
            "routes": sorted(parts.routes, key=lambda r: r.route_id),
            "unserved": sorted(parts.unserved, key=lambda u: (u.station_id, u.point_id)),
            "stations": sorted(parts.stations, key=lambda s: s.station_id),
        }
    )
    if state.territory_truck_of:
        check_territory(
            new_day, state.territory_truck_of, not_working(state, state.territory_truck_of)
        )
    down_kg = _down_loads(events, state)
    new_day, transfer_note = _with_transfer(
        base_ctx,
        ctx,
        doc,
        new_day,
        towed_kg(events, down_kg),
        at_s,
        roads_changed=bool(closures_in_force(events, at_s, end_s)),
        seed=seed,
    )
    notes = [
        *doc.notes,
        f"re-planned at {hhmm(at_s)} from {len(events)} event(s); stations "
        f"{', '.join('+'.join(g) for g in groups) or 'none'}; {transfer_note}",
        *state.notes,
    ]
    new_doc = doc.model_copy(
        update={
            "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
            "days": [new_day],
            "kpis": plan_kpis(ctx.scenario, doc.assignment, [new_day]),
            "notes": notes,
            "engine": engine,
        }
    )
    return new_doc, ctx, new_day, reps, _lost_loads(events, down_kg)


def _station_day(
    day: DayOut,
    station_id: str,
    routes: list[RouteOut],
    unserved: list[UnservedOut],
    rep: StationReplan,
    n_trucks: int,
) -> StationDayOut:
    old = next((s for s in day.stations if s.station_id == station_id), None)
    served = sum(r.n_stops for r in routes)
    due_kg = sum(v.load_kg for r in routes for v in r.visits if v.kind == "stop")
    due_kg += sum(u.load_kg for u in unserved)
    return StationDayOut(
        date=day.date,
        station_id=station_id,
        points_due=served + len(unserved),
        points_served=served,
        due_kg=due_kg,
        collected_kg=sum(r.collected_kg for r in routes),
        trucks_available=old.trucks_available if old is not None else n_trucks,
        trucks_used=len(routes),
        engine=str(rep.solution.stats.get("winner", rep.solution.engine)),
        solve_seconds=round(rep.seconds, 2),
        cost_cny=round(sum(r.cost_cny for r in routes), 2),
        basis="solved",
    )


def _version(plan_dir: Path) -> int:
    path = plan_dir / "diff.json"
    if not path.is_file():
        return 1
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("version", 0)) + 1
    except (OSError, ValueError, AttributeError):
        return 1


def week_version(
    week: PlanDocument, k: int, new_doc: PlanDocument, ctx: PlanningContext
) -> PlanDocument:
    """The plan of several days ``week`` with day ``k`` replaced by the (one-day) re-plan
    ``new_doc``; the KPIs counted again over every day."""
    days = [*week.days[:k], new_doc.days[0], *week.days[k + 1 :]]
    return new_doc.model_copy(
        update={
            "dates": week.dates,
            "days": days,
            "kpis": plan_kpis(ctx.scenario, week.assignment, days),
        }
    )


def _day_files(folder: Path, date: dt.date) -> list[Path]:
    """The files of ``folder`` that belong to one date: its route sheets and map."""
    day = date.isoformat()
    sheets = sorted((folder / "route_sheets").glob(f"{day}_*.xlsx"))
    return [*sheets, *(p for p in [folder / "maps" / f"{day}.png"] if p.is_file())]


def keep_other_days(old: Path, new: Path, week: PlanDocument, k: int) -> None:
    """The per-day files of every day but ``k`` copied from the old folder as they were (byte
    for byte; ``map.png`` is the first day's), and their route lines and visits in
    ``routes.geojson`` the old ones (drawn on the roads of their day)."""
    for n, date in enumerate(week.dates):
        if n == k:
            continue
        for path in _day_files(new, date):
            path.unlink()
        for path in _day_files(old, date):
            shutil.copyfile(path, new / path.relative_to(old))
    if k != 0 and (old / "map.png").is_file():
        shutil.copyfile(old / "map.png", new / "map.png")
    geojson = "routes.geojson"
    if not (old / geojson).is_file():
        return
    day = week.dates[k].isoformat()

    def of_day(feature: dict[str, Any]) -> bool:
        props = feature["properties"]
        return str(props.get("date") or props.get("route_id", "")).startswith(day)

    before = json.loads((old / geojson).read_text(encoding="utf-8"))["features"]
    after = json.loads((new / geojson).read_text(encoding="utf-8"))["features"]
    by_date: dict[str, list[dict[str, Any]]] = {}
    for f in before:
        if not of_day(f):
            props = f["properties"]
            by_date.setdefault(str(props.get("date") or props["route_id"])[:10], []).append(f)
    by_date[day] = [f for f in after if of_day(f)]
    features = [f for date in week.dates for f in by_date.get(date.isoformat(), [])]
    collection = {"type": "FeatureCollection", "features": features}
    (new / geojson).write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")


def replan_folder(
    plan_dir: Path,
    events_path: Path,
    at_s: int,
    out: Path,
    *,
    engine: str,
    time_limit_s: float,
    seed: int = 1,
    help_from_neighbours: bool = False,
    day: str | None = None,
) -> ReplanResult:
    """Re-plan the plan in ``plan_dir`` (its day ``day``, see `day_index`) from ``at_s`` with
    the events and write the new version to ``out`` (never ``plan_dir``); nothing is written
    unless the re-plan is verified. Of a plan of several days only that day changes."""
    plan_dir = plan_dir.resolve()
    out = check_out_folder(out, markers=PLAN_MARKERS)
    if out == plan_dir:
        msg = f"--out: {out} is PLAN_DIR; expected another folder (the old plan is kept as it is)"
        raise ScenarioError(msg)
    week, week_scenario = read_plan(plan_dir)
    doc, scenario, k = plan_day(week, week_scenario, day)
    events = read_events(events_path)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        work = staging / ".work"
        work.mkdir()
        new_doc, ctx, new_day, reps, lost = replan_day(
            doc,
            scenario,
            events,
            at_s,
            events_path=events_path,
            work_dir=work,
            engine=engine,
            time_limit_s=time_limit_s,
            seed=seed,
            help_from_neighbours=help_from_neighbours,
        )
        closure_notes = [
            f"road closure from {ev.from_}" + (f" until {ev.until}" if ev.until else "")
            for ev in events
            if isinstance(ev, RoadClosed)
        ]
        diff = day_diff(
            doc.days[0],
            new_day,
            at_s=at_s,
            base_plan=str(plan_dir),
            base_created_at=doc.created_at.isoformat(),
            version=_version(plan_dir),
            stations=sorted(reps),
            lost_loads=lost,
            territory_truck_of=territory_truck_of(doc),
            down={ev.vehicle for ev in events if isinstance(ev, TruckDown)},
            notes=closure_notes
            + (
                [f"day {k + 1} ({doc.dates[0]}) of the plan's {len(week.days)}"]
                if len(week.days) > 1
                else []
            ),
        )
        if len(week.days) > 1:
            new_doc = week_version(week, k, new_doc, ctx)
        written = write_plan_outputs(new_doc, ctx, staging)
        if len(week.days) > 1:
            keep_other_days(plan_dir, staging, week, k)
        written += write_diff(diff, staging)
        written.append(write_new_places(ctx, new_doc.days, staging))
        shutil.copyfile(events_path, staging / f"events{events_path.suffix.lower() or '.yaml'}")
        shutil.rmtree(work)
        if len(week.days) > 1:
            written = sorted(p for p in staging.rglob("*") if p.is_file())
        replace_folder(staging, out, markers=PLAN_MARKERS)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return ReplanResult(new_doc, diff, [out / p.relative_to(staging) for p in written], reps)
