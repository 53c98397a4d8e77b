"""Several `sanitation serve` processes on one PostgreSQL database and one data folder.

Two real servers on free loopback ports: each job runs exactly once (a newcomer leaves a live
process's running job alone), cancel works through either process, a key revoked through the
CLI is refused by both on the next request, and the running job of a killed (or hung) process
is re-queued by the survivor and completes there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from api_db import postgres_database
from api_helpers import (
    SANITATION,
    Server,
    cli_key,
    folder_zip,
    owner_pid,
    service_env,
    stored_job,
    upload,
)

from sanitation.scenario.generate import generate_county

pytestmark = pytest.mark.slow
JOBS = 10


def plan(client, sid: int, time_limit_s: float) -> int:
    started = client.post(
        f"/scenarios/{sid}/plans", json={"engine": "pyvrp", "time_limit_s": time_limit_s}
    )
    assert started.status_code == 202, started.text
    return started.json()["job_id"]


def starts_logged(data: Path, database_url: str, job_id: int) -> int:
    """How many times a worker process started the job (its lines in the plan's worker.log)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        out_dir = connection.execute(
            text(
                "SELECT out_dir FROM plans JOIN jobs ON jobs.plan_id = plans.id WHERE jobs.id = :i"
            ),
            {"i": job_id},
        ).scalar_one()
    engine.dispose()
    log = data / Path(out_dir).parent / "worker.log"
    return sum(f"job {job_id} attempt" in line for line in log.read_text().splitlines())


def too_small(client, sid: int) -> int:
    """A what-if whose stations lack capacity: its plan jobs fail at the assignment stage (a
    worker process each, no routing: quick)."""
    small = {"capacity_t_per_day": 0.8, "max_expansions": 0}
    whatif = client.post(
        f"/scenarios/{sid}/whatifs",
        json={"name": "stations too small", "overrides": {"stations": {"S1": small, "S2": small}}},
    )
    assert whatif.status_code == 201, whatif.text
    return whatif.json()["id"]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two servers (2 plan workers each) on one fresh database and one data folder; the first
    is started alone, the second once the first runs a job."""
    with postgres_database() as url:
        data = tmp_path_factory.mktemp("shared") / "data"
        key = cli_key(data, "--role", "planner", database_url=url)
        servers = [Server(data, url, workers="2", heartbeat_timeout_s="10") for _ in range(2)]
        try:
            yield servers, key, url
        finally:
            for server in servers:
                server.stop()


def test_each_job_runs_exactly_once_on_two_processes(pair, wait_job):
    """A real plan job on the first process while the second starts (the newcomer must not take
    it over), then nine quick jobs (infeasible at the assignment stage) through both."""
    (first, second), key, url = pair
    first.start()
    with first.client(key) as a, second.client(key) as b:
        sid = upload(a)
        quick = too_small(a, sid)
        jobs = [plan(a, sid, 1)]
        wait_job(a, jobs[0], until={"running"}, timeout_s=60, every_s=0.1)
        second.start()
        jobs += [plan(a if n % 2 == 0 else b, quick, 1) for n in range(1, JOBS)]
        finished = [wait_job(b, job_id, timeout_s=90) for job_id in jobs]
        assert [j["state"] for j in finished] == ["done"] + ["failed"] * (JOBS - 1), finished
        assert all(j["error"].startswith("infeasible: ") for j in finished[1:]), finished
        assert [j["attempts"] for j in finished] == [1] * JOBS
        assert [j["interruptions"] for j in finished] == [0] * JOBS
        assert [starts_logged(first.data, url, j) for j in jobs] == [1] * JOBS
        owners = {stored_job(url, j)["owner"] for j in jobs}
        assert len(owners) == 2, owners  # both processes ran jobs


def test_a_job_is_cancelled_through_the_process_that_does_not_run_it(pair, wait_job):
    (first, second), key, url = pair
    with first.client(key) as a, second.client(key) as b:
        sid = a.get("/scenarios").json()[0]["id"]
        job_id = plan(a, sid, 60)
        wait_job(a, job_id, until=lambda j: j["stage"] == "routing", timeout_s=60, every_s=0.1)
        runs_on, worker = (
            owner_pid(url, stored_job(url, job_id)["owner"]),
            stored_job(url, job_id)["pid"],
        )
        # the worker yields to requests: 10 nicer than its service, its autogroup too
        assert (
            os.getpriority(os.PRIO_PROCESS, worker) == os.getpriority(os.PRIO_PROCESS, runs_on) + 10
        )
        assert Path(f"/proc/{worker}/autogroup").read_text().split()[-1] == "10"
        other = b if runs_on == first.pid else a
        assert other.post(f"/jobs/{job_id}/cancel").status_code == 200
        job = wait_job(other, job_id, timeout_s=15)
        assert job["state"] == "cancelled", job
        assert job["attempts"] == 1


def test_a_key_revoked_through_the_cli_is_refused_by_both_processes(pair):
    (first, second), _, url = pair
    key = cli_key(first.data, "--role", "dispatcher", database_url=url)
    with first.client(key) as a, second.client(key) as b:
        for _ in range(2):
            assert a.get("/jobs").status_code == 200
            assert b.get("/jobs").status_code == 200
        prefix = key.split("_")[1]
        done = subprocess.run(
            [str(SANITATION), "keys", "revoke", prefix],
            env=service_env(first.data, url),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        for client in (a, b):
            refused = client.get("/jobs")
            assert refused.status_code == 401
            assert refused.json()["detail"] == "X-API-Key: unknown or revoked key"


TIMEOUT_S = 3.0


def gone(pid: int, timeout_s: float) -> bool:
    """Whether process ``pid`` ends (or is a zombie) within ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("fault", ["kill -9", "hung"])
