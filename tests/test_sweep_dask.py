"""A sweep on the Dask cluster of ``.ci/with_services.sh`` gives the plans of the serial sweep."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from sanitation.plan.executor import ExecutorChoice
from sanitation.scenario.generate import generate_county
from sanitation.sweep import run_sweep

SCHEDULER_VARIABLE = "SANITATION_TEST_DASK_SCHEDULER"


@pytest.fixture
def scheduler() -> str:
    address = os.environ.get(SCHEDULER_VARIABLE)
    if not address:
        pytest.fail(
            f"{SCHEDULER_VARIABLE} is not set: run this test through `make test` or "
            "`bash .ci/with_services.sh .venv/bin/python -m pytest ...` (it starts the Dask "
            "scheduler and workers)"
        )
    return address


def test_a_sweep_on_dask_plans_what_the_serial_sweep_plans(scheduler, tmp_path):
    county = generate_county(tmp_path / "county", n_points=16, n_stations=1, seed=5)
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        yaml.safe_dump({"fleet.ST-001.small_3t": [0, 1], "waste_factor": [1.4]}), encoding="utf-8"
    )
    outcomes = {
        name: run_sweep(
            county,
            grid,
            tmp_path / name,
            choice=choice,
            engine="pyvrp",
            time_limit_s=2,
            seed=4,
        )
        for name, choice in (
            ("serial", None),
            ("dask", ExecutorChoice.from_options("dask", scheduler)),
        )
    }
    assert [r.outcome for r in outcomes["dask"].rows] == ["planned", "planned"]
    # no small truck: the points on narrow lanes are not served
    assert outcomes["dask"].rows[0].points_unserved > 0
    for name in ("c01", "c02"):
        plans = [
            json.loads((tmp_path / run / "plans" / f"{name}.json").read_text(encoding="utf-8"))
            for run in ("serial", "dask")
        ]
        for plan in plans:
            for day in plan["days"]:
                for station in day["stations"]:
                    station.pop("solve_seconds")
        assert plans[0]["days"] == plans[1]["days"]
        assert plans[0]["kpis"] == plans[1]["kpis"]
    assert [r.cost_cny_per_day for r in outcomes["serial"].rows] == [
        r.cost_cny_per_day for r in outcomes["dask"].rows
    ]
