"""``sanitation demo``: the bundled Wangjiang scenario end to end.

Validates the baseline, plans it for its date and compares the five shipped what-ifs (Spring
Festival peak, flood-season road closure, a new station, one truck fewer per station, the
smallest fleet): every plan goes in ``OUT/<scenario>/`` (plan.json, routes.geojson, plan.gpkg,
route sheets, KPIs, fleet report, maps) and the comparison in ``OUT/compare.md``, ``compare.csv``
and ``compare.png``.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from sanitation.compare import compare_scenarios
from sanitation.plan.model import PlanDocument
from sanitation.plan.run import Progress as ProgressCallback
from sanitation.scenario import load_scenario, summary_text

WHAT_IFS = ("spring_festival", "flood_closure", "new_station", "fleet_cut", "fleet_minimum")


def demo_scenarios(baseline: Path) -> list[Path]:
    """The baseline and the what-ifs that sit beside it."""
    return [baseline] + [baseline.with_name(f"{name}.yaml") for name in WHAT_IFS]


def run_demo(
    scenarios: Sequence[Path],
    out: Path,
    *,
    console: Console,
    time_limit_s: float = 15.0,
    engine: str = "portfolio",
    progress: ProgressCallback | None = None,
    executor: cf.Executor | None = None,
) -> dict[str, object]:
    """Validate the first scenario, plan and compare them all (solves on ``executor``, default
    local pools); return the facts printed."""
    started = time.perf_counter()
    baseline = load_scenario(scenarios[0])
    console.print(summary_text(baseline), markup=False, highlight=False)
    table = compare_scenarios(
        scenarios,
        out,
        day=None,
        engine=engine,
        time_limit_s=time_limit_s,
        progress=progress,
        executor=executor,
    )
    county_section = table.split("\n## ")[:2]  # the title and the county table
    console.print("\n## ".join(county_section), markup=False, highlight=False, soft_wrap=True)
    names = [Path(p).stem for p in scenarios]
    facts: dict[str, object] = {"scenarios": names, "seconds": 0.0}
    for name in names:
        document = PlanDocument.model_validate_json(
            (out / name / "plan.json").read_text(encoding="utf-8")
        )
        county = next(k for k in document.kpis if k.scope == "county")
        facts[name] = {
            "date": document.dates[0].isoformat(),
            "collected_t": county.collected_t,
            "unserved": county.points_unserved,
            "total_cost_cny": county.total_cost_cny,
        }
    facts["seconds"] = round(time.perf_counter() - started, 1)
    (out / "demo.json").write_text(
        json.dumps(facts, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    console.print(
        f"comparison: {out / 'compare.md'}, {out / 'compare.csv'}, {out / 'compare.png'}",
        markup=False,
        highlight=False,
    )
    for name in names:
        console.print(
            f"plan {name}: {out / name}/ (plan.json, routes.geojson, plan.gpkg, "
            "route_sheets.xlsx, kpis.csv, map.png)",
            markup=False,
            highlight=False,
        )
    console.print(f"done in {facts['seconds']} s", markup=False)
    return facts
