"""A what-if is named as itself: plans of two what-ifs of one scenario are listed and compared
under their own names (not their base's), through the API; ``sanitation compare`` labels
(tests/test_compare_noise.py plans a what-if without a name of its own)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from api_helpers import plan_and_wait, role_headers
from fastapi.testclient import TestClient
from test_api_routes import TINY

from api.main import create_app
from api.settings import Settings
from sanitation.compare import scenario_labels

#: a what-if YAML without a name of its own (it used to take its base's, "tiny")
CLOSURE_YAML = "base: scenario.yaml\nroads:\n  closed_road_ids: [EW1]\n"


def _zip_with_whatif() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(TINY.iterdir()):
            archive.write(path, f"tiny/{path.name}")
        archive.writestr("tiny/封路假设.yaml", CLOSURE_YAML)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def two_whatif_plans(tmp_path_factory, wait_job):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("names"), workers=1, poll_s=0.1, max_upload_mb=1
    )
    app = create_app(settings)
    with TestClient(app) as client:
        h = role_headers(app)["planner"]
        upload = client.post(
            "/scenarios",
            files={"file": ("tiny.zip", _zip_with_whatif(), "application/zip")},
            data={"yaml_name": "封路假设.yaml"},
            headers=h,
        )
        assert upload.status_code == 201, upload.text
        closure = upload.json()
        assert closure["name"] == "封路假设" and closure["closed_road_ids"] == ["EW1"]
        derived = client.post(
            f"/scenarios/{closure['id']}/whatifs",
            json={"name": "更多收集车", "overrides": {"fleet": {"F1": {"count": 3}}}},
            headers=h,
        )
        assert derived.status_code == 201, derived.text
        plans = {}
        for scenario in (closure, derived.json()):
            plan_id, job = plan_and_wait(client, scenario["id"], h, wait_job)
            assert job["state"] == "done", job
            plans[scenario["name"]] = (scenario["id"], plan_id)
        yield client, h, plans


def test_plans_of_whatifs_are_listed_under_their_own_names(two_whatif_plans):
    client, h, plans = two_whatif_plans
    names = {s["id"]: s["name"] for s in client.get("/scenarios", headers=h).json()}
    listed = {p["id"]: p for p in client.get("/plans", headers=h).json()}
    for name, (scenario_id, plan_id) in plans.items():
        assert listed[plan_id]["scenario_id"] == scenario_id and names[scenario_id] == name
        assert listed[plan_id]["county_kpis"]["name"] == name
        document = client.get(f"/plans/{plan_id}/files/plan.json", headers=h)
        assert document.status_code == 200, document.text
        assert json.loads(document.content)["scenario"] == name


def test_comparison_columns_carry_the_whatif_names(two_whatif_plans):
    client, h, plans = two_whatif_plans
    ids = ",".join(str(plan_id) for _, plan_id in plans.values())
    table = client.get("/compare", params={"plans": ids}, headers=h).json()
    assert [r["scenario"] for r in table["rows"]] == ["封路假设", "更多收集车"]


def test_labels_add_the_file_stem_only_to_a_shared_name():
    assert scenario_labels(["a", "b"], ["x", "y"]) == ["a", "b"]
    assert scenario_labels(["a", "a", "b"], ["x", "y", "z"]) == ["a (x)", "a (y)", "b"]
