"""Fixtures shared by the test modules."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from typing import Any, Protocol

import pytest

pytest_plugins = ["api_db"]  # the `database` fixture of the API tests (SQLite and PostgreSQL)

FINISHED = frozenset({"done", "failed", "cancelled"})


@pytest.fixture(scope="session", autouse=True)
def _fresh_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One empty matrix/siting cache for the session (as on a clean CI machine), so no test
    passes on what an earlier run left in ~/.cache/sanitation."""
    os.environ["SANITATION_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


class _Client(Protocol):  # starlette's TestClient or an httpx.Client with a base URL
    def get(self, url: str, *, headers: dict[str, str] | None = ...) -> Any: ...


def poll_job(
    client: _Client,
    job_id: int,
    *,
    until: Collection[str] | Callable[[dict[str, Any]], bool] = FINISHED,
    allowed: Collection[str] | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 90.0,
    every_s: float = 0.2,
) -> dict[str, Any]:
    """Poll ``GET /jobs/{job_id}`` until the job is in a state of ``until`` (or ``until(job)``
    holds) and return the job; fail at once if it reaches a state outside ``allowed``, and
    after ``timeout_s`` seconds."""
    reached = until if callable(until) else (lambda job: job["state"] in until)
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(f"/jobs/{job_id}", headers=headers).json()
        if reached(job):
            return job
        if allowed is not None:
            assert job["state"] in allowed, job
        assert time.monotonic() < deadline, job
        time.sleep(every_s)


@pytest.fixture(scope="session")
def wait_job() -> Callable[..., dict[str, Any]]:
    """`poll_job`: wait for a plan job of the API (TestClient or a live server's client)."""
    return poll_job


@pytest.fixture
def schedule_solves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The station of every week balanced by `sanitation.schedule` (one entry per CP-SAT
    model solved), in order."""
    import sanitation.schedule as schedule_module

    solved: list[str] = []
    solve = schedule_module._schedule_station

    def counting(points: Any, *args: Any, **kwargs: Any) -> Any:
        solved.append(points[0].station_id)
        return solve(points, *args, **kwargs)

    monkeypatch.setattr(schedule_module, "_schedule_station", counting)
    return solved
