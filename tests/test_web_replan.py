"""The dispatcher's re-plan of the day in headless Chromium (issue 16): mark a truck broken down,
re-plan, see its stops move to another truck (highlighted) and print the changed sheets; close
a road by clicking it, turn a township's report into an event with one click.

The server, keys, browser and tab are those of tests/test_web_e2e.py (its fixtures, a server of
this module's own). The tiny plan sends D1/small_3t#1 to P3 (08:00), P5, P4, P1; the compactor
stays home (tests/test_replan.py).
"""

from __future__ import annotations

import itertools

import pytest

from tests.test_web_e2e import browser, live, page, shot, sign_in

__all__ = ["browser", "live", "page"]  # the fixtures
pytestmark = pytest.mark.slow
SMALL, COMPACTOR = "D1/small_3t#1", "D1/compactor_5t#1"


def _open_plan(page, live) -> None:
    sign_in(page, live["keys"]["dispatcher"])
    page.select_option("#d-plan", str(live["plan_id"]))
    page.wait_for_selector("#d-map[data-drawn]:not([data-drawn=''])")
    page.fill("#d-at", "08:10")


def _stops_of(page) -> dict[str, bool]:
    """The selected truck's stops in the table: point id -> highlighted as changed."""
    rows = page.eval_on_selector_all(
        "#d-stops tbody tr[data-kind='stop']",
        "rs => rs.map(r => [r.dataset.id, r.classList.contains('changed')])",
    )
    return dict(rows)


def test_dispatcher_marks_a_truck_broken_down_and_sees_its_stops_move(page, live):
    _open_plan(page, live)
    page.select_option("#d-truck", SMALL)
    page.wait_for_selector(f"#d-map[data-drawn^='{SMALL}']")
    assert list(_stops_of(page)) == ["P3", "P5", "P4", "P1"]
    page.click(f"#d-trucks tr[data-vehicle='{SMALL}'] button.act-down")
    assert page.inner_text("#d-events li[data-type='truck_down']").startswith(SMALL)
    page.click("#d-replan-day")
    page.wait_for_function(
        "document.querySelector('#d-replan-day-state').textContent.includes('#')",
        timeout=90_000,
    )
    listed = live["api"].get(f"/plans/{live['plan_id']}/versions").json()
    version = listed[-1]
    assert (version["version"], version["status"]) == (1, "done")
    assert page.input_value("#d-plan") == str(version["plan_id"])  # the new version is shown
    page.wait_for_selector("#d-diff-summary")
    assert "D1/compactor_5t#1" in page.inner_text("#d-diff-summary")
    # the compactor now has the broken truck's later stops, highlighted; both sheets changed
    changed_rows = page.eval_on_selector_all(
        "#d-trucks tbody tr.changed", "rs => rs.map(r => r.dataset.vehicle)"
    )
    assert sorted(changed_rows) == [COMPACTOR, SMALL]
    page.select_option("#d-truck", COMPACTOR)
    page.wait_for_selector(f"#d-map[data-drawn^='{COMPACTOR}']")
    assert _stops_of(page) in ({"P4": True, "P1": True}, {"P1": True, "P4": True})
    assert len(page.query_selector_all("#d-map .vmark.stop.changed")) == 2
    page.select_option("#d-truck", SMALL)
    page.wait_for_selector(f"#d-map[data-drawn^='{SMALL}']")
    assert _stops_of(page) == {"P3": False, "P5": False}
    shot(page, "dispatcher-replan.png", full_page=True)
    # the changed sheets print together (window.print replaced to see what it would print)
    page.evaluate(
        "() => { window.print = () => { window.printed = [document.body.classList.contains("
        "'print-changed'), [...document.querySelectorAll('#d-print-sheets section')]"
        ".map(s => s.dataset.vehicle)]; }; }"
    )
    page.click("#d-print-changed")
    page.wait_for_function("window.printed !== undefined")
    printed = page.evaluate("window.printed")
    assert printed[0] is True
    assert sorted(printed[1]) == [COMPACTOR, SMALL]
    rows = page.eval_on_selector_all(
        f"#d-print-sheets section[data-vehicle='{COMPACTOR}'] tr.changed",
        "rs => rs.map(r => r.dataset.id)",
    )
    assert sorted(rows) == ["P1", "P4"]


def _clear_road_point(page, live, net) -> tuple[float, float]:
    """A point on a road in the map's view, as far as can be from the markers (a click there
    reaches the road): the middle of a road segment."""
    west, south, east, north = page.evaluate(
        "(() => { const b = sanitationApp.state.maps['d-map'].map.getBounds();"
        " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()"
    )
    routes = live["api"].get(f"/plans/{live['plan_id']}/routes").json()["routes"]
    marks = [(v["lon"], v["lat"]) for r in routes for v in r["visits"]]
    marks += [
        tuple(f["geometry"]["coordinates"])
        for f in net["features"]
        if f["properties"]["feature"] != "road"
    ]
    middles = []
    for f in net["features"]:
        if f["properties"]["feature"] != "road":
            continue
        line = f["geometry"]["coordinates"]
        for (x1, y1), (x2, y2) in itertools.pairwise(line):
            middles.append(((x1 + x2) / 2, (y1 + y2) / 2))
    inside = [m for m in middles if west < m[0] < east and south < m[1] < north]
    return max(inside, key=lambda m: min((m[0] - a) ** 2 + (m[1] - b) ** 2 for a, b in marks))


def test_dispatcher_closes_a_road_and_takes_a_report_as_an_event(page, live):
    made = live["api"].post(
        "/incidents",
        json={"kind": "overflow", "scenario_id": live["scenario_id"], "point_id": "P2"},
    )
    assert made.status_code == 201, made.text
    _open_plan(page, live)
    ident = made.json()["id"]
    page.click(f"#d-incidents li[data-incident='{ident}'] button.as-event")
    assert page.is_visible(f"#d-events li[data-incident='{ident}']")
    assert not page.query_selector(f"#d-incidents li[data-incident='{ident}']")
    page.click("#d-road-mode")
    assert page.is_visible("#d-pick-hint")
    net = live["api"].get(f"/scenarios/{live['scenario_id']}/network.geojson").json()
    lon, lat = _clear_road_point(page, live, net)
    x, y = page.evaluate(
        "([lat, lon]) => { const p = sanitationApp.state.maps['d-map'].map"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    page.click("#d-map", position={"x": x, "y": y})
    closed = page.inner_text("#d-events li[data-type='road_closed']")
    roads = {f["properties"].get("road_id") for f in net["features"]} - {None}
    assert any(road in closed for road in roads), closed
    assert "08:10" in closed
