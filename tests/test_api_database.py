"""Bad DATABASE_URL for `sanitation serve`: a wrong scheme, a database that cannot be reached, or
one at an older or newer migration exits 2 with one line naming the URL (its password masked)
and, for migrations, both revisions; never a traceback. `sanitation db upgrade` then fixes an
older one."""

from __future__ import annotations

import subprocess

import pytest
from alembic import command
from api_db import KINDS, fresh
from api_helpers import SANITATION, free_port, service_env
from sqlalchemy import text

from api.db import alembic_config, head_revision, make_engine, masked


def serve(tmp_path, url: str, *, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """`sanitation serve` on ``url``; it must exit by itself (it refuses the database)."""
    return subprocess.run(
        [str(SANITATION), "serve", "--port", str(free_port())],
        env=service_env(tmp_path / "data", url),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def refused(done: subprocess.CompletedProcess[str], *named: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    assert "secret" not in done.stderr + done.stdout
    for part in named:
        assert part in done.stderr, done.stderr
    return done.stderr


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://planner:secret@db.example/sanitation", "scheme 'mysql'"),
        ("postgresql+psycopg2://planner:secret@127.0.0.1/x", "scheme 'postgresql+psycopg2'"),
        ("not a url, secret", "is not a database URL"),
    ],
)
def test_a_database_url_of_another_scheme_exits_2_naming_it(tmp_path, url, named):
    stderr = refused(serve(tmp_path, url), named, "expected sqlite:///PATH or postgresql")
    if "://" in url:
        assert masked(url) in stderr and "***" in stderr


def test_a_database_that_cannot_be_reached_exits_2_naming_the_url(tmp_path):
    port = free_port()
    url = f"postgresql://planner:secret@127.0.0.1:{port}/sanitation"
    named = f"DATABASE_URL: cannot reach postgresql://planner:***@127.0.0.1:{port}/sanitation"
    refused(serve(tmp_path, url), named, "Connection refused")


@pytest.mark.parametrize("kind", KINDS)
def test_a_database_at_another_migration_exits_2_naming_both_revisions(tmp_path, kind):
    head = head_revision()
    with fresh(kind) as database:
        url = database.url_for(tmp_path / "data")
        (tmp_path / "data").mkdir()
        command.upgrade(alembic_config(url), "0001")
        refused(serve(tmp_path, url), f"is at migration 0001, older than this code's {head}")
        upgraded = subprocess.run(
            [str(SANITATION), "db", "upgrade"],
            env=service_env(tmp_path / "data", url),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert upgraded.returncode == 0, upgraded.stderr
        assert upgraded.stdout.strip().endswith(f"migration 0001 -> {head}")
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        engine.dispose()
        refused(serve(tmp_path, url), "is at migration 9999", f"its newest is {head}")


@pytest.mark.parametrize(
    ("command", "setting", "value", "says"),
    [
        (["serve"], "job_nice", "50", "less than or equal to 19"),
        (["serve"], "heartbeat_timeout_s", "1", "greater than or equal to 2"),
        (["keys", "list"], "workers", "many", "valid integer"),
    ],
)
def test_a_setting_out_of_its_range_exits_2_naming_the_variable(
    tmp_path, command, setting, value, says
):
    port = ["--port", str(free_port())] if command == ["serve"] else []
    done = subprocess.run(
        [str(SANITATION), *command, *port],
        env=service_env(tmp_path / "data", None, **{setting: value}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    refused(done, f"SANITATION_{setting.upper()}: value {value!r}", says)
