"""Errors of the API's persistence and services (no FastAPI here; `api.main` maps them)."""

from __future__ import annotations


class NotFoundError(LookupError):
    """An unknown id, or a record outside the caller's townships (404; ``field`` names it)."""

    def __init__(self, field: str, value: object, what: str = "") -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {what or 'record'} {value!r} not found")


class ForbiddenError(PermissionError):
    """The caller's role or townships do not allow the request (403; ``field`` names it)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class ConflictError(RuntimeError):
    """The request is valid but the record's state does not allow it (409)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class BadRequestError(ValueError):
    """Input that fails a check the request models cannot express (422; names the field)."""

    def __init__(self, field: str, message: str, problems: list[str] | None = None) -> None:
        self.field = field
        self.problems = problems or [f"{field}: {message}"]
        super().__init__(f"{field}: {message}")
