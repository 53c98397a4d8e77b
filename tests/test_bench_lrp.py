"""``sanitation bench lrp``: the Prodhon reader, the cost convention, the checker, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from sanitation.bench import lrp

DATA = Path(__file__).parent / "data" / "lrp"


def _tiny(tmp_path: Path, *, depot_capacity: int = 100, vehicle_capacity: int = 50) -> Path:
    """One depot at (0, 0) (capacity ``depot_capacity``, opening cost 7), customers at (3, 4) and
    (1, 1) with demands 10 and 20, route cost 1000."""
    text = (
        f"2\n1\n\n0 0\n\n3 4\n1 1\n\n{vehicle_capacity}\n\n{depot_capacity}\n\n"
        "10\n20\n\n7\n\n1000\n\n0\n"
    )
    path = tmp_path / "tiny-2-1.dat"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_prodhon_coord20():
    inst = lrp.read_prodhon(DATA / "coord20-5-1.dat")
    assert (inst.n_customers, inst.n_depots, inst.vehicle_capacity) == (20, 5, 70)
    assert inst.depot_capacity.tolist() == [140] * 5
    assert inst.opening_cost.tolist() == [10841, 11961, 6091, 7570, 7497]
    assert inst.demand[:3].tolist() == [17, 18, 13]
    assert inst.customer_xy[0].tolist() == [20.0, 35.0]
    assert inst.route_cost == 1000


def test_cost_convention_rounds_each_edge_up(tmp_path):
    """depot-(3,4): 5 -> 500; (3,4)-(1,1): sqrt(13) = 3.6056 -> 360.56 -> 361; (1,1)-depot:
    sqrt(2) = 1.4142 -> 141.42 -> 142. Cost = 7 (opening) + 1000 (route) + 500 + 361 + 142 = 2010
    (truncating would give 2008)."""
    inst = lrp.read_prodhon(_tiny(tmp_path))
    check = lrp.check_solution(inst, [[1, 1, 2]])
    assert check.feasible
    assert check.cost == 2010
    # two routes: 7 + 2 x 1000 + 2 x 500 + 2 x 142
    assert lrp.check_solution(inst, [[1, 1], [1, 2]]).cost == 7 + 2000 + 1000 + 284


def test_checker_rejects_customer_twice_and_missing(tmp_path):
    inst = lrp.read_prodhon(_tiny(tmp_path))
    check = lrp.check_solution(inst, [[1, 1, 1]])
    assert not check.feasible
    assert "customer 1: served 2 times (expected once)" in check.violations
    assert "customer 2: served 0 times (expected once)" in check.violations


def test_checker_rejects_vehicle_over_capacity(tmp_path):
    inst = lrp.read_prodhon(_tiny(tmp_path, vehicle_capacity=25))
    check = lrp.check_solution(inst, [[1, 1, 2]])
    assert check.violations == ["route 1: load 30 > vehicle capacity 25"]
    assert lrp.check_solution(inst, [[1, 1], [1, 2]]).feasible


def test_checker_rejects_depot_over_capacity(tmp_path):
    path = _tiny(tmp_path)
    path.write_text(path.read_text().replace("\n100\n", "\n29\n"), encoding="utf-8")
    with pytest.raises(ValueError, match="total 29 < total demand 30"):
        lrp.read_prodhon(path)
    inst = lrp.read_prodhon(DATA / "coord20-5-1.dat")
    over = [[1, *range(1, 8)], [1, *range(8, 21)]]  # all 315 units at depot 1 (capacity 140)
    check = lrp.check_solution(inst, over)
    assert "depot 1: load 315 > capacity 140" in check.violations


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace("\n3 4\n", "\n3 x\n"), "customer 1 y: value 'x' is not a number"),
        (lambda t: t.rsplit("0", 1)[0], "field cost flag: missing"),
        (lambda t: t + "5\n", "1 numbers left over"),
        (lambda t: t.replace("\n10\n20\n", "\n10\n-3\n"), "customer 2 demand: value -3"),
        (lambda t: t.replace("\n1000\n", "\n1000.5\n"), "route fixed cost: value 1000.5"),
    ],
)
def test_bad_files_exit_2_naming_file_and_field(tmp_path, monkeypatch, edit, field):
    path = _tiny(tmp_path)
    path.write_text(edit(path.read_text()), encoding="utf-8")
    out = tmp_path / "out.json"
    res = run_cli(["bench", "lrp", str(path), "--time-limit", "1", "--json", str(out)], monkeypatch)
    assert res.code == 2, res.message
    assert not res.traceback
    assert str(path) in res.stderr and field in res.stderr


def test_bench_cli_smoke_coord20(tmp_path, monkeypatch):
    out = tmp_path / "lrp.json"
    args = ["bench", "lrp", str(DATA / "coord20-5-1.dat"), "--time-limit", "6", "--json", str(out)]
    res = run_cli(args, monkeypatch)
    assert res.code == 0, res.message
    report = json.loads(out.read_text())
    assert report["problem"] == "lrp"
    [result] = report["results"]
    assert result["feasible"] is True
    assert result["bks"] == 54793
    inst = lrp.read_prodhon(DATA / "coord20-5-1.dat")
    check = lrp.check_solution(inst, result["routes"])
    assert check.feasible and check.cost == result["cost"]
    assert result["gap_pct"] == pytest.approx(100 * (result["cost"] - 54793) / 54793, abs=1e-3)
    assert 0 <= result["gap_pct"] < 3.0
    served = sorted(c for r in result["routes"] for c in r[1:])
    assert served == list(range(1, 21))


def test_generated_instance_round_trips(tmp_path):
    inst = lrp.generate_instance(n=30, m=5, vehicle_capacity=70, clustered=True, seed=3)
    back = lrp.read_prodhon(lrp.write_prodhon(inst, tmp_path / f"{inst.name}.dat"))
    assert back.name.startswith("synthetic-")
    np.testing.assert_array_equal(back.customer_xy, inst.customer_xy)
    np.testing.assert_array_equal(back.depot_capacity, inst.depot_capacity)
    assert back.depot_capacity.sum() >= 1.3 * back.demand.sum()
    assert (
        back.depot_capacity < back.demand.sum()
    ).all()  # no depot can serve all: capacities bind
    again = lrp.generate_instance(n=30, m=5, vehicle_capacity=70, clustered=True, seed=3)
    np.testing.assert_array_equal(again.customer_xy, inst.customer_xy)


def test_engine_option_names_the_one_method(tmp_path, monkeypatch):
    out = tmp_path / "out.json"
    args = ["bench", "lrp", str(DATA / "coord20-5-1.dat"), "--time-limit", "1", "--json", str(out)]
    res = run_cli([*args, "--engine", "pyvrp"], monkeypatch)
    assert res.code == 2, res.message
    assert "siting+pyvrp" in res.stderr and not out.exists()
