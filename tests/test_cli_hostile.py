"""Hostile input through the command line (issue 12): exit 2 naming the file, field and value,
never a traceback, never a user's file touched.

One bad file (or case) per member of each family, in ``tests/data/scenario/bad/``; valid input a
spreadsheet user types (Excel time cells, "05:00" in GeoJSON, unquoted 18:30 in YAML) in
``tests/data/scenario/excel/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sanitation.errors import ScenarioError
from sanitation.io.plan_folder import (
    COMPARE_MARKERS,
    PLAN_MARKERS,
    check_out_folder,
    replace_folder,
)
from sanitation.scenario import load_scenario
from tests.cli_helpers import run_cli

DATA = Path(__file__).parent / "data"
SCENARIOS = DATA / "scenario"
BAD = SCENARIOS / "bad"
EXCEL = SCENARIOS / "excel"
TINY = SCENARIOS / "tiny" / "scenario.yaml"
VRP = DATA / "routing" / "X-n101-k25.vrp"


def _bad_input(result, *fragments: str) -> None:
    assert not result.traceback, result.traceback
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code == 2, result.message
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"


# --- family 1: --out -----------------------------------------------------------------------


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("the user's own file", encoding="utf-8")
    return path


def _untouched(folder: Path, user_file: Path) -> None:
    assert user_file.read_text(encoding="utf-8") == "the user's own file"
    assert sorted(p.name for p in folder.iterdir()) == [user_file.name]


@pytest.mark.parametrize(
    "command",
    [
        ["plan", str(TINY), "--time-limit", "1"],
        ["compare", str(TINY), "--time-limit", "1"],
        ["demo", "--time-limit", "1"],
        ["generate", "--points", "20", "--stations", "2"],
    ],
    ids=["plan", "compare", "demo", "generate"],
)
def test_out_that_is_a_file_is_refused_and_left_untouched(command, user_file, monkeypatch):
    result = run_cli([*command, "--out", str(user_file)], monkeypatch)
    _bad_input(result, "--out", str(user_file), "is not a folder")
    _untouched(user_file.parent, user_file)


def test_out_under_a_file_names_the_file(user_file, monkeypatch):
    out = user_file / "plan"
    result = run_cli(["plan", str(TINY), "--out", str(out)], monkeypatch)
    _bad_input(result, "--out", str(user_file), "is a file, not a folder")
    _untouched(user_file.parent, user_file)


def test_out_in_a_folder_of_other_files_is_refused_and_left_untouched(user_file, monkeypatch):
    result = run_cli(["plan", str(TINY), "--out", str(user_file.parent)], monkeypatch)
    _bad_input(result, "--out", "folder of other files")
    _untouched(user_file.parent, user_file)


def test_out_under_a_read_only_parent_names_it(tmp_path, monkeypatch):
    parent = tmp_path / "locked"
    parent.mkdir()
    real_access = os.access
    # root ignores permission bits, so the read-only parent is simulated for everyone
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != parent and real_access(p, mode))
    result = run_cli(["plan", str(TINY), "--out", str(parent / "plan")], monkeypatch)
    _bad_input(result, "--out", str(parent), "not writable")
    assert list(parent.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_out_under_a_really_read_only_parent(tmp_path, monkeypatch):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        result = run_cli(["generate", "--points", "20", "--stations", "2", "--out",
                          str(parent / "g")], monkeypatch)  # fmt: skip
    finally:
        parent.chmod(0o755)
    _bad_input(result, "--out", str(parent))


def test_bench_json_that_is_a_folder_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "report"
    folder.mkdir()
    args = ["bench", "cvrp", str(VRP), "--time-limit", "1", "--json", str(folder)]
    _bad_input(run_cli(args, monkeypatch), "--json", str(folder), "is a folder")
    assert list(folder.iterdir()) == []


def test_replace_folder_replaces_an_earlier_output_and_never_a_users_old_file(tmp_path):
    out = tmp_path / "plan"
    out.mkdir()
    (out / "plan.json").write_text("{}", encoding="utf-8")
    users_old = tmp_path / ".plan.old"  # the name the tool used to rename ``out`` to
    users_old.write_text("mine", encoding="utf-8")
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "plan.json").write_text('{"new": true}', encoding="utf-8")
    replace_folder(staging, out, markers=PLAN_MARKERS)
    assert (out / "plan.json").read_text(encoding="utf-8") == '{"new": true}'
    assert users_old.read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".plan.old", "plan"]


def test_check_out_folder_accepts_new_empty_and_earlier_outputs(tmp_path):
    new = tmp_path / "new" / "deeper"
    assert check_out_folder(new, markers=PLAN_MARKERS) == new
    (tmp_path / "empty").mkdir()
    check_out_folder(tmp_path / "empty", markers=PLAN_MARKERS)
    with pytest.raises(ScenarioError, match="NUL"):
        check_out_folder(tmp_path / "a\0b", markers=PLAN_MARKERS)


def test_a_scenario_folder_is_not_a_plan_folder(tmp_path, monkeypatch):
    """`plan x/scenario.yaml --out x` must not replace the user's scenario folder."""
    scenario = tmp_path / "county"
    shutil.copytree(TINY.parent, scenario)
    before = sorted(p.name for p in scenario.iterdir())
    result = run_cli(["plan", str(scenario / TINY.name), "--out", str(scenario)], monkeypatch)
    _bad_input(result, "--out", "folder of other files")
    assert sorted(p.name for p in scenario.iterdir()) == before
    with pytest.raises(ScenarioError, match="folder of other files"):
        check_out_folder(scenario, markers=COMPARE_MARKERS)


