"""Route tests of the planning API with TestClient: status codes and error details.

One module fixture uploads the tiny scenario and runs one real plan job (PyVRP, 1 s) in a worker
process; the other tests read from it.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from api_helpers import role_headers
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings

TINY = Path(__file__).parent / "data" / "scenario" / "tiny"
BAD = Path(__file__).parent / "data" / "api"


def tiny_zip(folder: Path = TINY, *, top: str = "tiny", drop: str | None = None) -> bytes:
    """The tiny scenario folder as a zip (optionally without one file)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            if path.name != drop:
                archive.write(path, f"{top}/{path.name}" if top else path.name)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def env(tmp_path_factory, wait_job, database):
    data = tmp_path_factory.mktemp("api-data")
    settings = Settings(
        data_dir=data,
        database_url=database.url_for(data),
        workers=1,
        poll_s=0.1,
        max_upload_mb=1,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        headers = role_headers(app)
        upload = client.post(
            "/scenarios",
            files={"file": ("tiny.zip", tiny_zip(), "application/zip")},
            headers=headers["planner"],
        )
        assert upload.status_code == 201, upload.text
        scenario_id = upload.json()["id"]
        started = client.post(
            f"/scenarios/{scenario_id}/plans",
            json={"engine": "pyvrp", "time_limit_s": 1},
            headers=headers["dispatcher"],
        )
        assert started.status_code == 202, started.text
        job = wait_job(client, started.json()["job_id"], headers=headers["planner"])
        assert job["state"] == "done", job
        yield {
            "client": client,
            "app": app,
            "h": headers,
            "scenario_id": scenario_id,
            "plan_id": started.json()["plan_id"],
            "job_id": started.json()["job_id"],
            "data": data,
        }


def test_health_and_docs_need_no_key(env):
    client = env["client"]
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_keys_are_required_and_checked(env):
    client = env["client"]
    missing = client.get("/scenarios")
    assert missing.status_code == 401
    assert "X-API-Key" in missing.json()["detail"]
    wrong = client.get("/scenarios", headers={"X-API-Key": "san_000000000000_nope"})
    assert wrong.status_code == 401
    bearer = env["h"]["planner"]["X-API-Key"]
    ok = client.get("/scenarios", headers={"Authorization": f"Bearer {bearer}"})
    assert ok.status_code == 200


def test_roles_are_enforced(env):
    client, h = env["client"], env["h"]
    refused = client.post(
        "/scenarios",
        files={"file": ("t.zip", tiny_zip(), "application/zip")},
        headers=h["dispatcher"],
    )
    assert refused.status_code == 403
    assert "planner" in refused.json()["detail"]
    assert (
        client.get(f"/plans/{env['plan_id']}/routes", headers=h["coordinator"]).status_code == 403
    )


def test_scenario_listing_and_get(env):
    client, h = env["client"], env["h"]
    got = client.get(f"/scenarios/{env['scenario_id']}", headers=h["planner"]).json()
    assert got["n_points"] == 5
    assert [t["code"] for t in got["townships"]] == ["990000001", "990000002"]
    assert client.get("/scenarios/999", headers=h["planner"]).json() == {
        "detail": "scenario_id: scenario 999 not found"
    }
    typed = client.get("/scenarios/abc", headers=h["planner"])
    assert typed.status_code == 422
    assert typed.json()["detail"][0]["loc"] == ["path", "scenario_id"]


def test_bad_uploads_name_the_problem(env):
    client, h = env["client"], env["h"]["planner"]
    not_zip = client.post(
        "/scenarios", files={"file": ("x.zip", b"hello", "application/zip")}, headers=h
    )
    assert not_zip.status_code == 422
    assert not_zip.json()["detail"] == "file: not a zip archive"
    missing = client.post(
        "/scenarios",
        files={"file": ("t.zip", tiny_zip(drop="points.csv"), "application/zip")},
        headers=h,
    )
    assert missing.status_code == 422
    assert any("points.csv" in p for p in missing.json()["problems"])
    assert all("/tmp" not in p for p in missing.json()["problems"])
    escape = client.post(
        "/scenarios/json",
        json={"yaml": (BAD / "escape.yaml").read_text(), "files": {}},
        headers=h,
    )
    assert escape.status_code == 422
    assert "leaves the scenario" in escape.json()["detail"]
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("../evil.yaml", "name: x")
    slipped = client.post(
        "/scenarios", files={"file": ("s.zip", slip.getvalue(), "application/zip")}, headers=h
    )
    assert slipped.status_code == 422
    assert slipped.json()["detail"].startswith("file: file name '../evil.yaml'")


def test_oversized_body_is_413(env):
    client, h = env["client"], env["h"]["planner"]
    big = b"x" * (1024 * 1024 + 10)
    answer = client.post(
        "/scenarios", files={"file": ("big.zip", big, "application/zip")}, headers=h
    )
    assert answer.status_code == 413
    assert answer.json()["detail"].startswith("body:")


def test_streamed_oversized_body_is_413(env):
    client, h = env["client"], env["h"]["planner"]

    def chunks():
        for _ in range(20):
            yield b" " * 65536  # 1.25 MB in all, no Content-Length

    answer = client.post(
        "/scenarios/json", content=chunks(), headers={**h, "Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert "over the limit" in answer.json()["detail"]


def test_json_upload_and_whatif(env):
    client, h = env["client"], env["h"]["planner"]
    files = {p.name: p.read_text(encoding="utf-8") for p in TINY.iterdir() if p.suffix != ".yaml"}
    created = client.post(
        "/scenarios/json",
        json={"name": "tiny-json", "yaml": (TINY / "scenario.yaml").read_text(), "files": files},
        headers=h,
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    whatif = client.post(
        f"/scenarios/{sid}/whatifs",
        json={
            "name": "S1 smaller",
            "overrides": {"stations": {"S1": {"capacity_t_per_day": 15}}},
            "closed_road_ids": ["LANE1"],
        },
        headers=h,
    )
    assert whatif.status_code == 201, whatif.text
    assert whatif.json()["parent_id"] == sid
    assert whatif.json()["closed_road_ids"] == ["LANE1"]
    bad = client.post(
        f"/scenarios/{sid}/whatifs",
        json={"name": "x", "overrides": {"stations": {"S1": {"capacity_t_per_day": -3}}}},
        headers=h,
    )
    assert bad.status_code == 422
    assert "capacity_t_per_day" in bad.json()["problems"][0]
    unknown = client.post(f"/scenarios/{sid}/whatifs", json={"name": "x", "colour": 1}, headers=h)
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "colour"]


def test_plan_routes_and_filters(env):
    client, h, plan_id = env["client"], env["h"]["dispatcher"], env["plan_id"]
    plan = client.get(f"/plans/{plan_id}", headers=h).json()
    assert plan["status"] == "done"
    assert "routes.geojson" in plan["files"]
    routes = client.get(f"/plans/{plan_id}/routes", headers=h).json()
    assert routes["routes"], routes
    route = routes["routes"][0]
    assert route["visits"][-1]["kind"] == "unload"
    assert [v["order"] for v in route["visits"]] == list(range(1, len(route["visits"]) + 1))
    one = client.get(
        f"/plans/{plan_id}/routes",
        params={
            "date": route["date"],
            "station": route["station_id"],
            "vehicle": route["vehicle_id"],
        },
        headers=h,
    ).json()
    assert [r["route_id"] for r in one["routes"]] == [route["route_id"]]
    wrong_date = client.get(f"/plans/{plan_id}/routes", params={"date": "2020-01-01"}, headers=h)
    assert wrong_date.status_code == 404
    assert wrong_date.json()["detail"].startswith("date:")
    bad_date = client.get(f"/plans/{plan_id}/routes", params={"date": "tomorrow"}, headers=h)
    assert bad_date.status_code == 422
    assert bad_date.json()["detail"][0]["loc"] == ["query", "date"]
    station = client.get(f"/plans/{plan_id}/routes", params={"station": "S9"}, headers=h)
    assert station.status_code == 404
    assert station.json()["detail"] == "station: station 'S9' not found"
    geo = client.get(
        f"/plans/{plan_id}/routes.geojson", params={"vehicle": route["vehicle_id"]}, headers=h
    )
    features = json.loads(geo.content)["features"]
    assert {f["properties"]["vehicle_id"] for f in features} == {route["vehicle_id"]}
    sheet = client.get(
        f"/plans/{plan_id}/route-sheet",
        params={"date": route["date"], "vehicle": route["vehicle_id"]},
        headers=h,
    )
    assert sheet.status_code == 200
    assert sheet.content[:2] == b"PK"
    # A missing sheet is regenerated on demand.
    truck = route["vehicle_id"].replace("/", "_").replace("#", "_")
    name = f"route_sheets/{route['date']}_{truck}.xlsx"
    assert name in plan["files"]
    stored = env["data"] / "plans"
    (path,) = stored.glob(f"*/output/{name}")
    path.unlink()
    again = client.get(
        f"/plans/{plan_id}/route-sheet",
        params={"date": route["date"], "vehicle": route["vehicle_id"]},
        headers=h,
    )
    assert again.status_code == 200
    assert path.is_file()
    assert client.get(f"/plans/{plan_id}/files/worker.log", headers=h).status_code == 404
    assert client.get(f"/plans/{plan_id}/files/kpis.csv", headers=h).status_code == 200
    fleet_csv = client.get(f"/plans/{plan_id}/files/fleet.csv", headers=h)
    assert fleet_csv.status_code == 200
    assert "fleet.csv" in client.get(f"/plans/{plan_id}", headers=h).json()["files"]
    # a week plan's per-day maps are listed and served (written by sanitation.io.plan_files)
    day_map = path.parent.parent / "maps" / f"{route['date']}.png"
    day_map.parent.mkdir()
    day_map.write_bytes((path.parent.parent / "map.png").read_bytes())
    listed = client.get(f"/plans/{plan_id}", headers=h).json()["files"]
    assert f"maps/{route['date']}.png" in listed
    served = client.get(f"/plans/{plan_id}/files/maps/{route['date']}.png", headers=h)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    day_map.unlink()
    day_map.parent.rmdir()
    assert client.get("/plans/9999/routes", headers=h).status_code == 404


def test_compare_has_deltas(env):
    client, h, plan_id = env["client"], env["h"]["planner"], env["plan_id"]
    table = client.get("/compare", params={"plans": f"{plan_id},{plan_id}"}, headers=h).json()
    assert table["base_plan_id"] == plan_id
    assert table["rows"][1]["delta"]["total_cost_cny"] == 0
    bad = client.get("/compare", params={"plans": "1,x"}, headers=h)
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("plans:")


def test_township_summary_is_scoped(env):
    client, h = env["client"], env["h"]
    summary = client.get("/townships/990000001/summary", headers=h["coordinator"]).json()
    assert summary["plan_id"] == env["plan_id"]
    assert {p["point_id"] for p in summary["points"]} == {"P1", "P2", "P3"}
    served = {s["point_id"] for s in summary["service"]}
    unserved = {u["point_id"] for u in summary["unserved"]}
    assert served | unserved <= {"P1", "P2", "P3"}
    for point in summary["points"]:
        assert set(point["collection_days"]).isdisjoint(point["unserved_days"])
    other = client.get("/townships/990000002/summary", headers=h["coordinator"])
    assert other.status_code == 404
    assert other.json()["detail"] == "code: township '990000002' not found"
    assert client.get("/townships/990000002/summary", headers=h["planner"]).status_code == 200
    assert client.get("/townships/12/summary", headers=h["planner"]).status_code == 422


def test_incidents_scope_and_next_plan(env, wait_job):
    client, h, sid = env["client"], env["h"], env["scenario_id"]
    mine = client.post(
        "/incidents",
        json={"kind": "overflow", "scenario_id": sid, "point_id": "P3", "note": "满溢"},
        headers=h["coordinator"],
    )
    assert mine.status_code == 201, mine.text
    other = client.post(
        "/incidents",
        json={"kind": "overflow", "scenario_id": sid, "point_id": "P4"},
        headers=h["coordinator"],
    )
    assert other.status_code == 403
    assert "township 990000002" in other.json()["detail"]
    no_point = client.post(
        "/incidents", json={"kind": "overflow", "scenario_id": sid}, headers=h["planner"]
    )
    assert no_point.status_code == 422
    assert no_point.json()["detail"].startswith("point_id:")
    far = client.post(
        "/incidents",
        json={"kind": "blocked_road", "scenario_id": sid, "lon": 100.0, "lat": 30.0},
        headers=h["dispatcher"],
    )
    assert far.status_code in (404, 422)
    road = client.post(
        "/incidents",
        json={
            "kind": "blocked_road",
            "scenario_id": sid,
            "lon": 116.7450,
            "lat": 30.1351,
            "township_code": "990000002",
        },
        headers=h["dispatcher"],
    )
    assert road.status_code == 201, road.text
    assert road.json()["road_ids"]
    seen = client.get("/incidents", headers=h["coordinator"]).json()
    assert {i["township_code"] for i in seen} == {"990000001"}
    assert (
        client.get(f"/incidents/{road.json()['id']}", headers=h["coordinator"]).status_code == 404
    )
    # The next plan uses both incidents (queued only: the plan itself is not waited for).
    started = client.post(
        f"/scenarios/{sid}/plans", json={"engine": "pyvrp", "time_limit_s": 1}, headers=h["planner"]
    ).json()
    cancelled = client.post(f"/jobs/{started['job_id']}/cancel", headers=h["planner"])
    assert cancelled.status_code == 200
    plan = client.get(f"/plans/{started['plan_id']}", headers=h["planner"]).json()
    assert {i["id"] for i in plan["incidents_used"]} == {mine.json()["id"], road.json()["id"]}
    wait_job(
        client,
        started["job_id"],
        until={"cancelled"},
        headers=h["planner"],
        timeout_s=30,
        every_s=0.1,
    )
    # A cancelled plan gives its incidents back for the next one.
    assert (
        client.get(f"/incidents/{mine.json()['id']}", headers=h["planner"]).json()["status"]
        == "open"
    )
    again = client.post(f"/jobs/{started['job_id']}/cancel", headers=h["planner"])
    assert again.status_code == 409
    no_routes = client.get(f"/plans/{started['plan_id']}/routes", headers=h["planner"])
    assert no_routes.status_code == 409
    assert (
        no_routes.json()["detail"]
        == f"plan_id: plan {started['plan_id']} is cancelled; no routes yet"
    )


def test_overlay_of_incidents_is_written(env):
    from api.models import PlanRow

    with env["app"].state.sessions() as session:
        plan = session.get(PlanRow, env["plan_id"])
        assert plan.planned_yaml.endswith("scenario.yaml")


def test_an_infeasible_plan_job_fails_with_its_cause(env, wait_job):
    """Station capacity below the county's waste: the job fails (exit-3 cause in its error),
    the plan is failed with no files, and asking for its routes is refused, never a 500."""
    client, h = env["client"], env["h"]["planner"]
    small = {"capacity_t_per_day": 0.8, "max_expansions": 0}
    whatif = client.post(
        f"/scenarios/{env['scenario_id']}/whatifs",
        json={"name": "stations too small", "overrides": {"stations": {"S1": small, "S2": small}}},
        headers=h,
    )
    assert whatif.status_code == 201, whatif.text
    started = client.post(
        f"/scenarios/{whatif.json()['id']}/plans",
        json={"engine": "pyvrp", "time_limit_s": 1},
        headers=h,
    )
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"], headers=h)
    assert job["state"] == "failed", job
    assert job["stage"] == "assignment"
    cause = "all stations lack 0.4 t/day of capacity"
    assert job["error"].startswith("infeasible: ") and cause in job["error"]
    assert any(cause in p for p in job["problems"])
    plan_id = started.json()["plan_id"]
    plan = client.get(f"/plans/{plan_id}", headers=h).json()
    assert plan["status"] == "failed" and plan["files"] == [] and cause in plan["error"]
    routes = client.get(f"/plans/{plan_id}/routes", headers=h)
    assert routes.status_code == 409 and routes.json()["detail"].startswith("plan_id:")
