"""Plans: start a plan job (with the scenario's open incidents), read stored plan documents,
filter routes, township summaries and KPI comparisons. No FastAPI here.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import shutil
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import scenarios as store
from api.errors import BadRequestError, ConflictError, NotFoundError
from api.job_state import rows_changed
from api.keys import Caller
from api.models import IncidentRow, JobRow, PlanRow, ScenarioRow
from api.schemas import MAX_ID, PlanCreate
from api.settings import Settings
from sanitation.plan.model import PlanDocument
from sanitation.plan.run import week_dates
from sanitation.scenario.model import CollectionPoint, Scenario, split_stop_id

URGENT_PRIORITY = 9
OUTPUT_FILES = (
    "plan.json",
    "plan.schema.json",
    "routes.geojson",
    "plan.gpkg",
    "route_sheets.xlsx",
    "kpis.csv",
    "fleet.csv",
    "map.png",
    "utilisation.png",
    "diff.json",
    "diff.md",
    "events.yaml",
    "events.json",
)


def plan_out(settings: Settings, plan: PlanRow) -> Path:
    """The plan's output folder (written whole by `sanitation.io.plan_folder.plan_to_folder`)."""
    return settings.data_dir / plan.out_dir


CLAIM_ATTEMPTS = 3


def start_plan(
    settings: Settings,
    session: Session,
    scenario: ScenarioRow,
    request: PlanCreate,
    caller: Caller,
) -> tuple[PlanRow, JobRow]:
    """Queue a plan job of the scenario with its open incidents (in a derived overlay YAML).

    The planned scenario is validated first, outside any write transaction (the network build
    can take seconds and must not hold SQLite's write lock); then one transaction inserts the
    plan and claims exactly those incidents (`claim_incidents`). When a concurrent start
    claimed some of them first, it starts over with the incidents still open.

    Raises
    ------
    BadRequestError
        Both ``date`` and ``week`` given.
    ScenarioError, GeoInputError, InfeasibleError
        The planned scenario would not validate (as ``sanitation validate`` checks it).
    ConflictError
        Concurrent plan starts kept claiming the incidents first.
    """
    if request.date and request.week:
        raise BadRequestError("week", "give date or week, not both")
    if request.week:
        dates = week_dates(request.week)
    else:
        dates = [request.date or dt.date.fromisoformat(scenario.plan_date)]
    for _ in range(CLAIM_ATTEMPTS):
        session.rollback()  # a fresh snapshot of the open incidents
        incidents = _open_incidents(session, scenario.id) if request.use_incidents else []
        folder = f"plans/{uuid.uuid4().hex}"
        (settings.data_dir / folder / "input").mkdir(parents=True)
        planned_yaml = f"{scenario.folder}/{scenario.yaml_file}"
        try:
            if incidents:
                planned_yaml = _write_incident_overlay(settings, scenario, folder, incidents)
            store.validate_for_plan(settings, settings.data_dir / planned_yaml)
            plan = PlanRow(
                scenario_id=scenario.id,
                status="queued",
                dates=[d.isoformat() for d in dates],
                engine=request.engine,
                time_limit_s=request.time_limit_s,
                seed=request.seed,
                out_dir=f"{folder}/output",
                planned_yaml=planned_yaml,
                incidents_used=[
                    {"id": i.id, "kind": i.kind, "point_id": i.point_id, "road_ids": i.road_ids}
                    for i in incidents
                ],
                created_by=caller.key_id,
            )
            session.add(plan)
            session.flush()
            if claim_incidents(session, [i.id for i in incidents], plan.id):
                job = JobRow(plan_id=plan.id, state="queued")
                session.add(job)
                session.commit()
                return plan, job
        except BaseException:
            session.rollback()
            shutil.rmtree(settings.data_dir / folder, ignore_errors=True)
            raise
        session.rollback()
        shutil.rmtree(settings.data_dir / folder, ignore_errors=True)
    msg = f"concurrent plan starts of scenario {scenario.id} claimed its incidents; try again"
    raise ConflictError("use_incidents", msg)


def _open_incidents(session: Session, scenario_id: int) -> list[IncidentRow]:
    return list(
        session.scalars(
            select(IncidentRow)
            .where(
                IncidentRow.scenario_id == scenario_id,
                IncidentRow.status == "open",
                IncidentRow.plan_id.is_(None),
            )
            .order_by(IncidentRow.id)
        )
    )


