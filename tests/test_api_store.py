"""The API store without HTTP: migrations match the models, keys are hashed and scoped."""

from __future__ import annotations

import hashlib

import pytest
from alembic import command
from sqlalchemy import inspect, select

from api.db import alembic_config, make_engine, migrate, session_factory
from api.errors import BadRequestError
from api.keys import create_key, revoke_key, verify_key
from api.models import ApiKey


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'test.db'}"
    migrate(url)
    engine = make_engine(url)
    yield session_factory(engine), url
    engine.dispose()


def test_migration_creates_the_schema_of_the_models(sessions):
    factory, url = sessions
    with factory() as session:
        bind = session.get_bind()
        tables = set(inspect(bind).get_table_names())
        mode = session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
    assert {"api_keys", "scenarios", "plans", "jobs", "incidents"} <= tables
    assert mode == "wal"
    command.check(alembic_config(url))  # raises when the models drift from the migrations


def test_keys_are_stored_hashed_and_verified(sessions, tmp_path):
    factory, _ = sessions
    with factory() as session:
        row, plain = create_key(session, "coordinator", ["990000001"], "甲镇")
        stored = session.scalars(select(ApiKey)).one()
        assert plain not in (stored.key_hash, stored.prefix)
        assert stored.key_hash == hashlib.sha256(plain.encode()).hexdigest()
        caller = verify_key(session, plain)
        assert caller is not None
        assert caller.role == "coordinator"
        assert caller.sees_township("990000001")
        assert not caller.sees_township("990000002")
        assert verify_key(session, plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
        assert verify_key(session, "nonsense") is None
        assert revoke_key(session, row.prefix, stamp_path=tmp_path / "keys.revoked")
        assert verify_key(session, plain) is None


@pytest.mark.parametrize(
    ("role", "townships", "field"),
    [("admin", [], "role"), ("coordinator", [], "township"), ("coordinator", ["12"], "township")],
)
def test_bad_keys_name_the_field(sessions, role, townships, field):
    factory, _ = sessions
    with factory() as session, pytest.raises(BadRequestError) as caught:
        create_key(session, role, townships)
    assert caught.value.field == field
