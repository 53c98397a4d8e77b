"""The documented error answers of the endpoints (``responses=``), one table for all routes."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorPublic

WHY = {
    400: "the body cannot be parsed (not JSON, not UTF-8, a broken multipart form)",
    401: "no key, or an unknown or revoked key",
    403: "the key's role or townships do not allow this",
    404: "an unknown id, or a record outside the caller's townships",
    409: "the record's state does not allow it (e.g. a plan that has not finished)",
    413: "the body is over the size limit (SANITATION_MAX_UPLOAD_MB)",
    422: "a field fails validation; ``detail`` names it (``problems``/``causes`` list more)",
}
ALWAYS = (401, 403, 404, 413, 422)


def errors(*extra: int) -> dict[int | str, dict[str, Any]]:
    """Every error status an operation can answer: those of every keyed endpoint plus ``extra``
    (400 for operations with a body, 409 for those that depend on a record's state)."""
    return {
        code: {"model": ErrorPublic, "description": WHY[code]} for code in sorted({*ALWAYS, *extra})
    }


ERRORS = errors()
WITH_BODY = errors(400)
STATEFUL = errors(409)
