"""The ``sanitation`` console script: the library's commands plus the API's ``serve``, ``keys``
and ``db``.

It sits above both packages (the library never imports the API): `sanitation.cli.build_app`
makes the app with ``validate``, ``plan``, ``compare``, ``demo``, ``generate`` and ``bench``,
this module adds ``serve``, the ``keys`` group and ``db upgrade``, and `sanitation.cli.run`
maps exceptions to the exit codes of the contract (0 success, 1 internal, 2 bad input,
3 infeasible).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from sanitation.cli import build_app as library_app
from sanitation.cli import run
from sanitation.errors import ScenarioError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

# The API's modules are imported inside the commands: the database stack (SQLAlchemy, Alembic,
# about 0.4 s) and the web stack load only for ``serve`` and ``keys``, not for every command.


def serve(
    host: Annotated[str, typer.Option(help="Address to bind (default loopback only).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    access_log: Annotated[bool, typer.Option(help="Log every request (slower).")] = False,
) -> None:
    """Run the planning API (FastAPI + uvicorn; settings from SANITATION_* / DATABASE_URL).

    Several processes may serve one PostgreSQL database if they share one data folder."""
    from api.db import open_database
    from api.settings import load_settings

    settings = load_settings()
    settings.ensure_dirs()
    open_database(settings.url)  # a bad, unreachable or differently migrated database: exit 2

    import uvicorn

    from api.main import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=access_log)


def _key_store() -> sessionmaker[Session]:
    """The key store's sessions."""
    from api.db import make_engine, open_database, session_factory
    from api.settings import load_settings

    settings = load_settings()
    settings.ensure_dirs()
    open_database(settings.url)
    return session_factory(make_engine(settings.url))


def keys_create(
    role: Annotated[str, typer.Option(help="planner, dispatcher or coordinator.")],
    township: Annotated[
        list[str] | None, typer.Option(help="9-digit township code (coordinators; repeatable).")
    ] = None,
    name: Annotated[str, typer.Option(help="Who holds the key.")] = "",
) -> None:
    """Create an API key (stored hashed); the key is printed as the last line."""
    from api.errors import BadRequestError
    from api.keys import create_key

    with _key_store()() as session:
        try:
            row, plain = create_key(session, role, township or [], name)
        except BadRequestError as error:
            raise ScenarioError(f"--{error}") from None
    scope = f" townships {','.join(row.townships)}" if row.townships else ""
    print(f"created {row.role} key {row.prefix}{scope} (shown once; keep it)")
    print(plain)


def keys_list() -> None:
    """List keys (prefix, role, townships; never the keys themselves)."""
    from api.keys import list_keys

    with _key_store()() as session:
        for row in list_keys(session):
            state = "revoked" if row.revoked_at else "active"
            print(f"{row.prefix}  {row.role:<11} {','.join(row.townships):<20} {state}  {row.name}")


def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (keys list).")],
) -> None:
    """Revoke a key: refused by every service process once this returns (on PostgreSQL it
    waits, a few seconds at most, until each live process has confirmed)."""
    from api.keys import revoke_key
    from api.revocations import ACK_TIMEOUT_S, await_acknowledgements
    from api.settings import load_settings

    with _key_store()() as session:
        revoked_at = revoke_key(session, prefix)
        if revoked_at is None:
            msg = f"prefix: no key with prefix {prefix!r}"
            raise ScenarioError(msg)
        pending = []
        if session.get_bind().dialect.name == "postgresql":
            pending = await_acknowledgements(
                session, revoked_at, load_settings().heartbeat_timeout_s
            )
    print(f"revoked {prefix}")
    for process in pending:
        print(
            f"warning: service process {process} has not confirmed within {ACK_TIMEOUT_S:g} s "
            "(stopped or cut off?); it refuses the key once it reads its notifications",
            file=sys.stderr,
        )


def db_upgrade() -> None:
    """Migrate the database to this code's schema (stop every service process first)."""
    from api.db import head_revision, masked, migrate, reach
    from api.settings import load_settings

    settings = load_settings()
    settings.ensure_dirs()
    before, _ = reach(settings.url)
    migrate(settings.url)
    print(f"{masked(settings.url)}: migration {before or 'none'} -> {head_revision()}")


def build_app() -> typer.Typer:
    """The whole ``sanitation`` command line."""
    app = library_app()
    app.command()(serve)
    keys = typer.Typer(no_args_is_help=True, help="API keys of the planning API.")
    keys.command("create")(keys_create)
    keys.command("list")(keys_list)
    keys.command("revoke")(keys_revoke)
    app.add_typer(keys, name="keys")
    db = typer.Typer(no_args_is_help=True, help="The planning API's database.")
    db.command("upgrade")(db_upgrade)
    app.add_typer(db, name="db")
    return app


def main() -> None:
    """The ``sanitation`` console script."""
    run(build_app())
