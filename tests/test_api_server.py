"""End to end against a real uvicorn server on a free loopback port, and fault tests.

Keys come from the CLI (same SANITATION_DATA_DIR); the tiny scenario is uploaded as a zip; plan
jobs use PyVRP with short time limits. Fault tests kill a worker during a solve and restart the
service during a job: both end in a consistent stored state.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_db import KINDS, fresh
from api_helpers import Server, cli_key, stored_job, upload

from tests.proc_helpers import alive, descendants

pytestmark = pytest.mark.slow


@pytest.fixture(params=KINDS)
def server(tmp_path, request):
    """A server on a fresh database (SQLite in its data folder, or PostgreSQL)."""
    with fresh(request.param) as database:
        data = tmp_path / "data"
        srv = Server(data, database.url_for(data))
        try:
            yield srv
        finally:
            srv.stop()


def server_key(server: Server, *args: str) -> str:
    """A new key of the server's store (``sanitation keys create ARGS``)."""
    return cli_key(server.data, *args, database_url=server.database_url)


def job_pid(server: Server, job_id: int) -> int:
    """The worker pid of a running job, read from the service's database."""
    assert server.database_url is not None
    return stored_job(server.database_url, job_id)["pid"]


def wait_routing(client: httpx.Client, job_id: int, wait_job) -> None:
    """Wait until the job's worker is solving the routes."""
    wait_job(
        client,
        job_id,
        until=lambda job: job["state"] == "running" and job["stage"] == "routing",
        allowed={"queued", "running"},
        timeout_s=90,
        every_s=0.1,
    )


def test_end_to_end_across_a_restart(server, wait_job):
    """Keys from the CLI, a zip upload, a plan job that survives a hard restart of the service
    (interrupted, re-queued, done), routes for a dispatcher, a summary for a coordinator."""
    planner = server_key(server, "--role", "planner")
    dispatcher = server_key(server, "--role", "dispatcher")
    coordinator = server_key(server, "--role", "coordinator", "--township", "990000001")
    server.start()
    with httpx.Client(base_url=server.url, headers={"X-API-Key": planner}, timeout=30) as client:
        sid = upload(client)
        reported = client.post(
            "/incidents", json={"kind": "overflow", "scenario_id": sid, "point_id": "P2"}
        )
        assert reported.status_code == 201
        started = client.post(
            f"/scenarios/{sid}/plans", json={"engine": "pyvrp", "time_limit_s": 1}
        )
        assert started.status_code == 202
        job_id, plan_id = started.json()["job_id"], started.json()["plan_id"]
        wait_job(client, job_id, until={"running"}, timeout_s=120)
    server.kill()  # no shutdown: the job is left "running" in the database
    server.start()
    with httpx.Client(base_url=server.url, headers={"X-API-Key": planner}, timeout=30) as client:
        job = wait_job(client, job_id, until={"done", "failed"}, timeout_s=120)
        assert job["state"] == "done", job
        assert job["interruptions"] == 1
        assert job["attempts"] == 2
        # Stored data is intact: the scenario, the incident (used by the re-run plan).
        assert client.get(f"/scenarios/{sid}").json()["n_points"] == 5
        incident = client.get(f"/incidents/{reported.json()['id']}").json()
        assert incident["status"] == "used"
        assert incident["plan_id"] == plan_id
    with httpx.Client(base_url=server.url, timeout=30) as client:
        auth = {"Authorization": f"Bearer {dispatcher}"}
        routes = client.get(f"/plans/{plan_id}/routes", headers=auth)
        assert routes.status_code == 200
        visits = routes.json()["routes"][0]["visits"]
        assert visits[0]["arrival"].count(":") == 1
        assert "P2" in {v["id"] for r in routes.json()["routes"] for v in r["visits"]}
        summary = client.get("/townships/990000001/summary", headers={"X-API-Key": coordinator})
        assert summary.status_code == 200
        assert summary.json()["plan_id"] == plan_id
        refused = client.get("/townships/990000002/summary", headers={"X-API-Key": coordinator})
        assert refused.status_code == 404


def test_killed_worker_fails_the_job(server, wait_job):
    planner = server_key(server, "--role", "planner")
    server.start()
    with httpx.Client(base_url=server.url, headers={"X-API-Key": planner}, timeout=30) as client:
        sid = upload(client)
        started = client.post(
            f"/scenarios/{sid}/plans", json={"engine": "pyvrp", "time_limit_s": 20}
        )
        job_id = started.json()["job_id"]
        wait_routing(client, job_id, wait_job)
        pid = job_pid(server, job_id)
        assert pid
        os.kill(pid, signal.SIGKILL)
        job = wait_job(client, job_id, until={"failed", "done"}, timeout_s=30)
        assert job["state"] == "failed"
        assert "SIGKILL" in job["error"]
        plan = client.get(f"/plans/{started.json()['plan_id']}").json()
        assert plan["status"] == "failed"
        assert plan["files"] == []
        # The service still answers and the scenario is intact.
        assert client.get(f"/scenarios/{sid}").json()["n_points"] == 5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("victim", ["server", "worker"])
def test_nothing_outlives_a_killed_server_or_worker(server, wait_job, victim):
    """kill -9 of the server (or of the worker) during a portfolio solve: within a few seconds
    no forkserver, resource tracker, worker or solver process of it is left running."""
    planner = server_key(server, "--role", "planner")
    server.start()
    with httpx.Client(base_url=server.url, headers={"X-API-Key": planner}, timeout=30) as client:
        sid = upload(client)
        started = client.post(
            f"/scenarios/{sid}/plans", json={"engine": "portfolio", "time_limit_s": 30}
        )
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        wait_routing(client, job_id, wait_job)
        time.sleep(1.0)  # the solver processes are up
        assert server.process is not None
        before = descendants(server.process.pid)
        assert len(before) >= 3, before  # forkserver, resource tracker, worker (+ solvers)
        if victim == "server":
            server.kill()
            watched = before
        else:
            worker = client.get(f"/jobs/{job_id}").json()
            assert worker["state"] == "running"
            pid = job_pid(server, job_id)
            watched = {pid: before[pid], **descendants(pid)}
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(watched) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive(watched)
    names = {p: Path(f"/proc/{p}/cmdline").read_bytes()[:90] for p in left}
    assert not left, names
