"""``sanitation bench mcvrp``: a tiny generated instance through the command, both fleets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli

from sanitation.bench import mcvrp


def test_generated_instance_is_seeded_and_split_by_stream() -> None:
    a, b = mcvrp.generate(6, 3, seed=4), mcvrp.generate(6, 3, seed=4)
    assert a == b
    assert a != mcvrp.generate(6, 3, seed=5)
    comp = a["vehicle"]["compartments_kg"]
    assert sorted(comp) == ["perishable", "recyclable", "residual"]
    assert sum(comp.values()) == a["vehicle"]["capacity_kg"]
    for d in a["demands"]:
        lo, hi = mcvrp.KG_RANGE[d["stream"]]
        assert lo <= d["kg"] <= hi <= comp[d["stream"]]


def test_bench_mcvrp_reports_both_fleets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (path,) = mcvrp.write_family(tmp_path / "inst", (5,), (2,), seed=2)
    out = tmp_path / "mcvrp.json"
    args = ["bench", "mcvrp", str(path), "--time-limit", "0.5", "--engine", "ortools"]
    result = run_cli([*args, "--json", str(out)], monkeypatch)
    assert result.code == 0, result.message
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["problem"] == "mcvrp"
    (res,) = report["results"]
    assert res["instance"] == "mcvrp-n5-s2-seed2"
    assert res["bks"] is None
    assert res["feasible"] is True
    fleets = res["fleets"]
    assert fleets["compartments"]["verified"] and fleets["dedicated"]["verified"]
    assert fleets["compartments"]["unserved"] == fleets["dedicated"]["unserved"] == 0
    # one truck with compartments, one per stream when dedicated (the loads fit one trip)
    assert fleets["compartments"]["vehicles"] == 1
    assert fleets["dedicated"]["vehicles"] == 2
    assert res["cost"] == fleets["compartments"]["cost_cny"] < fleets["dedicated"]["cost_cny"]
    stops = sorted(v for r in res["routes"] for v in r if v != "0")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert stops == sorted(f"{d['node']}:{d['stream']}" for d in data["demands"])
    assert all(r[-1] == "0" for r in res["routes"])  # the final unload at the station


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["demands"][0].update(stream="hazardous"), "demands[0]: field 'stream'"),
        (lambda d: d["demands"][0].update(kg=-5), "demands[0]: field 'kg': value -5"),
        (lambda d: d["vehicle"]["compartments_kg"].update(residual=1), "compartments_kg"),
    ],
)
def test_bad_instance_is_exit_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: object, message: str
) -> None:
    data = mcvrp.generate(4, 2, seed=1)
    edit(data)  # type: ignore[operator]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    args = ["bench", "mcvrp", str(path), "--time-limit", "1", "--json", str(tmp_path / "o.json")]
    result = run_cli(args, monkeypatch)
    assert result.code == 2, result.message
    assert "bad.json" in result.message and message in result.message
    assert not result.traceback
