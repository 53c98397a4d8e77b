"""Incidents: coordinators and dispatchers report; the next plan of the scenario uses them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from api import incidents
from api.deps import AnyRole, IncidentId, SessionDep, SettingsDep, Staff
from api.errors import ConflictError
from api.models import IncidentRow
from api.routes.responses import ERRORS, WITH_BODY, errors
from api.schemas import MAX_ID, IncidentCreate, IncidentPublic, IncidentUpdate

router = APIRouter(prefix="/incidents", tags=["incidents"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IncidentPublic,
    responses=WITH_BODY,
    summary="Report an incident",
)
def report(
    settings: SettingsDep, session: SessionDep, caller: AnyRole, body: IncidentCreate
) -> IncidentRow:
    """An overflowing point (``point_id``: the next plan visits it daily with top priority) or a
    blocked road (``lon``/``lat`` WGS-84 °: roads within 50 m are closed in the next plan)."""
    return incidents.report(settings, session, body, caller)


@router.get("", response_model=list[IncidentPublic], responses=ERRORS, summary="List incidents")
def list_incidents(
    session: SessionDep,
    caller: AnyRole,
    scenario_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status_: Annotated[Literal["open", "used", "dismissed"] | None, Query(alias="status")] = None,
    township: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
) -> list[IncidentRow]:
    """Incidents, newest first (a coordinator sees its townships only)."""
    return incidents.listing(
        session, caller, scenario_id=scenario_id, status=status_, township=township
    )


@router.get(
    "/{incident_id}", response_model=IncidentPublic, responses=ERRORS, summary="Get an incident"
)
def get_incident(session: SessionDep, caller: AnyRole, incident_id: IncidentId) -> IncidentRow:
    """One incident."""
    return incidents.get(session, incident_id, caller)


@router.patch(
    "/{incident_id}",
    response_model=IncidentPublic,
    responses=errors(400, 409),
    summary="Dismiss or reopen an incident",
)
def update_incident(
    session: SessionDep, caller: Staff, incident_id: IncidentId, body: IncidentUpdate
) -> IncidentRow:
    """Dismiss an open incident (not used by later plans) or reopen a dismissed one."""
    row = incidents.get(session, incident_id, caller)
    if row.status == "used":
        raise ConflictError("status", f"incident {incident_id} was used by plan {row.plan_id}")
    row.status = body.status
    session.commit()
    return row