# --- families 2-4: scenario files -------------------------------------------------------------

VALIDATE_BAD = [
    # family 2: resource exhaustion (the range is in the message)
    ("yaml_alias_bomb.yaml", ["yaml_alias_bomb.yaml", "line 8", "aliases", "200,000"]),
    ("yaml_deep_nesting.yaml", ["yaml_deep_nesting.yaml", "line 2", "deeper than 50"]),
    ("fleet_count_huge.yaml", ["fleet_count_huge.csv", "'F1'", "'count'", "10000000", "<= 10000"]),
    ("fleet_count_overflow.yaml", ["fleet_count_overflow.csv", "'count'", "403 characters"]),
    ("waste_huge.yaml", ["'P1'", "waste_t_per_day", "1e300", "<= 1000"]),
    ("capacity_huge.yaml", ["'S1'", "capacity_t_per_day", "1e300", "<= 100000"]),
    ("multiplier_huge.yaml", ["'seasonal_multipliers.0.multiplier'", "1e300", "equal to 100"]),
    ("snap_huge.yaml", ["'roads.max_snap_distance_m'", "1e300", "equal to 100000"]),
    ("cost_huge.yaml", ["'small_3t'", "cost_per_km_cny", "1e300", "<= 10000"]),
    ("population_huge.yaml", ["'P2'", "population", "1e15", "<= 10000000"]),
    ("service_huge.yaml", ["'P1'", "service_s", "1e12", "<= 86400"]),
    ("policy_huge.yaml", ["'policy.max_point_station_travel_min'", "1e300", "equal to 1440"]),
    ("expansions_huge.yaml", ["'S1'", "max_expansions", "1000000000", "<= 100"]),
    ("access_class_huge.yaml", ["'access_classes.0.gross_weight_t'", "1e300", "equal to 1000"]),
    # family 3: the wrong kind of file, NUL bytes, far dates, closures
    ("closed_areas_csv.yaml", ["points.csv", "'roads.closed_areas'", "Polygon"]),
    ("roads_csv.yaml", ["points.csv", "no geometry column", "road line features"]),
    ("osm_garbage.yaml", ["garbage.osm.pbf", "not a readable OpenStreetMap"]),
    ("fake_xlsx.yaml", ["points_fake.xlsx", "not a readable XLSX workbook"]),
    ("synthetic_no_path.yaml", ["synthetic_no_path.yaml", "'roads.path'"]),
    ("nul_in_name.yaml", ["points_nul_name.csv", "'P1'", "'name'", "\\x00"]),
    ("nul_in_path.yaml", ["nul_in_path.yaml", "'data.points'", "NUL"]),
    ("base_not_string.yaml", ["base_not_string.yaml", "'base'", "value 5"]),
    ("base_list.yaml", ["base_list.yaml", "'base'", "['a', 'b']"]),
    ("date_far_future.yaml", ["date_far_future.yaml", "'date'", "9999", "2100-12-31"]),
    ("season_far_future.yaml", ["'seasonal_multipliers.0.start'", "9999", "2100-12-31"]),
    ("close_every_road.yaml", ["close_every_road.yaml", "'roads.closed_road_ids'", "every road"]),
    # family 4: invalid input that was accepted
    ("duplicate_header.yaml", ["points_duplicate_header.csv", "line 1", "more than once"]),
    ("crs_not_a_crs.yaml", ["crs_not_a_crs.yaml", "'crs'", "'not a crs'"]),
    ("override_lon_999.yaml", ["override_lon_999.yaml", "'P1'", "'lon'", "999", "-180..180"]),
    ("close_unknown_road.yaml", ["close_unknown_road.yaml", "'roads.closed_road_ids'", "NOPE"]),
]


@pytest.mark.parametrize(("name", "fragments"), VALIDATE_BAD, ids=[c[0] for c in VALIDATE_BAD])
def test_validate_refuses_hostile_scenarios(name, fragments, monkeypatch):
    _bad_input(run_cli(["validate", str(BAD / name)], monkeypatch), *fragments)


def test_an_alias_bomb_gives_a_short_message(monkeypatch):
    result = run_cli(["validate", str(BAD / "yaml_alias_bomb.yaml")], monkeypatch)
    assert len(result.stderr) < 1_000


