"""Route consistency and balance of a week plan (issue 17), one JSON object per run.

On the Wangjiang week and a generated county (``sanitation generate``), the week is planned
under each policy variant: ``none`` (today), ``territory``, ``soft``, ``none`` with balance and
``territory`` with balance (``--ratio``). For each: the share of point-visits served by their
territory's truck (for ``none``: against the territories of the ``territory`` run, and against
each point's most frequent truck), the median spread of a point's arrival time over its visits
(min), the largest longest ÷ shortest working route of a station-day and week of a station's
trucks, the routing cost of the
week (CNY) and its extra cost against ``none`` (%), the unserved point-visits and the wall time.

    python benchmarks/consistency.py [--week 2026-11-23] [--points 5000] [--stations 12]
        [--time-limit 300] [--ratio 1.25] [--engine portfolio] [--seed 1] [--skip-wangjiang]
        [--skip-county] [--json OUT]

Targets (issue 17): share 100 % with territory, >= 95 % with soft; spread median <= 30 min
with territory; ratio <= 1.25 with balance at <= 3 % extra cost; Wangjiang week <= 5 min.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run_meta import run_meta  # noqa: E402
from sanitation.errors import InfeasibleError  # noqa: E402
from sanitation.plan import plan_days, week_dates  # noqa: E402
from sanitation.plan.consistency import consistency_figures  # noqa: E402
from sanitation.plan.model import PlanDocument  # noqa: E402
from sanitation.scenario import load_scenario  # noqa: E402
from sanitation.scenario.generate import generate_county  # noqa: E402

WANGJIANG = ROOT / "scenarios" / "wangjiang" / "baseline.yaml"
VARIANTS: dict[str, dict[str, Any]] = {
    "none": {},
    "territory": {"consistency": "territory"},
    "soft": {"consistency": "soft"},
    "none+balance": {"balance": True},
    "territory+balance": {"consistency": "territory", "balance": True},
}


def _variant_yaml(
    base: Path, folder: Path, name: str, settings: dict[str, Any], ratio: float
) -> Path:
    """A what-if of ``base`` with the variant's policy."""
    lines = [f"base: {base}", f"name: {base.stem}-{name.replace('+', '-')}", "policy:"]
    lines.append(f"  consistency: {settings.get('consistency', 'none')}")
    if settings.get("balance"):
        lines.append(f"  balance_max_ratio: {ratio}")
    path = folder / f"{base.stem}-{name.replace('+', '-')}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _routing_cost(doc: PlanDocument) -> float:
    return sum(r.cost_cny for day in doc.days for r in day.routes)


def _row(
    name: str, doc: PlanDocument, seconds: float, truck_of: dict[str, str] | None
) -> dict[str, Any]:
    own = consistency_figures(doc.days, truck_of) if truck_of else None
    frequent = consistency_figures(doc.days)
    return {
        "variant": name,
        "seconds": round(seconds, 1),
        "visits": frequent.visits,
        "share_on_territory": own.share if own else None,
        "share_on_most_frequent_truck": frequent.share,
        "arrival_spread_median_min": frequent.spread_median_min,
        "max_route_ratio": frequent.max_route_ratio,
        "max_week_truck_ratio": frequent.max_week_truck_ratio,
        "routing_cost_cny": round(_routing_cost(doc), 2),
        "unserved_visits": sum(len(day.unserved) for day in doc.days),
        "balance": (
            doc.consistency.model_dump(include={"balance_tried", "balance_met", "balance_not_met"})
            if doc.consistency
            else None
        ),
    }


def run_scenario(label: str, base: Path, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Every variant on one scenario's week."""
    week = week_dates(dt.date.fromisoformat(args.week))
    rows, docs = [], {}
    for name, settings in VARIANTS.items():
        path = _variant_yaml(base, folder, name, settings, args.ratio)
        started = time.perf_counter()
        try:
            doc = plan_days(
                load_scenario(path),
                week,
                engine=args.engine,
                time_limit_s=args.time_limit,
                seed=args.seed,
            )
        except InfeasibleError as error:
            rows.append({"variant": name, "infeasible": str(error)})
            continue
        docs[name] = (doc, time.perf_counter() - started)
    territory = docs.get("territory")
    truck_of = (
        {p: t.truck_id for t in territory[0].consistency.territories for p in t.point_ids}
        if territory and territory[0].consistency
        else None
    )
    none_cost = _routing_cost(docs["none"][0]) if "none" in docs else None
    for name, (doc, seconds) in docs.items():
        row = _row(name, doc, seconds, truck_of)
        if none_cost:
            row["extra_cost_pct"] = round(100 * (row["routing_cost_cny"] / none_cost - 1), 2)
        rows.append(row)
    return {"scenario": label, "week": args.week, "time_limit_s": args.time_limit, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--week", default="2026-11-23", help="first date of the week")
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--stations", type=int, default=12)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--ratio", type=float, default=1.25)
    parser.add_argument("--engine", default="portfolio")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-wangjiang", action="store_true")
    parser.add_argument("--skip-county", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    start, load = time.time(), os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.skip_wangjiang:
            results.append(run_scenario("wangjiang", WANGJIANG, args, folder))
        if not args.skip_county:
            county = generate_county(
                folder / "county", n_points=args.points, n_stations=args.stations, seed=args.seed
            )
            results.append(run_scenario(f"county-{args.points}", county, args, folder))
    out = {"results": results, "meta": run_meta("consistency", args.seed, start, load)}
    text = json.dumps(out, indent=1, ensure_ascii=False)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
