"""The events of a dispatcher's day (``EVENTS.yaml`` / JSON; the same model for the CLI and the
API): what happened since the plan was printed.

Units: times ``HH:MM`` on the plan's date (seconds after midnight inside, ``_s``), mass kg,
coordinates WGS-84 lon/lat. The file is ``{events: [...]}`` (or the bare list); each event has a
``type``:

- ``truck_down``: ``vehicle`` (a plan ``vehicle_id``) stopped at ``time``; where: ``point`` (a
  point id) or ``lon``/``lat`` (default: its last visit done); ``load_kg`` on board (default: as
  planned); ``tow_to`` a station id that takes the load (else the load is lost to the plan);
- ``road_closed``: ``roads`` (road ids of the scenario) and/or ``area`` (a GeoJSON Polygon or
  MultiPolygon, lon/lat), ``from`` a time, ``until`` a time (optional);
- ``urgent_point``: ``point`` (a point id) or ``lon``/``lat``/``name`` (a new place), ``kg``,
  ``deadline`` (emptied by then);
- ``extra_waste``: ``point`` holds ``kg`` more than planned;
- ``position`` / ``truck_late``: ``vehicle`` is at ``lon``/``lat`` at ``time`` with ``load_kg``;
- ``stop_done`` / ``stop_skipped``: the crew reports ``point`` done / skipped at ``time``.

`read_events` checks the form and the physical ranges; `sanitation.replan.check` checks the
events against the plan and its roads (ids, shift hours, capacity, distance to the roads). Every
problem is an `EventProblem` (event index, field, value, what was expected), raised together as
an `EventsError` whose messages name the file too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from sanitation.errors import ScenarioError

#: the heaviest load any collection truck carries (kg): a 10 t compactor with margin (assumed)
MAX_EVENT_KG = 20_000
#: events per file: a day of a county's trucks and crews (assumed)
MAX_EVENTS = 10_000


def parse_hhmm(text: str) -> int:
    """``HH:MM`` (00:00-23:59) as seconds after midnight (ValueError otherwise)."""
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        msg = f"value {text!r}; expected a time HH:MM"
        raise ValueError(msg)
    hours, minutes = int(parts[0]), int(parts[1])
    if hours > 23 or minutes > 59:
        msg = f"value {text!r}; expected a time HH:MM from 00:00 to 23:59"
        raise ValueError(msg)
    return hours * 3600 + minutes * 60


def _time(value: object) -> str:
    if not isinstance(value, str):
        msg = f"value {value!r}; expected a time HH:MM (quoted in YAML)"
        raise ValueError(msg)
    parse_hhmm(value)
    return value


Lon = Annotated[float, Field(ge=-180.0, le=180.0, description="longitude, WGS-84 degrees")]
Lat = Annotated[float, Field(ge=-90.0, le=90.0, description="latitude, WGS-84 degrees")]
Kg = Annotated[int, Field(ge=0, le=MAX_EVENT_KG, description="kg")]
Id = Annotated[str, Field(min_length=1, max_length=200)]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class _Timed(_Event):
    time: str = Field(description="when it happened, HH:MM")

    _check_time = field_validator("time", mode="before")(_time)

    @property
    def time_s(self) -> int:
        """``time`` in seconds after midnight."""
        return parse_hhmm(self.time)


class TruckDown(_Timed):
    """A truck broke down: no stop after ``time``; its remaining stops go to other trucks."""

    type: Literal["truck_down"]
    vehicle: Id
    point: Id | None = Field(default=None, description="where it stopped (a point id)")
    lon: Lon | None = None
    lat: Lat | None = None
    load_kg: Kg | None = Field(default=None, description="kg on board (default: as planned)")
    tow_to: Id | None = Field(default=None, description="station that takes its load")


class RoadClosed(_Event):
    """Roads closed from ``from`` (until ``until``, optional)."""

    type: Literal["road_closed"]
    roads: list[Id] = Field(default_factory=list, max_length=100_000)
    area: dict[str, Any] | None = Field(default=None, description="GeoJSON (Multi)Polygon")
    from_: str = Field(alias="from", description="closed from, HH:MM")
    until: str | None = Field(default=None, description="closed until, HH:MM (optional)")

    _check_from = field_validator("from_", mode="before")(_time)

    @field_validator("until", mode="before")
    @classmethod
    def _check_until(cls, value: object) -> object:
        return value if value is None else _time(value)

    @property
    def from_s(self) -> int:
        """``from`` in seconds after midnight."""
        return parse_hhmm(self.from_)

    @property
    def until_s(self) -> int | None:
        """``until`` in seconds after midnight (None: open-ended)."""
        return None if self.until is None else parse_hhmm(self.until)


class UrgentPoint(_Event):
    """An overflow to be emptied today by ``deadline``."""

    type: Literal["urgent_point"]
    point: Id | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    kg: Annotated[int, Field(ge=1, le=MAX_EVENT_KG)]
    deadline: str

    _check_deadline = field_validator("deadline", mode="before")(_time)

    @property
    def deadline_s(self) -> int:
        """``deadline`` in seconds after midnight."""
        return parse_hhmm(self.deadline)


class ExtraWaste(_Event):
    """A point holds ``kg`` more than planned."""

    type: Literal["extra_waste"]
    point: Id
    kg: Annotated[int, Field(ge=1, le=MAX_EVENT_KG)]


class Position(_Timed):
    """A truck's actual position and load (GPS), which fixes its state."""

    type: Literal["position", "truck_late"]
    vehicle: Id
    lon: Lon
    lat: Lat
    load_kg: Kg


