"""The transfer trips of a re-planned day follow the stations' new arrivals
(`sanitation.replan.transfer`): a broken-down truck's load that is not towed never reaches the
station, so its container leaves lighter; the trips made before ``t`` keep truck and times.

The tiny base plan (pyvrp, seed 1): D1/small_3t#1 unloads 2300 kg at S1 (P3, P5, P4, P1);
S1's hook-lift truck takes them in one container at 07:00. Re-planned at 08:10 with the small
truck down, the compactor serves P4 and P1 and unloads 900 kg; P3 and P5 (1400 kg) are lost.
"""

from __future__ import annotations

import json
from pathlib import Path

from sanitation.plan.model import PlanDocument
from sanitation.replan.transfer import arrivals_kg
from tests.replan_helpers import SMALL, base_plan, replan

__all__ = ["base_plan"]  # the module fixture


def _day(folder: Path) -> dict:
    return json.loads((folder / "plan.json").read_text(encoding="utf-8"))["days"][0]


def _trips(day: dict) -> list[tuple[str, str, int, int]]:
    return sorted(
        (t["truck_id"], t["station_id"], t["load_kg"], t["start_s"])
        for truck in day["transfer_trucks"]
        for t in truck["trips"]
    )


def test_a_lost_load_lightens_the_station_s_transfer(base_plan, tmp_path, monkeypatch) -> None:
    old = _day(base_plan)
    assert _trips(old) == [("S1/hooklift_8t#1", "S1", 2300, 7 * 3600)]
    out = replan(base_plan, tmp_path, monkeypatch, [_down("08:10")], "08:10")
    new = _day(out)
    doc = PlanDocument.model_validate_json((out / "plan.json").read_text(encoding="utf-8"))
    assert arrivals_kg(doc.days[0]) == {"S1": 900}
    # the trip made at 07:00 stays (truck, times), carrying what now arrives
    assert _trips(new) == [("S1/hooklift_8t#1", "S1", 900, 7 * 3600)]
    assert new["unmoved"] == []
    assert new["gate_fees_cny"] == round(0.9 * 85, 2) < old["gate_fees_cny"]
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["transfer_kg"] == [{"station_id": "S1", "old_kg": 2300, "new_kg": 900}]
    assert [(c["change"], c["load_kg"], c["start"]) for c in diff["transfer_changes"]] == [
        ("removed", 2300, "07:00"),
        ("added", 900, "07:00"),
    ]
    assert "S1 2300 → 900 kg" in (out / "diff.md").read_text(encoding="utf-8")
    kpis = json.loads((out / "plan.json").read_text(encoding="utf-8"))["kpis"]
    county = next(k for k in kpis if k["scope"] == "county")
    assert county["gate_fees_cny"] == new["gate_fees_cny"]


def test_unchanged_arrivals_keep_the_transfer(base_plan, tmp_path, monkeypatch) -> None:
    # P3 reported done: the same kg arrive, the trips stand as planned
    events = [{"type": "stop_done", "point": "P3", "time": "08:05"}]
    out = replan(base_plan, tmp_path, monkeypatch, events, "08:10")
    assert _day(out)["transfer_trucks"] == _day(base_plan)["transfer_trucks"]
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["transfer_changes"] == [] and diff["transfer_kg"] == []


def _down(time: str) -> dict:
    return {"type": "truck_down", "vehicle": SMALL, "time": time}


def _trip(truck: str, station: str, arrival_s: int, end_s: int):
    from sanitation.transfer import Trip

    return Trip(truck, station, "W1", 1000, arrival_s, arrival_s, arrival_s + 1200, end_s)


def test_a_trip_is_kept_once_its_truck_set_out_for_it() -> None:
    from sanitation.replan.transfer import kept_count
    from sanitation.transfer import TruckDay

    trips = (_trip("T", "S1", 25_200, 27_880), _trip("T", "S1", 31_000, 33_000))
    day = TruckDay("T", 25_200, 33_600, trips, None, 1, 1.0)
    # it leaves its depot at 07:00 for the first, the first's end for the second
    assert [kept_count(day, 2700, at) for at in (25_200, 25_201, 27_880, 27_881)] == [0, 1, 1, 2]
    # a lunch between them: it sets out for the second when the lunch ends (27 880 + 2 700)
    lunch = TruckDay("T", 25_200, 33_600, trips, 27_880, 1, 1.0)
    assert [kept_count(lunch, 2700, at) for at in (28_000, 30_580, 30_581)] == [1, 1, 2]


def test_stations_sharing_a_truck_s_remaining_trips_are_replanned_together() -> None:
    from sanitation.replan.transfer import _replanned

    future = {
        "T1": [_trip("T1", "A", 30_000, 31_000), _trip("T1", "B", 32_000, 33_000)],
        "T2": [_trip("T2", "B", 30_000, 31_000)],
        "T3": [_trip("T3", "C", 30_000, 31_000)],
    }
    assert _replanned({"A"}, future) == ({"A", "B"}, {"T1", "T2"})
    assert _replanned({"C"}, future) == ({"C"}, {"T3"})
