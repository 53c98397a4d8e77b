"""Load test of the planning API: concurrent clients fetch routes while a plan job runs.

Starts ``sanitation serve`` on a free 127.0.0.1 port with a fresh data directory, uploads a
scenario folder as a zip, plans it once (so there are routes to fetch), then starts a second
plan job and, while it runs, lets ``--clients`` concurrent clients (asyncio; a minimal
keep-alive HTTP/1.1 client, so the load generator costs little CPU; each client in a closed loop
with an optional think time) fetch ``GET /plans/{id}/routes`` with random filters (date,
station, vehicle; seeded) for ``--seconds``. Prints requests/s, p50/p99/max latency,
errors, and whether the plan job was running throughout. Loopback only, bounded in time.

    python benchmarks/api_load.py                      # Wangjiang baseline, 50 clients, 30 s
    python benchmarks/api_load.py --scenario tests/data/scenario/tiny --yaml scenario.yaml
"""

from __future__ import annotations

import argparse
import asyncio
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
from pathlib import Path
from urllib.parse import urlencode

import httpx

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
    port: int,
    key: str,
    plan_id: int,
    filters: list[dict],
    clients: int,
    seconds: float,
    think_s: float,
    seed: int,
) -> tuple[list[float], int, int]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "wangjiang")
    parser.add_argument("--yaml", default="baseline.yaml", help="scenario YAML in the folder")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--think-ms", type=float, default=0.0, help="mean pause between requests")
    parser.add_argument("--time-limit", type=float, default=5.0, help="first plan's budget, s")
    parser.add_argument("--engine", default="pyvrp")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="api-load-"))
    env = {**os.environ, "SANITATION_DATA_DIR": str(data)}
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
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(SANITATION), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
            for _ in range(300):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
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
            busy = {**body, "time_limit_s": max(args.seconds + 15, 30)}
            second = client.post(f"/scenarios/{sid}/plans", json=busy).json()
            wait_job(client, second["job_id"], {"running"}, 120)
            latencies, errors, total = asyncio.run(
                load(
                    port,
                    key,
                    plan_id,
                    filters,
                    args.clients,
                    args.seconds,
                    args.think_ms / 1000,
                    args.seed,
                )
            )
            state = client.get(f"/jobs/{second['job_id']}").json()
            client.post(f"/jobs/{second['job_id']}/cancel")
    finally:
        server.terminate()
        server.wait(timeout=60)
    result = {
        "clients": args.clients,
        "seconds": args.seconds,
        "think_ms": args.think_ms,
        "scenario": str(args.scenario / args.yaml),
        "distinct_filters": len(filters),
        "requests": total,
        "requests_per_s": round(total / args.seconds, 1),
        "p50_ms": round(1000 * percentile(latencies, 0.50), 1),
        "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
        "max_ms": round(1000 * max(latencies), 1),
        "errors": errors,
        "plan_job_state_after_load": state["state"],
        "plan_job_stage_after_load": state["stage"],
        "cpu_count": os.cpu_count(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
