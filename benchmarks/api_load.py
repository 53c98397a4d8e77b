"""Load test of the planning API: concurrent clients fetch routes while plan jobs run.

Starts ``--processes`` ``sanitation serve`` processes on free 127.0.0.1 ports with one fresh
data folder (one process: SQLite in it; two or more: a throw-away database on the PostgreSQL
server of ``--database-url``, dropped afterwards), uploads a scenario folder as a zip, plans it
once (so there are routes to fetch), then starts ``--busy-jobs`` plan jobs and, while they run,
lets ``--clients`` concurrent clients (asyncio; a minimal keep-alive HTTP/1.1 client, so the
load generator costs little CPU; each client in a closed loop with an optional think time; client
``i`` talks to process ``i mod N``) fetch ``GET /plans/{id}/routes`` with random filters (date,
station, vehicle; seeded) for ``--seconds``. Prints requests/s, p50/p99/max latency, errors,
and for each busy job its attempts and worker starts (exactly once: 1 and 1). With two or more
processes it then kills (SIGKILL) the process that runs a new plan job and reports when the
job was re-queued and completed on a survivor, and the stored row counts before and after.
Loopback only, bounded in time.

    python benchmarks/api_load.py                      # Wangjiang baseline, 50 clients, 30 s
    python benchmarks/api_load.py --scenario tests/data/scenario/tiny --yaml scenario.yaml
    bash .ci/with_services.sh .venv/bin/python benchmarks/api_load.py --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
SANITATION = Path(sys.executable).parent / "sanitation"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def folder_zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def wait_job(client: httpx.Client, job_id: int, states: set[str], timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            msg = f"job {job_id} still {job['state']} after {timeout_s} s"
            raise TimeoutError(msg)
        time.sleep(0.5)


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One GET over a kept-alive HTTP/1.1 connection (a minimal client: the load generator
    shares the machine with the server, so it must cost little CPU)."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return status, body


async def load(
    ports: list[int],
    key: str,
    plan_id: int,
    filters: list[dict],
    clients: int,
    seconds: float,
    think_s: float,
    seed: int,
) -> tuple[list[float], int, int]:
    """``clients`` closed-loop clients, client ``i`` on ``ports[i % len(ports)]`` (round robin
    over the service processes)."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    requests = [
        (
            f"GET /plans/{plan_id}/routes?{urlencode(f)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"X-API-Key: {key}\r\nAccept: application/json\r\n\r\n"
        ).encode()
        for f in filters
    ]

    async def client_loop(index: int) -> None:
        nonlocal errors
        rng = random.Random(seed * 1000 + index)
        port = ports[index % len(ports)]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop_at:
                request = rng.choice(requests)
                start = time.perf_counter()
                try:
                    status, body = await _get(reader, writer, request)
                    ok = status == 200 and body[:1] == b"{"
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                latencies.append(time.perf_counter() - start)
                if not ok:
                    errors += 1
                if think_s:
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
        finally:
            writer.close()

    await asyncio.gather(*(client_loop(i) for i in range(clients)))
    return latencies, errors, len(latencies)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "wangjiang")
    parser.add_argument("--yaml", default="baseline.yaml", help="scenario YAML in the folder")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--think-ms", type=float, default=0.0, help="mean pause between requests")
    parser.add_argument("--time-limit", type=float, default=5.0, help="first plan's budget, s")
    parser.add_argument("--engine", default="pyvrp")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--processes", type=int, default=1, help="service processes (2 or more: PostgreSQL)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SANITATION_TEST_POSTGRES_URL"),
        help="a PostgreSQL server (default $SANITATION_TEST_POSTGRES_URL, as "
        ".ci/with_services.sh sets it); a throw-away database is made on it and dropped after",
    )
    parser.add_argument("--busy-jobs", type=int, default=2, help="plan jobs running under load")
    parser.add_argument(
        "--busy-time-limit", type=float, help="their budget, s (default: the load's + 15, >= 30)"
    )
    parser.add_argument("--heartbeat-timeout", type=float, default=10.0, help="s")
    parser.add_argument(
        "--kill-time-limit", type=float, default=20.0, help="the killed job's budget, s"
    )
    parser.add_argument("--json", type=Path, help="also append the figures here (JSON lines)")
    parser.add_argument("--note", default="", help="a remark kept with the run (what changed)")
    args = parser.parse_args()
    if args.processes > 1 and not args.database_url:
        parser.error("--processes 2 or more needs --database-url (a PostgreSQL server)")
    return args


