"""FastAPI dependencies: settings, database session, the calling key and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.jobs import JobRunner
from api.keys import Caller
from api.plans import DocumentCache
from api.schemas import MAX_ID
from api.settings import Settings

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")
bearer = HTTPBearer(auto_error=False, description="the API key as a bearer token")


async def get_settings(request: Request) -> Settings:
    """The service settings."""
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request."""
    with request.app.state.sessions() as session:
        yield session


async def get_cache(request: Request) -> DocumentCache:
    """The plan document cache."""
    return request.app.state.cache


async def get_runner(request: Request) -> JobRunner:
    """The job supervisor."""
    return request.app.state.runner


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
CacheDep = Annotated[DocumentCache, Depends(get_cache)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]


async def get_caller(
    request: Request,
    key: Annotated[str | None, Depends(api_key_header)],
    token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller of the request's key (``X-API-Key`` or ``Authorization: Bearer``): from the
    process's cache of verdicts while no revocation can have been missed, else from the key
    table (`api.keys.KeyVerifier`)."""
    plain = key or (token.credentials if token else None)
    if not plain:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="X-API-Key: missing; send an API key as X-API-Key or Authorization: Bearer",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keys = request.app.state.keys
    caller = keys.cached(plain)
    if caller is None:
        caller = await run_in_threadpool(keys.lookup, plain)
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="X-API-Key: unknown or revoked key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def require(*roles: str) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that admits only the given roles (403 otherwise)."""

    async def check(caller: CallerDep) -> Caller:
        if caller.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"X-API-Key: role {caller.role} may not do this; needs {' or '.join(roles)}",
            )
        return caller

    return check


Planner = Annotated[Caller, Depends(require("planner"))]
Staff = Annotated[Caller, Depends(require("planner", "dispatcher"))]
AnyRole = CallerDep


def _id_path(what: str) -> Any:  # fastapi.Path() is typed Any (a parameter marker)
    return Path(ge=1, le=MAX_ID, description=f"{what} id")


ScenarioId = Annotated[int, _id_path("scenario")]
PlanId = Annotated[int, _id_path("plan")]
JobId = Annotated[int, _id_path("job")]
IncidentId = Annotated[int, _id_path("incident")]
