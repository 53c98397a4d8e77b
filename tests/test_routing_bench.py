"""Benchmark readers parse the real instance formats and reproduce published costs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import run_cli

from sanitation.bench import cvrp, vrptw, waste
from sanitation.routing.schedule import build_route
from sanitation.routing.solution import RoutingSolution
from sanitation.verify.routing import verify

DATA = Path(__file__).parent / "data" / "routing"


def _sol_routes(path: Path) -> tuple[list[list[int]], float]:
    text = path.read_text(encoding="utf-8")
    routes = [[int(x) for x in m.split()] for m in re.findall(r"Route #\d+:([^\n]*)", text)]
    cost = float(re.search(r"Cost\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    return routes, cost


def _verified_distance(problem, routes: list[list[int]], stop_id) -> int:
    """The BKS routes built on ``problem`` (``stop_id`` maps a .sol id to a stop id), verified."""
    built = [
        build_route(problem, "vehicle", k, [("stop", stop_id(c)) for c in r])
        for k, r in enumerate(routes)
    ]
    sol = RoutingSolution(tuple(built), (), sum(r.cost_cny for r in built), "bks", 0.0)
    assert verify(problem, sol) == []
    return sum(r.distance_m for r in built)


def test_vrplib_reader_and_bks_solution_verifies():
    inst = cvrp.read_vrplib(DATA / "X-n101-k25.vrp")
    assert inst.capacity == 206
    assert len(inst.ids) == 101
    assert inst.ids[0] == inst.depot_id == 1
    problem = cvrp.to_problem(inst)
    routes, bks = _sol_routes(DATA / "X-n101-k25.sol")
    # CVRPLIB .sol numbers customers 1..n-1 = VRPLIB node id - 1
    assert _verified_distance(problem, routes, lambda c: str(c + 1)) == bks == 27591


def test_solomon_reader_truncation_and_bks_solution_verifies():
    inst = vrptw.read_solomon(DATA / "R101.txt")
    assert (inst.vehicles, inst.capacity, len(inst.ids)) == (25, 200, 101)
    problem = vrptw.to_problem(inst)
    routes, bks = _sol_routes(DATA / "R101.sol")
    distance = _verified_distance(problem, routes, str)
    assert distance / vrptw.SCALE == pytest.approx(bks) == 1637.7


def test_vrplib_vrptw_reader_and_gehring_homberger_bks_verifies():
    inst = vrptw.read_vrptw(DATA / "RC2_10_1.vrp")  # VRPLIB, not a Solomon file
    assert (inst.name, inst.vehicles, inst.capacity, len(inst.ids)) == ("RC2_10_1", 250, 1000, 1001)
    assert inst.ids[:3] == [1, 2, 3]  # the NODE_COORD_SECTION numbers, depot first
    assert inst.service[0] == 0 and set(inst.service[1:]) == {10}  # SERVICE_TIME: clients only
    problem = vrptw.to_problem(inst)
    routes, bks = _sol_routes(DATA / "RC2_10_1.sol")
    # CVRPLIB .sol numbers customers 1..n = VRPLIB node id - 1
    distance = _verified_distance(problem, routes, lambda c: str(c + 1))
    assert distance / vrptw.SCALE == pytest.approx(bks) == 28122.6


def test_vrplib_vrptw_routes_use_the_files_node_numbers(tmp_path, monkeypatch):
    lines = ["NAME : tiny_tw", "TYPE : VRPTW", "DIMENSION : 4", "VEHICLES : 3", "CAPACITY : 10"]
    lines += ["SERVICE_TIME : 5", "EDGE_WEIGHT_TYPE : EUC_2D", "NODE_COORD_SECTION"]
    lines += ["1 0 0", "2 10 0", "3 0 10", "4 10 10", "DEMAND_SECTION", "1 0", "2 4", "3 4", "4 4"]
    lines += ["TIME_WINDOW_SECTION", "1 0 200", "2 0 100", "3 0 100", "4 0 100"]
    lines += ["DEPOT_SECTION", "1", "-1", "EOF"]
    path = tmp_path / "tiny_tw.vrp"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o.json"
    args = ["bench", "vrptw", str(path), "--time-limit", "1", "--json", str(out)]
    res = run_cli(args, monkeypatch)
    assert res.code == 0, res.message
    [result] = json.loads(out.read_text())["results"]
    assert result["feasible"]
    assert sorted(c for r in result["routes"] for c in r) == [2, 3, 4]  # depot 1 left out


def test_bad_vrplib_vrptw_exits_2_naming_file_and_section(tmp_path, monkeypatch):
    text = (DATA / "RC2_10_1.vrp").read_text(encoding="utf-8")
    bad = tmp_path / "bad.vrp"
    bad.write_text(text.split("TIME_WINDOW_SECTION")[0] + "DEPOT_SECTION\n1\n-1\nEOF\n")
    out = tmp_path / "o.json"
    res = run_cli(
        ["bench", "vrptw", str(bad), "--time-limit", "1", "--json", str(out)], monkeypatch
    )
    assert res.code == 2, res
    assert str(bad) in res.message and "TIME_WINDOW_SECTION" in res.message
    assert not res.traceback and not out.exists()


def test_truncated_distances_are_exact():
    import numpy as np

    d = vrptw.truncated_distances(np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]]))
    assert d[0, 1] == 50  # exactly 5.0, not 4.9 from floating error
    assert d[0, 2] == 14  # sqrt(2) = 1.414 -> 1.4


def test_kim_reader_and_manhattan_travel_time():
    inst = waste.read_kim(DATA / "102_stop.txt")
    assert (inst.capacity_yd, inst.day_limit_yd, inst.max_stops) == (280.0, 400.0, 500)
    assert inst.kind.count(1) == 99
    assert inst.kind.count(2) == 2
    assert waste.hhmm_to_s("600") == 6 * 3600
    problem = waste.to_problem(inst)
    # the benchmark page's worked example: stop 0 -> 1 is 15387 ft = 2.914 mi = 262.3 s
    assert waste.manhattan_ft(inst.coords_ft)[0, 1] == 15387
    assert problem.duration_s[0][0, 1] == 263  # rounded up
    vt = problem.vehicle_types[0]
    assert vt.lunch is not None
    assert vt.lunch.latest_start_s == 12 * 3600
    assert vt.max_load_per_day_kg == 40000
    assert (vt.shift_start_s, vt.shift_end_s) == (4 * 3600, 15 * 3600)
    assert {s.id for s in problem.sites} == {"depot", "1", "2"}


def test_kim_fleet_is_not_capped_by_the_daily_volume(tmp_path: Path):
    """Six stops far apart, each open only 08:00-08:10: six trucks are needed although one
    truck's daily volume (and capacity) would carry all six loads."""
    header = ["200.0 // cap", "10000.0 // yd per day", "500 // stops", "3600 // lunch", "40 // mph"]
    rows = ["0 0 0 0600 1700 0 9999.00 0", "1 0 1000 0000 2400 600 9999.00 2"]
    for k in range(6):
        rows.append(f"{k + 2} {(k - 2.5) * 100000:.0f} 30000 0800 0810 60 1.00 1")
    path = tmp_path / "six_stop.txt"
    path.write_text("\n".join([*header, "Stop_ID X Y Early Late Service Load Type", *rows]) + "\n")
    [result] = waste.run([path], time_limit_s=2, engine=None, seed=1)
    assert result["feasible"] and result["unserved"] == 0
    assert result["vehicles"] == 6  # the old cap, 2 x ceil(6 / 10000) + 2 = 4, lost two stops


