"""The API store without HTTP, on SQLite and PostgreSQL: migrations match the models (`alembic
check`), a database at another migration is refused naming both, keys are hashed and scoped."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time

import pytest
from alembic import command
from api_db import KINDS, fresh, postgres_database
from sqlalchemy import inspect, select, text

from api.db import (
    DatabaseUrlError,
    alembic_config,
    head_revision,
    make_engine,
    migrate,
    open_database,
    session_factory,
)
from api.errors import BadRequestError
from api.keys import KeyVerifier, create_key, revoke_key
from api.models import ApiKey, ServiceProcess, utcnow
from api.revocations import await_acknowledgements


@pytest.fixture(params=KINDS)
def fresh_url(request, tmp_path):
    """A fresh database's URL, once SQLite and once PostgreSQL."""
    with fresh(request.param) as database:
        yield database.url_for(tmp_path)


@pytest.fixture
def sessions(fresh_url):
    url = fresh_url
    migrate(url)
    engine = make_engine(url)
    yield session_factory(engine), url
    engine.dispose()


def test_migration_creates_the_schema_of_the_models(sessions):
    factory, url = sessions
    with factory() as session:
        bind = session.get_bind()
        tables = set(inspect(bind).get_table_names())
        if bind.dialect.name == "sqlite":
            mode = session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
            assert mode == "wal"
    assert {"api_keys", "scenarios", "plans", "jobs", "incidents", "service_processes"} <= tables
    command.check(alembic_config(url))  # raises when the models drift from the migrations
    open_database(url)  # at this code's migration: accepted


def test_concurrent_first_starts_migrate_once(fresh_url):
    """Processes starting together on an empty database: one creates the schema, none fails."""
    code = f"from api.db import open_database; open_database({fresh_url!r})"
    starts = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        outcomes = [(p.wait(timeout=60), p.communicate(timeout=60)[1]) for p in starts]
    finally:
        for process in starts:
            process.kill()
            process.communicate()
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    command.check(alembic_config(fresh_url))


def test_a_database_at_an_older_or_newer_migration_is_refused_naming_both(fresh_url):
    head = head_revision()
    command.upgrade(alembic_config(fresh_url), "0001")
    with pytest.raises(DatabaseUrlError) as older:
        open_database(fresh_url)
    assert f"is at migration 0001, older than this code's {head}" in str(older.value)
    assert "sanitation db upgrade" in str(older.value)
    migrate(fresh_url)
    engine = make_engine(fresh_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(DatabaseUrlError) as newer:
        open_database(fresh_url)
    assert f"is at migration 9999, which this code does not know (its newest is {head})" in str(
        newer.value
    )


def test_keys_are_stored_hashed_and_verified(sessions, tmp_path):
    factory, url = sessions
    keys = KeyVerifier(url)
    try:
        with factory() as session:
            row, plain = create_key(session, "coordinator", ["990000001"], "甲镇")
            stored = session.scalars(select(ApiKey)).one()
            assert plain not in (stored.key_hash, stored.prefix)
            assert stored.key_hash == hashlib.sha256(plain.encode()).hexdigest()
            caller = keys.lookup(plain)
            assert caller is not None
            assert caller.role == "coordinator"
            assert caller.sees_township("990000001")
            assert not caller.sees_township("990000002")
            assert keys.lookup(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
            assert keys.lookup("nonsense") is None
            assert revoke_key(session, row.prefix)
            assert keys.lookup(plain) is None  # the same verifier, right after: no stale verdict
    finally:
        keys.close()


def test_a_revocation_empties_the_cache_of_verdicts_before_the_revoker_returns(sessions):
    """A valid key's verdict is cached (answered with no read of the key table); a revocation
    committed through another connection empties the cache: on PostgreSQL the process's watch
    acknowledges it before `await_acknowledgements` returns, on SQLite the commit is seen at the
    next request."""
    factory, url = sessions
    keys = KeyVerifier(url)
    try:
        with factory() as session:
            _, plain = create_key(session, "planner")
            session.add(ServiceProcess(id="p1", host="h", pid=1, heartbeat_at=utcnow()))
            session.commit()
            postgres = session.get_bind().dialect.name == "postgresql"
        keys.set_process("p1")
        assert keys.cached(plain) is None  # nothing cached yet
        assert keys.lookup(plain) is not None
        assert keys.cached(plain) is not None
        with factory() as session:
            revoked_at = revoke_key(session, plain.split("_")[1])
            assert revoked_at is not None
            if postgres:
                assert await_acknowledgements(session, revoked_at, live_within_s=60) == []
        assert keys.cached(plain) is None
        assert keys.lookup(plain) is None
    finally:
        keys.close()


def test_the_key_check_survives_a_dropped_connection():
    """PostgreSQL ends the verifier's pooled connection (as a restart does): the check is tried
    again on a new connection, no error reaches the caller."""
    with postgres_database() as url:
        migrate(url)
        engine = make_engine(url)
        keys = KeyVerifier(url)
        try:
            with session_factory(engine)() as session:
                _, plain = create_key(session, "planner")
            assert keys.lookup(plain) is not None  # its connection is now pooled
            with engine.connect() as connection:
                ended = connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            assert ended and all(row[0] for row in ended)
            # the watch sees its connection gone (at once or within moments): no vouching
            deadline = time.monotonic() + 5
            while keys.cached(plain) is not None:
                assert time.monotonic() < deadline, "the cache is still trusted"
                time.sleep(0.01)
            assert keys.lookup(plain) is not None
        finally:
            keys.close()
            engine.dispose()


@pytest.mark.parametrize(
    ("role", "townships", "field"),
    [("admin", [], "role"), ("coordinator", [], "township"), ("coordinator", ["12"], "township")],
)
def test_bad_keys_name_the_field(sessions, role, townships, field):
    factory, _ = sessions
    with factory() as session, pytest.raises(BadRequestError) as caught:
        create_key(session, role, townships)
    assert caught.value.field == field
