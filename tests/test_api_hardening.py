"""Hostile input against the API (issue 12): township scope, revocation, concurrent plan
starts, bad zips, input `sanitation validate` rejects, NaN/Infinity in JSON bodies.

One module app with no plan workers (jobs stay queued), the tiny scenario uploaded.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from api_helpers import role_headers
from fastapi.testclient import TestClient

from api import plans
from api import scenarios as store
from api.keys import Caller, create_key
from api.main import create_app
from api.models import IncidentRow, PlanRow
from api.schemas import PlanCreate
from api.settings import Settings

TINY = Path(__file__).parent / "data" / "scenario" / "tiny"
SANITATION = Path(sys.executable).parent / "sanitation"
P4 = {"lon": 116.7450, "lat": 30.1351}  # a point of township 990000002, on road EW2
P1 = {"lon": 116.7050, "lat": 30.1351}  # a point of township 990000001, on road EW2


def tiny_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(TINY.iterdir())}


def make_zip(extra: dict[str, bytes] | None = None, *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in {**tiny_files(), **(extra or {})}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def patch_entry(data: bytes, name: str, local: tuple[int, bytes], central: tuple[int, bytes]):
    """Overwrite bytes of one entry's local header and central directory record."""
    raw = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    at, value = local
    raw[info.header_offset + at : info.header_offset + at + len(value)] = value
    encoded = name.encode()
    start = 0
    while True:
        start = raw.index(b"PK\x01\x02", start)
        if raw[start + 46 : start + 46 + len(encoded)] == encoded:
            break
        start += 4
    at, value = central
    raw[start + at : start + at + len(value)] = value
    return bytes(raw)


@pytest.fixture(scope="module")
def env(tmp_path_factory, database):
    data = tmp_path_factory.mktemp("api-hardening")
    url = database.url_for(data)
    settings = Settings(data_dir=data, database_url=url, workers=0, max_upload_mb=1)
    app = create_app(settings)
    with TestClient(app) as client:
        h = role_headers(app)
        upload = client.post(
            "/scenarios",
            files={"file": ("tiny.zip", make_zip(), "application/zip")},
            headers=h["planner"],
        )
        assert upload.status_code == 201, upload.text
        yield {
            "client": client,
            "app": app,
            "h": h,
            "sid": upload.json()["id"],
            "data": data,
            "settings": settings,
            "url": url,
        }


def report(env, role: str, **body):
    """POST /incidents as ``role``."""
    return env["client"].post("/incidents", json=body, headers=env["h"][role])


