"""Plans: status, routes (JSON, GeoJSON), route sheets (XLSX), output files; compare."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, cast

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api import plans, replan
from api.deps import CacheDep, PlanId, SessionDep, SettingsDep, Staff
from api.errors import BadRequestError, NotFoundError
from api.models import PlanRow
from api.routes.responses import ERRORS, STATEFUL
from api.schemas import MAX_ID, ComparePublic, JobState, PlanPublic, RoutesPublic
from api.settings import Settings

router = APIRouter(tags=["plans"])
PLAN_IDS = re.compile(r"^ *[0-9]+ *(, *[0-9]+ *)*,?$")  # ASCII digits: int() takes others too

DateQ = Annotated[dt.date | None, Query(description="a plan date YYYY-MM-DD (default: all)")]
StationQ = Annotated[str | None, Query(max_length=100, description="station_id")]
VehicleQ = Annotated[
    str | None, Query(max_length=100, description="vehicle_id, e.g. D1/small_3t#1")
]
MEDIA = {
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".gpkg": "application/geopackage+sqlite3",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
    ".png": "image/png",
}


def public(settings: Settings, plan: PlanRow, parent_version: int | None = None) -> PlanPublic:
    """The public view of a plan (``parent_version``: the version number of the plan it was
    re-planned from, if any)."""
    return PlanPublic(
        id=plan.id,
        scenario_id=plan.scenario_id,
        status=cast("JobState", plan.status),  # rows hold JobState values; pydantic checks
        dates=plan.dates,
        engine=plan.engine,
        time_limit_s=plan.time_limit_s,
        seed=plan.seed,
        incidents_used=plan.incidents_used,
        county_kpis=plan.county_kpis,
        error=plan.error,
        problems=plan.problems,
        files=plans.plan_files(settings, plan),
        created_at=plan.created_at,
        finished_at=plan.finished_at,
        root_plan_id=plan.root_plan_id,
        version=plan.version,
        parent_plan_id=plan.parent_plan_id,
        based_on_version=parent_version,
    )


@router.get("/plans", response_model=list[PlanPublic], responses=ERRORS, summary="List plans")
def list_plans(
    settings: SettingsDep,
    session: SessionDep,
    caller: Staff,
    scenario_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only plans of this scenario")
    ] = None,
) -> list[PlanPublic]:
    """Plans, newest first; a re-planned version names its version number, the plan it is a
    version of and the version it was re-planned from."""
    query = select(PlanRow).order_by(PlanRow.id.desc())
    if scenario_id is not None:
        query = query.where(PlanRow.scenario_id == scenario_id)
    rows = list(session.scalars(query))
    parents = replan.parent_versions(session, rows)
    return [public(settings, p, parents.get(p.parent_plan_id or 0)) for p in rows]


@router.get("/plans/{plan_id}", response_model=PlanPublic, responses=ERRORS, summary="Get a plan")
def get_plan(
    settings: SettingsDep, session: SessionDep, caller: Staff, plan_id: PlanId
) -> PlanPublic:
    """A plan: status, dates, engine, time limit (s), county KPIs, incidents used, files; a
    re-planned version: its number, its root plan and the version it was re-planned from."""
    row = plans.get_plan(session, plan_id)
    parents = replan.parent_versions(session, [row])
    return public(settings, row, parents.get(row.parent_plan_id or 0))


@router.get(
    "/plans/{plan_id}/routes",
    response_model=RoutesPublic,
    responses=STATEFUL,
    summary="Routes of a plan",
)
async def routes(
    request: Request,
    settings: SettingsDep,
    cache: CacheDep,
    caller: Staff,
    plan_id: PlanId,
    date: DateQ = None,
    station: StationQ = None,
    vehicle: VehicleQ = None,
) -> Response:
    """Collection routes: for each truck its visits in order with arrival (s after midnight and
    HH:MM), kg picked up or unloaded and kg on board after; plus the unserved points and why.
    Sorted streams: each stop's stream, the kg in each compartment after each visit, each
    route's compartments (capacity, kg collected) and the streams' names."""
    key = ("routes", plan_id, date, station, vehicle)
    body = cache.answer(key)
    if body is None:
        body = await run_in_threadpool(
            _routes_body, request.app.state.sessions, settings, cache, key
        )
    return Response(body, media_type="application/json")


def _routes_body(
    sessions: sessionmaker[Session],
    settings: Settings,
    cache: plans.DocumentCache,
    key: tuple[str, int, dt.date | None, str | None, str | None],
) -> bytes:
    _, plan_id, date, station, vehicle = key
    with sessions() as session:
        plan = plans.get_plan(session, plan_id)
        doc = cache.document(settings, plan)
        streams = plans.plan_streams(settings, plan, doc)
    answer = plans.routes_answer(
        doc, plan_id, date=date, station=station, vehicle=vehicle, streams=streams
    )
    return cache.keep(key, answer)


@router.get(
    "/plans/{plan_id}/routes.geojson",
    responses={**STATEFUL, 200: {"content": {"application/geo+json": {}}}},
    summary="Routes of a plan as GeoJSON",
)
def routes_geojson(
    settings: SettingsDep,
    session: SessionDep,
    cache: CacheDep,
    caller: Staff,
    plan_id: PlanId,
    date: DateQ = None,
    station: StationQ = None,
    vehicle: VehicleQ = None,
) -> Response:
    """Route lines along the roads and visit points (WGS-84 lon/lat), filtered like /routes."""
    plan = plans.get_plan(session, plan_id)
    doc = cache.document(settings, plan)
    body = plans.routes_geojson(settings, plan, doc, date=date, station=station, vehicle=vehicle)
    return Response(body, media_type="application/geo+json")


@router.get(
    "/plans/{plan_id}/route-sheet",
    responses={**STATEFUL, 200: {"content": {MEDIA[".xlsx"]: {}}}},
    summary="One truck's route sheet (XLSX)",
)
def route_sheet(
    settings: SettingsDep,
    session: SessionDep,
    cache: CacheDep,
    caller: Staff,
    plan_id: PlanId,
    date: Annotated[dt.date, Query(description="the plan date YYYY-MM-DD")],
    vehicle: Annotated[str, Query(max_length=100, description="vehicle_id")],
) -> FileResponse:
    """The printable sheet of one truck's day: stops in order, times, loads (regenerated if
    missing)."""
    plan = plans.get_plan(session, plan_id)
    doc = cache.document(settings, plan)
    path = plans.route_sheet(settings, plan, doc, date, vehicle)
    return FileResponse(path, media_type=MEDIA[".xlsx"], filename=path.name)


@router.get(
    "/plans/{plan_id}/files/{name:path}",
    responses={**ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    summary="A plan output file",
)
def plan_file(
    settings: SettingsDep, session: SessionDep, caller: Staff, plan_id: PlanId, name: str
) -> FileResponse:
    """plan.json, routes.geojson, plan.gpkg, route_sheets.xlsx, route_sheets/<date>_<truck>.xlsx,
    kpis.csv, fleet.csv, map.png, maps/<date>.png (plans of several days) or utilisation.png
    (names listed by GET /plans/{id})."""
    plan = plans.get_plan(session, plan_id)
    if name not in plans.plan_files(settings, plan):
        raise NotFoundError("name", name, "output file")
    path = plans.plan_out(settings, plan) / name
    suffix = path.suffix.lower()
    return FileResponse(
        path, media_type=MEDIA.get(suffix, "application/octet-stream"), filename=path.name
    )


@router.get(
    "/compare",
    response_model=ComparePublic,
    responses=STATEFUL,
    summary="Compare plans",
)
def compare(
    settings: SettingsDep,
    session: SessionDep,
    cache: CacheDep,
    caller: Staff,
    plans_: Annotated[
        str,
        Query(
            alias="plans",
            max_length=500,
            # documented, checked by the handler (its message names the value)
            json_schema_extra={"pattern": PLAN_IDS.pattern},
            description="comma-separated plan ids; the first is the base of the deltas",
        ),
    ],
) -> ComparePublic:
    """County KPIs (t, km, h, CNY, CO2 kg) of finished plans side by side, with deltas; a
    sorted plan's row adds its KPI rows by stream (``stream_kpis``) and their names."""
    if not plans_.strip(", "):
        raise BadRequestError("plans", "give at least one plan id")
    if not PLAN_IDS.fullmatch(plans_):
        raise BadRequestError("plans", f"value {plans_!r}; expected plan ids like 3,5")
    ids = [int(p) for p in plans_.split(",") if p.strip()]
    return ComparePublic.model_validate(plans.compare(settings, session, cache, ids))
