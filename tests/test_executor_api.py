"""The API's plan jobs and the executor: the default engine locally, the solves on the test
cluster when ``SANITATION_DASK_SCHEDULER`` names it, and a clear failed job when it does not
answer (a live `sanitation serve`, so that its worker processes see the variable)."""

from __future__ import annotations

import time

import httpx
import pytest
from test_api_server import Server, cli_key, upload
from test_executor import _scheduler_tasks, closed_address, scheduler_address

from sanitation.plan.executor import SCHEDULER_ENV

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "data")
    yield srv
    srv.stop()


def _plan_job(server: Server, wait_job, **body) -> dict:
    """A plan job of the tiny scenario with the default engine (``body`` added), finished."""
    planner = cli_key(server.data, "--role", "planner")
    server.start()
    with httpx.Client(base_url=server.url, headers={"X-API-Key": planner}, timeout=30) as client:
        sid = upload(client)
        started = client.post(f"/scenarios/{sid}/plans", json={"time_limit_s": 2, **body})
        assert started.status_code == 202, started.text
        job = wait_job(client, started.json()["job_id"], timeout_s=120)
        plan = client.get(f"/plans/{started.json()['plan_id']}").json()
    return {"job": job, "plan": plan}


def test_a_plan_job_runs_its_solves_on_the_cluster_the_variable_names(
    server, wait_job, monkeypatch
):
    address = scheduler_address()
    monkeypatch.setenv(SCHEDULER_ENV, address)
    before = _scheduler_tasks(address, ("_solve_in_worker-",))
    done = _plan_job(server, wait_job)
    assert done["job"]["state"] == "done", done["job"]
    assert done["plan"]["engine"] == "portfolio"  # the default engine, through the API
    # each station-day's two engines ran on the cluster's workers
    assert _scheduler_tasks(address, ("_solve_in_worker-",)) - before >= 2


def test_a_plan_job_with_the_scheduler_down_fails_saying_so(server, wait_job, monkeypatch):
    address = closed_address()
    monkeypatch.setenv(SCHEDULER_ENV, address)
    done = _plan_job(server, wait_job, engine="pyvrp")
    job = done["job"]
    assert job["state"] == "failed", job
    assert address in job["error"] and "unreachable" in job["error"], job
    assert "nothing was written" in job["error"]
    assert "Traceback" not in job["error"]


def test_a_plan_job_with_the_default_engine_runs_locally(server, wait_job, monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    done = _plan_job(server, wait_job)
    assert done["job"]["state"] == "done", done["job"]
    assert done["plan"]["engine"] == "portfolio"


def _cluster_state(address: str, prefix: tuple[str, ...]) -> dict[str, int]:
    """How many tasks of these key prefixes the scheduler holds (and processes), and its
    clients."""
    from distributed import Client

    with Client(address, timeout=10, set_as_default=False) as client:
        return client.run_on_scheduler(
            lambda dask_scheduler: {
                "held": sum(1 for key in dask_scheduler.tasks if str(key).startswith(prefix)),
                "processing": sum(
                    1
                    for key, task in dask_scheduler.tasks.items()
                    if str(key).startswith(prefix) and task.state == "processing"
                ),
                "clients": len(dask_scheduler.clients),
            }
        )


SOLVES = ("solve-", "_solve_in_worker-")  # a station-day's task, and each portfolio engine's


def test_a_plan_job_on_the_cluster_is_cancelled_and_its_solves_let_go(
    server, wait_job, monkeypatch
):
    """Cancel while the job's solves run on the cluster: the job ends cancelled within the poll
    interval, its worker's client leaves the scheduler, and the cluster holds none of its
    tasks once the solves already running reach their time limit (a running task cannot be
    interrupted; its result is dropped)."""
    address = scheduler_address()
    monkeypatch.setenv(SCHEDULER_ENV, address)
    before = _cluster_state(address, SOLVES)
    planner = cli_key(server.data, "--role", "planner")
    server.start()
    with httpx.Client(base_url=server.url, headers={"X-API-Key": planner}, timeout=30) as client:
        sid = upload(client)
        started = client.post(f"/scenarios/{sid}/plans", json={"time_limit_s": 6})
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        deadline = time.monotonic() + 60
        while _cluster_state(address, SOLVES)["processing"] == 0:
            assert time.monotonic() < deadline, "no solve reached the cluster"
            assert client.get(f"/jobs/{job_id}").json()["state"] in ("queued", "running")
            time.sleep(0.1)
        assert client.post(f"/jobs/{job_id}/cancel").status_code == 200
        job = wait_job(client, job_id, timeout_s=15)
        assert job["state"] == "cancelled", job
    deadline = time.monotonic() + 30
    while (state := _cluster_state(address, SOLVES)) != {
        **before,
        "held": 0,
        "processing": 0,
    }:
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
