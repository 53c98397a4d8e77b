"""Key revocations across service processes on PostgreSQL: LISTEN/NOTIFY and acknowledgements.

A revocation commits with a ``NOTIFY`` on `CHANNEL` whose payload is its ``revoked_at``. Each
service process listens on a connection of its own (`RevocationWatch`): a notification empties
its cache of key verdicts, and the process then writes the revocation's time into its
``service_processes.keys_seen_at`` row. Before a request is answered from the cache the watch
reads what has already arrived on its socket (no round trip), and the revoker waits until every
live process has acknowledged (`await_acknowledgements`), so once ``sanitation keys revoke``
returns, the key is refused everywhere. A watch whose connection breaks stops vouching for the
cache (every request then reads the key table) until it listens again.

On SQLite (one machine) `DataVersionWatch` asks the database, with no I/O, whether another
connection has committed anything since (``PRAGMA data_version``): any commit, a revocation
through ``sanitation keys revoke`` among them, empties the cache.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from select import select as wait_readable

import psycopg
from psycopg import pq
from sqlalchemy import Engine, func, or_, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from api.models import ServiceProcess

logger = logging.getLogger("api.revocations")

CHANNEL = "sanitation_keys"
WAIT_S = 0.5  # how long the watch sleeps on its socket between acknowledgement checks
RECONNECT_S = 1.0
ACK_TIMEOUT_S = 5.0  # how long a revoker waits for every live process (assumed)
REASSERT_S = 2.0  # how often a watch writes its acknowledgement again (assumed)


def notify(session: Session, revoked_at: dt.datetime) -> None:
    """Send the revocation's notification; PostgreSQL delivers it when the caller commits."""
    session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": revoked_at.isoformat()},
    )


def await_acknowledgements(
    session: Session,
    revoked_at: dt.datetime,
    live_within_s: float,
    timeout_s: float = ACK_TIMEOUT_S,
) -> list[str]:
    """Wait until every service process with a heartbeat younger than ``live_within_s`` has
    applied the revocation of ``revoked_at``; the ids of those that had not after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        cutoff = session.scalars(select(func.now())).one() - dt.timedelta(seconds=live_within_s)
        pending = list(
            session.scalars(
                select(ServiceProcess.id).where(
                    ServiceProcess.heartbeat_at > cutoff,
                    or_(
                        ServiceProcess.keys_seen_at.is_(None),
                        ServiceProcess.keys_seen_at < revoked_at,
                    ),
                )
            )
        )
        session.commit()
        if not pending or time.monotonic() > deadline:
            return pending
        time.sleep(0.02)


class RevocationWatch:
    """Listens for revocations on its own connection (a thread) and calls ``forget`` for each.

    `current` tells a request whether the cache may be trusted: it first reads whatever has
    arrived on the socket (a revocation committed before the request is seen), and it is False
    while the connection is down.
    """

    def __init__(self, url: str, engine: Engine, forget: Callable[[], None]) -> None:
        parsed = make_url(url).set(drivername="postgresql")
        self._conninfo = parsed.render_as_string(hide_password=False)
        self._engine = engine
        self._forget = forget
        self.lock = threading.Lock()
        self._connection: psycopg.Connection | None = None
        self._seen: dt.datetime | None = None
        self._acked: dt.datetime | None = None
        self._acked_when = 0.0
        self.process_id: str | None = None  # set once the process has registered
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="key-revocations", daemon=True)
        self._thread.start()
        self._listening.wait(timeout=5)

    def current(self) -> bool:
        """Whether the cache holds every revocation delivered so far (reads the socket)."""
        with self.lock:
            if self._connection is None:
                return False
            try:
                self._drain()
            except psycopg.Error:
                self._drop()
                return False
            return True

    def close(self) -> None:
        """Stop listening."""
        self._stop.set()
        self._thread.join(timeout=5)
        with self.lock:
            self._drop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
                while not self._stop.is_set():
                    self._wait_on_socket()
                    self._acknowledge()
            except (psycopg.Error, OSError) as error:
                logger.warning("key revocations: connection lost (%s); listening again", error)
                with self.lock:
                    self._drop()
                self._stop.wait(RECONNECT_S)
            finally:
                self._listening.set()

    def _listen(self) -> None:
        connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
        connection.execute(f"LISTEN {CHANNEL}")
        now = connection.execute("SELECT now()").fetchone()
        with self.lock:
            self._forget()  # what was cached before listening may miss a revocation
            self._connection = connection
            self._seen = now[0] if now else None
        self._listening.set()

    def _wait_on_socket(self) -> None:
        with self.lock:
            connection = self._connection
        if connection is None:
            raise psycopg.OperationalError("no connection")
        wait_readable([connection.fileno()], [], [], WAIT_S)
        with self.lock:
            self._drain()

    def _drain(self) -> None:
        """Apply the notifications that have arrived (the caller holds the lock)."""
        if self._connection is None:
            return
        pgconn = self._connection.pgconn
        pgconn.consume_input()
        if pgconn.status != pq.ConnStatus.OK:
            raise psycopg.OperationalError("the connection of the key revocations is closed")
        while (note := pgconn.notifies()) is not None:
            revoked_at = dt.datetime.fromisoformat(note.extra.decode())
            self._forget()
            if self._seen is None or revoked_at > self._seen:
                self._seen = revoked_at

    def _drop(self) -> None:
        self._forget()
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
        self._connection = None

    def _acknowledge(self) -> None:
        """Write the latest revocation applied into this process's row when it changed, and
        every `REASSERT_S` (the row may have been made again: the process was taken for dead)."""
        with self.lock:
            seen = self._seen
        if seen is None or self.process_id is None:
            return
        now = time.monotonic()
        if seen == self._acked and now - self._acked_when < REASSERT_S:
            return
        self._acked, self._acked_when = seen, now
        with self._engine.connect() as connection:
            connection.execute(
                update(ServiceProcess)
                .where(
                    ServiceProcess.id == self.process_id,
                    or_(ServiceProcess.keys_seen_at.is_(None), ServiceProcess.keys_seen_at < seen),
                )
                .values(keys_seen_at=seen)
            )


class DataVersionWatch:
    """SQLite: `current` empties the cache when another connection (any process) has committed
    since it last looked (``PRAGMA data_version`` on a connection of its own: a read of the
    database's shared memory, no I/O)."""

    def __init__(self, engine: Engine, forget: Callable[[], None]) -> None:
        self.lock = threading.Lock()
        self.process_id: str | None = None  # not used: SQLite has one service process
        self._forget = forget
        self._connection: PoolProxiedConnection | None = engine.raw_connection()
        self._version = self._read(self._connection)

    def current(self) -> bool:
        """True once the cache has been emptied if anything was committed since; False once
        closed (the key table is read instead)."""
        with self.lock:
            if self._connection is None:
                return False
            version = self._read(self._connection)
            if version != self._version:
                self._forget()
                self._version = version
        return True

    def close(self) -> None:
        """Give its connection back."""
        with self.lock:
            if self._connection is not None:
                self._connection.close()
            self._connection = None
            self._forget()

    @staticmethod
    def _read(connection: PoolProxiedConnection) -> int:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            row = cursor.fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row else 0
