"""Re-planning a plan's day with the trucks out (issue 16): start a re-plan job, list a plan's
versions, turn coordinators' incidents into events. No FastAPI here.

A re-planned version is a plan row of its own (its routes, sheets and files are served like
any plan's) with ``root_plan_id`` (the plan it is a version of), ``parent_plan_id`` (the version
it was re-planned from) and ``version`` (0: the plan as planned). Its job is an ordinary plan
job (claimed, run in a worker process, cancellable); the worker runs
`sanitation.replan.run.replan_folder` on the parent's folder, so the old version's folder and
row are never written. The events are the CLI's (`sanitation.replan.events.parse_events`,
checked against the plan and its roads by `sanitation.replan.check.check_events`) and are
refused before any row is written or any job queued.
"""

from __future__ import annotations

import json
import shutil
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import scenarios as store
from api.errors import BadRequestError, ConflictError, NotFoundError
from api.keys import Caller
from api.models import IncidentRow, JobRow, PlanRow
from api.plans import claim_incidents, get_plan, plan_out
from api.schemas import INCIDENT_EVENTS, NO_INCIDENT_EVENT, ReplanCreate
from api.settings import Settings
from geo.network import RoadNetwork
from sanitation.errors import ScenarioError
from sanitation.replan.events import Event, EventProblem, EventsError, parse_events, parse_hhmm
from sanitation.replan.state import AtError

#: the options of a version's re-plan, beside its events in its ``input`` folder
OPTIONS_FILE = "replan.json"
EVENTS_FILE = "events.json"


def versions(session: Session, plan_id: int) -> list[PlanRow]:
    """Every version of the plan ``plan_id`` (or of the plan a version ``plan_id`` belongs to),
    by version number: the plan as planned first."""
    plan = get_plan(session, plan_id)
    root = plan.root_plan_id or plan.id
    query = select(PlanRow).where(or_(PlanRow.id == root, PlanRow.root_plan_id == root))
    return list(session.scalars(query.order_by(PlanRow.version)))


def parent_versions(session: Session, rows: list[PlanRow]) -> dict[int, int]:
    """Plan id -> version number of ``rows`` and of the versions they were re-planned from
    (one query for those not among ``rows``)."""
    known = {r.id: r.version for r in rows}
    wanted = {r.parent_plan_id for r in rows if r.parent_plan_id is not None} - set(known)
    if wanted:
        query = select(PlanRow.id, PlanRow.version).where(PlanRow.id.in_(wanted))
        for ident, number in session.execute(query):
            known[ident] = number
    return known


def version(session: Session, plan_id: int, number: int) -> PlanRow:
    """Version ``number`` of a plan (404 naming it when there is none)."""
    for row in versions(session, plan_id):
        if row.version == number:
            return row
    raise NotFoundError("version", number, f"version of plan {plan_id}")


def _base(session: Session, plan_id: int, number: int | None) -> PlanRow:
    rows = versions(session, plan_id)
    if number is not None:
        base = version(session, plan_id, number)
    else:
        done = [r for r in rows if r.status == "done"]
        if not done:
            msg = f"plan {plan_id} is {rows[0].status}; re-plan a finished plan"
            raise ConflictError("plan_id", msg)
        base = done[-1]
    if base.status != "done":
        msg = f"version {base.version} of plan {plan_id} is {base.status}; re-plan a finished one"
        raise ConflictError("base_version", msg)
    return base


def incident_events(
    settings: Settings, session: Session, plan: PlanRow, incident_ids: list[int], at: str
) -> list[dict[str, Any]]:
    """The events of open incidents of the plan's scenario (`api.schemas.INCIDENT_EVENTS`):
    an overflow is an urgent point (its bin's capacity in kg, to be emptied by the point's
    window close or the shift end), a blocked road closes its roads from ``at``. No incident
    kind reports a truck (breakdown, position) or a crew (stop done or skipped): those are
    events only; an incident of a kind with no event is refused, naming it.

    Raises
    ------
    BadRequestError
        An unknown incident, one of another scenario, one not open, one of a kind with no
        event, or a blocked road that names no road.
    """
    from sanitation.replan.state import shift_bounds

    scenario = store.load_row(settings, store.get_row(session, plan.scenario_id))
    shift_end_s = shift_bounds(scenario)[1]
    points = {p.point_id: p for p in scenario.points}
    events: list[dict[str, Any]] = []
    for i, ident in enumerate(incident_ids):
        row = session.get(IncidentRow, ident)
        field = f"incident_ids.{i}"
        if row is None or row.scenario_id != plan.scenario_id:
            why = f"value {ident}: no incident of scenario {plan.scenario_id} (the plan's)"
            raise BadRequestError(field, why)
        if row.status != "open":
            raise BadRequestError(field, f"value {ident}: incident is {row.status}; expected open")
        if row.kind not in INCIDENT_EVENTS:
            raise BadRequestError(
                field, f"value {ident}: a {row.kind} incident: {NO_INCIDENT_EVENT}"
            )
        if row.kind == "overflow" and row.point_id in points:
            point = points[row.point_id]
            close_s = min(point.tw_close_s, shift_end_s)
            events.append(
                {
                    "type": "urgent_point",
                    "point": row.point_id,
                    "kg": max(1, round(point.bin_capacity_t * 1000)),
                    "deadline": f"{close_s // 3600:02d}:{close_s % 3600 // 60:02d}",
                }
            )
        elif row.kind == "blocked_road" and row.road_ids:
            events.append({"type": "road_closed", "roads": list(row.road_ids), "from": at})
        else:
            why = f"value {ident}: a {row.kind} incident without a point or roads is no event"
            raise BadRequestError(field, why)
    return events


