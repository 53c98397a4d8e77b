"""Re-planning through the API (issue 16), on SQLite and PostgreSQL: a re-plan job runs in a
worker process and its diff is read; versions are listed and served; a coordinator is refused;
bad events are refused (422 naming the event index, field and value) before any job exists; a
failed or cancelled re-plan leaves the old plan as it was; incidents become events.

The tiny scenario's base plan (pyvrp, seed 1) sends D1/small_3t#1 to P3 (08:00), P5, P4, P1;
D1/compactor_5t#1 stays home (see tests/test_replan.py).
"""

from __future__ import annotations

import pytest
from api_helpers import plan_and_wait, role_headers, tiny_zip
from fastapi.testclient import TestClient

from api.main import create_app
from api.models import JobRow, PlanRow
from api.settings import Settings

SMALL, COMPACTOR = "D1/small_3t#1", "D1/compactor_5t#1"
DOWN = {"type": "truck_down", "vehicle": SMALL, "time": "08:10"}


@pytest.fixture(scope="module")
def env(tmp_path_factory, wait_job, database):
    data = tmp_path_factory.mktemp("api-replan")
    settings = Settings(data_dir=data, database_url=database.url_for(data), workers=1, poll_s=0.1)
    app = create_app(settings)
    with TestClient(app) as client:
        headers = role_headers(app)
        upload = client.post(
            "/scenarios",
            files={"file": ("tiny.zip", tiny_zip(), "application/zip")},
            headers=headers["planner"],
        )
        assert upload.status_code == 201, upload.text
        plan_id, job = plan_and_wait(
            client, upload.json()["id"], headers["dispatcher"], wait_job, seed=1
        )
        assert job["state"] == "done", job
        yield {
            "client": client,
            "app": app,
            "h": headers,
            "scenario_id": upload.json()["id"],
            "plan_id": plan_id,
        }


def _stops(route: dict) -> list[str]:
    return [v["id"] for v in route["visits"] if v["kind"] == "stop"]


def _routes(client, plan_id: int, headers) -> dict[str, dict]:
    answer = client.get(f"/plans/{plan_id}/routes", headers=headers)
    assert answer.status_code == 200, answer.text
    return {r["vehicle_id"]: r for r in answer.json()["routes"]}


def _counts(app) -> tuple[int, int]:
    with app.state.sessions() as session:
        return session.query(PlanRow).count(), session.query(JobRow).count()


def _replan(env, body: dict, role: str = "dispatcher"):
    return env["client"].post(f"/plans/{env['plan_id']}/replan", json=body, headers=env["h"][role])


def test_a_replan_job_runs_and_its_diff_is_read(env, wait_job):
    client, h = env["client"], env["h"]["dispatcher"]
    before = client.get(f"/plans/{env['plan_id']}/routes", headers=h).content
    started = _replan(env, {"at": "08:10", "events": [DOWN], "engine": "pyvrp", "time_limit_s": 1})
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"], headers=h)
    assert job["state"] == "done", job
    version_id = started.json()["plan_id"]
    assert version_id != env["plan_id"]
    # the broken truck keeps only what it did before 08:10; the compactor takes the rest
    routes = _routes(client, version_id, h)
    assert _stops(routes[SMALL]) == ["P3", "P5"]
    assert sorted(_stops(routes[COMPACTOR])) == ["P1", "P4"]
    diff = client.get(f"/plans/{env['plan_id']}/versions/1/diff", headers=h)
    assert diff.status_code == 200, diff.text
    moved = {c["point_id"]: c for c in diff.json()["changes"] if c["moved"]}
    assert set(moved) == {"P1", "P4"}
    assert {c["old_vehicle"] for c in moved.values()} == {SMALL}
    assert {c["new_vehicle"] for c in moved.values()} == {COMPACTOR}
    listed = client.get(f"/plans/{env['plan_id']}/versions", headers=h).json()
    assert [v["version"] for v in listed][:2] == [0, 1]
    assert listed[1]["plan_id"] == version_id
    assert listed[1]["at"] == "08:10"
    assert listed[1]["events"] == [DOWN]
    assert listed[1]["based_on_version"] == 0
    assert listed[1]["diff_summary"]["stops_moved"] == 2
    assert "changes" not in listed[1]["diff_summary"]
    # served like a plan: its routes by version number, its sheets and files by its plan id
    by_number = client.get(f"/plans/{env['plan_id']}/versions/1/routes", headers=h).json()
    assert {r["vehicle_id"] for r in by_number["routes"]} == set(routes)
    files = client.get(f"/plans/{version_id}", headers=h).json()
    assert "diff.json" in files["files"]
    assert files["version"] == 1
    assert files["root_plan_id"] == env["plan_id"]
    assert any(f.startswith("route_sheets/") for f in files["files"])
    # the old version is as it was
    assert client.get(f"/plans/{env['plan_id']}/routes", headers=h).content == before