def claim_incidents(session: Session, incident_ids: list[int], plan_id: int) -> bool:
    """Mark these incidents used by ``plan_id`` if every one is still open and unclaimed.

    One conditional UPDATE (``... WHERE status = 'open' AND plan_id IS NULL``) with a row count
    check: of concurrent plan starts each incident goes to exactly one (SQLite serialises
    writers; PostgreSQL re-checks the condition on rows another transaction changed). False
    (nothing to keep: the caller rolls back) when some were claimed by another plan first.
    """
    if not incident_ids:
        return True
    claimed = rows_changed(
        session,
        update(IncidentRow)
        .where(
            IncidentRow.id.in_(incident_ids),
            IncidentRow.status == "open",
            IncidentRow.plan_id.is_(None),
        )
        .values(status="used", plan_id=plan_id)
        .execution_options(synchronize_session=False),
    )
    return claimed == len(incident_ids)


def _write_incident_overlay(
    settings: Settings, scenario: ScenarioRow, folder: str, incidents: list[IncidentRow]
) -> str:
    """Write the scenario plus its incidents (closures, urgent visits) as an overlay YAML."""
    parent = store.load_row(settings, scenario)
    closed = [r for i in incidents for r in i.road_ids]
    urgent = {
        i.point_id: {"priority": URGENT_PRIORITY, "frequency": "daily"}
        for i in incidents
        if i.kind == "overflow" and i.point_id
    }
    store.write_overlay(
        settings.data_dir / folder / "input" / "scenario.yaml",
        store.scenario_yaml(settings, scenario),
        name=parent.name,
        description=f"{parent.name} with incidents {', '.join(str(i.id) for i in incidents)}",
        changes={"overrides": {"points": urgent}} if urgent else {},
        closed_road_ids=[*parent.roads.closed_road_ids, *closed] if closed else [],
    )
    return f"{folder}/input/scenario.yaml"


def get_plan(session: Session, plan_id: int, caller: Caller | None = None) -> PlanRow:
    """A plan by id.

    Raises
    ------
    NotFoundError
        Unknown id (or, for a coordinator, a plan of a scenario outside its townships).
    """
    plan = session.get(PlanRow, plan_id) if 0 < plan_id <= MAX_ID else None
    if plan is None:
        raise NotFoundError("plan_id", plan_id, "plan")
    if caller is not None and caller.role == "coordinator":
        store.get_row(session, plan.scenario_id, caller)
    return plan


def plan_files(settings: Settings, plan: PlanRow) -> list[str]:
    """Output files present for a plan."""
    if plan.status != "done":
        return []
    out = plan_out(settings, plan)
    names = [n for n in OUTPUT_FILES if (out / n).is_file()]
    sheets = out / "route_sheets"
    if sheets.is_dir():
        names += sorted(f"route_sheets/{p.name}" for p in sheets.glob("*.xlsx"))
    maps = out / "maps"
    if maps.is_dir():
        names += sorted(f"maps/{p.name}" for p in maps.glob("*.png"))
    return names


class DocumentCache:
    """Parsed plan documents and encoded answers (finished plans never change)."""

    def __init__(self, size: int = 8, answers: int = 512) -> None:
        self._docs: OrderedDict[int, PlanDocument] = OrderedDict()
        self._answers: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = size
        self._answer_size = answers
        self._lock = threading.Lock()

    def document(self, settings: Settings, plan: PlanRow) -> PlanDocument:
        """The plan document of a finished plan.

        Raises
        ------
        ConflictError
            The plan has not finished.
        """
        if plan.status != "done":
            raise ConflictError("plan_id", f"plan {plan.id} is {plan.status}; no routes yet")
        with self._lock:
            doc = self._docs.get(plan.id)
            if doc is not None:
                self._docs.move_to_end(plan.id)
                return doc
        path = plan_out(settings, plan) / "plan.json"
        doc = PlanDocument.model_validate_json(path.read_bytes())
        with self._lock:
            self._docs[plan.id] = doc
            while len(self._docs) > self._size:
                self._docs.popitem(last=False)
        # a county's document is ~10^6 objects: out of the collector's sight (it has no cycles;
        # an evicted one is freed by reference counts) so a full collection does not pause
        # every request for a second
        gc.freeze()
        return doc

    def answer(self, key: tuple[Any, ...]) -> bytes | None:
        """A cached encoded answer."""
        with self._lock:
            return self._answers.get(key)

    def keep(self, key: tuple[Any, ...], body: bytes) -> bytes:
        """Cache an encoded answer."""
        with self._lock:
            self._answers[key] = body
            while len(self._answers) > self._answer_size:
                self._answers.popitem(last=False)
        return body


