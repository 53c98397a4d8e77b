"""Service settings (pydantic-settings): environment variables or a ``.env`` file.

``SANITATION_DATA_DIR`` (default ``./data``) holds the SQLite database, stored scenarios and plan
outputs; ``DATABASE_URL`` points at another database (e.g. PostgreSQL) instead of the SQLite file.
Several service processes may share one PostgreSQL database: they must then share one data folder
too (the same path on a shared filesystem), and ``SANITATION_HEARTBEAT_TIMEOUT_S`` says how long a
silent process keeps its running jobs before a survivor re-queues them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from sanitation.errors import ScenarioError


class Settings(BaseSettings):
    """Every setting of the service, read once (one object, no module globals)."""

    model_config = SettingsConfigDict(env_prefix="SANITATION_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="data directory")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "SANITATION_DATABASE_URL"),
        description="SQLAlchemy URL; default a SQLite file in the data directory",
    )
    max_upload_mb: float = Field(default=20.0, gt=0, description="largest request body, MB")
    workers: int = Field(
        default=1, ge=0, le=32, description="plan worker processes (0: jobs stay queued)"
    )
    poll_s: float = Field(default=0.5, gt=0, description="job supervisor poll interval, s")
    heartbeat_timeout_s: float = Field(
        default=30.0,
        ge=2.0,
        le=3600.0,
        description="a service process whose heartbeat (written every fifth of this) is older "
        "is taken for dead and its running jobs are re-queued, s",
    )
    job_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="niceness added to plan worker processes (and their session's autogroup), "
        "so requests keep their latency while solves run; 0 leaves them at the service's "
        "priority (default 10: assumed)",
    )
    incident_radius_m: float = Field(
        default=50.0, gt=0, description="a blocked-road report closes roads within this, m"
    )

    @property
    def max_upload_bytes(self) -> int:
        """The body limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def heartbeat_every_s(self) -> float:
        """How often a service process writes its heartbeat: five beats fit in the timeout."""
        return self.heartbeat_timeout_s / 5

    @property
    def url(self) -> str:
        """The database URL in force."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sanitation.db').resolve()}"

    def ensure_dirs(self) -> None:
        """Create the data directory and its sub-folders."""
        for sub in ("scenarios", "plans"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)


def load_settings() -> Settings:
    """The settings from the environment (and ``.env``).

    Raises
    ------
    ScenarioError
        A value out of its range or of the wrong type, naming the variable and the value (the
        command line's exit 2).
    """
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            name = "DATABASE_URL" if field == "database_url" else f"SANITATION_{field.upper()}"
            problems.append(f"{name}: value {item.get('input')!r}: {item['msg']}")
        raise ScenarioError("; ".join(problems)) from None
