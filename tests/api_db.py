"""The databases the API tests run against: SQLite (a file in the test's data folder) and the
PostgreSQL cluster of ``.ci/with_services.sh`` (a fresh database per use, dropped afterwards).

`database` is the one parametrized fixture (module scope): a test module's app fixture asks
for it and passes ``database_url`` to its Settings, so the same tests run on both.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "SANITATION_TEST_POSTGRES_URL"
KINDS = ("sqlite", "postgresql")


def postgres_server() -> str:
    """The URL of the test PostgreSQL server; fails (never skips) when it is not set."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(
            f"{POSTGRES_ENV} is not set: run the API tests through `make test` or "
            "`bash .ci/with_services.sh .venv/bin/python -m pytest ...` (a PostgreSQL cluster)"
        )
    return url


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the test server (dropped, its sessions ended, afterwards)."""
    server = make_url(postgres_server())
    name = f"sanitation_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Database:
    """One database of a test: its kind and URL (``url_for`` a data folder, for SQLite)."""

    kind: str
    postgres_url: str | None

    def url_for(self, data_dir: Path) -> str:
        """The URL for a service whose data folder is ``data_dir``."""
        if self.postgres_url is not None:
            return self.postgres_url
        return f"sqlite:///{(data_dir / 'sanitation.db').resolve()}"


@contextmanager
def fresh(kind: str) -> Iterator[Database]:
    """A fresh database of ``kind`` (``sqlite``: the data folder's file, new with the folder)."""
    if kind == "sqlite":
        yield Database(kind, None)
        return
    with postgres_database() as url:
        yield Database(kind, url)


@pytest.fixture(scope="module", params=KINDS)
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """Each API test module once on SQLite and once on PostgreSQL, a fresh database each."""
    with fresh(request.param) as db:
        yield db
