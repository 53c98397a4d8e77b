"""Database engine (SQLite in WAL mode by default, or PostgreSQL), sessions, Alembic migrations,
and the checks a service runs before it starts: a URL it can use, a database it can reach, a
schema at this code's migration."""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Executable, Row, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sanitation.errors import ScenarioError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
CONNECT_TIMEOUT_S = 5
HOT_POOL_SIZE = 8  # connections of an autocommit engine per process (assumed; ~0.3 ms a read)
EXPECTED = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
MIGRATION_LOCK = 19_0019  # PostgreSQL advisory lock: one process migrates at a time
_PASSWORD = re.compile(r"(://[^/:@]*:)[^@/]*@")


class DatabaseUrlError(ScenarioError):
    """``DATABASE_URL`` is unusable: bad scheme, unreachable, or at another migration than the
    code (bad input: exit 2 naming the URL, its password masked)."""


def masked(url: str) -> str:
    """``url`` with its password shown as ``***`` (a value that is no URL is not shown)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        if "://" in url:
            return _PASSWORD.sub(r"\1***@", url)
        return f"<{len(url)} characters, not shown: not a URL, it may hold a password>"


def checked_url(url: str) -> URL:
    """The SQLAlchemy URL of ``url``; ``postgresql://`` and ``postgres://`` mean psycopg 3.

    Raises
    ------
    DatabaseUrlError
        Not a URL, or a database other than SQLite or PostgreSQL (through psycopg).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        msg = f"DATABASE_URL: {masked(url)} is not a database URL; expected {EXPECTED}"
        raise DatabaseUrlError(msg) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        msg = (
            f"DATABASE_URL: scheme {parsed.drivername!r} of {masked(url)} is not supported; "
            f"expected {EXPECTED}"
        )
        raise DatabaseUrlError(msg)
    return parsed


def make_engine(url: str, *, autocommit: bool = False) -> Engine:
    """An engine; SQLite connections get WAL mode, a busy timeout and foreign keys.

    ``autocommit``: each statement commits by itself (no BEGIN, no ROLLBACK on return), a
    pooled PostgreSQL connection is not pinged before use, and the pool holds a fixed
    `HOT_POOL_SIZE` connections that callers queue for (no overflow connections opened and
    closed under load: each costs PostgreSQL a new backend process): one round trip per single
    read, for a hot path that retries once on a dropped connection (`run_read`).
    """
    parsed = checked_url(url)
    isolation = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 30}, **isolation
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:  # sqlite3 DBAPI objects
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    pool = {"pool_size": HOT_POOL_SIZE, "max_overflow": 0} if autocommit else {}
    return create_engine(
        parsed,
        pool_pre_ping=not autocommit,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        **isolation,
        **pool,
    )


def run_read(engine: Engine, statement: Executable, params: dict[str, Any]) -> Row[Any] | None:
    """The first row of one read on an autocommit engine (`make_engine`); tried again once on a
    new connection when the pooled one was dropped (the database restarted)."""
    try:
        with engine.connect() as connection:
            return connection.execute(statement, params).first()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    with engine.connect() as connection:  # the pool handed out a fresh connection
        return connection.execute(statement, params).first()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """The Alembic configuration of the package (``api/alembic.ini``) for ``url``."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS))
    rendered = checked_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration of this code."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        msg = f"no migrations in {MIGRATIONS}"
        raise LookupError(msg)
    return head


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (``sanitation db upgrade``; a new database at
    service start). One process at a time migrates: a PostgreSQL advisory lock, or a lock file
    beside the SQLite file."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection, _migration_lock(connection):
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
    finally:
        engine.dispose()  # ends the session, and with it the advisory lock


def _wait_for_migration(url: str) -> None:
    """Return once no process holds the migration lock (`migrate`)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection, _migration_lock(connection):
            pass
    finally:
        engine.dispose()


@contextmanager
def _migration_lock(connection: Connection) -> Iterator[None]:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        connection.commit()
        yield  # released with the session
        return
    database = connection.engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with Path(f"{database}.migrate.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def reach(url: str) -> tuple[str | None, set[str]]:
    """Connect to ``url``: the migration it is at (None: never migrated) and its tables.

    Raises
    ------
    DatabaseUrlError
        A bad URL or a database that cannot be reached (the driver's reason, the password
        masked).
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            tables = set(inspect(connection).get_table_names())
    except OperationalError as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        msg = f"DATABASE_URL: cannot reach {masked(url)}: {reason}"
        raise DatabaseUrlError(msg) from None
    finally:
        engine.dispose()
    return current, tables


def open_database(url: str) -> None:
    """Check that a service can use ``url``: a new (empty) database is migrated to this code's
    schema; a reachable database must be at this code's migration.

    Raises
    ------
    DatabaseUrlError
        A bad URL, a database that cannot be reached, one with tables but no migration stamp,
        or one at an older or newer migration than the code (naming both).
    """
    current, tables = reach(url)
    head = head_revision()
    if current != head:
        # another process's first start may be migrating it right now (tables without a stamp
        # yet, or a stamp short of the head): wait for it, then look again
        _wait_for_migration(url)
        current, tables = reach(url)
    if current is None:
        if tables - {"alembic_version"}:
            listed = ", ".join(sorted(tables)[:5])
            msg = (
                f"DATABASE_URL: {masked(url)} holds tables ({listed}) but no migration stamp; "
                "expected an empty database or one made by this service"
            )
            raise DatabaseUrlError(msg)
        migrate(url)
        return
    if current == head:
        return
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config(url)).walk_revisions()}
    if current in known:
        msg = (
            f"DATABASE_URL: {masked(url)} is at migration {current}, older than this code's "
            f"{head}; stop every service process, run `sanitation db upgrade`, start them again"
        )
    else:
        msg = (
            f"DATABASE_URL: {masked(url)} is at migration {current}, which this code does not "
            f"know (its newest is {head}): a newer version migrated it; run that version"
        )
    raise DatabaseUrlError(msg)