def test_cvrp_run_on_a_small_file(tmp_path: Path):
    text = "\n".join(
        [
            "NAME : tiny",
            "TYPE : CVRP",
            "DIMENSION : 5",
            "EDGE_WEIGHT_TYPE : EUC_2D",
            "CAPACITY : 10",
            "NODE_COORD_SECTION",
            "1 0 0",
            "2 0 10",
            "3 0 20",
            "4 10 0",
            "5 20 0",
            "DEMAND_SECTION",
            "1 0",
            "2 5",
            "3 5",
            "4 5",
            "5 5",
            "DEPOT_SECTION",
            "1",
            "-1",
            "EOF",
        ]
    )
    (tmp_path / "tiny.vrp").write_text(text, encoding="utf-8")
    (tmp_path / "bks.csv").write_text("instance,bks_cost\ntiny,80\n", encoding="utf-8")
    [res] = cvrp.run([tmp_path], time_limit_s=0.5, engine="pyvrp", seed=1)
    assert res["feasible"] is True
    assert res["cost"] == 80.0
    assert res["gap_pct"] == 0.0
    assert sorted(sorted(r) for r in res["routes"]) == [[2, 3], [4, 5]]


def test_generated_kim_family_is_its_committed_files_with_binding_landfill_hours(tmp_path: Path):
    folder = Path(__file__).parent.parent / "benchmarks" / "instances" / "waste_generated"
    for n_stops, n_landfills, seed in waste.GENERATED_FAMILY:
        inst = waste.generate_kim(n_stops, n_landfills, seed)
        path = waste.write_kim(inst, tmp_path / f"{inst.name}.txt")
        assert path.read_bytes() == (folder / path.name).read_bytes()  # seeded: same bytes
        back = waste.read_kim(path)
        assert back.ids == inst.ids and back.kind == inst.kind and back.late_s == inst.late_s
        assert back.kind.count(1) == n_stops and back.kind.count(2) == n_landfills
        depot = back.kind.index(0)
        closes = [back.late_s[i] for i, k in enumerate(back.kind) if k == 2]
        assert max(closes) < back.late_s[depot]  # every landfill closes before the depot
        hours = {(back.early_s[i], back.late_s[i]) for i, k in enumerate(back.kind) if k == 2}
        assert len(hours) == n_landfills  # staggered
        problem = waste.to_problem(back)
        assert problem.vehicle_types[0].count == n_stops
    assert min(n for n, _, _ in waste.GENERATED_FAMILY) >= 100
    assert max(n for n, _, _ in waste.GENERATED_FAMILY) <= 400
    with pytest.raises(ValueError, match="n_landfills"):
        waste.generate_kim(10, 0, 1)