def _check_date(doc: PlanDocument, date: dt.date | None) -> None:
    if date is not None and date not in doc.dates:
        shown = ", ".join(d.isoformat() for d in doc.dates)
        raise NotFoundError("date", date.isoformat(), f"plan date (plan has {shown})")


def routes_answer(
    doc: PlanDocument,
    plan_id: int,
    *,
    date: dt.date | None,
    station: str | None,
    vehicle: str | None,
    streams: list[dict[str, str]] | None = None,
) -> bytes:
    """JSON of the filtered routes (and the day's unserved points) of a plan; ``streams``
    (`plan_streams`) are given in a sorted plan.

    Raises
    ------
    NotFoundError
        A date outside the plan, or an unknown station or vehicle.
    """
    _check_date(doc, date)
    days = [d for d in doc.days if date is None or d.date == date]
    routes = [
        r
        for d in days
        for r in d.routes
        if (station is None or r.station_id == station)
        and (vehicle is None or r.vehicle_id == vehicle)
    ]
    if station is not None and station not in {s.station_id for s in doc.assignment.stations}:
        raise NotFoundError("station", station, "station")
    if vehicle is not None and not routes and not _has_vehicle(doc, vehicle):
        raise NotFoundError("vehicle", vehicle, "vehicle")
    unserved = [
        u
        for d in days
        for u in d.unserved
        if (station is None or u.station_id == station) and vehicle is None
    ]
    body = {
        "plan_id": plan_id,
        "dates": [d.date.isoformat() for d in days],
        "routes": [r.model_dump(mode="json") for r in routes],
        "unserved": [u.model_dump(mode="json") for u in unserved],
    }
    if streams:
        body["streams"] = streams
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def plan_streams(settings: Settings, plan: PlanRow, doc: PlanDocument) -> list[dict[str, str]]:
    """The sorted streams of a plan with their names (`stream_refs` of the planned scenario,
    read only when the plan has KPI rows of streams; none: a county that does not sort)."""
    if not any(k.scope == "stream" for k in doc.kpis):
        return []
    return stream_refs(store.load_cached(str((settings.data_dir / plan.planned_yaml).resolve())))


def _has_vehicle(doc: PlanDocument, vehicle: str) -> bool:
    return any(r.vehicle_id == vehicle for d in doc.days for r in d.routes)


def routes_geojson(
    settings: Settings,
    plan: PlanRow,
    doc: PlanDocument,
    *,
    date: dt.date | None,
    station: str | None,
    vehicle: str | None,
) -> bytes:
    """The stored routes.geojson, filtered like `routes_answer` (routes and their visits)."""
    _check_date(doc, date)
    data = json.loads((plan_out(settings, plan) / "routes.geojson").read_bytes())
    keep = []
    for feature in data.get("features", []):
        props = feature.get("properties") or {}
        if date is not None and props.get("date") not in (None, date.isoformat()):
            continue
        if station is not None and props.get("station_id") != station:
            continue
        if vehicle is not None and props.get("vehicle_id") != vehicle:
            continue
        keep.append(feature)
    data["features"] = keep
    return json.dumps(data, ensure_ascii=False).encode()


def route_sheet(
    settings: Settings, plan: PlanRow, doc: PlanDocument, date: dt.date, vehicle: str
) -> Path:
    """The XLSX route sheet of one truck on one day (regenerated when it is missing).

    Raises
    ------
    NotFoundError
        No route of that vehicle on that date.
    """
    from sanitation.io.sheets import route_file_name, write_route_workbook

    _check_date(doc, date)
    route = next(
        (r for d in doc.days if d.date == date for r in d.routes if r.vehicle_id == vehicle),
        None,
    )
    if route is None:
        raise NotFoundError("vehicle", vehicle, f"route on {date.isoformat()} of vehicle")
    path = plan_out(settings, plan) / "route_sheets" / route_file_name(route)
    if not path.is_file():
        from sanitation.plan.context import PlanningContext

        scenario = store.load_cached(str((settings.data_dir / plan.planned_yaml).resolve()))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_route_workbook(route, PlanningContext.build(scenario), path)
    return path


