"""`sanitation replan` on the tiny scenario: each kind of event binds (hand-checked against the
base plan's one route), and the diff says what moved.

The base plan (pyvrp, seed 1) sends D1/small_3t#1 to P3 (08:00), P5, P4, P1 and the station;
D1/compactor_5t#1 stays home. P2 is not due (every two days) and only small trucks may serve it.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.replan_helpers import COMPACTOR, SMALL, _routes, _unserved, base_plan, replan

__all__ = ["base_plan"]  # the module fixture


def _stops(route: dict) -> list[str]:
    return [v["id"] for v in route["visits"] if v["kind"] == "stop"]


def test_base_plan_is_the_hand_checked_one(base_plan: Path) -> None:
    routes = _routes(base_plan)
    assert list(routes) == [SMALL]
    assert _stops(routes[SMALL]) == ["P3", "P5", "P4", "P1"]


def test_truck_down_its_stops_go_to_another_truck(base_plan, tmp_path, monkeypatch) -> None:
    out = replan(base_plan, tmp_path, monkeypatch, [_down("08:10")], "08:10")
    routes = _routes(out)
    # P3 and P5 were started before 08:10 and stay; nothing after the breakdown
    assert _stops(routes[SMALL]) == ["P3", "P5"]
    assert all(v["start_s"] < 8 * 3600 + 600 for v in routes[SMALL]["visits"])
    assert sorted(_stops(routes[COMPACTOR])) == ["P1", "P4"]
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["stops_moved"] == 2
    assert diff["share_unchanged"] == 0.0
    assert sorted(diff["changed_trucks"]) == [COMPACTOR, SMALL]
    assert "1400 kg" in diff["lost_loads"][0]
    assert (out / "diff.md").read_text(encoding="utf-8").startswith("# Re-plan at 08:10")
    sheets = {p.name for p in (out / "route_sheets").iterdir()}
    assert "2026-11-27_D1_compactor_5t_1.xlsx" in sheets
    # the old plan is untouched
    assert _stops(_routes(base_plan)[SMALL]) == ["P3", "P5", "P4", "P1"]


def _down(time: str) -> dict:
    return {"type": "truck_down", "vehicle": SMALL, "time": time}


def test_truck_down_with_no_truck_left_is_reported(base_plan, tmp_path, monkeypatch) -> None:
    events = [_down("08:10"), {"type": "truck_down", "vehicle": COMPACTOR, "time": "08:10"}]
    out = replan(base_plan, tmp_path, monkeypatch, events, "08:10")
    assert COMPACTOR not in _routes(out)
    unserved = _unserved(out)
    assert set(unserved) == {"P1", "P4"}
    assert all("no truck left" in why for why in unserved.values())


def test_road_closed_cuts_a_point_off(base_plan, tmp_path, monkeypatch) -> None:
    # P4 snaps to the crossing of EW2 and NS4: closing both leaves it no road
    closed = {"type": "road_closed", "roads": ["EW2", "NS4"], "from": "08:10"}
    out = replan(base_plan, tmp_path, monkeypatch, [closed], "08:10")
    assert "road closure" in _unserved(out)["P4"]
    assert "P4" not in _stops(_routes(out)[SMALL])
    assert "P1" in _stops(_routes(out)[SMALL])


def test_road_closed_area_and_a_closure_already_over(base_plan, tmp_path, monkeypatch) -> None:
    box = [[116.743, 30.133], [116.747, 30.133], [116.747, 30.137], [116.743, 30.137]]
    area = {"type": "Polygon", "coordinates": [[*box, box[0]]]}
    closed = {"type": "road_closed", "area": area, "from": "08:10"}
    out = replan(base_plan, tmp_path, monkeypatch, [closed], "08:10")
    assert "road closure" in _unserved(out)["P4"]
    over = {"type": "road_closed", "roads": ["EW2", "NS4"], "from": "06:00", "until": "07:00"}
    out2 = replan(base_plan, tmp_path / "b", monkeypatch, [over], "08:10")
    assert "P4" in _stops(_routes(out2)[SMALL])


def test_urgent_point_is_served_before_its_deadline(base_plan, tmp_path, monkeypatch) -> None:
    urgent = {"type": "urgent_point", "point": "P2", "kg": 500, "deadline": "09:30"}
    out = replan(base_plan, tmp_path, monkeypatch, [urgent], "08:10")
    visits = {v["id"]: v for r in _routes(out).values() for v in r["visits"]}
    assert "P2" in visits
    assert visits["P2"]["load_kg"] == 500
    assert visits["P2"]["departure_s"] <= 9 * 3600 + 1800
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["stops_new"] == 1


#: an overflowing market at a crossing of EW1 and NS3 (a new place)
MARKET = {
    "type": "urgent_point",
    "lon": 116.7401,
    "lat": 30.1301,
    "name": "集市满溢",
    "kg": 300,
    "deadline": "12:00",
}


def test_urgent_new_place_is_served(base_plan, tmp_path, monkeypatch) -> None:
    urgent = MARKET
    out = replan(base_plan, tmp_path, monkeypatch, [urgent], "08:10")
    names = [v["name"] for r in _routes(out).values() for v in r["visits"]]
    assert "集市满溢" in names


def test_extra_waste_makes_the_load_bind(base_plan, tmp_path, monkeypatch) -> None:
    extra = {"type": "extra_waste", "point": "P1", "kg": 1500}
    out = replan(base_plan, tmp_path, monkeypatch, [extra], "08:10")
    routes = _routes(out)
    visits = [v for r in routes.values() for v in r["visits"]]
    (p1,) = [v for v in visits if v["id"] == "P1"]
    assert p1["load_kg"] == 1800
    for r in routes.values():
        assert all(v["load_after_kg"] <= r["capacity_kg"] for v in r["visits"])
    # 1400 on board + P4 600 + P1 1800 > 3000: an unload in between, or P1 moves
    small = routes[SMALL]
    assert small["n_unloads"] >= 2 or "P1" not in _stops(small)


def test_position_fixes_the_state(base_plan, tmp_path, monkeypatch) -> None:
    gps = {
        "type": "position",
        "vehicle": SMALL,
        "time": "08:05",
        "lon": 116.7401,
        "lat": 30.1301,
        "load_kg": 2800,
    }
    out = replan(base_plan, tmp_path, monkeypatch, [gps], "08:10")
    small = _routes(out)[SMALL]
    after = [v for v in small["visits"] if v["start_s"] >= 8 * 3600 + 600]
    assert small["visits"][0]["id"] == "P3"  # started before 08:05: kept
    # 2800 kg on board: any stop would overload it, so it unloads first
    assert after[0]["kind"] == "unload"
    assert after[0]["load_kg"] == 2800


def test_stop_reports(base_plan, tmp_path, monkeypatch) -> None:
    events = [
        {"type": "stop_skipped", "point": "P4", "time": "08:12"},
        {"type": "stop_done", "point": "P1", "time": "08:15"},
    ]
    out = replan(base_plan, tmp_path, monkeypatch, events, "08:15")
    assert "skipped" in _unserved(out)["P4"]
    small = _routes(out)[SMALL]
    assert _stops(small) == ["P3", "P5", "P1"]
    assert small["visits"][-1]["kind"] == "unload"
    assert small["visits"][-1]["load_kg"] == 400 + 1000 + 300


def test_through_the_default_engine(base_plan, tmp_path, monkeypatch) -> None:
    out = replan(base_plan, tmp_path, monkeypatch, [_down("08:10")], "08:10", engine="portfolio")
    assert sorted(_stops(_routes(out)[COMPACTOR])) == ["P1", "P4"]


def test_replan_of_a_replan_keeps_new_places(base_plan, tmp_path, monkeypatch) -> None:
    urgent = MARKET
    v2 = replan(base_plan, tmp_path / "a", monkeypatch, [urgent], "08:10")
    places = json.loads((v2 / "replan_places.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in places] == ["集市满溢"]
    v3 = replan(v2, tmp_path / "b", monkeypatch, [_down("08:12")], "08:12")
    diff = json.loads((v3 / "diff.json").read_text(encoding="utf-8"))
    assert diff["version"] == 2
    names = [v["name"] for r in _routes(v3).values() for v in r["visits"]]
    assert "集市满溢" in names
