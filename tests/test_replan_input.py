"""Bad input to `sanitation replan`: exit 2 naming the file, the event index, the field and the
value; the old plan is never altered and no output folder appears."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli
from tests.replan_helpers import SMALL, base_plan

__all__ = ["base_plan"]  # the module fixture

BAD_EVENTS = [
    # (events, --at, what the message must name)
    (
        [{"type": "truck_down", "vehicle": SMALL, "time": "05:00"}],
        "08:10",
        ["event 0", "'time'", "05:00", "shift"],
    ),
    (
        [{"type": "truck_down", "vehicle": SMALL, "time": "09:00"}],
        "08:10",
        ["event 0", "'time'", "09:00", "--at"],
    ),
    (
        [{"type": "truck_down", "vehicle": SMALL, "time": "16:30"}],
        "08:10",
        ["event 0", "'time'", "16:30", "shift"],
    ),
    (
        [{"type": "truck_down", "vehicle": "D9/x#1", "time": "08:00"}],
        "08:10",
        ["event 0", "'vehicle'", "D9/x#1"],
    ),
    (
        [{"type": "stop_done", "point": "P99", "time": "08:00"}],
        "08:10",
        ["event 0", "'point'", "P99"],
    ),
    ([{"type": "extra_waste", "point": "P99", "kg": 10}], "08:10", ["event 0", "'point'", "P99"]),
    (
        [{"type": "road_closed", "roads": ["NOPE"], "from": "08:00"}],
        "08:10",
        ["event 0", "'roads'", "NOPE"],
    ),
    ([{"type": "road_closed", "roads": [], "from": "08:00"}], "08:10", ["event 0", "'roads'"]),
    (
        [
            {
                "type": "position",
                "vehicle": SMALL,
                "time": "08:00",
                "lon": 116.9,
                "lat": 30.3,
                "load_kg": 10,
            }
        ],
        "08:10",
        ["event 0", "'lon' = 116.9", "lat 30.3", "of a road"],
    ),
    (
        [{"type": "urgent_point", "lon": 117.2, "lat": 30.5, "kg": 5, "deadline": "12:00"}],
        "08:10",
        ["event 0", "'lon' = 117.2", "of a road"],
    ),
    (
        [
            {
                "type": "road_closed",
                "area": {"type": "Point", "coordinates": [1, 2]},
                "from": "08:00",
            }
        ],
        "08:10",
        ["event 0", "'area'", "GeoJSON Polygon"],
    ),
    (
        [
            {
                "type": "position",
                "vehicle": SMALL,
                "time": "08:00",
                "lon": 116.7,
                "lat": 30.13,
                "load_kg": 3500,
            }
        ],
        "08:10",
        ["event 0", "'load_kg'", "3500", "capacity 3000"],
    ),
    (
        [{"type": "truck_down", "vehicle": SMALL, "time": "8:00"}],
        "08:10",
        ["event 0", "'time'", "8:00"],
    ),
    (
        [{"type": "urgent_point", "point": "P2", "kg": 0, "deadline": "12:00"}],
        "08:10",
        ["event 0", "'kg'", "0"],
    ),
    (
        [{"type": "urgent_point", "point": "P2", "kg": 5, "deadline": "08:00"}],
        "08:10",
        ["event 0", "'deadline'", "08:00"],
    ),
    ([{"type": "urgent_point", "kg": 5, "deadline": "12:00"}], "08:10", ["event 0", "'point'"]),
    ([{"type": "flood"}], "08:10", ["event 0", "flood"]),
    (
        [{"type": "truck_down", "vehicle": SMALL, "time": "08:00", "colour": "red"}],
        "08:10",
        ["event 0", "colour"],
    ),
    ([{"type": "truck_down", "vehicle": SMALL, "time": "08:00"}], "04:00", ["--at", "04:00"]),
    ([{"type": "truck_down", "vehicle": SMALL, "time": "08:00"}], "8h", ["--at", "8h"]),
]


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize(("events", "at", "named"), BAD_EVENTS)
def test_bad_event_exits_2_naming_it(base_plan: Path, tmp_path, monkeypatch, events, at, named):
    before = _digest(base_plan)
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"events": events}), encoding="utf-8")
    out = tmp_path / "v2"
    args = ["replan", str(base_plan), "--events", str(path), "--at", at, "--out", str(out)]
    result = run_cli([*args, "--engine", "pyvrp", "--time-limit", "1"], monkeypatch)
    assert result.code == 2, result.message
    assert not result.traceback
    for text in named:
        assert text in result.stderr, (text, result.stderr)
    if at[0].isdigit() and at != "04:00" and "h" not in at:
        assert "events.json" in result.stderr
    assert not out.exists()
    assert _digest(base_plan) == before


def test_unreadable_events_and_folders(base_plan: Path, tmp_path, monkeypatch) -> None:
    def run(*args: str):
        return run_cli(["replan", *args, "--engine", "pyvrp", "--time-limit", "1"], monkeypatch)

    bad = tmp_path / "bad.yaml"
    bad.write_text("events: [ {type: truck_down", encoding="utf-8")
    result = run(
        str(base_plan), "--events", str(bad), "--at", "08:10", "--out", str(tmp_path / "o")
    )
    assert result.code == 2 and "bad.yaml" in result.stderr and "YAML" in result.stderr
    good = tmp_path / "ok.yaml"
    good.write_text("events: []\n", encoding="utf-8")
    result = run(
        str(tmp_path), "--events", str(good), "--at", "08:10", "--out", str(tmp_path / "o")
    )
    assert result.code == 2 and "no plan.json" in result.stderr
    result = run(str(base_plan), "--events", str(good), "--at", "08:10", "--out", str(base_plan))
    assert result.code == 2 and "PLAN_DIR" in result.stderr
    result = run(
        str(base_plan),
        "--events",
        str(tmp_path / "none.yaml"),
        "--at",
        "08:10",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.code == 2 and "none.yaml" in result.stderr


def test_no_events_changes_nothing(base_plan: Path, tmp_path, monkeypatch) -> None:
    good = tmp_path / "ok.yaml"
    good.write_text("events: []\n", encoding="utf-8")
    out = tmp_path / "o"
    args = ["replan", str(base_plan), "--events", str(good), "--at", "08:10", "--out", str(out)]
    result = run_cli([*args, "--engine", "pyvrp", "--time-limit", "1"], monkeypatch)
    assert result.code == 0, result.message
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["changes"] == [] and diff["changed_trucks"] == []
    assert diff["share_unchanged"] == 1.0


def test_events_from_parsed_data_name_the_source() -> None:
    from sanitation.errors import ScenarioError
    from sanitation.replan.events import parse_events

    events = parse_events([{"type": "stop_done", "point": "P1", "time": "08:00"}], "body")
    assert events[0].time_s == 8 * 3600
    with pytest.raises(ScenarioError) as caught:
        parse_events({"events": [{"type": "extra_waste", "point": "P1", "kg": 99_999}]}, "body")
    assert caught.value.problems == [
        "body: event 0 (extra_waste): field 'kg' = 99999: Input should be less than or equal "
        "to 20000"
    ]
