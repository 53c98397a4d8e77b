"""Two stations: with ``--help-from-neighbours``, when a station has no truck left, the nearest
station's trucks with slack take its stops (they unload at their own station); without the flag
they stay unserved with the reason. A broken-down truck towed to the other station raises that
station's transfer kg (`sanitation.replan.transfer`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli

DOWN = [
    {"type": "truck_down", "vehicle": "D-ST-001/small_3t#1", "time": "08:30"},
    {"type": "truck_down", "vehicle": "D-ST-001/compactor_5t#1", "time": "08:30"},
]


@pytest.fixture(scope="module")
def two_stations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated county of 24 points and 2 stations, planned (pyvrp, 1 s)."""
    root = tmp_path_factory.mktemp("two")
    mp = pytest.MonkeyPatch()
    try:
        made = run_cli(
            [
                "generate",
                "--points",
                "24",
                "--stations",
                "2",
                "--seed",
                "5",
                "--out",
                str(root / "s"),
            ],
            mp,
        )
        assert made.code == 0, made.message
        scenario = root / "s" / "scenario.yaml"
        # the assignment's estimate sites the stations (no route-aware siting: a fast fixture)
        scenario.write_text(
            scenario.read_text(encoding="utf-8") + "policy: {siting: estimate}\n", encoding="utf-8"
        )
        args = ["plan", str(root / "s" / "scenario.yaml"), "--out", str(root / "plan")]
        planned = run_cli([*args, "--engine", "pyvrp", "--time-limit", "1"], mp)
        assert planned.code == 0, planned.message
    finally:
        mp.undo()
    return root / "plan"


def _replan(plan: Path, tmp_path: Path, monkeypatch, *flags: str, events=DOWN, at="08:30") -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"events": events}), encoding="utf-8")
    out = tmp_path / "out"
    args = ["replan", str(plan), "--events", str(path), "--at", at, "--out", str(out)]
    result = run_cli([*args, "--engine", "pyvrp", "--time-limit", "1", *flags], monkeypatch)
    assert result.code == 0, result.message
    return json.loads((out / "plan.json").read_text(encoding="utf-8"))


def test_neighbours_take_the_stops(two_stations: Path, tmp_path: Path, monkeypatch) -> None:
    base = json.loads((two_stations / "plan.json").read_text(encoding="utf-8"))
    (small,) = [r for r in base["days"][0]["routes"] if r["vehicle_id"] == "D-ST-001/small_3t#1"]
    left = {v["id"] for v in small["visits"] if v["kind"] == "stop" and v["start_s"] >= 30_600}
    assert left, "the base plan must leave ST-001 stops after 08:30"

    alone = _replan(two_stations, tmp_path / "alone", monkeypatch)
    unserved = {u["point_id"]: u["reason"] for u in alone["days"][0]["unserved"]}
    assert set(unserved) == left
    assert all("no truck left" in why for why in unserved.values())

    helped = _replan(two_stations, tmp_path / "helped", monkeypatch, "--help-from-neighbours")
    assert helped["days"][0]["unserved"] == []
    served_by = {
        v["id"]: r for r in helped["days"][0]["routes"] for v in r["visits"] if v["kind"] == "stop"
    }
    for point in left:
        route = served_by[point]
        assert route["station_id"] == "ST-002"
        # a helper unloads at its own station
        assert {v["id"] for v in route["visits"] if v["kind"] == "unload"} == {"ST-002"}


def _transfer_kg(day: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for truck in day["transfer_trucks"]:
        for t in truck["trips"]:
            out[t["station_id"]] = out.get(t["station_id"], 0) + t["load_kg"]
    for u in day["unmoved"]:
        out[u["station_id"]] = out.get(u["station_id"], 0) + u["load_kg"]
    return out


def test_a_load_towed_to_the_other_station_is_moved_from_there(
    two_stations: Path, tmp_path: Path, monkeypatch
) -> None:
    base = json.loads((two_stations / "plan.json").read_text(encoding="utf-8"))["days"][0]
    down = {"type": "truck_down", "vehicle": "D-ST-001/small_3t#1", "time": "09:10"}
    events = [{**down, "tow_to": "ST-002"}]
    new = _replan(two_stations, tmp_path, monkeypatch, events=events, at="09:10")["days"][0]
    diff = json.loads((tmp_path / "out" / "diff.json").read_text(encoding="utf-8"))
    (lost,) = diff["lost_loads"]
    towed = int(re.search(r"with (\d+) kg on board: towed to ST-002", lost).group(1))
    assert towed > 0
    old_kg, new_kg = _transfer_kg(base), _transfer_kg(new)
    # ST-002 moves the towed load on top of its own; ST-001 no longer gets it
    assert new_kg["ST-002"] == old_kg["ST-002"] + towed
    assert new_kg["ST-001"] <= old_kg["ST-001"] - towed
    # every trip of the base plan left before 09:10: the towed load leaves on a trip after it
    assert all(t["start_s"] < 33_000 for truck in base["transfer_trucks"] for t in truck["trips"])
    late = [
        t
        for truck in new["transfer_trucks"]
        for t in truck["trips"]
        if t["station_id"] == "ST-002" and t["start_s"] >= 33_000
    ]
    assert sum(t["load_kg"] for t in late) == towed
    kg = {k["station_id"]: (k["old_kg"], k["new_kg"]) for k in diff["transfer_kg"]}
    assert kg["ST-002"] == (old_kg["ST-002"], old_kg["ST-002"] + towed)
    assert any(
        c["change"] == "added" and c["station_id"] == "ST-002" for c in diff["transfer_changes"]
    )