class StopReport(_Timed):
    """The crew reports a point done or skipped."""

    type: Literal["stop_done", "stop_skipped"]
    point: Id


Event = Annotated[
    TruckDown | RoadClosed | UrgentPoint | ExtraWaste | Position | StopReport,
    Field(discriminator="type"),
]


class EventsFile(BaseModel):
    """An events file: ``{events: [...]}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    events: list[Event] = Field(max_length=MAX_EVENTS)


_ADAPTER = TypeAdapter(EventsFile)


def read_events(path: Path) -> list[Event]:
    """The events of a YAML or JSON file, their form and ranges checked.

    Raises
    ------
    ScenarioError
        Naming the file, the event index, the field and the value, for every problem found.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        msg = f"{path}: cannot read the events file ({error}); expected a UTF-8 YAML/JSON file"
        raise ScenarioError(msg) from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        msg = f"{path}: not valid YAML/JSON ({str(error).splitlines()[0]})"
        raise ScenarioError(msg) from None
    return parse_events(raw, str(path))


def parse_events(raw: object, source: str) -> list[Event]:
    """The events of already parsed data (``{events: [...]}`` or the bare list; an API body),
    their form and ranges checked; ``source`` names the input in messages.

    Raises
    ------
    ScenarioError
        Naming ``source``, the event index, the field and the value, for every problem found.
    """
    if isinstance(raw, list):
        raw = {"events": raw}
    if not isinstance(raw, dict):
        msg = f"{source}: value {type(raw).__name__}; expected a mapping with key 'events'"
        raise ScenarioError(msg)
    try:
        return list(_ADAPTER.validate_python(raw).events)
    except ValidationError as error:
        raise EventsError(source, [_problem(raw, e) for e in error.errors()]) from None


@dataclass(frozen=True)
class EventProblem:
    """An event that is malformed or does not fit the plan: its index in the list (0-based;
    None for a problem of the whole file), its type, the field, the value, what was expected."""

    index: int | None
    kind: str | None
    field: str
    value: object
    why: str

    @property
    def path(self) -> str:
        """The field's path in the request: ``events[2].lon``."""
        return self.field if self.index is None else f"events[{self.index}].{self.field}"

    def message(self, source: Path | str) -> str:
        """ "source: event i (type): field 'f' = value: what was expected"."""
        if self.index is None:
            return f"{source}: field {self.field!r}: {self.why}"
        return (
            f"{source}: event {self.index} ({self.kind}): field {self.field!r} = "
            f"{self.value!r}: {self.why}"
        )


class EventsError(ScenarioError):
    """Every problem found in a list of events (``items``), messages naming ``source``."""

    def __init__(self, source: Path | str, items: list[EventProblem]) -> None:
        messages = [p.message(source) for p in items]
        super().__init__(messages[0], messages)
        self.items = items


def _problem(raw: dict[str, Any], error: Any) -> EventProblem:
    """One validation error as an `EventProblem`."""
    loc = list(error["loc"])
    if len(loc) < 2 or loc[0] != "events" or not isinstance(loc[1], int):
        return EventProblem(None, None, ".".join(map(str, loc)), error.get("input"), error["msg"])
    index = loc[1]
    record = raw["events"][index] if isinstance(raw.get("events"), list) else None
    kind = record.get("type") if isinstance(record, dict) else None
    rest = [str(p) for p in loc[2:] if p != kind]
    field = ".".join(rest) or "type"
    field = "from" if field == "from_" else field
    return EventProblem(index, kind, field, error.get("input"), error["msg"])


def event_problem(index: int, event: _Event, field: str, value: object, why: str) -> EventProblem:
    """The problem of event ``index`` that does not fit the plan (`sanitation.replan.check`)."""
    return EventProblem(index, getattr(event, "type", "?"), field, value, why)
