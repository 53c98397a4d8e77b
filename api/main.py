"""The FastAPI application: routers, error mapping (one place), body limit, lifespan.

Run it with ``sanitation serve`` (uvicorn). The lifespan checks the database (a new one is
migrated with Alembic; one at another migration is refused), starts the job supervisor and stops
it (this process's running jobs are then interrupted and re-queued).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.db import make_engine, open_database, session_factory
from api.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from api.jobs import JobRunner
from api.keys import KeyVerifier
from api.plans import DocumentCache
from api.routes import health, incidents, jobs, plans, replan, scenarios, townships, web
from api.settings import Settings
from geo.errors import GeoInputError
from sanitation.errors import InfeasibleError, ScenarioError

DESCRIPTION = """
Plans the county's sanitation chain (户投放 → 村收集 → 乡镇转运 → 县外运处理) for planners,
dispatchers and township coordinators.

**Units**: mass in tonnes (`_t`) or kilograms (`_kg`); times of day in seconds after midnight
(`_s`) with an `HH:MM` copy; durations in seconds (`_s`) or hours (`_h`); distances in metres
(`_m`) or kilometres (`_km`); money in CNY (`_cny`); CO2 in kg; coordinates WGS-84 lon/lat (°).

**Keys**: every endpoint except `/health` and the docs needs an API key, sent as `X-API-Key`
or `Authorization: Bearer`. Create one with `sanitation keys create --role R [--township CODE]`.
Roles: `planner` (everything), `dispatcher` (plans, jobs, routes, incidents, re-plans of the
day), `coordinator` (its townships' summary and incidents; 404 for anything of another
township; 403 for a re-plan).

**Re-planning** (docs/replan.md): `POST /plans/{id}/replan` with the day's events and `at`
queues a job whose result is a new version of the plan (`GET /plans/{id}/versions`, its diff at
`/plans/{id}/versions/{n}/diff`).

**Errors**: 4xx answers carry `detail` naming the field (`problems` / `causes` list more).
"""


class BodyLimit:
    """Answer 413 for request bodies over the configured size (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, int(declared))
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Answer 413 now; the app then sees a disconnect and its answer is dropped.
                    refused = True
                    await self._refuse(send, seen)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, guarded_send)

    async def _refuse(self, send: Send, size: int) -> None:
        response = JSONResponse(
            {
                "detail": f"body: {size} bytes is over the limit of {self.limit} bytes "
                "(SANITATION_MAX_UPLOAD_MB)"
            },
            status_code=413,
        )
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _problems(status: int, detail: str, **lists: list[str]) -> JSONResponse:
    return JSONResponse({"detail": detail, **lists}, status_code=status)


def _json_safe(value: Any) -> Any:
    """``value`` with what JSON/UTF-8 cannot hold (NaN, ±Infinity, unpaired surrogates) as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def add_error_handlers(app: FastAPI) -> None:
    """The one place that maps the project's exceptions to HTTP statuses."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # FastAPI raises 400 itself for a body it cannot parse; name the field like every 4xx.
        if error.status_code == 400 and not str(error.detail).startswith("body:"):
            error = StarletteHTTPException(400, f"body: {error.detail}", error.headers)
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer (``detail``: a list with ``loc`` naming each field), made safe
        # for inputs that hold NaN or Infinity (which JSON cannot encode).
        return JSONResponse(
            {"detail": _json_safe(jsonable_encoder(error.errors()))}, status_code=422
        )

    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, error: NotFoundError) -> JSONResponse:
        return _problems(404, str(error))

    @app.exception_handler(ForbiddenError)
    async def forbidden(_: Request, error: ForbiddenError) -> JSONResponse:
        return _problems(403, str(error))

    @app.exception_handler(ConflictError)
    async def conflict(_: Request, error: ConflictError) -> JSONResponse:
        return _problems(409, str(error))

    @app.exception_handler(BadRequestError)
    async def bad_request(_: Request, error: BadRequestError) -> JSONResponse:
        return _problems(422, str(error), problems=error.problems)

    @app.exception_handler(ScenarioError)
    async def bad_scenario(_: Request, error: ScenarioError) -> JSONResponse:
        return _problems(422, f"scenario: {error}", problems=error.problems)

    @app.exception_handler(GeoInputError)
    async def bad_geo(_: Request, error: GeoInputError) -> JSONResponse:
        return _problems(422, f"scenario: {error}".splitlines()[0], problems=error.problems)

    @app.exception_handler(InfeasibleError)
    async def infeasible(_: Request, error: InfeasibleError) -> JSONResponse:
        return _problems(422, f"infeasible: {error}", causes=error.causes)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application (settings from the environment unless given)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.ensure_dirs()
        open_database(settings.url)
        engine = make_engine(settings.url)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.keys = KeyVerifier(settings.url)
        runner = JobRunner(settings, app.state.sessions)
        app.state.keys.set_process(runner.me.id)
        app.state.runner = runner
        runner.start()
        try:
            yield
        finally:
            try:
                runner.stop()  # this lifespan's own (a test may start the app twice)
            finally:
                app.state.keys.close()
                engine.dispose()

    app = FastAPI(
        title="sanitation planning API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.cache = DocumentCache()
    add_error_handlers(app)
    for module in (health, scenarios, plans, replan, jobs, townships, incidents, web):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    return app