def test_plans_list_their_version_and_parent(env, wait_job):
    """GET /plans and GET /plans/{id}: each version's number, root plan and parent."""
    client, h = env["client"], env["h"]["dispatcher"]
    first = _replan(env, {"at": "08:10", "events": [DOWN], "engine": "pyvrp", "time_limit_s": 1})
    assert first.status_code == 202, first.text
    assert wait_job(client, first.json()["job_id"], headers=h)["state"] == "done"
    # a re-plan of the re-plan: its parent is the first version, its root the plan
    body = {"at": "08:20", "events": [{"type": "stop_done", "point": "P4", "time": "08:15"}]}
    second = _replan(env, {**body, "engine": "pyvrp", "time_limit_s": 1})
    assert second.status_code == 202, second.text
    assert wait_job(client, second.json()["job_id"], headers=h)["state"] == "done"
    one, two = first.json()["plan_id"], second.json()["plan_id"]
    listed = {p["id"]: p for p in client.get("/plans", headers=env["h"]["planner"]).json()}
    root = listed[env["plan_id"]]
    assert (root["version"], root["root_plan_id"], root["parent_plan_id"]) == (0, None, None)
    assert root["based_on_version"] is None
    n_one, n_two = listed[one]["version"], listed[two]["version"]
    assert n_two == n_one + 1
    assert (listed[two]["root_plan_id"], listed[two]["parent_plan_id"]) == (env["plan_id"], one)
    assert listed[two]["based_on_version"] == n_one
    assert listed[one]["parent_plan_id"] in listed
    # GET /plans/{id} says the same (its parent not among the rows asked for)
    alone = client.get(f"/plans/{two}", headers=env["h"]["planner"]).json()
    assert {
        k: alone[k] for k in ("version", "root_plan_id", "parent_plan_id", "based_on_version")
    } == {
        "version": n_two,
        "root_plan_id": env["plan_id"],
        "parent_plan_id": one,
        "based_on_version": n_one,
    }


def test_a_coordinator_may_not_replan(env):
    before = _counts(env["app"])
    refused = _replan(env, {"at": "08:10", "events": [DOWN]}, role="coordinator")
    assert refused.status_code == 403
    assert "role coordinator may not re-plan" in refused.json()["detail"]
    assert "report incidents" in refused.json()["detail"]
    assert _counts(env["app"]) == before


FAR = {"lon": 117.2, "lat": 30.5}  # 50 km from every road of the tiny scenario
POSITION = {"type": "position", "vehicle": SMALL, "time": "08:10", "load_kg": 500}
NEAR = {"lon": 116.7, "lat": 30.13}


