"""Alembic environment: the URL comes from the config (set by `api.db.alembic_config`) or
Settings; `api.db.migrate` hands over its own connection (which holds the migration lock)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from api.db import make_engine
from api.models import Base
from api.settings import Settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or Settings().url


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against the database (the caller's connection when it gave one)."""
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
