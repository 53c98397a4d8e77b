"""Scenarios: upload (zip or JSON), list, get, derive what-ifs, start plan jobs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status

from api import plans, scenarios
from api.deps import AnyRole, Planner, RunnerDep, ScenarioId, SessionDep, SettingsDep, Staff
from api.models import ScenarioRow
from api.routes.responses import ERRORS, WITH_BODY, errors
from api.schemas import (
    JobAccepted,
    PlanCreate,
    ScenarioJsonCreate,
    ScenarioPublic,
    WhatIfCreate,
)

router = APIRouter(prefix="/scenarios", tags=["scenarios"])


def public(row: ScenarioRow) -> ScenarioPublic:
    """The public view of a stored scenario."""
    s = row.summary
    return ScenarioPublic(
        id=row.id,
        name=row.name,
        description=row.description,
        kind="whatif" if row.kind == "whatif" else "upload",
        parent_id=row.parent_id,
        plan_date=dt.date.fromisoformat(row.plan_date),
        created_at=row.created_at,
        townships=s.get("townships", []),
        stations=s.get("stations", []),
        n_villages=s.get("n_villages", 0),
        n_points=s.get("n_points", 0),
        n_vehicles=s.get("n_vehicles", 0),
        waste_t_per_day=s.get("waste_t_per_day", 0.0),
        closed_road_ids=s.get("closed_road_ids", []),
        notes=s.get("notes", []),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScenarioPublic,
    responses=WITH_BODY,
    summary="Upload a scenario (zip)",
)
def upload_zip(
    settings: SettingsDep,
    session: SessionDep,
    caller: Planner,
    file: Annotated[UploadFile, File(description="zip of the scenario YAML and its data files")],
    yaml_name: Annotated[
        str | None, Form(description="the scenario YAML inside the zip, if it holds several")
    ] = None,
    name: Annotated[str | None, Form(max_length=200, description="display name")] = None,
) -> ScenarioPublic:
    """Upload a zip of a scenario YAML with its data files (CSV, XLSX, GeoJSON, GPKG, PBF).

    The scenario is validated as `sanitation validate` does; every problem is listed (422).
    """
    data = file.file.read()
    row = scenarios.store_zip(
        settings,
        session,
        data,
        yaml_name=yaml_name,
        name=name,
        caller=caller,
    )
    return public(row)


@router.post(
    "/json",
    status_code=status.HTTP_201_CREATED,
    response_model=ScenarioPublic,
    responses=WITH_BODY,
    summary="Upload a scenario (JSON)",
)
def upload_json(
    settings: SettingsDep, session: SessionDep, caller: Planner, body: ScenarioJsonCreate
) -> ScenarioPublic:
    """Upload a scenario as its YAML text plus data files (text, or base64 for binary files)."""
    row = scenarios.store_json(
        settings,
        session,
        yaml_text=body.yaml,
        files=body.files,
        files_base64=body.files_base64,
        name=body.name,
        caller=caller,
    )
    return public(row)


@router.get("", response_model=list[ScenarioPublic], responses=ERRORS, summary="List scenarios")
def list_scenarios(session: SessionDep, caller: AnyRole) -> list[ScenarioPublic]:
    """Stored scenarios (a coordinator sees those holding its townships)."""
    return [public(r) for r in scenarios.list_rows(session, caller)]


@router.get(
    "/{scenario_id}", response_model=ScenarioPublic, responses=ERRORS, summary="Get a scenario"
)
def get_scenario(session: SessionDep, caller: AnyRole, scenario_id: ScenarioId) -> ScenarioPublic:
    """One stored scenario: townships, stations, counts, generation (t/day), closures."""
    return public(scenarios.get_row(session, scenario_id, caller))


@router.post(
    "/{scenario_id}/whatifs",
    status_code=status.HTTP_201_CREATED,
    response_model=ScenarioPublic,
    responses=WITH_BODY,
    summary="Derive a what-if",
)
def derive(
    settings: SettingsDep,
    session: SessionDep,
    caller: Planner,
    scenario_id: ScenarioId,
    body: WhatIfCreate,
) -> ScenarioPublic:
    """A new scenario: the parent plus overrides by table/record/column, extra road closures,
    seasonal multipliers, policy or cost keys (units as in the scenario tables)."""
    parent = scenarios.get_row(session, scenario_id, caller)
    changes: dict = {"overrides": body.overrides}
    if body.date:
        changes["date"] = body.date.isoformat()
    if body.seasonal_multipliers is not None:
        changes["seasonal_multipliers"] = body.seasonal_multipliers
    if body.policy:
        changes["policy"] = body.policy
    if body.costs:
        changes["costs"] = body.costs
    row = scenarios.derive_whatif(
        settings,
        session,
        parent,
        name=body.name,
        description=body.description,
        changes=changes,
        closed_road_ids=body.closed_road_ids,
        caller=caller,
    )
    return public(row)


@router.post(
    "/{scenario_id}/plans",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses=errors(400, 409),
    summary="Start a plan job",
)
def start_plan(
    settings: SettingsDep,
    session: SessionDep,
    runner: RunnerDep,
    caller: Staff,
    scenario_id: ScenarioId,
    body: PlanCreate,
) -> JobAccepted:
    """Queue a plan of a day or a week (202 with the job id; poll ``GET /jobs/{id}``).

    The scenario's open incidents are used: blocked roads are closed, overflowing points get an
    urgent daily visit; they are then marked used by this plan.
    """
    row = scenarios.get_row(session, scenario_id, caller)
    plan, job = plans.start_plan(settings, session, row, body, caller)
    runner.wake()
    return JobAccepted(job_id=job.id, plan_id=plan.id, state="queued", status_url=f"/jobs/{job.id}")
