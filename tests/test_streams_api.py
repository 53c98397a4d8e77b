"""Sorted streams in the API: each stop's stream and each route's compartments in the routes,
the coordinator's collection days per point and stream (their own township only), the KPI rows
by stream in the comparison, and a county that does not sort answered without stream fields.

One module fixture uploads the tiny scenario and its sorted copy (``tests/data/scenario/sorted``,
three streams) and plans a day of the tiny one (PyVRP, 1 s) and a week of the sorted one
(OR-Tools, 1 s: PyVRP cannot model two-compartment trucks unloading at two sites).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from api_helpers import app_client, folder_zip, plan_and_wait, role_headers, tiny_zip

from api.keys import create_key

DATA = Path(__file__).parent / "data" / "scenario"
MONDAY = dt.date(2026, 11, 30)
OWN = "990000001"  # the coordinator's township: points P1, P2, P3
OTHER = "990000002"  # points P4, P5
STREAM_FIELDS = {"stream", "load_after_by_stream_kg", "compartments", "streams", "stream_kpis"}


def _upload(client, archive: bytes, headers, yaml_name: str | None = None) -> int:
    answer = client.post(
        "/scenarios",
        files={"file": ("scenario.zip", archive, "application/zip")},
        data={"yaml_name": yaml_name} if yaml_name else {},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


@pytest.fixture(scope="module")
def env(tmp_path_factory, wait_job, database):
    with app_client(tmp_path_factory.mktemp("api-streams"), database) as (client, app):
        h = role_headers(app)
        with app.state.sessions() as session:
            h["other"] = {"X-API-Key": create_key(session, "coordinator", [OTHER])[1]}
        plain_id = _upload(client, tiny_zip(), h["planner"])
        sorted_id = _upload(
            client, folder_zip(DATA / "tiny", DATA / "sorted"), h["planner"], "sorted/scenario.yaml"
        )
        plain, job = plan_and_wait(client, plain_id, h["planner"], wait_job)
        assert job["state"] == "done", job
        week, job = plan_and_wait(
            client, sorted_id, h["planner"], wait_job, engine="ortools", week=MONDAY.isoformat()
        )
        assert job["state"] == "done", job
        yield {"client": client, "h": h, "plain": plain, "week": week}


def _keys(value) -> set[str]:
    """Every key of every object in a JSON value."""
    if isinstance(value, dict):
        return set(value) | set().union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


def test_sorted_routes_carry_each_stops_stream_and_the_compartment_loads(env):
    answer = env["client"].get(f"/plans/{env['week']}/routes", headers=env["h"]["dispatcher"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["streams"] == [
        {"id": "residual", "name_zh": "其他垃圾", "name_en": "residual"},
        {"id": "perishable", "name_zh": "易腐垃圾", "name_en": "perishable"},
        {"id": "recyclable", "name_zh": "可回收物", "name_en": "recyclables"},
    ]
    assert body["routes"]
    for route in body["routes"]:
        compartments = {c["stream"]: c for c in route["compartments"]}
        assert sum(c["capacity_kg"] for c in compartments.values()) == route["capacity_kg"]
        for visit in route["visits"]:
            assert set(visit["load_after_by_stream_kg"]) <= set(compartments)
            assert sum(visit["load_after_by_stream_kg"].values()) == visit["load_after_kg"]
            if visit["kind"] == "stop":
                assert visit["id"] == f"{visit['id'].split('@')[0]}@{visit['stream']}"
                assert visit["stream"] in compartments
        for stream, c in compartments.items():
            picked = [v["load_kg"] for v in route["visits"] if v.get("stream") == stream]
            assert c["collected_kg"] == sum(picked)


def _days_from_routes(routes: dict) -> dict[tuple[str, str], set[str]]:
    days: dict[tuple[str, str], set[str]] = {}
    for route in routes["routes"]:
        for v in route["visits"]:
            if v["kind"] == "stop":
                point, stream = v["id"].split("@")
                days.setdefault((point, stream), set()).add(route["date"])
    return days


def test_the_coordinator_sees_collection_days_per_stream_of_its_own_points(env):
    client, h = env["client"], env["h"]
    answer = client.get(
        f"/townships/{OWN}/summary?plan_id={env['week']}&date={MONDAY}", headers=h["coordinator"]
    )
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert [s["id"] for s in summary["streams"]] == ["residual", "perishable", "recyclable"]
    points = {p["point_id"]: p for p in summary["points"]}
    assert set(points) == {"P1", "P2", "P3"}  # P4 is the other township's
    streams = {(pid, s["stream"]): s for pid, p in points.items() for s in p["streams"]}
    # tests/data/scenario/sorted: every point has every stream; perishable daily, recyclable
    # weekly (P3's twice weekly), residual at the point's frequency (P2 every 2 days)
    assert set(streams) == {
        (p, s) for p in points for s in ("residual", "perishable", "recyclable")
    }
    due_days = {
        ("P1", "residual"): {7},
        ("P1", "perishable"): {7},
        ("P1", "recyclable"): {1},
        ("P2", "residual"): {3, 4},
        ("P2", "perishable"): {7},
        ("P2", "recyclable"): {1},
        ("P3", "residual"): {7},
        ("P3", "perishable"): {7},
        ("P3", "recyclable"): {2},
    }
    routes = client.get(f"/plans/{env['week']}/routes", headers=h["dispatcher"]).json()
    collected = _days_from_routes(routes)
    for key, s in streams.items():
        assert len(s["collection_days"]) + len(s["unserved_days"]) in due_days[key], (key, s)
        assert set(s["collection_days"]) == collected.get(key, set()), key
        weekdays = {dt.date.fromisoformat(d).isoweekday() for d in s["collection_days"]}
        assert s["weekdays"] == sorted(weekdays)
    for pid, p in points.items():
        every = {d for (q, _), s in streams.items() if q == pid for d in s["collection_days"]}
        assert p["collection_days"] == sorted(every)
    # the day's service names the point and the stream
    monday = {
        (v["id"].split("@")[0], v["stream"])
        for r in routes["routes"]
        if r["date"] == MONDAY.isoformat()
        for v in r["visits"]
        if v["kind"] == "stop" and v["id"].split("@")[0] in points
    }
    assert {(v["point_id"], v["stream"]) for v in summary["service"]} == monday
    assert all(u["point_id"] in points and u["stream"] for u in summary["unserved"])


def test_a_coordinator_gets_nothing_of_another_township(env):
    client, h = env["client"], env["h"]
    week = env["week"]
    other = client.get(f"/townships/{OTHER}/summary?plan_id={week}", headers=h["coordinator"])
    assert other.status_code == 404, other.text
    assert client.get(f"/plans/{week}/routes", headers=h["coordinator"]).status_code == 403
    theirs = client.get(f"/townships/{OTHER}/summary?plan_id={week}", headers=h["other"]).json()
    assert [p["point_id"] for p in theirs["points"]] == ["P4", "P5"]
    assert {v["point_id"] for v in theirs["service"]} <= {"P4", "P5"}


def test_a_county_that_does_not_sort_is_answered_without_stream_fields(env):
    client, h = env["client"], env["h"]
    routes = client.get(f"/plans/{env['plain']}/routes", headers=h["dispatcher"]).json()
    assert routes["routes"]
    assert not _keys(routes) & STREAM_FIELDS
    summary = client.get(
        f"/townships/{OWN}/summary?plan_id={env['plain']}", headers=h["coordinator"]
    ).json()
    assert summary["service"]
    assert not _keys(summary) & STREAM_FIELDS
    served = {v["id"] for r in routes["routes"] for v in r["visits"] if v["kind"] == "stop"}
    for p in summary["points"]:
        assert p["collection_days"] == (routes["dates"] if p["point_id"] in served else [])


def test_the_comparison_gives_a_sorted_plans_kpi_rows_by_stream(env):
    client, h = env["client"], env["h"]
    answer = client.get(f"/compare?plans={env['plain']},{env['week']}", headers=h["planner"])
    assert answer.status_code == 200, answer.text
    plain, week = answer.json()["rows"]
    assert not _keys(plain) & STREAM_FIELDS  # a county that does not sort: as before
    stored = client.get(f"/plans/{env['week']}/files/plan.json", headers=h["planner"]).json()
    by_stream = [k for k in stored["kpis"] if k["scope"] == "stream"]
    assert [k["id"] for k in by_stream] == ["residual", "perishable", "recyclable"]
    assert week["stream_kpis"] == by_stream  # the plan's own KPI rows, every field
    routes = client.get(f"/plans/{env['week']}/routes", headers=h["planner"]).json()
    assert week["streams"] == routes["streams"]  # the names, as the routes give them
    for field in ("collected_t", "distance_km", "total_cost_cny"):
        shares = sum(k[field] for k in week["stream_kpis"])
        assert shares == pytest.approx(week["kpis"][field], abs=0.05), field
    for k in week["stream_kpis"]:
        assert 0 <= k["diverted_share"] <= 1
        assert k["cost_cny_per_t"] == pytest.approx(k["total_cost_cny"] / k["collected_t"], 0.01)
    # the stream rows are the county's: staff only, as the comparison always was
    assert client.get(f"/compare?plans={env['week']}", headers=h["coordinator"]).status_code == 403
