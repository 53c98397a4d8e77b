"""API keys: ``san_<prefix>_<secret>``; stored as the prefix (lookup) and a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import BadRequestError
from api.models import ApiKey, utcnow

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


def verify_key(session: Session, plain: str) -> Caller | None:
    """The caller of a key, or None for an unknown, malformed or revoked key."""
    parts = plain.split("_")
    if len(parts) < 3 or parts[0] != "san":
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(plain)):
        return None
    return Caller(row.id, row.role, frozenset(row.townships))


def revoke_key(session: Session, prefix: str) -> bool:
    """Revoke the key with this prefix; False when there is none.

    Every service process checks the key table on each request (`verify_key`; no cache of
    verdicts), so the key is refused by all of them from the next request on.
    """
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        return False
    row.revoked_at = utcnow()
    session.commit()
    return True


def list_keys(session: Session) -> list[ApiKey]:
    """Every key (hashes only)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
