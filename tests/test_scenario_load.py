"""Loading scenarios: the tiny valid one, overlays, and every kind of bad input (exit code 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sanitation.errors import ScenarioError
from sanitation.scenario import load_scenario, summary_text

DATA = Path(__file__).parent / "data" / "scenario"
TINY = DATA / "tiny" / "scenario.yaml"
BAD = DATA / "bad"


def test_tiny_scenario_loads_with_units_and_references():
    scenario = load_scenario(TINY)
    assert len(scenario.points) == 5
    by_id = {p.point_id: p for p in scenario.points}
    # population × kg/person/day → t/day
    assert by_id["P2"].waste_t_per_day == pytest.approx(400 * 0.5 / 1000)
    assert by_id["P3"].tw_open_s == 5 * 3600
    assert by_id["P3"].tw_close_s == 8 * 3600
    # no access class given → the largest class (any truck)
    assert by_id["P1"].access_class == "standard"
    assert by_id["P2"].access_class == "small"
    lunch = {v.type_id: v for v in scenario.vehicle_types}["small_3t"]
    assert (lunch.lunch_duration_s, lunch.lunch_window_start_s) == (1800, 11 * 3600)
    assert scenario.total_waste_t_per_day == pytest.approx(0.3 + 0.2 + 0.4 + 0.6 + 0.5)


def test_seasonal_multiplier_applies_to_its_townships_and_dates():
    import datetime as dt

    scenario = load_scenario(TINY)
    festival = dt.date(2027, 2, 1)
    assert scenario.waste_multiplier(festival, "990000002") == pytest.approx(1.4)
    assert scenario.waste_multiplier(festival, "990000001") == 1.0
    assert scenario.waste_multiplier(dt.date(2027, 3, 1), "990000002") == 1.0


def test_summary_lists_counts_capacity_and_fleet():
    text = summary_text(load_scenario(TINY))
    assert "collection points: 5" in text
    assert "1 existing (20 t/day)" in text
    assert "1 × 小型收集车 (3 t)" in text


def test_overlay_changes_only_what_it_names(tmp_path):
    overlay = tmp_path / "what_if.yaml"
    overlay.write_text(
        f"base: {TINY}\nname: closed S1\noverrides:\n  stations:\n    S1: {{status: closed}}\n"
        "  fleet:\n    F1: {count: 0}\n",
        encoding="utf-8",
    )
    base, what_if = load_scenario(TINY), load_scenario(overlay)
    assert what_if.name == "closed S1"
    assert {s.station_id: s.status for s in what_if.stations}["S1"] == "closed"
    assert {s.station_id: s.status for s in base.stations}["S1"] == "existing"
    assert [f.count for f in what_if.fleet] == [0, 1, 1]
    assert what_if.points == base.points


def test_overlay_override_values_are_validated(tmp_path):
    overlay = tmp_path / "what_if.yaml"
    overlay.write_text(
        f"base: {TINY}\noverrides:\n  stations:\n    S1: {{capacity_t_per_day: -3}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(overlay)
    assert "capacity_t_per_day" in caught.value.problems[0]
    assert "-3" in caught.value.problems[0]


BAD_CASES = [
    # (file, substrings the message must contain: file, record, field, value, expectation)
    ("yaml_syntax.yaml", ["yaml_syntax.yaml", "YAML syntax error at line 5"]),
    ("yaml_bad_value.yaml", ["'roads.max_snap_distance_m'", "-5", "'date'", "not-a-date"]),
    ("missing_file.yaml", ["does_not_exist.csv", "file not found"]),
    ("empty_file.yaml", ["points_empty.csv", "file is empty"]),
    ("unreadable_file.yaml", ["points_folder.csv", "not a file"]),
    ("unknown_column.yaml", ["points_unknown_column.csv", "unknown column(s) colour"]),
    ("missing_column.yaml", ["points_missing_column.csv", "missing required", "bin_capacity_t"]),
    ("duplicate_id.yaml", ["points_duplicate_id.csv", "'P1'", "duplicate point_id", "line 2"]),
    (
        "unknown_reference.yaml",
        ["points_unknown_village.csv", "'P1'", "'village_code'", "990000009999", "known village"],
    ),
    (
        "negative_quantity.yaml",
        ["points_negative.csv", "'P1'", "'waste_t_per_day'", "-0.3", ">= 0 (t/day)"],
    ),
    ("nan_quantity.yaml", ["points_nan.csv", "'P1'", "'waste_t_per_day'", "NaN", "a number"]),
    ("out_of_range.yaml", ["points_out_of_range.csv", "'P1'", "'lon'", "216.705", "-180..180"]),
    ("swapped_lonlat.yaml", ["points_swapped.csv", "'P1'", "look swapped", "30.1351"]),
    ("wrong_crs.yaml", ["stations_3857.geojson", "EPSG:3857", "expected EPSG:4326"]),
    ("non_utf8.yaml", ["points_gbk.csv", "line 2", "not UTF-8"]),
    ("unknown_override.yaml", ["unknown_override.yaml", "'overrides.stations.S9'", "'S9'"]),
]


@pytest.mark.parametrize(("name", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_names_file_record_field_value(name, expected):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BAD / name)
    text = "\n".join(caught.value.problems)
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not in {text!r}"


def test_all_problems_are_reported_at_once(tmp_path):
    overlay = tmp_path / "two_bad.yaml"
    overlay.write_text(
        f"base: {TINY}\ndata:\n  points: {BAD / 'points_negative.csv'}\n"
        f"  stations: {BAD / 'stations_3857.geojson'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(overlay)
    text = "\n".join(caught.value.problems)
    assert "points_negative.csv" in text
    assert "stations_3857.geojson" in text


def test_cli_validate_exit_codes_and_no_traceback():
    command = [sys.executable, "-m", "sanitation", "validate"]
    good = subprocess.run([*command, str(TINY)], capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    assert "collection points: 5" in good.stdout
    bad = subprocess.run(
        [*command, str(BAD / "negative_quantity.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "waste_t_per_day" in bad.stderr
