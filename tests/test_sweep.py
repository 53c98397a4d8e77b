"""``sanitation sweep``: the grid, its overlays, the table, the Pareto front, bad input, and each
combination's plan equal to planning its overlay alone (same seed)."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

import pytest
import yaml

from sanitation.errors import ScenarioError
from sanitation.io.plan_folder import plan_to_folder
from sanitation.io.sweep import SweepRow, pareto_names
from sanitation.plan.executor import ExecutorChoice
from sanitation.scenario import load_scenario
from sanitation.scenario.generate import generate_county
from sanitation.sweep import InProcessExecutor, combinations, load_grid, run_sweep
from tests.cli_helpers import run_cli

TIME_LIMIT = "2"
OPTIONS = ["--engine", "pyvrp", "--time-limit", TIME_LIMIT, "--seed", "3"]


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-station county (16 points) with one candidate station ST-C01."""
    return generate_county(
        tmp_path_factory.mktemp("county") / "gen", n_points=16, n_stations=1, seed=5
    )


def _grid(folder: Path, document: dict, name: str = "grid.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "sweep.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _plan_core(document: dict) -> dict:
    """What a plan decides (routes, unserved, stations, transfer, KPIs, fleet, assignment),
    less what measures time or says where it ran (a sweep task's portfolio has one thread and
    says so)."""
    for day in document["days"]:
        for station in day["stations"]:
            station.pop("solve_seconds")
    return {
        "days": document["days"],
        "kpis": document["kpis"],
        "fleet": document["fleet"],
        "stations": document["assignment"]["stations"],
        "points": document["assignment"]["points"],
        "notes": [n for n in document["notes"] if not n.startswith("the portfolio engine had")],
    }


# --- the grid ---------------------------------------------------------------------------------


def test_the_grid_is_the_cartesian_product_of_its_keys_written_as_overlays(county, tmp_path):
    base = load_scenario(county)
    grid = _grid(
        tmp_path,
        {
            "fleet": {"ST-001": {"small_3t": [0, 1]}},
            "open_candidates": [[], ["ST-C01"]],
            "waste_factor": [1.0, 1.3],
        },
    )
    combos = combinations(load_grid(grid, base))
    assert [c.name for c in combos] == [f"c0{k}" for k in range(1, 9)]
    last = combos[-1].overlay("base.yaml", base)
    assert last["base"] == "base.yaml"
    assert last["overrides"] == {
        "fleet": {"D-ST-001-small_3t": {"count": 1}},
        "stations": {"ST-C01": {"status": "existing"}},
    }
    assert [s["multiplier"] for s in last["seasonal_multipliers"]] == [1.3]
    first = combos[0].overlay("base.yaml", base)
    assert first["overrides"]["stations"] == {"ST-C01": {"status": "closed"}}
    assert first["overrides"]["fleet"] == {"D-ST-001-small_3t": {"count": 0}}


@pytest.mark.parametrize(
    ("document", "fragments"),
    [
        ({"trucks": [1, 2]}, ["'trucks'", "unknown field"]),
        ({"fleet.ST-999.small_3t": [1]}, ["'fleet.ST-999.small_3t'", "unknown station id"]),
        ({"fleet.ST-001.tractor": [1]}, ["'fleet.ST-001.tractor'", "unknown vehicle type id"]),
        ({"fleet.ST-001.small_3t": []}, ["'fleet.ST-001.small_3t'", "empty list"]),
        ({"fleet.ST-001.small_3t": [1, -1]}, ["'fleet.ST-001.small_3t'", "value -1", ">= 0"]),
        ({"waste_factor": [1.0, 0]}, ["'waste_factor'", "value 0", "> 0"]),
        ({"waste_factor": [500]}, ["'waste_factor'", "value 500", "<= 100"]),
        ({"open_candidates": [["ST-001"]]}, ["'open_candidates'", "'ST-001'", "ST-C01"]),
        (
            {"overrides.stations.ST-C09.status": ["existing"]},
            ["'overrides.stations.ST-C09.status'", "no stations record", "'ST-C09'"],
        ),
        (
            {"overrides.stations.ST-C01.status": ["open"]},
            ["value 'open'", "one of existing, candidate, closed"],
        ),
        (
            {"overrides.stations.ST-C01.status": ["existing"], "open_candidates": [[]]},
            ["'overrides.stations.ST-C01.status'", "'open_candidates'", "both set"],
        ),
        ({"policy.fleet": ["owned", "smallest"]}, ["'policy.fleet'", "value 'smallest'"]),
    ],
    ids=[
        "unknown-field",
        "unknown-station",
        "unknown-vehicle-type",
        "empty-list",
        "negative-trucks",
        "zero-factor",
        "huge-factor",
        "not-a-candidate",
        "unknown-record",
        "bad-status",
        "two-keys-one-cell",
        "bad-policy",
    ],
)
def test_bad_grid_exits_2_naming_file_key_and_value_and_writes_nothing(
    county, tmp_path, monkeypatch, document, fragments
):
    grid = _grid(tmp_path, document, "bad grid.yaml")
    out = tmp_path / "out"
    result = run_cli(
        ["sweep", str(county), "--grid", str(grid), "--out", str(out), "--engine", "pyvrp"],
        monkeypatch,
    )
    assert not result.traceback, result.traceback
    assert result.code == 2, result.message
    for fragment in [str(grid), *fragments]:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad grid.yaml"]


def test_an_unreachable_scheduler_exits_2_naming_it_and_writes_nothing(
    county, tmp_path, monkeypatch
):
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    grid = _grid(tmp_path, {"waste_factor": [1.0]})
    out = tmp_path / "out"
    args = ["sweep", str(county), "--grid", str(grid), "--out", str(out), "--engine", "pyvrp"]
    result = run_cli([*args, "--executor", "dask", "--scheduler", address], monkeypatch)
    assert not result.traceback, result.traceback
    assert result.code == 2, result.message
    assert address in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.yaml"]


def test_too_many_combinations_are_refused(county, tmp_path):
    grid = _grid(
        tmp_path,
        {"waste_factor": [1 + k / 100 for k in range(20)]}
        | {"fleet.ST-001.small_3t": list(range(20))},
    )
    with pytest.raises(ScenarioError, match="400 combinations; expected at most 256"):
        load_grid(grid, load_scenario(county))


# --- the sweep --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swept(county, tmp_path_factory) -> Path:
    """Trucks at the station (none, one small) × the candidate station built or not, on the
    local process pool."""
    folder = tmp_path_factory.mktemp("sweep")
    grid = _grid(
        folder,
        {
            "fleet.ST-001.small_3t": [0, 1],
            "fleet.ST-001.compactor_5t": [0],
            "open_candidates": [[], ["ST-C01"]],
        },
    )
    out = folder / "out"
    mp = pytest.MonkeyPatch()
    try:
        result = run_cli(
            ["sweep", str(county), "--grid", str(grid), "--out", str(out), *OPTIONS],
            mp,
        )
    finally:
        mp.undo()
    assert result.code == 0, result.message
    assert "Pareto front" in result.stdout
    return out


def test_the_sweep_writes_one_verified_row_per_combination_and_the_front(swept):
    rows = _rows(swept)
    assert [r["combination"] for r in rows] == ["c01", "c02", "c03", "c04"]
    assert [r["fleet.ST-001.small_3t"] for r in rows] == ["0", "0", "1", "1"]
    assert [r["open_candidates"] for r in rows] == ["none", "ST-C01"] * 2
    assert {r["status"] for r in rows} == {"planned"} and {r["verified"] for r in rows} == {"yes"}
    by = {r["combination"]: r for r in rows}
    # no truck at the only station: nothing is collected; one truck serves every point
    assert int(by["c01"]["points_unserved"]) > 0 and by["c01"]["truck_days"] == "0"
    assert by["c03"]["points_unserved"] == "0" and by["c03"]["truck_days"] == "1"
    # building the candidate costs its fixed and opening cost per day (stations.csv: 450 + 550)
    extra = float(by["c02"]["station_cost_cny_per_day"]) - float(
        by["c01"]["station_cost_cny_per_day"]
    )
    assert extra == pytest.approx(1000.0)
    # each total is the sum of its parts
    for row in rows:
        parts = [
            v for k, v in row.items() if k.endswith("_cny_per_day") and k != "cost_cny_per_day"
        ]
        assert sum(map(float, parts)) == pytest.approx(float(row["cost_cny_per_day"]), abs=0.05)
    # c01 (cheapest, unserved points) and c03 (dearer, all served) form the front; building
    # the candidate only adds cost
    assert [r["combination"] for r in rows if r["pareto"] == "yes"] == ["c01", "c03"]
    text = (swept / "sweep.md").read_text(encoding="utf-8")
    assert "## Pareto front" in text and "c01, c03" in text
    png = (swept / "sweep.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    for name in ("c01", "c02", "c03", "c04"):
        assert (swept / "overlays" / f"{name}.yaml").is_file()
        assert (swept / "plans" / f"{name}.json").is_file()


def test_an_overlay_reruns_alone_to_the_same_plan(swept, tmp_path, monkeypatch):
    overlay = swept / "overlays" / "c03.yaml"
    assert "--time-limit 2 --engine pyvrp --seed 3" in overlay.read_text(encoding="utf-8")
    out = tmp_path / "alone"
    result = run_cli(
        ["plan", str(overlay), "--out", str(out), *OPTIONS],
        monkeypatch,
    )
    assert result.code == 0, result.message
    alone = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    in_sweep = json.loads((swept / "plans" / "c03.json").read_text(encoding="utf-8"))
    assert alone["scenario"] == in_sweep["scenario"] and "sweep c03" in alone["scenario"]
    assert _plan_core(alone) == _plan_core(in_sweep)
    assert alone["days"][0]["routes"]


def test_rerunning_the_sweep_replaces_its_folder_but_never_a_users(swept, tmp_path, monkeypatch):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("mine", encoding="utf-8")
    grid = swept.parent / "grid.yaml"
    result = run_cli(
        ["sweep", str(swept / "overlays" / "c01.yaml"), "--grid", str(grid), "--out", str(user)],
        monkeypatch,
    )
    assert result.code == 2 and "is a folder of other files" in result.stderr
    assert sorted(p.name for p in user.iterdir()) == ["notes.txt"]


def test_the_default_engine_plans_each_combination_in_its_own_process_as_plan_does(
    county, tmp_path
):
    """The portfolio (the default engine) inside a sweep task runs its engines one after the
    other in that process; its plan equals ``sanitation plan`` of the overlay (same seed)."""
    grid = _grid(tmp_path, {"waste_factor": [1.0, 1.5]})
    outcome = run_sweep(
        county,
        grid,
        tmp_path / "out",
        choice=ExecutorChoice.from_options("local", None),
        engine="portfolio",
        time_limit_s=4,
        seed=2,
    )
    rows = {r.name: r for r in outcome.rows}
    assert {r.outcome for r in outcome.rows} == {"planned"}
    # 1.5 times the waste: 1.5 times the tonnage collected (every point served in both)
    collected = {
        name: next(k for k in row.document.kpis if k.scope == "county").collected_t
        for name, row in rows.items()
        if row.document is not None
    }
    assert rows["c01"].points_unserved == rows["c02"].points_unserved == 0
    assert collected["c02"] == pytest.approx(1.5 * collected["c01"], rel=0.01)
    overlay = load_scenario(outcome.out / "overlays" / "c02.yaml")
    plan_to_folder(
        overlay, [overlay.plan_date], tmp_path / "alone", engine="portfolio", time_limit_s=4, seed=2
    )
    alone = json.loads((tmp_path / "alone" / "plan.json").read_text(encoding="utf-8"))
    in_sweep = json.loads((outcome.out / "plans" / "c02.json").read_text(encoding="utf-8"))
    assert in_sweep["engine"] == "portfolio"
    assert {s["engine"] for d in in_sweep["days"] for s in d["stations"]} <= {"pyvrp", "ortools"}
    assert _plan_core(alone) == _plan_core(in_sweep)


def test_an_infeasible_combination_is_a_row_naming_the_binding_constraint(county, tmp_path):
    """A station too small for its points (the only one: the candidate is closed, no expansion
    module) has no plan;
    the other combination is planned and alone on the front."""
    grid = _grid(
        tmp_path,
        {
            "open_candidates": [[]],
            "overrides.stations.ST-001.max_expansions": [0],
            "overrides.stations.ST-001.capacity_t_per_day": [0.5, 40],
        },
    )
    outcome = run_sweep(
        county, grid, tmp_path / "out", choice=None, engine="pyvrp", time_limit_s=1, seed=1
    )
    first, second = outcome.rows
    assert (first.outcome, second.outcome) == ("infeasible", "planned")
    assert "station takes 0.5 t/day" in first.reason
    assert first.cost_cny_per_day is None and not first.verified
    assert second.verified and second.pareto and not first.pareto
    text = (outcome.out / "sweep.md").read_text(encoding="utf-8")
    assert "## Without a plan" in text and "c01 (infeasible)" in text
    assert sorted(p.name for p in (outcome.out / "plans").iterdir()) == ["c02.json"]


# --- the pieces -------------------------------------------------------------------------------


def test_the_pareto_front_keeps_what_nothing_dominates():
    def row(name: str, cost: float, unserved: int) -> SweepRow:
        return SweepRow(name, (), "", "planned", cost_cny_per_day=cost, points_unserved=unserved)

    rows = [
        row("a", 100, 5),
        row("b", 200, 0),
        row("c", 150, 5),
        row("d", 100, 5),
        row("e", 300, 0),
        SweepRow("f", (), "", "infeasible"),
    ]
    assert pareto_names(rows) == {"a", "b", "d"}


def test_the_in_process_executor_runs_now_and_keeps_errors_in_the_future():
    executor = InProcessExecutor()
    assert executor.submit(pow, 2, 10).result() == 1024
    failed = executor.submit(int, "x")
    assert failed.done()
    with pytest.raises(ValueError, match="invalid literal"):
        failed.result()
