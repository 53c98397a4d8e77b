"""Health (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep, SettingsDep
from api.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, summary="Service health")
def health(session: SessionDep, settings: SettingsDep) -> HealthPublic:
    """Answers when the service and its database work. No API key needed."""
    from importlib.metadata import PackageNotFoundError, version

    session.execute(text("SELECT 1"))
    try:
        current = version("sanitation")
    except PackageNotFoundError:
        current = "unknown"
    dialect = session.get_bind().dialect.name
    return HealthPublic(status="ok", database=dialect, workers=settings.workers, version=current)
