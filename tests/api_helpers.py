"""Helpers shared by the API test modules: keys, plan jobs, and `sanitation serve` processes."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

SANITATION = Path(sys.executable).parent / "sanitation"
TINY = Path(__file__).parent / "data" / "scenario" / "tiny"


def role_headers(app: Any) -> dict[str, dict[str, str]]:
    """Fresh API keys of each role (the coordinator's for township 990000001) as headers."""
    from api.keys import create_key

    with app.state.sessions() as session:
        keys = {
            "planner": create_key(session, "planner")[1],
            "dispatcher": create_key(session, "dispatcher")[1],
            "coordinator": create_key(session, "coordinator", ["990000001"])[1],
        }
    return {role: {"X-API-Key": key} for role, key in keys.items()}


@contextmanager
def app_client(data: Path, database: Any) -> Iterator[tuple[Any, Any]]:
    """A TestClient of the app on ``data`` and the test ``database`` (one plan worker), and the
    app."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    settings = Settings(data_dir=data, database_url=database.url_for(data), workers=1, poll_s=0.1)
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, app


def plan_and_wait(
    client: Any, scenario_id: int, headers: dict[str, str], wait_job: Any, **body: Any
) -> tuple[int, dict[str, Any]]:
    """Start a plan job of a stored scenario (PyVRP, 1 s unless ``body`` says otherwise) and
    wait for it: (plan id, the finished job)."""
    started = client.post(
        f"/scenarios/{scenario_id}/plans",
        json={"engine": "pyvrp", "time_limit_s": 1, **body},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"], headers=headers)
    return started.json()["plan_id"], job


def folder_zip(*folders: Path) -> bytes:
    """Scenario folders (with their subfolders) as one zip, each under its folder's name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def tiny_zip() -> bytes:
    """The tiny scenario folder as a zip."""
    return folder_zip(TINY)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(data: Path, database_url: str | None = None, **settings: str) -> dict[str, str]:
    """The environment of a service process (or CLI command) on ``data`` and ``database_url``;
    ``settings`` are SANITATION_* variables without the prefix (``workers="2"``)."""
    env = {**os.environ, "SANITATION_DATA_DIR": str(data)}
    env.pop("DATABASE_URL", None)
    env.pop("SANITATION_DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update({f"SANITATION_{name.upper()}": value for name, value in settings.items()})
    return env


def cli_key(data: Path, *args: str, database_url: str | None = None) -> str:
    """A new API key from ``sanitation keys create ARGS``."""
    done = subprocess.run(
        [str(SANITATION), "keys", "create", *args],
        env=service_env(data, database_url),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip().splitlines()[-1]


class Server:
    """`sanitation serve` on 127.0.0.1 on a free port, on a data folder (and database)."""

    def __init__(self, data: Path, database_url: str | None = None, **settings: str) -> None:
        self.data = data
        self.database_url = database_url
        self.settings = {"poll_s": "0.2", **settings}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        """Start the server and wait until ``/health`` answers."""
        self.process = subprocess.Popen(
            [str(SANITATION), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=service_env(self.data, self.database_url, **self.settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, "server exited"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        """The server's pid."""
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """kill -9 (nothing shuts down)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop as Ctrl-C does (kill -9 after 30 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a stopped server must see the SIGINT
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, key: str) -> httpx.Client:
        """An HTTP client of this server with ``key``."""
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=30)


def upload(client: httpx.Client, archive: bytes | None = None) -> int:
    """Upload a zipped scenario folder (default: the tiny scenario): its id."""
    archive = tiny_zip() if archive is None else archive
    answer = client.post("/scenarios", files={"file": ("scenario.zip", archive, "application/zip")})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def stored_job(database_url: str, job_id: int) -> dict[str, Any]:
    """A job's row as stored (pid of its worker, owner, attempts, state)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT pid, owner, attempts, state FROM jobs WHERE id = :i"), {"i": job_id}
            ).one()
    finally:
        engine.dispose()
    return dict(row._mapping)


def owner_pid(database_url: str, owner: str) -> int | None:
    """The pid of a registered service process."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT pid FROM service_processes WHERE id = :i"), {"i": owner}
            ).scalar()
    finally:
        engine.dispose()
