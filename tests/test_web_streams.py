"""Sorted streams on the page in headless Chromium (issue 18): the dispatcher's stop table shows
each stop's stream and the compartment loads after each visit, the trucks table each route's
compartments; the coordinator sees a table of collection weekdays per point and stream.

The browser and tab are those of tests/test_web_e2e.py; this module's own server plans a week
of the sorted tiny county (``tests/data/scenario/sorted``, OR-Tools, 1 s). A county that does not
sort shows none of it (tests/test_web_e2e.py checks that on the tiny plan).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from api_helpers import Server, cli_key, folder_zip

from tests.test_web_e2e import browser, page, shot, sign_in

__all__ = ["browser", "page"]  # the fixtures
pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data" / "scenario"
MONDAY = dt.date(2026, 11, 30)
WEEKDAYS_ZH = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}


@pytest.fixture(scope="module")
def live(tmp_path_factory, wait_job):
    """A server with a planned week of the sorted tiny county and a key per role."""
    data = tmp_path_factory.mktemp("web-streams")
    server = Server(data, tile_url="").start()
    try:
        keys = {
            "planner": cli_key(data, "--role", "planner"),
            "dispatcher": cli_key(data, "--role", "dispatcher"),
            "coordinator": cli_key(data, "--role", "coordinator", "--township", "990000001"),
        }
        with server.client(keys["planner"]) as client:
            archive = folder_zip(DATA / "tiny", DATA / "sorted")
            answer = client.post(
                "/scenarios",
                files={"file": ("sorted.zip", archive, "application/zip")},
                data={"yaml_name": "sorted/scenario.yaml"},
            )
            assert answer.status_code == 201, answer.text
            started = client.post(
                f"/scenarios/{answer.json()['id']}/plans",
                json={"engine": "ortools", "time_limit_s": 1, "week": MONDAY.isoformat()},
            )
            assert started.status_code == 202, started.text
            job = wait_job(client, started.json()["job_id"])
            assert job["state"] == "done", job
            yield {
                "url": server.url,
                "keys": keys,
                "plan_id": started.json()["plan_id"],
                "api": client,
            }
    finally:
        server.stop()


def test_dispatcher_sees_each_stops_stream_and_the_compartment_loads(page, live):
    sign_in(page, live["keys"]["dispatcher"])
    page.select_option("#d-plan", str(live["plan_id"]))
    page.wait_for_selector("#d-map[data-drawn]:not([data-drawn=''])")
    vehicle, date = page.input_value("#d-truck"), page.input_value("#d-date")
    body = (
        live["api"]
        .get(f"/plans/{live['plan_id']}/routes", params={"date": date, "vehicle": vehicle})
        .json()
    )
    names = {s["id"]: s["name_zh"] for s in body["streams"]}
    route = body["routes"][0]
    assert page.is_visible("#d-stops th.stream-col") and page.is_visible("#d-trucks th.stream-col")
    rows = page.eval_on_selector_all(
        "#d-stops tbody tr",
        "rs => rs.map(r => [r.dataset.id, ...[...r.querySelectorAll('td.stream-col')]"
        ".map(c => c.textContent)])",
    )
    expected = []
    for v in route["visits"]:
        kg = v.get("load_after_by_stream_kg", {})
        loads = " · ".join(
            f"{names[c['stream']]} {kg.get(c['stream'], 0):,}" for c in route["compartments"]
        )
        expected.append([v["id"], names.get(v.get("stream"), ""), loads])
    assert rows == expected
    assert any(r[1] for r in rows)  # stops of streams
    truck = page.inner_text(f"#d-trucks tr[data-vehicle='{vehicle}'] td.stream-col")
    for c in route["compartments"]:
        tonnes = f"{c['collected_kg'] / 1000:.2f}/{c['capacity_kg'] / 1000:.1f}"
        assert f"{names[c['stream']]} {tonnes}" in truck
    shot(page, "dispatcher-streams.png", full_page=True)
    page.click("#lang")  # English names
    page.wait_for_selector("#d-map[data-drawn]:not([data-drawn=''])")
    english = {s["id"]: s["name_en"] for s in body["streams"]}
    shown = page.eval_on_selector_all(
        "#d-stops tbody tr[data-kind='stop'] td.stream-col:first-of-type",
        "cs => cs.map(c => c.textContent)",
    )
    assert set(shown) <= set(english.values())


def test_coordinator_sees_collection_weekdays_per_stream(page, live):
    sign_in(page, live["keys"]["coordinator"])
    page.wait_for_selector("#c-map[data-drawn^='990000001 ']")
    assert page.is_visible("#c-streams-card")
    summary = (
        live["api"].get("/townships/990000001/summary", params={"plan_id": live["plan_id"]}).json()
    )
    heads = page.eval_on_selector_all("#c-streams thead th", "hs => hs.map(h => h.textContent)")
    assert heads[2:] == [s["name_zh"] for s in summary["streams"]]
    cells = page.eval_on_selector_all(
        "#c-streams tbody td[data-stream]",
        "cs => cs.map(c => [c.closest('tr').dataset.id, c.dataset.stream,"
        " c.querySelector('.weekdays').textContent])",
    )
    expected = [
        [p["point_id"], s["stream"], "、".join(WEEKDAYS_ZH[w] for w in s["weekdays"]) or "–"]
        for p in summary["points"]
        for s in p["streams"]
    ]
    assert cells == expected
    assert {c[0] for c in cells} == {"P1", "P2", "P3"}
    # perishable waste is collected daily: every weekday of the week, unless left unserved
    for p in summary["points"]:
        perishable = next(s for s in p["streams"] if s["stream"] == "perishable")
        assert len(perishable["weekdays"]) + len(perishable["unserved_days"]) == 7
    shot(page, "coordinator-streams.png", full_page=True)