def test_the_survivor_re_queues_the_job_of_a_dead_process(tmp_path, wait_job, fault):
    """kill -9 of the process that runs a job: the survivor on the same machine sees its pid
    gone and re-queues the job at once; a hung machine (SIGSTOP of the process and of its job's
    worker group: alive, silent, as a machine cut off would look) keeps its job until its
    heartbeat is over the timeout. Either way the job completes on the survivor, and the stopped
    process and worker, resumed, run nothing more."""
    county = generate_county(tmp_path / "county", n_points=300, n_stations=2, seed=1).parent
    with postgres_database() as url:
        data = tmp_path / "data"
        key = cli_key(data, "--role", "planner", database_url=url)
        servers = [
            Server(data, url, workers="1", heartbeat_timeout_s=str(TIMEOUT_S)) for _ in range(2)
        ]
        try:
            for server in servers:
                server.start()
            with servers[0].client(key) as a:
                # the tiny scenario's routing is over within a poll on a quiet machine: 300
                # points route for about the time limit, so the job is caught in routing
                sid = upload(a, folder_zip(county))
                job_id = plan(a, sid, 5 if fault == "hung" else 2)  # outlives the timeout
                wait_job(
                    a, job_id, until=lambda j: j["stage"] == "routing", timeout_s=60, every_s=0.1
                )
                owner, worker = (stored_job(url, job_id)[k] for k in ("owner", "pid"))
                victim = next(s for s in servers if s.pid == owner_pid(url, owner))
                survivor = next(s for s in servers if s is not victim)
                if fault == "kill -9":
                    victim.kill()
                else:  # the worker leads its own process group (its solver pool in it)
                    os.kill(victim.pid, signal.SIGSTOP)
                    os.killpg(worker, signal.SIGSTOP)
                stopped = time.monotonic()
            with survivor.client(key) as b:
                moved = wait_job(b, job_id, until=lambda j: j["interruptions"] == 1, timeout_s=30)
                waited_s = time.monotonic() - stopped
                job = wait_job(b, job_id, timeout_s=60)
                assert job["state"] == "done", job
                assert job["attempts"] == 2
                assert "re-queued" in moved["error"]
                assert stored_job(url, job_id)["owner"] != owner
                if fault == "hung":
                    # not before the heartbeat was a timeout old (it beats every fifth of it)
                    assert waited_s >= TIMEOUT_S * 4 / 5, waited_s
                    assert "heartbeat older than 3 s" in moved["error"]
                    os.killpg(worker, signal.SIGCONT)
                    os.kill(victim.pid, signal.SIGCONT)
                    # the old worker finds its attempt gone and ends; the process finds itself
                    # declared dead and registers again
                    assert gone(worker, timeout_s=20), f"worker {worker} still runs"
                    time.sleep(TIMEOUT_S / 2)
                    assert victim.process.poll() is None
                else:
                    assert "process gone" in moved["error"]
                after = b.get(f"/jobs/{job_id}").json()
                assert (after["state"], after["attempts"]) == ("done", 2), after
        finally:
            for server in servers:
                server.stop()
