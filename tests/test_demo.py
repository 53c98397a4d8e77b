"""The demo pipeline (validate, plan, compare) on the tiny scenario and a what-if of it; the
shipped Wangjiang what-ifs all load and their overlays change what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from sanitation.cli import DEMO_SCENARIO
from sanitation.demo import WHAT_IFS, demo_scenarios, run_demo
from sanitation.scenario import load_scenario

TINY = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"


def test_demo_plans_and_compares(tmp_path):
    what_if = tmp_path / "cut.yaml"
    what_if.write_text(
        f"base: {TINY}\noverrides: {{fleet: {{F2: {{count: 0}}}}}}\n", encoding="utf-8"
    )
    out = tmp_path / "demo"
    facts = run_demo(
        [TINY, what_if], out, console=Console(quiet=True), time_limit_s=2, engine="pyvrp"
    )
    assert facts["scenarios"] == ["scenario", "cut"]
    assert (out / "compare.md").is_file()
    assert (out / "scenario" / "plan.json").is_file()
    assert (out / "cut" / "routes.geojson").is_file()
    saved = json.loads((out / "demo.json").read_text(encoding="utf-8"))
    assert saved["scenario"]["collected_t"] > 0
    assert not list(tmp_path.glob(".demo-*"))  # the staging folder is gone


def test_shipped_what_ifs_load_and_differ_from_the_baseline():
    paths = demo_scenarios(DEMO_SCENARIO)
    assert [p.stem for p in paths[1:]] == list(WHAT_IFS)
    base, festival, flood, new, cut, minimum = (load_scenario(p) for p in paths)
    assert festival.seasonal_multipliers and festival.plan_date.month == 2
    assert flood.roads.closed_areas_path is not None
    assert {s.station_id: s.status for s in new.stations}["ST-C01"] == "existing"
    assert sum(f.count for f in cut.fleet) == sum(f.count for f in base.fleet) - 11
    assert base.points == cut.points
    assert (base.policy.fleet, minimum.policy.fleet) == ("owned", "minimise")
    assert minimum.fleet == base.fleet


@pytest.mark.parametrize("name", ["flood_closure"])
def test_flood_closure_cuts_off_some_points_but_no_station(name):
    from sanitation.plan.context import PlanningContext

    context = PlanningContext.build(load_scenario(DEMO_SCENARIO.with_name(f"{name}.yaml")))
    assert 0 < len(context.cut_off) < 200
    assert not context.lost_sites
