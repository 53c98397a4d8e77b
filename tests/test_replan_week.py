"""`sanitation replan --day`: one day of a plan of several days re-planned; the other days stay
as they were (their route sheets and maps byte for byte, their days in plan.json and
routes.geojson).

The tiny scenario's four days from 2026-11-23 (pyvrp, seed 1) send D1/small_3t#1 out every
day; on day 3 it breaks down at 08:10 and the compactor takes its stops after that.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from sanitation.io.plan_folder import plan_to_folder
from sanitation.scenario import load_scenario
from tests.cli_helpers import run_cli
from tests.replan_helpers import COMPACTOR, SMALL, TINY


@pytest.fixture(scope="module")
def week_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first four days of the week of 2026-11-23 (as `plan --week` writes a week)."""
    out = tmp_path_factory.mktemp("week") / "plan"
    dates = [dt.date(2026, 11, 23) + dt.timedelta(days=n) for n in range(4)]
    plan_to_folder(load_scenario(TINY), dates, out, engine="pyvrp", time_limit_s=1, workers=1)
    return out


def _replan(plan: Path, tmp_path: Path, monkeypatch, *day: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    events = tmp_path / "events.json"
    down = {"type": "truck_down", "vehicle": SMALL, "time": "08:10"}
    events.write_text(json.dumps({"events": [down]}), encoding="utf-8")
    out = tmp_path / "v2"
    args = ["replan", str(plan), "--events", str(events), "--at", "08:10", "--out", str(out)]
    return run_cli([*args, *day, "--engine", "pyvrp", "--time-limit", "1"], monkeypatch), out


def _doc(folder: Path) -> dict:
    return json.loads((folder / "plan.json").read_text(encoding="utf-8"))


def _features(folder: Path, date: str) -> list[dict]:
    features = json.loads((folder / "routes.geojson").read_text(encoding="utf-8"))["features"]
    return [
        f
        for f in features
        if str(f["properties"].get("date") or f["properties"]["route_id"]).startswith(date)
    ]


def test_one_day_of_a_week_is_replanned(week_plan: Path, tmp_path, monkeypatch) -> None:
    result, out = _replan(week_plan, tmp_path, monkeypatch, "--day", "3")
    assert result.code == 0, result.message
    old, new = _doc(week_plan), _doc(out)
    assert new["dates"] == old["dates"]
    third = old["dates"][2]
    for n, (a, b) in enumerate(zip(old["days"], new["days"], strict=True)):
        if n != 2:
            assert a == b, a["date"]
    day3 = {r["vehicle_id"]: r for r in new["days"][2]["routes"]}
    assert COMPACTOR in day3  # it took over the broken truck's stops
    assert new["days"][2] != old["days"][2]
    for date in old["dates"]:
        sheets = sorted((week_plan / "route_sheets").glob(f"{date}_*.xlsx"))
        if date == third:
            assert (out / "route_sheets" / f"{date}_D1_compactor_5t_1.xlsx").is_file()
            continue
        assert [p.name for p in sorted((out / "route_sheets").glob(f"{date}_*.xlsx"))] == [
            p.name for p in sheets
        ]
        for p in [*sheets, week_plan / "maps" / f"{date}.png"]:
            assert (out / p.relative_to(week_plan)).read_bytes() == p.read_bytes(), p.name
        assert _features(out, date) == _features(week_plan, date)
    assert (out / "map.png").read_bytes() == (week_plan / "map.png").read_bytes()
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["stops_moved"] > 0
    assert any(third in note for note in diff["notes"])


@pytest.mark.parametrize(
    ("day", "shown"),
    [((), "--day: missing"), (("--day", "5"), "'5'"), (("--day", "2026-12-01"), "2026-12-01")],
)
def test_a_week_needs_one_of_its_days(week_plan, tmp_path, monkeypatch, day, shown) -> None:
    result, out = _replan(week_plan, tmp_path, monkeypatch, *day)
    assert result.code == 2
    assert not result.traceback
    assert shown in result.stderr and "2026-11-26" in result.stderr
    assert not out.exists()
