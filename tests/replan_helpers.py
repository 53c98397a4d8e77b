"""The tiny scenario's base plan and a `sanitation replan` runner shared by the re-plan tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli

TINY = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"
SMALL, COMPACTOR = "D1/small_3t#1", "D1/compactor_5t#1"


@pytest.fixture(scope="module")
def base_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("base") / "plan"
    mp = pytest.MonkeyPatch()
    try:
        result = run_cli(
            ["plan", str(TINY), "--out", str(out), "--engine", "pyvrp", "--time-limit", "1"], mp
        )
    finally:
        mp.undo()
    assert result.code == 0, result.message
    return out


def _routes(folder: Path) -> dict[str, dict]:
    doc = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    return {r["vehicle_id"]: r for r in doc["days"][0]["routes"]}


def _unserved(folder: Path) -> dict[str, str]:
    doc = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    return {u["point_id"]: u["reason"] for u in doc["days"][0]["unserved"]}


def replan(
    base: Path, tmp_path: Path, monkeypatch, events: list[dict], at: str, engine: str = "pyvrp"
) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"events": events}), encoding="utf-8")
    out = tmp_path / "v2"
    args = ["replan", str(base), "--events", str(path), "--at", at, "--out", str(out)]
    result = run_cli([*args, "--engine", engine, "--time-limit", "1"], monkeypatch)
    assert result.code == 0, result.message
    return out