@pytest.mark.parametrize(
    ("event", "at", "path", "value"),
    [
        # the form (the CLI's parser)
        ({**DOWN, "load_kg": -5}, "08:10", "load_kg", "-5"),
        ({**DOWN, "time": "8h10"}, "08:10", "time", "'8h10'"),
        # against the plan (the CLI's checks): ids, times, capacity
        ({**DOWN, "vehicle": "D9/bus#1"}, "08:10", "vehicle", "'D9/bus#1'"),
        ({**DOWN, "load_kg": 9000}, "08:10", "load_kg", "9000"),
        ({**DOWN, "time": "09:00"}, "08:10", "time", "'09:00': expected a time at or"),
        ({**DOWN, "time": "05:00"}, "08:10", "time", "'05:00': expected a time within the shift"),
        ({**DOWN, "tow_to": "S2"}, "08:10", "tow_to", "'S2': expected a station open"),
        ({**DOWN, "point": "P99"}, "08:10", "point", "'P99'"),
        ({**POSITION, **NEAR, "load_kg": 3500}, "08:10", "load_kg", "3500: expected at most"),
        ({"type": "road_closed", "roads": ["NOPE"], "from": "08:00"}, "08:10", "roads", "'NOPE'"),
        (
            {"type": "urgent_point", "point": "P2", "kg": 5, "deadline": "16:00"},
            "08:10",
            "deadline",
            "'16:00': expected a time within the shift",
        ),
        # against the roads: a place far from every road, a closed area that is no polygon
        ({**POSITION, **FAR}, "08:10", "lon", "117.2: (lat 30.5) expected a place within 300 m"),
        ({**DOWN, **FAR}, "08:10", "lon", "117.2"),
        ({"type": "urgent_point", **FAR, "kg": 5, "deadline": "12:00"}, "08:10", "lon", "117.2"),
        (
            {"type": "road_closed", "area": {"type": "Point", "coordinates": [116.7, 30.13]}},
            "08:10",
            "area",
            "expected a valid GeoJSON Polygon",
        ),
    ],
)
def test_bad_events_are_refused_naming_the_field_before_any_job(env, event, at, path, value):
    if event["type"] == "road_closed":
        event = {"from": "08:00", **event}
    before = _counts(env["app"])
    versions = env["client"].get(f"/plans/{env['plan_id']}/versions", headers=env["h"]["planner"])
    answer = _replan(
        env, {"at": at, "events": [{"type": "stop_done", "point": "P3", "time": "08:05"}, event]}
    )
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith(f"events[1].{path}: value "), detail
    assert value in detail, detail
    assert f"(event 1: {event['type']})" in detail
    assert answer.json()["problems"][0] == detail
    # no job queued, no version made
    assert _counts(env["app"]) == before
    after = env["client"].get(f"/plans/{env['plan_id']}/versions", headers=env["h"]["planner"])
    assert after.json() == versions.json()


def test_every_bad_event_is_listed(env):
    events = [{**DOWN, "vehicle": "D9/bus#1"}, {**POSITION, **NEAR, "load_kg": 3500}]
    answer = _replan(env, {"at": "08:10", "events": events})
    assert answer.status_code == 422, answer.text
    paths = [p.split(":")[0] for p in answer.json()["problems"]]
    assert paths == ["events[0].vehicle", "events[1].load_kg"]