def latest_plan(session: Session, scenario_ids: list[int]) -> PlanRow | None:
    """The newest finished plan of any of these scenarios."""
    if not scenario_ids:
        return None
    return session.scalars(
        select(PlanRow)
        .where(PlanRow.scenario_id.in_(scenario_ids), PlanRow.status == "done")
        .order_by(PlanRow.id.desc())
    ).first()


def township_summary(
    settings: Settings,
    session: Session,
    cache: DocumentCache,
    code: str,
    caller: Caller,
    *,
    plan_id: int | None,
    date: dt.date | None,
) -> dict[str, Any]:
    """Points, collection days, the day's service, unserved points and stations of a township.

    Raises
    ------
    NotFoundError
        Unknown township, one outside the caller's scope, or a plan without the township.
    """
    rows = store.get_township(session, code, caller)
    plan: PlanRow | None
    if plan_id is not None:
        plan = get_plan(session, plan_id, caller)
        if plan.scenario_id not in {r.id for r in rows}:
            raise NotFoundError("plan_id", plan_id, f"plan of township {code}")
        if plan.status != "done":
            raise ConflictError("plan_id", f"plan {plan.id} is {plan.status}")
    else:
        plan = latest_plan(session, [r.id for r in rows])
    scenario_row = next(r for r in rows if plan is None or r.id == plan.scenario_id)
    scenario = store.load_row(settings, scenario_row)
    township = next(t for t in scenario.townships if t.code == code)
    villages = {v.code: v for v in scenario.villages if v.township_code == code}
    points = [p for p in scenario.points if p.village_code in villages]
    ids = {p.point_id for p in points}
    doc = cache.document(settings, plan) if plan is not None else None
    days = _Days(ids)
    day = None
    kpis = None
    station_of: dict[str, str] = {}
    if doc is not None:
        _check_date(doc, date)
        day = date or (dt.date.today() if dt.date.today() in doc.dates else doc.dates[0])
        station_of = {a.point_id: a.station_id for a in doc.assignment.points if a.point_id in ids}
        days.read(doc, day)
        kpis = next((k for k in doc.kpis if k.scope == "township" and k.id == code), None)
    names = {s.station_id: s for s in scenario.stations}
    station_ids = sorted(set(station_of.values()))
    incidents = session.scalars(
        select(IncidentRow.id).where(
            IncidentRow.township_code == code,
            IncidentRow.status == "open",
            IncidentRow.scenario_id == scenario_row.id,
        )
    )
    return {
        "code": code,
        "name": township.name,
        "scenario_id": scenario_row.id,
        "plan_id": plan.id if plan else None,
        "dates": [d.isoformat() for d in doc.dates] if doc else [],
        "date": day.isoformat() if day else None,
        "stations": [
            {"station_id": s, "name": names[s].name, "status": names[s].status}
            for s in station_ids
            if s in names
        ],
        "points": [
            {
                "point_id": p.point_id,
                "name": p.name,
                "village_code": p.village_code,
                "village": villages[p.village_code].name,
                "lon": p.lon,
                "lat": p.lat,
                "frequency": p.frequency,
                "waste_t_per_day": p.waste_t_per_day,
                "station_id": station_of.get(p.point_id),
                **days.of_point(p),
            }
            for p in points
        ],
        "service": days.service,
        "unserved": days.unserved,
        "kpis": kpis.model_dump(mode="json") if kpis else None,
        "open_incidents": list(incidents),
        "streams": stream_refs(scenario),
    }


def stream_refs(scenario: Scenario) -> list[dict[str, str]]:
    """The scenario's sorted streams with their names (none: a county that does not sort)."""
    return [
        {"id": s.stream_id, "name_zh": s.name_zh, "name_en": s.name_en} for s in scenario.streams
    ]


