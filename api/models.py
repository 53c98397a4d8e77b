"""SQLAlchemy 2 models of the store: API keys, scenarios, plans (and their re-planned versions),
jobs, incidents, and the service processes sharing the database (identity and heartbeat).

Files live under the data directory; rows hold paths relative to it. Times are UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    """Now, UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {  # noqa: RUF012
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: DateTime(timezone=True),
    }


class ApiKey(Base):
    """An API key: only a lookup prefix and the SHA-256 of the whole key are stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    townships: Mapped[list[Any]] = mapped_column(default=list)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ScenarioRow(Base):
    """A stored scenario: a folder under ``scenarios/`` with its YAML and data files."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))  # upload / whatif / derived
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("scenarios.id"), default=None)
    folder: Mapped[str] = mapped_column(String(500))
    yaml_file: Mapped[str] = mapped_column(String(500))
    plan_date: Mapped[str] = mapped_column(String(10))
    townships: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PlanRow(Base):
    """A plan of a scenario: its request, status and output folder under ``plans/``."""

    __tablename__ = "plans"
    # one row per version number of a plan (plans as planned have no root: NULLs are distinct)
    __table_args__ = (UniqueConstraint("root_plan_id", "version", name="uq_plans_root_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    dates: Mapped[list[Any]] = mapped_column(default=list)
    engine: Mapped[str] = mapped_column(String(16))
    time_limit_s: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer, default=1)
    out_dir: Mapped[str] = mapped_column(String(500))
    planned_yaml: Mapped[str] = mapped_column(String(500))
    incidents_used: Mapped[list[Any]] = mapped_column(default=list)
    county_kpis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    problems: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # a re-planned version (`api.replan`): the plan it is a version of, the version it was
    # re-planned from, its number (0: the plan as planned), the re-plan time HH:MM, the events
    # and the diff's summary
    root_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plans.id"), default=None, index=True
    )
    parent_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), default=None)
    version: Mapped[int] = mapped_column(Integer, default=0)
    replan_at: Mapped[str | None] = mapped_column(String(5), default=None)
    events: Mapped[list[Any]] = mapped_column(default=list)
    diff_summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class JobRow(Base):
    """A plan job run by a worker process; progress is written here as it goes."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    stage: Mapped[str] = mapped_column(String(32), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    pid: Mapped[int | None] = mapped_column(Integer, default=None)
    # the service process (ServiceProcess.id) that runs, or last ran, the job
    owner: Mapped[str | None] = mapped_column(String(100), default=None, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    interruptions: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    problems: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    updated_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class IncidentRow(Base):
    """An overflowing point or a blocked road, reported for a scenario's next plan."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # overflow / blocked_road
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), index=True)
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    point_id: Mapped[str | None] = mapped_column(String(100), default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    road_ids: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open / used / dismissed
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), default=None)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ServiceProcess(Base):
    """A live ``sanitation serve`` process: who it is and when it last wrote its heartbeat.

    ``machine`` identifies the process's pid namespace (boot id and namespace inode; empty where
    unknown) and ``pid_started`` its start time, so a process on the same machine can tell at
    once that this one is gone; elsewhere only the heartbeat's age tells.
    """

    __tablename__ = "service_processes"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    machine: Mapped[str] = mapped_column(String(100), default="")
    pid_started: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # PostgreSQL: the latest key revocation (its revoked_at) this process's cache of key
    # verdicts has applied, or when it began listening for them (`api.keys.KeyVerifier`)
    keys_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)
