"""Township coordinators: a township's points, collection days and the day's service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api import plans
from api.deps import AnyRole, CacheDep, SessionDep, SettingsDep
from api.routes.responses import STATEFUL
from api.schemas import MAX_ID, TownshipSummary

router = APIRouter(prefix="/townships", tags=["townships"])


@router.get(
    "/{code}/summary",
    response_model=TownshipSummary,
    responses=STATEFUL,
    summary="Township summary",
)
def summary(
    settings: SettingsDep,
    session: SessionDep,
    cache: CacheDep,
    caller: AnyRole,
    code: Annotated[str, Path(pattern=r"^\d{9}$", description="9-digit township code")],
    plan_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="default: the newest finished plan")
    ] = None,
    date: Annotated[
        dt.date | None, Query(description="the day of service (default today or the first)")
    ] = None,
) -> TownshipSummary:
    """Points with collection days, the day's visits (arrival HH:MM, kg), unserved points and
    why, the serving stations and KPIs. A coordinator gets 404 for other townships."""
    body = plans.township_summary(
        settings, session, cache, code, caller, plan_id=plan_id, date=date
    )
    return TownshipSummary.model_validate(body)