def test_override_lon_999_gives_one_message_not_road_ones():
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BAD / "override_lon_999.yaml")
    assert len(caught.value.problems) == 1


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["plan", str(TINY), "--week", "9999-12-30"], ["--week", "9999-12-30", "2100-12-31"]),
        (["plan", str(TINY), "--date", "1066-10-14"], ["--date", "1066-10-14", "2000-01-01"]),
    ],
    ids=["week-9999", "date-1066"],
)
def test_far_dates_on_the_command_line(args, fragments, tmp_path, monkeypatch):
    _bad_input(run_cli([*args, "--out", str(tmp_path / "p")], monkeypatch), *fragments)
    assert not (tmp_path / "p").exists()


BENCH_BAD = [
    ("cvrp", "garbage.vrp", ["garbage.vrp", "DIMENSION", "'abc'", "not an integer"]),
    ("cvrp", "binary.vrp", ["binary.vrp", "utf-8"]),
    ("vrptw", "garbage_solomon.txt", ["garbage_solomon.txt", "'x'"]),
    ("waste", "garbage_kim.txt", ["garbage_kim.txt", "stop rows"]),
    ("nope", "garbage.vrp", ["'problem'", "'nope'", "cvrp"]),
]


@pytest.mark.parametrize(("problem", "name", "fragments"), BENCH_BAD, ids=[c[1] for c in BENCH_BAD])
def test_bench_refuses_garbage_instances(problem, name, fragments, tmp_path, monkeypatch):
    report = tmp_path / "report.json"
    args = ["bench", problem, str(BAD / name), "--time-limit", "1", "--json", str(report)]
    _bad_input(run_cli(args, monkeypatch), *fragments)
    assert not report.exists()


# --- family 4: valid input that was refused -----------------------------------------------------


def test_excel_time_cells_and_geojson_hhmm_strings_are_times():
    scenario = load_scenario(EXCEL / "excel_times.yaml")
    small = next(v for v in scenario.vehicle_types if v.type_id == "small_3t")
    assert (small.shift_start_s, small.shift_end_s) == (5 * 3600 + 1800, 15 * 3600 + 1800)
    assert small.lunch_window_start_s == 11 * 3600
    s1 = next(s for s in scenario.stations if s.station_id == "S1")
    assert (s1.open_s, s1.close_s) == (5 * 3600, 19 * 3600)


def test_unquoted_yaml_times_are_times_not_base_60_numbers():
    scenario = load_scenario(EXCEL / "unquoted_times.yaml")
    s1 = next(s for s in scenario.stations if s.station_id == "S1")
    assert (s1.open_s, s1.close_s) == (5 * 3600, 18 * 3600 + 1800)
    other = load_scenario(BAD / "close_sexagesimal.yaml")
    assert next(s for s in other.stations if s.station_id == "S1").close_s == 18 * 3600 + 1800


def test_valid_spreadsheet_input_validates(monkeypatch):
    result = run_cli(["validate", str(EXCEL / "excel_times.yaml")], monkeypatch)
    assert result.code == 0, result.message


# --- command-line values: budgets, seeds, engines -------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["plan", str(TINY), "--time-limit", "nan"], ["--time-limit"]),
        (["plan", str(TINY), "--time-limit", "inf"], ["--time-limit", "inf", "86400"]),
        (["compare", str(TINY), "--time-limit", "1e300"], ["--time-limit", "86400"]),
        (["plan", str(TINY), "--seed", "1" + "0" * 30], ["--seed", "2147483647"]),
        (["plan", str(TINY), "--seed", "-5"], ["--seed", "greater than or equal to 0"]),
        (["generate", "--points", "10", "--stations", "1", "--seed", "-1"], ["--seed"]),
        (["compare", str(TINY), "--engine", "nope"], ["--engine", "'nope'", "pyvrp"]),
        (["demo", "--engine", "nope"], ["--engine", "'nope'", "pyvrp"]),
    ],
    ids=["nan-budget", "inf-budget", "huge-budget", "huge-seed", "negative-seed",
         "generate-negative-seed", "compare-engine", "demo-engine"],
)  # fmt: skip
def test_bad_command_line_values(args, fragments, tmp_path, monkeypatch):
    _bad_input(run_cli([*args, "--out", str(tmp_path / "out")], monkeypatch), *fragments)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--time-limit", "nan"], ["--time-limit", "nan"]),
        (["--time-limit", "0"], ["--time-limit", "0.0"]),
        (["--time-limit", "1", "--engine", "nope"], ["--engine", "'nope'", "cvrp"]),
        (["--time-limit", "1", "--seed", "-1"], ["--seed"]),
    ],
    ids=["nan", "zero", "engine", "seed"],
)
def test_bad_bench_values(args, fragments, tmp_path, monkeypatch):
    report = tmp_path / "report.json"
    result = run_cli(["bench", "cvrp", str(VRP), *args, "--json", str(report)], monkeypatch)
    _bad_input(result, *fragments)
    assert not report.exists()