@lru_cache(maxsize=4)
def _network(yaml_path: str) -> RoadNetwork:
    """A stored scenario's road network, built once per process (stored scenarios never
    change): the events' check needs it for road ids and distances to the roads."""
    from sanitation.scenario.network import build_network

    return build_network(store.load_cached(yaml_path))


def check_events(
    plan_dir: Path, raw: list[dict[str, Any]], at: str, day: str | None = None
) -> list[Event]:
    """The events of a request, checked as `sanitation replan` checks them
    (`sanitation.replan.check.check_events`: form, ids, shift hours, capacities, distance to
    the roads, closed areas) against the plan in ``plan_dir`` (its day ``day``: one of its
    dates or day numbers, required for a plan of several days); run outside any transaction
    (it loads the scenario and, once per process, its network).

    Raises
    ------
    BadRequestError
        Naming the field's path (``events[2].lon``, ``at``, ``day``) and the value, every
        problem listed.
    """
    from sanitation.replan.check import check_events as check_against_plan
    from sanitation.replan.run import DayError, plan_day, read_plan

    try:
        events = parse_events({"events": raw}, "events")
        week, week_scenario = read_plan(plan_dir)
        doc, scenario, _ = plan_day(week, week_scenario, day)
        network = _network(doc.scenario_path)
        check_against_plan(doc, scenario, events, parse_hhmm(at), path="events", network=network)
    except DayError as error:
        shown = "missing" if error.value is None else f"value {error.value!r}"
        raise BadRequestError("day", f"{shown}; {error.why}") from None
    except AtError as error:
        raise BadRequestError("at", f"value {error.value}; {error.why}") from None
    except EventsError as error:
        problems = [f"{p.path}: {_value_why(p)}" for p in error.items]
        first = error.items[0]
        raise BadRequestError(first.path, _value_why(first), problems) from None
    except ScenarioError as error:  # the plan does not fit its scenario (any more)
        raise BadRequestError("plan_id", str(error), error.problems) from None
    return events


def _value_why(problem: EventProblem) -> str:
    where = "" if problem.index is None else f" (event {problem.index}: {problem.kind})"
    return f"value {problem.value!r}: {problem.why}{where}"


def start_replan(
    settings: Settings, session: Session, plan_id: int, request: ReplanCreate, caller: Caller
) -> tuple[PlanRow, JobRow]:
    """Check the events and queue a re-plan job: a new version of the plan.

    Raises
    ------
    NotFoundError, ConflictError
        Unknown plan or version; the base version has not finished, or has several days.
    BadRequestError
        Bad events or incidents (nothing is written).
    """
    base = _base(session, plan_id, request.base_version)
    raw = [
        *request.events,
        *incident_events(settings, session, base, request.incident_ids, request.at),
    ]
    if not raw:
        raise BadRequestError("events", "no events and no incident_ids; expected at least one")
    base_dir = plan_out(settings, base)
    session.rollback()  # no transaction open while the events are checked (seconds)
    check_events(base_dir, raw, request.at, request.day)
    rows = versions(session, plan_id)
    root = rows[0]
    folder = f"plans/{uuid.uuid4().hex}"
    inputs = settings.data_dir / folder / "input"
    inputs.mkdir(parents=True)
    try:
        (inputs / EVENTS_FILE).write_text(json.dumps({"events": raw}, indent=1), encoding="utf-8")
        options = {
            "at": request.at,
            "day": request.day,
            "help_from_neighbours": request.help_from_neighbours,
        }
        (inputs / OPTIONS_FILE).write_text(json.dumps(options), encoding="utf-8")
        row = PlanRow(
            scenario_id=base.scenario_id,
            status="queued",
            dates=base.dates,
            engine=request.engine,
            time_limit_s=request.time_limit_s,
            seed=request.seed,
            out_dir=f"{folder}/output",
            planned_yaml=base.planned_yaml,
            incidents_used=[],
            created_by=caller.key_id,
            root_plan_id=root.id,
            parent_plan_id=base.id,
            version=max(r.version for r in rows) + 1,
            replan_at=request.at,
            events=raw,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            msg = f"another re-plan of plan {root.id} took version {row.version} first; try again"
            raise ConflictError("plan_id", msg) from None
        if not claim_incidents(session, request.incident_ids, row.id):
            msg = "an incident was used by another plan meanwhile; try again"
            raise ConflictError("incident_ids", msg)
        job = JobRow(plan_id=row.id, state="queued")
        session.add(job)
        session.commit()
    except BaseException:
        session.rollback()
        shutil.rmtree(settings.data_dir / folder, ignore_errors=True)
        raise
    return row, job


def replan_inputs(settings: Settings, plan: PlanRow) -> tuple[Path, dict[str, Any]]:
    """A version's events file and its options (``at``, ``day``, ``help_from_neighbours``)."""
    inputs = (settings.data_dir / plan.out_dir).parent / "input"
    options = json.loads((inputs / OPTIONS_FILE).read_text(encoding="utf-8"))
    return inputs / EVENTS_FILE, options


def diff_summary(diff: dict[str, Any]) -> dict[str, Any]:
    """The summary of a version's diff.json (everything but the per-stop and per-trip changes
    and the notes)."""
    return {k: v for k, v in diff.items() if k not in ("changes", "transfer_changes", "notes")}