def fresh_scenario(env) -> int:
    """A scenario of its own (incidents of other tests do not mix in)."""
    answer = env["client"].post(
        f"/scenarios/{env['sid']}/whatifs", json={"name": "copy"}, headers=env["h"]["planner"]
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


# -- 1. a coordinator acts only in its own townships -----------------------------------------
def test_a_coordinator_cannot_report_a_blocked_road_in_another_township(env):
    client, h = env["client"], env["h"]
    sid = fresh_scenario(env)
    body = {"kind": "blocked_road", "scenario_id": sid, **P4}
    refused = client.post("/incidents", json=body, headers=h["coordinator"])
    assert refused.status_code == 403, refused.text
    assert "township 990000002" in refused.json()["detail"]
    assert refused.json()["detail"].startswith("township_code:")
    assert client.get("/incidents", params={"scenario_id": sid}, headers=h["planner"]).json() == []
    # naming its own township does not help
    claimed = client.post(
        "/incidents", json={**body, "township_code": "990000001"}, headers=h["coordinator"]
    )
    assert claimed.status_code in (403, 422), claimed.text
    assert "990000002" in claimed.json()["detail"]
    # in its own township it is recorded there
    mine = report(env, "coordinator", kind="blocked_road", scenario_id=sid, **P1)
    assert mine.status_code == 201, mine.text
    assert mine.json()["township_code"] == "990000001"


def test_a_coordinator_cannot_move_an_overflow_into_another_township(env):
    sid = fresh_scenario(env)
    moved = report(env, "coordinator", kind="overflow", scenario_id=sid, point_id="P1", **P4)
    assert moved.status_code == 403, moved.text
    assert "990000002" in moved.json()["detail"]
    other = report(env, "coordinator", kind="overflow", scenario_id=sid, point_id="P4")
    assert other.status_code == 403
    assert "point P4 lies in township 990000002" in other.json()["detail"]


def test_a_township_code_must_be_the_location_s(env):
    sid = fresh_scenario(env)
    wrong = report(
        env, "dispatcher", kind="blocked_road", scenario_id=sid, township_code="990000001", **P4
    )
    assert wrong.status_code == 422
    assert wrong.json()["detail"].startswith("township_code:")
    assert "lies in township 990000002" in wrong.json()["detail"]
    right = report(env, "dispatcher", kind="blocked_road", scenario_id=sid, **P4)
    assert right.status_code == 201
    assert right.json()["township_code"] == "990000002"


def test_coordinator_reads_stay_in_scope(env):
    client, h = env["client"], env["h"]
    sid = fresh_scenario(env)
    theirs = report(env, "planner", kind="overflow", scenario_id=sid, point_id="P5")
    assert theirs.status_code == 201
    listed = client.get("/incidents", params={"scenario_id": sid}, headers=h["coordinator"])
    assert all(i["township_code"] == "990000001" for i in listed.json())
    assert (
        client.get(f"/incidents/{theirs.json()['id']}", headers=h["coordinator"]).status_code == 404
    )
    assert (
        client.patch(
            f"/incidents/{theirs.json()['id']}",
            json={"status": "dismissed"},
            headers=h["coordinator"],
        ).status_code
        == 403
    )
    assert client.get("/townships/990000002/summary", headers=h["coordinator"]).status_code == 404
    assert client.get("/jobs", headers=h["coordinator"]).status_code == 403
    assert client.get("/plans", headers=h["coordinator"]).status_code == 403


# -- 2. a revoked key is refused on the very next request -------------------------------------
def test_a_key_revoked_by_another_process_is_refused_at_once(env):
    client, data = env["client"], env["data"]
    with env["app"].state.sessions() as session:
        row, plain = create_key(session, "planner")
    headers = {"X-API-Key": plain}
    assert client.get("/scenarios", headers=headers).status_code == 200
    assert client.get("/scenarios", headers=headers).status_code == 200  # cached now
    done = subprocess.run(
        [str(SANITATION), "keys", "revoke", row.prefix],
        env={**os.environ, "SANITATION_DATA_DIR": str(data), "DATABASE_URL": env["url"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    refused = client.get("/scenarios", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "X-API-Key: unknown or revoked key"
    assert client.get("/scenarios", headers=env["h"]["planner"]).status_code == 200


# -- 3. concurrent plan starts consume an incident once ---------------------------------------
def test_concurrent_plan_starts_claim_each_incident_once(env):
    app = env["app"]
    sid = fresh_scenario(env)
    made = [
        report(env, "planner", kind="overflow", scenario_id=sid, point_id=point).json()["id"]
        for point in ("P1", "P2", "P3")
    ]
    starts = 6
    barrier = threading.Barrier(starts)
    results: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with app.state.sessions() as session:
                row = store.get_row(session, sid)
                barrier.wait()
                plan, _ = plans.start_plan(
                    env["settings"], session, row, PlanCreate(), Caller(1, "planner", frozenset())
                )
                results.append(plan.id)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(starts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == starts
    with app.state.sessions() as session:
        used = {
            p.id: [i["id"] for i in p.incidents_used]
            for p in (session.get(PlanRow, x) for x in results)
        }
        claims = [i for ids in used.values() for i in ids]
        assert sorted(claims) == sorted(made), used
        for incident_id in made:
            incident = session.get(IncidentRow, incident_id)
            assert incident.status == "used"
            assert incident_id in used[incident.plan_id]


# -- 4. zip uploads: staged, checked, all or nothing ------------------------------------------
def stored_folders(env) -> list[str]:
    return sorted(p.name for p in (env["data"] / "scenarios").iterdir())


def crc_broken() -> bytes:
    data = make_zip({"notes.txt": b"hello hello hello"}, method=zipfile.ZIP_STORED)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("notes.txt")
    raw = bytearray(data)
    raw[info.header_offset + 30 + len(b"notes.txt")] ^= 0xFF
    return bytes(raw)


def lying(size: int) -> bytes:
    data = make_zip({"notes.txt": b"0123456789" * 10}, method=zipfile.ZIP_STORED)
    packed = struct.pack("<I", size)
    return patch_entry(data, "notes.txt", (22, packed), (24, packed))


def bomb() -> bytes:
    return make_zip({"zeros.csv": b"0" * (11 * 1024 * 1024)})


def many() -> bytes:
    return make_zip({f"x/{i}.txt": b"" for i in range(2001)})


def twice() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in tiny_files().items():
            archive.writestr(name, data)
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("notes.txt", b"a")
            archive.writestr("notes.txt", b"b")
    return buffer.getvalue()


LONG = "长" * 90 + ".csv"
BAD_ZIPS = {
    "file and folder": (lambda: make_zip({"data": b"x", "data/x.csv": b"a,b\n"}), "'data'"),
    "90 Chinese characters": (lambda: make_zip({LONG: b"a\n"}), "274 bytes"),
    "a folder of 90 Chinese characters": (
        lambda: make_zip({"长" * 90 + "/x.csv": b"a\n"}),
        "270 bytes",
    ),
    "file and folder, nested": (
        lambda: make_zip({"a/b": b"x", "a/b/c.csv": b"a\n"}),
        "'a/b' is a file and also a folder",
    ),
    "bad CRC": (crc_broken, "'notes.txt' is damaged"),
    "compression method 99": (
        lambda: patch_entry(
            make_zip({"notes.txt": b"abc"}), "notes.txt", (8, b"\x63\x00"), (10, b"\x63\x00")
        ),
        "compression method 99",
    ),
    "encrypted flag": (
        lambda: patch_entry(
            make_zip({"notes.txt": b"abc"}), "notes.txt", (6, b"\x01\x00"), (8, b"\x01\x00")
        ),
        "'notes.txt' is encrypted",
    ),
    "size smaller than the data": (lambda: lying(5), "'notes.txt'"),
    "size larger than the data": (lambda: lying(500), "'notes.txt'"),
    "too many entries": (many, "entries; at most 2000"),
    "too large unpacked": (bomb, "unpacks to"),
    "same name twice": (twice, "'notes.txt' appears twice"),
}


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_a_bad_zip_is_refused_naming_the_entry_and_leaves_nothing(env, case):
    build, named = BAD_ZIPS[case]
    before = stored_folders(env)
    answer = env["client"].post(
        "/scenarios",
        files={"file": ("bad.zip", build(), "application/zip")},
        headers=env["h"]["planner"],
    )
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    detail = answer.json()["detail"]
    assert detail.startswith("file:") and not detail.startswith("file: file:"), detail
    assert named in detail, detail
    assert stored_folders(env) == before


def test_a_scenario_that_fails_validation_leaves_nothing(env):
    before = stored_folders(env)
    files = tiny_files()
    files["points.csv"] = files["points.csv"].replace(b"0.3,", b"-3,", 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    answer = env["client"].post(
        "/scenarios",
        files={"file": ("bad.zip", buffer.getvalue(), "application/zip")},
        headers=env["h"]["planner"],
    )
    assert answer.status_code == 422
    assert stored_folders(env) == before


# -- 5. no job for input `validate` rejects; NaN/Infinity named --------------------------------
def test_a_plan_of_a_scenario_validate_rejects_is_refused_before_it_is_queued(env):
    """Blocked roads around station S1 cut it off: `validate` of the planned scenario exits 3,
    so the plan start answers 422 with the causes and no job, and the incident stays open."""
    client, h = env["client"], env["h"]
    sid = fresh_scenario(env)
    blocked = report(
        env, "planner", kind="blocked_road", scenario_id=sid, lon=116.7000, lat=30.1301
    )
    assert blocked.status_code == 201
    jobs_before = len(client.get("/jobs", headers=h["planner"]).json())
    refused = client.post(f"/scenarios/{sid}/plans", json={}, headers=h["planner"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"].startswith("infeasible:")
    assert any("record 'S1'" in c for c in refused.json()["causes"])
    assert len(client.get("/jobs", headers=h["planner"]).json()) == jobs_before
    assert (
        client.get(f"/incidents/{blocked.json()['id']}", headers=h["planner"]).json()["status"]
        == "open"
    )
    # without the incidents it plans
    accepted = client.post(
        f"/scenarios/{sid}/plans", json={"use_incidents": False}, headers=h["planner"]
    )
    assert accepted.status_code == 202


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": "x", "closed_road_ids": ["NOPE"]}, "NOPE"),
        ({"name": "x", "overrides": {"stations": {"S1": {"capacity_t_per_day": -5}}}}, "-5"),
    ],
)
def test_a_what_if_validate_rejects_is_refused(env, body, named):
    answer = env["client"].post(
        f"/scenarios/{env['sid']}/whatifs", json=body, headers=env["h"]["planner"]
    )
    assert answer.status_code == 422, answer.text
    text = answer.text
    assert named in text


@pytest.mark.parametrize(
    ("path", "raw", "loc"),
    [
        ("/scenarios/{sid}/plans", b'{"time_limit_s": NaN}', ["body", "time_limit_s"]),
        ("/scenarios/{sid}/plans", b'{"time_limit_s": Infinity}', ["body", "time_limit_s"]),
        (
            "/incidents",
            b'{"kind": "blocked_road", "scenario_id": 1, "lon": -Infinity, "lat": 30}',
            ["body", "lon"],
        ),
        (
            "/scenarios/{sid}/whatifs",
            b'{"name": "x", "overrides": {"stations": {"S1": {"capacity_t_per_day": NaN}}}}',
            "overrides.stations.S1.capacity_t_per_day",
        ),
        (
            "/scenarios/{sid}/whatifs",
            b'{"name": "x", "policy": {"a": [1, Infinity]}}',
            "policy.a[1]",
        ),
    ],
)
def test_nan_and_infinity_are_refused_naming_the_field(env, path, raw, loc):
    answer = env["client"].post(
        path.format(sid=env["sid"]),
        content=raw,
        headers={**env["h"]["planner"], "content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["detail"][0]
    if isinstance(loc, list):
        assert error["loc"] == loc
    else:
        assert error["loc"] == ["body"]
        assert loc in error["msg"]


def test_a_body_that_cannot_be_parsed_is_400_naming_the_body(env):
    answer = env["client"].post(
        f"/scenarios/{env['sid']}/plans",
        content=b"\xff\xfe{",
        headers={**env["h"]["planner"], "content-type": "application/json"},
    )
    assert answer.status_code in (400, 422)
    detail = answer.json()["detail"]
    if answer.status_code == 400:
        assert detail.startswith("body: "), detail
    else:
        assert detail[0]["loc"][0] == "body", detail


def test_the_path_check_leaves_yaml_it_cannot_read_to_the_loader(tmp_path):
    """A YAML whose scalars the YAML library refuses (a date 2026-02-30) is reported by
    `load_scenario`, not by a ValueError of the path check before it."""
    yaml_path = tmp_path / "scenario.yaml"
    yaml_path.write_text("date: 2026-02-30\nbase: ../../elsewhere.yaml\n", encoding="utf-8")
    assert store._check_paths(yaml_path, tmp_path) == []
