"""Re-planning the day with the trucks out: start a re-plan job, a plan's versions, their diffs."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, HTTPException, Path, Response, status

from api import replan
from api.deps import CacheDep, CallerDep, PlanId, RunnerDep, SessionDep, SettingsDep, Staff
from api.errors import ConflictError, NotFoundError
from api.keys import Caller
from api.models import PlanRow
from api.plans import plan_out, plan_streams, routes_answer
from api.routes.responses import ERRORS, STATEFUL, errors
from api.schemas import JobAccepted, JobState, ReplanCreate, RoutesPublic, VersionPublic

router = APIRouter(tags=["re-planning"])
VersionNo = Annotated[int, Path(ge=0, le=10_000, description="version number (0: as planned)")]


async def _replanner(caller: CallerDep) -> Caller:
    """Dispatchers and planners re-plan; a coordinator only reports incidents (403)."""
    if caller.role not in ("dispatcher", "planner"):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=(
                f"X-API-Key: role {caller.role} may not re-plan (it may only report incidents "
                "with POST /incidents, for its townships); needs dispatcher or planner"
            ),
        )
    return caller


Replanner = Annotated[Caller, Depends(_replanner)]


def public(row: PlanRow, parent_versions: dict[int, int]) -> VersionPublic:
    """The public view of a version."""
    return VersionPublic(
        version=row.version,
        plan_id=row.id,
        based_on_version=parent_versions.get(row.parent_plan_id or 0),
        status=cast("JobState", row.status),  # rows hold JobState values; pydantic checks
        at=row.replan_at,
        events=row.events,
        created_at=row.created_at,
        finished_at=row.finished_at,
        error=row.error,
        diff_summary=row.diff_summary,
    )


@router.post(
    "/plans/{plan_id}/replan",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses=errors(400, 409),
    summary="Re-plan the rest of the day (a job)",
)
def start_replan(
    settings: SettingsDep,
    session: SessionDep,
    runner: RunnerDep,
    caller: Replanner,
    plan_id: PlanId,
    body: ReplanCreate,
) -> JobAccepted:
    """Queue a re-plan of a plan's newest finished version (or ``base_version``; its ``day``
    for a plan of several days) from
    ``at`` with the events (docs/replan.md) and the incidents named: 202 with the job id; the
    job's ``plan_id`` is the new version's. Bad events: 422 naming the event index, field and
    value, and nothing is queued."""
    row, job = replan.start_replan(settings, session, plan_id, body, caller)
    runner.wake()
    return JobAccepted(job_id=job.id, plan_id=row.id, state="queued", status_url=f"/jobs/{job.id}")


@router.get(
    "/plans/{plan_id}/versions",
    response_model=list[VersionPublic],
    responses=ERRORS,
    summary="Versions of a plan",
)
def list_versions(session: SessionDep, caller: Staff, plan_id: PlanId) -> list[VersionPublic]:
    """The plan as planned (version 0) and its re-planned versions: time, events, status and
    the diff's summary (stops moved, share unchanged, changed trucks, cost)."""
    rows = replan.versions(session, plan_id)
    numbers = {r.id: r.version for r in rows}
    return [public(r, numbers) for r in rows]


def _done_version(session: SessionDep, plan_id: int, number: int) -> PlanRow:
    row = replan.version(session, plan_id, number)
    if number == 0:
        raise NotFoundError("version", number, "re-planned version (0 is the plan as planned)")
    if row.status != "done":
        raise ConflictError("version", f"version {number} is {row.status}; no diff yet")
    return row


@router.get(
    "/plans/{plan_id}/versions/{number}/diff",
    responses={**STATEFUL, 200: {"content": {"application/json": {}}}},
    summary="What a re-plan changed (diff.json)",
)
def version_diff(
    settings: SettingsDep, session: SessionDep, caller: Staff, plan_id: PlanId, number: VersionNo
) -> Response:
    """The diff of version ``number`` against the version it was re-planned from: per changed
    stop its old and new truck and ETA, the trucks whose sheets changed, shares and costs."""
    row = _done_version(session, plan_id, number)
    body = (plan_out(settings, row) / "diff.json").read_bytes()
    return Response(body, media_type="application/json")


@router.get(
    "/plans/{plan_id}/versions/{number}/routes",
    response_model=RoutesPublic,
    responses=STATEFUL,
    summary="Routes of a version",
)
def version_routes(
    settings: SettingsDep,
    session: SessionDep,
    cache: CacheDep,
    caller: Staff,
    plan_id: PlanId,
    number: VersionNo,
) -> Response:
    """The routes of version ``number`` (as GET /plans/{its plan_id}/routes)."""
    row = replan.version(session, plan_id, number)
    doc = cache.document(settings, row)
    streams = plan_streams(settings, row, doc)
    body = routes_answer(doc, row.id, date=None, station=None, vehicle=None, streams=streams)
    return Response(body, media_type="application/json")