@contextlib.contextmanager
def throwaway_database(server_url: str | None) -> Iterator[str | None]:
    """A new database on the PostgreSQL server (dropped afterwards); None: SQLite."""
    if server_url is None:
        yield None
        return
    server = make_url(server_url)
    if server.drivername in ("postgresql", "postgres"):
        server = server.set(drivername="postgresql+psycopg")
    name = f"api_load_{os.getpid()}_{random.randrange(10**6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def service_env(data: Path, database_url: str | None, heartbeat_timeout_s: float) -> dict:
    env = {
        **os.environ,
        "SANITATION_DATA_DIR": str(data),
        "SANITATION_HEARTBEAT_TIMEOUT_S": str(heartbeat_timeout_s),
    }
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def start_server(env: dict) -> tuple[int, subprocess.Popen]:
    port = free_port()
    server = subprocess.Popen(
        [str(SANITATION), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return port, server
        except httpx.TransportError:
            time.sleep(0.2)
        if server.poll() is not None:
            break
    raise SystemExit(f"sanitation serve on port {port} did not start")


def stored(database_url: str, sql: str, **params: object) -> list:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()


TABLES = ("api_keys", "scenarios", "plans", "jobs", "incidents")


def row_counts(database_url: str) -> dict[str, int]:
    return {t: stored(database_url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


def executions(database_url: str, data: Path, job_id: int) -> dict:
    """How often the job ran: its attempts and its worker starts in the plan's worker.log."""
    (out_dir, attempts, state, owner) = stored(
        database_url,
        "SELECT plans.out_dir, jobs.attempts, jobs.state, jobs.owner FROM jobs "
        "JOIN plans ON plans.id = jobs.plan_id WHERE jobs.id = :i",
        i=job_id,
    )[0]
    log = data / Path(out_dir).parent / "worker.log"
    lines = log.read_text(encoding="utf-8").splitlines() if log.is_file() else []
    starts = sum(f"job {job_id} attempt" in line for line in lines)
    return {
        "job_id": job_id,
        "state": state,
        "attempts": attempts,
        "worker_starts": starts,
        "owner": owner,
    }


def first_plan(client: httpx.Client, args: argparse.Namespace) -> tuple[int, int, list[dict]]:
    """Upload the scenario and plan it once: (scenario id, plan id, the routes' filters)."""
    upload = client.post(
        "/scenarios",
        files={"file": ("s.zip", folder_zip(args.scenario), "application/zip")},
        data={"yaml_name": args.yaml},
    )
    upload.raise_for_status()
    sid = upload.json()["id"]
    body = {"engine": args.engine, "time_limit_s": args.time_limit, "seed": args.seed}
    first = client.post(f"/scenarios/{sid}/plans", json=body).json()
    t0 = time.monotonic()
    job = wait_job(client, first["job_id"], {"done", "failed", "cancelled"}, 900)
    if job["state"] != "done":
        raise SystemExit(f"first plan {job['state']}: {job['error']}")
    print(f"first plan done in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    plan_id = first["plan_id"]
    routes = client.get(f"/plans/{plan_id}/routes").json()["routes"]
    filters: list[dict] = [{}]
    filters += [{"station": s} for s in sorted({r["station_id"] for r in routes})]
    filters += [{"vehicle": r["vehicle_id"], "date": r["date"]} for r in routes]
    return sid, plan_id, filters


def kill_phase(
    servers: list[tuple[int, subprocess.Popen]],
    key: str,
    sid: int,
    database_url: str,
    args: argparse.Namespace,
) -> dict:
    """kill -9 the process that runs a plan job: the job must complete on a survivor."""
    port = servers[0][0]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}) as client:
        body = {"engine": args.engine, "time_limit_s": args.kill_time_limit, "seed": args.seed}
        job_id = client.post(f"/scenarios/{sid}/plans", json=body).json()["job_id"]
        deadline = time.monotonic() + 300
        while client.get(f"/jobs/{job_id}").json()["stage"] != "routing":
            if time.monotonic() > deadline:
                raise SystemExit(f"job {job_id} did not reach routing")
            time.sleep(0.2)
        owner = stored(database_url, "SELECT owner FROM jobs WHERE id = :i", i=job_id)[0][0]
        pid = stored(database_url, "SELECT pid FROM service_processes WHERE id = :i", i=owner)
        victim = next(s for s in servers if s[1].pid == pid[0][0])
        survivor = next(s for s in servers if s is not victim)
        before = row_counts(database_url)
        victim[1].kill()
        victim[1].wait(timeout=30)
        killed = time.monotonic()
    url = f"http://127.0.0.1:{survivor[0]}"
    with httpx.Client(base_url=url, headers={"X-API-Key": key}) as client:
        requeued_s = None
        while True:
            job = client.get(f"/jobs/{job_id}").json()
            if requeued_s is None and job["interruptions"]:
                requeued_s = time.monotonic() - killed
            if job["state"] in ("done", "failed", "cancelled"):
                break
            if time.monotonic() - killed > args.heartbeat_timeout + 600:
                raise SystemExit(f"job {job_id} still {job['state']} after the kill")
            time.sleep(0.2)
        completed_s = time.monotonic() - killed
    servers.remove(victim)
    return {
        "killed_pid": victim[1].pid,
        "job_id": job_id,
        "state": job["state"],
        "attempts": job["attempts"],
        "interruptions": job["interruptions"],
        "requeued_after_kill_s": round(requeued_s or -1, 2),
        "completed_after_kill_s": round(completed_s, 1),
        "heartbeat_timeout_s": args.heartbeat_timeout,
        "kill_time_limit_s": args.kill_time_limit,
        "rows_before": before,
        "rows_after": row_counts(database_url),
    }


def measure(args: argparse.Namespace, data: Path, database_url: str | None) -> dict:
    env = service_env(data, database_url, args.heartbeat_timeout)
    db = database_url or f"sqlite:///{data / 'sanitation.db'}"
    key = (
        subprocess.run(
            [str(SANITATION), "keys", "create", "--role", "planner", "--name", "api_load"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    servers = [start_server(env) for _ in range(args.processes)]
    ports = [port for port, _ in servers]
    try:
        url = f"http://127.0.0.1:{ports[0]}"
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
            sid, plan_id, filters = first_plan(client, args)
            body = {
                "engine": args.engine,
                "time_limit_s": args.busy_time_limit or max(args.seconds + 15, 30),
                "seed": args.seed,
            }
            busy = [
                client.post(f"/scenarios/{sid}/plans", json=body).json()["job_id"]
                for _ in range(args.busy_jobs)
            ]
            for job_id in busy:
                wait_job(client, job_id, {"running"}, 120)
            latencies, errors, total = asyncio.run(
                load(
                    ports,
                    key,
                    plan_id,
                    filters,
                    args.clients,
                    args.seconds,
                    args.think_ms / 1000,
                    args.seed,
                )
            )
            states = [client.get(f"/jobs/{j}").json() for j in busy]
            finished = [wait_job(client, j, {"done", "failed", "cancelled"}, 900) for j in busy]
        result = {
            "clients": args.clients,
            "seconds": args.seconds,
            "think_ms": args.think_ms,
            "processes": args.processes,
            "database": "postgresql" if database_url else "sqlite",
            "scenario": str(args.scenario / args.yaml),
            "distinct_filters": len(filters),
            "requests": total,
            "requests_per_s": round(total / args.seconds, 1),
            "p50_ms": round(1000 * percentile(latencies, 0.50), 1),
            "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
            "max_ms": round(1000 * max(latencies), 1),
            "errors": errors,
            "busy_jobs_state_after_load": [s["state"] for s in states],
            "busy_jobs_stage_after_load": [s["stage"] for s in states],
            "busy_jobs": [executions(db, data, j["id"]) for j in finished],
        }
        if args.processes > 1 and database_url:
            result["kill"] = kill_phase(servers, key, sid, database_url, args)
        return result
    finally:
        for _, server in servers:
            server.terminate()
            server.wait(timeout=60)


def main() -> None:
    args = parse_args()
    data = Path(tempfile.mkdtemp(prefix="api-load-"))
    with throwaway_database(args.database_url if args.processes > 1 else None) as url:
        result = measure(args, data, url)
    result["cpu_count"] = os.cpu_count()
    result["loadavg_1min"] = round(os.getloadavg()[0], 2)
    result["run"] = f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC {args.note}".strip()
    print(json.dumps(result, indent=2))
    if args.json:  # one line per run, appended (docs/benchmarks_system.md shows them all)
        with args.json.open("a", encoding="utf-8") as out:
            out.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