def test_an_at_outside_the_shift_is_refused_naming_at(env):
    answer = _replan(env, {"at": "03:00", "events": [DOWN]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("at: value 03:00; expected a time within the shift")


def test_a_failed_replan_leaves_the_old_plan_as_it_was(env, wait_job):
    client, h = env["client"], env["h"]["dispatcher"]
    plan_before = client.get(f"/plans/{env['plan_id']}", headers=h).json()
    routes_before = client.get(f"/plans/{env['plan_id']}/routes", headers=h).content
    # a closed area around the station and its depot is good input, but no re-plan is
    # feasible (the CLI's exit 3): the job fails
    ring = [[116.698, 30.128], [116.702, 30.128], [116.702, 30.132], [116.698, 30.132]]
    cut = {
        "type": "road_closed",
        "area": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        "from": "08:10",
    }
    started = _replan(env, {"at": "08:10", "events": [cut], "engine": "pyvrp", "time_limit_s": 1})
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"], headers=h)
    assert job["state"] == "failed", job
    assert "cut off" in job["error"], job
    assert client.get(f"/plans/{env['plan_id']}", headers=h).json() == plan_before
    assert client.get(f"/plans/{env['plan_id']}/routes", headers=h).content == routes_before
    failed = client.get(f"/plans/{started.json()['plan_id']}/routes", headers=h)
    assert failed.status_code == 409
    # a new re-plan starts from the newest finished version, not the failed one
    listed = client.get(f"/plans/{env['plan_id']}/versions", headers=h).json()
    assert listed[-1]["status"] == "failed"
    no_diff = client.get(
        f"/plans/{env['plan_id']}/versions/{listed[-1]['version']}/diff", headers=h
    )
    assert no_diff.status_code == 409


def test_a_cancelled_replan_leaves_the_old_plan_as_it_was(env, wait_job):
    client, h = env["client"], env["h"]["dispatcher"]
    routes_before = client.get(f"/plans/{env['plan_id']}/routes", headers=h).content
    started = _replan(env, {"at": "08:10", "events": [DOWN], "engine": "pyvrp", "time_limit_s": 5})
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    cancelled = client.post(f"/jobs/{job_id}/cancel", headers=h)
    assert cancelled.status_code == 200, cancelled.text
    job = wait_job(client, job_id, headers=h)
    assert job["state"] == "cancelled", job
    assert client.get(f"/plans/{env['plan_id']}", headers=h).json()["status"] == "done"
    assert client.get(f"/plans/{env['plan_id']}/routes", headers=h).content == routes_before


def test_incidents_become_events_with_one_call(env, wait_job):
    client, h = env["client"], env["h"]
    overflow = client.post(
        "/incidents",
        json={"kind": "overflow", "scenario_id": env["scenario_id"], "point_id": "P2"},
        headers=h["coordinator"],
    )
    assert overflow.status_code == 201, overflow.text
    ident = overflow.json()["id"]
    body = {"at": "08:10", "incident_ids": [ident], "engine": "pyvrp", "time_limit_s": 1}
    started = _replan(env, body)
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"], headers=h["dispatcher"])
    assert job["state"] == "done", job
    version_id = started.json()["plan_id"]
    # P2 is not due today in the plan: the overflow makes it an urgent point, served
    routes = _routes(client, version_id, h["dispatcher"])
    assert any("P2" in _stops(r) for r in routes.values())
    listed = client.get(f"/plans/{env['plan_id']}/versions", headers=h["planner"]).json()
    event = next(v for v in listed if v["plan_id"] == version_id)["events"][0]
    assert event["type"] == "urgent_point"
    assert event["point"] == "P2"
    used = client.get(f"/incidents/{ident}", headers=h["planner"]).json()
    assert (used["status"], used["plan_id"]) == ("used", version_id)
    # a used incident is no event any more
    again = _replan(env, {"at": "08:10", "incident_ids": [ident]})
    assert again.status_code == 422
    assert again.json()["detail"].startswith(f"incident_ids.0: value {ident}: incident is used")


def test_a_version_number_is_taken_once(env, wait_job):
    """Two re-plans of one plan that counted the same next number cannot both store it."""
    from sqlalchemy.exc import IntegrityError

    with env["app"].state.sessions() as session:
        taken = session.query(PlanRow).filter(PlanRow.root_plan_id == env["plan_id"]).first()
        assert taken is not None
        twin = PlanRow(
            scenario_id=taken.scenario_id,
            dates=taken.dates,
            engine="pyvrp",
            time_limit_s=1,
            out_dir="plans/twin/output",
            planned_yaml=taken.planned_yaml,
            root_plan_id=env["plan_id"],
            version=taken.version,
        )
        session.add(twin)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def _two_day_plan(env) -> int:
    """A finished plan of two days made from the base plan (its day, and the same day again on
    2026-11-28) as a plan row of its own: the fastest way to a plan of several days."""
    import json
    import shutil

    app = env["app"]
    settings = app.state.settings
    with app.state.sessions() as session:
        base = session.get(PlanRow, env["plan_id"])
        source = settings.data_dir / base.out_dir
        folder = settings.data_dir / "plans" / "two-days" / "output"
        shutil.copytree(source, folder)
        doc = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
        first = doc["days"][0]
        second = json.loads(json.dumps(first).replace(first["date"], "2026-11-28"))
        doc["days"], doc["dates"] = [first, second], [first["date"], "2026-11-28"]
        (folder / "plan.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        row = PlanRow(
            scenario_id=base.scenario_id,
            status="done",
            dates=doc["dates"],
            engine="pyvrp",
            time_limit_s=1,
            seed=1,
            out_dir="plans/two-days/output",
            planned_yaml=base.planned_yaml,
        )
        session.add(row)
        session.commit()
        return row.id


def test_one_day_of_a_plan_of_several_days_is_replanned(env, wait_job):
    client, h = env["client"], env["h"]["dispatcher"]
    plan_id = _two_day_plan(env)

    def start(**day):
        body = {"at": "08:10", "events": [DOWN], "engine": "pyvrp", "time_limit_s": 1, **day}
        return client.post(f"/plans/{plan_id}/replan", json=body, headers=h)

    before = _counts(env["app"])
    for day, shown in [({}, "day: missing; the plan has 2 days"), ({"day": "3"}, "day: value '3'")]:
        refused = start(**day)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith(shown), refused.text
        assert "2026-11-27, 2026-11-28" in refused.json()["detail"]
    assert _counts(env["app"]) == before
    started = start(day="2026-11-28")
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"], headers=h)
    assert job["state"] == "done", job
    new = client.get(f"/plans/{started.json()['plan_id']}/routes", headers=h).json()["routes"]
    old = client.get(f"/plans/{plan_id}/routes", headers=h).json()["routes"]
    by_day = lambda routes, d: [r for r in routes if r["date"] == d]  # noqa: E731
    assert by_day(new, "2026-11-27") == by_day(old, "2026-11-27")
    assert COMPACTOR in {r["vehicle_id"] for r in by_day(new, "2026-11-28")}
    assert by_day(new, "2026-11-28") != by_day(old, "2026-11-28")


def test_each_incident_says_which_event_it_becomes(env, wait_job):
    from api.models import IncidentRow

    client, h = env["client"], env["h"]
    blocked = client.post(
        "/incidents",
        json={
            "kind": "blocked_road",
            "scenario_id": env["scenario_id"],
            "lon": 116.7201,
            "lat": 30.1351,
        },
        headers=h["coordinator"],
    )
    assert blocked.status_code == 201, blocked.text
    assert (blocked.json()["replan_event"], blocked.json()["no_event_why"]) == ("road_closed", None)
    # a report of a kind the re-plan has no event for (none of this version's kinds): the page
    # and the API say so instead of dropping it
    with env["app"].state.sessions() as session:
        other = IncidentRow(kind="odour", scenario_id=env["scenario_id"], township_code="990000001")
        session.add(other)
        session.commit()
        other_id = other.id
    listed = client.get(
        f"/incidents?scenario_id={env['scenario_id']}&status=open", headers=h["dispatcher"]
    ).json()
    by_id = {i["id"]: i for i in listed}
    assert by_id[other_id]["replan_event"] is None
    assert "no event of the day's re-plan" in by_id[other_id]["no_event_why"]
    refused = _replan(env, {"at": "08:10", "incident_ids": [other_id]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"].startswith(
        f"incident_ids.0: value {other_id}: a odour incident"
    )
    # the blocked road becomes a closure of its roads from the re-plan time
    body = {
        "at": "08:10",
        "incident_ids": [blocked.json()["id"]],
        "engine": "pyvrp",
        "time_limit_s": 1,
    }
    started = _replan(env, body)
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"], headers=h["dispatcher"])
    assert job["state"] == "done", job
    listed = client.get(f"/plans/{env['plan_id']}/versions", headers=h["planner"]).json()
    (event,) = next(v for v in listed if v["plan_id"] == started.json()["plan_id"])["events"]
    assert event == {"type": "road_closed", "roads": blocked.json()["road_ids"], "from": "08:10"}
    dismissed = client.patch(
        f"/incidents/{other_id}", json={"status": "dismissed"}, headers=h["planner"]
    )
    assert dismissed.status_code == 200, dismissed.text
