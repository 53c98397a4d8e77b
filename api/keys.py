"""API keys: ``san_<prefix>_<secret>``; stored as the prefix (lookup) and a SHA-256 hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.db import make_engine, run_read
from api.errors import BadRequestError
from api.models import ApiKey, utcnow
from api.revocations import DataVersionWatch, RevocationWatch, notify

ROLES = ("planner", "dispatcher", "coordinator")
TOWNSHIP_CODE = re.compile(r"^\d{9}$")


@dataclass(frozen=True)
class Caller:
    """Who is calling: key id, role and (coordinators) the township codes in scope."""

    key_id: int
    role: str
    townships: frozenset[str]

    def sees_township(self, code: str) -> bool:
        """Whether a township is visible (everything for planners and dispatchers)."""
        return self.role != "coordinator" or code in self.townships


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session, role: str, townships: Sequence[str] = (), name: str = ""
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its plain text (shown once, never stored).

    Raises
    ------
    BadRequestError
        Unknown role, a coordinator without townships, or a code that is not 9 digits.
    """
    if role not in ROLES:
        raise BadRequestError("role", f"value {role!r}; expected one of {', '.join(ROLES)}")
    codes = [str(c) for c in townships]
    for code in codes:
        if not TOWNSHIP_CODE.match(code):
            raise BadRequestError("township", f"value {code!r}; expected a 9-digit township code")
    if role == "coordinator" and not codes:
        raise BadRequestError("township", "a coordinator key needs at least one township code")
    prefix = secrets.token_hex(6)
    plain = f"san_{prefix}_{secrets.token_urlsafe(24)}"
    row = ApiKey(prefix=prefix, key_hash=_hash(plain), role=role, townships=codes, name=name)
    session.add(row)
    session.commit()
    return row, plain


class KeyVerifier:
    """The caller of each request's key, so that a key revoked through any service process or
    ``sanitation keys revoke`` is refused by every process from its next request on.

    The verdicts of valid keys are cached in the process; a request is answered from the cache
    only when its watch (`api.revocations`) vouches that no revocation has been missed: on
    PostgreSQL each revocation's notification empties the cache, on SQLite any commit by
    another connection does. Otherwise the key table is read (one indexed read on an
    autocommit connection).
    """

    CACHE_SIZE = 10_000  # keys whose verdicts a process keeps (assumed)

    def __init__(self, url: str) -> None:
        self._engine = make_engine(url, autocommit=True)
        self._known: dict[str, Caller] = {}
        self._generation = 0  # bumped by every revocation applied
        self._watch: RevocationWatch | DataVersionWatch = (
            RevocationWatch(url, self._engine, self._forget)
            if self._engine.dialect.name == "postgresql"
            else DataVersionWatch(self._engine, self._forget)
        )

    def set_process(self, process_id: str) -> None:
        """The service process whose row acknowledges the revocations applied."""
        self._watch.process_id = process_id

    def cached(self, plain: str) -> Caller | None:
        """The caller of a key from the cache (no database round trip), or None: not cached,
        or the cache cannot be vouched for (then `lookup`)."""
        if not self._known or not self._watch.current():
            return None
        return self._known.get(_hash(plain))

    def lookup(self, plain: str) -> Caller | None:
        """The caller of a key from the key table, or None for an unknown, malformed or revoked
        key; a valid key's verdict is cached unless a revocation arrived meanwhile."""
        parts = plain.split("_")
        if len(parts) < 3 or parts[0] != "san":
            return None
        self._watch.current()  # commits before this read must not undo its verdict below
        generation = self._generation
        row = run_read(self._engine, _BY_PREFIX, {"prefix": parts[1]})
        digest = _hash(plain)
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, digest):
            return None
        caller = Caller(row.id, row.role, frozenset(row.townships))
        if self._watch.current():
            with self._watch.lock:
                if generation == self._generation:
                    if len(self._known) >= self.CACHE_SIZE:
                        self._known.clear()
                    self._known[digest] = caller
        return caller

    def close(self) -> None:
        """Stop listening and close its connections."""
        self._watch.close()
        self._engine.dispose()

    def _forget(self) -> None:
        """Empty the cache (a revocation arrived, or the watch lost its connection); called
        with the watch's lock held."""
        self._generation += 1
        self._known.clear()


_BY_PREFIX = select(
    ApiKey.id, ApiKey.key_hash, ApiKey.role, ApiKey.townships, ApiKey.revoked_at
).where(ApiKey.prefix == bindparam("prefix"))


def revoke_key(session: Session, prefix: str) -> dt.datetime | None:
    """Revoke the key with this prefix: when (None when there is no such key).

    On PostgreSQL the revocation is notified to every service process at commit; see
    `api.revocations.await_acknowledgements` for waiting until all have applied it.
    """
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        return None
    revoked_at = utcnow()
    row.revoked_at = revoked_at
    if session.get_bind().dialect.name == "postgresql":
        notify(session, revoked_at)
    session.commit()
    return revoked_at


def list_keys(session: Session) -> list[ApiKey]:
    """Every key (hashes only)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