class _Days:
    """The days a plan collects each point of a township and stream (``""``: unsorted) or
    leaves it unserved, and one day's visits and unserved points (point ids, not stop ids)."""

    def __init__(self, ids: set[str]) -> None:
        self.ids = ids
        self.served: dict[tuple[str, str], set[dt.date]] = {}
        self.missed: dict[tuple[str, str], set[dt.date]] = {}
        self.service: list[dict[str, Any]] = []
        self.unserved: list[dict[str, Any]] = []

    def read(self, doc: PlanDocument, day: dt.date) -> None:
        """Read every day of the plan; ``day``'s visits and unserved points are kept."""
        for d in doc.days:
            for r in d.routes:
                for v in r.visits:
                    point_id, stream = split_stop_id(v.id)
                    if v.kind != "stop" or point_id not in self.ids:
                        continue
                    self.served.setdefault((point_id, stream), set()).add(d.date)
                    if d.date == day:
                        self.service.append(
                            {
                                "point_id": point_id,
                                "name": v.name,
                                "route_id": r.route_id,
                                "vehicle_id": r.vehicle_id,
                                "station_id": r.station_id,
                                "arrival_s": v.arrival_s,
                                "arrival": v.arrival,
                                "load_kg": v.load_kg,
                                "stream": stream,
                            }
                        )
            for u in d.unserved:
                point_id, stream = split_stop_id(u.point_id)
                if point_id in self.ids:
                    self.missed.setdefault((point_id, stream), set()).add(d.date)
                    if d.date == day:
                        self.unserved.append(
                            u.model_copy(update={"point_id": point_id}).model_dump(mode="json")
                        )
        self.service.sort(key=lambda s: (s["arrival_s"], s["point_id"], s["stream"]))

    def of_point(self, point: CollectionPoint) -> dict[str, Any]:
        """The point's collection and unserved days (ISO dates), and per sorted stream."""
        every = [(point.point_id, c.stream) for c in point.collections()]
        return {
            "collection_days": _iso(self.served, every),
            "unserved_days": _iso(self.missed, every),
            "streams": [
                {
                    "stream": c.stream,
                    "frequency": c.frequency,
                    "collection_days": _iso(self.served, [(point.point_id, c.stream)]),
                    "weekdays": sorted(
                        {d.isoweekday() for d in self.served.get((point.point_id, c.stream), ())}
                    ),
                    "unserved_days": _iso(self.missed, [(point.point_id, c.stream)]),
                }
                for c in point.streams
            ],
        }


def _iso(found: dict[tuple[str, str], set[dt.date]], keys: list[tuple[str, str]]) -> list[str]:
    """The dates of any of ``keys``, in order, as ISO text."""
    return [d.isoformat() for d in sorted(set().union(*(found.get(k, set()) for k in keys)))]


NUMERIC_KPIS = (
    "collected_t",
    "points_due",
    "points_served",
    "points_unserved",
    "trucks_used",
    "distance_km",
    "driver_hours_h",
    "fixed_cost_cny",
    "distance_cost_cny",
    "time_cost_cny",
    "transfer_cost_cny",
    "gate_fees_cny",
    "station_cost_cny",
    "total_cost_cny",
    "co2_kg",
)


def _scenario_name(session: Session, scenario_id: int, doc: PlanDocument) -> str:
    """The stored scenario's name (the plan document's if the scenario row is gone)."""
    row = session.get(ScenarioRow, scenario_id)
    return row.name if row is not None else doc.scenario


def compare(
    settings: Settings, session: Session, cache: DocumentCache, plan_ids: list[int]
) -> dict[str, Any]:
    """County KPI rows of finished plans side by side, with deltas against the first; each
    plan is labelled by its own scenario's name (as the scenario list shows it). A sorted
    plan's row adds its streams' names and its KPI rows by stream.

    Raises
    ------
    NotFoundError, ConflictError
        An unknown plan, or one that has not finished.
    """
    rows = []
    base = None
    for plan_id in plan_ids:
        plan = get_plan(session, plan_id)
        doc = cache.document(settings, plan)
        county = next(k for k in doc.kpis if k.scope == "county")
        if base is None:
            base = county
        delta = {f: round(getattr(county, f) - getattr(base, f), 3) for f in NUMERIC_KPIS}
        delta_pct = {
            f: round(100 * delta[f] / getattr(base, f), 2) if getattr(base, f) else None
            for f in NUMERIC_KPIS
        }
        rows.append(
            {
                "plan_id": plan.id,
                "scenario_id": plan.scenario_id,
                "scenario": _scenario_name(session, plan.scenario_id, doc),
                "dates": [d.isoformat() for d in doc.dates],
                "kpis": county.model_dump(mode="json"),
                "delta": delta,
                "delta_pct": delta_pct,
                "streams": plan_streams(settings, plan, doc),
                "stream_kpis": [k.model_dump(mode="json") for k in doc.kpis if k.scope == "stream"],
            }
        )
    return {"base_plan_id": plan_ids[0], "rows": rows}
